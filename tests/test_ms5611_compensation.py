"""The MS5611's small-int compensation against the datasheet's 64-bit integer formulas.

The reference below transcribes the datasheet (MS5611-01BA03, "Pressure and
temperature calculation" and "Second order temperature compensation")
statement by statement in int64 arithmetic, every intermediate checked to fit
the recommended C types. The datasheet writes its divisions as "/ 2^n"; the
reference takes them as arithmetic shifts (`>>`, rounding down), the usual C
rendering and the one the driver reproduces exactly. A second reference uses
C's `/` (rounding toward zero) instead. The two agree at and above 20 degC;
below, where dT < 0, they round TEMP 0.01 degC apart, and the second-order
terms square TEMP: that step alone moves P by up to 1 Pa down to -15 degC and
4 Pa at -40 degC, in the datasheet's own arithmetic.

Besides accuracy, every arithmetic result in firmware/ms5611.py must stay a
MicroPython small int (|x| < 2**30) for any raw reading and any PROM values:
the module is re-compiled with each operation wrapped in a check and driven
through corner and random inputs, end to end through the driver too.
"""

import pathlib
import random
import sys

from small_ints import SMALL_INT, Tracker, checked_module

from firmware import ms5611
from firmware.ms5611 import Calibration, Terms, crc4, pressure_pa, temperature_terms

sys.path.insert(0, str(pathlib.Path(__file__).parent / "micropython"))
import fake_machine

SOURCE = pathlib.Path(ms5611.__file__)
INT64 = (-(1 << 63), (1 << 63) - 1)
INT32 = (-(1 << 31), (1 << 31) - 1)

# The datasheet's example: C1..C6, D1 and D2, and what they give.
EXAMPLE_C = (40127, 36924, 23317, 23282, 33464, 28312)
EXAMPLE_D1 = 9085466
EXAMPLE_D2 = 8569150

N_PER_CALIBRATION = 20000  # six sets: 120,000 readings


def _fits(value, bounds):
    assert bounds[0] <= value <= bounds[1], value
    return value


def _shr(a, n):
    return a >> n


def _c_div(a, n):
    """C's a / 2**n for signed integers: the quotient rounded toward zero."""
    q = abs(a) >> n
    return q if a >= 0 else -q


def datasheet(c, d1, d2, div=_shr):
    """(TEMP in 0.01 degC, P in 0.01 mbar): the datasheet's formulas in int64/int32.

    `c` is C1..C6 (c[0] is C1); `div(a, n)` is the datasheet's a / 2^n.
    """
    c1, c2, c3, c4, c5, c6 = c
    # Calculate temperature
    dT = _fits(d2 - c5 * 2**8, INT32)
    TEMP = _fits(2000 + div(_fits(dT * c6, INT64), 23), INT32)
    # Calculate temperature compensated pressure
    OFF = _fits(c2 * 2**16 + div(_fits(c4 * dT, INT64), 7), INT64)
    SENS = _fits(c1 * 2**15 + div(_fits(c3 * dT, INT64), 8), INT64)
    # Second order temperature compensation
    if TEMP < 2000:
        T2 = div(_fits(dT * dT, INT64), 31)
        OFF2 = div(5 * (TEMP - 2000) ** 2, 1)
        SENS2 = div(5 * (TEMP - 2000) ** 2, 2)
        if TEMP < -1500:
            OFF2 = OFF2 + 7 * (TEMP + 1500) ** 2
            SENS2 = SENS2 + div(11 * (TEMP + 1500) ** 2, 1)
    else:
        T2 = 0
        OFF2 = 0
        SENS2 = 0
    TEMP = _fits(TEMP - T2, INT32)
    OFF = _fits(OFF - OFF2, INT64)
    SENS = _fits(SENS - SENS2, INT64)
    P = _fits(div(_fits(div(_fits(d1 * SENS, INT64), 21) - OFF, INT64), 15), INT32)
    return TEMP, P


def first_order_temp(c, d2):
    return 2000 + ((d2 - c[4] * 2**8) * c[5] >> 23)


