"""The BMP388 driver on the fake I2C bus (fake_machine), on both interpreters; reads allocate nothing."""

import fake_machine
from mptest import assert_raises, no_alloc

from firmware.bmp388 import BMP388, CONFIG, ODR, OSR, PWR_CTRL_NORMAL, PWR_CTRL_SLEEP

ADDR = 0x77  # SDO high; the driver's default is 0x76


def _bus(device=None):
    """A fresh fake bus with `device` (default: a BMP388Model) at ADDR; returns (bus, device)."""
    fake_machine.reset()
    if device is None:
        device = fake_machine.BMP388Model()
    fake_machine.add_i2c_device(ADDR, device)
    return fake_machine.I2C(0), device


def test_reads_the_real_parts_reading():
    bus, _ = _bus()
    sensor = BMP388(bus, ADDR)
    # the datasheet's formulas in double precision: 100876.006 Pa, 30.4993 degC
    assert sensor.read_pressure_pa() == 100876
    assert sensor.temperature_centi_c == 3050


def test_other_readings_match_the_datasheet_formulas():
    bus, dev = _bus()
    sensor = BMP388(bus, ADDR)
    # (adc_p, adc_t) -> the double-precision formulas' pressure and temperature, rounded
    for adc_p, adc_t, pa, centi_c in (
        (11000000, 7600000, 37315, 1011),  # 37315.015 Pa at 10.107 degC: about 7.7 km up
        (6000000, 8200000, 117407, 2056),  # 117407.307 Pa at 20.562 degC
        (9000000, 7021312, 66391, 0),  # 66390.550 Pa at exactly 0 degC
    ):
        dev.set_adc(adc_p, adc_t)
        assert sensor.read_pressure_pa() == pa, (adc_p, adc_t)
        assert sensor.temperature_centi_c == centi_c, (adc_p, adc_t)


def test_probes_the_chip_id():
    bus, dev = _bus(fake_machine.BMP280Model())  # a BMP280 answers at that address
    exc = assert_raises(OSError, BMP388, bus, ADDR)
    assert "no BMP388 at 0x77" in str(exc), str(exc)
    assert dev.writes == []  # nothing written to a chip that is not ours
    bus, _ = _bus()
    assert_raises(OSError, BMP388, bus, 0x76)  # nobody there


def test_configures_sleep_then_settings_then_normal_mode():
    bus, dev = _bus()
    BMP388(bus, ADDR)
    assert dev.writes == [
        (0x1B, bytes((PWR_CTRL_SLEEP,))),
        (0x1C, bytes((OSR,))),
        (0x1D, bytes((ODR,))),
        (0x1F, bytes((CONFIG,))),
        (0x1B, bytes((PWR_CTRL_NORMAL,))),
    ], dev.writes
    assert (OSR, ODR, CONFIG, PWR_CTRL_NORMAL) == (0x01, 0x01, 0x00, 0x33)
    # the chip accepted the pair: still in normal mode, no conf_err, converting
    assert dev.regs[0x1B] == 0x33 and dev.regs[0x02] == 0
    assert dev.regs[0x03] & 0x20
    assert dev.conversion_us() == 6849 and dev.period_us() == 10000


def test_the_model_refuses_pressure_x4_at_100_hz():
    # what the comment on OSR says: x4/x1 takes 10889 us, more than 100 Hz allows
    bus, dev = _bus()
    BMP388(bus, ADDR)
    one = bytearray(1)
    one[0] = PWR_CTRL_SLEEP
    bus.writeto_mem(ADDR, 0x1B, one)
    one[0] = 0x02  # osr_p x4, osr_t x1
    bus.writeto_mem(ADDR, 0x1C, one)
    one[0] = PWR_CTRL_NORMAL
    bus.writeto_mem(ADDR, 0x1B, one)
    assert dev.conversion_us() == 10889
    assert dev.regs[0x02] & 0x04  # conf_err
    assert dev.regs[0x1B] == 0x03  # back in sleep mode


def test_reads_minus_one_until_the_first_conversion_is_in():
    bus, dev = _bus()
    sensor = BMP388(bus, ADDR)
    dev.regs[0x03] = 0  # STATUS: the first conversion is still running
    assert sensor.read_pressure_pa() == -1
    assert sensor.read_pressure_pa() == -1
    dev.regs[0x03] = 0x20  # drdy_press
    assert sensor.read_pressure_pa() == 100876
    dev.regs[0x03] = 0  # reading the data clears drdy; the registers stay valid from now on
    assert sensor.read_pressure_pa() == 100876


def test_reading_allocates_nothing():
    bus, dev = _bus()
    sensor = BMP388(bus, ADDR)
    first = no_alloc(sensor.read_pressure_pa)
    assert first == 100876
    dev.set_adc(11000000, 7600000)
    second = no_alloc(sensor.read_pressure_pa)
    assert second == 37315
    assert sensor.temperature_centi_c == 1011


def test_a_sensor_that_stops_answering_raises_oserror():
    bus, dev = _bus()
    sensor = BMP388(bus, ADDR)
    dev.fail = True
    assert_raises(OSError, sensor.read_pressure_pa)
    dev.fail = False
    assert sensor.read_pressure_pa() == 100876
