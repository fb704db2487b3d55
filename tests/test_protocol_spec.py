"""Keeps protocol/PROTOCOL.md true to the code in protocol/.

The specification is the contract third-party clients are written from, so
these tests read it the way such a client's author would and hold it to the
reference implementation:

- every worked hex example is decoded again with the real Connection, and the
  fields the document states (its JSON block and its annotated field table)
  must be exactly what the receiver reports; the message is then encoded again
  and must give the same wire bytes;
- every message type in MESSAGE_TABLE has a section whose byte-offset tables
  add up to its payload length rule and follow its struct format field by field;
- every code table (NAK reasons, config keys, states, flags, ...) and the
  constants table list exactly the values in protocol.constants.

The examples are marked up for machines: fenced blocks with info strings

    ```hex example=<name> part=frame
    ```hex example=<name> part=wire role=<ground|device>-receives key=<none|64 hex digits>
    ```json example=<name>
"""

import binascii
import json
import pathlib
import re
import struct

import pytest

from protocol import DUPLICATE, FRAME, ROLE_DEVICE, ROLE_GROUND, Connection, cobs
from protocol import connection as conn_mod
from protocol import constants as C
from protocol import mac as mac_mod
from protocol import messages as M

DOC_PATH = pathlib.Path(__file__).resolve().parent.parent / "protocol" / "PROTOCOL.md"

REQUIRED_EXAMPLES = {
    "device-heartbeat",
    "ground-arm",
    "ground-fire-keyed",
    "device-nak",
    "device-status",
    "device-flight-data-ff",
    "bad-crc",
}

TYPE_CODES = {"u8": "B", "u16": "H", "i16": "h", "u32": "I", "i32": "i"}
DIRECTIONS = {
    C.TO_DEVICE: "ground → device",
    C.TO_GROUND: "device → ground",
    C.TO_DEVICE | C.TO_GROUND: "both",
}
# In the tables the count before a repeated part is named for what it counts.
FIELD_ALIASES = {"channels": "channel_count", "samples": "sample_count"}
REPEATED_CLASSES = {C.STATUS: M.ChannelStatus, C.TELEMETRY: M.TelemetrySample}


# --- reading the document ------------------------------------------------------------------
def read_doc():
    return DOC_PATH.read_text(encoding="utf-8")


DOC = read_doc()


def type_name(cls):
    """GetDeviceInfo -> GET_DEVICE_INFO (the constant's name)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).upper()


MESSAGE_NAMES = {}
for _t, _cls in M.MESSAGE_CLASSES.items():
    assert getattr(C, type_name(_cls)) == _t
    MESSAGE_NAMES[_t] = type_name(_cls)
TYPE_BY_NAME = {name: t for t, name in MESSAGE_NAMES.items()}


def fenced_blocks(text):
    """(language, {attr: value}, body) for every fenced code block."""
    out = []
    for m in re.finditer(r"^```(\w+)([^\n]*)\n(.*?)^```[ \t]*$", text, re.M | re.S):
        attrs = dict(re.findall(r"(\w+)=(\S+)", m.group(2)))
        out.append((m.group(1), attrs, m.group(3)))
    return out


def sections(text, level):
    """{heading text: body} for headings of exactly `level` hashes."""
    marker = "#" * level + " "
    out = {}
    current = None
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            hashes = len(line) - len(line.lstrip("#"))
            if hashes <= level:
                if current is not None:
                    out[current] = "\n".join(lines)
                current = line[len(marker) :].strip() if line.startswith(marker) else None
                lines = []
                continue
        lines.append(line)
    if current is not None:
        out[current] = "\n".join(lines)
    return out


def section(title_prefix, level=3):
    found = [body for title, body in sections(DOC, level).items() if title.startswith(title_prefix)]
    assert len(found) == 1, (
        f"expected one section starting with {title_prefix!r}, found {len(found)}"
    )
    return found[0]


def tables(text):
    """Markdown tables in `text`: (line before the table, header cells, rows of cells)."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if (
            lines[i].startswith("|")
            and i + 1 < len(lines)
            and re.match(r"^\|[\s:|-]+\|$", lines[i + 1])
        ):
            header = cells(lines[i])
            before = ""
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            if k >= 0:
                before = lines[k]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(cells(lines[i]))
                i += 1
            out.append((before, header, rows))
        else:
            i += 1
    return out


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def unquote(cell):
    return cell.strip().strip("`")


