"""Bosch BMP388 barometer on I2C: the datasheet's compensation in small-int fixed point.

The datasheet (BST-BMP388-DS001, appendix) compensates in floating point;
Bosch's API offers a 64-bit integer variant besides. On a 32-bit MicroPython
board every float result and every int of 2**30 or more is a heap object, so
neither fits a 100 Hz loop that must not allocate. Here the same polynomials
are evaluated in Horner form with fixed-point integers (a `_qN` suffix: N
fractional bits), the wide products split by `_mul_shr`, so that no
intermediate reaches 2**30 for any 24-bit raw reading and any NVM trimming
values. tests/test_bmp388_compensation.py checks that bound on every
operation, and compares the results with the datasheet's formulas in double
precision over the sensor's range (-40..85 degC, 300..1250 hPa): the fixed
point is within 0.03 Pa of them, the whole-pascal reading within 0.52 Pa
(about 4 cm of altitude).

The polynomials (t in degC, raw readings adc_t and adc_p, PAR_x the scaled
trimming values):

    t = (adc_t - PAR_T1) * PAR_T2 + (adc_t - PAR_T1)**2 * PAR_T3
    p = PAR_P5 + PAR_P6 t + PAR_P7 t**2 + PAR_P8 t**3
        + adc_p (PAR_P1 + PAR_P2 t + PAR_P3 t**2 + PAR_P4 t**3)
        + adc_p**2 (PAR_P9 + PAR_P10 t) + adc_p**3 PAR_P11
"""

from firmware.bosch import probe, s16, u16
from protocol.compat import const

ADDRESS = const(0x76)  # SDO to ground; 0x77 with SDO high
_REG_CHIP_ID = const(0x00)
_CHIP_ID = const(0x50)
_REG_STATUS = const(0x03)
_DRDY_PRESS = const(0x20)  # STATUS: a pressure conversion has landed since the data was read
_REG_DATA = const(0x04)  # press_xlsb, press_lsb, press_msb, temp_xlsb, temp_lsb, temp_msb
_REG_CALIB = const(0x31)  # NVM_PAR_T1 .. NVM_PAR_P11, 21 bytes
_REG_PWR_CTRL = const(0x1B)
_REG_OSR = const(0x1C)
_REG_ODR = const(0x1D)
_REG_CONFIG = const(0x1F)

# Sleep first: the OSR/ODR pair is checked when normal mode starts, so it must be
# in place before then (a sensor left running by an earlier boot included).
PWR_CTRL_SLEEP = const(0x00)
# mode normal (0b11 << 4), temperature on (bit 1), pressure on (bit 0)
PWR_CTRL_NORMAL = const(0x33)
# Pressure x2, temperature x1. The datasheet's conversion time (section 3.9.2) is
#   234 us + (392 us + 2**osr_p * 2020 us) + (163 us + 2**osr_t * 2020 us):
#   x2/x1: 234 + 392 + 2 * 2020 + 163 + 1 * 2020 = 6849 us, inside the 10 ms of 100 Hz;
#   x4/x1: 234 + 392 + 4 * 2020 + 163 + 1 * 2020 = 10889 us, which does not fit, and the
#   sensor refuses such a pair (ERR_REG conf_err, back to sleep) rather than run slower.
OSR = const(0b000_001)  # osr_t x1 (bits 5..3), osr_p x2 (bits 2..0)
ODR = const(0x01)  # odr_sel 1: 200 Hz / 2 = 100 Hz, one sample per ascent-rate tick
CONFIG = const(0x00)  # IIR filter off: the Kalman filter smooths, without the IIR's lag

# |t| is clamped to 127 degC (the sensor is specified for -40..85): it bounds every
# term below, whatever the raw reading.
T_LIMIT_Q16 = const(127 << 16)


def _s8(b, i):
    v = b[i]
    return v - 256 if v & 0x80 else v


class Calibration:
    """The NVM trimming values (from the 21 bytes at 0x31), raw and as fixed-point coefficients.

    The raw names are the datasheet's NVM_PAR_x; the others fold its scale
    factors (PAR_P5 = NVM_PAR_P5 * 2**3, PAR_P6 = NVM_PAR_P6 / 2**6, ...) into
    the fixed point used by `t_q16` and `pressure_q8`, once, here.
    """

    def __init__(self, raw):
        self.T1 = u16(raw, 0)
        self.T2 = u16(raw, 2)
        self.T3 = _s8(raw, 4)
        self.P1 = s16(raw, 5)
        self.P2 = s16(raw, 7)
        self.P3 = _s8(raw, 9)
        self.P4 = _s8(raw, 10)
        self.P5 = u16(raw, 11)
        self.P6 = u16(raw, 13)
        self.P7 = _s8(raw, 15)
        self.P8 = _s8(raw, 16)
        self.P9 = s16(raw, 17)
        self.P10 = _s8(raw, 19)
        self.P11 = _s8(raw, 20)
        # PAR_T1 = NVM_PAR_T1 * 2**8: the raw temperature reading at 0 degC
        self.adc_t_0c = self.T1 << 8
        # PAR_T3's term needs a shift of 8, below _mul_shr's 14: the 2**6 goes in here
        self.t3_q6 = self.T3 << 6
        # pressure offset: PAR_P5 Pa, PAR_P6 Pa/degC, PAR_P7 Pa/degC**2
        self.off_q8 = self.P5 << 11
        self.off_t_q16 = self.P6 << 10
        self.off_t2_q24 = self.P7 << 16
        # sensitivity (Pa per raw count): PAR_P1, PAR_P2 per degC, PAR_P3 per degC**2
        self.sens_q31 = (self.P1 - 16384) << 11
        self.sens_t_q40 = (self.P2 - 16384) << 11
        self.sens_t2_q46 = self.P3 << 14
        # the raw reading's square: PAR_P9
        self.sq_q56 = self.P9 << 8


