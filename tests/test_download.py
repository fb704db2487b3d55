"""Flight downloads (PROTOCOL.md section 10) against the real simulated device.

Two ways of running the same procedure:

- `LineRig`: a SimDevice on a hand-stepped clock joined to a ground Connection by a
  simulated 115200-baud line, driving ground.download.Transfer one millisecond at a
  time. Single-threaded and seeded, so every figure (lost frames, resends, re-fetched
  bytes, simulated seconds) is the same on every run.
- DeviceClient + Downloader over `sim://`, the real threads and the on-disk part.

Every flight is logged into the board's storage by the firmware's own FlightLog
(tests/synthetic_flight.py) before the device boots.
"""

import hashlib
import json
import os
import threading

import pytest
from serial_line import LINE_BYTES_PER_MS, SerialLine
from synthetic_flight import damage_record, write_flight

from ground.client import CommandFailed, DeviceClient
from ground.download import (
    PART_SUFFIX,
    SIDECAR_SUFFIX,
    WINDOW_BYTES,
    DeviceBusy,
    DownloadCancelled,
    DownloadCorrupt,
    Downloader,
    DownloadStalled,
    NoSuchFlight,
    RangeMap,
    Transfer,
    digests_match,
    flight_file_name,
)
from ground.flightfile import parse
from ground.link import PortVanished
from protocol import constants as C
from protocol import messages as M


@pytest.fixture(scope="module")
def board_100k(tmp_path_factory):
    """A board storage folder holding one flight of just over 100 kB."""
    root = str(tmp_path_factory.mktemp("board"))
    flight, _path, data = write_flight(root, size_bytes=100_000)
    return root, flight, data


# --- the range map and the procedure, without a device ------------------------------------------------
def test_range_map_counts_new_bytes_merges_and_finds_gaps():
    m = RangeMap()
    assert m.add(10, 20) == 10
    assert m.add(30, 40) == 10
    assert m.add(15, 35) == 10  # only 20..30 was new; all three become one
    assert m.ranges == [(10, 40)]
    assert m.add(10, 40) == 0  # a repeat adds nothing
    assert m.add(40, 50) == 10 and m.ranges == [(10, 50)]  # touching ranges merge
    m.add(60, 70)
    assert m.gaps(0, 80) == [(0, 10), (50, 60), (70, 80)]
    assert m.contains(10) and not m.contains(50) and m.covers(60, 70) and not m.covers(45, 65)
    assert m.overlaps(55, 61) and not m.overlaps(50, 60)
    assert m.total == 50


def test_transfer_keeps_two_windows_asked_and_fills_gaps_from_the_first():
    size = 5 * WINDOW_BYTES
    t = Transfer(3, size)
    a, b = t.next_requests(0)
    assert (a.start, a.end, b.start, b.end) == (0, WINDOW_BYTES, WINDOW_BYTES, 2 * WINDOW_BYTES)
    assert t.next_requests(0) == []  # two in flight is the most
    for off in range(0, WINDOW_BYTES, C.FLIGHT_CHUNK_MAX):
        if off != 2 * C.FLIGHT_CHUNK_MAX:  # one chunk lost on the way
            t.on_data(3, off, bytes(C.FLIGHT_CHUNK_MAX), 10)
    assert [w.finished_by for w in t.poll(11)] == ["last-byte"]
    gap = t.next_requests(11)[0]  # the hole, before anything further on
    assert (gap.start, gap.end) == (2 * C.FLIGHT_CHUNK_MAX, 3 * C.FLIGHT_CHUNK_MAX)
    assert t.stats.resends == 1 and t.stats.gaps == 1
    # chunks of other flights, past the end, and repeats change nothing
    assert t.on_data(4, 0, b"x", 12) == 0 and t.on_data(3, size, b"x", 12) == 0
    assert t.on_data(3, 0, bytes(C.FLIGHT_CHUNK_MAX), 12) == 0
    assert t.stats.ignored_frames == 2 and t.stats.duplicate_bytes == C.FLIGHT_CHUNK_MAX


def test_transfer_finishes_silent_windows_and_stalls_after_three_fruitless_requests():
    t = Transfer(1, 10 * WINDOW_BYTES)
    t.next_requests(0)
    assert t.poll(249) == []
    assert [w.finished_by for w in t.poll(250)] == ["idle"]
    t.next_requests(250)
    # the second window waited its turn: its 250 ms start when the first one ended
    assert t.poll(499) == [] and len(t.poll(500)) == 1
    assert not t.stalled
    t.next_requests(500)
    t.poll(750)
    assert t.stalled and t.next_requests(750) == []


