"""The device client: the API the command line and the window share.

Blocking calls for commands (arm, status, igniter test, config, the flight
list and erase), background keep-alives for what must keep flowing (heartbeats
at 2 Hz, ARM_REFRESH while armed, the dead-man FIRE stream every 100 ms while
told to fire). Commands follow the protocol's rule: one in flight, resent with
the same sequence and the RETRANSMIT flag at most three times, then a reported
failure. A FIRE is never sent except while `firing` is set by the caller, and
every way out (release, abort, a refusal, a lost link, a device reboot) stops
the stream.

Flight downloads (ground/download.py) stream FLIGHT_DATA, which answers no
sequence number: `on_flight_data` hands every chunk to the downloader, and
`flight_read` / `take_reply` let it keep its own windows in flight.
"""

import contextlib
import threading
import time

from ground.link import Link, LinkError
from protocol import constants as C
from protocol import messages as M

COMMAND_TIMEOUT_S = C.COMMAND_TIMEOUT_MS / 1000
FIRE_PERIOD_S = 0.100
REFRESH_PERIOD_S = 1.0
HEARTBEAT_PERIOD_S = C.HEARTBEAT_INTERVAL_MS / 1000
LINK_LOSS_S = C.LINK_LOSS_MS / 1000
# Commands that may be resent to a device that restarted while they waited: they only ask,
# or make safe. Any other (ARM, CONFIG_SET, FLIGHT_ERASE, SET_KEY) belongs to the session it
# was first sent in, as do the FIRE and ARM_REFRESH of an arm: the operator decides again.
RESENDABLE_AFTER_RESTART = frozenset((
    C.GET_DEVICE_INFO, C.GET_STATUS, C.GET_LINK_STATS, C.CONFIG_GET, C.IGNITER_TEST,
    C.DISARM, C.ABORT,
))


class DeviceError(Exception):
    """Base class of failures a person at the pad must hear about."""


class DeviceSilent(DeviceError):
    pass


class CommandFailed(DeviceError):
    """A command got no answer after the resends."""


class DeviceRestarted(DeviceError):
    """The device restarted (a new session) while a command or the arm it belongs to was
    under way: the device is SAFE, and nothing of the old session is sent to the new one."""


class CommandRefused(DeviceError):
    """The device answered NAK; `reason` is the NAK code, `reason_name` its name."""

    def __init__(self, command, reason):
        self.reason = reason
        self.reason_name = C.NAK_NAMES.get(reason, "UNKNOWN(%d)" % reason)
        super().__init__("%s refused by the device: %s" % (command, self.reason_name))


