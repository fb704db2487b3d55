"""Noisy link soak: a whole session at the pad over a line that flips bits and drops bytes.

A ground station (the protocol's sans-IO Connection, the real download procedure
ground.download.Transfer) and the simulated pad box (SimDevice: the real firmware
App on SimHal) share one ManualClock and a simulated 115200 8N1 line, stepped one
millisecond at a time on one thread, for 10 simulated minutes (long) or 1 (short).
Both directions lose bytes (DROP_RATE_PER_BYTE) and flip bits: the simulator flips
one bit of a byte with FLIP_RATE_PER_BYTE = 8e-4, which is a bit-flip rate of about
1e-4 per bit (1 - (1 - 1e-4)**8 = 7.997e-4).

The station does what the ground station does, in a loop: heartbeats at 2 Hz all the
time; a launch (STATUS, ARM resent per protocol/reliable.py, ARM_REFRESH every
second through a countdown, FIRE every 100 ms for a pulse, release, STATUS after the
settle time for the fire result, DISARM when anything went wrong), a fresh igniter
swapped in before each launch (every fourth one broken: it must fail safe); then a
download of the stored flight (FLIGHT_LIST, then Transfer's windows, resumed from
the first gap after a stall) checked byte for byte against the file on the board's
storage and against the CRC-32 and SHA-256 the device listed.

What is counted, and what must be zero:
- every launch fired (the station read FIRED) or failed safe (the device SAFE with
  every output off); launches_unsafe counts the others, fire_result_wrong a station
  reading that disagrees with the igniter itself (burned or not);
- spurious_fires: output edges outside [a FIRE the device accepted for that channel,
  that FIRE + the 250 ms pulse]; unintended_fires: a FIRE the device accepted that the
  station did not send while firing;
- link loss without a cut link: whenever a side heard no valid frame for link_loss_ms
  (the device's own notion: frames its controller counted; the station's: every
  verified frame), how long the silence went on beyond the timeout; the longest must be
  at most the timeout (falsely_lost_over_timeout);
- downloads_corrupt (bytes or digests wrong), downloads_incomplete (never finished).
"""

import bisect
import hashlib
import shutil
import sys
import tempfile
import time
import zlib

try:
    from campaigns import common
except ImportError:  # run as a script: only tests/campaigns/ is on the path
    import common
common.bootstrap()

from serial_line import SerialLine  # noqa: E402
from synthetic_flight import write_flight  # noqa: E402

from firmware.controller import OK  # noqa: E402
from ground.download import Transfer, digests_match  # noqa: E402
from protocol import constants as C  # noqa: E402
from protocol import messages as M  # noqa: E402
from protocol.reliable import POLL_FAILED, POLL_RESEND, Requester  # noqa: E402

FLIP_RATE_PER_BYTE = 8e-4  # one flipped bit per byte: ~1e-4 per bit
DROP_RATE_PER_BYTE = 1e-4
SHORT_SESSION_S = 60
LONG_SESSION_S = 600
SHORT_FLIGHT_BYTES = 30_000
LONG_FLIGHT_BYTES = 100_000

HEARTBEAT_PERIOD_MS = C.HEARTBEAT_INTERVAL_MS
REFRESH_PERIOD_MS = 1000  # as ground/client.py: the ARM lapses after 3 s
FIRE_PERIOD_MS = 100
COUNTDOWN_MS = 3000
PULSE_MS = 500  # how long the launch switch is held
SETTLE_MS = 800  # as ground/launch.py: time for the device to decide FIRED or MISFIRE
CONTINUITY_MS = 300  # a swapped igniter is measured before STATUS is asked
IDLE_MS = 1500
STATUS_TRIES = 3  # a STATUS unanswered after its resends is asked again, as a person would
LIST_TIMEOUT_MS = C.COMMAND_TIMEOUT_MS
DOWNLOAD_ATTEMPTS = 8
IGNITERS = ("ematch", "ematch", "ematch", "open")  # every fourth launch cannot fire


