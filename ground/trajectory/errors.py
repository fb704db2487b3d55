"""The one error type of the trajectory model: inputs no rocket can fly with."""


class TrajectoryError(ValueError):
    """An impossible or unflyable input; the message says which and why, in the user's units."""
