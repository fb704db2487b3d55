"""Fuzz campaign: random and mutated frames into the real firmware app, and nothing may arm or fire.

Bytes go over the protocol into the firmware App running on the simulated board
(ground/sim/device.py SimDevice, a ManualClock, the arm key ON and good e-matches on
both channels, so nothing but the protocol stands between a frame and the igniters).
Three sources feed it:

- random byte streams: noise with and without 0x00 delimiters, runs of short segments,
  valid COBS around random bodies, random bodies with a good CRC;
- a mutation fuzzer that starts from valid ARM, ARM_REFRESH, FIRE (mask and inverse),
  DISARM, FLIGHT_ERASE, CONFIG_SET, SET_KEY and other frames encoded by a ground
  protocol.Connection for the device's current session, and flips bits, replaces,
  inserts and deletes bytes, truncates, splices two frames, doubles delimiters, replays
  and rewrites header fields; in the "resealed" variant the CRC (and, for a sender that
  holds the key, the MAC) is computed again and the frame COBS-encoded again, so the
  mutation reaches the later checks and the dispatcher;
- hypothesis-built frames: valid framing and CRC around random version, flags, type,
  sequence, session, length, payload and MAC, with a fixed seed.

Two devices are fuzzed: an unkeyed one, and a keyed one fed both by its operator (who
holds the key: corruption in transit) and by an intruder (no key, or a wrong one).

Every byte is also fed to an independent reference receiver written from PROTOCOL.md
(its own COBS decoder, binascii CRC-32, the standard library's hmac, its own replay
window and reply cache, the board's read sizes): it says, frame by frame, what the
device should accept. The oracles, checked after every device step:

- spurious_arms: the device armed (its arm token changed, or it left SAFE) although the
  reference accepted no ARM frame in what was fed since the last step. With the CRC
  recomputed, a mutated ARM can be a valid ARM: arming on it is right (genuine_arms).
- spurious_fires: any fire output turning on. The fuzzer never holds the live arm token
  (its FIRE frames carry tokens of arms that are over, or garbage), so no FIRE may be
  accepted; live_token_fires counts accepted FIRE frames carrying the live token.
- crashes: an exception out of the device's loop (the input is recorded, a fresh device
  takes over).
- reference_disagreements: the device's rejection counters, its replay position, its key
  or whether it armed differ from the reference's after a step (so every frame was really
  judged, and judged as the specification says).
- accepted_under_replaced_key, arms_under_replaced_key: frames (ARMs that armed) the device
  took although a SET_KEY read just ahead of them had replaced the key they passed under
  (the board checks up to 4 frames of a read before it dispatches any; see Reference).
- unanswered_after: after every batch and at the end, a fresh legitimate ground connects
  as the ground client does (a lone 0x00, the session and last accepted sequence from the
  device's heartbeat), asks GET_STATUS and must get the STATUS within a few simulated
  milliseconds; it also makes the pad SAFE and puts the device's own key back.

The device may roll over to a new session (PROTOCOL.md 6.4); the fuzzer follows it, as an
eavesdropper reading the nonce off the wire would (sessions_rolled).

    python tests/campaigns/fuzz.py [--long] [--seed N] [--json]
"""

import binascii
import hashlib
import hmac
import random
import struct
import sys
import time

from firmware.app import CONFIG
from firmware.hal import KEY_ON
from ground.sim.device import ManualClock, SimDevice
from protocol import ROLE_GROUND, Connection, cobs
from protocol import constants as C
from protocol import messages as M
from protocol.connection import REJECTION_COUNTERS
from protocol.errors import RemoteProtocolError

try:
    from campaigns import common
except ImportError:  # run as a script: tests/campaigns/ is on the path, tests/ not yet
    import common

# How much to fuzz. frames_fuzzed counts every frame the device judged (each stretch of
# bytes up to a 0x00 delimiter, and each oversize run), probes excluded.
SHORT_FRAMES = 80_000
LONG_FRAMES = 1_200_000
SHORT_EXAMPLES = 100  # hypothesis examples per device (each a list of up to 40 frames)
LONG_EXAMPLES = 2_500

FRAMES_PER_CHUNK = 48  # frames fed between two steps of the device
CHUNKS_PER_BATCH = 20  # chunks between two "does it still answer" probes
STEP_MS = 10  # simulated time per device step
HEARTBEAT_WAIT_MS = 700  # a heartbeat is due every 500 ms
ANSWER_WAIT_MS = 60  # "within a few simulated milliseconds" (one step is 10 ms)
START_MS = 1000

# The receiver's counters, named as protocol.Stats names them (the reference below counts
# them its own way; only the names are shared, so that the two can be compared).
REJECTIONS = REJECTION_COUNTERS
STAT_FIELDS = ("frames_ok", *REJECTIONS, "duplicates")
SOURCES = ("random_stream", "mutated", "mutated_resealed", "hypothesis")
# Where the board's reading order departs from PROTOCOL.md (see Reference).
DEVIATIONS = (
    "judged_under_replaced_key",
    "accepted_under_replaced_key",
    "arms_under_replaced_key",
    "duplicates_given_another_reply",
    "retransmits_dropped_early",
)
MUST_BE_ZERO = (
    "spurious_arms",
    "spurious_fires",
    "crashes",
    "unanswered_after",
    "reference_disagreements",
    # a frame the key in force refuses must not be acted on, least of all an ARM
    "accepted_under_replaced_key",
    "arms_under_replaced_key",
)
RECORDS_KEPT = 3  # findings kept per kind, each with (the start of) its input in hex
INPUT_KEPT_BYTES = 256

# --- the reference receiver: PROTOCOL.md sections 2-7, written apart from protocol/ -----------
MAX_ENCODED_BODY = C.MAX_ENCODED - 1  # longest COBS frame without its delimiter
DEVICE_RX_HEADER = C.PROTOCOL_VERSION << 4  # version 1, reserved bit and FROM_DEVICE clear
# type -> (min, max, step) of the payload length, for the types a device may receive
TO_DEVICE_RULES = {
    row[0]: (row[2], row[3], row[4]) for row in C.MESSAGE_TABLE if row[1] & C.TO_DEVICE
}
REPLAY_WINDOW = 64
ZERO_KEY = bytes(32)
# How the board reads (firmware/app.py: a 64-byte rx buffer, a Connection with 4 frame slots).
READ_BYTES = 64
FRAME_SLOTS = 4


