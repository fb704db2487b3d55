# ruff: noqa: F821 -- include() and package() are given by MicroPython's manifest runner
# Freezes Coalwood's firmware/ and protocol/ packages into a MicroPython firmware image.
#
# Frozen, their bytecode, constants and interned names live in the firmware's flash: the
# heap after boot is about 41 KiB instead of about 93 KiB as .mpy files (python
# tests/bench/firmware_footprint.py; the frozen figure is estimated there, see
# ground/footprint.py). Build from a MicroPython v1.29.0 checkout (README.md beside this
# file), e.g. for a Pico:
#
#     make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/coalwood/hardware/micropython/manifest.py
#
# Relative paths here are relative to this file: the project root is two folders up.

# the port's own frozen modules (rp2's asyncio, onewire, ... or the ESP32's)
include("$(PORT_DIR)/boards/manifest.py")

package("protocol", base_path="../..")
package("firmware", base_path="../..")
