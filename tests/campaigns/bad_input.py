"""Bad input to every `coalwood` subcommand: one clear line, a non-zero exit, no traceback,
nothing half-written.

The table (table()) feeds each subcommand what people get wrong: ports that do not exist
(/dev/does-not-exist, COM99), that are not serial ports (a folder, a regular file), unknown
sim:// options, a TCP port nobody listens on, a pty nobody answers on (--timeout 0.5), a pty
another program holds exclusively (the link opens serial ports with exclusive=True, so a
second opener is refused: busy), missing / unreadable files and folders where files belong,
corrupt flight logs (truncated, bit-flipped, random bytes, empty, text, a device that never
ends), malformed motor files (.eng: garbage, no header, negative thrust, times going back,
empty, binary) and rocket files (bad JSON, wrong types, unknown keys, impossible values),
wrong keys (not hex, short, all zero, a valid-looking key a keyed sim device does not hold,
a keyed device and no key), bad option values (channel 0 and 99, pulses too long, negative
counts and rates) and outputs into a missing or unwritable folder or onto a folder.

Every case runs in this process through ground.cli.main(argv), stdout and stderr captured,
stdin empty, the working folder a scratch folder; a few also run as real processes
(`python -m ground.cli ...`, the real entry point), and the `gui` ones only so (a window
must never open in here). Each must: exit non-zero; print exactly one line on stderr (or
argparse's usage lines and its one `error:` line, exit 2), with no traceback and no
exception dumped (no `FooError:`, no `[Errno 2]`, no `<object at 0x...>`); and leave the
work folder exactly as it was (names, sizes and mtimes of every file, before and after),
except where a case says what may change: a download cut off mid-way keeps its resumable
`.part` and `.part.json` by design, and a damaged flight log added to the library is kept
as it is, with one warning line and exit 0. The seeded corruptions (fuzz_runs) may also be
read whole (exit 0, at most one line); refused, they are held to the same rules.

The subcommands come from ground.cli.build_parser() (library and key actions one by one):
one with no case in the table is counted in subcommands_without_cases. A case for a
subcommand the parser does not have yet is skipped and named in not_in_cli. A case that
fails for a reason owned by another module carries `known` (who owns it, why, and the
kind of fault it excuses): that fault is counted in known_failures instead (any other still
counts), and once the case passes, in known_now_passing, which must be 0 (remove the mark).

Counts: cases, subcommands_covered, in_process_runs, subprocess_runs, fuzz_runs, parts_kept,
known_failures, and the ones that must be 0: tracebacks (an exception escaping main(), a
traceback on stderr, a background thread dying), exception_dumps, multi_line_errors,
silent_errors (a failure with nothing on stderr), zero_exits, wrong_outcomes (a kept-with-
a-warning case that was not), files_half_written (any file or folder made, changed or
removed that the case does not allow), unclear_errors (a line not naming what is wrong, for
the cases that say what it must name), hung, subcommands_without_cases, known_now_passing.
The short version runs the whole table, but the cases that wait out --timeout only for the
commands in SHORT_SLOW_COMMANDS (every port-opening command shares that wait), a handful
of cases also as processes, and a few seeded corruptions of good flight logs, motor files,
rocket files and wire bytes; --long runs every case, each also as a process, and 60 of
each corruption.

    python tests/campaigns/bad_input.py [--long] [--seed N] [--json]
"""

import argparse
import contextlib
import fnmatch
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

try:
    from campaigns import common
except ImportError:  # run as a script: tests/campaigns is on the path, tests/ is not
    import common

common.bootstrap()

import synthetic_flight  # noqa: E402

from firmware.flightlog import HEADER_LEN, RECORD_LEN  # noqa: E402

TIMEOUT_S = "0.5"
SHORT_SLOW_COMMANDS = ("status", "launch", "download", "key set")  # --timeout for every port case: a silent pty costs this much
WATCHDOG_S = 25.0  # a case still running after this is hung (interrupted, counted)
SUBPROCESS_TIMEOUT_S = 60.0
SUBPROCESS_MEMORY_BYTES = 2 << 30  # a reader that never stops reading fails, not the machine
DEVICE_KEY = "11" * 32
OTHER_KEY = "22" * 32
ALL_ZERO_KEY = "00" * 32

FOLDER = "folder|directory"  # how a line says a path is a folder
REFUSED = "refused"  # non-zero exit, one line on stderr, nothing changed
KEPT_WITH_WARNING = "kept, warned"  # exit 0, one `warning` line, only `allow` changed
ANY = "any"  # fuzz: either; a non-zero exit as REFUSED, a zero one quiet or one line

# what a person must never be shown
DUMP = re.compile(r"Traceback \(most recent call last\)|^\s*File \"[^\"]*\", line \d+"
                  r"|\b[A-Z]\w*(?:Error|Exception)(?::\s|\()|\[Errno \d+\]"
                  r"|<[\w.]+ object at 0x[0-9a-fA-F]+>|\(\d+, '[^']*'\)"  # an errno tuple
                  # Python's own words for its own failures
                  r"|<lambda>|<function |invalid literal for int\(\)|could not convert string"
                  r"|codec can't (?:de|en)code", re.MULTILINE)
ARGPARSE_ERROR = re.compile(r"^coalwood(?: [\w-]+)*: error: ")

MUST_BE_ZERO = ("tracebacks", "exception_dumps", "multi_line_errors", "silent_errors",
                "zero_exits", "wrong_outcomes", "files_half_written", "unclear_errors", "hung",
                "subcommands_without_cases", "known_now_passing")


class Case:
    """One bad input: `command` (a subcommand, "library add"), `argv` (after the command;
    {name} is a path or value from the Bench), `wrong` (what is wrong, for the report).

    expect: REFUSED, KEPT_WITH_WARNING or ANY. allow: glob patterns (relative to the work
    folder) of files the case may create or change. needs: Bench facilities ("pty",
    "unwritable", "unreadable"); without one the case is skipped. env: variables for this
    case ({name}s filled in). process: "always" (never in this process), "short" (also as
    a process in the short version). says: a pattern the error line must match (it names
    what is wrong). known: (who owns it and why, the fault kinds it excuses) for a failure
    owned elsewhere; known_may_pass: whether that fault comes and goes with timing. slow: it waits out
    --timeout, the same wait behind every command that opens a port: the short version
    runs it for SHORT_SLOW_COMMANDS only, the long one for all.
    """

    def __init__(self, command, argv, wrong, expect=REFUSED, allow=(), needs=(), env=None,
                 process=None, says=None, known=None, slow=False, known_may_pass=False):
        self.command = command
        self.argv = list(argv)
        self.wrong = wrong
        self.expect = expect
        self.allow = tuple(allow)
        self.needs = tuple(needs)
        self.env = dict(env or {})
        self.process = process
        self.says = says
        self.known = known
        self.known_may_pass = known_may_pass  # its fault depends on timing: passing is no news
        self.slow = slow  # waits out a --timeout: the short version runs it for a few commands

    def full_argv(self, bench):
        return [bench.fill(a) for a in self.command.split() + self.argv]

    def __repr__(self):
        return "Case(%r, %r)" % (self.command, self.argv)


