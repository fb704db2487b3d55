"""The launch commands end to end: the CLI against the simulated pad, in-process (sim://)
and over a real pseudo-terminal with `coalwood sim` as a separate process."""

import json
import subprocess
import sys
import time

import pytest

from ground.cli import main
from ground.client import DeviceClient
from ground.launch import Aborted, LaunchSequence
from protocol.ticks import TICKS_MAX, ticks_diff


def test_demo_launches_flies_lands_downloads_and_sums_up(capsys, tmp_path):
    import hashlib
    import re

    from ground.flightfile import load

    code = main(["demo", "--countdown", "1", "--motor", "C6", "--speed", "25", "-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ARMED channel 1" in out and "FIRE" in out and "outcome: FIRED" in out
    # the flight as it happened, from TELEMETRY
    for state in ("BOOST", "COAST", "DROGUE", "MAIN", "LANDED"):
        assert re.search(r"T\+ *[0-9.]+ s  %s " % state, out), state
    # the summary: the altimeter's apogee beside the simulation's, within 1 %
    off = re.search(r"off by [-+0-9.]+ m \(([-+0-9.]+) %\)", out)
    assert off and abs(float(off.group(1))) <= 1.0, out
    # the file it names is the verified flight
    path = re.search(r"the flight log is at (\S+)", out).group(1)
    assert path.startswith(str(tmp_path))
    flight = load(path)
    assert flight.ok and [e.name for e in flight.events] == [
        "liftoff", "burnout", "apogee", "main", "landed"]
    sha = re.search(r"SHA-256 ([0-9a-f]{12}) verified", out).group(1)
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest().startswith(sha)


def test_status_json_over_sim(capsys):
    assert main(["status", "--port", "sim://?seed=2&ch2=open", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert doc["state"] == "SAFE" and doc["key"] == "ON"
    assert [c["channel"] for c in doc["channels"]] == [1, 2]
    alt = doc["altimeter"]
    assert alt["flight_state"] == "PAD" and abs(alt["altitude_m"]) < 2.0
    assert alt["log_free_bytes"] > 0 and not alt["log_full"] and not alt["logging"]


def test_status_text_shows_the_altimeter(capsys):
    assert main(["status", "--port", "sim://?seed=2"]) == 0
    out = capsys.readouterr().out
    assert "altimeter: PAD, " in out and "free for flights" in out


def test_launch_refuses_with_the_key_off(capsys):
    code = main(["launch", "--port", "sim://?key=off", "--channel", "1", "--yes"])
    assert code == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "arm key is OFF" in err[0]


def test_launch_refuses_without_continuity(capsys):
    code = main(["launch", "--port", "sim://?ch1=open", "--channel", "1", "--yes"])
    assert code == 4
    assert "no continuity on channel 1 (OPEN)" in capsys.readouterr().err


def test_short_countdown_needs_its_flag(capsys):
    assert main(["launch", "--port", "sim://", "--channel", "1", "--countdown", "2"]) == 3
    assert "--short-countdown" in capsys.readouterr().err


def test_wrong_port_is_one_line_and_exit_5(capsys):
    assert main(["status", "--port", "/dev/does-not-exist-coalwood"]) == 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no serial port /dev/does-not-exist-coalwood" in err[0]


def test_silent_port_is_reported(capsys):
    # loop:// echoes our own frames back: nothing a device would say
    assert main(["status", "--port", "loop://", "--timeout", "0.5"]) == 4
    assert "no Coalwood device answered" in capsys.readouterr().err


def test_misfire_reports_and_shows_the_do_not_approach_timer(capsys):
    code = main(["launch", "--port", "sim://?ch1=dud", "--channel", "1", "--yes",
                 "--countdown", "1", "--short-countdown", "--pulse-ms", "300", "--misfire-wait", "1"])
    assert code == 6
    out = capsys.readouterr().out
    assert "MISFIRE" in out and "DO NOT APPROACH" in out


class KeyAt:
    """A keyboard that 'presses a key' after `after_s` seconds."""

    def __init__(self, after_s):
        self.at = time.monotonic() + after_s

    def pressed(self):
        return time.monotonic() >= self.at


@pytest.mark.parametrize("abort_after_s", [0.3, 1.6])
def test_abort_during_countdown_never_fires(abort_after_s):
    client = DeviceClient("sim://?seed=3")
    client.connect()
    try:
        device = client.link._port.device
        seq = LaunchSequence(client, 0, countdown_s=3, pulse_ms=500, out=lambda s: None,
                             keyboard=KeyAt(abort_after_s))
        seq.preflight()
        with pytest.raises(Aborted):
            seq.run()
        time.sleep(0.1)
        assert device.status_dict()["state"] == "SAFE"
        assert not [e for e in device.edges if e[2]]  # no output ever turned on
    finally:
        client.close()


def test_abort_while_firing_stops_the_output_within_250_ms():
    client = DeviceClient("sim://?seed=4&ch1=dud")
    client.connect()
    try:
        device = client.link._port.device
        seq = LaunchSequence(client, 0, countdown_s=0, pulse_ms=3000, out=lambda s: None,
                             keyboard=KeyAt(2.0))  # preflight included: the key lands mid-fire
        seq.preflight()
        with pytest.raises(Aborted):
            seq.run()
        time.sleep(0.3)
        on = [e for e in device.edges if e[2]]
        off = [e for e in device.edges if not e[2]]
        assert len(on) == 1 and len(off) == 1
        # the device clock is time.monotonic() in ms (ground/sim/device.WarpClock at speed 1)
        pressed_ms = int(seq.keyboard.at * 1000) & TICKS_MAX
        assert ticks_diff(on[0][0], pressed_ms) < 0  # it was firing when the key went down
        assert 0 <= ticks_diff(off[0][0], pressed_ms) <= 250
        assert device.status_dict()["state"] == "SAFE"
    finally:
        client.close()


def test_an_arm_answered_after_an_abort_leaves_no_token():
    """The window sends ABORT at once, even while an ARM waits for its answer: the device
    arms and then goes SAFE, and the client must not keep (and refresh, and fire with) the
    token that ARM brings back."""
    import threading

    from ground.client import DeviceError

    client = DeviceClient("sim://?seed=6")
    client.connect()
    try:
        device = client.link._port.device
        client.status()
        device.cut_link(True)  # the ARM goes unanswered (and is resent) until the link is back
        outcome = []

        def arm():
            try:
                outcome.append(client.arm(1))
            except DeviceError as exc:
                outcome.append(exc)

        arming = threading.Thread(target=arm)
        arming.start()
        time.sleep(0.05)
        client._forget_arm()  # what abort() does first, before its DISARM waits its turn
        device.cut_link(False)
        arming.join(5)
        assert len(outcome) == 1 and isinstance(outcome[0], DeviceError)
        assert "overtaken" in str(outcome[0])
        with pytest.raises(DeviceError, match="not armed"):
            client.start_fire(1)
        client.abort()
        assert device.status_dict()["state"] == "SAFE"
        assert not [e for e in device.edges if e[2]]
    finally:
        client.close()


def test_igniter_test_reads_and_fires(capsys):
    assert main(["igniter-test", "--port", "sim://?seed=5", "--channel", "1"]) == 0
    out = capsys.readouterr().out
    assert "channel 1: CONNECTED" in out and "sense current" in out
    assert main(["igniter-test", "--port", "sim://?seed=5", "--channel", "1", "--fire", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "burned open" in out


def test_launches_over_a_noisy_link_fire_or_fail_safe():
    """Bit flips and drops: a launch either fires properly or ends SAFE; never a stray output."""
    outcomes = []
    for seed in range(3):
        client = DeviceClient("sim://?seed=%d&flip_rate=0.002&drop_rate=0.002" % (10 + seed))
        try:
            client.connect(timeout=5)
            device = client.link._port.device
            seq = LaunchSequence(client, 0, countdown_s=0, pulse_ms=400, out=lambda s: None)
            seq.preflight()
            outcomes.append(seq.run())
        except Exception as exc:  # failing safe is allowed: a command may get no answer
            outcomes.append(type(exc).__name__)
            device = client.link._port.device if client.link._port else None
        finally:
            if device is not None:
                time.sleep(1.2)
                status = device.status_dict()
                assert status["state"] == "SAFE"
                assert not any(status["outputs"])
                # at most one output pulse per launch, and only after the ARM
                assert len([e for e in device.edges if e[2]]) <= 1
            client.close()
    assert outcomes


def test_end_to_end_over_a_real_pty():
    sim = subprocess.Popen(
        [sys.executable, "-m", "ground.cli", "sim", "--seed", "6"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = sim.stdout.readline().strip()
        assert port.startswith("/dev/"), port
        run = subprocess.run(
            [sys.executable, "-m", "ground.cli", "launch", "--port", port, "--channel", "1",
             "--yes", "--countdown", "1", "--short-countdown", "--pulse-ms", "300"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "FIRED" in run.stdout
        sim.stdin.write("status\n")
        sim.stdin.flush()
        status = json.loads(sim.stdout.readline())
        assert status["state"] == "SAFE"
        assert status["igniters"][0]["burned"]
    finally:
        sim.stdin.write("quit\n")
        sim.stdin.flush()
        sim.wait(timeout=10)


def test_fire_stream_cut_on_the_link_still_reports_the_outcome():
    import threading

    client = DeviceClient("sim://?seed=9")
    client.connect()
    lines = []
    try:
        device = client.link._port.device
        seq = LaunchSequence(client, 0, countdown_s=0, pulse_ms=1500, out=lines.append)
        seq.preflight()

        def cut():
            time.sleep(0.3)
            device.cut_link(True)  # FIRE frames lost: the dead-man pulse ends on the pad
            time.sleep(0.5)
            device.cut_link(False)

        t = threading.Thread(target=cut)
        t.start()
        result = seq.run()
        t.join()
        assert result == "FIRED"  # the e-match burned in the first milliseconds
        assert any("stopped early" in s and "NOT_ARMED" in s for s in lines), lines
        assert device.status_dict()["state"] == "SAFE"
    finally:
        client.close()


def test_status_watch_stays_live_until_interrupted():
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "ground.cli", "status", "--port", "sim://?seed=11", "--watch", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = [proc.stdout.readline() for _ in range(3)]  # three updates, a second apart
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=10)
    docs = [json.loads(line) for line in lines]
    assert all(d["state"] == "SAFE" for d in docs)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "coalwood: interrupted"  # one line, no traceback
