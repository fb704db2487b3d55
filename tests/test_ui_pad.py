"""The pad panel against the real simulated pad (sim://): key, battery, continuity in text
and shape, the launch selection, and stale readings once the link is gone."""

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel

from ground.ui import Connection
from ground.ui.pad import ChannelIndicator, PadPanel, continuity_text, fire_result_text
from protocol import constants as C


@pytest.fixture
def open_pad(qtbot):
    made = []

    def make(url):
        conn = Connection()
        pad = PadPanel(conn)
        qtbot.addWidget(pad)
        pad.show()
        made.append(conn)
        with qtbot.waitSignal(conn.connected, timeout=5000):
            conn.open(url)
        return conn, pad, conn.client.link._port.device

    yield make
    for conn in made:
        conn.close()


def _measured(qtbot, pad, channels):
    """STATUS comes at 2 Hz; a device just started reads UNKNOWN until it has measured."""
    qtbot.waitUntil(lambda: not pad.stale and all(
        pad.channel_state(i) != C.CONT_UNKNOWN for i in range(channels)), timeout=3000)


def test_continuity_is_text_and_shape_per_channel(qtbot, open_pad):
    _conn, pad, device = open_pad("sim://?seed=1&ch1=ematch&ch2=open&ch3=short")
    assert pad.channel_count == 3  # from the device, not the default
    _measured(qtbot, pad, 3)
    shown = [(pad.channel_state(i), pad.channel_text(i), pad.indicator(i).state) for i in range(3)]
    assert [s for s, _t, _i in shown] == [C.CONT_CONNECTED, C.CONT_OPEN, C.CONT_SHORT]
    assert [i for s, _t, i in shown] == [s for s, _t, _i in shown]
    assert shown[0][1].startswith("CONNECTED ") and shown[0][1].endswith(" Ω")
    assert 0.5 < float(shown[0][1].split()[1]) < 2.0  # a ~1 ohm e-match
    assert shown[1][1] == "OPEN" and shown[2][1] == "SHORT"
    assert pad.indicator(0).property("continuity") == "CONNECTED"
    assert pad.fire_result_text(0) == "not fired"
    st = device.status_dict()
    assert [ig["continuity"] for ig in st["igniters"]] == ["CONNECTED", "OPEN", "SHORT"]


def test_key_battery_and_device_state(qtbot, open_pad):
    _conn, pad, device = open_pad("sim://?seed=2&key=off")
    qtbot.waitUntil(lambda: pad.key_text() == "ARM KEY: OFF", timeout=3000)
    assert pad.state_text().startswith("DEVICE: SAFE")
    volts = float(pad.battery_text().split()[1])
    assert abs(volts - device.status_dict()["battery_mv"] / 1000) < 0.3
    device.set_key(True)
    qtbot.waitUntil(lambda: pad.key_text() == "ARM KEY: ON", timeout=3000)
    assert pad.findChild(QLabel, "armKey").property("key") == "on"


def test_selection_mask_defaults_to_channel_one(qtbot, open_pad):
    _conn, pad, _device = open_pad("sim://?seed=3&ch1=ematch&ch2=ematch&ch3=open")
    assert pad.selected_mask == 1 and pad.checkbox(0).isChecked()
    with qtbot.waitSignal(pad.selection_changed, timeout=1000) as changed:
        pad.checkbox(2).click()
    assert changed.args == [0b101] and pad.selected_mask == 0b101
    with qtbot.waitSignal(pad.selection_changed, timeout=1000) as changed:
        pad.checkbox(0).click()
    assert changed.args == [0b100]
    pad.set_selected_mask(0b11)
    assert pad.selected_mask == 0b11 and pad.checkbox(1).isChecked()
    assert pad.describe_selection()[0].startswith("channel 1: ")
    pad.set_selection_locked(True)
    assert not any(pad.checkbox(i).isEnabled() for i in range(3))
    pad.set_selection_locked(False)
    assert all(pad.checkbox(i).isEnabled() for i in range(3))


def test_alt_digit_ticks_a_channel(qtbot, open_pad):
    _conn, pad, _device = open_pad("sim://?seed=4&ch1=ematch&ch2=ematch")
    pad.activateWindow()
    qtbot.waitActive(pad)
    with qtbot.waitSignal(pad.selection_changed, timeout=1000) as changed:
        qtbot.keyClick(pad, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert changed.args == [0b11]


def test_a_lost_link_makes_every_reading_unknown_and_says_so(qtbot, open_pad):
    conn, pad, device = open_pad("sim://?seed=5&ch1=ematch&ch2=open")
    _measured(qtbot, pad, 2)
    with qtbot.waitSignal(conn.link_lost, timeout=3000):
        device.unplug()
    assert pad.stale and "NO LINK" in pad.notice_text()
    assert pad.key_text() == "ARM KEY: UNKNOWN" and pad.battery_text() == "BATTERY: UNKNOWN"
    assert [pad.channel_text(i) for i in range(2)] == ["UNKNOWN", "UNKNOWN"]
    assert all(pad.indicator(i).state == C.CONT_UNKNOWN and pad.indicator(i).stale
               for i in range(2))
    with qtbot.waitSignal(conn.disconnected, timeout=1000):
        conn.close()
    assert pad.stale and pad.channel_text(0) == "UNKNOWN"


def test_texts_for_every_code_including_nonsense():
    assert continuity_text(C.CONT_CONNECTED, 1020) == "CONNECTED 1.02 Ω"
    assert continuity_text(C.CONT_CONNECTED, C.RESISTANCE_UNKNOWN) == "CONNECTED"
    assert continuity_text(C.CONT_OPEN, 5) == "OPEN"
    assert continuity_text(C.CONT_SHORT) == "SHORT"
    assert continuity_text(C.CONT_UNKNOWN) == "UNKNOWN"
    assert continuity_text(42).startswith("UNKNOWN")
    assert fire_result_text(C.FIRE_MISFIRE) == "last fire: MISFIRE"
    assert fire_result_text(9) == "last fire: result 9?"


def test_each_continuity_class_has_its_own_shape(qtbot):
    """Filled disc, hollow ring, cross, dashed ring with '?': told apart without colour."""
    ink = QColor("#000000")
    images = {}
    for state in (C.CONT_CONNECTED, C.CONT_OPEN, C.CONT_SHORT, C.CONT_UNKNOWN):
        w = ChannelIndicator()
        qtbot.addWidget(w)
        palette = w.palette()
        palette.setColor(QPalette.ColorRole.WindowText, ink)
        palette.setColor(QPalette.ColorRole.Window, QColor("#ffffff"))
        w.setPalette(palette)
        w.setAutoFillBackground(True)
        w.resize(64, 64)
        w.set_state(state)
        assert w.state == state and not w.stale
        images[state] = w.grab().toImage()

    def inked(state, x, y):
        return images[state].pixelColor(x, y).lightness() < 100

    assert inked(C.CONT_CONNECTED, 32, 32) and inked(C.CONT_CONNECTED, 20, 32)  # filled
    assert not inked(C.CONT_OPEN, 32, 32) and not inked(C.CONT_OPEN, 20, 32)  # a ring
    assert inked(C.CONT_SHORT, 32, 32) and not inked(C.CONT_SHORT, 32, 14)  # a cross
    frames = [bytes(images[s].constBits()) for s in images]
    assert len(set(frames)) == 4
