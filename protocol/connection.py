"""The sans-IO connection: bytes in, frames out; frames in, bytes out.

    conn = Connection(ROLE_DEVICE, session=nonce, key=None)
    conn.receive_data(chunk)            # returns how many bytes it took
    frame = conn.next_event()           # a Frame, or None when it needs data
    n = conn.encode(msg_type, length)   # payload already packed at conn.tx[9:]
    port.write(conn.out, n)             # the COBS-encoded frame with its delimiter

No I/O, no clock, no sleeps. Every received frame goes through the checks in
this order and the first failure is final (the frame is counted and dropped):

    COBS -> length -> CRC -> version/flags -> length against type -> MAC
    -> session -> sequence (replay)

The replay window only moves after the MAC verified, so a forged frame can
never lock the real sender out. Decoding writes straight into preallocated
frame slots and the returned Frame objects are reused, so receiving and
sending a frame allocates nothing on MicroPython (the MAC, when keyed, does:
hashlib objects are created per frame).
"""

from protocol import cobs
from protocol.compat import (
    COBS_TOO_LONG,
    cobs_decode_frame,
    const,
    copy_into,
)
from protocol.constants import (
    CRC_LEN,
    FLAG_FROM_DEVICE,
    FLAG_MAC,
    FLAG_RETRANSMIT,
    HEADER_LEN,
    MAC_EXEMPT,
    MAC_LEN,
    MAX_ENCODED,
    MAX_FRAME,
    MAX_PAYLOAD,
    MESSAGE_TABLE,
    MIN_FRAME,
    PAYLOAD_OFFSET,
    PROTOCOL_VERSION,
    RETIRED_SESSIONS,
    ROLE_DEVICE,
    ROLE_GROUND,
    SESSION_ROLLOVER_FRAMES,
    TO_DEVICE,
    TO_GROUND,
)
from protocol.crc import crc32_into, crc32_matches
from protocol.errors import LocalProtocolError
from protocol.mac import MacKey
from protocol.reliable import ReplyCache

# Frame.kind
FRAME = const(1)  # a new frame: act on it
DUPLICATE = const(2)  # a retransmitted command already executed: resend the cached reply

# Connection.last_error: why the most recent frame was dropped.
ERR_NONE = const(0)
ERR_COBS = const(1)
ERR_LENGTH = const(2)
ERR_OVERSIZE = const(3)
ERR_CRC = const(4)
ERR_HEADER = const(5)
ERR_TYPE = const(6)
ERR_MAC = const(7)
ERR_SESSION = const(8)
ERR_REPLAY = const(9)
# The Stats counter each ERR_* code bumps (index = code - 1); LINK_STATS sends them in this order.
REJECTION_COUNTERS = (
    "cobs_errors",
    "length_errors",
    "oversize",
    "crc_errors",
    "header_errors",
    "type_errors",
    "mac_errors",
    "session_errors",
    "replays",
)
_ERROR_COUNTERS = ("",) + REJECTION_COUNTERS
ERROR_NAMES = (
    "none",
    "cobs",
    "length",
    "oversize",
    "crc",
    "header",
    "type",
    "mac",
    "session",
    "replay",
)

# How many sequences behind the newest one may still arrive once each
# (a retransmitted command overtaken by heartbeats, a reply resent from cache).
REPLAY_WINDOW = const(64)
_WINDOW_MASK = const(63)

_ZERO = b"\x00"


def _table(column):
    t = bytearray(256)
    for row in MESSAGE_TABLE:
        t[row[0]] = row[column]
    return t


# The longest COBS-encoded frame, without its delimiter.
_MAX_ENCODED_BODY = const(263)  # MAX_ENCODED - 1

# Decoded frame size for a payload of length 0, without and with a MAC.
_OVERHEAD = const(13)  # HEADER_LEN + CRC_LEN
_OVERHEAD_MAC = const(29)  # HEADER_LEN + MAC_LEN + CRC_LEN

# Per-type lookups indexed by the type byte (zero = unknown type).
_DIRECTION = _table(1)
_MIN_LEN = _table(2)
_MAX_LEN = _table(3)
_STEP = _table(4)
_MAC_EXEMPT = bytearray(256)
for _t in MAC_EXEMPT:
    _MAC_EXEMPT[_t] = 1


