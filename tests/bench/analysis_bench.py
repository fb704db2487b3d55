#!/usr/bin/env python
"""Flight analysis of a 1,000,000-sample log: load it from disk, analyse it, time each step.

    python tests/bench/analysis_bench.py [--json] [--samples N] [--rounds 3]

The log: the trajectory model (ground/trajectory) flies the bundled AeroTech J350W in the
41 mm minimum-diameter airframe of ground/trajectory/examples.py, but with one large
parachute at apogee (3.8 m/s: a light rocket drifting down from 3.7 km for a quarter of
an hour). Its barometer is the simulator's model (ground/sim/flight.py: the atmosphere's
pressure at the rocket, 2.5 Pa of noise, the transonic error near Mach 1, the ejection
charge's spike) evaluated with numpy, read at 1 kHz from 2 s before ignition, and
written by the firmware's own FlightLog (firmware/flightlog.py) as a Coalwood .cwf:
--samples records, 24 bytes each, every one CRC-checked when it is read back. The board
logs at 100 Hz; a million samples of one flight need a logger ten times faster, which
the header's one-byte rate fields cannot state (they say 250 Hz, the round figure they
hold; nothing reads them back).

Timed, best of --rounds with time.perf_counter: load (the file's bytes to a Flight:
ground/flightfile.py's parse with its per-record CRC check, heights from pressures),
then the analysis's own steps: clean (glitch rejection, the grid), smoother (the Kalman
smoother, the transonic bridge), events, statistics. `seconds` is their sum. The
analysis's figures are printed beside the trajectory's, so a fast wrong answer shows.
Figures are reported, never judged; exit 2 with one line if something cannot be measured.
"""

import argparse
import math
import os
import platform
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

from benchutil import BenchError, report  # noqa: E402

from firmware import FIRMWARE_VERSION  # noqa: E402
from firmware.flightlog import (  # noqa: E402
    EV_APOGEE,
    EV_BURNOUT,
    EV_LANDED,
    EV_LIFTOFF,
    REC_EVENT,
    REC_SAMPLE,
    FlightLog,
)
from ground.flight import FlightFormatError, analyze, load  # noqa: E402
from ground.flight.formats.base import height_above_pad_m, pressure_at_altitude_pa  # noqa: E402
from ground.sim.flight import TRANSONIC_MACH_HI, TRANSONIC_MACH_LO  # noqa: E402
from ground.trajectory import Rocket, TrajectoryError, simulate  # noqa: E402
from protocol import constants as C  # noqa: E402

RATE_HZ = 1000
HEADER_RATE_HZ = 250  # the header's rate fields are one byte: 1000 Hz does not fit
PRE_S = 2.0
PAD_PA = 101325
START_TICK_MS = 500_000
NOISE_PA = 2.5
TRANSONIC_CP = 0.03
EJECTION_PA, EJECTION_RISE_MS = 300.0, 15.0


def _trajectory():
    rocket = Rocket(dry_mass_kg=1.0, cd=0.5, diameter_m=0.041, rail_length_m=2.4,
                    main_rate_m_s=3.8, name="41 mm minimum-diameter, one big parachute")
    return simulate(rocket, "AeroTech_J350W")


def _pressures(res, t_s, seed=1):
    """The simulator's barometer model, vectorised: pressure (Pa) at times from ignition."""
    h = np.interp(t_s, res.t_s, res.z_m, left=0.0, right=0.0)
    p = pressure_at_altitude_pa(h)
    mach = np.interp(t_s, res.t_s, res.mach, left=0.0, right=0.0)
    phase = np.clip((mach - TRANSONIC_MACH_LO) / (TRANSONIC_MACH_HI - TRANSONIC_MACH_LO), 0, 1)
    weight = np.where((mach > TRANSONIC_MACH_LO) & (mach < TRANSONIC_MACH_HI),
                      0.5 * (1.0 - np.cos(2.0 * np.pi * phase)), 0.0)
    v = np.interp(t_s, res.t_s, res.airspeed_m_s, left=0.0, right=0.0)
    rho = p / (287.0572 * (288.15 - 0.0065 * h))
    p = p + TRANSONIC_CP * weight * 0.5 * rho * v * v
    x = (t_s - res.time_to_apogee_s) * 1000.0 / EJECTION_RISE_MS
    x = np.where((x >= 0) & (x <= 10), x, 0.0)
    p = p + EJECTION_PA * x * np.exp(1.0 - x)
    p = p + np.random.default_rng(seed).normal(0.0, NOISE_PA, len(t_s))
    return np.round(p).astype(np.int64), h