def test_data_of_a_later_window_finishes_the_earlier_one():
    t = Transfer(1, 4 * WINDOW_BYTES)
    _first, second = t.next_requests(0)
    t.on_data(1, second.start, bytes(100), 5)  # the device moved on: first's chunks were lost
    assert [w.finished_by for w in t.poll(5)] == ["superseded"]
    assert t.fruitless == 1


# --- a deterministic line: SimDevice on a manual clock ------------------------------------------------
class LineRig(SerialLine):
    """SerialLine with the ground's own monotonic milliseconds and a count of its frames,
    and the downloads the tests drive over it."""

    def __init__(self, storage, seed=1, flip_rate=0.0, drop_rate=0.0):
        super().__init__(storage, seed, flip_rate, drop_rate)
        self.ms = 0  # the ground's own monotonic milliseconds
        self.frames_seen = 0
        self.run(600)  # boot: the first heartbeat teaches the ground the session

    def step(self):
        self.ms += 1
        return super().step()

    def frame_received(self, now_ms):
        self.frames_seen += 1

    def flight_list(self):
        seq = self.send(M.FlightList())
        infos = [m for m in self.run(100) if isinstance(m, M.FlightInfo) and m.re_seq == seq]
        return sorted(infos, key=lambda i: i.index)

    def download(self, transfer, limit_ms=120_000):
        """Drive a Transfer until complete or stalled; returns simulated milliseconds taken."""
        start = self.ms
        while not transfer.complete and self.ms - start < limit_ms:
            transfer.poll(self.ms)
            if transfer.stalled:
                break
            for w in transfer.next_requests(self.ms):
                w.seq = self.send(M.FlightRead(transfer.flight, w.start, w.length))
            for m in self.step():
                if isinstance(m, M.FlightData):
                    transfer.on_data(m.flight, m.offset, m.data, self.ms)
                elif isinstance(m, M.Nak):
                    transfer.on_nak(m.re_seq, m.reason, self.ms)
        return self.ms - start



