"""Link loss at every moment: outputs off within the fire pulse of the last FIRE, SAFE within
the link-loss time of the last valid frame, whatever the pad was doing when the link went.

The real firmware (SimDevice on a ManualClock) and a legitimate ground (a protocol
Connection the campaign drives as ground/client.py does: heartbeats every 500 ms, ARM,
ARM_REFRESH every 1 s while armed, FIRE every 100 ms with the token from ARM_ACK while the
launch switch is held, the stream ended by a NAK of FIRE) are stepped together one
millisecond at a time over a 115200 8N1 line. The link is cut (SimDevice.cut_link) in every
state, at every millisecond offset:

    safe            0..499 ms after a ground heartbeat, the pad SAFE
    arming          0..39 ms after ARM was sent (before, during and after it crosses)
    armed           0..999 ms after an ARM_REFRESH, armed 2 s and more
    firing_first    0..99 ms after the first FIRE of a pulse
    firing_later    0..99 ms after a later FIRE (the 5th, the 13th)
    firing_cap      0..99 ms after each of the FIREs around the fire cap

each under three configurations: the firmware's defaults, the maximums CONFIG_SET allows
and the minimums. Every figure comes from the device's own records: the output edges
(SimDevice.edges), the times its controller accepted a FIRE and counted a frame as the
link being alive, and its state sampled every millisecond.

Counts: cuts; worst_output_off_ms (after the last FIRE the device accepted; the bound is
its fire_pulse_ms, at most 250); worst_safe_ms (after the last valid frame; the bound is
its link_loss_ms, at most 1000); late_output_off, late_safe, outputs_on_after_safe (all
must be 0). The short version takes a seeded sample of the offsets; --long takes them all.

    python tests/campaigns/link_loss.py [--long] [--seed N] [--json]
"""

import random
import sys

try:
    from campaigns import common
except ImportError:  # run as a script: tests/campaigns is on the path, tests/ is not
    import common

common.bootstrap()

from firmware.app import CONFIG  # noqa: E402
from ground.sim.device import ManualClock, SimDevice  # noqa: E402
from protocol import ROLE_GROUND, Connection, RemoteProtocolError  # noqa: E402
from protocol import constants as C  # noqa: E402
from protocol import messages as M  # noqa: E402
from protocol.ticks import ticks_diff  # noqa: E402

LINE_BYTES_PER_MS = 11.52  # 115200 baud, 8N1: ten bits a byte
HEARTBEAT_MS = C.HEARTBEAT_INTERVAL_MS
REFRESH_MS = 1000  # as the client (ground/client.py REFRESH_PERIOD_S)
FIRE_PERIOD_MS = 100  # as the client: FIRE_PERIOD_S
REPLY_WAIT_MS = 300

# the safety bounds the design promises, whatever the configuration
OUTPUT_OFF_BOUND_MS = 250
SAFE_BOUND_MS = 1000

TIMING_KEYS = (C.CFG_ARM_LAPSE_MS, C.CFG_FIRE_PULSE_MS, C.CFG_FIRE_CAP_MS, C.CFG_LINK_LOSS_MS)
PROFILES = {
    "default": {},
    # the firmware's own limits (firmware/app.py CONFIG), never copied here
    "maximums": {key: CONFIG[key][1] for key in TIMING_KEYS},
    "minimums": {key: CONFIG[key][0] for key in TIMING_KEYS},
}


class DeviceRecord:
    """What the device's firmware did, recorded on every boot of a SimDevice (dev.on_boot).

    frames: (ms, boot, msg_type, seq, kind) for every verified frame the App dispatched;
    fires_ok: ms of every FIRE the controller accepted; alive_ms: the last ms a frame kept
    the link alive (Controller.frame_received). Times are the rig's monotonic ms.
    """

    def __init__(self, dev, now_ms):
        self.now_ms = now_ms  # callable: the rig's ms
        self.frames = []
        self.fires_ok = []
        self.alive_ms = None
        self.boot = 0
        dev.on_boot = self.install
        self.install(dev.app)

    def install(self, app):
        self.boot += 1
        boot = self.boot
        dispatch = app.dispatch
        controller = app.controller
        fire = controller.fire
        frame_received = controller.frame_received

        def recording_dispatch(frame, now):
            self.frames.append((self.now_ms(), boot, frame.msg_type, frame.seq, frame.kind))
            dispatch(frame, now)

        def recording_fire(now, buf, off, mask, inverted):
            result = fire(now, buf, off, mask, inverted)
            if result == 0:
                self.fires_ok.append(self.now_ms())
            return result

        def recording_frame_received(now):
            self.alive_ms = self.now_ms()
            frame_received(now)

        app.dispatch = recording_dispatch
        controller.fire = recording_fire
        controller.frame_received = recording_frame_received


