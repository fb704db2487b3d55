"""The standard atmosphere, troposphere and lower stratosphere, anchored at the pad.

Temperature falls 6.5 K per kilometre up to the tropopause at 11 km above sea level and
is constant above it (the lower stratosphere, to 20 km; above 20 km real air warms again
by 1 K/km, which this model does not follow: no flight it is meant for gets there).
Pressure follows from hydrostatic balance and the gas law. Altitudes are geopotential
and gravity is constant: the geometric difference is 0.05 % at 3 km.

The constants are chosen so that on a standard day the pressure-altitude relation is
exactly the firmware's (firmware/baro.py):

    h = 44330.77 * (1 - (P / 101325) ** 0.190266)   m

44330.77 m is T0 / L (288.15 K / 6.5 K/km) and 0.190266 is L * R / g, so the gas constant
is derived from the exponent (287.0572 J/(kg K), against 287.0529 in ISA 1976). That way a
simulated barometer fed by this model reads back, through the firmware, the altitude the
trajectory flew, not one that differs by a rounding of constants.

A non-standard pad temperature keeps the standard pressure at the pad altitude (the
barometric pressure on the day is whatever the weather makes it; what matters to the flight
is the density) and shifts the whole temperature profile by the same offset, tropopause
included. Hot air is thinner, so a rocket flies higher on a hot day, and a barometric
altimeter reads low: it assumes the standard lapse.
"""

import math

from ground.trajectory.errors import TrajectoryError

G0_M_S2 = 9.80665
P0_PA = 101325.0
T0_K = 288.15
LAPSE_K_M = 0.0065
BARO_EXPONENT = 0.190266  # firmware/baro.py
R_AIR_J_KG_K = BARO_EXPONENT * G0_M_S2 / LAPSE_K_M
GAMMA_AIR = 1.4
TROPOPAUSE_M = 11000.0
TOP_M = 20000.0  # the lower stratosphere's top: the model's stated range
_HYDRO_EXPONENT = G0_M_S2 / (LAPSE_K_M * R_AIR_J_KG_K)  # 1 / BARO_EXPONENT


class AtmosphereError(TrajectoryError):
    """Pad conditions no launch site has."""


def standard_temperature_k(altitude_m):
    """The standard day's temperature at an altitude above sea level."""
    return T0_K - LAPSE_K_M * min(altitude_m, TROPOPAUSE_M)


def standard_pressure_pa(altitude_m):
    """The standard day's pressure at an altitude above sea level (firmware/baro.py inverted)."""
    return Atmosphere().pressure_pa(altitude_m)


class Atmosphere:
    """Air at altitudes above sea level (m), for a pad at `pad_altitude_m`.

    pad_temperature_c: the air temperature at the pad; None means the standard day's.
    """

    def __init__(self, pad_altitude_m=0.0, pad_temperature_c=None):
        pad_altitude_m = float(pad_altitude_m)
        if not math.isfinite(pad_altitude_m) or not -500.0 <= pad_altitude_m <= 6000.0:
            raise AtmosphereError(
                "pad altitude %r m is outside -500..6000 m above sea level" % pad_altitude_m)
        std_pad_k = standard_temperature_k(pad_altitude_m)
        if pad_temperature_c is None:
            pad_k = std_pad_k
        else:
            pad_temperature_c = float(pad_temperature_c)
            if not math.isfinite(pad_temperature_c) or not -60.0 <= pad_temperature_c <= 60.0:
                raise AtmosphereError(
                    "pad temperature %r C is outside -60..60 C" % pad_temperature_c)
            pad_k = pad_temperature_c + 273.15
        self.pad_altitude_m = pad_altitude_m
        self.pad_temperature_k = pad_k
        self._offset_k = pad_k - std_pad_k
        # the tropopause in this day's profile, and the pressure there, from the pad up
        self._t_trop_k = standard_temperature_k(TROPOPAUSE_M) + self._offset_k
        self.pad_pressure_pa = self._standard_day_pressure(pad_altitude_m)
        self._p_trop_pa = self.pad_pressure_pa * (self._t_trop_k / pad_k) ** _HYDRO_EXPONENT

    @staticmethod
    def _standard_day_pressure(altitude_m):
        if altitude_m <= TROPOPAUSE_M:
            return P0_PA * (1.0 - altitude_m * LAPSE_K_M / T0_K) ** _HYDRO_EXPONENT
        t11 = standard_temperature_k(TROPOPAUSE_M)
        p11 = P0_PA * (t11 / T0_K) ** _HYDRO_EXPONENT
        return p11 * math.exp(-G0_M_S2 * (altitude_m - TROPOPAUSE_M) / (R_AIR_J_KG_K * t11))

    def temperature_k(self, altitude_m):
        return standard_temperature_k(altitude_m) + self._offset_k

    def pressure_pa(self, altitude_m):
        if altitude_m <= TROPOPAUSE_M:
            t = self.temperature_k(altitude_m)
            return self.pad_pressure_pa * (t / self.pad_temperature_k) ** _HYDRO_EXPONENT
        return self._p_trop_pa * math.exp(
            -G0_M_S2 * (altitude_m - TROPOPAUSE_M) / (R_AIR_J_KG_K * self._t_trop_k))

    def density_kg_m3(self, altitude_m):
        return self.pressure_pa(altitude_m) / (R_AIR_J_KG_K * self.temperature_k(altitude_m))

    def speed_of_sound_m_s(self, altitude_m):
        return math.sqrt(GAMMA_AIR * R_AIR_J_KG_K * self.temperature_k(altitude_m))

    def density_and_sound(self, altitude_m):
        """(density kg/m^3, speed of sound m/s) in one call: the integrator's hot path."""
        t = self.temperature_k(altitude_m)
        return (self.pressure_pa(altitude_m) / (R_AIR_J_KG_K * t),
                math.sqrt(GAMMA_AIR * R_AIR_J_KG_K * t))

    def __repr__(self):
        return "Atmosphere(pad %.0f m, %.1f C, %.0f Pa)" % (
            self.pad_altitude_m, self.pad_temperature_k - 273.15, self.pad_pressure_pa)
