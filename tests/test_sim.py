"""The simulated pad box: igniter models, SimHal, SimDevice, sim:// and the pty server.

Deterministic: seeded, and where time matters a ManualClock is stepped by hand.
"""

import argparse
import contextlib
import itertools
import json
import os
import stat
import subprocess
import sys
import time

import pytest
import serial

import ground.sim  # noqa: F401  (registers sim://)
from firmware.continuity import Continuity
from firmware.hal import KEY_OFF, KEY_ON
from ground.sim.device import ManualClock, SimDevice, parse_device_key
from ground.sim.hal import SimHal
from ground.sim.igniter import PRESETS, Igniter, make_igniter
from ground.sim.pty_server import add_sim_parser, handle_command, run_sim
from protocol import ROLE_GROUND, Connection, RemoteProtocolError
from protocol import constants as C
from protocol import messages as M

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = bytes(range(1, 33))


# --- the igniter model ------------------------------------------------------------------------
def _fire_hal(preset, ms, key_on=True, step_ms=1):
    """Fire one channel of a SimHal for `ms` milliseconds; returns the hal."""
    hal = SimHal([make_igniter(preset)], key_on=key_on, seed=1, clock=lambda: 0)
    hal.advance(0)
    hal.fire(0, True)
    for t in range(step_ms, ms + 1, step_ms):
        hal.advance(t)
    return hal


def test_ematch_burns_open_within_its_burn_time_from_the_battery():
    hal = _fire_hal("ematch", 100)
    ig = hal.igniters[0]
    assert ig.burned and ig.functioned
    assert ig.burn_time_ms <= PRESETS["ematch"][4]
    assert ig.peak_ma > ig.all_fire_ma
    assert hal.continuity_raw(0) == 65535  # burned open
    assert hal.currents_ma() == [0.0]  # nothing flows through an open circuit


def test_dud_functions_but_never_burns_open():
    hal = _fire_hal("dud", 3000, step_ms=10)
    ig = hal.igniters[0]
    assert ig.functioned and not ig.burned
    assert ig.resistance_ohm == 1.0 and hal.continuity_raw(0) < 1000


def test_high_resistance_cannot_reach_no_fire_current():
    hal = SimHal([make_igniter("high")], seed=1, clock=lambda: 0)
    hal.advance(0)
    hal.fire(0, True)
    current = hal.currents_ma()[0]
    assert current < hal.igniters[0].no_fire_ma  # 8.4 V / 50.25 ohm ~ 167 mA
    for t in range(10, 3001, 10):
        hal.advance(t)
    assert not hal.igniters[0].functioned and not hal.igniters[0].burned


def test_slow_igniter_needs_its_full_burn_time():
    hal = _fire_hal("slow", 250)
    assert not hal.igniters[0].burned  # one dead-man pulse is not enough
    for t in range(251, 601):
        hal.advance(t)
    assert hal.igniters[0].burned and hal.igniters[0].burn_time_ms == pytest.approx(600)


def test_marginal_current_heats_in_proportion():
    ig = Igniter(1.0, 200, 600, 100)
    ig.step(100, 10_000)  # below no-fire: never
    assert not ig.functioned and ig.heat_ms == 0
    ig.step(400, 150)  # halfway between no-fire and all-fire: half rate
    assert not ig.burned and ig.heat_ms == pytest.approx(75)
    ig.step(400, 50)
    assert ig.burned and ig.burn_time_ms == pytest.approx(200)


def test_no_current_without_the_arm_key():
    hal = _fire_hal("ematch", 1000, key_on=False)
    assert not hal.igniters[0].functioned
    assert hal.battery_mv() == 8400


def test_unknown_preset_names_the_valid_ones():
    with pytest.raises(ValueError) as exc:
        make_igniter("sparkler")
    for name in PRESETS:
        assert name in str(exc.value)


