"""The window's live telemetry: a real simulated flight, and batches made by hand (wraparound,
bad values, clearing, the view). Real widgets, offscreen, never sleeps."""

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from ui_sim import launch_and_speed_up

from ground.ui import Connection
from ground.ui.telemetry import TelemetryPanel
from protocol import constants as C
from protocol import messages as M


class FakeClock:
    """Host seconds the test moves by hand (the panel stamps STATUS with the host clock)."""

    def __init__(self, now_s=1000.0):
        self.now_s = now_s

    def __call__(self):
        return self.now_s


@pytest.fixture
def panel(qtbot):
    def make(conn=None, **kwargs):
        p = TelemetryPanel(conn, **kwargs)
        qtbot.addWidget(p)
        p.resize(900, 700)
        p.show()
        return p

    return make


@pytest.fixture
def open_conn(qtbot):
    made = []

    def make(url, before_open=None):
        conn = Connection()
        made.append(conn)
        if before_open is not None:
            before_open(conn)
        with qtbot.waitSignal(conn.connected, timeout=5000):
            conn.open(url)
        return conn, conn.client.link._port.device

    yield make
    for conn in made:
        conn.close()


def _batch(base_ms, state, alts_cm, step_ms=50, speed_cms=0):
    return M.Telemetry(base_ms=base_ms, flight_state=state, samples=[
        M.TelemetrySample(dt_ms=i * step_ms, altitude_cm=a, speed_cms=speed_cms,
                          pressure_pa=100000) for i, a in enumerate(alts_cm)])


def _plotted_x(curve):
    x = curve.xData
    return np.array([]) if x is None else x


# --- a real flight ---------------------------------------------------------------------------------
def test_a_simulated_flight_is_plotted_marked_and_redrawn_on_the_timer(qtbot, open_conn, panel):
    batches, statuses = [], []
    holder = {}

    def before_open(conn):
        holder["panel"] = panel(conn)
        conn.telemetry.connect(batches.append)
        conn.status.connect(statuses.append)

    conn, device = open_conn("sim://?seed=1&ch1=ematch&motor=C6", before_open)
    p = holder["panel"]
    launch_and_speed_up(qtbot, conn, device, 40)  # the C6's 43 s to landed in about a second
    qtbot.waitUntil(lambda: any(b.flight_state == C.FLIGHT_LANDED for b in batches),
                    timeout=10000)
    qtbot.waitUntil(lambda: p.point_count == sum(len(b.samples) for b in batches)
                    and p.readout_text("flight_state") == "LANDED", timeout=2000)

    samples = [s for b in batches for s in b.samples]
    top_m = max(s.altitude_cm for s in samples) / 100.0
    assert top_m > 100  # a C6 flies about 160 m
    assert p.readouts()["max_altitude_m"] == pytest.approx(top_m)
    assert p.readout_text("max_altitude_m") == "%.1f m" % top_m
    assert p.readouts()["altitude_m"] == samples[-1].altitude_cm / 100.0
    # following, the curves hold the last 30 s; the whole flight puts every sample on them
    assert p.follow and _plotted_x(p.altitude_curve)[-1] - _plotted_x(p.altitude_curve)[1] <= 30
    p.whole_button.click()
    assert len(_plotted_x(p.altitude_curve)) == len(samples)
    assert np.all(np.diff(_plotted_x(p.altitude_curve)) >= 0)
    assert np.array_equal(p.series()["altitude_m"], [s.altitude_cm / 100.0 for s in samples])
    assert np.array_equal(p.speed_curve.yData, [s.speed_cms / 100.0 for s in samples])

    labels = [label for _, label, kind in p.marks() if kind == "state"]
    assert [label.split()[0] for label in labels] == ["BOOST", "COAST", "DROGUE", "MAIN",
                                                     "LANDED"]
    times = {label.split()[0]: t for t, label, _ in p.marks()}
    assert times["BOOST"] == 0.0  # T+0 is liftoff
    assert times["FIRE"] < 0 < times["COAST"] < times["DROGUE"] < times["MAIN"] < times["LANDED"]
    # the marks are vertical lines on all three plots
    for plot in (p.altitude_plot, p.speed_plot, p.battery_plot):
        lines = [item for item in plot.getPlotItem().items
                 if isinstance(item, pg.InfiniteLine) and item.angle == 90]
        assert sorted(line.value() for line in lines) == sorted(t for t, _, _ in p.marks())

    # batches came about 80 a second; the panel drew at its 50 ms timer, not per batch
    assert 0 < p.redraw_count < len(batches)

    # the battery from STATUS, on the same axis
    qtbot.waitUntil(lambda: p.readouts()["battery_v"] == statuses[-1].battery_mv / 1000.0,
                    timeout=2000)
    assert len(p.series()["battery_v"]) >= 2


