"""The altimeter recorder on CPython and real MicroPython: a flight in, a complete log out."""

import os
import struct

import flight_profile as F
from mptest import no_alloc
from scratch import fresh_dir

from firmware.flightlog import (
    EV_APOGEE,
    EV_BURNOUT,
    EV_LANDED,
    EV_LIFTOFF,
    EV_MAIN,
    HEADER_LEN,
    REC_EVENT,
    REC_SAMPLE,
    RECORD_FMT,
    RECORD_LEN,
    FlightLog,
)
from firmware.recorder import PRE_LAUNCH_RECORDS, Recorder
from protocol import constants as C
from protocol import messages as M


def fly(rec, until_s=None, drain=True):
    """Feed the profile at 100 Hz; returns the time in ms it stopped at."""
    end_ms = int(((F.T_LANDED + 14.0) if until_s is None else until_s) * 1000)
    t = 0
    while t <= end_ms:
        rec.sample(t, F.pressure_pa(t / 1000.0))
        if drain:
            rec.drain()
        t += 10
    return t


def steps(times):
    """Differences between successive times (MicroPython has no itertools.pairwise)."""
    return [times[i + 1] - times[i] for i in range(len(times) - 1)]


def records(log, flight):
    with open(log.path(flight), "rb") as f:
        data = f.read()
    out = []
    for off in range(HEADER_LEN, len(data), RECORD_LEN):
        out.append(struct.unpack_from(RECORD_FMT, data, off))
    return out


def test_a_flight_is_logged_whole_with_its_events_in_order():
    log = FlightLog(fresh_dir())
    rec = Recorder(log)
    fly(rec)
    assert rec.state == C.FLIGHT_PAD and not rec.flying  # closed, back on the pad
    entries = log.flights()
    assert len(entries) == 1 and entries[0].flags == C.FLIGHT_COMPLETE
    e = entries[0]
    size, flags, _top = log.scan(e.flight)
    assert size == e.size and flags == 0  # every record's CRC holds
    rs = records(log, e.flight)
    events = [(r[1], r[3], r[5]) for r in rs if r[0] == REC_EVENT]
    assert [ev[0] for ev in events] == [EV_LIFTOFF, EV_BURNOUT, EV_APOGEE, EV_MAIN, EV_LANDED]
    apogee = events[2]
    assert abs(apogee[2] / 100.0 - F.APOGEE_M) < 0.01 * F.APOGEE_M, apogee
    assert abs(apogee[1] / 1000.0 - F.T_APOGEE) < 0.5, apogee
    assert abs(e.apogee_cm - apogee[2]) == 0


def test_the_log_starts_two_seconds_before_liftoff():
    log = FlightLog(fresh_dir())
    rec = Recorder(log)
    fly(rec)
    rs = records(log, 0)
    liftoff_i = [i for i, r in enumerate(rs) if r[0] == REC_EVENT and r[1] == EV_LIFTOFF][0]
    before = [r for r in rs[:liftoff_i] if r[0] == REC_SAMPLE]
    assert len(before) >= PRE_LAUNCH_RECORDS
    assert [r[1] for r in before[:5]] == [C.FLIGHT_PAD] * 5
    # the pad samples reach back past the moment the rocket left
    assert before[0][3] <= int(F.PAD_S * 1000) - 1000


def test_ascent_at_100_hz_and_descent_at_10_hz():
    log = FlightLog(fresh_dir())
    rec = Recorder(log)
    fly(rec)
    samples = [r for r in records(log, 0) if r[0] == REC_SAMPLE]
    coast = [r[3] for r in samples if r[1] == C.FLIGHT_COAST]
    main = [r[3] for r in samples if r[1] == C.FLIGHT_MAIN]
    assert set(steps(coast)) == {10}
    gaps = steps(main)
    assert gaps and min(gaps) == 100 and max(gaps) == 100, gaps


