"""The window's flight view against real logs: its tables say what `coalwood analyze` prints,
its plots hold the analysis' data, the prediction of a rocket file is drawn over the flight,
export writes the command's CSV and PNG, and bad input is one line that keeps the flight."""

import json
import pathlib
import re

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from flightlogs import FLIGHTS
from flown import fly_with_rocket_file
from PySide6 import QtWidgets

from ground.cli import main
from ground.flight import analyze, load
from ground.trajectory.spec import sample_spec
from ground.ui.flight_view import FlightView

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "flights"
PF2 = "stratologgercf-h128w.pf2"
EGGTIMER = "eggtimer-trs-j350w.csv"
BLUE_RAVEN = "blueraven-low-c6.csv"
CATS = str(FLIGHTS / "hedy-cats-baro.csv")  # the real log with a bridged transonic stretch
# the simulated board's C6 rocket (ground/trajectory/examples.py), as a rocket file
C6_ROCKET = {"version": 1, "name": "24.8 mm sport rocket", "motor": "C6", "mass_g": 100,
             "diameter_mm": 24.8, "cd": 0.75, "main_ms": 4.5, "rail_m": 1.0}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fixture(name):
    return str(FIXTURES / name)


@pytest.fixture(scope="module")
def flown(tmp_path_factory):
    """A .cwf the real firmware logged on the simulated board flying the C6 rocket, and a
    rocket file describing that rocket."""
    return fly_with_rocket_file(tmp_path_factory.mktemp("flown"), "C6", C6_ROCKET)


@pytest.fixture
def view(qtbot):
    v = FlightView()
    qtbot.addWidget(v)
    v.resize(1200, 800)
    v.show()
    return v


def cells(table):
    return [tuple(table.item(r, c).text() for c in range(table.columnCount()))
            for r in range(table.rowCount())]


def cli_report(capsys, *args):
    assert main(["analyze", *args]) == 0
    return capsys.readouterr().out.splitlines()


def cli_statistics(lines):
    """(label, text) of the report's statistics: the lines between the first two blanks,
    printed as "  %-17s %s"."""
    start = lines.index("") + 1
    end = lines.index("", start)
    return [(line[2:19].rstrip(), line[20:]) for line in lines[start:end]]


def cli_events(lines):
    """(time, name, altitude, source) of the report's events section."""
    out = []
    for line in lines[lines.index("events") + 1:]:
        if not line:
            break
        m = re.fullmatch(r"  (T[+-]\d+\.\d\d s)\s+(\S+)\s+(.+?)  \((\w+)\)", line)
        assert m, line
        out.append(m.groups())
    return out


def cli_prediction(lines):
    """(heading, [(figure, predicted, measured, difference)]) of the report's prediction,
    printed as "  %-17s %12s %12s  %s" under its heading and a column header."""
    at = next(i for i, line in enumerate(lines) if line.startswith("predicted by "))
    rows = []
    for line in lines[at + 2:]:
        if not line or line.startswith("  warning:"):
            break
        rows.append((line[2:19].rstrip(), line[20:32].strip(), line[33:45].strip(), line[47:]))
    return lines[at], rows


def curve_data(view, name):
    x, y = view.curves[name].getOriginalDataset()
    return np.asarray(x), np.asarray(y)


# --- the statistics equal the command's ------------------------------------------------------
@pytest.mark.parametrize("name", [PF2, EGGTIMER, BLUE_RAVEN, "flown"])
def test_statistics_and_events_equal_the_cli_report(view, capsys, flown, name):
    path = flown[0] if name == "flown" else fixture(name)
    assert view.show_file(path)
    lines = cli_report(capsys, path)
    stats = cli_statistics(lines)
    assert [label for label, _text in stats][:2] == ["apogee", "time to apogee"]
    assert cells(view.statistics_table) == stats
    events = cli_events(lines)
    assert len(events) >= 4
    assert cells(view.events_table) == events
    assert view.title_label.text() == lines[0]
    assert view.message() == ""


def test_the_flown_flight_shows_the_device_and_its_notes(view, capsys, flown):
    assert view.show_file(flown[0])
    lines = cli_report(capsys, flown[0])
    assert view.details_label.text() == lines[1]  # board, firmware, flight, pad
    notes = lines[lines.index("notes") + 1:]
    assert notes and view.notes_text.toPlainText().splitlines() == [n[2:] for n in notes]


