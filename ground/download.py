"""Flight downloads (PROTOCOL.md section 10): windows, gaps, verification, resume.

Three layers, each usable alone:

- `RangeMap`: which byte ranges of a flight are held.
- `Transfer`: the download procedure without I/O or clock (time is passed in, as in
  protocol/): which FLIGHT_READ windows to ask for, what a FLIGHT_DATA chunk adds,
  when a window is finished, when the download has stalled. Tests drive it against a
  SimDevice on a hand-stepped clock; `Downloader` drives it over a DeviceClient.
- `Downloader`: a whole flight over a DeviceClient, kept on disk as it arrives
  (`PartStore`: `<name>.cwf.part` plus a `.part.json` sidecar with the flight's
  identity and the ranges held), verified against FLIGHT_INFO's CRC-32 and SHA-256,
  then written under its final name atomically. A broken link leaves the part; the
  next call for the same flight (same number, size, CRC-32 and SHA-256, from a fresh
  FLIGHT_LIST) resumes from the first gap, in this process or a later one.

Two windows are kept requested at once so the line never idles between them: while the
device streams one, the ground's request for the next is already queued there.
"""

import binascii
import bisect
import contextlib
import hashlib
import json
import os
import threading
import time
from collections import namedtuple

from ground.atomic import write_whole
from ground.client import CommandRefused, DeviceError
from protocol import constants as C
from protocol import messages as M

WINDOW_BYTES = 16 * C.FLIGHT_CHUNK_MAX  # 3584: a lost window costs little to ask again
WINDOWS_IN_FLIGHT = 2
WINDOW_IDLE_MS = 250  # no FLIGHT_DATA for a window this long: it is finished
FRUITLESS_LIMIT = 3  # requests in a row bringing no new byte: the download has stalled
CHECKPOINT_S = 1.0  # how much arrived data a crash may lose: it is fetched again
PROGRESS_PERIOD_S = 0.1
LOOP_WAIT_S = 0.05
PART_SUFFIX = ".part"
SIDECAR_SUFFIX = ".part.json"
SIDECAR_FORMAT = "coalwood-part-1"


class DownloadError(DeviceError):
    """A download did not finish; `resumable` says whether what arrived is kept."""

    resumable = False


class DownloadStalled(DownloadError):
    """Three requests in a row brought nothing, or the device fell silent."""

    resumable = True


class DownloadCorrupt(DownloadError):
    """Every byte arrived but the whole-flight CRC-32 or SHA-256 disagrees; discarded."""


class NoSuchFlight(DownloadError):
    pass


class DeviceBusy(DownloadError):
    """The device refuses reads: armed, firing, faulted, or logging a flight."""

    resumable = True


class FlightChanged(DownloadError):
    """The flight on the device is no longer the one being downloaded."""


class DownloadCancelled(DownloadError):
    """`Downloader.cancel()` stopped the download; what arrived is kept for the next call."""

    resumable = True


class FlightIdentity(namedtuple("FlightIdentity", "device_id flight size_bytes crc32 sha256")):
    """What makes a partial download resumable: the same flight, byte for byte."""

    @classmethod
    def of(cls, device_id, info):
        return cls(bytes(device_id), info.flight, info.size_bytes, info.crc32, bytes(info.sha256))

    def as_json(self):
        return {"device_id": self.device_id.hex(), "flight": self.flight,
                "size_bytes": self.size_bytes, "crc32": "%08x" % self.crc32,
                "sha256": self.sha256.hex()}

    @classmethod
    def from_json(cls, doc):
        return cls(bytes.fromhex(doc["device_id"]), int(doc["flight"]), int(doc["size_bytes"]),
                   int(doc["crc32"], 16), bytes.fromhex(doc["sha256"]))


