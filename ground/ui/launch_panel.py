"""The launch panel: ARM with a confirmation, the countdown, hold-to-fire, ABORT, the outcome.

The firmware enforces every safety rule; this panel only offers what the
operator asks for, in the order a launch goes, and never tries more:

- ARM asks first (everyone clear of the pad?), then sends ARM for the channels
  ticked on the pad panel. A refusal shows the device's own reason.
- The device's ARM answer starts the countdown: very large digits, one beep a
  second where the platform has a sound.
- At T-0 the FIRE control comes alive. FIRE is a momentary switch: the FIRE
  button or the Space bar fires only while held. Releasing it, the window
  losing focus, or the panel being hidden stops the stream (a key release may
  never arrive then). With "fire automatically at T-0" the stream starts by
  itself at T-0 for the set pulse; releasing the switch or Esc stops it early.
  FIRE is never enabled and the fire stream never started unless the device
  armed and the countdown reached 0.
- After the stream ends the device goes SAFE by itself (SAFE_FIRE_DONE, at the
  end of its last 250 ms pulse, as for the command line). After the settle
  time the panel reads each fired channel's result from STATUS: FIRED (burned
  open) or MISFIRE (still continuous), and a misfire starts the do-not-approach
  timer. Then it sends DISARM: acknowledged as a no-op on the SAFE pad, it drops
  the arm token on this side so no ARM_REFRESH goes on for an arm that is over.
- ABORT (the button, or Esc from anywhere in the window) is enabled in every
  state, connected or not, and wins: countdown and any fire stop, the pad is
  made SAFE. An abort while the igniter was powered also starts the
  do-not-approach timer: nobody knows yet whether it is smouldering.
- A lost link stops everything here; the device goes SAFE on its own after
  its link-loss time.

Which controls each state enables is in STATES, the one table; SHORTCUTS lists
the keys (the main window shows them in Help through `shortcuts()`).
"""

import contextlib

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QWindow
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ground.launch import MIN_COUNTDOWN_S, MISFIRE_WAIT_S, SETTLE_S
from ground.ui.connection import channel_list, one_line
from ground.ui.pad import big_font
from ground.ui.theme import restyle
from protocol import constants as C

DEFAULT_COUNTDOWN_S = 10
MAX_COUNTDOWN_S = 60
DEFAULT_PULSE_MS = 1000
MIN_PULSE_MS = 1
MAX_PULSE_MS = 3000  # the firmware's per-fire cap: a longer pulse would be cut there anyway
SECOND_MS = 1000
SETTLE_MS = int(SETTLE_S * 1000)  # the firmware decides FIRED/MISFIRE within ~750 ms of the stream's end
RESULT_WAIT_MS = 3000  # after the settle time: no decisive STATUS by then counts as a misfire
COUNTDOWN_POINT_SIZE = 96
BANNER_POINT_SIZE = 26
BUTTON_POINT_SIZE = 20

ARM_KEY = "F2"
DISARM_KEY = "F3"
AUTO_FIRE_KEY = "F4"

# (key, action): every key on the launch path, for tooltips and the main window's Help
SHORTCUTS = (
    (ARM_KEY, "ARM the selected channels; the confirmation takes Y (ARM) or N / Esc (cancel)"),
    (DISARM_KEY, "DISARM: stop the countdown and make the pad SAFE"),
    ("Space", "hold to FIRE, once the countdown has reached T-0; releasing stops it"),
    ("Esc", "ABORT from anywhere in the window: countdown and fire stop, the pad goes SAFE"),
    (AUTO_FIRE_KEY, "fire automatically at T-0 on or off"),
    ("Alt+D", "countdown length"),
    ("Alt+P", "pulse length of the automatic fire"),
    ("Alt+1 .. Alt+8", "select a channel for launch (pad panel)"),
)

