"""Eggtimer Rocketry flight computers' (TRS, Quantum, classic Eggtimer) flight data CSV.

The detail download, as the Eggtimer TRS User's Manual shows it (the 'download the detail
data' section):

    T,Alt,Veloc,FAlt,FVeloc,FVeloc2,LDA,LowV,Apogee,N-O,Drogue,Main
    0,0,0,0,0,0,0,0,0,0,0,0
    50,12,240,2.4,48,9.6,0,0,0,0,0,0

T in milliseconds, Alt in feet above the pad, Veloc the raw velocity in ft/s, F* the
altimeter's Kalman-filtered figures. The last columns are events: zero, or the altitude
at the sample where the event happened (LDA: launch detect altitude reached; LowV: the
Mach lockout expired; Apogee; N-O: nose-over; Drogue and Main: the channels fired).
Earlier firmware names the filtered altitude Filt_Alt; a 'Flight Summary' block (ASL Alt.,
Apogee, ...) may come first and is kept as metadata, the pad's height above sea level
among it.

The header is the same whether the unit is set to feet or metres. Feet is the factory
setting and what is assumed; when the summary states the apogee with its unit, that unit
is used instead.
"""

import numpy as np

from ground.flight.formats.base import (
    FT_M,
    Flight,
    FlightEvent,
    FlightFormatError,
    key_value,
    length_m,
    skipped_note,
    to_float,
)

NAME = "eggtimer-csv"
TITLE = "Eggtimer flight data CSV"

_EVENTS = {"apogee": "apogee", "n-o": "nose-over", "drogue": "drogue", "main": "main"}


def _split(line):
    return [f.strip() for f in (line.split(",") if "," in line else line.split())]


def _header(lines):
    for n, line in enumerate(lines[:60]):
        names = [f.lower() for f in _split(line)]
        if (names[:2] == ["t", "alt"] and "lda" in names
                and ("veloc" in names or "falt" in names or "filt_alt" in names)):
            return n, names
    return None


def sniff(_data, lines):
    return lines is not None and _header(lines) is not None


def read(_data, lines, source=None):
    n_head, names = _header(lines)
    metadata = {"device": "Eggtimer"}
    unit_m = FT_M
    notes = []
    stated_unit = None
    for line in lines[:n_head]:
        text = line.strip().strip(",").strip()
        if text.lower().startswith("eggtimer"):
            metadata["device"] = text.split(" Flight")[0].strip()
        kv = key_value(text)
        if not kv:
            continue
        key, value = kv[0].strip(". ").lower(), kv[1].strip(", ")
        if key == "asl alt":
            metadata["ground_elevation_m"] = length_m(value)
        elif key == "apogee":
            low = value.lower()
            stated_unit = "m" if low.rstrip().endswith(("m", "meters", "metres")) else "ft"
            metadata["stated_apogee_m"] = length_m(value, default_unit=stated_unit)
        elif key == "flight time":
            metadata["stated_flight_time_s"] = to_float(value)
    if stated_unit == "m":
        unit_m = 1.0
        notes.append("altitudes in metres (the summary states its apogee in metres)")
    else:
        notes.append("altitudes read as feet, the Eggtimer's factory unit (its header is "
                     "the same in metres)")
    i_t, i_h = 0, 1
    i_v = names.index("veloc") if "veloc" in names else None
    event_cols = {names.index(k): v for k, v in _EVENTS.items() if k in names}
    t, h, v = [], [], []
    events = {}
    skipped, first_bad = 0, None
    for n in range(n_head + 1, len(lines)):
        text = lines[n].strip()
        if not text:
            continue
        fields = _split(text)
        tt = to_float(fields[i_t]) if len(fields) > i_h else None
        hh = to_float(fields[i_h]) if tt is not None else None
        if hh is None:
            skipped += 1
            first_bad = first_bad or n + 1
            continue
        t.append(tt / 1000.0)
        h.append(hh * unit_m)
        vv = to_float(fields[i_v]) if i_v is not None and len(fields) > i_v else None
        v.append(np.nan if vv is None else vv * unit_m)
        for col, name in event_cols.items():
            mark = to_float(fields[col]) if len(fields) > col else None
            if mark and name not in events:
                events[name] = FlightEvent(name, tt / 1000.0, mark * unit_m, "log")
    if not t:
        raise FlightFormatError("the Eggtimer CSV has a header but no rows of numbers")
    note = skipped_note(skipped, first_bad or 0)
    if note:
        notes.append(note)
    if "apogee" not in events and "nose-over" in events:
        ev = events["nose-over"]
        events["apogee"] = FlightEvent("apogee", ev.t_s, ev.altitude_m, "log")
    events.pop("nose-over", None)
    return Flight(t, h, format_name=NAME, format_title=TITLE, channels={"log_speed_ms": v},
                  events=list(events.values()),
                  pad_altitude_msl_m=metadata.get("ground_elevation_m"), metadata=metadata,
                  notes=notes, source=source, time_origin="detect")
