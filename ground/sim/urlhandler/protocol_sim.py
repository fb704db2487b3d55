"""`sim://`: a simulated pad box in-process, as a pyserial port.

    serial.serial_for_url("sim://?ch1=ematch&ch2=open&key=on&seed=1", timeout=0.1)

Query options (all optional; they mirror `coalwood sim`):

    ch1..ch8      igniter preset per channel (default: ch1=ematch, ch2=ematch; the
                  board has as many channels as the highest chN given, at least 2)
    key           on | off: the arm key at power-up
    seed          integer: repeatable session nonce, tokens, ADC noise and faults
    flip_rate     0..1: per byte, probability of flipping one bit (both directions)
    drop_rate     0..1: per byte, probability of losing the byte (both directions)
    device_key    64 hex digits: the device requires MACs (authenticated mode)
    storage       folder for the board's files (default: a temporary folder)
    radio         1: the link is a radio, not a cable (SET_KEY is refused)
    baud          nominal baud rate reported by the port. In-process the bytes are NOT
                  rate limited (the pty server `coalwood sim` is); this only sets .baudrate
    disconnect_after  seconds: then the port vanishes (reads and writes raise
                  SerialException, as for an unplugged USB cable)
    motor         a bundled motor (C6, H128W, J350W): its sample rocket sits on the pad,
                  channel 1 lights it, the altimeter flies and logs the flight
    speed         the device clock runs this many times real time (default 1)

The device starts on open() and stops on close(). `port.device` is the SimDevice,
for the control side-channel: port.device.set_key(False), .set_igniter(0, "open"),
.cut_link(True), .unplug(), .reboot() (a power cycle: a new session, SAFE), .status_dict(),
.clock.set_speed(20).
"""

import threading
import time
import urllib.parse

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from ground.sim.device import SimDevice, WarpClock, rocket_for_motor
from ground.sim.igniter import PRESETS

MAX_CHANNELS = 8
_OPTIONS = ("key", "seed", "flip_rate", "drop_rate", "device_key", "storage", "radio",
            "baud", "disconnect_after", "motor", "speed")


def _number(name, value, kind):
    """int or float of a query value; ValueError in the URL's own words."""
    try:
        number = kind(value)
    except ValueError:
        raise ValueError("%s=%s: not %s" % (name, value, "a whole number" if kind is int
                                            else "a number")) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("%s=%s: not a number" % (name, value))
    return number


