"""`coalwood predict`: the figures, --json, --png, --reverse, and one-line errors."""

import json
import struct
import subprocess
import sys

import pytest
from synthetic_flight import write_flight

from ground.cli import main
from ground.trajectory import Rocket, simulate
from ground.trajectory.examples import sample_rocket

C6 = ["predict", "--motor", "C6", "--mass-g", "100", "--diameter-mm", "24.8"]
FIGURES = ("apogee_m", "time_to_apogee_s", "max_speed_m_s", "max_mach", "max_accel_m_s2",
           "rail_exit_speed_m_s", "landing_distance_m", "landing_bearing_deg")


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def one_line_error(capsys, argv, code=3):
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("coalwood: error: ") and len(captured.err.splitlines()) == 1
    return captured.err


def test_human_output_gives_the_figures_and_the_warnings(capsys):
    assert main([*C6, "--cd", "0.75", "--main-ms", "4.5"]) == 0
    out = capsys.readouterr().out
    for word in ("apogee", "max speed", "Mach", "max acceleration", "rail exit speed", "lands"):
        assert word in out
    assert "warning: rail exit speed" in out  # a 1 m rod is short for a C6


def test_json_is_one_object_with_the_models_figures(capsys):
    argv = [*C6, "--cd", "0.75", "--main-ms", "4.5", "--wind-ms", "4", "--wind-dir", "270",
            "--rail-angle-deg", "5", "--rail-bearing-deg", "270", "--rail-m", "1.2", "--json"]
    doc = run_json(capsys, *argv)
    expected = simulate(Rocket(0.1, 0.75, diameter_m=0.0248, rail_length_m=1.2,
                               main_rate_m_s=4.5), "C6", wind_speed_m_s=4, wind_from_deg=270,
                        rail_angle_deg=5, rail_bearing_deg=270)
    assert doc["mode"] == "predict"
    for key in FIGURES:
        assert doc[key] == pytest.approx(getattr(expected, key), rel=1e-12), key
    assert doc["warnings"] == expected.warnings
    assert doc["inputs"]["motor"]["name"] == "C6" and doc["inputs"]["wind_dir_deg"] == 270
    assert doc["png"] is None


def test_json_needs_no_qt():
    code = ("import sys; from ground.cli import main; main(%r); "
            "sys.exit(any(m.split('.')[0] in ('PySide6', 'pyqtgraph') for m in sys.modules))"
            % ([*C6, "--cd", "0.75", "--json"],))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_png_is_drawn_at_the_requested_size_and_not_blank(tmp_path, capsys):
    out = tmp_path / "flight.png"
    doc = run_json(capsys, *C6, "--cd", "0.75", "--main-ms", "4.5", "--wind-ms", "3",
                   "--png", str(out), "--png-size", "640x360", "--json")
    assert doc["png"] == str(out)
    assert png_size(out) == (640, 360)
    from pyqtgraph.Qt import QtGui

    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (640, 360)
    # both panels have ink on them: many colours in each half, not a flat background
    for x0 in (0, 320):
        colours = {image.pixel(x, y) for x in range(x0, x0 + 320, 4) for y in range(0, 360, 4)}
        assert len(colours) > 10


@pytest.mark.parametrize(("size", "message"), [("big", "WIDTHxHEIGHT"), ("10x10", "pixels")])
def test_a_bad_png_size_is_one_line(tmp_path, capsys, size, message):
    err = one_line_error(capsys, [*C6, "--cd", "0.75", "--png", str(tmp_path / "a.png"),
                                  "--png-size", size])
    assert message in err


def test_a_png_that_cannot_be_written_is_one_line(tmp_path, capsys):
    err = one_line_error(capsys, [*C6, "--cd", "0.75", "--png", str(tmp_path / "no" / "a.png")])
    assert "no folder" in err  # found before anything is flown
    err = one_line_error(capsys, [*C6, "--cd", "0.75", "--json", "--png", str(tmp_path)])
    assert "could not write it" in err


