"""Device reset mid-session: the simulated board reboots (SimDevice.reboot: outputs off at
once, bytes in flight lost, a new App on the same storage with a fresh session nonce) while
SAFE, ARMED, FIRING and with a command in flight. The ground notices the new session, never
sends an ARM, ARM_REFRESH or FIRE of the old session to the new one, and shows the pad SAFE;
the device is SAFE with its outputs off.

Two halves:

    lockstep    the real firmware on a ManualClock with the lockstep ground of link_loss.py
                (keyed, a flown flight in its storage), rebooted at every millisecond offset
                after a heartbeat, an ARM being sent, an ARM_REFRESH and a FIRE. Beyond what
                the ground does, it checks the device side: outputs off at the reboot itself,
                a new nonce each boot and no nonce or arm token ever repeated, the key and the
                flight log kept, and the old session's ARM, ARM_REFRESH and FIRE frames,
                replayed byte for byte after the reboot, dropped (wrong session).
    client      the real ground client (ground/client.py DeviceClient over sim://, threads,
                real time) rebooting the device while SAFE, ARMED (keyed), FIRING (the
                launch switch held), with an ARM on the wire (the reboot the moment its bytes
                are written, and a few ms later), with an ARM lost on a cut link and the
                reboot before its resends, and with the board unpowered longer than the
                link-loss time. Every frame the device decodes after the reboot is recorded.

Counts: resets; old_commands_resent (ARM, ARM_REFRESH or FIRE decoded by a rebooted device
that the test did not command anew, or an old session's frame it accepted); not_noticed (the
ground never heard the new session, or the client gave no "device-restarted" event);
not_shown_safe (the ground's view is not SAFE: the client's STATUS and heartbeat, its armed
and firing state); outputs_on_after_reset; nonce_repeats; storage_lost. All must be 0.

    python tests/campaigns/reset.py [--long] [--seed N] [--json]
"""

import pathlib
import random
import sys
import tempfile
import threading
import time

try:
    from campaigns import common
except ImportError:  # run as a script: tests/campaigns is on the path, tests/ is not
    import common

common.bootstrap()

import flown  # noqa: E402

from campaigns.link_loss import (  # noqa: E402
    FIRE_PERIOD_MS,
    HEARTBEAT_MS,
    REFRESH_MS,
    DeviceRecord,
    Lockstep,
)
from ground.client import DeviceClient, DeviceError  # noqa: E402
from protocol import cobs  # noqa: E402
from protocol import constants as C  # noqa: E402
from protocol import messages as M  # noqa: E402

ARM_FRAMES = (C.ARM, C.ARM_REFRESH, C.FIRE)
FRAME_NAMES = {C.ARM: "ARM", C.ARM_REFRESH: "ARM_REFRESH", C.FIRE: "FIRE"}
KEY = bytes(range(101, 133))
NOTICE_LIMIT_MS = 1500  # the new device's first heartbeat leaves at boot
COUNTS = ("resets", "old_commands_resent", "not_noticed", "not_shown_safe",
          "outputs_on_after_reset", "nonce_repeats", "storage_lost")


def _new_counts():
    counts = {name: 0 for name in COUNTS}
    counts.update({"by_phase": {}, "examples": [], "worst_notice_ms": 0,
                   "old_frames_replayed": 0, "rearmed_after_reset": 0, "arm_outcomes": []})
    return counts


def _problem(counts, what, half, phase, detail):
    counts[what] += 1
    if len(counts["examples"]) < 10:
        counts["examples"].append({"count": what, "half": half, "phase": phase,
                                   "detail": detail})


# --- lockstep: every millisecond ------------------------------------------------------------------
def _lockstep_drive(rig, phase, offset_ms):
    """Bring the pad to the moment (offset_ms after the phase's frame) to reboot at."""
    if phase == "safe":
        rig.run_until_sent(C.HEARTBEAT)
        rig.run(offset_ms)
    elif phase == "arm_in_flight":
        rig.send(M.Arm(1, 0))
        rig.run(offset_ms)
    elif phase == "armed":
        if not isinstance(rig.arm(1), M.ArmAck):
            raise AssertionError("ARM refused")
        rig.run_until_sent(C.ARM_REFRESH)
        rig.run(offset_ms)  # the refresh went out offset_ms ago
    elif phase == "firing":
        if not isinstance(rig.arm(1), M.ArmAck):
            raise AssertionError("ARM refused")
        rig.start_fire(1)
        rig.run(2 * FIRE_PERIOD_MS + offset_ms)  # the third FIRE went out offset_ms ago
    else:
        raise ValueError(phase)