def payload_length_ok(msg_type, length):
    """True when `length` is an allowed payload length for `msg_type`."""
    mn = _MIN_LEN[msg_type]
    return (
        _DIRECTION[msg_type] != 0
        and mn <= length <= _MAX_LEN[msg_type]
        and (length - mn) % _STEP[msg_type] == 0
    )


class Stats:
    """What the receiver saw: accepted frames and each kind of rejection."""

    FIELDS = ("frames_ok", "frames_out") + REJECTION_COUNTERS + ("duplicates", "session_changes")

    def __init__(self):
        self.reset()

    def reset(self):
        for name in self.FIELDS:
            setattr(self, name, 0)

    def rejected(self):
        """Frames dropped for any reason."""
        total = 0
        for name in _ERROR_COUNTERS[1:]:
            total += getattr(self, name)
        return total

    def as_dict(self):
        return {name: getattr(self, name) for name in self.FIELDS}


class Frame:
    """A received, verified frame. Reused: valid until the next call to next_event()."""

    def __init__(self, buf):
        self.buf = buf  # the decoded frame; payload at PAYLOAD_OFFSET
        self.kind = 0
        self.msg_type = 0
        self.flags = 0
        self.seq = 0
        self.length = 0  # payload length
        self.new_session = False  # ground: first frame of a new device session

    @property
    def retransmit(self):
        return bool(self.flags & FLAG_RETRANSMIT)

    @property
    def authenticated(self):
        return bool(self.flags & FLAG_MAC)

    def payload(self):
        """A copy of the payload bytes (allocates; for the ground station)."""
        return bytes(self.buf[PAYLOAD_OFFSET : PAYLOAD_OFFSET + self.length])

    def session(self):
        b = self.buf
        return b[4] | b[5] << 8 | b[6] << 16 | b[7] << 24

    # Allocation-free field readers for the board (offsets within the payload).
    def u8(self, off):
        return self.buf[PAYLOAD_OFFSET + off]

    def u16(self, off):
        b = self.buf
        i = PAYLOAD_OFFSET + off
        return b[i] | b[i + 1] << 8

    def i16(self, off):
        v = self.u16(off)
        return v - 0x10000 if v & 0x8000 else v


