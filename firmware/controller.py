"""The launch controller: the safety state machine, in one file.

States: SAFE, ARMED, FIRING, and a latched FAULT. Driven by `tick(now_ms)`
and by decoded commands; time is passed in and compared with ticks_diff, so
deadlines survive the tick counter's wrap. The controller is the only code
that turns a fire output on, and it does so only through `_set_outputs`.

TRANSITIONS below is the whole machine. Every row is (from, event, to,
reason). Handlers check the row exists before moving, and the tests walk
every (state, event) pair against this table. An event with no row for the
current state changes nothing (a command gets a NAK).
"""

from firmware.hal import KEY_INCONSISTENT, KEY_ON
from protocol.compat import const
from protocol.constants import (
    ARM_OVERRIDE_CONTINUITY,
    CONT_CONNECTED,
    CONT_OPEN,
    FIRE_FIRED,
    FIRE_MISFIRE,
    FIRE_NONE,
    NAK_BAD_CHANNEL,
    NAK_BAD_MASK,
    NAK_BAD_STATE,
    NAK_BAD_TOKEN,
    NAK_FAULT,
    NAK_KEY_OFF,
    NAK_NO_CONTINUITY,
    NAK_NOT_ARMED,
    SAFE_ABORT,
    SAFE_ARM_LAPSED,
    SAFE_BOOT,
    SAFE_DISARM,
    SAFE_FAULT,
    SAFE_FIRE_CAP,
    SAFE_FIRE_DONE,
    SAFE_KEY_OFF,
    SAFE_LINK_LOST,
    STATE_ARMED,
    STATE_FAULT,
    STATE_FIRING,
    STATE_SAFE,
)
from protocol.ticks import ticks_add, ticks_diff

OK = const(0)  # a command result that is not a NAK reason

# Timing defaults (CONFIG keys can change them within the limits in config.py).
ARM_LAPSE_MS = const(3000)  # ARM lapses unless refreshed (AltOS: 3 s)
FIRE_PULSE_MS = const(250)  # each valid FIRE keeps outputs on at most this long
FIRE_CAP_MS = const(3000)  # hard cap per fire, whatever arrives
LINK_LOSS_MS = const(1000)  # no valid frame this long while ARMED/FIRING -> SAFE
SETTLE_MS = const(500)  # after a fire, how long an igniter has to read OPEN
# A key passing between positions opens both contacts for a moment; only a
# disagreement that lasts this long is a fault. Until then the key is not ON,
# so an armed pad is made SAFE at once anyway.
KEY_FAULT_MS = const(100)

# Events
EV_ARM = const(0)
EV_REFRESH = const(1)
EV_FIRE = const(2)
EV_DISARM = const(3)
EV_ABORT = const(4)
EV_KEY_OFF = const(5)
EV_LAPSE = const(6)
EV_PULSE_END = const(7)
EV_FIRE_CAP = const(8)
EV_LINK_LOST = const(9)
EV_FAULT = const(10)
EVENT_NAMES = (
    "ARM",
    "REFRESH",
    "FIRE",
    "DISARM",
    "ABORT",
    "KEY_OFF",
    "LAPSE",
    "PULSE_END",
    "FIRE_CAP",
    "LINK_LOST",
    "FAULT",
)
N_EVENTS = const(11)

S, A, F, X = STATE_SAFE, STATE_ARMED, STATE_FIRING, STATE_FAULT

