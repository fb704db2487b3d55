"""The launch panel against the real simulated pad (sim://): arm, countdown, hold-to-fire,
ABORT at every moment, misfire, link loss. Fast clocks (second_ms), never sleeps."""

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QMessageBox, QWidget

from ground.ui import Connection
from ground.ui.launch_panel import MIN_COUNTDOWN_S, SHORTCUTS, STATES, LaunchPanel
from ground.ui.pad import PadPanel
from protocol import constants as C
from protocol import messages as M

SECOND_MS = 30  # a countdown second, in tests


class Rig:
    """One window: a Connection, the pad panel and the launch panel, and what they emitted."""

    def __init__(self, qtbot, **options):
        self.qtbot = qtbot
        self.conn = Connection()
        self.window = QWidget()
        self.pad = PadPanel(self.conn, self.window)
        options.setdefault("second_ms", SECOND_MS)
        self.panel = LaunchPanel(self.conn, self.pad, self.window, **options)
        layout = QHBoxLayout(self.window)
        layout.addWidget(self.pad)
        layout.addWidget(self.panel)
        qtbot.addWidget(self.window)
        self.window.show()
        self.window.activateWindow()
        qtbot.waitActive(self.window)
        self.ticks = []
        self.fired = []
        self.outcomes = []
        self.commands = []
        self.panel.countdown_tick.connect(self.ticks.append)
        self.panel.outcome.connect(self.outcomes.append)
        self.conn.fired.connect(self.fired.append)
        self.conn.event.connect(lambda kind, text, _t: self.commands.append(text)
                                if kind == "command" else None)
        self.device = None

    def open(self, url):
        with self.qtbot.waitSignal(self.conn.connected, timeout=5000):
            self.conn.open(url)
        self.device = self.conn.client.link._port.device
        return self

    def state(self):
        return self.device.status_dict()

    def wait_continuity(self, channel=0):
        """A device just started has not measured its channels yet; STATUS comes at 2 Hz."""
        self.qtbot.waitUntil(lambda: self.pad.channel_state(channel) == C.CONT_CONNECTED,
                             timeout=3000)

    def confirm(self, answer=QMessageBox.StandardButton.Yes):
        box = self.panel.confirm_box
        assert box is not None and box.isVisible()
        box.button(answer).click()

    def arm(self, countdown_s=MIN_COUNTDOWN_S):
        self.panel.countdown_spin.setValue(countdown_s)
        self.wait_continuity()
        self.panel.arm_button.click()
        with self.qtbot.waitSignal(self.conn.armed, timeout=3000):
            self.confirm()

    def arm_to_ready(self):
        self.arm()
        self.qtbot.waitUntil(lambda: self.panel.state == "READY", timeout=3000)

    def wait_safe(self):
        self.qtbot.waitUntil(lambda: self.state()["state"] == "SAFE", timeout=3000)

    def outputs_on(self):
        return any(self.state()["outputs"])

    def any_edge_on(self):
        return any(on for _t, _ch, on in self.device.edges)


@pytest.fixture
def rig(qtbot):
    made = []

    def make(url, **options):
        r = Rig(qtbot, **options)
        made.append(r)
        return r.open(url)

    yield make
    for r in made:
        r.conn.close()


def press_space(qtbot, widget):
    qtbot.keyPress(widget, Qt.Key.Key_Space)


def release_space(qtbot, widget):
    qtbot.keyRelease(widget, Qt.Key.Key_Space)


# --- arming ---------------------------------------------------------------------------------------
def test_arm_with_the_key_off_shows_the_devices_reason(qtbot, rig):
    r = rig("sim://?seed=1&ch1=ematch&key=off")
    r.wait_continuity()
    r.panel.arm_button.click()
    assert r.panel.state == "CONFIRM"
    assert "everyone clear" in r.panel.confirm_box.text().lower()
    with qtbot.assertNotEmitted(r.conn.armed, wait=200), \
            qtbot.waitSignal(r.conn.refused, timeout=3000):
        r.confirm()
    assert r.panel.state == "REFUSED"
    assert r.panel.banner_text() == "ARM refused: %s" % C.NAK_NAMES[C.NAK_KEY_OFF]
    assert r.panel.arm_button.isEnabled() and not r.panel.fire_button.isEnabled()
    assert r.state()["state"] == "SAFE" and not r.ticks


