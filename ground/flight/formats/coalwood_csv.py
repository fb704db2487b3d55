"""Coalwood's own analysis CSV (`coalwood analyze --csv`), read back.

The layout is written by ground/flight/export.py: comment lines first, the first one
MAGIC_LINE, then "# key: value" lines (what the log said and what the analysis found,
"# event: name, t_s, altitude_m, source" for each event, "# units: ..."), then one header
row of column names with their units in them and one row per sample.

Reading it back takes only what was measured (time, height, pressure, a measured
acceleration) and what the original log recorded (its events with source "log", the pad,
the device): the analysis's own smoothed columns and found events are not fed back in as
if they had been measured, so analysing the CSV repeats the original analysis instead of
compounding it.
"""

from ground.flight.formats.base import (
    Flight,
    FlightEvent,
    FlightFormatError,
    key_value,
    read_rows,
    split_csv,
    text_column,
    to_float,
)

NAME = "coalwood-csv"
TITLE = "Coalwood analysis CSV (coalwood analyze --csv)"
MAGIC_LINE = "# Coalwood flight analysis"

# (column, unit, meaning) in the order written; optional ones only when the flight has them
COLUMNS = (
    ("t_s", "s", "time from liftoff"),
    ("altitude_m", "m", "height above the pad as measured (from the pressure where logged)"),
    ("altitude_smoothed_m", "m", "height above the pad, smoothed"),
    ("velocity_ms", "m/s", "vertical speed, up positive"),
    ("accel_ms2", "m/s^2", "acceleration, up positive, gravity taken out"),
    ("mach", "1", "speed / speed of sound (standard atmosphere)"),
    ("pressure_pa", "Pa", "barometer reading"),
    ("accel_measured_ms2", "m/s^2", "the log's accelerometer, along the rocket"),
    ("rejected", "1", "1: rejected as a glitch, not used"),
)
META_KEYS = ("device", "firmware", "flight", "serial", "callsign")


def sniff(_data, lines):
    return lines is not None and bool(lines) and lines[0].startswith(MAGIC_LINE)


def read(_data, lines, source=None):
    meta = {}
    events = []
    header = None
    for n, line in enumerate(lines):
        if not line.startswith("#"):
            header = n
            break
        kv = key_value(line[1:])
        if not kv:
            continue
        key, value = kv
        if key == "event":
            parts = split_csv(value)
            if len(parts) == 4 and parts[3] == "log":
                t_s, alt = to_float(parts[1]), to_float(parts[2])
                if t_s is not None:
                    events.append(FlightEvent(parts[0], t_s, alt, "log"))
        elif key not in ("note", "units"):
            meta[key] = value
    if header is None:
        raise FlightFormatError("a Coalwood analysis CSV with no rows")
    names = split_csv(lines[header])
    if "t_s" not in names or "altitude_m" not in names:
        raise FlightFormatError("a Coalwood analysis CSV needs t_s and altitude_m columns")
    i_t, i_h = names.index("t_s"), names.index("altitude_m")
    arrays, kept, notes = read_rows(lines, header + 1, [i_t, i_h], "the Coalwood analysis CSV")
    pressure = (text_column(lines, kept, names.index("pressure_pa"))
                if "pressure_pa" in names else None)
    accel = (text_column(lines, kept, names.index("accel_measured_ms2"))
             if "accel_measured_ms2" in names else None)
    metadata = {k: _value(meta[k]) for k in META_KEYS if meta.get(k) not in (None, "")}
    metadata["original_format"] = meta.get("format")
    metadata["original_source"] = meta.get("source")
    return Flight(arrays[i_t], arrays[i_h], format_name=NAME, format_title=TITLE,
                  pressure_pa=pressure, accel_ms2=accel, events=events,
                  pad_pressure_pa=to_float(meta.get("pad_pressure_pa")),
                  pad_altitude_msl_m=to_float(meta.get("pad_altitude_msl_m")),
                  metadata=metadata, notes=notes, source=source, time_origin="log")


def _value(text):
    number = to_float(text)
    if number is not None and float(number).is_integer() and "." not in text:
        return int(number)
    return text if number is None else number


def column_names(has_pressure, has_accelerometer):
    names = [c[0] for c in COLUMNS]
    if not has_pressure:
        names.remove("pressure_pa")
    if not has_accelerometer:
        names.remove("accel_measured_ms2")
    return names


def units_line(names):
    unit = {c[0]: (c[1], c[2]) for c in COLUMNS}
    return "; ".join("%s [%s] %s" % (n, unit[n][0], unit[n][1]) for n in names)

