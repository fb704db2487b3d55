"""The HAL (see firmware/hal/__init__.py) on a Raspberry Pi Pico's `machine` module.

Importing this module first drives every fire pin of the active board file
(firmware/board.py: /board.py on the board, else firmware/boards/pico_2ch.py)
to its off level; the constructor does the same
for the board it is given before touching anything else. Only `fire()` ever
turns an output on.

Hot paths (`fire`, `fire_readback`, `continuity_raw`, `arm_key`, `battery_mv`,
`maintenance_button`, `pressure_pa` once its driver is built, `serial_read_into`,
`serial_write`, `ticks_ms`) allocate nothing: pins, ADCs and buffers are built once here,
integers stay below 2**30, nothing is sliced.

Barometer: the board file's "barometer" entry names the chip ("bmp280",
"bmp388", "ms5611") and its I2C address, or None. The driver module is
imported and the sensor probed and configured on the first `pressure_pa()`
call, so a board loads no driver but its own. The MS5611 driver times its
conversions on `ticks_ms()`. `pressure_pa()` never raises: with no barometer, or
one that does not answer, it returns -1 and the launch controller carries on.

Maintenance button: the board file's "maintenance_button" is "bootsel" (the
RP2040's BOOTSEL button, read with `rp2.bootsel_button()`, MicroPython 1.20
and later), a GPIO number (a button to ground, read with the pull-up on: the
ESP32 DevKit's BOOT button is GPIO 0), or None. `maintenance_button()` is True
while it is held; the app (firmware/app.py) ends itself, giving the USB port to
the REPL, when it is held for 3 s on a SAFE pad. Reading BOOTSEL takes the
flash offline for a moment (the button shares the flash's chip-select line),
so it is read at most every BOOTSEL_POLL_MS, and between reads the last
reading stands. On a MicroPython without `rp2.bootsel_button()` the board has
no button.

Serial transports:

- "usb": the USB CDC port that also carries the REPL, through
  `sys.stdin.buffer` / `sys.stdout.buffer`. `micropython.kbd_intr(-1)` is set
  so a 0x03 byte inside a frame is data, not Ctrl-C; nothing may `print()`
  while the app runs, as stdout is the link. `close()` (or `halt()`) gives
  Ctrl-C back. Reading never blocks: a zero-timeout `select.poll` says whether
  a byte is waiting, and exactly one byte is read per poll. The tradeoff: the
  stdio stream's read(n)/readinto(buf) waits until all n bytes have arrived
  (it loops on the blocking `mp_hal_stdin_rx_chr()`), and poll only promises
  one, so a poll and a one-byte `readinto` per byte (tens of microseconds of
  bytecode on an RP2040) is the price of never blocking. That suits what the
  device receives (commands, FIRE frames and heartbeats: a few hundred bytes a
  second), not bulk input. Where a stream lacks `readinto`, `read(1)` is used
  instead, which allocates a 1-byte object per byte.
- "uart": a UART (to a radio modem) built with timeout=0; `any()` says how
  many bytes are buffered and `readinto(buf, n)` takes at most that many, in
  one call, into the caller's buffer.
"""

# Safety invariant 1: outputs off before anything else runs. Nothing but the
# Pin class and the board's pin numbers is needed for that, so nothing else
# comes first. The board is the active one (firmware/board.py: the board file
# `coalwood flash` wrote, else the two-channel Pico's); a board file meant for
# another HAL names pins this one must not drive, so then nothing is done here.
from machine import Pin

try:
    from firmware.board import BOARD as DEFAULT_BOARD
except ImportError:  # no firmware/board.py on this filesystem: no board to drive at import
    DEFAULT_BOARD = None

if DEFAULT_BOARD is not None and DEFAULT_BOARD.get("hal", "pico") == "pico":
    for _n in DEFAULT_BOARD["fire_pins"]:
        # value= is applied before the pin becomes an output: no glitch high.
        Pin(_n, Pin.OUT, value=0 if DEFAULT_BOARD["fire_active_high"] else 1)

# After the outputs are off, on purpose.
import os
import sys
import time

from machine import ADC, I2C, UART
from machine import unique_id as machine_unique_id

from firmware.hal import KEY_INCONSISTENT, KEY_OFF, KEY_ON
from protocol.ticks import ticks_add, ticks_diff

TRANSPORT_USB = "usb"
TRANSPORT_UART = "uart"

UART_RXBUF = 1024  # bytes buffered by the UART driver between reads (a few frames)
UART_TXBUF = 2048  # bytes queued for sending; a write that does not fit returns short

