"""firmware/hal/pico.py on a fake `machine` (fake_machine.py): order, polarity, arithmetic, no allocation.

Runs under MicroPython (run.mjs) and CPython:

    node tests/micropython/run.mjs tests/micropython/test_pico_hal.py
    python tests/micropython/mptest.py tests/micropython/test_pico_hal.py

Only the UART transport is exercised: the USB one reads sys.stdin.buffer,
which the test runner cannot feed.
"""

import sys

import fake_machine
import hal_checks
from mptest import assert_raises, no_alloc

fake_machine.install()

from firmware.boards.pico_2ch import BOARD  # noqa: E402
from firmware.hal import KEY_INCONSISTENT, KEY_OFF, KEY_ON  # noqa: E402

MOD = "firmware.hal.pico"
FIRE = BOARD["fire_pins"]
READBACK = BOARD["fire_readback_pins"]
CONT = BOARD["continuity_adc_pins"]
KEY_NO = BOARD["arm_key_pins"]["no"]
KEY_NC = BOARD["arm_key_pins"]["nc"]


def _fresh_import():
    """Import firmware.hal.pico anew on a reset fake machine; return the module."""
    if MOD in sys.modules:
        del sys.modules[MOD]
    fake_machine.reset()
    __import__(MOD)
    return sys.modules[MOD]


pico = _fresh_import()


def _hal(board=None):
    """A UART-transport PicoHal on a reset fake machine."""
    fake_machine.reset()
    return pico.PicoHal(BOARD if board is None else board, "uart")


def _fire_events_first(evs, off):
    """Check evs starts with every fire pin latched `off` and then made an output; return the rest."""
    expected = []
    for gpio in FIRE:
        expected.append((fake_machine.EV_VALUE, gpio, off))
        expected.append((fake_machine.EV_MODE, gpio, fake_machine.Pin.OUT))
    head = [(kind, gpio, value) for _, kind, gpio, value in evs[: len(expected)]]
    assert head == expected, (head, expected)
    return evs[len(expected) :]


# --- outputs off before anything else ----------------------------------------------------------


def test_import_drives_fire_pins_low_first():
    _fresh_import()
    evs = fake_machine.events()
    rest = _fire_events_first(evs, 0)
    # Importing touches nothing but the fire pins.
    assert rest == [], rest
    for gpio in FIRE:
        assert fake_machine.mode(gpio) == fake_machine.Pin.OUT
        assert fake_machine.latch(gpio) == 0
    for gpio in range(fake_machine.N_PINS):
        if gpio not in FIRE:
            assert fake_machine.mode(gpio) == fake_machine.UNSET, gpio


def test_constructor_drives_fire_pins_low_before_anything_else():
    fake_machine.reset()
    for gpio in FIRE:  # as if something had left the outputs on
        fake_machine.Pin(gpio, fake_machine.Pin.OUT, value=1)
    start = fake_machine.mark()
    hal = pico.PicoHal(BOARD, "uart")
    rest = _fire_events_first(fake_machine.events(start), 0)
    assert rest, "the constructor configured nothing else"
    for gpio in FIRE:
        assert fake_machine.latch(gpio) == 0
    # Later events set up the other pins, but never write a fire pin again.
    for _, kind, gpio, _value in rest:
        assert gpio not in FIRE, (kind, gpio)
    assert hal.channels == 2


def _refused_with_outputs_off(board, transport="uart"):
    fake_machine.refused_with_outputs_off("rp2", FIRE, pico.PicoHal, board, transport)


def test_bad_transport_still_leaves_outputs_off():
    _refused_with_outputs_off(BOARD, "wifi")


def test_constructor_sets_up_inputs_and_indicators():
    hal = _hal()
    fake_machine.assert_inputs_and_indicators(BOARD)
    assert hal.storage_path == "/data"
    assert hal.board_name == "pico-2ch"
    assert hal.adc_full_scale == 65535
    assert hal.sense_resistor_ohm == 330
    assert hal.sense_supply_mv == 3300


