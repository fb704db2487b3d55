"""Property tests of the launch controller (hypothesis): whatever arrives, in any order,
an output is on only while FIRING, with the key on, after a FIRE carrying the current
token that is younger than the pulse, and never past the hard cap."""

import pathlib
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).parent / "micropython"))

from fake_hal import FakeHal

from firmware.continuity import Continuity
from firmware.controller import FIRE_CAP_MS, FIRE_PULSE_MS, OK, Controller
from firmware.hal import KEY_INCONSISTENT, KEY_OFF, KEY_ON
from protocol import constants as C
from protocol.ticks import TICKS_MAX, ticks_add, ticks_diff

actions = st.one_of(
    # launches: the interesting part, so make them common
    st.tuples(st.just("launch"), st.integers(1, 3)),
    # hold the launch button: n FIRE frames, `period` ms apart, the key turned off
    # after `key_off_after` of them (never, if it is >= n)
    st.tuples(st.just("hold"), st.integers(1, 40), st.integers(20, 140), st.integers(0, 60)),
    st.tuples(st.just("wait"), st.integers(0, 600)),
    st.tuples(st.just("fire"), st.booleans(), st.integers(0, 3)),
    st.tuples(st.just("arm"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("refresh"), st.booleans()),
    st.tuples(st.just("disarm")),
    st.tuples(st.just("abort")),
    st.tuples(st.just("key"), st.sampled_from([KEY_ON, KEY_OFF, KEY_INCONSISTENT])),
    st.tuples(st.just("frame")),
    st.tuples(st.just("igniter"), st.integers(0, 1), st.sampled_from([0, 198, 8623, 65535])),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(actions, max_size=60), st.integers(0, TICKS_MAX))
def test_outputs_on_only_with_a_fresh_valid_fire(script, start):
    hal = FakeHal(channels=2)
    hal.now = start
    c = Controller(hal, Continuity(2, 65535, 330), start)
    last_ok_fire = None
    fire_started = None
    for action in script:
        kind = action[0]
        now = hal.now
        if kind == "wait":
            walk(c, hal, action[1], last_ok_fire, fire_started)
            continue
        if kind == "launch":
            c.frame_received(now)
            hal.key = KEY_ON
            armed = c.arm(now, action[1], C.ARM_OVERRIDE_CONTINUITY) == OK
            if armed and c.fire(now, c.token, 0, action[1], action[1] ^ 0xFF) == OK:
                last_ok_fire = fire_started = now
            check(c, hal, last_ok_fire, fire_started)
            continue
        if kind == "hold":
            # the launch button held: FIRE every `period` ms, ticking every 10 ms between
            for n_fired in range(action[1]):
                if n_fired == action[3]:
                    hal.key = KEY_OFF  # the safety officer turns the key mid-fire
                was = c.state
                c.frame_received(hal.now)
                if c.fire(hal.now, c.token, 0, c.firing_mask or c.armed_mask or 1,
                          (c.firing_mask or c.armed_mask or 1) ^ 0xFF) == OK:
                    last_ok_fire = hal.now
                    if was == C.STATE_ARMED:
                        fire_started = hal.now
                check(c, hal, last_ok_fire, fire_started)
                walk(c, hal, action[2], last_ok_fire, fire_started)
            continue
        if kind == "fire":
            token = c.token if action[1] else bytes(b ^ 0x5A for b in c.token)
            mask = action[2]
            was = c.state
            c.frame_received(now)
            if c.fire(now, token, 0, mask, mask ^ 0xFF) == OK:
                assert action[1], "a FIRE with a wrong token was accepted"
                last_ok_fire = now
                if was == C.STATE_ARMED:
                    fire_started = now
        elif kind == "arm":
            c.frame_received(now)
            c.arm(now, action[1], C.ARM_OVERRIDE_CONTINUITY if action[2] else 0)
        elif kind == "refresh":
            c.frame_received(now)
            token = c.token if action[1] else bytes(4)
            c.refresh(now, token, 0)
        elif kind == "disarm":
            c.disarm(now)
            assert not hal.any_on()
        elif kind == "abort":
            c.abort(now)
            assert not hal.any_on()
        elif kind == "key":
            hal.key = action[1]
            c.tick(now)  # the key is sampled every tick
        elif kind == "frame":
            c.frame_received(now)
        elif kind == "igniter":
            hal.raw[action[1]] = action[2]
        check(c, hal, last_ok_fire, fire_started)


def walk(c, hal, ms, last_ok_fire, fire_started):
    """Let `ms` pass as the app does: a controller tick at least every 10 ms, checked each time."""
    left = ms
    while left > 0:
        dt = min(10, left)
        hal.now = ticks_add(hal.now, dt)
        left -= dt
        c.tick(hal.now)
        check(c, hal, last_ok_fire, fire_started)


def check(c, hal, last_ok_fire, fire_started):
    if c.state != C.STATE_FIRING:
        assert not hal.any_on(), "output on in state %d" % c.state
        return
    assert hal.any_on() == (c.outputs != 0)
    if hal.any_on():
        assert hal.key == KEY_ON
        assert last_ok_fire is not None
        assert 0 <= ticks_diff(hal.now, last_ok_fire) < FIRE_PULSE_MS
        assert 0 <= ticks_diff(hal.now, fire_started) < FIRE_CAP_MS
