"""The flight of a point mass: thrust, gravity, drag and wind, integrated with RK4.

Frame: x east, y north, z up, metres from the foot of the launch rail; t = 0 is ignition.

Forces, and the assumptions behind them:

- Thrust from the motor's curve (linear between its points), along the rail while on it
  and along the airspeed afterwards: a stable rocket points into the relative wind, so it
  weathercocks into a crosswind, as real ones do. Mass falls in proportion to the impulse
  delivered (Motor.mass_at).
- Drag 0.5 * rho * v^2 * Cd * A on the airspeed (velocity relative to the wind), with Cd
  constant; rho from the standard atmosphere (atmosphere.py) at the rocket's altitude, or
  one density everywhere (`air_density_kg_m3`) where a closed form needs it.
- Gravity constant, 9.80665 m/s^2.
- The rail: the rocket sits on the pad (the rail holds its weight) until thrust exceeds the
  weight along the rail, then moves only along the rail until it has travelled the rail's
  length. Wind acts only after that: on the rail only axial drag matters.
- Parachutes are drag: at apogee (+ the rocket's drogue delay) the drogue, or the single
  main; on the way down, the main at its deploy height. Each parachute's Cd*A is the one
  that gives its descent rate at the pad's air density, and grows linearly over the
  inflation time, so the opening load stays finite.
- The flight ends when the rocket is back at pad level (flat ground).

Steps are fixed and deterministic: `dt_burn_s` on the rail and while the motor burns (cut
so that every thrust-curve point is a step boundary: the curve is smooth between points,
which keeps RK4 at full order), `dt_coast_s` after burnout, `dt_descent_s` once every
deployed parachute is fully open. Rail exit, apogee, main deployment and touchdown are
located exactly (to 1e-9) by shortening the step that crosses them, so the figures do
not depend on where a step happened to end.
"""

import bisect
import math

import numpy as np

from ground.trajectory.atmosphere import G0_M_S2, Atmosphere
from ground.trajectory.errors import TrajectoryError, check_number
from ground.trajectory.motor import Motor
from ground.trajectory.rocket import Rocket

PHASES = ("rail", "boost", "coast", "freefall", "drogue", "main", "landed")

MIN_RAIL_EXIT_M_S = 15.0  # the usual minimum for a stable departure without guidance
MIN_THRUST_TO_WEIGHT = 5.0  # the usual rule of thumb, average thrust to liftoff weight
MAX_WIND_M_S = 8.94  # 20 mph: the NAR and Tripoli safety codes' limit
MAX_RAIL_ANGLE_DEG = 20.0  # the high-power safety code's limit (the model code allows 30)

_HELD, _RAIL, _FREE = 0, 1, 2


class _Curve:
    """The motor's thrust and mass as plain floats: the integrator calls these ~10^5 times."""

    def __init__(self, motor):
        self.t = [float(v) for v in motor.time_s]
        self.f = [float(v) for v in motor.thrust_n]
        cum = [0.0]
        for i in range(1, len(self.t)):
            cum.append(cum[-1] + 0.5 * (self.f[i] + self.f[i - 1]) * (self.t[i] - self.t[i - 1]))
        self.cum = cum
        self.total_ns = cum[-1]
        if not self.total_ns > 0:
            raise TrajectoryError("motor %s has no thrust (its curve is zero throughout)"
                                  % motor.name)
        self.burn_s = self.t[-1]
        self.total_kg = float(motor.total_kg)
        self.propellant_kg = float(motor.propellant_kg)
        self.burnt_kg = self.total_kg - self.propellant_kg

    def thrust(self, t):
        ts = self.t
        if t < ts[0] or t > ts[-1]:
            return 0.0
        i = bisect.bisect_right(ts, t) - 1
        if i >= len(ts) - 1:
            return self.f[-1]
        return self.f[i] + (self.f[i + 1] - self.f[i]) * (t - ts[i]) / (ts[i + 1] - ts[i])

    def mass(self, t):
        if t <= 0.0:
            return self.total_kg
        if t >= self.burn_s:
            return self.burnt_kg
        i = bisect.bisect_right(self.t, t) - 1
        impulse = self.cum[i] + 0.5 * (self.f[i] + self.thrust(t)) * (t - self.t[i])
        return self.total_kg - self.propellant_kg * impulse / self.total_ns


