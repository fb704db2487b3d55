"""The app's asyncio loop runs the same step the tests drive by hand."""

import asyncio
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent / "micropython"))

from fake_hal import FakeHal

from firmware.app import App
from protocol import ROLE_GROUND, Connection
from protocol import constants as C
from protocol import messages as M


class ClockedHal(FakeHal):
    """The fake HAL with a clock that moves one millisecond per read, like a board's."""

    def ticks_ms(self):
        self.now += 1
        return self.now


def test_run_loop_heartbeats_and_answers():
    hal = ClockedHal()
    app = App(hal)
    asyncio.run(app.run(max_steps=700))
    gnd = Connection(ROLE_GROUND)
    gnd.receive_data(hal.take_output())
    frames = []
    while (f := gnd.next_event()) is not None:
        frames.append(M.decode(f))
    assert any(isinstance(m, M.Heartbeat) for m in frames)
    hal.inject(gnd.send(M.GetDeviceInfo()))
    asyncio.run(app.run(max_steps=5))
    gnd.receive_data(hal.take_output())
    replies = []
    while (f := gnd.next_event()) is not None:
        replies.append(M.decode(f))
    info = [m for m in replies if isinstance(m, M.DeviceInfo)]
    assert info and info[0].protocol_version == C.PROTOCOL_VERSION
