"""The hardware seam: what the firmware needs from a board, and nothing more.

A HAL is any object with the methods below (duck-typed: MicroPython has no
abc). `firmware/hal/pico.py` implements it on the Raspberry Pi Pico's
`machine` module; `ground/sim/` implements it on simulated hardware; the
tests use an in-memory fake that records every output edge with its time.

Safety contract, whatever the implementation:
- Constructing the HAL drives every fire output low before anything else.
- `fire(channel, on)` is the only way an output turns on; the controller
  calls it, nothing else does.
- No method blocks: serial reads return what is there, now.

Methods (units in the names):

    channels                        number of fire channels (int attribute)
    fire(channel, on)               drive fire output `channel` (0-based) on or off
    fire_readback(channel) -> bool  the output's actual level, read back from the pin/driver
    continuity_raw(channel) -> int  continuity sense ADC reading, 0..65535 (read_u16 scale)
    arm_key() -> int                KEY_OFF, KEY_ON, or KEY_INCONSISTENT (the two contacts disagree)
    battery_mv() -> int             firing battery voltage, millivolts
    buzzer(on), led(on)             indicators
    pressure_pa() -> int            barometer, pascals (-1 if no barometer)
    serial_read_into(buf) -> int    bytes read into buf (0 if none waiting); never blocks
    serial_write(buf, n) -> int     write buf[0:n]; returns bytes accepted (may be fewer)
    serial_is_wired() -> bool       True for USB/cable, False for a radio link (SET_KEY needs wired)
    ticks_ms() -> int               monotonic milliseconds, wrapping like time.ticks_ms()
    entropy_into(buf)               fill buf with unpredictable bytes (os.urandom)
    storage_path -> str             folder for the flight log and settings
    sense_supply_mv -> int          continuity sense supply (board file)
    sense_resistor_ohm -> int       continuity sense resistor (board file)
    adc_full_scale -> int           ADC reading at the sense supply (65535 for read_u16)
    board_name -> str               short board name for DEVICE_INFO (at most 16 ASCII bytes)
    device_id -> bytes              8 bytes unique to this board, for DEVICE_INFO
    maintenance_button() -> bool    optional: True while the board's maintenance button is held
                                    (BOOTSEL, BOOT); held 3 s on a SAFE pad it ends the app as
                                    MAINTENANCE does. A HAL without it has no button.

Continuity circuit parameters come from the board file (`sense_supply_mv`,
`sense_resistor_ohm`, `adc_full_scale`) so the resistance arithmetic in
firmware/continuity.py matches the hardware in hardware/.
"""

KEY_OFF = 0
KEY_ON = 1
KEY_INCONSISTENT = 2  # the key's two contacts disagree: treated as a fault


def all_outputs_off(hal):
    """Drive every fire output low. Safe to call at any time, from any state."""
    for ch in range(hal.channels):
        hal.fire(ch, False)
