"""The BMP280 driver over a fake I2C bus, on both interpreters; reads allocate nothing."""

from mptest import assert_raises, no_alloc

from firmware.bmp280 import BMP280

CALIB = bytes((0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC, 0x7D, 0x8E, 0x43, 0xD6, 0xD0, 0x0B,
               0x27, 0x0B, 0x8C, 0x00, 0xF9, 0xFF, 0x8C, 0x3C, 0xF8, 0xC6, 0x70, 0x17))


class FakeI2C:
    """Registers of one BMP280 (the datasheet's example trims and readings)."""

    def __init__(self, chip_id=0x58):
        self.regs = bytearray(256)
        self.regs[0xD0] = chip_id
        for i in range(24):
            self.regs[0x88 + i] = CALIB[i]
        self.set_adc(415148, 519888)
        self.writes = []

    def set_adc(self, adc_p, adc_t):
        r = self.regs
        r[0xF7] = adc_p >> 12
        r[0xF8] = (adc_p >> 4) & 0xFF
        r[0xF9] = (adc_p & 0xF) << 4
        r[0xFA] = adc_t >> 12
        r[0xFB] = (adc_t >> 4) & 0xFF
        r[0xFC] = (adc_t & 0xF) << 4

    def readfrom_mem_into(self, addr, reg, buf):
        for i in range(len(buf)):
            buf[i] = self.regs[reg + i]

    def writeto_mem(self, addr, reg, buf):
        self.writes.append((reg, bytes(buf)))


def test_reads_the_datasheet_example():
    bus = FakeI2C()
    sensor = BMP280(bus)
    assert sensor.read_pressure_pa() == 100656
    assert sensor.temperature_centi_c == 2508
    assert (0xF4, bytes((0b00101011,))) in bus.writes  # normal mode, T x1, P x2


def test_a_wrong_chip_is_refused():
    assert_raises(OSError, BMP280, FakeI2C(chip_id=0x60))


def test_reading_allocates_nothing():
    bus = FakeI2C()
    sensor = BMP280(bus)
    no_alloc(sensor.read_pressure_pa)
    bus.set_adc(500000, 500000)  # higher up (a larger raw reading is a lower pressure) and colder
    assert 60000 < sensor.read_pressure_pa() < 100000
