"""The `coalwood` command line.

Human output by default, `--json` where scripts need it; errors are one
clear line on stderr and a non-zero exit, never a traceback.
"""

import argparse
import binascii
import importlib
import json
import os
import sys

from ground import __version__
from ground.cli_common import (  # noqa: F401  (the exit statuses are part of this module's API)
    EXIT_ABORTED,
    EXIT_BAD_INPUT,
    EXIT_CORRUPT,
    EXIT_DEVICE,
    EXIT_LINK,
    EXIT_MISFIRE,
    EXIT_OK,
    EXIT_USAGE,
    KEY_HELP,
    CliError,
)
from ground.commands import COMMAND_MODULES
from protocol import ROLE_DEVICE, ROLE_GROUND, Connection, RemoteProtocolError
from protocol import constants as C
from protocol import messages as M
from protocol.connection import ERROR_NAMES


def _parse_hex(text):
    cleaned = "".join(text.split()).replace(":", "")
    try:
        return binascii.unhexlify(cleaned)
    except (binascii.Error, ValueError):
        raise CliError("not hex bytes: %r" % text[:60]) from None


def _type_name(msg_type):
    cls = M.MESSAGE_CLASSES.get(msg_type)
    return cls.__name__ if cls else "0x%02x" % msg_type


def cmd_decode(args):
    """Decode wire bytes (hex) as the given receiver would, frame by frame."""
    data = b"".join(_parse_hex(h) for h in args.hex)
    key = _key_arg(args.key)
    role = ROLE_GROUND if args.receiver == "ground" else ROLE_DEVICE
    conn = Connection(role, session=args.session, key=key)
    results = []
    offset = 0
    while offset < len(data):
        before_rejected = conn.stats.rejected()
        offset += conn.receive_data(data[offset:])
        dropped = conn.stats.rejected() - before_rejected
        if dropped:
            # last_error names the latest; stats in --json break them all down
            results.append({"rejected": ERROR_NAMES[conn.last_error], "count": dropped})
        while (frame := conn.next_event()) is not None:
            entry = {
                "type": _type_name(frame.msg_type),
                "seq": frame.seq,
                "session": "0x%08x" % frame.session(),
                "flags": frame.flags,
            }
            try:
                entry["fields"] = {
                    k: (v.hex() if isinstance(v, bytes) else v)
                    for k, v in _plain(M.decode(frame)).items()
                }
            except RemoteProtocolError as exc:
                entry["error"] = str(exc)
            results.append(entry)
    if args.json:
        print(json.dumps({"frames": results, "stats": conn.stats.as_dict()}))
    else:
        for r in results:
            if "rejected" in r:
                print("rejected %d frame(s): %s" % (r["count"], r["rejected"]))
            else:
                fields = ", ".join("%s=%s" % kv for kv in r.get("fields", {}).items())
                print("%-14s seq=%-5d %s" % (r["type"], r["seq"], fields or r.get("error", "")))
    if any("type" in r for r in results):
        return EXIT_OK
    # stdout above says what was rejected (and --json how); the failure is one line here
    raise CliError("no frame decoded: %s" % (
        "every frame was rejected" if results
        else "no complete frame in the input (a frame ends with a 00 byte)"))


def _plain(message):
    out = {}
    for k, v in message.as_dict().items():
        if isinstance(v, list):
            v = [x.as_dict() for x in v]
        out[k] = v
    return out


def _key_arg(text):
    from ground.keys import parse_key

    try:
        return parse_key(text or None)
    except ValueError as exc:
        raise CliError("--key: %s" % exc) from None


def _open_client(args, store=None):
    """Connect to --port: under --key if given, else under whichever key the key store
    holds for the device (none for an unkeyed one)."""
    from ground.client import DeviceClient
    from ground.keys import KeyStoreError, connect_client
    from ground.link import KeyNotHeld

    key = _key_arg(getattr(args, "key", None))
    client = DeviceClient(args.port, key=key, baudrate=args.baud)
    try:
        return connect_client(client, args.timeout, store=store, explicit_key=key is not None)
    except KeyStoreError as exc:
        raise CliError(str(exc)) from None
    except KeyNotHeld as exc:
        raise CliError(str(exc), EXIT_DEVICE) from None


