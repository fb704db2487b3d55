"""`coalwood library`: the local flight library (ground/flight/library.py) from the command line.

    list, show ID, export ID -o PATH, note ID [TEXT] [--motor NAME] [--date DATE],
    remove ID [--yes], add FILE..., verify, rebuild

ID is the library's number for a flight (`3` or `#3`) or the start of its SHA-256 (at least
four hex digits). Human output by default; `--json` prints one JSON object for scripts.
`DownloadKeeper` is how `coalwood download` adds what it fetched.
"""

import argparse
import functools
import hashlib
import json
import os
import sys

from ground.cli_common import EXIT_BAD_INPUT, EXIT_CORRUPT, EXIT_OK, CliError

NOTES_COLUMN_CHARS = 40


def _library_module():
    from ground.flight import library

    return library


def _cli_errors(func):
    """LibraryError -> one line: damage exits 7 (as a failed checksum does), the rest 3."""

    @functools.wraps(func)
    def run(args):
        lib = _library_module()
        try:
            return func(args)
        except (lib.LibraryCorrupt, lib.BlobDamaged) as exc:
            raise CliError(str(exc), EXIT_CORRUPT) from None
        except lib.LibraryError as exc:
            raise CliError(str(exc), EXIT_BAD_INPUT) from None
        except ValueError as exc:  # a malformed --date
            raise CliError(str(exc), EXIT_BAD_INPUT) from None

    return run


def _root(args):
    return _library_module().resolve_root(getattr(args, "library", None))


def _open(args, create=False):
    """The library of --library / $COALWOOD_LIBRARY / the default; None when reading one
    that does not exist yet (reading never makes folders)."""
    lib = _library_module()
    root = _root(args)
    if os.path.exists(root) and not os.path.isdir(root):
        raise CliError("the flight library %s is a file, not a folder: give --library DIR"
                       % root)
    if not create and not lib.Library.exists(root):
        return None
    return lib.Library(root, create=create)


def _open_existing(args):
    library = _open(args)
    if library is None:
        raise CliError("there is no flight library at %s yet (a download adds to it, or "
                       "`coalwood library add FILE`)" % _root(args))
    return library


def _emit(doc):
    print(json.dumps(doc))


def _size_text(size_bytes):
    return f"{size_bytes:,} B"


def _apogee_text(apogee_m):
    return "-" if apogee_m is None else "%.1f m" % apogee_m


def _what(entry):
    """A few words naming a flight: `flight 0 from sim-2ch, apogee 512.3 m`."""
    parts = []
    if entry.flight is not None:
        parts.append("flight %d" % entry.flight + (" from %s" % entry.board if entry.board else ""))
    else:
        parts.append("a %s file" % entry.format)
    if entry.apogee_m is not None:
        parts.append("apogee %.1f m" % entry.apogee_m)
    parts.append(_size_text(entry.size_bytes))
    return ", ".join(parts)


def _entry_doc(library, entry):
    doc = entry.as_json()
    doc["path"] = library.blob_path(entry)
    return doc


# --- list ----------------------------------------------------------------------------------------
@_cli_errors
def cmd_list(args):
    library = _open(args)
    root = _root(args)
    entries = [] if library is None else library.entries()
    if library is not None:
        library.close()
    if args.json:
        _emit({"library": root, "flights": [e.as_json() for e in entries]})
        return EXIT_OK
    if not entries:
        print("no flights in the library at %s" % root)
        return EXIT_OK
    print("%d flight%s in the library at %s" % (len(entries), "" if len(entries) == 1 else "s",
                                                root))
    print("%5s  %-16s  %-12s %6s %10s  %-10s %12s  %-12s  %s" % (
        "id", "added (UTC)", "board", "flight", "apogee", "motor", "size", "sha256", "notes"))
    for e in entries:
        notes = (e.notes or "").replace("\n", " ")
        if len(notes) > NOTES_COLUMN_CHARS:
            notes = notes[:NOTES_COLUMN_CHARS - 3] + "..."
        print("%5s  %-16s  %-12s %6s %10s  %-10s %12s  %-12s  %s" % (
            e.label, e.added_utc[:16].replace("T", " "), e.board or "-",
            "-" if e.flight is None else e.flight, _apogee_text(e.apogee_m), e.motor or "-",
            _size_text(e.size_bytes), e.sha256[:12], notes))
    return EXIT_OK