# --- motors ------------------------------------------------------------------------------------
def test_a_motor_file_is_read_from_its_path(tmp_path, capsys):
    path = tmp_path / "F20.eng"
    path.write_text("; a test motor\nF20 29 100 4 0.03 0.08 Test\n0.0 20\n2.0 20\n2.1 0\n")
    doc = run_json(capsys, *C6[:2], str(path), *C6[3:], "--cd", "0.7", "--json")
    assert doc["motor"] == "F20" and doc["inputs"]["motor"]["source"] == str(path)
    assert doc["inputs"]["motor"]["total_impulse_ns"] == pytest.approx(41.0)


@pytest.mark.parametrize(("text", "where", "why"), [
    ("F20 29 100 4 0.03 0.08 Test\n0.0 20\n2.0 20 5\n2.1 0\n", ":3:", "'time thrust'"),
    ("F20 29 100 4 0.03 Test\n0.0 20\n", ":1:", "7 fields"),
    ("F20 29 100 4 0.03 0.08 Test\n0.5 20\n0.4 10\n", ":3:", "times must increase"),
    ("F20 29 100 4 0.03 0.08 Test\n0.5 20\n1.0 10\n", ":1:", "does not end at zero thrust"),
])
def test_a_bad_motor_file_says_where_and_why(tmp_path, capsys, text, where, why):
    path = tmp_path / "bad.eng"
    path.write_text(text)
    err = one_line_error(capsys, [*C6[:2], str(path), *C6[3:], "--cd", "0.7"])
    assert str(path) + where in err and why in err


def test_a_binary_or_missing_motor_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "blob.eng"
    path.write_bytes(bytes(range(256)))
    assert "not a text .eng file" in one_line_error(
        capsys, [*C6[:2], str(path), *C6[3:], "--cd", "0.7"])
    err = one_line_error(capsys, [*C6[:2], str(tmp_path / "gone.eng"), *C6[3:], "--cd", "0.7"])
    assert "no motor file" in err and "C6" in err  # and it names the bundled ones


def test_an_unknown_bundled_motor_names_the_bundled_ones(capsys):
    err = one_line_error(capsys, [*C6[:2], "D12", *C6[3:], "--cd", "0.7"])
    assert "no bundled motor 'D12'" in err and "AeroTech_H128W" in err


# --- inputs the model refuses --------------------------------------------------------------------
@pytest.mark.parametrize(("extra", "message"), [
    (["--mass-g", "-5"], "--mass-g must be a positive number of grams"),
    (["--diameter-mm", "0"], "--diameter-mm must be a positive number of mm"),
    (["--main-deploy-m", "150"], "--main-deploy-m needs --main-ms"),
    (["--drogue-ms", "20", "--main-ms", "6"], "--main-deploy-m"),
    (["--wind-ms", "-2"], "wind speed"),
    (["--rail-angle-deg", "95"], "rail angle"),
    (["--pad-alt-m", "9000"], "pad altitude"),
])
def test_impossible_inputs_are_one_line(capsys, extra, message):
    assert message in one_line_error(capsys, [*C6, "--cd", "0.75", *extra])


def test_a_rocket_too_heavy_to_fly_is_one_line(capsys):
    err = one_line_error(capsys, ["predict", "--motor", "C6", "--mass-g", "2000",
                                  "--diameter-mm", "24.8", "--cd", "0.75"])
    assert "never leaves the pad" in err


@pytest.mark.parametrize(("argv", "message"), [
    ([], "--cd"),
    (["--cd", "0.7", "--apogee-m", "100"], "--apogee-m is for --reverse"),
    (["--reverse"], "needs one of --apogee-m, --flight or --landed-m"),
    (["--reverse", "--apogee-m", "100", "--landed-m", "5"], "not --apogee-m and --landed-m"),
    (["--reverse", "--cd", "0.7", "--landed-m", "100"], "--landed-bearing-deg"),
    (["--reverse", "--landed-m", "100", "--landed-bearing-deg", "5"], "(--cd)"),
    (["--reverse", "--cd", "0.7", "--landed-m", "100", "--landed-bearing-deg", "5",
      "--rail-angle-deg", "10"], "leave out --rail-angle-deg"),
])
def test_mode_mistakes_are_one_line(capsys, argv, message):
    assert message in one_line_error(capsys, [*C6, *argv])