def cmd_ports(args):
    from ground.link import serial_ports

    ports = serial_ports()
    if args.json:
        print(json.dumps({"ports": ports}))
    elif not ports:
        print("no serial ports found (try: coalwood sim, or the Simulator in coalwood gui)")
    else:
        for p in ports:
            mark = "*" if p["likely_board"] else " "
            print("%s %-24s %s%s" % (mark, p["device"], p["description"],
                                     "  [%s]" % p["likely_board"] if p["likely_board"] else ""))
        print("(* likely a pad box)")
    return EXIT_OK


def _status_dict(client, st, link=None):
    """JSON-ready status; `link` is DeviceClient.link_stats() (None: the firmware cannot tell)."""
    from ground.launch import describe_channel

    info = client.info
    return {
        "device": info.board_name if info else None,
        "firmware": info.firmware_version if info else None,
        "state": C.STATE_NAMES[st.state],
        "safe_reason": C.SAFE_REASON_NAMES[st.safe_reason],
        "key": "ON" if st.flags & C.DEV_KEY_ON else "OFF",
        "keyed_link": bool(st.flags & C.DEV_KEYED),
        "battery_v": round(st.battery_mv / 1000, 2),
        "altimeter": {
            "flight_state": C.FLIGHT_STATE_NAMES[st.flight_state],
            "altitude_m": st.altitude_cm / 100,
            "log_free_bytes": st.log_free_bytes,
            "log_full": bool(st.flags & C.DEV_LOG_FULL),
            "logging": bool(st.flags & C.DEV_FLYING),
        },
        "channels": [
            {
                "channel": i + 1,
                "continuity": C.CONT_NAMES[ch.continuity],
                "resistance_ohm": None if ch.resistance_mohm == C.RESISTANCE_UNKNOWN else ch.resistance_mohm / 1000,
                "last_fire": C.FIRE_RESULT_NAMES[ch.fire_result],
                "text": describe_channel(ch),
            }
            for i, ch in enumerate(st.channels)
        ],
        "link": link,
    }


def _free_text(free_bytes):
    if free_bytes >= 0x3FFFFFFF:  # the device reports at most 1 GiB - 1
        return "over 1 GB free for flights"
    if free_bytes >= 10**6:
        return "%.1f MB free for flights" % (free_bytes / 10**6)
    return "%.0f kB free for flights" % (free_bytes / 1000)


def _print_status(d):
    print("%s (firmware %s): %s, key %s, battery %.2f V%s" % (
        d["device"], d["firmware"], d["state"], d["key"], d["battery_v"],
        ", authenticated link" if d["keyed_link"] else ""))
    alt = d["altimeter"]
    if alt["flight_state"] == "IDLE":
        print("  altimeter: no barometer")
    else:
        print("  altimeter: %s, %.1f m above the pad%s, %s" % (
            alt["flight_state"], alt["altitude_m"], ", logging a flight" if alt["logging"] else "",
            "LOG FULL: download and erase flights" if alt["log_full"]
            else _free_text(alt["log_free_bytes"])))
    for ch in d["channels"]:
        print("  channel %d: %s" % (ch["channel"], ch["text"]))
    link = d.get("link")  # None: the firmware does not report its link counts
    if link is not None and not link["rejected"]:
        print("  link: no frames rejected")
    elif link is not None:
        # the reasons, largest first: line noise shows as crc/cobs, a wrong key as mac
        reasons = sorted(((link[field], name) for field, name in
                          zip(M.REJECTION_FIELDS, ERROR_NAMES[1:], strict=True) if link[field]),
                         key=lambda r: -r[0])
        print("  link: the device rejected %d frame%s (%s) of %d" % (
            link["rejected"], "" if link["rejected"] == 1 else "s",
            ", ".join("%s %d" % (name, n) for n, name in reasons),
            link["frames_ok"] + link["rejected"]))
    if link is not None and link["mac_exempt_accepted"]:
        print("  link: %d ABORT/DISARM without a MAC acted on (anyone may make the pad safe)"
              % link["mac_exempt_accepted"])