# --- fire outputs ------------------------------------------------------------------------------


def test_fire_drives_the_right_pin_active_high():
    hal = _hal()
    start = fake_machine.mark()
    hal.fire(0, True)
    assert fake_machine.latch(FIRE[0]) == 1
    assert fake_machine.latch(FIRE[1]) == 0
    assert [(k, g, v) for _, k, g, v in fake_machine.events(start)] == [
        (fake_machine.EV_VALUE, FIRE[0], 1)
    ]
    hal.fire(1, True)
    assert fake_machine.latch(FIRE[1]) == 1
    hal.fire(0, False)
    assert fake_machine.latch(FIRE[0]) == 0
    assert fake_machine.latch(FIRE[1]) == 1
    hal.all_off()
    assert fake_machine.latch(FIRE[1]) == 0


def test_fire_active_low_board():
    board = dict(BOARD)
    board["fire_active_high"] = False
    fake_machine.reset()
    start = fake_machine.mark()
    hal = pico.PicoHal(board, "uart")
    _fire_events_first(fake_machine.events(start), 1)  # off is high on this board
    hal.fire(1, True)
    assert fake_machine.latch(FIRE[1]) == 0
    assert fake_machine.latch(FIRE[0]) == 1
    hal.fire(1, False)
    assert fake_machine.latch(FIRE[1]) == 1


def test_fire_rejects_channels_out_of_range():
    hal = _hal()
    start = fake_machine.mark()
    assert_raises(ValueError, hal.fire, 2, True)
    assert_raises(ValueError, hal.fire, -1, True)  # not the last channel, Python-style
    assert fake_machine.events(start) == []


def test_fire_readback():
    hal_checks.fire_readback(_hal(), READBACK)


# --- analogue inputs ---------------------------------------------------------------------------


def test_continuity_raw_reads_each_channels_adc():
    hal = _hal()
    fake_machine.set_adc(CONT[0], 1234)
    fake_machine.set_adc(CONT[1], 65535)
    # scaled from the 3.3 V reference to the sense source, 3.3 V less the diode's 0.3 V
    assert hal.continuity_raw(0) == 1234 * 3300 // 3000 == 1357
    assert hal.continuity_raw(1) == 65535  # clamped at full scale: open
    assert no_alloc(hal.continuity_raw, 0) == 1357
    fake_machine.set_adc(CONT[0], 59577)  # the node at the sense source itself
    assert hal.continuity_raw(0) == 65534


def test_battery_mv_arithmetic():
    hal = _hal()
    gpio = BOARD["battery_adc_pin"]
    # read_u16 * 3300 mV / 65535 at the pin, times 11.0 for the 100k/10k divider.
    for raw, mv in ((0, 0), (65535, 36300), (32768, 18150), (21845, 12100)):
        fake_machine.set_adc(gpio, raw)
        assert hal.battery_mv() == mv, (raw, hal.battery_mv(), mv)
    assert no_alloc(hal.battery_mv) == 12100


# --- arm key -----------------------------------------------------------------------------------


def _key(hal, no, nc):
    fake_machine.set_input(KEY_NO, no)
    fake_machine.set_input(KEY_NC, nc)
    return hal.arm_key()


def test_arm_key_decodes_two_contacts():
    hal = _hal()
    # NO contact closed (pulls to 0) and NC contact open (pull-up reads 1): ON.
    assert _key(hal, 0, 1) == KEY_ON
    assert _key(hal, 1, 0) == KEY_OFF
    assert _key(hal, 0, 0) == KEY_INCONSISTENT  # both closed: shorted wiring
    assert _key(hal, 1, 1) == KEY_INCONSISTENT  # both open: broken wire or key unplugged
    # Nothing connected: the pull-ups read 1 and 1, never ON.
    assert _key(hal, None, None) == KEY_INCONSISTENT


