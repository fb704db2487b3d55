"""`coalwood analyze FILE`: a flight log's statistics and events, as text, JSON, CSV or PNG.

Reads any format ground/flight/formats knows (the device's own .cwf, AltosUI, RRC3, CATS,
PerfectFlite, Eggtimer, Blue Raven, or a CSV written by this command) and analyses it
with ground/flight/analysis.py. Qt is loaded only for --png.
"""

import argparse
import json
import math
import os
import sys

from ground.cli_common import EXIT_BAD_INPUT, EXIT_OK, CliError

G0_MS2 = 9.80665


def add_parser(subparsers):
    p = subparsers.add_parser(
        "analyze", help="statistics and events of a flight log (any supported altimeter)",
        description="Analyse a flight log: apogee, speeds, Mach, acceleration, burn time, "
        "descent rates, flight time and the flight's events. Reads Coalwood .cwf, AltosUI "
        "CSV, Missile Works RRC3 CSV, CATS barometer CSV, PerfectFlite .pf2, Eggtimer CSV, "
        "Featherweight Blue Raven CSV and this command's own --csv output; the format is "
        "recognised from the contents. Exit status: 0 done, 3 the file cannot be read as a "
        "flight log (or an output cannot be written).")
    p.add_argument("file", metavar="FILE", help="the flight log")
    p.add_argument("--json", action="store_true", help="one JSON object for scripts")
    p.add_argument("--csv", metavar="OUT", help="write the samples, smoothed, as CSV (SI units)")
    p.add_argument("--png", metavar="OUT", help="plot altitude, speed and acceleration into a PNG")
    p.add_argument("--png-size", metavar="WxH", default="1200x900", type=_size,
                   help="the PNG's size in pixels (default 1200x900)")
    p.set_defaults(func=cmd_analyze)
    return p


def _size(text):
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("a size is WIDTHxHEIGHT in pixels, like 1200x900") from None
    return w, h


def cmd_analyze(args):
    from ground.flight import FlightFormatError, analyze, load

    try:
        flight = load(args.file)
    except FlightFormatError as exc:
        raise CliError("%s: %s" % (args.file, exc), EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise CliError("cannot read %s: %s" % (args.file, exc.strerror or exc),
                       EXIT_BAD_INPUT) from None
    result = analyze(flight)
    doc = result.to_dict()
    doc["csv"] = doc["png"] = None
    if args.csv:
        from ground.flight.export import write_csv

        try:
            write_csv(result, args.csv)
        except OSError as exc:
            raise CliError("cannot write %s: %s" % (args.csv, exc.strerror or exc),
                           EXIT_BAD_INPUT) from None
        doc["csv"] = args.csv
    if args.png:
        from ground.flight.export import write_png
        from ground.flight.plot import PlotError

        try:
            write_png(result, args.png, *args.png_size)
        except PlotError as exc:
            raise CliError("--png: %s" % exc, EXIT_BAD_INPUT) from None
        except OSError as exc:
            raise CliError("cannot write %s: %s" % (args.png, exc.strerror or exc),
                           EXIT_BAD_INPUT) from None
        doc["png"] = args.png
    if args.json:
        print(json.dumps(doc))
    else:
        _print_report(doc, sys.stdout)
    return EXIT_OK


def _fmt(value, pattern, unit=""):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return (pattern % value) + unit


def _print_report(d, out):
    name = os.path.basename(d["source"]) if d["source"] else "flight"
    print("%s: %s, %d samples over %.1f s" % (name, d["format_title"], d["samples"],
                                            d["duration_s"] or 0.0), file=out)
    about = [x for x in (d.get("device"), d.get("firmware") and "firmware %s" % d["firmware"],
                         d.get("flight") is not None and "flight %s" % d["flight"]) if x]
    pad = []
    if d["pad_pressure_pa"] is not None:
        pad.append("pad %.0f Pa" % d["pad_pressure_pa"])
    if d["pad_altitude_msl_m"] is not None:
        pad.append("%.0f m above sea level" % d["pad_altitude_msl_m"])
    if about or pad:
        print(", ".join(about + pad), file=out)
    print(file=out)
    msl = "" if d["apogee_msl_m"] is None else " (%.1f m above sea level)" % d["apogee_msl_m"]
    accel = d["max_accel_ms2"]
    rows = [
        ("apogee", _fmt(d["apogee_agl_m"], "%.1f", " m above the pad") + msl),
        ("time to apogee", _fmt(d["time_to_apogee_s"], "%.2f", " s")),
        ("max speed", _fmt(d["max_speed_ms"], "%.1f", " m/s")
         + ("" if d["max_mach"] is None else " (Mach %.2f)" % d["max_mach"])),
        ("max acceleration", _fmt(accel, "%.1f", " m/s2")
         + ("" if accel is None else " (%.1f g, %s)" % (
             accel / G0_MS2, "accelerometer" if d["accelerometer"] else "from the barometer"))),
        ("burn time", _fmt(d["burn_time_s"], "%.2f", " s")),
        ("drogue", _fmt(d["drogue_rate_ms"], "%.1f", " m/s")
         + _fmt_for(d["time_under_drogue_s"])),
        ("main", _fmt(d["main_rate_ms"], "%.1f", " m/s") + _fmt_for(d["time_under_main_s"])),
        ("flight time", _fmt(d["flight_time_s"], "%.1f", " s")),
    ]
    for label, text in rows:
        print("  %-17s %s" % (label, text), file=out)
    if d["events"]:
        print("\nevents", file=out)
        for e in d["events"]:
            print("  %-11s %-8s %10s  (%s)" % ("T%+.2f s" % e["t_s"], e["name"],
                                                _fmt(e["altitude_m"], "%.1f", " m"),
                                                e["source"]), file=out)
    if d["notes"]:
        print("\nnotes", file=out)
        for note in d["notes"]:
            print("  %s" % note, file=out)
    for key in ("csv", "png"):
        if d.get(key):
            print("wrote %s" % d[key], file=out)


def _fmt_for(seconds):
    return "" if seconds is None else " for %.1f s" % seconds
