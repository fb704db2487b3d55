"""Reading flight logs: which format a file is, and a common `Flight` from any of them.

    flight = load("flight.csv")        # or parse(data_bytes, source="flight.csv")

Each format module has NAME, TITLE, `sniff(data, lines)` (lines is None for a binary
file) and `read(data, lines, source)`. Detection asks them in FORMATS order; the first
that recognises the file reads it. Then every flight gets the same finishing: rows that
are not finite dropped, times sorted, rows sharing a time merged (averaged), at least
MIN_SAMPLES samples, and times counted from liftoff (the log's own liftoff where the
format marks one, otherwise the first sustained climb in the data, otherwise the first
sample; `Flight.time_origin` says which).

Every problem with the input is a FlightFormatError (a ValueError) with a one-line
message: empty, binary, truncated, not a format this reads, wrong units, too few samples.
"""

import os

import numpy as np

from ground.flight.formats import (
    altosui,
    blueraven,
    cats,
    coalwood_csv,
    cwf,
    eggtimer,
    perfectflite,
    rrc3,
)
from ground.flight.formats.base import (
    MIN_SAMPLES,
    Flight,
    FlightEvent,
    FlightFormatError,
    decode_text,
    height_above_pad_m,
    lines_of,
    pressure_altitude_m,
    pressure_at_altitude_pa,
)

FORMATS = (cwf, coalwood_csv, altosui, blueraven, cats, rrc3, eggtimer, perfectflite)

# A liftoff in the data: the height stays above this for LIFTOFF_HOLD_S.
LIFTOFF_RISE_M = 10.0
LIFTOFF_HOLD_S = 0.5
MAX_FILE_BYTES = 1 << 30

__all__ = [
    "FORMATS",
    "Flight",
    "FlightEvent",
    "FlightFormatError",
    "detect",
    "format_names",
    "height_above_pad_m",
    "load",
    "parse",
    "pressure_altitude_m",
    "pressure_at_altitude_pa",
    "read_log_bytes",
]


def format_names():
    """'Title (name)' for each readable format, for messages and help."""
    return ["%s (%s)" % (f.TITLE, f.NAME) for f in FORMATS]


def _known():
    return "; ".join(f.TITLE for f in FORMATS)


def detect(data):
    """(format module, text lines or None) for a file's bytes; FlightFormatError if none."""
    data = bytes(data)
    if not data:
        raise FlightFormatError("the file is empty")
    if cwf.sniff(data, None):
        return cwf, None
    try:
        lines = lines_of(decode_text(data))
    except FlightFormatError as exc:
        raise FlightFormatError("%s; formats read: %s" % (exc, _known())) from None
    if not any(line.strip() for line in lines):
        raise FlightFormatError("the file holds no text (only blank lines)")
    for fmt in FORMATS[1:]:
        if fmt.sniff(data, lines):
            return fmt, lines
    first = next(line.strip() for line in lines if line.strip())
    raise FlightFormatError("not a flight log format this reads (it starts %r); formats read: %s"
                            % (first[:40], _known()))


def parse(data, source=None, format_name=None):
    """A Flight from a file's bytes. `format_name` skips detection (one of the NAMEs)."""
    data = bytes(data)
    if format_name is None:
        fmt, lines = detect(data)
    else:
        by_name = {f.NAME: f for f in FORMATS}
        if format_name not in by_name:
            raise FlightFormatError("no format %r; formats: %s" % (format_name,
                                                                   ", ".join(by_name)))
        fmt = by_name[format_name]
        lines = None if fmt is cwf else lines_of(decode_text(data))
    try:
        flight = fmt.read(data, lines, source)
    except (IndexError, KeyError, UnicodeError) as exc:
        raise FlightFormatError("a %s that cannot be read: %s: %s" % (
            fmt.TITLE, type(exc).__name__, exc)) from None
    return finish(flight)


def load(path, format_name=None):
    """A Flight from a file; FlightFormatError (or OSError) if it cannot be read."""
    return parse(read_log_bytes(path), source=os.fspath(path), format_name=format_name)


def read_log_bytes(path, limit_bytes=MAX_FILE_BYTES):
    """The bytes of the file at `path`, at most `limit_bytes` of them. FlightFormatError for
    a longer one and for what is not a file at all (a device such as /dev/zero would be
    read until memory runs out, a FIFO waited on for ever); its message leaves the path to
    the caller. OSError as open() raises it (no such file, a folder, permission denied)."""
    import stat

    # asked before opening: opening a FIFO waits for a writer
    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a folder: open() says so
        raise FlightFormatError("not a file (a device, a pipe or a socket)")
    with open(path, "rb") as f:
        data = f.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise FlightFormatError("over %d bytes: larger than any flight log" % limit_bytes)
    return data


