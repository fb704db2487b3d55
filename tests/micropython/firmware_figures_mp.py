"""Firmware figures measured under MicroPython (run by tests/bench/firmware_figures.py via run.mjs --exec).

Prints one JSON line: heap used once the app is built, and the worst output-off
latency after the last FIRE over many held fires with different release times,
on the simulated clock the app is driven by.
"""

import gc
import json

from fake_hal import FakeHal

from firmware.app import App
from protocol import ROLE_GROUND, Connection
from protocol import messages as M
from protocol.ticks import ticks_add, ticks_diff


def heap_after_build():
    """Heap the app itself holds once built (the fake HAL's test buffers are not counted)."""
    hal = FakeHal()
    gc.collect()
    before = gc.mem_alloc()
    app = App(hal)
    gc.collect()
    return gc.mem_alloc() - before, app, hal


def worst_off_latency(trials):
    worst = 0
    for trial in range(trials):
        hal = FakeHal()
        app = App(hal)
        gnd = Connection(ROLE_GROUND)
        for _ in range(600):
            hal.now = ticks_add(hal.now, 1)
            app.step(hal.now)
        data = hal.take_output()
        gnd.receive_data(data)
        while gnd.next_event() is not None:
            pass
        hal.inject(gnd.send(M.Arm(1, 0)))
        hal.now = ticks_add(hal.now, 1)
        app.step(hal.now)
        token = bytes(app.controller.token)
        # hold for a varying time, FIRE every 100 ms, then release at a varying phase
        holds = 3 + trial % 7
        last = hal.now
        for i in range(holds * 100 + trial % 97):
            if i % 100 == 0:
                hal.inject(gnd.send(M.Fire.for_channels(token, 1)))
                last = ticks_add(hal.now, 1)
            hal.now = ticks_add(hal.now, 1)
            app.step(hal.now)
        for _ in range(400):
            hal.now = ticks_add(hal.now, 1)
            app.step(hal.now)
        off = [e for e in hal.edges() if e[2] == 0]
        worst = max(worst, ticks_diff(off[-1][0], last))
    return worst


heap, _app, _hal = heap_after_build()
print(json.dumps({"heap_after_app_bytes": heap, "worst_output_off_ms": worst_off_latency(40),
                  "trials": 40}))
