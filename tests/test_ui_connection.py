"""The window's Connection against the real simulated pad (sim://): signals, never sleeps."""

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from ui_sim import arm, launch_and_speed_up

from ground.ui import Connection
from protocol import constants as C


@pytest.fixture
def open_conn(qtbot):
    made = []

    def make(url):
        conn = Connection()
        made.append(conn)
        with qtbot.waitSignal(conn.connected, timeout=5000) as blocker:
            conn.open(url)
        return conn, blocker.args[0], conn.client.link._port.device

    yield make
    for conn in made:
        conn.close()


def test_connect_emits_the_board_and_logs_it(qtbot, open_conn):
    events = []
    conn, info, device = open_conn("sim://?seed=1&ch1=ematch&ch2=open")
    conn.event.connect(lambda kind, text, t: events.append((kind, text, t)))
    assert info["board"] == device.status_dict()["board"] and info["board"]
    assert info["channels"] == 2 and info["url"].startswith("sim://")
    q = conn.link_quality()
    assert q["connected"] and q["frames_ok"] > 0 and q["crc_errors"] == 0 and q["link_ok"]
    with qtbot.waitSignal(conn.status, timeout=3000) as blocker:
        conn.request_status()
    assert blocker.args[0].state == C.STATE_SAFE
    assert events and events[0][0] == "command" and events[0][2] > 0


def test_a_bad_port_is_one_line_of_error(qtbot):
    conn = Connection()
    with qtbot.waitSignal(conn.error, timeout=5000) as blocker:
        conn.open("/dev/does-not-exist-coalwood")
    (text,) = blocker.args
    assert "\n" not in text and "no serial port" in text
    assert not conn.is_connected


def test_arm_with_the_key_off_is_refused_with_the_devices_reason(qtbot, open_conn):
    conn, _, device = open_conn("sim://?seed=1&key=off")
    with qtbot.assertNotEmitted(conn.armed, wait=100), \
            qtbot.waitSignal(conn.refused, timeout=3000) as blocker:
        conn.arm(1)
    assert blocker.args == ["ARM", C.NAK_NAMES[C.NAK_KEY_OFF]]
    assert device.status_dict()["state"] == "SAFE"


def test_arm_then_hold_to_fire_burns_the_igniter(qtbot, open_conn):
    conn, _, device = open_conn("sim://?seed=1&ch1=ematch&ch2=open")
    arm(qtbot, conn)
    with qtbot.waitSignal(conn.fired, timeout=1000) as blocker:
        conn.start_fire(1)
    assert blocker.args == [1] and conn.is_firing
    qtbot.waitUntil(lambda: device.status_dict()["igniters"][0]["burned"], timeout=3000)
    with qtbot.waitSignal(conn.fire_stopped, timeout=1000) as blocker:
        conn.stop_fire()
    assert blocker.args == ["released"] and not conn.client.firing
    qtbot.waitUntil(lambda: not any(device.status_dict()["outputs"]), timeout=1000)
    qtbot.waitUntil(lambda: device.status_dict()["igniters"][0]["fire_result"] == "FIRED",
                    timeout=3000)


def test_fire_without_arming_is_refused_and_never_fires(qtbot, open_conn):
    conn, _, device = open_conn("sim://?seed=1")
    with qtbot.assertNotEmitted(conn.fired, wait=300), \
            qtbot.waitSignal(conn.refused, timeout=1000) as blocker:
        conn.start_fire(1)
    assert blocker.args[0] == "FIRE"
    assert not conn.client.firing
    assert not [e for e in device.edges if e[2]]


def test_abort_while_armed_makes_the_pad_safe(qtbot, open_conn):
    conn, _, device = open_conn("sim://?seed=2")
    arm(qtbot, conn)
    assert device.status_dict()["state"] == "ARMED"
    with qtbot.waitSignal(conn.armed, timeout=2000) as blocker:
        conn.abort()
    assert blocker.args == [0]
    assert device.status_dict()["state"] == "SAFE"
    assert not [e for e in device.edges if e[2]]