def output_folder_problem(path):
    """Why downloads cannot go into the folder `path`, in a few words, or None when they
    can: it is a folder, or can be made in the nearest folder above it that exists, and
    that folder really takes a new entry (tried with an empty folder, removed at once: a
    permission bit says nothing of a read-only disk, nor to root). Nothing is left made
    here: a download makes its folder only when it has something to put in it, so a
    refused command leaves no folder behind."""
    import tempfile

    path = os.path.abspath(path)
    target = path
    while not os.path.exists(target) and os.path.dirname(target) != target:
        target = os.path.dirname(target)
    if not os.path.isdir(target):
        return "%s is a file, not a folder" % ("it" if target == path else target)
    try:
        probe = tempfile.mkdtemp(prefix=".coalwood-probe-", dir=target)
    except OSError as exc:
        return "cannot write in %s: %s" % (target, exc.strerror or exc)
    os.rmdir(probe)
    return None


def flight_file_name(device_id, flight):
    """`flight-0003-<device id in hex>.cwf`: unique per board and flight number."""
    return "flight-%04d-%s.cwf" % (flight, bytes(device_id).hex())


def digests_match(data, crc32, sha256):
    return binascii.crc32(data) == crc32 and hashlib.sha256(data).digest() == bytes(sha256)


# --- which bytes are held ------------------------------------------------------------------------
class RangeMap:
    """Disjoint, sorted, half-open byte ranges [start, end), merged as they touch."""

    def __init__(self, ranges=()):
        self._starts = []
        self._ends = []
        for start, end in ranges:
            self.add(start, end)

    def add(self, start, end):
        """Mark [start, end) held; returns how many of those bytes were not held before."""
        if end <= start:
            return 0
        starts, ends = self._starts, self._ends
        # every range touching [start, end) is merged into one
        i = bisect.bisect_left(ends, start)
        j = bisect.bisect_right(starts, end)
        if i == j:
            starts.insert(i, start)
            ends.insert(i, end)
            return end - start
        already = sum(min(ends[k], end) - max(starts[k], start) for k in range(i, j))
        new_start = min(start, starts[i])
        new_end = max(end, ends[j - 1])
        starts[i:j] = [new_start]
        ends[i:j] = [new_end]
        return (end - start) - max(already, 0)

    def contains(self, offset):
        i = bisect.bisect_right(self._starts, offset) - 1
        return i >= 0 and offset < self._ends[i]

    def covers(self, start, end):
        i = bisect.bisect_right(self._starts, start) - 1
        return end <= start or (i >= 0 and end <= self._ends[i])

    def overlaps(self, start, end):
        i = bisect.bisect_right(self._starts, start) - 1
        if i >= 0 and self._ends[i] > start:
            return True
        return i + 1 < len(self._starts) and self._starts[i + 1] < end

    def gaps(self, start, end):
        """The ranges of [start, end) not held, in order."""
        out = []
        pos = start
        i = max(bisect.bisect_right(self._starts, start) - 1, 0)
        while pos < end and i < len(self._starts):
            s, e = self._starts[i], self._ends[i]
            if e <= pos:
                i += 1
                continue
            if s > pos:
                out.append((pos, min(s, end)))
            pos = max(pos, e)
            i += 1
        if pos < end:
            out.append((pos, end))
        return out

    @property
    def total(self):
        return sum(e - s for s, e in zip(self._starts, self._ends, strict=True))

    @property
    def ranges(self):
        return list(zip(self._starts, self._ends, strict=True))

    def copy(self):
        return RangeMap(self.ranges)

    def __repr__(self):
        return "RangeMap(%r)" % (self.ranges,)


# --- the procedure, without I/O ------------------------------------------------------------------
class Window:
    """One FLIGHT_READ: [start, end) asked for at sent_ms; `seq` once it went out."""

    __slots__ = ("end", "finished_by", "last_ms", "nak", "new_bytes", "sent_ms", "seq",
                 "since_ms", "start", "superseded")

    def __init__(self, start, end, now_ms):
        self.start = start
        self.end = end
        self.seq = None
        self.sent_ms = now_ms
        self.since_ms = now_ms  # when it became the window the device is serving
        self.last_ms = now_ms  # its latest FLIGHT_DATA
        self.new_bytes = 0
        self.nak = None
        self.superseded = False  # data of a later window arrived: the device is past it
        self.finished_by = None

    @property
    def length(self):
        return self.end - self.start

    def __repr__(self):
        return "Window(%d..%d, seq=%r)" % (self.start, self.end, self.seq)