# --- the table -------------------------------------------------------------------------------
def port_cases(command, extra=()):
    """The wrong ports and keys every subcommand that opens a port is fed; `extra` are
    the rest of a command line that would otherwise go ahead."""
    extra = list(extra)

    def case(port, wrong, more=(), **kw):
        return Case(command, ["--port", port, "--timeout", TIMEOUT_S, *more, *extra], wrong, **kw)

    return [
        case("/dev/does-not-exist", "a port that does not exist"),
        case("COM99", "a Windows port name on a machine without it"),
        case("{w}/subdir", "a folder, not a port"),
        case("{w}/notes.txt", "a regular file, not a port"),
        case("sim://?bogus=1", "an unknown sim:// option"),
        case("sim://?seed=x", "a sim:// option with a bad value"),
        case("socket://127.0.0.1:{closed_port}", "a TCP port nobody listens on"),
        case("{pty_silent}", "a pty nobody answers on (times out)", needs=("pty",),
             says=r"within 0\.5 s", slow=True),
        case("{pty_busy}", "a pty another program holds exclusively (busy)", needs=("pty",),
             says="busy"),
        case("sim://?seed=1&device_key=%s" % DEVICE_KEY,
             "a valid-looking key the keyed device does not hold", ("--key", OTHER_KEY),
             says="key", slow=True),
        case("sim://?seed=1&device_key=%s" % DEVICE_KEY,
             "a keyed device, and no key for it given or stored", says="key", slow=True),
        case("sim://?seed=1", "a key that is not hex", ("--key", "zz" * 32)),
        case("sim://?seed=1", "a key too short", ("--key", "00ff")),
        case("sim://?seed=1", "the all-zero key (it means 'no key')", ("--key", ALL_ZERO_KEY)),
        case("sim://?seed=1", "a line rate that is not a number", ("--baud", "fast")),
        case("sim://?seed=1", "a negative line rate", ("--baud", "-5")),
    ]


def _port_table():
    cases = []
    cases += port_cases("status")
    cases += port_cases("launch", ("--channel", "1", "--yes"))
    cases += port_cases("igniter-test", ("--channel", "1"))
    cases += port_cases("flights")
    cases += port_cases("download", ("-o", "{w}/out", "--no-library"))
    cases += port_cases("key set")
    cases += port_cases("key clear", ("--yes",))
    cases += port_cases("flash")
    cases.append(Case("flash", ["--board", "nope", "--dry-run"], "an unknown board"))
    sim = "sim://?seed=1"
    board = "sim://?seed=1&storage={board}"
    cases += [
        Case("status", ["--port", sim, "--timeout", "-1"], "a negative --timeout"),
        Case("status", ["--port", sim, "--timeout", "nan"], "a --timeout that is no number"),
        Case("launch", ["--port", sim, "--channel", "0", "--yes"], "channel 0 (they count from 1)",
             says="channel"),
        Case("launch", ["--port", sim, "--channel", "99", "--yes"], "channel 99 (the pad has 2)",
             says="no channel 99"),
        Case("launch", ["--port", sim, "--channel", "-1", "--yes"], "a negative channel"),
        Case("launch", ["--port", sim, "--channel", "x", "--yes"], "a channel that is not a number"),
        Case("launch", ["--port", sim, "--channel", "1", "--pulse-ms", "99999", "--yes"],
             "a pulse past the firmware's 3 s cap"),
        Case("launch", ["--port", sim, "--channel", "1", "--pulse-ms", "0", "--yes"], "a 0 ms pulse"),
        Case("launch", ["--port", sim, "--channel", "1", "--countdown", "2", "--yes"],
             "a countdown under 5 s without --short-countdown"),
        Case("launch", ["--port", sim, "--channel", "1", "--countdown", "-3", "--short-countdown",
                        "--yes"], "a negative countdown"),
        Case("launch", ["--port", sim], "no --channel"),
        Case("igniter-test", ["--port", sim, "--channel", "0"], "channel 0 (they count from 1)",
             says="channel"),
        Case("igniter-test", ["--port", sim, "--channel", "99"], "channel 99 (the pad has 2)",
             says="no channel 99"),
        Case("igniter-test", ["--port", sim, "--channel", "1", "--fire", "--pulse-ms", "99999",
                              "--yes"], "a pulse past the firmware's 3 s cap"),
        Case("igniter-test", ["--port", sim, "--channel", "1", "--fire", "--pulse-ms", "-5",
                              "--yes"], "a negative pulse"),
        Case("flights", ["--port", sim, "--erase", "bogus", "--yes"], "--erase neither N nor all"),
        Case("flights", ["--port", sim, "--erase", "7", "--yes"], "--erase a flight not there"),
        Case("flights", ["--port", sim, "--erase", "-1", "--yes"], "--erase a negative flight"),
        Case("download", ["--port", board, "--flight", "7", "-o", "{w}/out", "--no-library"],
             "a flight the device does not have"),
        Case("download", ["--port", board, "--flight", "-1", "-o", "{w}/out", "--no-library"],
             "a negative flight number"),
        Case("download", ["--port", sim, "-o", "{w}/out", "--no-library"],
             "a device with no flights stored"),
        Case("download", ["--port", board, "-o", "{w}/notes.txt", "--no-library"],
             "-o a regular file"),
        Case("download", ["--port", board, "-o", "{w}/notes.txt/sub", "--no-library"],
             "-o under a regular file"),
        Case("download", ["--port", board, "-o", "{unwritable}/out", "--no-library"],
             "-o in a folder nobody may write in", needs=("unwritable",)),
        Case("download", ["--port", board, "-o", "{w}/out", "--library", "{w}/notes.txt"],
             "--library a regular file"),
        Case("download", ["--port", board, "-o", "{w}/out", "--library", "{unwritable}/lib"],
             "--library in a folder nobody may write in", needs=("unwritable",)),
        Case("download", ["--port", board, "-o", "{w}/out", "--no-library", "--png",
                          "{w}/missing/x.png"], "--png in a missing folder"),
        Case("download", ["--port", board, "-o", "{w}/out", "--no-library", "--png",
                          "{w}/x.png", "--png-size", "0x0"], "a 0x0 picture"),
        Case("download", ["--port", board, "-o", "{w}/out", "--no-library", "--png",
                          "{w}/x.png", "--png-size", "big"], "a picture size that is no size"),
        Case("download", ["--port", board, "-o", "{w}/out", "--no-library", "--rocket",
                          "{w}/missing.json"], "--rocket a missing file"),
        Case("download", ["--port", board, "-o", "{w}/out", "--no-library", "--rocket",
                          "{w}/rockets/bad_json.json"], "--rocket not JSON"),
        Case("download", ["--port", board, "-o", "{w}/out", "--no-library", "--flight", "0",
                          "--all"], "--flight and --all together"),
        Case("download", ["--port", "{pty_vanishing}", "--timeout", "3", "-o", "{w}/out",
                          "--no-library"],
             "the port vanishes mid-download (the resumable .part is kept by design)",
             allow=("out", "out/*.cwf.part", "out/*.cwf.part.json"), needs=("pty_vanishing",)),
        Case("key set", ["--port", "sim://?seed=1&radio=1", "--timeout", TIMEOUT_S],
             "a radio link (the device takes a key only over a cable)", says="cable"),
        Case("key clear", ["--port", "sim://?seed=1&radio=1&device_key=%s" % DEVICE_KEY,
                           "--key", DEVICE_KEY, "--timeout", TIMEOUT_S, "--yes"],
             "a radio link (the device changes its key only over a cable)", says="cable"),
    ]
    return cases


