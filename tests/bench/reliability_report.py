"""The reliability figures: run the short campaigns (tests/campaigns/) and print their counts.

    python tests/bench/reliability_report.py            # a table
    python tests/bench/reliability_report.py --json     # exactly one JSON object
    python tests/bench/reliability_report.py --long     # the long campaigns (minutes)
    python tests/bench/reliability_report.py --only fuzz --only soak

The summary gathers what a range safety officer asks first: frames fuzzed, spurious arms,
spurious fires, crashes, the worst output-off latency after the last FIRE, flights cut and
recovered, bytes lost. Each campaign names the counts that must be zero; "all_zero" says
whether every one of them is. Exit status: 0 when they are, 1 when any is not (the table
names it), 2 when a campaign could not run.
"""

import argparse
import importlib
import json
import os
import sys
import time
import traceback

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

from campaigns.common import failures  # noqa: E402  (needs tests/ on the path first)

# In the order a reader meets them in the issue: the link, then the data, then the people.
CAMPAIGNS = ("attack", "fuzz", "soak", "link_loss", "power_loss", "reset", "bad_input", "tick_wrap")

# summary figure -> (campaign, count) it is read from; summed where a name repeats
SUMMARY = {
    "frames_fuzzed": (("fuzz", "frames_fuzzed"),),
    "spurious_arms": (("fuzz", "spurious_arms"),),
    "spurious_fires": (("fuzz", "spurious_fires"), ("soak", "spurious_fires")),
    "crashes": (("fuzz", "crashes"),),
    "attacks_sent": (("attack", "attacks_sent"),),
    "attacks_executed": (("attack", "attacks_executed"),),
    "worst_output_off_ms": (("link_loss", "worst_output_off_ms"),),
    "worst_safe_ms": (("link_loss", "worst_safe_ms"),),
    "flights_cut": (("power_loss", "flights_cut"),),
    "flights_recovered": (("power_loss", "flights_recovered"),),
    "bytes_lost": (("power_loss", "bytes_lost"),),
    "downloads_corrupt": (("soak", "downloads_corrupt"),),
    "resets": (("reset", "resets"),),
    "bad_input_cases": (("bad_input", "cases"),),
    "tracebacks": (("bad_input", "tracebacks"),),
}
# worst-of figures are maxima, not sums
MAXIMA = {"worst_output_off_ms", "worst_safe_ms"}


class CampaignFailed(Exception):
    pass


def run_campaign(name, long, seed):
    module = importlib.import_module("campaigns." + name)
    started_s = time.perf_counter()
    try:
        counts = module.run(long=long, seed=seed)
    except Exception as exc:
        raise CampaignFailed("%s: %s" % (name, "".join(
            traceback.format_exception_only(type(exc), exc)).strip())) from None
    counts.setdefault("elapsed_s", round(time.perf_counter() - started_s, 2))
    return counts


def summarise(results):
    summary = {}
    for figure, sources in SUMMARY.items():
        values = [results[c][k] for c, k in sources if c in results and k in results[c]]
        if values:
            summary[figure] = max(values) if figure in MAXIMA else sum(values)
    not_zero = ["%s.%s" % (name, count) for name, counts in results.items()
                for count in failures(counts)]
    summary["not_zero"] = not_zero
    summary["all_zero"] = not not_zero
    return summary


def table(report):
    lines = ["reliability report (%s campaigns, seed %d)" % (report["length"], report["seed"]), ""]
    for figure, value in report["summary"].items():
        if figure != "not_zero":
            lines.append("  %-22s %s" % (figure, value))
    for name, counts in report["campaigns"].items():
        must = set(counts.get("must_be_zero", ()))
        lines += ["", "%s (%.1f s)" % (name, counts.get("elapsed_s", 0))]
        for count in sorted(counts):
            if count in ("must_be_zero", "elapsed_s"):
                continue
            mark = "  [must be 0]" if count in must else ""
            lines.append("  %-30s %s%s" % (count, json.dumps(counts[count]), mark))
    if report["summary"]["not_zero"]:
        lines += ["", "NOT ZERO: " + ", ".join(report["summary"]["not_zero"])]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="exactly one JSON object on stdout")
    parser.add_argument("--long", action="store_true", help="the long campaigns (run by hand)")
    parser.add_argument("--seed", type=int, default=0, help="seed for every campaign (default 0)")
    parser.add_argument("--only", action="append", choices=CAMPAIGNS, metavar="NAME",
                        help="run only this campaign (repeatable): " + ", ".join(CAMPAIGNS))
    args = parser.parse_args(argv)
    started_s = time.perf_counter()
    results = {}
    try:
        for name in args.only or CAMPAIGNS:
            results[name] = run_campaign(name, args.long, args.seed)
    except CampaignFailed as exc:
        print("reliability_report: error: %s" % exc, file=sys.stderr)
        return 2
    report = {
        "length": "long" if args.long else "short",
        "seed": args.seed,
        "summary": summarise(results),
        "campaigns": results,
        "elapsed_s": round(time.perf_counter() - started_s, 1),
    }
    print(json.dumps(report) if args.json else table(report))
    return 0 if report["summary"]["all_zero"] else 1


if __name__ == "__main__":
    sys.exit(main())
