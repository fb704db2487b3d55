"""Files written whole or not at all: downloads, their resume sidecars, the flight library."""

import contextlib
import os
import secrets


def fsync_dir(folder):
    """Make a rename in `folder` durable (a no-op where directories cannot be opened, as on
    Windows, whose renames are durable anyway)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_whole(path, data, mode=0o666):
    """`data` at `path`, whole or not at all: a temporary file beside it, fsync, rename.

    The temporary name is our own rather than mkstemp's, so the file gets `mode` less the
    umask (not mkstemp's 0600)."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, ".%s.%d-%s.tmp" % (os.path.basename(path), os.getpid(),
                                                  secrets.token_hex(4)))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.name == "nt" and os.path.exists(path):
            os.chmod(path, 0o644)  # Windows will not rename over a read-only file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    fsync_dir(folder)
