"""The noisy link soak (tests/campaigns/soak.py): its short version, and the measures it rests on."""

from campaigns import common, soak


def test_a_noisy_minute_at_the_pad_fires_or_fails_safe_and_downloads_exactly():
    counts = soak.run()
    assert common.failures(counts) == []
    # it really flew a session: launches both ways, downloads, and a line that lost frames
    assert counts["simulated_s"] >= 60
    assert counts["launches"] >= 5 and counts["fired"] >= 4 and counts["failed_safe"] >= 1
    assert counts["fired"] + counts["failed_safe"] == counts["launches"]
    assert counts["fires_accepted"] >= counts["fired"] and counts["output_edges"] >= 2 * counts["fired"]
    assert counts["downloads"] >= 5 and counts["bytes_downloaded"] >= 5 * soak.SHORT_FLIGHT_BYTES
    assert counts["frames_lost"] >= 50 and counts["download_resent_windows"] > 0
    assert counts["bytes_flipped"] > 0 and counts["bytes_dropped"] > 0
    assert counts["elapsed_s"] < 25


def test_the_bit_flip_rate_is_one_in_ten_thousand_bits():
    # the simulator flips one bit of a byte with a per-byte probability
    assert abs((1 - (1 - 1e-4) ** 8) - soak.FLIP_RATE_PER_BYTE) < 1e-6


def test_the_loss_meter_measures_each_silence_from_the_alarm_to_the_next_frame():
    meter = soak.LossMeter(1000)
    for t in (0, 500, 1500, 2501, 4800):  # 1000 ms: no alarm; 1001: lost 1 ms; 2299: 1299
        meter.heard(t)
    assert meter.false_losses_ms == [1, 1299]
    assert meter.longest_ms == 1299 and meter.over_timeout == 1
    assert meter.longest_silence_ms == 2299


def test_spurious_edges_are_those_outside_an_accepted_fire_of_their_channel():
    fires = [(1000, 0b01), (1100, 0b01)]
    good = [(1000, 0, True), (1350, 0, False)]  # on at the first FIRE, off 250 ms after the last
    assert soak.spurious_edges(good, fires, 250) == 0
    assert soak.spurious_edges([*good, (1351, 0, True)], fires, 250) == 1  # after the pulse
    assert soak.spurious_edges([(999, 0, True)], fires, 250) == 1  # before any FIRE
    assert soak.spurious_edges([(1000, 1, True)], fires, 250) == 1  # a channel not fired


def _idle_line(tmp_path, ms):
    counts = soak.Counts()
    line = soak.Line(str(tmp_path), seed=1, flip_rate=0.0, drop_rate=0.0)
    station = soak.Station(line, b"", counts)

    def run(n):
        for _ in range(n):
            for msg in line.step():
                station.on_message(msg)
            station.keep_alive()

    run(ms)
    return line, run


def test_a_cut_link_shows_as_a_loss_longer_than_the_timeout_on_both_sides(tmp_path):
    line, run = _idle_line(tmp_path, 2000)
    assert line.device_heard.false_losses_ms == [] and line.ground_heard.false_losses_ms == []
    line.dev.cut_link(True)
    run(2600)
    line.dev.cut_link(False)
    run(1000)
    for meter in (line.device_heard, line.ground_heard):
        # silent for the cut and up to a heartbeat period either side of it
        (lost_ms,) = meter.false_losses_ms
        assert 2600 - 1000 <= lost_ms <= 2600 + 1000 - 1000 and meter.over_timeout == 1
    line.dev.close()


def test_an_output_turned_on_without_a_fire_is_counted_spurious(tmp_path):
    line, run = _idle_line(tmp_path, 1000)
    line.dev.hal.fire(0, True)  # what a firmware bug would do: no FIRE was accepted
    run(10)
    counts = soak.Counts()
    soak._count_link(line, counts)
    assert counts["spurious_fires"] >= 1 and counts["fires_accepted"] == 0
    line.dev.close()

