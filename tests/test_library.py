"""The local flight library (ground/flight/library.py): real files and a real SQLite index in
tmp_path. Bytes are kept exactly, stored once, checked on the way out; damage to a blob or
to the index is reported and never papered over; two processes adding at once."""

import json
import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from synthetic_flight import write_flight

from ground import flightfile
from ground.flight import library as L
from ground.flight.library import BlobDamaged, Library, LibraryCorrupt, NotInLibrary

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def flights(tmp_path_factory):
    """Two different .cwf flights, as the board's flight log writes them."""
    board = str(tmp_path_factory.mktemp("board"))
    _n, _p, first = write_flight(board, size_bytes=6_000)
    _n, _p, second = write_flight(board, size_bytes=5_000, seed=1)
    return first, second


def _blob_files(root):
    out = []
    for folder, _dirs, names in os.walk(os.path.join(root, "blobs")):
        out.extend(os.path.join(folder, n) for n in names)
    return sorted(out)


def _flip_byte(path, offset):
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))
    os.chmod(path, 0o444)


def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _put(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _sha(data):
    return L.sha256_hex(data)


def test_a_flight_is_stored_once_byte_for_byte_with_its_header_in_the_index(tmp_path, flights):
    first, _second = flights
    root = str(tmp_path / "lib")
    with Library(root) as lib:
        r = lib.add(first, source="downloaded", device_id=b"\x01\x02\xab\xcd")
        assert r.added and not r.repaired
        e = r.entry
        ff = flightfile.parse(first)
        assert (e.id, e.sha256, e.size_bytes, e.format) == (1, _sha(first), len(first), "cwf")
        assert (e.device_id, e.board, e.firmware, e.flight) == ("0102abcd", "sim-2ch", "0.1.0", 0)
        assert e.apogee_m == pytest.approx(ff.apogee_m) and e.apogee_m > 50
        assert e.source == "downloaded" and e.flight_date is None and e.motor is None
        assert e.added_utc.endswith("Z") and e.added_utc[:2] == "20"

        blob = lib.blob_path(e)
        assert blob == os.path.join(root, "blobs", e.sha256[:2], e.sha256 + ".cwf")
        with open(blob, "rb") as f:
            assert f.read() == first
        assert stat.S_IMODE(os.stat(blob).st_mode) & 0o222 == 0  # read-only
        assert _blob_files(root) == [blob]  # no temporary file left behind

        again = lib.add(bytearray(first), source="something else", motor="H128W")
        assert not again.added and again.entry == e  # the entry already there, unchanged
        assert [x.id for x in lib.entries()] == [1]
        assert _blob_files(root) == [blob]
        assert lib.read(e) == first

    with Library(root, create=False) as lib:  # and it is all there for the next process
        assert lib.entries() == [e]


def test_export_is_byte_identical_and_never_overwrites_unasked(tmp_path, flights):
    first, _second = flights
    with Library(str(tmp_path / "lib")) as lib:
        e = lib.add(first, source="downloaded").entry
        out = tmp_path / "out.cwf"
        assert lib.export(e, str(out)) == str(out)
        assert out.read_bytes() == first
        out.write_bytes(b"something precious")
        with pytest.raises(L.LibraryError, match="exists: give another path, or --force"):
            lib.export(e, str(out))
        assert out.read_bytes() == b"something precious"
        lib.export(e, str(out), overwrite=True)
        assert out.read_bytes() == first
        # into a folder: under the name a download would have given it (board id unknown here)
        folder = tmp_path / "folder"
        folder.mkdir()
        path = lib.export(e, str(folder))
        assert os.path.basename(path) == e.sha256[:16] + ".cwf"
        assert _bytes(path) == first


def test_imported_files_keep_their_name_and_board_id_and_any_format(tmp_path, flights):
    first, _second = flights
    named = tmp_path / "flight-0000-f0ca8cc2b65089dd.cwf"
    named.write_bytes(first)
    csv = tmp_path / "Eggtimer Flight.CSV"
    csv.write_bytes(b"time,altitude\n0,0\n1,10\n")
    with Library(str(tmp_path / "lib")) as lib:
        e = lib.add_file(str(named), motor="H128W", notes="club launch", flight_date="2024-05-04")
        assert e.added and e.entry.device_id == "f0ca8cc2b65089dd"
        assert e.entry.source == named.name
        assert (e.entry.motor, e.entry.notes, e.entry.flight_date) == ("H128W", "club launch",
                                                                        "2024-05-04")
        assert L.export_name(e.entry) == named.name
        c = lib.add_file(str(csv)).entry
        assert (c.format, c.board, c.flight, c.apogee_m) == ("csv", None, None, None)
        assert lib.blob_path(c).endswith(".csv") and lib.read(c) == csv.read_bytes()
        with pytest.raises(L.LibraryError, match=r"cannot read .*missing\.cwf"):
            lib.add_file(str(tmp_path / "missing.cwf"))
        with pytest.raises(ValueError, match="not a date"):
            lib.add(b"x", source="x", flight_date="last Tuesday")
        with pytest.raises(L.LibraryError, match="empty"):
            lib.add(b"", source="x")


def test_ids_and_sha256_prefixes_name_flights(tmp_path, flights):
    first, second = flights
    with Library(str(tmp_path / "lib")) as lib:
        a = lib.add(first, source="a").entry
        b = lib.add(second, source="b").entry
        assert lib.find("1") == a and lib.find("#2") == b and lib.find(" 2 ") == b
        assert lib.find(b.sha256[:8].upper()) == b
        assert lib.find(b.sha256) == b
        # two blobs whose SHA-256 share their first four hex digits
        seen = {}
        i = 0
        while True:
            data = b"blob %d" % i
            p = _sha(data)[:4]
            if p in seen:
                break
            seen[p] = data
            i += 1
        x = lib.add(seen[p], source="x").entry
        y = lib.add(data, source="y").entry
        with pytest.raises(NotInLibrary, match="is the start of the SHA-256 of #%d, #%d: give more"
                           % (x.id, y.id)):
            lib.find(p)
        assert lib.find(y.sha256[:12]) == y
        with pytest.raises(NotInLibrary, match="no flight #99 in the library"):
            lib.find("99")
        with pytest.raises(NotInLibrary, match="at least 4 hex digits"):
            lib.find("ab")
        absent = "fedcba98" if not a.sha256.startswith("fedcba98") else "abcdef01"
        with pytest.raises(NotInLibrary, match="no flight in the library .* starting " + absent):
            lib.find(absent)
        with pytest.raises(NotInLibrary, match="no flight #12345, and no SHA-256 starting 12345,"):
            lib.find("12345")
        with pytest.raises(NotInLibrary, match="not a library id"):
            lib.find("first-flight")


def test_notes_motor_and_date_are_set_and_cleared(tmp_path, flights):
    first, _second = flights
    with Library(str(tmp_path / "lib")) as lib:
        e = lib.add(first, source="a").entry
        e2 = lib.update(e, notes="a perfect flight", motor="H128W", flight_date="2024-05-04")
        assert (e2.notes, e2.motor, e2.flight_date) == ("a perfect flight", "H128W", "2024-05-04")
        e3 = lib.update(e2, notes="")
        assert (e3.notes, e3.motor) == (None, "H128W")
        assert e3.sha256 == e.sha256 and lib.read(e3) == first  # the bytes never change
        with pytest.raises(ValueError):
            lib.update(e3, flight_date="soon")


def test_remove_deletes_row_and_blob_and_never_reuses_the_id(tmp_path, flights):
    first, second = flights
    root = str(tmp_path / "lib")
    with Library(root) as lib:
        a = lib.add(first, source="a").entry
        b = lib.add(second, source="b").entry
        lib.remove(a)
        assert lib.entries() == [b]
        assert _blob_files(root) == [lib.blob_path(b)]
        with pytest.raises(NotInLibrary):
            lib.find(str(a.id))
        again = lib.add(first, source="a again")
        assert again.added and again.entry.id == 3  # #1 stays retired
        assert lib.read(again.entry) == first


def test_verify_finds_damaged_and_missing_blobs_and_deletes_nothing(tmp_path, flights):
    first, second = flights
    root = str(tmp_path / "lib")
    with Library(root) as lib:
        a = lib.add(first, source="a").entry
        b = lib.add(second, source="b").entry
        assert lib.verify() == L.VerifyReport(2, [], [], [])

        _flip_byte(lib.blob_path(a), 1000)  # the disk rots one bit pattern
        damaged_bytes = _bytes(lib.blob_path(a))
        report = lib.verify()
        assert report.checked == 2 and not report.index_problems
        assert [(p.entry.id, p.problem) for p in report.problems] == [(a.id, "damaged")]
        assert _bytes(lib.blob_path(a)) == damaged_bytes  # left as found
        assert [e.id for e in lib.entries()] == [a.id, b.id]
        with pytest.raises(BlobDamaged, match="no longer match their SHA-256"):
            lib.read(a)
        out = tmp_path / "out.cwf"
        with pytest.raises(BlobDamaged):
            lib.export(a, str(out))
        assert not out.exists()

        # the original bytes, added again, restore it
        r = lib.add(first, source="the card again")
        assert (r.added, r.repaired, r.entry) == (False, True, a)
        assert lib.read(a) == first

        os.remove(lib.blob_path(b))
        assert [(p.entry.id, p.problem) for p in lib.verify().problems] == [(b.id, "missing")]
        with pytest.raises(BlobDamaged, match="missing"):
            lib.read(b)

        stray = os.path.join(root, "blobs", "ab", "ab" + "0" * 62 + ".cwf")
        os.makedirs(os.path.dirname(stray))
        _put(stray, b"x")
        assert lib.verify().unindexed == [stray]


def test_a_corrupt_index_is_a_clear_error_and_nothing_is_lost(tmp_path, flights):
    first, second = flights
    root = str(tmp_path / "lib")
    with Library(root) as lib:
        lib.add(first, source="a", motor="H128W")
        lib.add(second, source="b")
    blobs = {p: _bytes(p) for p in _blob_files(root)}
    index = os.path.join(root, "index.sqlite3")
    damaged = bytearray(_bytes(index))
    damaged[:16] = b"not sqlite here!"
    _put(index, damaged)

    for create in (True, False):
        with pytest.raises(LibraryCorrupt) as info:
            Library(root, create=create)
        message = str(info.value)
        assert "the library index %s is damaged" % index in message
        assert "coalwood library rebuild --library %s" % root in message
    assert _bytes(index) == bytes(damaged)  # never recreated over
    assert {p: _bytes(p) for p in _blob_files(root)} == blobs

    # an index emptied or lost beside stored flights is not quietly started afresh
    open(index, "wb").close()
    with pytest.raises(LibraryCorrupt, match="missing or empty but 2 flights are stored"):
        Library(root)
    os.remove(index)
    with pytest.raises(LibraryCorrupt, match="missing or empty but 2 flights are stored"):
        Library(root, create=False)
    assert not os.path.exists(index)  # looking made no new one
    assert {p: _bytes(p) for p in _blob_files(root)} == blobs

    lib, report = Library.rebuild(root)
    with lib:
        assert report.indexed == 2 and report.damaged == []
        assert sorted(e.sha256 for e in lib.entries()) == sorted([_sha(first), _sha(second)])
        assert all(lib.read(e) for e in lib.entries())
    assert report.moved_aside is None  # there was no index left to keep

    other = tmp_path / "other"
    other.mkdir()
    with sqlite3.connect(str(other / "index.sqlite3")) as conn:
        conn.execute("CREATE TABLE photos (name TEXT)")
    conn.close()
    with pytest.raises(LibraryCorrupt, match="not a flight library index"):
        Library(str(other))


def test_rebuild_keeps_what_the_old_index_still_says(tmp_path, flights):
    first, second = flights
    root = str(tmp_path / "lib")
    with Library(root) as lib:
        a = lib.add(first, source="downloaded", device_id=b"\xf0\xca", motor="H128W").entry
        lib.remove(lib.add(b"gone", source="x").entry)
        b = lib.add(second, source="b.cwf", notes="windy").entry
    _flip_byte(os.path.join(root, "blobs", b.sha256[:2], b.sha256 + ".cwf"), 500)
    lib, report = Library.rebuild(root)
    with lib:
        assert report.indexed == 1 and report.kept_metadata == 1
        assert report.damaged == [lib.blob_path(b)]
        assert lib.entries() == [a]  # the same id, source, board id, motor and date
        assert os.path.exists(lib.blob_path(b))  # damaged, reported, kept
        with sqlite3.connect(report.moved_aside) as old:
            assert old.execute("SELECT count(*) FROM flights").fetchone() == (2,)
        old.close()


def test_the_folder_comes_from_the_option_then_the_environment_then_the_user_data_folder(
        tmp_path, monkeypatch):
    from platformdirs import user_data_path

    monkeypatch.delenv(L.ENV_VAR, raising=False)
    default = os.path.join(user_data_path("coalwood", appauthor=False), "flights")
    assert L.resolve_root() == default
    monkeypatch.setenv(L.ENV_VAR, str(tmp_path / "env"))
    assert L.resolve_root() == str(tmp_path / "env")
    assert L.resolve_root(str(tmp_path / "opt")) == str(tmp_path / "opt")
    with pytest.raises(NotInLibrary, match="no flight library at"):
        Library(str(tmp_path / "nowhere"), create=False)
    assert not (tmp_path / "nowhere").exists()


_ADDER = r"""
import json, os, sys, time
from ground.flight.library import Library
root, tag, go, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
lib = Library(root)  # both make the library at once: the schema is made once
ids = {}
for i in range(count):
    for data in (b"shared flight %d" % i, b"%s flight %d" % (tag.encode(), i)):
        r = lib.add(data, source=tag)
        ids[data.decode()] = [r.entry.id, r.added]
lib.close()
print(json.dumps(ids))
"""


def test_two_processes_adding_at_once_keep_the_index_whole(tmp_path):
    root = str(tmp_path / "lib")
    go = str(tmp_path / "go")
    count = 15
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-c", _ADDER, root, tag, go, str(count)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=REPO, env=env) for tag in ("left", "right")]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        open(go, "w").close()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            results.append(json.loads(out))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    left, right = results
    for i in range(count):
        name = "shared flight %d" % i
        # both were told the same id; exactly one of them added it
        assert left[name][0] == right[name][0]
        assert left[name][1] + right[name][1] == 1
    with Library(root) as lib:
        entries = lib.entries()
        assert len(entries) == 3 * count
        assert len({e.id for e in entries}) == len({e.sha256 for e in entries}) == 3 * count
        assert lib.verify() == L.VerifyReport(3 * count, [], [], [])
        by_sha = {e.sha256: e.id for e in entries}
        for side in results:
            for name, (entry_id, _added) in side.items():
                assert by_sha[_sha(name.encode())] == entry_id
    assert len(_blob_files(root)) == 3 * count  # no temporary or second copies

