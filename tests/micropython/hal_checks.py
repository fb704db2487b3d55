"""Checks every board HAL (firmware/hal/pico.py, firmware/hal/esp32.py) must pass the same way,
on fake_machine.py: test_pico_hal.py and test_esp32_hal.py call them with their own HAL and board."""

import os

import fake_machine
from mptest import IS_MICROPYTHON, no_alloc


def fire_readback(hal, readback_pins):
    """Each channel reads its own readback pin: high is on, low (the shifter idle) is off."""
    assert hal.fire_readback(0) is False and hal.fire_readback(1) is False
    fake_machine.set_input(readback_pins[0], 1)
    assert hal.fire_readback(0) is True and hal.fire_readback(1) is False
    fake_machine.set_input(readback_pins[0], 0)
    fake_machine.set_input(readback_pins[1], 1)
    assert hal.fire_readback(0) is False and hal.fire_readback(1) is True


def close_releases_the_uart_with_outputs_off(hal, fire_pin, uart_id):
    hal.fire(0, True)
    hal.close()
    assert fake_machine.latch(fire_pin) == 0
    assert fake_machine.uarts[uart_id].closed


def entropy_differs_between_calls(hal):
    if not hasattr(os, "urandom"):
        return  # the webassembly port has no os.urandom; the board ports do
    buf = bytearray(16)
    other = bytearray(16)
    hal.entropy_into(buf)
    hal.entropy_into(other)
    assert buf != other


def ticks_ms_allocates_nothing(hal):
    if not IS_MICROPYTHON:
        return  # time.ticks_ms is MicroPython's
    t = no_alloc(hal.ticks_ms)
    assert isinstance(t, int) and t >= 0
