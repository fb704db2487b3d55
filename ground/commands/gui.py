"""`coalwood gui [--port P]`: the ground station window.

Qt is imported only here, when the window is asked for, so the rest of the command line
starts fast and runs where Qt cannot."""

import os
import sys

from ground.cli_common import EXIT_USAGE, KEY_HELP, CliError


def add_parser(subparsers):
    p = subparsers.add_parser(
        "gui", help="the ground station window: connect, arm, count down, fire, watch, download",
        description="The ground station window. Choose a serial port, the Simulator or a typed "
        "URL, connect, and launch from the Launch tab (ARM F2, hold Space to fire, Esc ABORT); "
        "download and study flights in the Flights tab.")
    p.add_argument("--port", help="connect to this port or URL at start (/dev/ttyACM0, COM3, "
                   "sim://, socket://host:port); the window remembers the last one otherwise")
    p.add_argument("--key", metavar="HEX", help=KEY_HELP)
    p.set_defaults(func=cmd_gui)
    return p


def has_display(environ=None, platform=None):
    """Whether Qt can open a window here: any platform but X11/Wayland Unix has one; there,
    a display variable, or a QT_QPA_PLATFORM chosen by the user (offscreen, vnc, ...)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") and "bsd" not in platform:
        return True
    return any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def cmd_gui(args):
    from ground.cli import _key_arg

    key = _key_arg(args.key)
    if not has_display():
        raise CliError("no display to open the window on: run it on a desktop, or use the "
                       "command line (coalwood launch, coalwood status, coalwood download)",
                       EXIT_USAGE)
    try:
        from ground.ui.window import run
    except ImportError as exc:
        raise CliError("the window needs PySide6 and pyqtgraph: %s" % exc, EXIT_USAGE) from None
    return run(port=args.port, key=key)
