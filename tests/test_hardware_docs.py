"""hardware/ stays true to the board files, the firmware and the simulator.

Every number the hardware pages quote is regenerated here: the pin tables from each board
file in firmware/boards/ (the files the firmware reads on the board), the continuity figures
from those and firmware/continuity.py (its own arithmetic and thresholds), the firing
figures from the circuit values below, firmware/controller.py's pulse and cap and the
simulator's battery model (ground/sim/hal.py). Each generated block must appear in its page
verbatim, so changing a board file, a threshold or the simulator's battery fails this test
until the page says the same. After such a change, print the fresh text with

    python tests/test_hardware_docs.py

and paste each block into the page named above it. The wiring diagram must parse as XML
and name every pin it shows; the bill of materials must parse as CSV and hold every part
the pages name, with the values the arithmetic uses.
"""

import csv
import importlib
import inspect
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
HARDWARE = ROOT / "hardware"
BOARDS_DIR = ROOT / "firmware" / "boards"
BOARDS_README = HARDWARE / "boards" / "README.md"
CONTINUITY_MD = HARDWARE / "continuity.md"
FIRING_MD = HARDWARE / "firing.md"
BUILD_README = HARDWARE / "README.md"
WIRING_SVG = HARDWARE / "wiring-pico.svg"
BOM_CSV = HARDWARE / "bom.csv"

if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from firmware import continuity as cont  # noqa: E402
from firmware import controller  # noqa: E402
from ground.sim.hal import SimHal  # noqa: E402
from ground.sim.igniter import PRESETS, make_igniter  # noqa: E402


def board_files():
    """Every board file the firmware can be built with (the package's __init__ is not one)."""
    return sorted(p for p in BOARDS_DIR.glob("*.py") if p.name != "__init__.py")


def load_board(path):
    return importlib.import_module("firmware.boards." + path.stem).BOARD


BOARDS = [(p.stem, load_board(p)) for p in board_files()]
BOARD_IDS = [stem for stem, _ in BOARDS]
PICO = dict(BOARDS)["pico_2ch"]


def is_esp32(board):
    return board.get("hal") == "esp32"


# --- the circuit around the board file ---------------------------------------------------------
# Values the firmware never reads, so they live here and in hardware/bom.csv (checked below)
# rather than in the board file. Changing one changes the figures the pages must quote.
CIRCUIT = {
    # Series resistor from each sense node to its ADC pin, clamped by a BAT54S at the pin.
    "adc_series_ohm": 4700,
    "clamp_diode_mv": 300,
    # Readback divider from each output to its readback pin.
    "readback_top_ohm": 39000,
    "readback_bottom_ohm": 10000,
    # Battery divider to the battery ADC pin.
    "battery_top_ohm": 100000,
    "battery_bottom_ohm": 10000,
    # Logic-level N-MOSFET driver (AO3400A): gate resistor from the fire pin, pull-down.
    "driver_gate_ohm": 220,
    "driver_pulldown_ohm": 10000,
    "driver_vgs_th_max_mv": 1450,  # AO3400A datasheet maximum
    # High-side P-MOSFET (IRF4905): gate pull-up to its source, series resistor to the driver.
    "pfet_gate_pullup_ohm": 10000,
    "pfet_gate_series_ohm": 1000,
    "pfet_rds_on_mohm": 20,  # IRF4905 maximum at Vgs = -10 V
    "pfet_vgs_max_mv": 20000,
    # Blade fuse in the firing supply.
    "fuse_a": 15,
    # Firing battery the pages assume: a full 3S LiPo.
    "battery_full_mv": 12600,
    # Typical e-match no-fire current the margin is quoted against.
    "ematch_no_fire_ma": 300,
    # RP2040 input thresholds at IOVDD = 3.3 V (datasheet limits).
    "vil_max_mv": 800,
    "vih_min_mv": 2000,
}

