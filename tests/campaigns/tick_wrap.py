"""Time wrap: the firmware's millisecond tick crossing its wrap (2**30, as MicroPython's
ticks_ms) while ARMED, FIRING, timing a lost link or logging a flight changes nothing.

Each case runs on the lockstep rig of link_loss.py (the real firmware on a ManualClock and a
legitimate ground on a 115200 line, one millisecond at a time) twice over: once with the
device's clock far from the wrap (the reference), and once for every offset of a sweep with
the clock started so the tick wraps that many milliseconds after the moment the case is
about. The controller's state at every millisecond and the output edges, in the rig's own
unwrapped milliseconds, must be the same as the reference's, and the timings the design
promises must hold:

    armed_lapse     an unrefreshed ARM lapses after arm_lapse_ms (3 s)
    armed_refresh   a refreshed ARM lapses arm_lapse_ms after its last ARM_REFRESH
    pulse           one FIRE: the output is on for exactly fire_pulse_ms (250 ms)
    deadman         a FIRE stream released: off exactly fire_pulse_ms after its last FIRE
    cap             a FIRE stream held: on for exactly fire_cap_ms (3 s), then SAFE
    link_loss       the link cut while ARMED: SAFE link_loss_ms after the last valid frame
    logging         the simulated C6 rocket flown with the wrap before liftoff (in the
                    pre-launch ring), at liftoff, in boost, coast, at apogee, under the
                    main and after landing; the flight read back with the firmware's
                    FlightLog and the ground's flight parser: the same sample times,
                    values and events as the reference flight, times continuous, events
                    in order, and the same TELEMETRY on the ground

The controller runs its rules every 10 ms tick while ARMED, so a lapse or a link loss may
come up to one tick after its deadline (the same with and without the wrap); a pulse and
the cap are exact (the controller is ticked on every pass while FIRING).

Counts: wraps (runs whose tick really wrapped), timing_errors, log_time_errors,
telemetry_time_errors (all three must be 0).

    python tests/campaigns/tick_wrap.py [--long] [--seed N] [--json]
"""

import binascii
import hashlib
import os
import random
import sys
import tempfile

try:
    from campaigns import common
except ImportError:  # run as a script: tests/campaigns is on the path, tests/ is not
    import common

common.bootstrap()

import numpy as np  # noqa: E402

from campaigns.link_loss import FIRE_PERIOD_MS, Lockstep  # noqa: E402
from firmware.app import TICK_MS  # noqa: E402
from firmware.flightlog import FlightLog  # noqa: E402
from ground.flightfile import load  # noqa: E402
from ground.sim.hal import TICKS_MASK  # noqa: E402
from protocol import constants as C  # noqa: E402
from protocol import messages as M  # noqa: E402
from protocol.ticks import ticks_diff  # noqa: E402

WRAP = TICKS_MASK + 1
FAR_TICK = 5000  # the reference: the tick is nowhere near its wrap
ACTION_MS = 1000  # rig ms at which each case begins (the rig has booted by then)
AFTER_CLOSE_MS = 2000
EVENT_ORDER = ("liftoff", "burnout", "apogee", "main", "landed")


def start_for_wrap(wrap_at_ms):
    """The start tick that makes the device's tick wrap at the rig's wrap_at_ms."""
    return (WRAP - wrap_at_ms) & TICKS_MASK


def wrapped(rig):
    """True when the device's tick went past its wrap during the run."""
    return rig.clock.now < rig.tick0


# --- the timing cases --------------------------------------------------------------------------
class Case:
    """One timing case: drive(rig) runs it; check(rig, figures) returns a list of problems.

    moments: the rig ms the case is about (the sweep puts the wrap around each of them);
    span_ms: how far after ACTION_MS the sweep goes.
    """

    name = ""
    span_ms = 0

    def moments(self, c):
        return [ACTION_MS]

    def drive(self, rig):
        raise NotImplementedError

    def check(self, rig, figures):
        return []


def _arm(rig, mask=1):
    rig.run(ACTION_MS - rig.ms)
    reply = rig.arm(mask)
    if not isinstance(reply, M.ArmAck):
        raise AssertionError("ARM answered %r" % (reply,))


