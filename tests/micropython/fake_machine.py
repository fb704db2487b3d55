"""A fake `machine` module (Pin, ADC, I2C, UART) for testing firmware/hal/pico.py and esp32.py.

Runs on MicroPython and CPython. Call `install()` before importing
firmware.hal.pico so its `from machine import ...` finds this module.

Two chip flavours, chosen by `reset(chip)`: "rp2" (the default, so a bare
`reset()` is the RP2040) and "esp32". The ESP32 flavour checks pins the way
that port does, a little more strictly: GPIO 20, 24 and 28..31 do not exist
and 6..11 (the module's flash) are refused; 34..39 are input only and have no
pulls; an ADC works on ADC1 (32..39) and ADC2 pins, takes atten()/width(), and
reads `read_uv()` (calibrated microvolts) and `read_u16()` (uncalibrated) from
the voltage a test puts on the pin with `set_adc_uv()`, clamped to what the
chip reads at the ADC's attenuation (at 11 dB: 142 mV however low the input,
3.13 V however high); `unique_id()` is 6 bytes (the MAC); a UART write that
does not fit the driver's queue counts in the UART's `blocked_writes` (the
port would wait there). `FakeConsole` stands in for sys.stdin/sys.stdout and
the `select` and `micropython` modules of the USB-serial REPL.

I2C devices are models a test attaches with `add_i2c_device(address,
device)`: `BMP280Model` and `BMP388Model` (register files) and `MS5611Model`
(a command set) hold trimming values and readings with known compensated
results. Every fake bus sees the same devices; an address nobody answers (or
a device with `fail` set) raises OSError(EIO), as the rp2 port does for a
NACK. Transfers allocate nothing, so a driver's read path can run under
mptest.no_alloc.

A fake millisecond clock (`ticks_ms`, `advance_ms`, `set_ticks_ms`), wrapping
at 2**30 like MicroPython's, times the MS5611 model's conversions; a driver
under test is given `ticks_ms` as its clock.

Every pin event is logged in order, with its ordinal (its index in the log):
an output latch write (EV_VALUE), a pin configured as input or output
(EV_MODE), and a pin handed to the ADC (EV_ADC) or to a bus (EV_BUS). A test
can therefore check that the fire pins were driven low before anything else
happened. The log is three preallocated bytearrays, so writing a pin while
the heap is locked (mptest.no_alloc) records it without allocating.

A fake `rp2` module (`rp2`, put in place by `install()`) has the rp2 port's
`bootsel_button()`: 1 while a test holds BOOTSEL with `set_bootsel(True)`, else
0; `rp2.reads` counts the calls, each of which stalls the real chip's flash.

Pins share state by GPIO number, like the RP2040's: Pin(16) made twice is the
same pin. An input reads the level a test drives onto it (`set_input`), else
its pull (1 for PULL_UP, 0 otherwise).
"""

import sys

from protocol.compat import copy_into

N_PINS = 40  # the ESP32's GPIO0..GPIO39 (the RP2040's GP0..GP29 fit)
RP2_PINS = 32  # GP0..GP29 plus headroom, as before the ESP32 flavour
ESP32_MISSING = (20, 24, 28, 29, 30, 31)
ESP32_FLASH = (6, 7, 8, 9, 10, 11)
ESP32_INPUT_ONLY_FROM = 34  # 34..39: input only, no pulls
ESP32_ADC1 = (32, 33, 34, 35, 36, 37, 38, 39)
ESP32_ADC2 = (0, 2, 4, 12, 13, 14, 15, 25, 26, 27)
# What calibrated read_uv() gives at each attenuation (ATTN_0DB..ATTN_11DB), in
# microvolts: (the reading for any input at or below it, the reading it saturates at).
ESP32_ADC_UV_RANGE = ((75000, 1000000), (78000, 1300000), (107000, 1900000), (142000, 3130000))
LOG_SIZE = 512

# Event kinds in the log.
EV_VALUE = 1  # output latch written; value = 0 or 1
EV_MODE = 2  # pin configured; value = Pin.IN / Pin.OUT / Pin.OPEN_DRAIN
EV_ADC = 3  # pin handed to the ADC; value = 0
EV_BUS = 4  # pin handed to an I2C or UART peripheral; value = 0

