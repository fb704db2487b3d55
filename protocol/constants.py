"""Wire constants: frame layout, message types, payload lengths, codes.

The payload-length table below is the one place that says how long each
message may be and which way it may travel; the receiver checks every frame
against it before anything reads the payload. protocol/PROTOCOL.md gives the
byte-offset layout of each payload.
"""

from protocol.compat import const

PROTOCOL_VERSION = const(1)

# --- frame layout (after COBS decoding) --------------------------------------
# 0 ver_flags u8 | 1 type u8 | 2 seq u16 | 4 session u32 | 8 len u8 | 9 payload
# | [MAC_LEN bytes MAC if FLAG_MAC] | CRC-32 u32 over everything before it
HEADER_LEN = const(9)
OFF_VER_FLAGS = const(0)
OFF_TYPE = const(1)
OFF_SEQ = const(2)
OFF_SESSION = const(4)
OFF_LEN = const(8)
PAYLOAD_OFFSET = const(9)
CRC_LEN = const(4)
MAC_LEN = const(16)
MAX_PAYLOAD = const(232)
MIN_FRAME = const(13)  # HEADER_LEN + CRC_LEN
MAX_FRAME = const(261)  # HEADER_LEN + MAX_PAYLOAD + MAC_LEN + CRC_LEN
# COBS adds one code byte per started 254 bytes, plus the 0x00 delimiter.
MAX_ENCODED = const(264)

# ver_flags: high nibble version, low nibble flags.
FLAG_RETRANSMIT = const(0x01)  # identical command resent after a timeout
FLAG_MAC = const(0x02)  # a MAC_LEN-byte MAC precedes the CRC
FLAG_FROM_DEVICE = const(0x04)  # sender is the device (stops reflected frames)
FLAGS_RESERVED = const(0x08)  # must be zero

# --- roles ---------------------------------------------------------------------
ROLE_GROUND = const(0)
ROLE_DEVICE = const(1)

# --- message types ---------------------------------------------------------------
# Ground -> device: 0x01..0x7F. Device -> ground: 0x80..0xFF. HEARTBEAT: both.
HEARTBEAT = const(0x01)
GET_DEVICE_INFO = const(0x02)
GET_STATUS = const(0x03)
GET_LINK_STATS = const(0x04)
ARM = const(0x10)
ARM_REFRESH = const(0x11)
FIRE = const(0x12)
DISARM = const(0x13)
ABORT = const(0x14)
IGNITER_TEST = const(0x20)
FLIGHT_LIST = const(0x30)
FLIGHT_READ = const(0x31)
FLIGHT_ERASE = const(0x32)
CONFIG_GET = const(0x38)
CONFIG_SET = const(0x39)
SET_KEY = const(0x3A)
MAINTENANCE = const(0x3B)

ACK = const(0x80)
NAK = const(0x81)
DEVICE_INFO = const(0x82)
STATUS = const(0x83)
LINK_STATS = const(0x84)
ARM_ACK = const(0x90)
IGNITER_RESULT = const(0xA0)
FLIGHT_INFO = const(0xB0)
FLIGHT_DATA = const(0xB1)
CONFIG_VALUE = const(0xB8)
TELEMETRY = const(0xC0)

# Directions a type may travel.
TO_DEVICE = const(1)
TO_GROUND = const(2)

# (type, direction, min payload, max payload, step) -- the length rule:
# min <= len <= max and (len - min) % step == 0.
STATUS_CHANNEL_LEN = const(4)
STATUS_BASE_LEN = const(19)
MAX_CHANNELS = const(8)
TELEMETRY_BASE_LEN = const(6)
TELEMETRY_SAMPLE_LEN = const(12)
MAX_TELEMETRY_SAMPLES = const(18)
FLIGHT_DATA_HEADER_LEN = const(6)
FLIGHT_CHUNK_MAX = const(224)
# LINK_STATS: re_seq u16, then LINK_STATS_COUNTERS u32 counters
LINK_STATS_COUNTERS = const(13)
LINK_STATS_LEN = const(54)  # 2 + 4 * LINK_STATS_COUNTERS

