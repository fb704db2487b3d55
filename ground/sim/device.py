"""SimDevice: the real firmware App running on SimHal, plus the simulator's control side-channel.

Drive it by hand with `step(now_ms)` (tests, on a ManualClock), or run it in a
daemon thread with `start()` / `stop()` (the pty server and sim://), one step
about every millisecond like the board's loop.

Bytes for hosts: `feed(data)` is ground -> device, `read_output()` is
device -> ground. Fault injection applies to both directions: `flip_rate`
(per byte, probability of flipping one random bit) and `drop_rate` (per byte,
probability of losing it), from a seeded generator. `cut_link(True)` discards
everything both ways until `cut_link(False)`; `unplug()` makes the port vanish
for good (sim:// then raises SerialException, as pyserial does for a lost port).

The control side-channel is what a person at the pad could do that the
protocol cannot: turn the arm key, swap the igniter, cut the link, and
power-cycle the board (`reboot()`: a new firmware App on the same storage,
so the flight log and the device key survive and the session nonce is new).
"""

import os
import random
import tempfile
import threading
import time

from firmware.app import App
from firmware.hal import KEY_INCONSISTENT, KEY_OFF, KEY_ON
from firmware.keystore import KeyStore
from ground.keys import parse_key
from ground.sim.hal import TICKS_MASK, SimHal
from ground.sim.igniter import Igniter, make_igniter
from protocol import constants as C
from protocol.ticks import ticks_add, ticks_diff

# the simulator takes device keys exactly as the ground station does
parse_device_key = parse_key

# A board runs a loop pass every millisecond. When the thread falls behind its clock (a busy
# host, or a clock sped up for a demo) it catches up in passes of at most MAX_STEP_MS
# simulated ms, so no 10 ms barometer sample, and no short flight state, is skipped; at
# most MAX_CATCHUP_STEPS of them per wake-up, so an overloaded host skips time instead of
# falling ever further behind.
MAX_STEP_MS = 5
MAX_CATCHUP_STEPS = 400


class FolderStorage(KeyStore):
    """The firmware's own key storage, in a folder of this machine (key.bin, owner-only)."""

    def __init__(self, path):
        super().__init__(path)
        self.key_path = self.path

    def write_key(self, key):
        super().write_key(key)
        if key is not None:
            os.chmod(self.path, 0o600)


class ManualClock:
    """A clock for tests: `clock()` returns `now`, which moves only by `advance(ms)` (wrapping)."""

    def __init__(self, start=0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, ms=1):
        self.now = ticks_add(self.now, ms)
        return self.now


def rocket_for_motor(name):
    """The sample rocket for a bundled motor, as SimHal's `rocket` argument (ValueError if none)."""
    from ground.trajectory.spec import sample_spec

    spec = sample_spec(name)  # EngError (a ValueError) names the motors there are
    return {"rocket": spec.rocket, "motor": spec.motor}


class WarpClock:
    """Real time, optionally run faster: `coalwood demo --speed` flies a minute-long
    flight in seconds. Ticks in ms, wrapping at 2**30 like MicroPython's ticks_ms().

    Only speed up a SAFE pad: the device's link-loss and ARM-lapse timers would
    run faster than the ground's heartbeats otherwise.
    """

    def __init__(self, speed=1.0, source=time.monotonic):
        self._source = source  # seconds; tests pass a hand-driven one
        # (real seconds, device ms, speed) at the last change, replaced whole so a
        # reader on another thread never sees half an update; at speed 1 the ticks
        # are time.monotonic() in ms, as the pty benchmarks assume
        now = source()
        self._anchor = (now, now * 1000.0, float(speed))

    @property
    def speed(self):
        return self._anchor[2]

    def set_speed(self, speed):
        if not 0.0 < speed <= 1000.0:
            raise ValueError("speed must be above 0 and at most 1000")
        now = self._source()
        self._anchor = (now, self._ms(now), float(speed))

    def _ms(self, now):
        real_s, ms, speed = self._anchor
        return ms + (now - real_s) * 1000.0 * speed

    def __call__(self):
        return int(self._ms(self._source())) & TICKS_MASK


