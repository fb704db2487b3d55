"""The `coalwood` command line: help, decode, one-line errors."""

import json
import subprocess
import sys

from ground.cli import main
from protocol import ROLE_DEVICE, Connection
from protocol import messages as M


def _wire(*messages, key=None):
    dev = Connection(ROLE_DEVICE, session=0x1234ABCD, key=key)
    return b"".join(dev.send(m) for m in messages)


def test_help_runs_as_a_program():
    out = subprocess.run([sys.executable, "-m", "ground.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "decode" in out.stdout and "coalwood" in out.stdout


def test_decode_prints_each_frame(capsys):
    wire = _wire(M.Heartbeat(1, 1, 7), M.Nak(3, 0x10, 2))
    assert main(["decode", wire.hex()]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Heartbeat") and "last_rx_seq=7" in out[0]
    assert out[1].startswith("Nak") and "reason=2" in out[1]


def test_decode_json_for_scripts(capsys):
    wire = _wire(M.Status(re_seq=5, state=1, battery_mv=8100, channels=[M.ChannelStatus(2, 0, 1000)]))
    assert main(["decode", "--json", wire.hex()]) == 0
    doc = json.loads(capsys.readouterr().out)
    frame = doc["frames"][0]
    assert frame["type"] == "Status" and frame["session"] == "0x1234abcd"
    assert frame["fields"]["battery_mv"] == 8100
    assert frame["fields"]["channels"][0]["resistance_mohm"] == 1000
    assert doc["stats"]["frames_ok"] == 1


def test_decode_reports_rejected_frames_and_exits_non_zero(capsys):
    wire = bytearray(_wire(M.Heartbeat(0, 0, 0)))
    wire[5] ^= 0x01
    assert main(["decode", wire.hex()]) == 3
    assert "rejected 1 frame(s): crc" in capsys.readouterr().out


def test_keyed_frames_need_the_right_key(capsys):
    key = bytes(range(32))
    wire = _wire(M.Heartbeat(0, 2, 0), key=key)
    assert main(["decode", "--key", key.hex(), wire.hex()]) == 0
    assert main(["decode", wire.hex()]) == 3
    assert "mac" in capsys.readouterr().out


def test_bad_input_is_one_line_not_a_traceback(capsys):
    assert main(["decode", "not-hex"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("coalwood: error: not hex") and len(err.splitlines()) == 1
    assert main(["decode", "--key", "abcd", "00"]) == 3
    assert "32 bytes" in capsys.readouterr().err