def cobs_decode(seg):
    """One COBS frame (no delimiter, no zero inside) -> the decoded bytes, or None if malformed."""
    out = bytearray()
    i = 0
    n = len(seg)
    while i < n:
        code = seg[i]
        end = i + code
        if end > n:
            return None
        out += seg[i + 1 : end]
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return out


def frame_mac(key, signed):
    return hmac.new(key, signed, hashlib.sha256).digest()[: C.MAC_LEN]


def crc_bytes(data):
    return struct.pack("<I", binascii.crc32(data))


def remembers_reply(msg_type, seq):
    """True when the device keeps its reply to this accepted command for a retransmit (7.2)."""
    if msg_type == C.HEARTBEAT or msg_type == C.FLIGHT_LIST:
        return False  # no reply (a list is answered by FLIGHT_INFO frames later)
    if msg_type == C.GET_STATUS:
        return seq != 0xFFFF  # the device's STATUS says re_seq 0xFFFF for "unsolicited"
    return True  # every other command gets one ACK, NAK or answer (FIRE: NAK, it never fires)


class Reference:
    """What a device built from PROTOCOL.md accepts, frame by frame, and the dispatch effects
    that change what it accepts next (a SET_KEY, the reply cache) or whether it arms.

    It reads as the board does, because the board's reading order changes verdicts:
    the App reads the port READ_BYTES at a time and the Connection checks every frame in
    a read (up to FRAME_SLOTS accepted ones) before the App dispatches any of them. So a
    frame is checked under the key and reply cache as they were before the frames queued
    ahead of it were dispatched. PROTOCOL.md says the new key applies "from the next frame
    on" and a DUPLICATE gets the reply to its own sequence; where the reading order makes
    the device differ from that, the deviation counts below say how often.

    checked_ahead: how many accepted frames of one read are checked before the first is
    dispatched: FRAME_SLOTS for the board as it reads now, 1 for a board that dispatches
    each frame before checking the next (what PROTOCOL.md describes); see checked_ahead().

    The pad's state at the start of each device step is taken from the device
    (begin_step): only what frames do within one step is predicted here.
    """

    def __init__(self, session, key, channels, checked_ahead=FRAME_SLOTS):
        self.session_bytes = struct.pack("<I", session)
        self.key = key
        self.channels = channels
        self.checked_ahead = checked_ahead  # frames of one read checked before any is dispatched
        self.counts = dict.fromkeys(STAT_FIELDS, 0)
        self.segments = 0  # frames judged
        self.pending = bytearray()  # a frame not yet ended by its 0x00
        self.discarding = False  # skipping an oversize frame up to its 0x00
        self.last_seq = -1  # newest sequence accepted
        self.seen = set()  # sequences accepted, pruned to the window
        self.reply_seq = -1  # the command whose reply the device keeps for retransmits
        self.queued = []  # accepted, not yet dispatched: (duplicate, type, seq, flags, body)
        self.key_changes = 0
        # where the board's reading order departs from PROTOCOL.md
        self.judged_under_replaced_key = 0  # checked under a key a SET_KEY ahead had replaced
        self.accepted_under_replaced_key = 0  # ...and accepted, though the new key refuses it
        self.arms_under_replaced_key = 0  # ...and it was an ARM that armed the pad
        self.duplicates_given_another_reply = 0  # DUPLICATE answered with a newer command's reply
        self.retransmits_dropped_early = 0  # dropped as replay, its command's reply not yet cached
        self.begin_step(C.STATE_SAFE, 0, False, 0, True)

    def new_session(self, session):
        """The device rolled over to a fresh nonce (PROTOCOL.md 6.4): its replay state starts over."""
        self.session_bytes = struct.pack("<I", session)
        self.last_seq = -1
        self.seen.clear()

    def begin_step(self, state, armed_mask, lapsed, connected_mask, key_on):
        self.state = state
        self.armed_mask = armed_mask
        self.lapsed = lapsed  # ARMED past its lapse deadline, not yet ticked SAFE
        self.connected_mask = connected_mask
        self.key_on = key_on
        self.arm_frames = 0  # ARM frames dispatched (kind FRAME) this step
        self.arms = 0  # of those, the ones that arm the pad
        self.fire_tokens = []  # tokens of the FIRE frames dispatched this step

    # --- bytes to frames (section 2), in the board's reads ----------------------------------
    def feed(self, data):
        """The bytes one device step reads (all that was fed since the last step)."""
        for start in range(0, len(data), READ_BYTES):
            self._feed_read(data, start, min(len(data), start + READ_BYTES))
            self._dispatch_queued()

    def _feed_read(self, data, pos, n):
        while pos < n:
            z = data.find(b"\x00", pos, n)
            if z < 0:
                if not self.discarding:
                    if len(self.pending) + n - pos > MAX_ENCODED_BODY:
                        self.pending.clear()
                        self.discarding = True
                        self._reject("oversize")
                    else:
                        self.pending += data[pos:n]
                return
            if self.discarding:
                self.discarding = False
            elif self.pending:
                if len(self.pending) + z - pos > MAX_ENCODED_BODY:
                    self._reject("oversize")
                else:
                    self.pending += data[pos:z]
                    self._judge(bytes(self.pending))
                self.pending.clear()
            elif z - pos > MAX_ENCODED_BODY:
                self._reject("oversize")
            elif z > pos:
                self._judge(data[pos:z])
            pos = z + 1

    def _reject(self, counter):
        self.segments += 1
        self.counts[counter] += 1

    # --- the checks, in order (section 4) --------------------------------------------------
    def _mac_refused(self, key, body, msg_type, has_mac, end):
        """Check 6 under `key`: True when the frame fails it."""
        if has_mac:
            return key is None or not hmac.compare_digest(
                frame_mac(key, bytes(body[:end])), bytes(body[end : end + C.MAC_LEN]))
        return key is not None and msg_type not in C.MAC_EXEMPT

    def _judge(self, seg):
        body = cobs_decode(seg)
        if body is None:
            return self._reject("cobs_errors")
        n = len(body)
        if n > C.MAX_FRAME:
            return self._reject("oversize")
        if n < C.MIN_FRAME:
            return self._reject("length_errors")
        if binascii.crc32(body[:-4]) != int.from_bytes(body[-4:], "little"):
            return self._reject("crc_errors")
        vf = body[0]
        if vf & 0xFC != DEVICE_RX_HEADER:
            return self._reject("header_errors")
        msg_type = body[1]
        plen = body[8]
        has_mac = vf & C.FLAG_MAC
        rule = TO_DEVICE_RULES.get(msg_type)
        if (
            rule is None
            or n != C.MIN_FRAME + plen + (C.MAC_LEN if has_mac else 0)
            or not rule[0] <= plen <= rule[1]
            or (plen - rule[0]) % rule[2]
        ):
            return self._reject("type_errors")
        if self._mac_refused(self.key, body, msg_type, has_mac, C.HEADER_LEN + plen):
            return self._reject("mac_errors")
        if body[4:8] != self.session_bytes:
            return self._reject("session_errors")
        seq = body[2] | body[3] << 8
        duplicate = False
        # an unauthenticated ABORT/DISARM on a keyed link never touches the window (6.3)
        if (has_mac or self.key is None) and not self._fresh(seq):
            if vf & C.FLAG_RETRANSMIT and self.reply_seq == seq:
                duplicate = True  # answered from the reply cache, run again never (7.2)
            else:
                if vf & C.FLAG_RETRANSMIT and any(
                    not q[0] and q[2] == seq and remembers_reply(q[1], seq) for q in self.queued
                ):
                    self.retransmits_dropped_early += 1
                return self._reject("replays")
        self.segments += 1
        self.counts["frames_ok"] += 1
        if duplicate:
            self.counts["duplicates"] += 1
        self.queued.append((duplicate, msg_type, seq, has_mac, body))
        if len(self.queued) == self.checked_ahead:
            self._dispatch_queued()  # the slots are full: the board dispatches before reading on

    def _fresh(self, seq):
        """The replay window (6.3): accept and record `seq`, or False if seen or too old."""
        last = self.last_seq
        if last >= 0:
            ahead = (seq - last) & 0xFFFF
            if not 0 < ahead < 0x8000:
                if (last - seq) & 0xFFFF >= REPLAY_WINDOW or seq in self.seen:
                    return False
                self.seen.add(seq)
                return True
            if ahead >= REPLAY_WINDOW:
                self.seen.clear()  # everything seen before is now out of the window
            elif len(self.seen) > 2 * REPLAY_WINDOW:
                self.seen = {s for s in self.seen if (seq - s) & 0xFFFF < REPLAY_WINDOW}
        self.seen.add(seq)
        self.last_seq = seq
        return True

    # --- what the device does with an accepted frame, as far as it matters here ---------
    def _dispatch_queued(self):
        checked_key = self.key  # every queued frame was checked under this key
        checked_reply = self.reply_seq
        for duplicate, msg_type, seq, has_mac, body in self.queued:
            end = C.HEADER_LEN + body[8]
            replaced = self.key != checked_key
            refused_now = replaced and self._mac_refused(self.key, body, msg_type, has_mac, end)
            if replaced:
                self.judged_under_replaced_key += 1
                self.accepted_under_replaced_key += refused_now
            if duplicate:
                if self.reply_seq != checked_reply:
                    self.duplicates_given_another_reply += 1
                continue
            arms = self.arms
            self._dispatch(msg_type, seq, body[C.PAYLOAD_OFFSET : end])
            if refused_now and self.arms > arms:
                self.arms_under_replaced_key += 1
        self.queued.clear()

    def _dispatch(self, msg_type, seq, payload):
        if msg_type == C.ARM:
            self.arm_frames += 1
            mask, flags = payload[0], payload[1]
            if (
                self.state == C.STATE_SAFE
                and self.key_on
                and mask
                and not mask >> self.channels
                and (flags & C.ARM_OVERRIDE_CONTINUITY or not mask & ~self.connected_mask)
            ):
                self.state = C.STATE_ARMED
                self.armed_mask = mask
                self.lapsed = False
                self.arms += 1
        elif msg_type == C.FIRE:
            if self.state == C.STATE_ARMED and self.lapsed:
                self.state = C.STATE_SAFE  # the ARM lapsed: refused, and the pad made SAFE
            self.fire_tokens.append(bytes(payload[:4]))
        elif msg_type == C.DISARM or msg_type == C.ABORT:
            self.state = C.STATE_SAFE
        elif msg_type == C.SET_KEY and self.state == C.STATE_SAFE:  # the sim's link is wired
            new_key = bytes(payload[:32])
            self.key = None if new_key == ZERO_KEY else new_key
            self.key_changes += 1
        if remembers_reply(msg_type, seq):
            self.reply_seq = seq


