"""The attack campaign (tests/campaigns/attack.py) and LINK_STATS, the device's own count of
the frames it rejected: in the protocol, over the client and in `coalwood status`."""

import json
import pathlib

import pytest
from campaigns import attack
from campaigns.common import failures

from ground.cli import _print_status, _status_dict, main
from ground.client import DeviceClient
from protocol import ROLE_GROUND, Connection, cobs
from protocol import connection as conn_mod
from protocol import constants as C
from protocol import messages as M

KEY = bytes(range(1, 33))


# --- the campaign ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def counts():
    return attack.run()


def test_no_attack_gets_through_and_every_one_is_reported(counts):
    assert failures(counts) == [], {name: counts[name] for name in failures(counts)}
    assert set(counts["must_be_zero"]) == set(attack.MUST_BE_ZERO)
    # and the campaign really attacked: every kind against every target, across a reboot
    assert counts["attacks_sent"] >= 600
    assert all(n > 0 for n in counts["attacks_by_kind"].values()), counts["attacks_by_kind"]
    assert set(counts["attacks_by_kind"]) == set(attack.KINDS)
    assert all(n >= 80 for n in counts["attacks_by_target"].values()), counts["attacks_by_target"]
    assert counts["reboots"] >= 2 and counts["attacks_by_kind"]["replay_old_boot"] > 0
    # every attack frame is one rejection the device counted and then reported
    assert sum(counts["rejected_by_reason"].values()) == counts["attacks_sent"]
    assert counts["rejections_reported"] == counts["attacks_sent"]
    assert counts["lockout_checks"] >= 150 and counts["exempt_sent"] >= 32


def test_each_kind_of_attack_is_stopped_where_the_protocol_says(counts):
    by_kind = counts["rejected_by_kind"]
    for kind in ("unsigned", "wrong_key", "far_ahead", "mac_partial"):
        assert set(by_kind[kind]) == {"mac"}, kind
    assert set(by_kind["mac_cut"]) == {"type"}  # a short MAC breaks the type's length rule
    assert set(by_kind["late"]) == {"replay"}
    # recorded frames: the replay window, or the session, or (recorded under the key the
    # ground set for a while) the MAC
    assert by_kind["replay"]["replay"] > 0 and set(by_kind["replay"]) <= {"replay", "mac"}
    assert by_kind["replay_old_boot"]["session"] > 0
    assert set(by_kind["replay_old_boot"]) <= {"session", "mac"}


def test_an_attacker_with_the_key_is_seen_getting_through_and_locking_the_ground_out():
    # the control experiment: the same attacks signed with the device's own key
    campaign = attack.Campaign(0, False, attacker_has_key=True)
    campaign.play(0, 2, 1)
    got = campaign.results()
    assert got["attacks_executed"] > 0 and got["attacks_accepted"] > 0
    assert got["attacks_answered"] > 0
    assert got["lockouts"] > 0  # frames signed far ahead moved the window past the ground


def test_the_campaign_sees_each_target_command_act_when_its_mac_is_right(tmp_path):
    campaign = attack.Campaign(5, False)
    pad = attack.Pad(str(tmp_path), campaign.key, 5)
    try:
        campaign.precious = pad.store_flight()
        c = pad.dev.app.controller

        def signed(message):
            wire = attack.forge(pad.gnd.session, pad.gnd.next_seq, message, campaign.key)
            pad.gnd.next_seq += 1  # the ground's own number, used up
            return wire

        executed = []
        for target, make in (
            (C.ARM, lambda: M.Arm(1, 0)),
            (C.ARM_REFRESH, lambda: M.ArmRefresh(bytes(c.token))),
            (C.FIRE, lambda: M.Fire.for_channels(bytes(c.token), 1)),
            (C.FLIGHT_ERASE, lambda: M.FlightErase(C.ERASE_ALL, C.ERASE_CONFIRM)),
            (C.CONFIG_SET, lambda: M.ConfigSet(C.CFG_ARM_LAPSE_MS, 10000)),
            (C.SET_KEY, lambda: M.SetKey(campaign.attacker_key)),
        ):
            if target == C.FLIGHT_ERASE:
                pad.run(400)  # the fire pulse ends: SAFE again
            before = campaign.counts["attacks_executed"]
            campaign.attack(pad, target, "wrong_key", signed(make()))
            executed.append(campaign.counts["attacks_executed"] - before)
        assert executed == [1] * 6
        assert pad.log.flights() == [] and pad.dev.storage.read_key() == campaign.attacker_key
    finally:
        pad.close()


def test_a_device_that_forgot_to_count_a_rejection_would_be_caught(monkeypatch):
    counted = conn_mod.Connection._drop

    def forgetful(self, error):
        if error == conn_mod.ERR_REPLAY:
            self.last_error = error  # dropped, but not counted
            return
        counted(self, error)

    monkeypatch.setattr(conn_mod.Connection, "_drop", forgetful)
    campaign = attack.Campaign(1, False)
    campaign.play(1, 1, 1)
    assert campaign.results()["rejections_unreported"] > 0


