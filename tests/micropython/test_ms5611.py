"""The MS5611 driver on the fake I2C bus and clock (fake_machine), on both interpreters.

The fake chip times its conversions on the fake clock and counts every
protocol violation the datasheet warns about, so these tests show the
driver reads a conversion only once it is done, never waits for one, keeps
to its pressure/temperature schedule, and allocates nothing while reading.
"""

import fake_machine
from mptest import assert_raises, no_alloc

from firmware.ms5611 import (
    ADDRESS,
    CONVERSION_WAIT_MS,
    MS5611,
    PRESSURES_PER_TEMPERATURE,
    RESET_WAIT_MS,
)

Model = fake_machine.MS5611Model
ADDR = 0x77  # CSB to ground
PROM_READS = [0xA0, 0xA2, 0xA4, 0xA6, 0xA8, 0xAA, 0xAC, 0xAE]
RESET = 0x1E
ADC_READ = 0x00
CONVERT_D1 = 0x46  # OSR 2048
CONVERT_D2 = 0x56

# (D1, D2) -> (Pa, 0.01 degC) by the datasheet's formulas with the datasheet's
# example coefficients (tests/test_ms5611_compensation.py has them transcribed)
EXAMPLE = (Model.D1, Model.D2, 100009, 2007)
READINGS = (
    EXAMPLE,
    (7000000, Model.D2, 60099, 2007),  # about 4 km up
    (9085466, 8122340, 96908, 408),  # 4.08 degC: second order (first order 4.99 degC)
    (8000000, 8122340, 76822, 408),
    (9085466, 7233451, 89021, -3328),  # -33.28 degC: second order below -15 degC too
    (6500000, 7233451, 45280, -3328),
)


def _sensor(device=None, address=ADDR):
    """A fresh fake bus and clock (at 0) with `device` (default: an MS5611Model) at ADDR."""
    fake_machine.reset()
    if device is None:
        device = Model()
    fake_machine.add_i2c_device(ADDR, device)
    bus = fake_machine.I2C(0)
    return MS5611(bus, address, fake_machine.ticks_ms), device


def _calls(sensor, n, period_ms):
    """n calls, the clock moved on by period_ms before each; their results."""
    out = []
    for _ in range(n):
        fake_machine.advance_ms(period_ms)
        out.append(sensor.read_pressure_pa())
    return out


def test_default_address_is_csb_low():
    assert ADDRESS == 0x77


def test_reads_the_datasheet_example():
    sensor, dev = _sensor()
    assert sensor.cal.C1 == 40127 and sensor.cal.C6 == 28312
    assert sensor.read_pressure_pa() == -1  # the reset's PROM reload is running
    # 100 Hz: the reload's end starts D2, the next call D1, the one after reads it
    assert _calls(sensor, 3, 10) == [-1, -1, 100009]
    assert sensor.temperature_centi_c == 2007
    assert dev.violations == 0 and dev.empty_reads == 0


def test_commands_follow_the_datasheet():
    sensor, dev = _sensor()
    # PROM first (checked before anything is written), then the reset
    assert dev.commands() == PROM_READS + [RESET], dev.commands()
    _calls(sensor, 4, 10)
    assert dev.commands() == PROM_READS + [
        RESET,
        CONVERT_D2,
        ADC_READ,
        CONVERT_D1,
        ADC_READ,
        CONVERT_D1,
        ADC_READ,
        CONVERT_D1,
    ], dev.commands()


def test_probe_refuses_an_absent_chip():
    _sensor()  # a chip at 0x77, none at 0x76
    exc = assert_raises(OSError, MS5611, fake_machine.I2C(0), 0x76, fake_machine.ticks_ms)
    assert "no MS5611 at 0x76 (no answer)" in str(exc), str(exc)


def test_probe_refuses_a_bad_crc_without_writing():
    dev = Model()
    dev.corrupt_crc()
    exc = assert_raises(OSError, _sensor, dev)
    assert "no MS5611 at 0x77 (PROM CRC-4" in str(exc), str(exc)
    assert dev.commands() == PROM_READS  # no reset sent to a chip that failed the check


def test_probe_refuses_other_chips_untouched():
    # A BMP280 or BMP388 answers the PROM reads with its (zero) registers at 0xA0..0xAF;
    # a PROM of zeros would pass the CRC, the coefficient check refuses it.
    for dev in (fake_machine.BMP280Model(), fake_machine.BMP388Model()):
        exc = assert_raises(OSError, _sensor, dev)
        assert "no MS5611 at 0x77 (PROM word 1 is 0x0000)" in str(exc), str(exc)
        assert dev.writes == []


def test_never_waits_for_the_chip():
    sensor, dev = _sensor()
    # the clock stands still: every call returns at once, nothing more is sent
    for _ in range(1000):
        assert sensor.read_pressure_pa() == -1
    assert dev.commands() == PROM_READS + [RESET]
    fake_machine.advance_ms(RESET_WAIT_MS - 1)
    sensor.read_pressure_pa()
    assert dev.command_count == 9  # 3 ms of ticks do not prove 2.8 ms have passed
    fake_machine.advance_ms(1)
    sensor.read_pressure_pa()
    assert dev.commands()[-1] == CONVERT_D2
    for _ in range(100):
        sensor.read_pressure_pa()
    fake_machine.advance_ms(CONVERSION_WAIT_MS - 1)
    sensor.read_pressure_pa()
    assert dev.command_count == 10  # 5 ms of ticks do not prove 4.54 ms have passed
    fake_machine.advance_ms(1)
    sensor.read_pressure_pa()
    assert dev.commands()[-2:] == [ADC_READ, CONVERT_D1]
    assert dev.violations == 0 and dev.empty_reads == 0


