"""Typed messages: one class per message type, packed with `struct`.

For the ground station and the board's non-hot paths (replies, config).
The board's per-frame hot paths read fields with Frame.u8/u16 and pack with
struct.pack_into straight into Connection.tx instead, which allocates nothing.

    msg = Arm(channel_mask=0b01, flags=0)
    data = conn.send(msg)
    reply = decode(frame)           # -> ArmAck(...) or Nak(...)

Field names carry their units. PROTOCOL.md has the byte offsets.
"""

import struct

from protocol import constants as C
from protocol.connection import REJECTION_COUNTERS
from protocol.errors import RemoteProtocolError


class Message:
    """Base class: a fixed `FMT` (little-endian struct format) over `FIELDS`."""

    TYPE = 0
    FMT = "<"
    FIELDS = ()

    def __init__(self, *args, **kwargs):
        fields = self.FIELDS
        if len(args) > len(fields):
            raise TypeError("%s takes at most %d fields" % (type(self).__name__, len(fields)))
        for i, name in enumerate(fields):
            if i < len(args):
                value = args[i]
                if name in kwargs:
                    raise TypeError("%s got %s twice" % (type(self).__name__, name))
            else:
                value = kwargs.pop(name, self._default(name))
            setattr(self, name, value)
        for name in kwargs:
            if name not in fields:
                raise TypeError("%s has no field %s" % (type(self).__name__, name))

    def _default(self, name):
        return 0

    def values(self):
        return tuple(getattr(self, name) for name in self.FIELDS)

    def pack_into(self, buf, off):
        """Pack the payload at buf[off:]; returns its length."""
        struct.pack_into(self.FMT, buf, off, *self.values())
        return struct.calcsize(self.FMT)

    def pack(self):
        buf = bytearray(C.MAX_PAYLOAD)
        n = self.pack_into(buf, 0)
        return bytes(buf[:n])

    @classmethod
    def unpack_from(cls, buf, off, length):
        size = struct.calcsize(cls.FMT)
        if length != size:
            raise RemoteProtocolError(
                "%s payload is %d bytes, expected %d" % (cls.__name__, length, size)
            )
        msg = cls(*struct.unpack_from(cls.FMT, buf, off))
        msg.check()
        return msg

    def check(self):
        """Raise RemoteProtocolError if a decoded field holds an impossible value."""

    def as_dict(self):
        return {name: getattr(self, name) for name in self.FIELDS}

    def __eq__(self, other):
        return type(self) is type(other) and self.values() == other.values()

    def __repr__(self):
        return "%s(%s)" % (
            type(self).__name__,
            ", ".join("%s=%r" % (name, getattr(self, name)) for name in self.FIELDS),
        )


class _BytesDefault(Message):
    """Fixed-width byte fields: NUL-padded to their width, never silently cut."""

    BYTES_FIELDS = {}

    def __init__(self, *args, **kwargs):
        Message.__init__(self, *args, **kwargs)
        for name, size in self.BYTES_FIELDS.items():
            value = bytes(getattr(self, name))
            if len(value) > size:
                raise ValueError("%s.%s is at most %d bytes" % (type(self).__name__, name, size))
            setattr(self, name, value + bytes(size - len(value)))

    def _default(self, name):
        size = self.BYTES_FIELDS.get(name)
        return bytes(size) if size is not None else 0


# --- both ways ---------------------------------------------------------------------------
class Heartbeat(Message):
    """state: device state (ground sends 0); flags: DEV_* bits (ground sends 0);
    last_rx_seq: newest sequence this side accepted from the peer (0xFFFF if none)."""

    TYPE = C.HEARTBEAT
    FMT = "<BBH"
    FIELDS = ("state", "flags", "last_rx_seq")


# --- ground -> device ----------------------------------------------------------------------
class _Empty(Message):
    FMT = "<"


class GetDeviceInfo(_Empty):
    TYPE = C.GET_DEVICE_INFO


class GetStatus(_Empty):
    TYPE = C.GET_STATUS


class GetLinkStats(_Empty):
    TYPE = C.GET_LINK_STATS


class Arm(Message):
    TYPE = C.ARM
    FMT = "<BB"
    FIELDS = ("channel_mask", "flags")