def parse_sim_url(url):
    """sim://?... -> (SimDevice keyword arguments, extras). SerialException on any bad value."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "sim":
        raise SerialException("expected a sim:// URL, got %r" % url)
    try:
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise SerialException("bad sim:// query %r: %s" % (parts.query, exc)) from None
    kwargs = {}
    extras = {"baud": None, "disconnect_after": None}
    presets = {}
    try:
        for name, values in query.items():
            value = values[-1]
            lname = name.lower()
            if lname.startswith("ch") and lname[2:].isdigit():
                n = int(lname[2:])
                if not 1 <= n <= MAX_CHANNELS:
                    raise ValueError("channel %s: channels are ch1..ch%d" % (name, MAX_CHANNELS))
                if value.lower() not in PRESETS:
                    raise ValueError("%s=%s: unknown igniter (choose from: %s)"
                                     % (name, value, ", ".join(PRESETS)))
                presets[n] = value.lower()
            elif lname == "key":
                if value.lower() not in ("on", "off"):
                    raise ValueError("key=%s: use key=on or key=off" % value)
                kwargs["key_on"] = value.lower() == "on"
            elif lname == "seed":
                kwargs["seed"] = _number(name, value, int)
            elif lname in ("flip_rate", "drop_rate"):
                rate = _number(name, value, float)
                if not 0.0 <= rate <= 1.0:
                    raise ValueError("%s=%s: must be between 0 and 1" % (name, value))
                kwargs[lname] = rate
            elif lname == "device_key":
                kwargs["device_key"] = value
            elif lname == "storage":
                kwargs["storage_dir"] = value
            elif lname == "radio":
                kwargs["wired"] = value.lower() not in ("1", "true", "yes", "on")
            elif lname == "baud":
                baud = _number(name, value, int)
                if baud <= 0:
                    raise ValueError("baud=%s: must be positive" % value)
                extras["baud"] = baud
            elif lname == "motor":
                kwargs["rocket"] = rocket_for_motor(value)  # ValueError names the motors
            elif lname == "speed":
                speed = _number(name, value, float)
                if not 0.0 < speed <= 1000.0:
                    raise ValueError("speed=%s: must be above 0 and at most 1000" % value)
                kwargs["clock"] = WarpClock(speed)
            elif lname == "disconnect_after":
                secs = _number(name, value, float)
                if secs < 0:
                    raise ValueError("disconnect_after=%s: must not be negative" % value)
                extras["disconnect_after"] = secs
            else:
                raise ValueError("unknown option %r (known: ch1..ch%d, %s)"
                                 % (name, MAX_CHANNELS, ", ".join(_OPTIONS)))
    except ValueError as exc:
        raise SerialException("bad sim:// URL %r: %s" % (url, exc)) from None
    count = max([2, *presets])
    kwargs["channels"] = tuple(presets.get(n, "ematch") for n in range(1, count + 1))
    return kwargs, extras


class Serial(SerialBase):
    """A pyserial port whose other end is a SimDevice running in a thread of this process."""

    def __init__(self, *args, **kwargs):
        self.device = None
        self._rx = bytearray()
        self._rx_lock = threading.Lock()
        self._cancel = threading.Event()
        self._disconnect_at = None
        super().__init__(*args, **kwargs)

    def open(self):
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        kwargs, extras = parse_sim_url(self.port)
        try:
            device = SimDevice(**kwargs)
        except (ValueError, OSError) as exc:
            raise SerialException("cannot start the simulated device: %s" % exc) from None
        if extras["baud"] is not None:
            self._baudrate = extras["baud"]
        if extras["disconnect_after"] is not None:
            self._disconnect_at = time.monotonic() + extras["disconnect_after"]
        self.device = device
        self._rx = bytearray()
        self.is_open = True
        device.start()

    def close(self):
        if self.is_open:
            self.is_open = False
            self._cancel.set()
            if self.device is not None:
                self.device.close()
        super().close()

    def from_url(self, url):
        """Check a sim:// URL (the options are applied when the port opens)."""
        parse_sim_url(url)
        return url

    def _reconfigure_port(self, *args, **kwargs):
        pass  # baud rate, parity etc. mean nothing to the simulated port

    # --- the line --------------------------------------------------------------------------------
    def _check(self):
        if not self.is_open:
            raise PortNotOpenError()
        dev = self.device
        if self._disconnect_at is not None and time.monotonic() >= self._disconnect_at:
            dev.unplug()
        if dev.unplugged:
            raise SerialException("the simulated device was disconnected (port vanished)")
        if dev.error is not None:
            raise SerialException("the simulated device stopped: %r" % (dev.error,))

    def _pull(self):
        data = self.device.read_output()
        if data:
            with self._rx_lock:
                self._rx += data

    @property
    def in_waiting(self):
        self._check()
        self._pull()
        return len(self._rx)

    def read(self, size=1):
        self._check()
        self._cancel.clear()
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._pull()
            with self._rx_lock:
                if len(self._rx) >= size or (self._rx and timeout == 0):
                    break
            if self._cancel.is_set() or not self.is_open:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(0.001)
            self._check()
        with self._rx_lock:
            data = bytes(self._rx[:size])
            del self._rx[:size]
        return data

    def write(self, data):
        self._check()
        data = bytes(data)
        self.device.feed(data)
        return len(data)

    def flush(self):
        if self.is_open:
            self._check()

    def cancel_read(self):
        self._cancel.set()

    def cancel_write(self):
        pass

    def reset_input_buffer(self):
        if not self.is_open:
            raise PortNotOpenError()
        self.device.read_output()
        with self._rx_lock:
            self._rx.clear()

    def reset_output_buffer(self):
        if not self.is_open:
            raise PortNotOpenError()

    @property
    def out_waiting(self):
        if not self.is_open:
            raise PortNotOpenError()
        return 0

    def _update_break_state(self):
        pass

    def _update_rts_state(self):
        pass

    def _update_dtr_state(self):
        pass

    @property
    def cts(self):
        return True

    @property
    def dsr(self):
        return True

    @property
    def ri(self):
        return False

    @property
    def cd(self):
        return True