def _mul_shr(a, b, s):
    """floor(a * b / 2**s), exactly, for |a|, |b| <= 2**28 and s >= 14.

    Each factor is split into a signed high part and a 14-bit low part, so no
    partial product passes 2**28 and their sum stays under 2**30; the caller
    keeps the result (and, for s < 28, a_hi * b_hi << (28 - s)) below 2**30.
    floor(floor(x / m) / n) == floor(x / (m * n)) makes the staged shifts exact.
    """
    ah = a >> 14
    al = a & 0x3FFF
    bh = b >> 14
    bl = b & 0x3FFF
    mid = ah * bl + al * bh + ((al * bl) >> 14)  # floor(a * b / 2**14) - ah * bh * 2**14
    if s >= 28:
        return (ah * bh + (mid >> 14)) >> (s - 28)
    return ((ah * bh) << (28 - s)) + (mid >> (s - 14))


def t_q16(cal, adc_t):
    """Temperature in degC * 2**16 (the datasheet's t_lin), clamped to +-127 degC."""
    d = adc_t - cal.adc_t_0c  # |d| < 2**24
    # d * PAR_T2 + d**2 * PAR_T3 = (d * T2 / 2**30 + d**2 * T3 / 2**48) degC
    t = _mul_shr(d, cal.T2, 14) + _mul_shr(_mul_shr(d, d, 24), cal.t3_q6, 14)
    if t > T_LIMIT_Q16:
        return T_LIMIT_Q16
    if t < -T_LIMIT_Q16:
        return -T_LIMIT_Q16
    return t


def temperature_centi_c(t):
    """degC * 2**16 to hundredths of a degC, rounded."""
    return (t * 25 + 8192) >> 14


def pressure_q8(cal, adc_p, t):
    """Pressure in Pa * 2**8 from the raw reading and t_q16(); allocates nothing.

    The bounds noted hold for |t| <= 127 degC, adc_p < 2**24 and any trimming values.
    """
    # offset, Pa: PAR_P5 + t * (PAR_P6 + t * (PAR_P7 + t * PAR_P8))
    g = cal.off_t2_q24 + ((cal.P8 * (t >> 1)) >> 6)  # Pa/degC**2 * 2**24, |g| < 2**24
    g = cal.off_t_q16 + _mul_shr(g, t, 24)  # Pa/degC * 2**16, |g| < 2**26.2
    off = cal.off_q8 + _mul_shr(g, t, 24)  # Pa * 2**8, |off| < 2**27.4
    # Pa per raw count: PAR_P1 + t * (PAR_P2 + t * (PAR_P3 + t * PAR_P4))
    h = cal.sens_t2_q46 + ((cal.P4 * (t >> 1)) >> 6)  # * 2**46, |h| < 2**23.4
    h = cal.sens_t_q40 + _mul_shr(h, t, 22)  # * 2**40, |h| < 2**26.9
    h = cal.sens_q31 + _mul_shr(h, t, 25)  # * 2**31, |h| < 2**27
    # ... + adc_p * (PAR_P9 + PAR_P10 * t + adc_p * PAR_P11), the curvature in adc_p
    v = cal.sq_q56 + ((cal.P10 * (t >> 1)) >> 7)  # * 2**56, |v| < 2**23.6
    v = v + ((cal.P11 * (adc_p >> 2)) >> 7)  # * 2**56, |v| < 2**24
    h = h + _mul_shr(v, adc_p, 25)  # * 2**31, |h| < 2**27.1
    # offset + adc_p * (Pa per count)
    return off + _mul_shr(h, adc_p, 23)  # Pa * 2**8, |result| < 2**28.8


class BMP388:
    """The sensor on an I2C bus (machine.I2C); read_pressure_pa() allocates nothing."""

    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self._data = bytearray(6)
        self._status = bytearray(1)
        calib = probe(
            i2c, address, _REG_CHIP_ID, _CHIP_ID, "BMP388", _REG_CALIB, 21,
            (
                (_REG_PWR_CTRL, PWR_CTRL_SLEEP),
                (_REG_OSR, OSR),
                (_REG_ODR, ODR),
                (_REG_CONFIG, CONFIG),
                (_REG_PWR_CTRL, PWR_CTRL_NORMAL),
            ),
        )
        self.cal = Calibration(calib)
        self._converted = False  # no conversion seen yet since normal mode began
        self.temperature_centi_c = 0

    def read_pressure_pa(self):
        """Pressure in whole Pa (rounded); -1 until the sensor's first conversion is in."""
        if not self._converted:
            # Until then the data registers hold their reset values, which would read
            # as a plausible pressure and spoil a pad baseline. Waiting here for the
            # 7 ms conversion would stall the caller instead.
            self.i2c.readfrom_mem_into(self.address, _REG_STATUS, self._status)
            if not self._status[0] & _DRDY_PRESS:
                return -1
            self._converted = True
        d = self._data
        self.i2c.readfrom_mem_into(self.address, _REG_DATA, d)
        adc_p = d[0] | d[1] << 8 | d[2] << 16
        adc_t = d[3] | d[4] << 8 | d[5] << 16
        t = t_q16(self.cal, adc_t)
        self.temperature_centi_c = temperature_centi_c(t)
        return (pressure_q8(self.cal, adc_p, t) + 128) >> 8
