"""What every flight-log reader produces, and the helpers the readers share.

A reader turns a file into a `Flight`: sample times in seconds, height above the pad in
metres, the pressure where the log has it, the log's own events and what the file says
about the device. Units inside a Flight are SI whatever the file used; names carry them.
"""

import codecs
import math
import re
from collections import namedtuple

import numpy as np

from ground.trajectory.atmosphere import (
    BARO_EXPONENT,
    G0_M_S2,
    LAPSE_K_M,
    P0_PA,
    R_AIR_J_KG_K,
    T0_K,
    TROPOPAUSE_M,
    standard_pressure_pa,
    standard_temperature_k,
)

FT_M = 0.3048
ATM_PA = P0_PA  # one standard atmosphere
MIN_SAMPLES = 10

# Pressure a barometer on a launch pad can read: a pad 500 m below sea level to one near
# 9 km up. Anything outside is the wrong unit or a broken sensor, never a real pad.
PAD_PRESSURE_RANGE_PA = (30000.0, 110000.0)
# A sample outside this is no reading of the air (a sensor fault, a corrupt row).
PRESSURE_RANGE_PA = (1000.0, 120000.0)

_T_TROP_K = standard_temperature_k(TROPOPAUSE_M)
_P_TROP_PA = standard_pressure_pa(TROPOPAUSE_M)
_SCALE_HEIGHT_TROP_M = R_AIR_J_KG_K * _T_TROP_K / G0_M_S2


class FlightFormatError(ValueError):
    """The file cannot be read as a flight log; the message is one line for a person."""


class FlightEvent(namedtuple("FlightEvent", "name t_s altitude_m source")):
    """A moment of the flight. source: "log" (the device recorded it) or "detected"."""

    __slots__ = ()

    def as_dict(self):
        return {"name": self.name, "t_s": _round(self.t_s, 3),
                "altitude_m": _round(self.altitude_m, 2), "source": self.source}


def _round(value, digits):
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


class Flight:
    """One flight, as read from a log (see the module docstring).

    t_s: seconds from liftoff (the log's own liftoff where it marks one, otherwise the one
        found in the data; `time_origin` says which).
    altitude_m: height above the pad, from the pressure and the pad's pressure with the
        standard atmosphere where the log has pressure, otherwise the log's own altitude.
    pressure_pa: the barometer's readings, or None.
    accel_ms2: a measured acceleration along the rocket, gravity taken out (zero on the
        pad), or None. An estimate the device computed from its barometer is not one.
    channels: other per-sample columns worth keeping, SI, names with units
        (log_speed_ms: the device's own speed estimate; temperature_c; ...).
    events: [FlightEvent] the log records, in time order.
    metadata: what the file says about the device and the flight (device, serial,
        firmware, flight, ...), as strings and numbers.
    notes: things found while reading, one line each (rows skipped, duplicates merged).
    """

    def __init__(self, t_s, altitude_m, *, format_name, format_title, pressure_pa=None,
                 accel_ms2=None, channels=None, events=(), pad_pressure_pa=None,
                 pad_altitude_msl_m=None, metadata=None, notes=(), source=None,
                 time_origin="log"):
        self.t_s = np.asarray(t_s, dtype=np.float64)
        self.altitude_m = np.asarray(altitude_m, dtype=np.float64)
        self.pressure_pa = None if pressure_pa is None else np.asarray(pressure_pa, np.float64)
        self.accel_ms2 = None if accel_ms2 is None else np.asarray(accel_ms2, np.float64)
        self.channels = {k: np.asarray(v, np.float64) for k, v in (channels or {}).items()}
        self.events = sorted(events, key=lambda e: e.t_s)
        self.pad_pressure_pa = pad_pressure_pa
        self.pad_altitude_msl_m = pad_altitude_msl_m
        self.metadata = dict(metadata or {})
        self.notes = list(notes)
        self.format = format_name
        self.format_title = format_title
        self.source = source
        self.time_origin = time_origin

    def __len__(self):
        return len(self.t_s)

    @property
    def samples(self):
        return len(self.t_s)

    def event(self, name):
        for ev in self.events:
            if ev.name == name:
                return ev
        return None

    def __repr__(self):
        return "Flight(%s, %d samples, %.1f s%s)" % (
            self.format, len(self), self.t_s[-1] - self.t_s[0] if len(self) else 0.0,
            ", pressure" if self.pressure_pa is not None else "")


