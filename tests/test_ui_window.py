"""The whole window offscreen against the simulated pad: port picker, link quality, the
event log, remembered settings, keys, `coalwood gui` without a display."""


import os

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt
from ui_sim import arm

from ground.commands.gui import has_display
from ground.ui import theme
from ground.ui.connect_bar import SIMULATOR_LABEL, SIMULATOR_URL, available_ports
from ground.ui.window import WINDOW_SHORTCUTS, MainWindow
from protocol import constants as C

SIM = "sim://?seed=3&ch1=ematch&ch2=open"


@pytest.fixture
def settings_path(tmp_path):
    return str(tmp_path / "settings.ini")


@pytest.fixture
def make_window(qtbot, settings_path, tmp_path):
    made = []

    def make(show=True):
        theme.apply()
        win = MainWindow(settings=QSettings(settings_path, QSettings.Format.IniFormat),
                         downloads_dir=str(tmp_path / "downloads"))
        qtbot.addWidget(win)
        if show:
            win.show()
            qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make
    for win in made:
        win.conn.close()


def _connect(qtbot, win, url=SIM):
    with qtbot.waitSignal(win.conn.connected, timeout=5000):
        win.connect_to(url)
    return win.conn.client.link._port.device


def test_the_port_picker_offers_the_simulator_and_takes_a_typed_url(qtbot, make_window):
    ports = available_ports()
    assert ports[-1] == (SIMULATOR_LABEL, SIMULATOR_URL)
    win = make_window()
    picker = win.bar.ports
    labels = [picker.itemText(i) for i in range(picker.count())]
    assert SIMULATOR_LABEL in labels
    picker.setCurrentIndex(labels.index(SIMULATOR_LABEL))
    assert win.bar.chosen_url() == SIMULATOR_URL
    picker.setEditText("socket://192.0.2.1:7777")
    assert win.bar.chosen_url() == "socket://192.0.2.1:7777"


def test_connect_shows_link_quality_and_the_board(qtbot, make_window):
    win = make_window()
    device = _connect(qtbot, win)
    assert win.bar.link_state.text() == "LINK OK"
    board = device.status_dict()["board"]
    assert board in win.bar.device_label.text() and "2 channels" in win.bar.device_label.text()
    qtbot.waitUntil(lambda: "frames ok 0 " not in win.bar.link_label.text()
                    and "frames ok" in win.bar.link_label.text(), timeout=3000)
    assert "CRC errors 0" in win.bar.link_label.text()
    assert win.bar.connect_button.text() == "Disconnect"


def test_a_wrong_port_is_one_line_and_the_window_stays_usable(qtbot, make_window):
    win = make_window()
    with qtbot.waitSignal(win.conn.error, timeout=5000) as blocker:
        win.connect_to("/dev/does-not-exist-coalwood")
    assert "\n" not in blocker.args[0]
    assert win.bar.link_state.text() == "NOT CONNECTED"
    assert win.bar.connect_button.text() == "Connect"
    assert blocker.args[0] in win.statusBar().currentMessage()
    _connect(qtbot, win)  # and the next try works


def test_unplugging_shows_link_lost(qtbot, make_window):
    win = make_window()
    device = _connect(qtbot, win)
    with qtbot.waitSignal(win.conn.link_lost, timeout=5000):
        device.unplug()
    assert win.bar.link_state.text() == "LINK LOST"
    assert win.bar.link_state.property("level") == "danger"
    assert any(kind == "link" and "link lost" in text for _t, kind, text in win.log.entries)