# --- the common finishing ------------------------------------------------------------------
def finish(flight):
    """Validate and tidy a reader's Flight in place (see the module docstring); returns it."""
    t, h = flight.t_s, flight.altitude_m
    if len(t) != len(h):
        raise FlightFormatError("times and altitudes differ in length")
    per_sample = {"altitude_m": h}
    if flight.pressure_pa is not None:
        per_sample["pressure_pa"] = flight.pressure_pa
    if flight.accel_ms2 is not None:
        per_sample["accel_ms2"] = flight.accel_ms2
    for name, values in flight.channels.items():
        per_sample["channel:" + name] = values
    finite = np.isfinite(t) & np.isfinite(h)
    if flight.pressure_pa is not None:
        finite &= np.isfinite(flight.pressure_pa)
    if not np.all(finite):
        flight.notes.append("%d samples without a finite time or altitude dropped"
                            % np.count_nonzero(~finite))
        t = t[finite]
        per_sample = {k: v[finite] for k, v in per_sample.items()}
    if len(t) < MIN_SAMPLES:
        raise FlightFormatError("only %d samples: too few to analyse (at least %d)"
                                % (len(t), MIN_SAMPLES))
    # a corrupt time (a row from another century) would stretch the flight over it
    lo, hi = np.percentile(t, [1.0, 99.0])
    width = hi - lo
    stray = (t < lo - width - 60.0) | (t > hi + width + 60.0)
    if np.any(stray):
        flight.notes.append("%d samples with times far outside the rest dropped (corrupt "
                            "timestamps)" % np.count_nonzero(stray))
        t = t[~stray]
        per_sample = {k: v[~stray] for k, v in per_sample.items()}
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        flight.notes.append("samples out of time order: sorted")
        t = t[order]
        per_sample = {k: v[order] for k, v in per_sample.items()}
    same = np.diff(t) == 0
    if np.any(same):
        starts = np.r_[True, ~same]
        group = np.cumsum(starts) - 1
        counts = np.bincount(group)
        merged = {}
        for k, v in per_sample.items():
            ok = np.isfinite(v)
            sums = np.bincount(group, weights=np.where(ok, v, 0.0))
            n = np.bincount(group, weights=ok.astype(np.float64))
            with np.errstate(invalid="ignore", divide="ignore"):
                merged[k] = np.where(n > 0, sums / np.maximum(n, 1), np.nan)
        flight.notes.append("%d rows repeat the time of the row before: merged (averaged)"
                            % int(np.count_nonzero(same)))
        t = t[starts]
        per_sample = merged
        if np.any(counts > 1) and len(t) < MIN_SAMPLES:
            raise FlightFormatError("only %d distinct sample times: too few to analyse"
                                    % len(t))
    if t[-1] - t[0] <= 0:
        raise FlightFormatError("all samples have the same time")
    flight.t_s = t
    flight.altitude_m = per_sample.pop("altitude_m")
    flight.pressure_pa = per_sample.pop("pressure_pa", None)
    flight.accel_ms2 = per_sample.pop("accel_ms2", None)
    flight.channels = {k.split(":", 1)[1]: v for k, v in per_sample.items()}
    if flight.time_origin == "detect":
        _zero_at_liftoff(flight)
    return flight


def find_liftoff_s(t_s, altitude_m):
    """The time the rocket left the pad, from heights alone, or None if it never climbed:
    the last sample near the pad's level before the height first stays LIFTOFF_RISE_M up
    for LIFTOFF_HOLD_S."""
    n0 = max(3, int(np.searchsorted(t_s, t_s[0] + 0.5)))
    pad = float(np.median(altitude_m[:n0]))
    spread = float(np.median(np.abs(altitude_m[:n0] - pad))) * 1.4826
    rise = altitude_m - pad > LIFTOFF_RISE_M
    above = np.flatnonzero(rise)
    for i in above[:200]:
        j = int(np.searchsorted(t_s, t_s[i] + LIFTOFF_HOLD_S))
        if j <= i + 1 or np.all(rise[i:j]):
            near = np.flatnonzero(altitude_m[:i] - pad <= max(1.0, 3.0 * spread))
            k = int(near[-1]) if len(near) else 0
            return float(t_s[k])
    return None


def _zero_at_liftoff(flight):
    t0 = find_liftoff_s(flight.t_s, flight.altitude_m)
    if t0 is None:
        t0 = float(flight.t_s[0])
        flight.time_origin = "first sample"
        flight.notes.append("no liftoff found in the heights: times count from the first sample")
    else:
        flight.time_origin = "detected"
    flight.t_s = flight.t_s - t0
    flight.events = [e._replace(t_s=e.t_s - t0) for e in flight.events]
    flight.metadata["log_time_of_liftoff_s"] = round(t0, 3)
