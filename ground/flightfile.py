"""Reading a downloaded flight log (.cwf), the format firmware/flightlog.py writes.

    header (HEADER_LEN bytes, CRC-checked), then RECORD_LEN-byte records, each ending
    with the CRC-32 of the bytes before it

`parse(data)` / `load(path)` check every record's CRC. A damaged record is reported
(`bad_records`: its byte offset in the file and why) and left out; every valid record
before and after it is kept. Bytes that are not a flight log at all, or too short to
hold a header, raise `NotAFlightLog` / `TruncatedFlightLog`.

The layout comes from the firmware's own constants (imported, never copied), so the
reader and the board cannot drift apart.

Records come out as numpy arrays in SI units (`samples`), times in seconds from liftoff
detection (the header's start tick; device ticks wrap at 2**30 ms), and the flight
events in order (`events`).
"""

import binascii
import os
import stat
import struct
from collections import namedtuple

import numpy as np

from firmware.flightlog import (
    EV_APOGEE,
    EV_BURNOUT,
    EV_LANDED,
    EV_LIFTOFF,
    EV_MAIN,
    FORMAT_VERSION,
    HEADER_FMT,
    HEADER_LEN,
    MAGIC,
    REC_EVENT,
    REC_SAMPLE,
    RECORD_FMT,
    RECORD_LEN,
)
from protocol import constants as C
from protocol.ticks import TICKS_MAX, TICKS_PERIOD

MAX_FILE_BYTES = 1 << 30  # far beyond any flight a board's flash holds

EVENT_NAMES = {EV_LIFTOFF: "liftoff", EV_BURNOUT: "burnout", EV_APOGEE: "apogee",
               EV_MAIN: "main", EV_LANDED: "landed"}

# Field names for RECORD_FMT, in its order; the reserved field is not kept.
_RECORD_FIELDS = ("type", "code", "speed_dms", "t_ms", "pressure_pa", "altitude_cm",
                  "accel_dms2", "reserved")
_NUMPY_OF_STRUCT = {"B": "u1", "b": "i1", "H": "<u2", "h": "<i2", "I": "<u4", "i": "<i4"}


def _record_dtype():
    """A numpy dtype for one record, built from the firmware's struct format."""
    codes = RECORD_FMT.lstrip("<")
    if len(codes) != len(_RECORD_FIELDS):
        raise ImportError("firmware/flightlog.py's RECORD_FMT changed: update _RECORD_FIELDS")
    fields = [(name, _NUMPY_OF_STRUCT[c]) for name, c in zip(_RECORD_FIELDS, codes, strict=True)]
    fields.append(("crc32", "<u4"))
    dtype = np.dtype(fields)
    if dtype.itemsize != RECORD_LEN or struct.calcsize(RECORD_FMT) + 4 != RECORD_LEN:
        raise ImportError("firmware/flightlog.py's record layout is not RECORD_LEN bytes")
    return dtype


RECORD_DTYPE = _record_dtype()


class FlightFileError(ValueError):
    """The bytes cannot be read as a flight log."""


class NotAFlightLog(FlightFileError):
    pass


class TruncatedFlightLog(FlightFileError):
    pass


Header = namedtuple("Header", "version record_len ascent_hz descent_hz firmware board "
                              "pad_pressure_pa start_tick flight crc_ok")
BadRecord = namedtuple("BadRecord", "offset index reason")
Event = namedtuple("Event", "name code t_s altitude_m pressure_pa offset")