LOCKSTEP_PHASES = {"safe": HEARTBEAT_MS, "arm_in_flight": 40, "armed": REFRESH_MS,
                   "firing": FIRE_PERIOD_MS}


def _flight_log_view(dev):
    log = dev.app.recorder.log
    return [(e.flight, e.flags, e.size, e.apogee_cm, log.digest(e.flight)) for e in log.flights()]


def run_lockstep(long, seed, counts, storage):
    rng = random.Random("reset-lockstep-%s" % seed)
    rig = Lockstep(seed=seed, key=KEY, storage_dir=storage, channels=("dud", "ematch"))
    try:
        log_before = _flight_log_view(rig.dev)
        nonces = [rig.dev.app.conn.session]
        tokens = set()
        for phase, span in LOCKSTEP_PHASES.items():
            offsets = list(range(span))
            if not long:
                offsets = sorted({0, 1, span - 1, *rng.sample(offsets, 3)})
            per = counts["by_phase"].setdefault("lockstep_" + phase, 0)
            for offset in offsets:
                _lockstep_drive(rig, phase, offset)
                if rig.token is not None:
                    if rig.token in tokens:
                        _problem(counts, "nonce_repeats", "lockstep", phase, "an arm token again")
                    tokens.add(rig.token)
                old = dict(rig.wire)
                boot = rig.record.boot
                heard_before = len(rig.restarts_heard)
                reboot_ms = rig.ms
                rig.dev.reboot()
                counts["resets"] += 1
                per += 1
                if any(rig.dev.hal.level):
                    _problem(counts, "outputs_on_after_reset", "lockstep", phase,
                             "an output on right after the reboot")
                nonce = rig.dev.app.conn.session
                if nonce in nonces:
                    _problem(counts, "nonce_repeats", "lockstep", phase, "session nonce again")
                nonces.append(nonce)
                rig.run_until(lambda h=heard_before: len(rig.restarts_heard) > h, NOTICE_LIMIT_MS)
                if len(rig.restarts_heard) != heard_before + 1:
                    _problem(counts, "not_noticed", "lockstep", phase, "offset %d" % offset)
                else:
                    counts["worst_notice_ms"] = max(counts["worst_notice_ms"],
                                                    rig.restarts_heard[-1] - reboot_ms)
                rig.run(REFRESH_MS + 200)  # past a refresh period and a few FIRE periods
                # the old session's frames, replayed byte for byte: dropped as a wrong session
                for msg_type in ARM_FRAMES:
                    if msg_type in old:
                        rig.dev.feed(old[msg_type])
                        counts["old_frames_replayed"] += 1
                rig.run(50)
                after = [f for f in rig.record.frames if f[1] > boot and f[2] in ARM_FRAMES]
                if after:
                    _problem(counts, "old_commands_resent", "lockstep", phase,
                             "offset %d: %d ARM/REFRESH/FIRE decoded after the reboot"
                             % (offset, len(after)))
                edges_after = [e for e in rig.dev.edges if e[2] and rig.ms_of_tick(e[0]) >= reboot_ms]
                if edges_after:
                    _problem(counts, "outputs_on_after_reset", "lockstep", phase,
                             "an output came on after the reboot")
                heartbeats = [m for _t, m in rig.heard if isinstance(m, M.Heartbeat)]
                shown = heartbeats[-1].state if heartbeats else None
                if rig.state != C.STATE_SAFE or shown != C.STATE_SAFE or rig.token is not None:
                    _problem(counts, "not_shown_safe", "lockstep", phase, "offset %d" % offset)
                if not rig.dev.app.conn.keyed or _flight_log_view(rig.dev) != log_before:
                    _problem(counts, "storage_lost", "lockstep", phase, "key or flight log")
                rig.heard.clear()
                cls = rig.dev.app.continuity.cls  # the new boot measures its channels anew
                rig.run_until(lambda c=cls: c[0] == C.CONT_CONNECTED, 1000)
            counts["by_phase"]["lockstep_" + phase] = per
    finally:
        rig.close()


