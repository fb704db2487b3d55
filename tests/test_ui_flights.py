"""The window's flights panels against the real simulated pad (sim://) and a real library.

The board's storage holds flights the firmware itself logged while the simulated board
flew a C6 rocket (tests/flown.py). To stop a download part-way deterministically, the
device's loop is paused and stepped by hand: each step serves at most one output queue
of chunks, so the test decides when bytes arrive and when they stop.
"""

import os
import shutil

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from flown import fly
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from ground.download import PART_SUFFIX, SIDECAR_SUFFIX, flight_file_name
from ground.flight.library import Library
from ground.ui import Connection
from ground.ui.flights import DeviceFlightsPanel, JobRunner, LibraryPanel, size_text

SEED = 1


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A board's storage holding flights 0 and 1, both flown on a C6."""
    root = tmp_path_factory.mktemp("board")
    fly(root, "C6", seed=SEED)
    fly(root, "C6", seed=SEED)
    return root


def _url(board):
    return "sim://?seed=%d&storage=%s" % (SEED, board)


@pytest.fixture
def conns(qtbot):
    """make() -> a Connection, closed after the test."""
    made = []

    def make():
        conn = Connection()
        made.append(conn)
        return conn

    yield make
    for conn in made:
        conn.close()


def _open(qtbot, conn, url):
    with qtbot.waitSignal(conn.connected, timeout=5000):
        conn.open(url)
    return conn.client.link._port.device


@pytest.fixture
def listed(qtbot, conns, board, tmp_path):
    """(panel, device, out_dir, conn): a flights panel on a connected board, its list shown."""
    conn = conns()
    device = _open(qtbot, conn, _url(board))
    out_dir = tmp_path / "downloads"
    panel = DeviceFlightsPanel(conn, out_dir=str(out_dir))
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=5000)
    return panel, device, out_dir, conn


def _cell(table, row, col):
    return table.item(row, col).text()


def _flight_bytes(board, flight):
    return (board / "flights" / ("%04d.cwf" % flight)).read_bytes()


def _download_row(qtbot, panel, row):
    panel.table.selectRow(row)
    qtbot.waitUntil(panel.download_button.isEnabled, timeout=2000)
    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)


def _part_way(qtbot, panel, device):
    """With the device's loop paused: step it until the running download holds some bytes
    (one step serves at most one output queue's worth, far less than a flight)."""

    def some_arrived():
        transfer = panel.downloader.last_transfer if panel.downloader else None
        if transfer is not None and transfer.stats.new_bytes:
            return True
        device.step()
        return False

    qtbot.waitUntil(some_arrived, timeout=3000)


def _record_progress(panel):
    seen = []
    panel.download_progress.connect(lambda flight, done, total: seen.append(
        (flight, done, total, panel.progress_dialog.value(), panel.progress_dialog.maximum())))
    return seen


# --- the device's flights ------------------------------------------------------------------------
def test_the_list_waits_for_a_connection_then_shows_each_flight(qtbot, conns, board, tmp_path):
    conn = conns()
    panel = DeviceFlightsPanel(conn, out_dir=str(tmp_path / "downloads"))
    qtbot.addWidget(panel)
    assert not panel.refresh_button.isEnabled() and not panel.download_all_button.isEnabled()
    assert "not connected" in panel.message.text()
    _open(qtbot, conn, _url(board))  # connecting lists the flights by itself
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=5000)
    for row in (0, 1):
        size = len(_flight_bytes(board, row))
        assert _cell(panel.table, row, 0) == str(row)
        assert _cell(panel.table, row, 1) == size_text(size)
        assert float(_cell(panel.table, row, 2).split()[0]) > 50  # a C6's apogee in metres
        assert _cell(panel.table, row, 3) == "COMPLETE"
        assert _cell(panel.table, row, 4) == ""  # nothing of it on this computer yet
    assert panel.refresh_button.isEnabled() and panel.download_all_button.isEnabled()
    assert not panel.download_button.isEnabled()  # nothing selected
    assert "2 flights" in panel.message.text()


