"""The serial link: pyserial's serial_for_url feeding the protocol, one reader thread.

Any URL pyserial knows works: /dev/ttyACM0, COM3, socket://host:port, loop://,
and sim:// (the in-process simulated pad, registered by ground.sim).
Errors are passed on as typed exceptions, never swallowed: a port that does
not exist, is busy, is not ours to open, or vanishes while in use.
"""

import contextlib
import errno
import threading

import serial

import ground.sim  # noqa: F401  (registers the sim:// URL handler with pyserial)
from protocol import ROLE_GROUND, Connection

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


def _classify(url, exc):
    """Turn a pyserial/OS error on open into the LinkError a user can act on."""
    err = getattr(exc, "errno", None)
    text = str(exc)
    if err == errno.ENOENT or "No such file" in text or "FileNotFoundError" in text:
        return PortNotFound("no serial port %s (coalwood ports lists them)" % url)
    if err in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return PortPermission(
            "permission denied on %s (on Linux, add yourself to the dialout group)" % url
        )
    if err == errno.EBUSY or "busy" in text.lower() or "exclusively lock" in text:
        return PortBusy("%s is busy: another program has it open" % url)
    return LinkError("cannot open %s: %s" % (url, text))


class Link:
    """One open port and the ground side of the protocol.

    on_frame(message_or_frame, frame) is called on the reader thread for every
    verified frame; on_error(LinkError) once if the port fails. Sending is
    thread-safe.
    """

    def __init__(self, url, baudrate=115200, key=None, on_frame=None, on_error=None):
        self.url = url
        self.baudrate = baudrate
        self.conn = Connection(ROLE_GROUND, key=key, slots=16)
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
        except (serial.SerialException, OSError) as exc:
            self._fail(PortVanished("%s went away: %s" % (self.url, exc)))
            raise self.error from None

    # --- receiving ------------------------------------------------------------------------------
    def _read_loop(self):
        conn = self.conn
        while self._running:
            try:
                data = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if self._running:
                    self._fail(PortVanished("%s went away: %s" % (self.url, exc)))
                return
            if not data:
                continue
            pos = 0
            while pos < len(data):
                with self._lock:
                    pos += conn.receive_data(data, -1, pos)
                    frames = []
                    while True:
                        f = conn.next_event()
                        if f is None:
                            break
                        frames.append((f.msg_type, f.payload(), f.new_session, f.seq))
                for item in frames:
                    if self.on_frame is not None:
                        self.on_frame(*item)

    def _fail(self, error):
        if self.error is None:
            self.error = error
            self._running = False
            if self.on_error is not None:
                self.on_error(error)

    @property
    def stats(self):
        return self.conn.stats
