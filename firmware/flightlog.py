"""The flight log: versioned, fixed-size, checksummed records, append-only, one file per flight.

    <root>/flights/NNNN.cwf   header (HEADER_LEN bytes) then RECORD_LEN-byte records
    <root>/flights/NNNN.sum   CRC-32 and SHA-256 of the flight's bytes (for FLIGHT_INFO)
    <root>/flights/index.bin  one INDEX_LEN-byte entry per closed (or recovered) flight

Every header, record and index entry ends with the CRC-32 of the bytes before
it. A power cut can tear only the end of a file: on boot, recovery keeps every
whole record whose CRC holds and ignores the torn tail (nothing is rewritten:
the valid length goes into the index), and a flight that was never closed is
added to the index marked TORN. Nothing is ever erased except by erase(),
which the app calls only for an explicit, confirmed FLIGHT_ERASE.

Appending a sample allocates nothing: one preallocated record buffer, packed in
place, CRC written in place, one write(). The whole-flight CRC-32 and SHA-256
run along as records are written, so FLIGHT_LIST never has to read a flight
back to answer (a recovered flight's digest is computed once, at boot).
"""

import hashlib
import os
import struct

from protocol.compat import const
from protocol.constants import ERASE_ALL, FLIGHT_COMPLETE, FLIGHT_CORRUPT, FLIGHT_TORN
from protocol.crc import Crc32, crc32_into, crc32_matches

FORMAT_VERSION = const(1)
MAGIC = b"CWFL"

# Header: magic 4s, version u8, record_len u8, ascent_hz u8, descent_hz u8,
# fw major/minor/patch u8 x3, reserved u8, board 12s, pad_pressure_pa u32,
# start_tick u32, flight u16, reserved u16, crc32 u32
HEADER_FMT = "<4sBBBBBBBB12sIIHH"
HEADER_LEN = const(40)

# Record: type u8, code u8 (flight state, or event), speed_dms i16, t_ms u32,
# pressure_pa u32, altitude_cm i32, accel_dms2 i16, reserved u16, crc32 u32
RECORD_FMT = "<BBhIIihH"
RECORD_LEN = const(24)
REC_SAMPLE = const(1)
REC_EVENT = const(2)

# Events (REC_EVENT code)
EV_LIFTOFF = const(1)
EV_BURNOUT = const(2)
EV_APOGEE = const(3)
EV_MAIN = const(4)
EV_LANDED = const(5)

# Index entry: flight u16, flags u8, reserved u8, size u32, apogee_cm i32, crc32 u32
INDEX_FMT = "<HBBIi"
INDEX_LEN = const(16)

# Digest file: crc32 of the flight u32, sha256 32s, crc32 of those 36 bytes u32
SUM_LEN = const(40)

DEFAULT_RESERVE_BYTES = const(4096)
SYNC_EVERY_RECORDS = const(100)  # a power cut loses at most this many records (1 s of ascent)
# Free space is reported up to 1 GiB - 1: a larger count would be a heap int on the board.
MAX_FREE_BYTES = const(0x3FFFFFFF)  # stop logging this far before the storage is full


def pack_record(buf, off, rec_type, code, t_ms, pressure_pa, altitude_cm, speed_dms, accel_dms2):
    """Pack one record, with its CRC, at buf[off:off+RECORD_LEN]. Allocates nothing."""
    struct.pack_into(RECORD_FMT, buf, off, rec_type, code, speed_dms, t_ms, pressure_pa,
                     altitude_cm, accel_dms2, 0)
    crc32_into(buf, off, off + RECORD_LEN - 4, buf, off + RECORD_LEN - 4)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _size(path):
    return os.stat(path)[6]


class FlightEntry:
    """One flight in the index."""

    def __init__(self, flight, flags, size, apogee_cm):
        self.flight = flight
        self.flags = flags
        self.size = size  # valid bytes: header plus whole, checked records
        self.apogee_cm = apogee_cm

    def __repr__(self):
        return "FlightEntry(flight=%d, flags=%d, size=%d, apogee_cm=%d)" % (
            self.flight, self.flags, self.size, self.apogee_cm)


