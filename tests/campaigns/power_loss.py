"""Power loss of the flight log: cut the power at every byte and every operation of
logging and erasing, then boot: every complete record is back, nothing is invented,
other flights are untouched and the log takes a new flight.

The real firmware FlightLog (driven by the real Recorder for a flight: begin, the
~2 s pre-launch ring flushed at liftoff, the write-behind appends, close with its
digest file and index entry) runs against a real temporary folder while a
recording layer, put in place of `open` and `os` as the flightlog module sees them,
journals every filesystem effect in order: file creations and truncations, each
write's bytes at its offset, flushes and closes, renames, removes, new folders.

Then for every cut point, a prefix of the journal with the last write cut after k
of its bytes, the folder is rebuilt as the power cut left it, FlightLog(root)
boots on it (its recovery) and the campaign checks:

- the flight being logged is listed with exactly its complete records (header plus
  every 24-byte record all of whose bytes were written), which read back byte for
  byte as the scenario wrote them, and nothing more (a torn record is dropped);
- every flight that was there before is listed, COMPLETE, with its bytes unchanged;
- a flight being erased is either whole or gone (never listed with its file gone);
- every listed flight's digest (CRC-32, SHA-256) matches its bytes;
- the log takes a new flight (begin, append, close, read back, listed COMPLETE), and
  a second boot changes nothing (no flight recovered again, no flags changed).

Two models of what a power cut leaves:

- bytes (the campaign's subject): every write reaches the medium in order and the
  cut may fall after any byte of any write; renames and removes are atomic. This is
  the worst case for recovery (torn headers, records, digests and index entries).
- sync: a file keeps only what was written up to its last flush or close, as on
  littlefs and FAT, where unsynced data and the file's new size are not committed;
  cut at every operation. Every flushed record must survive (must be zero); how
  many records appended but not yet flushed a cut could lose is reported, not
  judged (sync_unflushed_records_at_risk_max): it is the firmware's flush policy.

The power can go again while the board recovers: for some cuts the boot's own
writes (index entries, the index rewritten, digests) are journaled and cut at every
byte too, and the boot after that must still find everything the first cut left
(recovery_cut_points).

Scenarios: logging a flight with two earlier flights present; erasing one flight
(a list first computes missing digests); erasing all; erasing the last flight and
logging the next one (its number is reused). Short: every operation boundary, every
byte of the writes that are not flight records (headers, digests, index entries), a
seeded sample of byte offsets inside records, and 2% of the cuts with their recovery
cut; long: every byte of every write, and the recovery of every boundary cut.
"""

import binascii
import contextlib
import hashlib
import os
import random
import shutil
import struct
import sys
import tempfile
import time

try:
    from campaigns import common
except ImportError:  # run as a script: only tests/campaigns/ is on the path
    import common
common.bootstrap()

from firmware import FIRMWARE_VERSION, flightlog  # noqa: E402
from firmware.flightlog import (  # noqa: E402
    HEADER_LEN,
    REC_SAMPLE,
    RECORD_LEN,
    FlightLog,
)
from firmware.recorder import SAMPLE_MS, Recorder  # noqa: E402
from protocol import constants as C  # noqa: E402

PAD_PA = 101325
G_MS2 = 9.80665
BOARD = b"sim-2ch"
SHORT_PARTIAL_CUTS = 250  # byte offsets inside writes sampled per scenario (short version)
SHORT_RECOVERY_CUT_SHARE = 0.02  # cuts whose recovery is itself cut (long: every boundary)
SHORT_BURN_S = 0.45  # the short version's flight: ~1000 records (every boundary is cut)
LONG_BURN_S = 0.9


