"""GUI benchmark: the window's start-up, live telemetry under load, a million points redrawn.

    python tests/bench/gui_bench.py [--json] [--step-s S] [--max-hz N]

startup_s: `python -m ground.ui.window --bench-startup` in a fresh process prints, on its
last line, the seconds from process start to the window shown and painted; this reads it.

telemetry_hz_sustained: ground.ui.telemetry.TelemetryPanel, shown (offscreen), fed TELEMETRY
the way a real link feeds it: a background thread (the link's reader thread) builds
protocol.messages.Telemetry batches of at most 18 samples every 10 ms and posts them through a
queued Qt signal to a relay on the GUI thread, which re-emits them to the panel, exactly the
two hops of ground.ui.Connection; STATUS follows at 2 Hz. A probe QTimer asks for a tick every
10 ms and records how late each one comes: the event loop's latency. Rates step up from 100 Hz,
doubling, for --step-s seconds each; a rate is sustained when every sample sent is drawn
(within 0.5 s of the end) and the probe's p99 lateness stays under 50 ms (a step that misses
is run once more and the better run kept: another process can take the CPU for a moment).
The figure is the highest sustained rate; the 100 Hz latencies are reported apart, and 100 Hz is also run in
250 ms batches (the firmware's period). screen_lag is from a batch being posted to the first
redraw that shows it.

plot_1m_points_redraw_ms: the panel holding 1,000,000 samples (about 2.8 h at 100 Hz); one
full redraw (the curves given their data, the view placed, the readouts set) and a whole paint
of the panel (QWidget.grab()), median of several, with the whole flight in view (every point
downsampled), and following the last 30 s.

Figures are reported, not asserted: exit 0 with figures, exit 2 with a one-line error when
something cannot be measured. Qt runs offscreen unless QT_QPA_PLATFORM says otherwise.
"""

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from benchutil import BenchError, report  # noqa: E402
from PySide6 import __version__ as PYSIDE_VERSION  # noqa: E402
from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal, Slot  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from protocol import constants as C  # noqa: E402
from protocol import messages as M  # noqa: E402
from protocol.ticks import TICKS_MAX  # noqa: E402

PROBE_MS = 10
LATENCY_LIMIT_MS = 50.0
BATCH_MS = 10
FIRMWARE_BATCH_MS = 250
STATUS_PERIOD_S = 0.5
DRAIN_S = 0.5  # after the feed stops, how long the panel has to draw the last samples
DEFAULT_STEP_S = 3.0
WARM_UP_S = 1.0
DEFAULT_MAX_HZ = 102_400
START_HZ = 100
POINTS_1M = 1_000_000
REDRAW_RUNS = 7
PANEL_SIZE_PX = (1280, 800)
STARTUP_TIMEOUT_S = 60.0


# --- the feed -------------------------------------------------------------------------------------
def flight_profile(t_s):
    """A made-up flight, repeating every 60 s: (altitude_cm, speed_cms) as integers."""
    phase = np.mod(t_s, 60.0)
    up = phase < 12.0
    alt_m = np.where(up, 30.0 * phase * (1 - phase / 24.0), 180.0 - 3.75 * (phase - 12.0))
    speed_ms = np.where(up, 30.0 - 2.5 * phase, -3.75)
    return (np.rint(alt_m * 100).astype(int).tolist(), np.rint(speed_ms * 100).astype(int).tolist())


class Relay(QObject):
    """The connection's shape: posted from a background thread, re-emitted on the GUI thread."""

    telemetry = Signal(object)
    status = Signal(object)
    connected = Signal(dict)
    fired = Signal(int)
    _post = Signal(object)

    def __init__(self):
        super().__init__()
        self._post.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def post(self, msg):
        self._post.emit(msg)

    @Slot(object)
    def _deliver(self, msg):
        if isinstance(msg, M.Telemetry):
            self.telemetry.emit(msg)
        else:
            self.status.emit(msg)