# --- the plots hold the analysis' data -------------------------------------------------------
@pytest.mark.parametrize("path", [fixture(EGGTIMER), CATS], ids=["eggtimer", "cats"])
def test_the_plots_hold_the_analysis_data(view, path):
    assert view.show_file(path)
    result = analyze(load(path))
    flight, keep = result.flight, ~result.rejected
    for name, (want_t, want_y) in {
            "measured": (flight.t_s[keep], flight.altitude_m[keep]),
            "altitude (smoothed)": (result.grid_t_s, result.grid_altitude_m),
            "vertical speed": (result.grid_t_s, result.grid_velocity_ms),
            "acceleration": (result.grid_t_s, result.grid_accel_ms2)}.items():
        t, y = curve_data(view, name)
        np.testing.assert_allclose(t, want_t, err_msg=name)
        np.testing.assert_allclose(y, want_y, err_msg=name)
    # each plot sits in its own panel, the time axes linked to the altitude's
    assert view.curves["vertical speed"] in view.plots["speed"].listDataItems()
    assert view.curves["acceleration"] in view.plots["acceleration"].listDataItems()
    for name in ("speed", "acceleration"):
        assert view.plots[name].getViewBox().linkedView(0) is view.plots["altitude"].getViewBox()
    # every event a labelled line on every plot, every bridged stretch shaded on each
    want = [(e.name, e.t_s) for e in result.events]
    assert len(want) >= 4
    for name, plot in view.plots.items():
        lines = view.event_lines[name]
        assert [(line.label.format, line.value()) for line in lines] == want
        assert all(line in plot.items for line in lines)
        spans = [region.getRegion() for region in view.bridge_regions[name]]
        assert spans == [(a, b) for a, b, _why in result.bridges]
    if path == CATS:
        assert len(result.bridges) == 1  # the log's transonic stretch, shaded


def test_rejected_glitches_are_drawn_apart(view):
    path = str(FLIGHTS / "juno3-rrc3-2023.csv")  # a real log with corrupt rows
    assert view.show_file(path)
    result = view.analysis
    assert np.count_nonzero(result.rejected) >= 2
    t, _y = curve_data(view, "rejected")
    np.testing.assert_array_equal(t, result.flight.t_s[result.rejected])
    assert len(curve_data(view, "measured")[0]) == len(result.flight) - len(t)


# --- bad input: one line, the flight stays -----------------------------------------------------
@pytest.mark.parametrize(("content", "words"), [
    (b"", "empty"),
    (b"date,temperature\n2024-01-01,3\n", "not a flight log format"),
    (bytes(range(256)) * 4, "binary"),
    (None, "cannot read"),
], ids=["empty", "not-a-log", "binary", "missing"])
def test_a_bad_log_is_one_line_and_keeps_the_flight(view, qtbot, tmp_path, content, words):
    assert view.show_file(fixture(PF2))
    shown, stats, events = view.analysis, cells(view.statistics_table), cells(view.events_table)
    altitude = curve_data(view, "altitude (smoothed)")
    bad = tmp_path / "bad.csv"
    if content is not None:
        bad.write_bytes(content)
    with qtbot.waitSignal(view.error, timeout=1000) as blocker:
        assert not view.show_file(str(bad))
    message = blocker.args[0]
    assert words in message and str(bad) in message
    assert "\n" not in message and "Traceback" not in message
    assert view.message() == message
    assert view.message_label.property("level") == "danger"
    assert view.analysis is shown
    assert cells(view.statistics_table) == stats and cells(view.events_table) == events
    np.testing.assert_array_equal(curve_data(view, "altitude (smoothed)")[1], altitude[1])
    # the next good log clears the line
    assert view.show_file(fixture(BLUE_RAVEN)) and view.message() == ""


def test_nothing_to_export_before_a_flight(view, qtbot, tmp_path):
    for button in (view.rocket_button, view.csv_button, view.png_button):
        assert not button.isEnabled()
    with qtbot.waitSignal(view.error, timeout=1000) as blocker:
        assert not view.export_csv(tmp_path / "x.csv")
    assert blocker.args == ["no flight shown to export"]
    assert not (tmp_path / "x.csv").exists()


# --- export ---------------------------------------------------------------------------------
def test_the_csv_export_reads_back_with_the_same_apogee(view, tmp_path):
    assert view.show_file(fixture(EGGTIMER))
    out = tmp_path / "flight.csv"
    assert view.export_csv(out)
    assert view.message() == "wrote %s" % out
    again = analyze(load(str(out)))
    assert again.flight.format == "coalwood-csv"
    assert again.stats["apogee_agl_m"] == pytest.approx(
        view.analysis.stats["apogee_agl_m"], rel=1e-3)


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_the_png_export_is_the_size_asked(view, tmp_path):
    assert view.show_file(fixture(BLUE_RAVEN))
    out = tmp_path / "flight.png"
    assert view.export_png(out, 800, 600)
    assert png_size(out) == (800, 600)


@pytest.mark.parametrize(("size", "words"), [((50, 50), "a picture is"),
                                             ((800, 600), "cannot write")],
                         ids=["too-small", "no-folder"])
def test_a_failed_export_is_one_line(view, qtbot, tmp_path, size, words):
    assert view.show_file(fixture(BLUE_RAVEN))
    out = tmp_path / "no" / "such" / "folder.png"
    with qtbot.waitSignal(view.error, timeout=5000) as blocker:
        assert not view.export_png(out, *size)
    assert words in blocker.args[0] and "\n" not in blocker.args[0]
    assert view.analysis is not None and not out.exists()