def _armed_at(rig):
    """Rig ms at which the controller last became ARMED."""
    return [t for t, s in rig.states if s == C.STATE_ARMED][-1]


def _safe_at(rig):
    if rig.state != C.STATE_SAFE:
        return None
    return rig.states[-1][0]


def _on_spans(rig):
    """[(on_ms, off_ms or None)] of channel 0's output, in rig ms."""
    spans = []
    for t, ch, on in rig.dev.edges:
        if ch != 0:
            continue
        t = rig.ms_of_tick(t)
        if on:
            spans.append([t, None])
        elif spans:
            spans[-1][1] = t
    return [tuple(s) for s in spans]


def _within(value, nominal, slack):
    return value is not None and nominal <= value < nominal + slack


class ArmedLapse(Case):
    name = "armed_lapse"

    def moments(self, c):
        return [ACTION_MS, ACTION_MS + c.arm_lapse_ms]

    def drive(self, rig):
        rig.auto_refresh = False
        remaining = []

        def watch(r):
            c = r.dev.app.controller
            if c.state == C.STATE_ARMED:
                remaining.append(c.arm_remaining_ms(r.clock.now))

        rig.observers.append(watch)
        _arm(rig)
        rig.run(rig.dev.app.controller.arm_lapse_ms + 200)
        # it counts down one per ms to 0 (then it may read 0 until the next tick lapses it)
        counting = remaining[:remaining.index(0) + 1] if 0 in remaining else remaining
        steps = np.diff(np.array(counting))
        return {"armed_ms": (_safe_at(rig) or 0) - _armed_at(rig),
                "remaining_jumps": int(np.count_nonzero(steps != -1)),
                "reason": rig.dev.app.controller.safe_reason}

    def check(self, rig, f):
        c = rig.dev.app.controller
        out = []
        if not _within(f["armed_ms"], c.arm_lapse_ms, TICK_MS):
            out.append("armed %s ms, lapse %d" % (f["armed_ms"], c.arm_lapse_ms))
        if f["remaining_jumps"]:
            out.append("arm_remaining_ms jumped %d times" % f["remaining_jumps"])
        if f["reason"] != C.SAFE_ARM_LAPSED:
            out.append("SAFE for %s, not the lapse" % C.SAFE_REASON_NAMES[f["reason"]])
        return out


class ArmedRefresh(Case):
    name = "armed_refresh"
    stop_refresh_ms = 1500  # after ACTION_MS: one refresh has gone out

    def moments(self, c):
        return [ACTION_MS, ACTION_MS + 1000, ACTION_MS + 1000 + c.arm_lapse_ms]

    def drive(self, rig):
        _arm(rig)
        rig.run(ACTION_MS + self.stop_refresh_ms - rig.ms)
        rig.auto_refresh = False
        rig.run(rig.dev.app.controller.arm_lapse_ms + 200)
        refreshes = [t for t, _b, typ, _s, _k in rig.record.frames if typ == C.ARM_REFRESH]
        return {"refreshes": len(refreshes),
                "lapse_after_refresh_ms": (_safe_at(rig) or 0) - refreshes[-1]
                if refreshes else None}

    def check(self, rig, f):
        c = rig.dev.app.controller
        out = []
        if f["refreshes"] < 1:
            out.append("no ARM_REFRESH reached the device")
        if not _within(f["lapse_after_refresh_ms"], c.arm_lapse_ms, TICK_MS):
            out.append("lapsed %s ms after the refresh" % f["lapse_after_refresh_ms"])
        return out


class Pulse(Case):
    name = "pulse"
    fires = 1

    def moments(self, c):
        last = ACTION_MS + 100 + (self.fires - 1) * FIRE_PERIOD_MS
        return [last, last + c.fire_pulse_ms]

    def drive(self, rig):
        _arm(rig)
        rig.run(100)
        rig.start_fire(1)
        rig.run((self.fires - 1) * FIRE_PERIOD_MS + 1)
        rig.stop_fire()
        rig.run(rig.dev.app.controller.fire_pulse_ms + 100)
        return {"spans": _on_spans(rig), "fires": list(rig.record.fires_ok)}

    def check(self, rig, f):
        c = rig.dev.app.controller
        out = []
        if len(f["spans"]) != 1 or len(f["fires"]) != self.fires:
            return ["%d output spans for %d accepted FIREs" % (len(f["spans"]), len(f["fires"]))]
        on_ms, off_ms = f["spans"][0]
        if on_ms != f["fires"][0]:
            out.append("output on at %s, FIRE accepted at %s" % (on_ms, f["fires"][0]))
        if off_ms is None or off_ms - f["fires"][-1] != c.fire_pulse_ms:
            out.append("off %s ms after the last FIRE, pulse %d"
                       % (None if off_ms is None else off_ms - f["fires"][-1], c.fire_pulse_ms))
        return out


