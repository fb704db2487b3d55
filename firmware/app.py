"""The firmware app: serial in -> protocol -> controller -> serial out.

One loop, one job per step: read what the port has, dispatch every verified
frame, tick the controller, send heartbeats and status, and write out what
is queued. `step(now_ms)` is the whole loop body, so tests drive it with a
simulated clock; `run()` is the asyncio loop around it on the board.

The controller is never delayed by output: replies and heartbeats go into a
bounded output queue that is drained as fast as the port accepts; when the
queue is full, telemetry (and only telemetry) is dropped.

The altimeter (firmware/recorder.py) samples the barometer every 10 ms; its
flight-log writes are held back while an output is on. Flight downloads
(FLIGHT_LIST, FLIGHT_READ) are served from `step()` a frame at a time, only
while the output queue has room, so a download never crowds out a reply.
"""

import struct

from firmware import FIRMWARE_VERSION
from firmware.continuity import Continuity
from firmware.controller import OK, Controller
from firmware.flightlog import FlightLog
from firmware.recorder import SAMPLE_MS, Recorder
from protocol import DUPLICATE, ROLE_DEVICE, Connection
from protocol import constants as C
from protocol.compat import const, copy_into
from protocol.ticks import ticks_add, ticks_diff

TICK_MS = const(10)
HEARTBEAT_MS = const(500)
STATUS_MS = const(500)
OUT_QUEUE_BYTES = const(2048)
_DELIMITER = b"\x00"
UNSOLICITED = const(0xFFFF)  # re_seq of a STATUS nobody asked for
MAX_READ_JOBS = const(4)  # FLIGHT_READ windows queued: the ground keeps two in flight
# Room kept in the output queue when sending a download frame, so a reply
# (largest: STATUS with 8 channels, 70 bytes on the wire) always fits after it.
DOWNLOAD_FRAME_ROOM = const(2 * 262 + 80)
# The maintenance button (the Pico's BOOTSEL, the ESP32 DevKit's BOOT): held this long on a
# SAFE pad with no flight logging, it ends the app as a MAINTENANCE command does, for a user
# without the ground station or the device key. Read every BUTTON_POLL_MS: reading BOOTSEL
# stalls the RP2040's flash for a moment, and a person's hold needs no finer timing.
MAINTENANCE_HOLD_MS = const(3000)
BUTTON_POLL_MS = const(100)

# CONFIG keys: (min, max, owner, attribute); the safety limits are the upper bounds.
CONFIG = {
    C.CFG_ARM_LAPSE_MS: (1000, 10000, "controller", "arm_lapse_ms"),
    C.CFG_FIRE_PULSE_MS: (50, 250, "controller", "fire_pulse_ms"),
    C.CFG_FIRE_CAP_MS: (250, 3000, "controller", "fire_cap_ms"),
    C.CFG_LINK_LOSS_MS: (250, 1000, "controller", "link_loss_ms"),
    C.CFG_MAIN_DEPLOY_M: (30, 1000, "recorder", "main_deploy_m"),
    C.CFG_TELEMETRY_HZ: (1, 50, "recorder", "telemetry_hz"),
}


class OutQueue:
    """A bounded byte queue in front of the serial port (allocated once)."""

    def __init__(self, size):
        self.buf = bytearray(size)
        self.head = 0  # next byte to write out
        self.tail = 0  # end of queued bytes
        self.dropped = 0  # frames dropped because the queue was full

    def room(self):
        return len(self.buf) - (self.tail - self.head)

    def _compact(self):
        """Move the unsent bytes to the front of the buffer."""
        if self.head:
            left = self.tail - self.head
            copy_into(self.buf, 0, self.buf, self.head, left)
            self.head = 0
            self.tail = left

    def put(self, src, n):
        """Queue src[0:n]; False (nothing queued) if it does not fit."""
        if self.tail + n > len(self.buf):
            self._compact()
            if self.tail + n > len(self.buf):
                self.dropped += 1
                return False
        copy_into(self.buf, self.tail, src, 0, n)
        self.tail += n
        return True

    def flush(self, hal):
        """Write as much as the port takes now; never waits."""
        if self.head == self.tail:
            return
        self._compact()  # the port takes a whole buffer from its start
        self.head += hal.serial_write(self.buf, self.tail)
        if self.head == self.tail:
            self.head = 0
            self.tail = 0


