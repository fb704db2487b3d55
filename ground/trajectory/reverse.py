"""The calculation run backwards: from what happened to what the rocket must have been.

- fit_cd(rocket, motor, apogee_m): the drag coefficient with which the model reaches a
  measured apogee. More drag, less height: apogee(Cd) falls as Cd rises, so a root find
  bracketed by CD_RANGE finds the one Cd that fits, or says that none in the range does
  and which way the measurement misses (the motor cannot lift the rocket that high; or
  even a brick would have gone higher, so something else went wrong).
- reach(rocket, motor, distance_m, bearing_deg): could a launch from the pad come down at a
  given point? Every rail within MAX_RAIL_ANGLE_DEG of vertical, at any bearing, under the
  given wind, is searched for the farthest landing, and then for the landing closest to
  the point. The question of the film October Sky: could Homer's rocket have started the
  forest fire three miles away?

Both fly the model at SEARCH_STEPS, coarser than a prediction's: with exact event times
RK4 moves the apogee by parts in 10^7 and the landing point by centimetres at these steps,
far below what a fit or a search resolves, at a fifth of the cost. The answer is then
flown once more at the model's own steps.
"""

import math

from ground.trajectory.errors import TrajectoryError
from ground.trajectory.model import simulate
from ground.trajectory.motor import Motor

CD_RANGE = (0.05, 2.0)  # from a polished minimum-diameter dart to a flying brick
MAX_RAIL_ANGLE_DEG = 30.0  # the model rocket safety code's limit
SEARCH_STEPS = {"dt_burn_s": 0.005, "dt_coast_s": 0.05, "dt_descent_s": 0.25}


class ReverseError(TrajectoryError):
    """No rocket within the searched range does what was asked; the message says why."""


def _motor(motor):
    if isinstance(motor, Motor):
        return motor
    from ground.trajectory import motors

    return motors.load(motor)


def _steps(conditions):
    """(conditions without step sizes, the steps to search at): steps a caller gives win."""
    given = {k: v for k, v in conditions.items() if k in SEARCH_STEPS}
    rest = {k: v for k, v in conditions.items() if k not in SEARCH_STEPS}
    return rest, {**SEARCH_STEPS, **given}


# --- the drag coefficient from an apogee ----------------------------------------------------
class CdFit:
    """The fitted drag coefficient and the flight it gives (a FlightResult at the model's steps)."""

    def __init__(self, cd, target_apogee_m, flight, evaluations, cd_range):
        self.cd = cd
        self.target_apogee_m = target_apogee_m
        self.flight = flight
        self.evaluations = evaluations
        self.cd_range = cd_range

    def summary(self):
        f = self.flight
        return {
            "cd": self.cd,
            "measured_apogee_m": self.target_apogee_m,
            "model_apogee_m": f.apogee_m,
            "cd_range": list(self.cd_range),
            "landing_distance_m": f.landing_distance_m,
            "landing_bearing_deg": f.landing_bearing_deg,
            "flight": f.summary(),
        }

    def __repr__(self):
        return "CdFit(Cd %.4f for %.1f m: lands %.0f m at %.0f deg)" % (
            self.cd, self.target_apogee_m, self.flight.landing_distance_m,
            self.flight.landing_bearing_deg)