# state: (arm, disarm, fire, setup, level, banner)
#   arm, disarm, fire: whether that control works in the state. ABORT is in no row: it
#   works in every state, connected or not.
#   setup: the countdown, pulse and auto-fire settings and the pad's channel selection may
#   change (not while a launch is under way).
#   level: the banner's theme level (ok, info, warn, danger). banner: its text, {detail}
#   filled in per occasion. The banner also carries the state's name as property `state`.
STATES = {
    "DISCONNECTED": (False, False, False, True, "info", "NOT CONNECTED{detail}"),
    "SAFE": (True, False, False, True, "ok", "SAFE{detail}"),
    "CONFIRM": (False, False, False, False, "warn", "ARM? Confirm that everyone is clear of the pad"),
    "ARMING": (False, True, False, False, "warn", "ARMING channel {detail}"),
    "REFUSED": (True, False, False, True, "warn", "{detail}"),
    "COUNTDOWN": (False, True, False, False, "danger", "COUNTDOWN: ARMED channel {detail}"),
    "READY": (False, True, True, False, "danger", "HOLD TO FIRE (Space or the FIRE button)"),
    "FIRING": (False, False, True, False, "danger", "FIRING: release to stop"),
    "AUTO_FIRING": (False, False, True, False, "danger", "FIRING {detail}: release or Esc stops it"),
    "SETTLING": (False, False, False, False, "warn", "FIRE stopped: checking the igniter"),
    "FIRED": (True, False, False, True, "ok", "FIRED: the igniter burned open"),
    "NOT_FIRED": (True, False, False, True, "warn", "NOT FIRED: {detail}"),
    # the three do-not-approach waits: no new ARM until the wait is over
    "MISFIRE": (False, False, False, True, "danger", "MISFIRE — DO NOT APPROACH {detail}"),
    "ABORTED_HOT": (False, False, False, True, "danger",
                    "ABORTED while firing — DO NOT APPROACH {detail}"),
    "LOST_HOT": (False, False, False, True, "danger",
                 "LINK LOST while firing (the pad goes SAFE by itself) — DO NOT APPROACH {detail}"),
    "WAIT_OVER": (True, False, False, True, "warn",
                  "misfire wait over: disconnect the igniter before approaching"),
    "ABORTED": (True, False, False, True, "warn", "ABORTED: the pad is made SAFE"),
    "STOPPED": (True, False, False, True, "warn", "COUNTDOWN STOPPED: the pad went SAFE ({detail})"),
    "LINK_LOST": (False, False, False, True, "danger", "LINK LOST — the pad goes SAFE by itself"),
}
LAUNCH_STATES = ("CONFIRM", "ARMING", "COUNTDOWN", "READY", "FIRING", "AUTO_FIRING", "SETTLING")
SWITCH_STATES = ("READY", "FIRING", "AUTO_FIRING")  # the Space bar is the launch switch
STREAM_STATES = ("FIRING", "AUTO_FIRING")
WAIT_STATES = ("MISFIRE", "ABORTED_HOT", "LOST_HOT")


class _LaunchSwitch(QObject):
    """The application-wide event filter that makes Space the momentary launch switch and
    lets go of it when the window stops receiving keys."""

    def __init__(self, panel):
        super().__init__(panel)
        self._panel = panel

    def eventFilter(self, obj, event):
        try:
            kind = event.type()
            if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                if event.key() == Qt.Key.Key_Space:
                    return self._panel._space_key(obj, event)
            elif kind == QEvent.Type.WindowDeactivate and self._panel._owns(obj):
                self._panel.switch_released("window deactivated")
            elif kind == QEvent.Type.ApplicationDeactivate:
                self._panel.switch_released("application deactivated")
        except Exception as exc:  # a filter that raises would unwind into every event
            with contextlib.suppress(Exception):
                self._panel._show_error("launch switch", exc)
        return False


