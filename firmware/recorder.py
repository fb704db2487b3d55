"""The altimeter's recorder: barometer samples -> pad baseline -> flight states -> log and telemetry.

`sample(now_ms, pressure_pa)` runs every SAMPLE_MS (100 Hz) and allocates
nothing. Each sample becomes a packed, checksummed flight-log record in a RAM
ring that does two jobs:

- On the pad it keeps the last PRE_LAUNCH_RECORDS samples, so the log of a
  flight starts about 2 s before liftoff was detected (detection needs 20 m of
  climb; the pad and the first metres would otherwise be missing).
- In flight it is a write-behind queue: `drain()` moves a few records per
  loop pass to the flight file. The app does not drain while an output is on
  (a flash write can stall the chip), so a whole fire cap of samples must fit:
  RING_RECORDS is 5 s at 100 Hz.

Ascent (BOOST, COAST) is logged at 100 Hz, descent (DROGUE, MAIN) at 10 Hz;
each flight-state change is an event record (liftoff, burnout, apogee, main,
landed). Once landed and drained, the flight is closed (its index entry and
digest written) and the recorder goes back to the pad for the next flight.

TELEMETRY samples are collected into one preallocated payload at
`telemetry_hz` while flying and taken by the app every TELEMETRY_PERIOD_MS (or
when full); the app queues them as droppable frames, so a slow link loses
telemetry, never log records or the controller's time.
"""

from firmware.altimeter import FlightDetector
from firmware.baro import PadBaseline
from firmware.flightlog import (
    EV_APOGEE,
    EV_BURNOUT,
    EV_LANDED,
    EV_LIFTOFF,
    EV_MAIN,
    REC_EVENT,
    REC_SAMPLE,
    RECORD_LEN,
    pack_record,
)
from protocol import constants as C
from protocol.compat import const
from protocol.ticks import ticks_diff

SAMPLE_MS = const(10)  # 100 Hz: the ascent logging rate and the filter's design rate
DESCENT_EVERY = const(10)  # log one sample in ten under parachute: 10 Hz
PRE_LAUNCH_RECORDS = const(200)  # 2 s of pad samples before liftoff
RING_RECORDS = const(500)  # pre-launch + 3 s fire cap of deferred writes, with room to spare
WRITES_PER_PASS = const(4)  # records moved to flash per loop pass (4 per ms >> 100 per s)
BASELINE_SAMPLES = const(64)
PAD_STILL_CMS = const(200)  # the pad baseline is only re-averaged while the filter sees < 2 m/s
TELEMETRY_PERIOD_MS = const(250)
DEFAULT_TELEMETRY_HZ = const(20)
DEFAULT_MAIN_DEPLOY_M = const(150)

# Which event record each flight-state change writes.
_EVENT_FOR_STATE = {
    C.FLIGHT_BOOST: EV_LIFTOFF,
    C.FLIGHT_COAST: EV_BURNOUT,
    C.FLIGHT_DROGUE: EV_APOGEE,
    C.FLIGHT_MAIN: EV_MAIN,
    C.FLIGHT_LANDED: EV_LANDED,
}


def _clamp16(v):
    if v > 32767:
        return 32767
    if v < -32768:
        return -32768
    return v