def test_one_temperature_every_ten_pressures():
    sensor, dev = _sensor()
    _calls(sensor, 3, 10)  # the first pressure is in
    # The D1 given to each call's conversion alternates, so every value says which
    # conversion it came from: fresh from the call before, or held over.
    pa = {Model.D1: 100009, 7000000: 60099}
    last = sensor.read_pressure_pa()
    started_d1 = True  # the call before started a pressure conversion
    d1_before = Model.D1
    fresh = 0
    calls = 11 * 20
    for i in range(calls):
        d1 = 7000000 if i % 2 else Model.D1
        dev.set_adc(d1, Model.D2)
        d1_count = dev.conversions_d1
        fake_machine.advance_ms(10)
        value = sensor.read_pressure_pa()
        if started_d1:
            assert value == pa[d1_before], (i, value)
            fresh += 1
        else:
            assert value == last, (i, value)  # the temperature's slot holds the last one
        started_d1 = dev.conversions_d1 > d1_count
        d1_before = d1
        last = value
    assert fresh == calls * PRESSURES_PER_TEMPERATURE // (PRESSURES_PER_TEMPERATURE + 1)
    # every temperature conversion is followed by exactly ten pressure conversions
    runs = []
    for cmd in dev.commands():
        if cmd == CONVERT_D2:
            runs.append(0)
        elif cmd == CONVERT_D1:
            runs[-1] += 1
    assert len(runs) > 20 and runs[:-1] == [PRESSURES_PER_TEMPERATURE] * (len(runs) - 1), runs
    assert dev.violations == 0 and dev.empty_reads == 0


def _lcg(state):
    return (state * 1103515245 + 12345) & 0x3FFFFFFF


def test_reads_only_finished_conversions_at_any_call_rate():
    periods = [[p] for p in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 13, 25, 1000)]
    jitter = []
    state = 2024
    for _ in range(600):
        state = _lcg(state)
        jitter.append((state >> 8) % 16)  # 0..15 ms apart
    periods.append(jitter)
    for start in (0, fake_machine.TICKS_MAX - 40):  # and across the 2**30 wrap
        for pattern in periods:
            fake_machine.reset()
            fake_machine.set_ticks_ms(start)
            dev = fake_machine.add_i2c_device(ADDR, Model())
            sensor = MS5611(fake_machine.I2C(0), ADDR, fake_machine.ticks_ms)
            value = -1
            for i in range(300):
                fake_machine.advance_ms(pattern[i % len(pattern)])
                before = dev.command_count
                value = sensor.read_pressure_pa()
                assert dev.command_count - before <= 2, pattern  # one read, one start at most
                assert value in (-1, 100009), (pattern, value)
            assert value == 100009, (start, pattern)
            assert dev.violations == 0 and dev.empty_reads == 0, (start, pattern)


def test_second_order_compensation():
    sensor, dev = _sensor()
    for d1, d2, pa, centi_c in READINGS:
        dev.set_adc(d1, d2)
        # two temperature rounds: the value comes from conversions started after set_adc
        value = _calls(sensor, 2 * (PRESSURES_PER_TEMPERATURE + 1) + 3, 10)[-1]
        assert value == pa, (d1, d2, value)
        assert sensor.temperature_centi_c == centi_c, (d1, d2, sensor.temperature_centi_c)


def test_lost_conversions_are_bridged_once_then_read_minus_one():
    sensor, dev = _sensor()
    _calls(sensor, 5, 10)
    dev.lose_result()  # a brown-out, say: the chip lost the conversion
    assert _calls(sensor, 1, 10) == [100009]  # one slot bridged, as for a temperature
    dev.lose_result()
    assert _calls(sensor, 1, 10) == [-1]  # two in a row: not a reading to hold
    values = _calls(sensor, 3, 10)
    assert values[-1] == 100009, values  # restarted, and fresh again
    assert dev.empty_reads == 2 and dev.violations == 0


def test_reading_allocates_nothing():
    sensor, dev = _sensor()
    step_ms = [2]

    def step():
        fake_machine.advance_ms(step_ms[0])
        return sensor.read_pressure_pa()

    # 2 ms steps: the warm-up call waits on the reload, the locked one starts D2
    first = no_alloc(step)
    step_ms[0] = 10
    values = [first]
    for d1, d2, _pa, _centi_c in READINGS:
        dev.set_adc(d1, d2)
        for _ in range(PRESSURES_PER_TEMPERATURE + 2):  # every branch, D2 and D1
            values.append(no_alloc(step))
    # a lost conversion restarted under the lock: the warm-up call (3 ms) still waits
    dev.lose_result()
    step_ms[0] = 3
    last = no_alloc(step)
    assert dev.empty_reads == 1 and dev.violations == 0  # the locked call met the loss
    assert last in (-1, READINGS[-1][2]), last
    # each reading's 24 conversions had two temperature rounds: all of it compensated
    for i, reading in enumerate(READINGS):
        assert values[1 + (PRESSURES_PER_TEMPERATURE + 2) * (i + 1) - 1] == reading[2], values


def test_a_sensor_that_stops_answering_raises_oserror():
    sensor, dev = _sensor()
    _calls(sensor, 4, 10)
    dev.fail = True
    fake_machine.advance_ms(10)
    assert_raises(OSError, sensor.read_pressure_pa)
    dev.fail = False
    assert _calls(sensor, 2, 10) == [100009, 100009]  # carried on where it was
    assert dev.violations == 0 and dev.empty_reads == 0
