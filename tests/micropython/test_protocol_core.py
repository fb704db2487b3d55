"""Protocol tests that run unchanged on MicroPython (tests/micropython/run.mjs)
and on CPython (tests/test_protocol_shared.py runs these same functions)."""

import binascii
import struct

from mptest import assert_raises, no_alloc

from protocol import (
    DUPLICATE,
    FRAME,
    ROLE_DEVICE,
    ROLE_GROUND,
    Connection,
    LocalProtocolError,
    cobs,
)
from protocol import constants as C
from protocol import messages as M
from protocol.connection import ERR_MAC, ERR_REPLAY, ERR_SESSION
from protocol.crc import crc32_into, crc32_matches
from protocol.mac import MacKey
from protocol.reliable import POLL_FAILED, POLL_IDLE, POLL_RESEND, Requester
from protocol.ticks import TICKS_MAX, ticks_add, ticks_diff

SESSION = 0x1234ABCD
KEY = bytes(range(32))


class Lcg:
    """A tiny deterministic generator, identical on both interpreters."""

    def __init__(self, seed):
        self.state = seed & 0x7FFFFFFF

    def next(self, bound):
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.state >> 8) % bound

    def data(self, n, zero_every=0):
        out = bytearray(n)
        for i in range(n):
            if zero_every and self.next(zero_every) == 0:
                out[i] = 0
            else:
                out[i] = self.next(256)
        return bytes(out)


def pair(key=None):
    """A device and a ground connection with the ground already synced to the session."""
    dev = Connection(ROLE_DEVICE, session=SESSION, key=key)
    gnd = Connection(ROLE_GROUND, key=key)
    gnd.receive_data(dev.send(M.Heartbeat(0, 0, 0xFFFF)))
    f = gnd.next_event()
    assert f is not None and f.new_session
    return dev, gnd


def sample_messages(rng):
    """One of every device->ground message, with realistic field values."""
    return [
        M.Heartbeat(C.STATE_ARMED, C.DEV_KEY_ON, 17),
        M.Ack(7, C.DISARM),
        M.Nak(8, C.ARM, C.NAK_KEY_OFF),
        M.DeviceInfo(1, 1, 0, 1, 2, 2, 1, b"pico-2ch", b"\x01\x02\x03\x04\x05\x06\x07\x08"),
        M.Status(
            re_seq=9,
            state=C.STATE_ARMED,
            safe_reason=C.SAFE_BOOT,
            flags=C.DEV_KEY_ON,
            battery_mv=8123,
            flight_state=C.FLIGHT_PAD,
            altitude_cm=-12,
            log_free_bytes=1000000,
            arm_remaining_ms=2900,
            channels=[M.ChannelStatus(C.CONT_CONNECTED, 0, 1050), M.ChannelStatus(C.CONT_OPEN, 0, 0xFFFF)],
        ),
        M.ArmAck(10, b"\x00\xff\x10\x20", 3, 3000),
        M.IgniterResult(11, 1, C.CONT_CONNECTED, 980, 4200),
        M.FlightInfo(12, 0, 1, 3, C.FLIGHT_COMPLETE, 123456, 0x0BADF00D, bytes(range(32)), 45678),
        M.FlightData(3, 224 * 5, rng.data(224, zero_every=9)),
        M.FlightData(3, 0, b"\x00"),
        M.ConfigValue(13, C.CFG_FIRE_CAP_MS, 3000),
        M.Telemetry(
            123456,
            C.FLIGHT_BOOST,
            [M.TelemetrySample(i * 10, 100 * i, 2500 - i, 101325 - 12 * i) for i in range(18)],
        ),
    ]


def ground_messages():
    return [
        M.Heartbeat(0, 0, 5),
        M.GetDeviceInfo(),
        M.GetStatus(),
        M.Arm(0b11, C.ARM_OVERRIDE_CONTINUITY),
        M.ArmRefresh(b"abcd"),
        M.Fire.for_channels(b"abcd", 0b01),
        M.Disarm(),
        M.Abort(),
        M.IgniterTest(1),
        M.FlightList(),
        M.FlightRead(3, 224, 4096),
        M.FlightErase(C.ERASE_ALL, C.ERASE_CONFIRM),
        M.ConfigGet(C.CFG_ARM_LAPSE_MS),
        M.ConfigSet(C.CFG_ARM_LAPSE_MS, -5),
        M.SetKey(KEY),
    ]


