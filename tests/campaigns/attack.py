"""Attacks on a keyed pad: no frame without the key ARMs, FIREs, erases a flight, changes the
configuration or the key; none locks the real ground station out; and the device counts every
one it drops and says so in LINK_STATS.

The rig: the real firmware (SimDevice on a ManualClock, the arm key on, two good e-matches, a
device key set, flights on its storage written by the firmware's own FlightLog) and the
legitimate keyed ground (a protocol Connection driven as ground/client.py does: heartbeats
every 500 ms, ARM_REFRESH every second while armed, one command at a time). The attacker
hears everything on the air (the session nonce, every sequence number, the arm token in
ARM_ACK, every frame the ground sends) but holds no key. Against each target command ARM,
ARM_REFRESH, FIRE, FLIGHT_ERASE, CONFIG_SET and SET_KEY, in the state where it would act
(ARM_REFRESH and FIRE against a real current arm, with its real token), it sends:

    unsigned          no MAC, the sequence number the device expects next
    wrong_key         a MAC under another key, the expected sequence number
    far_ahead         unsigned or under another key, sequence numbers 1 .. 32767 ahead: an
                      attempt to push the replay window on and lock the ground out
    mac_cut           the right MAC cut to 0, 8 or 15 bytes, the CRC and COBS rebuilt
    mac_partial       the right MAC's first 8 or 15 bytes, the rest wrong
    replay            legitimate frames of that type recorded earlier in this session
    replay_old_boot   legitimate frames recorded before the board rebooted (another session)
    late              a legitimate frame held back, delivered after 64 newer ones
    twice             a legitimate frame delivered again right after the device acted on it

After each batch the legitimate ground reads LINK_STATS over the link, then sends the target
command itself: it must work at the first attempt. The board reboots between rounds
(SimDevice.reboot(): a new session nonce; storage, key and flights survive).

ABORT and DISARM are exempt by design (PROTOCOL.md section 5): they can only make the pad
safe, so the device acts on them without a MAC. The campaign sends them unsigned, far ahead
of the window and replayed, against an armed pad, and checks that each is acted on, never
moves the replay window, never counts as link activity, is reported in LINK_STATS
`mac_exempt_accepted`, and that the ground's next ARM still works at the first attempt.

Counts (those in must_be_zero must be 0):

    attacks_sent               attack frames, also by_kind and by_target
    rejected_by_reason         which device counter each attack frame went to
    attacks_executed           an attack changed the pad: its state, token, arm deadline,
                               outputs, link activity, replay window, a config value, a
                               flight file or the key
    attacks_accepted           an attack frame passed the device's checks (frames_ok moved)
    attacks_answered           the device replied to an attack frame
    rejections_unreported      attack frames missing from LINK_STATS' rejection counters
    rejections_unexplained     rejections LINK_STATS reports beyond the attack frames
    link_stats_mismatches      LINK_STATS differs from the device's own counters
    lockouts                   a legitimate command after a batch failed at its first attempt
    exempt_sent, exempt_ignored (not acted on), exempt_window_moves, exempt_link_activity,
    exempt_unreported (not in mac_exempt_accepted)

    python tests/campaigns/attack.py [--long] [--seed N] [--json]
"""

import binascii
import hashlib
import os
import random
import struct
import sys
import tempfile

try:
    from campaigns import common
except ImportError:  # run as a script: tests/campaigns is on the path, tests/ is not
    import common

common.bootstrap()

from firmware.app import CONFIG  # noqa: E402
from ground.sim.device import ManualClock, SimDevice  # noqa: E402
from protocol import ROLE_GROUND, Connection, cobs  # noqa: E402
from protocol import constants as C  # noqa: E402
from protocol import messages as M  # noqa: E402
from protocol.connection import ERROR_NAMES, REPLAY_WINDOW  # noqa: E402
from protocol.ticks import ticks_add, ticks_diff  # noqa: E402

