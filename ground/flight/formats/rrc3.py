"""Missile Works RRC3 flight data as mDACS exports it to CSV.

    time,altitude,pressure,velocity,temperature,events,voltages

time in seconds from the start of the recording, altitude above the pad, pressure in
mbar (hPa), velocity the altimeter's own. The export writes the same header whether the
altimeter was set to feet or to metres; the pressure settles it: the stated altitude is
compared with the height the pressures give (see `_altitude_unit`).

Quirks handled (seen in a real export): Windows line endings; rows near the end that
lack the temperature field, so the events text moves one field left (the events are
found as the first text field after velocity); rows that are corrupt (an altitude of
10700 m then -2490 m in the last two rows) are kept here and rejected by the analysis as
physically impossible jumps. mDACS events (Drogue, Main, ...) become the log's events.
"""

import numpy as np

from ground.flight.formats.base import (
    FT_M,
    Flight,
    FlightEvent,
    check_pad_pressure,
    first_csv_header,
    height_above_pad_m,
    pad_value,
    read_rows,
    to_float,
)

NAME = "rrc3-csv"
TITLE = "Missile Works RRC3 CSV export (mDACS)"

_EVENT_WORDS = (("drogue", "drogue"), ("main", "main"), ("apogee", "apogee"),
                ("launch", "liftoff"), ("liftoff", "liftoff"), ("land", "landing"),
                ("burnout", "burnout"))


def _header(lines):
    return first_csv_header(
        lines, lambda names: names[:4] == ["time", "altitude", "pressure", "velocity"]
        and "events" in names)


def sniff(_data, lines):
    return lines is not None and _header(lines) is not None


def read(_data, lines, source=None):
    n_head, _names = _header(lines)
    arrays, kept, notes = read_rows(lines, n_head + 1, [0, 1, 2, 3], "the RRC3 CSV")
    t, log_alt, p_hpa, log_v = arrays[0], arrays[1], arrays[2], arrays[3]
    pressure = p_hpa * 100.0
    pad_pa = pad_value(t, pressure, before_s=t[0] - 1.0, first_s=0.25)
    check_pad_pressure(pad_pa, "pressure (mbar)", unit_name="mbar")
    altitude = height_above_pad_m(pressure, pad_pa)
    scale, unit_note = _altitude_unit(altitude, log_alt)
    if unit_note:
        notes.append(unit_note)
    short_rows = 0
    events = []
    for k, n in enumerate(kept):
        fields = lines[n].split(",")
        if len(fields) >= 5 and to_float(fields[4]) is None:
            short_rows += 1
        for field in fields[4:7]:
            word = field.strip()
            if word and word != "-" and to_float(word) is None:
                name = _event_name(word)
                events.append(FlightEvent(name, float(t[k]), float(altitude[k]), "log"))
                break
    if short_rows:
        notes.append("%d rows lack the temperature field (their events are read one field "
                     "to the left)" % short_rows)
    channels = {"log_altitude_m": log_alt * scale, "log_speed_ms": log_v * scale}
    return Flight(t, altitude, format_name=NAME, format_title=TITLE, pressure_pa=pressure,
                  channels=channels, events=_first_of_each(events), pad_pressure_pa=pad_pa,
                  metadata={"device": "Missile Works RRC3"}, notes=notes, source=source,
                  time_origin="detect")


def _altitude_unit(altitude_m, log_alt):
    """(metres per unit of the log's altitude column, note): metres or feet, whichever
    matches the height the pressures give."""
    top = np.nanpercentile(altitude_m, 99)
    log_top = np.nanpercentile(log_alt, 99)
    if top < 30.0 or not np.isfinite(log_top) or log_top <= 0:
        return 1.0, None
    ratio = log_top / top
    if abs(ratio - 1.0) < 0.1:
        return 1.0, None
    if abs(ratio * FT_M - 1.0) < 0.1:
        return FT_M, "the altitude column is in feet (it matches the pressures that way)"
    return 1.0, ("the altitude column (peak %.0f) matches the pressures (peak %.0f m) in "
                 "neither metres nor feet; heights come from the pressures" % (log_top, top))


def _event_name(word):
    low = word.lower()
    for key, name in _EVENT_WORDS:
        if key in low:
            return name
    return low


def _first_of_each(events):
    seen = set()
    out = []
    for ev in events:
        if ev.name not in seen:
            seen.add(ev.name)
            out.append(ev)
    return out
