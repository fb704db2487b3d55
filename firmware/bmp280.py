"""Bosch BMP280 barometer on I2C: the datasheet's 32-bit integer compensation, allocation-free.

The datasheet (BST-BMP280-DS001, "compensation formula in 32 bit fixed point")
gives temperature in 0.01 degC and pressure in Pa with 32-bit integer
arithmetic. On a 32-bit MicroPython board any int of 2**30 or more is a heap
object, so the pressure division is split (quotient and remainder) to keep
every intermediate below that; the results equal the datasheet's routine
exactly (tests/ compare them over a wide range of inputs).
"""

from firmware.bosch import probe, s16, u16
from protocol.compat import const

ADDRESS = const(0x76)  # SDO to ground; 0x77 with SDO high
_REG_ID = const(0xD0)
_CHIP_ID = const(0x58)
_REG_RESET = const(0xE0)
_REG_CTRL_MEAS = const(0xF4)
_REG_CONFIG = const(0xF5)
_REG_DATA = const(0xF7)  # press_msb .. temp_xlsb, 6 bytes
_REG_CALIB = const(0x88)  # 24 bytes, dig_T1 .. dig_P9
# normal mode, temperature x1, pressure x2: 8.7 ms max conversion + 0.5 ms
# t_standby = 9.2 ms, a fresh sample every 10 ms period of the 100 Hz loop.
# (x4 takes 13.3 ms max: at most 72 new samples a second, some read twice.)
_CTRL_MEAS = const(0b001_010_11)
_CONFIG = const(0b000_000_00)  # t_standby 0.5 ms, IIR filter off (the Kalman filter smooths)


class Calibration:
    """The twelve trimming parameters, from the 24 calibration bytes."""

    def __init__(self, raw):
        self.T1 = u16(raw, 0)
        self.T2 = s16(raw, 2)
        self.T3 = s16(raw, 4)
        self.P1 = u16(raw, 6)
        self.P2 = s16(raw, 8)
        self.P3 = s16(raw, 10)
        self.P4 = s16(raw, 12)
        self.P5 = s16(raw, 14)
        self.P6 = s16(raw, 16)
        self.P7 = s16(raw, 18)
        self.P8 = s16(raw, 20)
        self.P9 = s16(raw, 22)


def t_fine(cal, adc_t):
    """The datasheet's t_fine (temperature in its internal resolution)."""
    var1 = (((adc_t >> 3) - (cal.T1 << 1)) * cal.T2) >> 11
    d = (adc_t >> 4) - cal.T1
    var2 = (((d * d) >> 12) * cal.T3) >> 14
    return var1 + var2


def temperature_centi_c(tf):
    return (tf * 5 + 128) >> 8


def pressure_pa(cal, adc_p, tf):
    """Pressure in Pa (0 if the calibration is invalid)."""
    var1 = (tf >> 1) - 64000
    q = (var1 >> 2) * (var1 >> 2)
    var2 = (q >> 11) * cal.P6
    var2 = var2 + ((var1 * cal.P5) << 1)
    # datasheet: var2 = (var2 >> 2) + (P4 << 16), used only as var2 >> 12; P4 << 16 is
    # a multiple of 4096, so it passes the shift whole: P4 << 4 (and stays small)
    var2_12 = ((var2 >> 2) >> 12) + (cal.P4 << 4)
    var1 = (((cal.P3 * (q >> 13)) >> 3) + ((cal.P2 * var1) >> 1)) >> 18
    # datasheet: ((32768 + var1) * P1) >> 15; 32768 * P1 passes the shift whole: P1
    var1 = cal.P1 + ((var1 * cal.P1) >> 15)
    if var1 == 0:
        return 0
    # the datasheet's p = ((1048576 - adc_p) - (var2 >> 12)) * 3125, then * 2 / var1:
    # that product passes 2**30, so divide first and carry the remainder
    base = (1048576 - adc_p) - var2_12
    quot = base // var1
    rem = base - quot * var1
    if base < 687195:  # base * 3125 < 2**31: the datasheet doubles, then divides
        p = quot * 6250 + (rem * 6250) // var1
    else:  # otherwise it divides, then doubles (a different rounding, kept exactly)
        p = (quot * 3125 + (rem * 3125) // var1) * 2
    var1 = (cal.P9 * (((p >> 3) * (p >> 3)) >> 13)) >> 12
    var2 = ((p >> 2) * cal.P8) >> 13
    return p + ((var1 + var2 + cal.P7) >> 4)


class BMP280:
    """The sensor on an I2C bus (machine.I2C); read_pressure_pa() allocates nothing."""

    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self._data = bytearray(6)
        calib = probe(
            i2c, address, _REG_ID, _CHIP_ID, "BMP280", _REG_CALIB, 24,
            ((_REG_CONFIG, _CONFIG), (_REG_CTRL_MEAS, _CTRL_MEAS)),
        )
        self.cal = Calibration(calib)
        self.temperature_centi_c = 0

    def read_pressure_pa(self):
        d = self._data
        self.i2c.readfrom_mem_into(self.address, _REG_DATA, d)
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        tf = t_fine(self.cal, adc_t)
        self.temperature_centi_c = temperature_centi_c(tf)
        return pressure_pa(self.cal, adc_p, tf)
