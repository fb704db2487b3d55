"""A deterministic serial line for tests and campaigns: a SimDevice on a hand-stepped clock and
a ground protocol Connection joined by 115200 8N1 (11.52 bytes per millisecond each way),
everything moved one millisecond at a time on one thread."""

import contextlib

from ground.sim.device import ManualClock, SimDevice
from protocol import ROLE_GROUND, Connection, RemoteProtocolError
from protocol import messages as M

LINE_BYTES_PER_MS = 115200 / 10 / 1000
# A UART idle for a while sends at most this much in one millisecond: no bursts beyond the rate.
_BUDGET_CAP = 2 + LINE_BYTES_PER_MS


class SerialLine:
    """`send(msg)` queues ground bytes for the line; `step()` moves one millisecond of bytes
    each way, runs the device once and returns the messages the ground received.
    `frame_received(now_ms)` is called for every verified ground frame (a hook)."""

    def __init__(self, storage, seed=1, flip_rate=0.0, drop_rate=0.0, start_ms=5000, **device):
        self.clock = ManualClock(start_ms)
        self.dev = SimDevice(clock=self.clock, seed=seed, storage_dir=storage,
                             flip_rate=flip_rate, drop_rate=drop_rate, **device)
        self.gnd = Connection(ROLE_GROUND)
        self.up = bytearray()  # ground bytes waiting for the line
        self.up_budget = self.down_budget = 0.0

    @property
    def now(self):
        return self.clock.now

    def send(self, msg, flags=0, seq=-1):
        self.up += self.gnd.send(msg, flags, seq)
        return self.gnd.last_tx_seq

    def step(self):
        now = self.clock.advance(1)
        self.up_budget = min(self.up_budget + LINE_BYTES_PER_MS, _BUDGET_CAP)
        n = min(int(self.up_budget), len(self.up))
        if n:
            self.dev.feed(bytes(self.up[:n]))
            del self.up[:n]
            self.up_budget -= n
        self.dev.step(now)
        self.down_budget = min(self.down_budget + LINE_BYTES_PER_MS, _BUDGET_CAP)
        n = min(int(self.down_budget), self.dev.output_waiting())
        if not n:
            return []
        data = self.dev.read_output(n)  # dropped bytes took their line time too
        self.down_budget -= n
        out = []
        pos = 0
        while pos < len(data):
            pos += self.gnd.receive_data(data, -1, pos)
            while (f := self.gnd.next_event()) is not None:
                self.frame_received(now)
                with contextlib.suppress(RemoteProtocolError):
                    out.append(M.decode(f))
        return out

    def frame_received(self, now_ms):
        pass

    def run(self, ms):
        got = []
        for _ in range(ms):
            got += self.step()
        return got

    def close(self):
        self.dev.close()
