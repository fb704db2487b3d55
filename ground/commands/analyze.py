"""`coalwood analyze FILE`: a flight log's statistics and events, as text, JSON, CSV or PNG.

Reads any format ground/flight/formats knows (the device's own .cwf, AltosUI, RRC3, CATS,
PerfectFlite, Eggtimer, Blue Raven, or a CSV written by this command) and analyses it
with ground/flight/analysis.py. Qt is loaded only for --png.

With --rocket FILE.json (ground/trajectory/spec.py) the rocket is flown by the trajectory
model too, and the prediction is set beside the measurements and drawn over them;
`coalwood download --rocket` does the same with predicted_vs_measured() and write_overlay().

The report's rows (heading_lines, statistics_rows, event_rows, Prediction.rows) are what the
window's flight view (ground/ui/flight_view.py) shows too, so both say the same.
"""

import argparse
import json
import math
import os
import sys

from ground.cli_common import EXIT_BAD_INPUT, EXIT_CORRUPT, EXIT_OK, CliError


def add_parser(subparsers):
    p = subparsers.add_parser(
        "analyze", help="statistics and events of a flight log (any supported altimeter)",
        description="Analyse a flight log: apogee, speeds, Mach, acceleration, burn time, "
        "descent rates, flight time and the flight's events. Reads Coalwood .cwf, AltosUI "
        "CSV, Missile Works RRC3 CSV, CATS barometer CSV, PerfectFlite .pf2, Eggtimer CSV, "
        "Featherweight Blue Raven CSV and this command's own --csv output; the format is "
        "recognised from the contents. Exit status: 0 done, 3 the file cannot be read as a "
        "flight log (or an output cannot be written), 7 a .cwf with damaged records or "
        "cut short (the report stands on the rest of it).")
    p.add_argument("file", metavar="FILE", help="the flight log")
    p.add_argument("--json", action="store_true", help="one JSON object for scripts")
    p.add_argument("--csv", metavar="OUT", help="write the samples, smoothed, as CSV (SI units)")
    p.add_argument("--png", metavar="OUT", help="plot altitude, speed and acceleration into a PNG")
    p.add_argument("--png-size", metavar="WxH", default="1200x900", type=parse_png_size,
                   help="the PNG's size in pixels (default 1200x900)")
    p.add_argument("--rocket", metavar="FILE.json",
                   help="a rocket file (coalwood predict --save-rocket): fly it with the model "
                   "and compare the prediction with the flight (and draw it over it with --png)")
    p.set_defaults(func=cmd_analyze)
    return p


def parse_png_size(text):
    from ground.flight.plot import PlotError, check_size  # no Qt until it draws

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("a size is WIDTHxHEIGHT in pixels, like 1200x900") from None
    try:
        return check_size(w, h)  # refused before a flight is read or downloaded
    except PlotError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_analyze(args):
    from ground.flight import FlightFormatError, analyze, load

    for flag, out in (("--csv", args.csv), ("--png", args.png)):
        folder = os.path.dirname(os.path.abspath(out)) if out else None
        if folder is not None and not os.path.isdir(folder):  # told before any work is done
            raise CliError("cannot write %s (%s): there is no folder %s" % (out, flag, folder))
    spec = load_rocket_file(args.rocket) if args.rocket else None
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
    prediction = None
    if spec is not None:
        prediction = predicted_vs_measured(result, spec)
        doc["predicted"] = prediction.to_dict()
    if args.csv:
        from ground.flight.export import write_csv

        try:
            write_csv(result, args.csv)
        except OSError as exc:
            raise CliError("cannot write %s: %s" % (args.csv, exc.strerror or exc),
                           EXIT_BAD_INPUT) from None
        doc["csv"] = args.csv
    if args.png:
        from ground.flight.plot import PlotError

        try:
            write_overlay(result, prediction, args.png, *args.png_size)
        except PlotError as exc:
            raise CliError("--png: %s" % exc, EXIT_BAD_INPUT) from None
        except OSError as exc:
            raise CliError("cannot write %s: %s" % (args.png, exc.strerror or exc),
                           EXIT_BAD_INPUT) from None
        doc["png"] = args.png
    if args.json:
        print(json.dumps(doc))
    else:
        _print_report(doc, sys.stdout, prediction)
    damage = flight.metadata.get("damage")
    if damage:
        # the figures stand on what checked out, but a script must not take them as whole
        print("coalwood: error: %s is damaged: %s%s; the figures are from the rest of it" % (
            args.file, damage[0], "" if len(damage) == 1 else " (and %d more)" % (len(damage) - 1)),
            file=sys.stderr)
        return EXIT_CORRUPT
    return EXIT_OK


