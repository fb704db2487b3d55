"""Fresh, empty folders for tests that write files, on both interpreters."""

import os
import sys

_count = [0]


def fresh_dir():
    if sys.implementation.name != "micropython":
        import tempfile

        return tempfile.mkdtemp()
    _count[0] += 1
    path = "/scratch%d" % _count[0]
    os.mkdir(path)
    return path