def test_confirm_no_sends_nothing(qtbot, rig):
    r = rig("sim://?seed=1&ch1=ematch")
    r.wait_continuity()
    r.panel.arm_button.click()
    assert not r.panel.arm_button.isEnabled()  # one confirmation at a time
    with qtbot.assertNotEmitted(r.conn.armed, wait=300):
        r.confirm(QMessageBox.StandardButton.No)
    assert r.panel.state == "SAFE" and "cancelled" in r.panel.banner_text()
    assert not [c for c in r.commands if c.startswith("ARM")]
    assert r.state()["state"] == "SAFE" and r.panel.confirm_box is None
    r.panel.arm_button.click()
    with qtbot.assertNotEmitted(r.conn.armed, wait=300):
        qtbot.keyClick(r.panel.confirm_box, Qt.Key.Key_Escape)  # Esc on the question: no
    assert r.panel.state in ("SAFE", "ABORTED") and r.panel.confirm_box is None
    assert not [c for c in r.commands if c.startswith("ARM")]


def test_no_channel_selected_is_refused_before_asking(qtbot, rig):
    r = rig("sim://?seed=1&ch1=ematch")
    r.pad.checkbox(0).click()
    assert r.pad.selected_mask == 0
    r.panel.arm_button.click()
    assert r.panel.confirm_box is None and r.panel.state == "REFUSED"
    assert "no channel selected" in r.panel.banner_text()
    assert not [c for c in r.commands if c.startswith("ARM")]


def test_arm_while_disconnected_offers_nothing(qtbot):
    conn = Connection()
    window = QWidget()
    pad = PadPanel(conn, window)
    panel = LaunchPanel(conn, pad, window)
    qtbot.addWidget(window)
    assert panel.state == "DISCONNECTED" and panel.banner_text() == "NOT CONNECTED"
    assert not panel.arm_button.isEnabled() and not panel.fire_button.isEnabled()
    assert panel.abort_button.isEnabled()  # always
    panel.request_arm()  # F2 with nothing to arm
    assert panel.confirm_box is None
    panel.abort()  # ABORT with nothing to reach: one log line, no error
    assert panel.state == "DISCONNECTED"


def test_keyboard_only_arm_counts_down_every_second(qtbot, rig):
    r = rig("sim://?seed=2&ch1=ematch&ch2=open")
    r.panel.countdown_spin.setValue(MIN_COUNTDOWN_S)
    r.wait_continuity()
    qtbot.keyClick(r.window, Qt.Key.Key_F2)
    assert r.panel.state == "CONFIRM"
    assert "channel 1: CONNECTED" in r.panel.confirm_box.text()
    with qtbot.waitSignal(r.conn.armed, timeout=3000) as armed:
        qtbot.keyClick(r.panel.confirm_box, Qt.Key.Key_Y)
    assert armed.args == [1]
    qtbot.waitUntil(lambda: r.panel.state == "READY", timeout=3000)
    assert r.ticks == [5, 4, 3, 2, 1, 0]
    assert r.panel.countdown_text() == "T-0"
    assert r.panel.banner_text().startswith("HOLD TO FIRE")
    assert r.panel.fire_button.isEnabled() and not r.panel.arm_button.isEnabled()
    assert not r.pad.checkbox(0).isEnabled()  # the selection cannot change under a launch
    assert r.state()["state"] == "ARMED" and not r.fired
    with qtbot.waitSignal(r.conn.armed, timeout=3000) as disarmed:
        qtbot.keyClick(r.window, Qt.Key.Key_F3)
    assert disarmed.args == [0]
    assert r.panel.state == "SAFE" and "DISARMED" in r.panel.banner_text()
    assert r.state()["state"] == "SAFE" and not r.any_edge_on()
    assert r.pad.checkbox(0).isEnabled()