_checked_ahead = []


def checked_ahead():
    """FRAME_SLOTS if the firmware checks the frames of one read before dispatching any, else 1.

    Measured once on a scratch device: a SET_KEY and an unsigned GET_STATUS in one write.
    Checked under the key being replaced, the GET_STATUS passes. The reference reads the same
    way, so a firmware that dispatches frame by frame (the fix) is modelled as well.
    """
    if not _checked_ahead:
        clock = ManualClock(START_MS)
        dev = SimDevice(clock=clock, seed=0)
        try:
            dev.step(clock.advance(STEP_MS))
            gnd = Connection(ROLE_GROUND)
            gnd.set_session(Harness.session_from_wire(dev.read_output()))
            dev.feed(gnd.send(M.SetKey(bytes(range(1, 33)))) + gnd.send(M.GetStatus()))
            dev.step(clock.advance(STEP_MS))
            _checked_ahead.append(FRAME_SLOTS if dev.app.conn.stats.frames_ok == 2 else 1)
        finally:
            dev.close()
    return _checked_ahead[0]


# --- the harness: one device, the reference beside it, the oracles ------------------------
class Counts:
    """What one campaign run measured (summed over devices)."""

    def __init__(self):
        self.by_source = dict.fromkeys(SOURCES, 0)
        self.by_device = {}
        self.by_sender = {}  # frames per sender: plain, operator, intruder..., hypothesis
        self.genuine_arms_by_sender = {}
        self.bytes_fuzzed = 0
        self.spurious_arms = 0
        self.spurious_fires = 0
        self.crashes = 0
        self.unanswered_after = 0
        self.reference_disagreements = 0
        self.genuine_arms = 0
        self.live_token_fires = 0
        self.genuine_key_changes = 0
        self.probes = 0
        self.sessions_rolled = 0
        self.probe_frames = 0
        self.hypothesis_examples = 0
        self.device_stats = dict.fromkeys(STAT_FIELDS, 0)  # each device's, added when retired
        self.deviations = dict.fromkeys(DEVIATIONS, 0)  # each reference's, added when retired
        self.findings = []  # records of anything that must not happen, with its input

    def record(self, kind, harness, data, **detail):
        if sum(1 for f in self.findings if f["kind"] == kind) >= RECORDS_KEPT:
            return
        entry = {"kind": kind, "device": harness.name, "device_seed": harness.device_seed,
                 "input_hex": bytes(data[:INPUT_KEPT_BYTES]).hex(), "input_len": len(data)}
        entry.update(detail)
        self.findings.append(entry)


