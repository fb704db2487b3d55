"""The flight log on CPython and on real MicroPython: nothing before a torn record is ever lost."""

import os

from mptest import no_alloc
from scratch import fresh_dir

from firmware.flightlog import (
    EV_APOGEE,
    EV_LIFTOFF,
    HEADER_LEN,
    INDEX_LEN,
    REC_EVENT,
    REC_SAMPLE,
    RECORD_LEN,
    FlightLog,
)
from protocol import constants as C


def write_flight(log, n_samples=20, close=True):
    flight = log.begin(101325, 12345, board=b"sim-2ch", fw=(0, 1, 0))
    log.append(REC_EVENT, EV_LIFTOFF, 0, 101300, 0, 0, 0)
    top = 0
    for i in range(n_samples):
        alt = i * 37
        top = max(top, alt)
        assert log.append(REC_SAMPLE, C.FLIGHT_BOOST, i * 10, 101325 - i * 4, alt, 50 - i, -98)
    log.append(REC_EVENT, EV_APOGEE, n_samples * 10, 101000, top, 0, -98)
    if close:
        log.close(top)
    else:
        log.flush()
    return flight, top


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def test_a_closed_flight_reads_back_exactly():
    root = fresh_dir()
    log = FlightLog(root)
    flight, top = write_flight(log)
    again = FlightLog(root)
    entries = again.flights()
    assert len(entries) == 1 and entries[0].flight == flight == 0
    assert entries[0].flags == C.FLIGHT_COMPLETE and entries[0].apogee_cm == top
    data = read_file(again.path(flight))
    assert entries[0].size == len(data) == HEADER_LEN + RECORD_LEN * 22
    buf = bytearray(100)
    n = again.read_into(flight, 50, buf, 100)
    assert n == 100 and bytes(buf) == data[50:150]
    assert again.read_into(flight, len(data), buf, 10) == 0
    assert again.next_flight_number() == 1 and not again.recovered


def test_a_power_cut_at_every_byte_loses_only_the_torn_record():
    root = fresh_dir()
    log = FlightLog(root)
    flight, _top = write_flight(log, n_samples=12, close=False)
    log._file.close()  # the power goes: the flight was never closed
    data = read_file(log.path(flight))
    for cut in range(len(data) + 1):
        d = fresh_dir()
        os.mkdir(d + "/flights")
        with open(d + "/flights/0000.cwf", "wb") as f:
            f.write(data[:cut])
        rec = FlightLog(d)
        assert rec.recovered == [0], cut
        e = rec.flights()[0]
        assert e.flags & C.FLIGHT_TORN
        if cut < HEADER_LEN:
            assert e.size == 0 and e.flags & C.FLIGHT_CORRUPT, cut
            continue
        whole = (cut - HEADER_LEN) // RECORD_LEN
        assert e.size == HEADER_LEN + whole * RECORD_LEN, cut
        assert not e.flags & C.FLIGHT_CORRUPT, cut
        buf = bytearray(e.size)
        assert rec.read_into(0, 0, buf, e.size) == e.size
        assert bytes(buf) == data[: e.size], cut  # everything before the tear, intact
        # and a second boot changes nothing
        assert FlightLog(d).flights()[0].size == e.size


def test_a_damaged_record_inside_is_reported_and_the_rest_kept():
    root = fresh_dir()
    log = FlightLog(root)
    flight, _ = write_flight(log, close=False)
    log._file.close()
    path = log.path(flight)
    data = bytearray(read_file(path))
    data[HEADER_LEN + RECORD_LEN * 5 + 7] ^= 0x20
    with open(path, "wb") as f:
        f.write(data)
    e = FlightLog(root).flights()[0]
    assert e.flags & C.FLIGHT_CORRUPT and e.size == len(data)


def test_a_torn_index_entry_is_rebuilt_from_the_flight_file():
    root = fresh_dir()
    log = FlightLog(root)
    write_flight(log)
    write_flight(log)
    index = read_file(log.index_path)
    with open(log.index_path, "wb") as f:
        f.write(index[:-5])  # the second entry was being written when the power went
    again = FlightLog(root)
    assert [e.flight for e in again.flights()] == [0, 1]
    assert again.recovered == [1]
    assert again.flights()[0].flags == C.FLIGHT_COMPLETE


def test_full_storage_stops_logging_cleanly_and_keeps_earlier_flights():
    root = fresh_dir()
    log = FlightLog(root, capacity_bytes=2000, reserve_bytes=200)
    write_flight(log, n_samples=10)
    first = read_file(log.path(0))
    flight = log.begin(101325, 0)
    assert flight == 1
    stored = 0
    while log.append(REC_SAMPLE, 2, stored, 100000, stored, 0, 0):
        stored += 1
    assert log.log_full and stored > 0
    log.close(0)
    again = FlightLog(root, capacity_bytes=2000, reserve_bytes=200)
    assert read_file(again.path(0)) == first
    assert again.flights()[1].size == HEADER_LEN + RECORD_LEN * stored
    assert again.begin(101325, 0) == -1 and again.log_full


