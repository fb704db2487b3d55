"""Pressure to altitude in integers, against the formula, on both interpreters."""

from mptest import no_alloc

from firmware.baro import P_MAX_PA, P_MIN_PA, PadBaseline, altitude_cm, in_range


def formula_cm(p):
    return 44330.77 * (1.0 - (p / 101325.0) ** 0.190266) * 100


def test_table_matches_the_standard_atmosphere():
    # within 10 cm from 20 kPa (about 11.8 km) down to the ground; within 35 cm to 10 kPa
    worst_low = worst_high = 0
    p = P_MIN_PA
    while p <= P_MAX_PA:
        err = abs(altitude_cm(p) - formula_cm(p))
        if p >= 20480:
            worst_low = max(worst_low, err)
        else:
            worst_high = max(worst_high, err)
        p += 97  # not a multiple of the step: lands between table points
    assert worst_low <= 10.0, worst_low
    assert worst_high <= 35.0, worst_high
    assert altitude_cm(101325) == 0
    assert abs(altitude_cm(89875) - 100000) < 100  # about 1000 m in the standard atmosphere


def test_out_of_range_is_clamped_and_said():
    assert not in_range(5000) and in_range(50000)
    assert altitude_cm(5000) == altitude_cm(P_MIN_PA)
    assert altitude_cm(112000) < altitude_cm(110000)  # still monotonic above the table


def test_pad_baseline_averages_then_gives_height_above_the_pad():
    pad = PadBaseline(samples=8)
    readings = [100000, 100004, 99996, 100002, 99998, 100001, 99999, 100000]
    for i, p in enumerate(readings):
        assert pad.add(p) == (i == 7)
    assert pad.pad_pressure_pa == 100000
    assert pad.agl_cm(100000) == 0
    assert 800 < pad.agl_cm(99880) < 1100  # 120 Pa less: about 10 m up


def test_altitude_and_baseline_allocate_nothing():
    pad = PadBaseline(samples=4)
    state = [99000]

    def sample():
        state[0] -= 3
        altitude_cm(state[0])
        pad.add(state[0])
        pad.agl_cm(state[0])

    no_alloc(sample)