def cmd_status(args):
    import time

    client = _open_client(args)
    try:
        while True:
            d = _status_dict(client, client.status(), client.link_stats())
            if args.json:
                print(json.dumps(d), flush=True)
            else:
                _print_status(d)
            if not args.watch:
                return EXIT_OK
            time.sleep(1.0)
    finally:
        client.close()


def _confirm(prompt, assume_yes):
    if assume_yes:
        return True
    try:
        answer = input(prompt + " [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_launch(args):
    from ground.launch import MIN_COUNTDOWN_S, Keyboard, LaunchSequence

    if args.countdown < MIN_COUNTDOWN_S and not args.short_countdown:
        raise CliError("the countdown is at least %d s; use --short-countdown to go below it" % MIN_COUNTDOWN_S)
    if args.countdown < 0 or not 1 <= args.pulse_ms <= 3000:
        raise CliError("--countdown must be >= 0 and --pulse-ms 1..3000")
    if args.channel < 1:  # channel 0 would be Python's last channel: never guessed at
        raise CliError("--channel counts from 1, not %d" % args.channel)
    client = _open_client(args)
    try:
        with Keyboard() as kb:
            seq = LaunchSequence(client, args.channel - 1, args.countdown, args.pulse_ms,
                                 keyboard=kb, misfire_wait_s=args.misfire_wait)
            seq.preflight(args.override_continuity)
            if not _confirm("Launch channel %d?" % args.channel, args.yes):
                print("not launched")
                return EXIT_OK
            result = seq.run(args.override_continuity)
        return EXIT_OK if result == "FIRED" else EXIT_MISFIRE
    finally:
        client.close()


def cmd_igniter_test(args):
    import time

    from ground.launch import describe_channel

    if args.channel < 1:
        raise CliError("--channel counts from 1, not %d" % args.channel)
    if not 1 <= args.pulse_ms <= 3000:  # the firmware's hard per-fire cap is 3 s
        raise CliError("--pulse-ms must be 1..3000, not %d" % args.pulse_ms)
    client = _open_client(args)
    ch = args.channel - 1
    try:
        if ch >= client.info.channels:  # said as the launch says it, not as a NAK's name
            raise CliError("the device has %d channel(s); there is no channel %d"
                           % (client.info.channels, args.channel), EXIT_DEVICE)
        r = client.igniter_test(ch)
        ohm = "" if r.resistance_mohm == C.RESISTANCE_UNKNOWN else " %.2f ohm" % (r.resistance_mohm / 1000)
        print("channel %d: %s%s, sense current %.2f mA" % (
            args.channel, C.CONT_NAMES[r.continuity], ohm, r.sense_current_ua / 1000))
        if not args.fire:
            return EXIT_OK if r.continuity == C.CONT_CONNECTED else EXIT_DEVICE
        if not _confirm("Fire into the igniter on channel %d?" % args.channel, args.yes):
            print("not fired")
            return EXIT_OK
        # Continuity cannot be read while the output is on, so the result says
        # whether the igniter burned open within the pulse; shorter pulses
        # (--pulse-ms) narrow down how fast it goes.
        client.arm(1 << ch, override_continuity=False)
        start = time.monotonic()
        client.start_fire(1 << ch)
        while time.monotonic() - start < args.pulse_ms / 1000 and client.firing:
            time.sleep(0.01)
        client.stop_fire()
        fired_ms = int((time.monotonic() - start) * 1000)
        time.sleep(0.8)
        st = client.status()
        print("channel %d after firing: %s" % (args.channel, describe_channel(st.channels[ch])))
        if st.channels[ch].fire_result == C.FIRE_FIRED:
            print("burned open within a %d ms pulse" % fired_ms)
            return EXIT_OK
        print("did not burn open in %d ms: a dud, or not enough current" % fired_ms)
        return EXIT_MISFIRE
    finally:
        client.close()


def cmd_demo(args):
    from ground.demo import run_demo
    from ground.download import output_folder_problem
    from ground.sim.device import rocket_for_motor

    if not 0 < args.speed <= 100:
        raise CliError("--speed must be above 0 and at most 100")
    if args.countdown < 0:
        raise CliError("--countdown must not be negative")
    try:
        rocket_for_motor(args.motor)  # before the pad is set up, not after
    except ValueError as exc:
        raise CliError("--motor: %s" % exc) from None
    problem = args.output and output_folder_problem(args.output)
    if problem:  # found now, not after a whole flight
        raise CliError("-o %s: %s" % (args.output, problem))
    try:
        outcome, _summary, _path = run_demo(seed=args.seed, countdown_s=args.countdown,
                                            speed=args.speed, out_dir=args.output,
                                            motor=args.motor)
    except OSError as exc:  # the flight flew, but could not be kept
        raise CliError("cannot keep the flight in %s: %s" % (
            args.output or "a temporary folder", exc.strerror or exc)) from None
    if outcome == "FIRED":
        return EXIT_OK if _summary is not None else EXIT_DEVICE
    return EXIT_MISFIRE


def _flight_rows(infos):
    from ground.flightfile import flags_text

    return [{"flight": i.flight, "flags": flags_text(i.flags), "size_bytes": i.size_bytes,
             "apogee_m": i.apogee_cm / 100.0, "crc32": "%08x" % i.crc32,
             "sha256": bytes(i.sha256).hex()} for i in infos]


def _numbers(infos):
    return ", ".join(str(i.flight) for i in infos) or "none"


def cmd_flights(args):
    client = _open_client(args)
    try:
        infos = client.flight_list()
        if args.erase is not None:
            return _erase(client, infos, args)
        rows = _flight_rows(infos)
        if args.json:
            print(json.dumps({"device": client.info.board_name,
                              "device_id": bytes(client.info.device_id).hex(), "flights": rows}))
            return EXIT_OK
        if not rows:
            print("no flights stored on %s" % client.info.board_name)
            return EXIT_OK
        print("%6s  %-21s %12s %10s  %s" % ("flight", "flags", "size", "apogee", "sha256"))
        for r in rows:
            print("%6d  %-21s %10s B %8.1f m  %s" % (r["flight"], r["flags"],
                                                     "{:,}".format(r["size_bytes"]),
                                                     r["apogee_m"], r["sha256"][:12]))
        return EXIT_OK
    finally:
        client.close()


def _erase(client, infos, args):
    if args.erase.strip().lower() == "all":
        if not infos:
            print("no flights stored: nothing to erase")
            return EXIT_OK
        prompt = "Erase all %d flights (%s) from the device? This cannot be undone." % (
            len(infos), _numbers(infos))
        flight = C.ERASE_ALL
    else:
        try:
            flight = int(args.erase)
        except ValueError:
            raise CliError("--erase takes a flight number or 'all', not %r" % args.erase) from None
        match = [i for i in infos if i.flight == flight]
        if not match:
            raise CliError("no flight %d on the device (it has: %s)" % (flight, _numbers(infos)))
        prompt = "Erase flight %d (%s B, apogee %.1f m) from the device? This cannot be undone." % (
            flight, f"{match[0].size_bytes:,}", match[0].apogee_cm / 100.0)
    if not _confirm(prompt, args.yes):
        print("nothing erased")
        return EXIT_OK
    client.flight_erase(flight)
    print("erased %s" % ("all flights" if flight == C.ERASE_ALL else "flight %d" % flight))
    return EXIT_OK


def _sha256_of(path):
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.digest()


def _resume_hint(downloader, info):
    held = downloader.partial_bytes(info)
    if not held:
        return "run the same command again to retry"
    return "%s of %s bytes are kept in %s.part: run the same command again to resume" % (
        f"{held:,}", f"{info.size_bytes:,}", downloader.final_path(info))


def _download_one(downloader, info, say, keep=None):
    """Download one flight; returns (exit code, JSON-ready result). `say` prints for people;
    `keep(info, path, doc, say, data=None)` takes the verified flight (the library)."""
    from tqdm import tqdm

    from ground import download as D
    from ground import flightfile
    from ground.link import LinkError

    path = downloader.final_path(info)
    if os.path.exists(path):
        if _sha256_of(path) == bytes(info.sha256):
            say("flight %d is already downloaded: %s" % (info.flight, path))
            doc = {"flight": info.flight, "path": path, "already": True}
            if keep is not None:
                keep(info, path, doc, say)
            return EXIT_OK, doc
        raise CliError("%s exists and holds another flight %d: move it away or use -o DIR"
                       % (path, info.flight))
    held = downloader.partial_bytes(info)
    if downloader.discarded_stale:
        say("a partial download of an older flight %d was discarded" % info.flight)
    if held:
        say("resuming flight %d at %s of %s bytes" % (
            info.flight, f"{held:,}", f"{info.size_bytes:,}"))
    bar = tqdm(total=info.size_bytes, initial=held, unit="B", unit_scale=True,
               desc="flight %d" % info.flight, file=sys.stderr, disable=None, leave=False,
               dynamic_ncols=True)

    def progress(done, _total, _rate):
        bar.update(done - bar.n)

    downloader.progress = progress
    try:
        try:
            result = downloader.download(info)
        finally:
            bar.close()  # before any message, so the two never share a line
    except D.DownloadCorrupt as exc:
        print("coalwood: error: %s" % exc, file=sys.stderr)
        return EXIT_CORRUPT, {"flight": info.flight, "error": "corrupt"}
    except D.NoSuchFlight as exc:
        raise CliError(str(exc)) from None
    except (D.DownloadStalled, D.DeviceBusy, LinkError) as exc:
        code = EXIT_DEVICE if isinstance(exc, D.DeviceBusy) else EXIT_LINK
        raise CliError("%s; %s" % (exc, _resume_hint(downloader, info)), code) from None
    except KeyboardInterrupt:
        raise CliError("interrupted; %s" % _resume_hint(downloader, info), EXIT_ABORTED) from None
    doc = {"flight": info.flight, "path": result.path, "size_bytes": len(result.data),
           "sha256": result.identity.sha256.hex(), "resumed_from": result.held_at_start,
           "fetched_bytes": result.stats.new_bytes + result.stats.duplicate_bytes,
           "seconds": round(result.seconds, 3), "stats": result.stats.as_dict()}
    say("flight %d: %s bytes, CRC-32 and SHA-256 verified -> %s" % (
        info.flight, f"{len(result.data):,}", result.path))
    if keep is not None:
        keep(info, result.path, doc, say, result.data)
    try:
        ff = flightfile.parse(result.data)
    except flightfile.FlightFileError as exc:
        print("warning: flight %d is not a readable flight log: %s" % (info.flight, exc),
              file=sys.stderr)
        return EXIT_OK, doc
    say(ff.summary())
    for problem in ff.problems():
        print("warning: flight %d: %s" % (info.flight, problem), file=sys.stderr)
    doc.update({"apogee_m": ff.apogee_m,
                "events": [{"name": e.name, "t_s": e.t_s, "altitude_m": e.altitude_m}
                           for e in ff.events],
                "bad_records": [{"offset": b.offset, "index": b.index} for b in ff.bad_records]})
    return EXIT_OK, doc


def _png_for(args, flight_number):
    """--png's file for one flight: as given, or with the flight's number in it for --all."""
    if not args.all:
        return args.png
    stem, ext = os.path.splitext(args.png)
    return "%s-flight-%04d%s" % (stem, flight_number, ext or ".png")


def _beside_prediction(args, spec, doc, say):
    """The downloaded flight analysed, the rocket file's prediction set beside it, and the
    picture drawn; trouble reading or drawing it is a warning, as the download itself stands."""
    from ground.commands.analyze import predicted_vs_measured, write_overlay
    from ground.flight import FlightFormatError, analyze, load
    from ground.flight.plot import PlotError

    number = doc["flight"]
    try:
        analysis = analyze(load(doc["path"]))
    except (FlightFormatError, OSError) as exc:
        print("warning: flight %d cannot be analysed: %s" % (number, exc), file=sys.stderr)
        return
    prediction = None
    if spec is not None:
        try:
            prediction = predicted_vs_measured(analysis, spec)
        except CliError as exc:
            print("warning: flight %d: %s" % (number, exc), file=sys.stderr)
        else:
            doc["predicted"] = prediction.to_dict()
            for line in prediction.lines():
                say(line)
    if args.png:
        png = _png_for(args, number)
        try:
            write_overlay(analysis, prediction, png, *args.png_size)
        except (PlotError, OSError) as exc:
            print("warning: flight %d: cannot draw %s: %s" % (
                number, png, getattr(exc, "strerror", None) or exc), file=sys.stderr)
        else:
            doc["png"] = png
            say("drawn into %s" % png)


def cmd_download(args):
    from ground.commands.library import DownloadKeeper
    from ground.download import Downloader, output_folder_problem
    from ground.flight.library import resolve_root

    keeper = None
    out_dir = args.output
    spec = None
    if args.rocket:
        from ground.commands.analyze import load_rocket_file

        spec = load_rocket_file(args.rocket)
    # every folder checked before the port is opened; made only once a flight is coming
    problem = output_folder_problem(out_dir)
    if problem:
        raise CliError("-o %s: %s" % (out_dir, problem))
    if not args.no_library:
        problem = output_folder_problem(resolve_root(args.library))
        if problem:
            raise CliError("the flight library %s: %s (--no-library downloads without it)"
                           % (resolve_root(args.library), problem))
    if args.png:
        folder = os.path.dirname(os.path.abspath(args.png))
        if not os.path.isdir(folder):
            raise CliError("--png %s: no folder %s to write it in" % (args.png, folder))
    client = _open_client(args)
    try:
        infos = client.flight_list()
        if args.all:
            chosen = infos
            if not infos and not args.json:
                print("no flights stored on %s" % client.info.board_name)
        elif args.flight is not None:
            chosen = [i for i in infos if i.flight == args.flight]
            if not chosen:
                raise CliError("no flight %d on the device (it has: %s)"
                               % (args.flight, _numbers(infos)))
        elif infos:
            chosen = [max(infos, key=lambda i: i.flight)]
        else:
            raise CliError("no flights stored on %s: nothing to download" % client.info.board_name)
        if chosen:
            try:
                os.makedirs(out_dir, exist_ok=True)
            except OSError as exc:
                raise CliError("-o %s: %s" % (out_dir, exc.strerror or exc)) from None
        downloader = Downloader(client, out_dir)
        if not args.no_library:
            keeper = DownloadKeeper(args.library, client.info.device_id)
        worst = EXIT_OK
        results = []
        say = (lambda _text: None) if args.json else print
        for info in chosen:
            code, doc = _download_one(downloader, info, say,
                                      keeper.keep if keeper is not None else None)
            if (spec is not None or args.png) and code == EXIT_OK:
                _beside_prediction(args, spec, doc, say)
            results.append(doc)
            worst = max(worst, code)
        if args.json:
            print(json.dumps({"device_id": bytes(client.info.device_id).hex(),
                              "library": keeper.root if keeper is not None else None,
                              "flights": results}))
        return max(worst, keeper.exit_code) if keeper is not None else worst
    finally:
        if keeper is not None:
            keeper.close()
        client.close()


def _png_size_arg(text):
    from ground.commands.analyze import parse_png_size

    return parse_png_size(text)


def _add_port_args(p):
    p.add_argument("--port", required=True, help="serial port or URL: /dev/ttyACM0, COM3, sim://, socket://host:port")
    p.add_argument("--baud", type=int, default=115200, help="line rate (default 115200)")
    p.add_argument("--key", metavar="HEX", help=KEY_HELP)
    p.add_argument("--timeout", type=_timeout_arg, default=3.0, help="seconds to wait for the device (default 3)")


def _session_arg(text):
    try:
        session = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r (e.g. 0xdeadbeef)" % text) from None
    if not 0 <= session <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError("a session nonce is 32 bits: 0..0xffffffff")
    return session


def _timeout_arg(text):
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 3600:  # also refuses nan
        raise argparse.ArgumentTypeError("%r: give seconds above 0 and at most 3600" % text)
    return seconds


def build_parser():
    parser = argparse.ArgumentParser(
        prog="coalwood",
        description="Coalwood launch controller: arm, count down, fire, and download altimeter flights.",
    )
    parser.add_argument("--version", action="version", version="coalwood %s (protocol %d)" % (__version__, C.PROTOCOL_VERSION))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("decode", help="decode protocol frames given as hex (debugging, third-party clients)")
    p.add_argument("hex", nargs="+", help="wire bytes in hex, frames ending with 00")
    p.add_argument("--receiver", choices=("ground", "device"), default="ground",
                   help="decode as this side would (default: ground, i.e. frames from a device)")
    p.add_argument("--session", type=_session_arg, default=0,
                   help="device session nonce, when decoding as the device")
    p.add_argument("--key", help="32-byte MAC key in hex, for keyed links")
    p.add_argument("--json", action="store_true", help="one JSON object for scripts")
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("ports", help="list serial ports, marking likely pad boxes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ports)

    p = sub.add_parser("status", help="the device, the key, the battery and each channel")
    _add_port_args(p)
    p.add_argument("--watch", action="store_true", help="keep it live (Ctrl-C to stop)")
    p.add_argument("--json", action="store_true", help="one JSON object per status")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("launch", help="check, confirm, arm, count down, fire, report")
    _add_port_args(p)
    p.add_argument("--channel", type=int, required=True, help="channel to fire (1-based)")
    p.add_argument("--countdown", type=int, default=5, help="seconds (default 5, the minimum)")
    p.add_argument("--short-countdown", action="store_true", help="allow a countdown under 5 s")
    p.add_argument("--pulse-ms", type=int, default=1000, help="fire pulse (default 1000 ms, at most 3000)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--override-continuity", action="store_true", help="arm without continuity (this launch only)")
    p.add_argument("--misfire-wait", type=int, default=60, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_launch)

    p = sub.add_parser("igniter-test", help="bench test: continuity and resistance, then optionally fire")
    _add_port_args(p)
    p.add_argument("--channel", type=int, required=True, help="channel (1-based)")
    p.add_argument("--fire", action="store_true", help="after the reading, fire into the igniter")
    p.add_argument("--pulse-ms", type=int, default=1000, help="longest fire (default 1000 ms)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_igniter_test)

    p = sub.add_parser("flights", help="list the altimeter flights stored on the device, or erase them",
                       description="List the flights stored on the device: number, flags "
                       "(COMPLETE: landed and closed; TORN: its last record was cut by a power "
                       "loss; CORRUPT: a record failed its checksum), size, apogee and the start "
                       "of its SHA-256. --erase removes flights for good, after confirmation.")
    _add_port_args(p)
    p.add_argument("--erase", metavar="N|all", help="erase flight N, or all flights (asks first)")
    p.add_argument("--yes", action="store_true", help="erase without asking")
    p.add_argument("--json", action="store_true", help="one JSON object for scripts")
    p.set_defaults(func=cmd_flights)

    p = sub.add_parser("download", help="download altimeter flights, verified, resumable",
                       description="Download flights from the device into DIR as "
                       "flight-NNNN-<device id in hex>.cwf (for example flight-0003-"
                       "f0ca8cc2b65089dd.cwf), each checked against the device's CRC-32 and "
                       "SHA-256 and written whole or not at all. An interrupted download is "
                       "kept as <name>.cwf.part: running the same command again resumes it. "
                       "Each verified flight is also added to the local flight library "
                       "(`coalwood library`; --no-library skips it). "
                       "Exit status: 0 done, 3 no such flight or bad option, 4 the device "
                       "refused (armed or logging), 5 the port failed or went silent, "
                       "7 a download failed its checksums (discarded), 130 interrupted.")
    _add_port_args(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--flight", type=int, metavar="N", help="the flight to download (default: the newest)")
    which.add_argument("--all", action="store_true", help="every stored flight (skips those already in DIR)")
    p.add_argument("-o", "--output", metavar="DIR", default=".", help="where the files go (default: here)")
    p.add_argument("--json", action="store_true", help="one JSON object for scripts, at the end (errors and warnings still go to stderr)")
    p.add_argument("--library", metavar="DIR", help="the flight library each download is added to (default: $COALWOOD_LIBRARY, else coalwood's user data folder)")
    p.add_argument("--no-library", action="store_true", help="do not add the downloads to the flight library")
    p.add_argument("--rocket", metavar="FILE.json", help="a rocket file (coalwood predict --save-rocket): each flight's apogee, time to apogee and max speed are set beside the model's prediction for it")
    p.add_argument("--png", metavar="OUT.png", help="plot each flight into a PNG, the prediction drawn over it with --rocket (with --all: OUT-flight-NNNN.png for each)")
    p.add_argument("--png-size", metavar="WxH", default="1200x900", type=_png_size_arg, help="the PNG's size in pixels (default 1200x900)")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser(
        "demo", help="a simulated launch end to end, no hardware needed",
        description="Rehearse a launch on a simulated pad: check, arm, count down, fire; the "
        "simulated rocket flies, the altimeter logs it (live altitude shown), then the flight "
        "is downloaded, verified and summed up beside what the simulation says happened.")
    p.add_argument("--seed", type=int, default=1, help="repeatable noise and faults (default 1)")
    p.add_argument("--countdown", type=int, default=5, help=argparse.SUPPRESS)
    p.add_argument("--motor", default="H128W",
                   help="bundled motor in the sample rocket: C6, H128W (default), J350W")
    p.add_argument("--speed", type=float, default=10.0,
                   help="the flight runs this many times real time (default 10)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="keep the downloaded flight here (default: a temporary folder)")
    p.set_defaults(func=cmd_demo)

    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)

    try:
        from ground.sim.pty_server import add_sim_parser
    except ImportError:  # the pty simulator needs POSIX terminals (tty): not on Windows
        add_sim_parser = None
    if add_sim_parser is not None:
        add_sim_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    try:
        return args.func(args)
    except CliError as exc:
        print("coalwood: error: %s" % exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("coalwood: interrupted", file=sys.stderr)
        return EXIT_ABORTED
    except BrokenPipeError:
        # whoever read stdout went away (`coalwood ... | head`): stop quietly, as cat does,
        # and send what is still buffered nowhere, or exiting would fail on it again
        import contextlib

        with contextlib.suppress(OSError, ValueError, AttributeError):  # not a file (tests)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE: what a shell reports for a program a closed pipe stopped
    except Exception as exc:  # typed failures from the link and the device: one line each
        from ground.client import DeviceError
        from ground.launch import Aborted
        from ground.link import LinkError

        if isinstance(exc, Aborted):
            print("coalwood: aborted: the pad is SAFE", file=sys.stderr)
            return EXIT_ABORTED
        if isinstance(exc, LinkError):
            print("coalwood: error: %s" % exc, file=sys.stderr)
            return EXIT_LINK
        if isinstance(exc, DeviceError):
            print("coalwood: error: %s" % exc, file=sys.stderr)
            return EXIT_DEVICE
        raise


if __name__ == "__main__":
    sys.exit(main())