class ArmRefresh(_BytesDefault):
    TYPE = C.ARM_REFRESH
    FMT = "<4s"
    FIELDS = ("token",)
    BYTES_FIELDS = {"token": 4}


class Fire(_BytesDefault):
    TYPE = C.FIRE
    FMT = "<4sBB"
    FIELDS = ("token", "channel_mask", "inverted_mask")
    BYTES_FIELDS = {"token": 4}

    @classmethod
    def for_channels(cls, token, channel_mask):
        return cls(token, channel_mask, channel_mask ^ 0xFF)


class Disarm(_Empty):
    TYPE = C.DISARM


class Abort(_Empty):
    TYPE = C.ABORT


class IgniterTest(Message):
    TYPE = C.IGNITER_TEST
    FMT = "<B"
    FIELDS = ("channel",)


class FlightList(_Empty):
    TYPE = C.FLIGHT_LIST


class FlightRead(Message):
    TYPE = C.FLIGHT_READ
    FMT = "<HII"
    FIELDS = ("flight", "offset", "length")


class FlightErase(_BytesDefault):
    TYPE = C.FLIGHT_ERASE
    FMT = "<H5s"
    FIELDS = ("flight", "confirm")
    BYTES_FIELDS = {"confirm": 5}


class ConfigGet(Message):
    TYPE = C.CONFIG_GET
    FMT = "<B"
    FIELDS = ("key",)


class ConfigSet(Message):
    TYPE = C.CONFIG_SET
    FMT = "<Bi"
    FIELDS = ("key", "value")


class SetKey(_BytesDefault):
    """new_key: 32 bytes; all zeros removes the key (the link becomes unkeyed)."""

    TYPE = C.SET_KEY
    FMT = "<32s"
    FIELDS = ("new_key",)
    BYTES_FIELDS = {"new_key": 32}

    def __repr__(self):
        return "SetKey(new_key=<32 bytes, not shown>)"


class Maintenance(_BytesDefault):
    """confirm: MAINTENANCE_CONFIRM; the device leaves its loop for the REPL (wired, SAFE)."""

    TYPE = C.MAINTENANCE
    FMT = "<5s"
    FIELDS = ("confirm",)
    BYTES_FIELDS = {"confirm": 5}


# --- device -> ground ------------------------------------------------------------------------
class Ack(Message):
    TYPE = C.ACK
    FMT = "<HB"
    FIELDS = ("re_seq", "acked_type")


class Nak(Message):
    TYPE = C.NAK
    FMT = "<HBB"
    FIELDS = ("re_seq", "acked_type", "reason")

    @property
    def reason_name(self):
        return C.NAK_NAMES.get(self.reason, "UNKNOWN(%d)" % self.reason)


class DeviceInfo(_BytesDefault):
    """board: ASCII, NUL-padded; device_id: 8 bytes unique to the board."""

    TYPE = C.DEVICE_INFO
    FMT = "<HBBBBBB16s8s"
    FIELDS = (
        "re_seq",
        "protocol_version",
        "fw_major",
        "fw_minor",
        "fw_patch",
        "channels",
        "features",
        "board",
        "device_id",
    )
    BYTES_FIELDS = {"board": 16, "device_id": 8}

    @property
    def board_name(self):
        return bytes(self.board).split(b"\x00")[0].decode()

    @property
    def firmware_version(self):
        return "%d.%d.%d" % (self.fw_major, self.fw_minor, self.fw_patch)


class ArmAck(_BytesDefault):
    TYPE = C.ARM_ACK
    FMT = "<H4sBH"
    FIELDS = ("re_seq", "token", "channel_mask", "lapse_ms")
    BYTES_FIELDS = {"token": 4}


class IgniterResult(Message):
    TYPE = C.IGNITER_RESULT
    FMT = "<HBBHH"
    FIELDS = ("re_seq", "channel", "continuity", "resistance_mohm", "sense_current_ua")

    def check(self):
        if self.continuity >= len(C.CONT_NAMES):
            raise RemoteProtocolError("IGNITER_RESULT has invalid continuity %d" % self.continuity)


class FlightInfo(_BytesDefault):
    """One flight in the list; count is the number of flights (index < count).
    An empty list is one FlightInfo with count 0."""

    TYPE = C.FLIGHT_INFO
    FMT = "<HBBHBII32si"
    FIELDS = (
        "re_seq",
        "index",
        "count",
        "flight",
        "flags",
        "size_bytes",
        "crc32",
        "sha256",
        "apogee_cm",
    )
    BYTES_FIELDS = {"sha256": 32}