# --- LINK_STATS: the protocol ------------------------------------------------------------------
def test_link_stats_fields_are_the_receivers_rejection_counters_in_order():
    # each ERR_* code bumps the counter of its own name, and LINK_STATS sends them in code order
    for code in range(1, len(conn_mod.ERROR_NAMES)):
        assert conn_mod._ERROR_COUNTERS[code].startswith(conn_mod.ERROR_NAMES[code]), code
    assert conn_mod._ERROR_COUNTERS[conn_mod.ERR_MAC] == "mac_errors"
    n = len(M.REJECTION_FIELDS)
    assert M.LinkStats.FIELDS[3:3 + n] == tuple(conn_mod._ERROR_COUNTERS[1:])
    assert M.LinkStats.FIELDS[1:3] == ("frames_ok", "frames_out")
    assert M.LinkStats.FIELDS[-2:] == ("duplicates", "mac_exempt_accepted")
    # the device's Stats fields it reports, all but the ground-only session_changes
    assert set(conn_mod.Stats.FIELDS) - set(M.LinkStats.FIELDS) == {"session_changes"}


def test_the_feature_bit_is_in_the_code_tables():
    text = (pathlib.Path(__file__).resolve().parent.parent / "protocol" / "PROTOCOL.md").read_text(
        encoding="utf-8")
    section = text.split("### 9.12 Feature bits")[1].split("\n## ")[0]
    assert "| 0x%02x | `FEATURE_LINK_STATS` |" % C.FEATURE_LINK_STATS in section
    assert "| ARM_REFRESH | ACK | NAK |" in text  # what the firmware answers


# --- LINK_STATS: the client and `coalwood status` -----------------------------------------------
def _forger(client):
    """A ground without the key that has heard the session and the sequence numbers."""
    forger = Connection(ROLE_GROUND)
    forger.set_session(client.link.conn.session)
    forger.next_seq = (client.link.conn.next_seq + 500) & 0xFFFF
    return forger


@pytest.fixture
def keyed_client():
    client = DeviceClient("sim://?seed=4&device_key=%s" % KEY.hex(), key=KEY)
    client.connect(timeout=5.0)
    try:
        yield client
    finally:
        client.close()


def test_the_client_reads_what_the_device_rejected(keyed_client, capsys):
    client = keyed_client
    assert client.info.features & C.FEATURE_LINK_STATS
    first = client.link_stats()
    assert first["rejected"] == 0 and first["frames_ok"] >= 2
    device = client.link._port.device
    forger = _forger(client)
    wrong = Connection(ROLE_GROUND, key=bytes(32 - i for i in range(32)))
    wrong.set_session(forger.session)
    wrong.next_seq = forger.next_seq
    noisy = bytearray(cobs.decode(forger.send(M.GetStatus())[:-1]))
    noisy[5] ^= 0x10  # a bit flipped on the way
    for wire in (forger.send(M.Arm(1, 0)), forger.send(M.Arm(1, 0)), wrong.send(M.Fire(b"abcd", 1, 0xFE)),
                 wrong.send(M.Arm(1, 0)), cobs.encode(bytes(noisy)), forger.send(M.Abort())):
        device.feed(wire)
    link = client.link_stats()
    assert (link["mac_errors"], link["crc_errors"], link["rejected"]) == (4, 1, 5)
    assert link["mac_exempt_accepted"] == 1
    assert link["frames_ok"] + link["rejected"] > first["frames_ok"] + 5
    d = _status_dict(client, client.status(), link)
    _print_status(d)
    out = capsys.readouterr().out
    line = "link: the device rejected 5 frames (mac 4, crc 1) of %d" % (link["frames_ok"] + 5)
    assert line in out
    assert "link: 1 ABORT/DISARM without a MAC acted on" in out
    assert json.loads(json.dumps(d))["link"]["mac_errors"] == 4


def test_a_firmware_without_link_stats_is_not_asked(keyed_client):
    client = keyed_client
    info = client.info
    client.info = M.DeviceInfo(*info.values()[:6], 0, *info.values()[7:])  # features 0
    sent = client.link.conn.stats.frames_out
    assert client.link_stats() is None
    assert client.link.conn.stats.frames_out == sent  # nothing sent: no 1 s of resends


def test_status_says_plainly_when_nothing_was_rejected(capsys):
    assert main(["status", "--port", "sim://?seed=2"]) == 0
    assert "  link: no frames rejected\n" in capsys.readouterr().out
    assert main(["status", "--port", "sim://?seed=2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert doc["link"]["rejected"] == 0 and doc["link"]["frames_ok"] >= 2
    assert set(M.LinkStats.FIELDS[1:]) <= set(doc["link"])