def _file_table():
    broken_logs = [  # (path, what is wrong, what the line must name)
        ("{w}/missing.cwf", "a missing file", "no such file"),
        ("{w}/subdir", "a folder, not a file", FOLDER),
        ("{w}/empty.cwf", "an empty file", None),
        ("{w}/random.bin", "random bytes", None),
        ("{w}/notes.txt", "a text file that is no flight log", None),
        ("{w}/header-only.cwf", "a .cwf cut inside its header", None),
        ("{w}/bad-magic.cwf", "a .cwf with a bit flipped in its magic", None),
    ]
    cases = []
    for path, wrong, says in broken_logs:
        cases.append(Case("analyze", [path], wrong, says=says))
        cases.append(Case("library add", [path, "--library", "{w}/newlib"], wrong, says=says))
        cases.append(Case("predict", ["--motor", "C6", "--mass-g", "100", "--diameter-mm", "24",
                                      "--reverse", "--flight", path], wrong, says=says))
    cases += [
        Case("analyze", ["{w}/truncated.cwf"], "a .cwf cut off mid-record"),
        Case("analyze", ["{w}/bit-flipped.cwf"], "a .cwf with records failing their CRC"),
        Case("analyze", ["/dev/zero"], "a device that never ends", process="always",
             needs=("devzero",)),
        Case("analyze", ["{fifo}"], "a FIFO nobody writes to", needs=("fifo",)),
        Case("analyze", ["{w}/secret.cwf"], "a file nobody may read", needs=("unreadable",)),
        Case("analyze", ["{w}/good.cwf", "--csv", "{w}/missing/x.csv"], "--csv in a missing folder"),
        Case("analyze", ["{w}/good.cwf", "--csv", "{w}/subdir"], "--csv onto a folder"),
        Case("analyze", ["{w}/good.cwf", "--csv", "{w}/notes.txt/x.csv"], "--csv under a file"),
        Case("analyze", ["{w}/good.cwf", "--csv", "{unwritable}/x.csv"],
             "--csv in a folder nobody may write in", needs=("unwritable",)),
        Case("analyze", ["{w}/good.cwf", "--png", "{w}/missing/x.png"], "--png in a missing folder",
             process="short"),
        Case("analyze", ["{w}/good.cwf", "--png", "{unwritable}/x.png"],
             "--png in a folder nobody may write in", needs=("unwritable",)),
        Case("analyze", ["{w}/good.cwf", "--png", "{w}/x.png", "--png-size", "0x0"], "a 0x0 picture"),
        Case("analyze", ["{w}/good.cwf", "--png", "{w}/x.png", "--png-size", "99999x99999"],
             "a picture far too big"),
        Case("analyze", ["{w}/good.cwf", "--rocket", "{w}/missing.json"], "--rocket missing"),
        Case("analyze", ["{w}/good.cwf", "--rocket", "{w}/subdir"], "--rocket a folder", says=FOLDER),
        Case("analyze", ["{w}/good.cwf", "--rocket", "{w}/random.bin"], "--rocket binary"),
        Case("analyze", ["{w}/good.cwf", "--rocket", "{w}/rockets/motor_garbage.json"],
             "--rocket whose motor file is garbage"),
        Case("library add", ["{w}/truncated.cwf", "--library", "{w}/newlib"],
             "a .cwf cut off mid-record (kept as it is: the library keeps what exists)",
             expect=KEPT_WITH_WARNING, allow=("newlib", "newlib/**")),
        Case("library add", ["{w}/bit-flipped.cwf", "--library", "{w}/newlib"],
             "a .cwf with records failing their CRC (kept as it is, with a warning)",
             expect=KEPT_WITH_WARNING, allow=("newlib", "newlib/**")),
        Case("library add", ["{w}/good.cwf", "{w}/random.bin", "--library", "{w}/newlib"],
             "a good file beside a bad one (nothing is added)"),
        Case("library add", ["/dev/zero", "--library", "{w}/newlib"], "a device that never ends",
             process="always", needs=("devzero",)),
        Case("library add", ["{w}/secret.cwf", "--library", "{w}/newlib"], "a file nobody may read",
             needs=("unreadable",)),
        Case("library add", ["{w}/good.cwf", "--library", "{w}/notes.txt"], "--library a file"),
        Case("library add", ["{w}/good.cwf", "--library", "{unwritable}/lib"],
             "--library in a folder nobody may write in", needs=("unwritable",)),
        Case("library add", ["{w}/good.cwf", "--library", "{w}/newlib", "--date", "last tuesday"],
             "a date that is no date"),
        Case("library add", ["{w}/good.cwf", "--library", "{w}/badlib"], "a library whose index is garbage"),
        Case("library list", ["--library", "{w}/notes.txt"], "--library a file"),
        Case("library list", ["--library", "{w}/badlib"], "a library whose index is garbage"),
        Case("library show", ["99", "--library", "{w}/lib"], "a flight not in the library"),
        Case("library show", ["zz", "--library", "{w}/lib"], "an id that is no id"),
        Case("library show", ["1", "--library", "{w}/nolib"], "a library that does not exist"),
        Case("library show", ["1", "--library", "{w}/badlib"], "a library whose index is garbage"),
        Case("library export", ["99", "-o", "{w}/x.cwf", "--library", "{w}/lib"], "a flight not there"),
        Case("library export", ["1", "-o", "{w}/missing/x.cwf", "--library", "{w}/lib"],
             "-o in a missing folder"),
        Case("library export", ["1", "-o", "{w}/notes.txt", "--library", "{w}/lib"],
             "-o an existing file, without --force"),
        Case("library export", ["1", "-o", "{w}/notes.txt/x.cwf", "--library", "{w}/lib"],
             "-o under a regular file"),
        Case("library export", ["1", "-o", "{unwritable}/x.cwf", "--library", "{w}/lib"],
             "-o in a folder nobody may write in", needs=("unwritable",)),
        Case("library export", ["1", "--library", "{w}/lib"], "no -o"),
        Case("library note", ["99", "hello", "--library", "{w}/lib"], "a flight not there"),
        Case("library note", ["1", "--library", "{w}/lib"], "nothing to note"),
        Case("library note", ["1", "--date", "2020-13-45", "--library", "{w}/lib"], "an impossible date"),
        Case("library note", ["1", "hello", "--library", "{w}/nolib"], "a library that does not exist"),
        Case("library remove", ["99", "--yes", "--library", "{w}/lib"], "a flight not there"),
        Case("library remove", ["1", "--yes", "--library", "{w}/nolib"], "a library that does not exist"),
        Case("library remove", ["x1", "--yes", "--library", "{w}/lib"], "an id that is no id"),
        Case("library verify", ["--library", "{w}/notes.txt"], "--library a file"),
        Case("library verify", ["--library", "{w}/badlib"], "a library whose index is garbage"),
        Case("library rebuild", ["--library", "{w}/notes.txt"], "--library a file"),
        Case("library rebuild", ["--library", "{w}/nolib"], "a library that does not exist"),
        Case("library", ["bogus"], "an action there is not"),
    ]
    motor = ["--mass-g", "100", "--diameter-mm", "24", "--cd", "0.7"]
    for name, wrong in (("garbage.eng", "a motor file of garbage"),
                        ("no_header.eng", "thrust data before any motor header"),
                        ("negative.eng", "negative thrust"),
                        ("backwards.eng", "times that go back"),
                        ("empty.eng", "an empty motor file"),
                        ("binary.eng", "a binary motor file"),
                        ("missing.eng", "a motor file that is not there")):
        cases.append(Case("predict", ["--motor", "{w}/motors/" + name, *motor], wrong))
    cases += [
        Case("predict", ["--motor", "{w}/motors", *motor], "--motor a folder", says=FOLDER),
        Case("predict", ["--motor", "/dev/zero", *motor], "--motor a device", needs=("devzero",)),
        Case("predict", ["--motor", "Z99", *motor], "a bundled motor there is not"),
        Case("predict", ["--motor", "C6", "--mass-g", "-100", "--diameter-mm", "24", "--cd", "0.7"],
             "a negative mass"),
        Case("predict", ["--motor", "C6", "--mass-g", "100", "--diameter-mm", "0", "--cd", "0.7"],
             "a zero diameter"),
        Case("predict", ["--motor", "C6", "--mass-g", "100", "--diameter-mm", "24", "--cd", "-0.7"],
             "a negative drag coefficient"),
        Case("predict", ["--motor", "C6", "--mass-g", "100", "--diameter-mm", "24", "--cd", "nan"],
             "a drag coefficient that is no number"),
        Case("predict", ["--motor", "C6", *motor[:4], "--cd", "0.7", "--wind-ms", "-5"], "negative wind"),
        Case("predict", ["--motor", "C6", *motor, "--rail-m", "-1"], "a negative rail"),
        Case("predict", ["--motor", "C6", *motor, "--rail-angle-deg", "120"], "a rail past horizontal"),
        Case("predict", ["--motor", "C6", *motor, "--temp-c", "-300"], "below absolute zero"),
        Case("predict", ["--motor", "C6", *motor, "--pad-alt-m", "99999"], "a pad in space"),
        Case("predict", ["--motor", "C6", "--mass-g", "100000", "--diameter-mm", "24", "--cd", "0.7"],
             "a rocket the motor cannot lift"),
        Case("predict", ["--motor", "C6"], "no mass, no diameter"),
        Case("predict", ["--motor", "C6", *motor, "--reverse"], "--reverse with nothing to fit"),
        Case("predict", ["--motor", "C6", "--mass-g", "100", "--diameter-mm", "24", "--reverse",
                         "--apogee-m", "-5"], "a negative apogee to fit"),
        Case("predict", ["--motor", "C6", *motor, "--png", "{w}/missing/x.png"], "--png in a missing folder"),
        Case("predict", ["--motor", "C6", *motor, "--png", "{w}/x.png", "--png-size", "1x1"],
             "a 1x1 picture"),
        Case("predict", ["--motor", "C6", *motor, "--png", "{unwritable}/x.png"],
             "--png in a folder nobody may write in", needs=("unwritable",)),
        Case("predict", ["--motor", "C6", *motor, "--save-rocket", "{w}/missing/r.json"],
             "--save-rocket in a missing folder"),
        Case("predict", ["--motor", "C6", *motor, "--save-rocket", "{w}/subdir"],
             "--save-rocket onto a folder"),
        Case("predict", ["--motor", "C6", *motor, "--save-rocket", "{unwritable}/r.json"],
             "--save-rocket in a folder nobody may write in", needs=("unwritable",)),
        Case("predict", ["--rocket", "{w}/missing.json"], "--rocket missing"),
        Case("predict", ["--rocket", "{w}/subdir"], "--rocket a folder", says=FOLDER),
        Case("predict", ["--rocket", "/dev/zero"], "--rocket a device that never ends",
             process="always", needs=("devzero",)),
        Case("predict", ["--rocket", "{w}/secret.cwf"], "--rocket nobody may read", needs=("unreadable",)),
    ]
    for name, wrong in ROCKET_FILES_WRONG:
        cases.append(Case("predict", ["--rocket", "{w}/rockets/" + name], wrong))
    cases += [
        Case("decode", ["zz"], "not hex"),
        Case("decode", ["0"], "an odd number of hex digits"),
        Case("decode", ["00"], "no frame in it"),
        Case("decode", ["{bad_crc_frame}"], "a frame failing its CRC"),
        Case("decode", ["{keyed_frame}"], "a keyed frame and no key"),
        Case("decode", ["{keyed_frame}", "--key", OTHER_KEY], "a keyed frame and the wrong key"),
        Case("decode", ["00", "--key", "abcd"], "a key too short"),
        Case("decode", ["00", "--session", "zz"], "a session that is no number"),
        Case("decode", ["00", "--receiver", "radio"], "a receiver there is not"),
        Case("ports", ["--bogus"], "an option there is not"),
        Case("demo", ["--motor", "Z99"], "a motor there is not", process="short"),
        Case("demo", ["--speed", "0"], "a speed of 0"),
        Case("demo", ["--speed", "500"], "a speed past 100x"),
        Case("demo", ["--countdown", "-5"], "a negative countdown"),
        Case("demo", ["--seed", "x"], "a seed that is no number"),
        Case("demo", ["-o", "{w}/notes.txt"], "-o a regular file"),
        Case("demo", ["-o", "{unwritable}/demo"], "-o in a folder nobody may write in",
             needs=("unwritable",)),
        Case("gui", ["--key", "zz"], "a key that is not hex", process="always"),
        Case("gui", ["--key", ALL_ZERO_KEY], "the all-zero key", process="always"),
        Case("gui", ["--bogus"], "an option there is not", process="always"),
        Case("sim", ["--ch1", "bogus"], "an igniter there is not"),
        Case("sim", ["--key", "maybe"], "an arm key neither on nor off"),
        Case("sim", ["--baud", "0"], "a line rate of 0"),
        Case("sim", ["--flip-rate", "2"], "a probability over 1"),
        Case("sim", ["--drop-rate", "-1"], "a negative probability"),
        Case("sim", ["--disconnect-after", "-1"], "a negative time"),
        Case("sim", ["--device-key", "zz"], "a device key that is not hex"),
        Case("sim", ["--device-key", ALL_ZERO_KEY], "the all-zero device key"),
        Case("sim", ["--speed", "0"], "a speed of 0"),
        Case("sim", ["--motor", "Z99"], "a motor there is not"),
        Case("sim", ["--storage", "{w}/notes.txt"], "--storage a regular file"),
        Case("sim", ["--storage", "{unwritable}/board"], "--storage in a folder nobody may write in",
             needs=("unwritable",)),
        Case("key list", [], "a key store of garbage", env={"COALWOOD_KEYS": "{w}/keys-garbage.json"}),
        Case("key list", [], "a key store that is a folder", env={"COALWOOD_KEYS": "{w}/subdir"}),
        Case("key forget", ["zz", "--yes"], "a device id that is not hex"),
        Case("key forget", ["0011223344556677", "--yes"], "a device with no stored key"),
        Case("key import", ["{w}/missing.json"], "a key file that is not there"),
        Case("key import", ["{w}/subdir"], "a folder, not a key file", says=FOLDER),
        Case("key import", ["{w}/notes.txt"], "a text file that is no key file"),
        Case("key import", ["{w}/random.bin"], "random bytes"),
        Case("key import", ["{w}/rockets/list.json"], "JSON that is no key file"),
    ]
    return cases


