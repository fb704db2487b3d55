"""The simulated board in tests: its id, and a flight the real firmware logged as the board
flew a bundled motor's sample rocket."""

import contextlib

from ground.sim.device import ManualClock, SimDevice
from protocol import ROLE_GROUND, Connection, RemoteProtocolError
from protocol import messages as M


def device_id(seed):
    """The board id the simulator gives a seed (downloaded files' names carry it)."""
    dev = SimDevice(seed=seed)
    try:
        return dev.hal.device_id
    finally:
        dev.close()


def fly(tmp_path, motor, seed=1):
    """The simulated board (the real firmware on SimHal) flies `motor`; returns (the .cwf's
    path, the trajectory it flew)."""
    clock = ManualClock(1000)
    dev = SimDevice(clock=clock, rocket=motor, seed=seed, storage_dir=str(tmp_path))
    gnd = Connection(ROLE_GROUND)
    got = []

    def run(ms, step_ms=1):
        for _ in range(ms // step_ms):
            dev.step(clock.advance(step_ms))
            data = dev.read_output()
            pos = 0
            while pos < len(data):
                pos += gnd.receive_data(data, -1, pos)
                while (frame := gnd.next_event()) is not None:
                    with contextlib.suppress(RemoteProtocolError):
                        got.append(M.decode(frame))

    try:
        run(600)
        dev.feed(gnd.send(M.Arm(1, 0)))
        seq = gnd.last_tx_seq
        run(30)
        ack = next(m for m in got if getattr(m, "re_seq", None) == seq)
        for _ in range(3):
            dev.feed(gnd.send(M.Fire.for_channels(ack.token, 1)))
            run(100)
        truth = dev.hal.flight.result
        run(int(truth.landing_time_s * 1000) + 15000, step_ms=5)
    finally:
        dev.close()
    return tmp_path / "flights" / "0000.cwf", truth


def fly_with_rocket_file(folder, motor, rocket):
    """fly() `motor` into `folder`, and beside the log a rocket file (`rocket`, a dict in
    ground/trajectory/spec.py's format) describing the rocket; returns both paths as str."""
    import json

    path, _truth = fly(folder, motor)
    rocket_path = folder / ("%s.json" % motor.lower())
    rocket_path.write_text(json.dumps(rocket))
    return str(path), str(rocket_path)