class Lockstep:
    """A SimDevice and a legitimate ground, stepped one millisecond at a time on one thread.

    The ground is the campaign's: `arm()`, `start_fire()`, `stop_fire()`, `command()`;
    its keep-alives (heartbeat, ARM_REFRESH, FIRE) go out by themselves in `step()`.
    `ms` is the rig's own monotonic millisecond (it never wraps, the device tick does).
    key: the device key both ends hold (None: an unkeyed link). When the device restarts
    (a new session nonce after the first), the ground forgets its arm, as the client does.
    """

    def __init__(self, seed=0, start_tick=5000, line=True, key=None, **device_kwargs):
        self.clock = ManualClock(start_tick)
        self.tick0 = start_tick
        self.dev = SimDevice(clock=self.clock, seed=seed, device_key=key, **device_kwargs)
        self.gnd = Connection(ROLE_GROUND, key=key, slots=16)
        self.line = line
        self.ms = 0
        self.record = DeviceRecord(self.dev, lambda: self.ms)
        self.up = bytearray()  # ground bytes waiting for the line
        self.up_budget = self.down_budget = 0.0
        self.sent = []  # (ms, msg_type, seq, session) every frame the ground sent
        self.sent_counts = {}  # msg_type -> frames of it the ground sent
        self.heard = []  # every message the ground decoded, as (ms, message)
        self.keep_heard = True
        self.new_sessions = 0  # frames that told the ground of a new device session
        self.restarts_heard = []  # rig ms at which the ground heard each device restart
        self.wire = {}  # msg_type -> the bytes of the last such frame the ground sent
        self.replies = {}  # re_seq -> reply
        self.token = None
        self.armed_mask = 0
        self.fire_mask = 0
        self.fire_naks = []
        self.next_hb_ms = 0
        self.next_refresh_ms = 0
        self.next_fire_ms = 0
        self.last_fire_sent_ms = None
        self.auto_refresh = True  # False: the ground lets an ARM lapse
        self.observers = []  # called with the rig after every step
        self.states = [(0, self.dev.app.controller.state)]  # (ms, state) at every change
        self.on_while_safe_ms = 0  # sampled ms with the pad SAFE and an output on
        self.run(600)  # boot: the first heartbeat teaches the ground the session

    # --- time ------------------------------------------------------------------------------------
    def ms_of_tick(self, tick):
        """The rig's ms for a device tick (within half a tick period of the start)."""
        return ticks_diff(tick, self.tick0)

    def step(self):
        """One millisecond: the ground's keep-alives, the line both ways, one device step."""
        self.ms += 1
        now = self.clock.advance(1)
        self._keep_alive()
        dev = self.dev
        if self.line:
            self.up_budget = min(self.up_budget + LINE_BYTES_PER_MS, 2 + LINE_BYTES_PER_MS)
            n = min(int(self.up_budget), len(self.up))
        else:
            n = len(self.up)
        if n:
            dev.feed(bytes(self.up[:n]))
            del self.up[:n]
            self.up_budget -= n
        dev.step(now)
        state = dev.app.controller.state
        if state != self.states[-1][1]:
            self.states.append((self.ms, state))
        if state in (C.STATE_SAFE, C.STATE_FAULT) and any(dev.hal.level):
            self.on_while_safe_ms += 1
        if self.line:
            self.down_budget = min(self.down_budget + LINE_BYTES_PER_MS, 2 + LINE_BYTES_PER_MS)
            n = min(int(self.down_budget), dev.output_waiting())
            self.down_budget -= n
            data = dev.read_output(n)  # bytes lost to a cut took their line time too
        else:
            data = dev.read_output()
        self._receive(data)
        for observe in self.observers:
            observe(self)

    def run(self, ms):
        for _ in range(ms):
            self.step()

    def run_until(self, done, limit_ms):
        """Step until done() (True) or limit_ms passed (False)."""
        for _ in range(limit_ms):
            if done():
                return True
            self.step()
        return done()

    # --- the ground ------------------------------------------------------------------------------
    def send(self, msg):
        wire = self.gnd.send(msg)
        self.up += wire
        self.wire[msg.TYPE] = wire
        seq = self.gnd.last_tx_seq
        self.sent.append((self.ms, msg.TYPE, seq, self.gnd.session))
        self.sent_counts[msg.TYPE] = self.sent_counts.get(msg.TYPE, 0) + 1
        return seq

    def run_until_sent(self, msg_type, count=1, limit_ms=3000):
        """Step until the ground has sent `count` more frames of msg_type (the last one in
        the step just run); False if limit_ms passed first."""
        target = self.sent_counts.get(msg_type, 0) + count
        return self.run_until(lambda: self.sent_counts.get(msg_type, 0) >= target, limit_ms)

    def command(self, msg, wait_ms=REPLY_WAIT_MS):
        """Send and step until its reply (returned) or wait_ms (None)."""
        seq = self.send(msg)
        self.run_until(lambda: seq in self.replies, wait_ms)
        return self.replies.pop(seq, None)

    def arm(self, mask, flags=0):
        reply = self.command(M.Arm(mask, flags))
        if isinstance(reply, M.ArmAck):
            self.token = bytes(reply.token)
            self.armed_mask = reply.channel_mask
            self.next_refresh_ms = self.ms + REFRESH_MS
        return reply

    def start_fire(self, mask):
        self.fire_mask = mask
        self.next_fire_ms = self.ms  # the first FIRE goes out at once
        self._keep_alive()

    def stop_fire(self):
        self.fire_mask = 0

    def forget(self):
        """The operator's side gives up the arm (the token) and the stream."""
        self.fire_mask = 0
        self.armed_mask = 0
        self.token = None

    def _keep_alive(self):
        ms = self.ms
        if self.fire_mask and self.token is not None and ms >= self.next_fire_ms:
            self.send(M.Fire.for_channels(self.token, self.fire_mask))
            self.last_fire_sent_ms = ms
            self.next_fire_ms = ms + FIRE_PERIOD_MS
        if ms >= self.next_hb_ms and self.gnd.session_known:
            last = self.gnd.last_rx_seq
            self.send(M.Heartbeat(0, 0, last if last >= 0 else 0xFFFF))
            self.next_hb_ms = ms + HEARTBEAT_MS
        if (self.armed_mask and not self.fire_mask and self.token is not None
                and self.auto_refresh and ms >= self.next_refresh_ms):
            self.send(M.ArmRefresh(self.token))
            self.next_refresh_ms = ms + REFRESH_MS

    def _receive(self, data):
        gnd = self.gnd
        pos = 0
        while pos < len(data):
            pos += gnd.receive_data(data, -1, pos)
            while (frame := gnd.next_event()) is not None:
                if frame.new_session:
                    self.new_sessions += 1
                    if self.new_sessions > 1:
                        self.restarts_heard.append(self.ms)
                        self.forget()  # nothing of the old session stands
                try:
                    msg = M.decode(frame)
                except RemoteProtocolError:
                    continue
                self._on_message(msg)

    def _on_message(self, msg):
        if self.keep_heard:
            self.heard.append((self.ms, msg))
        if isinstance(msg, M.Nak) and msg.acked_type == C.FIRE:
            self.fire_mask = 0  # a refused FIRE ends the stream, as in the client
            self.fire_naks.append((self.ms, msg.reason))
        re_seq = getattr(msg, "re_seq", None)
        if re_seq is not None and re_seq != 0xFFFF:
            self.replies[re_seq] = msg

    # --- the pad ---------------------------------------------------------------------------------
    def fresh_igniters(self, mask):
        """The pad crew fits new e-matches on the channels in mask; wait until they read
        CONNECTED (True) or give up after a second (False)."""
        for ch in range(self.dev.hal.channels):
            if mask & (1 << ch):
                self.dev.set_igniter(ch, "ematch")
        cls = self.dev.app.continuity.cls
        return self.run_until(lambda: all(cls[ch] == C.CONT_CONNECTED
                                          for ch in range(self.dev.hal.channels)
                                          if mask & (1 << ch)), 1000)

    @property
    def state(self):
        return self.dev.app.controller.state

    def configure(self, settings):
        """CONFIG_SET every (key, value); raises AssertionError on a refusal."""
        for key, value in settings.items():
            reply = self.command(M.ConfigSet(key, value))
            if not isinstance(reply, M.ConfigValue) or reply.value != value:
                raise AssertionError("CONFIG_SET %d=%d answered %r" % (key, value, reply))

    def close(self):
        self.dev.close()


