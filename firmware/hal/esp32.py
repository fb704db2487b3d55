"""The HAL (see firmware/hal/__init__.py) on an ESP32's `machine` module.

Importing this module first drives every fire pin of the active board file
(firmware/board.py) to its off level, but only when that board names this HAL
("hal": "esp32"): a Pico's board file names pins this chip must not drive. The
constructor does the same for the board it is given before touching anything
else. Only `fire()` ever turns an output on.

Hot paths (`fire`, `fire_readback`, `continuity_raw`, `arm_key`, `battery_mv`,
`maintenance_button`, `pressure_pa` once its driver is built, `serial_read_into`,
`serial_write`, `ticks_ms`) allocate nothing: pins, ADCs and buffers are built once here,
integers stay below 2**30, nothing is sliced.

Esp32Hal is firmware/hal/pico.py's PicoHal (the arm key, the barometer
probing, the USB and UART reads, the maintenance button, halt) with what
differs on this chip, the ADC, the serial writes and the button's kind:

- ADC: ADC1 pins at 11 dB attenuation, read with `read_uv()`, the chip's
  eFuse-calibrated microvolts. Espressif specifies 150..2450 mV at 11 dB;
  outside that window a reading says only "below" or "above". Continuity sense
  nodes come through an amplifier of the board's "continuity_gain", and
  `continuity_raw()` converts back to what `read_u16()` would read at the node
  on a 0..adc_full_scale scale of the sense supply, so firmware/continuity.py
  does the same arithmetic as on the Pico: below the window it returns 0 (a
  short), above it full scale (open).
- Serial writes: the ESP32 port's UART write waits until all its bytes fit
  the driver's queue, and its console (the USB-to-serial bridge on UART0)
  waits on the 128-byte hardware FIFO. `serial_write` therefore keeps its own
  account of what is queued, draining at the line rate by `ticks_ms()`, and
  accepts only what fits: a write returns short instead of blocking.
- Maintenance button: a GPIO number only, the DevKit's BOOT button on GPIO 0
  (active low, with a pull-up on the DevKit; the HAL adds the internal one);
  the ESP32 has no BOOTSEL. GPIO 0 is a strapping pin read at reset: held
  then, it starts the chip's serial bootloader, not the firmware. One caveat:
  the DevKit's auto-reset circuit pulls GPIO 0 low too while the USB-serial
  bridge's DTR is asserted and RTS is not (esptool's bootloader entry); a
  host that holds the port so reads as a held button. pyserial, and so the
  ground station, opens with both asserted, which leaves GPIO 0 alone.

Serial transports:

- "usb": UART0, the DevKit's USB-to-serial bridge that also carries the REPL,
  through `sys.stdin.buffer` / `sys.stdout.buffer` at 115200 baud.
  `micropython.kbd_intr(-1)` is set so a 0x03 byte inside a frame is data,
  not Ctrl-C; nothing may `print()` while the app runs. `close()` (or
  `halt()`) gives Ctrl-C back. Reads never block: a zero-timeout poll, then
  one byte, per byte (the stdio stream's multi-byte reads wait for all of
  them), as on the Pico.
- "uart": UART2 to a radio modem, built with timeout=0; `any()` says how many
  bytes are buffered and `readinto(buf, n)` takes at most that many.

Entropy: `os.urandom` is the ESP32's hardware RNG. Espressif documents it as
truly random while Wi-Fi or Bluetooth runs (or another entropy source is
enabled), and as a pseudo-random generator seeded at boot otherwise; arm
tokens and session nonces need only be unpredictable to someone without the
device key, not secret for ever.
"""

# Safety invariant 1: outputs off before anything else runs. Nothing but the
# Pin class and the board's pin numbers is needed for that, so nothing else
# comes first.
from machine import Pin

try:
    from firmware.board import BOARD as ACTIVE_BOARD
except ImportError:  # no firmware/board.py on this filesystem: no board to drive at import
    ACTIVE_BOARD = None

if ACTIVE_BOARD is not None and ACTIVE_BOARD.get("hal") == "esp32":
    for _n in ACTIVE_BOARD["fire_pins"]:
        # value= is applied before the pin becomes an output: no glitch high.
        Pin(_n, Pin.OUT, value=0 if ACTIVE_BOARD["fire_active_high"] else 1)

# After the outputs are off, on purpose. (Importing the Pico's module drives no pin here:
# it turns outputs off at import only for a board whose "hal" is "pico".)
from machine import ADC

