"""Link benchmark: ARM round trip and FIRE latency over a real, rate-limited pty.

    python tests/bench/link_bench.py [--json] [--trials N]

The simulated pad (ground.sim.device.SimDevice, the real firmware App on
SimHal) runs in this process, served on a pseudo-terminal by the pty server's
own `Pump` (ground/sim/pty_server.py) at 115200 8N1, so 11,520 bytes per second
each way. The ground side is the real ground.client.DeviceClient opened on the
pty's path. The device's clock (ground.sim.device.WarpClock at speed 1) and the times taken
here are both time.monotonic(), so a fire output's recorded on-edge can be
compared with the moment the ground wrote the FIRE frame.

Figures are reported, not asserted: exit 0 with figures, exit 2 with a
one-line error when something cannot be measured.
"""

import argparse
import contextlib
import os
import platform
import random
import statistics
import sys
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchutil import BenchError, report  # noqa: E402

from ground.client import CommandRefused, DeviceClient, DeviceError  # noqa: E402
from ground.link import LinkError  # noqa: E402
from ground.sim.device import SimDevice  # noqa: E402
from ground.sim.hal import TICKS_MASK  # noqa: E402
from ground.sim.pty_server import PUMP_WAIT_S, Pump  # noqa: E402
from protocol import ROLE_DEVICE, ROLE_GROUND, Connection  # noqa: E402
from protocol import constants as C  # noqa: E402
from protocol import messages as M  # noqa: E402

BAUD = 115200
BYTES_PER_S = BAUD / 10.0  # 8N1: ten bits on the line per byte
TARGET_RATIO = 3.0
CHANNEL = 0  # channel 1
MASK = 1 << CHANNEL
READY_TIMEOUT_S = 2.0
EDGE_TIMEOUT_S = 1.0
RUN_BUDGET_S = 50.0