# --- one cut ---------------------------------------------------------------------------------------
def measure_cut(rig, since_ms, cut_ms):
    """Run until the cut is over, then read its figures from the device's records.

    since_ms: when this cut's run began (earlier records belong to earlier cuts).
    Returns {output_off_ms or None, safe_ms or None, outputs_on_after_safe}.
    """
    c = rig.dev.app.controller
    link_loss_ms = c.link_loss_ms
    end_ms = max(cut_ms, rig.record.alive_ms or 0) + link_loss_ms + 300
    rig.run(max(0, end_ms - rig.ms))
    fires = [t for t in rig.record.fires_ok if t >= since_ms]
    edges = [(rig.ms_of_tick(t), ch, on) for t, ch, on in rig.dev.edges]
    edges = [e for e in edges if e[0] >= since_ms]
    # when the outputs were last all off (None: still on at the end)
    level = [False] * rig.dev.hal.channels
    all_off_ms = since_ms
    for t, ch, on in edges:
        level[ch] = on
        if not any(level):
            all_off_ms = t
    if any(rig.dev.hal.level):
        all_off_ms = None
    output_off_ms = None
    if fires:
        output_off_ms = float("inf") if all_off_ms is None else all_off_ms - fires[-1]
    # when the pad last became SAFE, and whether it stayed so to the end
    safe_at = rig.states[-1][0] if rig.state in (C.STATE_SAFE, C.STATE_FAULT) else None
    safe_ms = None
    if any(t >= since_ms and s in (C.STATE_ARMED, C.STATE_FIRING) for t, s in rig.states):
        # SAFE before the last frame counts as at once (a capped fire NAKs later FIREs)
        safe_ms = float("inf") if safe_at is None else max(0, safe_at - rig.record.alive_ms)
    on_after = sum(1 for t, _ch, on in edges if on and safe_at is not None and t >= safe_at)
    return {"output_off_ms": output_off_ms, "safe_ms": safe_ms, "outputs_on_after_safe": on_after,
            "fire_pulse_ms": c.fire_pulse_ms, "link_loss_ms": link_loss_ms}