# --- the prediction -------------------------------------------------------------------------
def test_a_rocket_file_draws_the_prediction_and_its_rows_equal_the_cli(view, capsys, flown):
    path, rocket = flown
    assert view.show_file(path)
    assert "predicted" not in view.curves and view.prediction_table.isHidden()
    assert view.set_rocket_file(rocket)
    heading, rows = cli_prediction(cli_report(capsys, path, "--rocket", rocket))
    assert view.prediction_label.text() == heading
    assert heading.startswith("predicted by c6.json: Estes C6 in a 24.8 mm sport rocket")
    assert cells(view.prediction_table) == rows
    assert [row[0] for row in rows] == ["apogee", "time to apogee", "max speed"]
    assert view.prediction_table.isVisibleTo(view)
    # the predicted altitude over the measured one, only over the log's span
    t, z = curve_data(view, "predicted")
    assert view.curves["predicted"] in view.plots["altitude"].listDataItems()
    grid = view.analysis.grid_t_s
    assert len(t) > 100 and t[0] >= grid[0] and t[-1] <= grid[-1]
    model = view.prediction.flight
    np.testing.assert_allclose(np.interp(t, model.t_s + view.prediction.offset_s, model.z_m), z)
    assert z.max() == pytest.approx(view.analysis.stats["apogee_agl_m"], rel=0.05)


def test_the_prediction_follows_the_flight_shown_and_the_png(view, flown, tmp_path):
    path, rocket = flown
    assert view.show_file(path) and view.set_rocket_file(rocket)
    first = view.prediction
    assert view.show_file(fixture(BLUE_RAVEN))  # another C6 flight: flown again for it
    assert view.prediction is not None and view.prediction is not first
    assert view.prediction.measured["apogee_m"] == view.analysis.stats["apogee_agl_m"]
    with_prediction, without = tmp_path / "with.png", tmp_path / "without.png"
    assert view.export_png(with_prediction, 600, 400)
    assert view.set_prediction_source(None) and "predicted" not in view.curves
    assert view.prediction_table.isHidden()
    assert view.export_png(without, 600, 400)
    assert png_size(with_prediction) == png_size(without) == (600, 400)
    assert with_prediction.read_bytes() != without.read_bytes()


def test_the_simulators_sample_rocket_predicts_as_its_rocket_file(view, flown):
    path, rocket = flown
    assert view.show_file(path) and view.set_rocket_file(rocket)
    from_file = cells(view.prediction_table)
    sample = sample_spec("C6")
    assert view.set_prediction_source(sample)
    assert cells(view.prediction_table) == from_file
    assert "predicted" in view.curves
    assert view.prediction_label.text() == (
        "predicted by the model: Estes C6 in a 24.8 mm sport rocket, Cd 0.75")


@pytest.mark.parametrize(("rocket", "words"), [
    ({**C6_ROCKET, "cd": -1}, "cd must be"),
    ({**C6_ROCKET, "mass_g": 100000}, "never leaves the pad"),
    (None, "no such rocket file"),
], ids=["bad-cd", "too-heavy", "missing"])
def test_a_bad_rocket_file_is_one_line_and_the_overlay_off(view, qtbot, flown, tmp_path,
                                                           rocket, words):
    path, good = flown
    assert view.show_file(path) and view.set_rocket_file(good)
    stats = cells(view.statistics_table)
    bad = tmp_path / "r.json"
    if rocket is not None:
        bad.write_text(json.dumps(rocket))
    with qtbot.waitSignal(view.error, timeout=2000) as blocker:
        assert not view.set_rocket_file(bad)
    message = blocker.args[0]
    assert words in message and str(bad) in message and "\n" not in message
    assert not message.startswith("--")  # the window has no command-line options
    assert view.prediction is None and "predicted" not in view.curves
    assert view.prediction_table.isHidden() and view.prediction_table.rowCount() == 0
    assert cells(view.statistics_table) == stats and view.analysis is not None


# --- the buttons and their dialogs -----------------------------------------------------------
def pick(qtbot, button, path):
    """Click `button` and choose `path` in the file dialog it opens."""
    button.click()
    dialog = button.window().findChild(QtWidgets.QFileDialog)
    assert dialog is not None and dialog.testOption(
        QtWidgets.QFileDialog.Option.DontUseNativeDialog)
    dialog.selectFile(str(path))
    dialog.accept()
    qtbot.waitUntil(lambda: button.window().findChild(QtWidgets.QFileDialog) is None,
                    timeout=1000)


def test_the_buttons_open_compare_and_export(view, qtbot, flown, tmp_path):
    path, rocket = flown
    with qtbot.waitSignal(view.shown, timeout=2000) as blocker:
        pick(qtbot, view.open_button, path)
    assert blocker.args == ["0000.cwf: Coalwood flight log (.cwf), %d samples over %.1f s"
                            % (len(view.analysis.flight), view.analysis.to_dict()["duration_s"])]
    assert view.analysis.flight.source == path
    pick(qtbot, view.rocket_button, rocket)
    assert "predicted" in view.curves
    pick(qtbot, view.csv_button, tmp_path / "out.csv")
    assert load(str(tmp_path / "out.csv")).format == "coalwood-csv"
    pick(qtbot, view.png_button, tmp_path / "out")  # the dialog adds .png
    assert png_size(tmp_path / "out.png") == (1200, 900)
    assert view.message() == "wrote %s" % (tmp_path / "out.png")
