"""Featherweight Blue Raven low-rate (50 Hz) flight data, as the Blue Raven phone app
exports it to CSV.

Featherweight documents the data the low-rate log holds (the Blue Raven manual's USB
download section: baro pressure in atm, temperature in degF, velocities in ft/s, flight
event flags); the app's CSV names one column per field, units in brackets:

    Year,Month,Day,Time,Flight_Time_(s),Sync,Temperature_(F),Baro_Press_(atm),
    Baro_Altitude_ASL_(feet),Baro_Altitude_AGL_(feet),...,Velocity_Up,...,
    Liftoff,Apogee,Press_Increasing,Burnout_Coast,Apo_fired,Main_fired,...

(column names as public parsers of real exports read them). Flight_Time_(s) counts from
the Raven's liftoff detection, negative on the pad. Heights come from Baro_Press_(atm)
and the pad's pressure; ASL minus AGL gives the pad's height above sea level. The event
flag columns (0/1) become the log's events at the first row each is set: Liftoff,
Burnout_Coast, Apogee, Apo_fired (drogue), Main_fired. Velocity_Up is the Raven's
inertial estimate, kept as a channel. Earlier Ravens' Featherweight Interface Program
export is a different file and is not read here.
"""

import numpy as np

from ground.flight.formats.base import (
    ATM_PA,
    FT_M,
    Flight,
    FlightEvent,
    check_pad_pressure,
    first_csv_header,
    height_above_pad_m,
    pad_value,
    read_rows,
    text_column,
)

NAME = "blueraven-csv"
TITLE = "Featherweight Blue Raven CSV export (low rate)"

_FLAGS = (("liftoff", "liftoff"), ("burnout_coast", "burnout"), ("apogee", "apogee"),
          ("apo_fired", "drogue"), ("main_fired", "main"))


def _header(lines):
    return first_csv_header(lines, lambda names: "flight_time_(s)" in names and (
        "baro_press_(atm)" in names or "baro_altitude_agl_(feet)" in names))


def sniff(_data, lines):
    return lines is not None and _header(lines) is not None


def read(_data, lines, source=None):
    n_head, names = _header(lines)

    def col(name):
        return names.index(name) if name in names else None

    i_t = col("flight_time_(s)")
    i_p, i_agl, i_asl = col("baro_press_(atm)"), col("baro_altitude_agl_(feet)"), col(
        "baro_altitude_asl_(feet)")
    wanted = [i for i in (i_t, i_p, i_agl, i_asl) if i is not None]
    arrays, kept, notes = read_rows(lines, n_head + 1, wanted, "the Blue Raven CSV")
    t = arrays[i_t]
    pad_msl = None
    if i_agl is not None and i_asl is not None:
        pad_msl = float(np.median((arrays[i_asl] - arrays[i_agl])[: max(5, len(t) // 50)])) * FT_M
    if i_p is not None:
        pressure = arrays[i_p] * ATM_PA
        pad_pa = pad_value(t, pressure, before_s=0.0)
        check_pad_pressure(pad_pa, "Baro_Press_(atm)", unit_name="atm")
        altitude = height_above_pad_m(pressure, pad_pa)
    else:
        pressure, pad_pa = None, None
        altitude = arrays[i_agl] * FT_M
        notes.append("no pressure column: heights are the Raven's own")
    extra = {}
    for name in ["velocity_up", "temperature_(f)"] + [f for f, _ in _FLAGS]:
        i = col(name)
        if i is not None:
            extra[name] = text_column(lines, kept, i)
    events = []
    for flag, event in _FLAGS:
        if flag in extra:
            hit = np.flatnonzero(extra[flag] > 0.5)
            if len(hit):
                k = int(hit[0])
                events.append(FlightEvent(event, float(t[k]), float(altitude[k]), "log"))
    channels = {}
    if "velocity_up" in extra:
        channels["log_speed_ms"] = extra["velocity_up"] * FT_M
    if "temperature_(f)" in extra:
        channels["temperature_c"] = (extra["temperature_(f)"] - 32.0) * 5.0 / 9.0
    return Flight(t, altitude, format_name=NAME, format_title=TITLE, pressure_pa=pressure,
                  channels=channels, events=events, pad_pressure_pa=pad_pa,
                  pad_altitude_msl_m=pad_msl, metadata={"device": "Featherweight Blue Raven"},
                  notes=notes, source=source,
                  time_origin="log" if np.count_nonzero(t < 0.0) >= 5 else "detect")