def write_log(folder, samples):
    """The .cwf of the flight above with `samples` sample records; (path, trajectory)."""
    try:
        res = _trajectory()
    except TrajectoryError as exc:
        raise BenchError("the trajectory model cannot fly the bench rocket: %s" % exc) from None
    t_s = np.arange(samples) / RATE_HZ - PRE_S
    pressure, h = _pressures(res, t_s)
    liftoff_s = float(t_s[np.argmax(h > 20.0)])  # the firmware's liftoff: 20 m up
    t_ms = (START_TICK_MS + np.round((t_s - liftoff_s) * 1000.0)).astype(np.int64)
    alt_cm = np.round(height_above_pad_m(pressure, PAD_PA) * 100.0).astype(np.int64)
    state = np.select([t_s < liftoff_s, t_s < res.burnout_time_s, t_s < res.time_to_apogee_s,
                       t_s < res.landing_time_s],
                      [C.FLIGHT_PAD, C.FLIGHT_BOOST, C.FLIGHT_COAST, C.FLIGHT_MAIN],
                      C.FLIGHT_LANDED)
    events = sorted((float(ts), code) for ts, code in (
        (liftoff_s, EV_LIFTOFF), (res.burnout_time_s, EV_BURNOUT),
        (res.time_to_apogee_s, EV_APOGEE), (res.landing_time_s, EV_LANDED)) if ts < t_s[-1])
    log = FlightLog(folder)
    flight = log.begin(PAD_PA, START_TICK_MS, b"bench-1kHz", FIRMWARE_VERSION,
                       HEADER_RATE_HZ, HEADER_RATE_HZ)
    if flight < 0:
        raise BenchError("no room for a %d-record flight in %s" % (samples, folder))
    append = log.append
    k = 0
    for i, (tick, code, pa, cm) in enumerate(zip(t_ms.tolist(), state.tolist(),
                                                  pressure.tolist(), alt_cm.tolist(),
                                                  strict=True)):
        while k < len(events) and events[k][0] <= t_s[i]:
            append(REC_EVENT, events[k][1], tick, pa, cm, 0, 0)
            k += 1
        append(REC_SAMPLE, code, tick, pa, cm, 0, 0)
    log.close(int(alt_cm.max()))
    return log.path(flight), res


def measure(samples, rounds):
    if samples < 100_000:
        raise BenchError("--samples must be at least 100000 (the flight lasts 17 minutes)")
    with tempfile.TemporaryDirectory(prefix="coalwood-bench-") as folder:
        path, truth = write_log(folder, samples)
        size = os.path.getsize(path)
        best = None
        for _ in range(max(1, rounds)):
            t0 = time.perf_counter()
            try:
                flight = load(path)
            except FlightFormatError as exc:
                raise BenchError("the bench log does not read back: %s" % exc) from None
            load_s = time.perf_counter() - t0
            result = analyze(flight)
            steps = {"load": load_s}
            steps.update(result.timings_s)
            total = sum(steps.values())
            if best is None or total < best[0]:
                best = (total, steps, result, flight)
    total, steps, result, flight = best
    s = result.stats
    return {
        "samples": len(flight),
        "seconds": round(total, 4),
        "breakdown_s": {k: round(v, 4) for k, v in steps.items()},
        "file_bytes": size,
        "rate_hz": RATE_HZ,
        "rounds": max(1, rounds),
        "apogee_agl_m": _r(s["apogee_agl_m"]),
        "truth_apogee_m": _r(truth.apogee_m),
        "max_speed_ms": _r(s["max_speed_ms"]),
        "truth_max_speed_ms": _r(truth.max_speed_m_s),
        "flight_time_s": _r(s["flight_time_s"]),
        "truth_landing_s": _r(truth.landing_time_s),
        "bridged": [[round(a, 2), round(b, 2)] for a, b, _why in result.bridges],
        "glitches_rejected": int(np.count_nonzero(result.rejected)),
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
    }


def _r(value, digits=2):
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def table(r):
    rows = [("samples", "{:,}".format(r["samples"])),
            ("file", "{:,} bytes, {} Hz".format(r["file_bytes"], r["rate_hz"])),
            ("seconds (best of %d)" % r["rounds"], "%.3f" % r["seconds"])]
    rows += [("  " + k, "%.3f" % v) for k, v in r["breakdown_s"].items()]
    rows += [("apogee", "%s m (trajectory %s m)" % (r["apogee_agl_m"], r["truth_apogee_m"])),
             ("max speed", "%s m/s (trajectory %s m/s)" % (r["max_speed_ms"],
                                                          r["truth_max_speed_ms"])),
             ("flight time", "%s s (trajectory %s s)" % (r["flight_time_s"],
                                                        r["truth_landing_s"])),
             ("bridged", ", ".join("%.2f-%.2f s" % tuple(b) for b in r["bridged"]) or "-"),
             ("glitches rejected", str(r["glitches_rejected"]))]
    width = max(len(k) for k, _ in rows)
    return "\n".join("%-*s  %s" % (width, k, v) for k, v in rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    parser.add_argument("--samples", type=int, default=1_000_000,
                        help="sample records in the log (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs (the best is kept)")
    args = parser.parse_args(argv)
    return report("analysis_bench", lambda: measure(args.samples, args.rounds), table,
                  args.json, (OSError,))


if __name__ == "__main__":
    sys.exit(main())