class ConfigValue(Message):
    TYPE = C.CONFIG_VALUE
    FMT = "<HBi"
    FIELDS = ("re_seq", "key", "value")


class ChannelStatus(Message):
    """One channel inside STATUS."""

    FMT = "<BBH"
    FIELDS = ("continuity", "fire_result", "resistance_mohm")


class Status(Message):
    """Device state; `channels` is a list of ChannelStatus (at most MAX_CHANNELS)."""

    TYPE = C.STATUS
    FMT = "<HBBBHBiIHB"
    FIELDS = (
        "re_seq",
        "state",
        "safe_reason",
        "flags",
        "battery_mv",
        "flight_state",
        "altitude_cm",
        "log_free_bytes",
        "arm_remaining_ms",
        "channels",
    )

    def _default(self, name):
        return [] if name == "channels" else 0

    def values(self):
        return tuple(getattr(self, name) for name in self.FIELDS[:-1]) + (
            tuple(self.channels),
        )

    def pack_into(self, buf, off):
        if len(self.channels) > C.MAX_CHANNELS:
            raise ValueError("at most %d channels" % C.MAX_CHANNELS)
        head = self.values()[:-1] + (len(self.channels),)
        struct.pack_into(self.FMT, buf, off, *head)
        n = C.STATUS_BASE_LEN
        for ch in self.channels:
            n += ch.pack_into(buf, off + n)
        return n

    @classmethod
    def unpack_from(cls, buf, off, length):
        if length < C.STATUS_BASE_LEN:
            raise RemoteProtocolError("STATUS payload too short: %d bytes" % length)
        head = struct.unpack_from(cls.FMT, buf, off)
        count = head[-1]
        if count > C.MAX_CHANNELS or length != C.STATUS_BASE_LEN + C.STATUS_CHANNEL_LEN * count:
            raise RemoteProtocolError(
                "STATUS says %d channels in a %d-byte payload" % (count, length)
            )
        channels = []
        for i in range(count):
            ch = ChannelStatus.unpack_from(
                buf, off + C.STATUS_BASE_LEN + C.STATUS_CHANNEL_LEN * i, C.STATUS_CHANNEL_LEN
            )
            if ch.continuity >= len(C.CONT_NAMES) or ch.fire_result >= len(C.FIRE_RESULT_NAMES):
                raise RemoteProtocolError("STATUS channel %d has invalid codes" % i)
            channels.append(ch)
        if (
            head[1] >= len(C.STATE_NAMES)
            or head[2] >= len(C.SAFE_REASON_NAMES)
            or head[5] >= len(C.FLIGHT_STATE_NAMES)
        ):
            raise RemoteProtocolError("STATUS has an invalid state, safe reason or flight state")
        return cls(*(head[:-1] + (channels,)))


# LINK_STATS counters: the device's Connection.Stats, in its order, then the app's own count.
REJECTION_FIELDS = REJECTION_COUNTERS
_U32 = 0xFFFFFFFF


class LinkStats(Message):
    """What the device's receiver has seen since boot: frames accepted and sent, each kind
    of rejected frame (REJECTION_FIELDS), retransmits answered from the reply cache, and
    ABORT/DISARM frames acted on without a MAC on a keyed link. Every counter wraps at 2**32."""

    TYPE = C.LINK_STATS
    FMT = "<H" + "I" * C.LINK_STATS_COUNTERS
    FIELDS = ("re_seq", "frames_ok", "frames_out") + REJECTION_FIELDS + (
        "duplicates",
        "mac_exempt_accepted",
    )

    @classmethod
    def from_stats(cls, re_seq, stats, mac_exempt_accepted):
        """The reply for a protocol.connection.Stats (counters wrapped to 32 bits)."""
        values = [re_seq]
        for name in cls.FIELDS[1:-1]:
            values.append(getattr(stats, name) & _U32)
        values.append(mac_exempt_accepted & _U32)
        return cls(*values)

    def rejected(self):
        """Frames the device dropped, for any reason (wraps with its counters)."""
        total = 0
        for name in REJECTION_FIELDS:
            total += getattr(self, name)
        return total


