"""Suite-wide settings: no display, deterministic runs."""

import os

# Qt widgets are real but drawn offscreen: CI has no display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Modules in tests/micropython/ run under MicroPython through test_micropython.py
# (and the protocol ones under CPython through test_protocol_shared.py), not directly.
collect_ignore_glob = ["micropython/*"]
