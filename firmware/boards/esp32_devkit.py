"""ESP32 DevKit (ESP32-WROOM-32, DevKitC layout) two-channel pad box: the pin map and circuit constants.

The same keys, with the same meanings, as firmware/boards/pico_2ch.py, so the
same firmware runs on it; "hal" names firmware/hal/esp32.py, and one key more,
"continuity_gain", describes the sense amplifier this chip's ADC needs (below).

GPIO numbers are the ESP32's GPIOn numbers. Left alone on purpose: GPIO 0, 2,
5, 12 and 15 are strapping pins read at reset (2 is used only as the LED, an
output after boot, and 0 only as the maintenance button, an input); 6 to 11
are the module's SPI flash; 1 and 3 are UART0, the USB-to-serial bridge and
the REPL (and toggle at boot); 14 and 15 output signals during boot. 34, 35,
36 (VP) and 39 (VN) are input only and have no internal pull-up or pull-down,
so they are used only as analogue inputs.

The ADC. Only ADC1 (GPIO 32 to 39) is used: ADC2 is unavailable while Wi-Fi
runs. At 11 dB attenuation Espressif specifies the ESP32's ADC from 150 mV to
2450 mV; below about 150 mV it reads 0 whatever the input, and above 2450 mV it
bends and then saturates (somewhere near 3.1 V, chip to chip). The HAL reads
`ADC.read_uv()`, which applies the chip's eFuse calibration (the raw
`read_u16()` can be some 6 % off from one chip to the next), and treats
everything outside 150..2450 mV as beyond the scale: below it 0, above it full
scale. Every voltage the firmware cares about is therefore placed inside that
window, which is why the continuity node is amplified (see "continuity_gain").
"""