def restore(rig, mask):
    """After a cut: the link back, the ground idle, the pad SAFE with fresh igniters."""
    rig.forget()
    rig.dev.cut_link(False)
    rig.run(HEARTBEAT_MS + 50)  # a heartbeat each way: the link is alive again
    if rig.state != C.STATE_SAFE:
        rig.command(M.Disarm())
    if not rig.fresh_igniters(mask):
        raise AssertionError("fresh igniters never read CONNECTED")


# --- the scenarios: drive the pad to the moment, then cut ------------------------------------------
def _armed(rig, mask):
    reply = rig.arm(mask)
    if not isinstance(reply, M.ArmAck):
        raise AssertionError("ARM answered %r" % (reply,))


def cut_safe(rig, mask, offset_ms):
    rig.run_until_sent(C.HEARTBEAT)
    rig.run(offset_ms)
    rig.dev.cut_link(True)


def cut_arming(rig, mask, offset_ms):
    rig.send(M.Arm(mask, 0))
    rig.run(offset_ms)
    rig.dev.cut_link(True)


def cut_armed(rig, mask, offset_ms):
    _armed(rig, mask)
    rig.run_until_sent(C.ARM_REFRESH, 2)
    rig.run(offset_ms)  # the second refresh went out offset_ms ago: armed 2 s
    rig.dev.cut_link(True)


def firing_cut(fire_index):
    def cut(rig, mask, offset_ms):
        _armed(rig, mask)
        rig.start_fire(mask)  # FIRE 0 goes out now
        for _ in range(fire_index):
            rig.run(FIRE_PERIOD_MS)
            if not rig.fire_mask:
                break  # NAKed (the cap): the stream is over
        rig.run(offset_ms)
        rig.dev.cut_link(True)

    return cut


def scenarios(profile_cap_ms, long):
    """[(name, cut function, offsets)] for one configuration."""
    cap_index = profile_cap_ms // FIRE_PERIOD_MS  # the first FIRE at or past the cap
    out = [
        ("safe", cut_safe, range(HEARTBEAT_MS)),
        ("arming", cut_arming, range(40)),
        ("armed", cut_armed, range(REFRESH_MS)),
        ("firing_first", firing_cut(0), range(FIRE_PERIOD_MS)),
    ]
    for index in (5, 13) if long else (5,):
        if index < cap_index - 1:
            out.append(("firing_later_%d" % index, firing_cut(index), range(FIRE_PERIOD_MS)))
    for index in (cap_index - 1, cap_index, cap_index + 1):
        if index > 0:
            out.append(("firing_cap_%d" % index, firing_cut(index), range(FIRE_PERIOD_MS)))
    return out