ROCKET_FILES = {  # name: the file's text (a rocket file, wrong in one way)
    "bad_json.json": '{"version": 1, "motor": "C6"',
    "list.json": "[1, 2, 3]",
    "no_version.json": '{"motor": "C6", "mass_g": 100, "diameter_mm": 24, "cd": 0.7}',
    "negative_mass.json": '{"version": 1, "motor": "C6", "mass_g": -5, "diameter_mm": 24, "cd": 0.7}',
    "unknown_key.json": '{"version": 1, "motor": "C6", "mass_g": 100, "diameter_mm": 24, "cd": 0.7, "fins": 4}',
    "text_cd.json": '{"version": 1, "motor": "C6", "mass_g": 100, "diameter_mm": 24, "cd": "low"}',
    "no_motor.json": '{"version": 1, "mass_g": 100, "diameter_mm": 24, "cd": 0.7}',
    "unknown_motor.json": '{"version": 1, "motor": "Z99", "mass_g": 100, "diameter_mm": 24, "cd": 0.7}',
    "motor_missing.json": '{"version": 1, "motor": "motors/missing.eng", "mass_g": 100, "diameter_mm": 24, "cd": 0.7}',
    "motor_garbage.json": '{"version": 1, "motor": "../motors/garbage.eng", "mass_g": 100, "diameter_mm": 24, "cd": 0.7}',
    "huge_number.json": '{"version": 1, "motor": "C6", "mass_g": 1e308, "diameter_mm": 24, "cd": 0.7}',
    "empty.json": "",
}
ROCKET_FILES_WRONG = (
    ("bad_json.json", "a rocket file cut short (bad JSON)"),
    ("list.json", "a rocket file that is a list"),
    ("no_version.json", "a rocket file with no version"),
    ("negative_mass.json", "a rocket file with a negative mass"),
    ("unknown_key.json", "a rocket file with an unknown key"),
    ("text_cd.json", "a rocket file with text for a number"),
    ("no_motor.json", "a rocket file with no motor"),
    ("unknown_motor.json", "a rocket file naming a motor there is not"),
    ("motor_missing.json", "a rocket file whose motor file is missing"),
    ("motor_garbage.json", "a rocket file whose motor file is garbage"),
    ("huge_number.json", "a rocket file with an absurd mass"),
    ("empty.json", "an empty rocket file"),
)
MOTOR_FILES = {
    "garbage.eng": "this is not a motor\n",
    "no_header.eng": "; a comment, then thrust with no header\n0.1 10\n0.5 0\n",
    "negative.eng": "C6 18 70 0 0.0108 0.0231 Estes\n0.1 -10\n0.5 0\n",
    "backwards.eng": "C6 18 70 0 0.0108 0.0231 Estes\n0.5 10\n0.1 5\n0.9 0\n",
    "empty.eng": "",
}
GOOD_ENG = ("; a small motor, for the fuzzing\nC6 18 70 3-5-7 0.0108 0.0231 Estes\n"
            "0.031 0.946\n0.092 4.826\n0.139 9.936\n0.192 14.090\n0.209 11.446\n0.231 7.381\n"
            "0.248 6.151\n0.292 5.489\n0.370 4.921\n0.475 4.448\n0.671 4.258\n0.702 4.542\n"
            "0.723 4.164\n0.850 4.448\n1.063 4.353\n1.211 4.353\n1.242 4.069\n1.303 4.258\n"
            "1.468 4.353\n1.656 4.448\n1.821 4.448\n1.834 2.933\n1.847 1.325\n1.860 0.000\n")