BOARD = {
    # Identifies the pin map in STATUS replies and logs.
    "name": "esp32-devkit",
    # The HAL module that drives this board (firmware/main.py picks it): firmware/hal/esp32.py.
    "hal": "esp32",
    # Number of fire channels; every per-channel tuple below has this many entries.
    "channels": 2,
    # Gate drive of each channel's firing switch (channel 0 first). GPIO 25 and
    # 26 are no strapping pins and stay quiet through reset and boot (inputs,
    # nothing driven), and each gate has an external 10k pull-down, so the
    # outputs are off while the chip is in reset, unpowered or booting; the HAL
    # drives these low before anything else.
    "fire_pins": (25, 26),
    # True: the pin high turns the firing switch on (logic-level N-MOSFET gate
    # driver). Off is therefore low, which is also where the pull-downs hold it.
    "fire_active_high": True,
    # Each channel's switched output, read back through the Pico board's PNP
    # level shifter (hardware/firing.md: low while the output is at most the 3V3
    # rail, high from about 5.3 V for this chip's 0.75 x VDD input threshold,
    # never above 3.3 V at the pin; its pull-down defines the level, no internal
    # pull): proves the output really is off (a welded relay, a shorted MOSFET)
    # and that it turned on. GPIO 32/33 are plain inputs here.
    "fire_readback_pins": (32, 33),
    # True: a readback pin reads high while its output is energised.
    "fire_readback_active_high": True,
    # Continuity sense of each channel, after its amplifier: GPIO 34 (ADC1
    # channel 6) for channel 0, GPIO 35 (ADC1 channel 7) for channel 1; input
    # only, which is all they need. The amplifier's input is the sense node,
    # between the sense resistor and the igniter; each op-amp input has a 10k
    # series resistor and a clamp diode to 3V3, so the firing voltage never
    # reaches it (the op-amp's input current is picoamps: no error from the 10k).
    "continuity_adc_pins": (34, 35),
    # Firing battery through a divider on GPIO 36 (VP, ADC1 channel 0): shows a
    # flat battery at the pad.
    "battery_adc_pin": 36,
    # 100k over 10k: battery volts = ADC volts * 11.0. A 12 V battery sits at
    # 1.09 V, mid-window; the calibrated window 150..2450 mV covers 1.7 V to
    # 27 V of battery (a 3S or 4S LiPo, a 12 V or 24 V lead-acid); below 1.7 V
    # it reads 0 (no battery, which is what it is).
    "battery_divider_ratio": 11.0,
    # What adc_full_scale stands for on the continuity scale, in millivolts: the
    # HAL converts calibrated millivolts to read_u16()-style counts of the 3V3
    # rail (the sense supply), so the continuity arithmetic is the Pico's.
    "adc_vref_mv": 3300,
    # Full scale of continuity_raw(): 65535, as read_u16() would give at the sense supply.
    "adc_full_scale": 65535,
    # The physical arm key's two contacts, each switching its GPIO to ground with
    # the internal pull-up on (about 45k on the ESP32: fine for a key on a short
    # lead; fit 10k to 3V3 as well for a lead longer than a metre). GPIO 18/19
    # have pull-ups and are no strapping pins. "no" is the normally-open contact
    # (closed, reads 0, when the key is ON); "nc" the normally-closed one (open,
    # reads 1, when ON). Both reading the same is KEY_INCONSISTENT, never ON.
    "arm_key_pins": {"no": 18, "nc": 19},
    # Active buzzer through an NPN transistor (pin high = sound): armed/countdown
    # warning. GPIO 27 is quiet at boot, so the buzzer does not chirp on reset.
    "buzzer_pin": 27,
    # Status LED, active high: the blue LED on GPIO 2 of the common "ESP32 DevKit
    # V1" boards (the DevKitC has none: fit one with 1k to GND). GPIO 2 is a
    # strapping pin that must be low or floating to enter the serial bootloader;
    # an LED to GND only pulls it low, and the HAL drives it only after boot.
    "led_pin": 2,
    # The button that ends the app for the REPL without the ground station or the
    # device key: the DevKit's BOOT button on GPIO 0 (to GND, with a 10k pull-up on the
    # DevKit), held 3 s on a SAFE pad with no flight logging. Only read, never driven:
    # GPIO 0 is a strapping pin, and held through reset it starts the serial bootloader.
    "maintenance_button": 0,
    # I2C0 for the barometer on the DevKit's usual SDA/SCL pins, GPIO 21/22, 400
    # kHz fast mode, with 4.7k pull-ups to 3V3 on the board.
    "i2c": {"id": 0, "sda": 21, "scl": 22, "freq": 400000},
    # The barometer on that bus, as on the Pico board: "chip" picks the driver
    # ("bmp280", "bmp388", "ms5611", or None for none), "address" is 0x76 with a
    # BMP's SDO pin to GND (an MS5611: 0x77 with CSB low, 0x76 with it high).
    "barometer": {"chip": "bmp280", "address": 0x76},
    # UART2 to a radio modem: GPIO 17 TX to the modem's RX, GPIO 16 RX from the
    # modem's TX, 115200 8N1 like the USB link. (On a WROVER module 16/17 are
    # its PSRAM: this board file is for the WROOM-32.)
    "uart": {"id": 2, "tx": 17, "rx": 16, "baud": 115200},
    # Continuity sense supply: the DevKit's 3V3 rail. Unlike the Pico's the
    # ESP32's ADC has an internal reference, so the estimate carries the rail's
    # tolerance (1 to 2 % for the usual AMS1117 regulator), a 2 % error in ohms.
    "sense_supply_mv": 3300,
    # Sense resistor from the sense supply to each channel's sense node: a dead
    # short draws at most 3.3 V / 330 ohm = 10 mA, far below igniter no-fire
    # currents, the same as the Pico board.
    "sense_resistor_ohm": 330,
    # Schottky (1N5819) in series with each sense resistor: while an output is on, the
    # sense node is at battery voltage, and the diode keeps that out of the 3V3 rail
    # (hardware/continuity.md). Its drop at the ~9 mA sense current, which the HAL takes
    # off the sense supply so a 1 ohm igniter reads 1 ohm (its spread, about +-50 mV with
    # current and temperature, is a 1.7 % error in ohms).
    "sense_diode_mv": 300,
    # Voltage gain from the sense node to the ADC pin: one half of an MCP6V02
    # (dual, zero-drift: 2 uV offset, rail-to-rail) per channel as a
    # non-inverting amplifier, 1 + 49.9k / 1.02k = 49.9 (within 0.2 % of 50). At 10 mA an igniter
    # gives only about 9 mV per ohm (past the sense diode), inside the ADC's dead
    # zone; times 50, the window 150..2450 mV is a node of 3.0..49 mV, igniters
    # of 0.33 to 5.48 ohm: 1 ohm is 453 mV at the pin. Below 0.33 ohm (about
    # the firmware's SHORT boundary) the HAL reads 0, so a dead short is SHORT;
    # above 5.48 ohm it reads full scale, so a channel of more than about 5 ohm
    # reads OPEN on this board (the Pico's reach is 100..200 ohm).
    "continuity_gain": 50,
    # Folder on the board's flash filesystem for the flight log and settings.
    "storage_path": "/data",
}
