"""firmware/hal/esp32.py and firmware/boards/esp32_devkit.py on the ESP32 flavour of fake_machine.py.

Order, polarity, the ADC window and its arithmetic, transports that never
block and allocate nothing, and the board file's pins against the chip's rules.
Runs under MicroPython (run.mjs) and CPython:

    node tests/micropython/run.mjs tests/micropython/test_esp32_hal.py
    python tests/micropython/mptest.py tests/micropython/test_esp32_hal.py

The USB transport runs on fake_machine.FakeConsole, put in place of the
module's `sys` and of the `select` and `micropython` modules while a test
needs it (the runner cannot feed the real stdin).
"""

import sys

import fake_machine
import hal_checks
from mptest import assert_raises, no_alloc

fake_machine.install()

from firmware.boards.esp32_devkit import BOARD  # noqa: E402
from firmware.boards.pico_2ch import BOARD as PICO_BOARD  # noqa: E402
from firmware.continuity import Continuity, resistance_mohm  # noqa: E402
from firmware.hal import KEY_INCONSISTENT, KEY_OFF, KEY_ON  # noqa: E402
from protocol.constants import CONT_CONNECTED, CONT_OPEN, CONT_SHORT  # noqa: E402

MOD = "firmware.hal.esp32"
BOARD_MOD = "firmware.board"
FIRE = BOARD["fire_pins"]
READBACK = BOARD["fire_readback_pins"]
CONT = BOARD["continuity_adc_pins"]
KEY_NO = BOARD["arm_key_pins"]["no"]
KEY_NC = BOARD["arm_key_pins"]["nc"]
GAIN = BOARD["continuity_gain"]
SPAN_MV = GAIN * (BOARD["sense_supply_mv"] - BOARD["sense_diode_mv"])  # the HAL's scale


class _Stand:
    """A stand-in module: attributes only."""


def _fresh_import(active_board=None):
    """Import firmware.hal.esp32 anew on a reset ESP32 fake machine, with
    firmware.board standing in as a module whose BOARD is `active_board`
    (None: a module without BOARD, so the import finds no board file). Returns
    the HAL module; firmware.board is put back as it was."""
    stand = _Stand()
    if active_board is not None:
        stand.BOARD = active_board
    before = sys.modules.get(BOARD_MOD)
    sys.modules[BOARD_MOD] = stand
    try:
        if MOD in sys.modules:
            del sys.modules[MOD]
        fake_machine.reset("esp32")
        __import__(MOD)
    finally:
        if before is None:
            del sys.modules[BOARD_MOD]
        else:
            sys.modules[BOARD_MOD] = before
    return sys.modules[MOD]


esp32 = _fresh_import()


class _FakeClockHal(esp32.Esp32Hal):
    """Esp32Hal on fake_machine's clock: the one the UART, the console and the MS5611 model run on."""

    def ticks_ms(self):
        return fake_machine.ticks_ms()


def _hal(board=None):
    """A UART-transport HAL on a reset ESP32 fake machine."""
    fake_machine.reset("esp32")
    return _FakeClockHal(BOARD if board is None else board, "uart")


def _events_from(start):
    return [(kind, gpio, value) for _, kind, gpio, value in fake_machine.events(start)]


def _fire_events_first(evs, off):
    """Check evs ((kind, gpio, value) triples) start with every fire pin latched `off`
    and then made an output; return the rest."""
    expected = []
    for gpio in FIRE:
        expected.append((fake_machine.EV_VALUE, gpio, off))
        expected.append((fake_machine.EV_MODE, gpio, fake_machine.Pin.OUT))
    head = evs[: len(expected)]
    assert head == expected, (head, expected)
    return evs[len(expected) :]


# --- the board file against the chip -----------------------------------------------------------

