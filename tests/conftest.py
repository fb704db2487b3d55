"""Suite-wide settings: no display, deterministic runs."""

import os

import pytest

# Qt widgets are real but drawn offscreen: CI has no display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Modules in tests/micropython/ run under MicroPython through test_micropython.py
# (and the protocol ones under CPython through test_protocol_shared.py), not directly.
collect_ignore_glob = ["micropython/*"]


@pytest.fixture(autouse=True)
def _no_user_flight_library(tmp_path, monkeypatch):
    """Downloads add to the flight library: in tests it is a temporary one, never the user's."""
    monkeypatch.setenv("COALWOOD_LIBRARY", str(tmp_path / "flight-library"))
    # and the window's settings (layout, last port) are a temporary file, never the user's
    monkeypatch.setenv("COALWOOD_SETTINGS", str(tmp_path / "coalwood-settings.ini"))
    # and the keys the ground station holds for keyed devices (coalwood key) are a temporary file
    monkeypatch.setenv("COALWOOD_KEYS", str(tmp_path / "coalwood-keys.json"))