def fit_cd(rocket, motor, apogee_m, *, cd_range=CD_RANGE, **conditions):
    """The Cd with which `rocket` on `motor` reaches `apogee_m` (m above the pad); a CdFit.

    `conditions` are simulate()'s (rail angle, wind, pad altitude and temperature...): the
    apogee is fitted under them, and the landing reported under them. Raises ReverseError
    when no Cd in `cd_range` reproduces the apogee, saying which way it misses.
    """
    motor = _motor(motor)
    try:
        target = float(apogee_m)
    except (TypeError, ValueError):
        raise TrajectoryError("the measured apogee must be a number of metres, not %r"
                              % (apogee_m,)) from None
    if not math.isfinite(target) or target <= 0:
        raise TrajectoryError("the measured apogee must be above the pad, not %r m"
                              % (apogee_m,))
    cd_lo, cd_hi = (float(c) for c in cd_range)
    if not 0 < cd_lo < cd_hi:
        raise TrajectoryError("the Cd range must be two increasing positive numbers, not %r"
                              % (cd_range,))
    final_conditions = conditions
    conditions, steps = _steps(conditions)
    # recovery opens at apogee or after it, so it cannot change the apogee; without it the
    # trial flights come down in seconds, and no trial Cd can clash with a parachute's size
    airframe = rocket.replace(drogue_rate_m_s=None, drogue_cd_area_m2=None, main_rate_m_s=None,
                              main_deploy_m=None)
    evaluations = 0

    def miss(log_cd):
        nonlocal evaluations
        evaluations += 1
        flight = simulate(airframe.replace(cd=math.exp(log_cd)), motor, **conditions, **steps)
        return flight.apogee_m - target

    lo, hi = math.log(cd_lo), math.log(cd_hi)
    f_lo, f_hi = miss(lo), miss(hi)
    if f_lo < 0:
        raise ReverseError(
            "no Cd from %g to %g reproduces an apogee of %.1f m: even at Cd %g the %s lifts "
            "this rocket (%.3f kg without its motor) only to %.1f m. The motor cannot reach "
            "that height: check the motor and the mass" % (
                cd_lo, cd_hi, target, cd_lo, motor.name, rocket.dry_mass_kg, f_lo + target))
    if f_hi > 0:
        raise ReverseError(
            "no Cd from %g to %g reproduces an apogee of %.1f m: even at Cd %g the %s lifts "
            "this rocket (%.3f kg without its motor) to %.1f m. Something other than drag cost "
            "the height: check the mass and the motor, and whether the flight went as planned "
            "(a short burn, an early ejection, a flight far from vertical)" % (
                cd_lo, cd_hi, target, cd_hi, motor.name, rocket.dry_mass_kg, f_hi + target))
    # Illinois (regula falsi that halves a stale end): apogee is smooth in log(Cd), so it
    # converges in a handful of flights where bisection would need twenty
    tolerance_m = 1e-5 * target
    log_cd, side = lo, 0
    for _ in range(60):
        log_cd = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        f = miss(log_cd)
        if abs(f) <= tolerance_m or hi - lo < 1e-9:
            break
        if f > 0:
            lo, f_lo = log_cd, f
            if side == 1:
                f_hi *= 0.5
            side = 1
        else:
            hi, f_hi = log_cd, f
            if side == -1:
                f_lo *= 0.5
            side = -1
    cd = math.exp(log_cd)
    flight = simulate(rocket.replace(cd=cd), motor, **final_conditions)
    return CdFit(cd, target, flight, evaluations, (cd_lo, cd_hi))


# --- could it land there? ------------------------------------------------------------------
class Reach:
    """The answer of reach(): the farthest landing, and the landing closest to the point.

    Launches are (rail angle from vertical in degrees, rail bearing in degrees); landing
    points (distance m, bearing deg) from the pad.
    """

    def __init__(self, target, tolerance_m, max_angle_deg, farthest, closest, flights):
        self.target_distance_m, self.target_bearing_deg = target
        self.tolerance_m = tolerance_m
        self.max_angle_deg = max_angle_deg
        self.farthest_launch, self.farthest_landing = farthest
        self.max_reach_m = self.farthest_landing[0]
        self.closest_launch, self.closest_landing, self.closest_miss_m = closest
        self.reachable = self.closest_miss_m is not None and self.closest_miss_m <= tolerance_m
        self.flights = flights  # how many trial flights the search took

    def summary(self):
        def launch(angle_bearing):
            if angle_bearing is None:
                return None
            return {"rail_angle_deg": angle_bearing[0], "rail_bearing_deg": angle_bearing[1]}

        def landing(distance_bearing):
            if distance_bearing is None:
                return None
            return {"distance_m": distance_bearing[0], "bearing_deg": distance_bearing[1]}

        return {
            "target": landing((self.target_distance_m, self.target_bearing_deg)),
            "reachable": self.reachable,
            "tolerance_m": self.tolerance_m,
            "max_rail_angle_deg": self.max_angle_deg,
            "max_reach_m": self.max_reach_m,
            "farthest_launch": launch(self.farthest_launch),
            "farthest_landing": landing(self.farthest_landing),
            "closest_launch": launch(self.closest_launch),
            "closest_landing": landing(self.closest_landing),
            "closest_miss_m": self.closest_miss_m,
            "trial_flights": self.flights,
        }

    def __repr__(self):
        return "Reach(%.0f m at %.0f deg: %s; farthest %.0f m)" % (
            self.target_distance_m, self.target_bearing_deg,
            "reachable" if self.reachable else "out of reach", self.max_reach_m)


def _polar(x_m, y_m):
    return math.hypot(x_m, y_m), math.degrees(math.atan2(x_m, y_m)) % 360.0


def _climb(objective, start, angle_step, bearing_step, max_angle, good_enough=None):
    """Pattern search for the (angle, bearing) that maximises objective, from `start`."""
    angle, bearing = start
    best = objective(angle, bearing)
    while angle_step > 0.05 or bearing_step > 0.1:
        if good_enough is not None and best >= good_enough:
            break
        for d_angle, d_bearing in ((angle_step, 0.0), (-angle_step, 0.0),
                                   (0.0, bearing_step), (0.0, -bearing_step)):
            a = min(max(angle + d_angle, 0.0), max_angle)
            b = (bearing + d_bearing) % 360.0
            if (a, b) == (angle, bearing) or (a == 0.0 and angle == 0.0):
                continue
            value = objective(a, b)
            # a micrometre is rounding, not a better launch: in still air every bearing ties
            if value > best + 1e-6:
                best, angle, bearing = value, a, b
                break
        else:
            angle_step *= 0.5
            bearing_step *= 0.5
    return angle, bearing, best