class App:
    def __init__(self, hal, storage=None):
        self.hal = hal
        self.storage = storage  # object with read_key() / write_key(key), or None
        now = hal.ticks_ms()
        self.continuity = Continuity(hal.channels, hal.adc_full_scale, hal.sense_resistor_ohm)
        self.controller = Controller(hal, self.continuity, now)
        self._nonce = bytearray(4)
        key = storage.read_key() if storage is not None else None
        self.conn = Connection(ROLE_DEVICE, session=self._fresh_nonce(), key=key, slots=4)
        self.sessions_rolled = 0  # new sessions started since boot (PROTOCOL.md 6.4)
        self.rx = bytearray(64)
        self.out = OutQueue(OUT_QUEUE_BYTES)
        # A lone 0x00 first: it ends whatever the ground holds of a frame this board was
        # sending when it reset, so the new session's first heartbeat is not lost with it.
        self.out.put(_DELIMITER, 1)
        self._next_tick = now
        self._next_heartbeat = now
        self._next_status = ticks_add(now, STATUS_MS // 2)
        self._next_sample = now
        self.mac_exempt_accepted = 0  # ABORT/DISARM acted on without a MAC on a keyed link
        root = hal.storage_path
        log = FlightLog(root) if root is not None else None
        self.recorder = Recorder(log, hal.board_name.encode()[:12], FIRMWARE_VERSION)
        # downloads: FLIGHT_READ windows as [flight, next offset, end], and a FLIGHT_LIST in progress
        self._reads = []
        self._read_file = None
        self._read_flight = -1
        self._list = None  # [re_seq, entries, next index]
        # Set by an accepted MAINTENANCE or a held maintenance button: step() only drains the
        # output queue from then on and run() returns, so firmware/main.py gives the port to
        # the REPL.
        self.maintenance = False
        # The maintenance button, if the HAL has one (a HAL without it has no button).
        self._button = getattr(hal, "maintenance_button", None)
        self._next_button = now
        self._button_held = False  # seen pressed at every poll since _button_down_ms
        self._button_down_ms = now

    # --- the loop ------------------------------------------------------------------------------
    def step(self, now_ms):
        """One pass of the loop at `now_ms`. Allocates nothing on the FIRE path."""
        if self.maintenance:  # the loop is over: only the MAINTENANCE ACK still goes out
            self.out.flush(self.hal)
            return
        self.poll_serial(now_ms)
        # While FIRING the controller is ticked on every pass, so outputs stop
        # at the pulse deadline itself, not up to a tick period after it.
        if self.controller.state == C.STATE_FIRING or ticks_diff(now_ms, self._next_tick) >= 0:
            self.controller.tick(now_ms)
            self._next_tick = ticks_add(now_ms, TICK_MS)
        elif self.controller.state == C.STATE_ARMED:
            # and while ARMED, link loss and the lapse act at their deadline to the millisecond
            self.controller.deadlines(now_ms)
        rec = self.recorder
        if ticks_diff(now_ms, self._next_sample) >= 0:
            rec.sample(now_ms, self.hal.pressure_pa())
            self._next_sample = ticks_add(now_ms, SAMPLE_MS)
            if rec.telemetry_due(now_ms):
                n = rec.take_telemetry(self.conn.tx, C.PAYLOAD_OFFSET)
                self._queue(C.TELEMETRY, n, -1, True)
        if self.controller.state != C.STATE_FIRING:
            rec.drain()  # a flash write can stall the chip: never while an output is on
        if ticks_diff(now_ms, self._next_heartbeat) >= 0:
            self.send_heartbeat()
            self._next_heartbeat = ticks_add(now_ms, HEARTBEAT_MS)
        if ticks_diff(now_ms, self._next_status) >= 0:
            if not self._reads:  # a download has the line; heartbeats still carry the state
                self.send_status(now_ms, UNSOLICITED)
            self._next_status = ticks_add(now_ms, STATUS_MS)
        if self._list is not None or self._reads:
            self._serve_downloads()
        if self.conn.session_rollover_due() and self._quiet():
            self._roll_over_session()
        if ticks_diff(now_ms, self._next_button) >= 0:
            self._next_button = ticks_add(now_ms, BUTTON_POLL_MS)
            self._poll_button(now_ms)
        self.out.flush(self.hal)

    def _poll_button(self, now_ms):
        """The maintenance button, every BUTTON_POLL_MS: held MAINTENANCE_HOLD_MS on a SAFE
        pad with no flight logging, it ends the app. Otherwise it is not even read: a button
        on the box never changes an armed or firing pad, neither firing nor disarming it,
        and the hold counts only from the first poll that finds the pad SAFE."""
        if (self._button is None or self.controller.state != C.STATE_SAFE
                or self.recorder.flying or not self._button()):
            self._button_held = False
            return
        if not self._button_held:
            self._button_held = True
            self._button_down_ms = now_ms
        elif ticks_diff(now_ms, self._button_down_ms) >= MAINTENANCE_HOLD_MS:
            self.hal.led(True)  # the user holding the button sees the app end
            self._end_for_maintenance()

    # --- sessions ------------------------------------------------------------------------------
    def _fresh_nonce(self):
        self.hal.entropy_into(self._nonce)
        return struct.unpack("<I", self._nonce)[0]

    def _quiet(self):
        """SAFE and no download being served: a new session interrupts nothing."""
        return self.controller.state == C.STATE_SAFE and not self._reads and self._list is None

    def _roll_over_session(self):
        # Before either side's 16-bit sequence numbers come round, frames recorded early in
        # this session must become useless: a new nonce does that (the ground follows it).
        self.conn.set_session(self._fresh_nonce())
        self.sessions_rolled += 1
        self.send_heartbeat()  # first, so the ground hears DEV_RENEWED with the new nonce

    async def run(self, max_steps=-1):
        """The board's loop: one step per millisecond until a MAINTENANCE or the held
        maintenance button (or max_steps, for tests); then it returns once what is queued,
        a MAINTENANCE's ACK, is written out (100 ms at most)."""
        import asyncio

        hal = self.hal
        sleep_ms = getattr(asyncio, "sleep_ms", None)  # MicroPython's; CPython has sleep()
        steps = 0
        drain_ms = 100
        while steps != max_steps:
            if self.maintenance:
                if self.out.head == self.out.tail or drain_ms <= 0:
                    return
                drain_ms -= 1
            self.step(hal.ticks_ms())
            steps += 1
            if sleep_ms is not None:
                await sleep_ms(1)
            else:
                await asyncio.sleep(0.001)

    def poll_serial(self, now_ms):
        hal = self.hal
        conn = self.conn
        while True:
            n = hal.serial_read_into(self.rx)
            if n <= 0:
                return
            pos = 0
            while pos < n:
                # One frame at a time, each dispatched before the next is checked: a SET_KEY
                # changes the key the very next frame is checked under (and a command's
                # reply is cached before its resend is looked up).
                z = self.rx.find(_DELIMITER, pos, n)
                pos += conn.receive_data(self.rx, n if z < 0 else z + 1, pos)
                while True:
                    frame = conn.next_event()
                    if frame is None:
                        break
                    self.dispatch(frame, now_ms)

    # --- sending ---------------------------------------------------------------------------------
    def _queue(self, msg_type, length, reply_to=-1, droppable=False):
        conn = self.conn
        n = conn.encode(msg_type, length)
        if reply_to >= 0:
            conn.remember_reply(reply_to, n)
        if not self.out.put(conn.out, n) and not droppable:
            # never silently lose a reply: make room by dropping what is queued
            self.out.head = self.out.tail = 0
            self.out.dropped += 1
            self.out.put(conn.out, n)

    def _ack(self, seq, acked_type):
        tx = self.conn.tx
        p = C.PAYLOAD_OFFSET
        tx[p] = seq & 0xFF
        tx[p + 1] = seq >> 8
        tx[p + 2] = acked_type
        self._queue(C.ACK, 3, seq)

    def _nak(self, seq, nak_type, reason):
        tx = self.conn.tx
        p = C.PAYLOAD_OFFSET
        tx[p] = seq & 0xFF
        tx[p + 1] = seq >> 8
        tx[p + 2] = nak_type
        tx[p + 3] = reason
        self._queue(C.NAK, 4, seq)

    def _flags(self):
        f = 0
        if self.controller.key_on:
            f |= C.DEV_KEY_ON
        if self.conn.keyed:
            f |= C.DEV_KEYED
        if self.controller.state == C.STATE_ARMED or self.controller.state == C.STATE_FIRING:
            f |= C.DEV_BUZZER
        if self.recorder.flying:
            f |= C.DEV_FLYING
        if self.recorder.log_full:
            f |= C.DEV_LOG_FULL
        if self.sessions_rolled:
            f |= C.DEV_RENEWED
        return f

    def send_heartbeat(self):
        tx = self.conn.tx
        p = C.PAYLOAD_OFFSET
        last = self.conn.last_rx_seq
        if last < 0:
            last = 0xFFFF
        tx[p] = self.controller.state
        tx[p + 1] = self._flags()
        tx[p + 2] = last & 0xFF
        tx[p + 3] = last >> 8
        self._queue(C.HEARTBEAT, 4, -1, True)

    def send_status(self, now_ms, re_seq):
        c = self.controller
        cont = self.continuity
        tx = self.conn.tx
        p = C.PAYLOAD_OFFSET
        rec = self.recorder
        log = rec.log
        struct.pack_into(
            "<HBBBHBiIHB", tx, p, re_seq, c.state, c.safe_reason, self._flags(),
            self.hal.battery_mv(), rec.state, rec.altitude_cm,
            log.free_bytes if log is not None else 0, c.arm_remaining_ms(now_ms), c.channels,
        )
        q = p + C.STATUS_BASE_LEN
        for ch in range(c.channels):
            tx[q] = cont.cls[ch]
            tx[q + 1] = c.fire_result[ch]
            r = cont.mohm[ch]
            tx[q + 2] = r & 0xFF
            tx[q + 3] = r >> 8
            q += C.STATUS_CHANNEL_LEN
        self._queue(C.STATUS, q - p, re_seq if re_seq != UNSOLICITED else -1, re_seq == UNSOLICITED)

    # --- dispatch --------------------------------------------------------------------------------
    def dispatch(self, frame, now_ms):
        """Act on one verified frame from the ground."""
        conn = self.conn
        if frame.kind == DUPLICATE:
            # a command we already ran: answer again from the cache, run nothing
            buf, n = conn.cached_reply()
            self.out.put(buf, n)
            return
        c = self.controller
        if frame.authenticated or not conn.keyed:
            # an unauthenticated ABORT on a keyed link must not keep the link alive
            c.frame_received(now_ms)
        else:
            self.mac_exempt_accepted += 1  # an ABORT/DISARM without a MAC: reported in LINK_STATS
        t = frame.msg_type
        seq = frame.seq
        p = C.PAYLOAD_OFFSET
        if t == C.FIRE:
            r = c.fire(now_ms, frame.buf, p, frame.u8(4), frame.u8(5))
            if r != OK:
                self._nak(seq, t, r)
        elif t == C.HEARTBEAT:
            pass
        elif t == C.ARM:
            r = c.arm(now_ms, frame.u8(0), frame.u8(1))
            if r != OK:
                self._nak(seq, t, r)
            else:
                tx = conn.tx
                tx[p] = seq & 0xFF
                tx[p + 1] = seq >> 8
                copy_into(tx, p + 2, c.token, 0, 4)
                tx[p + 6] = c.armed_mask
                lapse = c.arm_lapse_ms
                tx[p + 7] = lapse & 0xFF
                tx[p + 8] = lapse >> 8
                self._queue(C.ARM_ACK, 9, seq)
        elif t == C.ARM_REFRESH:
            r = c.refresh(now_ms, frame.buf, p)
            if r != OK:
                self._nak(seq, t, r)
            else:
                self._ack(seq, t)
        elif t == C.DISARM or t == C.ABORT:
            r = c.disarm(now_ms) if t == C.DISARM else c.abort(now_ms)
            if r != OK:
                self._nak(seq, t, r)
            else:
                self._ack(seq, t)
        elif t == C.GET_STATUS:
            self.send_status(now_ms, seq)
        else:
            self._dispatch_slow(frame, t, seq, now_ms)

    def _dispatch_slow(self, frame, t, seq, now_ms):
        """Commands off the firing path: these may allocate."""
        from protocol import messages as M

        conn = self.conn
        c = self.controller
        reply = None
        if t == C.GET_DEVICE_INFO:
            reply = M.DeviceInfo(
                seq, C.PROTOCOL_VERSION, FIRMWARE_VERSION[0], FIRMWARE_VERSION[1],
                FIRMWARE_VERSION[2], c.channels, C.FEATURE_LINK_STATS | C.FEATURE_MAINTENANCE,
                self.hal.board_name.encode()[:16], self.hal.device_id,
            )
        elif t == C.GET_LINK_STATS:
            # the receiver's own counts since boot: what it accepted, sent and rejected
            reply = M.LinkStats.from_stats(seq, conn.stats, self.mac_exempt_accepted)
        elif t == C.IGNITER_TEST:
            ch = frame.u8(0)
            if ch >= c.channels:
                self._nak(seq, t, C.NAK_BAD_CHANNEL)
                return
            if c.state == C.STATE_FIRING:
                self._nak(seq, t, C.NAK_BAD_STATE)
                return
            # a bench test answers with a measurement: take enough readings to classify
            for _ in range(8):
                raw = self.hal.continuity_raw(ch)
                cls = self.continuity.update(ch, raw)
                if cls != C.CONT_UNKNOWN:
                    break
            reply = M.IgniterResult(seq, ch, cls, self.continuity.mohm[ch], self._sense_ua(raw))
        elif t == C.FLIGHT_LIST or t == C.FLIGHT_READ or t == C.FLIGHT_ERASE:
            self._flight_command(frame, t, seq)
            return
        elif t == C.CONFIG_GET or t == C.CONFIG_SET:
            key = frame.u8(0)
            if key not in CONFIG:
                self._nak(seq, t, C.NAK_BAD_VALUE)
                return
            if t == C.CONFIG_SET:
                value = struct.unpack_from("<i", frame.buf, C.PAYLOAD_OFFSET + 1)[0]
                lo, hi = CONFIG[key][0], CONFIG[key][1]
                if not lo <= value <= hi:
                    self._nak(seq, t, C.NAK_BAD_VALUE)
                    return
                if c.state != C.STATE_SAFE:
                    self._nak(seq, t, C.NAK_BAD_STATE)
                    return
                self._set_config(key, value)
            reply = M.ConfigValue(seq, key, self._get_config(key))
        elif t == C.SET_KEY:
            if not self.hal.serial_is_wired():
                self._nak(seq, t, C.NAK_NOT_WIRED)
                return
            if c.state != C.STATE_SAFE:
                self._nak(seq, t, C.NAK_BAD_STATE)
                return
            new_key = bytes(frame.buf[C.PAYLOAD_OFFSET : C.PAYLOAD_OFFSET + 32])
            if new_key == bytes(32):
                new_key = None
            if self.storage is not None:
                self.storage.write_key(new_key)
            self._ack(seq, t)  # under the old key, then the new one from the next frame
            conn.set_key(new_key)
            return
        elif t == C.MAINTENANCE:
            self._maintenance(frame, seq)
            return
        else:
            self._nak(seq, t, C.NAK_BAD_STATE)
            return
        n = reply.pack_into(conn.tx, C.PAYLOAD_OFFSET)
        self._queue(reply.TYPE, n, seq)

    def _maintenance(self, frame, seq):
        """MAINTENANCE: over a cable, on a SAFE pad with no flight logging, the loop ends
        after the ACK goes out, outputs off, so firmware/main.py hands the port to the REPL."""
        t = C.MAINTENANCE
        confirm = bytes(frame.buf[C.PAYLOAD_OFFSET : C.PAYLOAD_OFFSET + 5])
        if confirm != C.MAINTENANCE_CONFIRM:
            self._nak(seq, t, C.NAK_NEED_CONFIRM)
        elif not self.hal.serial_is_wired():
            self._nak(seq, t, C.NAK_NOT_WIRED)  # nobody at the far end of a radio gets a REPL
        elif self.controller.state != C.STATE_SAFE:
            self._nak(seq, t, C.NAK_BAD_STATE)
        elif self.recorder.flying:
            self._nak(seq, t, C.NAK_BUSY)  # leaving now would cut a flight's log short
        else:
            self._ack(seq, t)
            self._end_for_maintenance()

    def _end_for_maintenance(self):
        """The loop's end, for MAINTENANCE and the held button alike: downloads dropped,
        outputs off; step() then only drains what is queued and run() returns."""
        self._end_reads()
        self._list = None
        for ch in range(self.hal.channels):
            self.hal.fire(ch, False)
        self.maintenance = True

    def _get_config(self, key):
        _lo, _hi, owner, attr = CONFIG[key]
        return getattr(getattr(self, owner), attr)

    def _set_config(self, key, value):
        _lo, _hi, owner, attr = CONFIG[key]
        setattr(getattr(self, owner), attr, value)

    # --- flight downloads (section 10 of PROTOCOL.md) ------------------------------------------
    def _flight_command(self, frame, t, seq):
        log = self.recorder.log
        if t == C.FLIGHT_LIST:
            # listed a frame at a time by _serve_downloads; a new LIST replaces an unfinished one
            self._list = [seq, log.flights() if log is not None else [], 0]
            return
        if log is None:
            self._nak(seq, t, C.NAK_NO_SUCH_FLIGHT)
            return
        flight = frame.u8(0) | frame.u8(1) << 8
        busy = self.recorder.flying or self.controller.state != C.STATE_SAFE
        if t == C.FLIGHT_ERASE:
            confirm = bytes(frame.buf[C.PAYLOAD_OFFSET + 2 : C.PAYLOAD_OFFSET + 7])
            if confirm != C.ERASE_CONFIRM:
                self._nak(seq, t, C.NAK_NEED_CONFIRM)
            elif self.recorder.flying:
                self._nak(seq, t, C.NAK_BUSY)
            elif self.controller.state != C.STATE_SAFE:
                self._nak(seq, t, C.NAK_BAD_STATE)
            else:
                self._end_reads()
                if log.erase(flight):
                    self._ack(seq, t)
                else:
                    self._nak(seq, t, C.NAK_NO_SUCH_FLIGHT)
            return
        # FLIGHT_READ: only on a SAFE pad with nothing being logged, so a download
        # never takes time from an armed controller or a flight in progress
        offset, length = struct.unpack_from("<II", frame.buf, C.PAYLOAD_OFFSET + 2)
        entry = log.entry(flight)
        if entry is None:
            self._nak(seq, t, C.NAK_NO_SUCH_FLIGHT)
        elif busy:
            self._nak(seq, t, C.NAK_BUSY)
        elif length == 0 or offset + length > entry.size:
            self._nak(seq, t, C.NAK_OUT_OF_RANGE)
        elif len(self._reads) >= MAX_READ_JOBS:
            self._nak(seq, t, C.NAK_BUSY)
        else:
            self._reads.append([flight, offset, offset + length])

    def _end_reads(self):
        self._reads = []
        self._end_file()

    def _serve_downloads(self):
        """Queue FLIGHT_INFO / FLIGHT_DATA frames while the output queue has room for them."""
        from protocol import messages as M

        if self.controller.state != C.STATE_SAFE:
            self._end_reads()  # armed meanwhile: the ground re-requests its gaps later
        log = self.recorder.log
        tx = self.conn.tx
        p = C.PAYLOAD_OFFSET
        while self.out.room() >= DOWNLOAD_FRAME_ROOM:
            if self._list is not None:
                re_seq, entries, i = self._list
                if not entries:
                    info = M.FlightInfo(re_seq, 0, 0, 0, 0, 0, 0, bytes(32), 0)
                else:
                    e = entries[i]
                    digest = log.digest(e.flight)
                    crc = digest[0][0] | digest[0][1] << 8 | digest[0][2] << 16 | digest[0][3] << 24
                    info = M.FlightInfo(re_seq, i, min(len(entries), 255), e.flight, e.flags,
                                        e.size, crc, digest[1], e.apogee_cm)
                self._queue(C.FLIGHT_INFO, info.pack_into(tx, p))
                i += 1
                if i >= len(entries) or i >= 255:
                    self._list = None
                else:
                    self._list[2] = i
                continue
            if not self._reads:
                return
            job = self._reads[0]
            flight, offset, end = job
            if self._read_flight != flight:
                self._end_file()
                self._read_file = open(log.path(flight), "rb")
                self._read_flight = flight
            n = end - offset
            if n > C.FLIGHT_CHUNK_MAX:
                n = C.FLIGHT_CHUNK_MAX
            f = self._read_file
            f.seek(offset)
            data = f.read(n)
            n = len(data)
            if n == 0:
                self._reads.pop(0)  # the file is shorter than its index says: the ground sees a gap
                continue
            struct.pack_into("<HI", tx, p, flight, offset)
            copy_into(tx, p + C.FLIGHT_DATA_HEADER_LEN, data, 0, n)
            self._queue(C.FLIGHT_DATA, C.FLIGHT_DATA_HEADER_LEN + n)
            job[1] = offset + n
            if job[1] >= end:
                self._reads.pop(0)
                if not self._reads:
                    self._end_file()

    def _end_file(self):
        if self._read_file is not None:
            self._read_file.close()
        self._read_file = None
        self._read_flight = -1

    def _sense_ua(self, raw):
        """Sense current in microamps: (supply - node) / R_sense, as a fraction of full scale."""
        hal = self.hal
        full = hal.adc_full_scale
        return (hal.sense_supply_mv * (full - raw) // full) * 1000 // hal.sense_resistor_ohm