class DeviceClient:
    def __init__(self, url, key=None, baudrate=115200, on_status=None, on_event=None):
        self.link = Link(url, baudrate=baudrate, key=key, on_frame=self._on_frame, on_error=self._on_error)
        self.on_status = on_status  # called with every STATUS (reader thread)
        self.on_event = on_event  # called with (name, detail) for link/fire events
        self.on_flight_data = None  # called with every FLIGHT_DATA (reader thread)
        self.on_telemetry = None  # called with every TELEMETRY batch (reader thread)
        self.info = None
        self.status_msg = None
        self.heartbeat = None
        self.last_heard = 0.0
        self.session_changes = 0
        self._session = None  # the device session this client has heard (its boot nonce)
        self._cond = threading.Condition()
        self._replies = {}  # re_seq -> message
        self._flight_infos = {}  # FLIGHT_LIST seq -> [monotonic s of the last, {index: FlightInfo}]
        self._cmd_lock = threading.Lock()
        self._token = None
        self._token_session = None  # the session the token was given in
        self._arm_epoch = 0  # bumped by every DISARM/ABORT: an ARM answered after one is stale
        self._armed_mask = 0
        self._firing_mask = 0
        self.fire_nak = None
        self._stop = threading.Event()
        self._pump = None
        self.resends = 0  # commands resent after a timeout (link quality)
        self._next_fire = 0.0  # when the pump sends the next FIRE
        self._next_refresh = 0.0  # when the pump sends the next ARM_REFRESH

    # --- connection ----------------------------------------------------------------------------
    def connect(self, timeout=3.0):
        """Open the port, wait for the device's heartbeat, read its identity."""
        self.link.open()
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.heartbeat is None:
                left = deadline - time.monotonic()
                if left <= 0 or self.link.error is not None:
                    self.close()
                    if self.link.error is not None:
                        raise self.link.error
                    raise DeviceSilent(
                        "no Coalwood device answered on %s within %g s" % (self.link.url, timeout)
                    )
                self._cond.wait(left)
        # continue our sequence numbers after the last one the device accepted
        self.link.conn.next_seq = (self.heartbeat.last_rx_seq + 1) & 0xFFFF
        self._pump = threading.Thread(target=self._pump_loop, name="coalwood-pump", daemon=True)
        self._pump.start()
        try:
            self.info = self.command(M.GetDeviceInfo(), expect=M.DeviceInfo)
        except (CommandFailed, CommandRefused):
            # The first heartbeat may have waited in the device's output queue since before
            # a previous ground went away (a killed download): numbers taken from it can be
            # ones the device has already seen, so it drops them as replays. This read-only
            # question (never refused) goes once more as a new command, past those numbers.
            self.info = self.command(M.GetDeviceInfo(), expect=M.DeviceInfo)
        return self

    def close(self):
        self._firing_mask = 0
        self._stop.set()
        if self._pump is not None and self._pump is not threading.current_thread():
            self._pump.join(timeout=1.0)
        self.link.close()

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        if self._armed_mask:
            with contextlib.suppress(DeviceError, LinkError):
                self.disarm()
        self.close()

    @property
    def link_ok(self):
        return self.link.error is None and time.monotonic() - self.last_heard < LINK_LOSS_S

    # --- receiving (reader thread) -------------------------------------------------------------------
    def _on_frame(self, msg_type, payload, new_session, seq):
        msg = M.decode_payload(msg_type, payload, 0, len(payload))
        with self._cond:
            self.last_heard = time.monotonic()
            if new_session:
                self._session = self.link.conn.session
            if new_session and self.heartbeat is not None:
                # the device rebooted or renewed its session (it is SAFE either way):
                # nothing of the old session stands
                self.session_changes += 1
                self._forget_arm()
                self.status_msg = None  # until the new session's first STATUS
                if getattr(msg, "flags", 0) & C.DEV_RENEWED:
                    self._event("session-renewed", "the device began a new session, as it "
                                "does every 16384 frames (it did not restart): it is SAFE")
                else:
                    self._event("device-restarted", "the device restarted: it is SAFE")
            if isinstance(msg, M.Heartbeat):
                self.heartbeat = msg
            elif isinstance(msg, M.Status):
                self.status_msg = msg
            re_seq = getattr(msg, "re_seq", None)
            if isinstance(msg, M.FlightInfo):
                # one command, many replies: collected apart so none overwrites another
                listing = self._flight_infos.get(re_seq)
                if listing is not None:
                    listing[0] = self.last_heard
                    listing[1][msg.index] = msg
                re_seq = None
            if isinstance(msg, M.Nak) and msg.acked_type == C.FIRE:
                self._firing_mask = 0  # a refused FIRE ends the stream
                self.fire_nak = msg
                self._event("fire-refused", msg.reason_name)
            if re_seq is not None and re_seq != 0xFFFF:
                self._replies[re_seq] = msg
            self._cond.notify_all()
        if isinstance(msg, M.Status) and self.on_status is not None:
            self.on_status(msg)
        elif isinstance(msg, M.FlightData) and self.on_flight_data is not None:
            self.on_flight_data(msg)
        elif isinstance(msg, M.Telemetry) and self.on_telemetry is not None:
            self.on_telemetry(msg)

    def _on_error(self, error):
        with self._cond:
            self._firing_mask = 0
            self._event("link-error", str(error))
            self._cond.notify_all()

    def _event(self, name, detail):
        if self.on_event is not None:
            self.on_event(name, detail)

    # --- commands ---------------------------------------------------------------------------------
    def command(self, message, expect=None, timeout_s=COMMAND_TIMEOUT_S, resends=C.MAX_RESENDS):
        """Send a command and wait for its reply; resend per the protocol, then fail.

        Returns the reply; raises CommandRefused on NAK, CommandFailed on silence.
        """
        name = type(message).__name__
        session = None
        if message.TYPE not in RESENDABLE_AFTER_RESTART:
            with self._cond:
                session = self._session
            message = _InSession(message, self.link.conn, session, name)
        with self._cmd_lock:
            seq = self.link.send(message)
            for attempt in range(resends + 1):
                if attempt:
                    self.resends += 1
                    self.link.send(message, flags=C.FLAG_RETRANSMIT, seq=seq)
                deadline = time.monotonic() + timeout_s
                with self._cond:
                    while seq not in self._replies:
                        left = deadline - time.monotonic()
                        if left <= 0 or self.link.error is not None:
                            break
                        if session is not None and self._session != session:
                            # no answer will come: the device that had it restarted
                            raise DeviceRestarted(
                                "the device began a new session (it restarted, or renewed "
                                "its session) while %s waited for its answer: it is SAFE, "
                                "and %s is not sent again" % (name, name))
                        self._cond.wait(left)
                    reply = self._replies.pop(seq, None)
                if self.link.error is not None:
                    raise self.link.error
                if reply is not None:
                    if isinstance(reply, M.Nak):
                        raise CommandRefused(name, reply.reason)
                    if expect is not None and not isinstance(reply, expect):
                        raise CommandFailed("%s got an unexpected %s" % (name, type(reply).__name__))
                    return reply
            raise CommandFailed(
                "%s: no answer from the device after %d resends" % (name, resends)
            )

    def status(self):
        return self.command(M.GetStatus(), expect=M.Status)

    def link_stats(self):
        """The device's receiver counts since it booted (LINK_STATS fields as a dict, plus
        "rejected": every frame it dropped), or None when its firmware cannot tell.

        Asked only when DEVICE_INFO advertises FEATURE_LINK_STATS: an older firmware drops
        the unknown type unanswered, and a refusal is taken the same way. Silence from a
        device that advertises it is a link failure and raises CommandFailed as usual."""
        if self.info is None or not self.info.features & C.FEATURE_LINK_STATS:
            return None
        try:
            reply = self.command(M.GetLinkStats(), expect=M.LinkStats)
        except CommandRefused:
            return None
        counts = reply.as_dict()
        del counts["re_seq"]
        counts["rejected"] = reply.rejected()
        return counts

    def arm(self, channel_mask, override_continuity=False):
        flags = C.ARM_OVERRIDE_CONTINUITY if override_continuity else 0
        with self._cond:
            epoch = self._arm_epoch
            session = self._session  # the ARM goes to this session or not at all
        ack = self.command(M.Arm(channel_mask, flags), expect=M.ArmAck)
        with self._cond:
            if epoch != self._arm_epoch and self._session != session:
                raise DeviceRestarted("the device restarted after it armed: it is SAFE")
            if epoch != self._arm_epoch:
                # an ABORT or DISARM went out while this ARM waited for its answer: the
                # device armed, then went SAFE; a token kept now would be refreshed and
                # offered to FIRE for an arm that is over
                raise DeviceError("ARM overtaken by ABORT or DISARM: the pad is SAFE")
            self._token = bytes(ack.token)
            self._token_session = session  # a restart bumps the epoch: it is still this one
            self._armed_mask = ack.channel_mask
            self._next_refresh = time.monotonic() + REFRESH_PERIOD_S
        return ack

    def _forget_arm(self):
        """Stop the FIRE stream and the refreshes, and drop the token (the lock is re-entrant)."""
        with self._cond:
            self._firing_mask = 0
            self._armed_mask = 0
            self._token = None
            self._token_session = None
            self._arm_epoch += 1

    def disarm(self):
        self._forget_arm()
        return self.command(M.Disarm(), expect=M.Ack)

    def abort(self):
        """Stop any fire stream at once and make the pad SAFE (DISARM then ABORT if unanswered)."""
        self._forget_arm()
        try:
            return self.command(M.Disarm(), expect=M.Ack)
        except CommandFailed:
            return self.command(M.Abort(), expect=M.Ack)

    def start_fire(self, channel_mask):
        """Begin the dead-man FIRE stream; it runs until stop_fire(), abort() or a refusal."""
        with self._cond:
            if self._token is None:
                raise DeviceError("not armed: ARM first")
            self.fire_nak = None
            self._firing_mask = channel_mask
            self._next_fire = 0.0
        if not self._send_fire():
            raise DeviceRestarted("the device restarted: it is SAFE; ARM again to fire")

    def stop_fire(self):
        with self._cond:
            self._firing_mask = 0

    @property
    def firing(self):
        return self._firing_mask != 0

    @property
    def armed(self):
        """True while this client holds the token of a live ARM (and refreshes it)."""
        return self._token is not None

    def igniter_test(self, channel):
        return self.command(M.IgniterTest(channel), expect=M.IgniterResult)

    def config_get(self, key):
        return self.command(M.ConfigGet(key), expect=M.ConfigValue).value

    def config_set(self, key, value):
        return self.command(M.ConfigSet(key, value), expect=M.ConfigValue).value

    def set_key(self, new_key):
        ack = self.command(M.SetKey(new_key), expect=M.Ack)
        self.link.conn.set_key(None if new_key == bytes(32) else new_key)
        return ack

    def maintenance(self):
        """MAINTENANCE (wired, SAFE): the device acknowledges, drives its outputs off and ends
        its loop, handing its USB port to the MicroPython REPL. Nothing answers after the ACK:
        close this client at once. CommandRefused (NOT_WIRED, BAD_STATE, BUSY) otherwise."""
        return self.command(M.Maintenance(C.MAINTENANCE_CONFIRM), expect=M.Ack)

    # --- flights (PROTOCOL.md section 10) -----------------------------------------------------------
    def flight_list(self, resends=C.MAX_RESENDS):
        """Every stored flight's FLIGHT_INFO, by index ([] for an empty log).

        The list is complete once `count` distinct indexes arrived. When it is not, 250 ms
        after the last FLIGHT_INFO (or after sending, if none came), FLIGHT_LIST goes again
        as a new command; three resends in a row that bring no new entry fail the call.
        """
        got = {}
        count = None
        fruitless = 0
        with self._cmd_lock:
            while True:
                with self._cond:
                    # registered before the reader thread can see an answer (it needs _cond)
                    seq = self.link.send(M.FlightList())
                    listing = self._flight_infos[seq] = [time.monotonic(), {}]
                    try:
                        while True:
                            entries = listing[1]
                            if entries:
                                n = next(iter(entries.values())).count
                                if n == 0 or len(entries) >= n:
                                    break
                            if seq in self._replies or self.link.error is not None:
                                break
                            left = listing[0] + COMMAND_TIMEOUT_S - time.monotonic()
                            if left <= 0:
                                break
                            self._cond.wait(left)
                    finally:
                        del self._flight_infos[seq]
                    reply = self._replies.pop(seq, None)
                if self.link.error is not None:
                    raise self.link.error
                if isinstance(reply, M.Nak):
                    raise CommandRefused("FlightList", reply.reason)
                before = len(got)
                for info in entries.values():
                    if info.count != count:
                        # the log changed between attempts (a flight landed or was erased)
                        got = {}
                        before = -1
                        count = info.count
                    if info.index < count:
                        got[info.index] = info
                if count == 0:
                    return []
                if count is not None and len(got) >= count:
                    return [got[i] for i in range(count)]
                fruitless = fruitless + 1 if len(got) <= before else 0
                if fruitless > resends:
                    raise CommandFailed(
                        "FlightList: %d of %s flights listed, then no answer after %d resends"
                        % (len(got), "?" if count is None else count, resends)
                    )
                self.resends += 1

    def flight_read(self, flight, offset, length):
        """Send one FLIGHT_READ; returns its sequence number. The chunks arrive through
        `on_flight_data`; a refusal is a NAK for `take_reply(seq)`. Never resent: the
        downloader asks again for what is missing, as a new command."""
        return self.link.send(M.FlightRead(flight, offset, length))

    def take_reply(self, seq):
        """The reply (or NAK) that arrived for `seq`, removed; None while there is none."""
        with self._cond:
            return self._replies.pop(seq, None)

    def flight_erase(self, flight):
        """Erase one flight (or C.ERASE_ALL) with the confirmation word; returns the ACK."""
        return self.command(M.FlightErase(flight, C.ERASE_CONFIRM), expect=M.Ack)

    # --- keep-alives (pump thread) -----------------------------------------------------------------
    def _send_arm_frame(self, message, session, epoch):
        """Send a FIRE or ARM_REFRESH of the arm given in `session`; False (and that arm
        forgotten) when the device has restarted since: it never reaches the new session."""
        try:
            self.link.send(_InSession(message, self.link.conn, session, type(message).__name__))
        except DeviceRestarted:
            with self._cond:
                if self._arm_epoch == epoch:
                    self._forget_arm()
            return False
        return True

    def _send_fire(self):
        """One FIRE of the stream; False when the device restarted under it."""
        with self._cond:
            mask = self._firing_mask
            token = self._token
            session = self._token_session
            epoch = self._arm_epoch
        if mask and token is not None:
            if not self._send_arm_frame(M.Fire.for_channels(token, mask), session, epoch):
                return False
            self._next_fire = time.monotonic() + FIRE_PERIOD_S
        return True

    def _pump_loop(self):
        next_hb = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if self._firing_mask and now >= self._next_fire:
                    if not self.link_ok:
                        self.stop_fire()
                        self._event("fire-stopped", "link lost")
                    else:
                        self._send_fire()
                if now >= next_hb:
                    last = self.link.conn.last_rx_seq
                    self.link.send(M.Heartbeat(0, 0, last if last >= 0 else 0xFFFF))
                    next_hb = now + HEARTBEAT_PERIOD_S
                if self._armed_mask and not self._firing_mask and now >= self._next_refresh:
                    with self._cond:
                        token = self._token
                        session = self._token_session
                        epoch = self._arm_epoch
                    if token is not None:
                        self._send_arm_frame(M.ArmRefresh(token), session, epoch)
                    self._next_refresh = now + REFRESH_PERIOD_S
            except LinkError:
                self._firing_mask = 0
                return
            time.sleep(0.005)


class _InSession:
    """A message that may go out only while the link is in `session` (None: any).

    Link.send packs the message under the lock the reader thread holds while the protocol
    adopts a device's new session, so checking here, as it is packed, is exact: a message
    of the old session can never be framed for the new one (where the restarted device,
    its replay window fresh, would act on it)."""

    def __init__(self, message, conn, session, name):
        self.TYPE = message.TYPE
        self._message = message
        self._conn = conn
        self._session = session
        self._name = name

    def pack_into(self, buf, off):
        if self._session is not None and self._conn.session != self._session:
            raise DeviceRestarted("the device restarted: it is SAFE, and %s is not sent to it"
                                  % self._name)
        return self._message.pack_into(buf, off)