class Connection:
    """One end of a link. role is ROLE_DEVICE or ROLE_GROUND.

    session: the device's boot nonce (device role; the ground learns it).
    key: 32-byte pre-shared MAC key, or None for an unkeyed (wired) link.
    slots: how many received frames may wait for next_event(); at least 2.
    """

    def __init__(self, role, session=0, key=None, slots=4):
        if role != ROLE_DEVICE and role != ROLE_GROUND:
            raise LocalProtocolError("role must be ROLE_DEVICE or ROLE_GROUND")
        if slots < 2:
            raise LocalProtocolError("need at least 2 frame slots")
        self.role = role
        if role == ROLE_DEVICE:
            self._tx_dir_flag = FLAG_FROM_DEVICE
            self._rx_header = PROTOCOL_VERSION << 4
            self._rx_direction = TO_DEVICE
            self._tx_direction = TO_GROUND
        else:
            self._tx_dir_flag = 0
            self._rx_header = (PROTOCOL_VERSION << 4) | FLAG_FROM_DEVICE
            self._rx_direction = TO_GROUND
            self._tx_direction = TO_DEVICE
        self._key = None
        self.set_key(key)

        # Receive side: N frame slots used as a ring.
        self._nslots = slots
        self._bufs = [bytearray(MAX_FRAME) for _ in range(slots)]
        self._frames = [Frame(b) for b in self._bufs]
        self._r = 0  # oldest ready slot
        self._ready = 0  # frames waiting for next_event()
        self._held = 0  # 1 while the frame last returned may still be read
        self._scratch = bytearray(4)
        self._w = 0  # the slot being written: always (_r + _ready) % slots
        self._wbuf = self._bufs[0]
        # The raw bytes of a frame split across receive_data() calls, bounded:
        # a longer frame is dropped, not buffered.
        self._raw = bytearray(_MAX_ENCODED_BODY)
        self._raw_n = 0
        self._discard = False

        # Replay window: newest accepted sequence and which recent ones were seen.
        self._window_seq = [0] * REPLAY_WINDOW
        self._window_used = bytearray(REPLAY_WINDOW)
        self.last_rx_seq = -1
        self.frames_in_session = 0
        self._session = bytearray(4)
        self.session_known = False
        self._retired = bytearray(4 * RETIRED_SESSIONS)
        self._retired_used = bytearray(RETIRED_SESSIONS)
        self._retired_next = 0
        if role == ROLE_DEVICE:
            self.set_session(session)

        # Send side.
        self.tx = bytearray(MAX_FRAME)  # payload is packed at tx[PAYLOAD_OFFSET:]
        self.out = bytearray(MAX_ENCODED)  # the last encoded frame
        self.next_seq = 0
        self.last_tx_seq = -1
        self.replies = ReplyCache()

        self.stats = Stats()
        self.last_error = ERR_NONE

    # --- configuration ---------------------------------------------------------------
    def set_key(self, key):
        """Use `key` (32 bytes) for MACs from now on; None makes the link unkeyed."""
        self._key = MacKey(key) if key else None

    @property
    def keyed(self):
        return self._key is not None

    def set_session(self, session):
        """Device: start a new session with a fresh nonce (from the board's entropy)."""
        s = self._session
        s[0] = session & 0xFF
        s[1] = (session >> 8) & 0xFF
        s[2] = (session >> 16) & 0xFF
        s[3] = (session >> 24) & 0xFF
        self.session_known = True
        self._reset_replay()

    @property
    def session(self):
        s = self._session
        return s[0] | s[1] << 8 | s[2] << 16 | s[3] << 24

    def session_rollover_due(self):
        """Device: True when a new session nonce should be chosen.

        Counts frames sent and accepted in this session, so neither side's
        16-bit sequence can come round onto frames recorded earlier in it.
        """
        return self.frames_in_session >= SESSION_ROLLOVER_FRAMES

    def _reset_replay(self):
        self.last_rx_seq = -1
        self.frames_in_session = 0
        used = self._window_used
        for i in range(REPLAY_WINDOW):
            used[i] = 0

    # --- receiving ------------------------------------------------------------------
    def _drop(self, error):
        self.last_error = error
        name = _ERROR_COUNTERS[error]
        setattr(self.stats, name, getattr(self.stats, name) + 1)

    def receive_data(self, data, end=-1, start=0):
        """Feed data[start:end] (bytes or bytearray; end < 0 means len(data)).

        Returns how many bytes were taken. That is all of them unless every
        frame slot holds a frame not yet read: then call next_event() and feed
        the rest again (pass start= to avoid a copy). Bytes of a failed frame
        are never rescanned: decoding resumes at the next 0x00.
        """
        n = len(data) if end < 0 else end
        i = start
        while i < n:
            if self._ready + self._held >= self._nslots:
                break
            if self._discard:
                # skipping an oversize frame up to its delimiter
                z = data.find(_ZERO, i, n)
                if z < 0:
                    return n - start
                self._discard = False
                i = z + 1
                continue
            z = data.find(_ZERO, i, n)
            if z < 0:
                # The frame goes on in a later call: keep its raw bytes.
                self._keep_partial(data, i, n)
                return n - start
            if self._raw_n:
                # The end of a frame that began in an earlier call.
                if self._keep_partial(data, i, z):
                    m = cobs_decode_frame(self._wbuf, self._raw, 0, self._raw_n)
                    self._raw_n = 0
                    self._check_decoded(m)
                else:
                    self._discard = False  # the delimiter ends the oversize frame
            elif z == i:
                pass  # an empty frame: nothing between two delimiters
            elif z - i > _MAX_ENCODED_BODY:
                self._drop(ERR_OVERSIZE)
            else:
                self._check_decoded(cobs_decode_frame(self._wbuf, data, i, z))
            i = z + 1
        return i - start

    def _keep_partial(self, data, i, j):
        """Append data[i:j] to the partial frame; False (and drop it) if it grows too long."""
        k = j - i
        if self._raw_n + k > _MAX_ENCODED_BODY:
            self._raw_n = 0
            self._discard = True
            self._drop(ERR_OVERSIZE)
            return False
        copy_into(self._raw, self._raw_n, data, i, k)
        self._raw_n += k
        return True

    def _check_decoded(self, m):
        if m >= 0:
            self._finish_frame(m)
        elif m == COBS_TOO_LONG:
            self._drop(ERR_OVERSIZE)
        else:
            self._drop(ERR_COBS)

    def _finish_frame(self, n):
        """Check the decoded frame of n bytes in the write slot; queue it if it passes."""
        buf = self._wbuf
        # length
        if n < MIN_FRAME:
            self._drop(ERR_LENGTH)
            return
        # CRC
        if not crc32_matches(buf, 0, n - CRC_LEN, self._scratch):
            self._drop(ERR_CRC)
            return
        # version / flags / direction: version nibble, reserved bit and
        # direction bit in one comparison
        vf = buf[0]
        if vf & 0xFC != self._rx_header:
            self._drop(ERR_HEADER)
            return
        # length against type
        t = buf[1]
        plen = buf[8]
        has_mac = vf & FLAG_MAC
        mn = _MIN_LEN[t]
        if (
            n != (_OVERHEAD_MAC if has_mac else _OVERHEAD) + plen
            or not (_DIRECTION[t] & self._rx_direction)
            or plen < mn
            or plen > _MAX_LEN[t]
            or (plen - mn) % _STEP[t]
        ):
            self._drop(ERR_TYPE)
            return
        # MAC
        key = self._key
        if has_mac:
            end = HEADER_LEN + plen
            if key is None or not key.verify(buf, 0, end, end):
                self._drop(ERR_MAC)
                return
        elif key is not None and not _MAC_EXEMPT[t]:
            self._drop(ERR_MAC)
            return
        # session
        s = self._session
        new_session = False
        if not (
            buf[4] == s[0] and buf[5] == s[1] and buf[6] == s[2] and buf[7] == s[3]
        ) or not self.session_known:
            if self.role == ROLE_DEVICE or self._is_retired(buf):
                self._drop(ERR_SESSION)
                return
            # The ground follows the device: a new nonce means the device
            # rebooted (or rolled its session over). On a keyed link only an
            # authenticated frame gets this far.
            if self.session_known:
                self._retire_session()
            s[0] = buf[4]
            s[1] = buf[5]
            s[2] = buf[6]
            s[3] = buf[7]
            self.session_known = True
            self._reset_replay()
            self.stats.session_changes += 1
            new_session = True
        # sequence (replay). An unauthenticated ABORT on a keyed link is acted
        # on but never moves the window: a forger could otherwise lock the
        # real sender out.
        seq = buf[2] | buf[3] << 8
        kind = FRAME
        if has_mac or key is None:
            last = self.last_rx_seq
            if last >= 0 and seq == (last + 1) & 0xFFFF:
                # in order, the common case
                slot = seq & _WINDOW_MASK
                self._window_seq[slot] = seq
                self._window_used[slot] = 1
                self.last_rx_seq = seq
                self.frames_in_session += 1
            elif not self._accept_seq(seq):
                if vf & FLAG_RETRANSMIT and self.replies.has(seq):
                    kind = DUPLICATE
                    self.stats.duplicates += 1
                else:
                    self._drop(ERR_REPLAY)
                    return
        w = self._w
        f = self._frames[w]
        f.kind = kind
        f.msg_type = t
        f.flags = vf & 0x0F
        f.seq = seq
        f.length = plen
        f.new_session = new_session
        self._ready += 1
        w += 1
        if w == self._nslots:
            w = 0
        self._w = w
        self._wbuf = self._bufs[w]
        self.stats.frames_ok += 1
        self.last_error = ERR_NONE

    def _is_retired(self, buf):
        r = self._retired
        for i in range(0, 4 * RETIRED_SESSIONS, 4):
            if r[i] == buf[4] and r[i + 1] == buf[5] and r[i + 2] == buf[6] and r[i + 3] == buf[7]:
                return self._retired_used[i >> 2] == 1
        return False

    def _retire_session(self):
        i = 4 * self._retired_next
        s = self._session
        r = self._retired
        r[i] = s[0]
        r[i + 1] = s[1]
        r[i + 2] = s[2]
        r[i + 3] = s[3]
        self._retired_used[self._retired_next] = 1
        self._retired_next = (self._retired_next + 1) % RETIRED_SESSIONS

    def _accept_seq(self, seq):
        """Advance the replay window for `seq`; False if it was seen or is too old."""
        last = self.last_rx_seq
        slot = seq & _WINDOW_MASK
        if last >= 0:
            ahead = (seq - last) & 0xFFFF
            if ahead == 0 or ahead >= 0x8000:
                behind = (last - seq) & 0xFFFF
                if behind >= REPLAY_WINDOW:
                    return False
                if self._window_used[slot] and self._window_seq[slot] == seq:
                    return False
                self._window_seq[slot] = seq
                self._window_used[slot] = 1
                self.frames_in_session += 1
                return True
            # Forget the sequences skipped over, so an old value that aliases
            # onto their slots can never count as seen.
            used = self._window_used
            if ahead > REPLAY_WINDOW:
                ahead = REPLAY_WINDOW + 1
            for k in range(1, ahead):
                used[(last + k) & _WINDOW_MASK] = 0
        self._window_seq[slot] = seq
        self._window_used[slot] = 1
        self.last_rx_seq = seq
        self.frames_in_session += 1
        return True

    def next_event(self):
        """The next verified Frame, or None when more data is needed.

        The Frame (and its buffer) stays valid until the next call.
        """
        self._held = 0
        if self._ready == 0:
            return None
        f = self._frames[self._r]
        self._r = (self._r + 1) % self._nslots
        self._ready -= 1
        self._held = 1
        return f

    # --- sending --------------------------------------------------------------------
    def encode(self, msg_type, length, flags=0, seq=-1):
        """Frame the payload at tx[PAYLOAD_OFFSET:PAYLOAD_OFFSET+length] into `out`.

        Returns the encoded length (delimiter included). seq < 0 takes the next
        sequence; a resend passes the original seq and FLAG_RETRANSMIT.
        """
        if not (_DIRECTION[msg_type] & self._tx_direction):
            raise LocalProtocolError("message type 0x%02x cannot be sent by this side" % msg_type)
        if length > MAX_PAYLOAD or not payload_length_ok(msg_type, length):
            raise LocalProtocolError(
                "payload length %d is not allowed for type 0x%02x" % (length, msg_type)
            )
        if not self.session_known:
            raise LocalProtocolError("the device session is not known yet: wait for a frame from it")
        if seq < 0:
            seq = self.next_seq
            self.next_seq = (seq + 1) & 0xFFFF
        tx = self.tx
        vf = (PROTOCOL_VERSION << 4) | self._tx_dir_flag | (flags & FLAG_RETRANSMIT)
        if self._key is not None:
            vf |= FLAG_MAC
        s = self._session
        tx[0] = vf
        tx[1] = msg_type
        tx[2] = seq & 0xFF
        tx[3] = (seq >> 8) & 0xFF
        tx[4] = s[0]
        tx[5] = s[1]
        tx[6] = s[2]
        tx[7] = s[3]
        tx[8] = length
        end = HEADER_LEN + length
        if self._key is not None:
            self._key.mac_into(tx, 0, end, tx, end)
            end += MAC_LEN
        crc32_into(tx, 0, end, tx, end)
        end += CRC_LEN
        n = cobs.encode_into(tx, end, self.out, 0)
        self.last_tx_seq = seq
        self.stats.frames_out += 1
        self.frames_in_session += 1  # either side's sequence must not wrap in one session
        return n

    def send(self, message, flags=0, seq=-1):
        """Encode a protocol.messages Message; returns the bytes to write (allocates)."""
        length = message.pack_into(self.tx, PAYLOAD_OFFSET)
        n = self.encode(message.TYPE, length, flags, seq)
        return bytes(self.out[:n])

    def remember_reply(self, command_seq, n):
        """Device: keep out[0:n] as the reply to `command_seq` for retransmits."""
        self.replies.store(command_seq, self.out, n)

    def cached_reply(self):
        """(buffer, length) of the cached reply, for answering a DUPLICATE frame."""
        return self.replies.buf, self.replies.length