def test_a_new_connection_clears_the_plots(qtbot, open_conn, panel):
    holder = {}

    def before_open(conn):
        p = holder["panel"] = panel(conn)
        p.add_samples(np.arange(50) / 10.0, np.arange(50.0), np.ones(50), C.FLIGHT_COAST)
        p.redraw()
        assert p.point_count == 50 and p.marks()

    open_conn("sim://?seed=2", before_open)
    p = holder["panel"]
    assert p.point_count == 0 and p.marks() == [] and p.readouts()["max_altitude_m"] is None
    assert len(_plotted_x(p.altitude_curve)) == 0


# --- batches made by hand ------------------------------------------------------------------------
@pytest.mark.parametrize("wrap", [1 << 30, 1 << 32], ids=["ticks_ms-2**30", "u32-2**32"])
def test_device_ticks_unwrap_across_the_wrap(panel, wrap):
    p = panel()
    base = wrap - 100  # the second batch's base has wrapped to 150
    p.on_telemetry(_batch(base, C.FLIGHT_COAST, [1000, 1100, 1200, 1300, 1400]))
    p.on_telemetry(_batch((base + 250) % wrap, C.FLIGHT_COAST, [1500, 1600, 1700]))
    p.on_telemetry(_batch((base + 500) % wrap, C.FLIGHT_COAST, [1800]))
    t = p.series()["t_s"]
    assert t == pytest.approx([0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.5], abs=1e-9)


def test_a_device_clock_going_back_never_runs_the_axis_back(panel):
    p = panel()
    p.on_telemetry(_batch(500_000, C.FLIGHT_COAST, [1000, 1100]))
    p.on_telemetry(_batch(40, C.FLIGHT_COAST, [1200, 1300]))  # the board restarted
    assert np.all(np.diff(p.series()["t_s"]) >= 0)
    assert p.point_count == 4


def test_bad_batches_are_one_error_line_and_plotting_goes_on(qtbot, panel):
    p = panel()
    p.on_telemetry(_batch(1000, C.FLIGHT_BOOST, [100, 200]))
    bad = [
        _batch(1250, 99, [300]),  # no such flight state
        M.Telemetry(base_ms=1250, flight_state=C.FLIGHT_BOOST, samples=[]),
        M.Telemetry(base_ms=1250, flight_state=C.FLIGHT_BOOST,
                    samples=[M.TelemetrySample(0, None, 0, 0)]),
        M.Telemetry(base_ms=1250, flight_state=C.FLIGHT_BOOST,
                    samples=[M.TelemetrySample(0, 1 << 40, 0, 0)]),
        M.Telemetry(base_ms=1250, flight_state=C.FLIGHT_BOOST,
                    samples=[M.TelemetrySample(70000, 300, 0, 0)]),
        M.Telemetry(base_ms=-5, flight_state=C.FLIGHT_BOOST, samples=[M.TelemetrySample()]),
        M.Telemetry(base_ms=1250, flight_state=C.FLIGHT_BOOST, samples=None),
        M.Telemetry(base_ms=1250, flight_state=C.FLIGHT_BOOST, samples=["junk"]),
        M.Telemetry(base_ms=1250, flight_state=C.FLIGHT_BOOST,
                    samples=[M.TelemetrySample(0, 2.5, 0, 0)]),
        "not a message at all",
    ]
    errors = []
    p.error.connect(errors.append)
    for msg in bad:
        p.on_telemetry(msg)
    assert p.bad_batches == len(bad) and p.point_count == 2
    assert len(errors) == 1 and "\n" not in errors[0] and "flight_state" in errors[0]
    p.on_telemetry(_batch(1500, C.FLIGHT_COAST, [300, 400]))
    assert p.point_count == 4
    assert p.series()["altitude_m"].tolist() == [1.0, 2.0, 3.0, 4.0]
    with qtbot.waitSignal(p.redrawn, timeout=1000):
        pass
    assert p.readout_text("max_altitude_m") == "4.0 m"
    p.on_telemetry(bad[0])  # a new run of bad batches is said again
    assert len(errors) == 2