GOOD_ROCKET = {"version": 1, "name": "fuzz", "motor": "C6", "mass_g": 100, "diameter_mm": 24,
               "cd": 0.7, "main_ms": 5}


def table():
    return _port_table() + _file_table()


# --- the subcommands -------------------------------------------------------------------------
def subcommands(parser=None, groups=False):
    """Every subcommand a person can type, from the real parser: leaves of the tree, so
    `library add` and `key set` each count. groups=True: (leaves, the commands that only
    hold actions, such as `library`)."""
    from ground.cli import build_parser

    parser = parser if parser is not None else build_parser()
    names, holders = [], []

    def walk(p, prefix):
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    full = (prefix + " " + name).strip()
                    if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                        holders.append(full)
                        walk(sub, full)
                    else:
                        names.append(full)

    walk(parser, "")
    if groups:
        return sorted(set(names)), sorted(set(holders))
    return sorted(set(names))


# --- the bench: files, ports and folders the cases point at ----------------------------------
def _closed_tcp_port():
    """A local TCP port with nobody listening on it (one just given up by the OS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unwritable_folder(work):
    """(folder, restore) of a folder no new entry can be made in, or (None, None). As root
    a permission bit stops nothing: then a folder of sysfs, which refuses even root."""
    if os.name == "posix" and os.geteuid() != 0:
        folder = os.path.join(work, "locked")
        os.mkdir(folder)
        os.chmod(folder, 0o555)
        return folder, lambda: os.chmod(folder, 0o755)
    for folder in ("/sys",):
        if os.path.isdir(folder):
            try:
                os.rmdir(tempfile.mkdtemp(dir=folder))
            except OSError:
                return folder, None
    return None, None


class Bench:
    """The work folder (snapshotted around every case) with its good and broken files, a
    library, the device's storage with a flight, ptys, and the environment the cases run
    in (their own key store, library and settings: never the user's)."""

    def __init__(self, seed=0):
        self.seed = seed
        self.root = tempfile.mkdtemp(prefix="coalwood-bad-input-")
        self.work = os.path.join(self.root, "work")
        self.cwd = os.path.join(self.work, "cwd")
        self.facilities = set()
        self.values = {}
        self._fds = []
        self._held = []
        self._restore = []
        self._processes = []

    def __enter__(self):
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _write(self, rel, data):
        path = os.path.join(self.work, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    def _build(self):
        from ground.flight.library import Library

        rng = random.Random(self.seed)
        os.makedirs(self.cwd)
        board = os.path.join(self.root, "board")  # the device's flash: not the user's files
        _flight, _path, good = synthetic_flight.write_flight(board)
        self.good_cwf = good
        self._write("good.cwf", good)
        mid_record = HEADER_LEN + RECORD_LEN * 40 + RECORD_LEN // 2
        self._write("truncated.cwf", good[:mid_record])
        flipped = bytearray(good)
        for record in (3, 77):
            flipped[HEADER_LEN + RECORD_LEN * record + 5] ^= 0x10
        self._write("bit-flipped.cwf", bytes(flipped))
        self._write("header-only.cwf", good[:HEADER_LEN // 2])
        self._write("bad-magic.cwf", bytes([good[0] ^ 0x01]) + good[1:])
        self._write("empty.cwf", b"")
        self._write("random.bin", bytes(rng.getrandbits(8) for _ in range(3000)))
        self._write("notes.txt", "flew on Saturday, landed in the trees\n")
        os.makedirs(os.path.join(self.work, "subdir"))
        for name, text in MOTOR_FILES.items():
            self._write(os.path.join("motors", name), text)
        self._write(os.path.join("motors", "binary.eng"), bytes(range(256)) * 4)
        for name, text in ROCKET_FILES.items():
            self._write(os.path.join("rockets", name), text)
        self._write("keys-garbage.json", "{not json at all")
        with Library(os.path.join(self.work, "lib")) as library:
            library.add(good, source="good.cwf", name="good.cwf")
        badlib = os.path.join(self.work, "badlib")
        self._write(os.path.join("badlib", "index.sqlite3"), b"this is not an SQLite database" * 8)
        assert os.path.isdir(badlib)
        self.values.update(w=self.work, board=board, closed_port=str(_closed_tcp_port()),
                           bad_crc_frame=_bad_crc_frame(), keyed_frame=_keyed_frame())
        if os.name == "posix":
            self.facilities.add("devzero")
            fifo = os.path.join(self.root, "fifo")
            with contextlib.suppress(OSError, AttributeError):
                os.mkfifo(fifo)
                self.values["fifo"] = fifo
                self.facilities.add("fifo")
            if os.geteuid() != 0:
                secret = self._write("secret.cwf", good)
                os.chmod(secret, 0)
                self._restore.append(lambda: os.chmod(secret, 0o644))
                self.facilities.add("unreadable")
            self._open_ptys()
        folder, restore = _unwritable_folder(self.work)
        if folder is not None:
            self.values["unwritable"] = folder
            self.facilities.add("unwritable")
            if restore is not None:
                self._restore.append(restore)

    def _open_ptys(self):
        import serial

        try:
            master, slave = os.openpty()
        except OSError:
            return
        self._fds += [master, slave]
        self.values["pty_silent"] = os.ttyname(slave)  # nobody answers on its master
        master, slave = os.openpty()
        self._fds += [master, slave]
        busy = os.ttyname(slave)
        # held as the link holds a port: exclusively, so the next opener is refused
        self._held.append(serial.Serial(busy, exclusive=True))
        self.values["pty_busy"] = busy
        self.facilities.add("pty")

    def start_vanishing_port(self):
        """A fresh `coalwood sim` on a pty serving the flight at 9600 baud (a minute's
        transfer), gone after 3 s: a download started on it (within about a second) is cut
        off with part of the flight held, however busy the machine."""
        if "pty" not in self.facilities:
            return
        self.facilities.discard("pty_vanishing")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ground.sim.pty_server", "--storage", self.values["board"],
             "--disconnect-after", "3", "--baud", "9600"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=self.environ(), cwd=self.root)
        self._processes.append(proc)
        path = proc.stdout.readline().strip()
        if path.startswith("/dev/"):
            self.values["pty_vanishing"] = path
            self.facilities.add("pty_vanishing")

    def fill(self, text):
        return text.format(**self.values) if "{" in text else text

    def environ(self, extra=None):
        """os.environ for a case: this bench's library, key store and settings."""
        env = dict(os.environ)
        env.update(COALWOOD_LIBRARY=os.path.join(self.work, "envlib"),
                   COALWOOD_KEYS=os.path.join(self.work, "keys.json"),
                   COALWOOD_SETTINGS=os.path.join(self.work, "settings.ini"),
                   QT_QPA_PLATFORM="offscreen")
        for name, value in (extra or {}).items():
            env[name] = self.fill(value)
        return env

    def close(self):
        for proc in self._processes:
            with contextlib.suppress(OSError):
                proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(5)
        for port in self._held:
            with contextlib.suppress(Exception):
                port.close()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        for restore in self._restore:
            with contextlib.suppress(OSError):
                restore()
        shutil.rmtree(self.root, ignore_errors=True)


def _bad_crc_frame():
    from protocol import ROLE_DEVICE, Connection
    from protocol import messages as M

    wire = bytearray(Connection(ROLE_DEVICE, session=0x1234ABCD).send(M.Heartbeat(0, 0, 0)))
    wire[5] ^= 0x01
    return wire.hex()


def _keyed_frame():
    from protocol import ROLE_DEVICE, Connection
    from protocol import messages as M

    dev = Connection(ROLE_DEVICE, session=0x1234ABCD, key=bytes.fromhex(DEVICE_KEY))
    return dev.send(M.Heartbeat(0, 2, 0)).hex()


# --- watching the folder ---------------------------------------------------------------------
def snapshot(folder):
    """{relative path: (size, mtime_ns)} of every file, and {path: "folder"} of every folder."""
    seen = {}
    for here, dirs, files in os.walk(folder):
        rel_here = os.path.relpath(here, folder)
        for name in dirs:
            seen[os.path.normpath(os.path.join(rel_here, name))] = "folder"
        for name in files:
            path = os.path.join(here, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            seen[os.path.normpath(os.path.join(rel_here, name))] = (st.st_size, st.st_mtime_ns)
    return seen


def changes(before, after, allow=()):
    """Paths created, changed or removed between two snapshots, less those `allow` matches."""
    changed = [p for p in set(before) | set(after) if before.get(p) != after.get(p)]
    return sorted(p for p in changed
                  if not any(fnmatch.fnmatch(p.replace(os.sep, "/"), pat) for pat in allow))


# --- running one case ------------------------------------------------------------------------
class Outcome:
    def __init__(self, code, out, err, crash=None, seconds=0.0, how="in-process"):
        self.code = code
        self.out = out
        self.err = err
        self.crash = crash  # the traceback of an exception that escaped main()
        self.seconds = seconds
        self.how = how
        self.thread_errors = []
        self.hung = False


class _ThreadErrors:
    """Exceptions that end a background thread (which would print a traceback on the
    console), each put down to the case running when it happened."""

    def __init__(self):
        self.current = None
        self.seen = 0  # every thread that died while the campaign ran
        self.judged = 0  # of those, the ones a case's judgement counted
        self._saved = None

    def __enter__(self):
        self._saved = threading.excepthook

        def hook(args):
            if args.exc_type is SystemExit:
                return
            self.seen += 1
            if self.current is not None:
                self.current.thread_errors.append("%s: %s" % (args.exc_type.__name__, args.exc_value))

        threading.excepthook = hook
        return self

    def __exit__(self, *exc):
        threading.excepthook = self._saved


def run_in_process(argv, bench, env=None, thread_errors=None):
    """ground.cli.main(argv) with stdout, stderr and stdin its own, in the bench's
    scratch folder and environment; an exception escaping main() is kept, not raised."""
    import _thread

    from ground.cli import main

    out, err = io.StringIO(), io.StringIO()
    outcome = Outcome(None, "", "")
    if thread_errors is not None:
        thread_errors.current = outcome
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_stdin = sys.stdin
    running = threading.Event()
    running.set()
    lock = threading.Lock()

    def watchdog():
        with lock:
            if running.is_set():
                outcome.hung = True
                _thread.interrupt_main()

    timer = threading.Timer(WATCHDOG_S, watchdog)
    started = time.perf_counter()
    case_env = bench.environ(env)
    try:
        os.environ.clear()
        os.environ.update(case_env)
        os.chdir(bench.cwd)
        sys.stdin = io.StringIO("")
        timer.start()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                outcome.code = main(argv)
            except SystemExit as exc:  # argparse
                outcome.code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                outcome.crash = traceback.format_exc()
                outcome.code = 1
            finally:
                with lock:
                    running.clear()
                timer.cancel()
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    outcome.out, outcome.err = out.getvalue(), err.getvalue()
    outcome.seconds = time.perf_counter() - started
    return outcome


def _limit_memory():
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (SUBPROCESS_MEMORY_BYTES, SUBPROCESS_MEMORY_BYTES))


def run_as_process(argv, bench, env=None):
    """`python -m ground.cli argv` as its own process: the real entry point."""
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "ground.cli", *argv], cwd=bench.cwd,
                              env=bench.environ(env), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S,
                              preexec_fn=_limit_memory if os.name == "posix" else None)
    except subprocess.TimeoutExpired as exc:
        outcome = Outcome(None, exc.stdout or "", exc.stderr or "", how="process")
        outcome.hung = True
        return outcome
    outcome = Outcome(proc.returncode, proc.stdout, proc.stderr, how="process")
    outcome.seconds = time.perf_counter() - started
    return outcome


# --- judging it ------------------------------------------------------------------------------
def _lines(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [line for line in text.splitlines() if line.strip()]


def is_argparse_error(code, lines):
    """argparse's own form: its usage (first line `usage:`, the rest indented), then one
    `coalwood ...: error:` line, exit 2."""
    if code != 2 or len(lines) < 2 or not lines[0].startswith("usage:"):
        return False
    return bool(ARGPARSE_ERROR.match(lines[-1])) and all(
        line.startswith(" ") for line in lines[1:-1])


def judge(expect, outcome, written, says=None):
    """What is wrong with one run ([] when nothing): each a (count name, detail)."""
    faults = []
    lines = _lines(outcome.err)
    if outcome.hung:
        faults.append(("hung", "still running after %.0f s" % WATCHDOG_S))
    if outcome.crash:
        faults.append(("tracebacks", outcome.crash.strip().splitlines()[-1]))
    elif "Traceback" in outcome.err:
        faults.append(("tracebacks", "a traceback on stderr"))
    for error in outcome.thread_errors:
        faults.append(("tracebacks", "a background thread died: " + error))
    if DUMP.search(outcome.err) and not any(f[0] == "tracebacks" for f in faults):
        faults.append(("exception_dumps", DUMP.search(outcome.err).group(0)))
    failed = outcome.code not in (0, None)
    if expect == REFUSED or (expect == ANY and failed):
        if outcome.code == 0:
            faults.append(("zero_exits", "exit 0"))
        if not lines:
            faults.append(("silent_errors", "nothing on stderr"))
        elif (len(lines) > 1 and not is_argparse_error(outcome.code, lines)
              and not any(f[0] == "tracebacks" for f in faults)):  # counted once, as that
            faults.append(("multi_line_errors", "%d lines on stderr" % len(lines)))
    elif expect == KEPT_WITH_WARNING:
        if outcome.code != 0 or len(lines) != 1 or "warning" not in lines[0]:
            faults.append(("wrong_outcomes", "exit %s, %d stderr lines" % (outcome.code, len(lines))))
    elif expect == ANY and len(lines) > 1:
        faults.append(("multi_line_errors", "%d lines on stderr after exit 0" % len(lines)))
    if written:
        faults.append(("files_half_written", ", ".join(written[:4])))
    if says is not None and lines and not re.search(says, lines[-1], re.IGNORECASE):
        faults.append(("unclear_errors", "does not say %r" % says))
    return faults


# --- the campaign ----------------------------------------------------------------------------
def _new_counts():
    return {"cases": 0, "subcommands": 0, "subcommands_covered": 0, "in_process_runs": 0,
            "subprocess_runs": 0, "fuzz_runs": 0, "parts_kept": 0, "skipped": {},
            "not_in_cli": [], "subcommands_without_cases": 0, "uncovered": [],
            "known_failures": 0, "known": [], "examples": [],
            **{name: 0 for name in MUST_BE_ZERO if name not in
               ("subcommands_without_cases", "known_now_passing")},
            "known_now_passing": 0, "must_be_zero": list(MUST_BE_ZERO)}


def _record(counts, label, argv, outcome, faults, known=None, known_may_pass=False):
    if known is not None:
        owner, kinds = known
        excused = [f for f in faults if f[0] in kinds]
        faults = [f for f in faults if f[0] not in kinds]
        if excused:
            counts["known_failures"] += 1
            counts["known"].append({"case": label, "owner": owner,
                                    "faults": sorted({f[0] for f in excused})})
        elif not known_may_pass:
            counts["known_now_passing"] += 1
            counts["examples"].append({"case": label, "fault": "known_now_passing",
                                       "detail": "passes now: remove its `known` mark"})
    for name in sorted({f[0] for f in faults}):
        counts[name] += 1
    if faults and len(counts["examples"]) < 30:
        counts["examples"].append({"case": label, "argv": argv, "how": outcome.how,
                                   "faults": ["%s: %s" % f for f in faults],
                                   "exit": outcome.code, "stderr": outcome.err[-300:]})


def _run_case(case, bench, counts, as_process, thread_errors):
    argv = case.full_argv(bench)
    before = snapshot(bench.work)
    if as_process:
        outcome = run_as_process(argv, bench, case.env)
        counts["subprocess_runs"] += 1
    else:
        outcome = run_in_process(argv, bench, case.env, thread_errors)
        counts["in_process_runs"] += 1
    after = snapshot(bench.work)
    written = changes(before, after, case.allow)
    if any(p.endswith(".part") for p in changes(before, after)):
        counts["parts_kept"] += 1
    _undo(bench, before, after)
    faults = judge(case.expect, outcome, written, case.says)
    thread_errors.judged += len(outcome.thread_errors)
    label = "%s: %s (%s)" % (case.command, case.wrong, outcome.how)
    _slowest(counts, outcome.seconds, label)
    _record(counts, label, argv, outcome, faults, case.known, case.known_may_pass)


def _slowest(counts, seconds, label, keep=5):
    slowest = counts.setdefault("slowest", [])
    slowest.append([round(seconds, 2), label])
    slowest.sort(key=lambda item: -item[0])
    del slowest[keep:]


def _undo(bench, before, after):
    """Put the work folder back as it was, so one case's leftovers never hide the next
    one's: what appeared is removed (what changed or vanished is left: it is counted)."""
    for path in sorted(set(after) - set(before), key=len, reverse=True):
        full = os.path.join(bench.work, path)
        with contextlib.suppress(OSError):
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.remove(full)


def _mutations(rng, data, n):
    """n seeded corruptions of `data`: cut short, bits flipped, bytes replaced by noise,
    noise spliced in, and whole-file noise."""
    out = []
    for i in range(n):
        kind = i % 5
        b = bytearray(data)
        if kind == 0:
            b = b[:rng.randrange(len(b))]
        elif kind == 1:
            for _ in range(rng.randint(1, 8)):
                pos = rng.randrange(len(b))
                b[pos] ^= 1 << rng.randrange(8)
        elif kind == 2:
            start = rng.randrange(len(b))
            for pos in range(start, min(len(b), start + rng.randint(1, 64))):
                b[pos] = rng.getrandbits(8)
        elif kind == 3:
            pos = rng.randrange(len(b) + 1)
            b[pos:pos] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40)))
        else:
            b = bytearray(rng.getrandbits(8) for _ in range(rng.randint(0, 400)))
        out.append(bytes(b))
    return out