# the module PicoHal's transports run in (the tests swap its sys for a fake console)
from firmware.hal import pico as _pico  # noqa: F401
from firmware.hal.pico import (  # noqa: F401 (main.py reads the blink codes here)
    BARO_CHIPS,
    BARO_RETRY_CALLS,
    BLINK_APP_ENDED,
    BLINK_NO_APP,
    TRANSPORT_UART,
    TRANSPORT_USB,
    UART_TXBUF,
    PicoHal,
)
from protocol.ticks import ticks_diff

CONSOLE_FIFO = 128  # UART0's hardware FIFO: what a console write can take without waiting
CONSOLE_BAUD = 115200  # the ESP32 port's REPL baud rate
BITS_PER_BYTE = 10  # 8N1: start, 8 data, stop

# The ADC's specified window at 11 dB, millivolts (see the module docstring).
ADC_MIN_MV = 150
ADC_MAX_MV = 2450


class Esp32Hal(PicoHal):
    """HAL for an ESP32 pad box. `board` is a board dict (firmware/boards/); transport "usb" or "uart"."""

    def _adc_scales(self, board):
        gain = board.get("continuity_gain", 1)
        # ADC millivolts that stand for the sense source at the node (the supply less
        # its blocking diode's drop), and the scale: mv * full // span stays below 2**30
        # for any mv the ADC gives.
        self._cont_span_mv = gain * (self.sense_supply_mv - board.get("sense_diode_mv", 0))
        if not 0 < self.adc_full_scale < 65536 or self._cont_span_mv <= 0:
            raise ValueError("continuity scale out of range")

    @staticmethod
    def _adc(gpio):
        adc = ADC(Pin(gpio))
        adc.atten(ADC.ATTN_11DB)  # the 150..2450 mV window
        return adc

    def _open_button(self, button):
        if button == "bootsel":
            # the ESP32's BOOT button is a GPIO (0 on the DevKit)
            raise ValueError("the ESP32 has no BOOTSEL: maintenance_button must be a GPIO")
        PicoHal._open_button(self, button)

    # --- transports: the write account ---------------------------------------------------
    def _open_uart(self, cfg):
        PicoHal._open_uart(self, cfg)
        self._start_account(UART_TXBUF, cfg["baud"] // BITS_PER_BYTE)

    def _open_usb(self):
        PicoHal._open_usb(self)
        self._start_account(CONSOLE_FIFO, CONSOLE_BAUD // BITS_PER_BYTE)

    def _start_account(self, room, bytes_per_s):
        self._tx_room = room
        self._tx_bytes_per_s = bytes_per_s
        # thousandths of a byte queued as of _tx_mark_ms (so the fraction of a byte
        # drained in a millisecond is kept, not lost)
        self._tx_queued_milli = 0
        self._tx_mark_ms = 0

    def _tx_free(self):
        """Bytes the line can take now without the port's write waiting."""
        now = self.ticks_ms()
        elapsed = ticks_diff(now, self._tx_mark_ms)
        self._tx_mark_ms = now
        if elapsed < 0 or elapsed > 1000:  # a second is longer than any queue takes to drain
            self._tx_queued_milli = 0
        else:
            # bytes per second times milliseconds: thousandths of a byte, exactly
            queued = self._tx_queued_milli - elapsed * self._tx_bytes_per_s
            self._tx_queued_milli = queued if queued > 0 else 0
        return self._tx_room - (self._tx_queued_milli + 999) // 1000

    def serial_write(self, buf, n):
        """Write buf[0:n]; returns the bytes accepted, fewer (or 0) while the line's queue is full."""
        free = self._tx_free()
        if n > free:
            n = free
        if n <= 0:
            return 0
        got = PicoHal.serial_write(self, buf, n)
        self._tx_queued_milli += got * 1000
        return got

    # --- the ADC window ------------------------------------------------------------------
    def continuity_raw(self, channel):
        """The channel's sense node on a 0..adc_full_scale scale of the sense source.

        0 below the ADC's window (a short: under 0.3 ohm on the DevKit board),
        adc_full_scale above it (open: over about 5.5 ohm there).
        """
        mv = self._cont[channel].read_uv() // 1000
        if mv < ADC_MIN_MV:
            return 0
        full = self.adc_full_scale
        if mv >= ADC_MAX_MV:
            return full
        raw = mv * full // self._cont_span_mv
        return raw if raw < full else full

    def battery_mv(self):
        """Firing battery voltage in millivolts, through the board's divider (0 below the ADC's window)."""
        mv = self._battery.read_uv() // 1000
        if mv < ADC_MIN_MV:
            return 0
        return mv * self._divider_milli // 1000
