"""Device reset mid-session: SimDevice.reboot(), the `reboot` control command, the client's
handling of a restarted device, the window's Connection, and the reset campaign
(tests/campaigns/reset.py)."""

import threading

import pytest
from campaigns import common, reset
from campaigns.link_loss import DeviceRecord, Lockstep

from ground.client import DeviceClient, DeviceError, DeviceRestarted
from ground.sim import pty_server
from ground.sim.device import ManualClock, SimDevice
from ground.sim.pty_server import handle_command
from protocol import constants as C
from protocol import messages as M

KEY = bytes(range(1, 33))


# --- SimDevice.reboot() ------------------------------------------------------------------------------
def test_reboot_turns_the_outputs_off_at_once_and_keeps_the_storage(tmp_path):
    rig = Lockstep(seed=1, key=KEY, storage_dir=str(tmp_path), channels=("dud", "ematch"))
    try:
        old_app, old_session = rig.dev.app, rig.dev.app.conn.session
        assert isinstance(rig.arm(1), M.ArmAck)
        rig.start_fire(1)
        rig.run(150)
        assert rig.dev.hal.level[0]
        rig.send(M.GetStatus())  # bytes on their way to the device when it resets
        rig.dev.feed(bytes(rig.up))
        rig.up.clear()
        tick = rig.clock.now
        rig.dev.reboot()
        assert not any(rig.dev.hal.level)
        assert rig.dev.edges[-1] == (tick, 0, False)  # off at the reboot itself
        assert rig.dev.app is not old_app and rig.dev.boots == 2
        assert rig.dev.app.conn.session != old_session
        assert rig.dev.app.conn.keyed  # the key came back from storage
        assert rig.dev.fault_stats["lost_at_reset"] > 0
        assert rig.dev.status_dict()["state"] == "SAFE"
        assert rig.dev.status_dict()["boots"] == 2
        rig.run(300)
        assert rig.restarts_heard and rig.token is None  # the ground heard the new session
        assert [f for f in rig.record.frames if f[1] == 2 and f[2] in reset.ARM_FRAMES] == []
    finally:
        rig.close()


def test_reboot_never_repeats_a_nonce_or_a_token():
    dev = SimDevice(seed=7, clock=ManualClock(1000))
    try:
        sessions = {dev.app.conn.session}
        for _ in range(20):
            dev.reboot()
            sessions.add(dev.app.conn.session)
        assert len(sessions) == 21
    finally:
        dev.close()


def test_an_unpowered_board_hears_nothing_and_says_nothing():
    clock = ManualClock(1000)
    dev = SimDevice(seed=2, clock=clock)
    try:
        dev.step(clock.advance(5))
        dev.read_output()
        dev.reboot(off_ms=300)
        assert not dev.powered and dev.status_dict()["state"] == "OFF"
        for _ in range(299):
            dev.step(clock.advance(1))
            dev.feed(b"\x00\x01\x02")
        assert dev.read_output() == b"" and dev.boots == 1
        dev.step(clock.advance(1))
        assert dev.powered and dev.boots == 2 and dev.read_output()  # its first heartbeat
        with pytest.raises(ValueError):
            dev.reboot(off_ms=-1)
    finally:
        dev.close()


def test_the_reboot_control_command():
    dev = SimDevice(seed=3, clock=ManualClock(0))
    try:
        assert handle_command(dev, "reboot") == ("ok reboot 0", True)
        assert handle_command(dev, "reboot 250") == ("ok reboot 250", True)
        assert dev.boots == 2 and not dev.powered
        reply, keep = handle_command(dev, "reboot soon")
        assert keep and reply.startswith("error: ")
        assert "reboot" in pty_server.COMMANDS_HELP and "reboot [MS]" in pty_server.__doc__
    finally:
        dev.close()


# --- the client --------------------------------------------------------------------------------------
def _client(query="seed=1"):
    events = []
    client = DeviceClient("sim://?" + query, on_event=lambda name, detail: events.append(name))
    client.connect()
    dev = client.link._port.device
    record = DeviceRecord(dev, lambda: 0)
    return client, dev, record, events


def _wait_continuity(client):
    for _ in range(100):
        if client.status().channels[0].continuity == C.CONT_CONNECTED:
            return
    raise AssertionError("channel 1 never read CONNECTED")