# A barometer that did not answer is probed again on every 100th pressure_pa()
# call: at the 100 Hz ascent rate one failed probe a second, and a sensor whose
# connector is reseated on the pad comes back without a reboot.
BARO_RETRY_CALLS = 100
BARO_CHIPS = ("bmp280", "bmp388", "ms5611")

# BOOTSEL is read at most this often, in milliseconds (each read stalls the flash).
BOOTSEL_POLL_MS = 100
BUTTON_BOOTSEL = "bootsel"  # the board file's "maintenance_button" for the RP2040's BOOTSEL

# LED blink codes for halt(): N short flashes, then a pause.
BLINK_NO_APP = 2  # firmware.app could not be imported
BLINK_APP_ENDED = 3  # the app returned or raised

_BLINK_ON_MS = 150
_BLINK_OFF_MS = 250
_BLINK_PAUSE_MS = 1200


def _fire_off_level(board):
    return 0 if board["fire_active_high"] else 1


class PicoHal:
    """HAL for a Pico pad box. `board` is a board dict (firmware/boards/); transport "usb" or "uart"."""

    def __init__(self, board, transport=TRANSPORT_USB):
        # Outputs off first, whatever else the board file says.
        off = _fire_off_level(board)
        fire = []
        for n in board["fire_pins"]:
            fire.append(Pin(n, Pin.OUT, value=off))
        self._fire = tuple(fire)
        self._fire_on = 1 - off
        self._fire_off = off

        if transport != TRANSPORT_USB and transport != TRANSPORT_UART:
            raise ValueError("transport must be 'usb' or 'uart'")
        channels = board["channels"]
        for key in ("fire_pins", "fire_readback_pins", "continuity_adc_pins"):
            if len(board[key]) != channels:
                raise ValueError("board %s needs %d entries" % (key, channels))

        self.board = board
        self.board_name = board["name"]  # DEVICE_INFO (at most 16 ASCII bytes)
        uid = bytes(machine_unique_id())
        self.device_id = (uid + bytes(8))[:8]  # the rp2's flash id; the ESP32's MAC, zero-padded
        self.channels = channels
        self.storage_path = board["storage_path"]
        # Continuity circuit constants (firmware/continuity.py uses them).
        self.adc_full_scale = board["adc_full_scale"]
        self.sense_resistor_ohm = board["sense_resistor_ohm"]
        self.sense_supply_mv = board["sense_supply_mv"]
        self._adc_scales(board)

        self._readback = tuple(Pin(n, Pin.IN) for n in board["fire_readback_pins"])
        self._readback_on = 1 if board.get("fire_readback_active_high", True) else 0
        self._cont = tuple(self._adc(n) for n in board["continuity_adc_pins"])

        self._battery = self._adc(board["battery_adc_pin"])
        # Divider ratio in thousandths, so battery_mv() needs no float (floats allocate).
        self._divider_milli = int(board["battery_divider_ratio"] * 1000 + 0.5)
        if not 0 < self._divider_milli < 100000:  # keeps mV * ratio below 2**30
            raise ValueError("battery_divider_ratio out of range")

        key = board["arm_key_pins"]
        self._key_no = Pin(key["no"], Pin.IN, Pin.PULL_UP)
        self._key_nc = Pin(key["nc"], Pin.IN, Pin.PULL_UP)

        self._buzzer = Pin(board["buzzer_pin"], Pin.OUT, value=0)
        self._led = Pin(board["led_pin"], Pin.OUT, value=0)
        self._open_button(board.get("maintenance_button"))

        self._i2c = None  # built on first use by i2c_bus()
        baro = board.get("barometer")
        self._baro_chip = baro["chip"] if baro else None
        if self._baro_chip is not None and self._baro_chip not in BARO_CHIPS:
            raise ValueError("barometer chip must be one of %s or None" % (BARO_CHIPS,))
        self._baro_address = baro["address"] if self._baro_chip else 0
        self._baro = None  # the driver, built on first use by pressure_pa()
        self._baro_wait = 0  # pressure_pa() calls left before the next probe

        self.transport = transport
        self._uart = None
        self._stdin = None
        self._poll = None
        self._one = bytearray(1)
        self._readinto = False
        if transport == TRANSPORT_UART:
            self._open_uart(board["uart"])
        else:
            self._open_usb()

    # --- what differs by chip (firmware/hal/esp32.py overrides these) -----------------------
    def _adc_scales(self, board):
        # The ADC's reference is the sense supply, but the sense path loses the blocking
        # diode's drop: counts are scaled up by supply / (supply - drop), kept as two ints
        # so continuity_raw() needs no float (65535 * 3300 stays below 2**30).
        self._sense_source_mv = self.sense_supply_mv - board.get("sense_diode_mv", 0)
        if not 0 < self._sense_source_mv <= self.sense_supply_mv < 16384:
            raise ValueError("sense_supply_mv / sense_diode_mv out of range")
        self._vref_mv = board["adc_vref_mv"]
        if not 0 < self._vref_mv < 16384:  # keeps read_u16() * vref below 2**30
            raise ValueError("adc_vref_mv out of range")

    @staticmethod
    def _adc(gpio):
        return ADC(Pin(gpio))

    def _open_button(self, button):
        """The maintenance button: "bootsel", a GPIO number (to ground, pull-up on), or None."""
        self._button_pin = None
        self._bootsel = None  # rp2.bootsel_button, when the button is BOOTSEL
        self._bootsel_pressed = False  # the last BOOTSEL reading
        self._bootsel_next_ms = -1  # when BOOTSEL may be read again (-1: at once)
        if button is None:
            return
        if button == BUTTON_BOOTSEL:
            import rp2

            self._bootsel = getattr(rp2, "bootsel_button", None)  # None before MicroPython 1.20
        elif isinstance(button, int):
            self._button_pin = Pin(button, Pin.IN, Pin.PULL_UP)
        else:
            raise ValueError("maintenance_button must be 'bootsel', a GPIO number or None")

    # --- transports ----------------------------------------------------------------------
    def _open_uart(self, cfg):
        self._uart = UART(
            cfg["id"],
            baudrate=cfg["baud"],
            tx=Pin(cfg["tx"]),
            rx=Pin(cfg["rx"]),
            timeout=0,
            timeout_char=0,
            rxbuf=UART_RXBUF,
            txbuf=UART_TXBUF,
        )
        self._out = self._uart

    def _open_usb(self):
        import select

        import micropython

        micropython.kbd_intr(-1)  # 0x03 in a frame is data, not Ctrl-C
        self._stdin = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._readinto = hasattr(self._stdin, "readinto")
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def _usb_read_into(self, buf):
        # One byte per zero-timeout poll: the stdio stream's multi-byte reads block.
        poll = self._poll
        stdin = self._stdin
        one = self._one
        cap = len(buf)
        n = 0
        while n < cap:
            ready = False
            for _ in poll.ipoll(0):  # ipoll reuses one result tuple: no allocation
                ready = True
            if not ready:
                break
            if self._readinto:
                stdin.readinto(one)
                buf[n] = one[0]
            else:
                buf[n] = stdin.read(1)[0]  # allocates one bytes object per byte
            n += 1
        return n

    def _uart_read_into(self, buf):
        uart = self._uart
        n = uart.any()
        if n <= 0:
            return 0
        cap = len(buf)
        if n > cap:
            n = cap
        got = uart.readinto(buf, n)
        if got is None:  # nothing after all (timeout 0)
            return 0
        return got

    def close(self):
        """Outputs off, Ctrl-C back to the USB REPL, the UART released."""
        self.stop()
        if self._uart is not None and hasattr(self._uart, "deinit"):
            self._uart.deinit()

    # --- the HAL contract ----------------------------------------------------------------
    def fire(self, channel, on):
        """Drive fire output `channel` (0-based) on or off."""
        if channel < 0 or channel >= self.channels:
            raise ValueError("no such channel")
        self._fire[channel].value(self._fire_on if on else self._fire_off)

    def fire_readback(self, channel):
        """True when the channel's switched output is actually energised."""
        return self._readback[channel].value() == self._readback_on

    def continuity_raw(self, channel):
        """The channel's continuity sense node, 0..adc_full_scale of the sense source
        (the sense supply less the blocking diode's drop)."""
        raw = self._cont[channel].read_u16() * self.sense_supply_mv // self._sense_source_mv
        return raw if raw < self.adc_full_scale else self.adc_full_scale

    def arm_key(self):
        """KEY_ON only when the normally-open contact is closed AND the normally-closed one open."""
        no = self._key_no.value()  # 0 = contact closed (to ground), 1 = open (pull-up)
        nc = self._key_nc.value()
        if no == 0 and nc == 1:
            return KEY_ON
        if no == 1 and nc == 0:
            return KEY_OFF
        # Both closed (a short) or both open (broken wire, unplugged key, or the
        # instant of travel between contacts): not ON, and worth a look.
        return KEY_INCONSISTENT

    def battery_mv(self):
        """Firing battery voltage in millivolts, through the board's divider."""
        pin_mv = self._battery.read_u16() * self._vref_mv // self.adc_full_scale
        return pin_mv * self._divider_milli // 1000

    def buzzer(self, on):
        self._buzzer.value(1 if on else 0)

    def led(self, on):
        self._led.value(1 if on else 0)

    def maintenance_button(self):
        """True while the maintenance button is held (False on a board without one)."""
        pin = self._button_pin
        if pin is not None:
            return pin.value() == 0  # the button pulls the pin to ground
        read = self._bootsel
        if read is None:
            return False
        now = self.ticks_ms()
        if self._bootsel_next_ms < 0 or ticks_diff(now, self._bootsel_next_ms) >= 0:
            self._bootsel_next_ms = ticks_add(now, BOOTSEL_POLL_MS)
            self._bootsel_pressed = read() != 0
        return self._bootsel_pressed

    def pressure_pa(self):
        """Barometer reading in pascals; -1 with no barometer or one that does not answer.

        Never raises. A probe that fails is repeated on the BARO_RETRY_CALLS-th call
        after it; a read that fails gives -1 and the next call reads again.
        """
        baro = self._baro
        if baro is None:
            if self._baro_chip is None:
                return -1
            if self._baro_wait > 0:
                self._baro_wait -= 1
                return -1
            try:
                baro = self._open_barometer()
            except Exception:  # no answer, a wrong chip, or no driver module on the board
                self._baro_wait = BARO_RETRY_CALLS - 1
                return -1
            self._baro = baro
        try:
            return baro.read_pressure_pa()
        except Exception:
            return -1

    def _open_barometer(self):
        # Imported here, not at the top: a board without this chip never loads its driver.
        if self._baro_chip == "ms5611":
            from firmware.ms5611 import MS5611

            # no continuous mode: the driver starts each conversion and times it itself
            return MS5611(self.i2c_bus(), self._baro_address, self.ticks_ms)
        if self._baro_chip == "bmp388":
            from firmware.bmp388 import BMP388 as Driver
        else:
            from firmware.bmp280 import BMP280 as Driver
        return Driver(self.i2c_bus(), self._baro_address)

    def i2c_bus(self):
        """The barometer's I2C bus from the board file, built on first use."""
        if self._i2c is None:
            cfg = self.board["i2c"]
            self._i2c = I2C(cfg["id"], sda=Pin(cfg["sda"]), scl=Pin(cfg["scl"]), freq=cfg["freq"])
        return self._i2c

    def serial_read_into(self, buf):
        """Bytes read into buf (0 if none are waiting); never blocks."""
        if self._uart is not None:
            return self._uart_read_into(buf)
        return self._usb_read_into(buf)

    def serial_write(self, buf, n):
        """Write buf[0:n]; returns the bytes accepted (fewer if the UART's queue filled)."""
        got = self._out.write(buf, n)  # the stream's write(buf, max_len): no slice
        if got is None:
            return 0
        return got

    def serial_is_wired(self):
        """True on USB; False on the radio UART (SET_KEY needs a wired link)."""
        return self._uart is None

    def ticks_ms(self):
        return time.ticks_ms()

    def entropy_into(self, buf):
        """Fill buf from os.urandom (the RP2040's ring-oscillator random bit on the rp2 port)."""
        n = len(buf)
        rnd = os.urandom(n)
        for i in range(n):
            buf[i] = rnd[i]

    # --- extras beyond the contract ------------------------------------------------------
    def all_off(self):
        """Every fire output to its off level."""
        for pin in self._fire:
            pin.value(self._fire_off)

    def stop(self, exc=None):
        """Outputs and buzzer off, Ctrl-C back on USB, `exc` (if any) printed: the app is over."""
        self.all_off()
        self.buzzer(False)
        if self._uart is None:
            import micropython

            micropython.kbd_intr(3)  # so a developer can interrupt and fix the board
        if exc is not None and hasattr(sys, "print_exception"):
            sys.print_exception(exc)

    def halt(self, code, exc=None):
        """Never returns: outputs off, Ctrl-C back, LED blinks `code` short flashes per cycle.

        For boot failures (see firmware/main.py). Fire outputs are only ever driven off here.
        """
        self.stop(exc)
        while True:
            for _ in range(code):
                self.led(True)
                time.sleep_ms(_BLINK_ON_MS)
                self.led(False)
                time.sleep_ms(_BLINK_OFF_MS)
            time.sleep_ms(_BLINK_PAUSE_MS)