def _rocket_mutations(rng, n):
    values = [None, -1, 0, 1e308, -1e308, "x", "", [], {}, True, "C6", "../motors/garbage.eng",
              float("nan")]
    out = []
    for _ in range(n):
        doc = dict(GOOD_ROCKET)
        for _ in range(rng.randint(1, 3)):
            key = rng.choice([*sorted(doc), "extra"])
            if rng.random() < 0.3:
                doc.pop(key, None)
            else:
                doc[key] = rng.choice(values)
        out.append(json.dumps(doc, allow_nan=True).encode())
    return out


def fuzz_cases(rng, n):
    """(command, argv-with-{file}, bytes) runs: corrupted flight logs, motor files and
    rocket files, each fed to the commands that read them."""
    runs = []
    for data in _mutations(rng, synthetic_flight_bytes(), n):
        runs.append(("analyze", ["{file}"], data, ".cwf", ()))
        runs.append(("library add", ["{file}", "--library", "{w}/fuzzlib"], data, ".cwf",
                     ("fuzzlib", "fuzzlib/**")))
    for data in _mutations(rng, GOOD_ENG.encode(), n):
        runs.append(("predict", ["--motor", "{file}", "--mass-g", "100", "--diameter-mm", "24",
                                 "--cd", "0.7"], data, ".eng", ()))
    for data in _rocket_mutations(rng, n):
        runs.append(("predict", ["--rocket", "{file}"], data, ".json", ()))
    for _ in range(n):
        noise = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 80))) + b"\x00"
        runs.append(("decode", [noise.hex()], None, None, ()))
    return runs


