"""`coalwood library ...` and `coalwood download` into the library, end to end: real files,
a real SQLite index, flights downloaded from the simulated board over sim://."""

import io
import json
import os
import stat

import pytest
from flown import device_id as sim_device_id
from synthetic_flight import write_flight

from ground import flightfile
from ground.cli import main
from ground.download import flight_file_name
from ground.flight.library import ENV_VAR, sha256_hex


@pytest.fixture(autouse=True)
def no_default_library(tmp_path, monkeypatch):
    """Nothing here may reach the user's own library: the default moves into tmp_path."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "default-library"))


@pytest.fixture
def board(tmp_path):
    root = str(tmp_path / "board")
    _n, _p, data = write_flight(root, size_bytes=6_000)
    return root, data


@pytest.fixture
def flight_file(board, tmp_path):
    _root, data = board
    path = tmp_path / "flight-0000-0011223344556677.cwf"
    path.write_bytes(data)
    return path, data



def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys, *argv):
    code, out, err = _run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def _one_line_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coalwood: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_add_list_show_note_export_remove(flight_file, tmp_path, capsys, monkeypatch):
    path, data = flight_file
    lib = str(tmp_path / "lib")
    sha = sha256_hex(data)

    code, out, _err = _run(capsys, "library", "list", "--library", lib)
    assert code == 0 and out == "no flights in the library at %s\n" % lib
    assert not os.path.exists(lib)  # looking never makes folders

    code, out, _err = _run(capsys, "library", "add", str(path), "--library", lib, "--motor", "H128W")
    assert code == 0 and out.startswith("%s: added as #1 (flight 0 from sim-2ch, apogee " % path)
    doc = _json(capsys, "library", "add", str(path), "--library", lib)
    (entry,) = doc["flights"]
    assert (entry["id"], entry["added"], entry["sha256"]) == (1, False, sha)
    code, out, _err = _run(capsys, "library", "add", str(path), "--library", lib)
    assert out == "%s: already in the library as #1\n" % path

    (row,) = _json(capsys, "library", "list", "--library", lib)["flights"]
    assert row["sha256"] == sha and row["size_bytes"] == len(data) and row["motor"] == "H128W"
    assert (row["board"], row["flight"], row["device_id"]) == ("sim-2ch", 0, "0011223344556677")
    code, out, _err = _run(capsys, "library", "list", "--library", lib)
    header, line = out.splitlines()[1:]
    assert header.split()[:4] == ["id", "added", "(UTC)", "board"]
    assert line.split()[0] == "#1" and sha[:12] in line and "H128W" in line

    summary = flightfile.parse(data).summary()
    code, out, _err = _run(capsys, "library", "show", "1", "--library", lib)
    assert code == 0 and out.splitlines()[-1] == summary
    assert "SHA-256:     %s" % sha in out and "motor:       H128W" in out
    shown = _json(capsys, "library", "show", sha[:10], "--library", lib)
    assert shown["summary"] == summary and shown["intact"] and shown["problems"] == []
    blob = shown["path"]
    assert stat.S_IMODE(os.stat(blob).st_mode) & 0o222 == 0

    code, out, _err = _run(capsys, "library", "note", "#1", "two chutes, recovered",
                           "--library", lib, "--date", "2024-05-04")
    assert code == 0 and out == "#1: notes 'two chutes, recovered', flight date '2024-05-04'\n"
    noted = _json(capsys, "library", "note", "1", "--motor", "H180W", "--library", lib)
    assert (noted["notes"], noted["motor"], noted["flight_date"]) == (
        "two chutes, recovered", "H180W", "2024-05-04")
    code, _out, err = _run(capsys, "library", "note", "1", "--library", lib)
    assert code == 3 and "give the note's text" in _one_line_error(err)

    out_file = tmp_path / "copy.cwf"
    code, out, _err = _run(capsys, "library", "export", "1", "-o", str(out_file), "--library", lib)
    assert code == 0 and out_file.read_bytes() == data
    out_file.write_bytes(b"keep me")
    code, _out, err = _run(capsys, "library", "export", "1", "-o", str(out_file), "--library", lib)
    assert code == 3 and "exists: give another path, or --force" in _one_line_error(err)
    assert out_file.read_bytes() == b"keep me"
    exported = _json(capsys, "library", "export", "1", "-o", str(out_file), "--force",
                     "--library", lib)
    assert exported["sha256"] == sha and out_file.read_bytes() == data
    with open(blob, "rb") as f:
        assert f.read() == data  # notes and exports never touch the stored bytes

    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, _err = _run(capsys, "library", "remove", "1", "--library", lib)
    assert code == 0 and "Remove #1 (flight 0 from sim-2ch" in out and "nothing removed" in out
    assert os.path.exists(blob)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, _err = _run(capsys, "library", "remove", "1", "--library", lib)
    assert code == 0 and out.endswith("removed #1 (flight 0 from sim-2ch, apogee %.1f m, %s B)\n"
                                      % (row["apogee_m"], f"{len(data):,}"))
    assert not os.path.exists(blob)
    assert _json(capsys, "library", "list", "--library", lib)["flights"] == []
    code, _out, err = _run(capsys, "library", "show", "1", "--library", lib)
    assert code == 3 and "no flight #1 in the library at %s" % lib in _one_line_error(err)

    _run(capsys, "library", "add", str(path), "--library", lib)
    removed = _json(capsys, "library", "remove", "2", "--yes", "--library", lib)
    assert removed["removed"]["sha256"] == sha


def test_the_environment_variable_moves_the_library(flight_file, tmp_path, capsys, monkeypatch):
    path, _data = flight_file
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere"))
    assert _json(capsys, "library", "add", str(path))["library"] == str(tmp_path / "elsewhere")
    assert len(_json(capsys, "library", "list")["flights"]) == 1
    assert _json(capsys, "library", "list", "--library", str(tmp_path / "x"))["flights"] == []


def test_verify_reports_a_damaged_flight_and_deletes_nothing(flight_file, tmp_path, capsys):
    path, data = flight_file
    lib = str(tmp_path / "lib")
    other = tmp_path / "other.cwf"
    other.write_bytes(data[:-24])  # one record shorter: another flight
    _run(capsys, "library", "add", str(path), str(other), "--library", lib)
    code, out, _err = _run(capsys, "library", "verify", "--library", lib)
    assert code == 0 and out == "2 flights checked: every one intact\n"

    blob = _json(capsys, "library", "show", "2", "--library", lib)["path"]
    os.chmod(blob, 0o644)
    with open(blob, "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x00\x00")
    os.chmod(blob, 0o444)
    damaged = _bytes(blob)

    code, out, _err = _run(capsys, "library", "verify", "--library", lib)
    assert code == 7
    assert out.splitlines()[0] == "#2 DAMAGED: its bytes no longer match its SHA-256 (%s)" % blob
    assert "1 of 2 flights damaged or missing; nothing was deleted" in out
    code, out, _err = _run(capsys, "library", "verify", "--library", lib, "--json")
    doc = json.loads(out)
    assert code == 7 and not doc["ok"] and doc["checked"] == 2
    assert [(p["id"], p["problem"]) for p in doc["problems"]] == [(2, "damaged")]
    assert _bytes(blob) == damaged
    code, out, err = _run(capsys, "library", "show", "2", "--library", lib)
    assert code == 7 and out.splitlines()[0] == "id:          #2"  # the metadata, then the damage
    assert "no longer match their SHA-256" in _one_line_error(err)
    code, _out, err = _run(capsys, "library", "export", "2", "-o", str(tmp_path / "x.cwf"),
                           "--library", lib)
    assert code == 7 and not (tmp_path / "x.cwf").exists()

    code, out, _err = _run(capsys, "library", "add", str(other), "--library", lib)
    assert out == "%s: already in the library as #2; its damaged stored bytes were restored\n" % other
    assert _run(capsys, "library", "verify", "--library", lib)[0] == 0


def test_a_corrupt_index_is_one_line_and_rebuild_recovers(flight_file, tmp_path, capsys):
    path, data = flight_file
    lib = str(tmp_path / "lib")
    _run(capsys, "library", "add", str(path), "--library", lib, "--motor", "H128W")
    blob = _json(capsys, "library", "show", "1", "--library", lib)["path"]
    index = os.path.join(lib, "index.sqlite3")
    with open(index, "r+b") as f:
        f.write(b"\xde\xad\xbe\xef" * 8)
    garbage = _bytes(index)

    for argv in (["list"], ["show", "1"], ["add", str(path)], ["verify"]):
        code, _out, err = _run(capsys, "library", *argv, "--library", lib)
        line = _one_line_error(err)
        assert code == 7, argv
        assert "the library index %s is damaged" % index in line
        assert "run `coalwood library rebuild --library %s`" % lib in line
    assert _bytes(index) == garbage and _bytes(blob) == data

    code, out, _err = _run(capsys, "library", "rebuild", "--library", lib)
    assert code == 0 and "the old index was moved to %s.damaged-" % index in out
    assert "1 flight indexed" in out
    (row,) = _json(capsys, "library", "list", "--library", lib)["flights"]
    assert row["sha256"] == sha256_hex(data) and row["board"] == "sim-2ch"


# --- coalwood download -> the library ------------------------------------------------------------
def _url(root):
    return "sim://?seed=1&storage=%s" % root


def test_download_adds_the_flight_and_knows_it_the_second_time(board, tmp_path, capsys):
    root, data = board
    lib = str(tmp_path / "lib")
    out_dir = tmp_path / "out"
    device_id = sim_device_id(1)
    code, out, err = _run(capsys, "download", "--port", _url(root), "-o", str(out_dir),
                          "--library", lib)
    assert code == 0, err
    lines = out.splitlines()
    assert "flight 0: added to the library as #1" in lines
    assert lines[-1].startswith("flight 0;")  # the flight's summary still ends the report

    (row,) = _json(capsys, "library", "list", "--library", lib)["flights"]
    assert row["sha256"] == sha256_hex(data) and row["size_bytes"] == len(data)
    assert (row["source"], row["device_id"]) == ("downloaded", device_id.hex())
    exported = tmp_path / "exported.cwf"
    _run(capsys, "library", "export", "1", "-o", str(exported), "--library", lib)
    assert exported.read_bytes() == data == (out_dir / flight_file_name(device_id, 0)).read_bytes()

    # the same flight again, already in -o: recognised, no second copy
    code, out, err = _run(capsys, "download", "--port", _url(root), "-o", str(out_dir),
                          "--library", lib)
    assert code == 0, err
    assert "flight 0: already in the library as #1" in out.splitlines()
    # and downloaded afresh somewhere else: the library still knows it
    code, out, err = _run(capsys, "download", "--port", _url(root), "-o", str(tmp_path / "b"),
                          "--library", lib, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["library"] == lib
    assert (doc["flights"][0]["library_id"], doc["flights"][0]["library_added"]) == (1, False)
    assert len(_json(capsys, "library", "list", "--library", lib)["flights"]) == 1
    blobs = [n for _d, _s, names in os.walk(os.path.join(lib, "blobs")) for n in names]
    assert len(blobs) == 1


def test_download_without_the_library_and_with_a_broken_one(board, tmp_path, capsys):
    root, _data = board
    lib = tmp_path / "lib"
    code, out, _err = _run(capsys, "download", "--port", _url(root), "-o", str(tmp_path / "a"),
                           "--library", str(lib), "--no-library")
    assert code == 0 and "library" not in out and not lib.exists()

    lib.mkdir()
    (lib / "index.sqlite3").write_bytes(b"this is not an SQLite database at all" * 4)
    out_dir = tmp_path / "b"
    code, out, err = _run(capsys, "download", "--port", _url(root), "-o", str(out_dir),
                          "--library", str(lib))
    assert code == 7  # the flight is safe in -o; the library's failure is not hidden
    line = _one_line_error(err)
    name = flight_file_name(sim_device_id(1), 0)
    assert "flight 0 is kept in %s but was not added to the library" % (out_dir / name) in line
    assert "coalwood library rebuild" in line
    assert "CRC-32 and SHA-256 verified" in out and out.splitlines()[-1].startswith("flight 0;")
    assert os.listdir(out_dir) == [name]
