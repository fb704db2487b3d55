"""The ground station's main window: `coalwood gui`.

    ┌ port picker · connect · LINK OK · link quality · device ─────────────────────────┐
    │ [Launch]  pad panel (key, battery, channels)  │ live altitude / speed / battery  │
    │           launch panel (ARM, T-10, FIRE, ABORT)│                                 │
    │ [Flights] flights on the device · library     │ the flight view                  │
    ├ event log ───────────────────────────────────────────────────────────────────────┤

One Connection is shared by every panel; panels only listen to it. Esc (ABORT) and the
space bar (hold to fire) belong to the launch panel and work from anywhere in the window.
The window remembers its layout and the last port (QSettings); it deliberately does not
remember "fire automatically at T-0": that is chosen afresh for every launch.
"""

import contextlib
import os
import sys

from PySide6.QtCore import QByteArray, QSettings, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ground.ui import theme
from ground.ui.connect_bar import ConnectionBar
from ground.ui.connection import Connection
from ground.ui.eventlog import EventLog
from ground.ui.flight_view import FlightView
from ground.ui.flights import DeviceFlightsPanel, LibraryPanel
from ground.ui.launch_panel import LaunchPanel
from ground.ui.pad import PadPanel
from ground.ui.telemetry import TelemetryPanel

ORGANIZATION = "Coalwood"
APPLICATION = "Coalwood ground station"
TAB_LAUNCH, TAB_FLIGHTS = 0, 1
LOG_DOCK_HEIGHT_PX = 130

# (menu, action text, key) beyond the launch panel's own keys: the menus are made from
# this table and Help lists it, so neither can show a key the other does not have
WINDOW_SHORTCUTS = (
    ("Connection", "Connect", "Ctrl+O"),
    ("Connection", "Disconnect", "Ctrl+Shift+O"),
    ("Connection", "Rescan ports", "F5"),
    ("View", "Launch", "Ctrl+1"),
    ("View", "Flights", "Ctrl+2"),
    ("File", "Save the event log…", "Ctrl+S"),
    ("Help", "Keyboard shortcuts", "F1"),
    ("File", "Quit", "Ctrl+Q"),
)


def simulated_rocket(device_info):
    """The sample rocket a sim:// pad with `motor=` flies (a RocketSpec), else None."""
    import urllib.parse

    from ground.trajectory.spec import sample_spec

    url = (device_info or {}).get("url") or ""
    if not url.lower().startswith("sim://"):
        return None
    motor = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("motor")
    if not motor:
        return None
    try:
        return sample_spec(motor[-1])
    except ValueError:
        return None