# --- the real ground client over sim:// ---------------------------------------------------------------
class ClientPad:
    """A DeviceClient connected to sim://, its device recorded, its events kept."""

    def __init__(self, query, key=None):
        self.events = []
        self.t0 = time.monotonic()
        self.client = DeviceClient("sim://?" + query, key=key,
                                   on_event=lambda name, detail: self.events.append(name))
        self.client.connect()
        self.port = self.client.link._port
        self.dev = self.port.device
        self.record = DeviceRecord(self.dev, self.now_ms)

    def now_ms(self):
        return int((time.monotonic() - self.t0) * 1000)

    def wait(self, done, timeout_s):
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def wait_continuity(self, channel=0):
        return self.wait(lambda: self.client.status().channels[channel].continuity
                         == C.CONT_CONNECTED, 2.0)

    def reboot_when_written(self, msg_type, delay_s, off_ms=0):
        """Reboot the device delay_s after the client writes a frame of msg_type."""
        inner = self.port.write
        armed = [True]

        def write(data):
            n = inner(data)
            if armed[0] and _carries(data, msg_type):
                armed[0] = False
                if delay_s <= 0:
                    self.dev.reboot(off_ms)
                else:
                    threading.Timer(delay_s, self.dev.reboot, (off_ms,)).start()
            return n

        self.port.write = write

    def close(self):
        self.client.close()


def _carries(data, msg_type):
    """Whether the bytes hold a whole frame of msg_type (the type is the decoded byte 1)."""
    for raw in bytes(data).split(b"\x00"):
        if raw:
            try:
                frame = cobs.decode(raw)
            except Exception:  # a partial frame
                continue
            if len(frame) > 1 and frame[1] == msg_type:
                return True
    return False


def _check_client(pad, counts, phase, boot_before, sessions_before, edges_before,
                  commanded_after_ms=None):
    """The checks after a reboot, once the client had time to hear the new device."""
    client, dev = pad.client, pad.dev
    noticed = pad.wait(lambda: client.session_changes > sessions_before
                       and "device-restarted" in pad.events, NOTICE_LIMIT_MS / 1000 + 1.5)
    if not noticed:
        _problem(counts, "not_noticed", "client", phase,
                 "session_changes %d, events %s" % (client.session_changes, pad.events[-3:]))
    time.sleep(REFRESH_MS / 1000 + 0.2)  # a refresh period and many FIRE periods go by
    resent = [f for f in pad.record.frames if f[1] > boot_before and f[2] in ARM_FRAMES
              and (commanded_after_ms is None or f[0] < commanded_after_ms)]
    if resent:
        _problem(counts, "old_commands_resent", "client", phase,
                 "%s decoded after the reboot" % [FRAME_NAMES[f[2]] for f in resent])
    on_after = [e for e in dev.edges[edges_before:] if e[2]]
    if on_after or any(dev.hal.level):
        _problem(counts, "outputs_on_after_reset", "client", phase, "an output on")
    try:
        status = client.status()
    except DeviceError as exc:
        status = exc
    hb = client.heartbeat
    safe = (isinstance(status, M.Status) and status.state == C.STATE_SAFE
            and hb is not None and hb.state == C.STATE_SAFE
            and not client.armed and not client.firing
            and dev.status_dict()["state"] == "SAFE")
    if not safe:
        _problem(counts, "not_shown_safe", "client", phase,
                 "status %r, armed %s, firing %s, device %s"
                 % (getattr(status, "state", status), client.armed, client.firing,
                    dev.status_dict()["state"]))