def test_redraws_come_from_the_timer_not_per_sample(qtbot, panel):
    p = panel(redraw_ms=40)
    redraws_before = p.redraw_count
    for k in range(200):
        p.on_telemetry(_batch(1000 + 250 * k, C.FLIGHT_COAST, [k * 10 + i for i in range(5)]))
    assert p.redraw_count == redraws_before  # nothing drawn yet: 1000 samples wait for the timer
    assert len(_plotted_x(p.altitude_curve)) == 0
    with qtbot.waitSignal(p.redrawn, timeout=1000):
        pass
    assert p.redraw_count == redraws_before + 1
    assert p.readouts()["max_altitude_m"] == pytest.approx(19.94)
    # nothing new: the timer falls quiet
    with qtbot.assertNotEmitted(p.redrawn, wait=200):
        pass
    p.on_telemetry(_batch(1000 + 250 * 200, C.FLIGHT_COAST, [5]))
    with qtbot.waitSignal(p.redrawn, timeout=1000):
        pass
    assert p.redraw_count == redraws_before + 2 and p.point_count == 1001


def test_clear_empties_everything(qtbot, panel):
    clock = FakeClock()
    p = panel(clock=clock)
    p.on_status(M.Status(battery_mv=8400, flight_state=C.FLIGHT_PAD))
    p.on_telemetry(_batch(1000, C.FLIGHT_BOOST, [100, 2000, 4000]))
    p.redraw()
    assert p.point_count == 3 and p.marks() and p.readout_text("battery_v") == "8.40 V"
    p.clear()
    assert p.point_count == 0 and p.marks() == []
    assert all(len(v) == 0 for v in p.series().values())
    assert set(p.readouts().values()) == {None}
    assert [p.readout_text(k) for k in ("altitude_m", "speed_ms", "max_altitude_m",
                                        "flight_state", "battery_v")] == ["--"] * 5
    assert len(_plotted_x(p.altitude_curve)) == 0 and len(_plotted_x(p.battery_curve)) == 0
    # and it starts afresh: a new first batch is T+0 again, whatever its tick
    p.on_telemetry(_batch(900_000, C.FLIGHT_BOOST, [100]))
    assert p.series()["t_s"].tolist() == [0.0]


def test_status_is_timed_by_the_latest_telemetry(panel):
    clock = FakeClock(100.0)
    p = panel(clock=clock)
    p.on_status(M.Status(battery_mv=8400, flight_state=C.FLIGHT_PAD))  # host time: T+0
    assert p.readouts()["flight_state"] == "PAD"
    clock.now_s = 101.0
    p._on_fired(1)
    clock.now_s = 102.0  # a batch of 0.2 s arrives; its newest sample is "now"
    p.on_telemetry(_batch(5000, C.FLIGHT_BOOST, [0, 500, 1000, 1500, 2000]))
    # liftoff became T+0: the battery point and the FIRE mark moved before it
    assert p.series()["t_s"].tolist() == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])
    assert p.series()["battery_t_s"].tolist() == pytest.approx([-1.8])
    assert dict((label, t) for t, label, _ in p.marks())["FIRE"] == pytest.approx(-0.8)
    clock.now_s = 102.5
    p.on_status(M.Status(battery_mv=8300, flight_state=C.FLIGHT_COAST))
    assert p.series()["battery_t_s"][-1] == pytest.approx(0.7)  # 0.2 + 0.5 s since the batch
    assert p.readouts()["flight_state"] == "BOOST"  # fresh telemetry wins over STATUS
    clock.now_s = 104.0  # the next batch came late: device time says where it belongs
    p.on_telemetry(_batch(5250, C.FLIGHT_COAST, [2100]))
    assert p.series()["t_s"][-1] == pytest.approx(0.25)
    clock.now_s = 104.1
    p.on_status(M.Status(battery_mv=8200, flight_state=C.FLIGHT_COAST))
    # 0.25 + 0.1 would go back before the last battery point: held there instead
    assert p.series()["battery_t_s"].tolist() == pytest.approx([-1.8, 0.7, 0.7])
    assert p.readouts()["battery_v"] == 8.2
    clock.now_s = 110.0  # telemetry has gone quiet: STATUS says the state
    p.on_status(M.Status(battery_mv=8200, flight_state=C.FLIGHT_DROGUE))
    assert p.readouts()["flight_state"] == "DROGUE"


