"""Boot: fire outputs off, build the board HAL and the app, run it.

Importing firmware.hal.pico drives every fire pin low before anything else.
If the app cannot be imported, or it ever stops, the outputs are driven off and
the LED blinks an error code forever (2 flashes: no app; 3: the app ended).
"""

from firmware.boards.pico_2ch import BOARD
from firmware.hal.pico import BLINK_APP_ENDED, BLINK_NO_APP, PicoHal

hal = PicoHal(BOARD)
try:
    from firmware.app import App
    from firmware.keystore import KeyStore
except Exception as exc:
    hal.halt(BLINK_NO_APP, exc)
try:
    run = App(hal, KeyStore(hal.storage_path)).run()
    if run is not None:  # an async run(): drive the coroutine with asyncio
        import asyncio

        asyncio.run(run)
except BaseException as exc:  # whatever ends the app (even Ctrl-C), outputs go off
    hal.halt(BLINK_APP_ENDED, exc)
hal.halt(BLINK_APP_ENDED)