# --- the recording layer ------------------------------------------------------------------------
class Journal:
    """Every filesystem effect of the flightlog module under `root`, in order.

    `files` and `dirs` model the folder with every operation applied (relative paths);
    at the end they must equal the real folder, which proves nothing escaped the journal.
    Operations:
        ("mkdir", rel)                  a new folder
        ("create", rel, handle)         open "wb": a new or truncated file
        ("write", rel, off, data, h)    data written at offset off
        ("flush", rel, handle) / ("close", rel, handle)
        ("remove", rel) / ("rename", src, dst)
    """

    def __init__(self, root, files, dirs):
        self.root = root.rstrip("/")
        self.files = {k: bytearray(v) for k, v in files.items()}
        self.dirs = set(dirs)
        self.initial_files = {k: bytes(v) for k, v in files.items()}
        self.initial_dirs = set(dirs)
        self.ops = []
        self.marks = {}  # phase name -> (first op, op after the last)
        self._handles = 0

    def rel(self, path):
        path = path.rstrip("/")
        if path == self.root:
            return ""
        if not path.startswith(self.root + "/"):
            raise AssertionError("flightlog touched %r outside its root %r" % (path, self.root))
        return path[len(self.root) + 1 :]

    def record(self, op):
        self.ops.append(op)
        apply_op(self.files, self.dirs, op)

    @contextlib.contextmanager
    def phase(self, name):
        start = len(self.ops)
        yield
        self.marks[name] = (start, len(self.ops))

    def open(self, path, mode="r"):
        real = open(path, mode)  # noqa: SIM115 - the proxy's caller closes it
        rel = self.rel(path)
        if "r" in mode and "+" not in mode:
            return real
        self._handles += 1
        handle = self._handles
        if "w" in mode:
            self.record(("create", rel, handle))
            pos = 0
        else:  # "a": created if missing, written at the end
            if rel not in self.files:
                self.record(("create", rel, handle))
            pos = None
        return RecordingFile(self, rel, real, pos, handle)


class RecordingFile:
    """A real file opened for writing whose writes, flushes and close are journaled."""

    def __init__(self, journal, rel, real, pos, handle):
        self._journal = journal
        self._rel = rel
        self._f = real
        self._pos = pos  # None: append mode, every write at the end
        self._handle = handle

    def write(self, data):
        data = bytes(data)
        n = self._f.write(data)
        off = len(self._journal.files[self._rel]) if self._pos is None else self._pos
        self._journal.record(("write", self._rel, off, data[:n], self._handle))
        if self._pos is not None:
            self._pos += n
        return n

    def flush(self):
        self._f.flush()
        self._journal.record(("flush", self._rel, self._handle))

    def close(self):
        if not self._f.closed:
            self._f.close()
            self._journal.record(("close", self._rel, self._handle))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getattr__(self, name):
        return getattr(self._f, name)


class RecordingOs:
    """`os` as the flightlog module sees it: folder and file changes journaled."""

    def __init__(self, journal):
        self._journal = journal

    def mkdir(self, path):
        os.mkdir(path)
        self._journal.record(("mkdir", self._journal.rel(path)))

    def remove(self, path):
        os.remove(path)
        self._journal.record(("remove", self._journal.rel(path)))

    def rename(self, src, dst):
        os.rename(src, dst)
        self._journal.record(("rename", self._journal.rel(src), self._journal.rel(dst)))

    def __getattr__(self, name):
        return getattr(os, name)  # stat, listdir, statvfs: reads


@contextlib.contextmanager
def recording(journal):
    """Put the journal between the flightlog module and the filesystem."""
    saved_os = flightlog.os
    flightlog.open = journal.open
    flightlog.os = RecordingOs(journal)
    try:
        yield journal
    finally:
        del flightlog.open  # the builtin again
        flightlog.os = saved_os


def apply_op(files, dirs, op, nbytes=None):
    """Apply one journaled operation to a folder model (the first nbytes of a write)."""
    kind = op[0]
    if kind == "mkdir":
        dirs.add(op[1])
    elif kind == "create":
        files[op[1]] = bytearray()
    elif kind == "write":
        _k, rel, off, data, _h = op
        if nbytes is not None:
            data = data[:nbytes]
        buf = files[rel]
        if len(buf) < off:
            buf.extend(bytes(off - len(buf)))
        buf[off : off + len(data)] = data
    elif kind == "remove":
        del files[op[1]]
    elif kind == "rename":
        files[op[2]] = files.pop(op[1])
    # flush and close change nothing the medium holds in the byte model


class SyncModel:
    """The sync model of a folder: a file holds what was written up to its last flush or
    close; a new file exists (empty) from its creation; removes and renames are atomic."""

    def __init__(self, files, dirs):
        self.written = {k: bytearray(v) for k, v in files.items()}
        self.durable = {k: bytes(v) for k, v in files.items()}
        self.dirs = set(dirs)

    def apply(self, op):
        kind = op[0]
        if kind == "create" and op[1] not in self.durable:
            self.durable[op[1]] = b""
        elif kind in ("flush", "close"):
            self.durable[op[1]] = bytes(self.written[op[1]])
        elif kind == "remove":
            self.durable.pop(op[1], None)
        elif kind == "rename":
            self.durable[op[2]] = self.durable.pop(op[1])
        apply_op(self.written, self.dirs, op)


