"""The simulated pad box: the real firmware on simulated hardware (CPython only).

- `igniter`: igniter electrical models and their presets
- `hal`: SimHal, the firmware HAL on simulated hardware (igniters, arm key, battery, port)
- `device`: SimDevice, the firmware App on SimHal, with the control side-channel
- `pty_server`: the device on a pseudo-terminal (`coalwood sim`, `python -m ground.sim.pty_server`)
- `urlhandler`: the `sim://` URL for pyserial's serial_for_url, the device in-process

Importing this package registers `sim://` with pyserial.
"""

import serial

if "ground.sim.urlhandler" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("ground.sim.urlhandler")
