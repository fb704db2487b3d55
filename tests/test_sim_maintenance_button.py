"""The maintenance button on the simulated device: the real firmware App on SimHal.

Held MAINTENANCE_HOLD_MS on a SAFE pad, the app ends as after a MAINTENANCE
command; while ARMED it is ignored and the pad stays armed. (The button logic's
own tests, wraparound and allocation included, are in tests/micropython/test_app.py.)
"""

from firmware.app import BUTTON_POLL_MS, MAINTENANCE_HOLD_MS
from ground.sim.device import ManualClock, SimDevice
from protocol import ROLE_GROUND, Connection
from protocol import constants as C
from protocol import messages as M


def _device():
    clock = ManualClock(start=1000)
    dev = SimDevice(clock=clock, seed=3)
    return dev, clock


def _run(dev, clock, ms):
    for _ in range(ms):
        dev.step(clock.advance(1))


def _replies(dev, gnd):
    """Every message the device sent since the last call, decoded by the ground."""
    data = dev.read_output()
    got = []
    pos = 0
    while pos < len(data):
        pos += gnd.receive_data(data, -1, pos)
        while True:
            f = gnd.next_event()
            if f is None:
                break
            got.append(M.decode(f))
    return got


def test_sim_hal_button_is_released_until_held():
    dev, _clock = _device()
    assert dev.hal.maintenance_button() is False
    dev.hal.maintenance_button_held = True
    assert dev.hal.maintenance_button() is True


def test_held_3_s_on_the_simulated_safe_pad_ends_the_app():
    dev, clock = _device()
    _run(dev, clock, 600)
    dev.hal.maintenance_button_held = True
    _run(dev, clock, MAINTENANCE_HOLD_MS - 1)
    assert not dev.app.maintenance
    _run(dev, clock, BUTTON_POLL_MS + 1)
    assert dev.app.maintenance and not any(dev.hal.level)


def test_held_on_the_simulated_armed_pad_is_ignored():
    dev, clock = _device()
    gnd = Connection(ROLE_GROUND)
    _run(dev, clock, 600)
    _replies(dev, gnd)  # the ground learns the session
    dev.feed(gnd.send(M.Arm(1, 0)))
    _run(dev, clock, 20)
    acks = [m for m in _replies(dev, gnd) if isinstance(m, M.ArmAck)]
    assert acks and dev.app.controller.state == C.STATE_ARMED
    dev.hal.maintenance_button_held = True
    for _ in range(12):  # 6 s held, the ARM refreshed as the ground would
        dev.feed(gnd.send(M.ArmRefresh(acks[0].token)))
        _run(dev, clock, 500)
    assert dev.app.controller.state == C.STATE_ARMED
    assert not dev.app.maintenance