class Deadman(Pulse):
    name = "deadman"
    fires = 6


class Cap(Case):
    name = "cap"

    def moments(self, c):
        return [ACTION_MS + 100, ACTION_MS + 100 + c.fire_cap_ms]

    def drive(self, rig):
        _arm(rig)
        rig.run(100)
        rig.start_fire(1)
        rig.run(rig.dev.app.controller.fire_cap_ms + 300)
        return {"spans": _on_spans(rig), "fires": list(rig.record.fires_ok),
                "reason": rig.dev.app.controller.safe_reason, "streaming": bool(rig.fire_mask)}

    def check(self, rig, f):
        c = rig.dev.app.controller
        if len(f["spans"]) != 1 or not f["fires"]:
            return ["%d output spans, %d FIREs accepted" % (len(f["spans"]), len(f["fires"]))]
        on_ms, off_ms = f["spans"][0]
        out = []
        if off_ms is None or off_ms - on_ms != c.fire_cap_ms:
            out.append("on for %s ms, cap %d" % (None if off_ms is None else off_ms - on_ms,
                                                c.fire_cap_ms))
        if f["reason"] != C.SAFE_FIRE_CAP:
            out.append("SAFE for %s, not the cap" % C.SAFE_REASON_NAMES[f["reason"]])
        if f["streaming"]:
            out.append("the FIRE after the cap was not refused")
        return out


class LinkLoss(Case):
    name = "link_loss"
    cut_ms = 1500  # after ACTION_MS: armed, refreshed once

    def moments(self, c):
        return [ACTION_MS + self.cut_ms, ACTION_MS + self.cut_ms + c.link_loss_ms]

    def drive(self, rig):
        _arm(rig)
        rig.run(ACTION_MS + self.cut_ms - rig.ms)
        rig.dev.cut_link(True)
        alive_ms = rig.record.alive_ms
        rig.run(rig.dev.app.controller.link_loss_ms + 200)
        return {"safe_after_frame_ms": (_safe_at(rig) or 0) - alive_ms,
                "reason": rig.dev.app.controller.safe_reason}

    def check(self, rig, f):
        c = rig.dev.app.controller
        out = []
        if not _within(f["safe_after_frame_ms"], c.link_loss_ms, TICK_MS):
            out.append("SAFE %s ms after the last frame" % f["safe_after_frame_ms"])
        if f["reason"] != C.SAFE_LINK_LOST:
            out.append("SAFE for %s, not the link loss" % C.SAFE_REASON_NAMES[f["reason"]])
        return out


CASES = (ArmedLapse(), ArmedRefresh(), Pulse(), Deadman(), Cap(), LinkLoss())


def run_case(case, start_tick, seed):
    """(rig figures, states, edges, problems, wrapped) of one run of a case."""
    rig = Lockstep(seed=seed, start_tick=start_tick)
    try:
        figures = case.drive(rig)
        problems = case.check(rig, figures)
        edges = [(rig.ms_of_tick(t), ch, on) for t, ch, on in rig.dev.edges]
        return figures, list(rig.states), edges, problems, wrapped(rig)
    finally:
        rig.close()


def sweep(moments, long, rng, window_ms=3, coarse_ms=10, short_random=3):
    """Rig ms at which to put the wrap: around each moment (every ms within window_ms,
    long: within 20 ms) and, long, every coarse_ms between; short adds a seeded few."""
    lo, hi = moments[0] - 5, moments[-1] + 25
    near = 20 if long else window_ms
    points = set()
    for m in moments:
        points.update(range(m - near, m + near + 1))
    if long:
        points.update(range(lo, hi, coarse_ms))
    else:
        points.update(rng.randrange(lo, hi) for _ in range(short_random))
    return sorted(points)


