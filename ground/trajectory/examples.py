"""A sample rocket for each bundled motor: for examples, the simulator demo and benchmarks.

They are typical airframes for the motor, not particular kits:

    Estes_C6        24.8 mm (BT-50) body, 100 g without motor, one parachute (4.5 m/s)
    AeroTech_H128W  54 mm body, 0.9 kg, one parachute at apogee (6 m/s)
    AeroTech_J350W  41 mm minimum-diameter, 1.0 kg, dual deploy: drogue 25 m/s, main
                    6 m/s at 150 m; it goes supersonic (Mach ~1.3)
"""

from ground.trajectory.errors import TrajectoryError
from ground.trajectory.rocket import Rocket

_SAMPLES = {
    "Estes_C6": dict(dry_mass_kg=0.100, cd=0.75, diameter_m=0.0248, rail_length_m=1.0,
                     main_rate_m_s=4.5, name="24.8 mm sport rocket"),
    "AeroTech_H128W": dict(dry_mass_kg=0.9, cd=0.6, diameter_m=0.054, rail_length_m=1.8,
                           main_rate_m_s=6.0, name="54 mm single-deploy rocket"),
    "AeroTech_J350W": dict(dry_mass_kg=1.0, cd=0.5, diameter_m=0.041, rail_length_m=2.4,
                           drogue_rate_m_s=25.0, main_rate_m_s=6.0, main_deploy_m=150.0,
                           name="41 mm minimum-diameter rocket"),
}


def sample_rocket(motor_name):
    """A fresh Rocket suited to the bundled motor `motor_name` (its file name)."""
    try:
        return Rocket(**_SAMPLES[motor_name])
    except KeyError:
        raise TrajectoryError("no sample rocket for %r (there is one for: %s)"
                       % (motor_name, ", ".join(sorted(_SAMPLES)))) from None


def sample_names():
    return sorted(_SAMPLES)
