"""Wraparound-safe millisecond tick arithmetic with MicroPython's semantics.

Times are passed into the protocol, never read by it. On the board they come
from `time.ticks_ms()`, which wraps at 2**30; the ground station passes
`monotonic_ms() & TICKS_MAX`. These functions behave exactly like
`time.ticks_add` / `time.ticks_diff`, so deadlines keep working across the wrap.
"""

from protocol.compat import const

TICKS_PERIOD = const(1 << 30)
TICKS_MAX = const((1 << 30) - 1)
_TICKS_HALF = const(1 << 29)


def ticks_add(ticks, delta_ms):
    """`ticks` advanced by `delta_ms` (may be negative), wrapped into the tick period."""
    return (ticks + delta_ms) & TICKS_MAX


def ticks_diff(later, earlier):
    """Signed milliseconds from `earlier` to `later`, correct across one wrap."""
    return ((later - earlier + _TICKS_HALF) & TICKS_MAX) - _TICKS_HALF
