"""The link-loss campaign (tests/campaigns/link_loss.py): its short version, and proof that
its measurements catch a pad that stays on or stays armed too long."""

from campaigns import common, link_loss
from campaigns.link_loss import Lockstep, firing_cut, measure_cut

from protocol import constants as C
from protocol import messages as M


def test_link_loss_short_campaign_keeps_every_bound():
    counts = link_loss.run()
    assert common.failures(counts) == [], counts["examples"]
    # it really cut in every state, under every configuration
    assert counts["cuts"] >= 120
    assert counts["cuts_with_output_on"] >= 60 and counts["cuts_armed"] >= 100
    assert set(counts["by_profile"]) == {"default", "maximums", "minimums"}
    for scenario in ("safe", "arming", "armed", "firing_first", "firing_later_5",
                     "firing_cap_29", "firing_cap_30", "firing_cap_31"):
        assert counts["by_scenario"][scenario] >= 6, scenario
    # a whole pulse was measured: off exactly fire_pulse_ms after the last FIRE
    assert counts["by_profile"]["default"]["worst_output_off_ms"] == 250
    assert counts["by_profile"]["minimums"]["worst_output_off_ms"] == 50
    assert counts["by_profile"]["minimums"]["worst_safe_ms"] <= 250
    assert 900 < counts["worst_safe_ms"] <= 1000


def test_a_pulse_longer_than_the_bound_is_counted_late():
    rig = Lockstep(seed=3)
    try:
        # a firmware that kept each FIRE's output on 400 ms (CONFIG_SET refuses it)
        rig.dev.app.controller.fire_pulse_ms = 400
        since = rig.ms
        firing_cut(2)(rig, 1, 30)
        r = measure_cut(rig, since, rig.ms)
        assert r["output_off_ms"] == 400
        assert r["output_off_ms"] > link_loss.OUTPUT_OFF_BOUND_MS
    finally:
        rig.close()


def test_a_pad_that_ignores_link_loss_is_counted_late():
    rig = Lockstep(seed=4)
    try:
        rig.dev.app.controller.link_loss_ms = 5000  # beyond CONFIG's limit: only the lapse acts
        since = rig.ms
        link_loss.cut_armed(rig, 1, 100)
        r = measure_cut(rig, since, rig.ms)
        assert r["safe_ms"] > link_loss.SAFE_BOUND_MS
        assert rig.dev.app.controller.safe_reason == C.SAFE_ARM_LAPSED
    finally:
        rig.close()


def test_the_rig_plays_the_ground_as_the_client_does():
    rig = Lockstep(seed=5)

    def sent(msg_type):
        return sum(1 for _ms, t, _seq, _session in rig.sent if t == msg_type)

    try:
        ack = rig.arm(1)
        assert isinstance(ack, M.ArmAck) and rig.state == C.STATE_ARMED
        rig.run(3500)  # past the 3 s lapse: the ground's ARM_REFRESH keeps the pad armed
        assert rig.state == C.STATE_ARMED
        assert sent(C.ARM_REFRESH) == 3 and sent(C.HEARTBEAT) >= 8
        rig.start_fire(1)
        rig.run(350)
        assert sent(C.FIRE) == 4 and any(rig.dev.hal.level)
        rig.stop_fire()
        rig.run(300)
        assert rig.state == C.STATE_SAFE and not any(rig.dev.hal.level)
        assert rig.on_while_safe_ms == 0
    finally:
        rig.close()
