"""The simulated pad box on a pseudo-terminal: `coalwood sim` / `python -m ground.sim.pty_server`.

The first line on stdout is the port path (e.g. /dev/pts/7): point any
ground station at it. Bytes are pumped between the pty and the simulated
device at the line rate (baud / 10 bytes per second each way, 8N1), so
timings are what a real cable gives.

stdin is the control side-channel, one command per line; each gets exactly
one line on stdout in reply ("ok ...", "error: ...", or JSON for `status`):

    key on | key off            turn the arm key
    igniter N PRESET            connect a fresh igniter to channel N (from 1)
    cut on | cut off            cut the link (bytes both ways are lost) / restore it
    battery MV                  the firing battery's open-circuit voltage
    reboot [MS]                 power-cycle the board (unpowered MS milliseconds, default 0):
                                outputs off at once, bytes in flight lost, a new session;
                                the flight log and the device key survive
    status                      one JSON line: state, outputs, key, igniters, battery
    disconnect                  close the port (it vanishes) and exit
    help                        the commands
    quit                        stop and exit 0

End of stdin is not `quit` (so `coalwood sim < /dev/null &` keeps running);
Ctrl-C or SIGTERM stop it cleanly.
"""

import argparse
import contextlib
import errno
import json
import os
import queue
import select
import signal
import sys
import threading
import time
import tty

from ground.cli_common import EXIT_BAD_INPUT, EXIT_LINK, EXIT_OK
from ground.sim.device import SimDevice, WarpClock, parse_device_key, rocket_for_motor
from ground.sim.igniter import PRESETS

# The token buckets hold two bytes of line time while the line is idle: frames then
# leave at the line rate, byte pair by byte pair, as on a real cable. (A bucket holding
# 5 ms let a short frame through in one burst, faster than any 115200 line.)
BUCKET_BYTES = 2.0
# While bytes wait, a UART keeps sending whatever this process is doing, so line time
# that passed during a late pump pass is spent, not lost (a 2-byte cap alone gave a
# busy line 84 % of its rate). It is kept up to this much: about a USB-serial adapter's
# latency timer, so a stalled pump never releases more than a real adapter's burst.
BACKLOG_MS = 20.0
PUMP_WAIT_S = 0.0001  # how long one pump pass waits for bytes

COMMANDS_HELP = (
    "Commands: key on|off; igniter N PRESET; cut on|off; battery MV; reboot [MS]; status; "
    "disconnect; help; quit (presets: %s)" % ", ".join(PRESETS)
)


def add_sim_arguments(parser):
    presets = ", ".join(PRESETS)
    parser.add_argument("--ch1", default="ematch", metavar="PRESET",
                        help="igniter on channel 1 (%s; default ematch)" % presets)
    parser.add_argument("--ch2", default="ematch", metavar="PRESET",
                        help="igniter on channel 2 (default ematch)")
    parser.add_argument("--key", "--arm-key", dest="arm_key", default="on", metavar="on|off",
                        help="arm key position at power-up (default on)")
    parser.add_argument("--baud", type=int, default=115200,
                        help="line rate, 8N1: baud/10 bytes per second each way (default 115200)")
    parser.add_argument("--flip-rate", type=float, default=0.0, metavar="P",
                        help="per byte, probability of flipping one bit (both ways)")
    parser.add_argument("--drop-rate", type=float, default=0.0, metavar="P",
                        help="per byte, probability of losing it (both ways)")
    parser.add_argument("--disconnect-after", type=float, default=None, metavar="SECONDS",
                        help="close the port after this long (it vanishes), then exit")
    parser.add_argument("--seed", type=int, default=0,
                        help="repeatable session nonce, tokens, noise and faults (default 0)")
    parser.add_argument("--device-key", metavar="HEX",
                        help="64 hex digits: the device requires MACs (authenticated mode)")
    parser.add_argument("--storage", metavar="DIR",
                        help="folder for the board's files (default: a temporary folder)")
    parser.add_argument("--radio", action="store_true",
                        help="behave as a radio link, not a cable (SET_KEY is refused)")
    parser.add_argument("--motor", metavar="NAME",
                        help="a rocket on the pad with this bundled motor (C6, H128W, J350W): "
                        "firing channel 1 flies it and the altimeter logs the flight")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X",
                        help="run the device clock X times real time (default 1; for "
                        "rehearsing a long flight: timers run faster too)")
    return parser