class FlightResult:
    """One simulated flight: time series (numpy arrays, SI units in the names) and the figures.

    Series: t_s, x_m, y_m, z_m (height above the pad), vx_m_s, vy_m_s, vz_m_s, speed_m_s
    (over the ground), airspeed_m_s, accel_m_s2 (magnitude of dv/dt), mach, phase (one of
    PHASES per sample).
    """

    def __init__(self, rocket, motor, atmosphere, series, figures, warnings, conditions):
        self.rocket = rocket
        self.motor = motor
        self.atmosphere = atmosphere
        self.conditions = conditions
        for name, values in series.items():
            setattr(self, name, values)
        self.figures = figures
        for name, value in figures.items():
            setattr(self, name, value)
        self.warnings = warnings

    def __len__(self):
        return len(self.t_s)

    def height_at(self, t_s):
        """Height above the pad (m) at t_s (s after ignition); 0 before ignition and after landing."""
        return float(np.interp(t_s, self.t_s, self.z_m))

    def mach_at(self, t_s):
        return float(np.interp(t_s, self.t_s, self.mach, left=0.0, right=0.0))

    def airspeed_at(self, t_s):
        return float(np.interp(t_s, self.t_s, self.airspeed_m_s, left=0.0, right=0.0))

    def summary(self):
        """The figures as a JSON-ready dict (numbers in SI units, names say which)."""
        out = {"rocket": self.rocket.name, "motor": self.motor.name}
        out.update(self.figures)
        out["warnings"] = list(self.warnings)
        return out

    def __repr__(self):
        return ("FlightResult(%s on %s: apogee %.1f m at %.2f s, max %.1f m/s (Mach %.2f), "
                "lands %.1f m at %.0f deg after %.1f s)" % (
                    self.rocket.name, self.motor.name, self.apogee_m, self.time_to_apogee_s,
                    self.max_speed_m_s, self.max_mach, self.landing_distance_m,
                    self.landing_bearing_deg, self.landing_time_s))


def simulate(rocket, motor, *, rail_angle_deg=0.0, rail_bearing_deg=0.0, wind_speed_m_s=0.0,
             wind_from_deg=0.0, pad_altitude_m=0.0, pad_temperature_c=None,
             dt_burn_s=0.001, dt_coast_s=0.01, dt_descent_s=0.05, max_time_s=3600.0,
             air_density_kg_m3=None):
    """Fly `rocket` on `motor` (a Motor, or a bundled motor's name); returns a FlightResult.

    rail_angle_deg: the rail's tilt from vertical; rail_bearing_deg: the compass bearing it
        leans toward (0 north, 90 east).
    wind_speed_m_s, wind_from_deg: a steady wind, and the bearing it blows from (a west
        wind, from 270, carries the rocket east).
    pad_altitude_m: above sea level; pad_temperature_c: None for the standard day's.
    air_density_kg_m3: None (the atmosphere thins with height, as it does), or one density
        at every height: the closed forms of drag (terminal speed, a coast to apogee) assume
        it, so the model can be held to them exactly. The speed of sound still follows the
        atmosphere.
    Raises TrajectoryError (a ValueError) for inputs that cannot fly, with the reason.
    """
    if isinstance(motor, str):
        from ground.trajectory import motors

        motor = motors.load(motor)
    if not isinstance(rocket, Rocket):
        raise TrajectoryError("rocket must be a Rocket, not %r" % (rocket,))
    if not isinstance(motor, Motor):
        raise TrajectoryError("motor must be a Motor or a bundled motor's name, not %r" % (motor,))
    rail_angle_deg = check_number("the rail angle from vertical", rail_angle_deg, "degrees",
                                  0.0, 90.0, high_open=True)
    rail_bearing_deg = check_number("the rail bearing", rail_bearing_deg, "degrees", -360.0, 360.0)
    wind_speed_m_s = check_number("the wind speed", wind_speed_m_s, "m/s", 0.0, 60.0)
    wind_from_deg = check_number("the wind direction", wind_from_deg, "degrees", -360.0, 360.0)
    dt_burn_s = check_number("dt_burn_s", dt_burn_s, "s", 0.0, 0.01, low_open=True)
    dt_coast_s = check_number("dt_coast_s", dt_coast_s, "s", 0.0, 0.1, low_open=True)
    dt_descent_s = check_number("dt_descent_s", dt_descent_s, "s", 0.0, 0.5, low_open=True)
    max_time_s = check_number("max_time_s", max_time_s, "s", 1.0, 86400.0)
    atmosphere = Atmosphere(pad_altitude_m, pad_temperature_c)
    if air_density_kg_m3 is not None:
        atmosphere = _UniformDensity(atmosphere, check_number(
            "the air density", air_density_kg_m3, "kg/m^3", 0.0, 2.0, low_open=True))
    conditions = {
        "rail_angle_deg": rail_angle_deg, "rail_bearing_deg": rail_bearing_deg % 360.0,
        "wind_speed_m_s": wind_speed_m_s, "wind_from_deg": wind_from_deg % 360.0,
        "pad_altitude_m": atmosphere.pad_altitude_m,
        "pad_temperature_c": atmosphere.pad_temperature_k - 273.15,
        "dt_burn_s": dt_burn_s, "dt_coast_s": dt_coast_s, "dt_descent_s": dt_descent_s,
        "air_density_kg_m3": None if air_density_kg_m3 is None else atmosphere.density_kg_m3(0.0),
    }
    sim = _Simulation(rocket, motor, atmosphere, conditions, max_time_s)
    return sim.run()


