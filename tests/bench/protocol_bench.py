#!/usr/bin/env python
"""Throughput and allocation benchmark of the Coalwood wire protocol.

    python tests/bench/protocol_bench.py            # a readable table
    python tests/bench/protocol_bench.py --json     # exactly one JSON object on stdout

Measures, in one run and on one deterministic stream of device -> ground
frames (a launch and a log download; see tests/bench/mp_decode_bench.py):

* CPython decode and encode throughput of protocol.Connection,
* pymavlink's pure-Python MAVLink v2 parser on a MAVLink stream of the same
  frame count and (nearly) the same frame sizes, for reference,
* MicroPython 1.29 decode throughput and heap allocation per frame, by
  running tests/bench/mp_decode_bench.py under tests/micropython/run.mjs.

The figures are reported, not asserted: the exit code is 0 whatever they are,
and non-zero (with a one-line error) only when something cannot be measured.
See tests/bench/README.md for what each figure means.
"""

import argparse
import binascii
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

# pymavlink picks the wire version from the environment at import time.
os.environ["MAVLINK20"] = "1"

import mp_decode_bench as gen  # noqa: E402  (the shared, MicroPython-compatible generator)
from benchutil import BenchError, report  # noqa: E402

from protocol import ROLE_DEVICE, ROLE_GROUND, Connection  # noqa: E402
from protocol import messages as M  # noqa: E402

CHUNK = 4096  # bytes per read, like pyserial's read(4096) on the ground station
REPEATS = 3  # CPython figures: best of this many repetitions
MIN_REP_S = 0.2  # each repetition decodes the stream enough times to last this long
LINK_BYTES_PER_S = 11520  # 115200 baud, 8N1: 10 bits per byte
MP_TIMEOUT_S = 180
TARGET_RATIO = 3.0
LINE_RUNNER = "tests/micropython/run.mjs"


# --- the stream --------------------------------------------------------------------------
def build_stream(keyed):
    """(messages, frames as bytes, crc32) sent by a real device Connection."""
    msgs = list(gen.device_messages())
    conn = Connection(ROLE_DEVICE, session=gen.SESSION, key=gen.KEY if keyed else None)
    frames = [conn.send(m) for m in msgs]
    crc = 0
    for f in frames:
        crc = binascii.crc32(f, crc)
    return msgs, frames, crc & 0xFFFFFFFF


def split(stream, size):
    return [stream[i : i + size] for i in range(0, len(stream), size)]


# --- Coalwood, CPython -------------------------------------------------------------------
def decode_pass(chunks, key=None, with_messages=False):
    """Feed the chunks to a ground Connection, draining after every call; frames decoded.

    receive_data() stops when every frame slot is full; the rest of the chunk is
    then fed again after draining (from where it stopped, start=, no copy), as a
    ground station reading a serial port does.
    """
    conn = Connection(ROLE_GROUND, key=key)
    receive = conn.receive_data
    next_event = conn.next_event
    decode = M.decode
    frames = 0
    for data in chunks:
        n = len(data)
        pos = 0
        while pos < n:
            pos += receive(data, -1, pos)
            while True:
                f = next_event()
                if f is None:
                    break
                if with_messages:
                    decode(f)
                frames += 1
    if conn.stats.rejected():
        raise BenchError(f"the ground Connection rejected frames: {conn.stats.as_dict()!r}")
    return frames


def encode_pass(msgs, key=None):
    """Send every message through a device Connection; wire bytes produced."""
    conn = Connection(ROLE_DEVICE, session=gen.SESSION, key=key)
    send = conn.send
    total = 0
    for m in msgs:
        total += len(send(m))
    return total


def best_times(benches):
    """Best seconds per call of each fn() in `benches` (a dict), over REPEATS rounds.

    Each fn is warmed up and given enough calls per round to last MIN_REP_S.
    The rounds take turns across all benchmarks, so a burst of other work on
    the machine does not land on one figure only.
    """
    calls = {}
    for name, fn in benches.items():
        t = time.perf_counter()
        fn()  # warm-up, and calibration of the calls per round
        one = max(time.perf_counter() - t, 1e-6)
        calls[name] = max(1, int(MIN_REP_S / one + 0.999))
    best = dict.fromkeys(benches, float("inf"))
    for _ in range(REPEATS):
        for name, fn in benches.items():
            t = time.perf_counter()
            for _ in range(calls[name]):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t) / calls[name])
    return best


