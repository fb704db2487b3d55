"""Reading downloaded flight logs (ground/flightfile.py) written by the firmware's FlightLog."""

import binascii
import struct

import numpy as np
import pytest
from synthetic_flight import damage_record, profile, write_flight

import firmware.flightlog as FL
from ground import flightfile
from ground.flightfile import NotAFlightLog, TruncatedFlightLog, load, parse


@pytest.fixture(scope="module")
def flight(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("board"))
    number, path, data = write_flight(root, burn_s=3.0, seed=2)
    return root, number, path, data


def test_the_layout_is_the_firmwares_own():
    assert flightfile.RECORD_LEN is FL.RECORD_LEN and flightfile.HEADER_LEN is FL.HEADER_LEN
    assert flightfile.RECORD_DTYPE.itemsize == FL.RECORD_LEN
    buf = bytearray(FL.RECORD_LEN)
    FL.pack_record(buf, 0, FL.REC_SAMPLE, 3, 123456, 99000, -1234, -56, 78)
    rec = np.frombuffer(bytes(buf), dtype=flightfile.RECORD_DTYPE)[0]
    assert (rec["type"], rec["code"], rec["t_ms"], rec["pressure_pa"], rec["altitude_cm"],
            rec["speed_dms"], rec["accel_dms2"]) == (FL.REC_SAMPLE, 3, 123456, 99000, -1234, -56, 78)


def test_header_records_and_events_of_a_whole_flight(flight):
    _root, number, path, data = flight
    ff = load(path)
    h = ff.header
    assert h.crc_ok and h.flight == number and h.board == "sim-2ch" and h.version == 1
    assert (h.ascent_hz, h.descent_hz, h.record_len, h.pad_pressure_pa) == (100, 10, 24, 101325)
    assert ff.ok and ff.problems() == []
    assert len(ff.records) == (len(data) - FL.HEADER_LEN) // FL.RECORD_LEN
    expected = profile(3.0, seed=2)
    samples = [r for r in expected if r[0] == FL.REC_SAMPLE]
    assert len(ff.samples["t_s"]) == len(samples)
    assert ff.samples["altitude_m"][-1] == pytest.approx(samples[-1][4] / 100)
    assert [e.name for e in ff.events] == ["liftoff", "burnout", "apogee", "main", "landed"]
    times = [e.t_s for e in ff.events]
    assert times == sorted(times) and times[0] == 0.0  # T+0 is liftoff detection
    apogee = max(r[4] for r in expected) / 100
    assert ff.apogee_m == pytest.approx(apogee) == ff.event("apogee").altitude_m
    top = int(np.argmax(ff.samples["altitude_m"]))
    assert ff.samples["t_s"][top] == pytest.approx(ff.event("apogee").t_s, abs=0.05)
    # samples begin about 2 s before liftoff, at 100 Hz
    assert -2.5 < ff.samples["t_s"][0] < -1.9
    assert np.diff(ff.samples["t_s"][:50]) == pytest.approx(0.01)
    line = ff.summary()
    assert line.startswith("flight %d; %d records; apogee %.1f m at T+" % (number, len(ff.records), apogee))
    assert "liftoff T+0.00 s" in line and "landed T+" in line


def test_a_damaged_record_is_reported_by_offset_and_the_rest_kept(tmp_path):
    root = str(tmp_path / "b")
    number, path, clean = write_flight(root, burn_s=3.0, seed=2)
    offsets = [damage_record(root, number, i) for i in (0, 500, 501)]
    ff = load(path)
    assert [(b.offset, b.index, b.reason) for b in ff.bad_records] == [
        (offsets[0], 0, "crc"), (offsets[1], 500, "crc"), (offsets[2], 501, "crc")]
    whole = parse(clean)
    assert len(ff.records) == len(whole.records) - 3
    kept = np.delete(whole.records, [0, 500, 501])
    assert np.array_equal(ff.records, kept)
    assert list(ff.offsets[:2]) == [FL.HEADER_LEN + 24, FL.HEADER_LEN + 48]
    assert not ff.ok and len(ff.problems()) == 3
    assert "3 damaged records (at byte %d, %d, %d) left out" % tuple(offsets) in ff.summary()


def test_a_torn_tail_is_reported_and_the_records_before_it_kept(flight):
    _root, _number, _path, data = flight
    ff = parse(data + data[FL.HEADER_LEN:FL.HEADER_LEN + 10])
    assert ff.tail_bytes == 10 and len(ff.records) == len(parse(data).records)
    assert "torn" in ff.problems()[0]


def test_a_damaged_header_keeps_the_records(flight):
    _root, _number, _path, data = flight
    bad = bytearray(data)
    bad[20] ^= 0xFF  # inside the board name
    ff = parse(bytes(bad))
    assert not ff.header.crc_ok and len(ff.records) == len(parse(data).records)
    assert "header" in ff.problems()[0]


@pytest.mark.parametrize("blob", [
    b"\x89PNG\r\n\x1a\n" + bytes(100),
    b"CWFX" + bytes(100),
    b"# a CSV export\ntime,altitude\n",
])
def test_bytes_that_are_not_a_flight_log_are_refused(blob):
    with pytest.raises(NotAFlightLog, match="not a Coalwood flight log"):
        parse(blob)


@pytest.mark.parametrize("n", [0, 3, 4, 39])
def test_a_truncated_header_is_refused(flight, n):
    _root, _number, _path, data = flight
    with pytest.raises(TruncatedFlightLog, match="40 bytes"):
        parse(data[:n])


def test_another_format_version_is_refused(flight):
    _root, _number, _path, data = flight
    head = bytearray(data[:FL.HEADER_LEN])
    head[4] = 2
    struct.pack_into("<I", head, FL.HEADER_LEN - 4, binascii.crc32(head[:-4]))
    with pytest.raises(NotAFlightLog, match="format 2"):
        parse(bytes(head))


def test_times_are_right_across_the_tick_wrap(tmp_path):
    log = FL.FlightLog(str(tmp_path))
    start = (1 << 30) - 500  # liftoff half a second before the device tick wraps
    log.begin(101325, start, b"sim", (0, 1, 0))
    for i in range(100):
        log.append(FL.REC_SAMPLE, 2, (start + i * 10) & ((1 << 30) - 1), 100000, i * 100, 0, 0)
    log.close(9900)
    ff = load(log.path(0))
    assert ff.samples["t_s"] == pytest.approx(np.arange(100) * 0.01)