# --- the view ----------------------------------------------------------------------------------
def _x_range(p):
    return p.altitude_plot.getPlotItem().getViewBox().viewRange()[0]


def test_follow_scrolls_then_whole_flight_then_a_zoom_by_hand_stops_following(qtbot, panel):
    p = panel(follow_s=30.0)
    t = np.arange(0, 120, 0.01)
    alt = np.where(t < 60, t * 10, 1200 - (t - 60) * 5)
    p.add_samples(t, alt, np.gradient(alt, t), C.FLIGHT_COAST)
    p.redraw()
    assert p.follow and _x_range(p) == pytest.approx([119.99 - 30, 119.99])
    # following, the curve holds just the window (and the sample before it)
    assert _plotted_x(p.altitude_curve)[0] == pytest.approx(89.98)
    y_lo, y_hi = p.altitude_plot.getPlotItem().getViewBox().viewRange()[1]
    assert 800 <= y_lo < 900 and 1050 < y_hi <= 1150  # the last 30 s: 900..1050 m, padded

    p.follow_box.click()  # follow off: the whole flight
    assert p.view_mode == "whole" and _x_range(p) == pytest.approx([-2, 119.99])
    assert len(_plotted_x(p.altitude_curve)) == len(t)
    p.follow_box.click()
    assert p.follow and _x_range(p)[0] == pytest.approx(89.99)
    p.whole_button.click()
    assert not p.follow_box.isChecked() and _x_range(p) == pytest.approx([-2, 119.99])
    p.follow_box.click()

    # a wheel zoom on the plot: the operator's view from now on
    view = p.altitude_plot.viewport()
    centre = QPointF(view.width() / 2, view.height() / 2)
    wheel = QWheelEvent(centre, view.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view, wheel)
    assert p.view_mode == "user" and not p.follow_box.isChecked()
    zoomed = _x_range(p)
    assert zoomed[1] - zoomed[0] < 30 - 1
    assert len(_plotted_x(p.altitude_curve)) == len(t)  # panning left finds the data there
    p.add_samples(np.arange(120, 130, 0.01), np.zeros(1000), np.zeros(1000))
    p.redraw()
    assert _x_range(p) == pytest.approx(zoomed)  # new data does not move it


def test_the_whole_flight_is_the_flight_not_the_hour_on_the_pad(panel):
    clock = FakeClock(0.0)
    p = panel(clock=clock)
    for k in range(7200):  # an hour of STATUS on the pad
        clock.now_s = k * 0.5
        p.on_status(M.Status(battery_mv=8400, flight_state=C.FLIGHT_PAD))
    p.show_whole_flight()
    assert _x_range(p) == pytest.approx([0, 3599.5])  # no flight yet: everything
    clock.now_s = 3600.0
    p.on_telemetry(_batch(10_000, C.FLIGHT_BOOST, [0, 500, 1000, 1500, 2000]))
    p.redraw()
    assert _x_range(p) == pytest.approx([-2.0, 0.2])  # liftoff is T+0
    assert p.series()["battery_t_s"][0] == pytest.approx(-3599.8)


def test_the_time_axis_is_shared(panel):
    p = panel()
    p.add_samples(np.arange(0, 100, 0.1), np.zeros(1000), np.zeros(1000))
    p.redraw()
    ranges = [plot.getPlotItem().getViewBox().viewRange()[0]
              for plot in (p.altitude_plot, p.speed_plot, p.battery_plot)]
    assert ranges[0] == pytest.approx(ranges[1]) and ranges[0] == pytest.approx(ranges[2])


def test_the_buffer_grows_by_doubling_and_keeps_every_sample(panel):
    p = panel(capacity=16)
    for k in range(10):
        t = np.arange(k * 100, (k + 1) * 100) / 100.0
        p.add_samples(t, t * 2, t * 3)
    s = p.series()
    assert p.point_count == 1000 and p.capacity == 1024
    assert np.array_equal(s["altitude_m"], np.arange(1000) / 100.0 * 2)
    with pytest.raises(ValueError):
        p.add_samples([1.0, 2.0], [1.0], [1.0, 2.0])