def drain(conn):
    out = []
    while True:
        f = conn.next_event()
        if f is None:
            return out
        out.append((f.kind, f.seq, M.decode(f)))


# --- golden bytes: both interpreters must produce exactly these -------------------
def test_golden_heartbeat_bytes():
    dev = Connection(ROLE_DEVICE, session=0xDEADBEEF)
    wire = dev.send(M.Heartbeat(0, 1, 0xFFFF))
    assert binascii.hexlify(wire) == b"0314010106efbeadde040801fffff75db08200", wire


def test_golden_keyed_fire_bytes():
    dev = Connection(ROLE_DEVICE, session=SESSION, key=KEY)
    gnd = Connection(ROLE_GROUND, key=KEY)
    gnd.receive_data(dev.send(M.Heartbeat(0, 0, 0)))
    assert gnd.next_event() is not None
    wire = gnd.send(M.Fire.for_channels(b"\x11\x22\x33\x44", 1), seq=42)
    decoded = cobs.decode(wire[:-1])
    mac = MacKey(KEY).digest(decoded[:15])[:16]
    assert decoded[15:31] == mac
    assert decoded[0] == 0x12 and decoded[1] == C.FIRE
    dev.receive_data(wire)
    f = dev.next_event()
    assert f is not None and f.authenticated and M.decode(f) == M.Fire(b"\x11\x22\x33\x44", 1, 0xFE)


# --- primitives -----------------------------------------------------------------------
def test_crc_matches_binascii():
    rng = Lcg(1)
    data = rng.data(600)
    out = bytearray(4)
    for start, end in ((0, 0), (0, 1), (3, 300), (0, 600), (17, 18)):
        crc32_into(data, start, end, out, 0)
        assert struct.unpack("<I", out)[0] == binascii.crc32(data[start:end]) & 0xFFFFFFFF
        frame = bytearray(data[start:end]) + out
        assert crc32_matches(frame, 0, end - start, bytearray(4))
        frame[0 if end > start else -1] ^= 0x40
        assert not crc32_matches(frame, 0, end - start, bytearray(4))


def test_cobs_reference_roundtrip_edge_lengths():
    rng = Lcg(2)
    for n in (0, 1, 2, 253, 254, 255, 256, 508, 509, 600):
        for zero_every in (0, 3, 300):
            data = rng.data(n, zero_every)
            enc = cobs.encode(data)
            assert enc[-1] == 0 and 0 not in enc[:-1]
            assert len(enc) <= n + n // 254 + 2
            assert cobs.decode(enc[:-1]) == data
    assert cobs.encode(b"") == b"\x01\x00"
    assert cobs.encode(b"\x00") == b"\x01\x01\x00"
    assert cobs.encode(b"\x11\x00\x22") == b"\x02\x11\x02\x22\x00"
    assert_raises(ValueError, cobs.decode, b"\x05\x11")


def test_hmac_matches_known_vector():
    # HMAC-SHA256(key=00..1f, "coalwood"), computed with CPython's hmac module.
    digest = MacKey(KEY).digest(b"coalwood")
    assert binascii.hexlify(digest) == b"59ee7d62661e3d7cef0656eaa0fa0824965a4f80fc0b328475b6894d0a175199", digest
    mac = bytearray(16)
    MacKey(KEY).mac_into(b"xxcoalwood", 2, 10, mac, 0)
    assert bytes(mac) == digest[:16]


def test_ticks_wraparound():
    near = TICKS_MAX - 5
    later = ticks_add(near, 20)
    assert later == 14
    assert ticks_diff(later, near) == 20
    assert ticks_diff(near, later) == -20
    assert ticks_diff(ticks_add(0, -1), 0) == -1


