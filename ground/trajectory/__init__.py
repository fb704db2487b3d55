"""Homer's calculation: motors, the point-mass trajectory model, predictions.

- `motor`: RASP .eng files (Motor, parse_eng, load_eng)
- `motors`: the motor files that ship with Coalwood (available(), load(name))
- `atmosphere`: the standard atmosphere anchored at the pad
- `rocket`: Rocket, the airframe and its recovery
- `model`: simulate(rocket, motor, ...) -> FlightResult (RK4, rail, wind, parachutes)
- `examples`: a sample rocket for each bundled motor
"""

from ground.trajectory.atmosphere import Atmosphere
from ground.trajectory.errors import TrajectoryError
from ground.trajectory.model import PHASES, FlightResult, simulate
from ground.trajectory.motor import EngError, Motor, load_eng, parse_eng
from ground.trajectory.rocket import Rocket

__all__ = [
    "PHASES",
    "Atmosphere",
    "EngError",
    "FlightResult",
    "Motor",
    "Rocket",
    "TrajectoryError",
    "load_eng",
    "parse_eng",
    "simulate",
]