_FLIGHT_BYTES = []


def synthetic_flight_bytes():
    if not _FLIGHT_BYTES:
        folder = tempfile.mkdtemp(prefix="coalwood-fuzz-")
        try:
            _FLIGHT_BYTES.append(synthetic_flight.write_flight(folder, burn_s=1.0)[2])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _FLIGHT_BYTES[0]


def _run_fuzz(bench, counts, rng, n, thread_errors):
    fuzz_dir = os.path.join(bench.root, "fuzz")  # outside the work folder: the input itself
    os.makedirs(fuzz_dir, exist_ok=True)
    for i, (command, argv, data, suffix, allow) in enumerate(fuzz_cases(rng, n)):
        values = {}
        if data is not None:
            path = os.path.join(fuzz_dir, "input-%04d%s" % (i, suffix))
            with open(path, "wb") as f:
                f.write(data)
            values["file"] = path
        full = command.split() + [a.replace("{file}", values.get("file", "")) for a in argv]
        full = [bench.fill(a) for a in full]
        before = snapshot(bench.work)
        outcome = run_in_process(full, bench, None, thread_errors)
        after = snapshot(bench.work)
        written = changes(before, after, allow)
        _undo(bench, before, after)
        counts["fuzz_runs"] += 1
        faults = judge(ANY, outcome, written)
        thread_errors.judged += len(outcome.thread_errors)
        _record(counts, "fuzz %s #%d" % (command, i), full, outcome, faults)