MESSAGE_TABLE = (
    # type            direction              min  max  step
    (HEARTBEAT, TO_DEVICE | TO_GROUND, 4, 4, 1),
    (GET_DEVICE_INFO, TO_DEVICE, 0, 0, 1),
    (GET_STATUS, TO_DEVICE, 0, 0, 1),
    (GET_LINK_STATS, TO_DEVICE, 0, 0, 1),
    (ARM, TO_DEVICE, 2, 2, 1),
    (ARM_REFRESH, TO_DEVICE, 4, 4, 1),
    (FIRE, TO_DEVICE, 6, 6, 1),
    (DISARM, TO_DEVICE, 0, 0, 1),
    (ABORT, TO_DEVICE, 0, 0, 1),
    (IGNITER_TEST, TO_DEVICE, 1, 1, 1),
    (FLIGHT_LIST, TO_DEVICE, 0, 0, 1),
    (FLIGHT_READ, TO_DEVICE, 10, 10, 1),
    (FLIGHT_ERASE, TO_DEVICE, 7, 7, 1),
    (CONFIG_GET, TO_DEVICE, 1, 1, 1),
    (CONFIG_SET, TO_DEVICE, 5, 5, 1),
    (SET_KEY, TO_DEVICE, 32, 32, 1),
    (MAINTENANCE, TO_DEVICE, 5, 5, 1),
    (ACK, TO_GROUND, 3, 3, 1),
    (NAK, TO_GROUND, 4, 4, 1),
    (DEVICE_INFO, TO_GROUND, 32, 32, 1),
    (STATUS, TO_GROUND, 19, 19 + 4 * 8, 4),
    (LINK_STATS, TO_GROUND, LINK_STATS_LEN, LINK_STATS_LEN, 1),
    (ARM_ACK, TO_GROUND, 9, 9, 1),
    (IGNITER_RESULT, TO_GROUND, 8, 8, 1),
    (FLIGHT_INFO, TO_GROUND, 51, 51, 1),
    (FLIGHT_DATA, TO_GROUND, 7, 6 + 224, 1),
    (CONFIG_VALUE, TO_GROUND, 7, 7, 1),
    (TELEMETRY, TO_GROUND, 6 + 12, 6 + 12 * 18, 12),
)

# A keyed receiver requires a valid MAC on every frame except these two. They
# can only make the pad safe, so anyone in range may send them and a lost or
# mismatched key can never stop a pad being made safe. Unauthenticated, they
# never touch the replay window (they cannot lock the real sender out) and do
# not count as link activity.
MAC_EXEMPT = (DISARM, ABORT)

# The commands that can arm, fire or change the pad: a keyed device never
# accepts them without a valid MAC (with everything else outside MAC_EXEMPT).
MAC_REQUIRED = (ARM, ARM_REFRESH, FIRE, FLIGHT_ERASE, CONFIG_SET, SET_KEY, MAINTENANCE)

# --- NAK reasons -------------------------------------------------------------------
NAK_BAD_STATE = const(1)  # command not valid in the current state
NAK_KEY_OFF = const(2)  # physical arm key is off
NAK_NO_CONTINUITY = const(3)  # a named channel is not CONNECTED
NAK_BAD_TOKEN = const(4)  # arm token is not the current one
NAK_BAD_MASK = const(5)  # mask/inverse mismatch, or channels not armed
NAK_NOT_ARMED = const(6)
NAK_BAD_CHANNEL = const(7)
NAK_NO_SUCH_FLIGHT = const(8)
NAK_OUT_OF_RANGE = const(9)  # offset/length outside the flight
NAK_NEED_CONFIRM = const(10)  # erase or maintenance without the confirmation word
NAK_NOT_WIRED = const(11)  # key change or maintenance requested over a radio link
NAK_BAD_VALUE = const(12)  # config key unknown or value out of range
NAK_FAULT = const(13)  # latched fault; power-cycle needed
NAK_BUSY = const(14)  # e.g. erase or download while a flight is logging
NAK_LOG_FULL = const(15)

NAK_NAMES = {
    NAK_BAD_STATE: "BAD_STATE",
    NAK_KEY_OFF: "KEY_OFF",
    NAK_NO_CONTINUITY: "NO_CONTINUITY",
    NAK_BAD_TOKEN: "BAD_TOKEN",
    NAK_BAD_MASK: "BAD_MASK",
    NAK_NOT_ARMED: "NOT_ARMED",
    NAK_BAD_CHANNEL: "BAD_CHANNEL",
    NAK_NO_SUCH_FLIGHT: "NO_SUCH_FLIGHT",
    NAK_OUT_OF_RANGE: "OUT_OF_RANGE",
    NAK_NEED_CONFIRM: "NEED_CONFIRM",
    NAK_NOT_WIRED: "NOT_WIRED",
    NAK_BAD_VALUE: "BAD_VALUE",
    NAK_FAULT: "FAULT",
    NAK_BUSY: "BUSY",
    NAK_LOG_FULL: "LOG_FULL",
}

# --- device states (HEARTBEAT.state, STATUS.state) ----------------------------------
STATE_SAFE = const(0)
STATE_ARMED = const(1)
STATE_FIRING = const(2)
STATE_FAULT = const(3)
STATE_NAMES = ("SAFE", "ARMED", "FIRING", "FAULT")

