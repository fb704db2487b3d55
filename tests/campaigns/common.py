"""What every campaign script shares: its command line and how it prints its counts."""

import argparse
import json
import os
import sys
import time

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bootstrap():
    """Make `python tests/campaigns/x.py` import like pytest does (tests/ on the path)."""
    if TESTS_DIR not in sys.path:
        sys.path.insert(0, TESTS_DIR)


def main(run, description, argv=None):
    """The command line of one campaign: --long, --seed, --json. Exit 1 when a must-be-zero count is not."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--long", action="store_true", help="the long version (run by hand)")
    parser.add_argument("--seed", type=int, default=0, help="seed for every random choice (default 0)")
    parser.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    args = parser.parse_args(argv)
    started_s = time.perf_counter()
    counts = run(long=args.long, seed=args.seed)
    counts.setdefault("elapsed_s", round(time.perf_counter() - started_s, 2))
    if args.json:
        print(json.dumps(counts, sort_keys=True))
    else:
        for name in sorted(counts):
            print("%-32s %s" % (name, counts[name]))
    bad = failures(counts)
    if bad:
        print("NOT ZERO: " + ", ".join(bad), file=sys.stderr)
        return 1
    return 0


def failures(counts):
    """The names of the counts listed in counts["must_be_zero"] that are not zero."""
    return [name for name in counts.get("must_be_zero", ()) if counts.get(name)]
