"""The serial link: pyserial's serial_for_url feeding the protocol, one reader thread.

Any URL pyserial knows works: /dev/ttyACM0, COM3, socket://host:port, loop://,
and sim:// (the in-process simulated pad, registered by ground.sim).
Errors are passed on as typed exceptions, never swallowed: a port that does
not exist, is busy, is not ours to open, or vanishes while in use.

Keys: a link given a key uses that key and no other. A link may also be offered
candidate keys (the ones this ground station keeps, ground/keys.py): it starts with
its own key (or none), and when a device frame fails its MAC it tries each candidate
on that very frame; the one that verifies becomes the link's key and the frame is read
again under it. A keyed device whose key is on offer is thus found from its first
HEARTBEAT, before anything is sent; one whose key is not gives KeyNotHeld, one line,
instead of silence.
"""

import contextlib
import errno
import os
import re
import threading

import serial

import ground.sim  # noqa: F401  (registers the sim:// URL handler with pyserial)
from ground.keys import SecretKey, same_key
from protocol import ROLE_GROUND, Connection
from protocol.constants import MAX_ENCODED

# Device frames failing their MAC under every key on offer, before any frame verified,
# after which the link gives up with KeyNotHeld: heartbeats come at 2 Hz, so about a
# second and a half, and never one stray frame.
UNVERIFIABLE_FRAMES_TO_GIVE_UP = 3

# USB vendor ids of boards and adapters a pad box is likely to be
LIKELY_BOARDS = {
    0x2E8A: "Raspberry Pi (Pico)",
    0x303A: "Espressif (ESP32)",
    0x10C4: "Silicon Labs CP210x",
    0x1A86: "WCH CH340",
    0x0403: "FTDI",
}


def serial_ports():
    """The serial ports pyserial finds, by device name: [{device, description, hwid,
    likely_board}] (likely_board: the maker's name for a likely pad box, else None). The
    command line (`coalwood ports`) and the window's port picker both list these."""
    from serial.tools import list_ports

    try:
        found = list_ports.comports()
    except OSError:  # a platform without serial ports
        found = []
    return [{"device": p.device, "description": p.description, "hwid": p.hwid,
             "likely_board": LIKELY_BOARDS.get(p.vid) if p.vid is not None else None}
            for p in sorted(found, key=lambda p: p.device)]


class LinkError(Exception):
    """Base class: anything that stops the link working. The message is for people."""


class PortNotFound(LinkError):
    pass


class PortBusy(LinkError):
    pass


class PortPermission(LinkError):
    pass


class PortVanished(LinkError):
    """The port went away while in use (unplugged, the simulator stopped)."""


def _vanished(url):
    # pyserial's own words differ with whichever of read and write noticed first
    return PortVanished("%s went away (unplugged, or the device stopped)" % url)


class KeyNotHeld(LinkError):
    """The device's frames verify under no key this link has (or it has one, and the
    device has none)."""


class _GroundConnection(Connection):
    """The protocol's ground side, remembering which key it runs under (set_key is also
    called by the client on a SET_KEY's ACK), so the link can tell which one is in force."""

    def set_key(self, key):
        super().set_key(key)
        self.key_in_force = SecretKey(key) if key else None


def _verifies(raw, key):
    """Whether the COBS-encoded frame `raw` (no delimiter) passes every check up to the MAC
    under `key` (None: unkeyed), read by a fresh ground connection."""
    probe = Connection(ROLE_GROUND, key=key, slots=2)
    probe.receive_data(raw + b"\x00")
    return probe.stats.frames_ok == 1


def _errno_of(exc):
    """The OS error number behind a pyserial/OS/termios error, wherever it was put."""
    err = getattr(exc, "errno", None)
    if isinstance(err, int):
        return err
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]  # termios.error is (errno, text)
    # pyserial often keeps only the text: "... [Errno 111] ..." or "... (25, 'Inappropriate ...')"
    found = re.search(r"\[Errno (\d+)\]|\((\d+), '", str(exc))
    if found:
        return int(found.group(1) or found.group(2))
    return None


