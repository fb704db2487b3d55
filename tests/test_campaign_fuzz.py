"""The fuzz campaign (tests/campaigns/fuzz.py): its short run, its oracles, and what it found."""

import os
import random
import subprocess
import sys

import pytest
from campaigns import common, fuzz
from hypothesis import given, settings
from hypothesis import strategies as st

from ground.sim.device import ManualClock, SimDevice
from protocol import ROLE_GROUND, Connection
from protocol import constants as C
from protocol import messages as M

KEY = bytes(range(1, 33))
NEW_KEY = bytes(range(2, 34))

@pytest.fixture(scope="module")
def campaign():
    return fuzz.run(long=False, seed=0)


def test_short_campaign_holds_every_zero(campaign):
    assert {"spurious_arms", "spurious_fires", "crashes", "unanswered_after",
            "reference_disagreements"} <= set(campaign["must_be_zero"])
    assert common.failures(campaign) == [], campaign["findings"]


def test_short_campaign_really_fuzzed(campaign):
    assert campaign["frames_fuzzed"] >= fuzz.SHORT_FRAMES
    assert all(campaign["by_source"][s] > 0 for s in fuzz.SOURCES), campaign["by_source"]
    assert set(campaign["by_device"]) == {"unkeyed", "keyed"}
    assert min(campaign["by_device"].values()) > fuzz.SHORT_FRAMES // 3
    assert campaign["hypothesis_examples"] == 2 * fuzz.SHORT_EXAMPLES
    # the device judged every frame (its own counters), and refused nearly all of them
    assert campaign["device_judged"] >= campaign["frames_fuzzed"]
    assert campaign["device_rejected_share"] > 0.85
    # every check of PROTOCOL.md section 4 refused something
    assert all(n > 0 for n in campaign["device_rejections"].values()), campaign["device_rejections"]
    # and some frames got through to the dispatcher: the arm detector saw real arms
    assert campaign["device_accepted"] > 1000
    assert campaign["genuine_arms"] > 0 and campaign["genuine_key_changes"] > 0
    assert campaign["device_duplicates"] > 0
    # an intruder (no key, or a wrong one) never got an ARM through
    assert set(campaign["genuine_arms_by_sender"]) <= {"plain", "operator", "hypothesis"}
    # a probe after every batch on each device, and all of them answered
    assert campaign["probes"] >= campaign["frames_fuzzed"] // (
        fuzz.FRAMES_PER_CHUNK * fuzz.CHUNKS_PER_BATCH)
    assert campaign["unanswered_after"] == 0


def test_the_campaign_runs_as_a_script():
    script = os.path.join(os.path.dirname(__file__), "campaigns", "fuzz.py")
    done = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--long" in done.stdout


# --- the oracles can fail -------------------------------------------------------------------------
def ground_for(harness, key=None):
    """A legitimate ground in the harness device's session, past its last accepted sequence."""
    gnd = Connection(ROLE_GROUND, key=key)
    gnd.set_session(harness.session)
    gnd.next_seq = (harness.ref.last_seq + 1) & 0xFFFF
    return gnd


def messages(gnd, out):
    got = []
    pos = 0
    while pos < len(out):
        pos += gnd.receive_data(out, -1, pos)
        while (frame := gnd.next_event()) is not None:
            got.append(M.decode(frame))
    return got


def arm(harness, gnd):
    replies = messages(gnd, harness.step(gnd.send(M.Arm(1, 0)), "mutated"))
    return next(m for m in replies if isinstance(m, M.ArmAck))


def test_a_genuine_arm_is_counted_as_genuine():
    h = fuzz.Harness("oracle", None, 11)
    try:
        arm(h, ground_for(h))
        assert (h.counts.genuine_arms, h.counts.spurious_arms) == (1, 0)
        assert h.counts.reference_disagreements == 0
    finally:
        h.close()


def test_an_arm_the_reference_did_not_see_is_spurious():
    h = fuzz.Harness("oracle", None, 11)
    try:
        h.dev.feed(ground_for(h).send(M.Arm(1, 0)))  # past the reference, straight to the device
        h.step(b"", "mutated")
        assert h.counts.spurious_arms == 1
        assert h.counts.reference_disagreements == 1  # and the counters told on it too
        assert [f["kind"] for f in h.counts.findings] == ["spurious_arm", "disagreement"]
    finally:
        h.close()