def test_nothing_is_lost_when_writes_are_held_back_for_a_fire_cap():
    log = FlightLog(fresh_dir())
    rec = Recorder(log)
    fly(rec, until_s=F.PAD_S + 0.9)  # liftoff detected, writing under way
    assert rec.flying
    t = int((F.PAD_S + 0.9) * 1000) + 10
    for _ in range(300):  # 3 s with an output on: nothing drained
        rec.sample(t, F.pressure_pa(t / 1000.0))
        t += 10
    assert rec.lost_records == 0
    while t <= int((F.T_LANDED + 14.0) * 1000):
        rec.sample(t, F.pressure_pa(t / 1000.0))
        rec.drain()
        t += 10
    times = [r[3] for r in records(log, 0) if r[0] == REC_SAMPLE and r[1] == C.FLIGHT_BOOST]
    assert set(steps(times)) == {10}


def test_full_storage_keeps_detecting_and_says_log_full():
    log = FlightLog(fresh_dir(), capacity_bytes=4096 + HEADER_LEN + 50 * RECORD_LEN, reserve_bytes=4096)
    rec = Recorder(log)
    fly(rec)
    assert rec.log_full
    e = log.flights()[0]
    assert e.size == HEADER_LEN + 50 * RECORD_LEN  # the first 50 records, whole
    assert log.scan(0)[1] == 0


def test_no_barometer_is_idle_and_logs_nothing():
    log = FlightLog(fresh_dir())
    rec = Recorder(log)
    for t in range(0, 5000, 10):
        rec.sample(t, -1)
        rec.drain()
    assert rec.state == C.FLIGHT_IDLE and log.flights() == []


def test_telemetry_batches_decode_as_the_protocol_says():
    log = FlightLog(fresh_dir())
    rec = Recorder(log, telemetry_hz=20)
    batches = []
    buf = bytearray(300)
    t = 0
    while t < int(F.T_APOGEE * 1000):
        rec.sample(t, F.pressure_pa(t / 1000.0))
        rec.drain()
        if rec.telemetry_due(t):
            n = rec.take_telemetry(buf, 0)
            batches.append(M.Telemetry.unpack_from(buf, 0, n))
        t += 10
    assert batches, "no telemetry in flight"
    assert all(len(b.samples) == 5 for b in batches[:-1])  # 20 Hz in 250 ms batches
    last = batches[-1].samples[-1]
    assert abs(last.altitude_cm / 100.0 - F.height_m((batches[-1].base_ms + last.dt_ms) / 1000.0)) < 5.0


def test_a_sample_allocates_nothing_on_the_pad_and_in_flight():
    log = FlightLog(fresh_dir())
    rec = Recorder(log)
    clock = [0]

    def one_sample():
        t = clock[0]
        rec.sample(t, pressures[t // 10])
        rec.drain()
        clock[0] = t + 10

    # pressures computed up front: the profile itself uses floats
    pressures = [F.pressure_pa(i / 100.0) for i in range(int((F.PAD_S + 3.0) * 100))]
    while clock[0] < 2000:
        one_sample()
    no_alloc(one_sample)  # on the pad, baseline set
    while rec.state != C.FLIGHT_BOOST:
        one_sample()
    for _ in range(20):
        one_sample()
    no_alloc(one_sample)  # in flight: logging and telemetry
    assert rec.flying


def test_a_failed_read_in_flight_is_skipped_not_a_reset():
    log = FlightLog(fresh_dir())
    rec = Recorder(log)
    t = 0
    end = int((F.T_LANDED + 14.0) * 1000)
    while t <= end:
        # every 50th read fails, as a loose I2C connector would
        p = -1 if (t // 10) % 50 == 49 else F.pressure_pa(t / 1000.0)
        rec.sample(t, p)
        rec.drain()
        assert not (rec.flying and rec.state == C.FLIGHT_IDLE)
        t += 10
    assert rec.missed_samples > 100
    e = log.flights()[0]
    assert e.flags == C.FLIGHT_COMPLETE
    assert abs(e.apogee_cm / 100.0 - F.APOGEE_M) < 0.01 * F.APOGEE_M


def test_the_flight_file_is_opened_only_by_drain():
    # drain() is what the app holds back while an output is on: liftoff detected during a
    # fire must not touch flash (opening the file writes and flushes its header)
    root = fresh_dir()
    log = FlightLog(root)
    rec = Recorder(log)
    fly(rec, until_s=F.PAD_S + 0.9, drain=False)
    assert rec.flying and not log.logging
    assert [n for n in os.listdir(root + "/flights") if n.endswith(".cwf")] == []
    rec.drain()
    assert log.logging and rec.flight == 0