# --- pymavlink -----------------------------------------------------------------------------
def load_pymavlink():
    try:
        from importlib.metadata import PackageNotFoundError, version

        from pymavlink.dialects.v20 import common as mavlink2
    except ImportError:
        raise BenchError("pymavlink is not installed: pip install .[bench]") from None
    try:
        ver = version("pymavlink")
    except PackageNotFoundError:
        ver = "unknown"
    return mavlink2, ver


def new_mav(mavlink2, file=None):
    mav = mavlink2.MAVLink(file, srcSystem=1, srcComponent=1, use_native=False)
    if getattr(mav, "native", None) is not None or "pymavlink.mavnative" in sys.modules:
        raise BenchError("pymavlink's native parser is active; the pure-Python one is required")
    return mav


def to_mavlink(mav, mavlink2, msg):
    """The MAVLink v2 message standing in for a Coalwood message (see README.md)."""
    gcs = (255, 190)  # the ground station's system and component ids
    if isinstance(msg, M.FlightData):
        # FLIGHT_DATA payload (6-byte header + data) as an FTP payload: same wire size.
        payload = list(msg.pack())
        return mav.file_transfer_protocol_encode(
            0, gcs[0], gcs[1], payload + [0] * (251 - len(payload))
        )
    if isinstance(msg, M.Telemetry):
        # The samples, state, count and low half of base_ms in a TUNNEL: same wire
        # size (a sample ends in a zero byte, which MAVLink v2 would trim).
        raw = msg.pack()
        payload = list(raw[6:] + raw[4:6] + raw[:2])
        if len(payload) > 128:
            raise BenchError("TELEMETRY batch too large for a MAVLink TUNNEL")
        return mav.tunnel_encode(
            gcs[0], gcs[1], 0x8000, len(payload), payload + [0] * (128 - len(payload))
        )
    if isinstance(msg, M.Status):
        ch = list(msg.channels)
        words = [c.continuity | c.fire_result << 8 | c.resistance_mohm << 16 for c in ch[2:]]
        words += [0] * (3 - len(words))
        return mav.sys_status_encode(
            0x0020FC2F,
            0x0020FC2F,
            0x0020FC2F,
            msg.arm_remaining_ms // 10 & 0xFFFF,
            msg.battery_mv,
            -1,
            87,
            0,
            0,
            ch[0].resistance_mohm if ch else 0,
            ch[1].resistance_mohm if len(ch) > 1 else 0,
            msg.state | msg.flags << 8,
            msg.flight_state,
            words[0],
            words[1],
            words[2],
        )
    if isinstance(msg, M.Heartbeat):
        armed = mavlink2.MAV_MODE_FLAG_SAFETY_ARMED if msg.state else 0
        return mav.heartbeat_encode(
            mavlink2.MAV_TYPE_ROCKET,
            mavlink2.MAV_AUTOPILOT_INVALID,
            armed,
            msg.flags << 8 | msg.state,
            mavlink2.MAV_STATE_ACTIVE if msg.flags else mavlink2.MAV_STATE_STANDBY,
            3,
        )
    if isinstance(msg, M.Ack):
        return mav.command_ack_encode(
            mavlink2.MAV_CMD_COMPONENT_ARM_DISARM,
            mavlink2.MAV_RESULT_ACCEPTED,
            0,
            0,
            gcs[0],
            gcs[1],
        )
    raise BenchError(f"no MAVLink mapping for {type(msg).__name__}")


def build_mavlink_stream(mavlink2, msgs):
    out = io.BytesIO()
    mav = new_mav(mavlink2, out)
    for m in msgs:
        mav.send(to_mavlink(mav, mavlink2, m))
    return out.getvalue()


def mavlink_pass(mavlink2, chunks):
    mav = new_mav(mavlink2)
    parse = mav.parse_buffer
    frames = 0
    for data in chunks:
        got = parse(data)
        if got:
            frames += len(got)
    return frames


