"""Download benchmark: a whole flight through the real Downloader over a real, rate-limited pty.

    python tests/bench/download_bench.py [--json] [--size-bytes N] [--no-keyed]

A flight of about --size-bytes (default 200,000) is logged by the firmware's own
FlightLog into a board storage folder (tests/synthetic_flight.py). `coalwood sim
--storage DIR` serves that board on a pseudo-terminal at 115200 8N1 (11,520 bytes per
second each way) as a separate process, as a pad box on a cable would be. The ground
side is ground.client.DeviceClient and ground.download.Downloader on the pty's path.

goodput_ratio = (flight bytes / download seconds) / 11520. The framing alone caps it:
an unkeyed FLIGHT_DATA carries 224 data bytes in 245 bytes on the wire (0.914); a keyed
one in 261 (0.858). The download's seconds run from the first FLIGHT_READ to the
verified last byte; connecting and listing are reported apart.

Figures are reported, not asserted: exit 0 with figures, exit 2 with a one-line error
when something cannot be measured.
"""

import argparse
import contextlib
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

from benchutil import BenchError, report  # noqa: E402
from synthetic_flight import write_flight  # noqa: E402

from ground.client import DeviceClient, DeviceError  # noqa: E402
from ground.download import Downloader  # noqa: E402
from ground.link import LinkError  # noqa: E402
from protocol import ROLE_DEVICE, Connection  # noqa: E402
from protocol import constants as C  # noqa: E402
from protocol import messages as M  # noqa: E402

BAUD = 115200
BYTES_PER_S = BAUD / 10.0  # 8N1: ten bits on the line per byte
TARGET_RATIO = 0.90
DEFAULT_SIZE_BYTES = 200_000
KEY = bytes(range(1, 33))
START_TIMEOUT_S = 10.0


def wire_bytes_per_chunk(key=None):
    """Bytes on the wire for one full FLIGHT_DATA chunk (COBS and delimiter included)."""
    dev = Connection(ROLE_DEVICE, session=0x5EED1A7E, key=key)
    data = bytes((i * 37) % 255 + 1 for i in range(C.FLIGHT_CHUNK_MAX))
    return len(dev.send(M.FlightData(1, 0x01020304, data)))


class PtySim:
    """`coalwood sim` in its own process, serving the storage folder on a pty."""

    def __init__(self, storage, baud=BAUD, device_key=None):
        args = [sys.executable, "-m", "ground.cli", "sim", "--storage", storage, "--seed", "1",
                "--baud", str(baud)]
        if device_key is not None:
            args += ["--device-key", device_key.hex()]
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        self.path = self.proc.stdout.readline().strip()
        if not self.path.startswith("/dev/"):
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.close()
            raise BenchError("coalwood sim did not print a port path: %r %s"
                             % (self.path, err.strip()[-200:]))

    def close(self):
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def download_once(storage, expected, key=None, baud=BAUD):
    """One download of flight 0 over a fresh `coalwood sim`; returns the figures."""
    sim = PtySim(storage, baud=baud, device_key=key)
    client = None
    try:
        t0 = time.monotonic()
        client = DeviceClient(sim.path, key=key, baudrate=baud)
        try:
            client.connect(timeout=START_TIMEOUT_S)
        except (DeviceError, LinkError) as exc:
            raise BenchError("cannot connect to coalwood sim on %s: %s" % (sim.path, exc)) from None
        infos = client.flight_list()
        t1 = time.monotonic()
        if not infos:
            raise BenchError("the simulated board lists no flight")
        info = infos[0]
        rejected_before = client.link.stats.rejected()
        result = Downloader(client).download(info)
        if result.data != expected or hashlib.sha256(result.data).digest() != bytes(info.sha256):
            raise BenchError("the downloaded bytes differ from the board's flight")
        seconds = result.seconds
        stats = result.stats.as_dict()
        return {
            "bytes": len(result.data),
            "seconds": round(seconds, 3),
            "goodput_bytes_per_s": round(len(result.data) / seconds, 1),
            "goodput_ratio": round(len(result.data) / seconds / (baud / 10.0), 4),
            "framing_ceiling": round(C.FLIGHT_CHUNK_MAX / wire_bytes_per_chunk(key), 4),
            "connect_and_list_seconds": round(t1 - t0, 3),
            "frames_rejected": client.link.stats.rejected() - rejected_before,
            **{k: stats[k] for k in ("requests", "resends", "windows", "gaps", "frames",
                                     "duplicate_bytes", "timeouts", "naks")},
        }
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        sim.close()


def measure(size_bytes, keyed=True, baud=BAUD):
    if size_bytes < 1000:
        raise BenchError("--size-bytes must be at least 1000")
    storage = tempfile.mkdtemp(prefix="coalwood-dlbench-")
    try:
        _flight, _path, expected = write_flight(storage, size_bytes=size_bytes)
        result = download_once(storage, expected, baud=baud)
        result.update({"target_ratio_min": TARGET_RATIO, "baud": baud,
                       "python_version": platform.python_version()})
        if keyed:
            k = download_once(storage, expected, key=KEY, baud=baud)
            result["keyed"] = {name: k[name] for name in (
                "seconds", "goodput_bytes_per_s", "goodput_ratio", "framing_ceiling",
                "resends", "frames_rejected")}
        return result
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def table(r):
    rows = [
        ("flight bytes", "%d" % r["bytes"]),
        ("download seconds", "%.3f (connect and list: %.3f)" % (
            r["seconds"], r["connect_and_list_seconds"])),
        ("goodput (B/s)", "%.1f of %d on the line" % (r["goodput_bytes_per_s"], r["baud"] // 10)),
        ("goodput ratio, unkeyed", "%.4f (target >= %.2f: %s; framing ceiling %.4f)" % (
            r["goodput_ratio"], r["target_ratio_min"],
            "met" if r["goodput_ratio"] >= r["target_ratio_min"] else "missed",
            r["framing_ceiling"])),
        ("requests / resends / timeouts", "%d / %d / %d" % (r["requests"], r["resends"],
                                                            r["timeouts"])),
    ]
    if "keyed" in r:
        k = r["keyed"]
        rows.append(("goodput ratio, keyed", "%.4f in %.3f s (framing ceiling %.4f)" % (
            k["goodput_ratio"], k["seconds"], k["framing_ceiling"])))
    width = max(len(name) for name, _ in rows)
    out = ["Download benchmark at %d baud (8N1), Python %s" % (r["baud"], r["python_version"])]
    out += ["%-*s  %s" % (width, name, value) for name, value in rows]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    parser.add_argument("--size-bytes", type=int, default=DEFAULT_SIZE_BYTES,
                        help="flight size, about (default %d)" % DEFAULT_SIZE_BYTES)
    parser.add_argument("--no-keyed", action="store_true", help="skip the keyed download")
    parser.add_argument("--baud", type=int, default=BAUD, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return report("download_bench",
                  lambda: measure(args.size_bytes, keyed=not args.no_keyed, baud=args.baud),
                  table, args.json, (DeviceError, LinkError, OSError))


if __name__ == "__main__":
    sys.exit(main())