TARGETS = (C.ARM, C.ARM_REFRESH, C.FIRE, C.FLIGHT_ERASE, C.CONFIG_SET, C.SET_KEY)
TARGET_NAMES = {C.ARM: "ARM", C.ARM_REFRESH: "ARM_REFRESH", C.FIRE: "FIRE",
                C.FLIGHT_ERASE: "FLIGHT_ERASE", C.CONFIG_SET: "CONFIG_SET", C.SET_KEY: "SET_KEY"}
KINDS = ("unsigned", "wrong_key", "far_ahead", "mac_cut", "mac_partial", "replay",
         "replay_old_boot", "late", "twice")

HEARTBEAT_MS = C.HEARTBEAT_INTERVAL_MS
REFRESH_MS = 1000  # as the client (ground/client.py REFRESH_PERIOD_S)
ATTACK_MS = 3  # the device's loop passes after each attack frame before its effect is judged
REPLY_MS = 50  # a legitimate command's reply must come within this (the device answers in 1-2 ms)
SETTLE_MS = 600  # continuity settles on a fresh igniter
FIRE_ON_MS = 5  # a legitimate FIRE turns the output on within this
FAR_AHEAD = (1, 2, 63, 64, 65, 100, 1000, 16384, 32767)
MAC_CUTS = (0, 8, 15)
MAC_PARTIALS = (8, 15)
FLIGHT_RECORDS = 40
SHORT_SEEDS = 2
LONG_SEEDS = 16
MUST_BE_ZERO = (
    "attacks_executed", "attacks_accepted", "attacks_answered", "rejections_unreported",
    "rejections_unexplained", "link_stats_mismatches", "lockouts", "exempt_ignored",
    "exempt_window_moves", "exempt_link_activity", "exempt_unreported", "exempt_lockouts",
)
WRAP_START = 0x10000 - 150  # a first sequence number that wraps to 0 a few batches later
# replies: anything the device sends because of a command (STATUS only when asked)
REPLY_CLASSES = (M.Ack, M.Nak, M.ArmAck, M.ConfigValue, M.DeviceInfo, M.IgniterResult,
                 M.FlightInfo, M.FlightData, M.LinkStats)


def rebuild(body):
    """A decoded frame without its CRC -> the wire bytes: CRC-32 appended, COBS, delimiter."""
    return cobs.encode(bytes(body) + struct.pack("<I", binascii.crc32(bytes(body))))


def mac_cut(wire, keep):
    """The frame with its MAC cut to `keep` bytes, the CRC and COBS rebuilt to match."""
    raw = cobs.decode(wire[:-1])
    end = C.PAYLOAD_OFFSET + raw[C.OFF_LEN]
    return rebuild(raw[: end + keep])


def mac_partial(wire, keep):
    """The frame with only the first `keep` MAC bytes right, the rest changed."""
    raw = bytearray(cobs.decode(wire[:-1]))
    end = C.PAYLOAD_OFFSET + raw[C.OFF_LEN]
    for i in range(end + keep, end + C.MAC_LEN):
        raw[i] ^= 0x5A
    return rebuild(raw[: end + C.MAC_LEN])


def forge(session, seq, message, key=None):
    """A frame for the device's session with any sequence number, signed with `key` if given."""
    conn = Connection(ROLE_GROUND, key=key)
    conn.set_session(session)
    return conn.send(message, seq=seq & 0xFFFF)