class Recorder:
    def __init__(self, log, board=b"", fw=(0, 0, 0), main_deploy_m=DEFAULT_MAIN_DEPLOY_M,
                 telemetry_hz=DEFAULT_TELEMETRY_HZ):
        self.log = log  # a FlightLog, or None for a board without storage
        self.board = board
        self.fw = fw
        self.baseline = PadBaseline(BASELINE_SAMPLES)
        self.detector = FlightDetector(main_deploy_m * 100)
        self.state = C.FLIGHT_IDLE
        self.altitude_cm = 0
        self.speed_cms = 0
        self.flight = -1  # the flight file being written, -1 when none
        self._in_flight = False  # liftoff seen, not yet closed
        self._open_pending = False  # the flight file is opened by drain(), never here
        self._start_tick = 0
        self.lost_records = 0  # records that found the ring full (writes held off too long)
        self.missed_samples = 0  # barometer reads that failed
        self._had_reading = False
        self.log_full = False
        self._ring = bytearray(RING_RECORDS * RECORD_LEN)
        self._head = 0  # oldest queued record
        self._count = 0
        self._descent_n = 0
        self._closing = False
        self._apogee_cm = 0
        # telemetry: one payload, filled in place
        self.telemetry_hz = telemetry_hz
        self._tm = bytearray(C.TELEMETRY_BASE_LEN + C.TELEMETRY_SAMPLE_LEN * C.MAX_TELEMETRY_SAMPLES)
        self._tm_count = 0
        self._tm_base_ms = 0
        self._tm_n = 0
        self._tm_state = C.FLIGHT_IDLE

    # --- configuration ----------------------------------------------------------------------
    @property
    def main_deploy_m(self):
        return self.detector.main_deploy_cm // 100

    @main_deploy_m.setter
    def main_deploy_m(self, value):
        self.detector.main_deploy_cm = value * 100

    @property
    def flying(self):
        return self._in_flight

    # --- per sample ---------------------------------------------------------------------------
    def sample(self, now_ms, pressure_pa):
        """One barometer reading (pascals; negative: no barometer). Allocates nothing."""
        if pressure_pa < 0:
            # a failed read: skipped (the filter bridges the gap); IDLE only for a
            # board that has not yet given a single reading
            self.missed_samples += 1
            if not self._had_reading:
                self.state = C.FLIGHT_IDLE
            return
        self._had_reading = True
        base = self.baseline
        if not base.ready:
            self.state = C.FLIGHT_PAD
            base.add(pressure_pa)
            return
        det = self.detector
        before = det.state
        height_cm = base.agl_cm(pressure_pa)
        state = det.sample(now_ms, height_cm)
        k = det.kalman
        self.altitude_cm = k.height_cm
        self.speed_cms = k.speed_cms
        self.state = state
        if state == C.FLIGHT_PAD:
            if -PAD_STILL_CMS < self.speed_cms < PAD_STILL_CMS:
                base.add(pressure_pa)  # follows the weather between flights
            self._push_sample(now_ms, pressure_pa, state)
            while self._count > PRE_LAUNCH_RECORDS:
                self._drop_oldest()
            return
        if before == C.FLIGHT_PAD:
            self._begin(now_ms)
        if state >= C.FLIGHT_DROGUE:
            self._descent_n += 1
            if self._descent_n >= DESCENT_EVERY or state != before:
                self._descent_n = 0
                self._push_sample(now_ms, pressure_pa, state)
        else:
            self._push_sample(now_ms, pressure_pa, state)
        if state != before:
            self._push_event(state, now_ms, pressure_pa)
        self._telemetry(now_ms, pressure_pa, state != before)
        if state == C.FLIGHT_LANDED:
            self._closing = True

    def _begin(self, now_ms):
        log = self.log
        self._apogee_cm = 0
        self._descent_n = 0
        self._tm_count = 0
        self._tm_n = 0
        self._in_flight = True
        # Opening the file writes and flushes its header (and asks the filesystem for free
        # space): flash work, so it waits for drain(), which the app never runs while an
        # output is on. The ring holds the samples meanwhile.
        self._start_tick = now_ms
        self._open_pending = log is not None

    def _push_event(self, state, now_ms, pressure_pa):
        det = self.detector
        event = _EVENT_FOR_STATE[state]
        t_ms = now_ms
        alt = self.altitude_cm
        if event == EV_APOGEE:
            # the highest filtered height and when it was reached, not when it was detected
            t_ms = det.apogee_ms
            alt = det.max_height_cm
            self._apogee_cm = alt
        self._push(REC_EVENT, event, t_ms, pressure_pa, alt)

    def _push_sample(self, now_ms, pressure_pa, state):
        self._push(REC_SAMPLE, state, now_ms, pressure_pa, self.altitude_cm)

    def _push(self, rec_type, code, t_ms, pressure_pa, altitude_cm):
        if self._count >= RING_RECORDS:
            self.lost_records += 1
            return
        slot = self._head + self._count
        if slot >= RING_RECORDS:
            slot -= RING_RECORDS
        k = self.detector.kalman
        # speed and acceleration in dm/s and dm/s^2: i16 holds +-3276 m/s
        pack_record(self._ring, slot * RECORD_LEN, rec_type, code, t_ms & 0x3FFFFFFF,
                    pressure_pa, altitude_cm, _clamp16(k.speed_cms // 10),
                    _clamp16(k.accel_cms2 // 10))
        self._count += 1

    def _drop_oldest(self):
        self._head += 1
        if self._head >= RING_RECORDS:
            self._head = 0
        self._count -= 1

    # --- writing behind -------------------------------------------------------------------------
    def drain(self, max_records=WRITES_PER_PASS):
        """Move up to max_records queued records to the flight file; close it once landed."""
        if self.state < C.FLIGHT_BOOST and not self._closing:
            return  # on the pad the ring is the pre-launch buffer, not a queue
        log = self.log
        if self._open_pending:
            self._open_pending = False
            self.flight = log.begin(self.baseline.pad_pressure_pa, self._start_tick, self.board,
                                    self.fw)
            if self.flight < 0:
                self.log_full = True
        n = 0
        while self._count and n < max_records:
            if self.flight >= 0 and not log.append_packed(self._ring, self._head * RECORD_LEN):
                self.log_full = True
            self._drop_oldest()
            n += 1
        if self._closing and not self._count:
            self._finish()

    def _finish(self):
        if self.flight >= 0:
            self.log.close(self._apogee_cm)
        self.flight = -1
        self._in_flight = False
        self._closing = False
        self.detector = FlightDetector(self.detector.main_deploy_cm)
        self.baseline = PadBaseline(BASELINE_SAMPLES)
        self.state = C.FLIGHT_PAD

    # --- telemetry ------------------------------------------------------------------------------
    def _telemetry(self, now_ms, pressure_pa, state_changed):
        self._tm_n += 1
        every = 100 // self.telemetry_hz
        if self._tm_n < every and not state_changed:
            return  # (the sample where the state changes is always sent: the ground sees each)
        self._tm_n = 0
        n = self._tm_count
        if n >= C.MAX_TELEMETRY_SAMPLES:
            return  # nobody took the batch: the link is behind, skip rather than block
        if n == 0:
            self._tm_base_ms = now_ms
        tm = self._tm
        q = C.TELEMETRY_BASE_LEN + C.TELEMETRY_SAMPLE_LEN * n
        dt = ticks_diff(now_ms, self._tm_base_ms)
        alt = self.altitude_cm
        spd = _clamp16(self.speed_cms)  # the protocol's i16 cm/s tops out at 327 m/s
        tm[q] = dt & 0xFF
        tm[q + 1] = (dt >> 8) & 0xFF
        tm[q + 2] = alt & 0xFF
        tm[q + 3] = (alt >> 8) & 0xFF
        tm[q + 4] = (alt >> 16) & 0xFF
        tm[q + 5] = (alt >> 24) & 0xFF
        tm[q + 6] = spd & 0xFF
        tm[q + 7] = (spd >> 8) & 0xFF
        tm[q + 8] = pressure_pa & 0xFF
        tm[q + 9] = (pressure_pa >> 8) & 0xFF
        tm[q + 10] = (pressure_pa >> 16) & 0xFF
        tm[q + 11] = (pressure_pa >> 24) & 0xFF
        self._tm_count = n + 1
        self._tm_state = self.state  # the batch says the state of its newest sample

    def telemetry_due(self, now_ms):
        """True when the batch is full or its next sample would fall outside its 250 ms."""
        n = self._tm_count
        if n == 0:
            return False
        if n >= C.MAX_TELEMETRY_SAMPLES:
            return True
        next_ms = ticks_diff(now_ms, self._tm_base_ms) + SAMPLE_MS * (100 // self.telemetry_hz)
        return next_ms >= TELEMETRY_PERIOD_MS

    def take_telemetry(self, dst, off):
        """Write the TELEMETRY payload at dst[off:] and start a new batch; returns its length."""
        n = self._tm_count
        tm = self._tm
        base = self._tm_base_ms
        tm[0] = base & 0xFF
        tm[1] = (base >> 8) & 0xFF
        tm[2] = (base >> 16) & 0xFF
        tm[3] = (base >> 24) & 0xFF
        tm[4] = self._tm_state
        tm[5] = n
        length = C.TELEMETRY_BASE_LEN + C.TELEMETRY_SAMPLE_LEN * n
        for i in range(length):
            dst[off + i] = tm[i]
        self._tm_count = 0
        return length