class SimDevice:
    """A simulated pad box: SimHal + the firmware App.

    channels: one preset name (ground/sim/igniter.py PRESETS) or Igniter per channel.
    key_on: the arm key's position at power-up.
    device_key: 32 bytes or 64 hex digits; the device then requires MACs (authenticated
        mode). It is written to the storage folder, as SET_KEY would.
    seed: makes the session nonce, arm tokens, ADC noise and fault injection repeatable.
    clock: callable returning ticks in ms (default: a WarpClock, real time until sped up).
    storage_dir: the board's filesystem (default: a temporary folder removed on close()).
    wired: False simulates a radio link (SET_KEY is then refused).
    rocket: what the altimeter flies when the channel 1 igniter lights the motor: None (a
        pad with no rocket), a bundled motor's name ("C6", "H128W", "J350W": its sample
        rocket from ground/trajectory/examples.py), or anything SimHal's `rocket` takes.
    """

    def __init__(
        self,
        channels=("ematch", "ematch"),
        key_on=True,
        device_key=None,
        seed=0,
        clock=None,
        storage_dir=None,
        wired=True,
        flip_rate=0.0,
        drop_rate=0.0,
        rocket=None,
    ):
        key = parse_device_key(device_key)
        if isinstance(rocket, str):
            rocket = rocket_for_motor(rocket)
        igniters = [self._igniter(c) for c in channels]
        self._tmpdir = None
        if storage_dir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="coalwood-sim-")
            storage_dir = self._tmpdir.name
        else:
            os.makedirs(storage_dir, exist_ok=True)
        self.storage = FolderStorage(storage_dir)
        if key is not None:
            self.storage.write_key(key)
        self.clock = clock if clock is not None else WarpClock()
        self.hal = SimHal(igniters, key_on=key_on, seed=seed, clock=self.clock,
                          storage_path=storage_dir, wired=wired, rocket=rocket)
        self.flip_rate = self.drop_rate = 0.0
        self.set_faults(flip_rate, drop_rate)
        self._rng_in = random.Random("faults-in-%s" % seed)
        self._rng_out = random.Random("faults-out-%s" % seed)
        self.fault_stats = {"dropped": 0, "flipped": 0, "discarded_cut": 0, "lost_at_reset": 0}
        self.link_cut = False
        self.unplugged = False
        self.error = None  # an exception that stopped the device thread
        self._lock = threading.RLock()
        self._thread = None
        self._stop = threading.Event()
        self.step_sleep_s = 0.0005
        self.boots = 0  # boots so far, the first included
        self.on_boot = None  # called with each new App, before its first step (tests record it)
        self._boot_at = None  # while powered off by reboot(off_ms): the tick it boots again
        self.hal.advance(self.clock())
        self.app = None
        self._boot()

    @staticmethod
    def _igniter(spec):
        if isinstance(spec, Igniter):
            return spec
        return make_igniter(spec)

    # --- running ------------------------------------------------------------------------------
    def step(self, now_ms=None):
        """One firmware loop pass at now_ms (default: the clock): physics first, then the app."""
        if now_ms is None:
            now_ms = self.clock()
        with self._lock:
            self.hal.advance(now_ms)
            if self._boot_at is not None:
                if ticks_diff(now_ms, self._boot_at) < 0:
                    return  # unpowered: only the physics goes on
                self._boot()
            self.app.step(now_ms)

    def start(self):
        """Run the loop in a daemon thread, one step about every millisecond."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="coalwood-sim", daemon=True)
        self._thread.start()

    def _run(self):
        try:
            last = None
            while not self._stop.is_set():
                now = self.clock()
                if last is not None and ticks_diff(now, last) > MAX_STEP_MS:
                    behind = min(ticks_diff(now, last) // MAX_STEP_MS, MAX_CATCHUP_STEPS + 1)
                    for i in range(1, behind):
                        self.step(ticks_add(last, i * MAX_STEP_MS))
                self.step(now)
                last = now
                time.sleep(self.step_sleep_s)
        except Exception as exc:  # surfaced through .error and the port, never swallowed
            self.error = exc

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def stop(self):
        """Stop the loop thread (the device keeps its state; start() resumes it)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None

    def close(self):
        """Stop, and remove the temporary storage folder if this device made one."""
        self.stop()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    # --- bytes for hosts --------------------------------------------------------------------
    def set_faults(self, flip_rate=None, drop_rate=None):
        """Per-byte probabilities (0..1) of a bit flip / a lost byte, both directions."""
        for name, value in (("flip_rate", flip_rate), ("drop_rate", drop_rate)):
            if value is None:
                continue
            value = float(value)
            if not 0.0 <= value <= 1.0:
                raise ValueError("%s must be between 0 and 1, not %r" % (name, value))
            setattr(self, name, value)

    def _corrupt(self, data, rng):
        if not (self.flip_rate or self.drop_rate) or not data:
            return bytes(data)
        out = bytearray()
        drop, flip = self.drop_rate, self.flip_rate
        for b in data:
            if drop and rng.random() < drop:
                self.fault_stats["dropped"] += 1
                continue
            if flip and rng.random() < flip:
                b ^= 1 << rng.randrange(8)
                self.fault_stats["flipped"] += 1
            out.append(b)
        return bytes(out)

    def feed(self, data):
        """Bytes from the ground to the device. Returns how many were offered (all of them)."""
        if self.link_cut or self.unplugged:
            self.fault_stats["discarded_cut"] += len(data)
            return len(data)
        if not self.powered:
            self.fault_stats["lost_at_reset"] += len(data)  # an unpowered UART hears nothing
            return len(data)
        self.hal.to_device.put(self._corrupt(data, self._rng_in))
        return len(data)

    def read_output(self, max_bytes=-1):
        """Bytes from the device to the ground (up to max_bytes; all waiting when negative)."""
        data = self.hal.from_device.get(max_bytes)
        if self.link_cut or self.unplugged:
            self.fault_stats["discarded_cut"] += len(data)
            return b""
        return self._corrupt(data, self._rng_out)

    def output_waiting(self):
        return len(self.hal.from_device)

    # --- the control side-channel -------------------------------------------------------------
    def _channel(self, ch):
        if not isinstance(ch, int) or not 0 <= ch < self.hal.channels:
            raise ValueError("no channel %r: this device has channels 0..%d"
                             % (ch, self.hal.channels - 1))
        return ch

    def set_key(self, on):
        """Turn the arm key: True/False, or KEY_ON / KEY_OFF / KEY_INCONSISTENT."""
        if on is True or on is False:
            value = KEY_ON if on else KEY_OFF
        elif on in (KEY_ON, KEY_OFF, KEY_INCONSISTENT):
            value = on
        else:
            raise ValueError("key must be on or off")
        with self._lock:
            self.hal.key = value

    def set_igniter(self, ch, preset_name):
        """Connect a fresh igniter (preset name or Igniter) to channel ch (0-based)."""
        ig = self._igniter(preset_name)
        with self._lock:
            self.hal.igniters[self._channel(ch)] = ig

    def set_battery(self, mv):
        """The firing battery's open-circuit voltage, in millivolts."""
        mv = int(mv)
        if not 0 <= mv <= 30000:
            raise ValueError("battery voltage must be 0..30000 mV")
        with self._lock:
            self.hal.battery_oc_mv = mv

    def cut_link(self, cut=True):
        """While cut, bytes in both directions are discarded (a radio out of range)."""
        self.link_cut = bool(cut)

    def unplug(self):
        """The port vanishes for good (a pulled cable); the board itself keeps running."""
        self.unplugged = True

    def reboot(self, off_ms=0):
        """Power-cycle the board: every output off at once, the bytes in flight both ways
        lost, then (after `off_ms` unpowered, 0 for a reset) the firmware boots again: a
        new App on the same storage, so the flight log and the device key survive and the
        entropy source goes on (the new session nonce and arm tokens never repeat the old).

        The physical world is not reset: the arm key, the igniters (burned or not), the
        battery and a rocket in flight stay as they are. Records the old firmware had
        written to a flight file stay in it; what it held in RAM is gone.
        """
        off_ms = int(off_ms)
        if not 0 <= off_ms <= 60000:
            raise ValueError("off time must be 0..60000 ms")
        with self._lock:
            now_ms = self.clock()
            self.hal.advance(now_ms)
            self._power_off()
            self._boot_at = ticks_add(now_ms, off_ms)
            if off_ms == 0:
                self._boot()

    @property
    def powered(self):
        """False while reboot(off_ms) holds the board unpowered."""
        return self._boot_at is None

    def _power_off(self):
        hal = self.hal
        for ch in range(hal.channels):
            hal.fire(ch, False)  # no supply, no drive: before anything else
        hal.buzzer(False)
        hal.led(False)
        lost = len(hal.to_device) + len(hal.from_device)
        hal.to_device.clear()
        hal.from_device.clear()
        self.fault_stats["lost_at_reset"] += lost
        app = self.app
        # The firmware gets no chance to tidy up; only the host's file handles are
        # released, so the next boot finds the files as the filesystem holds them.
        app._end_file()
        log = app.recorder.log
        if log is not None and log._file is not None:
            log._file.close()
            log._file = None

    def _boot(self):
        self._boot_at = None
        self.app = App(self.hal, self.storage)
        self.boots += 1
        if self.on_boot is not None:
            self.on_boot(self.app)

    @property
    def edges(self):
        """[(t_ms, channel, on)]: every fire output change so far."""
        return list(self.hal.edges)

    def status_dict(self):
        """The simulator's view (JSON-ready): what a person at the pad could see and measure."""
        with self._lock:
            hal = self.hal
            c = self.app.controller
            cont = self.app.continuity
            currents = hal.currents_ma()
            key = {KEY_ON: "on", KEY_OFF: "off"}.get(hal.key, "inconsistent")
            igniters = []
            for ch, ig in enumerate(hal.igniters):
                d = {"channel": ch + 1, "preset": ig.preset}
                d.update(ig.as_dict())
                d["continuity"] = C.CONT_NAMES[cont.cls[ch]]
                d["fire_result"] = C.FIRE_RESULT_NAMES[c.fire_result[ch]]
                d["current_ma"] = round(currents[ch], 1)
                igniters.append(d)
            return {
                "state": C.STATE_NAMES[c.state] if self.powered else "OFF",
                "safe_reason": C.SAFE_REASON_NAMES[c.safe_reason],
                "outputs": hal.outputs(),
                "key": key,
                "battery_mv": hal.battery_mv(),
                "min_battery_mv": hal.min_battery_mv,
                "igniters": igniters,
                "link_cut": self.link_cut,
                "unplugged": self.unplugged,
                "keyed": self.app.conn.keyed,
                "wired": hal.wired,
                "faults": {"flip_rate": self.flip_rate, "drop_rate": self.drop_rate,
                           **self.fault_stats},
                "board": hal.board_name,
                "boots": self.boots,
                "session": self.app.conn.session,
            }
