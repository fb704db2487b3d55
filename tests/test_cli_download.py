"""`coalwood flights` and `coalwood download` end to end: in-process over sim://, and as
separate processes over a real pseudo-terminal served by `coalwood sim`."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tty

import pytest
from flown import device_id
from flown import fly as _fly
from synthetic_flight import damage_record, write_flight

from ground.cli import main
from ground.download import PART_SUFFIX, SIDECAR_SUFFIX, WINDOW_BYTES, flight_file_name
from ground.sim.device import SimDevice
from ground.sim.pty_server import PUMP_WAIT_S, Pump

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST_BAUD = 460800  # the pty line paced 4x faster than a board's, so the tests stay short
DEVICE_ID_SEED_1 = device_id(1)


@pytest.fixture
def board(tmp_path):
    """Two flights: 0 landed and closed; 1 cut by a power loss with a damaged record."""
    root = str(tmp_path / "board")
    _n, _p, first = write_flight(root, size_bytes=20_000)
    _n, _p, second = write_flight(root, size_bytes=12_000, seed=1, close=False)
    damage_record(root, 1, index=7)
    return root, first, second


def _url(root, seed=1):
    return "sim://?seed=%d&storage=%s" % (seed, root)


def _env():
    """The environment for `python -m ground.cli` in a child process: this checkout's packages,
    and (read at call time) the test's own COALWOOD_LIBRARY."""
    return dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("coalwood: error: "), err
    return err[0]