# errno -> what the user is told (the port's name is put in front)
_OPEN_ERRORS = {
    errno.EISDIR: "is a folder, not a serial port",
    errno.ENOTTY: "is not a serial port",
    errno.ECONNREFUSED: "refused the connection: nothing is listening there",
    errno.ENXIO: "has no device behind it",
    errno.ENODEV: "has no device behind it",
}


def _classify(url, exc):
    """Turn a pyserial/OS error on open into the LinkError a user can act on."""
    err = _errno_of(exc)
    text = str(exc)
    if err == errno.ENOENT or "No such file" in text or "FileNotFoundError" in text:
        return PortNotFound("no serial port %s (coalwood ports lists them)" % url)
    if err in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return PortPermission(
            "permission denied on %s (on Linux, add yourself to the dialout group)" % url
        )
    if err == errno.EBUSY or "busy" in text.lower() or "exclusively lock" in text:
        return PortBusy("%s is busy: another program has it open" % url)
    if err in _OPEN_ERRORS:
        return LinkError("cannot open %s: it %s" % (url, _OPEN_ERRORS[err]))
    if err is not None:
        return LinkError("cannot open %s: %s" % (url, os.strerror(err)))
    return LinkError("cannot open %s: %s" % (url, text))


class Link:
    """One open port and the ground side of the protocol.

    on_frame(message_or_frame, frame) is called on the reader thread for every
    verified frame; on_error(LinkError) once if the port fails. Sending is
    thread-safe.
    """

    def __init__(self, url, baudrate=115200, key=None, on_frame=None, on_error=None,
                 candidate_keys=()):
        self.url = url
        self.baudrate = baudrate
        self.conn = _GroundConnection(ROLE_GROUND, key=key, slots=16)
        self._candidates = list(candidate_keys)  # keys (None: no key) tried on a failed MAC
        self._heard = False  # a device frame has verified on this link
        self._unverifiable = 0  # frames no key on offer verified, before any that did
        self._unkeyed_frames = 0  # of those, frames that carry no MAC
        self._carry = bytearray()  # the raw bytes of a frame split across reads
        self._carry_whole = True  # False once a frame outgrew any legal one
        self.on_frame = on_frame
        self.on_error = on_error
        self.error = None
        self._port = None
        self._lock = threading.Lock()
        self._reader = None
        self._running = False

    def open(self):
        try:
            # DTR/RTS are left as the driver has them: no toggling, which
            # resets some boards.
            port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.02, do_not_open=True)
            if type(port) is serial.Serial:
                port.exclusive = True  # a second program on the same port is refused: busy
            port.open()
        except serial.SerialException as exc:
            raise _classify(self.url, exc) from None
        except (OSError, ValueError) as exc:
            raise _classify(self.url, exc) from None
        self._port = port
        self._running = True
        # A lone 0x00 ends whatever line noise the device has buffered.
        self._write(b"\x00")
        self._reader = threading.Thread(target=self._read_loop, name="coalwood-link", daemon=True)
        self._reader.start()
        return self

    def __enter__(self):
        return self.open() if self._port is None else self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._running = False
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=1.0)
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.close()
            self._port = None

    # --- sending --------------------------------------------------------------------------------
    def send(self, message, flags=0, seq=-1):
        """Encode and write one message; returns the sequence number it went out with."""
        with self._lock:
            wire = self.conn.send(message, flags=flags, seq=seq)
            seq_used = self.conn.last_tx_seq
            self._write(wire)
            return seq_used

    def _write(self, data):
        if self.error is not None:
            raise self.error
        try:
            self._port.write(data)
        except (serial.SerialException, OSError):
            self._fail(_vanished(self.url))
            raise self.error from None

    # --- receiving ------------------------------------------------------------------------------
    def _read_loop(self):
        while self._running:
            try:
                data = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError):
                if self._running:
                    self._fail(_vanished(self.url))
                return
            if data:
                self._take(data)

    def _take(self, data):
        """Feed one read's bytes to the protocol a frame at a time (each up to its 0x00), so
        a frame that fails its MAC can be tried under the keys on offer."""
        conn = self.conn
        n = len(data)
        pos = 0
        while pos < n and self._running:
            z = data.find(b"\x00", pos)
            end = n if z < 0 else z + 1
            start = pos
            frames = []
            trouble = None
            with self._lock:
                mac_errors = conn.stats.mac_errors
                while pos < end:
                    pos += conn.receive_data(data, end, pos)
                    self._collect(frames)
                if z < 0:
                    self._keep_carry(data, start, n)
                else:
                    if conn.stats.mac_errors != mac_errors and self._carry_whole:
                        trouble = self._mac_failed(bytes(self._carry) + data[start:z], frames)
                    self._carry.clear()
                    self._carry_whole = True
            for item in frames:
                if self.on_frame is not None:
                    self.on_frame(*item)
            if trouble is not None:
                self._fail(KeyNotHeld(trouble))
                return

    def _collect(self, frames):
        while True:
            f = self.conn.next_event()
            if f is None:
                return
            self._heard = True
            frames.append((f.msg_type, f.payload(), f.new_session, f.seq))

    def _keep_carry(self, data, start, end):
        if self._carry_whole:
            self._carry += data[start:end]
            if len(self._carry) >= MAX_ENCODED:  # the protocol drops it as oversize anyway
                self._carry.clear()
                self._carry_whole = False

    def _mac_failed(self, raw, frames):
        """A device frame failed its MAC (under the lock): adopt the key on offer that
        verifies it and read it again; else count it. Returns KeyNotHeld's line once the
        link should give up, else None."""
        conn = self.conn
        for key in self._candidates:
            if key is None and conn.keyed and self._heard:
                # Once device frames have verified under a key, an unsigned frame is a forgery
                # to be dropped, never a reason to stop checking MACs (only the client's own
                # SET_KEY of no key, on its ACK, makes a keyed link unkeyed).
                continue
            if same_key(key, conn.key_in_force) or not _verifies(raw, key):
                continue
            conn.set_key(key)
            conn.stats.mac_errors -= 1  # not rejected after all: read again, and accepted
            conn.receive_data(raw + b"\x00")
            self._collect(frames)
            return None
        if self._heard:
            return None  # a forged or stray frame on a working link: dropped, nothing more
        self._unverifiable += 1
        if conn.keyed and _verifies(raw, None):
            self._unkeyed_frames += 1
        if self._unverifiable >= UNVERIFIABLE_FRAMES_TO_GIVE_UP:
            return self.key_trouble()
        return None

    def _fail(self, error):
        if self.error is None:
            self.error = error
            self._running = False
            if self.on_error is not None:
                self.on_error(error)

    @property
    def stats(self):
        return self.conn.stats

    # --- keys -----------------------------------------------------------------------------------
    def offer_keys(self, keys):
        """The keys (None: no key) to try when a device frame fails its MAC; replaces
        the earlier offer. The key in force needs no offering."""
        with self._lock:
            self._candidates = list(keys)

    @property
    def keyed(self):
        return self.conn.keyed

    def uses_key(self, key):
        """Whether the link runs under `key` (None: unkeyed)."""
        return same_key(self.conn.key_in_force, key)

    def key_in_force(self):
        """The key the link runs under (a SecretKey), or None; for the key store only."""
        return self.conn.key_in_force

    def key_trouble(self):
        """One line when the device's frames have failed their MAC under every key on
        offer and none has verified; else None."""
        if self._heard or not self._unverifiable:
            return None
        if self.conn.keyed and self._unkeyed_frames:
            return "the device on %s has no authentication key: leave out --key" % self.url
        if self.conn.keyed:
            return ("the device on %s holds another authentication key than the one given "
                    "(--key)" % self.url)
        return ("the device on %s requires an authentication key this ground station does "
                "not hold (give it with --key, or bring it from the laptop that set it: "
                "coalwood key import)" % self.url)
