"""The launch controller's safety rules, on CPython and on real MicroPython."""

from fake_hal import FakeHal
from mptest import assert_raises, no_alloc

from firmware.continuity import Continuity
from firmware.controller import (
    EV_ABORT,
    EV_ARM,
    EV_DISARM,
    EV_FAULT,
    EV_FIRE,
    EV_FIRE_CAP,
    EV_KEY_OFF,
    EV_LAPSE,
    EV_LINK_LOST,
    EV_PULSE_END,
    EV_REFRESH,
    N_EVENTS,
    OK,
    TRANSITIONS,
    Controller,
    next_state,
)
from firmware.hal import KEY_INCONSISTENT, KEY_OFF, KEY_ON
from protocol import constants as C
from protocol.ticks import TICKS_MAX, ticks_add, ticks_diff

OPEN_RAW = 65535  # nothing connected: the node sits at the sense supply
ONE_OHM_RAW = 198  # 1.0 ohm under a 330 ohm sense resistor


def make(channels=2, start=0, raw=ONE_OHM_RAW):
    hal = FakeHal(channels=channels, raw=raw)
    hal.now = start
    c = Controller(hal, Continuity(channels, 65535, 330), start)
    for _ in range(6):
        step(c, hal, 1)
    return c, hal


def step(c, hal, dt_ms):
    hal.now = ticks_add(hal.now, dt_ms)
    c.tick(hal.now)


def run(c, hal, ms, frames_every=0, fire_every=0, mask=1):
    """Advance `ms` one millisecond at a time, sending keep-alive frames or FIRE as asked."""
    for i in range(ms):
        step(c, hal, 1)
        if fire_every and i % fire_every == 0:
            c.frame_received(hal.now)
            c.fire(hal.now, c.token, 0, mask, mask ^ 0xFF)
        elif frames_every and i % frames_every == 0:
            c.frame_received(hal.now)


def armed(channels=2, start=0):
    c, hal = make(channels, start)
    assert c.arm(hal.now, 0b01, 0) == OK
    return c, hal


def firing(start=0):
    c, hal = armed(start=start)
    assert c.fire(hal.now, c.token, 0, 1, 0xFE) == OK
    return c, hal


def faulted():
    c, hal = make()
    hal.stuck[1] = 1
    step(c, hal, 1)
    hal.stuck[1] = 0
    return c, hal


# --- boot ------------------------------------------------------------------------------------
def test_boots_safe_with_outputs_driven_off_first():
    hal = FakeHal()
    hal.level[0] = 1  # as if the pin came up high
    c = Controller(hal, Continuity(2, 65535, 330), 0)
    assert c.state == C.STATE_SAFE and c.safe_reason == C.SAFE_BOOT
    assert hal.level[0] == 0 and hal.fire_calls >= 2
    assert c.outputs == 0


def test_continuity_unknown_until_enough_samples_then_connected():
    hal = FakeHal()
    c = Controller(hal, Continuity(2, 65535, 330), 0)
    assert c.continuity.cls[0] == C.CONT_UNKNOWN
    assert c.arm(0, 1, 0) == C.NAK_NO_CONTINUITY
    for _ in range(4):
        step(c, hal, 1)
    assert c.continuity.cls[0] == C.CONT_CONNECTED
    assert 900 <= c.continuity.mohm[0] <= 1100


# --- the table, walked -----------------------------------------------------------------------
def _put_in(state):
    return {C.STATE_SAFE: make, C.STATE_ARMED: armed, C.STATE_FIRING: firing, C.STATE_FAULT: faulted}[state]()