# Igniters to show the sense current for: (label, resistance in ohms).
IGNITERS = (
    ("dead short", 0.0),
    ("Estes-type starter", 0.8),
    ("e-match / 1 Ω bench resistor", 1.0),
    ("high resistance", 50.0),
)
CLASS_NAMES = {cont.CONT_SHORT: "SHORT", cont.CONT_CONNECTED: "CONNECTED", cont.CONT_OPEN: "OPEN"}


def adc_bits(board):
    return 12  # the RP2040's and the ESP32's converters; read_u16() scales either to 16 bits


# --- pins ---------------------------------------------------------------------------------------

# Pico: GPIOs wired inside the board (23 regulator power-save, 24 VBUS sense, 25 the onboard
# LED, allowed only as led_pin, 29 VSYS/3), the ADC inputs on the header, and the RP2040's
# UART pin functions (datasheet, GPIO function table).
PICO_INTERNAL = {23, 24, 25, 29}
PICO_ADC = {26: "ADC0", 27: "ADC1", 28: "ADC2"}
UART_TX = {0: {0, 12, 16, 28}, 1: {4, 8, 20, 24}}
UART_RX = {0: {1, 13, 17, 29}, 1: {5, 9, 21, 25}}
# ESP32: ADC1's channels (ADC2 cannot be read while the radio is on), the input-only GPIOs
# and the pins the module's flash uses.
ESP32_ADC1 = {36: "ADC1_CH0", 37: "ADC1_CH1", 38: "ADC1_CH2", 39: "ADC1_CH3",
              32: "ADC1_CH4", 33: "ADC1_CH5", 34: "ADC1_CH6", 35: "ADC1_CH7"}
ESP32_INPUT_ONLY = {34, 35, 36, 37, 38, 39}
ESP32_FLASH = {6, 7, 8, 9, 10, 11}


def gpio_name(board, gpio):
    return ("GPIO%d" if is_esp32(board) else "GP%d") % gpio


def adc_name(board, gpio):
    return (ESP32_ADC1 if is_esp32(board) else PICO_ADC)[gpio]


def pin_uses(board):
    """(gpio, board key, what it is wired to) for every pin the board file names."""
    level = "high" if board["fire_active_high"] else "low"
    uses = []
    for ch, gpio in enumerate(board["fire_pins"]):
        uses.append((gpio, "fire_pins[%d]" % ch, "fire output, channel %d (%s = on)" % (ch, level)))
    for ch, gpio in enumerate(board["fire_readback_pins"]):
        uses.append((gpio, "fire_readback_pins[%d]" % ch,
                     "readback of channel %d's output, via a divider" % ch))
    for ch, gpio in enumerate(board["continuity_adc_pins"]):
        uses.append((gpio, "continuity_adc_pins[%d]" % ch,
                     "continuity sense node, channel %d (%s)" % (ch, adc_name(board, gpio))))
    gpio = board["battery_adc_pin"]
    uses.append((gpio, "battery_adc_pin", "firing battery via the %g:1 divider (%s)"
                 % (board["battery_divider_ratio"], adc_name(board, gpio))))
    key = board["arm_key_pins"]
    uses.append((key["no"], 'arm_key_pins["no"]', "arm key, normally-open contact to GND (pull-up)"))
    uses.append((key["nc"], 'arm_key_pins["nc"]', "arm key, normally-closed contact to GND (pull-up)"))
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
        lines.append("| %s | `%s` | %s |" % (gpio_name(board, gpio), key, what))
    return "\n".join(lines)


# --- continuity ---------------------------------------------------------------------------------


def sense_source_mv(board):
    """The sense path's supply after its blocking diode."""
    return board["sense_supply_mv"] - board["sense_diode_mv"]


# The ESP32's calibrated ADC window at 11 dB (firmware/hal/esp32.py): outside it the HAL
# reads 0 or full scale.
ESP32_WINDOW_MV = (150, 2450)


