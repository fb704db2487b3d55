"""An igniter's electrical model: resistance, no-fire and all-fire currents, burn time.

The model is deliberately simple, and every simplification is stated here:

- Below the no-fire current nothing happens, however long the current flows
  (the continuity sense current, ~10 mA, is always below it).
- At or above the all-fire current the bridgewire heats at full rate: after
  `burn_ms` of such current the igniter functions. One that burns open then
  reads as an open circuit (infinite resistance); a dud (`burns_open=False`)
  never does, so it still shows continuity after firing (a MISFIRE).
- Between no-fire and all-fire, heat accumulates at a rate scaled linearly
  from 0 (at no-fire) to 1 (at all-fire), so a marginal current takes longer.
- Heat is never lost: pulses add up. Real bridgewires cool between pulses;
  the dead-man FIRE stream keeps the output on continuously, so this matters little.

The preset figures are typical values for each kind of igniter, not any one
product's; check your igniter's datasheet.
"""

import math

INFINITE_OHM = math.inf


class Igniter:
    """One igniter on one channel.

    resistance_ohm: cold resistance (math.inf for an open circuit).
    no_fire_ma / all_fire_ma: the current that never fires it / always fires it.
    burn_ms: how long the all-fire current must flow before it functions.
    burns_open: whether it becomes an open circuit when it functions.
    """

    def __init__(self, resistance_ohm, no_fire_ma, all_fire_ma, burn_ms, burns_open=True):
        if resistance_ohm < 0:
            raise ValueError("resistance must not be negative")
        if not 0 <= no_fire_ma < all_fire_ma:
            raise ValueError("need 0 <= no_fire_ma < all_fire_ma")
        if burn_ms <= 0:
            raise ValueError("burn_ms must be positive")
        self.cold_resistance_ohm = float(resistance_ohm)
        self.no_fire_ma = no_fire_ma
        self.all_fire_ma = all_fire_ma
        self.burn_ms = burn_ms
        self.burns_open = burns_open
        self.heat_ms = 0.0  # accumulated full-rate heating, in ms
        self.fired_ms = 0.0  # time any current above no-fire has flowed
        self.functioned = False  # the charge went off (burned open or not)
        self.burned = False  # burned open: reads as an open circuit now
        self.burn_time_ms = None  # fired_ms when it functioned
        self.peak_ma = 0.0  # the largest current seen
        self.preset = None  # the preset name, when made by make_igniter()

    @property
    def resistance_ohm(self):
        return INFINITE_OHM if self.burned else self.cold_resistance_ohm

    @property
    def is_open(self):
        return math.isinf(self.resistance_ohm)

    def heating_rate(self, current_ma):
        """Fraction of full heating at this current: 0 at/below no-fire, 1 at/above all-fire."""
        if current_ma <= self.no_fire_ma:
            return 0.0
        if current_ma >= self.all_fire_ma:
            return 1.0
        return (current_ma - self.no_fire_ma) / (self.all_fire_ma - self.no_fire_ma)

    def step(self, current_ma, dt_ms):
        """Pass `current_ma` through the igniter for `dt_ms` milliseconds."""
        if dt_ms <= 0 or self.is_open:
            return
        if current_ma > self.peak_ma:
            self.peak_ma = current_ma
        rate = self.heating_rate(current_ma)
        if rate <= 0.0 or self.functioned:
            return
        need = (self.burn_ms - self.heat_ms) / rate  # ms of this current until it functions
        if dt_ms >= need:
            self.fired_ms += need
            self.heat_ms = float(self.burn_ms)
            self.functioned = True
            self.burn_time_ms = self.fired_ms
            if self.burns_open:
                self.burned = True
        else:
            self.fired_ms += dt_ms
            self.heat_ms += dt_ms * rate

    def as_dict(self):
        r = self.resistance_ohm
        return {
            "resistance_ohm": None if math.isinf(r) else r,
            "functioned": self.functioned,
            "burned": self.burned,
            "burn_time_ms": self.burn_time_ms,
            "peak_ma": round(self.peak_ma, 1),
        }


# name: (description, resistance_ohm, no_fire_ma, all_fire_ma, burn_ms, burns_open)
# Typical values; check your igniter's datasheet.
PRESETS = {
    "ematch": ("good e-match, ~1 ohm (typical: no-fire 0.25 A, all-fire 0.5 A)",
               1.0, 250, 500, 20, True),
    "estes": ("Estes-style starter, ~0.8 ohm (typical: no-fire 0.5 A, all-fire 2 A)",
              0.8, 500, 2000, 150, True),
    "open": ("nothing connected / broken leg wire", INFINITE_OHM, 250, 500, 20, True),
    "short": ("shorted clips (0.02 ohm), never burns open", 0.02, 250, 500, 20, False),
    "high": ("50 ohm: continuity reads, but the battery cannot drive no-fire current",
             50.0, 250, 500, 20, True),
    "dud": ("1 ohm e-match that never burns open (misfire)", 1.0, 250, 500, 20, False),
    "slow": ("1 ohm igniter needing 600 ms of all-fire current", 1.0, 250, 500, 600, True),
}


def make_igniter(name):
    """A fresh Igniter from a preset name; ValueError naming the valid ones otherwise."""
    key = str(name).strip().lower()
    if key not in PRESETS:
        raise ValueError(
            "unknown igniter %r (choose from: %s)" % (name, ", ".join(PRESETS))
        )
    _desc, r, nf, af, burn, burns_open = PRESETS[key]
    ig = Igniter(r, nf, af, burn, burns_open)
    ig.preset = key
    return ig
