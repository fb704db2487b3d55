"""The simulated barometer: a trajectory's altitude as pressure, with what a real sensor adds.

`SimulatedFlight(result)` turns a trajectory (ground/trajectory, a FlightResult) into the
readings a BMP280-class barometer in the rocket would give, `pressure_pa(t_ms)` with t in
milliseconds since ignition:

- The pressure is the atmosphere's at the rocket's altitude, from the same model the
  trajectory flew in (ground/trajectory/atmosphere.py). On a standard day that model is
  exactly the firmware's formula (firmware/baro.py), so a noise-free reading converted by
  the firmware gives back the trajectory's altitude to within the integer rounding of the
  pascal (~8 cm at the pad) and the firmware table's interpolation (< 10 cm).
- Noise: Gaussian, `noise_pa_rms` (default 2.5 Pa, the order the BMP280 datasheet gives at
  x4 pressure oversampling with the IIR filter off), from a seeded generator: the same seed
  and the same sequence of reads give the same readings.
- Ignition: the exhaust blast around the pad pushes the pressure at the static ports up for
  a moment. Ejection (drogue at apogee, main at its height; once if they coincide): the
  charge pressurises the bay the sensor breathes through. Each is a short positive spike,
  A * (tau / tau_p) * exp(1 - tau / tau_p): it rises to A at tau_p after the event and is
  cut off at 10 tau_p (where it is down to 0.12 % of A). Defaults: 60 Pa, 25 ms at
  ignition (about -5 m to the altimeter); 300 Pa, 15 ms at ejection. A negative amplitude
  makes a dip instead (some bays read low at ejection as the airflow changes).
- Transonic: near Mach 1 the shock system over the body moves past the static ports and
  they read high, so the altimeter sees a brief drop in altitude (the "Mach dip"). Model:
  an error of `transonic_cp` (default 0.03) times the dynamic pressure 0.5 * rho * v^2,
  weighted by a raised cosine in Mach that is 0 below Mach 0.8 and above 1.2 and 1 at
  Mach 1.0. A flight that stays below Mach 0.8 never sees it; at Mach 1 near sea level it
  is about 2 kPa, roughly 180 m of false altitude.
- Before ignition the reading is the pad's pressure; after landing, the ground's (the same:
  the field is flat), both with noise.
"""

import math
import random

# Mach range of the transonic error: zero outside, a raised cosine peaking mid-way.
TRANSONIC_MACH_LO = 0.8
TRANSONIC_MACH_HI = 1.2


def _spike(tau_ms, amplitude_pa, peak_ms):
    if tau_ms < 0.0 or tau_ms > 10.0 * peak_ms:
        return 0.0
    x = tau_ms / peak_ms
    return amplitude_pa * x * math.exp(1.0 - x)


def transonic_weight(mach):
    """0 outside Mach 0.8-1.2, rising smoothly to 1 at Mach 1.0."""
    if not TRANSONIC_MACH_LO < mach < TRANSONIC_MACH_HI:
        return 0.0
    phase = (mach - TRANSONIC_MACH_LO) / (TRANSONIC_MACH_HI - TRANSONIC_MACH_LO)
    return 0.5 * (1.0 - math.cos(2.0 * math.pi * phase))


class SimulatedFlight:
    """Barometer readings along a FlightResult (see the module docstring for the model)."""

    def __init__(self, result, seed=0, noise_pa_rms=2.5, ignition_spike_pa=60.0,
                 ignition_spike_ms=25.0, ejection_spike_pa=300.0, ejection_spike_ms=15.0,
                 transonic_cp=0.03):
        for name, value in (("noise_pa_rms", noise_pa_rms), ("ignition_spike_ms", ignition_spike_ms),
                            ("ejection_spike_ms", ejection_spike_ms),
                            ("transonic_cp", transonic_cp)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError("%s must be zero or more, not %r" % (name, value))
        self.result = result
        self.atmosphere = result.atmosphere
        self.pad_pressure_pa = self.atmosphere.pad_pressure_pa
        self.pad_altitude_m = self.atmosphere.pad_altitude_m
        self.noise_pa_rms = float(noise_pa_rms)
        self.transonic_cp = float(transonic_cp)
        self.landing_ms = result.landing_time_s * 1000.0
        self._rng = random.Random("baro-%s" % (seed,))
        # (event time ms, amplitude Pa, rise ms)
        spikes = [(0.0, float(ignition_spike_pa), float(ignition_spike_ms))]
        ejections = sorted({t for t in (result.drogue_time_s, result.main_time_s) if t is not None})
        for t_s in ejections:
            spikes.append((t_s * 1000.0, float(ejection_spike_pa), float(ejection_spike_ms)))
        self.spikes = spikes
        self.ejection_ms = [t * 1000.0 for t in ejections]

    # --- ground truth ---------------------------------------------------------------------
    def height_m(self, t_ms):
        """The trajectory's height above the pad at t_ms after ignition (0 outside the flight)."""
        if t_ms is None or t_ms <= 0.0 or t_ms >= self.landing_ms:
            return 0.0
        return self.result.height_at(t_ms / 1000.0)

    def true_pressure_pa(self, t_ms):
        """The atmosphere's pressure at the rocket, no sensor effects (float Pa)."""
        return self.atmosphere.pressure_pa(self.pad_altitude_m + self.height_m(t_ms))

    def sensor_error_pa(self, t_ms):
        """What the sensor adds to the true pressure at t_ms, noise aside: spikes and Mach dip."""
        if t_ms is None or t_ms < 0.0:
            return 0.0
        err = 0.0
        for t0, amplitude, rise in self.spikes:
            err += _spike(t_ms - t0, amplitude, rise)
        if self.transonic_cp and t_ms < self.landing_ms:
            t_s = t_ms / 1000.0
            weight = transonic_weight(self.result.mach_at(t_s))
            if weight:
                v = self.result.airspeed_at(t_s)
                rho = self.atmosphere.density_kg_m3(self.pad_altitude_m + self.height_m(t_ms))
                err += self.transonic_cp * weight * 0.5 * rho * v * v
        return err

    # --- the sensor -----------------------------------------------------------------------
    def pressure_pa(self, t_ms=None):
        """A reading (int Pa) at t_ms after ignition; None or negative: on the pad before it."""
        p = self.true_pressure_pa(t_ms) + self.sensor_error_pa(t_ms)
        if self.noise_pa_rms:
            p += self._rng.gauss(0.0, self.noise_pa_rms)
        return round(p)

    def truth(self, t_ms):
        """Ground truth at t_ms after ignition, for tests and the demo."""
        t_s = 0.0 if t_ms is None else t_ms / 1000.0
        return {
            "t_ms": t_ms,
            "height_m": self.height_m(t_ms),
            "pressure_pa": self.true_pressure_pa(t_ms),
            "sensor_error_pa": self.sensor_error_pa(t_ms),
            "mach": self.result.mach_at(t_s) if t_ms is not None and t_ms >= 0 else 0.0,
        }

    def __repr__(self):
        return "SimulatedFlight(%r, pad %.0f Pa)" % (self.result, self.pad_pressure_pa)