# --- serial (UART transport) -------------------------------------------------------------------


def test_uart_configured_from_board():
    hal = _hal()
    uart = fake_machine.uarts[BOARD["uart"]["id"]]
    assert uart.baudrate == 115200
    assert uart.tx == BOARD["uart"]["tx"] and uart.rx == BOARD["uart"]["rx"]
    assert uart.timeout == 0  # reads never wait
    assert hal.serial_is_wired() is False


def test_serial_read_into_uart_without_allocating():
    hal = _hal()
    uart = fake_machine.uarts[BOARD["uart"]["id"]]
    buf = bytearray(4)
    assert no_alloc(hal.serial_read_into, buf) == 0  # nothing waiting: 0, at once
    uart.feed(b"\x01\x02\x03\x00\x05\x06\x07\x08\x09")
    # no_alloc calls twice: the warm-up takes bytes 1..4, the locked call 5..8.
    assert no_alloc(hal.serial_read_into, buf) == 4
    assert buf == bytearray(b"\x05\x06\x07\x08"), buf
    assert hal.serial_read_into(buf) == 1
    assert buf[0] == 9
    assert hal.serial_read_into(buf) == 0


def test_serial_write_uart():
    hal = _hal()
    uart = fake_machine.uarts[BOARD["uart"]["id"]]
    out = bytearray(b"abc\x00def")
    assert hal.serial_write(out, 3) == 3
    assert uart.written() == b"abc"
    assert no_alloc(hal.serial_write, out, 2) == 2
    assert uart.written() == b"abcabab"
    uart.tx_room = 1  # the line is busy: fewer accepted
    assert hal.serial_write(out, 8) == 1
    uart.tx_room = 0
    assert hal.serial_write(out, 8) == 0


# --- no allocation on the hot paths ------------------------------------------------------------


def test_fire_and_arm_key_allocate_nothing():
    hal = _hal()
    no_alloc(hal.fire, 0, True)
    assert fake_machine.latch(FIRE[0]) == 1
    no_alloc(hal.fire, 0, False)
    assert fake_machine.latch(FIRE[0]) == 0
    no_alloc(hal.fire, 1, True)
    no_alloc(hal.fire, 1, False)
    fake_machine.set_input(KEY_NO, 0)
    fake_machine.set_input(KEY_NC, 1)
    assert no_alloc(hal.arm_key) == KEY_ON
    fake_machine.set_input(KEY_NC, 0)
    assert no_alloc(hal.arm_key) == KEY_INCONSISTENT
    assert no_alloc(hal.fire_readback, 0) is False


def test_ticks_ms():
    hal_checks.ticks_ms_allocates_nothing(_hal())


# --- the rest of the contract ------------------------------------------------------------------


def test_indicators():
    hal = _hal()
    hal.buzzer(True)
    hal.led(True)
    assert fake_machine.latch(BOARD["buzzer_pin"]) == 1
    assert fake_machine.latch(BOARD["led_pin"]) == 1
    hal.buzzer(False)
    hal.led(False)
    assert fake_machine.latch(BOARD["buzzer_pin"]) == 0
    assert fake_machine.latch(BOARD["led_pin"]) == 0


def test_i2c_bus_is_built_lazily_from_the_board():
    hal = _hal()
    assert fake_machine.i2cs == {}
    bus = hal.i2c_bus()
    cfg = BOARD["i2c"]
    assert (bus.id, bus.sda, bus.scl, bus.freq) == (cfg["id"], cfg["sda"], cfg["scl"], cfg["freq"])
    assert hal.i2c_bus() is bus


# --- barometer ---------------------------------------------------------------------------------

DRIVERS = ("firmware.bmp280", "firmware.bmp388", "firmware.ms5611")


def _forget_drivers():
    for name in DRIVERS:
        if name in sys.modules:
            del sys.modules[name]