ESP32_GPIOS = tuple(n for n in range(40) if n not in (20, 24, 28, 29, 30, 31))
STRAPPING = (0, 2, 5, 12, 15)
FLASH = (6, 7, 8, 9, 10, 11)
CONSOLE_UART0 = (1, 3)
BOOT_NOISY = (1, 3, 14, 15)  # toggle or output a signal during boot
INPUT_ONLY = (34, 35, 36, 37, 38, 39)
ADC1 = (32, 33, 34, 35, 36, 37, 38, 39)


def _all_pins(board):
    pins = list(board["fire_pins"]) + list(board["fire_readback_pins"])
    pins += list(board["continuity_adc_pins"]) + [board["battery_adc_pin"]]
    pins += [board["arm_key_pins"]["no"], board["arm_key_pins"]["nc"]]
    pins += [board["buzzer_pin"], board["led_pin"]]
    pins += [board["i2c"]["sda"], board["i2c"]["scl"], board["uart"]["tx"], board["uart"]["rx"]]
    return pins


def test_board_has_the_pico_boards_keys_and_names_its_hal():
    extra = [k for k in BOARD if k not in PICO_BOARD]
    missing = [k for k in PICO_BOARD if k not in BOARD]
    assert missing == [], missing
    assert sorted(extra) == ["continuity_gain"] or sorted(extra) == ["continuity_gain", "hal"], extra
    assert BOARD["hal"] == "esp32"
    assert len(BOARD["name"].encode()) <= 16
    assert BOARD["storage_path"] == "/data"
    for key in ("fire_pins", "fire_readback_pins", "continuity_adc_pins"):
        assert len(BOARD[key]) == BOARD["channels"], key


def test_board_pins_are_real_distinct_and_off_the_flash_and_console():
    pins = _all_pins(BOARD)
    assert len(set(pins)) == len(pins), pins
    for gpio in pins:
        assert gpio in ESP32_GPIOS, gpio
        assert gpio not in FLASH and gpio not in CONSOLE_UART0, gpio


def test_fire_outputs_avoid_strapping_boot_noisy_and_input_only_pins():
    for gpio in FIRE + (BOARD["buzzer_pin"],):
        assert gpio not in STRAPPING and gpio not in BOOT_NOISY, gpio
        assert gpio not in INPUT_ONLY, gpio
    # The LED is the one output allowed on a strapping pin (GPIO 2, driven only after boot).
    assert BOARD["led_pin"] not in INPUT_ONLY


def test_analogue_inputs_are_adc1_and_pulled_inputs_can_pull():
    for gpio in CONT + (BOARD["battery_adc_pin"],):
        assert gpio in ADC1, gpio  # ADC2 stops working while Wi-Fi runs
    for gpio in (KEY_NO, KEY_NC):
        assert gpio not in INPUT_ONLY and gpio not in STRAPPING, gpio  # 34..39 have no pull-ups


def test_sense_window_covers_the_igniters_and_the_battery():
    supply = BOARD["sense_supply_mv"]
    r_sense = BOARD["sense_resistor_ohm"]
    assert supply * 1000 // r_sense <= 10000  # invariant 7: at most 10 mA into a dead short
    node_mv = lambda ohm: supply * ohm / (r_sense + ohm)  # noqa: E731
    # 0.3 ohm (the SHORT boundary) at the bottom of the window, 0.8..4 ohm igniters inside it.
    assert abs(node_mv(0.3) * GAIN - esp32.ADC_MIN_MV) < 2
    for ohm in (0.8, 1.0, 2.0, 4.0):
        assert esp32.ADC_MIN_MV < node_mv(ohm) * GAIN < esp32.ADC_MAX_MV, ohm
    # A 12 V battery in the middle of the window, 24 V still inside it.
    for volts in (12, 24):
        pin_mv = volts * 1000 / BOARD["battery_divider_ratio"]
        assert esp32.ADC_MIN_MV < pin_mv < esp32.ADC_MAX_MV, volts


# --- outputs off before anything else ----------------------------------------------------------


