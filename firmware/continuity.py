"""Igniter continuity: four-valued, never a bool, with hysteresis.

The sense circuit is a divider: sense supply -> R_sense -> node -> igniter ->
ground, and the ADC reads the node. With the node at fraction f = raw/full of
the supply, the igniter's resistance is R = R_sense * f / (1 - f). The sense
current, supply / (R_sense + R), stays far below any igniter's no-fire
current (hardware/ shows the numbers).

Classification uses two thresholds per boundary with a gap between them, so a
reading near a boundary keeps the class it had instead of flickering:

    SHORT  < short_enter_mohm ... short_leave_mohm <=  CONNECTED
    CONNECTED <= open_enter_mohm ... open_leave_mohm < OPEN

Integers only, and no intermediate reaches 2**30, so nothing is allocated on
a 32-bit MicroPython board.
"""

from protocol.compat import const
from protocol.constants import (
    CONT_CONNECTED,
    CONT_OPEN,
    CONT_SHORT,
    CONT_UNKNOWN,
    RESISTANCE_UNKNOWN,
)

SHORT_ENTER_MOHM = const(150)  # below this a channel becomes SHORT
SHORT_LEAVE_MOHM = const(300)  # a SHORT channel needs this much to be CONNECTED again
OPEN_ENTER_MOHM = const(200000)  # above this (200 ohm) a channel becomes OPEN
OPEN_LEAVE_MOHM = const(100000)  # an OPEN channel must read below this (100 ohm) to be CONNECTED
SAMPLES_TO_KNOW = const(4)  # readings before a channel leaves UNKNOWN
_FILTER_SHIFT = const(2)  # exponential average over ~4 samples


def resistance_mohm(raw, full_scale, sense_resistor_ohm):
    """Igniter resistance in milliohms from an ADC reading; -1 when open-circuit (raw at full scale).

    Computed in two steps so no intermediate exceeds 2**30 on the board.
    """
    if raw >= full_scale:
        return -1
    if raw <= 0:
        return 0
    den = full_scale - raw
    num = sense_resistor_ohm * raw  # <= 1000 ohm * 65535: well under 2**30
    whole = num // den
    if whole >= 1000000:  # beyond a kilohm: as good as open
        return -1
    return whole * 1000 + ((num - whole * den) * 1000) // den


def classify(old, r):
    """The class for resistance r (milliohms, -1 open) given the class a channel had.

    A boundary is crossed only past its far threshold; a channel with no class yet
    (UNKNOWN) is split at the middle of each gap.
    """
    if r < 0:
        return CONT_OPEN
    if old == CONT_SHORT:
        short_below, open_above = SHORT_LEAVE_MOHM, OPEN_ENTER_MOHM
    elif old == CONT_OPEN:
        short_below, open_above = SHORT_ENTER_MOHM, OPEN_LEAVE_MOHM - 1
    elif old == CONT_CONNECTED:
        short_below, open_above = SHORT_ENTER_MOHM, OPEN_ENTER_MOHM
    else:
        short_below = (SHORT_ENTER_MOHM + SHORT_LEAVE_MOHM) // 2
        open_above = (OPEN_ENTER_MOHM + OPEN_LEAVE_MOHM) // 2
    if r < short_below:
        return CONT_SHORT
    if r > open_above:
        return CONT_OPEN
    return CONT_CONNECTED


class Continuity:
    """Per-channel continuity state: class, resistance estimate, filtered reading."""

    def __init__(self, channels, full_scale, sense_resistor_ohm):
        self.channels = channels
        self.full_scale = full_scale
        self.sense_resistor_ohm = sense_resistor_ohm
        self.cls = bytearray(channels)  # CONT_* per channel; starts UNKNOWN (0)
        self.mohm = [RESISTANCE_UNKNOWN] * channels
        self._avg = [0] * channels
        self._count = bytearray(channels)

    def invalidate(self, channel):
        """Forget a channel's readings (its output is on, so the node says nothing)."""
        self.cls[channel] = CONT_UNKNOWN
        self.mohm[channel] = RESISTANCE_UNKNOWN
        self._count[channel] = 0

    def update(self, channel, raw):
        """Feed one ADC reading; returns the channel's class."""
        n = self._count[channel]
        if n == 0:
            avg = raw
        else:
            avg = self._avg[channel]
            avg += (raw - avg) >> _FILTER_SHIFT
        self._avg[channel] = avg
        if n < SAMPLES_TO_KNOW:
            self._count[channel] = n + 1
            if n + 1 < SAMPLES_TO_KNOW:
                return CONT_UNKNOWN
        r = resistance_mohm(avg, self.full_scale, self.sense_resistor_ohm)
        new = classify(self.cls[channel], r)
        self.cls[channel] = new
        self.mohm[channel] = r if 0 <= r < RESISTANCE_UNKNOWN and new != CONT_OPEN else RESISTANCE_UNKNOWN
        return new
