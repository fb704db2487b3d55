"""Boot: fire outputs off, build the board HAL and the app, run it.

The active board file (firmware/board.py) names its HAL. Importing that HAL
module drives every fire pin low before anything else touches a pin; the
ESP32's module is imported only on an ESP32 board, so a Pico never loads it.
If the app cannot be imported, or it ever stops, the outputs are driven off and
the LED blinks an error code forever (2 flashes: no app; 3: the app ended).
A MAINTENANCE command (PROTOCOL.md) ends the app on purpose: outputs off,
Ctrl-C back, and this file returns, so the USB port is the REPL again. So does
the board's maintenance button, for a user without the ground station or the
device key: BOOTSEL on the Pico, BOOT (GPIO 0) on the ESP32 DevKit, held 3 s
while the pad is SAFE and no flight is being logged (ignored otherwise; the LED
lights when it takes). Held while powering up, either button starts the chip's
own bootloader instead.
"""

from firmware.board import BOARD

if BOARD.get("hal", "pico") == "esp32":
    from firmware.hal import esp32 as hal_module

    hal = hal_module.Esp32Hal(BOARD)
else:
    from firmware.hal import pico as hal_module

    hal = hal_module.PicoHal(BOARD)
try:
    from firmware.app import App
    from firmware.keystore import KeyStore
except Exception as exc:
    hal.halt(hal_module.BLINK_NO_APP, exc)
try:
    app = App(hal, KeyStore(hal.storage_path))
    run = app.run()
    if run is not None:  # an async run(): drive the coroutine with asyncio
        import asyncio

        asyncio.run(run)
except BaseException as exc:  # whatever ends the app (even Ctrl-C), outputs go off
    hal.halt(hal_module.BLINK_APP_ENDED, exc)
if not app.maintenance:
    hal.halt(hal_module.BLINK_APP_ENDED)
hal.stop()  # outputs off, Ctrl-C back: the REPL has the port from here
