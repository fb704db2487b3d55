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
    # Readback level shifter from each output to its readback pin: the output through
    # readback_emitter_ohm to a 2N3906's emitter, its base on the 3V3 rail, its collector
    # through readback_series_ohm to the pin and readback_pulldown_ohm from the pin to GND.
    # The transistor conducts only once the output is a base-emitter drop above the rail,
    # so an output held at the sense supply (never above the rail) reads off whatever the
    # battery, and a 2S pack at its empty voltage already reads on.
    "readback_emitter_ohm": 15000,
    "readback_series_ohm": 10000,
    "readback_pulldown_ohm": 33000,
    "pnp_veb_max_mv": 850,  # 2N3906 datasheet: VBE(sat) max at 10 mA, so a bound at these currents
    "pnp_vce_sat_max_mv": 250,  # 2N3906 datasheet: VCE(sat) max at 10 mA / 1 mA
    "pnp_hfe_min": 60,  # 2N3906 datasheet: hFE min at IC = 0.1 mA
    "pnp_veb_reverse_max_mv": 5000,  # 2N3906 datasheet: VEBO
    "pnp_icbo_max_na": 100,  # 2N3906 datasheet: collector cut-off current
    # Battery divider to the battery ADC pin.
    "battery_top_ohm": 100000,
    "battery_bottom_ohm": 10000,
    # Logic-level N-MOSFET driver (AO3400A): gate resistor from the fire pin, pull-down.
    "driver_gate_ohm": 220,
    "driver_pulldown_ohm": 10000,
    # AO3400A datasheet (Alpha & Omega): Vgs(th) max 1.45 V in the current revision, 1.5 V in
    # an earlier one (the larger is used); Rds(on) max at Vgs 2.5 V and 4.5 V; Vds, Vgs limits.
    "driver_vgs_th_max_mv": 1500,
    "driver_rds_on_2v5_mohm": 48,
    "driver_rds_on_4v5_mohm": 32,
    "driver_vds_max_mv": 30000,
    "driver_vgs_max_mv": 12000,
    # High-side P-MOSFET (IRF4905): gate pull-up to its source, series resistor to the driver.
    "pfet_gate_pullup_ohm": 10000,
    "pfet_gate_series_ohm": 1000,
    "pfet_rds_on_mohm": 20,  # IRF4905 datasheet: maximum at Vgs = -10 V (the only drive it is specified at)
    "pfet_vgs_th_max_mv": 4000,  # IRF4905 datasheet: Vgs(th) -2 to -4 V
    "pfet_vgs_rated_mv": 10000,
    "pfet_vgs_max_mv": 20000,
    # Blade fuse in the firing supply.
    "fuse_a": 15,
    # Firing batteries the pages cover: a 2S LiPo at its empty voltage up to a full 4S.
    "battery_min_mv": 6000,
    "battery_full_mv": 12600,  # a full 3S LiPo: the figures the pages quote by default
    "battery_max_mv": 16800,
    # Typical e-match no-fire and all-fire currents the margins are quoted against.
    "ematch_no_fire_ma": 300,
    "ematch_all_fire_ma": 1000,
    # Input thresholds at an I/O supply of 3.3 V: RP2040 datasheet, GPIO electrical
    # characteristics (VIL max 0.8 V; VIH min 2.0 V); ESP32 datasheet, DC characteristics
    # (VIL max 0.25 x VDD, VIH min 0.75 x VDD).
    "vil_max_mv": 800,
    "vih_min_mv": 2000,
    "esp32_vil_max_mv": 825,
    "esp32_vih_min_mv": 2475,
    # ADC noise allowed for in the continuity margins, in 12-bit steps: the RP2040 datasheet
    # gives its ADC an ENOB of 9 bits (simulated), so the last 3 of the 12 bits are noise.
    "adc_noise_lsb": 4,
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
                     "readback of channel %d's output, via a level shifter" % ch))
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