class Harness:
    """A SimDevice on a ManualClock with the Reference fed the same bytes.

    name: what the report calls it. device_key: None (unkeyed) or the device's 32-byte key.
    """

    def __init__(self, name, device_key, seed, counts=None):
        self.name = name
        self.home_key = device_key
        self.counts = counts if counts is not None else Counts()
        self.counts.by_device.setdefault(name, 0)
        self.seed = seed
        self.boots = 0
        self.stale_tokens = [bytes(4)]  # tokens of arms that are over
        self._armed_token = None  # the token of the arm that may still be live
        self.sender = "plain"  # who the fuzzer speaks as (Fuzzer.use), for the counts
        self.dev = None
        self._boot()

    # --- life and death of the device ---------------------------------------------------------
    def _retire(self):
        """Add what the device and the reference counted to the campaign's totals."""
        stats = self.dev.app.conn.stats
        for name in STAT_FIELDS:
            self.counts.device_stats[name] += getattr(stats, name)
        for name in DEVIATIONS:
            self.counts.deviations[name] += getattr(self.ref, name)
        self.dev.close()

    def _boot(self):
        if self.dev is not None:
            self._retire()
        self.device_seed = self.seed * 1000 + self.boots
        self.boots += 1
        self.clock = ManualClock(START_MS)
        self.dev = SimDevice(clock=self.clock, seed=self.device_seed, key_on=True,
                             device_key=self.home_key)
        self.now = START_MS
        # good igniters read CONNECTED within a few ticks: then only the protocol is in the way
        for _ in range(50):
            self._advance()
            self.dev.step(self.now)
            if all(c == C.CONT_CONNECTED for c in self.dev.app.continuity.cls):
                break
        else:
            raise RuntimeError("the simulated e-matches never read CONNECTED")
        self.session = self.session_from_wire(self.dev.read_output())
        self.ref = Reference(self.session, self.home_key, self.dev.hal.channels, checked_ahead())

    def _advance(self, ms=STEP_MS):
        self.now = self.clock.advance(ms)
        return self.now

    @staticmethod
    def session_from_wire(data):
        """The session nonce, read from the header of the device's first frame (it is sent clear)."""
        for seg in bytes(data).split(b"\x00"):
            body = cobs_decode(seg) if seg else None
            if body is not None and len(body) >= C.MIN_FRAME:
                return int.from_bytes(body[4:8], "little")
        raise RuntimeError("the device sent no frame at boot")

    def close(self):
        if self.dev is not None:
            self._retire()
            self.dev = None

    # --- one device step, and every oracle -------------------------------------------------------
    def step(self, data, source):
        """Feed `data` to the device and the reference, step the device once, check the oracles.

        Returns the device's output bytes. source: one of SOURCES, or "probe".
        """
        counts = self.counts
        dev = self.dev
        app = dev.app
        ctl = app.controller
        ref = self.ref
        now = self._advance()
        state0 = ctl.state
        connected = 0
        for ch, cls in enumerate(app.continuity.cls):
            if cls == C.CONT_CONNECTED:
                connected |= 1 << ch
        lapsed = state0 == C.STATE_ARMED and ctl.arm_remaining_ms(now) == 0
        ref.begin_step(state0, ctl.armed_mask, lapsed, connected, dev.hal.arm_key() == KEY_ON)
        judged0 = ref.segments
        key_changes0 = ref.key_changes
        replaced0 = (ref.accepted_under_replaced_key, ref.arms_under_replaced_key)
        ref.feed(data)
        token0 = bytes(ctl.token)
        edges0 = len(dev.hal.edges)
        dev.feed(data)
        try:
            dev.step(now)
        except Exception as exc:  # the finding this campaign exists for: record it, go on
            counts.crashes += 1
            counts.record("crash", self, data, source=source,
                          error="%s: %s" % (type(exc).__name__, exc))
            self._boot()
            return b""
        out = dev.read_output()
        if app.conn.session != self.session:  # rolled over at the end of the step (6.4)
            self.session = app.conn.session
            ref.new_session(self.session)
            counts.sessions_rolled += 1
        frames = ref.segments - judged0
        if source == "probe":
            counts.probe_frames += frames
        else:
            counts.by_source[source] += frames
            counts.by_device[self.name] += frames
            counts.by_sender[self.sender] = counts.by_sender.get(self.sender, 0) + frames
            counts.bytes_fuzzed += len(data)
            counts.genuine_key_changes += ref.key_changes - key_changes0
        if ref.arms_under_replaced_key > replaced0[1]:
            counts.record("arm_under_replaced_key", self, data, source=source)
        elif ref.accepted_under_replaced_key > replaced0[0]:
            counts.record("accepted_under_replaced_key", self, data, source=source)
        token = bytes(ctl.token)
        armed = token != token0 or (
            state0 == C.STATE_SAFE and ctl.state in (C.STATE_ARMED, C.STATE_FIRING)
        )
        if armed:
            if ref.arm_frames == 0:
                counts.spurious_arms += 1
                counts.record("spurious_arm", self, data, source=source)
            else:
                counts.genuine_arms += 1
                by = counts.genuine_arms_by_sender
                by[self.sender] = by.get(self.sender, 0) + 1
            if self._armed_token is not None:
                self.stale_tokens.append(self._armed_token)
            self._armed_token = token
        live = {token} if ctl.state != C.STATE_SAFE else set()
        if state0 != C.STATE_SAFE:
            live.add(token0)
        counts.live_token_fires += sum(1 for t in ref.fire_tokens if t in live)
        edges = dev.hal.edges
        if len(edges) > edges0:
            on = sum(1 for e in edges[edges0:] if e[2])
            if on:
                counts.spurious_fires += on
                counts.record("output_on", self, data, source=source, edges=on)
        if ctl.state == C.STATE_SAFE and self._armed_token is not None:
            self.stale_tokens.append(self._armed_token)  # that arm is over: its token is dead
            self._armed_token = None
            del self.stale_tokens[:-16]
        self._compare(data, source, armed, ctl)
        return out

    def _compare(self, data, source, armed, ctl):
        """Device and reference must agree on every count, the replay position, the key, arming."""
        ref = self.ref
        conn = self.dev.app.conn
        stats = conn.stats
        differ = [name for name in STAT_FIELDS if getattr(stats, name) != ref.counts[name]]
        if conn.last_rx_seq != ref.last_seq:
            differ.append("last_rx_seq")
        if conn.keyed != (ref.key is not None):
            differ.append("keyed")
        if armed != (ref.arms > 0):
            differ.append("armed")
        if ctl.state != C.STATE_SAFE and ref.state == C.STATE_SAFE:
            differ.append("state")
        if differ:
            self.counts.reference_disagreements += 1
            self.counts.record(
                "disagreement", self, data, source=source, fields=differ,
                device_counts={n: getattr(stats, n) for n in STAT_FIELDS},
                reference_counts=dict(ref.counts),
            )
            self._boot()  # start clean, so one disagreement is counted once

    # --- "the device still answers" ----------------------------------------------------------------
    def probe(self):
        """A fresh legitimate ground connects, asks GET_STATUS and must get STATUS.

        It also leaves the pad as a batch should find it: SAFE, holding its own key.
        Returns True when the device answered.
        """
        counts = self.counts
        counts.probes += 1
        gnd = Connection(ROLE_GROUND, key=self.ref.key)  # what the pad holds now
        # a lone 0x00 ends whatever half frame is buffered, as ground/link.py does on open
        out = self.step(b"\x00", "probe")
        heartbeat = self._await(gnd, HEARTBEAT_WAIT_MS, lambda m: isinstance(m, M.Heartbeat), out)
        ok = heartbeat is not None
        if ok:
            # continue past the last sequence the device accepted, as ground/client.py does
            gnd.next_seq = (heartbeat.last_rx_seq + 1) & 0xFFFF
            status = self._command(gnd, M.GetStatus(), M.Status)
            ok = status is not None
            if ok and status.state != C.STATE_SAFE:
                ok = self._command(gnd, M.Disarm(), M.Ack) is not None
            if ok and self.ref.key != self.home_key:
                ok = self._command(gnd, M.SetKey(self.home_key or ZERO_KEY), M.Ack) is not None
        if not ok:
            counts.unanswered_after += 1
            counts.record("unanswered", self, b"",
                          state=C.STATE_NAMES[self.dev.app.controller.state])
            self._boot()
        return ok

    def _command(self, gnd, msg, reply_cls):
        """Send one command from the probe's ground; its reply, or None."""
        out = self.step(gnd.send(msg), "probe")
        seq = gnd.last_tx_seq
        return self._await(gnd, ANSWER_WAIT_MS,
                           lambda m: isinstance(m, reply_cls) and m.re_seq == seq, out)

    def _await(self, gnd, wait_ms, wanted, out=b""):
        """Step the device for up to wait_ms; the first message from it that `wanted` accepts."""
        for _ in range(0, wait_ms + STEP_MS, STEP_MS):
            pos = 0
            while pos < len(out):
                pos += gnd.receive_data(out, -1, pos)
                while (frame := gnd.next_event()) is not None:
                    try:
                        msg = M.decode(frame)
                    except RemoteProtocolError:
                        continue
                    if wanted(msg):
                        return msg
            out = self.step(b"", "probe")
        return None


