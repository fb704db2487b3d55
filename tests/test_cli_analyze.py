"""`coalwood analyze`: the report for people, one JSON object for scripts, CSV and PNG
outputs, one-line errors with exit status 3, and no Qt unless a picture is asked for; with
--rocket, the model's prediction beside a flight the simulated board logged."""

import json
import os
import subprocess
import sys

import pytest
from flightlogs import FLIGHTS
from flown import fly_with_rocket_file

from ground.cli import main

RRC3 = str(FLIGHTS / "juno3-rrc3-2023.csv")
ALTOS = str(FLIGHTS / "prometheus-telemetrum-2022.csv")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

JSON_KEYS = {"apogee_agl_m", "apogee_msl_m", "max_speed_ms", "max_mach", "max_accel_ms2",
             "time_to_apogee_s", "burn_time_s", "drogue_rate_ms", "main_rate_ms",
             "flight_time_s", "events", "format", "samples"}


def test_json_is_exactly_one_object_with_the_figures(capsys):
    assert main(["analyze", ALTOS, "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)  # the whole of stdout is one JSON document
    assert out.count("\n") == 1
    assert set(doc) >= JSON_KEYS
    assert doc["format"] == "altosui-csv" and doc["samples"] == 5712
    assert doc["apogee_agl_m"] == pytest.approx(3898.37, rel=0.02)
    assert doc["apogee_msl_m"] == pytest.approx(1319.86 + doc["apogee_agl_m"], abs=0.2)
    assert doc["max_speed_ms"] == pytest.approx(318.0, rel=0.02)
    assert [e["name"] for e in doc["events"]] == ["liftoff", "burnout", "apogee", "drogue",
                                                  "main", "landing"]
    for e in doc["events"]:
        assert set(e) >= {"name", "t_s", "altitude_m"}
    assert doc["csv"] is None and doc["png"] is None


def test_unknown_figures_are_null_in_json(capsys):
    assert main(["analyze", RRC3, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["apogee_msl_m"] is None  # the RRC3 log does not know the pad's height
    assert doc["flight_time_s"] is None and doc["main_rate_ms"] is None
    assert doc["glitches_rejected"] >= 2


def test_report_for_people(capsys):
    assert main(["analyze", RRC3]) == 0
    out = capsys.readouterr().out
    assert "Missile Works RRC3" in out
    assert "apogee" in out and "m above the pad" in out and "Mach" in out
    assert "events" in out and "drogue" in out and "(log)" in out and "(detected)" in out
    assert "no landing" in out


def test_csv_and_png_outputs(tmp_path, capsys):
    csv_path, png_path = tmp_path / "out.csv", tmp_path / "out.png"
    assert main(["analyze", RRC3, "--csv", str(csv_path), "--png", str(png_path),
                 "--png-size", "800x600", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["csv"] == str(csv_path) and doc["png"] == str(png_path)
    assert csv_path.read_text().startswith("# Coalwood flight analysis")
    data = png_path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 800 and int.from_bytes(data[20:24], "big") == 600
    # the CSV is itself a flight log the command reads
    assert main(["analyze", str(csv_path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["format"] == "coalwood-csv"
    assert again["apogee_agl_m"] == pytest.approx(doc["apogee_agl_m"], rel=1e-3)


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"date,temperature\n2024-01-01,3\n", "not a flight log format"),
    (bytes(range(256)) * 4, "binary"),
])
def test_bad_files_are_one_line_and_exit_3(tmp_path, capsys, content, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert main(["analyze", str(path)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("coalwood: error: ") and words in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_missing_file_and_an_unwritable_output(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.cwf")]) == 3
    assert "cannot read" in capsys.readouterr().err
    assert main(["analyze", RRC3, "--csv", str(tmp_path / "no" / "such" / "dir.csv")]) == 3
    err = capsys.readouterr().err
    assert "cannot write" in err and len(err.splitlines()) == 1


def test_json_needs_no_qt():
    code = ("import sys, json, io, contextlib\n"
            "from ground.cli import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n"
            "    assert main(['analyze', %r, '--json']) == 0\n"
            "json.loads(buf.getvalue())\n"
            "loaded = [m for m in ('PySide6', 'pyqtgraph') if m in sys.modules]\n"
            "assert not loaded, loaded\n" % RRC3)
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_help_lists_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = capsys.readouterr().out
    assert "--json" in out and "--csv" in out and "--png" in out


# --- the prediction beside the flight ----------------------------------------------------------
# the simulated board's H128W rocket (ground/trajectory/examples.py), as a rocket file
H128W_ROCKET = {"version": 1, "name": "54 mm single-deploy rocket", "motor": "H128W",
                "mass_g": 900, "diameter_mm": 54, "cd": 0.6, "main_ms": 6, "rail_m": 1.8}


@pytest.fixture(scope="module")
def flown(tmp_path_factory):
    """A .cwf the real firmware logged on the simulated board flying the H128W rocket, and a
    rocket file describing that rocket."""
    return fly_with_rocket_file(tmp_path_factory.mktemp("flown"), "H128W", H128W_ROCKET)


def test_the_prediction_of_the_flown_rocket_matches_the_flight(flown, capsys):
    path, rocket = flown
    assert main(["analyze", path, "--rocket", rocket, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    predicted = doc["predicted"]
    assert set(predicted) >= {"apogee_m", "time_to_apogee_s", "max_speed_ms", "apogee_diff_m",
                              "apogee_diff_pct"}
    assert predicted["apogee_m"] == pytest.approx(doc["apogee_agl_m"], rel=0.02)
    assert abs(predicted["apogee_diff_pct"]) < 2.0
    assert predicted["apogee_diff_m"] == pytest.approx(
        predicted["apogee_m"] - doc["apogee_agl_m"], abs=0.01)
    # matched at the log's liftoff event (20 m up), times to apogee agree too
    assert predicted["time_to_apogee_s"] == pytest.approx(doc["time_to_apogee_s"], abs=0.3)
    assert predicted["max_speed_ms"] == pytest.approx(doc["max_speed_ms"], rel=0.03)
    assert predicted["pad_altitude_m"] == pytest.approx(0.0, abs=1.0)  # a 101325 Pa pad

    assert main(["analyze", path, "--rocket", rocket]) == 0
    out = capsys.readouterr().out
    assert "predicted by h128w.json: AeroTech H128W in a 54 mm single-deploy rocket" in out
    rows = [line.split() for line in out.splitlines() if line.endswith("%)")]
    assert [row[:2] for row in rows] == [["apogee", "%.1f" % predicted["apogee_m"]],
                                         ["time", "to"], ["max", "speed"]]
    assert rows[0][3:5] == ["%.1f" % doc["apogee_agl_m"], "m"]


def test_the_overlay_is_a_png_of_the_size_asked_with_both_curves(flown, tmp_path, capsys):
    path, rocket = flown
    png = tmp_path / "overlay.png"
    assert main(["analyze", path, "--rocket", rocket, "--png", str(png), "--png-size",
                 "900x600", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["png"] == str(png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 900 and int.from_bytes(data[20:24], "big") == 600
    from pyqtgraph.Qt import QtGui

    image = QtGui.QImage(str(png))
    colours = {image.pixel(x, y) for x in range(0, 900, 3) for y in range(0, 600, 3)}
    assert len(colours) > 20  # drawn on, not a flat background


@pytest.mark.parametrize(("rocket", "words"), [
    ({**H128W_ROCKET, "cd": -1}, "cd must be"),
    ({**H128W_ROCKET, "mass_g": 100000}, "never leaves the pad"),
    (None, "no such rocket file"),
])
def test_a_bad_rocket_file_is_one_line(flown, tmp_path, capsys, rocket, words):
    path, _rocket = flown
    file = tmp_path / "r.json"
    if rocket is not None:
        file.write_text(json.dumps(rocket))
    assert main(["analyze", path, "--rocket", str(file)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("coalwood: error: --rocket ") and words in err, err
    assert len(err.splitlines()) == 1