def test_battery_sags_under_load_and_recovers():
    hal = SimHal([make_igniter("dud"), make_igniter("dud")], seed=1, clock=lambda: 0)
    assert hal.battery_mv() == 8400
    hal.fire(0, True)
    one = hal.battery_mv()
    assert one == pytest.approx(8400 - 0.15 * 8400 / 1.25, abs=2)  # ~7392 mV
    hal.fire(1, True)
    assert hal.battery_mv() < one  # two igniters draw more
    hal.fire(0, False)
    hal.fire(1, False)
    assert hal.battery_mv() == 8400


# --- continuity through the firmware's own classifier ---------------------------------------
@pytest.mark.parametrize(
    "preset, cls, mohm",
    [
        ("ematch", C.CONT_CONNECTED, 1000),
        ("estes", C.CONT_CONNECTED, 800),
        ("open", C.CONT_OPEN, None),
        ("short", C.CONT_SHORT, None),
        ("high", C.CONT_CONNECTED, 50000),
    ],
)
def test_continuity_classifies_through_firmware(preset, cls, mohm):
    hal = SimHal([make_igniter(preset)], seed=3, clock=lambda: 0)
    cont = Continuity(1, hal.adc_full_scale, hal.sense_resistor_ohm)
    for _ in range(20):
        raw = hal.continuity_raw(0)
        assert 0 <= raw <= 65535
        got = cont.update(0, raw)
    assert got == cls
    if mohm is not None:
        assert cont.mohm[0] == pytest.approx(mohm, rel=0.05)


def test_sense_current_is_far_below_no_fire():
    hal = SimHal([make_igniter("short")], seed=1, clock=lambda: 0)
    sense_ma = hal.sense_supply_mv / (hal.sense_resistor_ohm + 0.02)
    assert sense_ma <= 10.1 < min(p[2] for p in PRESETS.values())


