"""Power loss of the flight log (tests/campaigns/power_loss.py): the short campaign, the
recording layer and checker it rests on, and the two power cuts it found."""

import os

from campaigns import common, power_loss

from firmware import flightlog
from firmware.flightlog import HEADER_LEN, INDEX_LEN, RECORD_LEN, FlightLog


def test_every_cut_of_logging_and_erasing_keeps_every_complete_record():
    counts = power_loss.run()
    assert common.failures(counts) == []
    # every scenario was cut at every operation, and many bytes inside writes
    assert counts["scenarios"] == 4 and counts["records_logged"] >= 1500
    assert counts["cut_points"] >= counts["journal_ops"] + 4 + power_loss.SHORT_PARTIAL_CUTS
    assert counts["flights_recovered"] == counts["flights_cut"] == counts["cut_points"]
    assert counts["erase_cut_points"] >= 40 and counts["recovery_cut_points"] >= 200
    assert counts["sync_cuts_recovered"] == counts["sync_cut_points"] >= counts["journal_ops"]
    assert counts["sync_unflushed_records_at_risk_max"] > 0  # reported, not judged


# --- the recording layer ------------------------------------------------------------------------
def _board(tmp_path, flights=2):
    root = str(tmp_path / "board")
    log = FlightLog(root)
    for i in range(flights):
        power_loss.write_direct_flight(log, 5, seed=i + 1)
    return root


def test_the_journal_holds_every_effect_of_an_erase_in_order(tmp_path):
    root = _board(tmp_path)

    def erase_first(log, journal):
        with journal.phase("erase"):
            assert log.erase(0)
        return {0}, []

    sc = power_loss._record("erase", root, erase_first)  # checks the journal against the folder
    kinds = [op[0] for op in sc.journal.ops]
    assert kinds == ["remove", "remove", "create", "write", "close", "rename"]
    assert sc.journal.ops[0][1] == "flights/0000.cwf"
    assert sc.journal.ops[-1][1:] == ("flights/index.bin.new", "flights/index.bin")
    assert sc.journal.marks["erase"] == (0, 6)
    # and the flightlog module is left as it was
    assert "open" not in vars(flightlog) and flightlog.os is os


def test_a_cut_write_leaves_its_first_bytes_and_the_sync_model_only_what_was_flushed():
    files, dirs = {}, set()
    ops = [("mkdir", "f"), ("create", "f/a", 1), ("write", "f/a", 0, b"abcd", 1),
           ("flush", "f/a", 1), ("write", "f/a", 4, b"efgh", 1)]
    for op in ops[:-1]:
        power_loss.apply_op(files, dirs, op)
    power_loss.apply_op(files, dirs, ops[-1], nbytes=3)
    assert files == {"f/a": b"abcdefg"} and dirs == {"f"}
    sync = power_loss.SyncModel({}, set())
    for op in ops:
        sync.apply(op)
    assert sync.durable == {"f/a": b"abcd"} and sync.written["f/a"] == b"abcdefgh"
    sync.apply(("close", "f/a", 1))
    assert sync.durable == {"f/a": b"abcdefgh"}


def test_the_checker_counts_a_lost_record_and_a_damaged_earlier_flight(tmp_path):
    root = _board(tmp_path)

    def log_one(log, journal):
        power_loss.write_direct_flight(log, 6, seed=9)
        return set(), []

    sc = power_loss._record("log", root, log_one)
    files = {k: bytes(v) for k, v in sc.journal.files.items()}
    cut = str(tmp_path / "cut")
    end = len(sc.journal.ops)

    counts = power_loss.Counts()
    power_loss.build_folder(cut, files, sc.journal.dirs)
    assert power_loss.check_cut(sc, cut, files, end, counts) and not counts

    # the medium lost the flight's last record (and its index entry and digest with it)
    torn = {k: v for k, v in files.items() if k not in ("flights/0002.sum", "flights/index.bin")}
    torn["flights/index.bin"] = files["flights/index.bin"][: 2 * INDEX_LEN]
    torn["flights/0002.cwf"] = files["flights/0002.cwf"][:-RECORD_LEN]
    power_loss.build_folder(cut, torn, sc.journal.dirs)
    assert not power_loss.check_cut(sc, cut, files, end, counts)
    assert counts == {"complete_records_lost": 1, "bytes_lost": RECORD_LEN}

    # a byte of an earlier flight changed
    damaged = dict(files)
    first = bytearray(files["flights/0000.cwf"])
    first[HEADER_LEN + 3] ^= 0x10
    damaged["flights/0000.cwf"] = bytes(first)
    counts = power_loss.Counts()
    power_loss.build_folder(cut, damaged, sc.journal.dirs)
    assert not power_loss.check_cut(sc, cut, damaged, end, counts)
    assert counts["other_flights_damaged"] == 1