# --- round trips ---------------------------------------------------------------------------
def test_every_message_roundtrips_both_ways():
    dev, gnd = pair()
    rng = Lcg(3)
    sent = sample_messages(rng)
    stream = b"".join(dev.send(m) for m in sent)
    got = []
    i = 0
    while i < len(stream):
        i += gnd.receive_data(stream[i:])
        got += [g[2] for g in drain(gnd)]
    assert got == sent, got
    sent = ground_messages()
    got = []
    for m in sent:
        wire = gnd.send(m)
        assert dev.receive_data(wire) == len(wire)
        got += [g[2] for g in drain(dev)]
    assert got == sent


def test_one_byte_at_a_time_and_random_chunks():
    dev, gnd = pair()
    sent = sample_messages(Lcg(4))
    stream = b"".join(dev.send(m) for m in sent)
    got = []
    for b in stream:
        assert gnd.receive_data(bytes((b,))) == 1
        got += [g[2] for g in drain(gnd)]
    assert got == sent
    dev, gnd = pair()
    stream = b"".join(dev.send(m) for m in sent)
    rng = Lcg(5)
    got = []
    i = 0
    while i < len(stream):
        step = 1 + rng.next(40)
        chunk = stream[i : i + step]
        taken = 0
        while taken < len(chunk):
            taken += gnd.receive_data(chunk[taken:])
            got += [g[2] for g in drain(gnd)]
        i += step
    assert got == sent


def test_garbage_before_between_and_after_frames():
    dev, gnd = pair()
    rng = Lcg(6)
    a = dev.send(M.Ack(1, C.ARM))
    b = dev.send(M.Ack(2, C.ARM))
    noise = rng.data(300, zero_every=50)
    stream = noise + b"\x00" + a + noise + b"\x00" + b + rng.data(77)
    gnd.receive_data(stream)
    got = [g[2] for g in drain(gnd)]
    assert got == [M.Ack(1, C.ARM), M.Ack(2, C.ARM)], got
    assert gnd.stats.rejected() > 0
    assert gnd.stats.frames_ok == 3