def _apply(c, hal, event):
    """Cause `event`; returns the command result (OK or a NAK) or None for a time/sensor event."""
    if event == EV_ARM:
        return c.arm(hal.now, 0b01, 0)
    if event == EV_REFRESH:
        return c.refresh(hal.now, c.token, 0)
    if event == EV_FIRE:
        return c.fire(hal.now, c.token, 0, 1, 0xFE)
    if event == EV_DISARM:
        return c.disarm(hal.now)
    if event == EV_ABORT:
        return c.abort(hal.now)
    # Time and sensor events: move exactly one deadline (or sensor) and tick once,
    # so no other rule can fire first. Whole timed sequences are tested below.
    if event == EV_KEY_OFF:
        hal.key = KEY_OFF
    elif event == EV_LAPSE:
        c._lapse_at = hal.now
    elif event == EV_PULSE_END:
        c._pulse_end_at = hal.now
    elif event == EV_FIRE_CAP:
        c._fire_started_at = ticks_add(hal.now, -c.fire_cap_ms)
    elif event == EV_LINK_LOST:
        c._last_frame_at = ticks_add(hal.now, -c.link_loss_ms)
    elif event == EV_FAULT:
        hal.stuck[1] = 1
    c.tick(hal.now)
    return None


def test_every_state_event_pair_follows_the_table():
    states = (C.STATE_SAFE, C.STATE_ARMED, C.STATE_FIRING, C.STATE_FAULT)
    checked = 0
    for state in states:
        for event in range(N_EVENTS):
            c, hal = _put_in(state)
            assert c.state == state
            result = _apply(c, hal, event)
            expected = next_state(state, event)
            if expected < 0:
                assert c.state == state, (state, event, c.state)
                assert result is None or result != OK, (state, event, result)
            else:
                assert c.state == expected, (state, event, c.state, expected)
            # the outputs agree with the state, whatever happened
            assert (c.outputs != 0) == (c.state == C.STATE_FIRING)
            assert hal.any_on() == (c.state == C.STATE_FIRING)
            checked += 1
    assert checked == 4 * N_EVENTS
    assert len(TRANSITIONS) >= 20


def test_every_transition_row_has_a_reason():
    for frm, event, to, reason in TRANSITIONS:
        assert 0 <= frm <= 3 and 0 <= to <= 3 and 0 <= event < N_EVENTS
        assert len(reason) > 10


# --- arming ------------------------------------------------------------------------------------
def test_arm_refused_with_the_key_off_or_without_continuity():
    c, hal = make()
    hal.key = KEY_OFF
    step(c, hal, 1)
    assert c.arm(hal.now, 1, 0) == C.NAK_KEY_OFF
    hal.key = KEY_ON
    hal.raw[1] = OPEN_RAW
    run(c, hal, 10)
    assert c.continuity.cls[1] == C.CONT_OPEN
    assert c.arm(hal.now, 0b10, 0) == C.NAK_NO_CONTINUITY
    assert c.arm(hal.now, 0b100, 0) == C.NAK_BAD_CHANNEL
    assert c.arm(hal.now, 0, 0) == C.NAK_BAD_CHANNEL
    assert c.state == C.STATE_SAFE
    # the override is for this one ARM only
    assert c.arm(hal.now, 0b10, C.ARM_OVERRIDE_CONTINUITY) == OK
    c.disarm(hal.now)
    assert c.arm(hal.now, 0b10, 0) == C.NAK_NO_CONTINUITY


def test_each_arm_gets_a_fresh_token_and_old_tokens_are_dead():
    c, hal = armed()
    first = bytes(c.token)
    c.disarm(hal.now)
    assert c.arm(hal.now, 1, 0) == OK
    assert bytes(c.token) != first
    assert c.fire(hal.now, first, 0, 1, 0xFE) == C.NAK_BAD_TOKEN
    assert c.state == C.STATE_ARMED and not hal.any_on()


def test_arm_lapses_after_3_s_unless_refreshed():
    c, hal = armed()
    t0 = hal.now
    run(c, hal, 2900, frames_every=100)
    assert c.refresh(hal.now, c.token, 0) == OK
    run(c, hal, 2999, frames_every=100)
    assert c.state == C.STATE_ARMED
    run(c, hal, 2, frames_every=100)
    assert c.state == C.STATE_SAFE and c.safe_reason == C.SAFE_ARM_LAPSED
    assert ticks_diff(hal.now, t0) == 2900 + 3001
    assert c.refresh(hal.now, c.token, 0) == C.NAK_NOT_ARMED