# --- the sources -------------------------------------------------------------------------------
GROUND_TYPES = tuple(sorted(TO_DEVICE_RULES))


def _token(rng, harness):
    """An arm token the fuzzer might hold: one of an arm that is over, garbage, or zeros."""
    r = rng.random()
    if r < 0.6:
        return rng.choice(harness.stale_tokens)
    if r < 0.9:
        return rng.randbytes(4)
    return bytes(4) if r < 0.95 else b"\xff" * 4


def _mask(rng):
    return rng.choice((1, 2, 3, 1, 3, rng.randrange(256)))


def _fire(rng, harness):
    mask = rng.choice((1, 2, 3))
    return M.Fire(_token(rng, harness), mask, mask ^ 0xFF)  # the mask and its inverse


def _config_set(rng, harness):
    key = rng.choice(sorted(CONFIG))
    lo, hi = CONFIG[key][0], CONFIG[key][1]
    value = rng.randint(lo, hi) if rng.random() < 0.8 else rng.randrange(-(2**31), 2**31)
    return M.ConfigSet(key if rng.random() < 0.9 else rng.randrange(256), value)


# (weight, message type, builder(rng, harness) -> Message): what the mutation fuzzer starts from
BASE_MESSAGES = (
    (20, C.ARM, lambda rng, h: M.Arm(_mask(rng), rng.choice((0, 0, 0, 1, rng.randrange(256))))),
    (20, C.FIRE, _fire),
    (8, C.ARM_REFRESH, lambda rng, h: M.ArmRefresh(_token(rng, h))),
    (6, C.DISARM, lambda rng, h: M.Disarm()),
    (3, C.ABORT, lambda rng, h: M.Abort()),
    (6, C.FLIGHT_ERASE, lambda rng, h: M.FlightErase(
        rng.choice((0, 1, C.ERASE_ALL, rng.randrange(65536))), C.ERASE_CONFIRM)),
    (6, C.CONFIG_SET, _config_set),
    (6, C.SET_KEY, lambda rng, h: M.SetKey(rng.randbytes(32) if rng.random() < 0.7 else ZERO_KEY)),
    (4, C.GET_STATUS, lambda rng, h: M.GetStatus()),
    (5, C.HEARTBEAT, lambda rng, h: M.Heartbeat(0, 0, rng.randrange(65536))),
    (2, C.IGNITER_TEST, lambda rng, h: M.IgniterTest(rng.randrange(4))),
    (2, C.CONFIG_GET, lambda rng, h: M.ConfigGet(rng.randrange(8))),
    (2, C.FLIGHT_READ, lambda rng, h: M.FlightRead(rng.randrange(3), rng.randrange(512),
                                                      rng.randrange(1, 1024))),
    (1, C.FLIGHT_LIST, lambda rng, h: M.FlightList()),
    (1, C.GET_DEVICE_INFO, lambda rng, h: M.GetDeviceInfo()),
    (1, C.GET_LINK_STATS, lambda rng, h: M.GetLinkStats()),
)
BASE_BUILDERS = tuple(row[2] for row in BASE_MESSAGES)
BASE_WEIGHTS = tuple(row[0] for row in BASE_MESSAGES)
BUILDER_BY_TYPE = {row[1]: row[2] for row in BASE_MESSAGES}