def parse_int(cell):
    return int(unquote(cell).replace("_", ""), 0)


def hexbytes(text):
    return bytes.fromhex("".join(text.split()))


# --- worked examples ------------------------------------------------------------------------
def collect_examples():
    examples = {}
    for lang, attrs, body in fenced_blocks(DOC):
        name = attrs.get("example")
        if name is None:
            continue
        ex = examples.setdefault(name, {})
        if lang == "hex":
            part = attrs.get("part")
            assert part in ("frame", "wire"), f"hex example {name} has part={part!r}"
            assert part not in ex, f"example {name} has two {part} blocks"
            ex[part] = hexbytes(body)
            if part == "wire":
                ex["role"] = attrs.get("role")
                ex["key"] = attrs.get("key")
        elif lang == "json":
            assert "expected" not in ex, f"example {name} has two json blocks"
            ex["expected"] = json.loads(body)
    return examples


EXAMPLES = collect_examples()


def receiver(role, key, session):
    if role == "ground-receives":
        return Connection(ROLE_GROUND, key=key)
    assert role == "device-receives", role
    return Connection(ROLE_DEVICE, session=session, key=key)


def sender(role, key, session):
    """The side that sent a frame the example's receiver gets, synced to `session`."""
    if role == "ground-receives":
        return Connection(ROLE_DEVICE, session=session, key=key)
    gnd = Connection(ROLE_GROUND, key=key)
    gnd.receive_data(
        Connection(ROLE_DEVICE, session=session, key=key).send(M.Heartbeat(0, 0, 0xFFFF))
    )
    assert gnd.next_event() is not None
    return gnd


def example_key(ex):
    key = ex["key"]
    assert key is not None, "wire block without key="
    return None if key == "none" else bytes.fromhex(key)


def flag_names(vf):
    return [
        name
        for bit, name in (
            (C.FLAG_RETRANSMIT, "RETRANSMIT"),
            (C.FLAG_MAC, "MAC"),
            (C.FLAG_FROM_DEVICE, "FROM_DEVICE"),
        )
        if vf & bit
    ]


def normalise(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, M.Message):
        return {k: normalise(v) for k, v in value.as_dict().items()}
    return value


def build_message(msg_type, fields):
    """The Message a JSON `message` object describes."""
    cls = M.MESSAGE_CLASSES[msg_type]
    kwargs = {}
    for name in cls.FIELDS:
        value = fields[name]
        if name == "channels":
            value = [M.ChannelStatus(**ch) for ch in value]
        elif name == "samples":
            value = [M.TelemetrySample(**s) for s in value]
        elif isinstance(value, str):
            value = bytes.fromhex(value)
        kwargs[name] = value
    assert set(fields) == set(cls.FIELDS), f"JSON fields {sorted(fields)} != {cls.FIELDS}"
    return cls(**kwargs)