def test_import_drives_the_active_esp32_boards_fire_pins_low_first():
    _fresh_import(BOARD)
    rest = _fire_events_first(_events_from(0), 0)
    assert rest == [], rest  # importing touches nothing but the fire pins
    for gpio in FIRE:
        assert fake_machine.mode(gpio) == fake_machine.Pin.OUT
        assert fake_machine.latch(gpio) == 0


def test_import_touches_no_pin_of_a_pico_board_or_without_a_board():
    for active in (PICO_BOARD, None):
        _fresh_import(active)
        assert fake_machine.events() == [], active
    no_hal = dict(BOARD)
    del no_hal["hal"]  # a board file without "hal" is a Pico's
    _fresh_import(no_hal)
    assert fake_machine.events() == []


def test_constructor_drives_fire_pins_low_before_anything_else():
    fake_machine.reset("esp32")
    for gpio in FIRE:  # as if something had left the outputs on
        fake_machine.Pin(gpio, fake_machine.Pin.OUT, value=1)
    start = fake_machine.mark()
    hal = esp32.Esp32Hal(BOARD, "uart")
    rest = _fire_events_first(_events_from(start), 0)
    assert rest, "the constructor configured nothing else"
    for kind, gpio, _value in rest:
        assert gpio not in FIRE, (kind, gpio)  # never written again
    for gpio in FIRE:
        assert fake_machine.latch(gpio) == 0
    assert hal.channels == 2


def test_active_low_board_drives_its_outputs_high_first():
    board = dict(BOARD)
    board["fire_active_high"] = False
    fake_machine.reset("esp32")
    start = fake_machine.mark()
    hal = esp32.Esp32Hal(board, "uart")
    _fire_events_first(_events_from(start), 1)
    hal.fire(1, True)
    assert fake_machine.latch(FIRE[1]) == 0 and fake_machine.latch(FIRE[0]) == 1


def _refused_with_outputs_off(board, transport="uart"):
    fake_machine.refused_with_outputs_off("esp32", FIRE, esp32.Esp32Hal, board, transport)


def test_bad_boards_and_transports_still_leave_outputs_off():
    short = dict(BOARD)
    short["continuity_adc_pins"] = (34,)
    unknown_baro = dict(BOARD)
    unknown_baro["barometer"] = {"chip": "ms5607", "address": 0x77}
    for board, transport in ((BOARD, "wifi"), (short, "uart"), (unknown_baro, "uart")):
        _refused_with_outputs_off(board, transport)


def test_constructor_sets_up_inputs_adcs_and_indicators():
    hal = _hal()
    fake_machine.assert_inputs_and_indicators(BOARD)
    for gpio in CONT + (BOARD["battery_adc_pin"],):
        adc = fake_machine.adcs[gpio]
        assert adc.block == 1, gpio
        assert adc._atten == fake_machine.ADC.ATTN_11DB, gpio
    assert hal.storage_path == "/data"
    assert hal.board_name == "esp32-devkit"
    assert (hal.adc_full_scale, hal.sense_resistor_ohm, hal.sense_supply_mv) == (65535, 330, 3300)


def test_device_id_is_the_mac_padded_to_8_bytes():
    hal = _hal()
    mac = fake_machine.unique_id()
    assert len(mac) == 6
    assert hal.device_id == mac + b"\x00\x00"
    assert len(hal.device_id) == 8


# --- fire outputs ------------------------------------------------------------------------------


def test_fire_drives_the_right_pin_and_nothing_else():
    hal = _hal()
    start = fake_machine.mark()
    hal.fire(0, True)
    assert _events_from(start) == [(fake_machine.EV_VALUE, FIRE[0], 1)]
    assert fake_machine.latch(FIRE[1]) == 0
    hal.fire(1, True)
    hal.fire(0, False)
    assert (fake_machine.latch(FIRE[0]), fake_machine.latch(FIRE[1])) == (0, 1)
    hal.all_off()
    assert fake_machine.latch(FIRE[1]) == 0
    start = fake_machine.mark()
    assert_raises(ValueError, hal.fire, 2, True)
    assert_raises(ValueError, hal.fire, -1, True)
    assert fake_machine.events(start) == []