class Feed(threading.Thread):
    """Sends `rate_hz` samples a second for `duration_s`, in batches every `batch_ms`."""

    def __init__(self, relay, rate_hz, batch_ms, duration_s):
        super().__init__(name="gui-bench-feed", daemon=True)
        self.relay = relay
        self.rate_hz = rate_hz
        self.batch_ms = batch_ms
        self.duration_s = duration_s
        self.sent = []  # (perf_counter when posted, samples sent so far)
        self.samples = 0
        self.t_start = None
        self.t_end = None

    def run(self):
        period_s = self.batch_ms / 1000.0
        per_batch = self.rate_hz * period_s
        carry = 0.0
        next_status_s = 0.0
        self.t_start = t0 = time.perf_counter()
        k = 0
        while True:
            due = t0 + k * period_s
            if due - t0 >= self.duration_s:
                break
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            carry += per_batch
            n = int(carry)
            carry -= n
            while n > 0:
                m = min(n, C.MAX_TELEMETRY_SAMPLES)
                self._send_batch(m)
                n -= m
            if due - t0 >= next_status_s:
                self.relay.post(M.Status(battery_mv=8400 - int(due - t0), flight_state=C.FLIGHT_COAST))
                next_status_s += STATUS_PERIOD_S
            k += 1
        self.t_end = time.perf_counter()

    def _send_batch(self, count):
        index = self.samples + np.arange(count)
        t_ms = (index * 1000) // self.rate_hz  # whole device milliseconds, as a board sends
        alt_cm, speed_cms = flight_profile(t_ms / 1000.0)
        base_ms = int(t_ms[0])
        samples = [M.TelemetrySample(int(t_ms[i]) - base_ms, alt_cm[i], speed_cms[i], 98000)
                   for i in range(count)]
        msg = M.Telemetry(base_ms & TICKS_MAX, C.FLIGHT_COAST, samples)
        self.samples += count
        self.relay.post(msg)
        self.sent.append((time.perf_counter(), self.samples))


class Probe(QObject):
    """A timer that should fire every PROBE_MS: how late each tick is, in ms."""

    def __init__(self):
        super().__init__()
        self.lateness_ms = []
        self._last = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)

    def start(self):
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self):
        self._timer.stop()

    @Slot()
    def _tick(self):
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, (now - self._last) * 1000.0 - PROBE_MS))
        self._last = now


def percentiles(values_ms):
    if not values_ms:
        return {"p50": None, "p99": None, "max": None}
    a = np.asarray(values_ms)
    return {"p50": round(float(np.percentile(a, 50)), 2),
            "p99": round(float(np.percentile(a, 99)), 2),
            "max": round(float(a.max()), 2)}


def run_rate(app, panel, relay, rate_hz, batch_ms, duration_s):
    """One step: feed for duration_s while probing the event loop; the step's figures."""
    panel.clear()
    rejected_before = panel.bad_batches
    draws = []  # (perf_counter, samples drawn)
    on_redraw = lambda: draws.append((time.perf_counter(), panel.point_count))  # noqa: E731
    panel.redrawn.connect(on_redraw)
    probe = Probe()
    feed = Feed(relay, rate_hz, batch_ms, duration_s)
    loop = QEventLoop()
    probe.start()
    feed.start()
    QTimer.singleShot(int(duration_s * 1000), loop.quit)
    loop.exec()
    while feed.is_alive():  # its last batch may still be going out
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
    feed_lateness = list(probe.lateness_ms)  # the loop's latency while the feed ran
    deadline = feed.t_end + DRAIN_S
    while time.perf_counter() < deadline and (not draws or draws[-1][1] < feed.samples):
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
    probe.stop()
    panel.redrawn.disconnect(on_redraw)

    # the samples sent cover the nominal span, unless the feed itself fell behind
    elapsed_s = max(duration_s, feed.t_end - feed.t_start)
    drawn = max((n for t, n in draws if t <= deadline), default=0)
    lags_ms = screen_lags_ms(feed.sent, draws)
    latency = percentiles(feed_lateness)
    ok = drawn == feed.samples and latency["p99"] is not None and latency["p99"] < LATENCY_LIMIT_MS
    return {
        "rate_hz": rate_hz,
        "batch_ms": batch_ms,
        "seconds": round(elapsed_s, 3),
        "samples_sent": feed.samples,
        "samples_drawn": drawn,
        "sent_hz": round(feed.samples / elapsed_s, 1),
        "plotted_hz": round(drawn / elapsed_s, 1),
        "latency_ms": latency,
        "screen_lag_ms": percentiles(lags_ms),
        "redraws": len(draws),
        "batches_rejected": panel.bad_batches - rejected_before,
        "sustained": ok,
    }


def run_step(app, panel, relay, rate_hz, batch_ms, duration_s):
    """run_rate(), and once more if it was not sustained: another process taking the CPU
    for a moment should not end the climb. The better of the two is kept (tries says so)."""
    first = run_rate(app, panel, relay, rate_hz, batch_ms, duration_s)
    if first["sustained"]:
        return dict(first, tries=1)
    second = run_rate(app, panel, relay, rate_hz, batch_ms, duration_s)
    best = min((first, second), key=lambda r: (not r["sustained"], r["latency_ms"]["p99"] or 0))
    return dict(best, tries=2)