class FlightFile:
    """A parsed flight log. See the module docstring; build with parse() or load()."""

    def __init__(self, header, records, offsets, bad_records, tail_bytes, size_bytes):
        self.header = header
        self.records = records  # structured array (RECORD_DTYPE) of every valid record
        self.offsets = offsets  # byte offset of each valid record in the file
        self.bad_records = bad_records  # [BadRecord] in file order
        self.tail_bytes = tail_bytes  # bytes after the last whole record (a torn write)
        self.size_bytes = size_bytes
        t0 = header.start_tick if header.crc_ok or not len(records) else int(records["t_ms"][0])
        self.t0_tick = t0
        samples = records[records["type"] == REC_SAMPLE]
        self.samples = {
            "t_s": self._seconds(samples["t_ms"]),
            "altitude_m": samples["altitude_cm"] / 100.0,
            "speed_ms": samples["speed_dms"] / 10.0,
            "accel_ms2": samples["accel_dms2"] / 10.0,
            "pressure_pa": samples["pressure_pa"].astype(np.float64),
            "state": samples["code"].copy(),
        }
        self.events = []
        is_event = records["type"] == REC_EVENT
        for rec, off in zip(records[is_event], offsets[is_event], strict=True):
            code = int(rec["code"])
            self.events.append(Event(EVENT_NAMES.get(code, "event %d" % code), code,
                                     float(self._seconds(np.array([rec["t_ms"]]))[0]),
                                     int(rec["altitude_cm"]) / 100.0, int(rec["pressure_pa"]),
                                     int(off)))
        self.unknown_records = int(np.count_nonzero(~(is_event | (records["type"] == REC_SAMPLE))))

    def _seconds(self, ticks):
        """Device ticks -> seconds from t0, correct across the 2**30 ms wrap."""
        half = TICKS_PERIOD // 2
        d = ((ticks.astype(np.int64) - self.t0_tick + half) & TICKS_MAX) - half
        return d / 1000.0

    @property
    def apogee_m(self):
        """The apogee event's altitude; the highest sample when that record is missing."""
        for ev in self.events:
            if ev.code == EV_APOGEE:
                return ev.altitude_m
        alt = self.samples["altitude_m"]
        return float(alt.max()) if len(alt) else None

    def event(self, name):
        for ev in self.events:
            if ev.name == name:
                return ev
        return None

    @property
    def ok(self):
        return self.header.crc_ok and not self.bad_records and not self.tail_bytes

    def problems(self):
        """One line per thing wrong with the file ([] for a clean one)."""
        out = []
        if not self.header.crc_ok:
            out.append("the header fails its checksum (its fields may be wrong)")
        for bad in self.bad_records:
            out.append("record %d at byte %d fails its %s check: left out"
                       % (bad.index, bad.offset, bad.reason))
        if self.tail_bytes:
            out.append("%d bytes after the last whole record (a torn write): left out"
                       % self.tail_bytes)
        return out

    def summary(self):
        """One line: the flight, its apogee and its events with times from liftoff."""
        h = self.header
        parts = ["flight %d" % h.flight, "%d records" % len(self.records)]
        apogee = self.apogee_m
        ev = self.event("apogee")
        if apogee is not None:
            parts.append("apogee %.1f m" % apogee + (" at T+%.2f s" % ev.t_s if ev else ""))
        if self.events:
            parts.append("events: " + ", ".join("%s T%+.2f s" % (e.name, e.t_s) for e in self.events))
        if self.bad_records:
            parts.append("%d damaged record%s (at byte %s) left out" % (
                len(self.bad_records), "" if len(self.bad_records) == 1 else "s",
                ", ".join(str(b.offset) for b in self.bad_records[:5])
                + (", ..." if len(self.bad_records) > 5 else "")))
        return "; ".join(parts)


def parse_header(data):
    if not MAGIC.startswith(bytes(data[:len(MAGIC)])):
        raise NotAFlightLog("not a Coalwood flight log (it does not start with %s)"
                            % MAGIC.decode("ascii"))
    if len(data) < HEADER_LEN:
        raise TruncatedFlightLog("a flight log header is %d bytes; this has only %d"
                                 % (HEADER_LEN, len(data)))
    (_magic, version, record_len, ascent_hz, descent_hz, fw_major, fw_minor, fw_patch, _r,
     board, pad_pa, start_tick, flight, _r2) = struct.unpack_from(HEADER_FMT, data, 0)
    crc_ok = binascii.crc32(bytes(data[:HEADER_LEN - 4])) == struct.unpack_from(
        "<I", data, HEADER_LEN - 4)[0]
    if crc_ok and (version != FORMAT_VERSION or record_len != RECORD_LEN):
        raise NotAFlightLog("flight log format %d with %d-byte records: this reader knows "
                            "format %d with %d-byte records" % (version, record_len,
                                                                FORMAT_VERSION, RECORD_LEN))
    return Header(version, record_len, ascent_hz, descent_hz, (fw_major, fw_minor, fw_patch),
                  board.rstrip(b"\0").decode("ascii", "replace"), pad_pa, start_tick, flight,
                  crc_ok)


def parse(data):
    """A FlightFile from the bytes of a .cwf."""
    data = bytes(data)
    header = parse_header(data)
    whole = (len(data) - HEADER_LEN) // RECORD_LEN
    tail = len(data) - HEADER_LEN - whole * RECORD_LEN
    raw = np.frombuffer(data, dtype=RECORD_DTYPE, count=whole, offset=HEADER_LEN)
    good = np.ones(whole, dtype=bool)
    bad = []
    crc32 = binascii.crc32
    stored = raw["crc32"].tolist()
    for i in range(whole):
        off = HEADER_LEN + i * RECORD_LEN
        if crc32(data[off:off + RECORD_LEN - 4]) != stored[i]:
            good[i] = False
            bad.append(BadRecord(off, i, "crc"))
    offsets = HEADER_LEN + np.arange(whole, dtype=np.int64) * RECORD_LEN
    return FlightFile(header, raw[good].copy(), offsets[good], bad, tail, len(data))


def load(path):
    """A FlightFile from the file at `path`: FlightFileError for what is not a regular file
    or is far larger than any flight (a device such as /dev/zero is never read to the
    end); OSError as open() raises it."""
    mode = os.stat(path).st_mode  # before opening: opening a FIFO waits for a writer
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a folder: open() says so
        raise NotAFlightLog("%s is not a file (a device, a pipe or a socket)" % path)
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise NotAFlightLog("%s is over %d bytes: larger than any flight log"
                            % (path, MAX_FILE_BYTES))
    return parse(data)


def flags_text(flags):
    """FLIGHT_INFO flags as words: COMPLETE, TORN, CORRUPT (or '-')."""
    names = [name for bit, name in ((C.FLIGHT_COMPLETE, "COMPLETE"), (C.FLIGHT_TORN, "TORN"),
                                    (C.FLIGHT_CORRUPT, "CORRUPT")) if flags & bit]
    return "+".join(names) if names else "-"