# --- the prediction beside the measurements ------------------------------------------------------
def load_rocket_file(path):
    """The RocketSpec in `path`; CliError (one line) if it is not a whole, flyable rocket."""
    from ground.trajectory import spec

    try:
        return spec.load(path)
    except spec.SpecError as exc:
        raise CliError("--rocket %s" % exc, EXIT_BAD_INPUT) from None


class Prediction:
    """The model's flight of a rocket file set on a measured flight's clock.

    flight: the FlightResult; offset_s: add it to the model's times (from ignition) for the
    log's; apogee_m, time_to_apogee_s, max_speed_ms: the model's figures measured the way
    the analysis measures the log's; measured: the log's own (analysis stats)."""

    def __init__(self, spec, flight, offset_s, origin_s, measured, pad_alt_m):
        self.spec = spec
        self.flight = flight
        self.offset_s = offset_s
        self.pad_alt_m = pad_alt_m
        self.apogee_m = flight.apogee_m
        # the analysis counts time to apogee from the flight's first motion (origin_s)
        self.time_to_apogee_s = flight.time_to_apogee_s + offset_s - origin_s
        # a barometer sees only vertical speed: the model's is compared, not its airspeed
        self.max_speed_ms = float(abs(flight.vz_m_s).max())
        self.measured = measured

    def _diff(self, key):
        measured = self.measured.get(key)
        if measured is None:
            return None, None
        diff = getattr(self, key) - measured
        return diff, (100.0 * diff / measured if measured else None)

    def to_dict(self):
        apogee_diff_m, apogee_diff_pct = self._diff("apogee_m")
        return {"apogee_m": _round(self.apogee_m), "time_to_apogee_s": _round(self.time_to_apogee_s),
                "max_speed_ms": _round(self.max_speed_ms),
                "apogee_diff_m": _round(apogee_diff_m), "apogee_diff_pct": _round(apogee_diff_pct),
                "rocket_file": self.spec.source, "motor": self.flight.motor.name,
                "cd": self.flight.rocket.cd, "pad_altitude_m": _round(self.pad_alt_m),
                "time_offset_s": _round(self.offset_s)}

    def curve_over(self, analysis):
        """(label, times, heights): the predicted altitude on the log's clock, only over the
        log's span (a model flown to landing would stretch a log cut short)."""
        model = self.flight
        t_s = model.t_s + self.offset_s
        inside = (t_s >= analysis.grid_t_s[0]) & (t_s <= analysis.grid_t_s[-1])
        return ("predicted (%s, Cd %.3g)" % (model.motor.name, model.rocket.cd),
                t_s[inside], model.z_m[inside])

    def heading(self):
        """What was flown: the rocket file, the motor, the rocket and its Cd."""
        f = self.flight
        return "predicted by %s: %s %s in a %s, Cd %.3g" % (
            # a rocket the program knows (the simulator's sample) has no file
            os.path.basename(self.spec.source) if self.spec.source else "the model",
            f.motor.manufacturer,
            f.motor.name, f.rocket.name, f.rocket.cd)

    def rows(self):
        """(figure, predicted, measured, predicted - measured) as text, one row per figure."""
        out = []
        for label, key, pattern, unit in (("apogee", "apogee_m", "%.1f", "m"),
                                          ("time to apogee", "time_to_apogee_s", "%.2f", "s"),
                                          ("max speed", "max_speed_ms", "%.1f", "m/s")):
            diff, pct = self._diff(key)
            measured = self.measured.get(key)
            out.append((
                label, (pattern % getattr(self, key)) + " " + unit,
                "-" if measured is None else (pattern % measured) + " " + unit,
                "-" if diff is None else "%s %s%s" % (
                    ("%+" + pattern[1:]) % diff, unit,
                    "" if pct is None else " (%+.1f %%)" % pct)))
        return out

    @property
    def warnings(self):
        """The model's warnings about its flight (one line each)."""
        return list(self.flight.warnings)

    def lines(self):
        """The comparison for people, one row per figure."""
        out = [self.heading(),
               "  %-17s %12s %12s  %s" % ("", "predicted", "measured", "predicted - measured")]
        out += ["  %-17s %12s %12s  %s" % row for row in self.rows()]
        out += ["  warning: %s" % w for w in self.warnings]
        return out


