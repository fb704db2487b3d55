"""hardware/boards/README.md stays true to the board file the firmware reads.

The pin table and the continuity sense numbers are regenerated here from
firmware/boards/pico_2ch.py and must appear in the README verbatim. After
changing the board file, print the fresh text with

    python tests/test_hardware_docs.py

and paste it into hardware/boards/README.md.
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "hardware" / "boards" / "README.md"

if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from firmware.boards.pico_2ch import BOARD  # noqa: E402

# GPIOs the Pico wires internally: 23 regulator power-save, 24 VBUS sense,
# 25 the onboard LED (allowed only as led_pin), 29 VSYS/3.
PICO_INTERNAL = {23, 24, 25, 29}
ADC_GPIOS = {26: 0, 27: 1, 28: 2}  # the ADC inputs on the Pico's header

# RP2040 pin functions (datasheet, GPIO function table).
UART_TX = {0: {0, 12, 16, 28}, 1: {4, 8, 20, 24}}
UART_RX = {0: {1, 13, 17, 29}, 1: {5, 9, 21, 25}}

# Igniters to show the sense current for: (label, resistance in ohms).
IGNITERS = (
    ("dead short", 0.0),
    ("Estes-type starter", 0.8),
    ("e-match", 1.0),
    ("high resistance", 50.0),
)
ADC_BITS = 12  # the RP2040's converter; read_u16() scales it to 16 bits


def pin_uses(board):
    """(gpio, board key, what it is wired to) for every pin the board file names."""
    level = "high" if board["fire_active_high"] else "low"
    uses = []
    for ch, gpio in enumerate(board["fire_pins"]):
        uses.append((gpio, "fire_pins[%d]" % ch, "fire output, channel %d (%s = on)" % (ch, level)))
    for ch, gpio in enumerate(board["fire_readback_pins"]):
        uses.append(
            (
                gpio,
                "fire_readback_pins[%d]" % ch,
                "readback of channel %d's output, via a divider" % ch,
            )
        )
    for ch, gpio in enumerate(board["continuity_adc_pins"]):
        uses.append(
            (
                gpio,
                "continuity_adc_pins[%d]" % ch,
                "continuity sense node, channel %d (ADC%d)" % (ch, ADC_GPIOS[gpio]),
            )
        )
    gpio = board["battery_adc_pin"]
    uses.append(
        (
            gpio,
            "battery_adc_pin",
            "firing battery via the %g:1 divider (ADC%d)"
            % (board["battery_divider_ratio"], ADC_GPIOS[gpio]),
        )
    )
    key = board["arm_key_pins"]
    uses.append(
        (key["no"], 'arm_key_pins["no"]', "arm key, normally-open contact to GND (pull-up)")
    )
    uses.append(
        (key["nc"], 'arm_key_pins["nc"]', "arm key, normally-closed contact to GND (pull-up)")
    )
    uses.append((board["buzzer_pin"], "buzzer_pin", "buzzer driver (high = sound)"))
    uses.append((board["led_pin"], "led_pin", "onboard LED"))
    i2c = board["i2c"]
    uses.append((i2c["sda"], 'i2c["sda"]', "I2C%d SDA to the barometer" % i2c["id"]))
    uses.append((i2c["scl"], 'i2c["scl"]', "I2C%d SCL to the barometer" % i2c["id"]))
    uart = board["uart"]
    uses.append((uart["tx"], 'uart["tx"]', "UART%d TX to the radio modem's RX" % uart["id"]))
    uses.append((uart["rx"], 'uart["rx"]', "UART%d RX from the radio modem's TX" % uart["id"]))
    return sorted(uses)


def pin_table(board):
    lines = ["| GPIO | board key | wired to |", "|---|---|---|"]
    for gpio, key, what in pin_uses(board):
        lines.append("| GP%d | `%s` | %s |" % (gpio, key, what))
    return "\n".join(lines)


def sense_rows(board):
    """(label, ohms, mA, node mV, read_u16 count) per igniter in IGNITERS."""
    supply = board["sense_supply_mv"]
    r_sense = board["sense_resistor_ohm"]
    full = board["adc_full_scale"]
    rows = []
    for label, ohms in IGNITERS:
        ma = supply / (r_sense + ohms)
        node_mv = supply * ohms / (r_sense + ohms)
        count = round(full * node_mv / board["adc_vref_mv"])
        rows.append((label, ohms, ma, node_mv, count))
    return rows


def sense_table(board):
    lines = [
        "| igniter | resistance | sense current | sense node | `read_u16()` |",
        "|---|---|---|---|---|",
    ]
    for label, ohms, ma, node_mv, count in sense_rows(board):
        lines.append("| %s | %g Ω | %.2f mA | %.2f mV | %d |" % (label, ohms, ma, node_mv, count))
    return "\n".join(lines)


def one_ohm_figures(board):
    """The ADC figures the README quotes for a 1 ohm igniter, as the strings it uses."""
    supply = board["sense_supply_mv"]
    r_sense = board["sense_resistor_ohm"]
    node_mv = supply * 1.0 / (r_sense + 1.0)
    step_mv = board["adc_vref_mv"] / (1 << ADC_BITS)
    steps = node_mv / step_mv
    # R = R_sense * V / (supply - V), so dR/dV = R_sense * supply / (supply - V)**2.
    ohm_per_step = r_sense * supply * step_mv / (supply - node_mv) ** 2
    return {
        "node": "%.2f mV" % node_mv,
        "step": "%.3f mV" % step_mv,
        "steps": "%.1f steps" % steps,
        "ohm_per_step": "%.3f Ω" % ohm_per_step,
        "short": "%.1f mA" % (supply / r_sense),
        "power": "%.2f mW" % ((supply / (r_sense + 1.0)) ** 2 * 1.0 / 1000.0),
    }


def _readme():
    return README.read_text(encoding="utf-8")


# --- the board file itself -------------------------------------------------------------------


def test_board_channels_are_consistent():
    n = BOARD["channels"]
    for key in ("fire_pins", "fire_readback_pins", "continuity_adc_pins"):
        assert len(BOARD[key]) == n, key


def test_board_gpios_do_not_conflict():
    gpios = [gpio for gpio, _, _ in pin_uses(BOARD)]
    assert len(gpios) == len(set(gpios)), sorted(gpios)
    for gpio, key, _ in pin_uses(BOARD):
        assert 0 <= gpio <= 29, key
        if gpio in PICO_INTERNAL:
            assert (gpio, key) == (25, "led_pin"), "GP%d is wired inside the Pico (%s)" % (
                gpio,
                key,
            )


def test_board_analogue_and_bus_pins_have_those_functions():
    for gpio in (*BOARD["continuity_adc_pins"], BOARD["battery_adc_pin"]):
        assert gpio in ADC_GPIOS, gpio
    i2c = BOARD["i2c"]
    # I2C0 SDA/SCL sit on GPIOs 0/1 mod 4, I2C1 on 2/3 mod 4.
    assert i2c["sda"] % 4 == 2 * i2c["id"], i2c
    assert i2c["scl"] % 4 == 2 * i2c["id"] + 1, i2c
    uart = BOARD["uart"]
    assert uart["tx"] in UART_TX[uart["id"]], uart
    assert uart["rx"] in UART_RX[uart["id"]], uart
    assert uart["baud"] == 115200


def test_sense_current_is_at_most_10_ma():
    worst = BOARD["sense_supply_mv"] / BOARD["sense_resistor_ohm"]
    assert worst <= 10.0, worst


# --- the README ------------------------------------------------------------------------------


def test_readme_names_the_board_file():
    assert "firmware/boards/pico_2ch.py" in _readme()


def test_readme_pin_table_matches_the_board_file():
    table = pin_table(BOARD)
    assert table in _readme(), "regenerate with: python tests/test_hardware_docs.py\n\n" + table


def test_readme_sense_table_matches_the_board_file():
    table = sense_table(BOARD)
    assert table in _readme(), "regenerate with: python tests/test_hardware_docs.py\n\n" + table


def test_readme_quotes_the_one_ohm_adc_figures():
    text = " ".join(_readme().split())  # prose may wrap anywhere
    missing = [s for s in one_ohm_figures(BOARD).values() if s not in text]
    assert not missing, missing
    assert "%d Ω" % BOARD["sense_resistor_ohm"] in text
    assert "check your igniter's datasheet" in text


if __name__ == "__main__":
    print(pin_table(BOARD))
    print()
    print(sense_table(BOARD))
    print()
    for name, value in one_ohm_figures(BOARD).items():
        print("%s: %s" % (name, value))


def test_readme_states_the_board_barometer():
    baro = BOARD["barometer"]
    text = '`{"chip": "%s", "address": 0x%02x}` on this board' % (baro["chip"], baro["address"])
    assert text in _readme(), text
    assert (ROOT / "firmware" / ("%s.py" % baro["chip"])).exists()  # a driver by that name