def test_the_key_turned_off_mid_countdown_stops_it_and_says_why(qtbot, rig):
    r = rig("sim://?seed=3&ch1=ematch", second_ms=200)
    r.panel.countdown_tick.connect(lambda left: r.device.set_key(False) if left == 3 else None)
    r.arm(countdown_s=6)
    qtbot.waitUntil(lambda: r.panel.state == "STOPPED", timeout=3000)
    qtbot.waitUntil(lambda: "KEY_OFF" in r.panel.banner_text(), timeout=3000)
    assert r.outcomes == ["STOPPED"]
    with qtbot.assertNotEmitted(r.panel.countdown_tick, wait=500):
        pass
    assert 0 not in r.ticks and not r.panel.fire_button.isEnabled() and not r.fired
    assert r.state()["safe_reason"] == "KEY_OFF"


# --- ABORT at every moment ------------------------------------------------------------------------
@pytest.mark.parametrize("at", [5, 4, 3, 2, 1, 0])
def test_abort_at_every_second_of_the_countdown(qtbot, rig, at):
    r = rig("sim://?seed=4&ch1=ematch")
    # from inside the tick, as a person pressing ABORT the moment that digit shows
    r.panel.countdown_tick.connect(lambda left: r.panel.abort_button.click() if left == at else None)
    r.arm()
    qtbot.waitUntil(lambda: r.panel.state != "COUNTDOWN", timeout=3000)
    assert r.panel.state == "ABORTED" and r.outcomes == ["ABORTED"]
    assert r.ticks[-1] == at
    with qtbot.assertNotEmitted(r.panel.countdown_tick, wait=4 * SECOND_MS):
        pass
    assert not r.panel.fire_button.isEnabled() and r.panel.arm_button.isEnabled()
    r.wait_safe()
    assert r.state()["safe_reason"] in ("ABORT", "DISARM")
    assert not r.fired and not r.any_edge_on()
    assert not [c for c in r.commands if c.startswith("FIRE")]


def test_esc_at_t0_while_ready_to_fire(qtbot, rig):
    r = rig("sim://?seed=5&ch1=ematch")
    r.arm_to_ready()
    with qtbot.waitSignal(r.conn.armed, timeout=3000) as safe:
        qtbot.keyClick(r.window, Qt.Key.Key_Escape)
    assert safe.args == [0]
    assert r.panel.state == "ABORTED" and r.outcomes == ["ABORTED"]
    assert not r.panel.fire_button.isEnabled()
    r.wait_safe()
    assert not r.fired and not r.any_edge_on()