def test_fire_readback():
    hal_checks.fire_readback(_hal(), READBACK)


def test_hot_paths_allocate_nothing():
    hal = _hal()
    for ch in (0, 1):
        no_alloc(hal.fire, ch, True)
        assert fake_machine.latch(FIRE[ch]) == 1
        no_alloc(hal.fire, ch, False)
        assert fake_machine.latch(FIRE[ch]) == 0
    assert no_alloc(hal.fire_readback, 0) is False
    fake_machine.set_input(KEY_NO, 0)
    fake_machine.set_input(KEY_NC, 1)
    assert no_alloc(hal.arm_key) == KEY_ON
    fake_machine.set_adc_uv(CONT[0], 498489)
    assert no_alloc(hal.continuity_raw, 0) == 498 * 65535 // SPAN_MV
    fake_machine.set_adc_uv(BOARD["battery_adc_pin"], 1090909)
    assert no_alloc(hal.battery_mv) == 11990


# --- continuity and battery through the ADC window ---------------------------------------------


def _igniter(channel, ohm_milli):
    """Put the amplified sense node of an igniter of `ohm_milli` milliohms (None: open) on the ADC pin."""
    supply_uv = BOARD["sense_supply_mv"] * 1000
    source_uv = (BOARD["sense_supply_mv"] - BOARD["sense_diode_mv"]) * 1000  # past the diode
    if ohm_milli is None:
        pin_uv = supply_uv  # the node at the source: the amplifier at its rail
    else:
        r_sense_milli = BOARD["sense_resistor_ohm"] * 1000
        pin_uv = source_uv * ohm_milli // (r_sense_milli + ohm_milli) * GAIN
        if pin_uv > supply_uv:
            pin_uv = supply_uv
    fake_machine.set_adc_uv(CONT[channel], pin_uv)


def _ohm_milli(hal, channel):
    return resistance_mohm(hal.continuity_raw(channel), hal.adc_full_scale, hal.sense_resistor_ohm)


