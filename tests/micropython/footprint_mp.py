"""The firmware's RAM footprint and worst output-off latency, measured under real MicroPython.

Run by ground/footprint.py (`coalwood flash --check`, tests/bench/firmware_footprint.py),
which drives it through the MicroPython 1.29 WebAssembly port under node. At the end
`report()` prints one JSON line.

How the heap is measured
------------------------
The work is cut into units; `advance()` runs the next one and returns False when all
are done. Every unit ends with gc.collect(), and the next one starts by reading
gc.mem_alloc(), so each reading is the live heap: what is still reachable, not garbage.

On a board gc.collect() runs at once and `main()` simply calls advance() until it is
done. The WebAssembly port cannot see the wasm stack, so there gc.collect() only asks
for a collection, which happens when control returns to JavaScript; the node driver in
ground/footprint.py therefore calls advance() once per unit from JavaScript, which makes
every unit a top-level call and every reading a collected one. (Run as one script, as
`run.mjs --exec` does, nothing would be freed and every figure would include garbage:
`main()` refuses to do that.)

The units, in order:
  start        the interpreter with this module loaded: the baseline
  import       firmware.app and firmware.keystore, as firmware/main.py imports them
               (ground/footprint.py gives the port firmware/ and protocol/ as .mpy
               files, as `coalwood flash` puts them on a board)
  harness      the fake HAL (tests/micropython/fake_hal.py, with 64 KiB of test port
               buffers), the fake `machine` (tests/micropython/fake_machine.py), a
               storage folder in the MicroPython VFS and the flight's pressure table:
               test equipment, subtracted from every figure
  hal          the rest of what firmware/main.py imports on a Pico: firmware.board (the
               board file), firmware.hal.pico (which drives the fire pins low as it
               loads) and the board's barometer driver. The app below runs on the fake
               HAL, but this code is in the board's heap too.
  build        App(hal, KeyStore(storage folder)), as firmware/main.py builds it
  boot         BOOT_STEPS loop passes at 1 ms on the pad: continuity settled, heartbeats
               and status going out. "After boot" is the live heap here.
  flight       flight_profile's rocket flown through the app as test_app.py's Rig.fly
               does (a loop pass every FLIGHT_STEP_MS of simulated time until 14 s after
               landing), logging to a real file in the VFS. One unit per
               FLIGHT_PASSES_PER_UNIT loop passes.
  landed       the live heap once the flight is closed and listed
  latency      worst output-off latency after the last FIRE (below)

The peak during the flight: MicroPython frees nothing between collections, so between
two collections gc.mem_alloc() only grows. It is read after every loop pass; the value
after a pass is the highest the heap has reached since the last collection (the live
heap then plus everything allocated since). The peak is the largest reading over the
whole flight, with a collection every FLIGHT_PASSES_PER_UNIT passes (a collection after
every pass gives the same figure, 10 times slower). It is what the heap must hold if no
collection happens in between; a board collecting more often could only need less. The
bytes each pass allocated are summed too: logging is allocation-free, so that sum should
be about 0.

Heap figures are relative to the baseline, minus the harness; the real HAL's own
objects (machine.Pin, UART, ADC, ...) are not in them. The WebAssembly port is a 32-bit
build with 16-byte GC blocks, like the RP2040 and ESP32 ports, so object sizes match
closely but not exactly (e.g. its floats are doubles; both box them in one block).

The output-off latency: many held fires with different hold lengths and release
phases on the simulated clock; the worst time from the last FIRE's arrival to the
output's off edge (the controller lets go 250 ms after the last FIRE).
"""

import gc
import json
import sys

import micropython

# After these units the interned-name (qstr) pool is printed too: a "qstr <unit>" line, then
# micropython.qstr_info()'s. ground/footprint.py reads them: the pool is in the heap, and
# it is the part a frozen build keeps in flash (see there).
QSTR_UNITS = ("start", "import", "harness", "boot")
BOOT_STEPS = 600
FLIGHT_STEP_MS = 5
FLIGHT_PASSES_PER_UNIT = 10  # loop passes between collections during the flight
AFTER_LANDING_MS = 14000
LATENCY_TRIALS = 40

_units = ("start", "import", "harness", "hal", "build", "boot", "flight", "landed", "latency")
_unit = 0
heap = {}  # unit name -> live heap (gc.mem_alloc()) at its end, read after the collection

# the flight: set up by the harness unit
hal = None
app = None
board_hal = None  # (BOARD, firmware.hal.pico, the barometer driver): kept alive as on a board
_pressures = None  # array('i'): the barometer reading for every loop pass
_flight_i = 0
_flight_start_ms = 0
peak_abs = 0  # the largest gc.mem_alloc() at the end of a flight pass
alloc_sum = 0  # bytes the flight passes allocated, in total
alloc_max = 0  # ... in the worst pass
alloc_passes = 0  # passes that allocated anything
worst_off_ms = -1


def _import():
    global App, KeyStore, ticks_add
    from firmware.app import App
    from firmware.keystore import KeyStore
    from protocol.ticks import ticks_add


