"""`coalwood flash`: compile this checkout's firmware and put it on a board (ground/flash.py).

    coalwood flash --port /dev/ttyACM0                 Pico: compile, stop, copy, reset, check
    coalwood flash --port /dev/ttyACM0 --board esp32   the ESP32 DevKit's board file instead
    coalwood flash --port P --layout files             modules as files even with a ROMFS partition
    coalwood flash --port P --dry-run                  what would be copied; no port opened
    coalwood flash --board pico --check                the firmware's footprint on that board
    coalwood flash --port /dev/ttyACM0 --repl          stop the firmware: the port is the REPL
"""

from ground.cli_common import EXIT_DEVICE, EXIT_OK, CliError


def add_parser(subparsers):
    from ground.cli import _timeout_arg
    from ground.flash import BOARD_FILES, LAYOUTS, PROBE_TIMEOUT_S

    p = subparsers.add_parser(
        "flash", help="put the firmware on a board running MicroPython (over USB)",
        description="Compile firmware/ and protocol/ with mpy-cross, stop the running firmware "
        "(MAINTENANCE: the pad must be SAFE, over a cable), put the modules in the board's ROMFS "
        "partition when it has one (they then run from flash, not RAM) or copy them as files, "
        "copy main.py and the board file with mpremote, reset the board and check that it answers with this "
        "version. The board's /data folder (flight logs, key) is never touched. The board "
        "needs MicroPython 1.23 or newer.")
    p.add_argument("--port", help="the board's USB serial port: /dev/ttyACM0, COM3 "
                   "(coalwood ports lists them)")
    p.add_argument("--board", choices=sorted(BOARD_FILES), default="pico",
                   help="which board file goes on as /board.py (default: pico)")
    p.add_argument("--layout", choices=LAYOUTS, default="auto",
                   help="where the compiled modules go: frozen (nowhere: the board's firmware "
                   "has them built in, hardware/micropython/), romfs (one image in the board's "
                   "ROMFS partition, /rom), files (/firmware and /protocol), auto (frozen when "
                   "the firmware has this version built in, else romfs when the board has a "
                   "partition big enough, else files; the default)")
    p.add_argument("--baud", type=int, default=115200, help="line rate (default 115200)")
    p.add_argument("--timeout", type=_timeout_arg, default=PROBE_TIMEOUT_S,
                   help="seconds to wait for a running firmware to answer (default %g)"
                   % PROBE_TIMEOUT_S)
    p.add_argument("--key", metavar="HEX", help="the device's MAC key in hex, to stop a keyed "
                   "firmware (default: the key stored for it by coalwood key set)")
    p.add_argument("--dry-run", action="store_true",
                   help="compile and list what would be copied (device path, size); opens no port")
    p.add_argument("--check", action="store_true",
                   help="report the firmware's footprint on the board (flash and RAM) instead")
    p.add_argument("--repl", action="store_true",
                   help="only stop the firmware (MAINTENANCE) so the port is the MicroPython "
                   "REPL until the board is reset")
    p.add_argument("--keep-data", action="store_true",
                   help="keep /data (flight logs, key.bin): always so, accepted for scripts "
                   "that say it")
    p.set_defaults(func=cmd_flash)
    return p


def cmd_flash(args):
    from ground.flash import (
        FlashError,
        flash,
        layout_line,
        plan_lines,
        staging_plan,
        stop_firmware,
    )

    if args.check:
        return _check(args.board)
    try:
        if args.dry_run:
            plan, image, staging = staging_plan(args.board)
            try:
                print("would copy to the board (%s):" % args.board)
                for line in plan_lines(plan):
                    print("  " + line)
                print(layout_line(args.layout, plan, image))
            finally:
                staging.cleanup()
            return EXIT_OK
        if not args.port:
            raise CliError("--port is required (coalwood ports lists the serial ports); "
                           "--dry-run needs none")
        key = None
        if args.key:
            from ground.cli import _key_arg

            key = _key_arg(args.key)
        if args.repl:
            if not stop_firmware(args.port, print, key=key, baudrate=args.baud,
                                 timeout_s=args.timeout):
                raise CliError("no Coalwood firmware answered on %s within %g s: if the board "
                               "is at its REPL already, mpremote connect %s reaches it"
                               % (args.port, args.timeout, args.port), EXIT_DEVICE)
            print("the firmware has stopped, outputs off: %s is the MicroPython REPL (mpremote "
                  "connect %s); reset the board to start the firmware again"
                  % (args.port, args.port))
            return EXIT_OK
        _plan, used = flash(args.port, args.board, key=key, baudrate=args.baud,
                            probe_timeout_s=args.timeout, layout=args.layout)
    except FlashError as exc:
        raise CliError(str(exc), exc.code) from None
    where = {"romfs": "from its ROMFS partition", "frozen": "frozen in its MicroPython"}.get(
        used, "from its filesystem")
    print("done: the board runs this firmware %s; /data was left as it was" % where)
    return EXIT_OK


def _check(board):
    """ground/footprint.py's report against the board's budgets: exit 1 when a figure is over."""
    try:
        from ground.footprint import FootprintError, check_report
    except ImportError:
        raise CliError("coalwood flash --check is not available in this version "
                       "(no ground/footprint.py)") from None
    try:
        report = check_report(board)
    except FootprintError as exc:
        raise CliError(str(exc)) from None
    for line in report["lines"]:
        print(line)
    return EXIT_OK if report["ok"] else 1
