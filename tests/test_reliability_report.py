"""tests/bench/reliability_report.py: the campaigns' counts gathered into one report."""

import importlib.util
import json
import os

import pytest

REPORT = os.path.join(os.path.dirname(__file__), "bench", "reliability_report.py")


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("reliability_report", REPORT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_campaign_module_is_in_the_report(report):
    here = os.path.join(os.path.dirname(__file__), "campaigns")
    modules = {name[:-3] for name in os.listdir(here)
               if name.endswith(".py") and name not in ("__init__.py", "common.py")}
    assert modules == set(report.CAMPAIGNS)
    for campaign, count in (src for sources in report.SUMMARY.values() for src in sources):
        assert campaign in report.CAMPAIGNS, (campaign, count)


def test_json_report_of_one_campaign_says_all_zero(report, capsys):
    assert report.main(["--only", "attack", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["length"] == "short" and list(out["campaigns"]) == ["attack"]
    assert out["summary"]["attacks_sent"] == out["campaigns"]["attack"]["attacks_sent"] > 0
    assert out["summary"]["attacks_executed"] == 0
    assert out["summary"]["all_zero"] is True and out["summary"]["not_zero"] == []


def test_a_count_that_is_not_zero_is_named_and_fails_the_report(report):
    results = {"fuzz": {"frames_fuzzed": 10, "spurious_arms": 1, "crashes": 0,
                        "must_be_zero": ["spurious_arms", "crashes"]},
               "link_loss": {"worst_output_off_ms": 250}, "soak": {"spurious_fires": 0}}
    summary = report.summarise(results)
    assert summary["not_zero"] == ["fuzz.spurious_arms"] and summary["all_zero"] is False
    assert summary["frames_fuzzed"] == 10 and summary["worst_output_off_ms"] == 250
    text = report.table({"length": "short", "seed": 0, "summary": summary, "campaigns": results})
    assert "NOT ZERO: fuzz.spurious_arms" in text and "[must be 0]" in text
