"""Decode benchmark that runs under MicroPython 1.29 (and the shared stream generator).

    node tests/micropython/run.mjs --exec tests/bench/mp_decode_bench.py

prints one JSON line (marked by the key "coalwood_mp_bench") that
tests/bench/protocol_bench.py parses. Importing this module on CPython gives
the same deterministic generator, so both interpreters decode byte-identical
streams; each side prints the stream's CRC-32 and the host compares them.

Everything here must run on MicroPython: no f-string specifiers beyond
plain fields, no dataclasses/typing, integer arithmetic only (no floats in
the generator), and no `random.Random` (MicroPython's `random` is a
different generator), so a small xorshift16 is used instead.
"""

import gc
import struct

from protocol import ROLE_DEVICE, ROLE_GROUND, Connection
from protocol import constants as C
from protocol import messages as M

SESSION = 0x5EED1A7E  # device boot nonce for the whole stream
KEY = bytes(range(0x40, 0x60))  # 32-byte pre-shared key for the keyed stream
T0_MS = 734210  # device uptime at ignition (ticks in the log and in TELEMETRY)
FLIGHT = 3  # flight number being downloaded

LOG_RATE_MS = 10  # flight log: one 16-byte record every 10 ms (100 Hz)
LOG_RECORD = "<IihIBB"  # tick_ms, altitude_cm, speed_cms, pressure_pa, flight_state, counter
LOG_RECORD_LEN = 16
FLIGHT_MS = 60000  # logged flight length
TELEMETRY_MS = 50  # telemetry sampling: 20 Hz, sent in batches of 4..6
PAD_MS = 20000  # link traffic on the pad before ignition

# MicroPython side of the benchmark: 256-byte reads (a UART-sized read) and
# enough frame slots that a read never has to be fed twice (the smallest frame
# in the mix is 18 wire bytes, so at most 15 frames can complete per read).
MP_CHUNK = 256
MP_SLOTS = 16


class XorShift16:
    """Marsaglia's 16-bit xorshift: identical on both interpreters, small ints only."""

    def __init__(self, seed):
        self.x = (seed & 0xFFFF) or 1

    def next(self):
        x = self.x
        x ^= (x << 7) & 0xFFFF
        x ^= x >> 9
        x ^= (x << 8) & 0xFFFF
        self.x = x
        return x

    def noise(self, span):
        """A value in -span..span-1 (span a power of two)."""
        return (self.next() & (2 * span - 1)) - span


def trajectory(t):
    """(altitude_cm, speed_cms, flight_state) at t ms after ignition; integers only."""
    if t < 0:
        return 0, 0, C.FLIGHT_PAD
    if t < 2000:  # boost: 80 m/s^2 for 2 s
        return 4 * t * t // 1000, 8 * t, C.FLIGHT_BOOST
    dt = t - 2000
    if dt < 16309:  # coast to apogee under gravity
        return (
            16000 + 16 * dt - 981 * dt * dt // 2000000,
            16000 - 981 * dt // 1000,
            C.FLIGHT_COAST,
        )
    apogee = 16000 + 16 * 16309 - 981 * 16309 * 16309 // 2000000
    dd = dt - 16309
    alt = apogee - 3 * dd  # drogue: 30 m/s down to 300 m
    if alt > 30000:
        return alt, -3000, C.FLIGHT_DROGUE
    dm = dd - (apogee - 30000) // 3
    alt = 30000 - 6 * dm // 10  # main: 6 m/s
    if alt > 0:
        return alt, -600, C.FLIGHT_MAIN
    return 0, 0, C.FLIGHT_LANDED


def pressure_pa(alt_cm):
    return 101325 - alt_cm * 12 // 100


def log_chunk(offset, length, rng):
    """`length` bytes of the flight log at `offset` (records are 16 bytes, offset aligned)."""
    buf = bytearray(length)
    rec = offset // LOG_RECORD_LEN
    o = 0
    while o < length:
        t = rec * LOG_RATE_MS
        alt, speed, state = trajectory(t)
        struct.pack_into(
            LOG_RECORD,
            buf,
            o,
            T0_MS + t,
            alt + rng.noise(32),
            speed + rng.noise(16),
            pressure_pa(alt) + rng.noise(8),
            state,
            rec & 0xFF,
        )
        rec += 1
        o += LOG_RECORD_LEN
    return bytes(buf)