def read_folder(root):
    """(files, dirs) of a real folder, relative paths."""
    files, dirs = {}, set()
    for here, _subdirs, names in os.walk(root):
        rel = os.path.relpath(here, root)
        if rel != ".":
            dirs.add(rel)
        for name in names:
            path = os.path.join(here, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, root)] = f.read()
    return files, dirs


def build_folder(root, files, dirs):
    """Make `root` hold exactly these files and folders (reusing the folders: removing
    and making folders costs far more than the files)."""
    here_files, here_dirs = _listing(root)
    for rel in sorted(here_dirs - set(dirs), key=len, reverse=True):
        shutil.rmtree(os.path.join(root, rel), ignore_errors=True)
    for rel in here_files - set(files):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(root, rel))
    os.makedirs(root, exist_ok=True)
    for rel in sorted(dirs, key=len):
        os.makedirs(os.path.join(root, rel), exist_ok=True)
    for rel, data in files.items():
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)


def _listing(root):
    files, dirs = set(), set()
    for here, _subdirs, names in os.walk(root):
        rel = os.path.relpath(here, root)
        if rel != ".":
            dirs.add(rel)
        files.update(os.path.relpath(os.path.join(here, name), root) for name in names)
    return files, dirs


# --- flights ------------------------------------------------------------------------------------
def write_direct_flight(log, n_records, seed, close=True):
    """A small flight written straight through FlightLog (an earlier flight on the board)."""
    rng = random.Random(seed)
    log.begin(PAD_PA, 1000 * seed, BOARD, FIRMWARE_VERSION)
    top = 0
    for i in range(n_records):
        alt = rng.randrange(0, 50000)
        top = max(top, alt)
        log.append(REC_SAMPLE, C.FLIGHT_BOOST, i * 10, PAD_PA - alt // 10, alt, 0, 0)
    if close:
        log.close(top)
    else:  # the power went while it was being logged: recovered TORN at the next boot
        log._file.write(b"\x5a" * (RECORD_LEN // 2))
        log._file.close()
        log._file = None


def heights_m(burn_s, seed):
    """Height above the pad every SAMPLE_MS: 4 s on the pad, a burn, coast, drogue, main,
    then still on the ground until the recorder calls it landed."""
    rng = random.Random(seed)
    dt = SAMPLE_MS / 1000
    out = [0.0] * int(4.0 / dt)
    h = v = t = 0.0
    descending = False
    while True:
        if not descending:
            a = (120.0 if t < burn_s else 0.0) - G_MS2 - 0.002 * v * abs(v)
            v += a * dt
            h = max(0.0, h + v * dt)
            descending = t > burn_s and v < 0
        else:
            h = max(0.0, h - (30.0 if h > 120.0 else 12.0) * dt)
        t += dt
        out.append(h + rng.gauss(0.0, 0.05))
        if descending and h == 0.0:
            break
    return out + [0.0] * int(14.0 / dt)


def pressure_pa(h_m):
    return round(PAD_PA * (1.0 - h_m / 44330.77) ** (1.0 / 0.190266))


def fly(log, burn_s, seed):
    """Fly one flight through the real Recorder into `log`, with the app's loop timing:
    a sample every SAMPLE_MS, a drain every millisecond. Returns the records the recorder
    handed to the log, packed, in order."""
    handed = []
    write = log.append_packed

    def append_packed(src, off):
        handed.append(bytes(src[off : off + RECORD_LEN]))
        return write(src, off)

    log.append_packed = append_packed
    rec = Recorder(log, BOARD, FIRMWARE_VERSION)
    t_ms = 10_000
    flown = False
    try:
        for h in heights_m(burn_s, seed):
            rec.sample(t_ms, pressure_pa(h))
            for _ in range(SAMPLE_MS):
                rec.drain()
                t_ms += 1
            flown = flown or rec.flying
            if flown and not rec.flying:
                break
    finally:
        del log.append_packed
    if not flown or rec.flying or rec.lost_records or rec.log_full:
        raise AssertionError("the campaign's flight did not fly, land and close cleanly")
    return handed


# --- scenarios ----------------------------------------------------------------------------------
class Scenario:
    """One recorded run: its journal, the flights before it and what it erased."""

    def __init__(self, name, journal, base, erasing, handed):
        self.name = name
        self.journal = journal
        self.base = base  # flight -> (flags, bytes) of every flight listed before it began
        self.erasing = erasing  # flights the scenario erases
        self.handed = handed  # records given to the log while flying (for the sanity check)
        self.incarnations = _incarnations(journal)


def _incarnations(journal):
    """Every .cwf file the journal creates: [(rel, flight, create op, remove op or None,
    final bytes)], so a cut can tell which flight a file on the medium belongs to."""
    files = {k: bytearray(v) for k, v in journal.initial_files.items()}
    dirs = set(journal.initial_dirs)
    out = []
    live = {}
    for i, op in enumerate(journal.ops):
        if op[0] in ("remove", "create") and op[1] in live:
            rec = live.pop(op[1])
            rec[3], rec[4] = i, bytes(files[op[1]])
        apply_op(files, dirs, op)
        if op[0] == "create" and op[1].endswith(".cwf"):
            rec = [op[1], int(op[1][-8:-4]), i, None, None]
            live[op[1]] = rec
            out.append(rec)
    for rel, rec in live.items():
        rec[4] = bytes(files[rel])
    return out


def _booted_flights(root):
    log = FlightLog(root)
    base = {}
    for e in log.flights():
        buf = bytearray(e.size)
        log.read_into(e.flight, 0, buf, e.size)
        base[e.flight] = (e.flags, bytes(buf))
    return base


def _record(name, root, scenario_fn):
    """Boot the board folder as it is, then run scenario_fn(log) under the journal."""
    base = _booted_flights(root)
    files, dirs = read_folder(root)
    journal = Journal(root, files, dirs)
    with recording(journal):
        with journal.phase("boot"):
            log = FlightLog(root)
        erasing, handed = scenario_fn(log, journal)
    if journal.files != {k: bytes(v) for k, v in read_folder(root)[0].items()}:
        raise AssertionError("%s: the journal does not match the folder" % name)
    return Scenario(name, journal, base, erasing, handed)


def _setup_board(root, with_torn):
    log = FlightLog(root)
    write_direct_flight(log, 40, seed=1)
    if with_torn:
        write_direct_flight(log, 25, seed=2, close=False)
        log = FlightLog(root)  # recovered TORN: no digest file yet
    write_direct_flight(log, 30, seed=3)


def record_scenarios(work, burn_s, seed):
    """The four scenarios, each recorded in its own board folder."""
    out = []

    def log_flight(log, journal):
        with journal.phase("log"):
            handed = fly(log, burn_s, seed)
        return set(), handed

    root = os.path.join(work, "log")
    log = FlightLog(root)
    write_direct_flight(log, 40, seed=1)
    write_direct_flight(log, 30, seed=3)
    out.append(_record("log", root, log_flight))

    def erase(which):
        def run(log, journal):
            with journal.phase("list"):
                for e in log.flights():
                    log.digest(e.flight)  # FLIGHT_LIST computes a recovered flight's digest
            with journal.phase("erase"):
                if not log.erase(which):
                    raise AssertionError("erase(%d) refused" % which)
            erasing = set(_flight_numbers(journal)) if which == C.ERASE_ALL else {which}
            return erasing, []

        return run

    for name, which in (("erase_one", 1), ("erase_all", C.ERASE_ALL)):
        root = os.path.join(work, name)
        _setup_board(root, with_torn=True)
        out.append(_record(name, root, erase(which)))

    def erase_then_log(log, journal):
        last = log.flights()[-1].flight
        with journal.phase("erase"):
            log.erase(last)
        with journal.phase("log"):
            handed = fly(log, burn_s, seed + 1)
        return {last}, handed

    root = os.path.join(work, "erase_then_log")
    _setup_board(root, with_torn=False)
    out.append(_record("erase_then_log", root, erase_then_log))
    return out


def _flight_numbers(journal):
    return sorted(int(rel[-8:-4]) for rel in journal.initial_files if rel.endswith(".cwf"))


# --- checking one cut ---------------------------------------------------------------------------
class Counts(dict):
    def add(self, name, n=1):
        self[name] = self.get(name, 0) + n


def _read_flight(log, e):
    """A listed flight's bytes as the device serves them: its first e.size bytes (read
    straight from the file: FlightLog.read_into copies byte by byte, too slow for
    thousands of cuts), checked against read_into at its end, where a tear would be."""
    with open(log.path(e.flight), "rb") as f:
        data = f.read(e.size)
    tail = min(e.size, 2 * RECORD_LEN)
    buf = bytearray(tail)
    n = log.read_into(e.flight, e.size - tail, buf, tail)
    if len(data) != e.size or bytes(buf[:n]) != data[e.size - tail :]:
        raise OSError("the flight does not read back as listed")
    return data


def _whole_records(length):
    return -1 if length < HEADER_LEN else (length - HEADER_LEN) // RECORD_LEN


def check_cut(sc, root, files, op_index, counts, prefix=""):
    """Boot on the folder a cut left (`files` on the medium; ops before op_index applied,
    op_index perhaps in part) and count what is wrong. Returns True when nothing is."""
    bad = Counts()
    try:
        log = FlightLog(root)
        entries = log.flights()
    except Exception:
        counts.add(prefix + "recovery_crashes")
        return False
    listed = {}
    for e in entries:
        if e.flight in listed:
            bad.add("invented_records", max(1, _whole_records(e.size)))  # listed twice
        listed[e.flight] = e
    live = {}  # flight -> incarnation on the medium, made by the journal before the cut
    for rel, flight, start, _end, final in sc.incarnations:
        if start < op_index and rel in files:
            live[flight] = (rel, final)
    seen = set()
    for rel in files:
        if not rel.endswith(".cwf"):
            continue
        flight = int(rel[-8:-4])
        seen.add(flight)
        e = listed.get(flight)
        if flight in live:
            _check_new_flight(log, e, files[rel], live[flight][1], bad)
        else:
            _check_earlier_flight(sc, log, flight, e, bad)
    for flight, e in listed.items():
        if flight in seen:
            continue
        if flight in sc.base and flight in sc.erasing:
            bad.add("erase_half_done")  # listed, its file gone
        else:
            bad.add("invented_records", max(1, _whole_records(e.size)))
    for flight in sc.base:
        if flight not in seen and flight not in sc.erasing:
            bad.add("other_flights_damaged")
    for e in entries:
        try:
            data = _read_flight(log, e)
            got = log.digest(e.flight)
        except OSError:
            continue  # counted above: listed without its file
        want = (struct.pack("<I", binascii.crc32(data)), hashlib.sha256(data).digest())
        if got != want:
            bad.add("digest_mismatches")
    if not bad:
        _check_appendable(root, log, bad)
    for name, n in bad.items():
        counts.add(prefix + name, n)
    return not bad


def _check_new_flight(log, e, on_medium, final, bad):
    """The flight the scenario was logging when the power went."""
    if final[: len(on_medium)] != on_medium:
        raise AssertionError("model error: a flight file is not a prefix of what was written")
    whole = _whole_records(len(on_medium))
    if whole < 0:  # not even its header: it may be listed empty (CORRUPT) or not at all
        if e is not None and e.size:
            bad.add("invented_records", max(1, _whole_records(e.size)))
        return
    if e is None:
        bad.add("complete_records_lost", whole)
        bad.add("bytes_lost", HEADER_LEN + whole * RECORD_LEN)
        return
    try:
        data = _read_flight(log, e)
    except OSError:
        data = b""
    good = 0  # bytes read back exactly as written, in whole units
    limit = min(len(data), len(on_medium))
    if data[:HEADER_LEN] == final[:HEADER_LEN] and limit >= HEADER_LEN:
        good = HEADER_LEN
        while good + RECORD_LEN <= limit and data[good : good + RECORD_LEN] == final[good : good + RECORD_LEN]:
            good += RECORD_LEN
    kept = _whole_records(good)
    if kept < whole:
        bad.add("complete_records_lost", whole - max(kept, 0))
        bad.add("bytes_lost", HEADER_LEN + whole * RECORD_LEN - good)
    if len(data) > good or e.size != len(data):
        bad.add("invented_records", max(1, -(-(len(data) - good) // RECORD_LEN)))


def _check_earlier_flight(sc, log, flight, e, bad):
    """A flight that was on the board before the scenario: unchanged, or (being erased)
    whole or gone."""
    if flight not in sc.base:
        if e is not None:
            bad.add("invented_records", max(1, _whole_records(e.size)))
        return
    flags, want = sc.base[flight]
    erasing = flight in sc.erasing
    if e is None:
        if not erasing:
            bad.add("other_flights_damaged")
        return
    try:
        data = _read_flight(log, e)
    except OSError:
        data = None
    if data != want or e.size != len(want):
        bad.add("erase_half_done" if erasing else "other_flights_damaged")
    elif not erasing and e.flags != flags:
        bad.add("other_flights_damaged")  # the same bytes, but now called TORN or CORRUPT


def _appends(log):
    """begin, three appends, close: listed COMPLETE under a new number, reading back."""
    before = {e.flight for e in log.flights()}
    try:
        n = log.begin(PAD_PA, 77, b"after", FIRMWARE_VERSION)
        if n < 0 or n in before:
            return False
        for i in range(3):
            log.append(REC_SAMPLE, C.FLIGHT_BOOST, i * 10, PAD_PA - i, 100 * i, 1, 2)
        log.close(200)
        e = log.entry(n)
        if e is None or e.flags != C.FLIGHT_COMPLETE or e.size != HEADER_LEN + 3 * RECORD_LEN:
            return False
        data = _read_flight(log, e)
    except OSError:
        return False
    rec = bytearray(RECORD_LEN)
    flightlog.pack_record(rec, 0, REC_SAMPLE, C.FLIGHT_BOOST, 20, PAD_PA - 2, 200, 1, 2)
    return data[-RECORD_LEN:] == rec


def _check_appendable(root, log, bad):
    """A new flight after the recovery: begin, append, close, read back; a second boot
    lists the same flights the same way and recovers nothing."""
    if not _appends(log):
        bad.add("append_failures")
        return
    try:
        again = FlightLog(root)
    except Exception:
        bad.add("second_boot_changes")
        return
    first = [(x.flight, x.flags, x.size, x.apogee_cm) for x in log.flights()]
    second = [(x.flight, x.flags, x.size, x.apogee_cm) for x in again.flights()]
    if again.recovered or first != second:
        bad.add("second_boot_changes")


# --- running the cuts ---------------------------------------------------------------------------
def _in_phase(sc, name, op_index):
    span = sc.journal.marks.get(name)
    return span is not None and span[0] <= op_index <= span[1]


def byte_cuts(sc, rng, every_byte):
    """(op_index, nbytes): ops before op_index applied whole, then nbytes of op op_index
    (0: a boundary). Every boundary; inside writes every byte or a seeded sample."""
    ops = sc.journal.ops
    cuts = [(i, 0) for i in range(len(ops) + 1)]
    records, others = [], []  # torn flight records; torn headers, digests and index entries
    for i, op in enumerate(ops):
        if op[0] == "write":
            into = records if op[1].endswith(".cwf") and op[2] >= HEADER_LEN else others
            into.extend((i, k) for k in range(1, len(op[3])))
    if not every_byte and len(records) > SHORT_PARTIAL_CUTS:
        # the few writes that are not records are torn at every byte even in the short
        # version; the many records at a seeded sample of offsets
        records = rng.sample(records, SHORT_PARTIAL_CUTS)
    return sorted(cuts + records + others)


def run_byte_model(sc, work, rng, every_byte, counts):
    journal = sc.journal
    files = {k: bytearray(v) for k, v in journal.initial_files.items()}
    dirs = set(journal.initial_dirs)
    applied = 0
    root = os.path.join(work, "cut")
    for op_index, nbytes in byte_cuts(sc, rng, every_byte):
        while applied < op_index:
            apply_op(files, dirs, journal.ops[applied])
            applied += 1
        on_medium = files
        if nbytes:
            on_medium = dict(files)
            rel = journal.ops[op_index][1]
            on_medium[rel] = bytearray(files[rel])
            apply_op(on_medium, set(), journal.ops[op_index], nbytes)
        build_folder(root, on_medium, dirs)
        counts.add("cut_points")
        counts.add("flights_cut")
        if _in_phase(sc, "erase", op_index):
            counts.add("erase_cut_points")
        cut_index = op_index + (1 if nbytes else 0)  # a partly applied op has begun
        if check_cut(sc, root, on_medium, cut_index, counts):
            counts.add("flights_recovered")
        if (not nbytes and every_byte) or rng.random() < SHORT_RECOVERY_CUT_SHARE:
            cut_recovery(sc, work, on_medium, dirs, cut_index, counts)


def cut_recovery(sc, work, on_medium, dirs, cut_index, counts):
    """The power goes again while the board boots on what a cut left: journal that boot's
    recovery (index entries, rewrites, digests) and cut it at every byte; the next boot
    must still find everything the first cut left."""
    root = os.path.join(work, "cut")
    build_folder(root, on_medium, dirs)
    journal = Journal(root, on_medium, dirs)
    try:
        with recording(journal):
            FlightLog(root)
    except Exception:
        return  # counted by check_cut, which booted on the same folder
    ops = journal.ops
    files = {k: bytearray(v) for k, v in on_medium.items()}
    nested_dirs = set(dirs)
    for i, op in enumerate(ops):
        sizes = range(1, len(op[3])) if op[0] == "write" else ()
        for k in sizes:
            torn = dict(files)
            torn[op[1]] = bytearray(files.get(op[1], b""))
            apply_op(torn, set(), op, k)
            _check_nested(sc, root, torn, nested_dirs, cut_index, counts)
        apply_op(files, nested_dirs, op)
        if i + 1 < len(ops):  # after the last op: the recovered folder, checked already
            _check_nested(sc, root, files, nested_dirs, cut_index, counts)


def _check_nested(sc, root, files, dirs, cut_index, counts):
    build_folder(root, files, dirs)
    counts.add("recovery_cut_points")
    check_cut(sc, root, files, cut_index, counts)


def run_sync_model(sc, work, counts):
    """Cut at every operation, the medium holding only what was flushed or closed."""
    journal = sc.journal
    model = SyncModel(journal.initial_files, journal.initial_dirs)
    root = os.path.join(work, "cut")
    for op_index in range(len(journal.ops) + 1):
        if op_index:
            model.apply(journal.ops[op_index - 1])
        build_folder(root, model.durable, model.dirs)
        counts.add("sync_cut_points")
        at_risk = 0
        for rel, data in model.written.items():
            if rel.endswith(".cwf") and rel in model.durable:
                at_risk += max(0, _whole_records(len(data)) - max(0, _whole_records(len(model.durable[rel]))))
        counts["sync_unflushed_records_at_risk_max"] = max(
            counts.get("sync_unflushed_records_at_risk_max", 0), at_risk)
        if check_cut(sc, root, model.durable, op_index, counts, prefix="sync_"):
            counts.add("sync_cuts_recovered")


MUST_BE_ZERO = (
    "complete_records_lost",
    "bytes_lost",
    "invented_records",
    "other_flights_damaged",
    "erase_half_done",
    "append_failures",
    "second_boot_changes",
    "digest_mismatches",
    "recovery_crashes",
    "sync_complete_records_lost",
    "sync_bytes_lost",
    "sync_invented_records",
    "sync_other_flights_damaged",
    "sync_erase_half_done",
    "sync_append_failures",
    "sync_second_boot_changes",
    "sync_digest_mismatches",
    "sync_recovery_crashes",
)


def run(long=False, seed=0):
    """Record the scenarios, cut each everywhere (short: every boundary and a sample of
    bytes; long: every byte), and count."""
    started = time.perf_counter()
    rng = random.Random("power-loss-%d" % seed)
    counts = Counts()
    for name in MUST_BE_ZERO:
        counts[name] = 0
    work = tempfile.mkdtemp(prefix="coalwood-power-loss-", dir=_memory_folder())
    try:
        scenarios = record_scenarios(work, LONG_BURN_S if long else SHORT_BURN_S, seed)
        for sc in scenarios:
            _check_handed(sc)
            counts.add("journal_ops", len(sc.journal.ops))
            counts.add("records_logged", len(sc.handed))
            run_byte_model(sc, work, rng, long, counts)
            run_sync_model(sc, work, counts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counts["scenarios"] = len(scenarios)
    counts["must_be_zero"] = list(MUST_BE_ZERO)
    counts["elapsed_s"] = round(time.perf_counter() - started, 2)
    return dict(counts)


def _memory_folder():
    """/dev/shm when this machine has it: the cuts are thousands of small files written and
    removed, and a disk's journal makes that wait on the disk. Else the usual temp folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _check_handed(sc):
    """The journal's flight file holds the header and exactly the records handed to the log."""
    if not sc.handed:
        return
    rel, _flight, _start, _end, final = sc.incarnations[-1]
    want = b"".join(sc.handed)
    if final[HEADER_LEN:] != want or len(final) != HEADER_LEN + len(want):
        raise AssertionError("%s: %s does not hold the records the recorder wrote" % (sc.name, rel))


if __name__ == "__main__":
    sys.exit(common.main(run, __doc__))