UNSET = 0xFF  # pin mode never configured / input not driven by the test

_log_kind = bytearray(LOG_SIZE)
_log_pin = bytearray(LOG_SIZE)
_log_val = bytearray(LOG_SIZE)
_count = [0, 0]  # [events logged, events dropped because the log was full]

_mode = bytearray(N_PINS)
_pull = bytearray(N_PINS)
_latch = bytearray(N_PINS)
_ext = bytearray(N_PINS)
_adc = [0] * N_PINS
_adc_uv = [0] * N_PINS  # ESP32 flavour: the pin's voltage, microvolts
_chip = ["rp2"]

uarts = {}  # UART id -> the last FakeUART made with it
i2cs = {}  # I2C id -> the last I2C made with it
adcs = {}  # GPIO -> the last ADC made on it
i2c_devices = {}  # 7-bit address -> register model answering there, on every fake bus

EIO = 5  # errno of an I2C transfer the device did not acknowledge

TICKS_MAX = (1 << 30) - 1  # time.ticks_ms() wraps at 2**30 on a 32-bit port
_TICKS_HALF = 1 << 29
_clock = [0]  # the fake clock, milliseconds


class _Rp2:
    """The `rp2` module's bootsel_button() (MicroPython 1.20 and later)."""

    def __init__(self):
        self.pressed = 0
        self.reads = 0  # bootsel_button() calls

    def bootsel_button(self):
        self.reads += 1
        return self.pressed


rp2 = _Rp2()


def _record(kind, pin, value):
    n = _count[0]
    if n < LOG_SIZE:
        _log_kind[n] = kind
        _log_pin[n] = pin
        _log_val[n] = value
        _count[0] = n + 1
    else:
        _count[1] += 1


def reset(chip="rp2"):
    """Forget everything: pins unconfigured and undriven, ADCs at 0, no peripherals, empty log.

    `chip` is the flavour from now on: "rp2" or "esp32".
    """
    if chip not in ("rp2", "esp32"):
        raise ValueError("chip must be 'rp2' or 'esp32'")
    _chip[0] = chip
    for i in range(N_PINS):
        _adc_uv[i] = 0
        _mode[i] = UNSET
        _pull[i] = 0
        _latch[i] = 0
        _ext[i] = UNSET
        _adc[i] = 0
    uarts.clear()
    i2cs.clear()
    adcs.clear()
    i2c_devices.clear()
    _clock[0] = 0
    rp2.pressed = 0
    rp2.reads = 0
    clear_log()


def clear_log():
    _count[0] = 0
    _count[1] = 0


def mark():
    """The ordinal the next event will get (use with events(start))."""
    return _count[0]


def events(start=0):
    """Logged events from ordinal `start` on, as (ordinal, kind, pin, value) tuples."""
    if _count[1]:
        raise AssertionError("fake_machine log overflowed (%d events dropped)" % _count[1])
    return [(i, _log_kind[i], _log_pin[i], _log_val[i]) for i in range(start, _count[0])]


def install():
    """Make `import machine` return this module (and `import rp2` the fake rp2); returns it."""
    module = sys.modules[__name__]
    sys.modules["machine"] = module
    sys.modules["rp2"] = rp2
    return module


# --- what a test drives and inspects ---------------------------------------------------------
def set_input(gpio, level):
    """Drive `level` (0/1) onto a pin from outside; None lets it float (its pull decides)."""
    _ext[gpio] = UNSET if level is None else (1 if level else 0)


def set_bootsel(pressed):
    """Hold (True) or release (False) the RP2040's BOOTSEL button."""
    rp2.pressed = 1 if pressed else 0


def set_adc(gpio, raw):
    """The value ADC.read_u16() returns for the ADC on `gpio`."""
    _adc[gpio] = raw


def set_adc_uv(gpio, uv):
    """ESP32 flavour: the voltage on `gpio` in microvolts, what its ADC converts."""
    _adc_uv[gpio] = uv


def chip():
    return _chip[0]


def latch(gpio):
    """The output latch of a pin (what the pin drives when it is an output)."""
    return _latch[gpio]


