"""`coalwood demo`: a whole launch rehearsed on a laptop, no hardware.

A simulated pad box (the real firmware on simulated hardware) with a sample
rocket on the pad: check, arm, count down, fire; the e-match lights the motor,
the simulated barometer follows the trajectory and the firmware's altimeter
detects and logs the flight while the terminal shows its altitude live from
TELEMETRY; after landing the flight is downloaded and verified like a real
one, and a paragraph sums it up next to what the simulation says happened.

The flight runs on the device's clock sped up (`speed`, default 10x) once the
pad is SAFE again after firing; arming and the countdown run in real time.
"""

import sys
import tempfile
import threading
import time

from ground.client import DeviceClient
from ground.download import Downloader
from ground.flightfile import parse as parse_flight
from ground.launch import LaunchSequence
from protocol import constants as C

DEMO_MOTOR = "H128W"
LANDED_MARGIN_S = 30.0  # device seconds past the simulated landing before giving up


class FlightWatch:
    """Collects TELEMETRY (reader thread) and shows the flight a line at a time."""

    def __init__(self, out, live):
        self.out = out
        self.live = live  # rewrite one line in place (a terminal) instead of printing lines
        self.lock = threading.Lock()
        self.state = C.FLIGHT_PAD
        self.altitude_m = 0.0
        self.speed_m_s = 0.0
        self.max_altitude_m = 0.0
        self.samples = 0
        self.states_seen = []
        self._shown_state = None

    def on_telemetry(self, msg):
        with self.lock:
            for s in msg.samples:
                self.altitude_m = s.altitude_cm / 100.0
                self.speed_m_s = s.speed_cms / 100.0
                self.max_altitude_m = max(self.max_altitude_m, self.altitude_m)
                self.samples += 1
            self.state = msg.flight_state
            if not self.states_seen or self.states_seen[-1] != msg.flight_state:
                self.states_seen.append(msg.flight_state)

    def show(self, flight_s):
        with self.lock:
            state, alt, spd, top = self.state, self.altitude_m, self.speed_m_s, self.max_altitude_m
        line = "T+%6.1f s  %-7s altitude %7.1f m  speed %+7.1f m/s  highest %7.1f m" % (
            flight_s, C.FLIGHT_STATE_NAMES[state], alt, spd, top)
        if self.live:
            self.out.write("\r" + line)
            self.out.flush()
        elif state != self._shown_state:
            self.out.write(line + "\n")
        self._shown_state = state

    def end(self):
        if self.live:
            self.out.write("\n")


def _wait_for_landing(client, device, watch, timeout_s, tick_s=0.1):
    """Until the device has logged and closed the flight; False on timeout."""
    deadline = time.monotonic() + timeout_s
    flew = False
    while time.monotonic() < deadline:
        hb = client.heartbeat
        flying = hb is not None and bool(hb.flags & C.DEV_FLYING)
        flew = flew or flying
        t = device.hal.flight_time_ms()
        watch.show((t or 0) / 1000.0)
        if flew and not flying:
            # the batch with the landing in it follows within a telemetry period
            until = time.monotonic() + 1.0
            while watch.state != C.FLIGHT_LANDED and time.monotonic() < until:
                time.sleep(tick_s / 10)
            watch.show((device.hal.flight_time_ms() or 0) / 1000.0)
            return True
        time.sleep(tick_s)
    return False


def _progress_bar(out):
    from tqdm import tqdm

    bar = {}

    def progress(done, total, _rate):
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit="B", unit_scale=True, desc="download",
                              file=out, leave=True)
        b = bar["bar"]
        b.update(done - b.n)
        if done >= total:
            b.close()

    return progress


def summary_paragraph(flight, truth, info, result):
    """One paragraph: the logged flight, the simulation's truth beside it, the download."""
    ev = {e.name: e for e in flight.events}
    logged = flight.apogee_m
    true_apogee = truth["apogee_m"]
    parts = [
        "Flight %d (%s, %s motor), times from the moment liftoff was detected:" % (
            flight.header.flight, truth["rocket"], truth["motor"]),
        "burnout %s, apogee %.1f m (%.0f ft)%s," % (
            "T%+.2f s" % ev["burnout"].t_s if "burnout" in ev else "not logged",
            logged, logged / 0.3048,
            " at T%+.2f s" % ev["apogee"].t_s if "apogee" in ev else ""),
        "main %s, landed %s." % (
            "T%+.1f s" % ev["main"].t_s if "main" in ev else "not logged",
            "T%+.1f s" % ev["landed"].t_s if "landed" in ev else "not logged"),
        "The simulation put the apogee at %.1f m, %.2f s after ignition, with a top speed of "
        "%.0f m/s (Mach %.2f): the altimeter's apogee is off by %+.1f m (%+.2f %%)." % (
            true_apogee, truth["time_to_apogee_s"], truth["max_speed_m_s"], truth["max_mach"],
            logged - true_apogee, 100.0 * (logged - true_apogee) / true_apogee),
        "%d records (%d bytes) downloaded in %.2f s, CRC-32 and SHA-256 %s verified%s." % (
            len(flight.records), info.size_bytes, result.seconds, info.sha256.hex()[:12],
            "" if flight.ok else "; " + "; ".join(flight.problems())),
    ]
    return " ".join(parts)


def run_demo(seed=1, countdown_s=10, speed=10.0, out_dir=None, motor=DEMO_MOTOR, out=None):
    """The whole rehearsal; returns (outcome, summary or None, path of the downloaded flight)."""
    out = out if out is not None else sys.stdout
    live = hasattr(out, "isatty") and out.isatty()
    say = lambda text: out.write(text + "\n")  # noqa: E731
    say("Coalwood demo: a simulated pad, a sample rocket with the %s motor on it, a good "
        "e-match on channel 1, the arm key on." % motor)
    client = DeviceClient("sim://?seed=%d&ch1=ematch&ch2=open&motor=%s" % (seed, motor))
    watch = FlightWatch(out, live)
    client.on_telemetry = watch.on_telemetry
    client.connect(timeout=3.0)
    device = client.link._port.device  # the simulator's control side-channel
    try:
        seq = LaunchSequence(client, 0, countdown_s, 1000, misfire_wait_s=5,
                             out=lambda text: say(text))
        seq.preflight()
        result = seq.run()
        say("outcome: %s" % result)
        if result != "FIRED" or device.hal.flight_time_ms() is None:
            return result, None, None
        truth = device.hal.flight.result.summary()
        say("the motor is lit: flying at %gx speed (the pad is SAFE)" % speed)
        device.clock.set_speed(speed)
        limit_s = (truth["landing_time_s"] + 12.0 + LANDED_MARGIN_S) / speed + 5.0
        landed = _wait_for_landing(client, device, watch, limit_s)
        watch.end()
        device.clock.set_speed(1.0)
        if not landed:
            say("the altimeter did not close the flight in time")
            return "NO_FLIGHT", None, None
        infos = client.flight_list()
        if not infos:
            say("the altimeter logged no flight")
            return "NO_FLIGHT", None, None
        info = infos[-1]
        folder = out_dir if out_dir is not None else tempfile.mkdtemp(prefix="coalwood-demo-")
        got = Downloader(client, folder, progress=_progress_bar(out)).download(info)
        flight = parse_flight(got.data)
        paragraph = summary_paragraph(flight, truth, info, got)
        say("")
        say(paragraph)
        say("the flight log is at %s" % got.path)
        return result, paragraph, got.path
    finally:
        client.close()