class TransferStats:
    """Counters for one download attempt (the bench and the tests read them)."""

    FIELDS = ("requests", "resends", "windows", "gaps", "frames", "ignored_frames",
              "new_bytes", "duplicate_bytes", "naks", "timeouts")

    def __init__(self):
        for name in self.FIELDS:
            setattr(self, name, 0)

    def as_dict(self):
        return {name: getattr(self, name) for name in self.FIELDS}

    def __repr__(self):
        return "TransferStats(%s)" % ", ".join("%s=%d" % kv for kv in self.as_dict().items())


class Transfer:
    """Section 10 of PROTOCOL.md as a state machine: no I/O, times in milliseconds passed in.

    A driver loops: `poll(now_ms)`, then sends each Window of `next_requests(now_ms)` as a
    FLIGHT_READ and sets its `seq`; it hands every FLIGHT_DATA to `on_data` and every NAK
    answering a window to `on_nak`, until `complete` (then verify) or `stalled` (give up,
    keeping `have` and `data` for a resume).
    """

    def __init__(self, flight, size_bytes, have=None, data=None, window_bytes=WINDOW_BYTES,
                 windows_in_flight=WINDOWS_IN_FLIGHT, idle_ms=WINDOW_IDLE_MS,
                 fruitless_limit=FRUITLESS_LIMIT):
        if window_bytes < 1 or windows_in_flight < 1:
            raise ValueError("window_bytes and windows_in_flight must be at least 1")
        self.flight = flight
        self.size_bytes = size_bytes
        self.have = have if have is not None else RangeMap()
        self.data = data if data is not None else bytearray(size_bytes)
        if len(self.data) != size_bytes:
            raise ValueError("data must be exactly size_bytes long")
        self.window_bytes = window_bytes
        self.windows_in_flight = windows_in_flight
        self.idle_ms = idle_ms
        self.fruitless_limit = fruitless_limit
        self.windows = []  # outstanding, in the order sent (the device serves them in order)
        self.requested = RangeMap()  # everything asked for in this attempt: a repeat is a resend
        self.fruitless = 0
        # Chunks for nobody's window (other flights, reads asked before) still mean the
        # device is busy with requests queued ahead of ours: the window waits, not times out.
        self.last_other_ms = None
        self.stats = TransferStats()

    @property
    def held_bytes(self):
        return self.have.total

    @property
    def complete(self):
        return self.have.covers(0, self.size_bytes)

    @property
    def stalled(self):
        return self.fruitless >= self.fruitless_limit

    def first_gap(self):
        """The lowest range not held and not already asked for, or None."""
        outstanding = RangeMap((w.start, w.end) for w in self.windows)
        for start, end in self.have.gaps(0, self.size_bytes):
            free = outstanding.gaps(start, end)
            if free:
                return free[0]
        return None

    def next_requests(self, now_ms):
        """New windows to send now (each from the first gap, at most window_bytes long)."""
        out = []
        while len(self.windows) < self.windows_in_flight and not self.stalled:
            gap = self.first_gap()
            if gap is None:
                break
            start = gap[0]
            end = min(gap[1], start + self.window_bytes)
            w = Window(start, end, now_ms)
            self.windows.append(w)
            out.append(w)
            self.stats.requests += 1
            if self.requested.overlaps(start, end):
                self.stats.resends += 1
            self.requested.add(start, end)
        return out

    def on_data(self, flight, offset, data, now_ms):
        """One FLIGHT_DATA chunk; returns how many bytes it added. Other flights, chunks
        outside the flight and repeats are harmless."""
        n = len(data)
        end = offset + n
        if flight != self.flight or n == 0 or offset < 0 or end > self.size_bytes:
            self.stats.ignored_frames += 1
            self.last_other_ms = now_ms
            return 0
        self.stats.frames += 1
        new = self.have.add(offset, end)
        self.data[offset:end] = data
        self.stats.new_bytes += new
        self.stats.duplicate_bytes += n - new
        for i, w in enumerate(self.windows):
            if w.start <= offset < w.end:
                w.new_bytes += new
                w.last_ms = now_ms
                # the device serves windows in the order asked: it is done with earlier ones
                for earlier in self.windows[:i]:
                    earlier.superseded = True
                break
        else:
            self.last_other_ms = now_ms
        return new

    def on_nak(self, seq, reason, now_ms):
        """A NAK answering one of the outstanding windows; returns that Window or None."""
        for w in self.windows:
            if w.seq == seq:
                w.nak = reason
                self.stats.naks += 1
                return w
        return None

    def poll(self, now_ms):
        """Finish the windows that are done; returns them (in order)."""
        done = []
        while self.windows:
            w = self.windows[0]
            if w.nak is not None:
                why = "nak"
            elif self.have.contains(w.end - 1):
                why = "last-byte"
            elif w.superseded:
                why = "superseded"
            elif now_ms - self._active_ms(w) >= self.idle_ms:
                why = "idle"
                self.stats.timeouts += 1
            else:
                break
            w.finished_by = why
            self.windows.pop(0)
            self.stats.windows += 1
            self.stats.gaps += len(self.have.gaps(w.start, w.end))
            self.fruitless = 0 if w.new_bytes else self.fruitless + 1
            if self.windows:
                self.windows[0].since_ms = max(self.windows[0].since_ms, now_ms)
            done.append(w)
        return done

    def head_ready(self):
        """True when poll() would finish the window being served without waiting for time."""
        if not self.windows:
            return True
        w = self.windows[0]
        return w.nak is not None or w.superseded or self.have.contains(w.end - 1)

    def _active_ms(self, w):
        t = max(w.since_ms, w.last_ms)
        if self.last_other_ms is not None and self.last_other_ms > t:
            t = self.last_other_ms
        return t

    def next_deadline_ms(self):
        """When poll() may next finish a window by silence, or None with nothing asked."""
        if not self.windows:
            return None
        return self._active_ms(self.windows[0]) + self.idle_ms

    def drop_windows(self):
        """Forget every outstanding request (the device dropped them: it restarted or armed)."""
        self.windows = []