def test_help_tells_the_october_sky_question(capsys):
    with pytest.raises(SystemExit) as done:
        main(["predict", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "October Sky" in out and "--landed-m 4828" in out and "--reverse" in out


# --- backwards -------------------------------------------------------------------------------------
def test_reverse_fits_cd_to_a_measured_apogee(capsys):
    truth = simulate(sample_rocket("Estes_C6").replace(cd=0.6), "C6")
    doc = run_json(capsys, *C6, "--main-ms", "4.5", "--reverse", "--apogee-m",
                   repr(truth.apogee_m), "--json")
    assert doc["mode"] == "fit-cd" and doc["apogee_source"] == "--apogee-m"
    assert doc["cd"] == pytest.approx(0.6, rel=0.01)
    assert doc["model_apogee_m"] == pytest.approx(truth.apogee_m, rel=1e-4)
    assert doc["landing_distance_m"] == pytest.approx(truth.landing_distance_m, abs=0.5)
    assert doc["cd_range"] == [0.05, 2.0]


def test_reverse_fits_cd_to_a_downloaded_flight(tmp_path, capsys):
    _number, path, _data = write_flight(str(tmp_path), burn_s=0.8, seed=1)
    doc = run_json(capsys, *C6[:4], "60", *C6[5:], "--main-ms", "4", "--reverse",
                   "--flight", path, "--json")
    from ground import flightfile

    measured = flightfile.load(path).apogee_m
    assert doc["measured_apogee_m"] == measured and doc["apogee_source"] == path
    assert doc["model_apogee_m"] == pytest.approx(measured, rel=1e-4)
    assert 0.05 < doc["cd"] < 2.0
    assert doc["inputs"]["pad_altitude_m"] == pytest.approx(0.0, abs=1.0)  # a 101325 Pa pad
    assert main([*C6[:4], "60", *C6[5:], "--main-ms", "4", "--reverse", "--flight", path]) == 0
    assert "reproduces the measured apogee of %.1f m" % measured in capsys.readouterr().out


def test_reverse_with_a_bad_flight_file_is_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.cwf"
    junk.write_bytes(b"not a flight at all")
    assert "not a Coalwood flight log" in one_line_error(
        capsys, [*C6, "--reverse", "--flight", str(junk)])
    assert "no such file" in one_line_error(
        capsys, [*C6, "--reverse", "--flight", str(tmp_path / "gone.cwf")])


def test_reverse_says_when_no_cd_reproduces_the_apogee(capsys):
    err = one_line_error(capsys, [*C6, "--reverse", "--apogee-m", "3000"])
    assert "no Cd from 0.05 to 2 reproduces an apogee of 3000.0 m" in err
    assert "cannot reach that height" in err


def test_reverse_landing_point_in_and_out_of_reach(tmp_path, capsys):
    rocket = [*C6, "--cd", "0.75", "--main-ms", "4.5", "--reverse"]
    far = run_json(capsys, *rocket, "--landed-m", "4828", "--landed-bearing-deg", "90",
                   "--json")
    assert far["mode"] == "reach" and far["reachable"] is False
    assert far["max_reach_m"] < 4828 and far["closest_miss_m"] is None
    assert far["farthest_launch"]["rail_angle_deg"] == pytest.approx(30.0)
    near_m = round(0.9 * far["max_reach_m"], 1)
    out = tmp_path / "reach.png"
    near = run_json(capsys, *rocket, "--landed-m", str(near_m), "--landed-bearing-deg", "45",
                    "--json", "--png", str(out), "--png-size", "500x300")
    assert near["reachable"] is True and near["closest_miss_m"] <= near["tolerance_m"]
    assert near["target"] == {"distance_m": near_m, "bearing_deg": 45.0}
    assert png_size(out) == (500, 300)
    assert main([*rocket, "--landed-m", "4828", "--landed-bearing-deg", "90"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].endswith("No.") and "farthest landing" in text


def test_the_command_is_listed_in_coalwood_help():
    from ground.cli import build_parser

    assert "predict" in build_parser().format_help()


# --- rocket files ----------------------------------------------------------------------------------
def test_a_rocket_file_gives_the_values_and_options_override_them(tmp_path, capsys):
    path = tmp_path / "c6.json"
    path.write_text(json.dumps({"version": 1, "motor": "C6", "mass_g": 100,
                                "diameter_mm": 24.8, "cd": 0.75, "main_ms": 4.5,
                                "wind_ms": 4, "wind_dir": 270, "name": "Sport"}))
    from_file = run_json(capsys, "predict", "--rocket", str(path), "--json")
    by_hand = run_json(capsys, *C6, "--cd", "0.75", "--main-ms", "4.5", "--wind-ms", "4",
                       "--wind-dir", "270", "--json")
    for key in FIGURES:
        assert from_file[key] == by_hand[key], key
    assert from_file["rocket"] == "Sport"
    heavier = run_json(capsys, "predict", "--rocket", str(path), "--mass-g", "150",
                       "--wind-ms", "0", "--json")
    assert heavier["inputs"]["mass_g"] == 150 and heavier["inputs"]["wind_ms"] == 0
    assert heavier["inputs"]["wind_dir_deg"] == 270 and heavier["apogee_m"] < from_file["apogee_m"]


def test_save_rocket_writes_what_was_used_and_flies_the_same(tmp_path, capsys):
    saved = tmp_path / "fitted.json"
    fit = run_json(capsys, *C6, "--main-ms", "4.5", "--rail-m", "1.5", "--reverse",
                   "--apogee-m", "150", "--save-rocket", str(saved), "--json")
    assert fit["saved_rocket"] == str(saved)
    doc = json.loads(saved.read_text())
    assert doc["motor"] == "C6" and doc["rail_m"] == 1.5 and "pad_alt_m" not in doc
    assert doc["cd"] == pytest.approx(fit["cd"])  # the fitted Cd, not the search's start
    again = run_json(capsys, "predict", "--rocket", str(saved), "--json")
    assert again["apogee_m"] == pytest.approx(150.0, rel=1e-3)
    assert main(["predict", "--rocket", str(saved), "--reverse", "--apogee-m", "140"]) == 0
    assert "of %s is not used: the fit replaces it" % saved in capsys.readouterr().out


def test_save_rocket_with_a_motor_file_finds_it_again(tmp_path, capsys, monkeypatch):
    (tmp_path / "F20.eng").write_text(
        "; a test motor\nF20 29 100 4 0.03 0.08 Test\n0.0 20\n2.0 20\n2.1 0\n")
    (tmp_path / "rockets").mkdir()
    monkeypatch.chdir(tmp_path)
    first = run_json(capsys, "predict", "--motor", "F20.eng", "--mass-g", "150",
                     "--diameter-mm", "29", "--cd", "0.6", "--save-rocket",
                     "rockets/f20.json", "--json")
    assert json.loads((tmp_path / "rockets" / "f20.json").read_text())["motor"] == "../F20.eng"
    monkeypatch.chdir(tmp_path / "rockets")
    again = run_json(capsys, "predict", "--rocket", "f20.json", "--json")
    assert again["apogee_m"] == first["apogee_m"]


@pytest.mark.parametrize(("argv", "message"), [
    (["predict", "--mass-g", "100", "--diameter-mm", "24.8", "--cd", "0.7"], "give --motor"),
    (["predict", "--motor", "C6", "--diameter-mm", "24.8", "--cd", "0.7"], "give --mass-g"),
    (["predict", "--rocket", "ROCKET", "--mass-g", "-1"], "--mass-g must be a positive"),
    (["predict", "--rocket", "MISSING"], "--rocket MISSING: no such rocket file"),
    (["predict", "--rocket", "ROCKET", "--save-rocket", "NOWHERE"], "no folder"),
])
def test_rocket_file_mistakes_are_one_line(tmp_path, capsys, argv, message):
    rocket = tmp_path / "r.json"
    rocket.write_text(json.dumps({"version": 1, "motor": "C6", "diameter_mm": 24.8, "cd": 0.7,
                                  "mass_g": 100}))
    names = {"ROCKET": str(rocket), "MISSING": str(tmp_path / "gone.json"),
             "NOWHERE": str(tmp_path / "no" / "r.json")}
    argv = [names.get(a, a) for a in argv]
    message = message.replace("MISSING", names["MISSING"])
    assert message in one_line_error(capsys, argv)