def test_buzzer_sounds_while_armed():
    c, hal = armed()
    assert hal.buzzing
    c.disarm(hal.now)
    assert not hal.buzzing


# --- firing --------------------------------------------------------------------------------------
def test_fire_needs_token_mask_and_inverse():
    c, hal = armed()
    bad = bytearray(c.token)
    bad[3] ^= 1
    assert c.fire(hal.now, bad, 0, 1, 0xFE) == C.NAK_BAD_TOKEN
    assert c.fire(hal.now, c.token, 0, 1, 0xFF) == C.NAK_BAD_MASK
    assert c.fire(hal.now, c.token, 0, 0b10, 0xFD) == C.NAK_BAD_MASK  # not armed
    assert c.fire(hal.now, c.token, 0, 0, 0xFF) == C.NAK_BAD_MASK
    assert not hal.any_on()
    assert c.fire(hal.now, c.token, 0, 1, 0xFE) == OK
    assert hal.level[0] == 1 and hal.level[1] == 0
    assert c.fire(hal.now, c.token, 0, 0b11, 0xFC) == C.NAK_BAD_MASK


def test_outputs_stop_within_250_ms_of_the_last_fire():
    c, hal = armed()
    run(c, hal, 1000, fire_every=100)  # a held launch button: FIRE every 100 ms
    assert c.state == C.STATE_FIRING and hal.level[0] == 1
    c.fire(hal.now, c.token, 0, 1, 0xFE)
    last_fire = hal.now
    run(c, hal, 400, frames_every=50)  # released: frames still flow, FIRE does not
    edges = hal.edges()
    on_edges = [e for e in edges if e[2] == 1]
    off = [e for e in edges if e[2] == 0]
    assert len(on_edges) == 1 and len(off) == 1
    latency = ticks_diff(off[0][0], last_fire)
    assert 0 < latency <= 250, latency
    assert c.state == C.STATE_SAFE and c.safe_reason == C.SAFE_FIRE_DONE


def test_hard_cap_stops_a_fire_at_3_s_whatever_arrives():
    c, hal = armed()
    start = hal.now
    run(c, hal, 5000, fire_every=100)
    on = [e for e in hal.edges() if e[2] == 1]
    off = [e for e in hal.edges() if e[2] == 0]
    assert len(on) == 1 and len(off) == 1
    assert ticks_diff(on[0][0], start) == 1  # the first FIRE, one tick in
    assert ticks_diff(off[0][0], on[0][0]) == 3000
    assert c.state == C.STATE_SAFE and c.safe_reason == C.SAFE_FIRE_CAP


def test_link_loss_makes_armed_safe_within_1_s():
    c, hal = armed()  # the ARM was the last frame heard
    last = hal.now
    while c.state == C.STATE_ARMED:
        step(c, hal, 1)
    assert c.state == C.STATE_SAFE and c.safe_reason == C.SAFE_LINK_LOST
    assert ticks_diff(hal.now, last) == 1000


def test_key_off_mid_fire_drops_outputs_at_once():
    c, hal = firing()
    hal.key = KEY_OFF
    step(c, hal, 1)
    assert not hal.any_on() and c.state == C.STATE_SAFE and c.safe_reason == C.SAFE_KEY_OFF
    off = [e for e in hal.edges() if e[2] == 0]
    assert off and off[-1][0] == hal.now


def test_key_off_between_ticks_refuses_fire():
    c, hal = armed()
    hal.key = KEY_OFF
    assert c.fire(hal.now, c.token, 0, 1, 0xFE) == C.NAK_KEY_OFF
    assert not hal.any_on() and c.state == C.STATE_SAFE


