"""The BMP388's fixed-point compensation against the datasheet's floating-point one.

The reference below transcribes the datasheet's formulas (BST-BMP388-DS001,
appendix: the quantised trimming values and the float compensation) line by
line. The listing there declares `float`; Python's double keeps the
reference's own rounding far below the hundredths of a pascal measured here.

Besides accuracy, every arithmetic result in firmware/bmp388.py must stay a
MicroPython small int (|x| < 2**30) for any raw reading and any trimming
values: the module is re-compiled with each operation wrapped in a check and
driven through corner and random inputs.
"""

import pathlib
import random
import struct

from small_ints import SMALL_INT, Tracker, checked_module

from firmware import bmp388
from firmware.bmp388 import Calibration, _mul_shr, pressure_q8, t_q16, temperature_centi_c

SOURCE = pathlib.Path(bmp388.__file__)
CALIB_FMT = "<HHbhhbbHHbbhbb"  # NVM_PAR_T1 .. NVM_PAR_P11, 21 bytes from 0x31

# One real part's NVM bytes and a reading it gave (0x04..0x09), as published
# with the value an independent double-precision implementation computes for
# them: 100876.00634692199 Pa at 30.499314453874284 degC.
PART_CALIB = bytes.fromhex("236B5849F65CFFCEF42300EA636E79F3F6AA4312C4")
PART_DATA = bytes((151, 159, 109, 115, 216, 133))

# How far each trimming value is moved from that part's for the other sets:
# wide enough to cover the other trimming values seen published for this chip
# (e.g. NVM_PAR_P1 395 and NVM_PAR_P2 -2608 against this part's -164 and -2866).
SPREAD = (600, 600, 3, 600, 400, 6, 2, 400, 300, 3, 3, 500, 4, 6)
TYPE_RANGE = {"H": (0, 65535), "h": (-32768, 32767), "b": (-128, 127)}

N_PER_CALIBRATION = 20000  # six sets: 120,000 readings


def datasheet_compensation(cal, uncomp_press, uncomp_temp):
    """(pressure Pa, temperature degC), the datasheet's formulas in double precision."""
    par_t1 = cal.T1 / 2.0**-8
    par_t2 = cal.T2 / 2.0**30
    par_t3 = cal.T3 / 2.0**48
    par_p1 = (cal.P1 - 2.0**14) / 2.0**20
    par_p2 = (cal.P2 - 2.0**14) / 2.0**29
    par_p3 = cal.P3 / 2.0**32
    par_p4 = cal.P4 / 2.0**37
    par_p5 = cal.P5 / 2.0**-3
    par_p6 = cal.P6 / 2.0**6
    par_p7 = cal.P7 / 2.0**8
    par_p8 = cal.P8 / 2.0**15
    par_p9 = cal.P9 / 2.0**48
    par_p10 = cal.P10 / 2.0**48
    par_p11 = cal.P11 / 2.0**65

    partial_data1 = uncomp_temp - par_t1
    partial_data2 = partial_data1 * par_t2
    t_lin = partial_data2 + (partial_data1 * partial_data1) * par_t3

    partial_data1 = par_p6 * t_lin
    partial_data2 = par_p7 * (t_lin * t_lin)
    partial_data3 = par_p8 * (t_lin * t_lin * t_lin)
    partial_out1 = par_p5 + partial_data1 + partial_data2 + partial_data3
    partial_data1 = par_p2 * t_lin
    partial_data2 = par_p3 * (t_lin * t_lin)
    partial_data3 = par_p4 * (t_lin * t_lin * t_lin)
    partial_out2 = uncomp_press * (par_p1 + partial_data1 + partial_data2 + partial_data3)
    partial_data1 = float(uncomp_press) * float(uncomp_press)
    partial_data2 = par_p9 + par_p10 * t_lin
    partial_data3 = partial_data1 * partial_data2
    partial_data4 = (
        partial_data3 + (float(uncomp_press) * float(uncomp_press) * float(uncomp_press)) * par_p11
    )
    comp_press = partial_out1 + partial_out2 + partial_data4
    return comp_press, t_lin


def _raw24(b, i):
    return b[i] | b[i + 1] << 8 | b[i + 2] << 16


def calibrations():
    """The real part's trimming values and five seeded sets spread around them."""
    rng = random.Random(388)
    base = struct.unpack(CALIB_FMT, PART_CALIB)
    sets = [PART_CALIB]
    for _ in range(5):
        vals = []
        for v, spread, code in zip(base, SPREAD, CALIB_FMT[1:], strict=True):
            lo, hi = TYPE_RANGE[code]
            vals.append(max(lo, min(hi, v + rng.randint(-spread, spread))))
        sets.append(struct.pack(CALIB_FMT, *vals))
    return [Calibration(raw) for raw in sets]


def readings(cal, rng, n):
    """n raw (adc_p, adc_t) pairs the sensor can give: -40..85 degC and 300..1250 hPa."""
    per_c = (1 << 30) // cal.T2  # raw temperature counts per degC, near enough
    t_lo = cal.adc_t_0c - 45 * per_c
    t_hi = cal.adc_t_0c + 90 * per_c
    out = []
    while len(out) < n:
        adc_p = rng.randrange(4_000_000, 14_000_000)
        adc_t = rng.randrange(t_lo, t_hi)
        p, t = datasheet_compensation(cal, adc_p, adc_t)
        if -40.0 <= t <= 85.0 and 30000.0 <= p <= 125000.0:
            out.append((adc_p, adc_t, p, t))
    return out