def refused_with_outputs_off(chip, fire_pins, hal_class, board, transport):
    """On a reset `chip` with every fire pin driven high, hal_class(board, transport) must
    raise ValueError and leave every one of those pins driven low (an active-high board)."""
    reset(chip)
    for gpio in fire_pins:
        Pin(gpio, Pin.OUT, value=1)
    try:
        hal_class(board, transport)
    except ValueError:
        pass
    else:
        raise AssertionError("%s(%r) did not raise ValueError" % (hal_class.__name__, transport))
    for gpio in fire_pins:
        assert _latch[gpio] == 0, gpio


def assert_inputs_and_indicators(board):
    """What every HAL's constructor sets up from `board`: readbacks as plain inputs (their
    level shifter defines the level), both arm-key contacts pulled up, buzzer and LED off."""
    for gpio in board["fire_readback_pins"]:
        assert _mode[gpio] == Pin.IN and _pull[gpio] == 0, gpio
    key = board["arm_key_pins"]
    for gpio in (key["no"], key["nc"]):
        assert _mode[gpio] == Pin.IN and _pull[gpio] == Pin.PULL_UP, gpio
    for gpio in (board["buzzer_pin"], board["led_pin"]):
        assert _mode[gpio] == Pin.OUT and _latch[gpio] == 0, gpio


def mode(gpio):
    """Pin.IN / Pin.OUT / Pin.OPEN_DRAIN, or UNSET if the pin was never configured."""
    return _mode[gpio]


def pull(gpio):
    """Pin.PULL_UP / Pin.PULL_DOWN, or 0 for none."""
    return _pull[gpio]


def add_i2c_device(address, device):
    """Attach a register model (e.g. BMP388Model()) at `address`; returns it."""
    i2c_devices[address] = device
    return device


def ticks_ms():
    """The fake clock, like time.ticks_ms() (0 after reset())."""
    return _clock[0]


def advance_ms(ms):
    """Move the fake clock on by `ms` milliseconds, wrapping like time.ticks_ms()."""
    _clock[0] = (_clock[0] + ms) & TICKS_MAX


def set_ticks_ms(ms):
    _clock[0] = ms & TICKS_MAX


def _ticks_diff(later, earlier):
    return ((later - earlier + _TICKS_HALF) & TICKS_MAX) - _TICKS_HALF


def unique_id():
    """A fixed 8-byte board id, like the RP2040 flash chip's; on the ESP32 a 6-byte MAC."""
    if _chip[0] == "esp32":
        return b"\x24\x0a\xc4\x12\x34\x56"
    return b"\xc0\xa1\x00\x0d\x00\x00\x00\x01"


def _gpio_of(pin):
    return pin.id if isinstance(pin, Pin) else pin


# --- machine API -----------------------------------------------------------------------------
class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=None, *, value=None):
        if _chip[0] == "esp32":
            if not 0 <= id < N_PINS or id in ESP32_MISSING:
                raise ValueError("invalid pin")
            if id in ESP32_FLASH:
                raise ValueError("GPIO%d is the module's SPI flash" % id)
        elif not 0 <= id < RP2_PINS:
            raise ValueError("invalid pin")
        self.id = id
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=None, *, value=None):
        if _chip[0] == "esp32" and self.id >= ESP32_INPUT_ONLY_FROM:
            if mode not in (-1, Pin.IN):
                raise ValueError("pin can only be input")
            if pull is not None:
                raise ValueError("GPIO%d has no pull-up or pull-down" % self.id)
        # Like the rp2 and esp32 ports: the latch is set before the pin becomes an output.
        if value is not None:
            self._write(value)
        if mode != -1:
            _pull[self.id] = 0 if pull is None else pull
            _mode[self.id] = mode
            _record(EV_MODE, self.id, mode)

    def _write(self, v):
        level = 1 if v else 0
        _latch[self.id] = level
        _record(EV_VALUE, self.id, level)

    def value(self, v=None):
        if v is not None:
            self._write(v)
            return None
        gpio = self.id
        if _mode[gpio] == Pin.OUT:
            return _latch[gpio]
        if _ext[gpio] != UNSET:
            return _ext[gpio]
        return 1 if _pull[gpio] == Pin.PULL_UP else 0

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self._write(1)

    def off(self):
        self._write(0)