def add_sim_parser(subparsers):
    """Register `sim` on an argparse subparsers object; its func is run_sim."""
    p = subparsers.add_parser(
        "sim",
        help="run a simulated pad box on a pseudo-terminal (prints the port path first)",
        description="Run a simulated pad box (the real firmware on simulated hardware) on a "
        "pseudo-terminal. The first line on stdout is the port path; stdin takes control "
        "lines, each answered by one stdout line. " + COMMANDS_HELP + ".",
    )
    add_sim_arguments(p)
    p.set_defaults(func=run_sim)
    return p


class UsageError(Exception):
    pass


def _device_from_args(args):
    """A SimDevice from parsed options; UsageError with a one-line message for bad ones."""
    key = (args.arm_key or "on").lower()
    if key not in ("on", "off"):
        raise UsageError("--key must be on or off, not %r" % args.arm_key)
    if args.baud is None or args.baud < 10:
        raise UsageError("--baud must be at least 10")
    for name in ("flip_rate", "drop_rate"):
        v = getattr(args, name)
        if not 0.0 <= v <= 1.0:
            raise UsageError("--%s must be between 0 and 1" % name.replace("_", "-"))
    if args.disconnect_after is not None and args.disconnect_after < 0:
        raise UsageError("--disconnect-after must not be negative")
    for opt in ("ch1", "ch2"):
        name = getattr(args, opt)
        if name.lower() not in PRESETS:
            raise UsageError("--%s: unknown igniter %r (choose from: %s)"
                             % (opt, name, ", ".join(PRESETS)))
    try:
        device_key = parse_device_key(args.device_key)
    except ValueError as exc:
        raise UsageError("--device-key: %s" % exc) from None
    speed = getattr(args, "speed", 1.0)
    if not 0.0 < speed <= 1000.0:
        raise UsageError("--speed must be above 0 and at most 1000")
    if args.storage and os.path.exists(args.storage) and not os.path.isdir(args.storage):
        raise UsageError("--storage %s is a file, not a folder" % args.storage)
    rocket = None
    if getattr(args, "motor", None):
        try:
            rocket = rocket_for_motor(args.motor)
        except ValueError as exc:
            raise UsageError("--motor: %s" % exc) from None
    try:
        return SimDevice(
            channels=(args.ch1.lower(), args.ch2.lower()),
            key_on=key == "on",
            device_key=device_key,
            seed=args.seed,
            storage_dir=args.storage,
            wired=not getattr(args, "radio", False),
            flip_rate=args.flip_rate,
            drop_rate=args.drop_rate,
            rocket=rocket,
            clock=WarpClock(speed),
        )
    except OSError as exc:
        raise UsageError("--storage %s: %s" % (args.storage, exc.strerror or exc)) from None


def handle_command(device, line):
    """Run one control line; returns (reply line, keep running?)."""
    words = line.split()
    if not words:
        return None, True
    cmd, rest = words[0].lower(), [w.lower() for w in words[1:]]
    try:
        if cmd in ("quit", "exit"):
            return "ok quit", False
        if cmd == "help":
            return COMMANDS_HELP, True
        if cmd == "status":
            return json.dumps(device.status_dict(), sort_keys=True), True
        if cmd == "key" and len(rest) == 1 and rest[0] in ("on", "off"):
            device.set_key(rest[0] == "on")
            return "ok key %s" % rest[0], True
        if cmd == "cut" and len(rest) == 1 and rest[0] in ("on", "off"):
            device.cut_link(rest[0] == "on")
            return "ok cut %s" % rest[0], True
        if cmd == "igniter" and len(rest) == 2:
            try:
                ch = int(rest[0])
            except ValueError:
                raise ValueError("channel must be a number from 1") from None
            if not 1 <= ch <= device.hal.channels:
                raise ValueError("no channel %d (channels 1..%d)" % (ch, device.hal.channels))
            device.set_igniter(ch - 1, rest[1])
            return "ok igniter %d %s" % (ch, rest[1]), True
        if cmd == "battery" and len(rest) == 1:
            device.set_battery(int(rest[0]))
            return "ok battery %d" % int(rest[0]), True
        if cmd == "reboot" and len(rest) <= 1:
            try:
                off_ms = int(rest[0]) if rest else 0
            except ValueError:
                raise ValueError("reboot takes the unpowered time in milliseconds") from None
            device.reboot(off_ms)
            return "ok reboot %d" % off_ms, True
        if cmd == "disconnect":
            return "ok disconnect", False
    except ValueError as exc:
        return "error: %s" % exc, True
    return "error: unknown command %r (%s)" % (line.strip(), COMMANDS_HELP), True