def test_the_required_examples_are_there_and_complete():
    missing = REQUIRED_EXAMPLES - set(EXAMPLES)
    assert not missing, f"worked examples missing from PROTOCOL.md: {sorted(missing)}"
    for name, ex in EXAMPLES.items():
        for part in ("frame", "wire", "expected", "role"):
            assert ex.get(part) is not None, f"example {name} has no {part}"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_worked_example_decodes_as_documented(name):
    ex = EXAMPLES[name]
    wire, frame, expected = ex["wire"], ex["frame"], ex["expected"]
    key = example_key(ex)

    # the wire bytes are the COBS encoding of the frame bytes, delimiter last
    assert wire[-1] == 0 and 0 not in wire[:-1], "wire bytes must end with the only 00"
    assert len(wire) <= C.MAX_ENCODED and len(frame) <= C.MAX_FRAME
    assert cobs.decode(wire[:-1]) == frame, "the decoded frame is not what the wire bytes decode to"
    assert cobs.encode(frame) == wire, "the wire bytes are not the COBS encoding of the frame"

    session = struct.unpack_from("<I", frame, C.OFF_SESSION)[0]
    rcv = receiver(ex["role"], key, session)
    assert rcv.receive_data(wire) == len(wire)
    f = rcv.next_event()

    if not expected["accepted"]:
        assert f is None, "a rejected example was accepted"
        assert conn_mod.ERROR_NAMES[rcv.last_error] == expected["error"]
        counted = {k: v for k, v in rcv.stats.as_dict().items() if v}
        assert counted == expected["stats"]
        return

    assert f is not None, f"rejected: {conn_mod.ERROR_NAMES[rcv.last_error]}"
    assert f.kind == {"FRAME": FRAME, "DUPLICATE": DUPLICATE}[expected["kind"]]
    assert frame[0] == int(expected["ver_flags"], 16)
    assert flag_names(frame[0]) == expected["frame_flags"]
    assert f.msg_type == TYPE_BY_NAME[expected["type"]]
    assert f.seq == expected["seq"]
    assert f.session() == int(expected["session"], 16)
    assert f.length == expected["len"]
    end = C.PAYLOAD_OFFSET + f.length
    if expected["mac"] is None:
        assert not f.authenticated
    else:
        assert f.authenticated
        assert frame[end : end + C.MAC_LEN].hex() == expected["mac"]
        assert mac_mod.MacKey(key).digest(frame[:end])[: C.MAC_LEN].hex() == expected["mac"]
        end += C.MAC_LEN
    assert len(frame) == end + C.CRC_LEN
    crc = struct.unpack_from("<I", frame, end)[0]
    assert crc == int(expected["crc32"], 16) == binascii.crc32(frame[:end])
    assert normalise(M.decode(f)) == expected["message"]

    # ... and the documented message, sent by the real sender, gives the same bytes
    msg = build_message(f.msg_type, expected["message"])
    flags = C.FLAG_RETRANSMIT if "RETRANSMIT" in expected["frame_flags"] else 0
    assert sender(ex["role"], key, session).send(msg, flags=flags, seq=f.seq) == wire


def example_sections():
    """(example name, section body) for every section holding an example."""
    out = []
    for title, body in sections(DOC, 3).items():
        names = {attrs["example"] for _, attrs, _ in fenced_blocks(body) if "example" in attrs}
        assert len(names) <= 1, f"section {title!r} holds several examples"
        if names:
            out.append((names.pop(), body))
    return out


EXAMPLE_SECTIONS = example_sections()


@pytest.mark.parametrize(("name", "body"), EXAMPLE_SECTIONS, ids=[n for n, _ in EXAMPLE_SECTIONS])
def test_worked_example_field_table_matches_its_bytes(name, body):
    frame = EXAMPLES[name]["frame"]
    found = [rows for _, header, rows in tables(body) if header[:3] == ["Offset", "Bytes", "Field"]]
    assert len(found) == 1, f"example {name} needs one | Offset | Bytes | Field | Value | table"
    rows = found[0]
    offsets = [int(r[0]) for r in rows] + [len(frame)]
    assert offsets[0] == 0
    for row, start, stop in zip(rows, offsets, offsets[1:], strict=False):
        assert stop > start, f"example {name}: offsets not increasing at {row}"
        shown = unquote(row[1])
        if "…" in shown:
            head, tail = (hexbytes(p) for p in shown.split("…"))
            assert frame[start : start + len(head)] == head, f"example {name}: {row}"
            assert frame[stop - len(tail) : stop] == tail, f"example {name}: {row}"
        else:
            assert frame[start:stop] == hexbytes(shown), f"example {name}: row {row}"


# --- message sections -------------------------------------------------------------------------
def struct_tokens(fmt):
    return re.findall(r"\d*[a-zA-Z]", fmt.lstrip("<"))