class Pad:
    """The keyed simulated pad and the legitimate ground, stepped together on a ManualClock."""

    def __init__(self, storage_dir, key, seed):
        self.clock = ManualClock(1000)
        self.dev = SimDevice(device_key=key, clock=self.clock, storage_dir=storage_dir, seed=seed)
        self.storage_dir = storage_dir
        self.key = key
        self.gnd = Connection(ROLE_GROUND, key=key)
        self.inbox = []  # every message from the device
        self.heartbeat = None
        self.boot = 0
        self.recorded = []  # (boot, type, wire): every frame the ground sent, as heard on the air
        self.token = None  # the arm token while the ground keeps an arm refreshed
        self.armed_mask = 0
        self._next_hb = self.clock.now
        self._next_refresh = self.clock.now
        self._follow_session(None)

    def close(self):
        self.dev.close()

    # --- the line, one millisecond at a time -------------------------------------------------------
    def _collect(self):
        data = self.dev.read_output()
        pos = 0
        while pos < len(data):
            pos += self.gnd.receive_data(data, -1, pos)
            while (frame := self.gnd.next_event()) is not None:
                msg = M.decode(frame)
                if isinstance(msg, M.Heartbeat):
                    self.heartbeat = msg
                self.inbox.append(msg)

    def step(self):
        """One millisecond of the device, nothing sent by the ground."""
        self.dev.step(self.clock.advance(1))
        self._collect()

    def _send(self, message, flags=0, seq=-1):
        wire = self.gnd.send(message, flags=flags, seq=seq)
        self.recorded.append((self.boot, message.TYPE, wire))
        self.dev.feed(wire)
        return wire

    def tick(self):
        """One millisecond with the ground's keep-alives: heartbeats, and refreshes while armed."""
        now = self.clock.now
        if ticks_diff(now, self._next_hb) >= 0:
            self._send(self.heartbeat_message())
            self._next_hb = ticks_add(now, HEARTBEAT_MS)
        if self.token is not None and ticks_diff(now, self._next_refresh) >= 0:
            self._send(M.ArmRefresh(self.token))
            self._next_refresh = ticks_add(now, REFRESH_MS)
        self.step()

    def heartbeat_message(self):
        last = self.gnd.last_rx_seq
        return M.Heartbeat(0, 0, last if last >= 0 else 0xFFFF)

    def run(self, ms):
        for _ in range(ms):
            self.tick()

    def command(self, message, wait_ms=REPLY_MS):
        """Send one command (no resend) and return (its reply or None, the wire bytes)."""
        start = len(self.inbox)
        wire = self._send(message)
        seq = self.gnd.last_tx_seq
        for _ in range(wait_ms):
            self.step()
            for msg in self.inbox[start:]:
                if isinstance(msg, REPLY_CLASSES) and msg.re_seq == seq:
                    return msg, wire
        return None, wire

    # --- boots -----------------------------------------------------------------------------------
    def _follow_session(self, old_session, first_seq=None):
        """As a ground that sees the device (re)start: adopt its session, take the next
        sequence number from its heartbeat (PROTOCOL.md 6.2), let continuity settle.
        `first_seq`: start there instead (a freshly booted device takes any first number),
        so the sequence numbers wrap from 0xffff to 0 in the middle of the attacks."""
        self.heartbeat = None
        while self.heartbeat is None or self.gnd.session == old_session:
            self.step()
        self.gnd.next_seq = (self.heartbeat.last_rx_seq + 1) & 0xFFFF
        if first_seq is not None:
            self.gnd.next_seq = first_seq
        self.token = None
        self.run(SETTLE_MS)

    def reboot(self, first_seq=None):
        old = self.gnd.session
        self.dev.reboot()
        self.boot += 1
        self._follow_session(old, first_seq)

    # --- what the pad holds ----------------------------------------------------------------------
    @property
    def log(self):
        return self.dev.app.recorder.log

    def store_flight(self):
        """A short flight written by the firmware's FlightLog; returns its number."""
        log = self.log
        t0 = self.clock.now
        flight = log.begin(101325, t0, b"attack", (0, 1, 0))
        for i in range(FLIGHT_RECORDS):
            log.append(1, C.FLIGHT_BOOST, t0 + 10 * i, 101325 - 12 * i, 100 * i, 10 * i, 0)
        log.close(100 * FLIGHT_RECORDS)
        return flight

    def _flights_digest(self):
        folder = os.path.join(self.storage_dir, "flights")
        sha = hashlib.sha256()
        for name in sorted(os.listdir(folder)):
            sha.update(name.encode())
            with open(os.path.join(folder, name), "rb") as f:
                sha.update(f.read())
        return sha.hexdigest()

    def snapshot(self):
        """Everything an attack frame could change if the device acted on it."""
        app = self.dev.app
        c = app.controller
        conn = app.conn
        key = app.conn._key
        return (
            c.state, c.safe_reason, c.armed_mask, c.firing_mask, bytes(c.token),
            c._lapse_at, c._pulse_end_at, c._last_frame_at,  # arm deadline, pulse, link activity
            len(self.dev.hal.edges), tuple(self.dev.hal.outputs()),
            conn.last_rx_seq, tuple(conn._window_seq), bytes(conn._window_used),
            tuple(app._get_config(k) for k in sorted(CONFIG)),
            self._flights_digest(),
            self.dev.storage.read_key(), key.digest(b"which key") if key is not None else None,
        )

    def window(self):
        conn = self.dev.app.conn
        return (conn.last_rx_seq, tuple(conn._window_seq), bytes(conn._window_used))


