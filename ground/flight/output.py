"""Output files (CSV, PNG) written whole or not at all, and only into a folder that exists.

A failed write (a full disk, a folder that is not ours, a name that is a folder) leaves no
half-written file and no temporary one, and a file being replaced stays as it was until the
new one is complete (ground/atomic.py). A missing folder is an error, not made: a typo in
a path must not leave folders behind.
"""

import errno
import os

from ground.atomic import write_whole


def write_file(path, data):
    """`data` (bytes) at `path`, whole or not at all. OSError (with strerror) otherwise."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        code = errno.ENOTDIR if os.path.exists(folder) else errno.ENOENT
        raise OSError(code, os.strerror(code), folder)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    write_whole(path, data)
    return path