def parse_payload_table(rows, repeated):
    """Check offsets are contiguous; return (min size, max size, struct tokens, names, ranged)."""
    expect = 0
    lo = hi = 0
    tokens = []
    names = []
    ranged = False
    for k, row in enumerate(rows):
        off_cell, size_cell, typ, field = row[0], row[1], row[2], unquote(row[3])
        off = int(off_cell.lstrip("+")) if repeated else int(off_cell)
        assert off_cell.startswith("+") == repeated, (
            f"offset {off_cell!r} in the wrong kind of table"
        )
        assert off == expect, f"field {field} at offset {off}, expected {expect}"
        m = re.fullmatch(r"(\d+)\.\.(\d+)", size_cell)
        if m:
            assert k == len(rows) - 1, "only the last field may have a variable size"
            assert typ == "bytes", "a variable-size field must be bytes"
            smin, smax = int(m.group(1)), int(m.group(2))
            ranged = True
        else:
            smin = smax = int(size_cell)
            b = re.fullmatch(r"bytes\[(\d+)\]", typ)
            if b:
                assert int(b.group(1)) == smin, f"bytes[{b.group(1)}] is not {smin} bytes"
                tokens.append(f"{smin}s")
            else:
                assert typ in TYPE_CODES, f"unknown type {typ!r}"
                assert struct.calcsize("<" + TYPE_CODES[typ]) == smin, f"{typ} is not {smin} bytes"
                tokens.append(TYPE_CODES[typ])
        names.append(field)
        lo += smin
        hi += smax
        expect += smin
    return lo, hi, tokens, names, ranged


@pytest.mark.parametrize("row", C.MESSAGE_TABLE, ids=lambda r: MESSAGE_NAMES[r[0]])
def test_message_section_matches_the_length_rule_and_struct_format(row):
    msg_type, direction, mn, mx, step = row
    name = MESSAGE_NAMES[msg_type]
    body = section(f"0x{msg_type:02X} {name}")

    d = re.search(r"\*\*Direction:\*\* (.+)", body)
    assert d and d.group(1).strip() == DIRECTIONS[direction], f"{name} direction"
    rule = re.search(r"\*\*Payload length:\*\*.*\(min (\d+), max (\d+), step (\d+)\)", body)
    assert rule, f"{name}: no '(min, max, step)' in its Payload length line"
    assert tuple(int(x) for x in rule.groups()) == (mn, mx, step), f"{name} length rule"

    payload_tables = [
        (before, rows)
        for before, header, rows in tables(body)
        if header[:4] == ["Offset", "Size", "Type", "Field"]
    ]
    cls = M.MESSAGE_CLASSES[msg_type]
    if not payload_tables:
        assert mn == mx == 0 and "No payload" in body, f"{name} needs a payload table"
        assert cls.FMT == "<"
        return

    fixed = [rows for before, rows in payload_tables if not rows[0][0].startswith("+")]
    repeated = [(before, rows) for before, rows in payload_tables if rows[0][0].startswith("+")]
    assert len(fixed) == 1 and len(repeated) <= 1, (
        f"{name}: one fixed table and at most one repeated one"
    )
    lo, hi, tokens, names, ranged = parse_payload_table(fixed[0], repeated=False)

    # the fixed part is the class's struct format, field by field
    assert tokens == struct_tokens(cls.FMT), f"{name}: table types {tokens}, code {cls.FMT}"
    fields = list(cls.FIELDS)
    if msg_type in REPEATED_CLASSES:
        fields[-1] = FIELD_ALIASES[fields[-1]]
    assert names == fields, f"{name} field names"

    if repeated:
        before, rows = repeated[0]
        count = re.search(r"Repeated (\d+)\.\.(\d+) times", before)
        assert count, f"{name}: the repeated table needs a 'Repeated a..b times' line"
        cmin, cmax = int(count.group(1)), int(count.group(2))
        rlo, rhi, rtokens, rnames, rranged = parse_payload_table(rows, repeated=True)
        assert not rranged and rlo == rhi
        part = REPEATED_CLASSES[msg_type]
        assert rtokens == struct_tokens(part.FMT), f"{name} repeated part types"
        assert rnames == list(part.FIELDS), f"{name} repeated part names"
        assert lo + rlo * cmin == mn, f"{name}: tables give min {lo + rlo * cmin}, code says {mn}"
        assert hi + rhi * cmax == mx, f"{name}: tables give max {hi + rhi * cmax}, code says {mx}"
        assert rlo == step, f"{name}: repeated part is {rlo} bytes, step is {step}"
    else:
        assert lo == mn, f"{name}: table adds up to {lo} bytes, code says min {mn}"
        assert hi == mx, f"{name}: table adds up to {hi} bytes at most, code says max {mx}"
        assert step == 1
        assert ranged == (mn != mx)


