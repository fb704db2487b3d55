"""An analysed flight as CSV (SI units, a commented header) and as a PNG of plots.

    write_csv(analysis, "flight.csv")
    write_png(analysis, "flight.png", width_px=1200, height_px=900)

The CSV's header lines start with '#': what the log said (source file, format, device,
firmware, flight number, pad pressure), what the analysis found (statistics, events,
notes) and the units of every column; then one row per sample. ground/flight/formats reads
it back (format "coalwood-csv"). The PNG stacks altitude, speed and acceleration against
time with the events marked, drawn by ground/flight/plot.py.
"""

import io
import math
import os

import numpy as np

from ground.flight.analysis import STAT_KEYS
from ground.flight.formats.coalwood_csv import MAGIC_LINE, META_KEYS, column_names, units_line

_FORMATS = {"t_s": "%.4f", "altitude_m": "%.3f", "altitude_smoothed_m": "%.3f",
            "velocity_ms": "%.3f", "accel_ms2": "%.3f", "mach": "%.4f", "pressure_pa": "%.2f",
            "accel_measured_ms2": "%.3f", "rejected": "%d"}


def _header_value(value):
    if isinstance(value, float):
        return "" if not math.isfinite(value) else ("%.6g" % value)
    return "" if value is None else str(value).replace("\n", " ")


def csv_text(analysis):
    """The CSV as a string (see the module docstring)."""
    out = io.StringIO()
    write_csv(analysis, out)
    return out.getvalue()


def write_csv(analysis, target):
    """Write the CSV to `target`, a path or a text file object."""
    if isinstance(target, str | os.PathLike):
        from ground.flight.output import write_file

        out = io.StringIO(newline="\n")
        _write_csv(analysis, out)
        write_file(target, out.getvalue().encode("utf-8"))  # never half a CSV
    else:
        _write_csv(analysis, target)


def _write_csv(analysis, f):
    flight = analysis.flight
    has_p = flight.pressure_pa is not None
    has_a = flight.accel_ms2 is not None
    names = column_names(has_p, has_a)
    head = [
        "%s (CSV, SI units)" % MAGIC_LINE,
        "# source: %s" % _header_value(flight.source),
        "# format: %s" % flight.format,
        "# format_title: %s" % flight.format_title,
    ]
    for key in META_KEYS:
        if key in flight.metadata:
            head.append("# %s: %s" % (key, _header_value(flight.metadata[key])))
    head.append("# pad_pressure_pa: %s" % _header_value(flight.pad_pressure_pa))
    head.append("# pad_altitude_msl_m: %s" % _header_value(flight.pad_altitude_msl_m))
    head.append("# time_origin: %s" % flight.time_origin)
    head.append("# samples: %d" % len(flight))
    for key in STAT_KEYS:
        head.append("# %s: %s" % (key, _header_value(analysis.stats.get(key))))
    for ev in analysis.events:
        head.append("# event: %s, %.3f, %.2f, %s" % (ev.name, ev.t_s, ev.altitude_m, ev.source))
    for note in list(flight.notes) + list(analysis.notes):
        head.append("# note: %s" % note)
    head.append("# units: %s" % units_line(names))
    f.write("\n".join(head) + "\n")
    f.write(",".join(names) + "\n")
    columns = {
        "t_s": flight.t_s,
        "altitude_m": flight.altitude_m,
        "altitude_smoothed_m": analysis.altitude_m,
        "velocity_ms": analysis.velocity_ms,
        "accel_ms2": analysis.accel_ms2 if not has_a else np.interp(
            flight.t_s, analysis.grid_t_s, analysis.grid_accel_ms2),
        "mach": analysis.mach,
        "pressure_pa": flight.pressure_pa,
        "accel_measured_ms2": flight.accel_ms2,
        "rejected": analysis.rejected.astype(np.int64),
    }
    table = np.column_stack([np.nan_to_num(np.asarray(columns[n], dtype=np.float64))
                             for n in names])
    np.savetxt(f, table, fmt=[_FORMATS[n] for n in names], delimiter=",")


def plot_series(analysis):
    """The standard plots' series for plot.render_png: altitude, speed, acceleration."""
    t = analysis.grid_t_s
    series = [
        ("altitude (smoothed)", t, analysis.grid_altitude_m, "altitude (m)"),
        ("vertical speed", t, analysis.grid_velocity_ms, "speed (m/s)"),
        ("acceleration", t, analysis.grid_accel_ms2, "acceleration (m/s²)"),
    ]
    flight = analysis.flight
    keep = ~analysis.rejected
    series.insert(0, ("measured", flight.t_s[keep], flight.altitude_m[keep], "altitude (m)"))
    if flight.accel_ms2 is not None:
        series.append(("accelerometer", flight.t_s, flight.accel_ms2, "acceleration (m/s²)"))
    return series


def plot_title(analysis):
    """The standard plots' title: the file's name and the apogee."""
    f = analysis.flight
    name = os.path.basename(f.source) if f.source else f.format
    return "%s: apogee %.1f m" % (name, analysis.stats.get("apogee_agl_m") or 0.0)


def write_png(analysis, path, width_px=1200, height_px=900, title=None, series=None):
    """Plot the flight into a PNG file (needs PySide6 and pyqtgraph; see plot.py).
    series: what to draw, plot_series(analysis) unless given; title: plot_title's unless
    given. The events are marked and bridged windows shaded either way."""
    from ground.flight.plot import render_png

    markers = [(e.name, e.t_s) for e in analysis.events]
    spans = [("bridged", a, b) for a, b, _why in analysis.bridges]
    return render_png(path, plot_series(analysis) if series is None else series,
                      width_px=width_px, height_px=height_px,
                      title=plot_title(analysis) if title is None else title,
                      markers=markers, spans=spans)