def continuity_raw(board, node_mv):
    """What the board's HAL returns from continuity_raw() for a sense node at node_mv."""
    full = board["adc_full_scale"]
    gain = board.get("continuity_gain", 1)
    if not is_esp32(board):
        count = round(full * node_mv / board["adc_vref_mv"])  # read_u16()
        return min(count * board["sense_supply_mv"] // sense_source_mv(board), full)
    pin_mv = int(node_mv * gain)
    if pin_mv < ESP32_WINDOW_MV[0]:
        return 0
    if pin_mv >= ESP32_WINDOW_MV[1]:
        return full
    return min(pin_mv * full // (gain * sense_source_mv(board)), full)


def sense_rows(board):
    """(label, ohms, mA, node mV, read_u16 count, what the firmware makes of it) per igniter."""
    r_sense = board["sense_resistor_ohm"]
    full = board["adc_full_scale"]
    rows = []
    for label, ohms in IGNITERS:
        ma = sense_source_mv(board) / (r_sense + ohms)
        node_mv = ma * ohms
        count = continuity_raw(board, node_mv)
        mohm = cont.resistance_mohm(count, full, r_sense)
        rows.append((label, ohms, ma, node_mv, count, mohm, cont.classify(cont.CONT_UNKNOWN, mohm)))
    return rows


def sense_table(board):
    lines = [
        "| igniter | resistance | sense current | sense node | `continuity_raw()` | firmware reads | class |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, ohms, ma, node_mv, count, mohm, cls in sense_rows(board):
        reads = "open" if mohm < 0 else "%.3f Ω" % (mohm / 1000)
        lines.append("| %s | %g Ω | %.2f mA | %.2f mV | %d | %s | %s |"
                     % (label, ohms, ma, node_mv, count, reads, CLASS_NAMES[cls]))
    full = board["adc_full_scale"]
    lines.append("| nothing connected | open | 0 mA | %d mV | %d | open | OPEN |"
                 % (board["adc_vref_mv"], full))
    return "\n".join(lines)


def threshold_count(board, mohm):
    """The read_u16() count at which the firmware's estimate crosses `mohm` milliohms."""
    r = mohm / 1000
    return board["adc_full_scale"] * r / (r + board["sense_resistor_ohm"])


def threshold_table(board):
    """firmware/continuity.py's class boundaries, as resistance and continuity_raw() counts."""
    rows = (
        ("SHORT_ENTER_MOHM", cont.SHORT_ENTER_MOHM, "below it a channel becomes SHORT"),
        ("SHORT_LEAVE_MOHM", cont.SHORT_LEAVE_MOHM, "a SHORT channel must read this much to be CONNECTED"),
        ("OPEN_LEAVE_MOHM", cont.OPEN_LEAVE_MOHM, "an OPEN channel must read below it to be CONNECTED"),
        ("OPEN_ENTER_MOHM", cont.OPEN_ENTER_MOHM, "above it a channel becomes OPEN"),
    )
    lines = ["| constant | resistance | `continuity_raw()` | meaning |", "|---|---|---|---|"]
    for name, mohm, meaning in rows:
        lines.append("| `%s` | %g Ω | %.1f | %s |" % (name, mohm / 1000, threshold_count(board, mohm), meaning))
    return "\n".join(lines)


def continuity_figures(board):
    """Prose figures the continuity page quotes for this board, as the strings it uses."""
    supply = board["sense_supply_mv"]
    r_sense = board["sense_resistor_ohm"]
    src = sense_source_mv(board)
    node_mv = src * 1.0 / (r_sense + 1.0)
    step_mv = board["adc_vref_mv"] / (1 << adc_bits(board))
    ohm_per_step = r_sense * supply * step_mv / (supply - node_mv) ** 2
    worst_ma = supply / r_sense  # no diode drop at all: the bound whatever the diode does
    reads_1 = cont.resistance_mohm(continuity_raw(board, node_mv), board["adc_full_scale"], r_sense)
    battery = CIRCUIT["battery_full_mv"]
    r_adc = CIRCUIT["adc_series_ohm"]
    clamp_ma = (battery - supply - CIRCUIT["clamp_diode_mv"]) / r_adc
    common = {
        "worst": "%.1f mA" % worst_ma,
        "power": "%.2f mW" % ((src / (r_sense + 1.0)) ** 2 / 1000.0),
        "reads_1": "%.2f Ω" % (reads_1 / 1000),
        "gain": "%.1f %%" % (100.0 * (1 - src / supply)),
        "no_fire_margin": "%.0f times" % (CIRCUIT["ematch_no_fire_ma"] / worst_ma),
        "no_fire_power": "%.0f times" % ((CIRCUIT["ematch_no_fire_ma"] / worst_ma) ** 2),
        "sim_margin": "%.0f times" % (PRESETS["ematch"][2] / worst_ma),
        "backfeed": "%.1f mA" % ((battery - supply) / r_sense),
        "backfeed_w": "%.2f W" % ((battery - supply) ** 2 / r_sense / 1e6),
        "clamp": "%.1f mA" % clamp_ma,
    }
    if is_esp32(board):
        gain = board["continuity_gain"]

        def ohms_at_pin(pin_mv):
            node = pin_mv / gain
            return r_sense * node / (src - node)

        common.update({
            "node_1_pin": "%.0f mV" % (node_mv * gain),
            "window_low": "%.2f Ω" % ohms_at_pin(ESP32_WINDOW_MV[0]),
            "window_high": "%.2f Ω" % ohms_at_pin(ESP32_WINDOW_MV[1]),
        })
        return common
    return dict(common, **{
        "node": "%.2f mV" % node_mv,
        "step": "%.3f mV" % step_mv,
        "steps": "%.1f steps" % (node_mv / step_mv),
        "ohm_per_step": "%.3f Ω" % ohm_per_step,
        "short_steps": "%.1f steps" % (threshold_count(board, cont.SHORT_ENTER_MOHM)
                                       / (board["adc_full_scale"] / (1 << adc_bits(board)))),
    })


# --- firing -------------------------------------------------------------------------------------


def sim_defaults():
    sig = inspect.signature(SimHal.__init__).parameters
    return {k: sig[k].default for k in ("battery_oc_mv", "battery_r_ohm", "wire_r_ohm")}


def sim_firing(battery_oc_mv, channels_on):
    """(terminal mV, mA per channel) from the simulator's own battery model, e-matches on."""
    hal = SimHal([make_igniter("ematch"), make_igniter("ematch")], battery_oc_mv=battery_oc_mv)
    for ch in range(channels_on):
        hal.fire(ch, True)
    return hal.battery_mv(), hal.currents_ma()[0]


def sag_table():
    sim = sim_defaults()
    lines = ["| battery (open circuit) | e-matches firing | terminal voltage | sag | current each | total |",
             "|---|---|---|---|---|---|"]
    for oc in (sim["battery_oc_mv"], CIRCUIT["battery_full_mv"]):
        for n in (1, 2):
            v_mv, ma = sim_firing(oc, n)
            lines.append("| %.1f V | %d | %.2f V | %.2f V | %.2f A | %.2f A |"
                         % (oc / 1000, n, v_mv / 1000, (oc - v_mv) / 1000, ma / 1000, n * ma / 1000))
    return "\n".join(lines)


def firing_figures(board):
    """Prose figures the firing page quotes, as the strings it uses."""
    c = CIRCUIT
    sim = sim_defaults()
    v = c["battery_full_mv"] / 1000
    rds = c["pfet_rds_on_mohm"] / 1000
    r_ig = PRESETS["ematch"][1]
    r_wire, r_int = sim["wire_r_ohm"], sim["battery_r_ohm"]
    i_bound = v / (r_ig + r_wire + rds)  # no battery resistance: the most a channel can draw
    i_model = v / (r_int + r_ig + r_wire + rds)
    # Two channels at once, the battery's resistance shared.
    g = 2 / (r_ig + r_wire + rds)
    v_t2 = v / (1 + r_int * g)
    i_two = v_t2 * g
    i_short = v / (r_int + r_wire + rds)
    vgs = v * c["pfet_gate_pullup_ohm"] / (c["pfet_gate_pullup_ohm"] + c["pfet_gate_series_ohm"])
    v_sag2, _ = sim_firing(c["battery_full_mv"], 2)
    vgs_sag = v_sag2 / 1000 * c["pfet_gate_pullup_ohm"] / (c["pfet_gate_pullup_ohm"] + c["pfet_gate_series_ohm"])
    p_fet = i_model ** 2 * rds
    k = c["readback_bottom_ohm"] / (c["readback_top_ohm"] + c["readback_bottom_ohm"])
    ratio = (c["battery_top_ohm"] + c["battery_bottom_ohm"]) / c["battery_bottom_ohm"]
    vdd = board["sense_supply_mv"] / 1000
    return {
        "gate_drive": "%.1f V" % vdd,
        "vgs_margin": "%.1f V" % (vdd - c["driver_vgs_th_max_mv"] / 1000),
        "pulldown_ma": "%.2f mA" % (vdd / c["driver_pulldown_ohm"] * 1000),
        "pfet_vgs": "%.1f V" % vgs,
        "pfet_vgs_sag": "%.1f V" % vgs_sag,
        "driver_ma": "%.2f mA" % (v / (c["pfet_gate_pullup_ohm"] + c["pfet_gate_series_ohm"]) * 1000),
        "i_bound": "%.1f A" % i_bound,
        "i_model": "%.1f A" % i_model,
        "i_two": "%.1f A" % i_two,
        "i_short": "%.1f A" % i_short,
        "fuse_two": "%.0f %%" % (100 * i_two / c["fuse_a"]),
        "fuse_short": "%.0f %%" % (100 * i_short / c["fuse_a"]),
        "p_fet": "%.2f W" % p_fet,
        "e_fet_cap": "%.1f J" % (p_fet * controller.FIRE_CAP_MS / 1000),
        "pulse_ms": "%d ms" % controller.FIRE_PULSE_MS,
        "cap_ms": "%d ms" % controller.FIRE_CAP_MS,
        "readback_k": "%.3f" % k,
        "readback_off": "%.2f V" % (vdd * k),
        "readback_full": "%.2f V" % (v * k),
        "readback_min": "%.1f V" % (c["vih_min_mv"] / 1000 / k),
        "readback_max_off": "%.1f V" % (c["vil_max_mv"] / 1000 / k),
        "readback_ma": "%.2f mA" % (v / (c["readback_top_ohm"] + c["readback_bottom_ohm"]) * 1000),
        "battery_ratio": "%g" % ratio,
        "battery_pin": "%.2f V" % (v / ratio),
        "battery_ua": "%.0f µA" % (v / (c["battery_top_ohm"] + c["battery_bottom_ohm"]) * 1e6),
        "battery_range": "%.1f V" % (board["adc_vref_mv"] / 1000 * ratio),
        "sim_battery": "%.1f V" % (sim["battery_oc_mv"] / 1000),
        "sim_r_int": "%g Ω" % r_int,
        "sim_wire": "%g Ω" % r_wire,
    }


# --- the pages ----------------------------------------------------------------------------------


def _text(path):
    return path.read_text(encoding="utf-8")


def _flat(path):
    return " ".join(_text(path).split())  # prose may wrap anywhere


def _missing(figures, path):
    flat = _flat(path)
    return {name: s for name, s in figures.items() if s not in flat}


# --- the board files themselves -----------------------------------------------------------------


def test_every_board_file_is_covered():
    assert BOARDS, "no board files in firmware/boards/"
    assert "pico_2ch" in BOARD_IDS


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_board_channels_are_consistent(stem, board):
    n = board["channels"]
    for key in ("fire_pins", "fire_readback_pins", "continuity_adc_pins"):
        assert len(board[key]) == n, key


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_board_gpios_do_not_conflict(stem, board):
    gpios = [gpio for gpio, _, _ in pin_uses(board)]
    assert len(gpios) == len(set(gpios)), sorted(gpios)
    for gpio, key, _ in pin_uses(board):
        if is_esp32(board):
            assert 0 <= gpio <= 39 and gpio not in ESP32_FLASH, key
            if gpio in ESP32_INPUT_ONLY:
                assert not key.startswith(("fire_pins", "buzzer_pin", "led_pin", 'uart["tx"]', "i2c")), key
        else:
            assert 0 <= gpio <= 29, key
            if gpio in PICO_INTERNAL:
                assert (gpio, key) == (25, "led_pin"), "GP%d is wired inside the Pico (%s)" % (gpio, key)


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_board_analogue_and_bus_pins_have_those_functions(stem, board):
    adc = ESP32_ADC1 if is_esp32(board) else PICO_ADC
    for gpio in (*board["continuity_adc_pins"], board["battery_adc_pin"]):
        assert gpio in adc, gpio
    assert board["uart"]["baud"] == 115200
    if is_esp32(board):
        return  # the ESP32's I2C and UART go through its pin matrix: any output-capable GPIO
    i2c = board["i2c"]
    # I2C0 SDA/SCL sit on GPIOs 0/1 mod 4, I2C1 on 2/3 mod 4.
    assert i2c["sda"] % 4 == 2 * i2c["id"], i2c
    assert i2c["scl"] % 4 == 2 * i2c["id"] + 1, i2c
    uart = board["uart"]
    assert uart["tx"] in UART_TX[uart["id"]], uart
    assert uart["rx"] in UART_RX[uart["id"]], uart


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_sense_current_is_at_most_10_ma(stem, board):
    worst = board["sense_supply_mv"] / board["sense_resistor_ohm"]
    assert worst <= 10.0, worst


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_the_sense_circuit_reads_each_igniter_in_its_class(stem, board):
    # The firmware's own arithmetic on the circuit's ADC counts, blocking diode included.
    classes = {label: cls for label, _, _, _, _, _, cls in sense_rows(board)}
    assert classes["dead short"] == cont.CONT_SHORT
    assert classes["e-match / 1 Ω bench resistor"] == cont.CONT_CONNECTED
    assert classes["Estes-type starter"] == cont.CONT_CONNECTED
    # 50 ohm is inside the Pico's reach; the ESP32 board's amplified window ends near 5 ohm.
    assert classes["high resistance"] == (cont.CONT_OPEN if is_esp32(board) else cont.CONT_CONNECTED)
    assert cont.resistance_mohm(board["adc_full_scale"], board["adc_full_scale"],
                                board["sense_resistor_ohm"]) == -1  # open


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_battery_divider_matches_the_bom(stem, board):
    ratio = (CIRCUIT["battery_top_ohm"] + CIRCUIT["battery_bottom_ohm"]) / CIRCUIT["battery_bottom_ohm"]
    assert ratio == board["battery_divider_ratio"]


def test_readback_divider_reads_off_low_and_a_full_battery_high():
    f = firing_figures(PICO)
    k = float(f["readback_k"])
    assert PICO["sense_supply_mv"] * k < CIRCUIT["vil_max_mv"]  # an idle output reads off
    assert CIRCUIT["battery_full_mv"] * k > CIRCUIT["vih_min_mv"]  # a stuck-on output reads on
    assert CIRCUIT["battery_full_mv"] * k < PICO["sense_supply_mv"] + 300  # the pin survives it


def test_pfet_gate_stays_within_its_rating():
    vgs = CIRCUIT["battery_full_mv"] * CIRCUIT["pfet_gate_pullup_ohm"] / (
        CIRCUIT["pfet_gate_pullup_ohm"] + CIRCUIT["pfet_gate_series_ohm"])
    assert vgs < CIRCUIT["pfet_vgs_max_mv"]


# --- the pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_boards_readme_names_the_board_file(stem, board):
    assert "firmware/boards/%s.py" % stem in _text(BOARDS_README)


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_boards_readme_pin_table_matches_the_board_file(stem, board):
    table = pin_table(board)
    assert table in _text(BOARDS_README), "regenerate with: python tests/test_hardware_docs.py\n\n" + table


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_boards_readme_states_the_board_barometer(stem, board):
    baro = board["barometer"]
    text = '`{"chip": "%s", "address": 0x%02x}` on this board' % (baro["chip"], baro["address"])
    assert text in _text(BOARDS_README), text
    assert (ROOT / "firmware" / ("%s.py" % baro["chip"])).exists()  # a driver by that name


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_continuity_page_sense_table_matches_the_board_file(stem, board):
    table = sense_table(board)
    assert table in _text(CONTINUITY_MD), "regenerate with: python tests/test_hardware_docs.py\n\n" + table


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_continuity_page_thresholds_match_the_firmware(stem, board):
    table = threshold_table(board)
    assert table in _text(CONTINUITY_MD), "regenerate with: python tests/test_hardware_docs.py\n\n" + table


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_continuity_page_quotes_its_figures(stem, board):
    assert not _missing(continuity_figures(board), CONTINUITY_MD)
    flat = _flat(CONTINUITY_MD)
    assert "%d Ω" % board["sense_resistor_ohm"] in flat
    assert "check your igniter's datasheet" in flat
    assert "firmware/boards/%s.py" % stem in flat


def test_continuity_page_quotes_the_hysteresis_midpoints():
    flat = _flat(CONTINUITY_MD)
    for mohm in ((cont.SHORT_ENTER_MOHM + cont.SHORT_LEAVE_MOHM) // 2,
                 (cont.OPEN_ENTER_MOHM + cont.OPEN_LEAVE_MOHM) // 2):
        assert "%g Ω" % (mohm / 1000) in flat, mohm
    assert "SAMPLES_TO_KNOW" in flat and "%d readings" % cont.SAMPLES_TO_KNOW in flat


def test_firing_page_sag_table_comes_from_the_simulator():
    table = sag_table()
    assert table in _text(FIRING_MD), "regenerate with: python tests/test_hardware_docs.py\n\n" + table


def test_firing_page_quotes_its_figures():
    missing = _missing(firing_figures(PICO), FIRING_MD)
    assert not missing, missing


def test_firing_figures_follow_the_circuit():
    # The arithmetic really depends on the circuit: a bigger fuse changes the page's figures.
    before = firing_figures(PICO)
    CIRCUIT["fuse_a"] += 5
    try:
        assert firing_figures(PICO)["fuse_two"] != before["fuse_two"]
    finally:
        CIRCUIT["fuse_a"] -= 5


# --- the wiring diagram ------------------------------------------------------------------------


def svg_text():
    root = ET.parse(WIRING_SVG).getroot()  # fails on anything that is not well-formed XML
    assert root.tag.endswith("svg"), root.tag
    return " ".join(" ".join(t.split()) for t in root.itertext())


def test_wiring_diagram_names_every_pico_pin():
    text = svg_text()
    shown = [gpio for gpio, key, _ in pin_uses(PICO) if key != "led_pin"]  # the LED is on the Pico
    missing = [gpio_name(PICO, g) for g in shown if not re.search(r"\b%s\b" % gpio_name(PICO, g), text)]
    assert not missing, missing
    # No pin the board file does not use: a stale label would send a builder to the wrong pin.
    used = {gpio for gpio, _, _ in pin_uses(PICO)}
    stray = {int(n) for n in re.findall(r"\bGP(\d+)\b", text)} - used
    assert not stray, stray


def test_wiring_diagram_labels_the_circuit():
    text = svg_text()
    for label in ("Raspberry Pi Pico", "AO3400A", "IRF4905", "10k", "220", "1N5819", "BAT54S",
                  "fuse", "reverse-polarity", "arm key", "flyback", "BMP280", "radio modem",
                  "buzzer", "pad", "%d Ω" % PICO["sense_resistor_ohm"], "39k", "100k"):
        assert label.lower() in text.lower(), label


# --- the bill of materials ---------------------------------------------------------------------

BOM_COLUMNS = ["part", "value", "rating", "quantity", "example_part_number", "notes"]
# Every part the pages name, by the part column of its BOM row.
PARTS_NAMED = (
    "Raspberry Pi Pico", "logic-level N-MOSFET", "P-MOSFET", "reverse-polarity P-MOSFET",
    "Schottky diode", "ADC clamp diode", "blade fuse", "fuse holder", "arm key switch",
    "key contact block", "relay", "flyback diode", "NPN transistor", "buzzer",
    "barometer breakout", "radio modem", "5 V regulator", "pad terminal", "1 Ω bench resistor",
)


def bom_rows():
    with BOM_CSV.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == BOM_COLUMNS, reader.fieldnames
        return list(reader)


def test_bom_parses_and_every_row_is_complete():
    rows = bom_rows()
    assert len(rows) >= len(PARTS_NAMED)
    for row in rows:
        for col in ("part", "value", "rating", "quantity", "example_part_number"):
            assert row[col].strip(), (row, col)
        assert int(row["quantity"]) > 0, row


def test_bom_holds_every_part_the_pages_name():
    parts = {row["part"] for row in bom_rows()}
    missing = [p for p in PARTS_NAMED if p not in parts]
    assert not missing, missing
    pages = " ".join(_flat(p) for p in (BUILD_README, FIRING_MD, CONTINUITY_MD)).lower()
    unnamed = [p for p in PARTS_NAMED if p.lower() not in pages]
    assert not unnamed, unnamed


def _ohms(text):
    m = re.fullmatch(r"([\d.]+)\s*(k?)\s*Ω", text.strip())
    assert m, text
    return float(m.group(1)) * (1000 if m.group(2) else 1)


def test_bom_resistors_are_the_ones_the_arithmetic_uses():
    values = {}
    for row in bom_rows():
        if row["part"].startswith("resistor"):
            values[row["part"]] = _ohms(row["value"])
    want = {
        "resistor, sense": PICO["sense_resistor_ohm"],
        "resistor, ADC series": CIRCUIT["adc_series_ohm"],
        "resistor, readback divider top": CIRCUIT["readback_top_ohm"],
        "resistor, readback divider bottom": CIRCUIT["readback_bottom_ohm"],
        "resistor, battery divider top": CIRCUIT["battery_top_ohm"],
        "resistor, battery divider bottom": CIRCUIT["battery_bottom_ohm"],
        "resistor, driver gate": CIRCUIT["driver_gate_ohm"],
        "resistor, driver gate pull-down": CIRCUIT["driver_pulldown_ohm"],
        "resistor, P-MOSFET gate pull-up": CIRCUIT["pfet_gate_pullup_ohm"],
        "resistor, P-MOSFET gate series": CIRCUIT["pfet_gate_series_ohm"],
    }
    assert {k: values.get(k) for k in want} == want


def test_bom_fuse_is_the_one_the_arithmetic_uses():
    fuse = [r for r in bom_rows() if r["part"] == "blade fuse"]
    assert len(fuse) == 1 and fuse[0]["value"] == "%d A" % CIRCUIT["fuse_a"], fuse


# --- the builder's walk-through -----------------------------------------------------------------


def test_build_readme_walks_through_flash_and_bench_test():
    flat = _flat(BUILD_README)
    for s in ("coalwood flash --port /dev/ttyACM0 --board pico", "--dry-run", "coalwood status",
              "coalwood igniter-test --channel 1", "wiring-pico.svg", "bom.csv", "firing.md",
              "continuity.md", "1 Ω", "CONNECTED", "60 s", "remove the key"):
        assert s in flat, s
    assert "%.2f Ω" % (cont.resistance_mohm(sense_rows(PICO)[2][4], PICO["adc_full_scale"],
                                            PICO["sense_resistor_ohm"]) / 1000) in flat


def _print_all():
    for stem, board in BOARDS:
        print("=== hardware/boards/README.md: %s pin table\n" % stem)
        print(pin_table(board))
        print("\n=== hardware/continuity.md: %s\n" % stem)
        print(sense_table(board))
        print()
        print(threshold_table(board))
        print()
        for name, value in continuity_figures(board).items():
            print("%s: %s" % (name, value))
    print("\n=== hardware/firing.md\n")
    print(sag_table())
    print()
    for name, value in firing_figures(PICO).items():
        print("%s: %s" % (name, value))


if __name__ == "__main__":
    _print_all()