def test_clean_line_download_is_exact_and_keeps_the_line_busy(board_100k):
    root, flight, expected = board_100k
    rig = LineRig(root)
    try:
        (info,) = rig.flight_list()
        assert (info.flight, info.size_bytes, info.flags) == (flight, len(expected), C.FLIGHT_COMPLETE)
        t = Transfer(info.flight, info.size_bytes)
        ms = rig.download(t)
        assert t.complete and bytes(t.data) == expected and digests_match(bytes(t.data), info.crc32, info.sha256)
        s = t.stats
        assert s.resends == 0 and s.duplicate_bytes == 0 and s.timeouts == 0
        assert s.requests == -(-len(expected) // WINDOW_BYTES)
        # Simulated time, so exact: two windows in flight leave the line no idle gaps
        # (224 data bytes per 245 on the wire is 0.914; heartbeats take a little more).
        assert len(expected) / ms / LINE_BYTES_PER_MS > 0.90
    finally:
        rig.close()


@pytest.mark.parametrize("seed, rate", [(3, 2e-4), (8, 5e-4)])
def test_bit_flips_and_drops_still_give_the_exact_bytes(board_100k, seed, rate):
    root, _flight, expected = board_100k
    rig = LineRig(root, seed=seed)
    try:
        (info,) = rig.flight_list()
        rig.dev.set_faults(flip_rate=rate, drop_rate=rate)
        t = Transfer(info.flight, info.size_bytes)
        attempts = 1
        rig.download(t)
        while not t.complete and attempts < 5:  # a stall is resumed, as a user would
            t = Transfer(info.flight, info.size_bytes, t.have, t.data)
            attempts += 1
            rig.download(t)
        assert t.complete and bytes(t.data) == expected and digests_match(bytes(t.data), info.crc32, info.sha256)
        lost = rig.gnd.stats.rejected()
        assert lost > 10 and t.stats.resends > 0
        # each lost chunk is asked for again, and little else is
        assert t.stats.duplicate_bytes <= 4 * WINDOW_BYTES
    finally:
        rig.close()


def test_cut_link_stalls_then_resumes_from_the_first_gap(board_100k):
    root, _flight, expected = board_100k
    rig = LineRig(root)
    try:
        (info,) = rig.flight_list()
        t = Transfer(info.flight, info.size_bytes)
        while t.held_bytes < 0.4 * info.size_bytes:
            rig.download(t, limit_ms=1)
        rig.dev.cut_link(True)
        rig.download(t)
        assert t.stalled and not t.complete
        held = t.held_bytes
        first_gap = t.have.gaps(0, info.size_bytes)[0][0]
        rig.dev.cut_link(False)
        rig.run(800)  # whatever the device still had queued drains
        resumed = Transfer(info.flight, info.size_bytes, t.have, t.data)
        rig.download(resumed)
        assert resumed.complete and bytes(resumed.data) == expected
        assert resumed.requested.ranges[0][0] == first_gap  # never from the start
        fetched = resumed.stats.new_bytes + resumed.stats.duplicate_bytes
        assert resumed.stats.new_bytes == info.size_bytes - held
        assert fetched - (info.size_bytes - held) <= 2 * WINDOW_BYTES
    finally:
        rig.close()


# --- DeviceClient and Downloader over sim:// ---------------------------------------------------------
def _client(root, **query):
    q = "&".join(["seed=%d" % query.pop("seed", 1), "storage=%s" % root]
                 + ["%s=%s" % kv for kv in query.items()])
    client = DeviceClient("sim://?" + q)
    client.connect(timeout=5)
    return client


def test_download_over_sim_writes_the_verified_file_under_its_final_name(board_100k, tmp_path):
    root, flight, expected = board_100k
    client = _client(root)
    try:
        (info,) = client.flight_list()
        seen = []
        result = Downloader(client, str(tmp_path),
                            progress=lambda done, total, rate: seen.append((done, total))).download(info)
        assert result.data == expected
        assert hashlib.sha256(result.data).digest() == bytes(info.sha256)
        name = flight_file_name(client.info.device_id, flight)
        assert result.path == str(tmp_path / name)
        assert name.startswith("flight-%04d-" % flight) and name.endswith(".cwf")
        assert (tmp_path / name).read_bytes() == expected
        assert sorted(os.listdir(tmp_path)) == [name]  # no part, no sidecar, no temporary
        assert seen[-1] == (len(expected), len(expected))
        assert result.stats.duplicate_bytes == 0
    finally:
        client.close()


def test_noisy_link_still_gives_the_exact_bytes_over_sim(board_100k, tmp_path):
    root, _flight, expected = board_100k
    client = _client(root, seed=5)
    try:
        (info,) = client.flight_list()
        client.link._port.device.set_faults(flip_rate=3e-4, drop_rate=3e-4)
        downloader = Downloader(client, str(tmp_path))
        for _ in range(5):  # a stall keeps what arrived; the next call resumes
            try:
                result = downloader.download(info)
                break
            except DownloadStalled:
                continue
        assert result.data == expected
        assert client.link.stats.rejected() > 0 and downloader.last_transfer.stats.resends > 0
    finally:
        client.close()


def _stop_at(fraction, action):
    """A progress callback that calls action() once past `fraction` of the flight."""
    done_once = []

    def progress(done, total, _rate):
        if not done_once and done >= fraction * total:
            done_once.append(done)
            action()

    return progress


def test_unplugged_mid_download_resumes_from_the_first_gap_in_a_later_connection(board_100k, tmp_path):
    root, flight, expected = board_100k
    out = tmp_path / "out"
    client = _client(root)
    try:
        (info,) = client.flight_list()
        device = client.link._port.device
        downloader = Downloader(client, str(out), progress=_stop_at(0.4, device.unplug),
                                progress_period_s=0)
        with pytest.raises(PortVanished):
            downloader.download(info)
        name = flight_file_name(client.info.device_id, flight)
    finally:
        client.close()
    # what is on disk: the part and its sidecar, never the finished name
    assert sorted(os.listdir(out)) == sorted([name + PART_SUFFIX, name + SIDECAR_SUFFIX])
    sidecar = json.loads((out / (name + SIDECAR_SUFFIX)).read_text())
    held = sum(b - a for a, b in sidecar["ranges"])
    assert 0.4 * len(expected) <= held < len(expected)
    assert sidecar["identity"]["sha256"] == bytes(info.sha256).hex()

    client = _client(root)  # the same board (its id comes from the seed), a new connection
    try:
        (info2,) = client.flight_list()
        result = Downloader(client, str(out)).download(info2)
    finally:
        client.close()
    assert result.data == expected and result.held_at_start == held
    fetched = result.stats.new_bytes + result.stats.duplicate_bytes
    assert result.stats.new_bytes == len(expected) - held
    assert fetched <= len(expected) - held + 2 * WINDOW_BYTES  # from the first gap, not from 0
    assert sorted(os.listdir(out)) == [name]


def test_cut_link_stalls_and_the_same_downloader_resumes_in_memory(board_100k):
    root, _flight, expected = board_100k
    client = _client(root)
    try:
        (info,) = client.flight_list()
        device = client.link._port.device
        downloader = Downloader(client, progress=_stop_at(0.3, lambda: device.cut_link(True)),
                                progress_period_s=0)
        with pytest.raises(DownloadStalled) as exc:
            downloader.download(info)
        assert exc.value.resumable
        held = downloader.partial_bytes(info)
        assert 0.3 * len(expected) <= held < len(expected)
        device.cut_link(False)
        downloader.progress = None
        result = downloader.download(info)
        assert result.data == expected and result.held_at_start == held
        assert result.stats.new_bytes == len(expected) - held
    finally:
        client.close()


def test_cancel_keeps_what_arrived_and_the_next_call_fetches_only_the_rest(board_100k, tmp_path):
    root, flight, expected = board_100k
    out = tmp_path / "out"
    client = _client(root)
    try:
        (info,) = client.flight_list()
        downloader = Downloader(client, str(out), progress_period_s=0)
        downloader.progress = _stop_at(0.3, downloader.cancel)
        with pytest.raises(DownloadCancelled) as exc:
            downloader.download(info)
        assert exc.value.resumable
        held = downloader.partial_bytes(info)
        assert 0.3 * len(expected) <= held < len(expected)
        assert downloader.last_transfer.stats.new_bytes == held
        name = flight_file_name(client.info.device_id, flight)
        assert sorted(os.listdir(out)) == sorted([name + PART_SUFFIX, name + SIDECAR_SUFFIX])
        sidecar = json.loads((out / (name + SIDECAR_SUFFIX)).read_text())
        assert sum(b - a for a, b in sidecar["ranges"]) == held  # all of it, not the last checkpoint
        # a new Downloader, as after a restart of the window: the part on disk is resumed
        result = Downloader(client, str(out)).download(info)
    finally:
        client.close()
    assert result.data == expected and result.held_at_start == held
    assert result.stats.new_bytes == len(expected) - held
    fetched = result.stats.new_bytes + result.stats.duplicate_bytes
    assert fetched <= len(expected) - held + 2 * WINDOW_BYTES  # the rest, never from 0
    assert sorted(os.listdir(out)) == [name]


def test_cancel_from_another_thread_ends_a_waiting_download_before_it_would_stall(board_100k):
    root, _flight, expected = board_100k
    client = _client(root)
    try:
        (info,) = client.flight_list()
        device = client.link._port.device
        downloader = Downloader(client, progress_period_s=0)

        def fall_silent_then_cancel():
            # nothing arrives any more: the download waits (a stall takes 3 x 250 ms)
            device.cut_link(True)
            threading.Timer(0.05, downloader.cancel).start()

        downloader.progress = _stop_at(0.3, fall_silent_then_cancel)
        with pytest.raises(DownloadCancelled):
            downloader.download(info)
        held = downloader.partial_bytes(info)
        assert 0.3 * len(expected) <= held < len(expected)
        device.cut_link(False)
        downloader.progress = None
        result = downloader.download(info)  # the cancel was used up: this one runs to the end
        assert result.data == expected and result.held_at_start == held
        assert result.stats.new_bytes == len(expected) - held
    finally:
        client.close()


def test_damaged_record_is_reported_with_its_offset_and_the_rest_kept(tmp_path):
    root = str(tmp_path / "board")
    flight, _path, clean = write_flight(root, size_bytes=20_000)
    offset = damage_record(root, flight, index=100)
    client = _client(root)
    try:
        (info,) = client.flight_list()
        result = Downloader(client).download(info)  # the device's digests cover the damage
    finally:
        client.close()
    assert len(result.data) == len(clean) and result.data != clean
    ff = parse(result.data)
    assert [(b.offset, b.index) for b in ff.bad_records] == [(offset, 100)]
    assert len(ff.records) == (len(clean) - 40) // 24 - 1
    assert "byte %d" % offset in ff.summary()


def test_device_flags_a_recovered_flight_with_a_damaged_record(tmp_path):
    root = str(tmp_path / "board")
    flight, _path, _data = write_flight(root, size_bytes=10_000, close=False)
    offset = damage_record(root, flight, index=10)
    client = _client(root)
    try:
        (info,) = client.flight_list()
        assert info.flags == C.FLIGHT_TORN | C.FLIGHT_CORRUPT
        result = Downloader(client).download(info)
    finally:
        client.close()
    assert [b.offset for b in parse(result.data).bad_records] == [offset]


def test_bytes_not_matching_the_digests_are_discarded_as_corrupt(tmp_path):
    root = str(tmp_path / "board")
    _flight, path, _data = write_flight(root, size_bytes=20_000)
    out = tmp_path / "out"
    out.mkdir()
    client = _client(root)
    try:
        (info,) = client.flight_list()
        with open(path, "r+b") as f:  # the stored bytes change after the device listed them
            f.seek(5000)
            f.write(b"\xff")
        with pytest.raises(DownloadCorrupt):
            Downloader(client, str(out)).download(info)
    finally:
        client.close()
    assert os.listdir(out) == []


def test_a_part_of_another_flight_is_never_resumed(board_100k, tmp_path):
    root, flight, expected = board_100k
    client = _client(root)
    try:
        (info,) = client.flight_list()
        name = flight_file_name(client.info.device_id, flight)
        stale = dict(format="coalwood-part-1", ranges=[[0, 50_000]], identity=dict(
            device_id=bytes(client.info.device_id).hex(), flight=flight,
            size_bytes=info.size_bytes, crc32="%08x" % info.crc32, sha256="00" * 32))
        (tmp_path / (name + PART_SUFFIX)).write_bytes(bytes(50_000))
        (tmp_path / (name + SIDECAR_SUFFIX)).write_text(json.dumps(stale))
        downloader = Downloader(client, str(tmp_path))
        result = downloader.download(info)
    finally:
        client.close()
    assert result.held_at_start == 0 and downloader.discarded_stale
    assert result.data == expected


@pytest.fixture
def listed_5k(tmp_path):
    """A client connected to a board holding one 5 kB flight, and that flight's FLIGHT_INFO."""
    root = str(tmp_path / "board")
    write_flight(root, size_bytes=5_000)
    client = _client(root)
    try:
        (info,) = client.flight_list()
        yield client, info
    finally:
        client.close()


def test_download_is_refused_while_armed_and_works_once_safe(listed_5k):
    client, info = listed_5k
    client.arm(1, override_continuity=True)
    with pytest.raises(DeviceBusy) as exc:
        Downloader(client).download(info)
    assert "ARMED" in str(exc.value)
    client.disarm()
    client.status()
    assert Downloader(client).download(info).data[:4] == b"CWFL"


def test_a_cancel_asked_between_downloads_stops_the_next_one_before_it_asks(listed_5k):
    client, info = listed_5k
    downloader = Downloader(client)
    downloader.cancel()
    with pytest.raises(DownloadCancelled):
        downloader.download(info)
    assert downloader.last_transfer.stats.requests == 0 and downloader.partial_bytes(info) == 0
    assert downloader.download(info).data[:4] == b"CWFL"


def test_no_such_flight_is_named(listed_5k):
    client, info = listed_5k
    ghost = M.FlightInfo(0, 0, 1, 42, C.FLIGHT_COMPLETE, info.size_bytes, info.crc32,
                         info.sha256, 0)
    with pytest.raises(NoSuchFlight, match="no flight 42"):
        Downloader(client).download(ghost)


def test_flight_list_collects_every_entry_over_a_lossy_link(tmp_path):
    root = str(tmp_path / "board")
    for seed in range(5):
        write_flight(root, size_bytes=3_000, seed=seed)
    client = _client(root, seed=4)
    try:
        assert [i.flight for i in client.flight_list()] == [0, 1, 2, 3, 4]
        # FLIGHT_INFO frames are lost now and then: the list is asked again and merged
        client.link._port.device.set_faults(drop_rate=0.002)
        for _ in range(3):
            infos = client.flight_list()
            assert [(i.index, i.flight) for i in infos] == [(n, n) for n in range(5)]
        client.link._port.device.cut_link(True)
        with pytest.raises(CommandFailed, match="FlightList"):
            client.flight_list()
    finally:
        client.close()


def test_an_empty_log_lists_nothing(tmp_path):
    client = _client(str(tmp_path / "board"))
    try:
        assert client.flight_list() == []
    finally:
        client.close()


def test_the_download_bench_reports_its_figures():
    """The bench's JSON has its fields (speed is the bench's business, not the test's)."""
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run([sys.executable, os.path.join(repo, "tests", "bench", "download_bench.py"),
                          "--json", "--size-bytes", "12000"],
                         capture_output=True, text=True, timeout=60, cwd=repo)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    for field in ("bytes", "seconds", "goodput_ratio", "goodput_bytes_per_s", "framing_ceiling",
                  "requests", "resends", "frames", "target_ratio_min", "baud"):
        assert field in doc, field
    assert doc["bytes"] >= 12000 and doc["seconds"] > 0 and 0 < doc["goodput_ratio"] < 1
    assert doc["framing_ceiling"] == round(224 / 245, 4)
    assert set(doc["keyed"]) >= {"seconds", "goodput_ratio", "framing_ceiling"}
    assert doc["keyed"]["framing_ceiling"] == round(224 / 261, 4)