# --- on disk -------------------------------------------------------------------------------------
class PartStore:
    """A flight's download in a folder: the part, its sidecar, then the finished file.

    The part holds received bytes at their offsets; the sidecar (written after the part's
    bytes are on disk, and replaced atomically) says which ranges of it are real. The
    finished file only ever appears whole: a temporary file in the same folder, fsynced,
    renamed over the final name.
    """

    def __init__(self, out_dir, identity):
        self.out_dir = out_dir
        self.identity = identity
        self.final_path = os.path.join(out_dir, flight_file_name(identity.device_id, identity.flight))
        self.part_path = self.final_path + PART_SUFFIX
        self.sidecar_path = self.final_path + SIDECAR_SUFFIX
        self.discarded_stale = False  # a part of another flight of the same name was found

    def load(self):
        """(RangeMap, bytearray) of a part of this very flight, or None (a stale part is removed)."""
        try:
            with open(self.sidecar_path) as f:
                doc = json.load(f)
            if doc.get("format") != SIDECAR_FORMAT:
                raise ValueError("unknown sidecar format")
            identity = FlightIdentity.from_json(doc["identity"])
            ranges = [(int(a), int(b)) for a, b in doc["ranges"]]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self.discard()
            self.discarded_stale = True
            return None
        if identity != self.identity:
            self.discard()
            self.discarded_stale = True
            return None
        size = self.identity.size_bytes
        data = bytearray(size)
        have = RangeMap()
        try:
            with open(self.part_path, "rb") as f:
                for start, end in ranges:
                    if not 0 <= start < end <= size:
                        continue
                    f.seek(start)
                    chunk = f.read(end - start)
                    data[start:start + len(chunk)] = chunk
                    have.add(start, start + len(chunk))
        except OSError:
            self.discard()
            return None
        return have, data

    def save(self, pieces, ranges):
        """Write pieces [(offset, bytes)] into the part, make them durable, then record
        `ranges` (all of which must now be in the part) in the sidecar."""
        os.makedirs(self.out_dir, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
        fd = os.open(self.part_path, flags, 0o644)
        try:
            for offset, chunk in pieces:
                os.lseek(fd, offset, os.SEEK_SET)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        doc = {"format": SIDECAR_FORMAT, "identity": self.identity.as_json(),
               "ranges": [list(r) for r in ranges]}
        write_whole(self.sidecar_path, json.dumps(doc).encode())

    def finish(self, data):
        """Put the verified flight under its final name, whole or not at all."""
        write_whole(self.final_path, data)
        self.discard()
        return self.final_path

    def discard(self):
        for path in (self.sidecar_path, self.part_path):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


# --- over a DeviceClient -------------------------------------------------------------------------
DownloadResult = namedtuple("DownloadResult", "identity data path held_at_start seconds stats")


def _now_ms():
    return time.monotonic() * 1000.0


class Downloader:
    """Download flights over a connected DeviceClient.

    out_dir: where parts and finished files go (None: memory only; a resume then works
    only within this Downloader). progress(done_bytes, total_bytes, rate_bytes_per_s) is
    called on the calling thread at most every progress_period_s, and once at the end.
    `cancel()`, from any thread, stops the download running now (or the next one to
    start, if none is running) with DownloadCancelled.
    """

    def __init__(self, client, out_dir=None, progress=None, window_bytes=WINDOW_BYTES,
                 windows_in_flight=WINDOWS_IN_FLIGHT, checkpoint_s=CHECKPOINT_S,
                 progress_period_s=PROGRESS_PERIOD_S):
        self.client = client
        self.out_dir = out_dir
        self.progress = progress
        self.window_bytes = window_bytes
        self.windows_in_flight = windows_in_flight
        self.checkpoint_s = checkpoint_s
        self.progress_period_s = progress_period_s
        self._partials = {}  # FlightIdentity -> (RangeMap, bytearray) of interrupted downloads
        self._cond = threading.Condition()
        self._transfer = None
        self._identity = None  # of the flight being downloaded
        self._busy_seen = False  # a read was refused BUSY during this download
        self._cancel_asked = False  # guarded by _cond; cleared when a download() ends
        self.last_transfer = None  # the Transfer of the latest call, for its stats
        self.discarded_stale = False

    def identity(self, info):
        return FlightIdentity.of(self.client.info.device_id, info)

    def final_path(self, info):
        if self.out_dir is None:
            return None
        return os.path.join(self.out_dir, flight_file_name(self.client.info.device_id, info.flight))

    def _partial(self, identity, store):
        """(RangeMap, bytearray) held of this flight from an interrupted call, from memory or
        else from the part on disk (kept in memory from then on), or None."""
        partial = self._partials.get(identity)
        if partial is None and store is not None:
            partial = store.load()
            self.discarded_stale = store.discarded_stale
            if partial is not None:
                self._partials[identity] = partial
        return partial

    def _store(self, identity):
        return PartStore(self.out_dir, identity) if self.out_dir is not None else None

    def partial_bytes(self, info):
        """Bytes of this flight already held from an earlier, interrupted call (memory or disk)."""
        identity = self.identity(info)
        partial = self._partial(identity, self._store(identity))
        return partial[0].total if partial is not None else 0

    def cancel(self):
        """Stop the running download: it raises DownloadCancelled within one wait period,
        keeping what arrived (in memory and, with out_dir, in the part) so the next call
        for the same flight resumes. Thread-safe. With no download running, the next one
        to start is the one cancelled; a download that ends anyway forgets the request."""
        with self._cond:
            self._cancel_asked = True
            self._cond.notify_all()

    def download(self, info):
        """Fetch, verify and (with out_dir) store one flight, given its FLIGHT_INFO from a fresh
        FLIGHT_LIST. Returns a DownloadResult; raises a DownloadError, a LinkError or a
        DeviceError. What arrived before a failure is kept for the next call."""
        client = self.client
        identity = self._identity = self.identity(info)
        store = self._store(identity)
        self.discarded_stale = False
        self._partial(identity, store)
        partial = self._partials.pop(identity, None)
        have, data = partial if partial is not None else (RangeMap(), bytearray(info.size_bytes))
        transfer = Transfer(info.flight, info.size_bytes, have, data, self.window_bytes,
                            self.windows_in_flight)
        self.last_transfer = transfer
        held_at_start = have.total
        saved = have.copy()  # what the part on disk holds
        started = time.monotonic()
        ok = False
        try:
            self._check_not_busy()
            self._run(transfer, store, saved, started, held_at_start)
            ok = True
        finally:
            client.on_flight_data = None
            with self._cond:
                self._transfer = None
                self._cancel_asked = False  # a cancel that came too late is not kept for later
            if not ok:
                self._partials[identity] = (transfer.have, transfer.data)
                if store is not None:
                    with contextlib.suppress(OSError):
                        self._checkpoint(transfer, store, saved)
        seconds = time.monotonic() - started
        data = bytes(transfer.data)
        if not digests_match(data, info.crc32, info.sha256):
            if store is not None:
                store.discard()
            raise DownloadCorrupt(
                "flight %d arrived whole but its CRC-32/SHA-256 do not match the device's: "
                "discarded (download it again)" % info.flight)
        path = store.finish(data) if store is not None else None
        return DownloadResult(identity, data, path, held_at_start, seconds, transfer.stats)

    # --- the loop ----------------------------------------------------------------------------------
    @staticmethod
    def _refuse_if_busy(state, flags):
        if state != C.STATE_SAFE:
            raise DeviceBusy("the device is %s: flights download only from a SAFE pad (disarm "
                             "first)" % C.STATE_NAMES[state])
        if flags & C.DEV_FLYING:
            raise DeviceBusy("the device is logging a flight: download after it has landed")

    def _check_not_busy(self):
        hb = self.client.heartbeat
        if hb is not None:
            self._refuse_if_busy(hb.state, hb.flags)

    def _ask_if_busy(self):
        """After BUSY refusals: the device's own word on its state (a heartbeat may be old)."""
        try:
            st = self.client.status()
        except DeviceError:
            return
        self._refuse_if_busy(st.state, st.flags)

    def _on_data(self, msg):
        with self._cond:
            t = self._transfer
            if t is None:
                return
            t.on_data(msg.flight, msg.offset, msg.data, _now_ms())
            # wake the loop only when the window being served is done: it asks for the next
            if t.head_ready():
                self._cond.notify_all()

    def _run(self, transfer, store, saved, started, held_at_start):
        client = self.client
        sessions = client.session_changes
        self._busy_seen = False
        with self._cond:
            self._transfer = transfer
        client.on_flight_data = self._on_data
        next_checkpoint = time.monotonic() + self.checkpoint_s
        next_progress = 0.0
        while True:
            if client.link.error is not None:
                raise client.link.error
            if client.session_changes != sessions:
                # the device restarted: its queued reads are gone, and the flight must be
                # the same one before anything more is added to it (PROTOCOL.md 10.6)
                sessions = client.session_changes
                self._recheck_identity(transfer)
                with self._cond:
                    transfer.drop_windows()
            with self._cond:
                now = _now_ms()
                for w in list(transfer.windows):
                    if w.seq is not None:
                        reply = client.take_reply(w.seq)
                        if isinstance(reply, M.Nak):
                            transfer.on_nak(w.seq, reply.reason, now)
                for w in transfer.poll(now):
                    if w.nak is not None:
                        self._refused(transfer, w)
                complete = transfer.complete
                cancelled = self._cancel_asked
                stalled = transfer.stalled
                requests = [] if complete or cancelled else transfer.next_requests(now)
            if complete:
                break  # a cancel that lost the race to the last byte: the flight is whole
            if cancelled:
                raise DownloadCancelled("flight %d: download cancelled with %d of %d bytes held"
                                        % (transfer.flight, transfer.held_bytes,
                                           transfer.size_bytes))
            if stalled:
                if self._busy_seen:
                    self._ask_if_busy()
                silent_s = time.monotonic() - client.last_heard
                raise DownloadStalled(
                    "flight %d: %s after %d of %d bytes" % (
                        transfer.flight,
                        "the device fell silent" if silent_s > 0.5
                        else "the device stopped sending data",
                        transfer.held_bytes, transfer.size_bytes))
            for w in requests:
                w.seq = client.flight_read(transfer.flight, w.start, w.length)
            t = time.monotonic()
            if self.progress is not None and t >= next_progress:
                self._report(transfer, started, held_at_start)
                next_progress = t + self.progress_period_s
            if store is not None and t >= next_checkpoint:
                self._checkpoint(transfer, store, saved)
                next_checkpoint = time.monotonic() + self.checkpoint_s
            with self._cond:
                if transfer.complete or transfer.head_ready() or self._cancel_asked:
                    continue
                wait_s = LOOP_WAIT_S  # NAKs, progress and checkpoints are looked at this often
                deadline = transfer.next_deadline_ms()
                if deadline is not None:
                    wait_s = min(wait_s, max(0.0, (deadline - _now_ms()) / 1000.0) + 0.001)
                self._cond.wait(wait_s)
        if self.progress is not None:
            self._report(transfer, started, held_at_start)

    def _refused(self, transfer, w):
        reason = w.nak
        if reason == C.NAK_NO_SUCH_FLIGHT:
            raise NoSuchFlight("the device has no flight %d (erased?)" % transfer.flight)
        if reason == C.NAK_OUT_OF_RANGE:
            raise FlightChanged("flight %d on the device is no longer %d bytes long"
                                % (transfer.flight, transfer.size_bytes))
        if reason == C.NAK_BUSY:
            # BUSY is also the answer to a fifth queued read: only a state change is final
            self._busy_seen = True
            self._check_not_busy()
            return
        raise CommandRefused("FlightRead", reason)

    def _recheck_identity(self, transfer):
        try:
            infos = self.client.flight_list()
        except CommandRefused as exc:
            raise DownloadStalled("the device restarted and refused FLIGHT_LIST: %s"
                                  % exc.reason_name) from None
        for info in infos:
            if info.flight == transfer.flight and self.identity(info) == self._identity:
                return
        raise FlightChanged("the device restarted and flight %d is no longer the same"
                            % transfer.flight)

    def _checkpoint(self, transfer, store, saved):
        with self._cond:
            ranges = transfer.have.ranges
            pieces = []
            for start, end in ranges:
                for a, b in saved.gaps(start, end):
                    pieces.append((a, bytes(transfer.data[a:b])))
        if not pieces and os.path.exists(store.sidecar_path):
            return
        store.save(pieces, ranges)
        for a, b in ranges:
            saved.add(a, b)

    def _report(self, transfer, started, held_at_start):
        with self._cond:
            done = transfer.held_bytes
        elapsed = time.monotonic() - started
        rate = (done - held_at_start) / elapsed if elapsed > 0 else 0.0
        self.progress(done, transfer.size_bytes, rate)