# Why the device is SAFE (STATUS.safe_reason).
SAFE_BOOT = const(0)
SAFE_DISARM = const(1)
SAFE_ABORT = const(2)
SAFE_KEY_OFF = const(3)
SAFE_ARM_LAPSED = const(4)
SAFE_LINK_LOST = const(5)
SAFE_FIRE_CAP = const(6)
SAFE_FIRE_DONE = const(7)
SAFE_FAULT = const(8)
SAFE_REASON_NAMES = (
    "BOOT",
    "DISARM",
    "ABORT",
    "KEY_OFF",
    "ARM_LAPSED",
    "LINK_LOST",
    "FIRE_CAP",
    "FIRE_DONE",
    "FAULT",
)

# HEARTBEAT.flags / STATUS.flags bits.
DEV_KEY_ON = const(0x01)  # physical arm key switched on
DEV_KEYED = const(0x02)  # device holds a MAC key: MAC_REQUIRED types need a MAC
DEV_LOG_FULL = const(0x04)
DEV_BUZZER = const(0x08)
DEV_FLYING = const(0x10)  # altimeter is logging a flight
DEV_RENEWED = const(0x20)  # this session began by a rollover (6.4), not by a boot

# DEVICE_INFO.features bits: what a firmware can do beyond version 1's first messages.
# A client asks for an optional message only when its bit is set (an older firmware
# drops an unknown type as a type error and never answers it).
FEATURE_LINK_STATS = const(0x01)  # answers GET_LINK_STATS
FEATURE_MAINTENANCE = const(0x02)  # answers MAINTENANCE (gives the REPL back)

# --- continuity (four-valued, never a bool) ----------------------------------------
CONT_UNKNOWN = const(0)
CONT_OPEN = const(1)
CONT_CONNECTED = const(2)
CONT_SHORT = const(3)  # short circuit, or output stuck on
CONT_NAMES = ("UNKNOWN", "OPEN", "CONNECTED", "SHORT")
RESISTANCE_UNKNOWN = const(0xFFFF)  # resistance_mohm when not measurable

# Per-channel result of the last fire.
FIRE_NONE = const(0)
FIRE_FIRED = const(1)  # igniter burned open
FIRE_MISFIRE = const(2)  # still continuous after firing: do not approach
FIRE_RESULT_NAMES = ("NONE", "FIRED", "MISFIRE")

# ARM.flags bits.
ARM_OVERRIDE_CONTINUITY = const(0x01)  # operator overrides continuity for this ARM only

# --- altimeter flight states ---------------------------------------------------------
FLIGHT_IDLE = const(0)
FLIGHT_PAD = const(1)
FLIGHT_BOOST = const(2)
FLIGHT_COAST = const(3)
FLIGHT_DROGUE = const(4)
FLIGHT_MAIN = const(5)
FLIGHT_LANDED = const(6)
FLIGHT_STATE_NAMES = ("IDLE", "PAD", "BOOST", "COAST", "DROGUE", "MAIN", "LANDED")

# FLIGHT_INFO.flags bits.
FLIGHT_COMPLETE = const(0x01)  # landed and closed
FLIGHT_TORN = const(0x02)  # a torn last record was dropped at boot
FLIGHT_CORRUPT = const(0x04)  # a record failed its checksum

# FLIGHT_ERASE: flight number meaning "every flight", and the confirmation word.
ERASE_ALL = const(0xFFFF)
ERASE_CONFIRM = b"ERASE"

# MAINTENANCE: the confirmation word. The device then leaves its loop for the REPL.
MAINTENANCE_CONFIRM = b"MAINT"

# --- config keys (CONFIG_GET / CONFIG_SET, value i32) ----------------------------------
CFG_ARM_LAPSE_MS = const(1)
CFG_FIRE_PULSE_MS = const(2)
CFG_FIRE_CAP_MS = const(3)
CFG_LINK_LOSS_MS = const(4)
CFG_MAIN_DEPLOY_M = const(5)
CFG_TELEMETRY_HZ = const(6)
CONFIG_NAMES = {
    CFG_ARM_LAPSE_MS: "arm_lapse_ms",
    CFG_FIRE_PULSE_MS: "fire_pulse_ms",
    CFG_FIRE_CAP_MS: "fire_cap_ms",
    CFG_LINK_LOSS_MS: "link_loss_ms",
    CFG_MAIN_DEPLOY_M: "main_deploy_m",
    CFG_TELEMETRY_HZ: "telemetry_hz",
}

# --- link timing (the caller's clock; see PROTOCOL.md) ---------------------------------
HEARTBEAT_INTERVAL_MS = const(500)
LINK_LOSS_MS = const(1000)
COMMAND_TIMEOUT_MS = const(250)
MAX_RESENDS = const(3)
# The device starts a new session before the 16-bit sequence space could wrap
# onto frames an eavesdropper recorded earlier in the same session.
SESSION_ROLLOVER_FRAMES = const(16384)
# Session nonces the ground has left behind and will never return to, so a
# recorded frame from an earlier boot cannot drag it back to a dead session.
RETIRED_SESSIONS = const(8)