def screen_lags_ms(sent, draws):
    """For each batch, ms from being posted to the first redraw holding its samples."""
    lags = []
    j = 0
    for t_sent, count in sent:
        while j < len(draws) and (draws[j][1] < count or draws[j][0] < t_sent):
            j += 1
        if j == len(draws):
            break
        lags.append((draws[j][0] - t_sent) * 1000.0)
    return lags


def measure_telemetry(app, step_s, max_hz):
    from ground.ui.telemetry import TelemetryPanel

    relay = Relay()
    panel = TelemetryPanel(relay)
    panel.resize(*PANEL_SIZE_PX)
    panel.show()
    app.processEvents()
    run_rate(app, panel, relay, START_HZ, BATCH_MS, WARM_UP_S)  # first paints, caches: not counted
    at_100 = run_step(app, panel, relay, START_HZ, BATCH_MS, step_s)
    firmware_batches = run_step(app, panel, relay, START_HZ, FIRMWARE_BATCH_MS, step_s)
    steps = [at_100]
    rate = START_HZ
    while steps[-1]["sustained"] and rate * 2 <= max_hz:
        rate *= 2
        steps.append(run_step(app, panel, relay, rate, BATCH_MS, step_s))
    sustained = [s["rate_hz"] for s in steps if s["sustained"]]
    panel.close()
    return {
        "telemetry_hz_sustained": max(sustained) if sustained else None,
        "telemetry_100hz_plotted_hz": at_100["plotted_hz"],
        "telemetry_100hz_latency_ms_p50": at_100["latency_ms"]["p50"],
        "telemetry_100hz_latency_ms_p99": at_100["latency_ms"]["p99"],
        "telemetry_100hz_latency_ms_max": at_100["latency_ms"]["max"],
        "telemetry_100hz_screen_lag_ms_p99": at_100["screen_lag_ms"]["p99"],
        "telemetry_100hz_250ms_batches": firmware_batches,
        "telemetry_steps": steps,
        "telemetry_latency_limit_ms": LATENCY_LIMIT_MS,
        "telemetry_max_hz_tried": max_hz,
    }


# --- a million points -----------------------------------------------------------------------------
def measure_redraw(app):
    from ground.ui.telemetry import TelemetryPanel

    panel = TelemetryPanel(None, capacity=POINTS_1M)
    panel.resize(*PANEL_SIZE_PX)
    panel.show()
    app.processEvents()
    t_s = np.arange(POINTS_1M) / 100.0
    alt_cm, speed_cms = flight_profile(t_s)
    panel.add_samples(t_s, np.asarray(alt_cm) / 100.0, np.asarray(speed_cms) / 100.0,
                      C.FLIGHT_COAST)
    out = {}
    for mode in ("whole", "follow"):
        panel.set_follow(mode == "follow")
        panel.redraw()
        panel.grab()  # the first paint lays out and caches; not counted
        full, redraw_only = [], []
        for _ in range(REDRAW_RUNS):
            t0 = time.perf_counter()
            panel.redraw()
            t1 = time.perf_counter()
            panel.grab()
            t2 = time.perf_counter()
            redraw_only.append((t1 - t0) * 1000.0)
            full.append((t2 - t0) * 1000.0)
        out[mode] = {"redraw_and_paint_ms": round(statistics.median(full), 2),
                     "redraw_ms": round(statistics.median(redraw_only), 2),
                     "points_on_curve": len(panel.altitude_curve.xData)}
    if panel.point_count != POINTS_1M:
        raise BenchError("the panel holds %d points, not %d" % (panel.point_count, POINTS_1M))
    panel.close()
    return {
        "plot_1m_points_redraw_ms": out["whole"]["redraw_and_paint_ms"],
        "plot_1m_points_redraw_ms_follow": out["follow"]["redraw_and_paint_ms"],
        "plot_1m_points_detail": out,
    }


