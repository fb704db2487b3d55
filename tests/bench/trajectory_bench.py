#!/usr/bin/env python
"""Trajectory figures: how long one simulation takes, and what each bundled motor does.

    python tests/bench/trajectory_bench.py [--json] [--rounds 5]

For each bundled motor in its sample rocket (ground/trajectory/examples.py), on a standard
day at sea level with no wind: the flight's figures, the RK4 convergence (apogee change when
every step is halved) and the time one simulate() call takes, best of `--rounds`, timed with
time.perf_counter. The figures are reported, not asserted; the script exits 0.
"""

import argparse
import json
import pathlib
import platform
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ground.trajectory import motors, simulate  # noqa: E402
from ground.trajectory.examples import sample_rocket  # noqa: E402


def measure(name, rounds):
    rocket = sample_rocket(name)
    best_s = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        res = simulate(rocket, name)
        best_s = min(best_s, time.perf_counter() - t0)
    half = simulate(rocket, name, dt_burn_s=0.0005, dt_coast_s=0.005, dt_descent_s=0.025)
    windy = simulate(rocket, name, wind_speed_m_s=4.0, wind_from_deg=270.0)
    return {
        "motor": name,
        "rocket": rocket.name,
        "liftoff_mass_kg": round(res.liftoff_mass_kg, 4),
        "apogee_m": round(res.apogee_m, 2),
        "time_to_apogee_s": round(res.time_to_apogee_s, 3),
        "max_speed_m_s": round(res.max_speed_m_s, 2),
        "max_mach": round(res.max_mach, 3),
        "max_accel_m_s2": round(res.max_accel_m_s2, 1),
        "rail_exit_speed_m_s": round(res.rail_exit_speed_m_s, 2),
        "burnout_time_s": res.burnout_time_s,
        "landing_time_s": round(res.landing_time_s, 2),
        "wind4_landing_m": round(windy.landing_distance_m, 1),
        "wind4_landing_bearing_deg": round(windy.landing_bearing_deg, 1),
        "rk4_half_step_apogee_rel": abs(half.apogee_m - res.apogee_m) / res.apogee_m,
        "samples": len(res),
        "simulate_ms": round(best_s * 1000, 1),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--rounds", type=int, default=5, help="timed runs per motor (best kept)")
    args = ap.parse_args(argv)
    rows = [measure(name, max(1, args.rounds)) for name in motors.available()]
    if args.json:
        print(json.dumps({"python_version": platform.python_version(), "flights": rows}))
        return 0
    keys = [k for k in rows[0] if k not in ("motor", "rocket")]
    print("%-26s" % "" + "".join("%18s" % r["motor"] for r in rows))
    for k in keys:
        cells = []
        for r in rows:
            v = r[k]
            cells.append("%18.2e" % v if k.endswith("_rel") else "%18s" % v)
        print("%-26s" % k + "".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