def short_offset_steps(board):
    """The smallest ADC offset at zero (whole steps) at which a dead short no longer reads SHORT."""
    for steps in range(1, 64):
        mohm = cont.resistance_mohm(pico_raw_at_steps(board, steps), board["adc_full_scale"],
                                    board["sense_resistor_ohm"])
        if cont.classify(cont.CONT_UNKNOWN, mohm) != cont.CONT_SHORT:
            return steps
    raise AssertionError("no offset up to 64 steps reads CONNECTED")


def avg_noise_factor():
    a = 1.0 / (1 << cont._FILTER_SHIFT)
    return ((2 - a) / a) ** 0.5


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

        bridge_pin_mv = src * 0.5 / (r_sense + 0.5) * gain
        common.update({
            "bridge_pin": "%.0f mV" % bridge_pin_mv,
            "bridge_margin": "%.0f mV" % (bridge_pin_mv - ESP32_WINDOW_MV[0]),
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
        "short_steps": "%.1f steps" % boundary_steps(board, cont.SHORT_ENTER_MOHM),
        "short_leave_steps": "%.1f steps" % boundary_steps(board, cont.SHORT_LEAVE_MOHM),
        "short_mid_steps": "%.1f steps" % boundary_steps(
            board, (cont.SHORT_ENTER_MOHM + cont.SHORT_LEAVE_MOHM) // 2),
        "best_steps_per_ohm": "%.1f steps" % (board["sense_supply_mv"] / r_sense / step_mv),
        "steps_per_ohm": "%.1f steps" % (src / (r_sense + 1.0) / step_mv),
        # The firmware's exponential average (weight 1/2**_FILTER_SHIFT) divides white noise's
        # standard deviation by sqrt((2 - a) / a).
        "short_offset_steps": "%d steps or more" % short_offset_steps(board),
        "short_offset_reads": "%.2f Ω" % (cont.resistance_mohm(
            pico_raw_at_steps(board, short_offset_steps(board)), board["adc_full_scale"], r_sense) / 1000),
        "avg_factor": "%.1f times" % avg_noise_factor(),
        "avg_noise": "±%.1f steps" % (CIRCUIT["adc_noise_lsb"] / avg_noise_factor()),
    })


def pico_raw_at_steps(board, steps):
    """continuity_raw() on the Pico for an ADC reading of `steps` 12-bit steps (read_u16() * 16)."""
    count = max(0, round(steps)) * (board["adc_full_scale"] + 1) // (1 << adc_bits(board))
    return min(count * board["sense_supply_mv"] // sense_source_mv(board), board["adc_full_scale"])


# What a user connects, for the margins: (label, ohms).
MARGIN_CASES = (("dead short", 0.0), ("e-match bridge", 0.5), ("1 Ω igniter", 1.0))


def margin_table(board):
    """Each case's node in ADC steps and what the firmware makes of it with the ADC's noise either way."""
    noise = CIRCUIT["adc_noise_lsb"]
    step_mv = board["adc_vref_mv"] / (1 << adc_bits(board))
    full, r_sense = board["adc_full_scale"], board["sense_resistor_ohm"]
    lines = ["| connected | sense node | ADC steps | reads | reads, %d steps low | reads, %d steps high |"
             % (noise, noise), "|---|---|---|---|---|---|"]

    def reads(steps):
        mohm = cont.resistance_mohm(pico_raw_at_steps(board, steps), full, r_sense)
        return "%.2f Ω %s" % (mohm / 1000, CLASS_NAMES[cont.classify(cont.CONT_UNKNOWN, mohm)])

    for label, ohms in MARGIN_CASES:
        node_mv = sense_source_mv(board) * ohms / (r_sense + ohms)
        steps = node_mv / step_mv
        lines.append("| %s, %g Ω | %.2f mV | %.1f | %s | %s | %s |"
                     % (label, ohms, node_mv, steps, reads(steps), reads(steps - noise), reads(steps + noise)))
    lines.append("| nothing connected | %d mV | %d | open OPEN | open OPEN | open OPEN |"
                 % (board["adc_vref_mv"], (1 << adc_bits(board)) - 1))
    return "\n".join(lines)


def boundary_steps(board, mohm):
    """The 12-bit ADC steps at the sense node at which the firmware's estimate crosses `mohm`."""
    return threshold_count(board, mohm) * sense_source_mv(board) / board["sense_supply_mv"] / (
        (board["adc_full_scale"] + 1) / (1 << adc_bits(board)))


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
    for oc in (CIRCUIT["battery_min_mv"], sim["battery_oc_mv"], CIRCUIT["battery_full_mv"],
               CIRCUIT["battery_max_mv"]):
        for n in (1, 2):
            v_mv, ma = sim_firing(oc, n)
            lines.append("| %.1f V | %d | %.2f V | %.2f V | %.2f A | %.2f A |"
                         % (oc / 1000, n, v_mv / 1000, (oc - v_mv) / 1000, ma / 1000, n * ma / 1000))
    return "\n".join(lines)


def readback_pin_mv(v_out_mv, rail_mv, veb_mv, vce_sat_mv):
    """The readback pin's voltage for an output at v_out_mv, through the PNP level shifter.

    Below rail + Veb the transistor is off and only its cut-off current reaches the pull-down;
    above it the emitter resistor sets the current until the transistor saturates, which caps
    the collector at rail + Veb - Vce(sat), whatever the battery.
    """
    c = CIRCUIT
    r_load = c["readback_series_ohm"] + c["readback_pulldown_ohm"]
    k = c["readback_pulldown_ohm"] / r_load
    ie_ma = max(0.0, v_out_mv - rail_mv - veb_mv) / c["readback_emitter_ohm"]
    if ie_ma == 0.0:
        return c["pnp_icbo_max_na"] / 1e6 * c["readback_pulldown_ohm"]
    ic_ma = ie_ma * c["pnp_hfe_min"] / (c["pnp_hfe_min"] + 1)
    return k * min(ic_ma * r_load, rail_mv + veb_mv - vce_sat_mv)


def readback_reads_on_from_mv(rail_mv, vih_mv):
    """The lowest output voltage that puts the pin at vih_mv, with the transistor at its worst."""
    c = CIRCUIT
    r_load = c["readback_series_ohm"] + c["readback_pulldown_ohm"]
    k = c["readback_pulldown_ohm"] / r_load
    veb = c["pnp_veb_max_mv"]
    assert vih_mv <= k * (rail_mv + veb - c["pnp_vce_sat_max_mv"]), "the pin never reaches VIH"
    ic_ma = vih_mv / k / r_load
    ie_ma = ic_ma * (c["pnp_hfe_min"] + 1) / c["pnp_hfe_min"]
    return rail_mv + veb + ie_ma * c["readback_emitter_ohm"]


def board_vih_vil_mv(board):
    if is_esp32(board):
        return CIRCUIT["esp32_vih_min_mv"], CIRCUIT["esp32_vil_max_mv"]
    return CIRCUIT["vih_min_mv"], CIRCUIT["vil_max_mv"]


def load_currents(v):
    """Amps at open-circuit battery volts v, 1 ohm e-matches: (one, no battery R), one, two each, a short."""
    c = CIRCUIT
    sim = sim_defaults()
    rds = c["pfet_rds_on_mohm"] / 1000
    r_ig = PRESETS["ematch"][1]
    r_wire, r_int = sim["wire_r_ohm"], sim["battery_r_ohm"]
    g = 2 / (r_ig + r_wire + rds)  # two channels at once, the battery's resistance shared
    v_t2 = v / (1 + r_int * g)
    return {
        "bound": v / (r_ig + r_wire + rds),
        "one": v / (r_int + r_ig + r_wire + rds),
        "two_total": v_t2 * g,
        "two_each": v_t2 * g / 2,
        "short": v / (r_int + r_wire + rds),
    }


def fuse_table():
    """Per battery: the currents the fuse sees and what they are of its rating."""
    fuse = CIRCUIT["fuse_a"]
    lines = ["| battery (open circuit) | one e-match | two e-matches | shorted pad leads |",
             "|---|---|---|---|"]
    for label, mv in (("2S empty", CIRCUIT["battery_min_mv"]), ("3S full", CIRCUIT["battery_full_mv"]),
                      ("4S full", CIRCUIT["battery_max_mv"])):
        i = load_currents(mv / 1000)
        lines.append("| %s, %.1f V | %.1f A (%.0f %%) | %.1f A (%.0f %%) | %.1f A (%.0f %%) |"
                     % (label, mv / 1000, i["one"], 100 * i["one"] / fuse, i["two_total"],
                        100 * i["two_total"] / fuse, i["short"], 100 * i["short"] / fuse))
    return "\n".join(lines)


def firing_figures(board):
    """Prose figures the firing page quotes, as the strings it uses."""
    c = CIRCUIT
    sim = sim_defaults()
    v = c["battery_full_mv"] / 1000
    v_min = c["battery_min_mv"] / 1000
    v_max = c["battery_max_mv"] / 1000
    rds = c["pfet_rds_on_mohm"] / 1000
    i = load_currents(v)
    i_max = load_currents(v_max)
    gate_k = c["pfet_gate_pullup_ohm"] / (c["pfet_gate_pullup_ohm"] + c["pfet_gate_series_ohm"])
    v_sag2, _ = sim_firing(c["battery_full_mv"], 2)
    v_sag2_min, ma_min = sim_firing(c["battery_min_mv"], 2)
    p_fet = i["one"] ** 2 * rds
    p_fet_max = i_max["one"] ** 2 * rds
    ratio = (c["battery_top_ohm"] + c["battery_bottom_ohm"]) / c["battery_bottom_ohm"]
    vdd = board["sense_supply_mv"] / 1000
    rail = board["sense_supply_mv"]
    veb, vce = c["pnp_veb_max_mv"], c["pnp_vce_sat_max_mv"]
    r_e = c["readback_emitter_ohm"]
    vih, _ = board_vih_vil_mv(PICO)
    esp_vih = c["esp32_vih_min_mv"]
    return {
        "gate_drive": "%.1f V" % vdd,
        "vgs_th": "%.2f V" % (c["driver_vgs_th_max_mv"] / 1000),
        "vgs_margin": "%.1f V" % (vdd - c["driver_vgs_th_max_mv"] / 1000),
        "driver_rds_2v5": "%d mΩ" % c["driver_rds_on_2v5_mohm"],
        "driver_rds_4v5": "%d mΩ" % c["driver_rds_on_4v5_mohm"],
        "pulldown_ma": "%.2f mA" % (vdd / c["driver_pulldown_ohm"] * 1000),
        "pfet_vgs": "%.1f V" % (v * gate_k),
        "pfet_vgs_sag": "%.1f V" % (v_sag2 / 1000 * gate_k),
        "pfet_vgs_min": "%.1f V" % (v_min * gate_k),
        "pfet_vgs_min_sag": "%.1f V" % (v_sag2_min / 1000 * gate_k),
        "pfet_vgs_max": "%.1f V" % (v_max * gate_k),
        "driver_ma": "%.2f mA" % (v / (c["pfet_gate_pullup_ohm"] + c["pfet_gate_series_ohm"]) * 1000),
        "driver_ma_max": "%.2f mA" % (v_max / (c["pfet_gate_pullup_ohm"] + c["pfet_gate_series_ohm"]) * 1000),
        "i_bound": "%.1f A" % i["bound"],
        "i_model": "%.1f A" % i["one"],
        "i_two": "%.1f A" % i["two_total"],
        "i_model_max": "%.1f A" % i_max["one"],
        "i_short": "%.1f A" % i["short"],
        "i_min_each": "%.1f A" % (ma_min / 1000),
        "all_fire_margin": "%.1f times" % (ma_min / c["ematch_all_fire_ma"]),
        "fuse_two": "%.0f %%" % (100 * i["two_total"] / c["fuse_a"]),
        "fuse_short": "%.0f %%" % (100 * i["short"] / c["fuse_a"]),
        "p_fet": "%.2f W" % p_fet,
        "e_fet_cap": "%.1f J" % (p_fet * controller.FIRE_CAP_MS / 1000),
        "p_fet_max": "%.2f W" % p_fet_max,
        "e_fet_cap_max": "%.1f J" % (p_fet_max * controller.FIRE_CAP_MS / 1000),
        "pulse_ms": "%d ms" % controller.FIRE_PULSE_MS,
        "cap_ms": "%d ms" % controller.FIRE_CAP_MS,
        # A plain divider needs VIH / VIL at most (lowest on) / (highest off): it has not got it.
        "divider_needs": "a ratio of %.1f against the thresholds' %.1f (%.1f on the ESP32"
                         % (c["battery_min_mv"] / rail, vih / c["vil_max_mv"],
                            esp_vih / c["esp32_vil_max_mv"]),
        "readback_on": "%.1f V" % (readback_reads_on_from_mv(rail, vih) / 1000),
        "readback_on_esp32": "%.1f V" % (readback_reads_on_from_mv(rail, esp_vih) / 1000),
        "readback_pin_min": "%.2f V" % (readback_pin_mv(c["battery_min_mv"], rail, veb, vce) / 1000),
        "readback_pin_cap": "%.2f V" % (readback_pin_mv(c["battery_max_mv"], rail, veb, 0) / 1000),
        "readback_off_pin": "%.1f mV" % readback_pin_mv(rail, rail, 0, 0),
        "readback_ma": "%.2f mA" % ((c["battery_full_mv"] - rail) / r_e),
        "readback_ma_max": "%.2f mA" % ((c["battery_max_mv"] - rail) / r_e),
        "readback_mw_max": "%.0f mW" % ((c["battery_max_mv"] - rail) ** 2 / r_e / 1000),
        "battery_ratio": "%g" % ratio,
        "battery_pin": "%.2f V" % (v / ratio),
        "battery_pin_max": "%.2f V" % (v_max / ratio),
        "battery_ua": "%.0f µA" % (v / (c["battery_top_ohm"] + c["battery_bottom_ohm"]) * 1e6),
        "battery_range": "%.1f V" % (board["adc_vref_mv"] / 1000 * ratio),
        "sim_battery": "%.1f V" % (sim["battery_oc_mv"] / 1000),
        "sim_r_int": "%g Ω" % sim["battery_r_ohm"],
        "sim_wire": "%g Ω" % sim["wire_r_ohm"],
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


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_readback_reads_off_at_the_sense_supply_and_on_from_an_empty_2s_pack(stem, board):
    c = CIRCUIT
    rail = board["sense_supply_mv"]
    vih, vil = board_vih_vil_mv(board)
    # An idle output sits at the sense supply at most (the 3V3 rail through its diode): the
    # transistor's base-emitter junction is not forward biased, only its cut-off current flows.
    assert readback_pin_mv(rail, rail, 0, 0) < vil / 10
    # The worst transistor (largest Veb and Vce(sat), lowest gain) still reads on from 2S empty,
    assert readback_pin_mv(c["battery_min_mv"], rail, c["pnp_veb_max_mv"], c["pnp_vce_sat_max_mv"]) >= vih
    assert readback_reads_on_from_mv(rail, vih) <= c["battery_min_mv"]
    # and the pin never rises above its own supply, whatever the battery (4S full included):
    # no clamp current, no reliance on the pin's absolute maximum.
    assert c["battery_min_mv"] / rail < vih / vil  # why a plain divider cannot do it
    for mv in (c["battery_full_mv"], c["battery_max_mv"], 30000):
        assert readback_pin_mv(mv, rail, c["pnp_veb_max_mv"], 0) <= rail
    # With the output at 0 V the emitter-base junction is reverse biased by the rail: inside VEBO.
    assert rail < c["pnp_veb_reverse_max_mv"]


def test_readback_threshold_follows_the_circuit():
    # A larger emitter resistor raises the voltage the readback needs: the figure must move.
    before = firing_figures(PICO)["readback_on"]
    CIRCUIT["readback_emitter_ohm"] *= 3
    try:
        assert firing_figures(PICO)["readback_on"] != before
        assert readback_reads_on_from_mv(PICO["sense_supply_mv"], CIRCUIT["vih_min_mv"]) > CIRCUIT["battery_min_mv"]
    finally:
        CIRCUIT["readback_emitter_ohm"] //= 3


@pytest.mark.parametrize("stem,board", BOARDS, ids=BOARD_IDS)
def test_board_file_quotes_its_readback_threshold(stem, board):
    # The board file's comment on fire_readback_pins gives the voltage it reads on from.
    vih, _ = board_vih_vil_mv(board)
    on = "about %.1f V" % (readback_reads_on_from_mv(board["sense_supply_mv"], vih) / 1000)
    source = " ".join((BOARDS_DIR / ("%s.py" % stem)).read_text(encoding="utf-8").split())
    assert on in source.replace("# ", ""), on


def test_driver_mosfet_works_from_the_pin_and_stands_the_battery():
    c = CIRCUIT
    assert PICO["sense_supply_mv"] - c["driver_vgs_th_max_mv"] >= 1500  # well above its threshold
    assert PICO["sense_supply_mv"] >= 2500  # at or above the drive its Rds(on) is specified at
    assert PICO["sense_supply_mv"] < c["driver_vgs_max_mv"]
    assert c["battery_max_mv"] < c["driver_vds_max_mv"]  # its drain sits on the P-MOSFET's gate node


def test_pfet_gate_stays_within_its_rating():
    vgs = CIRCUIT["battery_max_mv"] * CIRCUIT["pfet_gate_pullup_ohm"] / (
        CIRCUIT["pfet_gate_pullup_ohm"] + CIRCUIT["pfet_gate_series_ohm"])
    assert vgs < CIRCUIT["pfet_vgs_max_mv"]


def test_a_full_3s_pack_drives_the_pfet_where_it_is_specified_and_2s_does_not():
    # The page says a 3S pack is inside the IRF4905's specified drive and a 2S pack is not;
    # this holds the arithmetic to that claim.
    k = CIRCUIT["pfet_gate_pullup_ohm"] / (CIRCUIT["pfet_gate_pullup_ohm"] + CIRCUIT["pfet_gate_series_ohm"])
    assert CIRCUIT["battery_full_mv"] * k >= CIRCUIT["pfet_vgs_rated_mv"]
    assert CIRCUIT["battery_min_mv"] * k < CIRCUIT["pfet_vgs_rated_mv"]


def test_every_battery_fires_two_ematches_above_their_all_fire_current():
    for mv in (CIRCUIT["battery_min_mv"], CIRCUIT["battery_full_mv"], CIRCUIT["battery_max_mv"]):
        _, ma_each = sim_firing(mv, 2)
        assert ma_each >= 2 * CIRCUIT["ematch_all_fire_ma"], (mv, ma_each)


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


def test_firing_page_fuse_table_matches_the_model():
    table = fuse_table()
    assert table in _text(FIRING_MD), "regenerate with: python tests/test_hardware_docs.py\n\n" + table


def test_continuity_page_margin_table_matches_the_firmware():
    table = margin_table(PICO)
    assert table in _text(CONTINUITY_MD), "regenerate with: python tests/test_hardware_docs.py\n\n" + table


def test_continuity_margins_are_what_the_page_says():
    # No noise: a dead short is SHORT and a 0.5 ohm bridge CONNECTED. With the ADC's noise
    # (single readings) each can cross: the page says so rather than promising it cannot.
    rows = margin_table(PICO).splitlines()[2:]
    assert rows[0].split(" | ")[3].endswith("SHORT") and rows[1].split(" | ")[3].endswith("CONNECTED")
    short_high = rows[0].split(" | ")[5]
    bridge_low = rows[1].split(" | ")[4]
    flat = _flat(CONTINUITY_MD)
    if short_high.endswith("CONNECTED") or bridge_low.endswith("SHORT"):
        assert "single reading" in flat and "shorted clips" in flat


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
                  "buzzer", "pad", "%d Ω" % PICO["sense_resistor_ohm"], "2N3906", "15k", "33k", "100k"):
        assert label.lower() in text.lower(), label


# --- the bill of materials ---------------------------------------------------------------------

BOM_COLUMNS = ["part", "value", "rating", "quantity", "example_part_number", "notes"]
# Every part the pages name, by the part column of its BOM row.
PARTS_NAMED = (
    "Raspberry Pi Pico", "logic-level N-MOSFET", "P-MOSFET", "reverse-polarity P-MOSFET",
    "Schottky diode", "ADC clamp diode", "blade fuse", "fuse holder", "arm key switch",
    "key contact block", "relay", "flyback diode", "NPN transistor", "buzzer",
    "barometer breakout", "radio modem", "5 V regulator", "pad terminal", "1 Ω bench resistor",
    "PNP transistor",
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
        "resistor, readback emitter": CIRCUIT["readback_emitter_ohm"],
        "resistor, readback series": CIRCUIT["readback_series_ohm"],
        "resistor, readback pull-down": CIRCUIT["readback_pulldown_ohm"],
        "resistor, battery divider top": CIRCUIT["battery_top_ohm"],
        "resistor, battery divider bottom": CIRCUIT["battery_bottom_ohm"],
        "resistor, driver gate": CIRCUIT["driver_gate_ohm"],
        "resistor, driver gate pull-down": CIRCUIT["driver_pulldown_ohm"],
        "resistor, P-MOSFET gate pull-up": CIRCUIT["pfet_gate_pullup_ohm"],
        "resistor, P-MOSFET gate series": CIRCUIT["pfet_gate_series_ohm"],
    }
    assert {k: values.get(k) for k in want} == want


def test_bom_semiconductor_ratings_are_the_ones_the_arithmetic_uses():
    rows = {row["part"]: row for row in bom_rows()}
    driver = rows["logic-level N-MOSFET"]["rating"]
    assert "Vgs(th) %g V max" % (CIRCUIT["driver_vgs_th_max_mv"] / 1000) in driver, driver
    assert "Rds(on) %d mΩ max at Vgs 2.5 V" % CIRCUIT["driver_rds_on_2v5_mohm"] in driver, driver
    assert "Rds(on) %d mΩ max at Vgs -10 V" % CIRCUIT["pfet_rds_on_mohm"] in rows["P-MOSFET"]["rating"]
    pnp = rows["PNP transistor"]
    assert pnp["value"] == "2N3906" and int(pnp["quantity"]) == PICO["channels"], pnp
    assert "VEBO %g V" % (CIRCUIT["pnp_veb_reverse_max_mv"] / 1000) in pnp["rating"], pnp


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
        if not is_esp32(board):
            print(margin_table(board))
            print()
        for name, value in continuity_figures(board).items():
            print("%s: %s" % (name, value))
    print("\n=== hardware/firing.md\n")
    print(sag_table())
    print()
    print(fuse_table())
    print()
    for name, value in firing_figures(PICO).items():
        print("%s: %s" % (name, value))


if __name__ == "__main__":
    _print_all()