def test_download_shows_progress_verifies_and_joins_the_library(qtbot, listed, board):
    panel, device, out_dir, _conn = listed
    library = LibraryPanel()  # $COALWOOD_LIBRARY: this test's own library
    qtbot.addWidget(library)
    panel.flight_ready.connect(lambda _path: library.refresh())
    progress = _record_progress(panel)
    expected = _flight_bytes(board, 0)
    with qtbot.waitSignal(panel.flight_ready, timeout=5000) as ready:
        _download_row(qtbot, panel, 0)
    (path,) = ready.args
    assert not panel.progress_dialog.isModal()  # ABORT elsewhere stays clickable
    assert len(progress) > 1
    dones = [p[1] for p in progress]
    assert dones == sorted(dones) and dones[0] < len(expected)
    assert progress[-1] == (0, len(expected), len(expected), len(expected), len(expected))
    assert os.path.basename(path) == flight_file_name(device.hal.device_id, 0)
    assert os.path.dirname(path) == str(out_dir)
    with open(path, "rb") as f:
        assert f.read() == expected
    assert sorted(os.listdir(out_dir)) == [os.path.basename(path)]  # no part left
    result = panel.last_result
    assert result.held_at_start == 0 and result.stats.new_bytes == len(expected)
    assert _cell(panel.table, 0, 4) == "downloaded"
    assert _cell(panel.table, 0, 5) == "added to the library as #1"
    qtbot.waitUntil(lambda: library.table.rowCount() == 1, timeout=3000)
    assert _cell(library.table, 0, 2) == os.path.basename(path)
    assert _cell(library.table, 0, 4) == "0"
    qtbot.waitUntil(lambda: not panel.progress_dialog.isVisible(), timeout=1000)
    assert panel.error_box is None


def test_download_all_fetches_each_flight_once(qtbot, listed, board):
    panel, _device, out_dir, _conn = listed
    ready = []
    panel.flight_ready.connect(ready.append)
    qtbot.mouseClick(panel.download_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(ready) == 2, timeout=5000)
    for flight, path in enumerate(ready):
        with open(path, "rb") as f:
            assert f.read() == _flight_bytes(board, flight)
    qtbot.waitUntil(panel.download_all_button.isEnabled, timeout=2000)
    # again: both are already here; they are checked, not fetched, and not added twice
    qtbot.mouseClick(panel.download_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(ready) == 4, timeout=5000)
    assert ready[2:] == ready[:2] and panel.last_result is None
    assert [_cell(panel.table, r, 5) for r in (0, 1)] == ["in the library as #1",
                                                          "in the library as #2"]
    with Library(os.environ["COALWOOD_LIBRARY"], create=False) as lib:
        assert [e.flight for e in lib.entries()] == [0, 1]
    assert sorted(os.listdir(out_dir)) == sorted(os.path.basename(p) for p in ready[:2])


def test_cancel_keeps_what_arrived_and_download_again_fetches_only_the_rest(qtbot, listed, board):
    panel, device, out_dir, _conn = listed
    expected = _flight_bytes(board, 0)
    device.stop()  # stepped by hand from here
    _download_row(qtbot, panel, 0)
    _part_way(qtbot, panel, device)
    dialog = panel.progress_dialog
    qtbot.mouseClick(dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)  # Cancel
    qtbot.waitUntil(lambda: "kept" in dialog.labelText(), timeout=2000)
    held = panel.downloader.last_transfer.held_bytes
    assert 0 < held < len(expected)
    kept = "%s of %s" % (size_text(held), size_text(len(expected)))
    assert dialog.labelText() == "Flight 0 cancelled: %s kept; Download again resumes" % kept
    assert dialog.isVisible() and dialog.value() == held
    assert _cell(panel.table, 0, 4) == "%s held" % kept
    assert _cell(panel.table, 0, 5) == "cancelled"
    assert panel.error_box is None  # a cancel is not an error
    name = flight_file_name(device.hal.device_id, 0)
    assert sorted(os.listdir(out_dir)) == sorted([name + PART_SUFFIX, name + SIDECAR_SUFFIX])
    qtbot.mouseClick(dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)  # Close
    assert not dialog.isVisible()

    device.start()
    progress = _record_progress(panel)
    with qtbot.waitSignal(panel.flight_ready, timeout=5000) as ready:
        _download_row(qtbot, panel, 0)
    result = panel.last_result
    assert result.held_at_start == held
    assert result.stats.new_bytes == len(expected) - held  # only the rest came
    assert progress[0] == (0, held, len(expected), held, len(expected))  # the dialog starts at what was held
    assert [p[3] for p in progress] == sorted(p[3] for p in progress)
    with open(ready.args[0], "rb") as f:
        assert f.read() == expected
    assert sorted(os.listdir(out_dir)) == [name]


