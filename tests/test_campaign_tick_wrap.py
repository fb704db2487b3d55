"""The tick-wrap campaign (tests/campaigns/tick_wrap.py): its short version, and proof that
it catches a deadline or a flight log that does not survive the wrap."""

import numpy as np
from campaigns import common, tick_wrap
from campaigns.tick_wrap import ACTION_MS, FAR_TICK, Pulse, flight_problems, fly, run_case

from ground.flightfile import FlightFile


def test_tick_wrap_short_campaign_changes_nothing():
    counts = tick_wrap.run()
    assert common.failures(counts) == [], counts["examples"]
    assert set(counts["by_case"]) == {"armed_lapse", "armed_refresh", "pulse", "deadman", "cap",
                                      "link_loss"}
    assert all(case["runs"] >= 10 for case in counts["by_case"].values())
    # every run's tick really wrapped: the timing runs and the flights
    assert counts["wraps"] == counts["timing_runs"] + counts["flights"]
    assert counts["flights"] >= 5 and counts["telemetry_batches"] >= 500


def _naive_ticks_diff(later, earlier):
    return later - earlier  # what a controller that forgot the wrap would compute


def test_a_deadline_that_forgets_the_wrap_is_caught(monkeypatch):
    monkeypatch.setattr("firmware.controller.ticks_diff", _naive_ticks_diff)
    _f, _s, _e, problems, _w = run_case(Pulse(), FAR_TICK, seed=0)
    assert problems == []  # far from the wrap, subtraction is enough
    wrap_at = ACTION_MS + 100 + 100  # 100 ms into the pulse
    _f, _s, _e, problems, did_wrap = run_case(Pulse(), tick_wrap.start_for_wrap(wrap_at), seed=0)
    assert did_wrap and problems


def test_a_flight_read_without_the_wrap_is_caught(monkeypatch, tmp_path):
    def naive_seconds(self, ticks):
        return (ticks.astype(np.int64) - self.t0_tick) / 1000.0

    folder = str(tmp_path / "flight")
    # the wrap 4 s after the ARM: the rocket is climbing
    _fig, did_wrap = fly(tick_wrap.start_for_wrap(ACTION_MS + 4000), 0, folder)
    assert did_wrap
    assert flight_problems(folder, None) == []
    monkeypatch.setattr(FlightFile, "_seconds", naive_seconds)
    assert any("not continuous" in p for p in flight_problems(folder, None))