class FlightLog:
    def __init__(self, root, capacity_bytes=0, reserve_bytes=DEFAULT_RESERVE_BYTES):
        self.dir = root.rstrip("/") + "/flights"
        for path in (root, self.dir):  # a fresh board has neither
            try:
                os.mkdir(path)
            except OSError:
                pass  # already there
        self.index_path = self.dir + "/index.bin"
        self.capacity_bytes = capacity_bytes  # 0: ask the filesystem
        self.reserve_bytes = reserve_bytes
        self.log_full = False
        self._rec = bytearray(RECORD_LEN)
        self._scratch = bytearray(4)
        self._file = None
        self._flight = -1
        self._written = 0
        self._unsynced = 0
        self._room = 0
        self._crc = Crc32()
        self._sha = None
        self._free = 0  # refreshed when a flight begins, closes or is erased
        self.entries = []
        self.recovered = []  # flights found unclosed (power cut) at this boot
        if self._load_index():
            self._write_index(self.entries)
        self._recover_unclosed()
        self._refresh_free()

    # --- paths and space --------------------------------------------------------------------------
    def path(self, flight):
        return "%s/%04d.cwf" % (self.dir, flight)

    def sum_path(self, flight):
        return "%s/%04d.sum" % (self.dir, flight)

    def _refresh_free(self):
        free = self._free_bytes() - self.reserve_bytes
        self._free = 0 if free < 0 else (free if free < MAX_FREE_BYTES else MAX_FREE_BYTES)

    @property
    def free_bytes(self):
        """Bytes left for flights above the reserve (at most MAX_FREE_BYTES); counted down in
        records while logging. Allocates nothing."""
        if self._file is not None:
            if self._room >= MAX_FREE_BYTES // RECORD_LEN:
                return MAX_FREE_BYTES
            return self._room * RECORD_LEN
        return self._free

    def _free_bytes(self):
        if self.capacity_bytes:
            return self.capacity_bytes - self._used_bytes()
        st = os.statvfs(self.dir)
        return st[0] * st[4]

    def _used_bytes(self):
        total = 0
        for name in os.listdir(self.dir):
            total += _size(self.dir + "/" + name)
        return total

    # --- index and recovery -------------------------------------------------------------------------
    def _load_index(self):
        """Read the index; True when it must be rewritten before anything is appended to it
        (a torn or damaged entry, or an erase that a power cut stopped half way)."""
        self.entries = []
        if not _exists(self.index_path):
            return False
        with open(self.index_path, "rb") as f:
            data = f.read()
        n = len(data) // INDEX_LEN
        # a torn last entry is ignored, and goes: an entry appended after it would be misaligned
        rewrite = n * INDEX_LEN != len(data)
        for i in range(n):
            off = i * INDEX_LEN
            if not crc32_matches(data, off, off + INDEX_LEN - 4, self._scratch):
                rewrite = True
                continue  # a damaged entry: the flight file itself is re-examined below
            flight, flags, _r, size, apogee = struct.unpack_from(INDEX_FMT, data, off)
            if not _exists(self.path(flight)):
                # erase() removed the file but the power went before the index was
                # rewritten: the erase is finished now, never left listed without its file
                try:
                    os.remove(self.sum_path(flight))
                except OSError:
                    pass
                rewrite = True
                continue
            self.entries.append(FlightEntry(flight, flags, size, apogee))
        return rewrite

    def _write_index(self, entries):
        """Replace the index whole: written under a new name, then renamed over the old."""
        tmp = self.index_path + ".new"
        with open(tmp, "wb") as f:
            for e in entries:
                f.write(self._pack_index(e))
        os.rename(tmp, self.index_path)

    @staticmethod
    def _pack_index(entry):
        buf = bytearray(INDEX_LEN)
        struct.pack_into(INDEX_FMT, buf, 0, entry.flight, entry.flags, 0, entry.size, entry.apogee_cm)
        crc32_into(buf, 0, INDEX_LEN - 4, buf, INDEX_LEN - 4)
        return buf

    def _append_index(self, entry):
        with open(self.index_path, "ab") as f:
            f.write(self._pack_index(entry))
        self.entries.append(entry)

    def _recover_unclosed(self):
        known = [e.flight for e in self.entries]
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".cwf"):
                continue
            flight = int(name[:4])
            if flight in known:
                continue
            size, flags, apogee = self.scan(flight)
            self._append_index(FlightEntry(flight, flags | FLIGHT_TORN, size, apogee))
            self.recovered.append(flight)

    def scan(self, flight):
        """(valid size, flags, highest altitude_cm) of a flight file, checking every CRC."""
        path = self.path(flight)
        total = _size(path)
        flags = 0
        apogee = 0
        with open(path, "rb") as f:
            head = f.read(HEADER_LEN)
            if len(head) < HEADER_LEN or not crc32_matches(head, 0, HEADER_LEN - 4, self._scratch):
                return 0, FLIGHT_CORRUPT, 0
            valid = HEADER_LEN
            whole = (total - HEADER_LEN) // RECORD_LEN
            rec = bytearray(RECORD_LEN)
            for i in range(whole):
                n = f.readinto(rec)
                if n != RECORD_LEN:
                    break
                if not crc32_matches(rec, 0, RECORD_LEN - 4, self._scratch):
                    if i == whole - 1:
                        break  # a torn last record: dropped, everything before kept
                    flags |= FLIGHT_CORRUPT  # damage inside: reported, the rest kept
                    valid += RECORD_LEN
                    continue
                alt = struct.unpack_from("<i", rec, 12)[0]
                if alt > apogee:
                    apogee = alt
                valid += RECORD_LEN
        return valid, flags, apogee

    def flights(self):
        return list(self.entries)

    def next_flight_number(self):
        n = 0
        for e in self.entries:
            if e.flight >= n:
                n = e.flight + 1
        return n

    # --- writing a flight -----------------------------------------------------------------------
    def begin(self, pad_pressure_pa, start_tick, board=b"", fw=(0, 0, 0), ascent_hz=100, descent_hz=10):
        """Open a new flight file and write its header; returns its number, or -1 when full."""
        if self._free_bytes() < self.reserve_bytes + HEADER_LEN:
            self.log_full = True
            return -1
        flight = self.next_flight_number()
        head = bytearray(HEADER_LEN)
        struct.pack_into(HEADER_FMT, head, 0, MAGIC, FORMAT_VERSION, RECORD_LEN, ascent_hz,
                         descent_hz, fw[0], fw[1], fw[2], 0, board[:12], pad_pressure_pa,
                         start_tick, flight, 0)
        crc32_into(head, 0, HEADER_LEN - 4, head, HEADER_LEN - 4)
        self._file = open(self.path(flight), "wb")
        self._file.write(head)
        self._file.flush()
        self._crc.reset()
        self._crc.update(head, 0, HEADER_LEN)
        self._sha = hashlib.sha256()
        self._sha.update(head)
        self._flight = flight
        self._written = HEADER_LEN
        self._unsynced = 0
        # how many more records fit, counted once here rather than per sample
        self._refresh_free()
        self._room = self._free // RECORD_LEN
        return flight

    @property
    def logging(self):
        return self._file is not None

    def append(self, rec_type, code, t_ms, pressure_pa, altitude_cm, speed_dms, accel_dms2):
        """Append one record; False (and log_full) when storage is full. Allocates nothing."""
        if self._file is None:
            return False
        if self._room <= 0:
            self.log_full = True
            return False
        pack_record(self._rec, 0, rec_type, code, t_ms, pressure_pa, altitude_cm, speed_dms,
                    accel_dms2)
        return self._write_rec()

    def append_packed(self, src, off):
        """Append a record already packed (with its CRC) at src[off:off+RECORD_LEN]."""
        if self._file is None:
            return False
        if self._room <= 0:
            self.log_full = True
            return False
        rec = self._rec
        for i in range(RECORD_LEN):
            rec[i] = src[off + i]
        return self._write_rec()

    def _write_rec(self):
        rec = self._rec
        self._file.write(rec)
        self._crc.update(rec, 0, RECORD_LEN)
        self._sha.update(rec)
        self._written += RECORD_LEN
        self._room -= 1
        self._unsynced += 1
        if self._unsynced >= SYNC_EVERY_RECORDS:
            self._file.flush()  # littlefs and FAT commit a file's new bytes only here
            self._unsynced = 0
        return True

    def flush(self):
        if self._file is not None:
            self._file.flush()

    def close(self, apogee_cm):
        """Close the flight and add it to the index as COMPLETE."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        self._write_sum(self._flight, self._crc, self._sha.digest())
        self._sha = None
        self._append_index(FlightEntry(self._flight, FLIGHT_COMPLETE, self._written, apogee_cm))
        self._flight = -1
        self._refresh_free()

    # --- digests ----------------------------------------------------------------------------------
    def _write_sum(self, flight, crc, sha):
        buf = bytearray(SUM_LEN)
        crc.into(buf, 0)
        buf[4:36] = sha
        crc32_into(buf, 0, 36, buf, 36)
        with open(self.sum_path(flight), "wb") as f:
            f.write(buf)

    def digest(self, flight):
        """(crc32 as 4 little-endian bytes, sha256) of a flight's bytes 0 .. size-1.

        Read from the flight's .sum file; computed from the flight file (and the
        .sum written) when it is missing or damaged, as after a power cut."""
        e = self.entry(flight)
        if e is None:
            return None
        try:
            with open(self.sum_path(flight), "rb") as f:
                buf = f.read(SUM_LEN)
            if len(buf) == SUM_LEN and crc32_matches(buf, 0, 36, self._scratch):
                return bytes(buf[0:4]), bytes(buf[4:36])
        except OSError:
            pass
        crc = Crc32()
        sha = hashlib.sha256()
        chunk = bytearray(256)
        left = e.size
        with open(self.path(flight), "rb") as f:
            while left > 0:
                n = f.readinto(chunk)
                if not n:
                    break
                if n > left:
                    n = left
                crc.update(chunk, 0, n)
                sha.update(chunk if n == len(chunk) else bytes(chunk[:n]))
                left -= n
        sha_bytes = sha.digest()  # once: MicroPython's hash objects finish at digest()
        self._write_sum(flight, crc, sha_bytes)
        out = bytearray(4)
        crc.into(out, 0)
        return bytes(out), sha_bytes

    # --- reading and erasing ------------------------------------------------------------------------
    def entry(self, flight):
        for e in self.entries:
            if e.flight == flight:
                return e
        return None

    def read_into(self, flight, offset, buf, n):
        """Read up to n bytes of a flight at offset into buf; returns the count (0 past the end)."""
        e = self.entry(flight)
        if e is None or offset >= e.size:
            return 0
        if n > e.size - offset:
            n = e.size - offset
        with open(self.path(flight), "rb") as f:
            f.seek(offset)
            data = f.read(n)
        for i in range(len(data)):
            buf[i] = data[i]
        return len(data)

    def erase(self, flight):
        """Remove one flight (or ERASE_ALL). Only for a confirmed FLIGHT_ERASE. False if unknown."""
        if self._file is not None:
            return False  # never while logging
        keep = []
        found = False
        for e in self.entries:
            if flight == ERASE_ALL or e.flight == flight:
                found = True
                for path in (self.path(e.flight), self.sum_path(e.flight)):
                    try:
                        os.remove(path)
                    except OSError:
                        pass
            else:
                keep.append(e)
        if not found:
            return False
        self._write_index(keep)  # a power cut before this: the next boot finishes the erase
        self.entries = keep
        self.log_full = False
        self._refresh_free()
        return True
