"""A plausible altimeter flight written into a board's storage folder by the firmware's FlightLog.

For download tests and the download bench: the device then lists and serves it like
any flight it logged itself. The profile is a simple point-mass flight (8 g of thrust,
gravity, quadratic drag; 25 m/s under drogue, 6 m/s under main), logged the way
firmware/recorder.py logs: 2 s of pad samples, 100 Hz while climbing, 10 Hz under
parachute, one event record per flight-state change. Pressure follows the standard
atmosphere from a 101325 Pa pad, with a little seeded noise.
"""

import contextlib
import math
import os
import random

from firmware import FIRMWARE_VERSION
from firmware.flightlog import (
    EV_APOGEE,
    EV_BURNOUT,
    EV_LANDED,
    EV_LIFTOFF,
    EV_MAIN,
    HEADER_LEN,
    REC_EVENT,
    REC_SAMPLE,
    RECORD_LEN,
    FlightLog,
)
from protocol import constants as C

PAD_PA = 101325
G_MS2 = 9.80665
BOOST_MS2 = 80.0  # about 8 g of thrust
DRAG_PER_M = 0.0003  # deceleration / speed^2 from drag: a slender high-power airframe
DROGUE_MS = 25.0
MAIN_MS = 6.0
MAIN_DEPLOY_M = 150.0
PAD_RECORDS = 200
START_TICK_MS = 123_456


def _pressure_pa(alt_m, rng):
    return round(PAD_PA * (1.0 - alt_m / 44330.77) ** (1.0 / 0.190266) + rng.gauss(0, 3))


def profile(burn_s, seed=0):
    """[(rec_type, code, t_ms, pressure_pa, altitude_cm, speed_dms, accel_dms2)] of one flight."""
    rng = random.Random(seed)
    out = []
    t_ms = START_TICK_MS - PAD_RECORDS * 10
    for _ in range(PAD_RECORDS):  # the pre-launch ring: still on the pad
        out.append((REC_SAMPLE, C.FLIGHT_PAD, t_ms, _pressure_pa(0, rng), rng.randint(-8, 8), 0, 0))
        t_ms += 10
    h = v = 0.0
    t = 0.0
    state = C.FLIGHT_PAD  # the motor lights now; liftoff is detected 20 m up
    apogee = (0.0, t_ms)
    descent_n = 0
    landed_since = None
    dt = 0.01
    while True:
        if state <= C.FLIGHT_COAST:  # powered or coasting
            thrust = BOOST_MS2 if t < burn_s else 0.0
            a = thrust - G_MS2 - DRAG_PER_M * v * abs(v)
            v += a * dt
            h += v * dt
        else:
            a = 0.0
            v = -(DROGUE_MS if state == C.FLIGHT_DROGUE else MAIN_MS)
            h = max(0.0, h + v * dt)
        t += dt
        t_ms += 10
        before = state
        if state == C.FLIGHT_PAD and h > 20.0:
            state = C.FLIGHT_BOOST
        elif state == C.FLIGHT_BOOST and t >= burn_s:
            state = C.FLIGHT_COAST
        elif state == C.FLIGHT_COAST and v < 0:
            state = C.FLIGHT_DROGUE
        elif state == C.FLIGHT_DROGUE and h < MAIN_DEPLOY_M:
            state = C.FLIGHT_MAIN
        elif state == C.FLIGHT_MAIN and h <= 4.0:
            landed_since = landed_since if landed_since is not None else t_ms
            if t_ms - landed_since >= 10_000:
                state = C.FLIGHT_LANDED
        if h > apogee[0]:
            apogee = (h, t_ms)
        sample = (REC_SAMPLE, state, t_ms, _pressure_pa(h, rng), int(h * 100),
                  int(v * 10), int(a * 10))
        if state == C.FLIGHT_PAD:
            out.append(sample)
            del out[:-PAD_RECORDS]  # the recorder's pre-launch ring keeps the last 2 s
        elif state >= C.FLIGHT_DROGUE:
            descent_n += 1
            if descent_n >= 10 or state != before:
                descent_n = 0
                out.append(sample)
        else:
            out.append(sample)
        if state != before:
            event = {C.FLIGHT_BOOST: EV_LIFTOFF, C.FLIGHT_COAST: EV_BURNOUT,
                     C.FLIGHT_DROGUE: EV_APOGEE, C.FLIGHT_MAIN: EV_MAIN,
                     C.FLIGHT_LANDED: EV_LANDED}[state]
            ev_t, ev_h = (apogee[1], apogee[0]) if event == EV_APOGEE else (t_ms, h)
            out.append((REC_EVENT, event, ev_t, _pressure_pa(ev_h, rng), int(ev_h * 100), 0, 0))
        if state == C.FLIGHT_LANDED:
            return out