def _round(value, digits=3):
    return None if value is None else round(float(value), digits)


def _pad_alt_m(flight):
    """The pad's height above sea level the log gives or implies, or None."""
    from ground.flight.analysis import pad_msl_m

    if flight.pad_altitude_msl_m is None and flight.pad_pressure_pa is None:
        return None
    height_m = pad_msl_m(flight)
    # a pad pressure far from any air a rocket flies in is a bad reading, not a mountain
    return height_m if -500.0 <= height_m <= 6000.0 else None


def _model_time_at_height_s(flight, height_m):
    """When the model's rocket first climbs through `height_m` (its liftoff for none)."""
    import numpy as np

    t, z = flight.t_s, flight.z_m
    climb = t <= flight.time_to_apogee_s
    t, z = t[climb], z[climb]
    if height_m <= 0.0 or len(z) < 2 or height_m >= z[-1]:
        return flight.liftoff_time_s
    i = int(np.argmax(z >= height_m))
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (height_m - z[i - 1]) / (z[i] - z[i - 1]) * (t[i] - t[i - 1]))


def predicted_vs_measured(analysis, spec):
    """Fly `spec` (a RocketSpec) for the flight `analysis` describes; a Prediction.
    The pad is the flight's when it knows it, unless the rocket file gives one. CliError
    (one line) if the rocket cannot fly."""
    from ground.trajectory import TrajectoryError

    try:
        return prediction_for(analysis, spec)
    except TrajectoryError as exc:
        raise CliError("--rocket %s: %s" % (spec.source, exc), EXIT_BAD_INPUT) from None


def prediction_for(analysis, spec):
    """predicted_vs_measured() for callers that are not the command line (the window):
    TrajectoryError if the rocket cannot fly."""
    pad_alt_m = _pad_alt_m(analysis.flight)
    flight = spec.simulate(pad_alt_m)
    # The clocks are matched at liftoff: the log's liftoff event (its own, or the one the
    # analysis detected) against the moment the model's rocket is as high as the log says it
    # was then. A detected liftoff is at the pad, where that is the model's liftoff time; the
    # Coalwood firmware marks liftoff 20 m up, which the model reaches most of a second after
    # its liftoff, so matching the model's liftoff to that event would shift the curve.
    liftoff = analysis.event("liftoff")
    if liftoff is None:
        offset_s, origin_s = -flight.liftoff_time_s, 0.0
    else:
        height_m = liftoff.altitude_m if liftoff.altitude_m is not None else 0.0
        offset_s = liftoff.t_s - _model_time_at_height_s(flight, max(height_m, 0.0))
        origin_s = (getattr(analysis, "phases", None) or {}).get("first_motion", liftoff.t_s)
    stats = analysis.stats
    measured = {"apogee_m": stats.get("apogee_agl_m"),
                "time_to_apogee_s": stats.get("time_to_apogee_s"),
                "max_speed_ms": stats.get("max_speed_ms")}
    return Prediction(spec, flight, offset_s, origin_s, measured,
                      spec.conditions(pad_alt_m)["pad_altitude_m"])