def test_esc_while_firing_stops_the_stream_and_starts_the_do_not_approach_wait(qtbot, rig):
    r = rig("sim://?seed=6&ch1=dud", misfire_wait_s=3)
    r.arm_to_ready()
    with qtbot.waitSignal(r.conn.fired, timeout=1000):
        qtbot.mousePress(r.panel.fire_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(r.outputs_on, timeout=1000)
    # Esc from a widget other than the panel: it is the window's key
    with qtbot.waitSignal(r.conn.fire_stopped, timeout=1000) as stopped:
        qtbot.keyClick(r.pad.checkbox(1), Qt.Key.Key_Escape)
    assert stopped.args == ["abort"]
    assert r.panel.state == "ABORTED_HOT" and "DO NOT APPROACH" in r.panel.banner_text()
    assert r.outcomes == ["ABORTED"] and r.fired == [1]
    qtbot.mouseRelease(r.panel.fire_button, Qt.MouseButton.LeftButton)
    r.wait_safe()
    assert not r.outputs_on()
    qtbot.waitUntil(lambda: r.panel.state == "WAIT_OVER", timeout=3000)
    assert r.panel.arm_button.isEnabled()


# --- hold to fire ---------------------------------------------------------------------------------
def test_hold_the_fire_button_fires_while_held_then_fired(qtbot, rig):
    r = rig("sim://?seed=7&ch1=ematch&ch2=open")
    r.arm_to_ready()
    with qtbot.waitSignal(r.conn.fired, timeout=1000) as fired:
        qtbot.mousePress(r.panel.fire_button, Qt.MouseButton.LeftButton)
    assert fired.args == [1] and r.panel.state == "FIRING"
    qtbot.waitUntil(r.outputs_on, timeout=1000)
    assert r.state()["outputs"][0] and not r.state()["outputs"][1]
    with qtbot.waitSignal(r.conn.fire_stopped, timeout=1000) as stopped:
        qtbot.mouseRelease(r.panel.fire_button, Qt.MouseButton.LeftButton)
    assert stopped.args == ["released"] and r.panel.state == "SETTLING"
    qtbot.waitUntil(lambda: not r.outputs_on(), timeout=1000)
    with qtbot.waitSignal(r.panel.outcome, timeout=5000) as outcome:
        pass
    assert outcome.args == ["FIRED"] and r.panel.state == "FIRED"
    assert r.panel.banner_text().startswith("FIRED")
    assert r.state()["igniters"][0]["fire_result"] == "FIRED"
    r.wait_safe()
    assert r.panel.arm_button.isEnabled() and not r.panel.fire_button.isEnabled()
    qtbot.waitUntil(lambda: r.pad.fire_result_text(0) == "last fire: FIRED", timeout=3000)


def test_hold_the_space_bar_fires_while_held_and_ignores_auto_repeat(qtbot, rig):
    r = rig("sim://?seed=8&ch1=dud")
    r.arm_to_ready()
    with qtbot.waitSignal(r.conn.fired, timeout=1000):
        press_space(qtbot, r.window)
    qtbot.waitUntil(r.outputs_on, timeout=1000)
    # a held key repeats as release+press pairs: they are not the switch going up
    for kind in (QEvent.Type.KeyRelease, QEvent.Type.KeyPress):
        QApplication.sendEvent(r.window, QKeyEvent(kind, Qt.Key.Key_Space,
                                                   Qt.KeyboardModifier.NoModifier, " ", True))
    assert r.conn.is_firing and r.panel.state == "FIRING"
    with qtbot.waitSignal(r.conn.fire_stopped, timeout=1000) as stopped:
        release_space(qtbot, r.window)
    assert stopped.args == ["released"]
    qtbot.waitUntil(lambda: not r.outputs_on(), timeout=1000)
    assert r.fired == [1]


def test_space_on_a_focused_widget_is_still_the_launch_switch(qtbot, rig):
    r = rig("sim://?seed=9&ch1=ematch")
    r.arm_to_ready()
    focus = r.panel.countdown_spin
    with qtbot.waitSignal(r.conn.fired, timeout=1000):
        press_space(qtbot, focus)
    with qtbot.waitSignal(r.conn.fire_stopped, timeout=1000):
        release_space(qtbot, focus)


def test_the_window_losing_focus_lets_go_of_the_switch(qtbot, rig):
    r = rig("sim://?seed=10&ch1=dud")
    r.arm_to_ready()
    with qtbot.waitSignal(r.conn.fired, timeout=1000):
        press_space(qtbot, r.window)
    # the key release will go to whichever window has the focus now: stop at once
    with qtbot.waitSignal(r.conn.fire_stopped, timeout=1000) as stopped:
        QApplication.sendEvent(r.window, QEvent(QEvent.Type.WindowDeactivate))
    assert stopped.args == ["released"]
    qtbot.waitUntil(lambda: not r.outputs_on(), timeout=1000)


def test_hiding_the_panel_lets_go_of_the_switch(qtbot, rig):
    r = rig("sim://?seed=11&ch1=dud")
    r.arm_to_ready()
    with qtbot.waitSignal(r.conn.fired, timeout=1000):
        press_space(qtbot, r.window)
    with qtbot.waitSignal(r.conn.fire_stopped, timeout=1000):
        r.panel.hide()
    qtbot.waitUntil(lambda: not r.outputs_on(), timeout=1000)


def test_no_fire_without_arm_and_countdown(qtbot, rig):
    r = rig("sim://?seed=12&ch1=ematch", second_ms=100)
    r.wait_continuity()
    fire = r.panel.fire_button

    def try_everything():
        qtbot.mousePress(fire, Qt.MouseButton.LeftButton)
        qtbot.mouseRelease(fire, Qt.MouseButton.LeftButton)
        press_space(qtbot, r.window)
        release_space(qtbot, r.window)
        r.panel.switch_pressed()
        r.panel.switch_released()

    with qtbot.assertNotEmitted(r.conn.fired, wait=200):
        try_everything()  # SAFE
        r.panel.countdown_tick.connect(lambda left: try_everything() if left in (3, 1) else None)
        r.arm()  # and during the countdown
        qtbot.waitUntil(lambda: r.panel.state == "READY", timeout=3000)
    assert not fire.isDown() and not r.fired
    assert not [c for c in r.commands if c.startswith("FIRE")]
    assert not r.any_edge_on()


def test_space_never_clicks_a_button_but_ticks_a_check_box(qtbot, rig):
    r = rig("sim://?seed=13&ch1=ematch")
    r.wait_continuity()
    r.panel.arm_button.setFocus()
    qtbot.keyClick(r.panel.arm_button, Qt.Key.Key_Space)
    assert r.panel.confirm_box is None and r.panel.state == "SAFE"
    with qtbot.waitSignal(r.pad.selection_changed, timeout=1000) as changed:
        qtbot.keyClick(r.pad.checkbox(1), Qt.Key.Key_Space)
    assert changed.args == [3]


# --- automatic fire at T-0 ------------------------------------------------------------------------
def test_auto_fire_at_t0_stops_by_itself_after_the_pulse(qtbot, rig):
    r = rig("sim://?seed=14&ch1=ematch")
    pulse_ms = 500
    qtbot.keyClick(r.window, Qt.Key.Key_F4)
    assert r.panel.auto_fire_check.isChecked()
    r.panel.pulse_spin.setValue(pulse_ms)
    ticks_at_fire = []
    r.conn.fired.connect(lambda _m: ticks_at_fire.append(list(r.ticks)))
    r.arm()
    with qtbot.waitSignal(r.conn.fire_stopped, timeout=3000) as stopped:
        pass
    assert stopped.args == ["released"] and ticks_at_fire == [[5, 4, 3, 2, 1, 0]]
    assert r.panel.state == "SETTLING"
    with qtbot.waitSignal(r.panel.outcome, timeout=5000) as outcome:
        pass
    assert outcome.args == ["FIRED"]
    # the output was on for the pulse, by the device's own clock
    edges = [(t, on) for t, ch, on in r.device.edges if ch == 0]
    assert [on for _t, on in edges] == [True, False]
    on_ms = edges[1][0] - edges[0][0]
    assert pulse_ms * 0.9 <= on_ms < pulse_ms + 1000


def test_esc_during_the_auto_pulse_stops_it_early(qtbot, rig):
    r = rig("sim://?seed=15&ch1=dud", misfire_wait_s=2)
    r.panel.auto_fire_check.setChecked(True)
    r.panel.pulse_spin.setValue(3000)
    r.arm()
    qtbot.waitUntil(lambda: r.panel.state == "AUTO_FIRING", timeout=3000)
    qtbot.waitUntil(r.outputs_on, timeout=1000)
    with qtbot.waitSignal(r.conn.fire_stopped, timeout=1000) as stopped:
        qtbot.keyClick(r.window, Qt.Key.Key_Escape)
    assert stopped.args == ["abort"] and r.panel.state == "ABORTED_HOT"
    qtbot.waitUntil(lambda: not r.outputs_on(), timeout=1000)
    edges = [(t, on) for t, ch, on in r.device.edges if ch == 0]
    assert edges[1][0] - edges[0][0] < 2000  # well short of the 3 s pulse
    r.wait_safe()


def test_releasing_the_switch_stops_the_auto_pulse(qtbot, rig):
    r = rig("sim://?seed=16&ch1=dud")
    r.panel.auto_fire_check.setChecked(True)
    r.panel.pulse_spin.setValue(3000)
    r.arm()
    qtbot.waitUntil(lambda: r.panel.state == "AUTO_FIRING", timeout=3000)
    with qtbot.waitSignal(r.conn.fire_stopped, timeout=1000) as stopped:
        press_space(qtbot, r.window)  # pressing changes nothing: the stream is running
        assert r.conn.is_firing
        release_space(qtbot, r.window)
    assert stopped.args == ["released"] and r.panel.state == "SETTLING"


# --- after the fire ---------------------------------------------------------------------------------
def test_a_dud_is_a_misfire_with_the_do_not_approach_timer(qtbot, rig):
    r = rig("sim://?seed=17&ch1=dud", misfire_wait_s=3)
    waits = []
    r.panel.misfire_tick.connect(waits.append)
    r.arm_to_ready()
    with qtbot.waitSignal(r.conn.fired, timeout=1000):
        qtbot.mousePress(r.panel.fire_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(r.outputs_on, timeout=1000)
    qtbot.mouseRelease(r.panel.fire_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(r.panel.outcome, timeout=5000) as outcome:
        pass
    assert outcome.args == ["MISFIRE"] and r.panel.state == "MISFIRE"
    assert r.panel.banner_text() == "MISFIRE — DO NOT APPROACH 3 s"
    assert not r.panel.arm_button.isEnabled()  # the wait runs out first
    assert r.state()["igniters"][0]["fire_result"] == "MISFIRE"
    qtbot.waitUntil(lambda: r.panel.state == "WAIT_OVER", timeout=3000)
    assert waits == [3, 2, 1, 0]
    assert "disconnect the igniter before approaching" in r.panel.banner_text()
    assert r.panel.arm_button.isEnabled()
    assert r.state()["state"] == "SAFE"


def test_a_fire_the_device_refuses_is_not_fired(qtbot, rig):
    r = rig("sim://?seed=18&ch1=ematch")
    r.arm_to_ready()
    # the firing supply is cut; FIRE goes out before the window has heard the pad is SAFE
    r.device.set_key(False)
    with qtbot.waitSignal(r.conn.refused, timeout=2000) as refused:
        r.panel.switch_pressed()
    assert refused.args[0] == "FIRE" and refused.args[1] in ("KEY_OFF", "NOT_ARMED")
    with qtbot.waitSignal(r.panel.outcome, timeout=5000) as outcome:
        pass
    assert outcome.args == ["NOT FIRED"] and r.panel.state == "NOT_FIRED"
    assert "FIRE refused: %s" % refused.args[1] in r.panel.banner_text()
    assert not r.panel.fire_button.isEnabled() and not r.any_edge_on()
    assert r.state()["igniters"][0]["fire_result"] == "NONE"


# --- the link ---------------------------------------------------------------------------------------
def test_unplugged_mid_countdown_is_link_lost_and_the_pad_goes_safe(qtbot, rig):
    r = rig("sim://?seed=19&ch1=ematch", second_ms=150)
    r.panel.countdown_tick.connect(lambda left: r.device.unplug() if left == 5 else None)
    with qtbot.waitSignal(r.conn.link_lost, timeout=5000):
        r.arm(countdown_s=8)
    assert r.panel.state == "LINK_LOST"
    assert r.panel.banner_text() == "LINK LOST — the pad goes SAFE by itself"
    assert r.outcomes == ["LINK LOST"]
    assert not r.panel.fire_button.isEnabled() and not r.panel.arm_button.isEnabled()
    assert r.panel.abort_button.isEnabled()
    with qtbot.assertNotEmitted(r.panel.countdown_tick, wait=400):
        pass
    assert min(r.ticks) >= 4 and not r.fired
    assert r.pad.stale and r.pad.channel_text(0) == "UNKNOWN"
    # the device, cut off, makes itself SAFE after its link-loss time (its clock sped up)
    r.device.clock.set_speed(20)
    r.wait_safe()
    assert r.state()["safe_reason"] == "LINK_LOST" and not r.any_edge_on()
    r.panel.abort()  # ABORT still works (into a dead port): one line, no exception


def test_unplugged_while_firing_is_a_do_not_approach_wait(qtbot, rig):
    r = rig("sim://?seed=20&ch1=dud", misfire_wait_s=2)
    r.arm_to_ready()
    with qtbot.waitSignal(r.conn.fired, timeout=1000):
        press_space(qtbot, r.window)
    with qtbot.waitSignals([r.conn.fire_stopped, r.conn.link_lost], timeout=3000):
        r.device.unplug()
    assert r.panel.state == "LOST_HOT" and "DO NOT APPROACH" in r.panel.banner_text()
    release_space(qtbot, r.window)
    r.wait_safe()
    assert not r.outputs_on()
    qtbot.waitUntil(lambda: r.panel.state == "WAIT_OVER", timeout=3000)


def test_silence_mid_countdown_then_the_link_comes_back(qtbot, rig):
    r = rig("sim://?seed=23&ch1=ematch", second_ms=200)
    r.panel.countdown_tick.connect(lambda left: r.device.cut_link(True) if left == 9 else None)
    with qtbot.waitSignal(r.conn.link_lost, timeout=5000):
        r.arm(countdown_s=10)
    assert r.panel.state == "LINK_LOST" and "no frame from the device" in r.panel.notice_text()
    assert min(r.ticks) >= 3 and not r.fired
    r.wait_safe()
    assert r.state()["safe_reason"] == "LINK_LOST"
    r.device.cut_link(False)
    qtbot.waitUntil(lambda: r.panel.state == "SAFE", timeout=3000)
    assert "link restored" in r.panel.banner_text() and r.panel.notice_text() == ""
    assert r.panel.arm_button.isEnabled() and not r.panel.fire_button.isEnabled()


def test_bad_input_never_raises(qtbot, rig):
    r = rig("sim://?seed=21&ch1=ematch")
    r.wait_continuity()
    junk = M.Status(state=9, safe_reason=77, flags=0xFF, battery_mv=0,
                    channels=[M.ChannelStatus(continuity=9, fire_result=7, resistance_mohm=1)])
    r.conn.status.emit(junk)  # pytest-qt fails the test on any exception in a slot
    assert r.pad.channel_text(0).startswith("UNKNOWN")
    r.conn.refused.emit("FIRE", "BAD_TOKEN")
    r.conn.armed.emit(0)
    r.conn.fire_stopped.emit("nonsense")
    r.conn.error.emit("ARM failed: nonsense")
    assert r.panel.state == "SAFE"


# --- the keys -----------------------------------------------------------------------------------------
def test_every_launch_key_is_listed_and_every_state_in_the_table(qtbot, rig):
    r = rig("sim://?seed=22")
    keys = dict(r.panel.shortcuts())
    assert {"F2", "F3", "Space", "Esc"} <= set(keys) and keys == dict(SHORTCUTS)
    for button, key in ((r.panel.arm_button, "F2"), (r.panel.disarm_button, "F3"),
                        (r.panel.fire_button, "Space"), (r.panel.abort_button, "Esc")):
        assert key in button.toolTip()
    assert all(len(row) == 6 for row in STATES.values())
    assert not any(row[2] for name, row in STATES.items()
                   if name not in ("READY", "FIRING", "AUTO_FIRING"))
