"""SimHal: the firmware's HAL (firmware/hal/__init__.py) on simulated hardware.

The firing circuit, per channel: battery (open-circuit `battery_oc_mv`,
internal resistance `battery_r_ohm`) -> arm key (an interlock in series with
the firing supply) -> fire output -> wiring (`wire_r_ohm`) -> igniter. With
the key on and an output on, current I = V / (R_int + R_wire + R_igniter)
flows (channels on together share the battery: their branches are in
parallel), the battery sags by I * R_int, and the igniter heats
(ground/sim/igniter.py). `advance(now_ms)` integrates that since its last call.

The continuity sense circuit is separate from the firing supply (it reads
with the key off too): sense supply `sense_supply_mv` -> `sense_resistor_ohm`
-> node -> igniter -> ground; the ADC reads the node, so
raw = 65535 * R / (R + 330), 65535 when open, plus a few LSB of seeded noise.

The barometer: with no rocket (`rocket=None`) it reads a constant 101325 Pa. With one
(see SimHal's docstring), it reads the pad's pressure with noise until the igniter in the
motor burns through, then follows the simulated flight (ground/sim/flight.py) from that
instant on the HAL clock (the motor is taken to light the moment the igniter burns
through: no ignition delay). A dud (functions but never burns open: the misfire case) or
an open igniter never lights the motor.

The serial port is a pair of thread-safe byte queues: `to_device` (what the
ground sent, read by serial_read_into) and `from_device` (what the firmware
wrote, bounded like a UART buffer so a port nobody reads pushes back).
"""

import math
import random
import tempfile
import threading
import time

from firmware.hal import KEY_OFF, KEY_ON
from protocol.ticks import ticks_diff

TICKS_MASK = (1 << 30) - 1


def real_clock():
    """Milliseconds from time.monotonic(), wrapping at 2**30 like MicroPython's ticks_ms()."""
    return int(time.monotonic() * 1000) & TICKS_MASK


class ByteQueue:
    """A bounded FIFO of bytes shared between threads."""

    def __init__(self, capacity=1 << 16):
        self.capacity = capacity
        self._buf = bytearray()
        self._lock = threading.Lock()

    def __len__(self):
        with self._lock:
            return len(self._buf)

    def put(self, data):
        """Append as much of `data` as fits; returns how many bytes were taken."""
        with self._lock:
            n = min(len(data), self.capacity - len(self._buf))
            if n > 0:
                self._buf += data[:n]
            return max(n, 0)

    def get(self, max_bytes=-1):
        """Remove and return up to max_bytes (all when negative)."""
        with self._lock:
            n = len(self._buf) if max_bytes < 0 else min(max_bytes, len(self._buf))
            out = bytes(self._buf[:n])
            del self._buf[:n]
            return out

    def read_into(self, buf):
        with self._lock:
            n = min(len(buf), len(self._buf))
            if n:
                buf[:n] = self._buf[:n]
                del self._buf[:n]
            return n

    def clear(self):
        with self._lock:
            self._buf.clear()


