"""The window's flights: those stored on the pad box, their downloads, and the flight library.

`DeviceFlightsPanel` lists the flights on the connected device and downloads them with
ground/download.py's `Downloader` (verified against the device's CRC-32 and SHA-256,
resumable), behind a progress dialog whose Cancel keeps what arrived. Each verified flight
joins the flight library exactly as `coalwood download` adds it (`DownloadKeeper`), then
`flight_ready(path)` asks the window to open it.

`LibraryPanel` shows the local flight library (ground/flight/library.py): open a flight,
import a file, export one.

Nothing here blocks the GUI thread: the device and the disk are used by a `JobRunner`, one
background thread whose answers come back through a queued signal, as the Connection's do.
No dialog here is modal: ABORT, elsewhere in the window, must stay one click away.
"""

import collections
import contextlib
import os
import re
import threading

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ground.client import DeviceError
from ground.commands.library import DownloadKeeper
from ground.download import (
    DownloadCancelled,
    Downloader,
    digests_match,
    output_folder_problem,
)
from ground.flight.library import (
    Library,
    LibraryError,
    NotAFlightFile,
    export_name,
    read_flight_file,
    resolve_root,
)
from ground.flightfile import flags_text
from ground.link import LinkError
from ground.ui.connection import one_line
from ground.ui.theme import restyle

DOWNLOADS_FOLDER = "downloads"


def default_download_dir():
    """Where the window keeps downloaded flights: coalwood's user data folder/downloads."""
    from platformdirs import user_data_path

    return os.path.join(user_data_path("coalwood", appauthor=False), DOWNLOADS_FOLDER)


def size_text(n_bytes):
    """Bytes for people: 950 B, 12.3 kB, 1.25 MB (SI, as the command line's progress bar)."""
    if n_bytes < 1000:
        return "%d B" % n_bytes
    if n_bytes < 1_000_000:
        return "%.1f kB" % (n_bytes / 1000.0)
    return "%.2f MB" % (n_bytes / 1_000_000.0)


def _show_error_box(parent, old_box, object_name, title, line):
    """One line in a message box that blocks nothing (the window's ABORT stays usable)."""
    if old_box is not None:
        old_box.close()
        old_box.deleteLater()
    box = QMessageBox(QMessageBox.Icon.Warning, title, line, QMessageBox.StandardButton.Ok,
                      parent)
    box.setObjectName(object_name)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()
    return box


def _readonly_table(object_name, columns):
    table = QTableWidget(0, len(columns))
    table.setObjectName(object_name)
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _item(text, number=False):
    item = QTableWidgetItem(text)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


# --- off the GUI thread --------------------------------------------------------------------------
class JobRunner(QObject):
    """Runs jobs one at a time, in the order given, on one background thread (started when
    there is work, gone when there is none); their answers reach the GUI thread.

    submit() is called on the GUI thread; post() from the job, to reach the GUI thread.
    """

    busy_changed = Signal(bool)
    error = Signal(str)  # a job failed with nobody to tell, or a GUI-side callback raised

    # the job's thread speaks to the GUI thread only through this
    _post = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._queue = collections.deque()
        self._thread_running = False
        self._pending = 0  # submitted and not yet answered (GUI thread only)
        self._post.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self):
        return self._pending > 0

    def submit(self, work, done=None, failed=None):
        """work() runs on the background thread; then done(result), or failed(exception),
        runs on the GUI thread. Without `failed`, the failure is `error`'s one line."""
        if failed is None:
            def failed(exc):
                self.error.emit(one_line(exc))
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        with self._lock:
            self._queue.append((work, done, failed))
            if not self._thread_running:
                self._thread_running = True
                threading.Thread(target=self._work, name="coalwood-ui-jobs", daemon=True).start()

    def post(self, func, *args):
        """Call func(*args) on the GUI thread; safe from any thread."""
        with contextlib.suppress(RuntimeError):  # the widget was deleted: nobody to tell
            self._post.emit((func, args))

    def _work(self):
        while True:
            with self._lock:
                if not self._queue:
                    self._thread_running = False
                    return
                work, done, failed = self._queue.popleft()
            try:
                result = work()
            except Exception as exc:  # reported on the GUI thread; this thread serves the next job
                self.post(self._finish, failed, exc)
            else:
                self.post(self._finish, done, result)

    def _finish(self, callback, value):
        try:
            if callback is not None:
                callback(value)
        finally:
            self._pending -= 1
            if self._pending == 0:
                self.busy_changed.emit(False)

    @Slot(object)
    def _deliver(self, item):
        func, args = item
        try:
            func(*args)
        except Exception as exc:  # a fault here must not unwind into Qt's event loop
            with contextlib.suppress(Exception):
                self.error.emit(one_line(exc))