# Mutations of an encoded frame (bytearray, delimiter included); `other` is a second frame.
def _flip_bits(rng, b, other):
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)


def _replace_bytes(rng, b, other):
    for _ in range(rng.choice((1, 1, 2, 4))):
        b[rng.randrange(len(b))] = rng.randrange(256)


def _insert_bytes(rng, b, other):
    i = rng.randrange(len(b) + 1)
    b[i:i] = rng.randbytes(rng.choice((1, 1, 2, 4, 16)))


def _delete_bytes(rng, b, other):
    i = rng.randrange(len(b))
    del b[i : i + rng.choice((1, 1, 2, 4, 16))]


def _truncate(rng, b, other):
    del b[rng.randrange(len(b)) :]  # the delimiter goes too: it runs into the next frame


def _splice(rng, b, other):
    b[rng.randrange(len(b)) :] = other[rng.randrange(len(other)) :]


def _delimiters(rng, b, other):
    """Extra 0x00s: doubled delimiters, or a frame cut in two."""
    for _ in range(rng.choice((1, 1, 2))):
        i = rng.choice((0, len(b), rng.randrange(len(b) + 1)))
        b[i:i] = b"\x00" * rng.choice((1, 1, 2))


def _duplicate(rng, b, other):
    b += bytes(b)  # the same frame twice, back to back: the second is a replay


def _repeat_block(rng, b, other):
    i = rng.randrange(len(b))
    j = min(len(b), i + rng.randrange(1, 9))
    b[i:i] = b[i:j]


RAW_MUTATIONS = (_flip_bits, _replace_bytes, _insert_bytes, _delete_bytes, _truncate, _splice,
                 _delimiters, _duplicate, _repeat_block)


# Mutations of a decoded frame (bytearray: header, payload, [MAC], CRC).
def _version(rng, body):
    body[0] = rng.randrange(16) << 4 | body[0] & 0x0F


def _flag(rng, body):
    body[0] ^= 1 << rng.randrange(4)  # retransmit, MAC, from-device, reserved


def _type(rng, body):
    body[1] = rng.choice(GROUND_TYPES) if rng.random() < 0.7 else rng.randrange(256)


def _seq(rng, body):
    seq = body[2] | body[3] << 8
    seq = (seq + rng.choice((-1, 1, -64, 64, 0x8000))) & 0xFFFF if rng.random() < 0.5 else (
        rng.randrange(65536))
    body[2] = seq & 0xFF
    body[3] = seq >> 8


def _session(rng, body):
    body[4 + rng.randrange(4)] ^= 1 << rng.randrange(8)


def _length(rng, body):
    body[8] = (body[8] + rng.choice((-1, 1, 2, -16, 16))) & 0xFF if rng.random() < 0.7 else (
        rng.randrange(256))


def _payload_byte(rng, body):
    n = body[8]
    if n and len(body) > C.PAYLOAD_OFFSET + n:
        i = C.PAYLOAD_OFFSET + rng.randrange(n)
        body[i] = body[i] ^ (1 << rng.randrange(8)) if rng.random() < 0.5 else rng.randrange(256)


def _fire_masks(rng, body):
    """FIRE: the mask or its inverse changed by one bit, or the two swapped."""
    if body[1] == C.FIRE and len(body) >= C.PAYLOAD_OFFSET + 6:
        p = C.PAYLOAD_OFFSET + 4
        r = rng.random()
        if r < 0.4:
            body[p] ^= 1 << rng.randrange(8)
        elif r < 0.8:
            body[p + 1] ^= 1 << rng.randrange(8)
        else:
            body[p], body[p + 1] = body[p + 1], body[p]


def _cut_body(rng, body):
    del body[rng.randrange(len(body)) :]


def _grow_body(rng, body):
    i = max(0, len(body) - 4)
    body[i:i] = rng.randbytes(rng.choice((1, 2, 16, 200)))


def _mac_byte(rng, body):
    if body[0] & C.FLAG_MAC and len(body) >= C.MIN_FRAME + C.MAC_LEN:
        body[len(body) - 4 - rng.randrange(1, C.MAC_LEN + 1)] ^= 1 << rng.randrange(8)


BODY_MUTATIONS = (_version, _flag, _type, _seq, _session, _length, _payload_byte, _payload_byte,
                  _fire_masks, _fire_masks, _cut_body, _grow_body, _mac_byte)