def _harness():
    global hal, _pressures
    from array import array

    import fake_machine
    import flight_profile as F
    from fake_hal import FakeHal
    from scratch import fresh_dir

    sys.modules["machine"] = fake_machine
    hal = FakeHal()
    hal.storage_path = fresh_dir()
    n = (int((F.T_LANDED * 1000 + AFTER_LANDING_MS)) // FLIGHT_STEP_MS) + 1
    _pressures = array("i", [0] * n)
    for i in range(n):
        _pressures[i] = F.pressure_pa(i * FLIGHT_STEP_MS / 1000.0)


def _hal():
    global board_hal
    from firmware.board import BOARD
    from firmware.hal import pico

    chip = (BOARD.get("barometer") or {}).get("chip")
    driver = __import__("firmware." + chip) if chip else None
    board_hal = (BOARD, pico, driver)


def _build():
    global app
    app = App(hal, KeyStore(hal.storage_path))


def _boot():
    global _flight_start_ms
    for _ in range(BOOT_STEPS):
        hal.now = ticks_add(hal.now, 1)
        app.step(hal.now)
        hal.tx_n = 0  # the ground's side of the port: drained without copying
    _flight_start_ms = hal.now


def _flight_pass():
    """One loop pass of the flight; False after the last one."""
    global _flight_i, peak_abs, alloc_sum, alloc_max, alloc_passes
    i = _flight_i
    before = gc.mem_alloc()
    hal.pressure = _pressures[i]
    hal.now = ticks_add(_flight_start_ms, i * FLIGHT_STEP_MS)
    app.step(hal.now)
    hal.tx_n = 0
    after = gc.mem_alloc()
    if after > peak_abs:
        peak_abs = after
    spent = after - before
    if spent:
        alloc_sum += spent
        alloc_passes += 1
        if spent > alloc_max:
            alloc_max = spent
    _flight_i = i + 1
    return _flight_i < len(_pressures)


def _latency():
    global worst_off_ms
    from fake_hal import FakeHal

    from protocol import ROLE_GROUND, Connection
    from protocol import messages as M
    from protocol.ticks import ticks_diff

    worst = 0
    for trial in range(LATENCY_TRIALS):
        lhal = FakeHal()
        lapp = App(lhal)
        gnd = Connection(ROLE_GROUND)
        for _ in range(600):
            lhal.now = ticks_add(lhal.now, 1)
            lapp.step(lhal.now)
        gnd.receive_data(lhal.take_output())
        while gnd.next_event() is not None:
            pass
        lhal.inject(gnd.send(M.Arm(1, 0)))
        lhal.now = ticks_add(lhal.now, 1)
        lapp.step(lhal.now)
        token = bytes(lapp.controller.token)
        # hold for a varying time, FIRE every 100 ms, then release at a varying phase
        holds = 3 + trial % 7
        last = lhal.now
        for i in range(holds * 100 + trial % 97):
            if i % 100 == 0:
                lhal.inject(gnd.send(M.Fire.for_channels(token, 1)))
                last = ticks_add(lhal.now, 1)
            lhal.now = ticks_add(lhal.now, 1)
            lapp.step(lhal.now)
        for _ in range(400):
            lhal.now = ticks_add(lhal.now, 1)
            lapp.step(lhal.now)
        off = [e for e in lhal.edges() if e[2] == 0]
        worst = max(worst, ticks_diff(off[-1][0], last))
    worst_off_ms = worst


def advance():
    """Run the next unit of work, then ask for a collection; False once everything ran.

    Each call starts by recording the live heap the previous unit left (collected
    between the calls, see the module docstring).
    """
    global _unit
    if _unit > 0 and _units[_unit - 1] not in heap and _units[_unit - 1] != "flight":
        heap[_units[_unit - 1]] = gc.mem_alloc()
        if _units[_unit - 1] in QSTR_UNITS:
            print("qstr", _units[_unit - 1])
            micropython.qstr_info()
    if _unit >= len(_units):
        gc.collect()
        return False
    name = _units[_unit]
    if name == "import":
        _import()
    elif name == "harness":
        _harness()
    elif name == "hal":
        _hal()
    elif name == "build":
        _build()
    elif name == "boot":
        _boot()
    elif name == "flight":
        more = True
        for _ in range(FLIGHT_PASSES_PER_UNIT):
            more = _flight_pass()
            if not more:
                break
        if more:
            gc.collect()
            return True  # more passes: stay on this unit
    elif name == "latency":
        _latency()
    _unit += 1
    gc.collect()
    return True


def figures():
    """The measured figures as a dict of ints (call after advance() returned False)."""
    harness = heap["harness"] - heap["import"]
    base = heap["start"] + harness

    def rel(v):
        return v - base

    return {
        "heap_imports_bytes": heap["import"] - heap["start"] + heap["hal"] - heap["harness"],
        "heap_app_built_bytes": rel(heap["build"]),
        "heap_after_boot_bytes": rel(heap["boot"]),
        "heap_peak_during_flight_bytes": rel(peak_abs),
        "heap_after_flight_bytes": rel(heap["landed"]),
        "heap_alloc_during_flight_bytes": alloc_sum,
        "heap_alloc_max_pass_bytes": alloc_max,
        "flight_passes_allocating": alloc_passes,
        "flight_passes": _flight_i,
        "flight_logged_bytes": app.recorder.log._used_bytes() if app.recorder.log else 0,
        "harness_bytes": harness,
        "worst_output_off_ms": worst_off_ms,
        "latency_trials": LATENCY_TRIALS,
        "micropython_version": "%d.%d.%d" % sys.implementation.version[:3],
    }


def report():
    print(json.dumps(figures()))


def main():
    if "Emscripten" in getattr(sys.implementation, "_machine", ""):
        raise SystemExit("footprint_mp: the WebAssembly port collects garbage only between calls "
                         "from JavaScript; run it through ground/footprint.py "
                         "(python tests/bench/firmware_footprint.py)")
    while advance():
        pass
    report()


gc.collect()

if __name__ == "__main__":
    main()
