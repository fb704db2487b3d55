"""The window's one connection to a pad box: a QObject that owns a DeviceClient.

Widgets never touch the client. Everything the client's threads see (frames on
the reader thread, fire-stream ends on the pump thread, answers to commands
on a worker thread) is posted through one queued signal and re-emitted from
the GUI thread, so every public signal reaches its slots on the GUI thread
whatever kind of connection the widget made.

Nothing here parses bytes or decides what is safe: the client speaks the
protocol and the firmware enforces the safety rules. This class only keeps
blocking calls off the GUI thread and tells the widgets what happened.

Times in `event` are wall-clock seconds (time.time()), for the launch log.
"""

import contextlib
import queue
import threading
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from ground.cli_common import one_line
from ground.client import LINK_LOSS_S, CommandRefused, DeviceClient, DeviceError
from ground.keys import connect_client
from ground.link import LinkError
from protocol import constants as C
from protocol import messages as M

WATCH_PERIOD_MS = 100  # how often silence on the link and the fire stream are checked
CONNECT_TIMEOUT_S = 3.0


class Connection(QObject):
    # device_info: board, firmware, protocol, channels, device_id, url, keyed_link
    connected = Signal(dict)
    disconnected = Signal(str)  # reason
    link_lost = Signal(str)  # reason: the port vanished, or silence longer than the link-loss time
    status = Signal(object)  # protocol.messages.Status
    telemetry = Signal(object)  # protocol.messages.Telemetry
    event = Signal(str, str, float)  # kind, text, t_s (wall clock)
    armed = Signal(int)  # channel mask the device armed; 0 once it is SAFE again
    fired = Signal(int)  # channel mask of a FIRE stream that has started going out
    fire_stopped = Signal(str)  # reason the FIRE stream ended
    refused = Signal(str, str)  # command, the device's reason (a NAK name)
    error = Signal(str)  # one line

    # every thread other than the GUI one speaks to the widgets only through this
    _post = Signal(object)

    def __init__(self, parent=None, key=None, connect_timeout_s=CONNECT_TIMEOUT_S):
        super().__init__(parent)
        self._key = key
        self._connect_timeout_s = connect_timeout_s
        self._client = None
        self._url = None
        # bumped by every open() and close(): anything a previous client posts afterwards is stale
        self._gen = 0
        self._armed_mask = 0
        self._fire_mask = 0
        self._link_lost = False
        self._hb_at_arm = None
        self._jobs = queue.Queue()
        self._worker = None
        self._post.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(WATCH_PERIOD_MS)
        self._watch_timer.timeout.connect(self._watch)

    # --- state a widget may read ------------------------------------------------------------------
    @property
    def client(self):
        return self._client

    @property
    def is_connected(self):
        return self._client is not None

    @property
    def link_ok(self):
        return self._client is not None and not self._link_lost

    @property
    def is_firing(self):
        return self._fire_mask != 0

    def link_quality(self):
        """Counters for a periodic refresh: frames_ok, crc_errors, rejected, resends,
        since_heard_s (None before the first frame), link_ok."""
        client = self._client
        if client is None:
            return {"connected": False, "frames_ok": 0, "frames_out": 0, "crc_errors": 0,
                    "rejected": 0, "resends": 0, "since_heard_s": None, "link_ok": False}
        stats = client.link.stats
        heard = client.last_heard
        return {
            "connected": True,
            "frames_ok": stats.frames_ok,
            "frames_out": stats.frames_out,
            "crc_errors": stats.crc_errors,
            "rejected": stats.rejected(),
            "resends": client.resends,
            "since_heard_s": time.monotonic() - heard if heard else None,
            "link_ok": client.link_ok,
        }

    # --- connecting -------------------------------------------------------------------------------
    @Slot(str)
    def open(self, url):
        """Connect in the background; `connected` or `error` follows."""
        if self._client is not None:
            self.close()
        self._gen += 1
        gen = self._gen
        self._url = url
        self._log("command", "connect %s" % url)
        threading.Thread(target=self._open_in_background, args=(gen, url),
                         name="coalwood-ui-open", daemon=True).start()

    def _open_in_background(self, gen, url):
        try:
            client = DeviceClient(
                url, key=self._key,
                on_status=lambda msg: self._post.emit((gen, "status", (msg,))),
                on_event=lambda name, detail: self._post.emit((gen, "_client_event", (name, detail))),
            )
            client.on_telemetry = lambda msg: self._post.emit((gen, "telemetry", (msg,)))
            # a key given (--key) is used alone; else the keys this laptop stores are tried
            connect_client(client, self._connect_timeout_s, explicit_key=self._key is not None)
        except Exception as exc:  # a bad URL, a busy port, a silent device: all one line for the window
            self._post.emit((gen, "_open_failed", (url, one_line(exc))))
            return
        self._post.emit((gen, "_opened", (client,)))

    def _opened(self, client):
        self._client = client
        self._armed_mask = 0
        self._fire_mask = 0
        self._link_lost = False
        info = client.info
        device_info = {
            "url": self._url,
            "board": info.board_name,
            "firmware": info.firmware_version,
            "protocol_version": info.protocol_version,
            "channels": info.channels,
            "features": info.features,
            "device_id": bytes(info.device_id).hex(),
            "keyed_link": client.link.keyed,
        }
        self._ensure_worker()
        self._watch_timer.start()
        self._log("answer", "connected to %s (firmware %s, %d channels)"
                  % (device_info["board"], device_info["firmware"], info.channels))
        self.connected.emit(device_info)

    def _open_failed(self, url, text):
        self._log("error", text)
        self.error.emit(text)

    @Slot()
    def close(self, reason="closed"):
        """Stop any fire stream, disarm if armed, let the port go; never blocks."""
        client = self._client
        self._gen += 1
        self._client = None
        self._watch_timer.stop()
        if client is None:
            return
        client.stop_fire()  # whatever this object believed: the client's stream is what sends
        self._stream_ended(reason)
        was_armed = self._armed_mask
        self._armed_mask = 0
        self._log("command", "disconnect")

        def shut():
            if was_armed:
                with contextlib.suppress(Exception):  # the pad lapses to SAFE on its own anyway
                    client.disarm()
            with contextlib.suppress(Exception):
                client.close()

        threading.Thread(target=shut, name="coalwood-ui-close", daemon=True).start()
        self.disconnected.emit(reason)

    # --- commands ---------------------------------------------------------------------------------
    @Slot(int)
    def arm(self, mask, override=False):
        def job(client):
            ack = client.arm(mask, override)
            return ("_armed", (ack.channel_mask, client.heartbeat))

        self._submit("ARM", "ARM channels %s%s" % (channel_list(mask), " (continuity override)" if override else ""), job)

    @Slot()
    def disarm(self):
        # now, not when the worker gets to the DISARM (it may be waiting on an ARM's answer)
        self._stop_stream("disarm")

        def job(client):
            client.disarm()
            return ("_disarmed", ("DISARM acknowledged: the pad is SAFE",))

        self._submit("DISARM", "DISARM", job)

    @Slot()
    def request_status(self):
        def job(client):
            client.status()  # the reply reaches `status` through the client's on_status
            return None

        self._submit("STATUS", "GET_STATUS", job)

    @Slot()
    def abort(self):
        """ABORT wins every race: the fire stream stops and an ABORT frame goes out here,
        ahead of any command a worker is waiting on; the acknowledged DISARM follows."""
        client = self._client
        if client is None:
            self._log("command", "ABORT (not connected)")
            return
        gen = self._gen
        client.stop_fire()
        self._stream_ended("abort")
        self._log("command", "ABORT")
        try:
            client.link.send(M.Abort())
        except LinkError as exc:
            self._log("error", "ABORT not sent: %s" % one_line(exc))

        def confirm():
            try:
                client.abort()
            except CommandRefused as exc:
                self._post.emit((gen, "_refuse", ("ABORT", exc.reason_name)))
            except Exception as exc:  # the ABORT frame already went out; this only reports
                self._post.emit((gen, "_fail", ("ABORT", one_line(exc))))
            else:
                self._post.emit((gen, "_disarmed", ("ABORT acknowledged: the pad is SAFE",)))

        # not the command worker: an ARM waiting there for its answer must not delay this
        threading.Thread(target=confirm, name="coalwood-ui-abort", daemon=True).start()

    @Slot(int)
    def start_fire(self, mask):
        """Hold-to-fire pressed: the dead-man FIRE stream runs until stop_fire()."""
        client = self._client
        if client is None:
            self._refuse("FIRE", "not connected")
            return
        if self._link_lost:
            self._refuse("FIRE", "link lost")
            return
        self._log("command", "FIRE channels %s (held)" % channel_list(mask))
        try:
            client.start_fire(mask)
        except DeviceError as exc:
            # the client will not send FIRE without the token of a live ARM
            self._refuse("FIRE", one_line(exc))
            return
        except Exception as exc:  # a LinkError, or a port closed under it
            client.stop_fire()  # the first frame failed: the pump must not send the next
            self._fail("FIRE", one_line(exc))
            return
        if not client.firing:
            # already ended (a NAK raced in); the client's event says why
            return
        self._fire_mask = mask
        self.fired.emit(mask)

    @Slot()
    def stop_fire(self):
        """Hold-to-fire released."""
        if self._client is not None:
            self._client.stop_fire()
        if self._fire_mask:
            self._log("command", "FIRE released")
            self._stream_ended("released")

    # --- plumbing ---------------------------------------------------------------------------------
    def _submit(self, command, text, job):
        client = self._client
        if client is None:
            self._refuse(command, "not connected")
            return
        gen = self._gen
        self._log("command", text)
        self._ensure_worker()
        self._jobs.put((gen, client, command, job))

    def _ensure_worker(self):
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="coalwood-ui-commands", daemon=True)
            self._worker.start()

    def _work(self):
        # one thread, in order: an ARM then a DISARM clicked quickly reach the device in that order
        while True:
            gen, client, command, job = self._jobs.get()
            if gen != self._gen:
                continue  # queued for a connection since closed
            try:
                result = job(client)
            except CommandRefused as exc:
                self._post.emit((gen, "_refuse", (command, exc.reason_name)))
            except Exception as exc:  # this thread must outlive any one failed command
                self._post.emit((gen, "_fail", (command, one_line(exc))))
            else:
                if result is not None:
                    self._post.emit((gen, *result))

    @Slot(object)
    def _deliver(self, item):
        gen, name, args = item
        if gen != self._gen:
            if name == "_opened":
                # it finished connecting after close() or another open(): nobody will ever
                # close it, and it holds the port (opened exclusively) and its threads
                threading.Thread(target=args[0].close, name="coalwood-ui-close",
                                 daemon=True).start()
            return
        try:
            if name.startswith("_"):
                getattr(self, name)(*args)
            else:
                getattr(self, name).emit(*args)
        except Exception as exc:  # a fault here must not unwind into Qt's event loop
            with contextlib.suppress(Exception):
                self.error.emit(one_line(exc))

    def _log(self, kind, text):
        self.event.emit(kind, text, time.time())

    def _refuse(self, command, reason):
        self._log("refused", "%s refused: %s" % (command, reason))
        self.refused.emit(command, reason)

    def _fail(self, command, text):
        line = "%s failed: %s" % (command, text)
        self._log("error", line)
        self.error.emit(line)

    def _armed(self, mask, heartbeat):
        self._armed_mask = mask
        self._hb_at_arm = heartbeat
        self._log("answer", "ARMED channels %s" % channel_list(mask))
        self.armed.emit(mask)

    def _disarmed(self, text):
        self._log("answer", text)
        self._now_safe()

    def _now_safe(self):
        """The window's idea of the pad goes back to SAFE (and says so once)."""
        if self._armed_mask:
            self._armed_mask = 0
            self.armed.emit(0)

    def _stop_stream(self, reason):
        if self._client is not None:
            self._client.stop_fire()
        self._stream_ended(reason)

    def _stream_ended(self, reason):
        if not self._fire_mask:
            return
        self._fire_mask = 0
        self._log("fire", "FIRE stream stopped: %s" % reason)
        self.fire_stopped.emit(reason)

    def _client_event(self, name, detail):
        self._log("device", "%s: %s" % (name, detail))
        if name == "fire-refused":
            self._stream_ended("refused: %s" % detail)
            self.refused.emit("FIRE", detail)
        elif name == "fire-stopped":
            self._stream_ended(detail)
        elif name in ("device-restarted", "session-renewed"):
            self._stream_ended("device restarted" if name == "device-restarted"
                               else "new device session")
            self._now_safe()
        elif name == "link-error":
            # The port stays ours until close() or the next open(): the window keeps
            # showing what it last knew, and reconnecting is the operator's decision.
            self._lose_link(detail)

    def _lose_link(self, reason):
        if self._link_lost:
            return
        self._link_lost = True
        if self._client is not None:
            self._client.stop_fire()
        self._stream_ended("link lost")
        self._now_safe()  # the device drops to SAFE by itself after the link-loss time
        self._log("link", "link lost: %s" % reason)
        self.link_lost.emit(reason)

    @Slot()
    def _watch(self):
        try:
            self._check()
        except Exception as exc:  # never into Qt's event loop
            self.error.emit(one_line(exc))

    def _check(self):
        client = self._client
        if client is None:
            return
        if client.link.error is not None:
            self._lose_link(one_line(client.link.error))
            return
        silent_s = time.monotonic() - client.last_heard
        if silent_s > LINK_LOSS_S:
            self._lose_link("no frame from the device for %.1f s" % silent_s)
        elif self._link_lost:
            self._link_lost = False
            self._log("link", "link restored")
        if self._fire_mask and not client.firing:
            # the client ended it on its own (a refusal or a lost link on the pump thread)
            self._stream_ended("stopped by the client")
        hb = client.heartbeat
        if (self._armed_mask and hb is not None and hb is not self._hb_at_arm
                and hb.state in (C.STATE_SAFE, C.STATE_FAULT)):
            # e.g. the key turned off, the arm lapsed: the device said SAFE on its own
            self._stop_stream("device %s" % C.STATE_NAMES[hb.state])
            self._log("device", "device is %s" % C.STATE_NAMES[hb.state])
            self._now_safe()


def channel_list(mask):
    """'1' or '1, 2' for a channel mask (channels counted from 1, as on the box)."""
    chans = [str(i + 1) for i in range(C.MAX_CHANNELS) if mask & (1 << i)]
    return ", ".join(chans) if chans else "none"