def test_the_reference_reproduces_the_published_reading():
    cal = Calibration(PART_CALIB)
    p, t = datasheet_compensation(cal, _raw24(PART_DATA, 0), _raw24(PART_DATA, 3))
    assert abs(p - 100876.00634692199) < 1e-6
    assert abs(t - 30.499314453874284) < 1e-9


def test_the_published_reading():
    cal = Calibration(PART_CALIB)
    assert (cal.T1, cal.T2, cal.T3) == (27427, 18776, -10)
    assert (cal.P1, cal.P2, cal.P3, cal.P4) == (-164, -2866, 35, 0)
    assert (cal.P5, cal.P6, cal.P7, cal.P8) == (25578, 31086, -13, -10)
    assert (cal.P9, cal.P10, cal.P11) == (17322, 18, -60)
    t = t_q16(cal, _raw24(PART_DATA, 3))
    assert temperature_centi_c(t) == 3050  # 30.4993 degC
    assert (pressure_q8(cal, _raw24(PART_DATA, 0), t) + 128) >> 8 == 100876


def test_within_a_pascal_of_the_datasheet_over_the_sensors_range():
    rng = random.Random(20180101)
    worst_fixed_pa = 0.0  # the fixed-point arithmetic alone (Pa * 2**8, before rounding)
    worst_pa = 0.0  # what the driver returns: whole pascals
    worst_centi_c = 0.0
    count = 0
    for cal in calibrations():
        for adc_p, adc_t, p_ref, t_ref in readings(cal, rng, N_PER_CALIBRATION):
            t = t_q16(cal, adc_t)
            q8 = pressure_q8(cal, adc_p, t)
            worst_fixed_pa = max(worst_fixed_pa, abs(q8 / 256.0 - p_ref))
            worst_pa = max(worst_pa, abs(((q8 + 128) >> 8) - p_ref))
            worst_centi_c = max(worst_centi_c, abs(temperature_centi_c(t) - 100.0 * t_ref))
            count += 1
    assert count >= 100000
    assert worst_fixed_pa < 0.03, worst_fixed_pa  # measured 0.023 Pa
    assert worst_pa < 0.53, worst_pa  # measured 0.516 Pa: half a pascal is the rounding
    assert worst_centi_c < 0.51, worst_centi_c  # measured 0.502: the rounding again


def test_mul_shr_is_the_exact_floor():
    rng = random.Random(28)
    edges = (-(1 << 28), -(1 << 28) + 1, -(1 << 14), -1, 0, 1, (1 << 14) - 1, 1 << 14, 1 << 28)
    for a in edges:
        for b in edges:
            for s in (14, 20, 27, 28, 29, 40):
                assert _mul_shr(a, b, s) == (a * b) >> s, (a, b, s)
    for _ in range(50000):
        a = rng.randint(-(1 << 28), 1 << 28)
        b = rng.randint(-(1 << 28), 1 << 28)
        s = rng.randint(14, 56)
        assert _mul_shr(a, b, s) == (a * b) >> s, (a, b, s)


# --- no intermediate reaches 2**30 ------------------------------------------------------------


class _OneSensor:
    """Just enough of an I2C bus to run the checked driver end to end."""

    def __init__(self, calib, data):
        self.regs = bytearray(256)
        self.regs[0x00] = 0x50
        self.regs[0x03] = 0x60  # a conversion is in
        self.regs[0x31 : 0x31 + 21] = calib
        self.regs[0x04:0x0A] = data

    def readfrom_mem_into(self, addr, reg, buf):
        buf[:] = self.regs[reg : reg + len(buf)]

    def writeto_mem(self, addr, reg, buf):
        pass


def _extreme_calibrations(rng):
    """Trimming bytes no good part has: type corners and random bytes."""
    sets = [bytes(21), bytes([0xFF] * 21), bytes([0x7F] * 21), bytes([0x80] * 21)]
    for lo, hi in ((0x00, 0x80), (0xFF, 0x7F), (0x7F, 0xFF), (0x80, 0x00)):
        sets.append(bytes([lo, hi] * 10 + [lo]))
    sets += [bytes(rng.randrange(256) for _ in range(21)) for _ in range(200)]
    return sets


def test_no_intermediate_reaches_2_to_the_30():
    tracker = Tracker()
    checked = checked_module(SOURCE, tracker, "bmp388_checked")
    rng = random.Random(30)
    corners = (0, 1, (1 << 23) - 1, 1 << 23, (1 << 24) - 1)
    sets = [PART_CALIB, *_extreme_calibrations(rng)]
    samples = 0
    for raw in sets:
        cal = checked["Calibration"](raw)
        plain = Calibration(raw)
        pairs = [(p, t) for p in corners for t in corners]
        pairs += [(rng.randrange(1 << 24), rng.randrange(1 << 24)) for _ in range(60)]
        for adc_p, adc_t in pairs:
            t = checked["t_q16"](cal, adc_t)
            checked["temperature_centi_c"](t)
            q8 = checked["pressure_q8"](cal, adc_p, t)
            # the checked copy computes exactly what the module does
            assert (t, q8) == (t_q16(plain, adc_t), pressure_q8(plain, adc_p, t_q16(plain, adc_t)))
            samples += 1
        data = bytes(rng.randrange(256) for _ in range(6))
        sensor = checked["BMP388"](_OneSensor(raw, data))
        sensor.read_pressure_pa()
    assert samples > 9000
    assert tracker.largest < SMALL_INT
    assert tracker.count > 1000000