def _baro_board(chip, address=0x76):
    board = dict(BOARD)
    board["barometer"] = None if chip is False else {"chip": chip, "address": address}
    return board


class _FakeClockHal(pico.PicoHal):
    """PicoHal on fake_machine's clock, the one the MS5611 model converts on."""

    def ticks_ms(self):
        return fake_machine.ticks_ms()


def _baro_hal(board, model=None, address=0x76):
    """A HAL for `board` with `model` (a fake_machine device model) at `address`."""
    fake_machine.reset()
    hal = _FakeClockHal(board, "uart")
    if model is not None:
        fake_machine.add_i2c_device(address, model)
    return hal


def _model(chip):
    if chip == "bmp388":
        return fake_machine.BMP388Model()
    if chip == "ms5611":
        return fake_machine.MS5611Model()
    return fake_machine.BMP280Model()


def _touched(model):
    """What was sent to a model: register writes, or for the MS5611 its commands."""
    if isinstance(model, fake_machine.MS5611Model):
        return model.commands()
    return model.writes


def _first_reading(hal, chip):
    """pressure_pa() from the probe on: a BMP reads at once; the MS5611 10 ms calls later,
    once its reset, a temperature and a pressure conversion have run."""
    value = hal.pressure_pa()
    if chip == "ms5611":
        assert value == -1, value
        for _ in range(3):
            fake_machine.advance_ms(10)
            value = hal.pressure_pa()
    return value


def _tick_and_read(hal):
    fake_machine.advance_ms(10)
    return hal.pressure_pa()


def test_board_file_names_a_known_barometer():
    baro = BOARD["barometer"]
    assert baro is None or baro["chip"] in pico.BARO_CHIPS + (None,), baro


def test_no_barometer_reads_minus_one_and_loads_nothing():
    for board in (_baro_board(None), _baro_board(False)):
        _forget_drivers()
        hal = _baro_hal(board, fake_machine.BMP388Model())
        assert hal.pressure_pa() == -1
        assert no_alloc(hal.pressure_pa) == -1
        assert fake_machine.i2cs == {}  # the bus was never even built
        for name in DRIVERS:
            assert name not in sys.modules, name


def test_importing_the_hal_loads_no_barometer_driver():
    _forget_drivers()
    _fresh_import()
    for name in DRIVERS:
        assert name not in sys.modules, name


def test_bmp280_board_reads_pascals():
    model = fake_machine.BMP280Model()
    hal = _baro_hal(_baro_board("bmp280", 0x76), model, 0x76)
    assert hal.pressure_pa() == model.PRESSURE_PA
    assert no_alloc(hal.pressure_pa) == model.PRESSURE_PA
    cfg = BOARD["i2c"]
    bus = fake_machine.i2cs[cfg["id"]]
    assert (bus.sda, bus.scl, bus.freq) == (cfg["sda"], cfg["scl"], cfg["freq"])
    assert (0xF4, bytes((0b00101011,))) in model.writes  # the BMP280 driver configured it


def test_bmp388_board_reads_pascals():
    model = fake_machine.BMP388Model()
    hal = _baro_hal(_baro_board("bmp388", 0x77), model, 0x77)
    assert hal.pressure_pa() == model.PRESSURE_PA
    assert no_alloc(hal.pressure_pa) == model.PRESSURE_PA
    model.set_adc(11000000, 7600000)
    assert no_alloc(hal.pressure_pa) == 37315
    assert model.regs[0x1B] == 0x33  # normal mode: the BMP388 driver configured it