# fmt: off
TRANSITIONS = (
    # from  event         to  reason
    # --- arming -------------------------------------------------------------
    (S, EV_ARM,       A, "ARM with the key on, channels named, continuity CONNECTED on each "
                         "(or overridden for this ARM): fresh token, lapses in ARM_LAPSE_MS"),
    (A, EV_REFRESH,   A, "ARM_REFRESH with the current token: the lapse deadline moves on"),
    (A, EV_LAPSE,     S, "no refresh for ARM_LAPSE_MS: an unattended ARM must not linger"),
    # --- firing: a dead-man stream --------------------------------------------
    (A, EV_FIRE,      F, "FIRE with the current token, armed channels and the mask's inverse: "
                         "outputs on for FIRE_PULSE_MS, the FIRE_CAP_MS cap starts"),
    (F, EV_FIRE,      F, "another valid FIRE for the same channels: the pulse is extended "
                         "FIRE_PULSE_MS from now, never past the cap"),
    (F, EV_PULSE_END, S, "no FIRE for FIRE_PULSE_MS: the launch switch was released"),
    (F, EV_FIRE_CAP,  S, "FIRE_CAP_MS since the first FIRE: stop whatever keeps arriving"),
    # --- making safe: honoured in every state that can fire ------------------------
    (A, EV_DISARM,    S, "operator DISARM: the orderly end of an ARM"),
    (F, EV_DISARM,    S, "operator DISARM while firing: outputs off now"),
    (S, EV_DISARM,    S, "DISARM when safe: nothing to do, acknowledged"),
    (A, EV_ABORT,     S, "ABORT: one key away, always honoured"),
    (F, EV_ABORT,     S, "ABORT while firing: outputs off now"),
    (S, EV_ABORT,     S, "ABORT when safe: nothing to do, acknowledged"),
    (X, EV_DISARM,    X, "a FAULT is latched: outputs stay off until power-cycled"),
    (X, EV_ABORT,     X, "a FAULT is latched: outputs stay off until power-cycled"),
    (A, EV_KEY_OFF,   S, "the physical arm key turned off: firing supply is cut, so is the state"),
    (F, EV_KEY_OFF,   S, "the physical arm key turned off mid-fire"),
    (A, EV_LINK_LOST, S, "no valid frame for LINK_LOSS_MS: the operator may not see the pad"),
    (F, EV_LINK_LOST, S, "no valid frame for LINK_LOSS_MS while firing"),
    # --- faults latch ---------------------------------------------------------------
    (S, EV_FAULT,     X, "an output reads back on while commanded off, or the key's contacts "
                         "disagree for KEY_FAULT_MS: the hardware cannot be trusted"),
    (A, EV_FAULT,     X, "as above, while armed"),
    (F, EV_FAULT,     X, "as above, while firing"),
    (X, EV_FAULT,     X, "already latched"),
)
# fmt: on

# Why each transition into SAFE happened (STATUS.safe_reason).
_SAFE_REASON = bytearray(N_EVENTS)
_SAFE_REASON[EV_DISARM] = SAFE_DISARM
_SAFE_REASON[EV_ABORT] = SAFE_ABORT
_SAFE_REASON[EV_KEY_OFF] = SAFE_KEY_OFF
_SAFE_REASON[EV_LAPSE] = SAFE_ARM_LAPSED
_SAFE_REASON[EV_LINK_LOST] = SAFE_LINK_LOST
_SAFE_REASON[EV_FIRE_CAP] = SAFE_FIRE_CAP
_SAFE_REASON[EV_PULSE_END] = SAFE_FIRE_DONE
_SAFE_REASON[EV_FAULT] = SAFE_FAULT


def _build_next_state():
    """TRANSITIONS as a lookup: _NEXT[state * N_EVENTS + event] is the next state, or 255."""
    table = bytearray(b"\xff" * (4 * N_EVENTS))
    for row in TRANSITIONS:
        table[row[0] * N_EVENTS + row[1]] = row[2]
    return table


_NEXT = _build_next_state()


def next_state(state, event):
    """The state `event` leads to from `state` per TRANSITIONS, or -1 if it has no row."""
    n = _NEXT[state * N_EVENTS + event]
    return -1 if n == 255 else n


