"""Bad input to every user surface (tests/campaigns/bad_input.py): its short version, the
checks it judges by, and the mends it found, each pinned on its own."""

import argparse
import contextlib
import io
import os

import pytest
from campaigns import bad_input, common

from ground.cli import build_parser, main


def test_every_subcommand_refuses_bad_input_in_one_line_and_writes_nothing():
    counts = bad_input.run()
    assert common.failures(counts) == [], counts["examples"]
    # it really ran the table over every subcommand, and the ports really were wrong
    assert counts["subcommands"] >= 20 and counts["subcommands_covered"] == counts["subcommands"]
    assert counts["cases"] >= 250 and counts["in_process_runs"] >= 240
    assert counts["subprocess_runs"] >= 5 and counts["fuzz_runs"] >= 20
    if os.name == "posix":
        assert counts["parts_kept"] == 1  # the cut-off download kept its resumable part
    assert counts["elapsed_s"] < 45


def test_a_subcommand_without_cases_is_counted():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.add_parser("launch-twice")
    counts = {}
    bad_input.coverage(bad_input.table(), counts, parser)
    assert counts["uncovered"] == ["launch-twice"] and counts["subcommands_without_cases"] == 1
    assert "library add" in bad_input.subcommands(parser)  # actions count one by one


@pytest.mark.parametrize("code, err, fault", [
    (3, "coalwood: error: no such port\n", None),
    (0, "coalwood: error: no such port\n", "zero_exits"),
    (3, "", "silent_errors"),
    (3, "coalwood: error: one\nand another\n", "multi_line_errors"),
    (2, "usage: coalwood x [-h]\n          [--y Y]\ncoalwood x: error: argument --y\n", None),
    (2, "usage: coalwood x [-h]\nsomething else\ncoalwood x: error: bad\n", "multi_line_errors"),
    (3, "coalwood: error: cannot open x: [Errno 21] Is a directory\n", "exception_dumps"),
    (3, "coalwood: error: bad: invalid literal for int() with base 10: 'x'\n", "exception_dumps"),
    (1, "Traceback (most recent call last):\n  File \"x\", line 1\nValueError: x\n", "tracebacks"),
])
def test_the_judgement_of_one_run(code, err, fault):
    faults = bad_input.judge(bad_input.REFUSED, bad_input.Outcome(code, "", err), [])
    assert sorted({f[0] for f in faults}) == ([] if fault is None else [fault])


def test_the_judgement_counts_files_written_unless_allowed(tmp_path):
    before = bad_input.snapshot(str(tmp_path))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "flight-0000-ab.cwf.part").write_bytes(b"x")
    after = bad_input.snapshot(str(tmp_path))
    assert bad_input.changes(before, after) == ["out", os.path.join("out", "flight-0000-ab.cwf.part")]
    assert bad_input.changes(before, after, ("out", "out/*.cwf.part")) == []
    outcome = bad_input.Outcome(5, "", "coalwood: error: gone\n")
    assert [f[0] for f in bad_input.judge(bad_input.REFUSED, outcome, ["out"])] == [
        "files_half_written"]


# --- the mends, one by one ------------------------------------------------------------------
def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """A good flight log, and one with two records failing their CRC."""
    import synthetic_flight

    from firmware.flightlog import HEADER_LEN, RECORD_LEN

    folder = tmp_path_factory.mktemp("logs")
    _n, _p, good = synthetic_flight.write_flight(str(folder / "board"))
    flipped = bytearray(good)
    for record in (3, 77):
        flipped[HEADER_LEN + RECORD_LEN * record + 5] ^= 0x10
    (folder / "good.cwf").write_bytes(good)
    (folder / "damaged.cwf").write_bytes(bytes(flipped))
    (folder / "noise.bin").write_bytes(bytes(range(256)) * 8)
    return folder


def test_channel_0_is_refused_before_any_port_is_opened():
    # it was Python's channels[-1]: the preflight read channel 2, then ARM crashed
    code, out, err = _run(["launch", "--port", "/dev/does-not-exist", "--channel", "0", "--yes"])
    assert code == 3 and "counts from 1" in err and out == ""
    code, _out, err = _run(["igniter-test", "--port", "sim://?seed=1", "--channel", "1",
                            "--fire", "--pulse-ms", "99999", "--yes"])
    assert code == 3 and "--pulse-ms" in err


def test_a_damaged_log_is_analysed_and_said_so_with_exit_7(logs):
    code, out, err = _run(["analyze", str(logs / "damaged.cwf")])
    assert code == 7 and "apogee" in out
    assert err.count("\n") == 1 and "damaged" in err and "record 3" in err
    assert _run(["analyze", str(logs / "good.cwf")])[0] == 0


def test_library_add_refuses_what_is_no_flight_and_makes_no_library(logs, tmp_path):
    root = tmp_path / "lib"
    code, _out, err = _run(["library", "add", str(logs / "good.cwf"), str(logs / "noise.bin"),
                            "--library", str(root)])
    assert code == 3 and "noise.bin is not a flight log" in err and not root.exists()
    code, out, err = _run(["library", "add", str(logs / "damaged.cwf"), "--library", str(root)])
    assert code == 0 and "added as #1" in out and err.startswith("coalwood: warning:")


def test_a_download_with_nothing_to_fetch_makes_no_folder(tmp_path):
    out = tmp_path / "flights"
    code, _out, err = _run(["download", "--port", "sim://?seed=1", "-o", str(out),
                            "--no-library"])
    assert code == 3 and "nothing to download" in err and not out.exists()


def test_decode_with_no_frame_fails_in_one_line_on_stderr():
    code, out, err = _run(["decode", "00"])
    assert code == 3 and out == "" and err.startswith("coalwood: error: no frame decoded")


def test_a_reader_that_went_away_stops_the_command_quietly(logs, monkeypatch):
    class Gone(io.StringIO):
        def write(self, _text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", Gone())
    assert main(["analyze", str(logs / "good.cwf")]) == 141


@pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero are POSIX")
def test_devices_and_pipes_are_refused_not_read_for_ever(tmp_path):
    from ground.flight.formats import FlightFormatError, read_log_bytes
    from ground.trajectory.spec import SpecError, read

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        with pytest.raises(FlightFormatError, match="not a file"):
            read_log_bytes(path)
        with pytest.raises(SpecError, match="not a file"):
            read(path)


def test_outputs_are_whole_or_absent(tmp_path):
    from ground.download import output_folder_problem
    from ground.flight.output import write_file
    from ground.trajectory.spec import save

    with pytest.raises(FileNotFoundError):
        save(str(tmp_path / "missing" / "r.json"), {"motor": "C6"})
    with pytest.raises(IsADirectoryError):
        write_file(str(tmp_path), b"x")
    assert os.listdir(tmp_path) == []  # no folder made, no temporary file left
    (tmp_path / "a-file").write_text("x")
    assert output_folder_problem(str(tmp_path / "a-file")) == "it is a file, not a folder"
    assert output_folder_problem(str(tmp_path / "new" / "deeper")) is None
    assert sorted(os.listdir(tmp_path)) == ["a-file"]  # asking made nothing