class LossMeter:
    """One side's link-loss clock: the times it heard a valid frame, and every silence that
    reached `timeout_ms` (a link-loss alarm), measured from the alarm to the next frame."""

    def __init__(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self.last_ms = None
        self.longest_silence_ms = 0
        self.false_losses_ms = []  # per alarm: how long it stayed lost

    def heard(self, now_ms):
        # (a frame arriving exactly at the timeout is taken before the timeout is checked)
        if self.last_ms is not None:
            gap = now_ms - self.last_ms
            self.longest_silence_ms = max(self.longest_silence_ms, gap)
            if gap > self.timeout_ms:
                self.false_losses_ms.append(gap - self.timeout_ms)
        self.last_ms = now_ms

    @property
    def longest_ms(self):
        return max(self.false_losses_ms, default=0)

    @property
    def over_timeout(self):
        return sum(1 for ms in self.false_losses_ms if ms > self.timeout_ms)


def spurious_edges(edges, fires, pulse_ms):
    """Output edges (t_ms, channel, on) not inside [t, t + pulse_ms] of an accepted FIRE
    (t_ms, channel mask) for that channel."""
    times = [t for t, _mask in fires]
    bad = 0
    for t, ch, _on in edges:
        i = bisect.bisect_right(times, t)  # FIREs at or before the edge
        ok = False
        while i > 0 and t - fires[i - 1][0] <= pulse_ms:
            if fires[i - 1][1] & (1 << ch):
                ok = True
                break
            i -= 1
        if not ok:
            bad += 1
    return bad


class Line(SerialLine):
    """The pad box and the ground's Connection on the simulated 115200-baud line; the
    device's own accepted FIREs and heard frames are recorded."""

    def __init__(self, storage, seed, flip_rate, drop_rate):
        super().__init__(storage, seed, flip_rate, drop_rate)
        ctrl = self.dev.app.controller
        self.device_heard = LossMeter(ctrl.link_loss_ms)
        self.ground_heard = LossMeter(C.LINK_LOSS_MS)
        self.accepted_fires = []  # (t_ms, mask, seq) of every FIRE the controller took
        self.fire_seqs = set()  # every FIRE the station sent while its switch was held
        self._watch(ctrl)

    def _watch(self, ctrl):
        fire, frame_received = ctrl.fire, ctrl.frame_received

        def watched_fire(now_ms, buf, off, mask, inverted_mask):
            result = fire(now_ms, buf, off, mask, inverted_mask)
            if result == OK:
                self.accepted_fires.append((now_ms, mask, buf[2] | buf[3] << 8))
            return result

        def watched_frame(now_ms):
            self.device_heard.heard(now_ms)
            return frame_received(now_ms)

        ctrl.fire = watched_fire
        ctrl.frame_received = watched_frame

    def frame_received(self, now_ms):
        self.ground_heard.heard(now_ms)


class Station:
    """The ground station's side of a session, as generators that yield once per
    millisecond; keep-alives (heartbeats, refreshes, the FIRE stream) run beside them."""

    def __init__(self, line, flight_bytes, counts):
        self.line = line
        self.flight_bytes = flight_bytes
        self.counts = counts
        self.replies = {}  # re_seq -> reply, for the command in flight
        self.infos = {}  # FLIGHT_LIST seq -> {index: FlightInfo}
        self.last_info_ms = 0
        self.transfer = None
        self.token = None
        self.armed = False
        self.firing = False
        self.fire_nak = None
        self._next_heartbeat = self._next_refresh = self._next_fire = 0
        self.launch_number = 0

    # --- plumbing ----------------------------------------------------------------------------
    def on_message(self, msg):
        now = self.line.now
        if isinstance(msg, M.FlightData):
            if self.transfer is not None:
                self.transfer.on_data(msg.flight, msg.offset, msg.data, now)
            return
        if isinstance(msg, M.FlightInfo):
            listing = self.infos.get(msg.re_seq)
            if listing is not None:
                listing[msg.index] = msg
                self.last_info_ms = now
            return
        if isinstance(msg, M.Nak):
            if msg.acked_type == C.FIRE:
                self.firing = False  # a refused FIRE ends the stream
                self.fire_nak = msg
                return
            if msg.acked_type == C.FLIGHT_READ and self.transfer is not None:
                self.transfer.on_nak(msg.re_seq, msg.reason, now)
                return
        re_seq = getattr(msg, "re_seq", None)
        if re_seq is not None and re_seq != 0xFFFF:
            self.replies[re_seq] = msg

    def keep_alive(self):
        now = self.line.now
        if not self.line.gnd.session_known:
            return  # nothing can be sent before the device's first frame
        if self.firing and now >= self._next_fire:
            if now - self.line.ground_heard.last_ms >= C.LINK_LOSS_MS:
                self.firing = False  # as the client: no FIRE into a lost link
            else:
                self.line.fire_seqs.add(self.line.send(M.Fire.for_channels(self.token, 1)))
                self._next_fire = now + FIRE_PERIOD_MS
        if now >= self._next_heartbeat:
            last = self.line.gnd.last_rx_seq
            self.line.send(M.Heartbeat(0, 0, last if last >= 0 else 0xFFFF))
            self._next_heartbeat = now + HEARTBEAT_PERIOD_MS
        if self.armed and not self.firing and now >= self._next_refresh:
            self.line.send(M.ArmRefresh(self.token))  # not resent: the next one is 1 s away
            self._next_refresh = now + REFRESH_PERIOD_MS

    def wait(self, ms):
        end = self.line.now + ms
        while self.line.now < end:
            yield

    def command(self, msg):
        """Send a command, resend it (same seq, RETRANSMIT) per protocol/reliable.py;
        the reply, or None after the last resend went unanswered."""
        req = Requester()
        self.replies.clear()
        seq = self.line.send(msg)
        req.start(seq, msg.TYPE, self.line.now, msg)
        while True:
            yield
            reply = self.replies.pop(seq, None)
            if reply is not None:
                req.on_reply(seq)
                return reply
            poll = req.poll(self.line.now)
            if poll == POLL_RESEND:
                self.counts.add("command_resends")
                self.line.send(msg, C.FLAG_RETRANSMIT, seq)
            elif poll == POLL_FAILED:
                self.counts.add("commands_unanswered")
                return None

    def status(self):
        for _ in range(STATUS_TRIES):
            st = yield from self.command(M.GetStatus())
            if isinstance(st, M.Status):
                return st
        return None

    # --- a launch -----------------------------------------------------------------------------
    def launch(self):
        line = self.line
        dev = line.dev
        preset = IGNITERS[self.launch_number % len(IGNITERS)]
        self.launch_number += 1
        dev.set_igniter(0, preset)  # a fresh igniter in the clips
        igniter = dev.hal.igniters[0]
        yield from self.wait(CONTINUITY_MS)
        self.counts.add("launches")
        result = None
        st = yield from self.status()
        if st is not None:
            # ARM whatever the continuity: with a broken igniter the device must refuse
            result = yield from self.arm_and_fire()
        yield from self.make_safe(result)
        self.classify(result, igniter)

    def arm_and_fire(self):
        ack = yield from self.command(M.Arm(1, 0))
        if not isinstance(ack, M.ArmAck):
            self.counts.add("arms_refused" if isinstance(ack, M.Nak) else "arms_unanswered")
            return None
        self.token = bytes(ack.token)
        self.armed = True
        self._next_refresh = self.line.now + REFRESH_PERIOD_MS
        yield from self.wait(COUNTDOWN_MS)
        self.fire_nak = None
        self.firing = True
        self._next_fire = self.line.now
        end = self.line.now + PULSE_MS
        while self.line.now < end and self.firing:
            yield
        if self.fire_nak is not None:
            self.counts.add("fire_streams_refused")
        self.firing = False  # the switch is released
        self.armed = False
        self.token = None
        yield from self.wait(SETTLE_MS)
        st = yield from self.status()
        if st is None:
            return None
        if st.safe_reason == C.SAFE_LINK_LOST:
            self.counts.add("launches_link_lost")  # the device made itself SAFE
        return st.channels[0].fire_result

    def make_safe(self, result):
        """After a launch that did not end in a fire result, DISARM (ABORT if unanswered),
        as the client does; the device must be SAFE whatever the station heard."""
        self.armed = self.firing = False
        if result in (C.FIRE_FIRED, C.FIRE_MISFIRE):
            return
        ack = yield from self.command(M.Disarm())
        if ack is None:
            yield from self.command(M.Abort())

    def classify(self, result, igniter):
        view = self.line.dev.status_dict()
        safe = view["state"] == "SAFE" and not any(view["outputs"])
        if result == C.FIRE_FIRED:
            self.counts.add("fired")
            if not igniter.functioned:
                self.counts.add("fire_result_wrong")
        elif safe:
            self.counts.add("failed_safe")
            if igniter.functioned:
                self.counts.add("fire_result_wrong")  # it went off, the station says not
        else:
            self.counts.add("launches_unsafe")
        if result == C.FIRE_MISFIRE:
            self.counts.add("misfires")

    # --- a download ----------------------------------------------------------------------------
    def flight_list(self):
        """FLIGHT_LIST until every entry arrived (asked again as a new command when the
        answers stop, as ground/client.py does); None after three fruitless tries."""
        got = {}
        fruitless = 0
        while fruitless <= C.MAX_RESENDS:
            seq = self.line.send(M.FlightList())
            listing = self.infos[seq] = {}
            self.last_info_ms = self.line.now
            while self.line.now - self.last_info_ms < LIST_TIMEOUT_MS:
                yield
                if listing and len(listing) >= next(iter(listing.values())).count:
                    break
            del self.infos[seq]
            before = len(got)
            got.update(listing)
            if got and len(got) >= next(iter(got.values())).count:
                return [got[i] for i in sorted(got)]
            fruitless = fruitless + 1 if len(got) == before else 0
            self.counts.add("list_resends")
        return None

    def download(self):
        infos = yield from self.flight_list()
        self.counts.add("downloads")
        if not infos:
            self.counts.add("downloads_incomplete")
            return
        info = infos[0]
        want = self.flight_bytes
        if (info.size_bytes != len(want) or info.crc32 != zlib.crc32(want)
                or info.sha256 != hashlib.sha256(want).digest()):
            self.counts.add("downloads_corrupt")  # the listing itself is wrong
            return
        t = Transfer(info.flight, info.size_bytes)
        for attempt in range(DOWNLOAD_ATTEMPTS):
            if attempt:
                self.counts.add("download_resumes")
                t = Transfer(info.flight, info.size_bytes, t.have, t.data)
            self.transfer = t
            while not t.complete:
                t.poll(self.line.now)
                if t.stalled:
                    break
                for w in t.next_requests(self.line.now):
                    w.seq = self.line.send(M.FlightRead(t.flight, w.start, w.length))
                yield
            self.counts.add("download_resent_windows", t.stats.resends)
            if t.complete:
                break
        self.transfer = None
        if not t.complete:
            self.counts.add("downloads_incomplete")
            return
        data = bytes(t.data)
        self.counts.add("bytes_downloaded", len(data))
        if data != want or not digests_match(data, info.crc32, info.sha256):
            self.counts.add("downloads_corrupt")

    # --- the session ---------------------------------------------------------------------------
    def session(self, end_ms):
        yield from self.wait(600)  # the device boots; its first heartbeat names the session
        while self.line.now < end_ms:
            yield from self.launch()
            yield from self.download()
            yield from self.wait(IDLE_MS)


class Counts(dict):
    def add(self, name, n=1):
        self[name] = self.get(name, 0) + n


MUST_BE_ZERO = (
    "launches_unsafe",
    "fire_result_wrong",
    "spurious_fires",
    "unintended_fires",
    "falsely_lost_over_timeout",
    "downloads_corrupt",
    "downloads_incomplete",
)


def run(long=False, seed=0, session_s=None, flip_rate=FLIP_RATE_PER_BYTE,
        drop_rate=DROP_RATE_PER_BYTE):
    """One session (short: 1 simulated minute; long: 10), every count of it."""
    started = time.perf_counter()
    if session_s is None:
        session_s = LONG_SESSION_S if long else SHORT_SESSION_S
    counts = Counts({name: 0 for name in MUST_BE_ZERO})
    for name in ("launches", "fired", "failed_safe", "downloads", "bytes_downloaded"):
        counts[name] = 0
    storage = tempfile.mkdtemp(prefix="coalwood-soak-")
    try:
        _flight, _path, flight_bytes = write_flight(
            storage, size_bytes=LONG_FLIGHT_BYTES if long else SHORT_FLIGHT_BYTES, seed=seed)
        line = Line(storage, seed, flip_rate, drop_rate)
        station = Station(line, flight_bytes, counts)
        end_ms = line.now + session_s * 1000
        task = station.session(end_ms)
        while True:  # until the session's time is up and its last launch or download ended
            for msg in line.step():
                station.on_message(msg)
            station.keep_alive()
            try:
                next(task)
            except StopIteration:
                break
        _count_link(line, counts)
        counts["simulated_s"] = round((line.now - 5000) / 1000, 1)
        line.dev.close()
    finally:
        shutil.rmtree(storage, ignore_errors=True)
    counts["flip_rate_per_byte"] = flip_rate
    counts["drop_rate_per_byte"] = drop_rate
    counts["elapsed_s"] = round(time.perf_counter() - started, 2)
    counts["must_be_zero"] = list(MUST_BE_ZERO)
    return dict(counts)


def _count_link(line, counts):
    dev = line.dev
    fires = [(t, mask) for t, mask, _seq in line.accepted_fires]
    counts["spurious_fires"] = spurious_edges(dev.edges, fires, dev.app.controller.fire_pulse_ms)
    counts["output_edges"] = len(dev.edges)
    counts["fires_accepted"] = len(fires)
    counts["unintended_fires"] = sum(1 for _t, _m, seq in line.accepted_fires
                                     if seq not in line.fire_seqs)
    meters = (line.device_heard, line.ground_heard)
    counts["false_link_losses_device"] = len(line.device_heard.false_losses_ms)
    counts["false_link_losses_ground"] = len(line.ground_heard.false_losses_ms)
    counts["false_link_losses"] = sum(len(m.false_losses_ms) for m in meters)
    counts["longest_false_loss_ms"] = max(m.longest_ms for m in meters)
    counts["falsely_lost_over_timeout"] = sum(m.over_timeout for m in meters)
    counts["longest_silence_ms_device"] = line.device_heard.longest_silence_ms
    counts["longest_silence_ms_ground"] = line.ground_heard.longest_silence_ms
    counts["link_loss_ms"] = dev.app.controller.link_loss_ms
    counts["frames_lost_device"] = dev.app.conn.stats.rejected()
    counts["frames_lost_ground"] = line.gnd.stats.rejected()
    counts["frames_lost"] = counts["frames_lost_device"] + counts["frames_lost_ground"]
    counts["bytes_flipped"] = dev.fault_stats["flipped"]
    counts["bytes_dropped"] = dev.fault_stats["dropped"]
    counts["frames_ok_device"] = dev.app.conn.stats.frames_ok
    counts["frames_ok_ground"] = line.gnd.stats.frames_ok


if __name__ == "__main__":
    sys.exit(common.main(run, __doc__))