def test_summary_table_matches_message_table_and_mac_required():
    body = section("8.1 Summary")
    rows = {}
    for _, header, trows in tables(body):
        if header[:2] == ["Code", "Name"]:
            for r in trows:
                rows[parse_int(r[0])] = r
    assert set(rows) == {r[0] for r in C.MESSAGE_TABLE}, "summary lists other types than the code"
    for msg_type, direction, mn, mx, step in C.MESSAGE_TABLE:
        r = rows[msg_type]
        assert r[1] == MESSAGE_NAMES[msg_type]
        assert r[2] == DIRECTIONS[direction]
        assert [int(x) for x in r[3:6]] == [mn, mx, step]
        want = ("no" if msg_type in C.MAC_EXEMPT else "yes") if direction & C.TO_DEVICE else "n/a"
        assert r[6] == want, f"{MESSAGE_NAMES[msg_type]} MAC column"


# --- code tables and constants ---------------------------------------------------------------
def code_table(title_prefix):
    """{value: name} from the table(s) of a section whose rows are | value | `name` | ..."""
    out = {}
    for _, _header, rows in tables(section(title_prefix)):
        for r in rows:
            value = parse_int(r[0])
            assert value not in out, f"{title_prefix} lists {value} twice"
            out[value] = unquote(r[1])
    return out


def bits(prefix, names):
    return {getattr(C, prefix + n): prefix + n for n in names}


CODE_TABLES = [
    ("9.1 NAK reasons", dict(C.NAK_NAMES)),
    ("9.10 Configuration keys", dict(C.CONFIG_NAMES)),
    ("9.2 Device states", dict(enumerate(C.STATE_NAMES))),
    ("9.3 Safe reasons", dict(enumerate(C.SAFE_REASON_NAMES))),
    ("9.4 Device flags", bits("DEV_", ("KEY_ON", "KEYED", "LOG_FULL", "BUZZER", "FLYING", "RENEWED"))),
    ("9.5 Continuity classes", dict(enumerate(C.CONT_NAMES))),
    ("9.6 Fire results", dict(enumerate(C.FIRE_RESULT_NAMES))),
    ("9.7 ARM flags", {C.ARM_OVERRIDE_CONTINUITY: "ARM_OVERRIDE_CONTINUITY"}),
    ("9.8 Flight states", dict(enumerate(C.FLIGHT_STATE_NAMES))),
    ("9.9 FLIGHT_INFO flags", bits("FLIGHT_", ("COMPLETE", "TORN", "CORRUPT"))),
]


@pytest.mark.parametrize(("title", "expected"), CODE_TABLES, ids=[t[0] for t in CODE_TABLES])
def test_code_table_lists_exactly_the_codes_in_constants(title, expected):
    assert code_table(title) == expected


def test_every_nak_reason_and_config_key_name_appears_in_the_document():
    for name in list(C.NAK_NAMES.values()) + list(C.CONFIG_NAMES.values()):
        assert f"`{name}`" in DOC, f"{name} is not in PROTOCOL.md"


def test_ver_flags_table_and_erase_words():
    found = {}
    for _, _header, rows in tables(section("3.1 `ver_flags`")):
        for r in rows:
            found[unquote(r[1])] = parse_int(r[0])
    for name in ("FLAG_RETRANSMIT", "FLAG_MAC", "FLAG_FROM_DEVICE", "FLAGS_RESERVED"):
        assert found[name] == getattr(C, name), name
    erase = {
        unquote(r[0]): r[1]
        for _, _h, rows in tables(section("9.11 FLIGHT_ERASE words"))
        for r in rows
    }
    assert parse_int(erase["ERASE_ALL"]) == C.ERASE_ALL
    assert hexbytes(re.match(r"`([0-9a-f ]+)`", erase["ERASE_CONFIRM"]).group(1)) == C.ERASE_CONFIRM