class TelemetrySample(Message):
    """One altimeter sample inside TELEMETRY; dt_ms is after the batch's base_ms."""

    FMT = "<HihI"
    FIELDS = ("dt_ms", "altitude_cm", "speed_cms", "pressure_pa")


class Telemetry(Message):
    """A batch of 1..18 altimeter samples; base_ms is the device tick of the first."""

    TYPE = C.TELEMETRY
    FMT = "<IBB"
    FIELDS = ("base_ms", "flight_state", "samples")

    def _default(self, name):
        return [] if name == "samples" else 0

    def values(self):
        return (self.base_ms, self.flight_state, tuple(self.samples))

    def pack_into(self, buf, off):
        count = len(self.samples)
        if not 1 <= count <= C.MAX_TELEMETRY_SAMPLES:
            raise ValueError("1..%d samples per TELEMETRY" % C.MAX_TELEMETRY_SAMPLES)
        struct.pack_into(self.FMT, buf, off, self.base_ms, self.flight_state, count)
        n = C.TELEMETRY_BASE_LEN
        for s in self.samples:
            n += s.pack_into(buf, off + n)
        return n

    @classmethod
    def unpack_from(cls, buf, off, length):
        base_ms, state, count = struct.unpack_from(cls.FMT, buf, off)
        if length != C.TELEMETRY_BASE_LEN + C.TELEMETRY_SAMPLE_LEN * count or count == 0:
            raise RemoteProtocolError(
                "TELEMETRY says %d samples in a %d-byte payload" % (count, length)
            )
        samples = [
            TelemetrySample.unpack_from(
                buf, off + C.TELEMETRY_BASE_LEN + C.TELEMETRY_SAMPLE_LEN * i, C.TELEMETRY_SAMPLE_LEN
            )
            for i in range(count)
        ]
        return cls(base_ms, state, samples)


class FlightData(Message):
    """A chunk of a flight log: data is bytes at `offset` of flight `flight`."""

    TYPE = C.FLIGHT_DATA
    FMT = "<HI"
    FIELDS = ("flight", "offset", "data")

    def _default(self, name):
        return b"" if name == "data" else 0

    def pack_into(self, buf, off):
        n = len(self.data)
        if not 1 <= n <= C.FLIGHT_CHUNK_MAX:
            raise ValueError("FLIGHT_DATA carries 1..%d bytes" % C.FLIGHT_CHUNK_MAX)
        struct.pack_into(self.FMT, buf, off, self.flight, self.offset)
        start = off + C.FLIGHT_DATA_HEADER_LEN
        buf[start : start + n] = self.data
        return C.FLIGHT_DATA_HEADER_LEN + n

    @classmethod
    def unpack_from(cls, buf, off, length):
        if length <= C.FLIGHT_DATA_HEADER_LEN:
            raise RemoteProtocolError("FLIGHT_DATA without data")
        flight, offset = struct.unpack_from(cls.FMT, buf, off)
        start = off + C.FLIGHT_DATA_HEADER_LEN
        return cls(flight, offset, bytes(buf[start : off + length]))


MESSAGE_CLASSES = {}
for _cls in (
    Heartbeat,
    GetDeviceInfo,
    GetStatus,
    GetLinkStats,
    Arm,
    ArmRefresh,
    Fire,
    Disarm,
    Abort,
    IgniterTest,
    FlightList,
    FlightRead,
    FlightErase,
    ConfigGet,
    ConfigSet,
    SetKey,
    Maintenance,
    Ack,
    Nak,
    DeviceInfo,
    Status,
    LinkStats,
    ArmAck,
    IgniterResult,
    FlightInfo,
    FlightData,
    ConfigValue,
    Telemetry,
):
    MESSAGE_CLASSES[_cls.TYPE] = _cls


def decode_payload(msg_type, buf, off, length):
    """The Message for a payload; RemoteProtocolError if its fields make no sense."""
    cls = MESSAGE_CLASSES.get(msg_type)
    if cls is None:
        raise RemoteProtocolError("unknown message type 0x%02x" % msg_type)
    return cls.unpack_from(buf, off, length)


def decode(frame):
    """The Message carried by a received protocol.connection.Frame."""
    return decode_payload(frame.msg_type, frame.buf, C.PAYLOAD_OFFSET, frame.length)
