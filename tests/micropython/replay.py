"""Replays a barometer stream through the firmware's flight detection, on both interpreters.

`replay(data)` takes the samples packed as little-endian (t_ms i32, pressure_pa i32)
pairs (bytes: cheap to hand to MicroPython) and returns the detector's results
as a tuple of ints, so CPython and MicroPython can be compared exactly.
"""

import struct

from firmware.altimeter import FlightDetector
from firmware.baro import PadBaseline

SAMPLE = "<ii"
SAMPLE_LEN = 8
PAD_SAMPLES = 20


def pack(samples):
    """[(t_ms, pressure_pa, ...)] -> bytes for replay()."""
    out = bytearray(SAMPLE_LEN * len(samples))
    for i, s in enumerate(samples):
        struct.pack_into(SAMPLE, out, SAMPLE_LEN * i, s[0], s[1])
    return bytes(out)


def replay(data):
    """(max_height_cm, apogee_ms, liftoff_ms, burnout_ms, apogee_detected_ms, main_ms,
    landed_ms, pad_altitude_cm), times from the first sample."""
    n = len(data) // SAMPLE_LEN
    t0 = struct.unpack_from(SAMPLE, data, 0)[0]
    pad = PadBaseline(samples=PAD_SAMPLES)
    i = 0
    while i < n and not pad.add(struct.unpack_from(SAMPLE, data, SAMPLE_LEN * i)[1]):
        i += 1
    det = FlightDetector()
    while i < n:
        t, p = struct.unpack_from(SAMPLE, data, SAMPLE_LEN * i)
        det.sample(t - t0, pad.agl_cm(p))
        i += 1
    return (det.max_height_cm, det.apogee_ms, det.liftoff_ms, det.burnout_ms,
            det.apogee_detected_ms, det.main_ms, det.landed_ms, pad.pad_altitude_cm)