def test_constants_table_matches_the_code():
    rows = [r for _, header, trows in tables(section("13. Constants", level=2)) for r in trows]
    assert len(rows) >= 25
    for r in rows:
        name = unquote(r[0])
        for module in (C, conn_mod, mac_mod):
            if hasattr(module, name):
                assert getattr(module, name) == parse_int(r[1]), name
                break
        else:
            pytest.fail(f"constant {name} is not in protocol/")


def test_check_table_names_the_right_counter_for_each_error():
    rows = [
        r
        for _, header, trows in tables(section("4. Receiving a frame", level=2))
        if "`Stats` counter" in header
        for r in trows
    ]
    documented = {unquote(r[3]): unquote(r[4]) for r in rows}
    actual = {}
    for err in range(1, len(conn_mod.ERROR_NAMES)):
        c = Connection(ROLE_DEVICE)
        c._drop(err)
        (counter,) = [k for k, v in c.stats.as_dict().items() if v]
        actual[conn_mod.ERROR_NAMES[err]] = counter
    assert documented == actual
    for name in conn_mod.Stats.FIELDS:
        assert f"`{name}`" in DOC, f"Stats.{name} is not described"


def test_cobs_examples_and_crc_check_value():
    rows = [
        r
        for _, header, trows in tables(section("2.1 Encoding"))
        if header[:2] == ["Decoded bytes", "Encoded on the wire"]
        for r in trows
    ]
    assert len(rows) >= 5
    for r in rows:
        assert cobs.encode(hexbytes(unquote(r[0]))) == hexbytes(unquote(r[1])), r
        assert cobs.decode(hexbytes(unquote(r[1]))[:-1]) == hexbytes(unquote(r[0])), r
    check = re.search(r"`123456789` is `0x([0-9a-f]{8})`", DOC)
    assert check and int(check.group(1), 16) == binascii.crc32(b"123456789")


def test_config_ranges_are_the_ones_the_firmware_enforces():
    from firmware.app import CONFIG

    documented = {}
    for _, _header, rows in tables(section("9.10 Configuration keys")):
        for r in rows:
            lo, hi = (int(v.strip()) for v in r[3].split(".."))
            documented[parse_int(r[0])] = (lo, hi)
    assert documented == {key: spec[:2] for key, spec in CONFIG.items()}


def test_flight_file_layout_is_the_one_the_firmware_writes():
    import struct

    from firmware import flightlog as FL

    text = section("10. Downloading a flight", level=2)
    rows = {r[0]: r for _, _h, rs in tables(text) for r in rs}
    assert rows["header"][1] == str(FL.HEADER_LEN) == str(struct.calcsize(FL.HEADER_FMT) + 4)
    assert rows["record"][1] == "%d each" % FL.RECORD_LEN
    assert struct.calcsize(FL.RECORD_FMT) + 4 == FL.RECORD_LEN
    assert "`magic` 4 bytes `%s`, `format` u8 (%d), `record_len` u8 (%d)" % (
        FL.MAGIC.decode(), FL.FORMAT_VERSION, FL.RECORD_LEN) in rows["header"][2]
    events = {FL.EV_LIFTOFF: "liftoff", FL.EV_BURNOUT: "burnout", FL.EV_APOGEE: "apogee",
              FL.EV_MAIN: "main", FL.EV_LANDED: "landed"}
    for code, name in events.items():
        assert "%d %s" % (code, name) in text, name
    assert "type` u8 (%d sample, %d event)" % (FL.REC_SAMPLE, FL.REC_EVENT) in rows["record"][2]


def test_the_receivers_compile_time_copies_match_the_constants():
    # MicroPython's const() cannot see imported names, so connection.py repeats these values
    from protocol import connection

    assert connection._MAX_ENCODED_BODY == C.MAX_ENCODED - 1
    assert connection._OVERHEAD == C.HEADER_LEN + C.CRC_LEN
    assert connection._OVERHEAD_MAC == C.HEADER_LEN + C.MAC_LEN + C.CRC_LEN