def test_fired_when_igniter_burns_open_misfire_when_it_stays_continuous():
    c, hal = armed()
    assert c.fire(hal.now, c.token, 0, 1, 0xFE) == OK
    run(c, hal, 100)
    hal.raw[0] = OPEN_RAW  # the bridgewire burned through
    run(c, hal, 700)
    assert c.fire_result[0] == C.FIRE_FIRED
    c, hal = armed()
    assert c.fire(hal.now, c.token, 0, 1, 0xFE) == OK
    run(c, hal, 1000)  # still reads ~1 ohm: a misfire
    assert c.fire_result[0] == C.FIRE_MISFIRE
    assert c.fire_result[1] == C.FIRE_NONE


def test_abort_wins_in_every_state():
    for maker in (make, armed, firing):
        c, hal = maker()
        assert c.abort(hal.now) == OK
        assert c.state == C.STATE_SAFE and not hal.any_on()
    c, hal = faulted()
    assert c.abort(hal.now) == C.NAK_FAULT and c.state == C.STATE_FAULT


def test_stuck_output_or_confused_key_latches_fault():
    c, hal = faulted()
    assert c.state == C.STATE_FAULT and c.safe_reason == C.SAFE_FAULT
    step(c, hal, 1)
    assert c.arm(hal.now, 1, 0) == C.NAK_FAULT
    assert c.state == C.STATE_FAULT
    # a key between positions: SAFE at once (it is not ON), FAULT only if it persists
    c, hal = firing()
    hal.key = KEY_INCONSISTENT
    step(c, hal, 1)
    assert c.state == C.STATE_SAFE and not hal.any_on() and c.safe_reason == C.SAFE_KEY_OFF
    run(c, hal, 50)
    hal.key = KEY_ON
    run(c, hal, 200)
    assert c.state == C.STATE_SAFE and c.arm(hal.now, 1, 0) == OK  # a brief glitch: no fault
    hal.key = KEY_INCONSISTENT
    run(c, hal, 99)
    assert c.state == C.STATE_SAFE
    run(c, hal, 2)
    assert c.state == C.STATE_FAULT and not hal.any_on()


def test_deadlines_hold_across_the_tick_wrap():
    c, hal = armed(start=TICKS_MAX - 1500)
    run(c, hal, 2999, frames_every=100)
    assert c.state == C.STATE_ARMED and hal.now < 5000  # wrapped
    run(c, hal, 2, frames_every=100)
    assert c.state == C.STATE_SAFE and c.safe_reason == C.SAFE_ARM_LAPSED
    c, hal = armed(start=TICKS_MAX - 100)
    c.fire(hal.now, c.token, 0, 1, 0xFE)
    fired = hal.now
    run(c, hal, 400, frames_every=50)
    off = [e for e in hal.edges() if e[2] == 0]
    assert ticks_diff(off[0][0], fired) <= 250


# --- no allocation ----------------------------------------------------------------------------
def test_tick_and_fire_dispatch_allocate_nothing():
    c, hal = armed()

    def armed_tick():
        c.frame_received(hal.now)
        hal.now = ticks_add(hal.now, 1)
        c.tick(hal.now)

    no_alloc(armed_tick)
    token = bytearray(c.token)

    def fire_frame():
        hal.now = ticks_add(hal.now, 100)
        c.frame_received(hal.now)
        r = c.fire(hal.now, token, 0, 1, 0xFE)
        c.tick(hal.now)
        return r

    no_alloc(fire_frame)
    assert c.state == C.STATE_FIRING and hal.level[0] == 1
    assert_raises(IndexError, hal.fire, 9, True)


def test_a_fire_after_the_arm_lapsed_is_refused_even_before_the_next_tick():
    c, hal = armed()
    # the lapse deadline passes between two ticks, and a FIRE arrives right then
    hal.now = ticks_add(hal.now, c.arm_lapse_ms)
    assert c.fire(hal.now, c.token, 0, 1, 0xFE) == C.NAK_NOT_ARMED
    assert not hal.any_on()
    assert c.state == C.STATE_SAFE and c.safe_reason == C.SAFE_ARM_LAPSED