def test_flights_lists_flags_size_apogee_and_digest(board, capsys):
    root, first, _second = board
    assert main(["flights", "--port", _url(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["flight", "flags", "size", "apogee", "sha256"]
    assert out[1].split()[:4] == ["0", "COMPLETE", f"{len(first):,}", "B"]
    assert out[2].split()[:2] == ["1", "TORN+CORRUPT"]
    assert main(["flights", "--port", _url(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [f["flags"] for f in doc["flights"]] == ["COMPLETE", "TORN+CORRUPT"]
    assert doc["flights"][0]["size_bytes"] == len(first)
    assert doc["device_id"] == DEVICE_ID_SEED_1.hex()


def test_download_saves_the_newest_and_prints_its_summary(board, tmp_path, capsys):
    root, first, _second = board
    out_dir = tmp_path / "flights"
    assert main(["download", "--port", _url(root), "--flight", "0", "-o", str(out_dir)]) == 0
    out = capsys.readouterr().out
    name = flight_file_name(DEVICE_ID_SEED_1, 0)
    assert name == "flight-0000-%s.cwf" % DEVICE_ID_SEED_1.hex()
    assert (out_dir / name).read_bytes() == first
    assert "CRC-32 and SHA-256 verified -> %s" % (out_dir / name) in out
    summary = out.splitlines()[-1]
    assert summary.startswith("flight 0;") and "apogee" in summary
    assert "liftoff T+0.00 s" in summary and "landed T+" in summary

    # the default is the newest flight; its damaged record is a warning, not a failure
    assert main(["download", "--port", _url(root), "-o", str(out_dir), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    (entry,) = doc["flights"]
    assert entry["flight"] == 1 and entry["bad_records"] == [{"offset": 40 + 7 * 24, "index": 7}]
    assert "warning: flight 1: record 7 at byte 208 fails its crc check" in captured.err

    # --all skips what is already here, byte for byte
    assert main(["download", "--port", _url(root), "--all", "-o", str(out_dir)]) == 0
    assert capsys.readouterr().out.count("is already downloaded") == 2
    assert sorted(os.listdir(out_dir)) == sorted([name, flight_file_name(DEVICE_ID_SEED_1, 1)])


def test_download_with_a_rocket_file_sets_the_prediction_beside_the_flight(tmp_path, capsys):
    board = tmp_path / "board"
    _fly(board, "H128W")  # the simulated board (seed 1) flies its H128W rocket and logs it
    rocket = tmp_path / "h128w.json"
    rocket.write_text(json.dumps({"version": 1, "motor": "H128W", "mass_g": 900,
                                  "diameter_mm": 54, "cd": 0.6, "main_ms": 6, "rail_m": 1.8}))
    out_dir = tmp_path / "flights"
    png = tmp_path / "overlay.png"
    assert main(["download", "--port", _url(str(board)), "--all", "-o", str(out_dir),
                 "--rocket", str(rocket), "--png", str(png), "--png-size", "600x400"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("flight 0;"))
    assert "CRC-32 and SHA-256 verified" in out and "apogee" in lines[summary]
    assert lines[summary + 1].startswith("predicted by h128w.json: AeroTech H128W")
    rows = [line.split() for line in lines[summary + 2:] if line.endswith("%)")]
    assert [row[0] for row in rows] == ["apogee", "time", "max"]
    per_flight = tmp_path / "overlay-flight-0000.png"  # --all: one picture per flight
    assert lines[-1] == "drawn into %s" % per_flight
    assert per_flight.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # already downloaded, the comparison still comes, and in --json with the figures
    assert main(["download", "--port", _url(str(board)), "-o", str(out_dir),
                 "--rocket", str(rocket), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["flights"]
    assert entry["already"] is True
    assert abs(entry["predicted"]["apogee_diff_pct"]) < 2.0


def test_a_bad_rocket_file_stops_the_download_before_it_starts(board, tmp_path, capsys):
    root, _first, _second = board
    rocket = tmp_path / "r.json"
    rocket.write_text('{"version": 1, "motor": "H128W"}')
    assert main(["download", "--port", _url(root), "-o", str(tmp_path / "out"),
                 "--rocket", str(rocket)]) == 3
    assert "--rocket %s: no 'mass_g'" % rocket in _one_line_error(capsys)
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


def test_another_flight_under_the_same_name_is_never_overwritten(board, tmp_path, capsys):
    root, _first, _second = board
    (tmp_path / flight_file_name(DEVICE_ID_SEED_1, 0)).write_bytes(b"an older flight 0")
    assert main(["download", "--port", _url(root), "--flight", "0", "-o", str(tmp_path)]) == 3
    assert "holds another flight 0: move it away" in _one_line_error(capsys)
    assert (tmp_path / flight_file_name(DEVICE_ID_SEED_1, 0)).read_bytes() == b"an older flight 0"


def test_errors_are_one_line_with_honest_exit_codes(board, tmp_path, capsys):
    root, _first, _second = board
    assert main(["download", "--port", "/dev/does-not-exist-coalwood", "-o", str(tmp_path)]) == 5
    assert "no serial port /dev/does-not-exist-coalwood" in _one_line_error(capsys)
    assert main(["download", "--port", _url(root), "--flight", "7", "-o", str(tmp_path)]) == 3
    assert "no flight 7 on the device (it has: 0, 1)" in _one_line_error(capsys)
    empty = str(tmp_path / "empty-board")
    assert main(["download", "--port", _url(empty), "-o", str(tmp_path)]) == 3
    assert "no flights stored" in _one_line_error(capsys)
    assert main(["download", "--port", _url(empty), "--all", "-o", str(tmp_path)]) == 0


def test_a_download_not_matching_the_device_digests_exits_7_and_leaves_nothing(tmp_path, capsys):
    root = str(tmp_path / "board")
    _n, path, _data = write_flight(root, size_bytes=8_000)
    with open(path, "r+b") as f:  # storage damaged after the digests were written
        f.seek(1000)
        f.write(b"\x00\x01")
    out_dir = tmp_path / "out"
    assert main(["download", "--port", _url(root), "-o", str(out_dir)]) == 7
    assert "do not match the device's: discarded" in _one_line_error(capsys)
    assert os.listdir(out_dir) == []


def _cli(*args, stdin=None, **kw):
    return subprocess.run([sys.executable, "-m", "ground.cli", *args], input=stdin,
                          capture_output=True, text=True, cwd=REPO, env=_env(), timeout=60, **kw)


def test_erase_asks_first_and_sends_the_erase_word(board):
    root, first, _second = board
    url = _url(root)
    run = _cli("flights", "--port", url, "--erase", "0", stdin="n\n")
    assert run.returncode == 0 and "nothing erased" in run.stdout
    assert f"Erase flight 0 ({len(first):,} B, apogee" in run.stdout
    run = _cli("flights", "--port", url, "--erase", "3", "--yes")
    assert run.returncode == 3 and "no flight 3 on the device" in run.stderr
    run = _cli("flights", "--port", url, "--erase", "0", "--yes")
    assert run.returncode == 0 and "erased flight 0" in run.stdout
    run = _cli("flights", "--port", url, "--json")
    assert [f["flight"] for f in json.loads(run.stdout)["flights"]] == [1]
    run = _cli("flights", "--port", url, "--erase", "all", stdin="y\n")
    assert run.returncode == 0 and "erased all flights" in run.stdout
    assert "no flights stored" in _cli("flights", "--port", url).stdout


# --- over a real pty, `coalwood sim` in its own process ------------------------------------------
class SimProcess:
    def __init__(self, storage, *extra):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ground.cli", "sim", "--storage", storage, "--seed", "1",
             "--baud", str(FAST_BAUD), *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=REPO, env=_env())
        self.port = self.proc.stdout.readline().strip()
        assert self.port.startswith("/dev/"), self.port

    def close(self):
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _held(sidecar):
    try:
        doc = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return 0
    return sum(b - a for a, b in doc["ranges"])


def _start_download(port, out_dir, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "ground.cli", "download", "--port", port, "-o", str(out_dir),
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=_env())


def _download_until_held(port, out_dir, sidecar, at_least, timeout_s=30):
    """A download started in its own process, once its sidecar records `at_least` bytes."""
    proc = _start_download(port, out_dir)
    deadline = time.monotonic() + timeout_s
    while _held(sidecar) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the download made no progress"
        time.sleep(0.02)
    return proc


def test_interrupted_and_killed_downloads_resume_and_never_leave_a_half_file(tmp_path):
    root = str(tmp_path / "board")
    _n, _p, data = write_flight(root, size_bytes=150_000)
    out_dir = tmp_path / "out"
    name = flight_file_name(DEVICE_ID_SEED_1, 0)
    sidecar = out_dir / (name + SIDECAR_SUFFIX)
    sim = SimProcess(root)
    try:
        # Ctrl-C: one line, exit 130, and how to resume
        proc = _download_until_held(sim.port, out_dir, sidecar, 1)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1].startswith("coalwood: error: interrupted; ")
        assert "run the same command again to resume" in err and "Traceback" not in err
        first = _held(sidecar)
        assert 0 < first < len(data)

        # killed outright between checkpoints: only the part and its sidecar are there
        proc = _download_until_held(sim.port, out_dir, sidecar, first + 20_000)
        proc.kill()
        proc.wait()
        assert sorted(os.listdir(out_dir)) == sorted([name + PART_SUFFIX, name + SIDECAR_SUFFIX])
        held = _held(sidecar)
        assert first < held < len(data)

        # the same command again finishes from the first gap
        proc = _start_download(sim.port, out_dir, "--json")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        doc = json.loads(out)["flights"][0]  # with --json, stdout is that one object
        assert doc["resumed_from"] == held
        assert doc["fetched_bytes"] <= len(data) - held + 2 * WINDOW_BYTES
        assert (out_dir / name).read_bytes() == data
        assert os.listdir(out_dir) == [name]
    finally:
        sim.close()


def test_a_vanishing_port_says_how_to_resume_and_a_new_session_resumes(tmp_path):
    root = str(tmp_path / "board")
    _n, _p, data = write_flight(root, size_bytes=150_000)
    out_dir = tmp_path / "out"
    name = flight_file_name(DEVICE_ID_SEED_1, 0)
    sim = SimProcess(root, "--disconnect-after", "2.0")
    try:
        proc = _start_download(sim.port, out_dir)
        _out, err = proc.communicate(timeout=30)
    finally:
        sim.close()
    assert proc.returncode == 5, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("coalwood: error: ") and "went away" in line
    assert "run the same command again to resume" in line
    held = _held(out_dir / (name + SIDECAR_SUFFIX))
    assert 0 < held < len(data) and not (out_dir / name).exists()

    sim = SimProcess(root)  # the board powered up again: a new session, the same flight
    try:
        proc = _start_download(sim.port, out_dir)
        out, err = proc.communicate(timeout=60)
    finally:
        sim.close()
    assert proc.returncode == 0, err
    assert out.startswith(f"resuming flight 0 at {held:,} of {len(data):,} bytes\n")
    assert "CRC-32 and SHA-256 verified" in out and "apogee" in out
    assert (out_dir / name).read_bytes() == data


class PtyPad:
    """A SimDevice on a pty in this process (as `coalwood sim` serves it), so the test can act
    as a second ground station at the pad while the command line downloads."""

    def __init__(self, storage):
        self.device = SimDevice(seed=1, storage_dir=storage)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self.pump = Pump(self.master, self.device, FAST_BAUD)
        self._stop = threading.Event()
        self.device.start()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.pump.run_once(PUMP_WAIT_S)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.device.close()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def test_a_pad_armed_during_the_download_stops_it_with_exit_4(tmp_path, capsys):
    root = str(tmp_path / "board")
    write_flight(root, size_bytes=150_000)
    out_dir = tmp_path / "out"
    sidecar = out_dir / (flight_file_name(DEVICE_ID_SEED_1, 0) + SIDECAR_SUFFIX)
    pad = PtyPad(root)
    try:
        def arm_when_under_way():
            deadline = time.monotonic() + 20
            while _held(sidecar) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            dev = pad.device
            with dev._lock:  # another ground station at the pad arms channel 1
                dev.app.controller.arm_lapse_ms = 10_000
                armed.append(dev.app.controller.arm(dev.clock(), 1, 0))

        armed = []
        armer = threading.Thread(target=arm_when_under_way)
        armer.start()
        code = main(["download", "--port", pad.port, "-o", str(out_dir)])
        armer.join()
    finally:
        pad.close()
    assert armed == [0]  # the controller's OK
    assert code == 4
    line = _one_line_error(capsys)
    assert "the device is ARMED: flights download only from a SAFE pad" in line
    assert "run the same command again to resume" in line