def _burn_for(size_bytes):
    """The shortest motor burn whose flight logs at least size_bytes."""
    lo, hi = 0.5, 30.0
    if HEADER_LEN + RECORD_LEN * len(profile(hi)) < size_bytes:
        raise ValueError("no flight of this model logs %d bytes" % size_bytes)
    while hi - lo > 0.05:
        mid = (lo + hi) / 2
        if HEADER_LEN + RECORD_LEN * len(profile(mid)) >= size_bytes:
            hi = mid
        else:
            lo = mid
    return hi


def write_flight(root, size_bytes=None, burn_s=2.0, seed=0, close=True):
    """Log one flight into the board storage folder `root` (made if missing).

    size_bytes: make the flight at least this long (the motor's burn is chosen to fit);
    otherwise `burn_s` sets it. close=False leaves it unclosed, as after a power cut: the device
    recovers it at boot, marked TORN. Returns (flight number, path of its .cwf, its bytes).
    """
    if size_bytes is not None:
        burn_s = _burn_for(size_bytes)
    records = profile(burn_s, seed)
    os.makedirs(root, exist_ok=True)
    log = FlightLog(root)
    # as the recorder does: the flight begins when liftoff is detected
    liftoff_ms = next(r[2] for r in records if r[0] == REC_EVENT and r[1] == EV_LIFTOFF)
    flight = log.begin(PAD_PA, liftoff_ms, b"sim-2ch", FIRMWARE_VERSION)
    apogee_cm = 0
    for rec in records:
        log.append(*rec)
        if rec[0] == REC_EVENT and rec[1] == EV_APOGEE:
            apogee_cm = rec[4]
    if close:
        log.close(apogee_cm)
    else:
        log.flush()
        log._file.close()  # the power goes: no index entry, no digest
        log._file = None
    path = log.path(flight)
    with open(path, "rb") as f:
        return flight, path, f.read()


def damage_record(root, flight, index, byte=5):
    """Flip one byte inside record `index` of a stored flight and drop its digest file, so
    the device serves the damaged bytes with matching digests (it recomputes them). Returns
    the damaged record's byte offset in the flight."""
    log_dir = os.path.join(root, "flights")
    path = os.path.join(log_dir, "%04d.cwf" % flight)
    offset = HEADER_LEN + index * RECORD_LEN
    with open(path, "r+b") as f:
        f.seek(offset + byte)
        b = f.read(1)
        f.seek(offset + byte)
        f.write(bytes([b[0] ^ 0x5A]))
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(log_dir, "%04d.sum" % flight))
    return offset


def apogee_m(records):
    return max(r[4] for r in records) / 100.0


if __name__ == "__main__":  # a quick look: records, bytes and apogee for a few boosts
    for burn in (1, 2, 4, 8):
        recs = profile(burn)
        print("burn %4d s: %5d records, %7d bytes, apogee %7.1f m, %s" % (
            burn, len(recs), HEADER_LEN + RECORD_LEN * len(recs), apogee_m(recs),
            math.floor(recs[-1][2] / 1000)))
