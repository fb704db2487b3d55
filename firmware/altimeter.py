"""Flight detection from the barometer: a fixed-point Kalman filter and the flight states.

Everything per sample is integer arithmetic (floats allocate on the board):
height in cm, speed in cm/s, acceleration in cm/s^2, each kept with 8 extra
fractional bits; gains come precomputed per sample period (kalman_gains.py).
The innovation is clamped to +-80 m, so a pressure spike (ejection charge,
Mach dip) nudges the estimate instead of throwing it.

Flight states, AltOS-like, each transition with its reason:

    PAD    -> BOOST   filtered height > 20 m and speed > 10 m/s: liftoff
    BOOST  -> COAST   acceleration < 0 for 0.2 s: the motor burned out
    COAST  -> DROGUE  speed < 0 for 0.5 s and at least 2 s after burnout: apogee (a
                      transonic baro dip can fake a brief descent; it cannot fake 0.5 s,
                      and the filter has settled by then)
    DROGUE -> MAIN    height below the main-deploy altitude while descending
    MAIN   -> LANDED  height within 4 m for 10 s

Apogee is reported as the highest filtered height and the time it was reached,
not the time it was detected.
"""

from firmware.kalman_gains import GAIN_SHIFT, GAINS
from protocol.compat import const
from protocol.constants import (
    FLIGHT_BOOST,
    FLIGHT_COAST,
    FLIGHT_DROGUE,
    FLIGHT_LANDED,
    FLIGHT_MAIN,
    FLIGHT_PAD,
)
from protocol.ticks import ticks_diff

_Q = const(8)  # fractional bits of the state
_E_MAX_CM = const(8000)  # innovation clamp: 80 m

LIFTOFF_HEIGHT_CM = const(2000)
LIFTOFF_SPEED_CMS = const(1000)
BURNOUT_MS = const(200)
APOGEE_DESCENT_MS = const(500)
APOGEE_LOCKOUT_MS = const(2000)
LANDED_BAND_CM = const(400)
LANDED_MS = const(10000)


class Kalman:
    """Three-state (height, speed, acceleration) filter in fixed point. Allocates nothing."""

    def __init__(self):
        self.h = 0  # cm << 8
        self.v = 0  # cm/s << 8
        self.a = 0  # cm/s^2 << 8
        self.primed = False
        self._dt_ms = -1  # the sample period the gain row below is for
        self._row = GAINS[0]

    def reset(self, height_cm):
        self.h = height_cm << _Q
        self.v = 0
        self.a = 0
        self.primed = True

    def update(self, height_cm, dt_ms):
        if not self.primed:
            self.reset(height_cm)
            return
        # predict
        a_dt = (self.a * dt_ms) // 1000
        self.h += (self.v * dt_ms) // 1000 + (a_dt * dt_ms) // 2000
        self.v += a_dt
        if dt_ms != self._dt_ms:
            # the longest tabulated period not above dt (the rate changes rarely)
            self._dt_ms = dt_ms
            self._row = GAINS[0]
            for g in GAINS:
                if g[0] <= dt_ms:
                    self._row = g
        row = self._row
        e = height_cm - (self.h >> _Q)
        if e > _E_MAX_CM:
            e = _E_MAX_CM
        elif e < -_E_MAX_CM:
            e = -_E_MAX_CM
        s = GAIN_SHIFT - _Q
        self.h += (e * row[1]) >> s
        self.v += (e * row[2]) >> s
        self.a += (e * row[3]) >> s

    @property
    def height_cm(self):
        return self.h >> _Q

    @property
    def speed_cms(self):
        return self.v >> _Q

    @property
    def accel_cms2(self):
        return self.a >> _Q


class FlightDetector:
    """Feeds heights above the pad through the filter and walks the flight states."""

    def __init__(self, main_deploy_cm=15000):
        self.kalman = Kalman()
        self.state = FLIGHT_PAD
        self.main_deploy_cm = main_deploy_cm
        self.max_height_cm = 0
        self.apogee_ms = 0
        self.liftoff_ms = -1
        self.burnout_ms = -1
        self.apogee_detected_ms = -1
        self.main_ms = -1
        self.landed_ms = -1
        self._last_ms = -1
        self._since = 0  # when the current condition started holding (while _holding)
        self._holding = False
        self._band_lo = 0
        self._band_hi = 0
        self._band_since = 0

    def _hold(self, cond, now_ms, need_ms):
        """True once `cond` has held continuously for need_ms."""
        if not cond:
            self._holding = False
            return False
        if not self._holding:
            self._holding = True
            self._since = now_ms
        return ticks_diff(now_ms, self._since) >= need_ms

    def sample(self, now_ms, height_cm):
        """One barometric height (cm above the pad) at now_ms; returns the flight state."""
        dt = 10 if self._last_ms < 0 else ticks_diff(now_ms, self._last_ms)
        if dt <= 0:
            return self.state
        self._last_ms = now_ms
        k = self.kalman
        k.update(height_cm, dt)
        h = k.height_cm
        v = k.speed_cms
        if self.state != FLIGHT_PAD and h > self.max_height_cm and self.state < FLIGHT_DROGUE:
            self.max_height_cm = h
            self.apogee_ms = now_ms
        state = self.state
        if state == FLIGHT_PAD:
            # liftoff: clearly off the pad and moving up
            if h > LIFTOFF_HEIGHT_CM and v > LIFTOFF_SPEED_CMS:
                self._go(FLIGHT_BOOST, now_ms)
                self.liftoff_ms = now_ms
                self.max_height_cm = h
                self.apogee_ms = now_ms
        elif state == FLIGHT_BOOST:
            # burnout: the filter sees deceleration for a while
            if self._hold(k.accel_cms2 < 0, now_ms, BURNOUT_MS):
                self._go(FLIGHT_COAST, now_ms)
                self.burnout_ms = now_ms
        elif state == FLIGHT_COAST:
            # apogee: descending for long enough that a Mach dip cannot fake it
            settled = ticks_diff(now_ms, self.burnout_ms) >= APOGEE_LOCKOUT_MS
            if self._hold(v < 0 and settled, now_ms, APOGEE_DESCENT_MS):
                self._go(FLIGHT_DROGUE, now_ms)
                self.apogee_detected_ms = now_ms
        elif state == FLIGHT_DROGUE:
            # main: below the deploy height on the way down
            if h < self.main_deploy_cm and v < 0:
                self._go(FLIGHT_MAIN, now_ms)
                self.main_ms = now_ms
                self._band_lo = self._band_hi = h
                self._band_since = now_ms
        elif state == FLIGHT_MAIN:
            # landed: the height stays within a 4 m band for 10 s
            if h < self._band_lo:
                self._band_lo = h
            if h > self._band_hi:
                self._band_hi = h
            if self._band_hi - self._band_lo > LANDED_BAND_CM:
                self._band_lo = self._band_hi = h
                self._band_since = now_ms
            elif ticks_diff(now_ms, self._band_since) >= LANDED_MS:
                self._go(FLIGHT_LANDED, now_ms)
                self.landed_ms = now_ms
        return self.state

    def _go(self, state, now_ms):
        self.state = state
        self._holding = False