def test_ms5611_board_reads_pascals():
    _forget_drivers()
    model = fake_machine.MS5611Model()
    hal = _baro_hal(_baro_board("ms5611", 0x77), model, 0x77)
    assert hal.pressure_pa() == -1  # probed and reset: the PROM reload is running
    assert "firmware.ms5611" in sys.modules
    assert "firmware.bmp280" not in sys.modules and "firmware.bmp388" not in sys.modules
    for _ in range(50):  # timed on the HAL's clock: standing still, nothing is started
        assert hal.pressure_pa() == -1
    assert model.conversions_d1 == 0 and model.conversions_d2 == 0
    assert [_tick_and_read(hal) for _ in range(3)] == [-1, -1, model.PRESSURE_PA]
    for _ in range(25):  # through two temperature conversions, allocation-free
        assert no_alloc(_tick_and_read, hal) == model.PRESSURE_PA
    model.set_adc(7000000, model.D2)
    assert [_tick_and_read(hal) for _ in range(14)][-1] == 60099
    assert model.violations == 0 and model.empty_reads == 0


def test_ms5611_with_csb_high_answers_at_0x76():
    model = fake_machine.MS5611Model()
    hal = _baro_hal(_baro_board("ms5611", 0x76), model, 0x76)
    assert _first_reading(hal, "ms5611") == model.PRESSURE_PA


def test_default_board_reads_its_barometer():
    baro = BOARD["barometer"]
    if baro is None or baro["chip"] is None:
        return
    model = _model(baro["chip"])
    hal = _baro_hal(BOARD, model, baro["address"])
    assert _first_reading(hal, baro["chip"]) == model.PRESSURE_PA


def test_missing_barometer_reads_minus_one_and_is_probed_again_later():
    for chip in pico.BARO_CHIPS:
        hal = _baro_hal(_baro_board(chip, 0x77))  # nothing answers at 0x77
        assert hal.pressure_pa() == -1
        model = _model(chip)
        fake_machine.add_i2c_device(0x77, model)  # plugged in after boot
        for _ in range(pico.BARO_RETRY_CALLS - 1):
            assert hal.pressure_pa() == -1  # not probed again yet
        assert _touched(model) == []
        # probed on the 100th call after the miss
        assert _first_reading(hal, chip) == model.PRESSURE_PA, chip


def test_wrong_chip_reads_minus_one():
    for named in pico.BARO_CHIPS:
        for there in pico.BARO_CHIPS:
            if there == named:
                continue
            model = _model(there)
            hal = _baro_hal(_baro_board(named, 0x76), model, 0x76)
            for _ in range(5):
                assert hal.pressure_pa() == -1, (named, there)
                fake_machine.advance_ms(10)
            if named == "ms5611":
                assert model.writes == []  # refused on its PROM, before the reset


def test_failing_barometer_reads_minus_one_then_recovers():
    for chip in pico.BARO_CHIPS:
        model = _model(chip)
        hal = _baro_hal(_baro_board(chip, 0x76), model, 0x76)
        assert _first_reading(hal, chip) == model.PRESSURE_PA
        model.fail = True  # the sensor stops answering mid-run
        # (10 ms apart, so the MS5611 driver has a conversion to fetch and meets the failure)
        assert _tick_and_read(hal) == -1
        assert _tick_and_read(hal) == -1
        model.fail = False
        # read again at once, no re-probe
        assert _tick_and_read(hal) == model.PRESSURE_PA, chip
        if chip == "ms5611":
            assert model.commands().count(0x1E) == 1  # reset once: the driver carried on


def test_unknown_barometer_chip_is_refused_with_outputs_off():
    # the MS5607: the MS5611's command set, other compensation formulas
    _refused_with_outputs_off(_baro_board("ms5607"))


def test_entropy_into_fills_the_buffer():
    hal_checks.entropy_differs_between_calls(_hal())


def test_close_releases_the_uart_and_leaves_outputs_off():
    hal_checks.close_releases_the_uart_with_outputs_off(_hal(), FIRE[0], BOARD["uart"]["id"])


def test_stop_turns_outputs_and_buzzer_off():
    # halt() (boot failures) runs stop() and then blinks forever; stop() is the part to test.
    hal = _hal()
    hal.fire(0, True)
    hal.fire(1, True)
    hal.buzzer(True)
    hal.stop()
    assert fake_machine.latch(FIRE[0]) == 0
    assert fake_machine.latch(FIRE[1]) == 0
    assert fake_machine.latch(BOARD["buzzer_pin"]) == 0