def mutate_body(rng, body):
    """One of BODY_MUTATIONS, while the header is still there to mutate."""
    if len(body) > C.HEADER_LEN:
        rng.choice(BODY_MUTATIONS)(rng, body)


def reseal(body, key):
    """Compute the MAC (if the flag says there is one and `key` is held) and the CRC again."""
    n = body[8] if len(body) > 8 else 0
    end = C.HEADER_LEN + n
    if key is not None and body and body[0] & C.FLAG_MAC and len(body) >= end + C.MAC_LEN + 4:
        body[end : end + C.MAC_LEN] = frame_mac(key, bytes(body[:end]))
    if len(body) >= 4:
        body[-4:] = crc_bytes(bytes(body[:-4]))


class Fuzzer:
    """Makes the input for one harness. personas: (name, key) senders it speaks as, one per batch:
    key is what that sender signs with (None: no MAC)."""

    def __init__(self, harness, personas, rng):
        self.harness = harness
        self.rng = rng
        self.personas = personas
        self.wrong_key = rng.randbytes(32)
        self.conns = {name: Connection(ROLE_GROUND, key=key) for name, key in personas}
        self.persona = personas[0]
        self.conn = self.conns[self.persona[0]]

    def use(self, persona):
        """Speak as `persona` from now on, in the device's current session."""
        self.persona = persona
        self.conn = self.conns[persona[0]]
        self.harness.sender = persona[0]
        if not self.conn.session_known or self.conn.session != self.harness.session:
            self.conn.set_session(self.harness.session)  # read off the wire: sessions go clear

    def batch(self, chunks):
        rng = self.rng
        self.use(rng.choice(self.personas))
        h = self.harness
        for _ in range(chunks):
            r = rng.random()
            if r < 0.2:
                h.step(self.random_stream(), "random_stream")
            elif r < 0.6:
                h.step(self.mutated(False), "mutated")
            else:
                h.step(self.mutated(True), "mutated_resealed")
            if h.session != self.conn.session:  # a fresh device after a finding
                self.use(self.persona)

    # --- (a) random byte streams -----------------------------------------------------------------
    def random_stream(self):
        rng = self.rng
        kind = rng.randrange(6)
        if kind == 0:  # noise: a 0x00 about every 256 bytes
            return rng.randbytes(rng.randrange(200, 6000))
        if kind == 1:  # no delimiter at all: oversize, then skipped to the next 0x00
            return rng.randbytes(rng.randrange(100, 3000)).replace(b"\x00", b"\xa5")
        parts = []
        for _ in range(FRAMES_PER_CHUNK):
            if kind == 2:  # short runs, each ended by a 0x00
                parts.append(rng.randbytes(rng.randrange(1, 40)).replace(b"\x00", b"\x01") + b"\x00")
            elif kind == 3:  # valid COBS around random bytes
                parts.append(cobs.encode(rng.randbytes(rng.randrange(0, 80))))
            elif kind == 4:  # random bytes with a good CRC
                body = rng.randbytes(rng.randrange(9, 80))
                parts.append(cobs.encode(body + crc_bytes(body)))
            else:  # a plausible header for this session, random rest, good CRC
                body = bytearray(rng.randbytes(rng.randrange(9, 80)))
                body[0] = C.PROTOCOL_VERSION << 4 | rng.randrange(4)
                body[1] = rng.choice(GROUND_TYPES)
                body[4:8] = self.harness.ref.session_bytes
                if rng.random() < 0.5:
                    body[8] = len(body) - C.HEADER_LEN
                parts.append(cobs.encode(bytes(body) + crc_bytes(body)))
        return b"".join(parts)

    # --- (b) mutations of valid frames -----------------------------------------------------------
    def base_frame(self):
        """A valid frame from the current persona: (encoded bytes, decoded bytearray)."""
        rng = self.rng
        h = self.harness
        conn = self.conn
        msg = rng.choices(BASE_BUILDERS, BASE_WEIGHTS)[0](rng, h)
        last = h.ref.last_seq
        r = rng.random()
        flags = 0
        seq = -1  # the connection's own next sequence: fresh
        if r < 0.12:
            seq = (last + 1 + rng.randrange(1, 200)) & 0xFFFF  # ahead
        elif r < 0.2:
            seq = (last - rng.randrange(0, 80)) & 0xFFFF  # behind: replays, or in-window gaps
        elif r < 0.23:
            seq = rng.randrange(65536)
        elif r < 0.28 and h.ref.reply_seq >= 0:
            flags = C.FLAG_RETRANSMIT  # a resend of the command answered last: a duplicate
            seq = h.ref.reply_seq
        data = conn.send(msg, flags, seq)
        n = C.HEADER_LEN + conn.tx[8] + (C.MAC_LEN if conn.keyed else 0) + C.CRC_LEN
        return data, bytearray(conn.tx[:n])

    def mutated(self, resealed):
        rng = self.rng
        conn = self.conn
        conn.next_seq = (self.harness.ref.last_seq + 1) & 0xFFFF
        key = self.persona[1]
        parts = []
        for _ in range(FRAMES_PER_CHUNK):
            data, body = self.base_frame()
            if not resealed:
                if rng.random() < 0.02:
                    parts.append(data)  # now and then one arrives intact
                    continue
                if rng.random() < 0.7:
                    b = bytearray(data)
                    other = parts[-1] if parts and parts[-1] else data
                    for _ in range(rng.choice((1, 1, 1, 2, 3))):
                        if b:
                            rng.choice(RAW_MUTATIONS)(rng, b, other)
                    parts.append(bytes(b))
                    continue
                # a header or payload field changed, the CRC left as it was
                mutate_body(rng, body)
                parts.append(cobs.encode(body))
                continue
            for _ in range(rng.choice((1, 1, 2))):
                mutate_body(rng, body)
            reseal(body, key if rng.random() < 0.9 else self.wrong_key)
            b = bytearray(cobs.encode(body))
            if rng.random() < 0.15:
                rng.choice((_delimiters, _duplicate))(rng, b, b)
            parts.append(bytes(b))
        return b"".join(parts)

    # --- (c) structured frames from hypothesis recipes -----------------------------------------
    def build(self, recipe):
        """The encoded frame a frame_recipes() example describes, for this device now."""
        (version, flags, msg_type, (seq_relative, seq_value), session, payload, length,
         mac_mode, shape_seed) = recipe
        h = self.harness
        if shape_seed is not None and msg_type in BUILDER_BY_TYPE:
            payload = BUILDER_BY_TYPE[msg_type](random.Random(shape_seed), h).pack()
        if length == "type":
            rule = TO_DEVICE_RULES.get(msg_type)
            payload = (payload + bytes(64))[: rule[0]] if rule else payload
        n = len(payload) if length in ("type", "natural") else length
        seq = (h.ref.last_seq + 1 + seq_value) & 0xFFFF if seq_relative else seq_value
        vf = version << 4 | (flags & ~C.FLAG_MAC & 0x0F)
        if mac_mode != "none":
            vf |= C.FLAG_MAC
        body = struct.pack("<BBHIB", vf, msg_type, seq,
                           h.session if session is None else session, n) + payload
        if mac_mode == "key":
            body += frame_mac(h.ref.key or self.wrong_key, body)
        elif mac_mode == "wrong_key":
            body += frame_mac(self.wrong_key, body)
        return cobs.encode(body + crc_bytes(body))


