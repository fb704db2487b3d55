"""A simple flight as barometric pressure over time, for recorder and app tests on both interpreters.

Pad, a 1 s boost at 80 m/s^2, a drag-free coast to apogee (~366 m), drogue
descent at 30 m/s, main below 150 m at 6 m/s, then on the ground. Pressure
from the standard atmosphere with the pad at sea level (floats: test code only).
"""

PAD_S = 3.0
BOOST_S = 1.0
BOOST_ACCEL = 80.0
G = 9.80665
DROGUE_MS = 30.0
MAIN_MS = 6.0
MAIN_AT_M = 150.0

V_BURNOUT = BOOST_ACCEL * BOOST_S
H_BURNOUT = 0.5 * BOOST_ACCEL * BOOST_S * BOOST_S
COAST_S = V_BURNOUT / G
APOGEE_M = H_BURNOUT + V_BURNOUT * COAST_S - 0.5 * G * COAST_S * COAST_S
T_APOGEE = PAD_S + BOOST_S + COAST_S
T_MAIN = T_APOGEE + (APOGEE_M - MAIN_AT_M) / DROGUE_MS
T_LANDED = T_MAIN + MAIN_AT_M / MAIN_MS


def height_m(t):
    if t < PAD_S:
        return 0.0
    t -= PAD_S
    if t < BOOST_S:
        return 0.5 * BOOST_ACCEL * t * t
    t -= BOOST_S
    if t < COAST_S:
        return H_BURNOUT + V_BURNOUT * t - 0.5 * G * t * t
    t -= COAST_S
    drop = (APOGEE_M - MAIN_AT_M) / DROGUE_MS
    if t < drop:
        return APOGEE_M - DROGUE_MS * t
    t -= drop
    return max(0.0, MAIN_AT_M - MAIN_MS * t)


def pressure_pa(t):
    return int(101325.0 * (1.0 - height_m(t) / 44330.77) ** 5.255876)
