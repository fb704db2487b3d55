"""The active board file: the one `coalwood flash` put on this board, else the Pico's.

`coalwood flash` writes a copy of the chosen firmware/boards/*.py at the root of
the board's filesystem as /board.py, so a board carries its own pin map. Without
one (a development checkout, the tests, an older flash) the two-channel Pico
board file is the default. BOARD["hal"] names the HAL that drives it: "pico" or
"esp32" (absent means "pico").
"""

try:
    from board import BOARD  # the board file at the filesystem root
except ImportError:
    from firmware.boards.pico_2ch import BOARD  # noqa: F401 (re-exported)