def test_a_port_vanishing_mid_download_is_one_line_and_loses_nothing(qtbot, listed, board):
    panel, device, out_dir, _conn = listed
    size = len(_flight_bytes(board, 0))
    device.stop()
    _download_row(qtbot, panel, 0)
    _part_way(qtbot, panel, device)
    with qtbot.assertNotEmitted(panel.flight_ready, wait=0):
        device.unplug()
        qtbot.waitUntil(lambda: panel.error_box is not None, timeout=3000)
    line = panel.error_box.text()
    held = panel.downloader.last_transfer.held_bytes
    assert "\n" not in line and "went away" in line
    assert line.endswith("%s of %s kept; Download again resumes"
                         % (size_text(held), size_text(size)))
    assert panel.message.text() == line and panel.message.property("role") == "error"
    assert not panel.error_box.isModal()
    assert _cell(panel.table, 0, 5).startswith("failed: ")
    assert not panel.progress_dialog.isVisible()
    name = flight_file_name(device.hal.device_id, 0)
    assert sorted(os.listdir(out_dir)) == sorted([name + PART_SUFFIX, name + SIDECAR_SUFFIX])
    assert panel.downloader.partial_bytes(panel._infos[0]) == held
    panel.error_box.close()


def test_disconnecting_mid_download_ends_it_and_keeps_what_arrived(qtbot, listed, board):
    panel, device, out_dir, conn = listed
    device.stop()
    _download_row(qtbot, panel, 0)
    _part_way(qtbot, panel, device)
    with qtbot.assertNotEmitted(panel.flight_ready, wait=0):
        conn.close()
        qtbot.waitUntil(lambda: "kept" in panel.message.text(), timeout=3000)
    held = panel.downloader.last_transfer.held_bytes
    assert "%s of %s kept" % (size_text(held), size_text(len(_flight_bytes(board, 0)))) \
        in panel.message.text()
    assert panel.table.rowCount() == 0
    assert not panel.refresh_button.isEnabled() and not panel.download_all_button.isEnabled()
    name = flight_file_name(device.hal.device_id, 0)
    assert sorted(os.listdir(out_dir)) == sorted([name + PART_SUFFIX, name + SIDECAR_SUFFIX])


def test_an_armed_pad_refuses_the_download_in_one_line_and_it_works_once_safe(qtbot, listed):
    panel, _device, out_dir, conn = listed
    with qtbot.waitSignal(conn.armed, timeout=3000):
        conn.arm(1, override=True)
    with qtbot.waitSignal(panel.error, timeout=5000) as failed:
        _download_row(qtbot, panel, 0)
    (line,) = failed.args
    assert "\n" not in line and "ARMED" in line and "disarm first" in line
    assert _cell(panel.table, 0, 5).startswith("failed: ")
    assert not [n for n in os.listdir(out_dir) if n.endswith(".cwf")]  # no finished file
    with qtbot.waitSignal(conn.armed, timeout=3000) as safe:
        conn.disarm()
    assert safe.args == [0]
    with qtbot.waitSignal(panel.flight_ready, timeout=5000):
        _download_row(qtbot, panel, 0)


def test_bytes_not_matching_the_devices_digests_are_one_line_and_discarded(qtbot, conns, board,
                                                                          tmp_path):
    storage = tmp_path / "board"
    shutil.copytree(board, storage)
    conn = conns()
    _open(qtbot, conn, _url(storage))
    out_dir = tmp_path / "downloads"
    panel = DeviceFlightsPanel(conn, out_dir=str(out_dir))
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=5000)
    with open(storage / "flights" / "0000.cwf", "r+b") as f:  # changed after it was listed
        f.seek(5000)
        f.write(bytes([f.read(1)[0] ^ 0xFF]))
    with qtbot.waitSignal(panel.error, timeout=5000) as failed:
        _download_row(qtbot, panel, 0)
    (line,) = failed.args
    assert "\n" not in line and "do not match" in line and "kept" not in line
    assert not out_dir.exists() or os.listdir(out_dir) == []  # neither the file nor a part