def reach(rocket, motor, distance_m, bearing_deg, *, max_angle_deg=MAX_RAIL_ANGLE_DEG,
          tolerance_m=None, **conditions):
    """Could `rocket` on `motor`, launched from the pad, land `distance_m` from it toward
    `bearing_deg`? A Reach.

    Every rail from vertical to `max_angle_deg`, at any bearing, is searched (under the wind
    and pad in `conditions`, simulate()'s) for the farthest landing; if the point is no
    farther than that, for the landing closest to it. It is reachable when some launch lands
    within `tolerance_m` of it (default: 1 % of its distance, at least 5 m).
    """
    motor = _motor(motor)
    target_m = float(distance_m)
    target_deg = float(bearing_deg) % 360.0
    if not math.isfinite(target_deg):
        raise TrajectoryError("the landing bearing must be a compass bearing in degrees, not %r"
                              % (bearing_deg,))
    if not math.isfinite(target_m) or target_m < 0:
        raise TrajectoryError("the landing distance must be zero or more metres, not %r"
                              % (distance_m,))
    if not 0.0 <= max_angle_deg < 90.0:
        raise TrajectoryError("the steepest rail searched must be 0 to 90 degrees from "
                              "vertical, not %r" % (max_angle_deg,))
    for fixed in ("rail_angle_deg", "rail_bearing_deg"):
        if fixed in conditions:
            raise TrajectoryError("reach() searches the rail angle and bearing itself; "
                                  "do not give %s" % fixed)
    if tolerance_m is None:
        tolerance_m = max(5.0, 0.01 * target_m)
    elif not (isinstance(tolerance_m, (int, float)) and 0 < tolerance_m < math.inf):
        raise TrajectoryError("the tolerance must be a positive number of metres, not %r"
                              % (tolerance_m,))
    conditions, steps = _steps(conditions)
    target_xy = (target_m * math.sin(math.radians(target_deg)),
                 target_m * math.cos(math.radians(target_deg)))
    landings = {}

    def land(angle, bearing):
        """Where the launch (angle, bearing) comes down (x east, y north), or None if it
        cannot fly: a steep rail can ask more thrust along it than the motor has."""
        key = (round(angle, 9), 0.0 if angle == 0.0 else round(bearing % 360.0, 9))
        if key not in landings:
            try:
                f = simulate(rocket, motor, rail_angle_deg=key[0], rail_bearing_deg=key[1],
                             **conditions, **steps)
                landings[key] = (float(f.x_m[-1]), float(f.y_m[-1]))
            except TrajectoryError:
                if key[0] == 0.0:
                    raise  # not even a vertical launch flies: say why
                landings[key] = None
        return landings[key]

    def distance(angle, bearing):
        xy = land(angle, bearing)
        return -math.inf if xy is None else math.hypot(*xy)

    def nearness(angle, bearing):
        xy = land(angle, bearing)
        if xy is None:
            return -math.inf
        return -math.hypot(xy[0] - target_xy[0], xy[1] - target_xy[1])

    grid = [(0.0, 0.0)]
    if max_angle_deg > 0:
        # from the point's own bearing: where bearings tie, the answer points at the point
        grid += [(max_angle_deg * i / 3.0, (target_deg + 45.0 * j) % 360.0)
                 for i in (1, 2, 3) for j in range(8)]
    angle_step, bearing_step = max_angle_deg / 6.0, 22.5
    far = max(grid, key=lambda ab: round(distance(*ab), 6))
    far = _climb(distance, far, angle_step, bearing_step, max_angle_deg)[:2]
    far_landing = _polar(*land(*far))
    closest = (None, None, None)
    if target_m <= far_landing[0] + tolerance_m:
        near = max(grid, key=lambda ab: round(nearness(*ab), 6))
        # well inside the tolerance before stopping: a landing found at its very edge would
        # turn the answer over at the next refinement of the model
        angle, bearing, value = _climb(nearness, near, angle_step, bearing_step, max_angle_deg,
                                       good_enough=-0.1 * tolerance_m)
        closest = ((angle, bearing), _polar(*land(angle, bearing)), -value)
    return Reach((target_m, target_deg), tolerance_m, max_angle_deg, (far, far_landing),
                 closest, len(landings))


def flight_of(rocket, motor, launch, **conditions):
    """The flight (at the model's steps) of one launch (rail angle, rail bearing) of a Reach."""
    return simulate(rocket, _motor(motor), rail_angle_deg=launch[0], rail_bearing_deg=launch[1],
                    **conditions)
