"""Flight detection on a synthetic flight, on both interpreters, and per-sample allocation."""

from mptest import no_alloc

from firmware.altimeter import FlightDetector
from protocol import constants as C


class Noise:
    def __init__(self, seed):
        self.s = seed

    def cm(self, amplitude):
        self.s = (self.s * 1103515245 + 12345) & 0x3FFFFFFF
        return (self.s >> 10) % (2 * amplitude + 1) - amplitude


def synthetic_flight():
    """(t_ms, height_cm): 2 s on the pad, 3 s at 60 m/s^2, coast to apogee, 20 m/s under the
    drogue to 150 m, 6 m/s under the main, 15 s on the ground; 100 Hz up, 10 Hz down."""
    out = []
    t = 0
    h = 0.0
    v = 0.0
    noise = Noise(7)
    apogee = (0, 0)
    while t < 200000:
        if t < 2000:
            a = 0.0
        elif t < 5000:
            a = 60.0 - 9.81
        elif v > 0 or (h > 20000 * 0 and apogee[0] == 0 and v > 0):
            a = -9.81
        else:
            a = 0.0
        dt = 10 if v >= 0 else 100
        if t >= 5000 and v <= 0:
            v = -20.0 if h > 150 else -6.0
            if h <= 0:
                v = 0.0
                h = 0.0
        v += a * dt / 1000
        h += v * dt / 1000
        if h > apogee[0]:
            apogee = (h, t)
        out.append((t, int(h * 100) + noise.cm(80)))
        t += dt
    return out, apogee


def test_synthetic_flight_events_in_order_and_apogee_within_1_percent():
    samples, (apogee_m, apogee_t) = synthetic_flight()
    det = FlightDetector()
    for t, h in samples:
        det.sample(t, h)
    assert det.state == C.FLIGHT_LANDED
    order = [det.liftoff_ms, det.burnout_ms, det.apogee_detected_ms, det.main_ms, det.landed_ms]
    assert all(e >= 0 for e in order) and order == sorted(order), order
    assert abs(det.max_height_cm / 100 - apogee_m) <= 0.01 * apogee_m
    assert abs(det.apogee_ms - apogee_t) <= 500
    assert 2000 <= det.liftoff_ms <= 3000 and 5000 <= det.burnout_ms <= 6500


def test_one_sample_allocates_nothing():
    det = FlightDetector()
    state = [0, 0]

    def sample():
        state[0] += 10
        state[1] += 37
        det.sample(state[0], state[1])

    no_alloc(sample)