class LaunchPanel(QWidget):
    countdown_tick = Signal(int)  # seconds left: N .. 0, once a second, 0 at T-0
    misfire_tick = Signal(int)  # seconds left of the do-not-approach wait
    outcome = Signal(str)  # FIRED, MISFIRE, NOT FIRED, ABORTED, STOPPED or LINK LOST
    state_changed = Signal(str)  # a key of STATES

    def __init__(self, conn, pad, parent=None, second_ms=SECOND_MS, settle_ms=SETTLE_MS,
                 misfire_wait_s=MISFIRE_WAIT_S):
        super().__init__(parent)
        self.setObjectName("launchPanel")
        self._conn = conn
        self._pad = pad
        self._second_ms = second_ms
        self._settle_ms = settle_ms
        self._misfire_wait_s = misfire_wait_s
        self._state = None
        self._requested_mask = 0  # what the operator confirmed
        self._armed_mask = 0  # what the device armed for this launch
        self._countdown_len_s = DEFAULT_COUNTDOWN_S
        self._left_s = 0
        self._wait_left_s = 0
        self._auto_pending = False  # T-0 of an automatic fire: conn.fired means AUTO_FIRING
        self._settle_due = False
        self._fire_refusal = None  # the device's reason if it refused a FIRE of this launch
        self._want_safe_reason = False
        self.confirm_box = None
        self._switch = _LaunchSwitch(self)
        self._filtering = False

        self._build()
        self._make_timers()
        self._make_shortcuts()

        conn.connected.connect(self._on_connected)
        conn.disconnected.connect(self._on_disconnected)
        conn.link_lost.connect(self._on_link_lost)
        conn.status.connect(self._on_status)
        conn.armed.connect(self._on_armed)
        conn.fired.connect(self._on_fired)
        conn.fire_stopped.connect(self._on_fire_stopped)
        conn.refused.connect(self._on_refused)
        conn.error.connect(self._on_error)

        self._enter("SAFE" if conn.is_connected else "DISCONNECTED")

    # --- what other parts read --------------------------------------------------------------------
    @property
    def state(self):
        return self._state

    def banner_text(self):
        return self.banner.text()

    def countdown_text(self):
        return self.countdown_label.text()

    def notice_text(self):
        return self.notice.text()

    @staticmethod
    def shortcuts():
        """(key, action) for every key on the launch path."""
        return list(SHORTCUTS)

    # --- building ---------------------------------------------------------------------------------
    def _build(self):
        self.countdown_spin = QSpinBox(self)
        self.countdown_spin.setObjectName("countdownSeconds")
        self.countdown_spin.setRange(MIN_COUNTDOWN_S, MAX_COUNTDOWN_S)
        self.countdown_spin.setValue(DEFAULT_COUNTDOWN_S)
        self.countdown_spin.setSuffix(" s")
        self.countdown_spin.setToolTip("Countdown length, at least %d s (Alt+D)" % MIN_COUNTDOWN_S)
        self.countdown_spin.valueChanged.connect(self._on_countdown_length)
        self.auto_fire_check = QCheckBox("Fire automatically at T-0", self)
        self.auto_fire_check.setObjectName("autoFire")
        self.auto_fire_check.setToolTip(
            "At T-0 fire for the pulse below without holding FIRE; releasing FIRE or Esc "
            "stops it early (%s)" % AUTO_FIRE_KEY)
        self.auto_fire_check.toggled.connect(self._on_auto_toggled)
        self.pulse_spin = QSpinBox(self)
        self.pulse_spin.setObjectName("pulseMs")
        self.pulse_spin.setRange(MIN_PULSE_MS, MAX_PULSE_MS)
        self.pulse_spin.setValue(DEFAULT_PULSE_MS)
        self.pulse_spin.setSuffix(" ms")
        self.pulse_spin.setToolTip("How long the automatic fire lasts (Alt+P)")
        countdown_label = QLabel("Count&down", self)
        countdown_label.setBuddy(self.countdown_spin)
        pulse_label = QLabel("&Pulse", self)
        pulse_label.setBuddy(self.pulse_spin)
        setup = QHBoxLayout()  # one row: the panel must fit a 768-pixel laptop screen
        setup.addWidget(countdown_label)
        setup.addWidget(self.countdown_spin)
        setup.addSpacing(12)
        setup.addWidget(self.auto_fire_check)
        setup.addWidget(pulse_label)
        setup.addWidget(self.pulse_spin)
        setup.addStretch(1)

        self.arm_button = self._button("ARM (%s)" % ARM_KEY, "armButton", "arm",
                                       "ARM the channels selected on the pad; asks first (%s)"
                                       % ARM_KEY)
        self.arm_button.clicked.connect(lambda: self.request_arm())
        self.disarm_button = self._button("DISARM (%s)" % DISARM_KEY, "disarmButton", "disarm",
                                          "Stop the countdown and make the pad SAFE (%s)"
                                          % DISARM_KEY)
        self.disarm_button.clicked.connect(lambda: self.disarm())
        self.fire_button = self._button("FIRE (Space)", "fireButton", "fire",
                                        "Fires only while held, once the countdown reaches T-0 "
                                        "(or hold Space)")
        self.fire_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a key must never "click" it
        self.fire_button.pressed.connect(lambda: self.switch_pressed("button"))
        self.fire_button.released.connect(lambda: self.switch_released("button"))
        self.abort_button = self._button("ABORT (Esc)", "abortButton", "abort",
                                         "Stop everything and make the pad SAFE (Esc, anywhere "
                                         "in the window)")
        self.abort_button.clicked.connect(lambda: self.abort())

        self.countdown_label = QLabel(self)
        self.countdown_label.setObjectName("countdown")
        restyle(self.countdown_label, role="countdown")
        self.countdown_label.setFont(big_font(self.countdown_label, COUNTDOWN_POINT_SIZE))
        self.countdown_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._show_countdown(self.countdown_spin.value())
        self.banner = QLabel(self)
        self.banner.setObjectName("banner")
        self.banner.setFont(big_font(self.banner, BANNER_POINT_SIZE))
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setWordWrap(True)
        self.notice = QLabel(self)
        self.notice.setObjectName("launchNotice")
        self.notice.setWordWrap(True)
        self._show_notice("")

        arming = QVBoxLayout()
        arming.addWidget(self.arm_button)
        arming.addWidget(self.disarm_button)
        arming.addStretch(1)
        middle = QHBoxLayout()
        middle.addLayout(arming)
        middle.addWidget(self.countdown_label, 1)
        switch = QHBoxLayout()
        switch.addWidget(self.fire_button, 1)
        switch.addWidget(self.abort_button, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(setup)
        layout.addLayout(middle)
        layout.addWidget(self.banner)
        layout.addWidget(self.notice)
        layout.addLayout(switch)

    def _button(self, text, name, role, tip):
        button = QPushButton(text, self)
        button.setObjectName(name)
        restyle(button, role=role)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        button.setFont(big_font(button, BUTTON_POINT_SIZE))
        button.setMinimumHeight(64)
        return button

    def _make_timers(self):
        self._countdown_timer = self._timer(self._second_ms, self._on_countdown_timer)
        self._misfire_timer = self._timer(self._second_ms, self._on_misfire_timer)
        self._pulse_timer = self._timer(DEFAULT_PULSE_MS, self._on_pulse_over, single=True)
        self._settle_timer = self._timer(self._settle_ms, self._on_settle_due, single=True)
        self._result_timer = self._timer(self._settle_ms + RESULT_WAIT_MS, self._on_no_result,
                                         single=True)

    def _timer(self, interval_ms, slot, single=False):
        timer = QTimer(self)
        timer.setInterval(interval_ms)
        timer.setSingleShot(single)
        timer.timeout.connect(slot)
        return timer

    def _make_shortcuts(self):
        for key, slot in ((ARM_KEY, self.request_arm), (DISARM_KEY, self.disarm),
                          (AUTO_FIRE_KEY, self._toggle_auto)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda slot=slot: slot())
        self._abort_shortcut = None
        self._attach_abort_key()

    def _attach_abort_key(self):
        """Esc is ABORT from anywhere: the shortcut lives on the top-level window, so it works
        even while this panel is on a hidden tab, whichever widget has the focus."""
        host = self.window()
        old = self._abort_shortcut
        if old is not None and old.parent() is host:
            return
        shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), host)
        shortcut.setObjectName("abortShortcut")
        shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        shortcut.activated.connect(self.abort)
        self._abort_shortcut = shortcut
        if old is not None:
            old.setEnabled(False)  # two live Esc shortcuts would be ambiguous: neither fires
            old.deleteLater()

    # --- the one place the state changes ------------------------------------------------------------
    def _enter(self, state, detail=""):
        arm, disarm, fire, setup, level, banner = STATES[state]
        self._state = state
        self.arm_button.setEnabled(arm)
        self.disarm_button.setEnabled(disarm)
        self.fire_button.setEnabled(fire)
        self.countdown_spin.setEnabled(setup)
        self.auto_fire_check.setEnabled(setup)
        self.pulse_spin.setEnabled(setup and self.auto_fire_check.isChecked())
        self._pad.set_selection_locked(not setup)
        self.banner.setText(banner.format(detail=detail))
        restyle(self.banner, role="banner", level=level, state=state)
        self.state_changed.emit(state)

    @contextlib.contextmanager
    def _guard(self, what):
        """Whatever goes wrong in a slot becomes one line under the banner, never a traceback."""
        try:
            yield
        except Exception as exc:
            self._show_error(what, exc)

    def _show_error(self, what, exc):
        self._show_notice("%s: %s" % (what, one_line(exc)), "danger")

    def _show_notice(self, text, level="warn"):
        """A second line under the banner: what went wrong, or a detail worth reading."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        restyle(self.notice, role="banner", level=level)

    # --- arming -----------------------------------------------------------------------------------
    def request_arm(self):
        """ARM clicked (or F2): ask first, then send ARM for the pad's selected channels."""
        with self._guard("ARM"):
            if not STATES[self._state][0]:
                return
            self._show_notice("")
            if not self._conn.is_connected:
                self._enter("DISCONNECTED", ": ARM needs a connected pad")
                return
            mask = self._pad.selected_mask
            if not mask:
                self._enter("REFUSED", "ARM refused: no channel selected (tick one on the pad)")
                return
            self._countdown_len_s = self.countdown_spin.value()
            box = QMessageBox(QMessageBox.Icon.Warning, "ARM the pad",
                              self._confirm_text(mask),
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                              self)
            box.setObjectName("armConfirm")
            box.setDefaultButton(QMessageBox.StandardButton.No)  # Enter must not arm
            box.setEscapeButton(QMessageBox.StandardButton.No)
            box.finished.connect(self._on_confirm_finished)
            self.confirm_box = box
            self._requested_mask = mask
            self._enter("CONFIRM")
            box.open()

    def _confirm_text(self, mask):
        lines = ["ARM channel %s and count down from T-%d?" % (channel_list(mask),
                                                              self._countdown_len_s), ""]
        lines += self._pad.describe_selection()
        lines += ["", "Is everyone clear of the pad?",
                  "Y: ARM    N or Esc: cancel    (Esc again, or ABORT, stops it at any time)"]
        return "\n".join(lines)

    def _on_confirm_finished(self, _result):
        with self._guard("ARM"):
            box, self.confirm_box = self.confirm_box, None
            if box is None:
                return
            yes = box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes
            box.deleteLater()
            # the keys (Esc, Space, F3) must reach this window the moment the box is gone,
            # on platforms that do not hand the focus back to the box's parent by themselves
            self.window().activateWindow()
            if self._state != "CONFIRM":
                return  # closed by ABORT, a lost link or a disconnection
            if not yes:
                self._enter("SAFE", ": ARM cancelled")
                return
            if not self._conn.is_connected:
                self._enter("DISCONNECTED", ": ARM needs a connected pad")
                return
            self._fire_refusal = None
            self._enter("ARMING", channel_list(self._requested_mask))
            self._conn.arm(self._requested_mask)

    def _close_confirm(self):
        box, self.confirm_box = self.confirm_box, None
        if box is not None:
            box.reject()
            box.deleteLater()

    def _on_armed(self, mask):
        with self._guard("ARM"):
            if mask:
                if self._state == "ARMING":
                    self._start_countdown(mask)
                elif self._state in ("ABORTED", "ABORTED_HOT"):
                    # an ARM answered after the ABORT went out: the Connection makes the pad
                    # SAFE again; this DISARM also drops the token the answer left behind
                    self._conn.disarm()
            elif self._state in ("ARMING", "COUNTDOWN", "READY") and self._conn.link_ok:
                # the device went SAFE on its own: key off, arm lapsed, a fault (with the link
                # lost this is the Connection's assumption, and link_lost follows)
                self._stop_launch_timers()
                self._want_safe_reason = True
                self._enter("STOPPED", "device SAFE")
                self.outcome.emit("STOPPED")
                self._conn.request_status()

    def _on_refused(self, command, reason):
        with self._guard(command):
            if command == "ARM" and self._state == "ARMING":
                self._enter("REFUSED", "ARM refused: %s" % reason)
            elif command == "FIRE":
                self._fire_refusal = reason
                if self._state in ("READY", "COUNTDOWN") or (
                        self._state in STREAM_STATES and not self._conn.is_firing):
                    self._not_fired("FIRE refused: %s" % reason)
                elif self._state == "NOT_FIRED":
                    self._enter("NOT_FIRED", "FIRE refused: %s" % reason)

    def _on_error(self, text):
        with self._guard("error"):
            if self._state == "ARMING" and text.startswith("ARM"):
                self._enter("REFUSED", text)

    # --- the countdown ----------------------------------------------------------------------------
    def _start_countdown(self, mask):
        self._armed_mask = mask
        self._left_s = self._countdown_len_s
        self._enter("COUNTDOWN", channel_list(mask))
        self._countdown_timer.start(self._second_ms)
        self._announce_second()

    def _on_countdown_timer(self):
        with self._guard("countdown"):
            if self._state != "COUNTDOWN":
                self._countdown_timer.stop()
                return
            self._left_s -= 1
            if self._left_s <= 0:
                self._left_s = 0
                self._countdown_timer.stop()
            self._announce_second()

    def _announce_second(self):
        left = self._left_s
        self._show_countdown(left)
        QApplication.beep()
        self.countdown_tick.emit(left)
        # a slot of countdown_tick may have aborted: only a countdown still running reaches T-0
        if left == 0 and self._state == "COUNTDOWN":
            self._t_zero()

    def _show_countdown(self, seconds):
        self.countdown_label.setText("T-%d" % seconds)

    def _t_zero(self):
        if not self.auto_fire_check.isChecked():
            self._enter("READY")
            return
        self._auto_pending = True
        try:
            self._conn.start_fire(self._armed_mask)
        finally:
            self._auto_pending = False
        if self._state == "COUNTDOWN":
            # neither started nor refused yet: the refusal, if any, follows
            self._not_fired("the FIRE stream did not start")

    # --- the momentary switch ---------------------------------------------------------------------
    def switch_pressed(self, source="button"):
        """The launch switch went down (the FIRE button or Space). Fires only when READY."""
        with self._guard("FIRE"):
            if self._state != "READY":
                return  # not armed, or not at T-0 yet: nothing is even tried
            self._conn.start_fire(self._armed_mask)

    def switch_released(self, source="button"):
        """The launch switch went up, or might have without our hearing of it."""
        with self._guard("FIRE"):
            if self._state in STREAM_STATES:
                self._conn.stop_fire()

    def _space_key(self, obj, event):
        """From the application event filter: True swallows the event."""
        if not self._owns(obj):
            return False
        if self._state not in SWITCH_STATES:
            # Space never clicks a button on this window: it is the launch switch. Elsewhere
            # (check boxes, text) it is an ordinary key until the countdown reaches T-0.
            return isinstance(obj, QPushButton)
        if not event.isAutoRepeat():
            if event.type() == QEvent.Type.KeyPress:
                self.switch_pressed("space")
            else:
                self.switch_released("space")
        return True

    def _owns(self, obj):
        """Whether an event's receiver belongs to this panel's window (not a dialog over it)."""
        window = self.window()
        if isinstance(obj, QWidget):
            return obj.window() is window
        if isinstance(obj, QWindow):
            return obj is window.windowHandle()
        return False

    def showEvent(self, event):
        super().showEvent(event)
        self._attach_abort_key()  # the panel may have been put into a window since it was made
        if not self._filtering:
            QApplication.instance().installEventFilter(self._switch)
            self._filtering = True

    def hideEvent(self, event):
        # a hidden panel cannot be holding FIRE: its key release may go elsewhere
        self.switch_released("panel hidden")
        if self._filtering:
            QApplication.instance().removeEventFilter(self._switch)
            self._filtering = False
        super().hideEvent(event)

    # --- firing -----------------------------------------------------------------------------------
    def _on_fired(self, mask):
        with self._guard("FIRE"):
            if self._auto_pending and self._state == "COUNTDOWN":
                self._enter("AUTO_FIRING", "%d ms" % self.pulse_spin.value())
                self._pulse_timer.start(self.pulse_spin.value())
            elif self._state == "READY":
                self._enter("FIRING")

    def _on_pulse_over(self):
        with self._guard("FIRE"):
            if self._state == "AUTO_FIRING":
                self._conn.stop_fire()

    def _on_fire_stopped(self, reason):
        with self._guard("FIRE"):
            if self._state not in STREAM_STATES:
                return
            self._pulse_timer.stop()
            self._settle_due = False
            self._enter("SETTLING")
            self._settle_timer.start(self._settle_ms)
            self._result_timer.start(self._settle_ms + RESULT_WAIT_MS)

    def _on_settle_due(self):
        with self._guard("result"):
            if self._state == "SETTLING":
                self._settle_due = True
                self._conn.request_status()

    def _on_no_result(self):
        with self._guard("result"):
            if self._state == "SETTLING":
                self._show_notice("no fire result from the device: treated as a misfire")
                self._misfire()
                self._conn.disarm()

    def _judge(self, status):
        """FIRED, MISFIRE or NOT FIRED from a STATUS after the settle time; None: not yet."""
        if status.state == C.STATE_FIRING:
            return None
        results = [ch.fire_result for i, ch in enumerate(status.channels)
                   if self._armed_mask & (1 << i)]
        if not results:
            return None
        if C.FIRE_MISFIRE in results:
            return "MISFIRE"
        if all(r == C.FIRE_FIRED for r in results):
            return "FIRED"
        if all(r == C.FIRE_NONE for r in results):
            return "NOT FIRED"
        return None  # some decided, some not: the next STATUS will say

    def _verdict(self, verdict):
        """The device said how the fire went: show it, and end the arm on this side too."""
        if verdict == "FIRED":
            self._stop_launch_timers()
            self._enter("FIRED")
            self.outcome.emit("FIRED")
        elif verdict == "MISFIRE":
            self._misfire()
        else:
            why = "the device reports no fire on channel %s" % channel_list(self._armed_mask)
            if self._fire_refusal:
                why += " (FIRE refused: %s)" % self._fire_refusal
            self._enter("NOT_FIRED", why)
            self.outcome.emit("NOT FIRED")
        # The device went SAFE by itself when its last pulse ended (SAFE_FIRE_DONE); that
        # tail is left alone, as the command line leaves it. This DISARM is acknowledged as a
        # no-op and drops the arm token here, so no ARM_REFRESH goes on for an arm that is over.
        self._conn.disarm()

    def _misfire(self):
        self._stop_launch_timers()
        self._start_wait("MISFIRE")
        self.outcome.emit("MISFIRE")

    def _not_fired(self, why):
        self._stop_launch_timers()
        self._enter("NOT_FIRED", why)
        self.outcome.emit("NOT FIRED")
        self._conn.disarm()

    # --- the do-not-approach wait ------------------------------------------------------------------
    def _start_wait(self, state):
        self._wait_left_s = self._misfire_wait_s
        self._enter(state, "%d s" % self._wait_left_s)
        self.misfire_tick.emit(self._wait_left_s)
        self._misfire_timer.start(self._second_ms)

    def _on_misfire_timer(self):
        with self._guard("misfire timer"):
            if self._state not in WAIT_STATES:
                self._misfire_timer.stop()
                return
            self._wait_left_s = max(0, self._wait_left_s - 1)
            self.misfire_tick.emit(self._wait_left_s)
            if self._wait_left_s == 0:
                self._misfire_timer.stop()
                self._enter("WAIT_OVER")
            else:
                self._enter(self._state, "%d s" % self._wait_left_s)

    # --- making safe ------------------------------------------------------------------------------
    def abort(self):
        """ABORT: the button or Esc. Works in every state; the Connection sends it at once."""
        with self._guard("ABORT"):
            state = self._state
            if state in STREAM_STATES:
                self._stop_launch_timers()
                self._start_wait("ABORTED_HOT")  # before conn.abort(): its fire_stopped is ours
                self.outcome.emit("ABORTED")
            elif state in ("CONFIRM", "ARMING", "COUNTDOWN", "READY"):
                self._stop_launch_timers()
                self._enter("ABORTED")
                self._close_confirm()
                self.outcome.emit("ABORTED")
            # in every other state the display stays (a misfire wait goes on): the pad is
            # made SAFE all the same
        # whatever failed above, the ABORT goes out
        with self._guard("ABORT"):
            self._conn.abort()

    def disarm(self):
        """DISARM (button or F3): the orderly end of an ARM."""
        with self._guard("DISARM"):
            if not STATES[self._state][1]:
                return
            self._stop_launch_timers()
            self._close_confirm()
            self._enter("SAFE", ": DISARMED")
            self._conn.disarm()

    def _stop_launch_timers(self):
        for timer in (self._countdown_timer, self._pulse_timer, self._settle_timer,
                      self._result_timer):
            timer.stop()

    # --- the connection ---------------------------------------------------------------------------
    def _on_connected(self, _device_info):
        with self._guard("connect"):
            if self._state not in WAIT_STATES:
                self._show_notice("")
                self._enter("SAFE")

    def _on_disconnected(self, reason):
        with self._guard("disconnect"):
            self._lose("DISCONNECTED", ": %s" % reason)

    def _on_link_lost(self, reason):
        with self._guard("link"):
            self._lose("LINK_LOST", "")
            self._show_notice("link lost: %s" % reason, "danger")

    def _lose(self, state, detail):
        was = self._state
        self._stop_launch_timers()
        self._close_confirm()
        if was in WAIT_STATES:
            return  # the do-not-approach wait goes on: the link changes nothing about it
        if was in (*STREAM_STATES, "SETTLING"):
            self._start_wait("LOST_HOT")
        else:
            self._enter(state, detail)
        if was in LAUNCH_STATES:
            self.outcome.emit("LINK LOST")

    def _on_status(self, status):
        with self._guard("status"):
            if self._state == "SETTLING" and self._settle_due:
                verdict = self._judge(status)
                if verdict is not None:
                    self._verdict(verdict)
            elif self._state == "STOPPED" and self._want_safe_reason:
                if status.state == C.STATE_SAFE and 0 <= status.safe_reason < len(C.SAFE_REASON_NAMES):
                    self._want_safe_reason = False
                    self._enter("STOPPED", C.SAFE_REASON_NAMES[status.safe_reason])
            elif self._state == "LINK_LOST" and self._conn.link_ok:
                self._show_notice("")
                self._enter("SAFE", ": link restored (ARM again to launch)")

    # --- settings ---------------------------------------------------------------------------------
    def _on_countdown_length(self, seconds):
        with self._guard("countdown"):
            if STATES[self._state][3]:
                self._show_countdown(seconds)

    def _on_auto_toggled(self, checked):
        with self._guard("auto fire"):
            self.pulse_spin.setEnabled(checked and STATES[self._state][3])

    def _toggle_auto(self):
        with self._guard("auto fire"):
            if STATES[self._state][3]:
                self.auto_fire_check.toggle()