def frame_recipes():
    """A hypothesis strategy: one frame with valid COBS and CRC and anything inside.

    (version, flags, type, (relative?, seq), session or None for the device's, payload,
    length ("natural", "type" or a number), MAC ("none", "key", "wrong_key", "flag_only"),
    seed of a well-formed payload for the type or None)."""
    from hypothesis import strategies as st

    return st.tuples(
        st.one_of(st.just(C.PROTOCOL_VERSION), st.integers(0, 15)),
        st.one_of(st.just(0), st.integers(0, 15)),
        st.one_of(st.sampled_from(GROUND_TYPES), st.integers(0, 255)),
        st.one_of(st.tuples(st.just(True), st.integers(-70, 70)),
                  st.tuples(st.just(False), st.integers(0, 0xFFFF))),
        st.one_of(st.none(), st.integers(0, 2**32 - 1)),
        st.binary(max_size=48),
        st.one_of(st.sampled_from(("natural", "type")), st.integers(0, 255)),
        st.sampled_from(("none", "key", "wrong_key", "flag_only")),
        st.one_of(st.none(), st.integers(0, 2**16)),
    )


def hypothesis_phase(fuzzer, examples, seed, probe_every=25):
    """Feed `examples` hypothesis examples (lists of frame recipes), one device step each."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed
    from hypothesis import strategies as st

    h = fuzzer.harness
    h.sender = "hypothesis"
    done = [0]

    @fixed_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck))
    @given(st.lists(frame_recipes(), min_size=1, max_size=40))
    def feed(recipes):
        h.step(b"".join(fuzzer.build(r) for r in recipes), "hypothesis")
        done[0] += 1
        if done[0] % probe_every == 0:
            h.probe()

    feed()
    h.counts.hypothesis_examples += done[0]


# --- the campaign ------------------------------------------------------------------------------
def run(long=False, seed=0):
    """Fuzz an unkeyed and a keyed device; returns the counts (JSON-ready)."""
    started_s = time.perf_counter()
    target = LONG_FRAMES if long else SHORT_FRAMES
    examples = LONG_EXAMPLES if long else SHORT_EXAMPLES
    counts = Counts()
    rng = random.Random("fuzz-%d" % seed)
    device_key = rng.randbytes(32)
    plan = (
        ("unkeyed", None, (("plain", None),)),
        ("keyed", device_key,
         (("operator", device_key), ("intruder", None), ("intruder_wrong_key", rng.randbytes(32)))),
    )
    fuzzers = []
    try:
        for i, (name, key, personas) in enumerate(plan):
            harness = Harness(name, key, seed * 2 + i, counts)
            fuzzers.append(Fuzzer(harness, personas, random.Random("%s-%d" % (name, seed))))
        for f in fuzzers:
            f.use(f.personas[0])
            hypothesis_phase(f, examples, seed)
            f.harness.probe()
        while sum(counts.by_source.values()) < target:
            for f in fuzzers:
                f.batch(CHUNKS_PER_BATCH)
                f.harness.probe()
    finally:
        for f in fuzzers:
            f.harness.close()
    return summary(counts, long, seed, time.perf_counter() - started_s)


def summary(counts, long, seed, elapsed_s):
    stats = counts.device_stats
    rejected = sum(stats[name] for name in REJECTIONS)
    judged = rejected + stats["frames_ok"]
    return {
        "frames_fuzzed": sum(counts.by_source.values()),
        "bytes_fuzzed": counts.bytes_fuzzed,
        "by_source": dict(counts.by_source),
        "by_device": dict(counts.by_device),
        "by_sender": dict(counts.by_sender),
        "spurious_arms": counts.spurious_arms,
        "spurious_fires": counts.spurious_fires,
        "crashes": counts.crashes,
        "unanswered_after": counts.unanswered_after,
        "reference_disagreements": counts.reference_disagreements,
        "genuine_arms": counts.genuine_arms,
        "genuine_arms_by_sender": dict(counts.genuine_arms_by_sender),
        "live_token_fires": counts.live_token_fires,
        "genuine_key_changes": counts.genuine_key_changes,
        "hypothesis_examples": counts.hypothesis_examples,
        "probes": counts.probes,
        "sessions_rolled": counts.sessions_rolled,
        "probe_frames": counts.probe_frames,
        "device_judged": judged,
        "device_accepted": stats["frames_ok"],
        "device_rejected": rejected,
        "device_rejected_share": round(rejected / judged, 4) if judged else 0.0,
        "device_rejections": {name: stats[name] for name in REJECTIONS},
        "device_duplicates": stats["duplicates"],
        **counts.deviations,
        "findings": counts.findings,
        "seed": seed,
        "long": bool(long),
        "elapsed_s": round(elapsed_s, 2),
        "must_be_zero": list(MUST_BE_ZERO),
    }


if __name__ == "__main__":
    common.bootstrap()
    sys.exit(common.main(run, __doc__))