def test_continuity_resistance_inside_the_window():
    hal = _hal()
    for ohm_milli in (400, 800, 1000, 2000, 4000, 4900):
        _igniter(1, ohm_milli)
        got = _ohm_milli(hal, 1)
        # millivolt steps at the pin: within 1 % or 5 milliohm
        assert abs(got - ohm_milli) <= max(ohm_milli // 100, 5), (ohm_milli, got)
    _igniter(0, 1000)
    one_ohm = 453 * 65535 // SPAN_MV  # 453 mV at the pin; the span: 50 x (3300 - 300 mV)
    assert hal.continuity_raw(0) == one_ohm
    assert hal.continuity_raw(1) != one_ohm  # each channel its own ADC


def test_continuity_ends_of_the_window():
    hal = _hal()
    # A dead short: the pin at 0 V, which the calibrated ADC reads as 142 mV.
    _igniter(0, 0)
    assert hal.continuity_raw(0) == 0
    assert _ohm_milli(hal, 0) == 0
    _igniter(0, 290)  # below the window: reads as a short
    assert hal.continuity_raw(0) == 0
    for open_like in (None, 5600, 10000, 200000):  # above the window: full scale, open
        _igniter(0, open_like)
        assert hal.continuity_raw(0) == hal.adc_full_scale, open_like
        assert _ohm_milli(hal, 0) == -1


def test_continuity_classes_through_the_firmware():
    hal = _hal()
    for ohm_milli, expected in ((0, CONT_SHORT), (1000, CONT_CONNECTED), (4000, CONT_CONNECTED), (None, CONT_OPEN)):
        cont = Continuity(1, hal.adc_full_scale, hal.sense_resistor_ohm)
        _igniter(0, ohm_milli)
        for _ in range(8):
            cls = cont.update(0, hal.continuity_raw(0))
        assert cls == expected, (ohm_milli, cls)


def test_battery_mv_through_the_divider():
    hal = _hal()
    gpio = BOARD["battery_adc_pin"]
    for volts in (12, 24, 3):
        fake_machine.set_adc_uv(gpio, volts * 1000000 // 11)
        got = hal.battery_mv()
        assert abs(got - volts * 1000) <= 11, (volts, got)  # one millivolt at the pin is 11 mV
    fake_machine.set_adc_uv(gpio, 1090909)
    assert hal.battery_mv() == 11990  # 1090 mV * 11.000
    fake_machine.set_adc_uv(gpio, 0)  # no battery: the ADC's 142 mV floor is not a battery
    assert hal.battery_mv() == 0


# --- arm key -----------------------------------------------------------------------------------


def test_arm_key_truth_table():
    hal = _hal()
    table = ((0, 1, KEY_ON), (1, 0, KEY_OFF), (0, 0, KEY_INCONSISTENT), (1, 1, KEY_INCONSISTENT))
    for no, nc, expected in table:
        fake_machine.set_input(KEY_NO, no)
        fake_machine.set_input(KEY_NC, nc)
        assert hal.arm_key() == expected, (no, nc)
    fake_machine.set_input(KEY_NO, None)  # nothing connected: the pull-ups read 1 and 1
    fake_machine.set_input(KEY_NC, None)
    assert hal.arm_key() == KEY_INCONSISTENT


# --- serial: UART2 to the radio ----------------------------------------------------------------


def test_uart_configured_from_board():
    hal = _hal()
    uart = fake_machine.uarts[2]
    cfg = BOARD["uart"]
    assert (uart.tx, uart.rx, uart.baudrate) == (cfg["tx"], cfg["rx"], cfg["baud"])
    assert uart.timeout == 0 and uart.timeout_char == 0  # reads never wait
    assert hal.serial_is_wired() is False


def test_uart_read_into_never_blocks_and_allocates_nothing():
    hal = _hal()
    uart = fake_machine.uarts[2]
    buf = bytearray(4)
    assert no_alloc(hal.serial_read_into, buf) == 0
    uart.feed(b"\x01\x02\x03\x00\x05\x06\x07\x08\x09")
    assert no_alloc(hal.serial_read_into, buf) == 4  # the warm-up call took 1..4
    assert buf == bytearray(b"\x05\x06\x07\x08"), buf
    assert hal.serial_read_into(buf) == 1 and buf[0] == 9
    assert hal.serial_read_into(buf) == 0


def _stream(hal, sink, ms, chunk):
    """Offer `chunk` bytes every millisecond for `ms` ms; return the bytes accepted."""
    out = bytearray(chunk)
    for i in range(chunk):
        out[i] = i & 0xFF
    total = 0
    for _ in range(ms):
        total += hal.serial_write(out, chunk)
        fake_machine.advance_ms(1)
    assert sink.blocked_writes == 0, sink.blocked_writes
    return total


def test_uart_write_never_blocks_and_keeps_up_with_the_line():
    hal = _hal()
    uart = fake_machine.uarts[2]
    out = bytearray(b"abc\x00def")
    assert hal.serial_write(out, 3) == 3
    assert no_alloc(hal.serial_write, out, 2) == 2
    assert uart.written() == b"abcabab"
    # Far more offered than 115200 baud carries: short writes, never a wait.
    total = _stream(hal, uart, 500, 200)
    line = 500 * 11520 // 1000  # what the line drains in 500 ms
    assert total < esp32.UART_TXBUF + line, total
    assert total > (esp32.UART_TXBUF + line) * 95 // 100, total  # and it is kept busy
    big = bytearray(200)
    assert hal.serial_write(big, 200) <= 12  # what drained in the last millisecond
    assert hal.serial_write(out, 7) == 0  # the queue is full: 0 at once
    fake_machine.advance_ms(2000)  # drained
    assert no_alloc(hal.serial_write, out, 7) == 7


# --- serial: the USB-serial REPL port ----------------------------------------------------------


def _usb_hal(console):
    """A USB-transport HAL whose sys, select and micropython are the console's stand-ins
    (the USB transport is PicoHal's, which Esp32Hal inherits: its module's sys is swapped)."""
    fake_machine.reset("esp32")
    saved_sys = _usb_module().sys
    saved = {name: sys.modules.get(name) for name in ("select", "micropython")}
    _usb_module().sys = console.sys
    sys.modules["select"] = console.select
    sys.modules["micropython"] = console.micropython
    try:
        return _FakeClockHal(BOARD, "usb")
    finally:
        _restore(saved_sys, saved)


def _usb_module():
    return esp32._pico


def _restore(saved_sys, saved):
    _usb_module().sys = saved_sys
    for name, module in saved.items():
        if module is None:
            del sys.modules[name]
        else:
            sys.modules[name] = module


def test_usb_opens_with_ctrl_c_off_and_polls_stdin():
    console = fake_machine.FakeConsole()
    hal = _usb_hal(console)
    assert console.kbd_intr_calls == [-1]
    assert console.poller.registered == [(console.stdin, console.POLLIN)]
    assert hal.serial_is_wired() is True
    assert fake_machine.uarts == {}


def test_usb_read_into_never_blocks_and_allocates_nothing():
    console = fake_machine.FakeConsole()
    hal = _usb_hal(console)
    buf = bytearray(4)
    assert no_alloc(hal.serial_read_into, buf) == 0
    console.feed(b"\x01\x02\x03\x00\x05\x06\x07\x08\x09")
    assert no_alloc(hal.serial_read_into, buf) == 4
    assert buf == bytearray(b"\x05\x06\x07\x08"), buf
    assert hal.serial_read_into(buf) == 1 and buf[0] == 9
    assert hal.serial_read_into(buf) == 0
    assert console.stdin.blocked_reads == 0


def test_usb_write_never_blocks_on_the_console_fifo():
    console = fake_machine.FakeConsole()
    hal = _usb_hal(console)
    out = bytearray(b"frame\x00")
    assert no_alloc(hal.serial_write, out, 6) == 6
    assert console.written() == b"frame\x00frame\x00"  # no_alloc calls twice
    total = _stream(hal, console.stdout, 200, 64)
    line = 200 * 11520 // 1000
    assert total < esp32.CONSOLE_FIFO + line + 6, total
    assert total > line * 95 // 100, total


def test_stop_and_halt_drive_outputs_off_and_give_ctrl_c_back():
    console = fake_machine.FakeConsole()
    hal = _usb_hal(console)
    hal.fire(0, True)
    hal.fire(1, True)
    hal.buzzer(True)

    class Blinked(Exception):
        pass

    def first_blink(on):
        raise Blinked()  # halt() blinks for ever: stop it at its first LED change

    hal.led = first_blink
    saved = {"micropython": sys.modules.get("micropython")}
    sys.modules["micropython"] = console.micropython
    try:
        assert_raises(Blinked, hal.halt, esp32.BLINK_APP_ENDED)
    finally:
        _restore(_usb_module().sys, saved)
    assert fake_machine.latch(FIRE[0]) == 0 and fake_machine.latch(FIRE[1]) == 0
    assert fake_machine.latch(BOARD["buzzer_pin"]) == 0
    assert console.kbd_intr_calls == [-1, 3]


def test_close_releases_the_uart_and_leaves_outputs_off():
    hal_checks.close_releases_the_uart_with_outputs_off(_hal(), FIRE[0], 2)


# --- the rest of the contract ------------------------------------------------------------------


def test_indicators_and_i2c_bus():
    hal = _hal()
    hal.buzzer(True)
    hal.led(True)
    assert fake_machine.latch(BOARD["buzzer_pin"]) == 1 and fake_machine.latch(BOARD["led_pin"]) == 1
    hal.buzzer(False)
    hal.led(False)
    assert fake_machine.latch(BOARD["buzzer_pin"]) == 0 and fake_machine.latch(BOARD["led_pin"]) == 0
    assert fake_machine.i2cs == {}  # built on first use
    bus = hal.i2c_bus()
    cfg = BOARD["i2c"]
    assert (bus.id, bus.sda, bus.scl, bus.freq) == (cfg["id"], 21, 22, 400000)
    assert hal.i2c_bus() is bus


def test_ticks_ms():
    fake_machine.reset("esp32")
    hal_checks.ticks_ms_allocates_nothing(esp32.Esp32Hal(BOARD, "uart"))  # the real clock


def test_entropy_into_fills_the_buffer():
    hal_checks.entropy_differs_between_calls(_hal())


# --- barometer: the same drivers, probed the same way as on the Pico ---------------------------


def _baro_board(chip, address):
    board = dict(BOARD)
    board["barometer"] = {"chip": chip, "address": address}
    return board


def _model(chip):
    if chip == "bmp388":
        return fake_machine.BMP388Model()
    if chip == "ms5611":
        return fake_machine.MS5611Model()
    return fake_machine.BMP280Model()


def _reading(hal):
    """pressure_pa() until a reading is in (the MS5611 needs three 10 ms calls after its probe)."""
    value = hal.pressure_pa()
    for _ in range(4):
        if value != -1:
            break
        fake_machine.advance_ms(10)
        value = hal.pressure_pa()
    return value


def test_every_barometer_chip_reads_pascals_without_allocating():
    for chip in esp32.BARO_CHIPS:
        board = BOARD if chip == BOARD["barometer"]["chip"] else _baro_board(chip, 0x77)
        address = board["barometer"]["address"]
        hal = _hal(board)
        model = fake_machine.add_i2c_device(address, _model(chip))
        assert _reading(hal) == model.PRESSURE_PA, chip
        fake_machine.advance_ms(10)
        assert no_alloc(hal.pressure_pa) == model.PRESSURE_PA, chip


def test_missing_barometer_reads_minus_one_and_is_probed_again_later():
    hal = _hal()
    assert hal.pressure_pa() == -1  # nothing at 0x76
    model = fake_machine.add_i2c_device(0x76, fake_machine.BMP280Model())
    for _ in range(esp32.BARO_RETRY_CALLS - 1):
        assert hal.pressure_pa() == -1
    assert model.writes == []  # not probed again yet
    assert hal.pressure_pa() == model.PRESSURE_PA


def test_no_barometer_reads_minus_one_and_builds_no_bus():
    board = dict(BOARD)
    board["barometer"] = None
    hal = _hal(board)
    assert no_alloc(hal.pressure_pa) == -1
    assert fake_machine.i2cs == {}


# --- the maintenance button: the DevKit's BOOT button on GPIO 0 --------------------------------


def test_board_names_the_boot_button_on_gpio0_apart_from_every_other_pin():
    button = BOARD["maintenance_button"]
    assert button == 0  # the DevKit's BOOT button (a strapping pin: only ever read)
    assert button not in _all_pins(BOARD)
    assert button not in INPUT_ONLY  # it needs its pull-up


def test_boot_button_is_read_active_low_with_the_pull_up():
    hal = _hal()
    assert fake_machine.mode(0) == fake_machine.Pin.IN
    assert fake_machine.pull(0) == fake_machine.Pin.PULL_UP
    driven = [e for e in fake_machine.events() if e[1:3] == (fake_machine.EV_VALUE, 0)]
    assert driven == []  # a strapping pin: only ever read
    assert no_alloc(hal.maintenance_button) is False  # released: the pull-up
    fake_machine.set_input(0, 0)
    assert no_alloc(hal.maintenance_button) is True  # pressed: the button to GND
    fake_machine.set_input(0, 1)
    assert hal.maintenance_button() is False
    assert fake_machine.rp2.reads == 0  # no BOOTSEL on this chip


def test_an_esp32_board_naming_bootsel_is_refused_with_outputs_off():
    board = dict(BOARD)
    board["maintenance_button"] = "bootsel"
    _refused_with_outputs_off(board)