# --- show ----------------------------------------------------------------------------------------
_SHOW_ROWS = (("id", "id"), ("sha256", "SHA-256"), ("size_bytes", "size"), ("format", "format"),
              ("device_id", "device id"), ("board", "board"), ("firmware", "firmware"),
              ("flight", "flight"), ("added_utc", "added (UTC)"), ("flight_date", "flight date"),
              ("apogee_m", "apogee"), ("motor", "motor"), ("notes", "notes"),
              ("source", "source"))


@_cli_errors
def cmd_show(args):
    from ground import flightfile

    lib = _library_module()
    library = _open_existing(args)
    try:
        entry = library.find(args.id)
        doc = _entry_doc(library, entry)
        damage = None
        try:
            data = library.read(entry)
        except lib.BlobDamaged as exc:
            data, damage = None, str(exc)
    finally:
        library.close()
    summary, problems = None, []
    if data is not None and entry.format == "cwf":
        try:
            ff = flightfile.parse(data)
            summary, problems = ff.summary(), ff.problems()
        except flightfile.FlightFileError as exc:
            problems = ["not a readable flight log: %s" % exc]
    doc.update(summary=summary, problems=problems, intact=damage is None)
    if args.json:
        _emit(doc)
    else:
        for field, title in _SHOW_ROWS:
            value = getattr(entry, field)
            if field == "size_bytes":
                value = f"{value:,} bytes"
            elif field == "apogee_m":
                value = None if value is None else "%.1f m" % value
            elif field == "id":
                value = entry.label
            print("%-12s %s" % (title + ":", "-" if value in (None, "") else value))
        print("%-12s %s" % ("stored at:", doc["path"]))
        if summary:
            print(summary)
        for problem in problems:
            print("warning: %s" % problem, file=sys.stderr)
    if damage is not None:
        raise CliError(damage, EXIT_CORRUPT)
    return EXIT_OK


# --- export --------------------------------------------------------------------------------------
@_cli_errors
def cmd_export(args):
    library = _open_existing(args)
    try:
        entry = library.find(args.id)
        path = library.export(entry, args.output, overwrite=args.force)
    finally:
        library.close()
    if args.json:
        _emit({"id": entry.id, "sha256": entry.sha256, "size_bytes": entry.size_bytes,
               "path": os.path.abspath(path)})
    else:
        print("%s -> %s (%s, SHA-256 checked)" % (entry.label, path,
                                                  f"{entry.size_bytes:,} bytes"))
    return EXIT_OK


# --- note ----------------------------------------------------------------------------------------
@_cli_errors
def cmd_note(args):
    changes = {}
    if args.text is not None:
        changes["notes"] = args.text
    if args.motor is not None:
        changes["motor"] = args.motor
    if args.date is not None:
        changes["flight_date"] = args.date
    if not changes:
        raise CliError("give the note's text, --motor NAME or --date YYYY-MM-DD (\"\" clears)")
    library = _open_existing(args)
    try:
        entry = library.update(library.find(args.id), **changes)
        doc = _entry_doc(library, entry)
    finally:
        library.close()
    if args.json:
        _emit(doc)
    else:
        said = {"notes": "notes", "motor": "motor", "flight_date": "flight date"}
        print("%s: %s" % (entry.label, ", ".join(
            "%s %s" % (said[k], repr(getattr(entry, k)) if getattr(entry, k) else "cleared")
            for k in changes)))
    return EXIT_OK


