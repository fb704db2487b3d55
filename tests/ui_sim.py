"""What the window's tests share when they drive the real simulated pad through a Connection."""

from protocol import constants as C


def wait_for_continuity(qtbot, conn, channel=0):
    """A device just started has not measured its channels yet (as the CLI's preflight):
    ask for STATUS, one question at a time, until `channel` shows CONNECTED."""
    seen = []
    asked = [0]
    conn.status.connect(seen.append)

    def connected():
        if len(seen) >= asked[0]:
            asked[0] += 1
            conn.request_status()
        return bool(seen) and seen[-1].channels[channel].continuity == C.CONT_CONNECTED

    try:
        qtbot.waitUntil(connected, timeout=3000)
    finally:
        conn.status.disconnect(seen.append)


def arm(qtbot, conn, mask=1):
    """ARM `mask` once channel 1 has continuity; asserts the device armed exactly that."""
    wait_for_continuity(qtbot, conn)
    with qtbot.waitSignal(conn.armed, timeout=3000) as blocker:
        conn.arm(mask)
    assert blocker.args == [mask]


def launch_and_speed_up(qtbot, conn, device, speed):
    """Arm, hold FIRE until the sample rocket's motor lights, release, and once the pad is
    SAFE again run the simulated clock `speed` times real time (sooner, the device's
    link-loss and arm timers would run fast too)."""
    arm(qtbot, conn)
    with qtbot.waitSignal(conn.fired, timeout=1000):
        conn.start_fire(1)
    qtbot.waitUntil(lambda: device.hal.flight_time_ms() is not None, timeout=3000)  # motor lit
    conn.stop_fire()
    qtbot.waitUntil(lambda: device.status_dict()["state"] == "SAFE", timeout=3000)
    device.clock.set_speed(speed)