def device_messages():
    """Yield the device -> ground messages of a launch and a log download, in order.

    Pad (20 s): HEARTBEAT at 2 Hz, STATUS at 1 Hz (2..4 channels), an ACK per
    ARM_REFRESH while armed and one for FIRE. Flight (60 s): TELEMETRY batches
    of 4..6 samples (20 Hz sampling), HEARTBEAT at 2 Hz, STATUS at 0.5 Hz.
    Download: the 96,000-byte log in 224-byte FLIGHT_DATA chunks, with a
    HEARTBEAT every 20 chunks (about every 0.45 s at 115200 baud).
    """
    rng = XorShift16(0xC0A1)
    nchan = 2
    ground_seq = 0
    log_len = (FLIGHT_MS // LOG_RATE_MS) * LOG_RECORD_LEN
    next_sample = 0  # index of the next 20 Hz telemetry sample
    samples_total = FLIGHT_MS // TELEMETRY_MS
    t = -PAD_MS
    while t < FLIGHT_MS:
        armed = -10000 <= t < 0
        flying = t >= 0
        alt, _speed, fstate = trajectory(t)
        if t % 500 == 0:
            flags = (C.DEV_KEY_ON if armed else 0) | (C.DEV_FLYING if flying else 0)
            state = C.STATE_ARMED if armed else C.STATE_SAFE
            yield M.Heartbeat(state, flags, ground_seq)
            ground_seq += 1
        if t % (1000 if t < 0 else 2000) == 0:
            nchan = 2 + (rng.next() % 3)
            chans = []
            for k in range(nchan):
                chans.append(
                    M.ChannelStatus(
                        C.CONT_CONNECTED if not flying else C.CONT_OPEN,
                        C.FIRE_FIRED if flying and k == 0 else C.FIRE_NONE,
                        1100 + k * 37 + rng.noise(16) if not flying else C.RESISTANCE_UNKNOWN,
                    )
                )
            yield M.Status(
                re_seq=ground_seq,
                state=C.STATE_ARMED if armed else C.STATE_SAFE,
                safe_reason=C.SAFE_FIRE_DONE if flying else C.SAFE_BOOT,
                flags=C.DEV_KEY_ON if armed else 0,
                battery_mv=8210 - (t + PAD_MS) // 4000 + rng.noise(4),
                flight_state=fstate,
                altitude_cm=alt,
                log_free_bytes=4194304 - (t * LOG_RECORD_LEN // LOG_RATE_MS if flying else 0),
                arm_remaining_ms=5000 - (t % 1000) if armed else 0,
                channels=chans,
            )
            ground_seq += 1
        if (armed and t % 1000 == 500) or t == 0:
            yield M.Ack(ground_seq, C.FIRE if t == 0 else C.ARM_REFRESH)
            ground_seq += 1
        if flying and t % 250 == 0 and next_sample < samples_total:
            n = 4 + rng.next() % 3
            if n > samples_total - next_sample:
                n = samples_total - next_sample
            base = next_sample * TELEMETRY_MS
            samples = []
            for k in range(n):
                ts = (next_sample + k) * TELEMETRY_MS
                a, v, _ = trajectory(ts)
                samples.append(
                    M.TelemetrySample(
                        ts - base,
                        a + rng.noise(32),
                        v + rng.noise(16),
                        pressure_pa(a) + rng.noise(8),
                    )
                )
            next_sample += n
            yield M.Telemetry(T0_MS + base, fstate, samples)
        t += 250
    # Download the log.
    off = 0
    k = 0
    while off < log_len:
        n = C.FLIGHT_CHUNK_MAX
        if n > log_len - off:
            n = log_len - off
        yield M.FlightData(FLIGHT, off, log_chunk(off, n, rng))
        off += n
        k += 1
        if k % 20 == 0:
            yield M.Heartbeat(C.STATE_SAFE, 0, ground_seq)
            ground_seq += 1
    yield M.Heartbeat(C.STATE_SAFE, 0, ground_seq)


def make_stream(sink, keyed=False):
    """Send every device_messages() message with a real device Connection.

    sink(data) receives each frame's wire bytes. Returns (frames, bytes, crc32).
    """
    import binascii

    conn = Connection(ROLE_DEVICE, session=SESSION, key=KEY if keyed else None)
    frames = 0
    nbytes = 0
    crc = 0
    for msg in device_messages():
        data = conn.send(msg)
        crc = binascii.crc32(data, crc)
        nbytes += len(data)
        frames += 1
        sink(data)
    return frames, nbytes, crc & 0xFFFFFFFF


# --- MicroPython side --------------------------------------------------------------------
def _write_stream(path, keyed):
    with open(path, "wb") as f:
        return make_stream(f.write, keyed)


def _decode_file(path, key, chunk, slots):
    """Decode the stream in `path` in chunk-byte reads, GC disabled while timing.

    Returns (frames, elapsed_ms, allocated_bytes, refeeds). The loop uses only
    preallocated buffers and small ints (readinto into a bytearray allocates
    nothing), so the gc.mem_alloc() difference around it is the protocol's
    own allocation. gc.mem_alloc() walks the whole heap, so it is read only
    before and after the loop, outside the timed part.
    """
    from time import ticks_diff, ticks_ms

    from protocol.compat import copy_into

    conn = Connection(ROLE_GROUND, key=key, slots=slots)
    buf = bytearray(chunk)
    frames = 0
    refeeds = 0
    with open(path, "rb") as f:
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        t0 = ticks_ms()
        while True:
            n = f.readinto(buf)
            if not n:
                break
            took = conn.receive_data(buf, n)
            while True:
                if conn.next_event() is None:
                    break
                frames += 1
            while took < n:
                # Every slot was full: feed the rest again (shifted down, no slice).
                refeeds += 1
                n -= took
                copy_into(buf, 0, buf, took, n)
                took = conn.receive_data(buf, n)
                while True:
                    if conn.next_event() is None:
                        break
                    frames += 1
        t1 = ticks_ms()
        a1 = gc.mem_alloc()
        gc.enable()
    if conn.stats.rejected():
        raise RuntimeError(f"frames rejected: {conn.stats.as_dict()}")
    return frames, ticks_diff(t1, t0), a1 - a0, refeeds


def _bench(path, keyed, repeats):
    frames, nbytes, crc = _write_stream(path, keyed)
    best = None
    alloc = None
    refeeds = 0
    for _ in range(repeats):
        got, ms, a, refeeds = _decode_file(path, KEY if keyed else None, MP_CHUNK, MP_SLOTS)
        if got != frames:
            raise RuntimeError(f"decoded {got} frames of {frames}")
        if best is None or ms < best:
            best = ms
        if alloc is None or a < alloc:
            alloc = a
    try:
        import os

        os.remove(path)
    except Exception:
        pass
    return {
        "frames": frames,
        "stream_bytes": nbytes,
        "stream_crc32": crc,
        "decode_ms": best,
        "decode_kb_s": (nbytes / 1000) / (best / 1000) if best else 0,
        "alloc_bytes": alloc,
        "alloc_bytes_per_frame": alloc / frames,
        "refeeds": refeeds,
    }


def main():
    import json
    import sys

    v = sys.implementation.version
    unkeyed = _bench("/coalwood_bench_unkeyed.bin", False, 3)
    keyed = _bench("/coalwood_bench_keyed.bin", True, 2)
    out = {
        "coalwood_mp_bench": 1,
        "micropython_version": f"{v[0]}.{v[1]}.{v[2]}",
        "chunk": MP_CHUNK,
        "slots": MP_SLOTS,
        "unkeyed": unkeyed,
        "keyed": keyed,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