class _UniformDensity:
    """An atmosphere whose density is the same at every height (temperature, pressure and
    the speed of sound are the real atmosphere's)."""

    def __init__(self, atmosphere, density_kg_m3):
        self._atmosphere = atmosphere
        self._density = density_kg_m3

    def __getattr__(self, name):
        return getattr(self._atmosphere, name)

    def density_kg_m3(self, altitude_m):
        return self._density

    def density_and_sound(self, altitude_m):
        return self._density, self._atmosphere.speed_of_sound_m_s(altitude_m)

    def __repr__(self):
        return "%r with a uniform %.4f kg/m^3" % (self._atmosphere, self._density)


class _Simulation:
    def __init__(self, rocket, motor, atmosphere, conditions, max_time_s):
        self.rocket = rocket
        self.motor = motor
        self.atm = atmosphere
        self.conditions = conditions
        self.max_time_s = max_time_s
        self.curve = curve = _Curve(motor)
        self.warnings = []
        c = conditions
        th = math.radians(c["rail_angle_deg"])
        ph = math.radians(c["rail_bearing_deg"])
        self.u = (math.sin(th) * math.sin(ph), math.sin(th) * math.cos(ph), math.cos(th))
        wf = math.radians(c["wind_from_deg"])
        w = c["wind_speed_m_s"]
        self.wind = (-w * math.sin(wf), -w * math.cos(wf))  # it blows toward from + 180
        self.pad_alt = atmosphere.pad_altitude_m
        self.cda_body = rocket.cd_area_m2
        self.liftoff_kg = rocket.dry_mass_kg + curve.total_kg
        self.descent_kg = rocket.dry_mass_kg + curve.burnt_kg
        self._check_inputs()
        self._size_parachutes()

    # --- inputs -----------------------------------------------------------------------------
    def _check_inputs(self):
        r, m, c = self.rocket, self.motor, self.conditions
        weight_n = self.liftoff_kg * G0_M_S2
        ratio = max(self.curve.thrust(t) / (self.curve.mass(t) + r.dry_mass_kg)
                    for t in self.curve.t) / G0_M_S2
        self.peak_thrust_to_weight = ratio
        if ratio * self.u[2] <= 1.0:
            raise TrajectoryError(
                "the rocket never leaves the pad: the %s's peak thrust (%.1f N) is %s its "
                "liftoff weight (%.1f N; thrust-to-weight %.2f%s). Use a bigger motor or a "
                "lighter rocket." % (
                    m.name, m.max_thrust_n, "below" if ratio < 1 else "not enough against",
                    weight_n, ratio,
                    "" if self.u[2] == 1 else ", %.2f along the %.0f-degree rail" % (
                        ratio * self.u[2], c["rail_angle_deg"])))
        avg = m.average_thrust_n / weight_n
        self.average_thrust_to_weight = avg
        if avg < MIN_THRUST_TO_WEIGHT:
            self.warnings.append(
                "average thrust-to-weight is %.1f, below the usual %.0f:1 minimum"
                % (avg, MIN_THRUST_TO_WEIGHT))
        motor_m = m.diameter_mm / 1000.0
        if motor_m > r.diameter_m + 1e-9:
            self.warnings.append("the %.0f mm motor is wider than the %.1f mm body"
                                 % (m.diameter_mm, r.diameter_m * 1000))
        if c["rail_angle_deg"] > MAX_RAIL_ANGLE_DEG:
            self.warnings.append("the rail is %.0f degrees from vertical; the high-power safety "
                                 "code allows %.0f (the model rocket code 30)"
                                 % (c["rail_angle_deg"], MAX_RAIL_ANGLE_DEG))
        if c["wind_speed_m_s"] > MAX_WIND_M_S:
            self.warnings.append("wind %.1f m/s is over the safety codes' 20 mph (8.9 m/s) limit"
                                 % c["wind_speed_m_s"])

    def _size_parachutes(self):
        """Cd*A of each parachute from its descent rate, at the pad's air density."""
        r = self.rocket
        rho0 = self.atm.density_kg_m3(self.pad_alt)
        mg = self.descent_kg * G0_M_S2

        def total_for(rate):
            return 2.0 * mg / (rho0 * rate * rate)

        def falls_at(cda):
            return math.inf if cda <= 0 else math.sqrt(2.0 * mg / (rho0 * cda))

        self.drogue_cda = 0.0
        if r.drogue_cd_area_m2 is not None:
            self.drogue_cda = r.drogue_cd_area_m2
        elif r.drogue_rate_m_s is not None:
            self.drogue_cda = total_for(r.drogue_rate_m_s) - self.cda_body
            if self.drogue_cda <= 0:
                raise TrajectoryError(
                    "a drogue descent rate of %g m/s is no slower than the rocket falls "
                    "without one (%.1f m/s): choose a slower rate or no drogue"
                    % (r.drogue_rate_m_s, falls_at(self.cda_body)))
        self.main_cda = 0.0
        if r.main_rate_m_s is not None:
            self.main_cda = total_for(r.main_rate_m_s) - self.cda_body - self.drogue_cda
            if self.main_cda <= 0:
                raise TrajectoryError(
                    "a main descent rate of %g m/s is no slower than the rocket falls "
                    "without it (%.1f m/s)"
                    % (r.main_rate_m_s, falls_at(self.cda_body + self.drogue_cda)))
        if not r.has_drogue and r.main_rate_m_s is None:
            self.warnings.append("no recovery device: the rocket comes down ballistically")

    # --- forces -----------------------------------------------------------------------------
    def _chute_cda(self, t):
        total = 0.0
        inflate = self.rocket.chute_inflation_s
        for t0, cda in self.deployed:
            if t >= t0 + inflate:
                total += cda
            elif t > t0:
                total += cda * (t - t0) / inflate
        return total

    def deriv(self, t, s):
        _x, _y, z, vx, vy, vz = s
        if self.mode == _HELD:
            return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        rho, _a = self.atm.density_and_sound(self.pad_alt + z)
        curve = self.curve
        m = curve.mass(t) + self.rocket.dry_mass_kg
        f = curve.thrust(t)
        if self.mode == _RAIL:
            ux, uy, uz = self.u
            sd = vx * ux + vy * uy + vz * uz
            a = (f - 0.5 * rho * self.cda_body * sd * abs(sd)) / m - G0_M_S2 * uz
            return (vx, vy, vz, a * ux, a * uy, a * uz)
        wx, wy = self.wind
        rx, ry, rz = vx - wx, vy - wy, vz
        vair = math.sqrt(rx * rx + ry * ry + rz * rz)
        cda = self.cda_body + (self._chute_cda(t) if self.deployed else 0.0)
        k = 0.5 * rho * cda * vair / m
        ax, ay, az = -k * rx, -k * ry, -k * rz - G0_M_S2
        if f > 0.0:
            if vair > 1e-9:
                ft = f / (m * vair)
                ax += ft * rx
                ay += ft * ry
                az += ft * rz
            else:
                ux, uy, uz = self.u
                ax += f / m * ux
                ay += f / m * uy
                az += f / m * uz
        return (vx, vy, vz, ax, ay, az)

    def rk4(self, t, s, h, k1):
        hh = 0.5 * h
        k2 = self.deriv(t + hh, tuple(a + hh * b for a, b in zip(s, k1, strict=True)))
        k3 = self.deriv(t + hh, tuple(a + hh * b for a, b in zip(s, k2, strict=True)))
        k4 = self.deriv(t + h, tuple(a + h * b for a, b in zip(s, k3, strict=True)))
        h6 = h / 6.0
        return tuple(a + h6 * (b1 + 2.0 * b2 + 2.0 * b3 + b4)
                     for a, b1, b2, b3, b4 in zip(s, k1, k2, k3, k4, strict=True))

    def refine(self, t, s, k1, h, g, tol):
        """The step length in (0, h] at which g(state) reaches 0, and that state (Illinois)."""
        a, ga = 0.0, g(s)
        sb = self.rk4(t, s, h, k1)
        b, gb = h, g(sb)
        c, sc = b, sb
        side = 0
        for _ in range(40):
            if gb == ga:
                break
            c = (a * gb - b * ga) / (gb - ga)
            c = min(max(c, 1e-12), h)
            sc = self.rk4(t, s, c, k1)
            gc = g(sc)
            if abs(gc) <= tol:
                break
            if (gc > 0) == (gb > 0):
                b, gb = c, gc
                if side == -1:
                    ga *= 0.5
                side = -1
            else:
                a, ga = c, gc
                if side == 1:
                    gb *= 0.5
                side = 1
        return c, sc

    # --- the flight -----------------------------------------------------------------------
    def _next_liftoff(self, t_from):
        """The first time >= t_from at which thrust exceeds the weight along the rail, or None."""
        curve, uz, dry = self.curve, self.u[2], self.rocket.dry_mass_kg

        def excess(t):
            return curve.thrust(t) - (curve.mass(t) + dry) * G0_M_S2 * uz

        if excess(t_from) > 0:
            return t_from
        knots = [t for t in curve.t if t > t_from]
        lo = t_from
        for hi in knots:
            if excess(hi) > 0:
                for _ in range(60):  # within a segment thrust is linear: bisect the crossing
                    mid = 0.5 * (lo + hi)
                    if excess(mid) > 0:
                        hi = mid
                    else:
                        lo = mid
                return hi
            lo = hi
        return None

    def _deploy(self, t, cda):
        if cda > 0:
            self.deployed.append((t, cda))
            end = t + self.rocket.chute_inflation_s
            self.inflated_at = max(self.inflated_at, end)
            self._add_break(end)

    def _add_break(self, t):
        i = bisect.bisect_right(self.breaks, t)
        if i == 0 or self.breaks[i - 1] != t:
            self.breaks.insert(i, t)

    def run(self):
        r, curve = self.rocket, self.curve
        rail_len = r.rail_length_m
        ux, uy, uz = self.u
        self.mode = _HELD
        self.deployed = []
        self.inflated_at = -1.0
        self.breaks = sorted(set(curve.t))
        rows = []  # (t, x, y, z, vx, vy, vz, phase)
        accels = []
        t = 0.0
        s = (0.0,) * 6
        rows.append((t, *s, 0))
        accels.append(0.0)
        t_lift = self._next_liftoff(0.0)
        first_liftoff = t_lift
        rail_exit = None  # (t, speed)
        apogee = None  # (t, z)
        apogee_event_t = None
        apogee_event_done = False
        drogue_t = main_t = None
        main_deploy_z = None
        landed = None
        max_along = 0.0
        c = self.conditions
        while True:
            if self.mode == _HELD:
                if t_lift is None:
                    raise TrajectoryError(
                        "the rocket never clears the %.2f m rail: the %s lifts it %.2f m at most "
                        "before its thrust falls below the weight again (thrust-to-weight: peak "
                        "%.2f, average %.2f). Use a bigger motor or a lighter rocket." % (
                            rail_len, self.motor.name, max_along, self.peak_thrust_to_weight,
                            self.average_thrust_to_weight))
                if t_lift > t:
                    t = t_lift
                    rows.append((t, *s, 0))
                    accels.append(0.0)
                self.mode = _RAIL
            if t > self.max_time_s:
                raise TrajectoryError("the flight had not landed after %.0f s of simulated time"
                                      % self.max_time_s)
            if self.mode == _RAIL or t < curve.burn_s:
                dt = c["dt_burn_s"]
            elif self.deployed and t >= self.inflated_at:
                dt = c["dt_descent_s"]
            else:
                dt = c["dt_coast_s"]
            # times are sums of steps, so a scheduled time can be missed by rounding: 1 ns slack
            i = bisect.bisect_right(self.breaks, t + 1e-9)
            t_end = t + dt
            if i < len(self.breaks) and self.breaks[i] <= t_end + 1e-9:
                t_end = self.breaks[i]
            h = t_end - t
            k1 = self.deriv(t, s)
            accels[-1] = math.sqrt(k1[3] ** 2 + k1[4] ** 2 + k1[5] ** 2)
            s_new = self.rk4(t, s, h, k1)
            event = None
            if self.mode == _RAIL:
                along = s_new[0] * ux + s_new[1] * uy + s_new[2] * uz
                max_along = max(max_along, along)
                if along >= rail_len:
                    h, s_new = self.refine(
                        t, s, k1, h, lambda q: q[0] * ux + q[1] * uy + q[2] * uz - rail_len, 1e-10)
                    event = "rail_exit"
                elif along < 0.0:
                    # slid back down: the pad holds it until the thrust can lift it again
                    t += h
                    s = (0.0,) * 6
                    self.mode = _HELD
                    t_lift = self._next_liftoff(t)
                    rows.append((t, *s, 0))
                    accels.append(0.0)
                    continue
            elif apogee is None:
                if s_new[5] <= 0.0:
                    h, s_new = self.refine(t, s, k1, h, lambda q: q[5], 1e-10)
                    event = "apogee"
            else:
                if (main_t is None and r.main_deploy_m is not None
                        and s_new[2] <= r.main_deploy_m < s[2]):
                    h, s_new = self.refine(t, s, k1, h, lambda q: q[2] - r.main_deploy_m, 1e-9)
                    event = "main"
                elif s_new[2] <= 0.0:
                    h, s_new = self.refine(t, s, k1, h, lambda q: q[2], 1e-9)
                    event = "ground"
            t = t + h if event else t_end
            s = s_new
            if event == "rail_exit":
                self.mode = _FREE
                rail_exit = (t, math.sqrt(s[3] ** 2 + s[4] ** 2 + s[5] ** 2))
            elif event == "apogee":
                apogee = (t, s[2])
                apogee_event_t = t + r.drogue_delay_s
                self._add_break(apogee_event_t)
            elif event == "main":
                main_t = t
                main_deploy_z = s[2]
                self._deploy(t, self.main_cda)
            elif event == "ground":
                landed = t
                s = (s[0], s[1], 0.0, s[3], s[4], s[5])  # on the ground, not 1e-9 m off it
            if (apogee_event_t is not None and not apogee_event_done
                    and t >= apogee_event_t - 1e-9):
                apogee_event_done = True
                if r.has_drogue:
                    drogue_t = t
                    self._deploy(t, self.drogue_cda)
                if main_t is None and r.main_rate_m_s is not None and (
                        r.main_deploy_m is None or s[2] <= r.main_deploy_m):
                    main_t = t
                    main_deploy_z = s[2]
                    self._deploy(t, self.main_cda)
            rows.append((t, *s, self._phase(t, apogee, landed, main_t)))
            accels.append(0.0)
            if landed is not None:
                break
        k_end = self.deriv(t, s)
        accels[-1] = math.sqrt(k_end[3] ** 2 + k_end[4] ** 2 + k_end[5] ** 2)
        return self._result(rows, accels, first_liftoff, rail_exit, apogee, drogue_t, main_t,
                            main_deploy_z, landed)

    def _phase(self, t, apogee, landed, main_t):
        if landed is not None:
            return 6
        if self.mode != _FREE:
            return 0
        if main_t is not None:
            return 5
        if self.deployed:
            return 4
        if apogee is None:
            return 1 if t < self.curve.burn_s else 2
        return 3

    def _result(self, rows, accels, liftoff_t, rail_exit, apogee, drogue_t, main_t,
                main_deploy_z, landed_t):
        r = self.rocket
        a = np.array(rows, dtype=float)
        t, x, y, z, vx, vy, vz = (a[:, i] for i in range(7))
        phase_code = a[:, 7].astype(int)
        wx, wy = self.wind
        free = phase_code != 0
        airspeed = np.where(free, np.sqrt((vx - wx) ** 2 + (vy - wy) ** 2 + vz ** 2),
                            np.sqrt(vx ** 2 + vy ** 2 + vz ** 2))
        sound = np.array([self.atm.speed_of_sound_m_s(self.pad_alt + h) for h in z])
        speed = np.sqrt(vx ** 2 + vy ** 2 + vz ** 2)
        mach = airspeed / sound
        accel = np.array(accels)
        series = {
            "t_s": t, "x_m": x, "y_m": y, "z_m": z, "vx_m_s": vx, "vy_m_s": vy, "vz_m_s": vz,
            "speed_m_s": speed, "airspeed_m_s": airspeed, "accel_m_s2": accel, "mach": mach,
            "phase": np.array([PHASES[p] for p in phase_code]),
        }
        descending = t > apogee[0]
        landing_x, landing_y = float(x[-1]), float(y[-1])
        figures = {
            "apogee_m": float(apogee[1]),
            "apogee_asl_m": float(apogee[1] + self.pad_alt),
            "time_to_apogee_s": float(apogee[0]),
            "max_speed_m_s": float(speed.max()),
            "max_mach": float(mach.max()),
            "max_accel_m_s2": float(accel.max()),
            "max_deploy_accel_m_s2": float(accel[descending].max()) if descending.any() else 0.0,
            "liftoff_time_s": float(liftoff_t),
            "rail_exit_time_s": float(rail_exit[0]),
            "rail_exit_speed_m_s": float(rail_exit[1]),
            "burnout_time_s": float(self.curve.burn_s),
            "drogue_time_s": None if drogue_t is None else float(drogue_t),
            "main_time_s": None if main_t is None else float(main_t),
            "main_deploy_height_m": None if main_deploy_z is None else float(main_deploy_z),
            "landing_time_s": float(landed_t),
            "landing_speed_m_s": float(speed[-1]),
            "landing_distance_m": float(math.hypot(landing_x, landing_y)),
            "landing_bearing_deg": float(math.degrees(math.atan2(landing_x, landing_y)) % 360.0),
            "liftoff_mass_kg": float(self.liftoff_kg),
            "peak_thrust_to_weight": float(self.peak_thrust_to_weight),
            "average_thrust_to_weight": float(self.average_thrust_to_weight),
            "drogue_cd_area_m2": float(self.drogue_cda),
            "main_cd_area_m2": float(self.main_cda),
        }
        if figures["rail_exit_speed_m_s"] < MIN_RAIL_EXIT_M_S:
            self.warnings.append(
                "rail exit speed %.1f m/s is below the %.0f m/s usually needed for a stable "
                "departure: use a longer rail or a motor with more initial thrust"
                % (figures["rail_exit_speed_m_s"], MIN_RAIL_EXIT_M_S))
        if r.main_deploy_m is not None and apogee[1] < r.main_deploy_m:
            self.warnings.append("apogee (%.0f m) is below the main deploy height (%.0f m): the "
                                 "main opens at apogee" % (apogee[1], r.main_deploy_m))
        if not r.has_drogue and r.main_rate_m_s is None:
            self.warnings.append("lands at %.0f m/s" % figures["landing_speed_m_s"])
        return FlightResult(r, self.motor, self.atm, series, figures, self.warnings,
                            self.conditions)
