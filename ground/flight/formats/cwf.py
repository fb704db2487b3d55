"""Coalwood's own flight log (.cwf), as the firmware writes it and `coalwood download` saves it.

The bytes are parsed by ground/flightfile.py (every record's CRC checked; damaged records
are left out and said so). Heights come from the recorded pressures and the pad pressure in
the header, through the same standard atmosphere the firmware uses, so they agree with the
firmware's own altitude column to its table's few centimetres. Times count from the
firmware's liftoff detection (the header's start tick); events are the log's event
records. The speed and acceleration columns are the firmware's Kalman estimates from the
barometer, kept as channels, not treated as measurements.
"""

import numpy as np

from ground import flightfile
from ground.flight.formats.base import (
    Flight,
    FlightEvent,
    FlightFormatError,
    check_pad_pressure,
    height_above_pad_m,
)

NAME = "cwf"
TITLE = "Coalwood flight log (.cwf)"

_EVENT_NAMES = {"liftoff": "liftoff", "burnout": "burnout", "apogee": "apogee", "main": "main",
                "landed": "landing"}


def sniff(data, _lines):
    return bytes(data[:4]) == flightfile.MAGIC


def read(data, _lines, source=None):
    try:
        ff = flightfile.parse(data)
    except flightfile.FlightFileError as exc:
        raise FlightFormatError("%s" % exc) from None
    s = ff.samples
    if not len(s["t_s"]):
        raise FlightFormatError("the flight log holds no samples (%d records)" % len(ff.records))
    h = ff.header
    pad_pa = float(h.pad_pressure_pa)
    check_pad_pressure(pad_pa, "header's pad pressure")
    pressure = s["pressure_pa"]
    altitude = height_above_pad_m(pressure, pad_pa)
    events = [FlightEvent(_EVENT_NAMES.get(e.name, e.name), e.t_s, e.altitude_m, "log")
              for e in ff.events]
    notes = ["%s" % p for p in ff.problems()]
    metadata = {
        "device": h.board or "Coalwood",
        "firmware": "%d.%d.%d" % tuple(h.firmware),
        "flight": h.flight,
        "format_version": h.version,
        "ascent_hz": h.ascent_hz,
        "descent_hz": h.descent_hz,
        # what failed its checksums or was cut short ([]: every byte checked out)
        "damage": list(ff.problems()),
    }
    channels = {"log_altitude_m": s["altitude_m"], "log_speed_ms": s["speed_ms"],
                "log_accel_ms2": s["accel_ms2"], "flight_state": s["state"].astype(np.float64)}
    return Flight(s["t_s"], altitude, format_name=NAME, format_title=TITLE,
                  pressure_pa=pressure, channels=channels, events=events,
                  pad_pressure_pa=pad_pa, metadata=metadata, notes=notes, source=source,
                  time_origin="log")