def write_overlay(analysis, prediction, path, width_px=1200, height_px=900):
    """The flight's standard plots into the PNG `path`, with the predicted altitude drawn
    over the measured one when `prediction` is not None. PlotError or OSError."""
    from ground.flight.export import plot_series, plot_title, write_png

    title = plot_title(analysis)
    series = plot_series(analysis)
    if prediction is not None:
        at = max(i for i, item in enumerate(series) if item[3] == "altitude (m)") + 1
        series.insert(at, (*prediction.curve_over(analysis), "altitude (m)"))
        title += ", predicted %.1f m" % prediction.apogee_m
    return write_png(analysis, path, width_px, height_px, title=title, series=series)


def _fmt(value, pattern, unit=""):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return (pattern % value) + unit


def heading_lines(d):
    """The report's first lines (from Analysis.to_dict()): the log, its format and length;
    then the device and the pad, when the log says."""
    name = os.path.basename(d["source"]) if d["source"] else "flight"
    lines = ["%s: %s, %d samples over %.1f s" % (name, d["format_title"], d["samples"],
                                                d["duration_s"] or 0.0)]
    about = [x for x in (d.get("device"), d.get("firmware") and "firmware %s" % d["firmware"],
                         d.get("flight") is not None and "flight %s" % d["flight"]) if x]
    pad = []
    if d["pad_pressure_pa"] is not None:
        pad.append("pad %.0f Pa" % d["pad_pressure_pa"])
    if d["pad_altitude_msl_m"] is not None:
        pad.append("%.0f m above sea level" % d["pad_altitude_msl_m"])
    if about or pad:
        lines.append(", ".join(about + pad))
    return lines


def statistics_rows(d):
    """The statistics as (label, text) rows, from Analysis.to_dict(): the report prints them
    and the window's flight view shows them, so both say the same."""
    from ground.trajectory.atmosphere import G0_M_S2  # loaded with the flight already

    msl = "" if d["apogee_msl_m"] is None else " (%.1f m above sea level)" % d["apogee_msl_m"]
    accel = d["max_accel_ms2"]
    return [
        ("apogee", _fmt(d["apogee_agl_m"], "%.1f", " m above the pad") + msl),
        ("time to apogee", _fmt(d["time_to_apogee_s"], "%.2f", " s")),
        ("max speed", _fmt(d["max_speed_ms"], "%.1f", " m/s")
         + ("" if d["max_mach"] is None else " (Mach %.2f)" % d["max_mach"])),
        ("max acceleration", _fmt(accel, "%.1f", " m/s2")
         + ("" if accel is None else " (%.1f g, %s)" % (
             accel / G0_M_S2, "accelerometer" if d["accelerometer"] else "from the barometer"))),
        ("burn time", _fmt(d["burn_time_s"], "%.2f", " s")),
        ("drogue", _fmt(d["drogue_rate_ms"], "%.1f", " m/s")
         + _fmt_for(d["time_under_drogue_s"])),
        ("main", _fmt(d["main_rate_ms"], "%.1f", " m/s") + _fmt_for(d["time_under_main_s"])),
        ("flight time", _fmt(d["flight_time_s"], "%.1f", " s")),
    ]


def event_rows(d):
    """The events as (time, name, altitude, source) texts, from Analysis.to_dict()."""
    return [("T%+.2f s" % e["t_s"], e["name"], _fmt(e["altitude_m"], "%.1f", " m"), e["source"])
            for e in d["events"]]


def _print_report(d, out, prediction=None):
    for line in heading_lines(d):
        print(line, file=out)
    print(file=out)
    for label, text in statistics_rows(d):
        print("  %-17s %s" % (label, text), file=out)
    if d["events"]:
        print("\nevents", file=out)
        for when, name, altitude, source in event_rows(d):
            print("  %-11s %-8s %10s  (%s)" % (when, name, altitude, source), file=out)
    if prediction is not None:
        print(file=out)
        for line in prediction.lines():
            print(line, file=out)
    if d["notes"]:
        print("\nnotes", file=out)
        for note in d["notes"]:
            print("  %s" % note, file=out)
    for key in ("csv", "png"):
        if d.get(key):
            print("wrote %s" % d[key], file=out)


def _fmt_for(seconds):
    return "" if seconds is None else " for %.1f s" % seconds