def test_fire_with_the_live_token_and_one_bit_of_mask_or_inverse_flipped_is_refused():
    h = fuzz.Harness("oracle", None, 12)
    try:
        gnd = ground_for(h)
        token = arm(h, gnd).token
        for offset in (4, 5):  # the mask, then its inverse
            for bit in range(8):
                fire = M.Fire.for_channels(token, 1)
                if offset == 4:
                    fire.channel_mask ^= 1 << bit
                else:
                    fire.inverted_mask ^= 1 << bit
                naks = [m for m in messages(gnd, h.step(gnd.send(fire), "mutated"))
                        if isinstance(m, M.Nak)]
                assert [n.reason for n in naks] == [C.NAK_BAD_MASK]
                assert h.dev.app.controller.state == C.STATE_ARMED
        assert h.dev.hal.edges == [] and h.counts.spurious_fires == 0
        assert h.counts.live_token_fires == 16
        # the same FIRE intact does fire: the campaign counts that as an output turning on
        h.step(gnd.send(M.Fire.for_channels(token, 1)), "mutated")
        assert h.counts.spurious_fires == 1 and h.counts.live_token_fires == 17
        assert h.dev.hal.edges[0][1:] == (0, True)
    finally:
        h.close()


def test_a_stale_token_never_fires():
    h = fuzz.Harness("oracle", None, 13)
    try:
        gnd = ground_for(h)
        old = arm(h, gnd).token
        messages(gnd, h.step(gnd.send(M.Disarm()), "mutated"))
        assert old in h.stale_tokens  # the fuzzer may now use it
        arm(h, gnd)
        replies = messages(gnd, h.step(gnd.send(M.Fire.for_channels(old, 1)), "mutated"))
        assert [m.reason for m in replies if isinstance(m, M.Nak)] == [C.NAK_BAD_TOKEN]
        assert h.dev.hal.edges == []
        assert h.counts.genuine_arms == 2 and h.counts.live_token_fires == 0
    finally:
        h.close()


def test_the_probe_fails_when_the_device_does_not_answer():
    h = fuzz.Harness("oracle", KEY, 14)
    try:
        h.step(b"\x41" * 500, "random_stream")  # a half frame waiting for its delimiter
        assert h.probe() is True
        h.dev.cut_link(True)
        assert h.probe() is False
        assert h.counts.unanswered_after == 1 and h.counts.findings[0]["kind"] == "unanswered"
    finally:
        h.close()


def test_the_probe_puts_the_device_key_back():
    h = fuzz.Harness("oracle", None, 15)
    try:
        gnd = ground_for(h)
        messages(gnd, h.step(gnd.send(M.SetKey(NEW_KEY)), "mutated"))
        assert h.dev.app.conn.keyed and h.ref.key == NEW_KEY
        assert h.counts.genuine_key_changes == 1
        arm(h, ground_for(h, NEW_KEY))
        assert h.probe() is True
        assert not h.dev.app.conn.keyed and h.ref.key is None
        assert h.dev.app.controller.state == C.STATE_SAFE
        assert h.counts.reference_disagreements == 0
    finally:
        h.close()


def test_sequences_across_the_wrap_are_judged_alike():
    h = fuzz.Harness("oracle", KEY, 16)
    try:
        gnd = ground_for(h, KEY)
        for seq in (0xFFF0, 0xFFFF, 0, 5, 0xFFFE, 0xFFFE, 5, 0x8005, 0x8004, 0xFFF0, 0x8004):
            h.step(gnd.send(M.GetStatus(), seq=seq), "mutated")
        assert h.counts.reference_disagreements == 0
        assert h.dev.app.conn.stats.replays == 4
        assert h.ref.last_seq == 0xFFF0
    finally:
        h.close()


# --- the reference and the device agree on whatever arrives -----------------------------------------
@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.lists(fuzz.frame_recipes(), min_size=1, max_size=12), min_size=1, max_size=4),
       st.booleans())
