"""The `coalwood` command line.

Human output by default, `--json` where scripts need it; errors are one
clear line on stderr and a non-zero exit, never a traceback.
"""

import argparse
import binascii
import json
import sys

from ground import __version__
from protocol import ROLE_DEVICE, ROLE_GROUND, Connection, RemoteProtocolError
from protocol import constants as C
from protocol import messages as M
from protocol.connection import ERROR_NAMES

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3


class CliError(Exception):
    """A user-facing error: printed as one line, exits with `code`."""

    def __init__(self, message, code=EXIT_BAD_INPUT):
        super().__init__(message)
        self.code = code


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
    key = _parse_hex(args.key) if args.key else None
    if key is not None and len(key) != 32:
        raise CliError("--key must be 32 bytes (64 hex digits), got %d bytes" % len(key))
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
        if not results:
            print("no complete frame (a frame ends with a 00 byte)")
    return EXIT_OK if any("type" in r for r in results) else EXIT_BAD_INPUT


def _plain(message):
    out = {}
    for k, v in message.as_dict().items():
        if isinstance(v, list):
            v = [x.as_dict() for x in v]
        out[k] = v
    return out


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
    p.add_argument("--session", type=lambda s: int(s, 0), default=0,
                   help="device session nonce, when decoding as the device")
    p.add_argument("--key", help="32-byte MAC key in hex, for keyed links")
    p.add_argument("--json", action="store_true", help="one JSON object for scripts")
    p.set_defaults(func=cmd_decode)
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
        return 130


if __name__ == "__main__":
    sys.exit(main())