def sample(offsets, rng, long, short_count=6):
    """Every offset (long), or the first, the last and a seeded few between (short)."""
    offsets = list(offsets)
    if long or len(offsets) <= short_count:
        return offsets
    middle = rng.sample(offsets[1:-1], short_count - 2)
    return [offsets[0], *sorted(middle), offsets[-1]]


def run_profile(name, settings, long, seed, counts):
    rng = random.Random("link-loss-%s-%s" % (name, seed))
    rig = Lockstep(seed=seed)
    try:
        rig.configure(settings)
        c = rig.dev.app.controller
        per = counts["by_profile"][name] = {"cuts": 0, "worst_output_off_ms": 0,
                                            "worst_safe_ms": 0}
        for scenario, cut, offsets in scenarios(c.fire_cap_ms, long):
            for offset in sample(offsets, rng, long):
                mask = rng.choice((1, 2, 3))
                since = rig.ms
                cut(rig, mask, offset)
                r = measure_cut(rig, since, rig.ms)
                per["cuts"] += 1
                counts["cuts"] += 1
                counts["by_scenario"][scenario] = counts["by_scenario"].get(scenario, 0) + 1
                if r["output_off_ms"] is not None:
                    counts["cuts_with_output_on"] += 1
                    per["worst_output_off_ms"] = max(per["worst_output_off_ms"], r["output_off_ms"])
                    if r["output_off_ms"] > min(r["fire_pulse_ms"], OUTPUT_OFF_BOUND_MS):
                        counts["late_output_off"] += 1
                        _example(counts, "late_output_off", name, scenario, offset, r)
                if r["safe_ms"] is not None:
                    counts["cuts_armed"] += 1
                    per["worst_safe_ms"] = max(per["worst_safe_ms"], r["safe_ms"])
                    if r["safe_ms"] > min(r["link_loss_ms"], SAFE_BOUND_MS):
                        counts["late_safe"] += 1
                        _example(counts, "late_safe", name, scenario, offset, r)
                if r["outputs_on_after_safe"]:
                    counts["outputs_on_after_safe"] += r["outputs_on_after_safe"]
                    _example(counts, "outputs_on_after_safe", name, scenario, offset, r)
                restore(rig, 3)
        counts["outputs_on_after_safe"] += rig.on_while_safe_ms
        counts["simulated_s"] += rig.ms / 1000.0
    finally:
        rig.close()


def _example(counts, what, profile, scenario, offset, r):
    examples = counts["examples"]
    if len(examples) < 10:
        examples.append({"count": what, "profile": profile, "scenario": scenario,
                         "offset_ms": offset, "output_off_ms": _finite(r["output_off_ms"]),
                         "safe_ms": _finite(r["safe_ms"])})


def _finite(v):
    return None if v is None or v == float("inf") else v


def run(long=False, seed=0):
    counts = {"cuts": 0, "cuts_with_output_on": 0, "cuts_armed": 0, "late_output_off": 0,
              "late_safe": 0, "outputs_on_after_safe": 0, "by_scenario": {}, "by_profile": {},
              "examples": [], "simulated_s": 0.0,
              "must_be_zero": ["late_output_off", "late_safe", "outputs_on_after_safe"]}
    for name, settings in PROFILES.items():
        run_profile(name, settings, long, seed, counts)
    worst_off = [p["worst_output_off_ms"] for p in counts["by_profile"].values()]
    worst_safe = [p["worst_safe_ms"] for p in counts["by_profile"].values()]
    counts["worst_output_off_ms"] = _finite(max(worst_off)) if worst_off else 0
    counts["worst_safe_ms"] = _finite(max(worst_safe)) if worst_safe else 0
    for per in counts["by_profile"].values():
        per["worst_output_off_ms"] = _finite(per["worst_output_off_ms"])
        per["worst_safe_ms"] = _finite(per["worst_safe_ms"])
    counts["simulated_s"] = round(counts["simulated_s"], 1)
    return counts


if __name__ == "__main__":
    sys.exit(common.main(run, __doc__))