# --- the standard atmosphere, vectorised --------------------------------------------------
def pressure_altitude_m(pressure_pa):
    """Height above sea level (m) of a pressure on a standard day; arrays welcome.

    The same atmosphere as ground/trajectory/atmosphere.py, so in the troposphere exactly
    the firmware's h = 44330.77 * (1 - (P / 101325) ** 0.190266).
    """
    p = np.asarray(pressure_pa, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # a reading of 0 or less: NaN
        trop = (T0_K / LAPSE_K_M) * (1.0 - (p / P0_PA) ** BARO_EXPONENT)
        strat = TROPOPAUSE_M + _SCALE_HEIGHT_TROP_M * np.log(_P_TROP_PA / p)
    out = np.where(p >= _P_TROP_PA, trop, strat)
    return float(out) if out.ndim == 0 else out


def pressure_at_altitude_pa(altitude_m):
    """The standard day's pressure at a height above sea level (the inverse of the above)."""
    h = np.asarray(altitude_m, dtype=np.float64)
    trop = P0_PA * (1.0 - h * LAPSE_K_M / T0_K) ** (1.0 / BARO_EXPONENT)
    strat = _P_TROP_PA * np.exp(-(h - TROPOPAUSE_M) / _SCALE_HEIGHT_TROP_M)
    out = np.where(h <= TROPOPAUSE_M, trop, strat)
    return float(out) if out.ndim == 0 else out


def height_above_pad_m(pressure_pa, pad_pressure_pa):
    """Height above the pad (m) from pressures, through the standard atmosphere."""
    return pressure_altitude_m(pressure_pa) - pressure_altitude_m(pad_pressure_pa)


def check_pad_pressure(pad_pressure_pa, column, unit_name="Pa"):
    """FlightFormatError unless a pad pressure is one a launch site has (a unit check)."""
    lo, hi = PAD_PRESSURE_RANGE_PA
    if pad_pressure_pa is None or not math.isfinite(pad_pressure_pa):
        raise FlightFormatError("no pad pressure in the %s column" % column)
    if lo <= pad_pressure_pa <= hi:
        return
    guess = ""
    for factor, name in ((100.0, "hPa (mbar)"), (1000.0, "kPa"), (ATM_PA, "atm"),
                         (0.01, "Pa*100"), (6894.757, "psi")):
        if lo <= pad_pressure_pa * factor <= hi:
            guess = "; it looks like %s" % name
            break
    raise FlightFormatError(
        "the %s column reads %.6g on the pad, which is no pad pressure in %s%s: wrong units?"
        % (column, pad_pressure_pa, unit_name, guess))


def pad_value(t_s, values, before_s=0.0, first_s=0.5):
    """The pad's reading: the median before `before_s` when there are enough samples
    there, else the median of the first `first_s` seconds (the log starts on the pad)."""
    values = np.asarray(values, dtype=np.float64)
    sel = (t_s < before_s) & np.isfinite(values)
    if np.count_nonzero(sel) < 5:
        sel = (t_s <= t_s[0] + first_s) & np.isfinite(values)
        if np.count_nonzero(sel) < 3:
            sel = np.isfinite(values)
            sel[min(len(sel), 5):] = False
    return float(np.median(values[sel])) if np.any(sel) else float("nan")


# --- text ----------------------------------------------------------------------------------
def decode_text(data):
    """The file's text: UTF-8 (with or without BOM), UTF-16 by BOM or by its NULs, else
    Latin-1. FlightFormatError for binary data."""
    if not data:
        raise FlightFormatError("the file is empty")
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    head = data[:4096]
    nuls = head.count(0)
    if nuls:
        even = head[0::2].count(0)
        odd = head[1::2].count(0)
        if nuls >= len(head) // 5 and (odd >= 8 * max(even, 1) or even >= 8 * max(odd, 1)):
            return data.decode("utf-16-le" if odd > even else "utf-16-be", errors="replace")
        raise FlightFormatError("binary data, not a text flight log (and not a Coalwood .cwf)")
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if controls > len(head) // 50:
        raise FlightFormatError("binary data, not a text flight log (and not a Coalwood .cwf)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def lines_of(text):
    """The file's lines, whatever the line endings."""
    return text.splitlines()


def first_csv_header(lines, accept):
    """(line number, lower-case names) of the first non-blank line among the first five when
    `accept(names)` says it is this format's header; else None."""
    for n, line in enumerate(lines[:5]):
        if line.strip():
            names = [f.lower() for f in split_csv(line)]
            return (n, names) if accept(names) else None
    return None


def split_csv(line, sep=","):
    return [f.strip() for f in line.split(sep)]


def to_float(text):
    """A number from a cell, or None (blank, '-', or not a number)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def numeric_table(lines, first_row, columns, *, sep=",", min_fields=None, name="row"):
    """Columns of numbers from CSV rows: {index: float array} and the rows used.

    `columns`: the field indices wanted; a row where any of them is not a number is
    skipped (counted). Returns (arrays, kept_line_numbers, skipped, first_skipped_line).
    """
    out = {c: [] for c in columns}
    kept = []
    skipped = 0
    first_bad = None
    need = max(columns) + 1 if min_fields is None else min_fields
    for n in range(first_row, len(lines)):
        line = lines[n]
        if not line.strip():
            continue
        fields = line.split(sep)
        values = []
        if len(fields) >= need:
            for c in columns:
                v = to_float(fields[c])
                if v is None:
                    break
                values.append(v)
        if len(values) != len(columns):
            skipped += 1
            if first_bad is None:
                first_bad = n + 1
            continue
        for c, v in zip(columns, values, strict=True):
            out[c].append(v)
        kept.append(n)
    arrays = {c: np.array(v, dtype=np.float64) for c, v in out.items()}
    return arrays, kept, skipped, first_bad


def read_rows(lines, first_row, columns, what):
    """numeric_table() for a reader: (arrays, kept line numbers, notes), the notes holding
    the skipped rows' line; FlightFormatError when no row has numbers. `what` names the
    file in that message ("the RRC3 CSV")."""
    arrays, kept, skipped, first_bad = numeric_table(lines, first_row, columns)
    if not kept:
        raise FlightFormatError("%s has a header but no rows of numbers" % what)
    note = skipped_note(skipped, first_bad)
    return arrays, kept, [note] if note else []


def text_column(lines, kept, index, sep=","):
    """One column of numbers from the rows `kept` (line numbers); NaN where not a number."""
    out = np.full(len(kept), np.nan)
    for k, n in enumerate(kept):
        fields = lines[n].split(sep)
        if len(fields) > index:
            value = to_float(fields[index])
            if value is not None:
                out[k] = value
    return out


def skipped_note(skipped, first_line, what="rows"):
    if not skipped:
        return None
    return "%d %s that are not numbers skipped (the first at line %d)" % (skipped, what,
                                                                        first_line)


_KEY_VALUE = re.compile(r"^\s*([^:=]{1,60}?)\s*[:=]\s*(.*?)\s*$")


def key_value(line):
    """('Key', 'value') from a 'Key: value' line, or None."""
    m = _KEY_VALUE.match(line)
    return (m.group(1), m.group(2)) if m else None


_LENGTH = re.compile(r"^\s*(-?[\d.]+)\s*('|ft|feet|m|meters|metres)?\b", re.IGNORECASE)


def length_m(text, default_unit="ft"):
    """A stated height ('1281\\' AGL', '600 ft', '183 m') in metres, or None."""
    m = _LENGTH.match(text or "")
    if not m:
        return None
    value = to_float(m.group(1))
    if value is None:
        return None
    unit = (m.group(2) or default_unit).lower()
    return value * (1.0 if unit in ("m", "meters", "metres") else FT_M)
