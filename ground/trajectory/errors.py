"""The one error type of the trajectory model, inputs no rocket can fly with, and the two
checks that raise it (shared by the rocket, the model and the rocket file)."""

import math


class TrajectoryError(ValueError):
    """An impossible or unflyable input; the message says which and why, in the user's units."""


def check_positive(name, value, unit, allow_zero=False, upper=None):
    """`value` as a float if it is a finite positive number (or zero, if allowed) no larger
    than `upper`; TrajectoryError naming `name` and `unit` if not."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TrajectoryError("%s must be a number (%s), not %r" % (name, unit, value)) from None
    if not math.isfinite(value):
        raise TrajectoryError("%s must be finite, not %r" % (name, value))
    if value < 0 or (value == 0 and not allow_zero):
        raise TrajectoryError("%s must be %s, not %g %s" % (
            name, "zero or more" if allow_zero else "positive", value, unit))
    if upper is not None and value > upper:
        raise TrajectoryError("%s of %g %s is beyond any model or high-power rocket (at most %g %s)"
                              % (name, value, unit, upper, unit))
    return value


def check_number(name, value, unit, low, high, low_open=False, high_open=False):
    """`value` as a float if it is finite and within low..high (each end open if asked);
    TrajectoryError naming `name` and `unit` if not."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TrajectoryError("%s must be a number (%s), not %r" % (name, unit, value)) from None
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not math.isfinite(value) or too_low or too_high:
        raise TrajectoryError("%s must be %s%g to %g%s %s, not %r" % (
            name, "above " if low_open else "", low, high, " (exclusive)" if high_open else "",
            unit, value))
    return value
