"""Real flights through the firmware's detection code: events in order, apogee within 1 % and 0.5 s."""

import os

import flightlogs as L
import pytest

from firmware.altimeter import FlightDetector
from firmware.baro import PadBaseline, altitude_cm


def replay(samples):
    t0 = samples[0][0]
    pad = PadBaseline(samples=20)
    i = 0
    while not pad.add(samples[i][1]):
        i += 1
    det = FlightDetector()
    for t, p, _ in samples[i:]:
        det.sample(t - t0, pad.agl_cm(p))
    return det, pad, t0


CASES = [
    # (reader, how the log states its own apogee)
    ("rrc3", L.rrc3_juno3, "column"),  # altitude column, m AGL
    ("telemetrum", L.telemetrum_prometheus, "column"),  # height column, m AGL
    ("cats", L.cats_hedy, "pressure"),  # pressure only: standard-atmosphere height
]


@pytest.mark.parametrize(("name", "reader", "own"), CASES, ids=[c[0] for c in CASES])
def test_real_flight_apogee_and_events(name, reader, own):
    if not L.FLIGHTS.exists():
        if os.environ.get("CI"):
            pytest.fail("shared flight logs missing at %s" % L.FLIGHTS)
        pytest.skip("shared flight logs sit beside the repository")
    samples = reader()
    det, pad, t0 = replay(samples)
    if own == "column":
        heights = [alt for _t, _p, alt in samples]
    else:
        heights = [(altitude_cm(p) - pad.pad_altitude_cm) / 100 for _t, p, _ in samples]
    # The log's own apogee, with one-sample spikes removed (a median of three): the
    # TeleMetrum's column peaks at 3903.8 m at 29.61 s only because its ejection
    # charge fired then (the sample before reads 3287.7 m); the true top is flat at
    # ~3893 m from 28.6 to 29.5 s.
    smooth = [sorted(heights[i - 1 : i + 2])[1] for i in range(1, len(heights) - 1)]
    k = max(range(len(smooth)), key=lambda j: smooth[j])
    own_m, own_t = smooth[k], samples[k + 1][0]
    apogee_m = det.max_height_cm / 100
    assert abs(apogee_m - own_m) <= 0.01 * own_m, (apogee_m, own_m)
    assert abs(det.apogee_ms - (own_t - t0)) <= 500, (det.apogee_ms, own_t - t0)
    # the events that happened are in order, and apogee was detected
    events = [det.liftoff_ms, det.burnout_ms, det.apogee_detected_ms, det.main_ms, det.landed_ms]
    seen = [e for e in events if e >= 0]
    assert seen == sorted(seen) and len(seen) >= 3
    assert det.apogee_detected_ms >= det.apogee_ms