def run_timing(long, seed, counts):
    rng = random.Random("tick-wrap-%s" % seed)
    for case in CASES:
        ref_figures, ref_states, ref_edges, ref_problems, _w = run_case(case, FAR_TICK, seed)
        per = counts["by_case"][case.name] = {"runs": 0, "timing_errors": 0}
        if ref_problems:
            _error(counts, "timing_errors", case.name, None, ref_problems)
            counts["timing_errors"] += 1
            per["timing_errors"] += 1
        probe = Lockstep(seed=seed)
        moments = case.moments(probe.dev.app.controller)
        probe.close()
        for wrap_at in sweep(moments, long, rng):
            figures, states, edges, problems, did_wrap = run_case(
                case, start_for_wrap(wrap_at), seed)
            per["runs"] += 1
            counts["wraps"] += did_wrap
            if not did_wrap:
                problems = [*problems, "the tick never wrapped"]
            if (figures, states, edges) != (ref_figures, ref_states, ref_edges):
                problems = [*problems, "differs from the run far from the wrap"]
            if problems:
                counts["timing_errors"] += 1
                per["timing_errors"] += 1
                _error(counts, "timing_errors", case.name, wrap_at, problems)


# --- logging: fly the simulated rocket across the wrap ------------------------------------------
def fly(start_tick, seed, folder):
    """Fly the C6 sample rocket from the rig: ARM, three FIREs, then wait until the flight
    log is closed. Returns (what the ground saw, whether the tick wrapped)."""
    rig = Lockstep(seed=seed, start_tick=start_tick, rocket="C6", storage_dir=folder)
    try:
        _arm(rig)
        rig.run(100)
        rig.start_fire(1)
        rig.run(3 * FIRE_PERIOD_MS - 50)
        rig.stop_fire()
        log = rig.dev.app.recorder.log
        if not rig.run_until(lambda: log.entries and not log.logging, 150_000):
            raise AssertionError("the flight log never closed")
        rig.run(AFTER_CLOSE_MS)  # back on the pad, ready for the next flight
        # TELEMETRY with its base tick as rig ms: the same batches whatever the tick
        telemetry = [(rig.ms_of_tick(m.base_ms), m.flight_state,
                      tuple(s.values() for s in m.samples))
                     for _ms, m in rig.heard if isinstance(m, M.Telemetry)]
        ignition = rig.dev.hal.ignition_ms
        if ignition is not None:
            ignition = rig.ms_of_tick(int(ignition)) + (ignition - int(ignition))
        return {"telemetry": telemetry, "ignition_ms": ignition}, wrapped(rig)
    finally:
        rig.close()


def read_back(folder):
    """The flight as the next boot's FlightLog and the ground's parser see it."""
    log = FlightLog(folder)
    entries = log.flights()
    if len(entries) != 1:
        raise AssertionError("%d flights in the log" % len(entries))
    entry = entries[0]
    path = log.path(entry.flight)
    ff = load(path)
    return log, entry, path, ff


def flight_problems(folder, ref):
    """Problems of a flight read back from folder; ref: the reference's read_back, or None."""
    out = []
    log, entry, path, ff = read_back(folder)
    if entry.flags != C.FLIGHT_COMPLETE:
        out.append("flight flags 0x%02x, not COMPLETE" % entry.flags)
    if entry.size != os.path.getsize(path):
        out.append("index says %d bytes, the file has %d" % (entry.size, os.path.getsize(path)))
    if not ff.ok:
        out.extend(ff.problems())
    t = ff.samples["t_s"]
    steps = np.diff(t)
    if len(t) < 100 or not (steps > 0).all() or steps.max() > 0.1 + 1e-9:
        out.append("sample times not continuous (steps %.3f..%.3f s)"
                   % (steps.min(), steps.max()))
    names = [e.name for e in ff.events]
    if names != list(EVENT_ORDER):
        out.append("events %s" % names)
    if [e.t_s for e in ff.events] != sorted(e.t_s for e in ff.events):
        out.append("event times out of order")
    if not (t[0] < -1.0 and ff.events and ff.events[0].t_s == 0.0):
        out.append("no pre-launch samples before liftoff")
    if ref is not None:
        _rlog, rentry, _rpath, rff = ref
        for key in ("t_s", "altitude_m", "pressure_pa", "state"):
            if not np.array_equal(ff.samples[key], rff.samples[key]):
                out.append("samples' %s differ from the reference flight" % key)
        if [(e.name, e.t_s, e.altitude_m) for e in ff.events] != [
                (e.name, e.t_s, e.altitude_m) for e in rff.events]:
            out.append("events differ from the reference flight")
        if entry.apogee_cm != rentry.apogee_cm or entry.size != rentry.size:
            out.append("index entry differs from the reference flight")
    crc, sha = log.digest(entry.flight)
    with open(path, "rb") as f:
        data = f.read()
    if crc != binascii.crc32(data).to_bytes(4, "little") or sha != hashlib.sha256(data).digest():
        out.append("the flight's digest does not match its bytes")
    return out


