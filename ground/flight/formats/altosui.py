"""AltosUI's CSV export (Altus Metrum TeleMetrum, TeleMega, EasyMini, TeleMini, ...).

The layout is AltosUI's (altoslib/AltosCSV.java in AltOS writes it): one header line
starting with '#', its names in order -- version, serial, flight, call, time, [clock, rssi,
lqi,] state, state_name, acceleration, pressure, altitude, height, speed (or accel_speed
and baro_speed), ... -- then one row per sample, fields padded with spaces. Columns are
found by name, so the versions' extra columns do not matter. Units: time s since AltOS's
boost detection (the pad rows before it are negative), pressure Pa (an older export's
mbar is recognised by its size), altitude m above sea level (barometric), height m above
the pad, speed m/s, acceleration m/s2 along the rocket with gravity taken out (it reads
zero on the pad).

Quirks handled (seen in a real TeleMetrum export):
- the name `altitude` appears twice: the first is the barometer's, the second (after
  longitude) the GPS receiver's;
- rows may repeat the previous row's time exactly (AltosUI writes a row per record it
  decoded): rows with one time are merged;
- the pad's pressure is AltOS's own ground reference, altitude - height, so heights agree
  with AltosUI's.

AltOS flight states become the log's events: boost = liftoff, fast/coast = burnout,
drogue = apogee detected and drogue fired, main, landed.
"""

import numpy as np

from ground.flight.formats.base import (
    Flight,
    FlightEvent,
    FlightFormatError,
    check_pad_pressure,
    height_above_pad_m,
    pressure_at_altitude_pa,
    read_rows,
    split_csv,
    text_column,
)

NAME = "altosui-csv"
TITLE = "AltosUI CSV export (Altus Metrum)"

_STATE_NAMES = {2: "pad", 3: "boost", 4: "fast", 5: "coast", 6: "drogue", 7: "main",
                8: "landed"}


def _header(lines):
    for n, line in enumerate(lines[:20]):
        if line.lstrip().startswith("#"):
            names = [f.lstrip("#").strip().lower() for f in split_csv(line)]
            if "version" in names and "time" in names and (
                    "state_name" in names or "height" in names):
                return n, names
        elif line.strip():
            return None
    return None


def sniff(_data, lines):
    return lines is not None and _header(lines) is not None


def read(_data, lines, source=None):
    n_head, names = _header(lines)

    def col(name, nth=0):
        idx = [i for i, nm in enumerate(names) if nm == name]
        return idx[nth] if len(idx) > nth else None

    i_time, i_height = col("time"), col("height")
    i_pressure, i_alt = col("pressure"), col("altitude")
    if i_time is None or (i_pressure is None and i_height is None):
        raise FlightFormatError("an AltosUI CSV needs time and pressure or height columns")
    wanted = [i for i in (i_time, i_pressure, i_alt, i_height) if i is not None]
    arrays, kept, notes = read_rows(lines, n_head + 1, wanted, "the AltosUI CSV")
    t = arrays[i_time]
    optional = {}
    for name in ("acceleration", "speed", "accel_speed", "state", "temperature", "version",
                 "serial", "flight"):
        i = col(name)
        if i is not None:
            optional[name] = text_column(lines, kept, i)

    pad_msl = None
    if i_alt is not None and i_height is not None:
        ground = arrays[i_alt] - arrays[i_height]
        ground = ground[np.isfinite(ground)]
        if len(ground):
            pad_msl = float(np.median(ground[: max(20, len(ground) // 20)]))
    if i_pressure is not None:
        pressure = arrays[i_pressure]
        if 300.0 <= np.median(pressure[: max(5, len(pressure) // 50)]) <= 1100.0:
            pressure = pressure * 100.0
            notes.append("pressure in mbar (an older AltosUI export): converted to Pa")
        pad_pa = (float(pressure_at_altitude_pa(pad_msl)) if pad_msl is not None
                  else float(np.median(pressure[t <= t[0] + 0.5])))
        check_pad_pressure(pad_pa, "pressure")
        altitude = height_above_pad_m(pressure, pad_pa)
    else:
        pressure, pad_pa = None, None
        altitude = arrays[i_height]
        notes.append("no pressure column: heights are AltosUI's own")

    events = []
    if "state" in optional:
        events = _state_events(t, optional["state"], altitude)
    channels = {}
    speed = optional.get("speed", optional.get("accel_speed"))
    if speed is not None:
        channels["log_speed_ms"] = speed
    if "temperature" in optional:
        channels["temperature_c"] = optional["temperature"]
    if i_height is not None:
        channels["log_altitude_m"] = arrays[i_height]
    metadata = {"device": "Altus Metrum"}
    for key in ("serial", "flight", "version"):
        if key in optional and np.isfinite(optional[key][0]):
            metadata[key if key != "version" else "log_version"] = int(optional[key][0])
    if "serial" in metadata:
        metadata["device"] = "Altus Metrum serial %d" % metadata["serial"]
    i_call = col("call")
    if i_call is not None:
        fields = lines[kept[0]].split(",")
        if len(fields) > i_call and fields[i_call].strip():
            metadata["callsign"] = fields[i_call].strip()
    accel = optional.get("acceleration")
    return Flight(t, altitude, format_name=NAME, format_title=TITLE, pressure_pa=pressure,
                  accel_ms2=accel, channels=channels, events=events, pad_pressure_pa=pad_pa,
                  pad_altitude_msl_m=pad_msl, metadata=metadata, notes=notes, source=source,
                  time_origin="log")


def _state_events(t, state, altitude):
    events = []
    seen = set()
    first = {}
    for code in (3, 4, 5, 6, 7, 8):
        hit = np.flatnonzero(state == code)
        if len(hit):
            first[code] = int(hit[0])
    if 3 in first:
        # AltOS counts time from its boost detection; rows before zero are its pad buffer
        i = int(np.searchsorted(t, 0.0)) if t[0] < 0.0 <= t[-1] else first[3]
        events.append(FlightEvent("liftoff", float(t[i]), float(altitude[i]), "log"))
        seen.add("liftoff")
    coast = [first[c] for c in (4, 5) if c in first]
    if coast:
        i = min(coast)
        events.append(FlightEvent("burnout", float(t[i]), float(altitude[i]), "log"))
    for code, names in ((6, ("apogee", "drogue")), (7, ("main",)), (8, ("landing",))):
        if code in first:
            i = first[code]
            for name in names:
                events.append(FlightEvent(name, float(t[i]), float(altitude[i]), "log"))
    return events
