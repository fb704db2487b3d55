"""Pressure to altitude with the standard atmosphere, in integers, and the pad baseline.

    h = 44330.77 * (1 - (P / 101325) ** 0.190266)   metres

Floats are heap objects on the board (each float result allocates), so the
per-sample path uses a table of altitudes every 256 Pa (firmware/baro_table.py,
generated in double precision) and integer linear interpolation. From 20 kPa
(about 11.8 km) to 110,592 Pa it stays within 10 cm of the formula, and within
35 cm up to 10,240 Pa (about 16 km); below that the altitude is clamped to the
top of the table (and `in_range` says so).
"""

from firmware.baro_table import ALTITUDE_CM
from protocol.compat import const

P_MIN_PA = const(10240)
P_STEP_SHIFT = const(8)  # 256 Pa per table step
P_MAX_PA = const(110592)
_N = (P_MAX_PA - P_MIN_PA) // 256 + 1


_TABLE = ALTITUDE_CM


def in_range(pressure_pa):
    return P_MIN_PA <= pressure_pa <= P_MAX_PA


def altitude_cm(pressure_pa):
    """Standard-atmosphere altitude in centimetres above sea level. Allocates nothing."""
    if pressure_pa <= P_MIN_PA:
        return _TABLE[0]
    d = pressure_pa - P_MIN_PA
    i = d >> P_STEP_SHIFT
    if i >= _N:
        i = _N - 1  # above the table: extend its last segment
    frac = d - (i << P_STEP_SHIFT)
    lo = _TABLE[i]
    return lo + (((_TABLE[i + 1] - lo) * frac) >> P_STEP_SHIFT)


class PadBaseline:
    """The pad's pressure and altitude, averaged over `samples` readings before flight."""

    def __init__(self, samples=64):
        self.samples = samples
        self._sum = 0
        self._count = 0
        self.pad_pressure_pa = 0
        self.pad_altitude_cm = 0
        self.ready = False

    def add(self, pressure_pa):
        """Feed a pad reading; True once the baseline is set. Allocates nothing."""
        self._sum += pressure_pa
        self._count += 1
        if self._count >= self.samples:
            self.pad_pressure_pa = self._sum // self._count
            self.pad_altitude_cm = altitude_cm(self.pad_pressure_pa)
            self._sum = 0
            self._count = 0
            self.ready = True
        return self.ready

    def agl_cm(self, pressure_pa):
        """Height above the pad in centimetres."""
        return altitude_cm(pressure_pa) - self.pad_altitude_cm
