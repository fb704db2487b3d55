"""Suite-wide settings: no display, deterministic runs."""

import os

# Qt widgets are real but drawn offscreen: CI has no display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