def default_settings():
    """The user's settings, or the INI file $COALWOOD_SETTINGS names (a laptop kept for the
    range with its own layout; the tests, which never touch the user's)."""
    path = os.environ.get("COALWOOD_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


class MainWindow(QMainWindow):
    def __init__(self, settings=None, key=None, downloads_dir=None, launch_options=None):
        super().__init__()
        self.setWindowTitle("Coalwood ground station")
        self.setObjectName("coalwood_main_window")
        self.settings = settings if settings is not None else default_settings()
        self.conn = Connection(self, key=key)

        self.bar = ConnectionBar(self.conn)
        self.toolbar_abort = QPushButton("ABORT\n(Esc)", objectName="toolbarAbort")
        self.toolbar_abort.setProperty("role", "abort")
        self.toolbar_abort.setProperty("compact", "true")
        self.toolbar_abort.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must never press it
        self.toolbar_abort.setToolTip("Stop any fire stream and make the pad SAFE (Esc), "
                                      "from any tab")

        self.pad = PadPanel(self.conn)
        self.launch = LaunchPanel(self.conn, self.pad, **(launch_options or {}))
        self.telemetry = TelemetryPanel(self.conn)
        self.device_flights = DeviceFlightsPanel(self.conn, out_dir=downloads_dir)
        self.library = LibraryPanel()
        self.flight_view = FlightView()

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.pad)
        column.addWidget(self.launch, 1)
        # On a laptop's 768 lines the pad and launch panels may not both fit: they scroll,
        # and ABORT stays in reach above the tabs whatever is scrolled or whichever tab shows.
        self.launch_scroll = QScrollArea(objectName="launch_scroll")
        self.launch_scroll.setWidgetResizable(True)
        self.launch_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.launch_scroll.setWidget(left)
        self.launch_scroll.setMinimumWidth(left.minimumSizeHint().width() + 20)
        self.launch_split = QSplitter(Qt.Orientation.Horizontal, objectName="launch_split")
        self.launch_split.addWidget(self.launch_scroll)
        self.launch_split.addWidget(self.telemetry)
        self.launch_split.setStretchFactor(1, 1)

        lists = QSplitter(Qt.Orientation.Vertical, objectName="flight_lists_split")
        lists.addWidget(self.device_flights)
        lists.addWidget(self.library)
        self.flights_split = QSplitter(Qt.Orientation.Horizontal, objectName="flights_split")
        self.flights_split.addWidget(lists)
        self.flights_split.addWidget(self.flight_view)
        self.flights_split.setStretchFactor(1, 1)
        self.lists_split = lists

        self.tabs = QTabWidget(objectName="main_tabs")
        self.tabs.addTab(self.launch_split, "Launch")
        self.tabs.addTab(self.flights_split, "Flights")
        # ABORT and the connection sit above the tabs, never folded away or scrolled off
        central = QWidget()
        page = QVBoxLayout(central)
        page.setContentsMargins(2, 2, 2, 2)
        page.setSpacing(2)
        top = QHBoxLayout()
        top.addWidget(self.toolbar_abort)
        top.addWidget(self.bar, 1)
        page.addLayout(top)
        page.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.log = EventLog(self.conn)
        self.log_dock = QDockWidget("Event log", self, objectName="event_log_dock")
        self.log.view.setMinimumHeight(48)  # the log gives way first on a small screen
        self.log_dock.setWidget(self.log)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)

        self.toolbar_abort.clicked.connect(self.launch.abort)
        self.device_flights.flight_ready.connect(self._on_flight_downloaded)
        self.library.open_requested.connect(self.open_flight)
        self.bar.port_chosen.connect(self._remember_port)
        self.conn.error.connect(self.statusBar().showMessage)
        self.flight_view.error.connect(self.statusBar().showMessage)

        self._build_menus()
        self.restore_layout()

    # --- menus and keys ---------------------------------------------------------------------------
    def _action(self, menu, text, key, slot):
        act = QAction(text, self)
        act.setShortcut(QKeySequence(key))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(slot)
        menu.addAction(act)
        self.addAction(act)  # works with the menu bar hidden too
        return act

    def _build_menus(self):
        slots = {
            "Save the event log…": self.log.save_dialog,
            "Quit": self.close,
            "Connect": self.bar.connect_port,
            "Disconnect": self.bar.disconnect_port,
            "Rescan ports": self.bar.rescan,
            "Launch": lambda: self.tabs.setCurrentIndex(TAB_LAUNCH),
            "Flights": lambda: self.tabs.setCurrentIndex(TAB_FLIGHTS),
            "Keyboard shortcuts": self.show_shortcuts,
        }
        menus = {name: self.menuBar().addMenu("&" + name)
                 for name in ("File", "Connection", "View", "Launch", "Help")}
        for menu, what, key in WINDOW_SHORTCUTS:
            self._action(menus[menu], what, key, slots[what])
        menus["View"].addAction(self.log_dock.toggleViewAction())
        for key, what in self.launch.shortcuts():
            # the launch panel owns these keys; the menu only shows them
            act = menus["Launch"].addAction("%s\t%s" % (what, key))
            act.setEnabled(False)

    def shortcuts(self):
        """[(key, what)]: every key the window answers, the launch path's first."""
        return list(self.launch.shortcuts()) + [(key, "%s: %s" % (menu, what))
                                                for menu, what, key in WINDOW_SHORTCUTS]

    @Slot()
    def show_shortcuts(self):
        rows = "".join("<tr><td><b>%s</b></td><td>%s</td></tr>" % (k, w) for k, w in self.shortcuts())
        self.shortcuts_box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts",
                                         "<table cellpadding=4>%s</table>" % rows, parent=self)
        self.shortcuts_box.open()

    # --- flights ----------------------------------------------------------------------------------
    @Slot(str)
    def _on_flight_downloaded(self, path):
        self.library.refresh()
        self.open_flight(path, simulated_rocket(self.bar.device_info))

    @Slot(str)
    def open_flight(self, path, known_rocket=None):
        """Show a flight; `known_rocket` (a RocketSpec) is drawn over it as the prediction
        (the Simulator's sample rocket for a flight it flew). A rocket file chosen in the
        view is the other way to compare."""
        self.tabs.setCurrentIndex(TAB_FLIGHTS)
        self.flight_view.set_prediction_source(known_rocket)
        self.flight_view.show_file(path)

    # --- connecting -------------------------------------------------------------------------------
    def connect_to(self, url):
        self.bar.set_port(url)
        self.bar.connect_port()

    @Slot(str)
    def _remember_port(self, url):
        self.settings.setValue("last_port", url)

    # --- layout -----------------------------------------------------------------------------------
    def _splitters(self):
        return {"launch_split": self.launch_split, "flights_split": self.flights_split,
                "lists_split": self.lists_split}

    def restore_layout(self):
        s = self.settings
        geometry = s.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = s.value("window_state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        else:  # a first start: the log is a few lines, the launch column gets the height
            self.resizeDocks([self.log_dock], [LOG_DOCK_HEIGHT_PX], Qt.Orientation.Vertical)
        for name, splitter in self._splitters().items():
            saved = s.value(name)
            if isinstance(saved, QByteArray) and not saved.isEmpty():
                splitter.restoreState(saved)
            elif name == "flights_split":  # a first start: the flight view gets the room
                splitter.setSizes([380, 1020])
        tab = s.value("tab", TAB_LAUNCH)
        with contextlib.suppress(TypeError, ValueError):
            self.tabs.setCurrentIndex(int(tab))
        last_port = s.value("last_port")
        if isinstance(last_port, str) and last_port:
            self.bar.set_port(last_port)

    def save_layout(self):
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("window_state", self.saveState())
        for name, splitter in self._splitters().items():
            s.setValue(name, splitter.saveState())
        s.setValue("tab", self.tabs.currentIndex())
        s.sync()

    def closeEvent(self, event):
        # Connection.close stops the fire stream and disarms an armed pad before the port goes
        self.conn.close("window closed")
        self.save_layout()
        super().closeEvent(event)


def run(port=None, key=None, argv=None, settings=None):
    """Start the application and the window; returns the exit status."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    theme.apply(app)
    window = MainWindow(settings=settings, key=key)
    window.show()
    if port:
        window.connect_to(port)
    return app.exec()


def _process_age_s():
    """Seconds since this process started (Linux /proc), or None where that is not known."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            uptime_s = float(f.read().split()[0])
        start_ticks = int(fields[19])  # field 22 of stat: starttime, in clock ticks since boot
        return uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def bench_startup():
    """Print the seconds from process start to the window shown and drawn, then quit.
    The window gets fresh settings (a first start), not the user's."""
    import shutil
    import tempfile

    from PySide6.QtTest import QTest

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply(app)
    folder = tempfile.mkdtemp(prefix="coalwood-bench-")
    os.environ["COALWOOD_LIBRARY"] = os.path.join(folder, "library")  # not the user's
    settings = QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, downloads_dir=folder)
    window.show()
    QTest.qWaitForWindowExposed(window)
    window.grab()  # the first whole paint
    age_s = _process_age_s()
    window.close()
    shutil.rmtree(folder, ignore_errors=True)
    print("%.3f" % age_s if age_s is not None else "nan")
    return 0


if __name__ == "__main__":
    # `python -m ground.ui.window --bench-startup`: for tests/bench/gui_bench.py
    if sys.argv[1:2] == ["--bench-startup"]:
        sys.exit(bench_startup())
    sys.exit(run(argv=sys.argv))