class SimHal:
    """The HAL contract on simulated hardware. `igniters`: one Igniter per channel.

    rocket: what the barometer flies, once the motor lights. None (the default): no rocket,
        a constant 101325 Pa. Otherwise a SimulatedFlight (ground/sim/flight.py), a
        FlightResult (wrapped with this HAL's seed), a (Rocket, motor) pair, or a dict with
        "rocket", "motor" and any other simulate() keyword (ground/trajectory/model.py).
    motor_channels: the channels whose igniters sit in the motor (default: the first).
    """

    sense_resistor_ohm = 330
    adc_full_scale = 65535
    sense_supply_mv = 3300

    def __init__(
        self,
        igniters,
        key_on=True,
        seed=0,
        clock=None,
        storage_path=None,
        wired=True,
        battery_oc_mv=8400,
        battery_r_ohm=0.15,
        wire_r_ohm=0.1,
        noise_lsb=3,
        tx_capacity=4096,
        rx_capacity=1 << 16,
        rocket=None,
        motor_channels=(0,),
    ):
        self.igniters = list(igniters)
        self.channels = len(self.igniters)
        if not 1 <= self.channels <= 8:
            raise ValueError("a board has 1 to 8 channels")
        # Safety contract: every output low before anything else.
        self.level = [False] * self.channels
        self.stuck = [False] * self.channels  # fault injection: reads back on whatever it is driven to
        self.board_name = "sim-%dch" % self.channels
        self.device_id = random.Random("device-%s" % seed).randbytes(8)
        self.key = KEY_ON if key_on else KEY_OFF
        self.wired = wired
        self.battery_oc_mv = battery_oc_mv
        self.battery_r_ohm = battery_r_ohm
        self.wire_r_ohm = wire_r_ohm
        self.noise_lsb = noise_lsb
        self.buzzing = False
        self.led_on = False
        # the board's maintenance button (BOOTSEL / BOOT), held while True: held 3 s on a
        # SAFE pad, the firmware ends its loop as for a MAINTENANCE command
        self.maintenance_button_held = False
        self.clock = clock if clock is not None else real_clock
        self._storage_path = storage_path  # made (a temporary folder) on first use if None
        self._entropy = random.Random("entropy-%s" % seed)
        self._noise = random.Random("noise-%s" % seed)
        self.to_device = ByteQueue(rx_capacity)
        self.from_device = ByteQueue(tx_capacity)
        self.edges = []  # [(t_ms, channel, on)] every fire output change
        self.min_battery_mv = battery_oc_mv  # the lowest the battery sagged to
        self._last = None  # time of the last advance()
        self.flight = _make_flight(rocket, seed)  # the ground truth the barometer follows
        self.motor_channels = tuple(motor_channels)
        for ch in self.motor_channels:
            if not (isinstance(ch, int) and 0 <= ch < self.channels):
                raise ValueError("motor channel %r: this board has channels 0..%d"
                                 % (ch, self.channels - 1))
        self._ignition = None  # (tick at the start of the advance() step, ms into it)

    # --- the HAL contract --------------------------------------------------------------------
    def fire(self, channel, on):
        on = bool(on)
        if self.level[channel] != on:
            self.level[channel] = on
            t = self._last if self._last is not None else self.clock()
            self.edges.append((t, channel, on))

    def fire_readback(self, channel):
        return self.level[channel] or self.stuck[channel]

    def continuity_raw(self, channel):
        r = self.igniters[channel].resistance_ohm
        full = self.adc_full_scale
        if math.isinf(r):
            return full  # the node sits at the sense supply: the ADC is at full scale
        raw = round(full * r / (r + self.sense_resistor_ohm))
        if self.noise_lsb:
            raw += self._noise.randint(-self.noise_lsb, self.noise_lsb)
        return min(max(raw, 0), full)

    def arm_key(self):
        return self.key

    def battery_mv(self):
        return round(self._battery_state()[0])

    def buzzer(self, on):
        self.buzzing = bool(on)

    def led(self, on):
        self.led_on = bool(on)

    def maintenance_button(self):
        return self.maintenance_button_held

    def pressure_pa(self):
        if self.flight is None:
            return 101325  # no rocket: the pad at standard sea level
        return self.flight.pressure_pa(self.flight_time_ms())

    def serial_read_into(self, buf):
        return self.to_device.read_into(buf)

    def serial_write(self, buf, n):
        return self.from_device.put(bytes(buf[:n]))

    def serial_is_wired(self):
        return self.wired

    def ticks_ms(self):
        return self.clock()

    def entropy_into(self, buf):
        for i in range(len(buf)):
            buf[i] = self._entropy.getrandbits(8)

    @property
    def storage_path(self):
        if self._storage_path is None:
            self._storage_path = tempfile.mkdtemp(prefix="coalwood-sim-")
        return self._storage_path

    # --- physics -----------------------------------------------------------------------------
    def _supply_connected(self):
        """The arm key is in series with the firing supply: only KEY_ON closes it."""
        return self.key == KEY_ON

    def _battery_state(self):
        """(terminal voltage mV, {channel: current mA}) for the outputs as they are now."""
        oc = float(self.battery_oc_mv)
        if not self._supply_connected():
            return oc, {}
        branches = {}
        for ch in range(self.channels):
            if self.level[ch]:
                r = self.igniters[ch].resistance_ohm
                if not math.isinf(r):
                    branches[ch] = self.wire_r_ohm + r
        if not branches:
            return oc, {}
        conductance = sum(1.0 / r for r in branches.values())
        # V_t = V_oc - I_total * R_int and I_total = V_t * G  =>  V_t = V_oc / (1 + R_int * G)
        v_t = oc / (1.0 + self.battery_r_ohm * conductance)
        return v_t, {ch: v_t / r for ch, r in branches.items()}  # mV / ohm = mA

    def currents_ma(self):
        """Firing current per channel right now (mA); 0 where none flows."""
        _v, cur = self._battery_state()
        return [cur.get(ch, 0.0) for ch in range(self.channels)]

    def advance(self, now_ms):
        """Integrate igniter heating from the last call to `now_ms` (ticks, wrap-safe)."""
        if self._last is None:
            self._last = now_ms
            return
        dt = ticks_diff(now_ms, self._last)
        if dt <= 0:
            return
        start = self._last
        self._last = now_ms
        v_t, cur = self._battery_state()
        if cur:
            self.min_battery_mv = min(self.min_battery_mv, int(v_t))
            for ch, i_ma in cur.items():
                ig = self.igniters[ch]
                was_burned, fired_before_ms = ig.burned, ig.fired_ms
                ig.step(i_ma, dt)
                if (ig.burned and not was_burned and self.flight is not None
                        and self._ignition is None and ch in self.motor_channels):
                    # the current is steady over the step, so the igniter burned through
                    # exactly as far into it as it took to finish heating
                    self._ignition = (start, ig.burn_time_ms - fired_before_ms)

    # --- for tests and the control side-channel ------------------------------------------
    def outputs(self):
        return [bool(v) for v in self.level]

    @property
    def ignition_ms(self):
        """The HAL tick (ms, with its fraction) at which the motor lit, or None while it has not."""
        if self._ignition is None:
            return None
        tick, into_ms = self._ignition
        return tick + into_ms

    def flight_time_ms(self, now_ms=None):
        """Milliseconds since the motor lit at `now_ms` (default: the clock), or None."""
        if self._ignition is None:
            return None
        tick, into_ms = self._ignition
        return ticks_diff(self.clock() if now_ms is None else now_ms, tick) - into_ms


def _make_flight(rocket, seed):
    """A SimulatedFlight from SimHal's `rocket` argument (None stays None)."""
    if rocket is None:
        return None
    from ground.sim.flight import SimulatedFlight
    from ground.trajectory.model import FlightResult, simulate

    if isinstance(rocket, SimulatedFlight):
        return rocket
    if isinstance(rocket, FlightResult):
        return SimulatedFlight(rocket, seed=seed)
    if isinstance(rocket, dict):
        spec = dict(rocket)
        try:
            body, motor = spec.pop("rocket"), spec.pop("motor")
        except KeyError:
            raise ValueError("a rocket spec dict needs 'rocket' and 'motor'") from None
        return SimulatedFlight(simulate(body, motor, **spec), seed=seed)
    if isinstance(rocket, tuple) and len(rocket) == 2:
        return SimulatedFlight(simulate(rocket[0], rocket[1]), seed=seed)
    raise ValueError("rocket must be None, a SimulatedFlight, a FlightResult, a (Rocket, motor) "
                     "pair or a dict with 'rocket' and 'motor', not %r" % (rocket,))