class PtyPad:
    """A SimDevice on a pty, pumped at the line rate by pty_server.Pump in a thread.

    This is what `coalwood sim` / run_sim does, minus its stdin control loop:
    the side-channel is called directly on the device instead.
    """

    def __init__(self, baud=BAUD, seed=1):
        self.device = SimDevice(channels=("dud", "ematch"), key_on=True, seed=seed)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.pump = Pump(self.master, self.device, baud)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-pty-pump", daemon=True)
        self.error = None

    def start(self):
        self.device.start()
        self.pump.last = time.monotonic()
        self._thread.start()
        return self

    def _run(self):
        try:
            while not self._stop.is_set():
                if self.device.error is not None:
                    self.error = self.device.error
                    return
                self.pump.run_once(PUMP_WAIT_S)  # as run_sim's loop does
        except Exception as exc:  # reported by the main thread
            self.error = exc

    def close(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)
        self.device.close()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def ticks_diff_ms(a, b):
    """a - b in ms on the device's wrapping clock (a and b may be floats)."""
    d = (a - b) % (TICKS_MASK + 1)
    if d > (TICKS_MASK + 1) / 2:
        d -= TICKS_MASK + 1
    return d


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(1, -(-len(s) * q // 100))  # ceil(n * q / 100)
    return s[int(k) - 1]


def summary(values):
    return statistics.median(values), percentile(values, 90), max(values)


def wait_ready(pad, deadline):
    """Wait until the pad is SAFE and channel 1 reads CONNECTED (ARM needs continuity)."""
    dev = pad.device
    end = time.monotonic() + READY_TIMEOUT_S
    while True:
        check_alive(pad, deadline)
        with dev._lock:
            ok = (dev.app.controller.state == C.STATE_SAFE
                  and dev.app.continuity.cls[CHANNEL] == C.CONT_CONNECTED)
        if ok:
            return
        if time.monotonic() > end:
            raise BenchError("the simulated pad did not become SAFE with channel 1 CONNECTED")
        time.sleep(0.002)


def check_alive(pad, deadline):
    if pad.error is not None:
        raise BenchError("the pty pump or simulated device stopped: %r" % (pad.error,))
    if time.monotonic() > deadline:
        raise BenchError("the run took longer than %.0f s" % RUN_BUDGET_S)


def arm(client):
    try:
        return client.arm(MASK)
    except CommandRefused as exc:
        raise BenchError("ARM refused by the simulated pad: %s" % exc.reason_name) from None


def settle(rng):
    """A random pause, so trials do not lock onto the device loop's or pump's phase."""
    time.sleep(0.020 + rng.random() * 0.010)


def measure(trials):
    if trials < 1:
        raise BenchError("--trials must be at least 1")
    rng = random.Random(1)
    deadline = time.monotonic() + RUN_BUDGET_S
    try:
        pad = PtyPad().start()
    except OSError as exc:
        raise BenchError("cannot open a pseudo-terminal: %s" % exc) from None
    client = None
    try:
        client = DeviceClient(pad.path, baudrate=BAUD)
        try:
            client.connect()
        except (DeviceError, LinkError) as exc:
            raise BenchError("cannot connect to the simulated pad on %s: %s" % (pad.path, exc)) from None
        dev = pad.device

        # Exact (unquantized) time of every fire output change, alongside the
        # HAL's own edges (which carry the step's whole-millisecond tick).
        exact_edges = []
        hal_fire = dev.hal.fire

        def fire_and_record(channel, on):
            hal_fire(channel, on)
            exact_edges.append((time.monotonic(), channel, bool(on)))

        dev.hal.fire = fire_and_record

        # --- ARM -> ARM_ACK round trip --------------------------------------------------------
        arm_rtt = []
        ack = None
        for _ in range(trials):
            wait_ready(pad, deadline)
            settle(rng)
            t0 = time.monotonic()
            ack = arm(client)
            t1 = time.monotonic()
            arm_rtt.append((t1 - t0) * 1000.0)
            if ack.channel_mask != MASK:
                raise BenchError("ARM_ACK armed mask %#x, expected %#x" % (ack.channel_mask, MASK))
            client.disarm()

        # --- FIRE written -> fire output on ---------------------------------------------------
        fire_lat = []
        fire_exact = []
        for _ in range(trials):
            dev.set_igniter(CHANNEL, "dud")  # fresh, keeps continuity, never burns open
            wait_ready(pad, deadline)
            arm(client)
            settle(rng)
            n_edges = len(dev.hal.edges)
            n_exact = len(exact_edges)
            t0 = time.monotonic()
            client.start_fire(MASK)  # writes the first FIRE frame at once
            end = time.monotonic() + EDGE_TIMEOUT_S
            edge = None
            while edge is None:
                for t_ms, ch, on in dev.hal.edges[n_edges:]:
                    if ch == CHANNEL and on:
                        edge = t_ms
                        break
                if edge is None:
                    if client.fire_nak is not None:
                        raise BenchError("FIRE refused by the simulated pad: %s"
                                         % client.fire_nak.reason_name)
                    if time.monotonic() > end:
                        raise BenchError("channel 1 did not turn on within %.0f ms of FIRE"
                                         % (EDGE_TIMEOUT_S * 1000))
                    check_alive(pad, deadline)
                    time.sleep(0.0002)
            client.stop_fire()
            fire_lat.append(ticks_diff_ms(edge, t0 * 1000.0))
            exact = [t for t, ch, on in exact_edges[n_exact:] if ch == CHANNEL and on]
            if exact:
                fire_exact.append((exact[0] - t0) * 1000.0)
            client.disarm()
        token = bytes(ack.token)
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        pad.close()

    # --- wire floors from the encoded frame sizes ----------------------------------------------
    device = Connection(ROLE_DEVICE, session=0x5EED1A7E)
    ground = Connection(ROLE_GROUND)
    hello = device.send(M.Heartbeat(C.STATE_SAFE, 0, 0xFFFF))  # the ground learns the session
    ground.receive_data(hello, -1, 0)
    if ground.next_event() is None:
        raise BenchError("the ground Connection did not accept the device's HEARTBEAT")
    arm_bytes = len(ground.send(M.Arm(MASK, 0)))
    ack_bytes = len(device.send(M.ArmAck(ack.re_seq, token, ack.channel_mask, ack.lapse_ms)))
    fire_bytes = len(ground.send(M.Fire.for_channels(token, MASK)))
    floor_arm = (arm_bytes + ack_bytes) / BYTES_PER_S * 1000.0
    floor_fire = fire_bytes / BYTES_PER_S * 1000.0

    a_med, a_p90, a_max = summary(arm_rtt)
    f_med, f_p90, f_max = summary(fire_lat)
    result = {
        "arm_rtt_ms_median": round(a_med, 2),
        "arm_rtt_ms_p90": round(a_p90, 2),
        "arm_rtt_ms_max": round(a_max, 2),
        "fire_latency_ms_median": round(f_med, 2),
        "fire_latency_ms_p90": round(f_p90, 2),
        "fire_latency_ms_max": round(f_max, 2),
        "wire_floor_arm_ms": round(floor_arm, 3),
        "wire_floor_fire_ms": round(floor_fire, 3),
        "arm_rtt_ratio_to_floor": round(a_med / floor_arm, 2),
        "fire_latency_ratio_to_floor": round(f_med / floor_fire, 2),
        "target_ratio_max": TARGET_RATIO,
        "trials": trials,
        "baud": BAUD,
        "python_version": platform.python_version(),
        # context
        "arm_frame_bytes": arm_bytes,
        "arm_ack_frame_bytes": ack_bytes,
        "fire_frame_bytes": fire_bytes,
        "fire_latency_exact_ms_median": (round(statistics.median(fire_exact), 2)
                                         if fire_exact else None),
        "arm_rtt_ms_min": round(min(arm_rtt), 2),
        "fire_latency_ms_min": round(min(fire_lat), 2),
    }
    return result


def table(r):
    def met(ratio):
        return "met" if ratio <= r["target_ratio_max"] else "missed"

    rows = [
        ("ARM -> ARM_ACK round trip (ms)", "%.2f / %.2f / %.2f" % (
            r["arm_rtt_ms_median"], r["arm_rtt_ms_p90"], r["arm_rtt_ms_max"])),
        ("FIRE written -> output on (ms)", "%.2f / %.2f / %.2f" % (
            r["fire_latency_ms_median"], r["fire_latency_ms_p90"], r["fire_latency_ms_max"])),
        ("wire floor, ARM + ARM_ACK (ms)", "%.3f (%d + %d bytes)" % (
            r["wire_floor_arm_ms"], r["arm_frame_bytes"], r["arm_ack_frame_bytes"])),
        ("wire floor, FIRE (ms)", "%.3f (%d bytes)" % (
            r["wire_floor_fire_ms"], r["fire_frame_bytes"])),
        ("ARM ratio to floor (median)", "%.2f (target <= %g: %s)" % (
            r["arm_rtt_ratio_to_floor"], r["target_ratio_max"], met(r["arm_rtt_ratio_to_floor"]))),
        ("FIRE ratio to floor (median)", "%.2f (target <= %g: %s)" % (
            r["fire_latency_ratio_to_floor"], r["target_ratio_max"],
            met(r["fire_latency_ratio_to_floor"]))),
        ("FIRE -> output on, exact (median ms)", "%s" % r["fire_latency_exact_ms_median"]),
    ]
    width = max(len(k) for k, _ in rows)
    out = ["Link benchmark: %d trials at %d baud (8N1, %d B/s), Python %s"
           % (r["trials"], r["baud"], BYTES_PER_S, r["python_version"]),
           "%-*s  %s" % (width, "figure", "median / p90 / max or value")]
    out += ["%-*s  %s" % (width, k, v) for k, v in rows]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    parser.add_argument("--trials", type=int, default=20, help="trials per figure (default 20)")
    args = parser.parse_args(argv)
    return report("link_bench", lambda: measure(args.trials), table, args.json,
                  (DeviceError, LinkError, OSError))


if __name__ == "__main__":
    sys.exit(main())