def test_erase_needs_a_known_flight_and_never_runs_while_logging():
    root = fresh_dir()
    log = FlightLog(root)
    write_flight(log)
    write_flight(log)
    assert not log.erase(7)
    assert log.erase(0)
    assert [e.flight for e in FlightLog(root).flights()] == [1]
    log.begin(101325, 0)
    assert not log.erase(C.ERASE_ALL)  # a flight is being logged
    log.close(0)
    assert log.erase(C.ERASE_ALL)
    assert FlightLog(root).flights() == []


def test_appending_a_sample_allocates_nothing():
    root = fresh_dir()
    log = FlightLog(root)
    log.begin(101325, 0)
    state = [0]

    def one_sample():
        state[0] += 10
        log.append(REC_SAMPLE, 2, state[0], 100000, state[0], 12, -3)

    no_alloc(one_sample)
    log.close(0)


def _reference_digest(path, size):
    import hashlib

    data = read_file(path)[:size]
    crc = bytearray(4)
    from protocol.crc import crc32_into

    crc32_into(data, 0, len(data), crc, 0)
    return bytes(crc), hashlib.sha256(data).digest()


def test_a_closed_flight_carries_the_crc_and_sha256_of_its_bytes():
    root = fresh_dir()
    log = FlightLog(root)
    flight, _top = write_flight(log, n_samples=30)
    e = log.entry(flight)
    want = _reference_digest(log.path(flight), e.size)
    assert log.digest(flight) == want
    # after a reboot the digest comes from the .sum file, unchanged
    assert FlightLog(root).digest(flight) == want


def test_a_recovered_flight_digest_covers_only_its_valid_bytes():
    root = fresh_dir()
    log = FlightLog(root)
    flight, _top = write_flight(log, n_samples=12, close=False)
    log._file.close()  # the power is cut: no .sum, no index entry
    with open(log.path(flight), "ab") as f:
        f.write(b"\x01\x02\x03")  # a torn part-record
    again = FlightLog(root)
    e = again.entry(flight)
    assert e.size == HEADER_LEN + 14 * RECORD_LEN
    assert again.digest(flight) == _reference_digest(again.path(flight), e.size)


def test_a_damaged_digest_file_is_recomputed():
    root = fresh_dir()
    log = FlightLog(root)
    flight, _top = write_flight(log, n_samples=5)
    want = log.digest(flight)
    with open(log.sum_path(flight), "wb") as f:
        f.write(b"\x00" * 40)
    assert FlightLog(root).digest(flight) == want


def test_free_bytes_fall_as_records_are_written_and_return_on_erase():
    root = fresh_dir()
    log = FlightLog(root, capacity_bytes=64 * 1024, reserve_bytes=1024)
    before = log.free_bytes
    flight, _top = write_flight(log, n_samples=40)
    used = before - log.free_bytes
    assert used >= HEADER_LEN + 42 * RECORD_LEN, used
    log.erase(flight)
    assert log.free_bytes == before


# --- two power cuts the power-loss campaign (tests/campaigns/power_loss.py) found ---------------
def _short_flight(log, n=3):
    log.begin(101325, 0)
    for i in range(n):
        log.append(REC_SAMPLE, C.FLIGHT_BOOST, i, 101000, i, 0, 0)
    log.close(n)


def test_a_power_cut_inside_erase_never_leaves_a_flight_listed_without_its_file():
    root = fresh_dir()
    log = FlightLog(root)
    _short_flight(log)
    _short_flight(log)
    os.remove(log.path(1))  # erase(1) removed the file; the power went before the index
    again = FlightLog(root)
    assert [e.flight for e in again.flights()] == [0]  # the erase is finished, not half done
    try:
        os.stat(again.sum_path(1))
        assert False, "the erased flight's digest file is still there"
    except OSError:
        pass
    assert FlightLog(root).flights()[0].flags == C.FLIGHT_COMPLETE


def test_a_torn_index_entry_is_gone_before_the_next_entry_is_appended():
    root = fresh_dir()
    log = FlightLog(root)
    _short_flight(log)
    _short_flight(log)
    index = read_file(log.index_path)
    with open(log.index_path, "wb") as f:
        f.write(index[: INDEX_LEN + 5])  # close() of flight 1 cut inside its index entry
    first = FlightLog(root)
    assert first.recovered == [1]
    _short_flight(first)  # flight 2, closed COMPLETE
    second = FlightLog(root)
    assert second.recovered == []  # nothing recovered twice
    assert [(e.flight, e.flags) for e in second.flights()] == [
        (0, C.FLIGHT_COMPLETE), (1, C.FLIGHT_TORN), (2, C.FLIGHT_COMPLETE)]