def _stdin_reader(lines):
    """Feed stdin lines into a queue until end of file."""
    stream = sys.stdin
    if stream is None:
        return
    try:
        for line in stream:
            lines.put(line)
    except (OSError, ValueError):
        pass


class Pump:
    """Moves bytes between the pty master and the device at the line rate, both ways."""

    def __init__(self, master, device, baud):
        self.master = master
        self.device = device
        self.rate = baud / 10.0 / 1000.0  # bytes per millisecond (8N1: 10 bits a byte)
        self.cap = BUCKET_BYTES
        self.backlog = max(BUCKET_BYTES, BACKLOG_MS * self.rate)
        self.budget_in = 0.0
        self.budget_out = 0.0
        self.busy_in = False  # bytes were waiting at the last pass: the line never idled
        self.busy_out = False
        self.pending = b""  # device bytes not yet taken by the pty
        self.last = time.monotonic()

    def run_once(self, wait_s):
        now = time.monotonic()
        earned = (now - self.last) * 1000.0 * self.rate
        self.last = now
        self.budget_in = min(self.backlog if self.busy_in else self.cap, self.budget_in + earned)
        self.budget_out = min(self.backlog if self.busy_out else self.cap,
                              self.budget_out + earned)
        # device -> host
        if not self.pending and self.budget_out >= 1.0:
            want = int(self.budget_out)
            self.pending = self.device.read_output(want)
            self.budget_out -= len(self.pending)
            self.busy_out = len(self.pending) == want
        if self.pending:
            try:
                n = os.write(self.master, self.pending)
                self.pending = self.pending[n:]
            except BlockingIOError:
                pass  # the host is not reading: the pty buffer is full
            self.busy_out = self.busy_out or bool(self.pending)
        # host -> device
        r, _w, _x = select.select([self.master], [], [], wait_s)
        self.busy_in = bool(r)
        if r and self.budget_in >= 1.0:
            want = int(self.budget_in)
            try:
                data = os.read(self.master, want)
            except BlockingIOError:
                data = b""
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                data = b""
                time.sleep(wait_s)  # no host has the port open
            self.busy_in = len(data) == want
            if data:
                self.budget_in -= len(data)
                self.device.feed(data)
        elif r:
            time.sleep(wait_s)  # bytes wait in the pty until the line has time for them


def run_sim(args, out=None, err=None):
    """Serve a SimDevice on a pty until quit, Ctrl-C or SIGTERM. Returns the exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        device = _device_from_args(args)
    except UsageError as exc:
        print("coalwood: error: %s" % exc, file=err)
        return EXIT_BAD_INPUT
    try:
        master, slave = os.openpty()
    except OSError as exc:
        device.close()
        print("coalwood: error: cannot open a pseudo-terminal: %s" % exc, file=err)
        return EXIT_LINK
    stop = threading.Event()
    old_handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            old_handlers[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        tty.setraw(slave)
        os.set_blocking(master, False)
        path = os.ttyname(slave)
        # The slave stays open here too, so the pty lives while no host has it open.
        print(path, file=out, flush=True)
        print("coalwood sim: %s on %s at %d baud (%s); %s"
              % (device.hal.board_name, path, args.baud,
                 ", ".join("ch%d=%s" % (i + 1, ig.preset)
                           for i, ig in enumerate(device.hal.igniters)),
                 COMMANDS_HELP), file=err, flush=True)
        lines = queue.Queue()
        threading.Thread(target=_stdin_reader, args=(lines,), daemon=True).start()
        device.start()
        pump = Pump(master, device, args.baud)
        deadline = (None if args.disconnect_after is None
                    else time.monotonic() + args.disconnect_after)
        while not stop.is_set():
            if device.error is not None:
                print("coalwood: error: the simulated device stopped: %r" % (device.error,),
                      file=err, flush=True)
                return EXIT_LINK
            if deadline is not None and time.monotonic() >= deadline:
                print("coalwood sim: disconnected after %g s" % args.disconnect_after,
                      file=err, flush=True)
                break
            keep = True
            while keep:
                try:
                    line = lines.get_nowait()
                except queue.Empty:
                    break
                reply, keep = handle_command(device, line)
                if reply is not None:
                    print(reply, file=out, flush=True)
            if not keep:
                break
            pump.run_once(PUMP_WAIT_S)
        return EXIT_OK
    finally:
        device.close()
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m ground.sim.pty_server",
        description="A simulated pad box on a pseudo-terminal. " + COMMANDS_HELP + ".",
    )
    add_sim_arguments(parser)
    return run_sim(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