def an520_crc4(n_prom):
    """Application note AN520's crc4(), line by line (unsigned int n_rem: 32 bits)."""
    n_prom = list(n_prom)
    n_rem = 0x00
    crc_read = n_prom[7]
    n_prom[7] = 0xFF00 & n_prom[7]
    for cnt in range(16):
        if cnt % 2 == 1:
            n_rem ^= n_prom[cnt >> 1] & 0x00FF
        else:
            n_rem ^= n_prom[cnt >> 1] >> 8
        for _n_bit in range(8, 0, -1):
            if n_rem & 0x8000:
                n_rem = ((n_rem << 1) ^ 0x3000) & 0xFFFFFFFF
            else:
                n_rem = (n_rem << 1) & 0xFFFFFFFF
    n_rem = 0x000F & (n_rem >> 12)
    n_prom[7] = crc_read
    return n_rem ^ 0x00


def _prom(c, rng=None):
    """Eight PROM words around C1..C6, with word 7's CRC-4 in place."""
    rng = rng or random.Random(0)
    words = [rng.randrange(1 << 16), *c, rng.randrange(1 << 16) & 0xFFF0]
    words[7] |= an520_crc4(words)
    return words


def _driver_result(c, d1, d2):
    terms = Terms()
    temperature_terms(Calibration(_prom(c)), d2, terms)
    return terms.temperature_centi_c, pressure_pa(terms, d1)


