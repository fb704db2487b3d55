"""Runs the MicroPython protocol test modules under CPython too.

tests/micropython/test_protocol_*.py are written to run unchanged on both
interpreters; test_micropython.py runs them on MicroPython, this runs the same
functions here, so the two implementations of each primitive are held to
the same expectations.
"""

import importlib
import pathlib
import sys

import pytest

MP_DIR = pathlib.Path(__file__).parent / "micropython"
sys.path.insert(0, str(MP_DIR))

SHARED = ("test_protocol_*.py", "test_controller*.py", "test_app*.py", "test_pico_hal.py", "test_esp32_hal.py", "test_flightlog.py", "test_baro.py", "test_altimeter.py", "test_bmp280.py", "test_bmp388.py", "test_ms5611.py", "test_recorder.py")
MODULES = sorted(p.stem for pattern in SHARED for p in MP_DIR.glob(pattern))


def _cases():
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in dir(module):
            if attr.startswith("test_") and callable(getattr(module, attr)):
                yield pytest.param(module, attr, id="%s::%s" % (name, attr))


@pytest.mark.parametrize(("module", "name"), list(_cases()))
def test_shared_protocol_case(module, name):
    getattr(module, name)()