def test_the_reference_and_the_device_accept_the_same_frames(steps, keyed):
    h = fuzz.Harness("property", KEY if keyed else None, 17)
    f = fuzz.Fuzzer(h, (("operator", KEY if keyed else None),), random.Random(0))
    f.use(f.personas[0])
    try:
        for recipes in steps:
            h.step(b"".join(f.build(r) for r in recipes), "hypothesis")
        c = h.counts
        assert c.reference_disagreements == 0, c.findings
        assert (c.spurious_arms, c.spurious_fires, c.crashes) == (0, 0, 0), c.findings
    finally:
        h.close()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_the_reference_and_the_device_agree_on_mutated_frames(seed, keyed):
    key = KEY if keyed else None
    h = fuzz.Harness("property", key, 18)
    f = fuzz.Fuzzer(h, (("operator", key), ("intruder", None)), random.Random(seed))
    try:
        f.batch(6)
        assert h.probe() is True
        c = h.counts
        assert c.reference_disagreements == 0, c.findings
        assert (c.spurious_arms, c.spurious_fires, c.crashes) == (0, 0, 0), c.findings
    finally:
        h.close()


# --- what the campaign found ---------------------------------------------------------------------------
def rig(key=None):
    """A device with good e-matches and its key on, and a ground that knows its session."""
    clock = ManualClock(1000)
    dev = SimDevice(clock=clock, seed=3, device_key=key)
    for _ in range(30):
        dev.step(clock.advance(10))
    gnd = Connection(ROLE_GROUND, key=key)
    messages(gnd, dev.read_output())
    return clock, dev, gnd


@pytest.mark.parametrize("old_key", [None, KEY], ids=["unkeyed-to-keyed", "key-to-new-key"])
def test_a_frame_read_with_set_key_is_checked_under_the_new_key(old_key):
    """Found by the fuzz campaign: the frames of one read were all checked before any was
    dispatched, so an ARM read with a SET_KEY was checked under the key it replaced."""
    clock, dev, gnd = rig(old_key)
    set_key = gnd.send(M.SetKey(NEW_KEY))
    arm = gnd.send(M.Arm(1, 0))  # signed (or not) as before the key change
    # both in one of the device's 64-byte reads: the SET_KEY's delimiter is byte 64 of the write
    lead = b"\x00" * max(0, 65 - len(set_key)) if old_key else b""
    dev.feed(lead + set_key + arm)
    dev.step(clock.advance(10))
    assert dev.app.conn.keyed  # the SET_KEY itself was obeyed
    assert dev.app.controller.state == C.STATE_SAFE, "armed by a frame the new key refuses"


def raw_replies(out, msg_type):
    """Every frame of `msg_type` in the device's output, copies included: (re_seq, payload)."""
    got = []
    for seg in out.split(b"\x00"):
        body = fuzz.cobs_decode(seg) if seg else None
        if body is not None and len(body) >= C.MIN_FRAME and body[1] == msg_type:
            payload = bytes(body[C.PAYLOAD_OFFSET : C.PAYLOAD_OFFSET + body[8]])
            got.append((payload[0] | payload[1] << 8, payload))
    return got


def test_a_resent_command_whose_reply_was_displaced_is_dropped():
    clock, dev, gnd = rig()
    first = gnd.send(M.ConfigGet(C.CFG_ARM_LAPSE_MS))
    first_seq = gnd.last_tx_seq
    dev.feed(first)
    dev.step(clock.advance(10))
    dev.read_output()  # its reply is lost on the way, say
    newer = gnd.send(M.ConfigGet(C.CFG_FIRE_CAP_MS))
    newer_seq = gnd.last_tx_seq
    resent = gnd.send(M.ConfigGet(C.CFG_ARM_LAPSE_MS), flags=C.FLAG_RETRANSMIT, seq=first_seq)
    dev.feed(newer + resent)
    dev.step(clock.advance(10))
    replies = raw_replies(dev.read_output(), C.CONFIG_VALUE)
    assert [seq for seq, _ in replies] == [newer_seq], "the newer command's reply, sent again"
    assert (dev.app.conn.stats.duplicates, dev.app.conn.stats.replays) == (0, 1)
