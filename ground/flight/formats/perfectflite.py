"""PerfectFlite altimeter flight data (StratoLogger, StratoLoggerCF, Pnut), the text file
(.pf2) PerfectFlite's DataCap software saves.

PerfectFlite publishes no specification; this follows the layout documented from exported
files by the hpr-sim project (docs/format/pf2.md, github.com/nrdptel/hpr-sim):

    PerfectFlite StratoLoggerCF
    Firmware: 1.3
    Serial Number: 1234
    Apogee: 1281' AGL
    Ground Elevation: 600' MSL
    NumSamps: 984
    Flight Number: 1

    Data: (Time, Altitude, Velocity, Temperature (F), Voltage)
    0.00, 0, 0, 70.00, 4.20

Time in seconds from the recording's start, altitude in feet above the pad, velocity the
altimeter's own in ft/s, then temperature (degF) and battery volts, which rows may leave
out. A barometric altimeter with no pressure column: heights are its own, converted to
metres. The stated apogee and ground elevation are kept (the latter gives heights above
sea level).
"""

import re

import numpy as np

from ground.flight.formats.base import (
    FT_M,
    Flight,
    FlightFormatError,
    key_value,
    length_m,
    skipped_note,
    to_float,
)

NAME = "perfectflite-pf2"
TITLE = "PerfectFlite StratoLogger text export (.pf2)"

_DATA_LINE = re.compile(r"^\s*data\s*:\s*\((.*)\)\s*$", re.IGNORECASE)
_DEFAULT_COLUMNS = ["time", "altitude", "velocity", "temperature (f)", "voltage"]


def sniff(_data, lines):
    if lines is None:
        return False
    for line in lines[:30]:
        if line.strip():
            if "perfectflite" in line.lower():
                return True
            break
    return any(_DATA_LINE.match(line) and "altitude" in line.lower() for line in lines[:40])


def read(_data, lines, source=None):
    metadata = {"device": "PerfectFlite"}
    columns = None
    first_row = None
    notes = []
    for n, line in enumerate(lines):
        text = line.strip()
        if not text:
            continue
        m = _DATA_LINE.match(text)
        if m:
            columns = [c.strip().lower() for c in m.group(1).split(",")]
            first_row = n + 1
            break
        if to_float(text.split(",")[0]) is not None:
            first_row = n
            break
        if "perfectflite" in text.lower() and ":" not in text:
            metadata["device"] = text
            continue
        kv = key_value(text)
        if kv:
            key, value = kv[0].lower(), kv[1]
            if key == "apogee":
                metadata["stated_apogee_m"] = length_m(value)
            elif key == "ground elevation":
                metadata["ground_elevation_m"] = length_m(value)
            elif key in ("serial number", "firmware", "flight number", "numsamps"):
                metadata[key.replace(" ", "_")] = value
    if first_row is None:
        raise FlightFormatError("a PerfectFlite file with no rows of data")
    if columns is None:
        columns = _DEFAULT_COLUMNS
        notes.append("no 'Data:' line: the columns are taken as time, altitude, velocity, "
                     "temperature, voltage")
    if "time" not in columns or "altitude" not in columns:
        raise FlightFormatError("the PerfectFlite 'Data:' line names no time or altitude column")
    i_t, i_h = columns.index("time"), columns.index("altitude")
    i_v = columns.index("velocity") if "velocity" in columns else None
    i_temp = next((i for i, c in enumerate(columns) if c.startswith("temp")), None)
    t, h, v, temp = [], [], [], []
    skipped, first_bad = 0, None
    for n in range(first_row, len(lines)):
        text = lines[n].strip()
        if not text:
            continue
        fields = text.split(",")
        tt = to_float(fields[i_t]) if len(fields) > max(i_t, i_h) else None
        hh = to_float(fields[i_h]) if tt is not None else None
        if hh is None:
            skipped += 1
            first_bad = first_bad or n + 1
            continue
        t.append(tt)
        h.append(hh * FT_M)
        vv = to_float(fields[i_v]) if i_v is not None and len(fields) > i_v else None
        v.append(np.nan if vv is None else vv * FT_M)
        ff = to_float(fields[i_temp]) if i_temp is not None and len(fields) > i_temp else None
        temp.append(np.nan if ff is None else (ff - 32.0) * 5.0 / 9.0)
    note = skipped_note(skipped, first_bad or 0)
    if note:
        notes.append(note)
    if not t:
        raise FlightFormatError("the PerfectFlite file has no rows of numbers")
    stated = metadata.get("numsamps")
    if stated and to_float(stated) is not None and int(float(stated)) != len(t):
        notes.append("the file says %s samples; it has %d" % (stated, len(t)))
    pad_msl = metadata.get("ground_elevation_m")
    return Flight(t, h, format_name=NAME, format_title=TITLE,
                  channels={"log_speed_ms": v, "temperature_c": temp},
                  pad_altitude_msl_m=pad_msl, metadata=metadata, notes=notes, source=source,
                  time_origin="detect")
