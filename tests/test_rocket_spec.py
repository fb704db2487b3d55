"""Rocket files (ground/trajectory/spec.py): the round trip, motor paths relative to the
file, and one clear line naming the file for everything a file can get wrong."""

import json

import pytest

from ground.trajectory import Rocket, simulate, spec
from ground.trajectory.examples import sample_rocket

H128W = {"version": 1, "name": "54 mm single-deploy rocket", "motor": "H128W", "mass_g": 900,
         "diameter_mm": 54, "cd": 0.6, "main_ms": 6, "rail_m": 1.8}
F20_ENG = "; a test motor\nF20 29 100 4 0.03 0.08 Test\n0.0 20\n2.0 20\n2.1 0\n"


def write(path, doc):
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_a_file_flies_the_rocket_it_describes(tmp_path):
    loaded = spec.load(write(tmp_path / "r.json", H128W))
    assert isinstance(loaded.rocket, Rocket) and loaded.motor.name == "H128W"
    assert loaded.rocket.name == "54 mm single-deploy rocket"
    expected = simulate(sample_rocket("AeroTech_H128W"), "H128W")
    assert loaded.simulate().apogee_m == pytest.approx(expected.apogee_m, rel=1e-12)
    # the pad is the caller's (a flight's) unless the file says
    assert loaded.conditions(pad_alt_m=1200.0)["pad_altitude_m"] == 1200.0
    assert spec.load(write(tmp_path / "p.json", {**H128W, "pad_alt_m": 300})).conditions(
        pad_alt_m=1200.0)["pad_altitude_m"] == 300.0


def test_save_and_read_round_trip(tmp_path):
    values = {"name": "Juno", "motor": "J350W", "mass_g": 1000.0, "diameter_mm": 41.0,
              "cd": 0.5, "drogue_ms": 25.0, "main_ms": 6.0, "main_deploy_m": 150.0,
              "rail_m": 2.4, "rail_angle_deg": 5.0, "rail_bearing_deg": 270.0, "wind_ms": 4.0,
              "wind_dir": 270.0, "pad_alt_m": 1400.0, "temp_c": 25.0}
    path = tmp_path / "juno.json"
    spec.save(path, {**values, "cd": 0.5, "temp_c": 25.0, "unused": None})
    doc = json.loads(path.read_text())
    assert doc["version"] == spec.VERSION and doc["mass_g"] == 1000  # whole numbers stay whole
    assert spec.read(path) == values
    assert spec.load(path).simulate().apogee_m > 0
    spec.save(path, {"motor": "C6", "mass_g": 100, "diameter_mm": 24.8, "cd": 0.75,
                     "main_ms": None})
    assert "main_ms" not in json.loads(path.read_text())


def test_a_motor_file_is_found_beside_the_rocket_file(tmp_path, monkeypatch):
    folder = tmp_path / "rockets"
    (folder / "motors").mkdir(parents=True)
    (folder / "motors" / "F20.eng").write_text(F20_ENG)
    path = write(folder / "r.json", {**H128W, "motor": "motors/F20.eng", "mass_g": 150,
                                     "diameter_mm": 29})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = spec.load(path)
    assert loaded.motor.name == "F20"
    assert loaded.values["motor"] == str(folder / "motors" / "F20.eng")
    # saved elsewhere, a motor path is rewritten relative to the new file
    spec.save(tmp_path / "copy.json", loaded.values)
    assert json.loads((tmp_path / "copy.json").read_text())["motor"] == "rockets/motors/F20.eng"
    assert spec.load(tmp_path / "copy.json").motor.name == "F20"


@pytest.mark.parametrize(("doc", "words"), [
    ("{\"version\": 1,\n \"motor\": \"H128W\",,}", ":2: not valid JSON"),
    ("", "not valid JSON"),
    ("[1, 2]", "one JSON object"),
    ({k: v for k, v in H128W.items() if k != "version"}, "\"version\" must be 1"),
    ({**H128W, "version": 2}, "\"version\" must be 1, not 2"),
    ({**H128W, "version": True}, "\"version\" must be 1"),
    ({**H128W, "mass_kg": 0.9}, "unknown key 'mass_kg'"),
    ({**H128W, "mass_g": "900"}, "'mass_g' must be a number"),
    ({**H128W, "cd": True}, "'cd' must be a number"),
    ({**H128W, "motor": 128}, "'motor' must be text"),
    ({**H128W, "name": ""}, "'name' must be text"),
    ({**H128W, "mass_g": -5}, "mass_g must be positive"),
    ({**H128W, "diameter_mm": 0}, "diameter_mm must be positive"),
    ({**H128W, "cd": 9}, "beyond any model"),
    ({**H128W, "rail_angle_deg": 95}, "rail_angle_deg must be 0 to 90"),
    ({**H128W, "wind_ms": -1}, "wind_ms must be 0 to 60"),
    ({**H128W, "pad_alt_m": 9000}, "pad_alt_m: pad altitude 9000"),
    ({**H128W, "temp_c": 80}, "temp_c: pad temperature 80"),
    (json.dumps(H128W).replace('"mass_g": 900', '"mass_g": 1e400'), "must be finite"),
])
def test_what_a_file_gets_wrong_is_one_line_naming_it(tmp_path, doc, words):
    path = write(tmp_path / "bad.json", doc)
    with pytest.raises(spec.SpecError) as caught:
        spec.load(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and words in message, message
    assert "\n" not in message


@pytest.mark.parametrize(("change", "words"), [
    ({"cd": None}, "no 'cd'"),
    ({"motor": None}, "no 'motor'"),
    ({"main_ms": None, "main_deploy_m": 150}, "no main parachute"),
    ({"drogue_ms": 20}, "with a drogue, the main needs a deploy height"),
    ({"motor": "D12"}, "motor: no bundled motor 'D12'"),
    ({"motor": "gone/F20.eng"}, "no motor file"),
    ({"motor": "bad.eng"}, ":1:"),
])
def test_a_file_that_is_not_a_whole_rocket_is_one_line(tmp_path, change, words):
    (tmp_path / "bad.eng").write_text("F20 29 100 4 0.03 Test\n0.0 20\n")
    doc = {k: v for k, v in {**H128W, **change}.items() if v is not None}
    path = write(tmp_path / "r.json", doc)
    with pytest.raises(spec.SpecError) as caught:
        spec.load(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and words in message, message
    assert "\n" not in message


def test_a_missing_or_unreadable_file_is_one_line(tmp_path):
    with pytest.raises(spec.SpecError, match="no such rocket file"):
        spec.load(tmp_path / "nope.json")
    (tmp_path / "blob.json").write_bytes(bytes(range(256)))
    with pytest.raises(spec.SpecError, match="not a text file"):
        spec.load(tmp_path / "blob.json")
    with pytest.raises(spec.SpecError, match="cannot read it"):
        spec.load(tmp_path)  # a folder