def test_abort_while_firing_stops_the_stream_and_makes_the_pad_safe(qtbot, open_conn):
    conn, _, device = open_conn("sim://?seed=6&ch1=dud")  # a dud: it would burn on and on
    arm(qtbot, conn)
    with qtbot.waitSignal(conn.fired, timeout=1000):
        conn.start_fire(1)
    qtbot.waitUntil(lambda: any(device.status_dict()["outputs"]), timeout=1000)
    seen = []
    conn.fire_stopped.connect(lambda reason: seen.append(("fire_stopped", reason)))
    conn.armed.connect(lambda mask: seen.append(("armed", mask)))
    with qtbot.waitSignals([conn.fire_stopped, conn.armed], timeout=2000):
        conn.abort()
    assert seen == [("fire_stopped", "abort"), ("armed", 0)]
    assert not conn.is_firing and not conn.client.firing
    qtbot.waitUntil(lambda: device.status_dict()["state"] == "SAFE", timeout=1000)
    assert not any(device.status_dict()["outputs"])


def test_close_while_firing_stops_the_stream(qtbot, open_conn):
    conn, _, device = open_conn("sim://?seed=7&ch1=dud")
    arm(qtbot, conn)
    with qtbot.waitSignal(conn.fired, timeout=1000):
        conn.start_fire(1)
    client = conn.client
    seen = []
    conn.fire_stopped.connect(lambda reason: seen.append(("fire_stopped", reason)))
    conn.disconnected.connect(lambda reason: seen.append(("disconnected", reason)))
    with qtbot.waitSignals([conn.fire_stopped, conn.disconnected], timeout=1000):
        conn.close()
    assert seen == [("fire_stopped", "closed"), ("disconnected", "closed")]
    assert not conn.is_firing and not client.firing and not conn.is_connected
    qtbot.waitUntil(lambda: device.status_dict()["state"] == "SAFE", timeout=3000)
    assert not any(device.status_dict()["outputs"])


def test_unplug_while_firing_is_link_lost_and_the_stream_stops(qtbot, open_conn):
    conn, _, device = open_conn("sim://?seed=3&ch1=dud")
    arm(qtbot, conn)
    with qtbot.waitSignal(conn.fired, timeout=1000):
        conn.start_fire(1)
    with qtbot.waitSignals([conn.link_lost, conn.fire_stopped], timeout=2000):
        device.unplug()
    assert not conn.is_firing and not conn.client.firing and not conn.link_ok
    # the device, cut off, falls back to SAFE on its own
    qtbot.waitUntil(lambda: device.status_dict()["state"] == "SAFE", timeout=3000)
    assert not any(device.status_dict()["outputs"])
    with qtbot.waitSignal(conn.disconnected, timeout=1000):
        conn.close()
    assert not conn.is_connected


def test_silence_is_link_lost_and_the_link_comes_back(qtbot, open_conn):
    conn, _, device = open_conn("sim://?seed=5")
    arm(qtbot, conn)
    events = []
    conn.event.connect(lambda kind, text, t: events.append((kind, text)))
    lost = []
    conn.link_lost.connect(lost.append)
    with qtbot.waitSignals([conn.link_lost, conn.armed], timeout=2500):
        device.cut_link(True)
    assert len(lost) == 1 and "no frame from the device" in lost[0]
    assert not conn.link_ok
    qtbot.waitUntil(lambda: device.status_dict()["state"] == "SAFE", timeout=2000)
    device.cut_link(False)
    qtbot.waitUntil(lambda: conn.link_ok, timeout=2000)
    assert ("link", "link restored") in events


def test_telemetry_arrives_during_a_simulated_flight(qtbot, open_conn):
    conn, _, device = open_conn("sim://?seed=4&ch1=ematch&motor=C6")
    samples = []
    conn.telemetry.connect(lambda msg: samples.append(msg))
    launch_and_speed_up(qtbot, conn, device, 20)
    qtbot.waitUntil(lambda: any(m.flight_state >= C.FLIGHT_COAST for m in samples), timeout=8000)
    assert all(m.samples for m in samples)
    assert max(s.altitude_cm for m in samples for s in m.samples) > 2000