# --- the maintenance button: BOOTSEL, or a GPIO to ground --------------------------------------


def _button_hal(button):
    """A HAL on the fake clock for the Pico board with "maintenance_button" set to `button`."""
    board = dict(BOARD)
    board["maintenance_button"] = button
    fake_machine.reset()
    return _FakeClockHal(board, "uart")


def test_board_names_bootsel_as_its_maintenance_button():
    assert BOARD["maintenance_button"] == pico.BUTTON_BOOTSEL


def test_maintenance_button_reads_bootsel_pressed_and_released():
    hal = _baro_hal(BOARD)  # the board as it is, on the fake clock
    assert hal.maintenance_button() is False
    fake_machine.set_bootsel(True)
    fake_machine.advance_ms(pico.BOOTSEL_POLL_MS)
    assert hal.maintenance_button() is True
    fake_machine.set_bootsel(False)
    fake_machine.advance_ms(pico.BOOTSEL_POLL_MS)
    assert hal.maintenance_button() is False


def test_bootsel_is_read_at_most_every_100_ms_and_the_last_reading_stands():
    hal = _button_hal("bootsel")
    assert pico.BOOTSEL_POLL_MS == 100
    fake_machine.set_bootsel(True)
    seen = []
    for ms in range(1000):  # the app asks every millisecond, worst case
        seen.append(hal.maintenance_button())
        fake_machine.advance_ms(1)
        if ms == 450:
            fake_machine.set_bootsel(False)
    reads = fake_machine.rp2.reads
    assert reads == 10, reads  # at 0, 100, ... 900 ms: no more, and not fewer
    assert seen[:500] == [True] * 500  # released at 451 ms, seen at the 500 ms read
    assert seen[500:] == [False] * 500


def test_bootsel_read_allocates_nothing():
    hal = _button_hal("bootsel")
    fake_machine.set_bootsel(True)
    assert no_alloc(hal.maintenance_button) is True  # a read
    assert no_alloc(hal.maintenance_button) is True  # and the last reading
    assert fake_machine.rp2.reads == 1


def test_a_gpio_maintenance_button_is_active_low_with_the_pull_up():
    hal = _button_hal(9)
    assert fake_machine.mode(9) == fake_machine.Pin.IN
    assert fake_machine.pull(9) == fake_machine.Pin.PULL_UP
    assert no_alloc(hal.maintenance_button) is False  # floating: the pull-up holds it high
    fake_machine.set_input(9, 0)
    assert no_alloc(hal.maintenance_button) is True
    fake_machine.set_input(9, 1)
    assert hal.maintenance_button() is False
    assert fake_machine.rp2.reads == 0


def test_no_maintenance_button_reads_released():
    hal = _button_hal(None)
    fake_machine.set_bootsel(True)
    assert hal.maintenance_button() is False
    board = dict(BOARD)
    del board["maintenance_button"]  # an older board file
    fake_machine.reset()
    fake_machine.set_bootsel(True)
    assert _FakeClockHal(board, "uart").maintenance_button() is False
    assert fake_machine.rp2.reads == 0


def test_bootsel_before_micropython_1_20_is_no_button():
    saved = sys.modules["rp2"]
    sys.modules["rp2"] = _Rp2WithoutBootsel()  # the rp2 module had no bootsel_button()
    try:
        hal = _button_hal("bootsel")
    finally:
        sys.modules["rp2"] = saved
    fake_machine.set_bootsel(True)
    assert hal.maintenance_button() is False


class _Rp2WithoutBootsel:
    pass


def test_a_bad_maintenance_button_is_refused_with_outputs_off():
    board = dict(BOARD)
    board["maintenance_button"] = "boot"
    _refused_with_outputs_off(board)