def test_every_single_bit_flip_is_rejected_and_the_next_frame_survives():
    dev, gnd = pair()
    m = M.Status(re_seq=1, state=1, battery_mv=7000, channels=[M.ChannelStatus(2, 0, 999)])
    for bit in range(8 * 40):
        frame = bytearray(dev.send(m))
        good = dev.send(M.Ack(bit, C.ARM))
        if bit // 8 >= len(frame):
            break
        frame[bit // 8] ^= 1 << (bit % 8)
        before = gnd.stats.frames_ok
        gnd.receive_data(bytes(frame) + good)
        got = drain(gnd)
        # the corrupted frame is never accepted; the good one always arrives
        # unless the flip destroyed the delimiter and merged the two frames
        decoded = [g[2] for g in got]
        assert m not in decoded, bit
        if bit // 8 != len(frame) - 1:
            assert decoded == [M.Ack(bit, C.ARM)], (bit, decoded)
        assert gnd.stats.frames_ok - before == len(decoded)


def test_oversize_frame_is_dropped_without_buffering():
    dev, gnd = pair()
    huge = bytes([0x55] * 5000)
    gnd.receive_data(huge)
    assert gnd.stats.oversize == 1
    gnd.receive_data(huge + b"\x00" + dev.send(M.Ack(3, C.ARM)))
    assert gnd.stats.oversize == 1  # still the same frame until its delimiter
    assert [g[2] for g in drain(gnd)] == [M.Ack(3, C.ARM)]


def test_truncated_frame_then_good_frame():
    dev, gnd = pair()
    whole = dev.send(M.Status(re_seq=1, channels=[M.ChannelStatus(1, 0, 0)] * 4))
    good = dev.send(M.Ack(4, C.ARM))
    for cut in range(1, len(whole) - 1):
        gnd.receive_data(whole[:cut] + b"\x00" + good)
        got = [g[2] for g in drain(gnd)]
        assert got == [M.Ack(4, C.ARM)], (cut, got)
        good = dev.send(M.Ack(4, C.ARM))  # a fresh sequence for the next round


def test_empty_frames_are_ignored():
    dev, gnd = pair()
    gnd.receive_data(b"\x00\x00\x00" + dev.send(M.Ack(5, C.ARM)) + b"\x00")
    assert [g[2] for g in drain(gnd)] == [M.Ack(5, C.ARM)]
    assert gnd.stats.rejected() == 0


def test_backpressure_loses_nothing_when_slots_are_full():
    dev = Connection(ROLE_DEVICE, session=SESSION)
    gnd = Connection(ROLE_GROUND, slots=2)
    stream = b"".join(dev.send(M.Ack(i, C.ARM)) for i in range(10))
    got = []
    i = 0
    rounds = 0
    while i < len(stream):
        taken = gnd.receive_data(stream[i:])
        if rounds == 0:
            assert taken < len(stream)  # two slots cannot take ten frames at once
        i += taken
        got += [g[2].re_seq for g in drain(gnd)]
        rounds += 1
    assert got == list(range(10)), got
    assert rounds > 1


# --- the check order ------------------------------------------------------------------------
def _raw_frame(ver_flags, msg_type, seq, session, payload, mac_key=None, length=None):
    body = bytearray(struct.pack("<BBHIB", ver_flags, msg_type, seq, session, len(payload) if length is None else length))
    body += payload
    if mac_key is not None:
        body += MacKey(mac_key).digest(bytes(body))[:16]
    out = bytearray(4)
    crc32_into(body, 0, len(body), out, 0)
    return cobs.encode(bytes(body + out))


def test_header_checks_are_final():
    dev = Connection(ROLE_DEVICE, session=SESSION)
    cases = (
        (_raw_frame(0x20, C.ARM, 1, SESSION, b"\x01\x00"), "header_errors"),  # version 2
        (_raw_frame(0x18, C.ARM, 1, SESSION, b"\x01\x00"), "header_errors"),  # reserved bit
        (_raw_frame(0x14, C.ARM, 1, SESSION, b"\x01\x00"), "header_errors"),  # from a device
        (_raw_frame(0x10, 0x7E, 1, SESSION, b""), "type_errors"),  # unknown type
        (_raw_frame(0x10, C.ACK, 1, SESSION, b"\x00\x00\x00"), "type_errors"),  # wrong way
        (_raw_frame(0x10, C.ARM, 1, SESSION, b"\x01"), "type_errors"),  # short payload
        (_raw_frame(0x10, C.ARM, 1, SESSION, b"\x01\x00", length=3), "type_errors"),
        (_raw_frame(0x12, C.ARM, 1, SESSION, b"\x01\x00", mac_key=KEY), "mac_errors"),  # unkeyed rx
        (_raw_frame(0x10, C.ARM, 1, SESSION ^ 1, b"\x01\x00"), "session_errors"),
        (cobs.encode(b"\x10\x10\x01\x00"), "length_errors"),
    )
    for wire, counter in cases:
        before = getattr(dev.stats, counter)
        dev.receive_data(wire)
        assert dev.next_event() is None, counter
        assert getattr(dev.stats, counter) == before + 1, counter
    dev.receive_data(_raw_frame(0x10, C.ARM, 1, SESSION, b"\x01\x00"))
    f = dev.next_event()
    assert f is not None and M.decode(f) == M.Arm(1, 0)


def test_keyed_device_requires_mac_on_everything_but_abort_and_disarm():
    dev = Connection(ROLE_DEVICE, session=SESSION, key=KEY)
    seq = 1
    unauthenticated = [M.Arm(1, 0), M.Fire.for_channels(b"abcd", 1), M.SetKey(KEY),
                       M.ConfigSet(1, 2), M.FlightErase(1, C.ERASE_CONFIRM), M.ArmRefresh(b"abcd"),
                       M.GetStatus(), M.Heartbeat(0, 0, 0), M.GetDeviceInfo()]
    for msg in unauthenticated:
        dev.receive_data(_raw_frame(0x10, msg.TYPE, seq, SESSION, msg.pack()))
        assert dev.next_event() is None
        assert dev.last_error == ERR_MAC
        seq += 1
    for t in C.MAC_REQUIRED:
        assert t not in C.MAC_EXEMPT
    for t in (C.ABORT, C.DISARM):  # they only make the pad safe: anyone may send them
        dev.receive_data(_raw_frame(0x10, t, seq, SESSION, b""))
        f = dev.next_event()
        assert f is not None and f.msg_type == t and not f.authenticated
    # a wrong key is a bad MAC
    dev.receive_data(_raw_frame(0x12, C.ARM, seq, SESSION, b"\x01\x00", mac_key=bytes(32)))
    assert dev.next_event() is None and dev.last_error == ERR_MAC


def test_unauthenticated_abort_cannot_lock_out_the_keyed_sender():
    dev, gnd = pair(KEY)
    gnd.next_seq = 100
    dev.receive_data(gnd.send(M.GetStatus()))
    assert dev.next_event() is not None
    # a forger sends ABORTs far ahead in the sequence space, and replays them
    for _ in range(2):
        dev.receive_data(_raw_frame(0x10, C.ABORT, 30000, SESSION, b""))
        f = dev.next_event()
        assert f is not None and f.msg_type == C.ABORT
    assert dev.last_rx_seq == 100
    dev.receive_data(gnd.send(M.Disarm()))  # seq 101: the real ground is not locked out
    f = dev.next_event()
    assert f is not None and f.msg_type == C.DISARM and f.authenticated


def test_keyed_ground_cannot_be_dragged_back_to_an_old_session():
    old_dev = Connection(ROLE_DEVICE, session=SESSION, key=KEY)
    gnd = Connection(ROLE_GROUND, key=KEY)
    recorded = old_dev.send(M.Status(re_seq=1, state=C.STATE_SAFE))
    gnd.receive_data(recorded)
    assert gnd.next_event().new_session
    new_dev = Connection(ROLE_DEVICE, session=SESSION + 99, key=KEY)  # the board rebooted
    gnd.receive_data(new_dev.send(M.Heartbeat(C.STATE_ARMED, 0, 0)))
    assert gnd.next_event().new_session and gnd.session == SESSION + 99
    gnd.receive_data(recorded)  # an attacker replays the old-session frame
    assert gnd.next_event() is None and gnd.last_error == ERR_SESSION
    assert gnd.session == SESSION + 99
    gnd.receive_data(new_dev.send(M.Heartbeat(C.STATE_ARMED, 0, 0)))
    f = gnd.next_event()
    assert f is not None and not f.new_session


def test_keyed_ground_requires_mac_on_every_device_frame():
    gnd = Connection(ROLE_GROUND, key=KEY)
    gnd.receive_data(_raw_frame(0x14, C.HEARTBEAT, 1, SESSION, b"\x00\x00\x00\x00"))
    assert gnd.next_event() is None and gnd.last_error == ERR_MAC
    assert not gnd.session_known  # an unauthenticated frame cannot set the session


def test_forged_frame_cannot_advance_the_replay_window():
    dev, gnd = pair(KEY)
    gnd.next_seq = 10
    dev.receive_data(gnd.send(M.Arm(1, 0)))
    assert dev.next_event() is not None
    # a forger with the wrong key sends seq 5000: rejected before the window moves
    dev.receive_data(_raw_frame(0x12, C.ARM, 5000, SESSION, b"\x01\x00", mac_key=bytes(32)))
    assert dev.next_event() is None and dev.last_error == ERR_MAC
    assert dev.last_rx_seq == 10
    dev.receive_data(gnd.send(M.Disarm()))  # seq 11 still accepted
    f = dev.next_event()
    assert f is not None and f.seq == 11


def test_replays_are_rejected_and_window_accepts_late_unseen_frames():
    dev, gnd = pair()
    frames = [gnd.send(M.GetStatus()) for _ in range(5)]  # seqs 0..4
    dev.receive_data(frames[0])
    dev.receive_data(frames[2])
    assert [g[1] for g in drain(dev)] == [0, 2]
    dev.receive_data(frames[0])  # replay
    assert dev.next_event() is None and dev.last_error == ERR_REPLAY
    dev.receive_data(frames[1])  # late but never seen: accepted once
    assert [g[1] for g in drain(dev)] == [1]
    dev.receive_data(frames[1])
    assert dev.next_event() is None and dev.last_error == ERR_REPLAY
    gnd.next_seq = 2 + 64 + 3
    dev.receive_data(gnd.send(M.GetStatus()))
    drain(dev)
    dev.receive_data(frames[3])  # now too old for the window
    assert dev.next_event() is None and dev.last_error == ERR_REPLAY


def test_sequence_wraps_around_16_bits():
    dev, gnd = pair()
    gnd.next_seq = 0xFFFE
    seqs = []
    for _ in range(5):
        dev.receive_data(gnd.send(M.GetStatus()))
        seqs += [g[1] for g in drain(dev)]
    assert seqs == [0xFFFE, 0xFFFF, 0, 1, 2]


def test_stale_session_is_rejected_and_ground_follows_a_reboot():
    _dev, gnd = pair()
    old = gnd.send(M.Arm(1, 0))
    dev2 = Connection(ROLE_DEVICE, session=SESSION + 1)  # the board rebooted
    dev2.receive_data(old)
    assert dev2.next_event() is None and dev2.last_error == ERR_SESSION
    gnd.receive_data(dev2.send(M.Heartbeat(0, 0, 0xFFFF)))
    f = gnd.next_event()
    assert f.new_session and gnd.session == SESSION + 1
    dev2.receive_data(gnd.send(M.Arm(1, 0)))
    assert dev2.next_event() is not None


def test_retransmit_is_answered_from_the_reply_cache_not_executed_twice():
    dev, gnd = pair()
    cmd = M.Arm(1, 0)
    dev.receive_data(gnd.send(cmd, seq=20))
    f = dev.next_event()
    assert f.kind == FRAME and f.seq == 20
    n = dev.encode(C.ACK, M.Ack(20, C.ARM).pack_into(dev.tx, C.PAYLOAD_OFFSET))
    dev.remember_reply(20, n)
    reply = bytes(dev.out[:n])
    dev.receive_data(gnd.send(M.Heartbeat(0, 0, 0), seq=21))  # a heartbeat overtakes
    drain(dev)
    dev.receive_data(gnd.send(cmd, flags=C.FLAG_RETRANSMIT, seq=20))
    f = dev.next_event()
    assert f is not None and f.kind == DUPLICATE and f.seq == 20
    buf, length = dev.cached_reply()
    assert bytes(buf[:length]) == reply
    # the same frame without the retransmit flag is a replay
    dev.receive_data(gnd.send(cmd, seq=20))
    assert dev.next_event() is None and dev.last_error == ERR_REPLAY
    # a retransmit of a command that never arrived is simply executed
    dev.receive_data(gnd.send(cmd, flags=C.FLAG_RETRANSMIT, seq=22))
    f = dev.next_event()
    assert f.kind == FRAME and f.retransmit


def test_requester_resends_three_times_then_fails_across_tick_wrap():
    r = Requester(timeout_ms=250, max_resends=3)
    t0 = TICKS_MAX - 300
    r.start(7, C.ARM, t0)
    assert_raises(LocalProtocolError, r.start, 8, C.ARM, t0)
    assert r.poll(ticks_add(t0, 249)) == POLL_IDLE
    t = t0
    for _ in range(3):
        t = ticks_add(t, 250)
        assert r.poll(t) == POLL_RESEND
    assert r.poll(ticks_add(t, 249)) == POLL_IDLE
    assert r.poll(ticks_add(t, 250)) == POLL_FAILED
    assert not r.busy
    r.start(9, C.ARM, 0)
    assert not r.on_reply(8)
    assert r.on_reply(9) and not r.busy
    assert r.poll(100000) == POLL_IDLE


def test_local_errors_for_rule_breaking_callers():
    dev, gnd = pair()
    assert_raises(LocalProtocolError, gnd.send, M.Ack(1, 2))  # ground cannot send ACK
    assert_raises(LocalProtocolError, dev.send, M.Arm(1, 0))  # device cannot send ARM
    assert_raises(LocalProtocolError, dev.encode, C.ARM_ACK, 8)  # wrong length for type
    fresh = Connection(ROLE_GROUND)
    assert_raises(LocalProtocolError, fresh.send, M.GetStatus())  # session unknown
    assert_raises(LocalProtocolError, Connection, 5)
    assert_raises(ValueError, MacKey, b"short")


def test_session_rollover_counts_frames_sent_as_well_as_received():
    dev = Connection(ROLE_DEVICE, session=SESSION)
    for _ in range(C.SESSION_ROLLOVER_FRAMES):
        dev.send(M.Heartbeat(0, 0, 0))
    assert dev.session_rollover_due()


def test_session_rollover_is_due_before_the_sequence_space_wraps():
    dev, gnd = pair()
    dev.frames_in_session = C.SESSION_ROLLOVER_FRAMES - 1
    assert not dev.session_rollover_due()
    dev.receive_data(gnd.send(M.GetStatus()))
    drain(dev)
    assert dev.session_rollover_due()
    dev.set_session(SESSION + 7)
    assert not dev.session_rollover_due() and dev.last_rx_seq == -1


# --- allocation: proven with micropython.heap_lock() on MicroPython -----------------------
def test_encode_and_decode_allocate_nothing():
    dev, gnd = pair()
    for i in range(230):
        dev.tx[C.PAYLOAD_OFFSET + i] = (i * 7) & 0xFF  # includes zeros: several COBS blocks

    def one_frame():
        n = dev.encode(C.FLIGHT_DATA, 230)
        assert gnd.receive_data(dev.out, n) == n
        f = gnd.next_event()
        assert f is not None and f.msg_type == C.FLIGHT_DATA and f.u16(0) == dev.tx[9] | dev.tx[10] << 8

    for _ in range(3):
        no_alloc(one_frame)


def test_byte_at_a_time_and_garbage_decode_allocate_nothing():
    dev, gnd = pair()
    n = dev.encode(C.ACK, M.Ack(1, 2).pack_into(dev.tx, C.PAYLOAD_OFFSET))
    wire = bytearray(dev.out[:n])
    garbage = bytearray(b"\x13\x37\x00\x05\x01\x02\x03\x04\x00\xff" * 30 + b"\x00")
    one = bytearray(1)

    def feed():
        n2 = dev.encode(C.ACK, 3)
        for i in range(n2):
            one[0] = dev.out[i]
            gnd.receive_data(one)
        f = gnd.next_event()
        assert f is not None
        gnd.receive_data(garbage)
        assert gnd.next_event() is None

    no_alloc(feed)
    assert gnd.stats.crc_errors + gnd.stats.cobs_errors + gnd.stats.length_errors > 0
    assert len(wire) == n


def test_link_stats_roundtrip_and_counters_wrap_at_32_bits():
    dev, gnd = pair(KEY)
    stats = dev.stats
    stats.frames_ok = 0x100000005  # past 2**32: sent as 5
    stats.mac_errors = 0xFFFFFFFF
    stats.replays = 2
    msg = M.LinkStats.from_stats(0x1234, stats, 0x100000000 + 7)
    assert msg.frames_ok == 5 and msg.mac_errors == 0xFFFFFFFF and msg.mac_exempt_accepted == 7
    assert msg.rejected() == 0xFFFFFFFF + 2
    wire = dev.send(msg)
    gnd.receive_data(wire)
    got = drain(gnd)
    assert len(got) == 1 and got[0][2] == msg
    assert len(M.LinkStats.FIELDS) == 1 + C.LINK_STATS_COUNTERS
    assert struct.calcsize(M.LinkStats.FMT) == C.LINK_STATS_LEN
    # the request has no payload and needs the MAC like every read-only request
    wire = gnd.send(M.GetLinkStats())
    dev.receive_data(wire)
    got = drain(dev)
    assert got[0][2] == M.GetLinkStats() and len(wire) == 2 + 9 + C.MAC_LEN + 4