def run_logging(long, seed, counts):
    with tempfile.TemporaryDirectory(prefix="coalwood-tick-wrap-") as root:
        ref_dir = os.path.join(root, "reference")
        ref_fig, _w = fly(FAR_TICK, seed, ref_dir)
        ref = read_back(ref_dir)
        problems = flight_problems(ref_dir, None)
        if problems:
            counts["log_time_errors"] += 1
            _error(counts, "log_time_errors", "logging", None, problems)
        # rig ms of liftoff detection and of each event in the reference flight
        t0_ms = ticks_diff(ref[3].header.start_tick, FAR_TICK)
        at = {e.name: t0_ms + round(e.t_s * 1000) for e in ref[3].events}
        moments = {"pre_launch": t0_ms - 1500, "ignition": int(ref_fig["ignition_ms"]),
                   "liftoff": at["liftoff"], "boost": at["liftoff"] + 700,
                   "burnout": at["burnout"], "apogee": at["apogee"], "main": at["main"],
                   "descent": at["main"] + 20000, "landed": at["landed"],
                   "after_landing": at["landed"] + AFTER_CLOSE_MS // 2}
        if long:
            wrap_points = [(name, m + d) for name, m in moments.items() for d in (-10, -1, 0, 1, 10)]
            last = at["landed"] + AFTER_CLOSE_MS // 2
            wrap_points += [("sweep", m) for m in range(max(1, t0_ms - 2500), last, 997)]
        else:
            rng = random.Random("tick-wrap-flight-%s" % seed)
            chosen = ("pre_launch", "liftoff", "apogee", "descent", "after_landing")
            wrap_points = [(name, moments[name] + rng.randrange(-5, 6)) for name in chosen]
        for i, (name, wrap_at) in enumerate(wrap_points):
            folder = os.path.join(root, "wrap-%d" % i)
            fig, did_wrap = fly(start_for_wrap(wrap_at), seed, folder)
            counts["flights"] += 1
            counts["wraps"] += did_wrap
            problems = flight_problems(folder, ref)
            if not did_wrap:
                problems.append("the tick never wrapped")
            if problems:
                counts["log_time_errors"] += 1
                _error(counts, "log_time_errors", name, wrap_at, problems)
            if fig["telemetry"] != ref_fig["telemetry"] or fig["ignition_ms"] != ref_fig["ignition_ms"]:
                counts["telemetry_time_errors"] += 1
                _error(counts, "telemetry_time_errors", name, wrap_at,
                       ["TELEMETRY differs from the reference flight's"])
            counts["telemetry_batches"] += len(fig["telemetry"])


def _error(counts, what, case, wrap_at, problems):
    if len(counts["examples"]) < 10:
        counts["examples"].append({"count": what, "case": case, "wrap_at_ms": wrap_at,
                                   "problems": problems[:3]})


def run(long=False, seed=0):
    counts = {"wraps": 0, "timing_errors": 0, "log_time_errors": 0, "telemetry_time_errors": 0,
              "flights": 0, "telemetry_batches": 0, "by_case": {}, "examples": [],
              "must_be_zero": ["timing_errors", "log_time_errors", "telemetry_time_errors"]}
    run_timing(long, seed, counts)
    run_logging(long, seed, counts)
    counts["timing_runs"] = sum(c["runs"] for c in counts["by_case"].values())
    return counts


if __name__ == "__main__":
    sys.exit(common.main(run, __doc__))