class Controller:
    """The launch controller for one pad box. `hal` per firmware/hal; `continuity` a Continuity."""

    def __init__(self, hal, continuity, now_ms):
        self.hal = hal
        self.continuity = continuity
        self.channels = hal.channels
        # Safety invariant 1: outputs off before anything else, and SAFE.
        self._outputs = 0
        for ch in range(self.channels):
            hal.fire(ch, False)
        self.state = STATE_SAFE
        self.safe_reason = SAFE_BOOT
        self.armed_mask = 0
        self.firing_mask = 0
        self.token = bytearray(4)
        self.fire_result = bytearray(self.channels)  # FIRE_* per channel
        self.arm_lapse_ms = ARM_LAPSE_MS
        self.fire_pulse_ms = FIRE_PULSE_MS
        self.fire_cap_ms = FIRE_CAP_MS
        self.link_loss_ms = LINK_LOSS_MS
        self._lapse_at = now_ms
        self._pulse_end_at = now_ms
        self._fire_started_at = now_ms
        self._last_frame_at = now_ms
        self._settle_until = now_ms
        self._settling = 0  # mask of channels whose fire result is still being decided
        self.key_on = False
        self._key_bad_since = -1  # when the key's contacts started to disagree

    # --- the one place outputs change -------------------------------------------------------
    def _set_outputs(self, mask):
        hal = self.hal
        for ch in range(self.channels):
            bit = 1 << ch
            if (mask ^ self._outputs) & bit:
                hal.fire(ch, bool(mask & bit))
        self._outputs = mask

    @property
    def outputs(self):
        """Bit mask of fire outputs commanded on."""
        return self._outputs

    # --- moving through the table ------------------------------------------------------------
    def _go(self, event, now_ms):
        """Take the TRANSITIONS row for (state, event); False if there is none."""
        to = _NEXT[self.state * N_EVENTS + event]
        if to == 255:
            return False
        frm = self.state
        if to != STATE_FIRING:
            self._set_outputs(0)  # outputs go off before the state says so
        if to == STATE_SAFE or to == STATE_FAULT:
            if frm == STATE_FIRING:
                self._begin_settle(now_ms)
            self.armed_mask = 0
            self.firing_mask = 0
            if frm != to or event == EV_FAULT:
                self.safe_reason = _SAFE_REASON[event]
            self.hal.buzzer(False)
        self.state = to
        return True

    # --- commands (return OK or a NAK reason) --------------------------------------------------
    def frame_received(self, now_ms):
        """Any verified frame arrived: the link is alive."""
        self._last_frame_at = now_ms

    def arm(self, now_ms, channel_mask, flags):
        if self.state == STATE_FAULT:
            return NAK_FAULT
        if self.state != STATE_SAFE:
            return NAK_BAD_STATE
        if self.hal.arm_key() != KEY_ON:
            return NAK_KEY_OFF
        if channel_mask == 0 or channel_mask >> self.channels:
            return NAK_BAD_CHANNEL
        if not flags & ARM_OVERRIDE_CONTINUITY:
            cls = self.continuity.cls
            for ch in range(self.channels):
                if channel_mask & (1 << ch) and cls[ch] != CONT_CONNECTED:
                    return NAK_NO_CONTINUITY
        self.hal.entropy_into(self.token)
        self._go(EV_ARM, now_ms)
        self.armed_mask = channel_mask
        for ch in range(self.channels):
            if channel_mask & (1 << ch):
                self.fire_result[ch] = FIRE_NONE
        self._lapse_at = ticks_add(now_ms, self.arm_lapse_ms)
        self._last_frame_at = now_ms
        self.hal.buzzer(True)
        return OK

    def _token_matches(self, buf, off):
        t = self.token
        diff = (buf[off] ^ t[0]) | (buf[off + 1] ^ t[1]) | (buf[off + 2] ^ t[2]) | (buf[off + 3] ^ t[3])
        return diff == 0

    def refresh(self, now_ms, buf, off):
        """ARM_REFRESH; the token is buf[off:off+4]."""
        if self.state != STATE_ARMED:
            return NAK_NOT_ARMED if self.state != STATE_FAULT else NAK_FAULT
        if not self._token_matches(buf, off):
            return NAK_BAD_TOKEN
        self._go(EV_REFRESH, now_ms)
        self._lapse_at = ticks_add(now_ms, self.arm_lapse_ms)
        return OK

    def fire(self, now_ms, buf, off, mask, inverted_mask):
        """FIRE; the token is buf[off:off+4]. Each valid FIRE keeps outputs on FIRE_PULSE_MS."""
        state = self.state
        if state != STATE_ARMED and state != STATE_FIRING:
            return NAK_NOT_ARMED if state != STATE_FAULT else NAK_FAULT
        if state == STATE_ARMED and ticks_diff(now_ms, self._lapse_at) >= 0:
            # the ARM lapsed since the last tick: it must not fire on a stale ARM
            self._go(EV_LAPSE, now_ms)
            return NAK_NOT_ARMED
        if not self._token_matches(buf, off):
            return NAK_BAD_TOKEN
        if (
            mask == 0
            or (mask ^ 0xFF) != inverted_mask
            or mask & ~self.armed_mask
            or (state == STATE_FIRING and mask != self.firing_mask)
        ):
            return NAK_BAD_MASK
        if self.hal.arm_key() != KEY_ON:
            self._go(EV_KEY_OFF, now_ms)
            return NAK_KEY_OFF
        if state == STATE_ARMED:
            self._fire_started_at = now_ms
            self.firing_mask = mask
        elif ticks_diff(now_ms, self._fire_started_at) >= self.fire_cap_ms:
            self._go(EV_FIRE_CAP, now_ms)
            return NAK_BAD_STATE
        self._go(EV_FIRE, now_ms)
        end = ticks_add(now_ms, self.fire_pulse_ms)
        cap = ticks_add(self._fire_started_at, self.fire_cap_ms)
        self._pulse_end_at = cap if ticks_diff(end, cap) > 0 else end
        for ch in range(self.channels):
            if mask & (1 << ch):
                self.continuity.invalidate(ch)
        self._set_outputs(mask)
        return OK

    def disarm(self, now_ms):
        self._go(EV_DISARM, now_ms)
        return OK if self.state != STATE_FAULT else NAK_FAULT

    def abort(self, now_ms):
        self._go(EV_ABORT, now_ms)
        return OK if self.state != STATE_FAULT else NAK_FAULT

    # --- time and sensors ----------------------------------------------------------------------
    def tick(self, now_ms):
        """Read the sensors and apply every time-driven rule. Call at least every 10 ms."""
        hal = self.hal
        key = hal.arm_key()
        self.key_on = key == KEY_ON
        # Faults first: a stuck output or a confused key outranks everything.
        if key == KEY_INCONSISTENT:
            if self._key_bad_since < 0:
                self._key_bad_since = now_ms
            elif ticks_diff(now_ms, self._key_bad_since) >= KEY_FAULT_MS:
                self._go(EV_FAULT, now_ms)
        else:
            self._key_bad_since = -1
        for ch in range(self.channels):
            if hal.fire_readback(ch) and not self._outputs & (1 << ch):
                self._go(EV_FAULT, now_ms)
        self.deadlines(now_ms)
        # Continuity of channels whose output is off.
        cont = self.continuity
        for ch in range(self.channels):
            if not self._outputs & (1 << ch):
                cont.update(ch, hal.continuity_raw(ch))
        if self._settling:
            self._settle(now_ms)

    def deadlines(self, now_ms):
        """The time-driven rules of ARMED and FIRING alone (no sensors read): the app calls
        it on every loop pass between ticks, so link loss, lapse, pulse end and cap act at
        their deadline itself, not up to a tick period after it."""
        state = self.state
        if state == STATE_ARMED or state == STATE_FIRING:
            if not self.key_on:
                self._go(EV_KEY_OFF, now_ms)
            elif ticks_diff(now_ms, self._last_frame_at) >= self.link_loss_ms:
                self._go(EV_LINK_LOST, now_ms)
            elif state == STATE_ARMED:
                if ticks_diff(now_ms, self._lapse_at) >= 0:
                    self._go(EV_LAPSE, now_ms)
            elif ticks_diff(now_ms, self._fire_started_at) >= self.fire_cap_ms:
                self._go(EV_FIRE_CAP, now_ms)
            elif ticks_diff(now_ms, self._pulse_end_at) >= 0:
                self._go(EV_PULSE_END, now_ms)

    def _begin_settle(self, now_ms):
        self._settling = self.firing_mask
        self._settle_until = ticks_add(now_ms, SETTLE_MS)

    def _settle(self, now_ms):
        """Decide FIRED (burned open) or MISFIRE (still continuous) for the channels just fired."""
        cls = self.continuity.cls
        done = ticks_diff(now_ms, self._settle_until) >= 0
        for ch in range(self.channels):
            bit = 1 << ch
            if self._settling & bit:
                if cls[ch] == CONT_OPEN:
                    self.fire_result[ch] = FIRE_FIRED
                    self._settling &= ~bit
                elif done:
                    # still continuous (or unreadable): treat as live, do not approach
                    self.fire_result[ch] = FIRE_MISFIRE
                    self._settling &= ~bit

    def arm_remaining_ms(self, now_ms):
        if self.state != STATE_ARMED:
            return 0
        left = ticks_diff(self._lapse_at, now_ms)
        return left if left > 0 else 0