def calibrations():
    """The datasheet's coefficients and five seeded sets within 15 % of them."""
    rng = random.Random(5611)
    sets = [EXAMPLE_C]
    for _ in range(5):
        sets.append(tuple(v + rng.randint(-v * 15 // 100, v * 15 // 100) for v in EXAMPLE_C))
    return sets


def readings(c, rng, n):
    """n raw (D1, D2) pairs the chip can give: -40..85 degC and 10..1200 mbar."""
    per_c = (1 << 23) * 100 // c[5]  # raw temperature counts per degC, near enough
    d2_0c = c[4] * 256 - 20 * per_c
    out = []
    while len(out) < n:
        d2 = rng.randrange(max(0, d2_0c - 45 * per_c), min(1 << 24, d2_0c + 90 * per_c))
        d1 = rng.randrange(1 << 24)
        temp, p = datasheet(c, d1, d2)
        if -4000 <= temp <= 8500 and 1000 <= p <= 120000:
            out.append((d1, d2, temp, p))
    return out


def test_the_datasheet_example():
    assert datasheet(EXAMPLE_C, EXAMPLE_D1, EXAMPLE_D2) == (2007, 100009)
    assert _driver_result(EXAMPLE_C, EXAMPLE_D1, EXAMPLE_D2) == (2007, 100009)
    # the datasheet's intermediate values: dT 2366, OFF 2420281617, SENS 1315097036
    terms = Terms()
    temperature_terms(Calibration(_prom(EXAMPLE_C)), EXAMPLE_D2, terms)
    assert terms.off_hi * 2**15 + terms.off_lo == 2420281617
    assert terms.sens_hi * 2**15 + terms.sens_lo == 1315097036


def test_equals_the_datasheet_over_the_sensors_range():
    rng = random.Random(20070100009)
    worst_pa = 0  # against the datasheet with >> (the target: equal)
    # against the datasheet with C's /, by first-order temperature band
    worst_c_division_pa = {"20 degC and up": 0, "-15..20 degC": 0, "below -15 degC": 0}
    count = 0
    for c in calibrations():
        cal = Calibration(_prom(c))
        terms = Terms()
        for d1, d2, temp, p in readings(c, rng, N_PER_CALIBRATION):
            temperature_terms(cal, d2, terms)
            got = pressure_pa(terms, d1)
            assert terms.temperature_centi_c == temp, (c, d1, d2)
            worst_pa = max(worst_pa, abs(got - p))
            first = first_order_temp(c, d2)
            if first >= 2000:
                band = "20 degC and up"
            elif first >= -1500:
                band = "-15..20 degC"
            else:
                band = "below -15 degC"
            diff = abs(got - datasheet(c, d1, d2, _c_div)[1])
            worst_c_division_pa[band] = max(worst_c_division_pa[band], diff)
            count += 1
    assert count >= 100000
    assert worst_pa == 0, worst_pa  # measured: 0, all 120,000 readings equal
    # measured: 0, 1 and 4 Pa (from TEMP rounded 0.01 degC apart, see above)
    assert worst_c_division_pa == {
        "20 degC and up": 0,
        "-15..20 degC": 1,
        "below -15 degC": 4,
    }, worst_c_division_pa


def test_the_readings_cover_both_second_order_bands():
    rng = random.Random(20070100009)
    bands = [0, 0, 0]
    for c in calibrations():
        for _d1, d2, _temp, _p in readings(c, rng, N_PER_CALIBRATION):
            first = first_order_temp(c, d2)
            bands[(first < 2000) + (first < -1500)] += 1
    assert min(bands) > 15000, bands  # measured: 64521, 38892, 16587


def test_exact_for_any_reading_and_prom_down_to_minus_40_degc():
    # Any 24-bit readings and any 16-bit coefficients, wherever the first-order TEMP is
    # at least -40 degC (below it the driver holds the second-order terms at -40 degC).
    rng = random.Random(64)
    count = 0
    for _ in range(60000):
        c = tuple(rng.randrange(1, 0xFFFF) for _ in range(6))
        d1 = rng.randrange(1 << 24)
        d2 = rng.randrange(1 << 24)
        if first_order_temp(c, d2) < -4000:
            continue
        assert _driver_result(c, d1, d2) == datasheet(c, d1, d2), (c, d1, d2)
        count += 1
    assert count > 25000, count


def test_crc4_is_an520s():
    rng = random.Random(520)
    proms = [_prom(EXAMPLE_C), fake_machine.MS5611Model().prom, [0] * 8, [0xFFFF] * 8]
    proms += [[rng.randrange(1 << 16) for _ in range(8)] for _ in range(5000)]
    for words in proms:
        assert crc4(words) == an520_crc4(words), words
        assert fake_machine.ms5611_crc4(words) == an520_crc4(words), words
    # word 7's low nibble is the CRC, and nothing in that byte is covered
    words = _prom(EXAMPLE_C)
    assert crc4(words) == words[7] & 0xF
    words[7] ^= 0x00F0
    assert crc4(words) == words[7] & 0xF


# --- no intermediate reaches 2**30 ------------------------------------------------------------


def _extreme_coefficients(rng):
    """C1..C6 no good part has: type corners and random values."""
    sets = [(1,) * 6, (0xFFFE,) * 6, (1, 0xFFFE) * 3, (0xFFFE, 1) * 3]
    sets += [(1, 1, 0xFFFE, 0xFFFE, 1, 0xFFFE), (0xFFFE, 0xFFFE, 0xFFFE, 0xFFFE, 1, 0xFFFE)]
    sets += [(0xFFFE, 1, 0xFFFE, 1, 0xFFFE, 0xFFFE), (1, 0xFFFE, 1, 0xFFFE, 0xFFFE, 1)]
    sets += [tuple(rng.randrange(1, 0xFFFF) for _ in range(6)) for _ in range(150)]
    return sets


def test_no_intermediate_reaches_2_to_the_30():
    tracker = Tracker()
    checked = checked_module(SOURCE, tracker, "ms5611_checked")
    rng = random.Random(30)
    corners = (0, 1, 0xFFF, 0x1000, (1 << 23) - 1, 1 << 23, (1 << 24) - 1)
    samples = 0
    for c in [EXAMPLE_C, *_extreme_coefficients(rng)]:
        words = _prom(c, rng)
        cal = checked["Calibration"](words)
        terms = checked["Terms"]()
        plain = Terms()
        d2s = list(corners) + [rng.randrange(1 << 24) for _ in range(12)]
        d1s = list(corners) + [rng.randrange(1 << 24) for _ in range(8)]
        for d2 in d2s:
            checked["temperature_terms"](cal, d2, terms)
            temperature_terms(Calibration(words), d2, plain)
            for d1 in d1s:
                p = checked["pressure_pa"](terms, d1)
                # the checked copy computes exactly what the module does
                assert p == pressure_pa(plain, d1)
                samples += 1
        # and the driver end to end, every branch, on the fake chip
        fake_machine.reset()
        dev = fake_machine.add_i2c_device(0x77, fake_machine.MS5611Model(words))
        sensor = checked["MS5611"](fake_machine.I2C(0), 0x77, fake_machine.ticks_ms)
        for i in range(30):
            dev.set_adc(d1s[i % len(d1s)] or 1, d2s[i % len(d2s)] or 1)
            if i == 20:
                dev.lose_result()
            fake_machine.advance_ms(10)
            sensor.read_pressure_pa()
        assert dev.violations == 0
    assert samples > 40000
    assert tracker.largest < SMALL_INT
    assert tracker.count > 1000000

