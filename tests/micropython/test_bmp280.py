"""The BMP280 driver on the fake I2C bus (fake_machine), on both interpreters; reads allocate nothing."""

import fake_machine
from mptest import assert_raises, no_alloc

from firmware.bmp280 import ADDRESS, BMP280


def _bus(device=None):
    """A fresh fake bus with `device` (default: a BMP280Model) at the driver's address."""
    fake_machine.reset()
    if device is None:
        device = fake_machine.BMP280Model()  # the datasheet's example trims and readings
    fake_machine.add_i2c_device(ADDRESS, device)
    return fake_machine.I2C(0), device


def test_reads_the_datasheet_example():
    bus, dev = _bus()
    sensor = BMP280(bus)
    assert sensor.read_pressure_pa() == 100656
    assert sensor.temperature_centi_c == 2508
    assert (0xF4, bytes((0b00101011,))) in dev.writes  # normal mode, T x1, P x2


def test_a_wrong_chip_is_refused():
    bus, _ = _bus(fake_machine.BMP280Model(chip_id=0x60))
    assert_raises(OSError, BMP280, bus)


def test_reading_allocates_nothing():
    bus, dev = _bus()
    sensor = BMP280(bus)
    no_alloc(sensor.read_pressure_pa)
    dev.set_adc(500000, 500000)  # higher up (a larger raw reading is a lower pressure) and colder
    assert 60000 < sensor.read_pressure_pa() < 100000
