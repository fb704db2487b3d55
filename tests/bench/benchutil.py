"""What the benchmarks' command lines share: measure, then print a table or exactly one JSON
object and exit 0; exit 2 with a one-line error when something cannot be measured.
Figures are reported, never judged here."""

import json
import sys


class BenchError(Exception):
    """Something could not be measured; the message is the one-line error."""


def report(name, measure, table, as_json, errors=()):
    """Run measure() and print its result; the exit status (0, or 2 with one line on stderr)."""
    try:
        result = measure()
    except BenchError as exc:
        print("%s: error: %s" % (name, exc), file=sys.stderr)
        return 2
    except errors as exc:
        print("%s: error: %s: %s" % (name, type(exc).__name__, exc), file=sys.stderr)
        return 2
    print(json.dumps(result) if as_json else table(result))
    return 0