def test_an_arm_lost_before_a_reboot_is_never_resent_to_the_new_session():
    client, dev, record, events = _client()
    try:
        _wait_continuity(client)
        dev.cut_link(True)  # the ARM is lost
        result = []

        def arm():
            try:
                result.append(client.arm(1))
            except DeviceError as exc:
                result.append(exc)

        worker = threading.Thread(target=arm)
        worker.start()
        threading.Event().wait(0.1)
        dev.reboot()
        dev.cut_link(False)  # its resends would now reach the restarted device
        worker.join(5)
        assert isinstance(result[0], DeviceRestarted)
        assert "device-restarted" in events and client.session_changes == 1
        assert [f for f in record.frames if f[1] == 2 and f[2] == C.ARM] == []
        assert dev.status_dict()["state"] == "SAFE" and not client.armed
    finally:
        client.close()


def test_a_renewed_session_is_told_apart_from_a_restart():
    client, dev, _record, events = _client()
    try:
        old_session = dev.app.conn.session
        with dev._lock:
            dev.app.conn.frames_in_session = C.SESSION_ROLLOVER_FRAMES  # as after ~16k frames
        for _ in range(100):
            if client.session_changes:
                break
            threading.Event().wait(0.02)
        assert dev.app.conn.session != old_session and dev.boots == 1
        assert "session-renewed" in events and "device-restarted" not in events
        status = client.status()  # the client follows the new session at once
        assert status.state == C.STATE_SAFE and status.flags & C.DEV_RENEWED
    finally:
        client.close()


def test_the_fire_stream_of_an_old_session_is_never_framed_for_a_new_one():
    client, dev, record, _events = _client()
    try:
        _wait_continuity(client)
        client.arm(1)
        dev.stop()  # the board says nothing more for now
        threading.Event().wait(0.1)  # and the reader thread has read all it said
        # a new nonce adopted by the protocol, the client not yet told: the moment a FIRE
        # sent on the old arm would be framed for the new session
        link = client.link
        with link._lock:
            link.conn.set_session(link.conn.session ^ 0x5A5A5A5A)
        with pytest.raises(DeviceRestarted):
            client.start_fire(1)
        assert not client.firing and not client.armed
        dev.start()
        threading.Event().wait(0.3)
        assert [f for f in record.frames if f[2] == C.FIRE] == []
    finally:
        client.close()


# --- the window's Connection ------------------------------------------------------------------------
def test_the_window_shows_safe_after_a_reboot_while_armed(qtbot):
    from ui_sim import arm

    from ground.ui import Connection

    conn = Connection()
    try:
        with qtbot.waitSignal(conn.connected, timeout=5000):
            conn.open("sim://?seed=4")
        dev = conn.client.link._port.device
        arm(qtbot, conn)
        assert dev.status_dict()["state"] == "ARMED"
        events, statuses = [], []
        conn.event.connect(lambda kind, text, t: events.append(text))
        conn.status.connect(statuses.append)
        with qtbot.waitSignal(conn.armed, timeout=3000) as blocker:
            dev.reboot()
        assert blocker.args == [0]
        assert any("device-restarted" in text for text in events)
        qtbot.waitUntil(lambda: bool(statuses), timeout=2000)  # the new device's STATUS
        assert statuses[-1].state == C.STATE_SAFE
        assert not conn.client.armed and not conn.is_firing
        assert dev.status_dict()["state"] == "SAFE"
    finally:
        conn.close()


# --- the campaign ----------------------------------------------------------------------------------
def test_reset_short_campaign():
    counts = reset.run()
    assert common.failures(counts) == [], counts["examples"]
    phases = counts["by_phase"]
    for phase in ("safe", "arm_in_flight", "armed", "firing"):
        assert phases["lockstep_" + phase] >= 5, phase
    for phase in ("safe", "armed", "firing", "arm_on_the_wire", "arm_answered", "arm_lost"):
        assert phases["client_" + phase] >= 1, phase
    assert counts["resets"] >= 30 and counts["old_frames_replayed"] >= 30
    assert counts["rearmed_after_reset"] >= 5  # the client works on in the new session
