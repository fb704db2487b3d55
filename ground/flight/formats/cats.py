"""CATS (Control and Telemetry Systems) flight computer barometer log, as CSV.

    ts,id,T,P

ts in seconds from the flight computer's liftoff detection (rows before it, negative,
are its pad buffer), id the barometer (BARO0, BARO1, ...: the board has three), T its
temperature in degC, P the pressure in Pa. Raw pressure only: heights come from it and
the pad's pressure (the median before liftoff) through the standard atmosphere.

With several barometers, rows sharing a time are combined by their median pressure, so
one failing sensor cannot move the result; when the sensors' times do not line up, the
one with the most rows is used and the others are named in a note.
"""

import numpy as np

from ground.flight.formats.base import (
    Flight,
    FlightFormatError,
    check_pad_pressure,
    first_csv_header,
    height_above_pad_m,
    pad_value,
    skipped_note,
    to_float,
)

NAME = "cats-baro-csv"
TITLE = "CATS flight computer barometer CSV"


def _header(lines):
    return first_csv_header(lines, lambda names: names[:1] == ["ts"] and "id" in names and "p" in names)


def sniff(_data, lines):
    return lines is not None and _header(lines) is not None


def read(_data, lines, source=None):
    n_head, names = _header(lines)
    i_t, i_id, i_p = names.index("ts"), names.index("id"), names.index("p")
    i_temp = names.index("t") if "t" in names else None
    need = max(i for i in (i_t, i_id, i_p, i_temp) if i is not None) + 1
    rows = {}
    skipped = 0
    first_bad = None
    for n in range(n_head + 1, len(lines)):
        line = lines[n]
        if not line.strip():
            continue
        fields = line.split(",")
        t = to_float(fields[i_t]) if len(fields) >= need else None
        p = to_float(fields[i_p]) if t is not None else None
        if p is None:
            skipped += 1
            first_bad = first_bad or n + 1
            continue
        temp = to_float(fields[i_temp]) if i_temp is not None else None
        rows.setdefault(fields[i_id].strip(), []).append(
            (t, p, np.nan if temp is None else temp))
    if not rows:
        raise FlightFormatError("the CATS CSV has a header but no rows of numbers")
    note = skipped_note(skipped, first_bad)
    notes = [note] if note else []
    sensors = sorted(rows, key=lambda k: (-len(rows[k]), k))
    t, p, temp = (np.array(c) for c in zip(*rows[sensors[0]], strict=True))
    if len(sensors) > 1:
        times = [np.array([r[0] for r in rows[s]]) for s in sensors]
        if all(len(x) == len(times[0]) and np.array_equal(x, times[0]) for x in times):
            p = np.median(np.array([[r[1] for r in rows[s]] for s in sensors]), axis=0)
            notes.append("%d barometers (%s): the median of their pressures"
                         % (len(sensors), ", ".join(sensors)))
        else:
            notes.append("barometer %s used (the most rows); %s not (their times differ)"
                         % (sensors[0], ", ".join(sensors[1:])))
    order = np.argsort(t, kind="stable")
    t, p, temp = t[order], p[order], temp[order]
    pad_pa = pad_value(t, p, before_s=0.0)
    check_pad_pressure(pad_pa, "P")
    altitude = height_above_pad_m(p, pad_pa)
    has_buffer = np.count_nonzero(t < 0.0) >= 5
    return Flight(t, altitude, format_name=NAME, format_title=TITLE, pressure_pa=p,
                  channels={"temperature_c": temp}, pad_pressure_pa=pad_pa,
                  metadata={"device": "CATS flight computer", "barometers": len(sensors)},
                  notes=notes, source=source, time_origin="log" if has_buffer else "detect")