# --- the library ---------------------------------------------------------------------------------
def _library_panel(qtbot, root):
    """A LibraryPanel once its first reading of the library is shown (answers are queued
    to the GUI thread, so the wait starts in time)."""
    library = LibraryPanel(root=str(root))
    qtbot.addWidget(library)
    with qtbot.waitSignal(library.refreshed, timeout=3000):
        pass
    return library


def test_library_imports_a_flight_file_and_refuses_one_that_is_not(qtbot, board, tmp_path):
    root = tmp_path / "library"
    library = _library_panel(qtbot, root)
    assert library.table.rowCount() == 0 and "no flights" in library.message.text()
    good = board / "flights" / "0000.cwf"
    with qtbot.waitSignal(library.refreshed, timeout=3000):
        library.import_file(str(good))
    assert library.table.rowCount() == 1
    assert "added to the library as #1" in library.message.text()
    assert _cell(library.table, 0, 2) == "0000.cwf" and _cell(library.table, 0, 4) == "0"
    with qtbot.waitSignal(library.refreshed, timeout=3000):
        library.import_file(str(good))
    assert library.table.rowCount() == 1 and "already in the library" in library.message.text()

    bad = tmp_path / "shopping.txt"
    bad.write_text("eggs\nmilk\n")
    with qtbot.waitSignal(library.error, timeout=3000) as failed:
        library.import_file(str(bad))
    (line,) = failed.args
    assert "\n" not in line and line.startswith("shopping.txt was not imported")
    assert library.error_box.text() == line and not library.error_box.isModal()
    assert library.table.rowCount() == 1
    with Library(str(root), create=False) as lib:
        assert len(lib.entries()) == 1


def test_library_opens_and_exports_the_stored_bytes(qtbot, board, tmp_path):
    root = tmp_path / "library"
    expected = _flight_bytes(board, 1)
    with Library(str(root)) as lib:
        lib.add_file(str(board / "flights" / "0001.cwf"))
    library = _library_panel(qtbot, root)
    assert library.table.rowCount() == 1
    assert not library.open_button.isEnabled()
    library.table.selectRow(0)
    with qtbot.waitSignal(library.open_requested, timeout=3000) as opened:
        qtbot.mouseClick(library.open_button, Qt.MouseButton.LeftButton)
    with open(opened.args[0], "rb") as f:
        assert f.read() == expected
    dest = tmp_path / "exported.cwf"
    library.export_selected(str(dest))
    qtbot.waitUntil(lambda: "exported" in library.message.text(), timeout=3000)
    assert dest.read_bytes() == expected


def test_a_damaged_library_is_one_clear_line_and_no_rows(qtbot, tmp_path):
    root = tmp_path / "library"
    root.mkdir()
    (root / "index.sqlite3").write_bytes(b"this is not an sqlite database at all" * 50)
    library = LibraryPanel(root=str(root))
    qtbot.addWidget(library)
    qtbot.waitUntil(lambda: library.error_box is not None, timeout=3000)
    line = library.error_box.text()
    assert "\n" not in line and "damaged" in line and "rebuild" in line
    assert library.table.rowCount() == 0 and library.message.property("role") == "error"


def test_a_job_that_fails_is_one_line_and_the_runner_goes_on(qtbot):
    runner = JobRunner()
    got = []

    def broken():
        raise OSError("the disk went away\nsecond line")

    with qtbot.waitSignal(runner.error, timeout=2000) as failed:
        runner.submit(broken)
    assert failed.args == ["the disk went away second line"]
    busy = []
    runner.busy_changed.connect(busy.append)
    runner.submit(lambda: 42, done=got.append)
    qtbot.waitUntil(lambda: busy == [True, False], timeout=2000)
    assert got == [42] and not runner.busy