# --- the flights on the device -------------------------------------------------------------------
class FileInTheWay(Exception):
    """The download's file name already holds another flight: it is never overwritten."""


class DownloadDialog(QProgressDialog):
    """Bytes done of the flight, the rate, and a Cancel that keeps what arrived.

    Cancel only asks (`stop_asked`): the dialog stays up to say what was kept, then its
    button closes it. Never modal: ABORT elsewhere in the window stays usable.
    """

    stop_asked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("downloadProgress")
        self.setWindowTitle("Downloading flights")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setMinimumDuration(0)
        self.setAutoReset(False)
        self.setAutoClose(False)
        # Qt's own Cancel hides and resets the dialog at once; the panel decides instead
        self.canceled.disconnect(self.cancel)
        self.canceled.connect(self.stop_asked)

    def reject(self):
        # Escape and the window's close button ask the same as Cancel
        self.stop_asked.emit()


FLIGHT_COLUMNS = ("Flight", "Size", "Apogee", "Log", "On this computer", "Note")
COL_FLIGHT, COL_SIZE, COL_APOGEE, COL_LOG, COL_HERE, COL_NOTE = range(len(FLIGHT_COLUMNS))


class _TellsTheUser:
    """A panel's message line and its error box (never modal: ABORT stays in reach).
    The panel has `message` (a QLabel), `error_box`, an `error` signal, and names its box
    ERROR_BOX_NAME and titles it ERROR_TITLE."""

    def _say(self, text):
        restyle(self.message, role="status")
        self.message.setText(text)

    def _report_error(self, line):
        restyle(self.message, role="error")
        self.message.setText(line)
        self.error_box = _show_error_box(self, self.error_box, self.ERROR_BOX_NAME,
                                         self.ERROR_TITLE, line)
        self.error.emit(line)


