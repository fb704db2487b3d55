"""A rocket as the point-mass model sees it: mass, drag, launch guide and recovery.

Recovery is described the way a flier plans it, by descent rates: the simulation turns
each rate into the parachute drag area that gives it (see model.py). A drogue can be
given by its Cd*A instead, when that is what is known.

    single deploy   main_rate_m_s only: the one parachute opens at apogee
    dual deploy     drogue (rate or Cd*A) at apogee, main_rate_m_s at main_deploy_m on the way down
    streamer        a drogue by rate, nothing else
    none            nothing: the rocket falls ballistically (and the results warn)
"""

import math

from ground.trajectory.errors import TrajectoryError, check_positive


class Rocket:
    """The airframe without its motor; the motor's own mass is added from its .eng file.

    dry_mass_kg: everything but the motor (the motor's loaded mass comes from the motor).
    cd: drag coefficient on the reference area, constant at every Mach number.
    diameter_m or reference_area_m2: the reference area (pi d^2 / 4 from the diameter).
    rail_length_m: how far the rocket travels guided by the rod/rail before it is free.
    drogue_rate_m_s or drogue_cd_area_m2: the drogue, at apogee (+ drogue_delay_s).
    main_rate_m_s: descent rate under the main (and the drogue, if any, still attached).
    main_deploy_m: height above the pad at which the main opens on the way down; needed
        when there is a drogue, None for a single parachute at apogee.
    drogue_delay_s: seconds from apogee to the apogee event (a late ejection).
    chute_inflation_s: time a parachute takes to open fully; its drag area grows linearly
        over it, so the opening load is finite, as it is in flight.

    Descent rates are at the pad's air density: higher up, the thinner air makes the rocket
    fall faster under the same parachute, as it does in reality.
    """

    def __init__(self, dry_mass_kg, cd, diameter_m=None, reference_area_m2=None,
                 rail_length_m=1.0, drogue_rate_m_s=None, drogue_cd_area_m2=None,
                 main_rate_m_s=None, main_deploy_m=None, drogue_delay_s=0.0,
                 chute_inflation_s=0.5, name="rocket"):
        self.name = str(name)
        self.dry_mass_kg = check_positive("the dry mass", dry_mass_kg, "kg", upper=500.0)
        self.cd = check_positive("the drag coefficient Cd", cd, "", allow_zero=True, upper=5.0)
        if (diameter_m is None) == (reference_area_m2 is None):
            raise TrajectoryError(
                "give the rocket's reference diameter (diameter_m) or its reference area "
                "(reference_area_m2), one of the two")
        if diameter_m is not None:
            self.diameter_m = check_positive("the diameter", diameter_m, "m", upper=1.0)
            self.reference_area_m2 = math.pi * self.diameter_m ** 2 / 4.0
        else:
            self.reference_area_m2 = check_positive("the reference area", reference_area_m2, "m^2",
                                                    upper=1.0)
            self.diameter_m = math.sqrt(4.0 * self.reference_area_m2 / math.pi)
        self.rail_length_m = check_positive("the rail length", rail_length_m, "m", upper=30.0)
        if drogue_rate_m_s is not None and drogue_cd_area_m2 is not None:
            raise TrajectoryError("give the drogue as a descent rate or as a Cd*A, not both")
        self.drogue_rate_m_s = (None if drogue_rate_m_s is None else
                                check_positive("the drogue descent rate", drogue_rate_m_s, "m/s",
                                               upper=200.0))
        self.drogue_cd_area_m2 = (None if drogue_cd_area_m2 is None else
                                  check_positive("the drogue Cd*A", drogue_cd_area_m2, "m^2",
                                                 upper=100.0))
        self.main_rate_m_s = (None if main_rate_m_s is None else
                              check_positive("the main descent rate", main_rate_m_s, "m/s",
                                             upper=100.0))
        if main_deploy_m is not None:
            if self.main_rate_m_s is None:
                raise TrajectoryError("main_deploy_m is set but there is no main parachute "
                                      "(give main_rate_m_s)")
            self.main_deploy_m = check_positive("the main deploy height", main_deploy_m, "m",
                                                upper=20000.0)
        else:
            self.main_deploy_m = None
            if self.main_rate_m_s is not None and self.has_drogue:
                raise TrajectoryError("with a drogue, the main needs a deploy height above the "
                                      "pad (main_deploy_m)")
        if (self.has_drogue and self.main_rate_m_s is not None
                and self.drogue_rate_m_s is not None
                and self.main_rate_m_s >= self.drogue_rate_m_s):
            raise TrajectoryError(
                "the main descent rate (%g m/s) must be slower than the drogue's (%g m/s)"
                % (self.main_rate_m_s, self.drogue_rate_m_s))
        self.drogue_delay_s = check_positive("the drogue delay", drogue_delay_s, "s",
                                             allow_zero=True, upper=60.0)
        self.chute_inflation_s = check_positive("the parachute inflation time", chute_inflation_s,
                                                "s", upper=10.0)

    @property
    def has_drogue(self):
        return self.drogue_rate_m_s is not None or self.drogue_cd_area_m2 is not None

    @property
    def cd_area_m2(self):
        return self.cd * self.reference_area_m2

    def replace(self, **changes):
        """A new Rocket with some of the arguments changed, checked like any other.

        A fit tries many drag coefficients on one airframe: rocket.replace(cd=0.6).
        """
        # the area, not the diameter: Cd * A is what the model flies, and it stays exact
        args = dict(dry_mass_kg=self.dry_mass_kg, cd=self.cd,
                    reference_area_m2=self.reference_area_m2,
                    rail_length_m=self.rail_length_m, drogue_rate_m_s=self.drogue_rate_m_s,
                    drogue_cd_area_m2=self.drogue_cd_area_m2, main_rate_m_s=self.main_rate_m_s,
                    main_deploy_m=self.main_deploy_m, drogue_delay_s=self.drogue_delay_s,
                    chute_inflation_s=self.chute_inflation_s, name=self.name)
        if "diameter_m" in changes:
            args.pop("reference_area_m2")
        unknown = set(changes) - set(args) - {"diameter_m", "reference_area_m2"}
        if unknown:
            raise TypeError("Rocket has no argument %s" % ", ".join(sorted(unknown)))
        args.update(changes)
        return Rocket(**args)

    def __repr__(self):
        return "Rocket(%s, %.3f kg dry, Cd %.2f, %.1f mm)" % (
            self.name, self.dry_mass_kg, self.cd, self.diameter_m * 1000)
