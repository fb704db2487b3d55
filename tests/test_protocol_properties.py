"""Property and fuzz tests of the protocol (CPython, hypothesis)."""

import hashlib
import hmac
import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from protocol import ROLE_DEVICE, ROLE_GROUND, Connection, cobs
from protocol import messages as M
from protocol.constants import MAX_ENCODED
from protocol.mac import MacKey

SESSION = 0x0BADCAFE


def synced_pair(key=None):
    dev = Connection(ROLE_DEVICE, session=SESSION, key=key)
    gnd = Connection(ROLE_GROUND, key=key)
    gnd.receive_data(dev.send(M.Heartbeat(0, 0, 0xFFFF)))
    assert gnd.next_event() is not None
    return dev, gnd


def feed_all(conn, data, chunks):
    """Feed `data` split at `chunks` offsets, draining after each; returns decoded messages."""
    got = []
    cuts = sorted({c % (len(data) + 1) for c in chunks} | {0, len(data)})
    for a, b in itertools.pairwise(cuts):
        piece = data[a:b]
        taken = 0
        while taken < len(piece):
            taken += conn.receive_data(piece[taken:])
            while (f := conn.next_event()) is not None:
                got.append(M.decode(f))
        while (f := conn.next_event()) is not None:
            got.append(M.decode(f))
    return got


chunk_data = st.binary(min_size=1, max_size=224)
flight_data = st.builds(
    M.FlightData,
    st.integers(0, 0xFFFF),
    st.integers(0, 2**32 - 1),
    chunk_data,
)
acks = st.builds(M.Ack, st.integers(0, 0xFFFF), st.integers(0, 255))
config = st.builds(M.ConfigValue, st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(-(2**31), 2**31 - 1))
device_messages = st.lists(st.one_of(flight_data, acks, config), min_size=1, max_size=12)


@given(st.binary(max_size=2000))
def test_cobs_roundtrip(data):
    enc = cobs.encode(data)
    assert 0 not in enc[:-1] and enc[-1] == 0
    assert len(enc) <= len(data) + len(data) // 254 + 2
    assert cobs.decode(enc[:-1]) == data


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=300))
def test_hmac_matches_cpython_hmac(key, data):
    assert MacKey(key).digest(data) == hmac.new(key, data, hashlib.sha256).digest()


@given(device_messages, st.lists(st.integers(0, 10_000), max_size=20), st.booleans())
def test_any_split_of_the_stream_decodes_the_same(messages, chunks, keyed):
    dev, gnd = synced_pair(bytes(range(32)) if keyed else None)
    stream = b"".join(dev.send(m) for m in messages)
    assert feed_all(gnd, stream, chunks) == messages
    assert gnd.stats.rejected() == 0


@settings(max_examples=300)
@given(st.binary(max_size=3000), device_messages)
def test_garbage_never_raises_and_never_hides_a_later_frame(garbage, messages):
    dev, gnd = synced_pair()
    stream = garbage + b"\x00" + b"".join(dev.send(m) for m in messages)
    got = feed_all(gnd, stream, [len(garbage) // 2])
    # garbage may at most add frames that are valid by chance (never, in practice)
    assert got[-len(messages):] == messages
    assert len(got) == len(messages)


@settings(max_examples=300)
@given(device_messages, st.data())
def test_corruption_is_never_accepted(messages, data):
    dev, gnd = synced_pair()
    frames = [dev.send(m) for m in messages]
    stream = bytearray(b"".join(frames))
    n_flips = data.draw(st.integers(1, 8))
    positions = data.draw(st.lists(st.integers(0, len(stream) - 1), min_size=n_flips, max_size=n_flips))
    masks = data.draw(st.lists(st.integers(1, 255), min_size=n_flips, max_size=n_flips))
    for p, m in zip(positions, masks, strict=True):
        stream[p] ^= m
    got = feed_all(gnd, bytes(stream), [])
    # every accepted frame is one that was sent, in order
    it = iter(messages)
    assert all(any(g == m for m in it) for g in got)


@given(st.binary(min_size=MAX_ENCODED, max_size=4 * MAX_ENCODED).filter(lambda b: 0 not in b))
def test_overlong_garbage_is_rejected_once_and_resync_follows(blob):
    dev, gnd = synced_pair()
    got = feed_all(gnd, blob + b"\x00" + dev.send(M.Ack(1, 2)), [7, 300])
    assert got == [M.Ack(1, 2)]
    # one rejection: oversize, or a COBS error when the blob ends inside a block
    # before its decoded size passes the limit
    assert gnd.stats.rejected() == 1
    assert gnd.stats.oversize + gnd.stats.cobs_errors == 1


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_frames_under_another_key_are_rejected(good_key, other_key):
    if good_key == other_key:
        return
    dev = Connection(ROLE_DEVICE, session=SESSION, key=good_key)
    mallory = Connection(ROLE_GROUND, key=other_key)
    mallory.receive_data(Connection(ROLE_DEVICE, session=SESSION, key=other_key).send(M.Heartbeat(0, 0, 0)))
    mallory.next_event()
    dev.receive_data(mallory.send(M.Arm(1, 0)))
    assert dev.next_event() is None
    assert dev.stats.mac_errors == 1


@settings(max_examples=500)
@example(b"\x01" * 17 + b"\x02")  # too long for 16 bytes AND malformed: malformed wins
@given(st.one_of(st.binary(max_size=400).map(lambda b: cobs.encode(b)[:-1]), st.binary(min_size=1, max_size=300).map(lambda b: b.replace(b"\x00", b"\x01"))))
def test_board_cobs_decoder_agrees_with_the_c_codec(encoded):
    """The board's block walk and CPython's C codec: same bytes, same verdicts."""
    from protocol import compat

    assert compat.cobs_decode_frame is not compat._cobs_decode_frame_walk, "C codec not in use"
    for cap in (len(encoded) + 2, 261, 16):
        walk_dst, c_dst = bytearray(cap), bytearray(cap)
        walk = compat._cobs_decode_frame_walk(walk_dst, encoded, 0, len(encoded))
        fast = compat.cobs_decode_frame(c_dst, encoded, 0, len(encoded))
        assert walk == fast
        if walk >= 0:
            assert walk_dst[:walk] == c_dst[:walk]