class DeviceFlightsPanel(_TellsTheUser, QWidget):
    """The flights stored on the connected pad box: list, download, resume.

    conn: the window's Connection. out_dir: where downloads go (default: coalwood's user
    data folder/downloads). library_root: the flight library downloads join (default: as
    `coalwood download`: $COALWOOD_LIBRARY, else the user data folder).
    """

    ERROR_BOX_NAME = "deviceFlightsError"
    ERROR_TITLE = "Flights"

    flight_ready = Signal(str)  # a verified flight's file: the window may open it
    download_progress = Signal(int, int, int)  # flight, done_bytes, total_bytes
    error = Signal(str)  # one line, as shown

    def __init__(self, conn, parent=None, out_dir=None, library_root=None):
        super().__init__(parent)
        self.setObjectName("deviceFlights")
        self._conn = conn
        self.out_dir = out_dir if out_dir is not None else default_download_dir()
        self.library_root = library_root
        self._jobs = JobRunner(self)
        self._client = None  # the client the table's rows were listed from
        self._infos = []  # the FLIGHT_INFO of each row, in table order
        self._downloading = False
        self._cancelling = False
        self._dialog_has_news = False  # it says what a cancel kept: it stays until closed
        self.downloader = None  # the latest download's Downloader (last_transfer has its stats)
        self.last_result = None  # the DownloadResult of the latest flight fetched (None: already here)
        self.progress_dialog = None
        self.error_box = None
        self._build()
        conn.connected.connect(self._on_connected)
        conn.disconnected.connect(self._on_disconnected)
        self._jobs.busy_changed.connect(self._update_buttons)
        self._jobs.error.connect(self._report_error)
        self._update_buttons()
        if conn.is_connected:
            self.refresh()
        else:
            self._say("not connected: connect to a pad box to see its flights")

    def _build(self):
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("refreshDeviceFlights")
        self.refresh_button.setToolTip("Ask the device for its list of flights")
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("downloadFlight")
        self.download_button.setToolTip("Download the selected flights (an interrupted one resumes)")
        self.download_all_button = QPushButton("Download all")
        self.download_all_button.setObjectName("downloadAllFlights")
        self.table = _readonly_table("deviceFlightsTable", FLIGHT_COLUMNS)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.message = _status_line("deviceFlightsMessage")
        self.folder_label = QLabel("Downloads go to %s" % self.out_dir)
        self.folder_label.setObjectName("downloadFolder")
        _wrapping(self.folder_label)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QHBoxLayout()
        for b in (self.refresh_button, self.download_button, self.download_all_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.folder_label)

        self.refresh_button.clicked.connect(self.refresh)
        self.download_button.clicked.connect(self.download_selected)
        self.download_all_button.clicked.connect(self.download_all)
        self.table.itemSelectionChanged.connect(self._update_buttons)

    # --- listing ---------------------------------------------------------------------------------
    @Slot()
    def refresh(self):
        """Ask the device for its flights (in the background); the table follows."""
        client = self._conn.client
        if client is None:
            self._say("not connected: connect to a pad box to see its flights")
            return
        self._say("asking %s for its flights..." % client.info.board_name)
        self._jobs.submit(lambda: self._list_on_device(client), done=self._show_list,
                          failed=lambda exc: self._report_error(
                              "cannot list the device's flights: %s" % one_line(exc)))

    def _list_on_device(self, client):
        """(background) The device's flights, and what of each is already on this computer."""
        infos = client.flight_list()
        downloader = Downloader(client, self.out_dir)
        return client, [(info, self._held_here(downloader, info)) for info in infos]

    @staticmethod
    def _held_here(downloader, info):
        """(background) The 'On this computer' words for one flight."""
        path = downloader.final_path(info)
        if os.path.exists(path):
            try:
                data = _read(path)
            except OSError as exc:
                return "cannot read %s: %s" % (path, exc.strerror or exc)
            if digests_match(data, info.crc32, info.sha256):
                return "downloaded"
            return "its file holds another flight %d" % info.flight
        held = downloader.partial_bytes(info)
        if held:
            return "%s of %s held" % (size_text(held), size_text(info.size_bytes))
        return ""

    def _show_list(self, answer):
        client, rows = answer
        if client is not self._conn.client:
            return  # listed from a connection since closed
        self._client = client
        self._infos = [info for info, _here in rows]
        self.table.setRowCount(0)
        self.table.setRowCount(len(rows))
        for r, (info, here) in enumerate(rows):
            self.table.setItem(r, COL_FLIGHT, _item(str(info.flight), number=True))
            self.table.setItem(r, COL_SIZE, _item(size_text(info.size_bytes), number=True))
            self.table.setItem(r, COL_APOGEE, _item("%.1f m" % (info.apogee_cm / 100.0),
                                                    number=True))
            self.table.setItem(r, COL_LOG, _item(flags_text(info.flags)))
            self.table.setItem(r, COL_HERE, _item(here))
            self.table.setItem(r, COL_NOTE, _item(""))
        board = client.info.board_name
        if rows:
            self._say("%d flight%s stored on %s" % (len(rows), "" if len(rows) == 1 else "s", board))
        else:
            self._say("no flights stored on %s" % board)
        self._update_buttons()

    def _row_of(self, client, flight):
        if client is not self._client:
            return None
        for r, info in enumerate(self._infos):
            if info.flight == flight:
                return r
        return None

    def _set_row(self, client, flight, here=None, note=None):
        r = self._row_of(client, flight)
        if r is None:
            return
        if here is not None:
            self.table.item(r, COL_HERE).setText(here)
        if note is not None:
            self.table.item(r, COL_NOTE).setText(note)

    # --- downloading -----------------------------------------------------------------------------
    @Slot()
    def download_selected(self):
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        if not rows:
            self._say("select a flight to download")
            return
        self._download([self._infos[r] for r in rows])

    @Slot()
    def download_all(self):
        if not self._infos:
            self._say("no flights listed: Refresh first")
            return
        self._download(list(self._infos))

    @Slot()
    def cancel_download(self):
        """Stop the running download; what arrived is kept and the next Download resumes."""
        if not self._downloading:
            return
        self._cancelling = True
        self.downloader.cancel()
        self.progress_dialog.setLabelText("Cancelling: keeping what arrived...")

    def _download(self, infos):
        client = self._conn.client
        if client is None or client is not self._client:
            self._say("not connected to the device these flights were listed from: Refresh")
            return
        if self._downloading:
            return
        problem = output_folder_problem(self.out_dir)
        if problem:  # told now, before a byte is asked for
            self._report_error("downloads cannot go to %s: %s" % (self.out_dir, problem))
            return
        downloader = Downloader(client, self.out_dir)
        self.downloader = downloader
        self._downloading = True
        self._cancelling = False
        self._dialog_has_news = False
        dialog = self._dialog()
        dialog.setCancelButtonText("Cancel")
        dialog.setRange(0, max(infos[0].size_bytes, 1))
        dialog.setValue(0)
        dialog.setLabelText("Flight %d: starting..." % infos[0].flight)
        dialog.show()
        self._update_buttons()
        self._jobs.submit(lambda: self._fetch_all(client, downloader, infos),
                          done=self._fetch_ended, failed=self._fetch_broke)

    def _dialog(self):
        if self.progress_dialog is None:
            self.progress_dialog = DownloadDialog(self)
            self.progress_dialog.stop_asked.connect(self._on_dialog_button)
        return self.progress_dialog

    def _on_dialog_button(self):
        if self._downloading:
            self.cancel_download()
        else:
            self.progress_dialog.hide()

    def _fetch_all(self, client, downloader, infos):
        """(background) Each flight in turn: fetch, verify, keep in the library. Stops at the
        first failure (the rest stay on the device for another try). True when all came."""
        post = self._jobs.post
        keeper = DownloadKeeper(self.library_root, client.info.device_id)
        try:
            for n, info in enumerate(infos, 1):
                held = downloader.partial_bytes(info)
                post(self._flight_started, client, info, held, n, len(infos))
                downloader.progress = (
                    lambda done, total, rate, flight=info.flight, n=n:
                    post(self._flight_progress, flight, n, len(infos), done, total, rate))
                try:
                    path, result, data = self._fetch_one(downloader, info)
                except (DeviceError, LinkError, OSError, FileInTheWay) as exc:
                    post(self._flight_failed, client, info, exc, downloader.partial_bytes(info))
                    return False
                doc = {"flight": info.flight, "path": path}
                keeper.keep(info, path, doc, lambda _text: None, data)
                post(self._flight_kept, client, info, path, result, doc)
            return True
        finally:
            keeper.close()

    @staticmethod
    def _fetch_one(downloader, info):
        """(background) (path, DownloadResult or None when already here, the bytes)."""
        path = downloader.final_path(info)
        if os.path.exists(path):
            data = _read(path)
            if digests_match(data, info.crc32, info.sha256):
                return path, None, data
            raise FileInTheWay("%s exists and holds another flight %d: move it away to "
                               "download this one" % (path, info.flight))
        result = downloader.download(info)
        return result.path, result, result.data

    def _flight_started(self, client, info, held, n, count):
        dialog = self.progress_dialog
        dialog.setRange(0, max(info.size_bytes, 1))
        dialog.setValue(held)  # a resumed download starts where the last one stopped
        of = " (%d of %d)" % (n, count) if count > 1 else ""
        if held:
            text = "Flight %d%s: resuming at %s of %s" % (
                info.flight, of, size_text(held), size_text(info.size_bytes))
        else:
            text = "Flight %d%s: %s" % (info.flight, of, size_text(info.size_bytes))
        if not self._cancelling:
            dialog.setLabelText(text)
        self._set_row(client, info.flight, note="downloading")
        self.download_progress.emit(info.flight, held, info.size_bytes)

    def _flight_progress(self, flight, n, count, done, total, rate):
        dialog = self.progress_dialog
        dialog.setValue(min(done, dialog.maximum()))
        if not self._cancelling:
            of = " (%d of %d)" % (n, count) if count > 1 else ""
            dialog.setLabelText("Flight %d%s: %s of %s at %s/s" % (
                flight, of, size_text(done), size_text(total), size_text(rate)))
        self.download_progress.emit(flight, done, total)

    def _flight_kept(self, client, info, path, result, doc):
        self.last_result = result
        self.progress_dialog.setValue(self.progress_dialog.maximum())
        if "library_error" in doc:
            note = "not in the library: %s" % doc["library_error"]
        elif doc.get("library_added"):
            note = "added to the library as #%d" % doc["library_id"]
        else:
            note = "in the library as #%d" % doc["library_id"]
        how = "already downloaded" if result is None else "verified (CRC-32, SHA-256)"
        self._set_row(client, info.flight, here="downloaded", note=note)
        self._say("flight %d %s in %s; %s" % (info.flight, how, path, note))
        if "library_error" in doc:
            self._report_error("flight %d is kept in %s but was not added to the library: %s"
                               % (info.flight, path, doc["library_error"]))
        self.flight_ready.emit(path)

    def _flight_failed(self, client, info, exc, held):
        size = size_text(info.size_bytes)
        if held:
            here = "%s of %s held" % (size_text(held), size)
            kept = "%s of %s kept; Download again resumes" % (size_text(held), size)
        else:
            here, kept = "", "nothing kept"
        if isinstance(exc, DownloadCancelled):
            text = "Flight %d cancelled: %s" % (info.flight, kept)
            dialog = self.progress_dialog
            dialog.setValue(min(held, dialog.maximum()))
            dialog.setLabelText(text)
            dialog.setCancelButtonText("Close")
            self._dialog_has_news = True
            self._set_row(client, info.flight, here=here, note="cancelled")
            self._say(text)
            return
        if isinstance(exc, OSError):
            # the folder or the disk, not the device: said as such, never as "[Errno 13] ..."
            why = "cannot keep it in %s: %s" % (exc.filename or self.out_dir,
                                                exc.strerror or one_line(exc))
        else:
            why = one_line(exc)
        named = re.search(r"\bflight %d\b" % info.flight, why, re.IGNORECASE)
        line = why if named else "flight %d: %s" % (info.flight, why)
        if held:
            line += "; %s" % kept
        self.progress_dialog.hide()
        self._set_row(client, info.flight, here=here, note="failed: %s" % why)
        self._report_error(line)

    def _fetch_ended(self, _all_came):
        self._downloading = False
        self._cancelling = False
        if not self._dialog_has_news:
            self.progress_dialog.hide()  # done: the rows and the message say the rest
        self._update_buttons()

    def _fetch_broke(self, exc):
        self._fetch_ended(False)
        self.progress_dialog.hide()
        self._report_error("download failed: %s" % one_line(exc))

    # --- the connection --------------------------------------------------------------------------
    def _on_connected(self, _device_info):
        self._update_buttons()
        self.refresh()

    def _on_disconnected(self, _reason):
        if self._downloading:
            self.downloader.cancel()  # the port is closing under it: end it cleanly
        self._client = None
        self._infos = []
        self.table.setRowCount(0)
        self._say("not connected: connect to a pad box to see its flights")
        self._update_buttons()

    @Slot()
    def _update_buttons(self, *_args):
        connected = self._conn.is_connected
        idle = not self._jobs.busy and not self._downloading
        listed = bool(self._infos) and self._client is not None \
            and self._client is self._conn.client
        selected = bool(self.table.selectionModel().selectedRows())
        self.refresh_button.setEnabled(connected and idle)
        self.download_button.setEnabled(connected and idle and listed and selected)
        self.download_all_button.setEnabled(connected and idle and listed)



