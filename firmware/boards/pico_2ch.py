"""Raspberry Pi Pico (RP2040) two-channel pad box: the pin map and circuit constants.

This dict is the one source of truth for the wiring: firmware/hal/pico.py reads
it on the board, and hardware/boards/README.md is checked against it by
tests/test_hardware_docs.py. Change a pin here and the doc test tells you to
update the page.

GPIO numbers are the RP2040's GPn numbers, not the Pico's physical pin numbers.
GP23 (regulator power-save), GP24 (VBUS sense) and GP29 (VSYS/3) are wired
inside the Pico and are not used; GP25 is the onboard LED and is used only as
the LED.
"""

BOARD = {
    # Identifies the pin map in STATUS replies and logs.
    "name": "pico-2ch",
    # The HAL module that drives this board (firmware/main.py picks it): firmware/hal/pico.py.
    "hal": "pico",
    # Number of fire channels; every per-channel tuple below has this many entries.
    "channels": 2,
    # Gate drive of each channel's firing switch (channel 0 first). At reset the
    # RP2040 leaves GPIOs as inputs with their pull-downs on, and the board adds
    # an external 10k pull-down on each gate, so the outputs are off while the
    # chip is in reset or unpowered; the HAL drives these low before anything else.
    "fire_pins": (16, 17),
    # True: the pin high turns the firing switch on (logic-level N-MOSFET gate
    # driver). Off is therefore low, which is also where the pull-downs hold it.
    "fire_active_high": True,
    # Each channel's switched output, read back through a PNP level shifter
    # referred to the 3V3 rail (hardware/firing.md): low while the output is at
    # most the rail, high from about 5.1 V, never above 3.3 V at the pin however
    # high the battery (2S empty to 4S full). Proves the output really is off
    # (catches a welded relay or a shorted MOSFET) and that it turned on.
    "fire_readback_pins": (18, 19),
    # True: a readback pin reads high while its output is energised.
    "fire_readback_active_high": True,
    # Continuity sense node of each channel: ADC0 (GP26) for channel 0, ADC1
    # (GP27) for channel 1. The node sits between the sense resistor and the
    # igniter, so its voltage gives the igniter's resistance.
    "continuity_adc_pins": (26, 27),
    # Firing battery through a divider on ADC2 (GP28): shows a flat battery at the pad.
    "battery_adc_pin": 28,
    # 100k over 10k: battery volts = ADC volts * 11.0, so up to 36 V fits the 3.3 V ADC.
    "battery_divider_ratio": 11.0,
    # ADC reference: the Pico's 3V3 rail feeds ADC_VREF, in millivolts.
    "adc_vref_mv": 3300,
    # ADC.read_u16() full scale (MicroPython scales the 12-bit RP2040 ADC to 16 bits).
    "adc_full_scale": 65535,
    # The physical arm key's two contacts, each switching its GPIO to ground with
    # the internal pull-up on. "no" is the normally-open contact (closed, reads 0,
    # when the key is ON); "nc" is the normally-closed one (open, reads 1, when ON).
    # Two contacts that must disagree catch a broken wire or an unplugged key:
    # both reading the same is KEY_INCONSISTENT, never ON.
    "arm_key_pins": {"no": 14, "nc": 15},
    # Active buzzer through an NPN transistor (pin high = sound): armed/countdown warning.
    "buzzer_pin": 22,
    # The Pico's onboard LED (GP25, active high): status and boot error codes.
    "led_pin": 25,
    # The button that ends the app for the REPL without the ground station or the
    # device key: the Pico's BOOTSEL button (no GPIO; read with rp2.bootsel_button()),
    # held 3 s on a SAFE pad with no flight logging. Held while plugging in, it starts
    # the RP2040's USB bootloader instead.
    "maintenance_button": "bootsel",
    # I2C0 for the barometer, 400 kHz fast mode; GP4/GP5 are I2C0's SDA/SCL pair
    # and have 4.7k pull-ups to 3V3 on the board.
    "i2c": {"id": 0, "sda": 4, "scl": 5, "freq": 400000},
    # The barometer on that bus: "chip" picks the driver the HAL loads on first
    # use ("bmp280", "bmp388" or "ms5611"; None for a box without one, which then
    # reports -1 Pa), "address" is 0x76 with a BMP's SDO pin to GND (0x77 with it
    # high; an MS5611 is 0x77 with CSB low, 0x76 with it high). Named rather than detected: the driver checks the chip id, so a
    # missing or different sensor reads as no barometer instead of being guessed at.
    "barometer": {"chip": "bmp280", "address": 0x76},
    # UART0 to a radio modem (pad box to launch control): GP0 TX to the modem's
    # RX, GP1 RX from the modem's TX, 115200 8N1 like the USB link.
    "uart": {"id": 0, "tx": 0, "rx": 1, "baud": 115200},
    # Continuity sense supply: the same 3V3 rail as the ADC reference, so the
    # resistance estimate is ratiometric (independent of the rail's tolerance).
    "sense_supply_mv": 3300,
    # Sense resistor from the sense supply to each channel's sense node: a dead
    # short draws at most 3.3 V / 330 ohm = 10 mA, far below igniter no-fire
    # currents (hardware/boards/README.md has the arithmetic).
    "sense_resistor_ohm": 330,
    # Schottky (1N5819) in series with each sense resistor: while an output is on, the
    # sense node is at battery voltage, and the diode keeps that out of the 3V3 rail
    # (hardware/continuity.md). Its drop at the ~9 mA sense current, which the HAL takes
    # off the sense supply so a 1 ohm igniter reads 1 ohm (its spread, about +-50 mV with
    # current and temperature, is a 1.7 % error in ohms).
    "sense_diode_mv": 300,
    # Folder on the board's flash filesystem for the flight log and settings.
    "storage_path": "/data",
}