# --- start-up -------------------------------------------------------------------------------------
def measure_startup_s():
    """(seconds from process start to the window shown, note or None), from the window's
    own `--bench-startup` entry point in a fresh process."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, "-m", "ground.ui.window", "--bench-startup"],
                              capture_output=True, text=True, cwd=ROOT, env=env,
                              timeout=STARTUP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, "the window did not start within %g s" % STARTUP_TIMEOUT_S
    if "No module named ground.ui.window" in proc.stderr:
        return None, "ground.ui.window is missing"
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        err = " ".join(proc.stderr.strip().splitlines()[-1:])
        return None, "--bench-startup failed (exit %d): %s" % (proc.returncode, err[-200:])
    try:
        seconds = float(lines[-1])
    except ValueError:
        return None, "--bench-startup printed %r, not seconds" % lines[-1][:80]
    if not math.isfinite(seconds):
        return None, "--bench-startup could not tell the process's age on this system"
    return round(seconds, 3), None


# --- the command line -----------------------------------------------------------------------------
def measure(step_s, max_hz):
    if step_s <= 0.5:
        raise BenchError("--step-s must be above 0.5")
    if max_hz < START_HZ:
        raise BenchError("--max-hz must be at least %d" % START_HZ)
    import pyqtgraph

    app = QApplication.instance() or QApplication([sys.argv[0]])
    startup_s, startup_note = measure_startup_s()
    result = {"startup_s": startup_s}
    result.update(measure_telemetry(app, step_s, max_hz))
    result.update(measure_redraw(app))
    result.update({
        "notes": [startup_note] if startup_note else [],
        "qt_platform": app.platformName(),
        "pyside6_version": PYSIDE_VERSION,
        "pyqtgraph_version": pyqtgraph.__version__,
        "python_version": platform.python_version(),
        "step_s": step_s,
    })
    # the keys the issue names come first
    head = ("startup_s", "telemetry_hz_sustained", "plot_1m_points_redraw_ms")
    return {**{k: result[k] for k in head}, **{k: v for k, v in result.items() if k not in head}}


def _ms(value):
    return "n/a" if value is None else "%.1f" % value


def table(r):
    rows = [
        ("start-up (s)", "n/a" if r["startup_s"] is None else "%.3f" % r["startup_s"]),
        ("telemetry sustained (Hz)", "%s (p99 loop latency < %g ms, every sample drawn)" % (
            r["telemetry_hz_sustained"], r["telemetry_latency_limit_ms"])),
        ("100 Hz, 10 ms batches", "%.1f Hz plotted; loop latency p50 %s / p99 %s / max %s ms; "
         "screen lag p99 %s ms" % (
             r["telemetry_100hz_plotted_hz"], _ms(r["telemetry_100hz_latency_ms_p50"]),
             _ms(r["telemetry_100hz_latency_ms_p99"]), _ms(r["telemetry_100hz_latency_ms_max"]),
             _ms(r["telemetry_100hz_screen_lag_ms_p99"]))),
    ]
    fb = r["telemetry_100hz_250ms_batches"]
    rows.append(("100 Hz, 250 ms batches", "%.1f Hz plotted; loop latency p99 %s ms" % (
        fb["plotted_hz"], _ms(fb["latency_ms"]["p99"]))))
    for s in r["telemetry_steps"][1:]:
        rows.append(("  %d Hz" % s["rate_hz"], "%.0f Hz plotted of %.0f sent; p99 %s ms, max %s ms%s" % (
            s["plotted_hz"], s["sent_hz"], _ms(s["latency_ms"]["p99"]),
            _ms(s["latency_ms"]["max"]), "" if s["sustained"] else "  (not sustained)")))
    d = r["plot_1m_points_detail"]
    rows.append(("1M points, whole flight (ms)", "%.1f redraw and paint (%.1f redraw)" % (
        d["whole"]["redraw_and_paint_ms"], d["whole"]["redraw_ms"])))
    rows.append(("1M points, following (ms)", "%.1f redraw and paint (%.1f redraw)" % (
        d["follow"]["redraw_and_paint_ms"], d["follow"]["redraw_ms"])))
    width = max(len(name) for name, _ in rows)
    out = ["GUI benchmark on Qt %s, PySide6 %s, pyqtgraph %s, Python %s" % (
        r["qt_platform"], r["pyside6_version"], r["pyqtgraph_version"], r["python_version"])]
    out += ["%-*s  %s" % (width, name, value) for name, value in rows]
    out += ["note: %s" % n for n in r["notes"]]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    parser.add_argument("--step-s", type=float, default=DEFAULT_STEP_S,
                        help="seconds per telemetry rate (default %g)" % DEFAULT_STEP_S)
    parser.add_argument("--max-hz", type=int, default=DEFAULT_MAX_HZ,
                        help="highest telemetry rate tried (default %d)" % DEFAULT_MAX_HZ)
    args = parser.parse_args(argv)
    return report("gui_bench", lambda: measure(args.step_s, args.max_hz), table, args.json,
                  (OSError,))


if __name__ == "__main__":
    sys.exit(main())
