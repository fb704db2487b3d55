"""The BMP280 compensation equals the datasheet's 32-bit C routine, transcribed literally here."""

import random
import struct

from firmware.bmp280 import Calibration, pressure_pa, t_fine, temperature_centi_c

# The datasheet's example trimming values
EXAMPLE = struct.pack("<HhhHhhhhhhhh", 27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7,
                      15500, -14600, 6000)


def _s32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def _u32(x):
    return x & 0xFFFFFFFF


def datasheet_p_int32(c, adc_p, tfine):
    """bmp280_compensate_P_int32, statement by statement, with C's 32-bit wrap."""
    var1 = _s32((tfine >> 1) - 64000)
    var2 = _s32((_s32((var1 >> 2) * (var1 >> 2)) >> 11) * c.P6)
    var2 = _s32(var2 + _s32(_s32(var1 * c.P5) << 1))
    var2 = _s32((var2 >> 2) + (c.P4 << 16))
    var1 = _s32((_s32((c.P3 * (_s32((var1 >> 2) * (var1 >> 2)) >> 13)) >> 3)
                 + (_s32(c.P2 * var1) >> 1)) >> 18)
    var1 = _s32(_s32((32768 + var1) * c.P1) >> 15)
    if var1 == 0:
        return 0
    p = _u32(_u32(_s32(1048576 - adc_p) - (var2 >> 12)) * 3125)
    if p < 0x80000000:
        p = _u32((p << 1) // _u32(var1))
    else:
        p = _u32((p // _u32(var1)) * 2)
    var1 = _s32((c.P9 * _s32(((p >> 3) * (p >> 3)) >> 13)) >> 12)
    var2 = _s32((_s32(p >> 2) * c.P8) >> 13)
    return _u32(_s32(p) + ((var1 + var2 + c.P7) >> 4))


def test_datasheet_example():
    cal = Calibration(EXAMPLE)
    tf = t_fine(cal, 519888)
    assert tf == 128422 and temperature_centi_c(tf) == 2508  # 25.08 degC
    # the 32-bit routine's answer (its 64-bit sibling gives 100653.27 Pa)
    assert pressure_pa(cal, 415148, tf) == datasheet_p_int32(cal, 415148, tf) == 100656


def test_equals_the_c_routine_everywhere_a_rocket_flies():
    rng = random.Random(280)
    cals = [Calibration(EXAMPLE)]
    for _ in range(5):  # other plausible trims around the example
        vals = struct.unpack("<HhhHhhhhhhhh", EXAMPLE)
        vals = [v + rng.randint(-abs(v) // 20 - 1, abs(v) // 20 + 1) for v in vals]
        vals[0] = max(1, min(65535, vals[0]))
        vals[3] = max(1, min(65535, vals[3]))
        cals.append(Calibration(struct.pack("<HhhHhhhhhhhh", *vals)))
    for cal in cals:
        for _ in range(20000):
            adc_p = rng.randrange(150000, 720000)  # about 145 kPa down to 48 kPa
            tf = t_fine(cal, rng.randrange(380000, 620000))
            assert pressure_pa(cal, adc_p, tf) == datasheet_p_int32(cal, adc_p, tf), (adc_p, tf)