def client_case(counts, phase, query, key=None, delay_s=0.0, off_ms=0):
    """One reboot under the real client; returns after its checks."""
    pad = ClientPad(query, key=key)
    try:
        client, dev = pad.client, pad.dev
        if phase != "safe" and not pad.wait_continuity():
            raise AssertionError("channel 1 never read CONNECTED")
        boot = pad.record.boot
        sessions = client.session_changes
        edges = len(dev.edges)
        outcome = None
        if phase == "safe":
            dev.reboot(off_ms)
        elif phase == "armed":
            client.arm(1)
            time.sleep(0.3)
            dev.reboot(off_ms)
        elif phase == "firing":
            client.arm(1)
            client.start_fire(1)
            if not pad.wait(lambda: any(dev.hal.level), 1.0):
                raise AssertionError("the output never came on")
            time.sleep(0.15)
            edges = len(dev.edges)
            dev.reboot(off_ms)
            if any(dev.hal.level):
                _problem(counts, "outputs_on_after_reset", "client", phase, "on after reboot()")
        elif phase in ("arm_on_the_wire", "arm_answered"):
            pad.reboot_when_written(C.ARM, delay_s, off_ms)
            outcome = _try(client.arm, 1)
        elif phase == "arm_lost":
            dev.cut_link(True)  # the ARM and its first resends are lost
            result = []
            worker = threading.Thread(target=lambda: result.append(_try(client.arm, 1)))
            worker.start()
            time.sleep(delay_s)
            dev.reboot(off_ms)
            dev.cut_link(False)
            worker.join(5.0)
            outcome = result[0] if result else "no answer"
        else:
            raise ValueError(phase)
        counts["resets"] += 1
        counts["by_phase"]["client_" + phase] = counts["by_phase"].get("client_" + phase, 0) + 1
        counts["arm_outcomes"].append(_outcome(outcome)) if outcome is not None else None
        _check_client(pad, counts, phase, boot, sessions, edges)
        # the client works on: a new ARM (the operator's) is sent and answered in the new session
        if pad.wait_continuity():
            ack = _try(client.arm, 1)
            if isinstance(ack, M.ArmAck):
                counts["rearmed_after_reset"] += 1
                client.disarm()
    finally:
        pad.close()


def _outcome(result):
    """An ARM's outcome in a word or two, for the figures."""
    if isinstance(result, M.ArmAck):
        return "armed"
    return type(result).__name__ if isinstance(result, Exception) else str(result)


def _try(call, *args):
    try:
        return call(*args)
    except DeviceError as exc:
        return exc


def run_client(long, seed, counts):
    rng = random.Random("reset-client-%s" % seed)
    dud = "seed=%d&ch1=dud" % seed  # a dud burns on: the output stays on while FIRE flows
    cases = [
        ("safe", "seed=%d" % seed, None, 0.0, 0),
        ("armed", "seed=%d&device_key=%s" % (seed, KEY.hex()), KEY, 0.0, 0),
        ("firing", dud, None, 0.0, 0),
        ("arm_on_the_wire", "seed=%d" % seed, None, 0.0, 0),
        ("arm_answered", "seed=%d" % seed, None, 0.003, 0),
        ("arm_lost", "seed=%d" % seed, None, 0.4, 0),
        ("armed", "seed=%d" % seed, None, 0.0, 1200),  # unpowered past the link-loss time
    ]
    if long:
        for _ in range(3):
            cases += [
                ("firing", dud, None, 0.0, rng.choice((0, 100, 300))),
                ("arm_answered", "seed=%d" % seed, None, rng.uniform(0.0, 0.02), 0),
                ("arm_lost", "seed=%d" % seed, None, rng.uniform(0.05, 0.9), 0),
                ("armed", "seed=%d" % seed, None, 0.0, rng.choice((0, 500, 1500))),
            ]
    for phase, query, key, delay_s, off_ms in cases:
        client_case(counts, phase, query, key=key, delay_s=delay_s, off_ms=off_ms)


def run(long=False, seed=0):
    counts = _new_counts()
    counts["must_be_zero"] = [name for name in COUNTS if name != "resets"]
    with tempfile.TemporaryDirectory(prefix="coalwood-reset-") as storage:
        flown.fly(pathlib.Path(storage), "C6", seed=seed + 1)  # a flight the reboots must keep
        run_lockstep(long, seed, counts, storage)
    run_client(long, seed, counts)
    return counts


if __name__ == "__main__":
    sys.exit(common.main(run, __doc__))