class ADC:
    ATTN_0DB = 0  # the ESP32 flavour's attenuations and widths
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 0
    WIDTH_10BIT = 1
    WIDTH_11BIT = 2
    WIDTH_12BIT = 3

    def __init__(self, source):
        gpio = _gpio_of(source)
        if _chip[0] == "esp32":
            if gpio not in ESP32_ADC1 and gpio not in ESP32_ADC2:
                raise ValueError("invalid Pin for ADC")
            self.block = 1 if gpio in ESP32_ADC1 else 2
        else:
            if 0 <= gpio <= 3:  # a channel number, as on the rp2 port
                gpio += 26
            if not 26 <= gpio <= 29:
                raise ValueError("Pin doesn't have ADC capabilities")
            self.block = 0
        self.gpio = gpio
        self._atten = ADC.ATTN_0DB  # the esp32 port's default
        self._width = ADC.WIDTH_12BIT
        adcs[gpio] = self
        _record(EV_ADC, gpio, 0)

    def atten(self, atten):
        if _chip[0] != "esp32":
            raise AttributeError("atten")  # the rp2 ADC has none
        if not 0 <= atten <= 3:
            raise ValueError("invalid atten")
        self._atten = atten

    def width(self, width):
        if _chip[0] != "esp32":
            raise AttributeError("width")
        if not 0 <= width <= 3:
            raise ValueError("invalid width")
        self._width = width

    def read_uv(self):
        """ESP32 flavour: calibrated microvolts, clamped to the attenuation's range."""
        if _chip[0] != "esp32":
            raise AttributeError("read_uv")  # (the rp2 port has one; pico.py does not use it)
        low, high = ESP32_ADC_UV_RANGE[self._atten]
        uv = _adc_uv[self.gpio]
        if uv < low:
            return low
        if uv > high:
            return high
        return uv

    def read_u16(self):
        if _chip[0] != "esp32":
            return _adc[self.gpio]
        # Uncalibrated: the 12-bit raw reading across the attenuation's range, scaled to 16 bits.
        low, high = ESP32_ADC_UV_RANGE[self._atten]
        raw12 = (self.read_uv() - low) * 4095 // (high - low)
        return raw12 * 65535 // 4095