def mavlink_check(mavlink2, chunks, expected):
    """One checked pass: every message decodes to a known type, none is bad data."""
    mav = new_mav(mavlink2)
    n = 0
    for data in chunks:
        for m in mav.parse_buffer(data) or ():
            if m.get_type() in ("BAD_DATA", "UNKNOWN") or m.get_type().startswith("UNKNOWN"):
                raise BenchError(f"pymavlink could not decode the reference stream: {m}")
            n += 1
    if n != expected:
        raise BenchError(f"pymavlink decoded {n} of {expected} frames")


# --- MicroPython -------------------------------------------------------------------------------
def micropython_command():
    """The command that runs mp_decode_bench.py under MicroPython, or BenchError."""
    node = shutil.which("node")
    if node is None:
        raise BenchError(
            "node is not installed: it runs MicroPython 1.29 (WebAssembly) for the board figures"
        )
    runner = ROOT / LINE_RUNNER
    if not runner.exists():
        raise BenchError(f"{LINE_RUNNER} is missing: cannot run MicroPython")
    return [node, str(runner), "--exec", str(HERE / "mp_decode_bench.py")]


def run_micropython(cmd):
    try:
        proc = subprocess.run(
            cmd, cwd=str(ROOT), capture_output=True, text=True, timeout=MP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"MicroPython run timed out after {MP_TIMEOUT_S} s") from None
    for line in proc.stdout.splitlines():
        start = line.find("{")
        if start >= 0 and "coalwood_mp_bench" in line:
            try:
                return json.loads(line[start:])
            except ValueError:
                break
    lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else "no output"
    hint = ""
    if "ERR_MODULE_NOT_FOUND" in proc.stderr or "Cannot find package" in proc.stderr:
        hint = " (run `npm ci` in tests/micropython)"
    raise BenchError(f"MicroPython run failed (exit {proc.returncode}): {last}{hint}")


# --- the run ---------------------------------------------------------------------------------
def measure():
    # Fail early, before the long part, if something cannot be measured.
    mavlink2, mav_version = load_pymavlink()
    mp_cmd = micropython_command()

    msgs, frames, crc = build_stream(keyed=False)
    stream = b"".join(frames)
    nframes = len(frames)
    gen_frames, gen_bytes, gen_crc = gen.make_stream(lambda data: None)
    if (gen_frames, gen_bytes, gen_crc) != (nframes, len(stream), crc):
        raise BenchError("the shared generator is not deterministic")
    chunks = split(stream, CHUNK)

    _, kframes, _ = build_stream(keyed=True)
    kstream = b"".join(kframes)
    kchunks = split(kstream, CHUNK)

    # Coalwood decode: count frames and check them against what was sent.
    for ch, key in ((chunks, None), (kchunks, gen.KEY)):
        got = decode_pass(ch, key)
        if got != nframes:
            raise BenchError(f"decoded {got} frames of {nframes} sent")
    if encode_pass(msgs) != len(stream):
        raise BenchError("encode produced a different stream")

    # pymavlink on the size-matched MAVLink v2 stream.
    mstream = build_mavlink_stream(mavlink2, msgs)
    mchunks = split(mstream, CHUNK)
    mavlink_check(mavlink2, mchunks, nframes)

    best = best_times(
        {
            "decode": lambda: decode_pass(chunks),
            "pymavlink": lambda: mavlink_pass(mavlink2, mchunks),
            "messages": lambda: decode_pass(chunks, with_messages=True),
            "keyed": lambda: decode_pass(kchunks, gen.KEY),
            "encode": lambda: encode_pass(msgs),
        }
    )
    t_dec = best["decode"]
    t_mav = best["pymavlink"]
    t_msg = best["messages"]
    t_key = best["keyed"]
    t_enc = best["encode"]
    mav_crc = "fastcrc" if getattr(mavlink2, "mcrf4xx", None) is not None else "python"

    # MicroPython, on the byte-identical stream it generates itself.
    mp = run_micropython(mp_cmd)
    for name, expect in (("unkeyed", (nframes, len(stream), crc)), ("keyed", None)):
        r = mp[name]
        if expect is None:
            expect = (nframes, len(kstream), binascii.crc32(kstream) & 0xFFFFFFFF)
        if (r["frames"], r["stream_bytes"], r["stream_crc32"]) != expect:
            raise BenchError(f"MicroPython generated a different {name} stream than CPython")

    mb = 1e6
    decode_mb_s = len(stream) / t_dec / mb
    pym_mb_s = len(mstream) / t_mav / mb
    return {
        "decode_mb_s": round(decode_mb_s, 3),
        "encode_mb_s": round(len(stream) / t_enc / mb, 3),
        "frames_per_s": round(nframes / t_dec),
        "pymavlink_decode_mb_s": round(pym_mb_s, 3),
        "ratio_vs_pymavlink": round(decode_mb_s / pym_mb_s, 2),
        "link_115200_ratio": round(decode_mb_s * mb / LINK_BYTES_PER_S, 1),
        "micropython_decode_kb_s": round(mp["unkeyed"]["decode_kb_s"], 1),
        "micropython_alloc_bytes_per_frame": round(mp["unkeyed"]["alloc_bytes_per_frame"], 2),
        "micropython_alloc_bytes_per_frame_keyed": round(mp["keyed"]["alloc_bytes_per_frame"], 2),
        "python_version": platform.python_version(),
        "micropython_version": mp["micropython_version"],
        "stream_bytes": len(stream),
        "frames": nframes,
        "pymavlink_version": mav_version,
        # Context for the figures above.
        "decode_with_messages_mb_s": round(len(stream) / t_msg / mb, 3),
        "ratio_vs_pymavlink_with_messages": round(len(stream) / t_msg / mb / pym_mb_s, 2),
        "decode_keyed_mb_s": round(len(kstream) / t_key / mb, 3),
        "keyed_stream_bytes": len(kstream),
        "micropython_decode_kb_s_keyed": round(mp["keyed"]["decode_kb_s"], 1),
        "mavlink_stream_bytes": len(mstream),
        "pymavlink_crc": mav_crc,
        "stream_crc32": f"{crc:08x}",
    }