def _read(path):
    with open(path, "rb") as f:
        return f.read()


# --- the flight library --------------------------------------------------------------------------
LIBRARY_COLUMNS = ("Id", "Date", "Name", "Device", "Flight", "Apogee", "Motor", "Notes")
IMPORT_FILTER = "Flight logs (*.cwf *.csv *.pf2 *.txt);;All files (*)"


def _status_line(object_name):
    """The panel's one-line messages: the theme's status role, wrapping."""
    label = _wrapping(QLabel())
    label.setObjectName(object_name)
    label.setProperty("role", "status")
    return label


def _wrapping(label):
    """A message line that wraps instead of widening the panel (paths are long)."""
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class LibraryPanel(_TellsTheUser, QWidget):
    """The local flight library: every downloaded or imported flight, byte for byte.

    root: the library's folder (default: $COALWOOD_LIBRARY, else coalwood's user data
    folder, as `coalwood library`). Reading never makes the folder; importing does.
    """

    ERROR_BOX_NAME = "libraryError"
    ERROR_TITLE = "Flight library"

    open_requested = Signal(str)  # a flight's file (its stored bytes, checked): the window opens it
    refreshed = Signal()  # the table shows the library as it is now
    error = Signal(str)  # one line, as shown

    def __init__(self, parent=None, root=None):
        super().__init__(parent)
        self.setObjectName("flightLibrary")
        self.root = resolve_root(root)
        self._jobs = JobRunner(self)
        self._entries = []
        self._news = None  # said once the table is read again, instead of the count
        self.error_box = None
        self.file_dialog = None
        self._build()
        self._jobs.error.connect(self._report_error)
        self._update_buttons()
        self.refresh()

    def _build(self):
        self.open_button = QPushButton("Open")
        self.open_button.setObjectName("openLibraryFlight")
        self.import_button = QPushButton("Import file...")
        self.import_button.setObjectName("importFlightFile")
        self.export_button = QPushButton("Export...")
        self.export_button.setObjectName("exportLibraryFlight")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("refreshLibrary")
        self.table = _readonly_table("libraryTable", LIBRARY_COLUMNS)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.message = _status_line("libraryMessage")

        buttons = QHBoxLayout()
        for b in (self.open_button, self.import_button, self.export_button, self.refresh_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)

        self.open_button.clicked.connect(self.open_selected)
        self.import_button.clicked.connect(self.choose_import)
        self.export_button.clicked.connect(self.choose_export)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_selected())

    # --- reading ---------------------------------------------------------------------------------
    @Slot()
    def refresh(self):
        """Read the library again (in the background); the table follows."""
        root = self.root
        self._jobs.submit(lambda: _library_entries(root), done=self._show_entries,
                          failed=self._library_failed)

    def _show_entries(self, entries):
        selected = self.selected_entry()
        self._entries = list(entries)
        self.table.setRowCount(0)
        self.table.setRowCount(len(self._entries))
        for r, e in enumerate(self._entries):
            cells = (
                (e.label, True),
                (e.flight_date or e.added_utc[:16].replace("T", " "), False),
                (_entry_name(e), False),
                (e.board or e.device_id or "-", False),
                ("-" if e.flight is None else str(e.flight), True),
                ("-" if e.apogee_m is None else "%.1f m" % e.apogee_m, True),
                (e.motor or "", False),
                ((e.notes or "").replace("\n", " "), False),
            )
            for c, (text, number) in enumerate(cells):
                self.table.setItem(r, c, _item(text, number))
            if selected is not None and e.id == selected.id:
                self.table.selectRow(r)
        n = len(self._entries)
        if self._news is not None:
            self._say(self._news)  # what the user just did outranks the count
            self._news = None
        elif n:
            self._say("%d flight%s in the library at %s" % (n, "" if n == 1 else "s", self.root))
        else:
            self._say("no flights in the library at %s yet: downloads and imports are added "
                      "to it" % self.root)
        self._update_buttons()
        self.refreshed.emit()

    def _library_failed(self, exc):
        self._entries = []
        self.table.setRowCount(0)
        self._update_buttons()
        self._report_error(one_line(exc))

    def selected_entry(self):
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._entries):
            return None
        return self._entries[rows[0].row()]

    def _selected_or_say(self, what):
        """The selected entry, or None after asking for one (to `what` it)."""
        entry = self.selected_entry()
        if entry is None:
            self._say("select a flight to %s" % what)
        return entry

    # --- open ------------------------------------------------------------------------------------
    @Slot()
    def open_selected(self):
        """Check the selected flight's stored bytes, then ask the window to open them."""
        entry = self._selected_or_say("open")
        if entry is None:
            return
        root = self.root
        self._jobs.submit(lambda: _checked_blob(root, entry), done=self._opened)

    def _opened(self, path):
        self._say("opening %s" % path)
        self.open_requested.emit(path)

    # --- import ----------------------------------------------------------------------------------
    @Slot()
    def choose_import(self):
        dialog = self._file_dialog("Import flight files")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(IMPORT_FILTER)
        dialog.filesSelected.connect(self._import_files)
        dialog.show()

    def _import_files(self, paths):
        for path in paths:
            self.import_file(path)

    def import_file(self, path):
        """Add a flight file to the library (in the background). A file no reader
        understands is refused with one line, and nothing is added."""
        root = self.root
        self._jobs.submit(lambda: _import(root, path), done=self._imported)

    def _imported(self, answer):
        path, result, damage = answer
        name = os.path.basename(path)
        if result.added:
            self._news = "%s: added to the library as %s" % (name, result.entry.label)
        else:
            self._news = "%s: already in the library as %s%s" % (
                name, result.entry.label,
                "; its damaged stored bytes were restored" if result.repaired else "")
        if damage:  # kept exactly as it is, but nobody should take it for a clean log
            self._news += "; the file is damaged (%s%s), kept as it is" % (
                damage[0], "" if len(damage) == 1 else ", and %d more" % (len(damage) - 1))
        self.refresh()

    # --- export ----------------------------------------------------------------------------------
    @Slot()
    def choose_export(self):
        entry = self._selected_or_say("export")
        if entry is None:
            return
        dialog = self._file_dialog("Export %s" % entry.label)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.selectFile(export_name(entry))
        # the dialog asked before replacing a file
        dialog.fileSelected.connect(lambda path: self.export_selected(path, overwrite=True))
        dialog.show()

    def export_selected(self, path, overwrite=False):
        """Write the selected flight's bytes, checked, to `path` (a folder: its own name)."""
        entry = self._selected_or_say("export")
        if entry is None:
            return
        root = self.root
        self._jobs.submit(lambda: _export(root, entry, path, overwrite), done=self._exported)

    def _exported(self, answer):
        entry, dest = answer
        self._say("%s exported to %s (%s, SHA-256 checked)" % (
            entry.label, dest, size_text(entry.size_bytes)))

    # --- helpers ---------------------------------------------------------------------------------
    def _file_dialog(self, title):
        if self.file_dialog is not None:
            self.file_dialog.close()
            self.file_dialog.deleteLater()
        dialog = QFileDialog(self, title)
        dialog.setObjectName("libraryFileDialog")
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        self.file_dialog = dialog
        return dialog

    @Slot()
    def _update_buttons(self, *_args):
        selected = self.selected_entry() is not None
        self.open_button.setEnabled(selected)
        self.export_button.setEnabled(selected)



def _entry_name(entry):
    """What a person calls the flight: the file it was imported from, or the download's name."""
    if entry.source in ("downloaded", "recovered"):
        return export_name(entry)
    return entry.source


# (background) the library's work: a Library per job, opened and closed on the job's thread
# (sqlite connections belong to the thread that made them)
def _library_entries(root):
    if not Library.exists(root):
        return []  # reading never makes the folder
    with Library(root, create=False) as library:
        return library.entries()


def _checked_blob(root, entry):
    with Library(root, create=False) as library:
        library.read(entry)  # BlobDamaged when the bytes no longer match their SHA-256
        return library.blob_path(entry)


def _import(root, path):
    """(background) Read and check the file, then add it: (path, AddResult, damage). A file
    no reader understands is refused before the library is touched (or made)."""
    name = os.path.basename(path)
    try:
        data, damage = read_flight_file(path)
    except NotAFlightFile as exc:
        raise LibraryError("%s was not imported: %s" % (name, one_line(exc.why))) from None
    with Library(root, create=True) as library:
        return path, library.add(data, source=name, name=name), damage


def _export(root, entry, path, overwrite):
    with Library(root, create=False) as library:
        return entry, library.export(entry, path, overwrite=overwrite)