class I2C:
    def __init__(self, id, *, scl=None, sda=None, freq=400000, timeout=50000):
        self.id = id
        self.scl = _gpio_of(scl)
        self.sda = _gpio_of(sda)
        self.freq = freq
        for gpio in (self.sda, self.scl):
            if gpio is not None:
                _record(EV_BUS, gpio, 0)
        i2cs[id] = self

    def scan(self):
        return sorted(i2c_devices)

    def _device(self, addr):
        dev = i2c_devices.get(addr)
        if dev is None or dev.fail:
            raise OSError(EIO)
        return dev

    def readfrom_mem_into(self, addr, memaddr, buf):
        self._device(addr).read_into(memaddr, buf)

    def writeto_mem(self, addr, memaddr, buf):
        self._device(addr).write(memaddr, buf)

    def writeto(self, addr, buf, stop=True):
        """A plain write; returns the bytes acknowledged, as machine.I2C does."""
        return self._device(addr).write_bytes(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._device(addr).read_bytes(buf)


# --- I2C register models -----------------------------------------------------------------------
class RegisterDevice:
    """A 256-byte register file; every register write is recorded as (register, bytes).

    A plain write (I2C.writeto) sets the register pointer with its first byte
    and writes any others from there; a plain read (I2C.readfrom_into) reads
    from the pointer on. A pointer-only write changes nothing and is not
    recorded.
    """

    def __init__(self):
        self.regs = bytearray(256)
        self.writes = []
        self.pointer = 0
        self.fail = False  # True: the device stops answering (OSError on every transfer)

    def write_bytes(self, buf):
        n = len(buf)
        if n:
            self.pointer = buf[0]
        if n > 1:
            self.write(self.pointer, bytes(buf)[1:])
        return n

    def read_bytes(self, buf):
        self.read_into(self.pointer, buf)

    def read_into(self, reg, buf):
        regs = self.regs
        for i in range(len(buf)):
            buf[i] = regs[(reg + i) & 0xFF]

    def write(self, reg, buf):
        self.writes.append((reg, bytes(buf)))
        for i in range(len(buf)):
            self.regs[(reg + i) & 0xFF] = buf[i]
            self.written(reg + i)

    def written(self, reg):
        """Called after each register write; models override it to react."""


class BMP280Model(RegisterDevice):
    """A BMP280 with the datasheet's example trimming values and reading: 100656 Pa, 25.08 degC."""

    CALIB = (
        b"\x70\x6b\x43\x67\x18\xfc\x7d\x8e\x43\xd6\xd0\x0b"
        b"\x27\x0b\x8c\x00\xf9\xff\x8c\x3c\xf8\xc6\x70\x17"
    )
    PRESSURE_PA = 100656

    def __init__(self, chip_id=0x58):
        RegisterDevice.__init__(self)
        self.regs[0xD0] = chip_id
        for i in range(24):
            self.regs[0x88 + i] = self.CALIB[i]
        self.set_adc(415148, 519888)

    def set_adc(self, adc_p, adc_t):
        """The 20-bit raw readings, left-aligned in press_msb..temp_xlsb (0xF7..0xFC)."""
        r = self.regs
        r[0xF7] = adc_p >> 12
        r[0xF8] = (adc_p >> 4) & 0xFF
        r[0xF9] = (adc_p & 0xF) << 4
        r[0xFA] = adc_t >> 12
        r[0xFB] = (adc_t >> 4) & 0xFF
        r[0xFC] = (adc_t & 0xF) << 4


class BMP388Model(RegisterDevice):
    """A BMP388 with one real part's trimming values and a reading it gave.

    The datasheet's double-precision formulas give 100876.006 Pa and 30.4993
    degC for it. Entering normal mode checks the OSR/ODR pair the way the chip
    does: a conversion time (datasheet section 3.9.2) that does not fit the ODR
    period sets conf_err in ERR_REG and drops back to sleep; a pair that fits
    has its first conversion in at once (STATUS drdy_press and drdy_temp set).
    """

    CALIB = b"\x23\x6b\x58\x49\xf6\x5c\xff\xce\xf4\x23\x00\xea\x63\x6e\x79\xf3\xf6\xaa\x43\x12\xc4"
    PRESSURE_PA = 100876
    TEMPERATURE_CENTI_C = 3050

    def __init__(self, chip_id=0x50):
        RegisterDevice.__init__(self)
        self.regs[0x00] = chip_id
        for i in range(21):
            self.regs[0x31 + i] = self.CALIB[i]
        self.regs[0x1C] = 0x02  # reset values: OSR pressure x4, ODR 200 Hz
        self.set_adc(7184279, 8771699)

    def set_adc(self, adc_p, adc_t):
        """The 24-bit raw readings, little-endian at 0x04..0x06 and 0x07..0x09."""
        r = self.regs
        r[0x04] = adc_p & 0xFF
        r[0x05] = (adc_p >> 8) & 0xFF
        r[0x06] = adc_p >> 16
        r[0x07] = adc_t & 0xFF
        r[0x08] = (adc_t >> 8) & 0xFF
        r[0x09] = adc_t >> 16

    def conversion_us(self):
        """Measurement time for the enabled channels at the current OSR (datasheet 3.9.2)."""
        pwr = self.regs[0x1B]
        osr = self.regs[0x1C]
        us = 234
        if pwr & 0x01:
            us += 392 + (1 << (osr & 0x07)) * 2020
        if pwr & 0x02:
            us += 163 + (1 << ((osr >> 3) & 0x07)) * 2020
        return us

    def period_us(self):
        return 5000 << (self.regs[0x1D] & 0x1F)

    def normal_mode(self):
        return (self.regs[0x1B] >> 4) & 0x03 == 0x03

    def written(self, reg):
        if reg != 0x1B or not self.normal_mode():
            return
        if self.conversion_us() >= self.period_us():
            self.regs[0x02] |= 0x04  # conf_err
            self.regs[0x1B] &= 0x03  # back to sleep, the enable bits kept
        else:
            self.regs[0x03] |= 0x60  # drdy_press, drdy_temp


def ms5611_crc4(prom):
    """The PROM CRC-4 of application note AN520 (word 7's low byte, where it goes, read as 0)."""
    rem = 0
    for i in range(16):
        if i == 15:
            byte = 0
        elif i % 2:
            byte = prom[i // 2] & 0xFF
        else:
            byte = prom[i // 2] >> 8
        rem ^= byte
        for _ in range(8):
            rem = (rem << 1) ^ 0x3000 if rem & 0x8000 else rem << 1
            rem &= 0xFFFF  # AN520's 32-bit remainder: higher bits never reach bits 12..15
    return rem >> 12


class MS5611Model:
    """An MS5611: one-byte commands, a PROM with a valid CRC-4, conversions that take time.

    Holds the datasheet's example: C1..C6 = 40127, 36924, 23317, 23282,
    33464, 28312 and D1 = 9085466, D2 = 8569150, which compensate to 100009
    Pa (1000.09 mbar) and 2007 (20.07 degC).

    Timed on the fake clock: a conversion takes the datasheet's maximum for
    its OSR and the reset's PROM reload 2.8 ms, counted from the end of the
    millisecond the command came in (the worst case for a driver reading
    whole-millisecond ticks). A conversion's reading is the raw value set
    when it started. What the datasheet says spoils a result counts in
    `violations`: an ADC read before the conversion is done (which returns 0,
    and the conversion's result is then wrong), and any command while a
    conversion or the reload runs. An ADC read with no finished conversion
    returns 0 and counts in `empty_reads`. Counters and the command log are
    preallocated, so nothing here allocates.
    """

    C = (40127, 36924, 23317, 23282, 33464, 28312)
    D1 = 9085466
    D2 = 8569150
    PRESSURE_PA = 100009
    TEMPERATURE_CENTI_C = 2007
    CONVERSION_US = (600, 1170, 2280, 4540, 9040)  # OSR 256, 512, 1024, 2048, 4096
    RESET_US = 2800
    LOG_SIZE = 4096

    _IDLE = 0
    _RESET = 1
    _CONVERTING = 2

    def __init__(self, prom=None):
        if prom is None:
            prom = [0x0C1A] + list(self.C) + [0x9A40]  # factory word, C1..C6, serial (and CRC)
            prom[7] |= ms5611_crc4(prom)
        self.prom = list(prom)
        self.fail = False
        self.d1 = self.D1
        self.d2 = self.D2
        self._op = self._IDLE
        self._op_start = 0
        self._op_us = 0
        self._converting = 0  # the raw value of the conversion running, as it will come out
        self._result = -1  # the finished conversion's value, until an ADC read takes it
        self._out = bytearray(3)  # what the next read returns
        self._out_len = 0
        self._log = bytearray(self.LOG_SIZE)
        self.command_count = 0
        self.violations = 0
        self.empty_reads = 0
        self.adc_reads = 0
        self.conversions_d1 = 0
        self.conversions_d2 = 0
        self.resets = 0

    def set_adc(self, d1, d2):
        """The raw readings conversions started from now on give."""
        self.d1 = d1
        self.d2 = d2

    def corrupt_crc(self):
        self.prom[7] ^= 0x5

    def lose_result(self):
        """Forget the finished or running conversion, as a brown-out reset would."""
        self._op = self._IDLE
        self._result = -1

    def commands(self):
        """The command bytes received so far, in order (the first LOG_SIZE)."""
        return list(self._log[: min(self.command_count, self.LOG_SIZE)])

    def _busy(self):
        if self._op == self._IDLE:
            return False
        if (_ticks_diff(_clock[0], self._op_start) - 1) * 1000 < self._op_us:
            return True
        if self._op == self._CONVERTING:
            self._result = self._converting
        self._op = self._IDLE
        return False

    def _answer(self, value, nbytes):
        for i in range(nbytes):
            self._out[i] = (value >> (8 * (nbytes - 1 - i))) & 0xFF
        self._out_len = nbytes

    def command(self, cmd):
        n = self.command_count
        if n < self.LOG_SIZE:
            self._log[n] = cmd
        self.command_count = n + 1
        busy = self._busy()
        if busy:
            self.violations += 1
            self._converting ^= 0x5A5A5A  # "the final result will be wrong"
        self._out_len = 0
        if cmd == 0x1E:
            self.resets += 1
            self._op = self._RESET
            self._op_start = _clock[0]
            self._op_us = self.RESET_US
            self._result = -1
        elif cmd == 0x00:
            self.adc_reads += 1
            if busy or self._result < 0:
                if not busy:
                    self.empty_reads += 1
                self._answer(0, 3)
            else:
                self._answer(self._result, 3)
            self._result = -1
        elif 0xA0 <= cmd <= 0xAE and cmd % 2 == 0:
            self._answer(self.prom[(cmd - 0xA0) // 2], 2)
        elif cmd & 0xE0 == 0x40 and cmd & 0x0F <= 8 and cmd % 2 == 0:
            if cmd & 0x10:
                self.conversions_d2 += 1
                self._converting = self.d2
            else:
                self.conversions_d1 += 1
                self._converting = self.d1
            if busy:
                self._converting ^= 0x5A5A5A
            self._op = self._CONVERTING
            self._op_start = _clock[0]
            self._op_us = self.CONVERSION_US[(cmd & 0x0F) // 2]
            self._result = -1
        # any other byte is no command: the reads after it return zeros

    # I2C transfers
    def write_bytes(self, buf):
        if len(buf):
            self.command(buf[0])
        return len(buf)

    def read_bytes(self, buf):
        out = self._out
        for i in range(len(buf)):
            buf[i] = out[i] if i < self._out_len else 0
        self._out_len = 0

    def read_into(self, reg, buf):
        """readfrom_mem_into: `reg` goes out as a command, then the read."""
        self.command(reg)
        self.read_bytes(buf)

    def write(self, reg, buf):
        """writeto_mem: `reg` is the command byte; the chip ignores the bytes after it."""
        self.command(reg)


class UART:
    """A UART whose receive line a test fills with `feed()` and whose output is `written()`."""

    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, **kw):
        self.id = id
        self.baudrate = baudrate
        self.bits = bits
        self.parity = parity
        self.stop = stop
        self.tx = _gpio_of(kw.get("tx"))
        self.rx = _gpio_of(kw.get("rx"))
        self.timeout = kw.get("timeout", 0)
        self.timeout_char = kw.get("timeout_char", 0)
        self.rxbuf = kw.get("rxbuf", 256)
        self.txbuf = kw.get("txbuf", 256)
        for gpio in (self.tx, self.rx):
            if gpio is not None:
                _record(EV_BUS, gpio, 0)
        self._rx = bytearray(4096)
        self._rx_head = 0  # next byte to read
        self._rx_tail = 0  # one past the last byte fed
        self._tx = bytearray(16384)  # room for a few seconds of a 115200-baud stream
        self._tx_len = 0
        self.tx_room = -1  # bytes write() accepts per call (-1: all)
        self.closed = False
        # ESP32 flavour: the driver's queue drains at the line rate on the fake
        # clock, and a write that does not fit is one the port would wait on.
        self._drain = _Drain(self.txbuf, baudrate)
        self.blocked_writes = 0
        uarts[id] = self

    # test side
    def feed(self, data):
        for b in data:
            self._rx[self._rx_tail] = b
            self._rx_tail += 1

    def written(self):
        return bytes(self._tx[: self._tx_len])

    # machine.UART side
    def any(self):
        return self._rx_tail - self._rx_head

    def readinto(self, buf, nbytes=-1):
        n = len(buf)
        if 0 <= nbytes < n:
            n = nbytes
        avail = self._rx_tail - self._rx_head
        if n > avail:
            n = avail
        if n == 0:
            return None  # what a UART with timeout=0 returns when nothing arrived
        head = self._rx_head
        copy_into(buf, 0, self._rx, head, n)
        self._rx_head = head + n
        return n

    def read(self, nbytes=-1):
        avail = self._rx_tail - self._rx_head
        if avail == 0:
            return None
        if nbytes < 0 or nbytes > avail:
            nbytes = avail
        buf = bytearray(nbytes)
        self.readinto(buf)
        return bytes(buf)

    def write(self, buf, max_len=-1):
        n = len(buf)
        if 0 <= max_len < n:
            n = max_len
        if 0 <= self.tx_room < n:
            n = self.tx_room
        if n == 0:
            return None  # nothing accepted (EAGAIN)
        if _chip[0] == "esp32" and not self._drain.add(n):
            self.blocked_writes += 1
        base = self._tx_len
        copy_into(self._tx, base, buf, 0, n)
        self._tx_len = base + n
        return n

    def deinit(self):
        self.closed = True


class _Drain:
    """A transmit queue of `capacity` bytes emptied at `baud` (8N1) on the fake clock.

    Counted in thousandths of a byte so a fraction drained is kept; nothing allocates.
    """

    def __init__(self, capacity, baud):
        self.capacity_milli = capacity * 1000
        self.milli_per_ms = baud // 10  # bytes per second / 1000 ms * 1000
        self.queued_milli = 0
        self.mark_ms = _clock[0]

    def add(self, n):
        """Queue n bytes; False if they did not all fit (the port would have waited)."""
        elapsed = _ticks_diff(_clock[0], self.mark_ms)
        self.mark_ms = _clock[0]
        if elapsed > 10000:
            elapsed = 10000
        q = self.queued_milli - elapsed * self.milli_per_ms
        if q < 0:
            q = 0
        q += n * 1000
        fits = q <= self.capacity_milli
        self.queued_milli = q
        return fits


# --- the USB-serial console (sys.stdin / sys.stdout, select, micropython) ----------------------


class FakeConsole:
    """The REPL's serial port as a HAL sees it, for a test to put in place of the real modules.

    `sys` is an object with `stdin` and `stdout` (each with `.buffer`, itself);
    `select` and `micropython` are module stand-ins: `select.poll()` gives a
    poller whose `ipoll(0)` reports the stdin ready while a fed byte waits, and
    `micropython.kbd_intr(c)` is logged in `kbd_intr_calls`. The input side
    counts in `blocked_reads` every read the real stream would have waited on
    (asking for more bytes than wait); the output side drains a hardware FIFO
    of `fifo` bytes at `baud` on the fake clock and counts in `blocked_writes`
    every write that did not fit. Nothing allocates on the read and write paths.
    """

    POLLIN = 1

    def __init__(self, fifo=128, baud=115200):
        self.stdin = _ConsoleIn()
        self.stdout = _ConsoleOut(fifo, baud)
        self.sys = _Namespace()
        self.sys.stdin = self.stdin
        self.sys.stdout = self.stdout
        self.select = _Namespace()
        self.select.POLLIN = self.POLLIN
        self.select.poll = self._poll
        self.micropython = _Namespace()
        self.micropython.kbd_intr = self._kbd_intr
        self.kbd_intr_calls = []
        self.poller = None

    def _poll(self):
        self.poller = _ConsolePoll(self.stdin)
        return self.poller

    def _kbd_intr(self, c):
        self.kbd_intr_calls.append(c)

    def feed(self, data):
        self.stdin.feed(data)

    def written(self):
        return self.stdout.written()


class _Namespace:
    pass


class _ConsoleIn:
    def __init__(self):
        self.buffer = self
        self._rx = bytearray(4096)
        self._head = 0
        self._tail = 0
        self.blocked_reads = 0

    def feed(self, data):
        for b in data:
            self._rx[self._tail] = b
            self._tail += 1

    def waiting(self):
        return self._tail - self._head

    def readinto(self, buf):
        n = len(buf)
        if n > self._tail - self._head:
            self.blocked_reads += 1  # the real stream would wait for the rest
            n = self._tail - self._head
        copy_into(buf, 0, self._rx, self._head, n)
        self._head += n
        return n


class _ConsolePoll:
    def __init__(self, stdin):
        self._stdin = stdin
        self.registered = []
        self._ready = ((stdin, FakeConsole.POLLIN),)  # built once, like ipoll's reused tuple

    def register(self, obj, mask):
        self.registered.append((obj, mask))

    def ipoll(self, timeout_ms=-1):
        if timeout_ms != 0:
            raise AssertionError("a poll that may wait (timeout %r)" % (timeout_ms,))
        if self._stdin.waiting() > 0:
            return self._ready
        return ()


class _ConsoleOut:
    def __init__(self, fifo, baud):
        self.buffer = self
        self._tx = bytearray(4096)
        self._len = 0
        self._drain = _Drain(fifo, baud)
        self.blocked_writes = 0

    def write(self, buf, max_len=-1):
        n = len(buf)
        if 0 <= max_len < n:
            n = max_len
        if not self._drain.add(n):
            self.blocked_writes += 1
        copy_into(self._tx, self._len, buf, 0, n)
        self._len += n
        return n

    def written(self):
        return bytes(self._tx[: self._len])


reset()