# --- remove --------------------------------------------------------------------------------------
def _confirm(prompt, assume_yes, to_stderr):
    if assume_yes:
        return True
    out = sys.stderr if to_stderr else sys.stdout  # with --json, stdout is the JSON alone
    print(prompt + " [y/N] ", end="", file=out, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


@_cli_errors
def cmd_remove(args):
    library = _open_existing(args)
    try:
        entry = library.find(args.id)
        prompt = ("Remove %s (%s, added %s) from the library at %s? Its stored bytes are "
                  "deleted: export them first to keep a copy." % (
                      entry.label, _what(entry), entry.added_utc, library.root))
        if not _confirm(prompt, args.yes, args.json):
            if args.json:
                _emit({"removed": None})
            else:
                print("nothing removed")
            return EXIT_OK
        library.remove(entry)
    finally:
        library.close()
    if args.json:
        _emit({"removed": entry.as_json()})
    else:
        print("removed %s (%s)" % (entry.label, _what(entry)))
    return EXIT_OK


# --- add -----------------------------------------------------------------------------------------
@_cli_errors
def cmd_add(args):
    lib = _library_module()
    if args.date is not None:
        lib.check_flight_date(args.date)
    # every file read and checked first: a bad one makes no library and adds nothing
    files = [(path, *lib.read_flight_file(path)) for path in args.files]
    library = _open(args, create=True)
    results = []
    try:
        for path, data, damage in files:
            name = os.path.basename(path)
            r = library.add(data, source=name, name=name, motor=args.motor, notes=args.notes,
                            flight_date=args.date)
            results.append((path, r))
            if damage:
                print("coalwood: warning: %s is damaged: %s%s; kept exactly as it is" % (
                    path, damage[0],
                    "" if len(damage) == 1 else " (and %d more)" % (len(damage) - 1)),
                    file=sys.stderr)
            if args.json:
                continue
            if r.added:
                print("%s: added as %s (%s)" % (path, r.entry.label, _what(r.entry)))
            else:
                print("%s: already in the library as %s%s" % (
                    path, r.entry.label,
                    "; its damaged stored bytes were restored" if r.repaired else ""))
    finally:
        library.close()
    if args.json:
        _emit({"library": library.root, "flights": [
            dict(r.entry.as_json(), file=path, added=r.added, repaired=r.repaired)
            for path, r in results]})
    return EXIT_OK


# --- verify --------------------------------------------------------------------------------------
@_cli_errors
def cmd_verify(args):
    library = _open(args)
    if library is None:
        report = None
    else:
        try:
            report = library.verify()
        finally:
            library.close()
    root = _root(args)
    bad = bool(report and (report.problems or report.index_problems))
    if args.json:
        _emit({"library": root, "checked": report.checked if report else 0, "ok": not bad,
               "problems": [{"id": p.entry.id, "sha256": p.entry.sha256, "path": p.path,
                             "problem": p.problem} for p in report.problems] if report else [],
               "unindexed": report.unindexed if report else [],
               "index_problems": report.index_problems if report else []})
        return EXIT_CORRUPT if bad else EXIT_OK
    if report is None:
        print("no flights in the library at %s: nothing to verify" % root)
        return EXIT_OK
    for p in report.problems:
        why = ("its file is missing" if p.problem == "missing"
               else "its bytes no longer match its SHA-256" if p.problem == "damaged"
               else p.problem)
        print("%s %s: %s (%s)" % (p.entry.label, p.problem.split(":")[0].upper(), why, p.path))
    for line in report.index_problems:
        print("index: %s" % line)
    for path in report.unindexed:
        print("not in the index: %s (`coalwood library add` it to index it)" % path)
    if bad:
        print("%d of %d flights damaged or missing; nothing was deleted. Add the original file "
              "again (`coalwood library add FILE`) to restore a flight's bytes%s" % (
                  len(report.problems), report.checked,
                  "; `coalwood library rebuild` makes a new index" if report.index_problems
                  else ""))
        return EXIT_CORRUPT
    print("%d flight%s checked: every one intact" % (report.checked,
                                                     "" if report.checked == 1 else "s"))
    return EXIT_OK


# --- rebuild -------------------------------------------------------------------------------------
@_cli_errors
def cmd_rebuild(args):
    lib = _library_module()
    root = _root(args)
    if not os.path.isdir(root):  # nothing to rebuild: a typo must not make a library
        raise CliError("there is no flight library at %s%s" % (
            root, " (it is a file)" if os.path.exists(root) else ""))
    library, report = lib.Library.rebuild(root)
    library.close()
    if args.json:
        _emit({"library": library.root, "moved_aside": report.moved_aside,
               "indexed": report.indexed, "kept_metadata": report.kept_metadata,
               "damaged": report.damaged})
    else:
        if report.moved_aside:
            print("the old index was moved to %s" % report.moved_aside)
        print("%d flight%s indexed (%d with their notes, motor and date kept)" % (
            report.indexed, "" if report.indexed == 1 else "s", report.kept_metadata))
        for path in report.damaged:
            print("DAMAGED, not indexed: %s (add the original file again to restore it)" % path)
    return EXIT_CORRUPT if report.damaged else EXIT_OK


# --- for `coalwood download` ---------------------------------------------------------------------
class DownloadKeeper:
    """Adds each verified download to the library. A library that fails is reported, and
    never costs the download: the file stays where the download put it."""

    def __init__(self, root_option, device_id):
        self.root = _library_module().resolve_root(root_option)
        self.device_id = bytes(device_id)
        self.exit_code = EXIT_OK
        self._library = None

    def keep(self, info, path, doc, say, data=None):
        lib = _library_module()
        try:
            if data is None:
                with open(path, "rb") as f:
                    data = f.read()
            if hashlib.sha256(data).digest() != bytes(info.sha256):
                raise lib.LibraryError("%s changed since it was verified" % path)
            if self._library is None:
                self._library = lib.Library(self.root)
            result = self._library.add(data, source="downloaded", device_id=self.device_id,
                                       name=os.path.basename(path))
        except (lib.LibraryError, OSError) as exc:
            code = EXIT_CORRUPT if isinstance(exc, lib.LibraryCorrupt) else EXIT_BAD_INPUT
            self.exit_code = max(self.exit_code, code)
            doc["library_error"] = str(exc)
            print("coalwood: error: flight %d is kept in %s but was not added to the library: "
                  "%s" % (info.flight, path, exc), file=sys.stderr)
            return
        doc["library_id"] = result.entry.id
        doc["library_added"] = result.added
        say("flight %d: %s as %s" % (info.flight, "added to the library" if result.added
                                     else "already in the library", result.entry.label))

    def close(self):
        if self._library is not None:
            self._library.close()
            self._library = None


def add_library_option(parser):
    parser.add_argument("--library", metavar="DIR",
                        help="the flight library's folder (default: $COALWOOD_LIBRARY, else "
                        "coalwood's folder in your user data folder)")


# --- the parser ----------------------------------------------------------------------------------
def add_parser(subparsers):
    common = argparse.ArgumentParser(add_help=False)
    add_library_option(common)
    common.add_argument("--json", action="store_true", help="one JSON object for scripts")

    p = subparsers.add_parser(
        "library", help="the local flight library: every downloaded flight, byte for byte",
        description="The local flight library: each flight's bytes exactly as downloaded and "
        "verified, stored once under their SHA-256 and never modified, with an index (board, "
        "flight, apogee, motor, notes). `coalwood download` adds to it. ID is the number "
        "`list` shows (3 or #3) or the start of the flight's SHA-256. Exit status: 0 done, "
        "3 bad input or no such flight, 7 stored bytes or the index are damaged.")
    sub = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)

    q = sub.add_parser("list", parents=[common], help="every flight in the library")
    q.set_defaults(func=cmd_list)

    q = sub.add_parser("show", parents=[common], help="one flight's details and summary")
    q.add_argument("id", metavar="ID")
    q.set_defaults(func=cmd_show)

    q = sub.add_parser("export", parents=[common],
                       help="write a flight's bytes, exactly as downloaded, to a file")
    q.add_argument("id", metavar="ID")
    q.add_argument("-o", "--output", metavar="PATH", required=True,
                   help="the file to write (a folder: the flight's own name in it)")
    q.add_argument("--force", action="store_true", help="replace PATH if it exists")
    q.set_defaults(func=cmd_export)

    q = sub.add_parser("note", parents=[common], help="set a flight's notes, motor or date")
    q.add_argument("id", metavar="ID")
    q.add_argument("text", metavar="TEXT", nargs="?", help="the notes (\"\" clears them)")
    q.add_argument("--motor", metavar="NAME", help="the motor flown, e.g. H128W")
    q.add_argument("--date", metavar="YYYY-MM-DD", help="when it flew")
    q.set_defaults(func=cmd_note)

    q = sub.add_parser("remove", parents=[common],
                       help="remove a flight and its stored bytes (asks first)")
    q.add_argument("id", metavar="ID")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    q.set_defaults(func=cmd_remove)

    q = sub.add_parser("add", parents=[common],
                       help="import flight files by hand (a file already there is found)")
    q.add_argument("files", metavar="FILE", nargs="+")
    q.add_argument("--motor", metavar="NAME", help="the motor flown")
    q.add_argument("--notes", metavar="TEXT")
    q.add_argument("--date", metavar="YYYY-MM-DD", help="when it flew")
    q.set_defaults(func=cmd_add)

    q = sub.add_parser("verify", parents=[common],
                       help="hash every stored flight again and report damage (deletes nothing)")
    q.set_defaults(func=cmd_verify)

    q = sub.add_parser("rebuild", parents=[common],
                       help="after damage to the index: move it aside and index the flights again")
    q.set_defaults(func=cmd_rebuild)