def test_the_event_log_holds_commands_and_what_the_device_said_and_saves(qtbot, make_window,
                                                                         tmp_path):
    win = make_window()
    device = _connect(qtbot, win)
    qtbot.waitUntil(lambda: any(kind == "device" and text.startswith("STATUS SAFE")
                                for _t, kind, text in win.log.entries), timeout=3000)
    before = len([e for e in win.log.entries if e[2].startswith("STATUS")])
    device.set_key(False)  # a change: one more STATUS line; unchanged ones add none
    qtbot.waitUntil(lambda: any("key OFF" in text for _t, _k, text in win.log.entries),
                    timeout=3000)
    statuses = [e for e in win.log.entries if e[2].startswith("STATUS")]
    assert len(statuses) == before + 1
    with qtbot.waitSignal(win.conn.refused, timeout=3000):
        win.conn.arm(1)
    kinds = [kind for _t, kind, _text in win.log.entries]
    assert kinds[0] == "command" and "refused" in kinds
    times = [t for t, _k, _x in win.log.entries]
    assert times == sorted(times)
    path = str(tmp_path / "launch.log")
    assert win.log.save(path)
    with open(path, encoding="utf-8") as f:
        saved = f.read().splitlines()
    assert len(saved) == len(win.log.entries)
    assert any("ARM refused: KEY_OFF" in line for line in saved)
    assert win.log.view.toPlainText().splitlines() == saved
    # a path that cannot be written (a folder is there) is one line in the pane; nothing lost
    folder = tmp_path / "a-folder"
    folder.mkdir()
    count = len(win.log.entries)
    assert not win.log.save(str(folder))
    assert "cannot save the log" in win.log.note.text()
    assert len(win.log.entries) >= count and win.log.save(path)


def test_the_window_remembers_its_layout_and_the_last_port(qtbot, make_window, settings_path):
    win = make_window()
    _connect(qtbot, win)
    win.tabs.setCurrentIndex(1)
    win.log_dock.hide()
    win.close()
    stored = QSettings(settings_path, QSettings.Format.IniFormat)
    # the offscreen screen is smaller than the window, so the size and splitters come back
    # squeezed into it: those are checked as stored, the rest as restored
    assert stored.value("geometry") == win.saveGeometry()
    assert stored.value("flights_split") == win.flights_split.saveState()
    again = make_window(show=False)
    assert again.bar.chosen_url() == SIM
    assert again.tabs.currentIndex() == 1
    again.show()
    assert not again.log_dock.isVisible()


def test_a_flight_downloaded_from_the_simulator_opens_with_its_rocket_predicted(
        qtbot, make_window, tmp_path):
    from flown import fly

    board = tmp_path / "board"
    fly(board, "C6", seed=3)
    win = make_window()
    _connect(qtbot, win, "sim://?seed=3&motor=C6&storage=%s" % board)
    panel = win.device_flights
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=5000)
    with qtbot.waitSignal(win.flight_view.shown, timeout=20000):
        panel.download_all()
    assert win.tabs.currentIndex() == 1
    qtbot.waitUntil(lambda: win.library.table.rowCount() == 1, timeout=3000)
    view = win.flight_view
    assert view.prediction is not None and "predicted" in view.curves
    assert view.prediction.flight.motor.name == "C6"
    # a flight opened from the library is not compared with a rocket it may not have flown
    win.open_flight(str(panel.last_result.path))
    assert view.prediction is None


def test_every_launch_path_key_is_listed(qtbot, make_window):
    win = make_window()
    keys = {key for key, _what in win.shortcuts()}
    assert {"Esc", "Space", "Ctrl+O"} <= keys
    # what Help lists is what the window's actions answer
    listed = {key for _menu, _what, key in WINDOW_SHORTCUTS}
    assert listed <= {a.shortcut().toString() for a in win.actions()}
    win.show_shortcuts()
    assert "Esc" in win.shortcuts_box.text() and "Space" in win.shortcuts_box.text()
    win.shortcuts_box.close()