# --- SimDevice driven by a ground Connection on a manual clock ------------------------------
class Rig:
    """A SimDevice and a ground Connection on one manual clock."""

    def __init__(self, key=None, start=1000, **kw):
        self.clock = ManualClock(start)
        kw.setdefault("seed", 1)
        self.dev = SimDevice(clock=self.clock, device_key=key, **kw)
        self.gnd = Connection(ROLE_GROUND, key=parse_device_key(key))
        self.got = []
        self.run(600)

    def run(self, ms, step_ms=1):
        for _ in range(ms // step_ms):
            self.dev.step(self.clock.advance(step_ms))
            self.collect()

    def collect(self):
        data = self.dev.read_output()
        pos = 0
        while pos < len(data):
            pos += self.gnd.receive_data(data, -1, pos)
            while (f := self.gnd.next_event()) is not None:
                with contextlib.suppress(RemoteProtocolError):
                    self.got.append(M.decode(f))

    def send(self, msg):
        self.dev.feed(self.gnd.send(msg))
        return self.gnd.last_tx_seq

    def command(self, msg, ms=30):
        seq = self.send(msg)
        self.run(ms)
        for m in self.got:
            if getattr(m, "re_seq", None) == seq:
                return m
        return None

    def replies_of(self, cls):
        return [m for m in self.got if isinstance(m, cls)]

    def status(self):
        st = self.command(M.GetStatus())
        assert isinstance(st, M.Status)
        return st

    def fire_for(self, token, mask, ms):
        for _ in range(ms // 100):
            self.send(M.Fire.for_channels(token, mask))
            self.run(100)


def test_arm_fire_burns_the_ematch_and_reports_fired():
    rig = Rig()
    assert rig.gnd.session_known
    assert rig.status().channels[0].continuity == C.CONT_CONNECTED
    ack = rig.command(M.Arm(1, 0))
    assert isinstance(ack, M.ArmAck)
    rig.fire_for(ack.token, 1, 300)
    rig.run(800)  # release; the firmware settles the result
    st = rig.status()
    assert st.state == C.STATE_SAFE and st.safe_reason == C.SAFE_FIRE_DONE
    assert st.channels[0].fire_result == C.FIRE_FIRED
    assert st.channels[0].continuity == C.CONT_OPEN
    assert st.channels[1].fire_result == C.FIRE_NONE
    s = rig.dev.status_dict()
    assert s["igniters"][0]["burned"] and not s["igniters"][1]["burned"]
    assert s["igniters"][0]["fire_result"] == "FIRED"
    edges = rig.dev.edges
    assert [(ch, on) for _t, ch, on in edges] == [(0, True), (0, False)]
    assert edges[1][0] - edges[0][0] <= 300 + 250


def test_dud_is_reported_as_misfire():
    rig = Rig(channels=("dud", "ematch"))
    ack = rig.command(M.Arm(1, 0))
    rig.fire_for(ack.token, 1, 500)
    rig.run(800)
    st = rig.status()
    assert st.channels[0].fire_result == C.FIRE_MISFIRE
    assert st.channels[0].continuity == C.CONT_CONNECTED


def test_key_off_refuses_arm_with_key_off():
    rig = Rig()
    rig.dev.set_key(False)
    rig.run(20)
    nak = rig.command(M.Arm(1, 0))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_KEY_OFF
    assert rig.dev.status_dict()["key"] == "off"
    assert not rig.dev.edges


def test_key_off_mid_fire_stops_the_current():
    rig = Rig(channels=("dud", "dud"))
    ack = rig.command(M.Arm(3, 0))
    rig.fire_for(ack.token, 3, 200)
    assert rig.dev.hal.currents_ma()[0] > 0
    rig.dev.set_key(False)
    rig.run(20)
    assert rig.dev.hal.currents_ma() == [0.0, 0.0]
    assert rig.dev.status_dict()["state"] == "SAFE"
    assert rig.status().safe_reason == C.SAFE_KEY_OFF


def test_battery_sags_while_firing_in_status():
    rig = Rig(channels=("dud", "ematch"))
    idle = rig.status().battery_mv
    assert idle == 8400
    ack = rig.command(M.Arm(1, 0))
    rig.send(M.Fire.for_channels(ack.token, 1))
    rig.run(50)
    st = rig.command(M.GetStatus(), ms=5)
    assert st.state == C.STATE_FIRING
    assert 7000 < st.battery_mv < idle - 800
    assert rig.dev.hal.min_battery_mv < 7500
    rig.run(500)
    assert rig.status().battery_mv == idle


def test_igniter_swap_and_open_channel_refuse_arm():
    rig = Rig()
    rig.dev.set_igniter(1, "open")
    rig.run(100)
    nak = rig.command(M.Arm(2, 0))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_NO_CONTINUITY
    with pytest.raises(ValueError):
        rig.dev.set_igniter(5, "ematch")


def test_cut_link_drops_to_safe_by_link_loss():
    rig = Rig()
    ack = rig.command(M.Arm(1, 0))
    assert isinstance(ack, M.ArmAck)
    rig.dev.cut_link(True)
    rig.got = []
    rig.run(1200)
    assert not rig.got  # nothing arrives while cut
    assert rig.dev.status_dict()["safe_reason"] == "LINK_LOST"
    rig.dev.cut_link(False)
    assert rig.status().state == C.STATE_SAFE


def test_fire_works_across_the_tick_wrap():
    rig = Rig(start=(1 << 30) - 700)
    ack = rig.command(M.Arm(1, 0))
    rig.fire_for(ack.token, 1, 300)
    rig.run(800)
    assert rig.status().channels[0].fire_result == C.FIRE_FIRED


def test_authenticated_device_keeps_its_key_in_storage(tmp_path):
    rig = Rig(key=KEY.hex(), storage_dir=str(tmp_path))
    path = tmp_path / "key.bin"
    assert path.read_bytes() == KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert rig.dev.status_dict()["keyed"]
    ack = rig.command(M.Arm(1, 0))
    assert isinstance(ack, M.ArmAck)
    rig.command(M.Disarm())
    # a ground without the key is not listened to
    stranger = Connection(ROLE_GROUND)
    stranger.set_session(rig.gnd.session)
    before = rig.dev.app.conn.stats.rejected()
    rig.dev.feed(stranger.send(M.Arm(1, 0)))
    rig.run(50)
    assert rig.dev.app.conn.stats.rejected() == before + 1
    assert rig.dev.status_dict()["state"] == "SAFE"


def test_device_key_validation():
    assert parse_device_key(KEY.hex()) == KEY
    assert parse_device_key(None) is None
    for bad in ("12", "zz" * 32, "00" * 32, KEY.hex() + "00"):
        with pytest.raises(ValueError):
            parse_device_key(bad)


# --- fault injection --------------------------------------------------------------------------
def _record_fires(dev):
    """Wrap the app's dispatch: the times at which a verified FIRE frame was acted on."""
    times = []
    inner = dev.app.dispatch

    def dispatch(frame, now_ms):
        if frame.msg_type == C.FIRE:
            times.append(now_ms)
        return inner(frame, now_ms)

    dev.app.dispatch = dispatch
    return times


def test_corrupted_link_rejects_frames_and_never_fires_without_fire():
    rig = Rig(seed=7, flip_rate=0.01, drop_rate=0.01)
    fires = _record_fires(rig.dev)
    for i in range(40):  # arm, refresh, status, disarm over a noisy line: never a FIRE
        ack = rig.command(M.Arm(1, 0), ms=40)
        if isinstance(ack, M.ArmAck):
            rig.send(M.ArmRefresh(ack.token))
            rig.run(50)
        rig.send(M.Heartbeat(0, 0, 0))
        rig.command(M.GetStatus(), ms=40)
        if i % 3 == 0:
            rig.send(M.Disarm())
        rig.run(100)
    assert rig.gnd.stats.rejected() > 0
    assert rig.dev.app.conn.stats.rejected() > 0
    assert rig.dev.fault_stats["dropped"] > 0 and rig.dev.fault_stats["flipped"] > 0
    assert rig.replies_of(M.ArmAck)  # armed at times, so a spurious fire was possible
    assert not fires and not rig.dev.edges


def test_corrupted_link_fires_only_on_verified_fire_frames():
    rig = Rig(seed=11, flip_rate=0.005, drop_rate=0.005, channels=("dud", "dud"))
    fires = _record_fires(rig.dev)
    for _ in range(30):
        ack = rig.command(M.Arm(1, 0), ms=40)
        if isinstance(ack, M.ArmAck):
            rig.fire_for(ack.token, 1, 300)
            rig.send(M.Fire.for_channels(b"\x00\x00\x00\x00", 1))  # a wrong token: refused
        rig.run(400)
    on_edges = [t for t, _ch, on in rig.dev.edges if on]
    assert on_edges  # some FIREs got through the noise
    assert all(t in fires for t in on_edges)
    assert rig.gnd.stats.rejected() > 0


# --- sim:// -------------------------------------------------------------------------------------
def _await(port, gnd, want, seconds=1.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        gnd.receive_data(port.read(64))
        while (f := gnd.next_event()) is not None:
            m = M.decode(f)
            if want(m):
                return m
    return None


def test_sim_url_answers_device_info_within_a_second():
    port = serial.serial_for_url("sim://?seed=1", timeout=0.1)
    try:
        t0 = time.monotonic()
        gnd = Connection(ROLE_GROUND)
        assert _await(port, gnd, lambda m: isinstance(m, M.Heartbeat)) is not None
        port.write(gnd.send(M.GetDeviceInfo()))
        seq = gnd.last_tx_seq
        info = _await(port, gnd, lambda m: isinstance(m, M.DeviceInfo) and m.re_seq == seq)
        assert info is not None and time.monotonic() - t0 < 1.0
        assert info.board_name == "sim-2ch" and info.channels == 2
        assert port.device.status_dict()["state"] == "SAFE"
    finally:
        port.close()
    assert not port.device.running


def test_sim_url_options_and_errors():
    port = serial.serial_for_url("sim://?ch1=dud&ch3=open&key=off&seed=2&baud=9600", timeout=0)
    try:
        s = port.device.status_dict()
        assert [i["preset"] for i in s["igniters"]] == ["dud", "ematch", "open"]
        assert s["key"] == "off" and port.baudrate == 9600
        assert port.read(10) == b"" or True  # non-blocking read returns at once
    finally:
        port.close()
    for url in ("sim://?ch1=sparkler", "sim://?key=maybe", "sim://?flip_rate=2",
                "sim://?bogus=1", "sim://?device_key=abcd"):
        with pytest.raises(serial.SerialException):
            serial.serial_for_url(url)


def test_sim_url_disconnect_makes_the_port_vanish():
    port = serial.serial_for_url("sim://?seed=1", timeout=0.05)
    try:
        port.read(10)
        port.device.unplug()
        with pytest.raises(serial.SerialException):
            port.read(10)
        with pytest.raises(serial.SerialException):
            port.write(b"\x00")
    finally:
        port.close()


# --- the pty server -------------------------------------------------------------------------
def _spawn(*args):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-m", "ground.sim.pty_server", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=REPO, env=env,
    )


def test_pty_server_serves_the_device_and_quits_cleanly():
    proc = _spawn("--seed", "1")
    try:
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/")
        with serial.Serial(path, 115200, timeout=0.1) as port:
            gnd = Connection(ROLE_GROUND)
            hb = _await(port, gnd, lambda m: isinstance(m, M.Heartbeat), seconds=2.0)
            assert hb is not None and hb.state == C.STATE_SAFE
            port.write(gnd.send(M.Heartbeat(0, 0, 0xFFFF)))
            port.write(gnd.send(M.GetStatus()))
            seq = gnd.last_tx_seq
            st = _await(port, gnd, lambda m: isinstance(m, M.Status) and m.re_seq == seq, 2.0)
            assert st is not None and st.channels[0].continuity == C.CONT_CONNECTED
            proc.stdin.write("key off\nstatus\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "ok key off"
            status = json.loads(proc.stdout.readline())
            assert status["key"] == "off" and status["board"] == "sim-2ch"
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=5) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pty_server_disconnect_after_closes_the_port():
    proc = _spawn("--seed", "1", "--disconnect-after", "0.5")
    try:
        path = proc.stdout.readline().strip()
        port = serial.Serial(path, 115200, timeout=0.1)
        with pytest.raises(serial.SerialException):
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                port.read(64)
        port.close()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pty_server_bad_options_are_one_line_errors():
    proc = _spawn("--ch1", "sparkler")
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 3 and out == ""
    assert err.startswith("coalwood: error: --ch1: unknown igniter") and len(err.splitlines()) == 1


def test_sim_parser_registers_and_validates(capsys):
    parser = argparse.ArgumentParser(prog="coalwood")
    add_sim_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sim", "--device-key", "1234"])
    assert args.func is run_sim
    assert run_sim(args) == 3
    err = capsys.readouterr().err
    assert "64 hex digits" in err and len(err.splitlines()) == 1
    assert run_sim(parser.parse_args(["sim", "--motor", "Z9"])) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--motor: no bundled motor 'Z9' (available:" in err
    assert run_sim(parser.parse_args(["sim", "--speed", "-2"])) == 3
    assert "--speed must be above 0" in capsys.readouterr().err
    args = parser.parse_args(["sim", "--key", "sideways"])
    assert run_sim(args) == 3


def test_control_commands():
    dev = SimDevice(seed=1, clock=ManualClock())
    try:
        assert handle_command(dev, "key off") == ("ok key off", True)
        assert dev.hal.arm_key() == KEY_OFF
        assert handle_command(dev, "key on")[0] == "ok key on"
        assert dev.hal.arm_key() == KEY_ON
        assert handle_command(dev, "igniter 2 open")[0] == "ok igniter 2 open"
        assert dev.hal.igniters[1].preset == "open"
        assert handle_command(dev, "igniter 3 open")[0].startswith("error: no channel 3")
        assert handle_command(dev, "igniter 1 sparkler")[0].startswith("error: unknown igniter")
        assert handle_command(dev, "cut on")[0] == "ok cut on" and dev.link_cut
        assert handle_command(dev, "battery 7400")[0] == "ok battery 7400"
        assert json.loads(handle_command(dev, "status")[0])["battery_mv"] == 7400
        assert handle_command(dev, "dance")[0].startswith("error: unknown command")
        assert handle_command(dev, "quit") == ("ok quit", False)
    finally:
        dev.close()


def test_warp_clock_runs_at_real_time_then_faster_without_a_jump():
    from ground.sim.device import WarpClock
    from protocol.ticks import ticks_diff

    now = [1000.0]
    clock = WarpClock(source=lambda: now[0])
    t0 = clock()
    assert t0 == 1000000 & ((1 << 30) - 1)
    now[0] += 2.0
    assert ticks_diff(clock(), t0) == 2000  # speed 1: device ms are real ms
    before = clock()
    clock.set_speed(20)
    assert clock() == before  # no jump at the change
    now[0] += 0.5
    assert ticks_diff(clock(), before) == 10000  # 0.5 s real is 10 s of flight
    with pytest.raises(ValueError):
        clock.set_speed(0)
    now[0] += 60000.0  # past the 2**30 ms wrap
    assert 0 <= clock() < (1 << 30)


def _launch(rig):
    ack = rig.command(M.Arm(1, 0))
    assert isinstance(ack, M.ArmAck), ack
    rig.fire_for(ack.token, 1, 300)


def test_firing_a_good_igniter_flies_the_rocket_and_the_altimeter_logs_it():
    rig = Rig(rocket="C6")
    _launch(rig)
    hal = rig.dev.hal
    assert hal.ignition_ms is not None  # the e-match lit the motor
    truth = hal.flight.result.summary()
    rig.run(int(truth["landing_time_s"] * 1000) + 15000, step_ms=5)
    assert rig.replies_of(M.Telemetry), "no TELEMETRY during the flight"
    info = rig.command(M.FlightList())
    assert isinstance(info, M.FlightInfo) and info.count == 1, info
    assert info.flags == C.FLIGHT_COMPLETE
    assert abs(info.apogee_cm / 100 - truth["apogee_m"]) <= 0.01 * truth["apogee_m"]


def test_a_dud_never_lifts_off_and_nothing_is_logged():
    rig = Rig(rocket="C6", channels=("dud", "ematch"))
    _launch(rig)
    assert rig.dev.hal.ignition_ms is None
    rig.run(20000, step_ms=5)
    info = rig.command(M.FlightList())
    assert info.count == 0
    assert rig.status().flight_state == C.FLIGHT_PAD


def test_sim_url_and_pty_options_for_a_rocket():
    from ground.sim.urlhandler.protocol_sim import parse_sim_url

    kwargs, _extras = parse_sim_url("sim://?motor=h128w&speed=5")
    assert kwargs["rocket"]["motor"].name == "H128W" and kwargs["clock"].speed == 5.0
    with pytest.raises(serial.SerialException, match="no bundled motor"):
        parse_sim_url("sim://?motor=Z9")
    with pytest.raises(serial.SerialException, match="speed"):
        parse_sim_url("sim://?speed=0")


def test_a_loop_thread_behind_its_clock_catches_up_in_short_passes():
    """A sped-up clock or a busy host must not make the simulated board skip samples: the
    loop thread steps through the gap in passes of at most MAX_STEP_MS, at most
    MAX_CATCHUP_STEPS of them, then jumps."""
    from ground.sim import device as device_mod

    readings = iter([1000, 1001, 1051, 1053, 1053 + 100000])
    dev = SimDevice(clock=ManualClock(1000))
    dev.clock = lambda: next(readings)
    stepped = []

    def step(now_ms=None):
        stepped.append(now_ms)
        if now_ms == 1053 + 100000:  # the last reading
            dev._stop.set()

    dev.step = step
    dev.step_sleep_s = 0
    try:
        dev._run()
    finally:
        dev.close()
    assert dev.error is None
    head = stepped[:13]
    assert head == [1000, 1001, *range(1006, 1051, 5), 1051, 1053], head
    gaps = [b - a for a, b in itertools.pairwise(stepped)]
    assert max(gaps[:-1]) <= device_mod.MAX_STEP_MS
    # the 100 s jump: MAX_CATCHUP_STEPS short passes, then the rest skipped in one
    tail = stepped[13:]
    assert len(tail) == device_mod.MAX_CATCHUP_STEPS + 1