def coverage(cases, counts, parser=None):
    """Which subcommands of `parser` (default: the real one) the cases cover, into
    `counts`; returns every command a case may name."""
    names, holders = subcommands(parser, groups=True)
    counts["subcommands"] = len(names)
    covered = {c.command for c in cases}
    counts["subcommands_covered"] = len([n for n in names if n in covered])
    counts["uncovered"] = [n for n in names if n not in covered]
    counts["subcommands_without_cases"] = len(counts["uncovered"])
    counts["not_in_cli"] = sorted(covered - set(names) - set(holders))
    return set(names) | set(holders)


def run(long=False, seed=0):
    started_s = time.perf_counter()
    counts = _new_counts()
    cases = table()
    known_names = coverage(cases, counts)
    rng = random.Random(seed)
    with Bench(seed) as bench, _ThreadErrors() as thread_errors:
        for case in cases:
            if case.command not in known_names:
                continue
            # a vanishing port is started afresh for each run (below): a pty is what it needs
            needs = ["pty" if n == "pty_vanishing" else n for n in case.needs]
            missing = [n for n in needs if n not in bench.facilities]
            if not long and case.slow and case.command not in SHORT_SLOW_COMMANDS:
                missing = ["slow: the long version runs it"]
            if missing:
                counts["skipped"][missing[0]] = counts["skipped"].get(missing[0], 0) + 1
                continue
            counts["cases"] += 1
            ways = [] if case.process == "always" else [False]
            if case.process in ("always", "short") or long:
                ways.append(True)
            for as_process in ways:
                if "pty_vanishing" in case.needs:
                    bench.start_vanishing_port()  # a port vanishes once
                    if "pty_vanishing" not in bench.facilities:
                        counts["skipped"]["pty_vanishing"] = 1 + counts["skipped"].get(
                            "pty_vanishing", 0)
                        continue
                _run_case(case, bench, counts, as_process, thread_errors)
        _run_fuzz(bench, counts, rng, 60 if long else 4, thread_errors)
        thread_errors.current = None
    late = thread_errors.seen - thread_errors.judged  # died after their case was judged
    if late:
        counts["tracebacks"] += late
        counts["examples"].append({"case": "(after its case)", "faults": [
            "tracebacks: %d background thread(s) died after their case ended" % late]})
    counts["elapsed_s"] = round(time.perf_counter() - started_s, 2)
    return counts


if __name__ == "__main__":
    sys.exit(common.main(run, __doc__))