class Campaign:
    """One seed's attacks. `attacker_has_key` is the control experiment: an attacker who
    holds the device key must be seen to get through, or the counts could not fail."""

    def __init__(self, seed, long, attacker_has_key=False):
        self.rng = random.Random("attack-%d" % seed)
        self.long = long
        self.replays_per_batch = 8 if long else 3
        self.far_ahead = FAR_AHEAD + tuple(self.rng.randrange(2, 32768) for _ in range(6 if long else 0))
        self.key = self.rng.randbytes(32)
        self.key2 = self.rng.randbytes(32)  # what the legitimate ground re-keys to and back
        self.attacker_key = self.key if attacker_has_key else self.rng.randbytes(32)
        self.counts = dict.fromkeys((
            "attacks_sent", "attacks_executed", "attacks_accepted", "attacks_answered",
            "rejections_reported", "rejections_unreported", "rejections_unexplained",
            "link_stats_reads", "link_stats_mismatches", "lockout_checks", "lockouts", "reboots",
            "exempt_sent", "exempt_ignored", "exempt_window_moves", "exempt_link_activity",
            "exempt_unreported", "exempt_lockouts",
        ), 0)
        self.by_kind = dict.fromkeys(KINDS, 0)
        self.by_target = dict.fromkeys(TARGET_NAMES.values(), 0)
        self.by_reason = {}
        self.by_kind_reason = {}
        self.unreported_since_read = 0  # attack frames sent since the last LINK_STATS read
        self.exempt_since_read = 0
        self.last_stats = None
        self.precious = self.sacrificial = -1  # flight numbers, once stored
        self.last_exempt = b""  # the last ABORT/DISARM sent without a MAC, replayed as heard

    # --- one attack frame -----------------------------------------------------------------------
    def attack(self, pad, target, kind, wire):
        pad.tick()  # the ground's keep-alives go on between attack frames
        before = pad.snapshot()
        stats = pad.dev.app.conn.stats
        ok_before, rejected_before = stats.frames_ok, stats.as_dict()
        start = len(pad.inbox)
        pad.dev.feed(wire)
        for _ in range(ATTACK_MS):
            pad.step()
        c = self.counts
        c["attacks_sent"] += 1
        self.by_kind[kind] += 1
        self.by_target[TARGET_NAMES[target]] += 1
        self.unreported_since_read += 1
        if pad.snapshot() != before:
            c["attacks_executed"] += 1
        if stats.frames_ok != ok_before:
            c["attacks_accepted"] += 1
        if any(isinstance(m, REPLY_CLASSES) or (isinstance(m, M.Status) and m.re_seq != 0xFFFF)
               for m in pad.inbox[start:]):
            c["attacks_answered"] += 1
        after = stats.as_dict()
        reasons = self.by_kind_reason.setdefault(kind, {})
        for field, name in zip(M.REJECTION_FIELDS, ERROR_NAMES[1:], strict=True):
            n = after[field] - rejected_before[field]
            if n:
                self.by_reason[name] = self.by_reason.get(name, 0) + n
                reasons[name] = reasons.get(name, 0) + n

    # --- the device's own report ------------------------------------------------------------------
    def read_link_stats(self, pad):
        """LINK_STATS over the link: every attack frame since the last read must be in it."""
        reply, _wire = pad.command(M.GetLinkStats())
        c = self.counts
        c["link_stats_reads"] += 1
        if not self.check(isinstance(reply, M.LinkStats)):
            return  # the ground could not even read the counters: a lockout
        own = pad.dev.app.conn.stats
        if (any(getattr(reply, f) != getattr(own, f) for f in (*M.REJECTION_FIELDS, "duplicates"))
                or reply.mac_exempt_accepted != pad.dev.app.mac_exempt_accepted):
            c["link_stats_mismatches"] += 1
        last = self.last_stats
        rejected = reply.rejected() - (last.rejected() if last is not None else 0)
        exempt = reply.mac_exempt_accepted - (last.mac_exempt_accepted if last is not None else 0)
        c["rejections_reported"] += rejected
        c["rejections_unreported"] += max(0, self.unreported_since_read - rejected)
        c["rejections_unexplained"] += max(0, rejected - self.unreported_since_read)
        c["exempt_unreported"] += max(0, self.exempt_since_read - exempt)
        self.unreported_since_read = 0
        self.exempt_since_read = 0
        self.last_stats = reply

    def _close_books(self):
        """Attack frames no LINK_STATS reading has shown by now never will be."""
        self.counts["rejections_unreported"] += self.unreported_since_read
        self.counts["exempt_unreported"] += self.exempt_since_read
        self.unreported_since_read = self.exempt_since_read = 0

    def _new_boot(self, pad):
        """After a reboot the device's counters start again from zero."""
        self.read_link_stats(pad)
        self._close_books()
        # every other boot the ground's numbers wrap past 0xffff during the attacks
        pad.reboot(first_seq=WRAP_START if pad.boot % 2 == 0 else None)
        self.counts["reboots"] += 1
        self.last_stats = None

    # --- the batches ---------------------------------------------------------------------------------
    def target_message(self, pad, target):
        """What the attacker wants the device to do, in the state where it would."""
        rng = self.rng
        if target == C.ARM:
            return M.Arm(rng.choice((1, 2, 3)), rng.choice((0, C.ARM_OVERRIDE_CONTINUITY)))
        token = pad.token or bytes(4)  # the real one, unless the ground could not arm
        if target == C.ARM_REFRESH:
            return M.ArmRefresh(token)
        if target == C.FIRE:
            return M.Fire.for_channels(token, pad.armed_mask or 1)
        if target == C.FLIGHT_ERASE:
            return M.FlightErase(rng.choice((C.ERASE_ALL, self.precious)), C.ERASE_CONFIRM)
        if target == C.CONFIG_SET:
            key = rng.choice(sorted(CONFIG))
            lo, hi = CONFIG[key][:2]
            current = pad.dev.app._get_config(key)
            value = rng.choice([v for v in (lo, hi, (lo + hi) // 2) if v != current])
            return M.ConfigSet(key, value)
        return M.SetKey(rng.choice((self.attacker_key, bytes(32))))  # take the key, or remove it

    def batch(self, pad, target):
        rng = self.rng
        session = pad.gnd.session
        expected = pad.gnd.next_seq  # the device's next sequence number, known from the air
        msg = self.target_message(pad, target)
        self.attack(pad, target, "unsigned", forge(session, expected, msg))
        self.attack(pad, target, "wrong_key", forge(session, expected, msg, self.attacker_key))
        for ahead in self.far_ahead:
            key = rng.choice((None, self.attacker_key))
            self.attack(pad, target, "far_ahead", forge(session, expected + ahead, msg, key))
        # the right MAC (as if it were known), then damaged
        signed = forge(session, expected, msg, self.key)
        for keep in MAC_CUTS:
            self.attack(pad, target, "mac_cut", mac_cut(signed, keep))
        for keep in MAC_PARTIALS:
            self.attack(pad, target, "mac_partial", mac_partial(signed, keep))
        heard = [w for boot, t, w in pad.recorded if t == target and boot == pad.boot]
        for wire in rng.sample(heard, min(len(heard), self.replays_per_batch)):
            self.attack(pad, target, "replay", wire)
        old = [w for boot, t, w in pad.recorded if t == target and boot != pad.boot]
        for wire in rng.sample(old, min(len(old), self.replays_per_batch)):
            self.attack(pad, target, "replay_old_boot", wire)
        # a legitimate frame held back on the air while 64 newer ones go through
        if target != C.SET_KEY:  # a held-back SET_KEY would leave the ground unsure of the key
            held = pad.gnd.send(msg)
            pad.recorded.append((pad.boot, target, held))
            for _ in range(REPLAY_WINDOW):
                pad.step()
                pad._send(pad.heartbeat_message())
            self.attack(pad, target, "late", held)

    # --- the legitimate ground after each batch ---------------------------------------------------------
    def check(self, ok):
        self.counts["lockout_checks"] += 1
        if not ok:
            self.counts["lockouts"] += 1
        return ok

    def legit_arm(self, pad, mask=1):
        reply, wire = pad.command(M.Arm(mask, 0))
        if self.check(isinstance(reply, M.ArmAck)):
            pad.token = bytes(reply.token)
            pad.armed_mask = reply.channel_mask
        return wire

    def legit_disarm(self, pad):
        pad.token = None
        reply, _wire = pad.command(M.Disarm())
        self.check(isinstance(reply, M.Ack))

    def follow_up(self, pad, target):
        """The ground's own command of the batch's type: it must work at the first attempt;
        then the attacker delivers that very frame a second time."""
        if target == C.ARM:
            wire = self.legit_arm(pad)
            self.attack(pad, target, "twice", wire)
            self.legit_disarm(pad)
        elif target == C.ARM_REFRESH:
            reply, wire = pad.command(M.ArmRefresh(pad.token or bytes(4)))
            self.check(isinstance(reply, M.Ack))
            self.attack(pad, target, "twice", wire)
            self.legit_disarm(pad)
        elif target == C.FIRE:
            wire = pad._send(M.Fire.for_channels(pad.token or bytes(4), pad.armed_mask or 1))
            for _ in range(FIRE_ON_MS):
                pad.step()
            self.check(pad.dev.hal.outputs()[0])
            self.attack(pad, target, "twice", wire)
            pad.token = None  # the launch switch released: the stream ends, the pad goes SAFE
            pad.run(2 * C.COMMAND_TIMEOUT_MS)
            self.check(pad.dev.app.controller.state == C.STATE_SAFE)
            for ch in range(pad.dev.hal.channels):
                pad.dev.set_igniter(ch, "ematch")  # the next rocket on the pad
            pad.run(SETTLE_MS)
        elif target == C.FLIGHT_ERASE:
            reply, wire = pad.command(M.FlightErase(self.sacrificial, C.ERASE_CONFIRM))
            self.check(isinstance(reply, M.Ack))
            self.attack(pad, target, "twice", wire)
            self.sacrificial = pad.store_flight()
        elif target == C.CONFIG_SET:
            cap = 2500 if pad.dev.app.controller.fire_cap_ms != 2500 else 3000
            reply, wire = pad.command(M.ConfigSet(C.CFG_FIRE_CAP_MS, cap))
            self.check(isinstance(reply, M.ConfigValue) and reply.value == cap)
            self.attack(pad, target, "twice", wire)
        else:
            for new_key in (self.key2, self.key):  # re-key, and back
                reply, wire = pad.command(M.SetKey(new_key))
                if self.check(isinstance(reply, M.Ack)):
                    pad.gnd.set_key(new_key)
                if new_key == self.key2:
                    self.attack(pad, target, "twice", wire)

    def round(self, pad):
        for target in TARGETS:
            if target in (C.ARM_REFRESH, C.FIRE):
                self.legit_arm(pad)
            self.batch(pad, target)
            self.read_link_stats(pad)
            self.follow_up(pad, target)
        self.exempt(pad)
        self.read_link_stats(pad)

    # --- ABORT and DISARM without a MAC ----------------------------------------------------------------
    def exempt(self, pad):
        c = self.counts
        session = pad.gnd.session
        for msg in (M.Abort(), M.Disarm()):
            for seq in (pad.gnd.next_seq, pad.gnd.next_seq + 1000, pad.gnd.next_seq + 32767, None):
                self.legit_arm(pad)
                wire = forge(session, seq, msg) if seq is not None else self.last_exempt
                self.last_exempt = wire
                pad.tick()
                window = pad.window()
                link_at = pad.dev.app.controller._last_frame_at
                pad.token = None
                pad.dev.feed(wire)
                for _ in range(ATTACK_MS):
                    pad.step()
                c["exempt_sent"] += 1
                self.exempt_since_read += 1
                if pad.dev.app.controller.state != C.STATE_SAFE:
                    c["exempt_ignored"] += 1
                    self.legit_disarm(pad)
                if pad.window() != window:
                    c["exempt_window_moves"] += 1
                if pad.dev.app.controller._last_frame_at != link_at:
                    c["exempt_link_activity"] += 1
                # the real ground is not locked out: its next ARM works at once
                before = c["lockouts"]
                self.legit_arm(pad)
                self.legit_disarm(pad)
                c["exempt_lockouts"] += c["lockouts"] - before

    def results(self):
        counts = dict(self.counts)
        counts["attacks_by_kind"] = dict(self.by_kind)
        counts["attacks_by_target"] = dict(self.by_target)
        counts["rejected_by_reason"] = dict(self.by_reason)
        counts["rejected_by_kind"] = {k: dict(v) for k, v in self.by_kind_reason.items()}
        return counts

    def play(self, seed, boots, rounds):
        with tempfile.TemporaryDirectory(prefix="coalwood-attack-") as storage:
            pad = Pad(storage, self.key, seed)
            try:
                self.precious = pad.store_flight()  # the flight an attacker wants gone
                self.sacrificial = pad.store_flight()  # the one the ground erases itself
                for boot in range(boots):
                    if boot:
                        self._new_boot(pad)
                    for _ in range(rounds):
                        self.round(pad)
                self._close_books()
                if self.precious not in [e.flight for e in pad.log.flights()]:
                    self.counts["attacks_executed"] += 1  # belt and braces: it is still there
            finally:
                pad.close()


def _add(total, more):
    """Add the counts (and nested counts) of one seed's campaign to the totals."""
    for name, n in more.items():
        if isinstance(n, dict):
            _add(total.setdefault(name, {}), n)
        else:
            total[name] = total.get(name, 0) + n


def run(long=False, seed=0):
    seeds = range(seed, seed + (LONG_SEEDS if long else SHORT_SEEDS))
    boots, rounds = (5, 4) if long else (3, 2)
    totals = {}
    for s in seeds:
        campaign = Campaign(s, long)
        campaign.play(s, boots, rounds)
        _add(totals, campaign.results())
    totals["seeds"] = len(seeds)
    totals["must_be_zero"] = list(MUST_BE_ZERO)
    return totals


if __name__ == "__main__":
    sys.exit(common.main(run, __doc__))