def table(r):
    def verdict(ok):
        return "met" if ok else "NOT met"

    ratio = r["ratio_vs_pymavlink"]
    alloc = r["micropython_alloc_bytes_per_frame"]
    rows = [
        ("CPython decode", f"{r['decode_mb_s']:.3f} MB/s", ""),
        ("  frames decoded", f"{r['frames_per_s']} frames/s", ""),
        ("  with messages.decode()", f"{r['decode_with_messages_mb_s']:.3f} MB/s", ""),
        ("  keyed (MAC) stream", f"{r['decode_keyed_mb_s']:.3f} MB/s", ""),
        ("CPython encode", f"{r['encode_mb_s']:.3f} MB/s", ""),
        ("pymavlink decode (pure Python)", f"{r['pymavlink_decode_mb_s']:.3f} MB/s", ""),
        (
            "ratio vs pymavlink",
            f"{ratio:.2f} x",
            f">= {TARGET_RATIO:g}: {verdict(ratio >= TARGET_RATIO)}",
        ),
        ("  with messages.decode()", f"{r['ratio_vs_pymavlink_with_messages']:.2f} x", ""),
        ("decode vs a 115200 8N1 link", f"{r['link_115200_ratio']:.1f} x", ""),
        ("MicroPython decode", f"{r['micropython_decode_kb_s']:.1f} kB/s", ""),
        ("  keyed (MAC) stream", f"{r['micropython_decode_kb_s_keyed']:.1f} kB/s", ""),
        ("MicroPython alloc per frame", f"{alloc:g} B", f"== 0: {verdict(alloc == 0)}"),
        ("  keyed (MAC) stream", f"{r['micropython_alloc_bytes_per_frame_keyed']:g} B", ""),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    lines = [
        f"Coalwood protocol benchmark: {r['frames']} frames, {r['stream_bytes']} bytes"
        f" (crc32 {r['stream_crc32']})",
        f"Python {r['python_version']}, MicroPython {r['micropython_version']},"
        f" pymavlink {r['pymavlink_version']} (CRC: {r['pymavlink_crc']}),"
        f" MAVLink stream {r['mavlink_stream_bytes']} bytes",
        "",
        f"{'figure':<{w0}}  {'value':>{w1}}  target",
        f"{'-' * w0}  {'-' * w1}  {'-' * 16}",
    ]
    for a, b, c in rows:
        lines.append(f"{a:<{w0}}  {b:>{w1}}  {c}".rstrip())
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object and nothing else"
    )
    args = parser.parse_args(argv)
    return report("protocol_bench", measure, table, args.json)


if __name__ == "__main__":
    sys.exit(main())