def test_keys_connect_and_disconnect(qtbot, make_window):
    win = make_window()
    win.bar.set_port(SIM)
    win.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(win.isActiveWindow)
    win.bar.ports.lineEdit().setFocus()  # typing a URL, then Ctrl+O
    with qtbot.waitSignal(win.conn.connected, timeout=5000):
        qtbot.keyClick(win.bar.ports.lineEdit(), Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(win.conn.disconnected, timeout=3000):
        qtbot.keyClick(win, Qt.Key.Key_O,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.bar.link_state.text() == "NO LINK"


def test_closing_the_window_makes_an_armed_pad_safe(qtbot, make_window):
    win = make_window()
    device = _connect(qtbot, win)
    arm(qtbot, win.conn)
    assert device.status_dict()["state"] == C.STATE_NAMES[C.STATE_ARMED]
    win.close()
    qtbot.waitUntil(lambda: device.status_dict()["state"] == "SAFE", timeout=3000)


@pytest.mark.parametrize("env, platform, expected", [
    ({}, "linux", False),
    ({"DISPLAY": ":0"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
    ({}, "win32", True),
    ({}, "darwin", True),
])
def test_has_display(env, platform, expected):
    assert has_display(env, platform) is expected


def test_coalwood_gui_without_a_display_is_one_line(monkeypatch, capsys):
    from ground.cli import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    code = main(["gui"])
    err = capsys.readouterr().err
    assert code == 2 and "no display" in err and err.count("\n") == 1


def test_signals_do_not_eat_references_to_true():
    """PySide6 6.12.0 under Python 3.11 loses a reference to True on every emit and aborts
    the interpreter once it is gone: the window emits dozens of signals a second, so the
    binding pyproject.toml allows must not do that."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        value = Signal(object)
        bare = Signal()

    emitter = Emitter()
    before = sys.getrefcount(True)
    for _ in range(200):
        emitter.value.emit(1)
        emitter.bare.emit()
    # other threads (simulators still winding down) move the count a little either way;
    # the fault takes one reference per emit, 400 here
    assert sys.getrefcount(True) - before > -100


def test_the_window_fits_a_laptop_screen(qtbot, make_window):
    win = make_window()
    hint = win.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768 - 40  # less a task bar


def test_the_toolbar_abort_works_from_the_flights_tab(qtbot, make_window):
    win = make_window()
    device = _connect(qtbot, win)
    arm(qtbot, win.conn)
    win.tabs.setCurrentIndex(1)
    assert win.toolbar_abort.isVisible() and win.toolbar_abort.isEnabled()
    with qtbot.waitSignal(win.conn.armed, timeout=3000) as blocker:
        win.toolbar_abort.click()
    assert blocker.args == [0]
    assert device.status_dict()["state"] == "SAFE"


def test_coalwood_gui_opens_the_window_and_connects_to_the_port(qtbot, tmp_path, monkeypatch):
    """The command itself: `coalwood gui --port URL` shows the window, connects, and exits 0
    when the window is closed (the settings go to $COALWOOD_SETTINGS, set by conftest)."""
    from PySide6.QtCore import QEvent, QTimer
    from PySide6.QtWidgets import QApplication

    from ground.cli import main

    seen = {}

    def watch():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)
                   and w.isVisible()]
        if windows and windows[0].conn.is_connected:
            win = windows[0]
            seen["board"] = win.bar.device_label.text()
            seen["state"] = win.launch.state
            win.close()
            QApplication.instance().quit()
        else:
            QTimer.singleShot(50, watch)

    QTimer.singleShot(50, watch)
    # a failing run ends too; stopped after it, or it would quit a later test's event loop
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(QApplication.instance().quit)
    guard.start(15000)
    try:
        assert main(["gui", "--port", SIM]) == 0
    finally:
        guard.stop()
        # Qt 6 posts quit() as an event: one still queued (the window's close quits too)
        # would end the next test's event loop at once
        QApplication.removePostedEvents(None, QEvent.Type.Quit)
    assert "2 channels" in seen["board"] and seen["state"] == "SAFE"
    stored = QSettings(os.environ["COALWOOD_SETTINGS"], QSettings.Format.IniFormat)
    assert stored.value("last_port") == SIM
