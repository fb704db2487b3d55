"""The local flight library: every flight's bytes exactly as downloaded, and an index.

    <root>/index.sqlite3                     one row per flight (sqlite3, schema versioned)
    <root>/blobs/ab/abcd...ef.cwf            the bytes, named by their SHA-256, read-only

A flight is stored once, under the SHA-256 of its bytes: adding the same bytes again finds
the entry already there. Blobs are written whole or not at all (a temporary file, fsync,
rename) and never rewritten, except to restore the exact bytes their name promises after
damage on disk. Every change to the index and to the blobs happens inside one write
transaction (BEGIN IMMEDIATE), so processes adding and removing at once see each other's
work whole and never a row without its blob.

The root is `--library DIR`, else $COALWOOD_LIBRARY, else platformdirs' user data folder
for coalwood with `flights` under it. An index that cannot be read is reported, never
replaced: `rebuild()` moves it aside and indexes the blobs again.
"""

import contextlib
import datetime
import hashlib
import os
import re
import secrets
import shlex
import sqlite3
from collections import namedtuple

from ground import flightfile
from ground.atomic import fsync_dir, write_whole
from ground.cli_common import one_line
from ground.flight.output import write_file

ENV_VAR = "COALWOOD_LIBRARY"
INDEX_NAME = "index.sqlite3"
BLOBS_DIR = "blobs"
SCHEMA_VERSION = 1
# long enough for another process's add (one flight's write and fsync) to finish
BUSY_TIMEOUT_S = 30.0
MIN_PREFIX_HEX = 4
READ_BLOCK_BYTES = 1 << 16
_INDEX_SIDE_FILES = ("-journal", "-wal", "-shm")

_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    # AUTOINCREMENT: the id of a removed flight is never given to another one
    "CREATE TABLE flights ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " sha256 TEXT NOT NULL UNIQUE,"
    " size_bytes INTEGER NOT NULL,"
    " format TEXT NOT NULL,"
    " device_id TEXT,"
    " board TEXT,"
    " firmware TEXT,"
    " flight INTEGER,"
    " added_utc TEXT NOT NULL,"
    " flight_date TEXT,"
    " apogee_m REAL,"
    " motor TEXT,"
    " notes TEXT,"
    " source TEXT NOT NULL)",
)

FIELDS = ("id", "sha256", "size_bytes", "format", "device_id", "board", "firmware", "flight",
          "added_utc", "flight_date", "apogee_m", "motor", "notes", "source")
_COLUMNS = ", ".join(FIELDS)


class Entry(namedtuple("Entry", FIELDS)):
    """One flight in the index. `added_utc` is when it was downloaded or imported."""

    __slots__ = ()

    def as_json(self):
        return self._asdict()

    @property
    def label(self):
        return "#%d" % self.id


AddResult = namedtuple("AddResult", "entry added repaired")
BlobProblem = namedtuple("BlobProblem", "entry path problem")  # problem: missing | damaged
VerifyReport = namedtuple("VerifyReport", "checked problems unindexed index_problems")
RebuildReport = namedtuple("RebuildReport", "moved_aside indexed kept_metadata damaged")


class LibraryError(Exception):
    """A failure a user must read: one line, with what to do."""


class LibraryCorrupt(LibraryError):
    """The index cannot be read, or is missing while flights are stored."""


class NotInLibrary(LibraryError):
    pass


class BlobDamaged(LibraryError):
    """A flight's stored bytes are missing or no longer match their SHA-256."""


class NotAFlightFile(LibraryError):
    """A file imported by hand that cannot be read, or that no flight-log reader knows.
    The message names the file; `why` is the reason alone, for a line that names it
    another way."""

    def __init__(self, message, why):
        super().__init__(message)
        self.why = why


def default_root():
    from platformdirs import user_data_path

    return os.path.join(user_data_path("coalwood", appauthor=False), "flights")


def resolve_root(option=None):
    """The library folder: the --library option, else $COALWOOD_LIBRARY, else the default."""
    if option:
        return os.path.abspath(os.path.expanduser(option))
    env = os.environ.get(ENV_VAR)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    return default_root()


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def utc_now_iso():
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_flight_date(text):
    """A flight date as given (YYYY-MM-DD or an ISO date and time); ValueError otherwise."""
    text = text.strip()
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        try:
            datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("not a date: %r (use YYYY-MM-DD)" % text) from None
    return text


def read_flight_file(path):
    """(bytes, damage) of a flight file someone imports by hand, checked before anything is
    stored: NotAFlightFile (one line) when it cannot be read or no flight-log reader
    (ground/flight/formats) understands it. `damage` lists what in a .cwf failed its
    checksums or was cut short ([] for a clean file): such a file is still a flight, and
    the library keeps it exactly as it is."""
    from ground.flight.formats import parse, read_log_bytes

    name = os.path.basename(path)
    try:
        data = read_log_bytes(path)
    except OSError as exc:
        why = exc.strerror or one_line(exc)
        raise NotAFlightFile("cannot read %s: %s" % (path, why), "cannot read it: " + why) from None
    except ValueError as exc:  # FlightFormatError: a device, a pipe, far too big
        why = one_line(exc)
        raise NotAFlightFile("%s: %s" % (path, why), why) from None
    try:
        flight = parse(data, source=os.fspath(path))
    except (ValueError, ArithmeticError, IndexError) as exc:
        # FlightFormatError, or a reader tripped by bytes it half recognised: one line
        why = one_line(exc)
        raise NotAFlightFile("%s is not a flight log: %s" % (name, why), why) from None
    return data, list(flight.metadata.get("damage") or ())


_DOWNLOAD_NAME = re.compile(r"flight-\d{4,}-([0-9a-f]{2,64})\.cwf$")


def describe(data, name=None):
    """What the bytes say about themselves: a dict of format, board, firmware, flight,
    apogee_m (None where unknown). `name` (a file name) gives the format of non-.cwf bytes."""
    meta = {"format": None, "board": None, "firmware": None, "flight": None, "apogee_m": None}
    if data[:len(flightfile.MAGIC)] == flightfile.MAGIC:
        meta["format"] = "cwf"
        try:
            ff = flightfile.parse(data)
        except flightfile.FlightFileError:
            return meta
        h = ff.header
        if h.crc_ok:  # a header failing its checksum may hold any board name or number
            meta.update(board=h.board, firmware="%d.%d.%d" % h.firmware, flight=h.flight)
        meta["apogee_m"] = ff.apogee_m
        return meta
    ext = os.path.splitext(name or "")[1].lstrip(".").lower()
    meta["format"] = ext if re.fullmatch(r"[a-z0-9]{1,10}", ext) else "bin"
    return meta


def device_id_from_name(name):
    """The board id in a downloaded file's name (flight-0003-<id in hex>.cwf), or None."""
    m = _DOWNLOAD_NAME.search(os.path.basename(name or ""))
    return m.group(1) if m else None


def _hash_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(READ_BLOCK_BYTES), b""):
            h.update(block)
    return h.hexdigest()


class Library:
    """A flight library at `root`. create=False: an absent library is an error
    (`exists()` says whether there is one), so reading never makes folders."""

    def __init__(self, root, create=True):
        self.root = os.path.abspath(root)
        self.index_path = os.path.join(self.root, INDEX_NAME)
        self.blobs_dir = os.path.join(self.root, BLOBS_DIR)
        self._conn = None
        if not create and not self.exists(self.root):
            raise NotInLibrary("there is no flight library at %s" % self.root)
        if create:
            try:
                os.makedirs(self.root, exist_ok=True)
            except OSError as exc:
                raise LibraryError("cannot make the library folder %s: %s"
                                   % (self.root, exc.strerror or exc)) from None
        if os.path.exists(self.index_path):
            if not os.access(self.index_path, os.R_OK):
                raise LibraryError("cannot read the library index %s: permission denied"
                                   % self.index_path)
        else:
            stored = stored_blobs(self.blobs_dir)
            if stored:
                raise LibraryCorrupt(self._lost_text(stored))
        self._open()

    @staticmethod
    def exists(root):
        return (os.path.exists(os.path.join(root, INDEX_NAME))
                or os.path.isdir(os.path.join(root, BLOBS_DIR)))

    # --- the index -------------------------------------------------------------------------------
    def _open(self):
        try:
            self._conn = sqlite3.connect(self.index_path, timeout=BUSY_TIMEOUT_S,
                                         isolation_level=None)
        except sqlite3.Error as exc:
            raise self._translate(exc) from None
        try:
            with self._reading():
                self._conn.execute("PRAGMA synchronous=FULL")
            version = self._schema_version()
            if version is None:
                with self._write():
                    # another process may have made it between the look and the lock
                    version = self._schema_version()
                    if version is None:
                        self._create_schema()
                        version = SCHEMA_VERSION
            if version != SCHEMA_VERSION:
                raise LibraryError(
                    "the library index %s has schema version %s; this coalwood reads version "
                    "%d (a newer coalwood made it?)" % (self.index_path, version, SCHEMA_VERSION))
        except BaseException:
            self.close()
            raise

    def _schema_version(self):
        with self._reading():
            tables = {r[0] for r in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "schema_version" not in tables:
                if tables - {"sqlite_sequence"}:
                    raise LibraryCorrupt(
                        "%s is an SQLite database but not a flight library index; give "
                        "--library another folder" % self.index_path)
                return None
            row = self._conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                raise LibraryCorrupt(self._damaged_text("its schema version is missing"))
            return row[0]

    def _create_schema(self):
        stored = stored_blobs(self.blobs_dir)
        if stored:
            # an empty index beside stored flights: it was lost or emptied; making a new
            # one here would silently forget every flight
            raise LibraryCorrupt(self._lost_text(stored))
        _create_tables(self._conn)

    def _lost_text(self, stored):
        return ("the library index %s is missing or empty but %d flight%s stored in %s; run "
                "`coalwood library rebuild --library %s` to index %s again"
                % (self.index_path, len(stored), " is" if len(stored) == 1 else "s are",
                   self.blobs_dir, shlex.quote(self.root), "it" if len(stored) == 1 else "them"))

    def _damaged_text(self, why):
        return ("the library index %s is damaged (%s); nothing was changed and the flights "
                "in %s are untouched: run `coalwood library rebuild --library %s` to move the "
                "damaged index aside and index them again"
                % (self.index_path, why, self.blobs_dir, shlex.quote(self.root)))

    def _translate(self, exc):
        """An sqlite3 error as the LibraryError a user can act on."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text \
                or "not a database" in text:
            return LibraryCorrupt(self._damaged_text(text))
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
            return LibraryError("the library index %s stayed locked by another coalwood for "
                                "%d s: try again when it has finished"
                                % (self.index_path, BUSY_TIMEOUT_S))
        if name.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_CANTOPEN")):
            return LibraryError("cannot write the library index %s (%s): check the folder's "
                                "permissions, or give --library another folder"
                                % (self.index_path, text))
        return LibraryError("the library index %s: %s" % (self.index_path, text))

    @contextlib.contextmanager
    def _reading(self):
        try:
            yield
        except sqlite3.Error as exc:
            raise self._translate(exc) from None

    @contextlib.contextmanager
    def _write(self):
        """One write transaction; the blobs it touches change under the same lock."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._translate(exc) from None
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._translate(exc) from None
            raise

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # --- blobs -----------------------------------------------------------------------------------
    def blob_path(self, entry_or_sha, fmt=None):
        if isinstance(entry_or_sha, Entry):
            sha, fmt = entry_or_sha.sha256, entry_or_sha.format
        else:
            sha = entry_or_sha
        return os.path.join(self.blobs_dir, sha[:2], "%s.%s" % (sha, fmt))

    def _blob_ok(self, path, sha):
        try:
            return _hash_file(path) == sha
        except FileNotFoundError:
            return False

    def _store_blob(self, path, data):
        try:
            write_whole(path, data, 0o444)
        except OSError as exc:
            raise LibraryError("cannot write %s: %s" % (path, exc.strerror or exc)) from None

    # --- adding ----------------------------------------------------------------------------------
    def add(self, data, source, device_id=None, name=None, motor=None, notes=None,
            flight_date=None):
        """Keep `data` (bytes already verified by the caller); returns an AddResult.

        Bytes already in the library give the existing entry (added=False); if its blob
        was missing or damaged, it is restored from these bytes (repaired=True).
        device_id: hex or bytes; name: the file name the bytes came from (sets the format of
        bytes that are not a .cwf, and the board id when it is a downloaded file's name).
        """
        data = bytes(data)
        if not data:
            raise LibraryError("an empty file is not a flight")
        sha = sha256_hex(data)
        meta = describe(data, name)
        if isinstance(device_id, bytes | bytearray):
            device_id = bytes(device_id).hex()
        if device_id is None and name is not None:
            device_id = device_id_from_name(name)
        if flight_date is not None:
            flight_date = check_flight_date(flight_date)
        with self._write() as conn:
            row = conn.execute("SELECT %s FROM flights WHERE sha256 = ?" % _COLUMNS,
                               (sha,)).fetchone()
            if row is not None:
                entry = Entry(*row)
                path = self.blob_path(entry)
                repaired = not self._blob_ok(path, sha)
                if repaired:
                    self._store_blob(path, data)
                return AddResult(entry, False, repaired)
            path = self.blob_path(sha, meta["format"])
            if not self._blob_ok(path, sha):  # a blob may outlive its row after a crash
                self._store_blob(path, data)
            cur = conn.execute(
                "INSERT INTO flights (sha256, size_bytes, format, device_id, board, firmware, "
                "flight, added_utc, flight_date, apogee_m, motor, notes, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sha, len(data), meta["format"], device_id, meta["board"], meta["firmware"],
                 meta["flight"], utc_now_iso(), flight_date, meta["apogee_m"], motor or None,
                 notes or None, source))
            entry = self._get(cur.lastrowid)
        return AddResult(entry, True, False)

    def add_file(self, path, **kw):
        """Import a file by hand; its name is the entry's source."""
        from ground.flight.formats import FlightFormatError, read_log_bytes

        try:
            data = read_log_bytes(path)  # a device or a pipe is refused, never read for ever
        except FlightFormatError as exc:
            raise LibraryError("%s: %s" % (path, exc)) from None
        except OSError as exc:
            raise LibraryError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
        name = os.path.basename(path)
        return self.add(data, source=name, name=name, **kw)

    # --- reading ---------------------------------------------------------------------------------
    def entries(self):
        with self._reading():
            rows = self._conn.execute("SELECT %s FROM flights ORDER BY id" % _COLUMNS).fetchall()
        return [Entry(*r) for r in rows]

    def _get(self, flight_id):
        row = self._conn.execute("SELECT %s FROM flights WHERE id = ?" % _COLUMNS,
                                 (flight_id,)).fetchone()
        return Entry(*row) if row else None

    def find(self, text):
        """The entry named by `text`: its id (`12` or `#12`) or a unique SHA-256 prefix."""
        t = str(text).strip().lstrip("#").lower()
        with self._reading():
            if t.isascii() and t.isdigit():
                entry = self._get(int(t))
                if entry is not None:
                    return entry
            if len(t) >= MIN_PREFIX_HEX and re.fullmatch(r"[0-9a-f]{1,64}", t):
                rows = self._conn.execute(
                    "SELECT %s FROM flights WHERE substr(sha256, 1, ?) = ? ORDER BY id LIMIT 6"
                    % _COLUMNS, (len(t), t)).fetchall()
                if len(rows) == 1:
                    return Entry(*rows[0])
                if rows:
                    raise NotInLibrary("%s is the start of the SHA-256 of %s%s: give more of it"
                                       % (t, ", ".join("#%d" % r[0] for r in rows[:5]),
                                          " and more" if len(rows) > 5 else ""))
        if t.isascii() and t.isdigit():
            also = ", and no SHA-256 starting %s," % t if len(t) >= MIN_PREFIX_HEX else ""
            raise NotInLibrary("no flight #%s%s in the library at %s" % (t, also, self.root))
        if re.fullmatch(r"[0-9a-f]+", t):
            if len(t) < MIN_PREFIX_HEX:
                raise NotInLibrary("give at least %d hex digits of a SHA-256, or an id"
                                   % MIN_PREFIX_HEX)
            raise NotInLibrary("no flight in the library at %s has a SHA-256 starting %s"
                               % (self.root, t))
        raise NotInLibrary("%r is not a library id (a number) or a SHA-256 prefix" % text)

    def read(self, entry):
        """The entry's bytes, checked against its SHA-256 first."""
        path = self.blob_path(entry)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise BlobDamaged("the stored bytes of %s (%s) are missing; add the original file "
                              "again to restore them" % (entry.label, path)) from None
        except OSError as exc:
            raise LibraryError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
        if sha256_hex(data) != entry.sha256:
            raise BlobDamaged("the stored bytes of %s (%s) no longer match their SHA-256 "
                              "(damaged on disk); add the original file again to restore them"
                              % (entry.label, path))
        return data

    def export(self, entry, dest, overwrite=False):
        """Write the entry's bytes, checked, to `dest` whole or not at all; returns dest."""
        data = self.read(entry)
        if os.path.isdir(dest):
            dest = os.path.join(dest, export_name(entry))
        if os.path.lexists(dest) and not overwrite:
            raise LibraryError("%s exists: give another path, or --force to replace it" % dest)
        try:
            write_file(os.path.abspath(dest), data)  # only into a folder that exists
        except OSError as exc:
            raise LibraryError("cannot write %s: %s" % (dest, exc.strerror or exc)) from None
        return dest

    # --- changing --------------------------------------------------------------------------------
    _UNCHANGED = object()

    def update(self, entry, notes=_UNCHANGED, motor=_UNCHANGED, flight_date=_UNCHANGED):
        """Set notes, motor and flight date (None or "" clears); returns the new entry."""
        changes = {}
        for column, value in (("notes", notes), ("motor", motor), ("flight_date", flight_date)):
            if value is self._UNCHANGED:
                continue
            if column == "flight_date" and value:
                value = check_flight_date(value)
            changes[column] = value or None
        with self._write() as conn:
            if changes:
                sets = ", ".join("%s = ?" % c for c in changes)
                cur = conn.execute("UPDATE flights SET %s WHERE id = ?" % sets,
                                   (*changes.values(), entry.id))
                if cur.rowcount != 1:
                    raise NotInLibrary("%s was removed from the library meanwhile" % entry.label)
            new = self._get(entry.id)
        if new is None:
            raise NotInLibrary("%s is not in the library" % entry.label)
        return new

    def remove(self, entry):
        """Forget the entry and delete its blob (callers ask the user first)."""
        path = self.blob_path(entry)
        with self._write() as conn:
            conn.execute("DELETE FROM flights WHERE id = ?", (entry.id,))
            # inside the transaction: an add of the same bytes waits, then writes a new blob
            with contextlib.suppress(FileNotFoundError):
                if os.name == "nt":
                    os.chmod(path, 0o644)
                os.remove(path)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(path))  # only when empty

    # --- checking --------------------------------------------------------------------------------
    def verify(self):
        """Hash every blob again; report, delete nothing. Returns a VerifyReport."""
        entries = self.entries()
        problems = []
        for entry in entries:
            path = self.blob_path(entry)
            try:
                good = _hash_file(path) == entry.sha256
            except FileNotFoundError:
                problems.append(BlobProblem(entry, path, "missing"))
                continue
            except OSError as exc:
                problems.append(BlobProblem(entry, path, "unreadable: %s" % (exc.strerror or exc)))
                continue
            if not good:
                problems.append(BlobProblem(entry, path, "damaged"))
        indexed = {self.blob_path(e) for e in entries}
        unindexed = [p for _sha, _fmt, p in stored_blobs(self.blobs_dir) if p not in indexed]
        with self._reading():
            checks = [r[0] for r in self._conn.execute("PRAGMA integrity_check")]
        index_problems = [] if checks == ["ok"] else checks
        return VerifyReport(len(entries), problems, unindexed, index_problems)

    # --- recovery --------------------------------------------------------------------------------
    @classmethod
    def rebuild(cls, root):
        """Index every intact blob again into a new index, keeping the ids, notes, motors,
        dates and sources of whatever rows the old index still yields; the old index is
        moved aside, never deleted. Returns (Library, RebuildReport)."""
        root = os.path.abspath(root)
        index_path = os.path.join(root, INDEX_NAME)
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as exc:
            raise LibraryError("cannot make the library folder %s: %s"
                               % (root, exc.strerror or exc)) from None
        found = stored_blobs(os.path.join(root, BLOBS_DIR))
        old_rows = _salvage_rows(index_path) if os.path.exists(index_path) else {}
        # built whole beside the old one, then renamed into place: another process sees the
        # old index, no index, or the whole new one
        new_path = "%s.rebuilding-%d-%s" % (index_path, os.getpid(), secrets.token_hex(4))
        damaged = []
        indexed = kept = 0
        try:
            conn = sqlite3.connect(new_path, isolation_level=None)
            try:
                conn.execute("BEGIN")
                _create_tables(conn)
                order = sorted(found, key=lambda b: (_old_id(old_rows.get(b[0])), b[0]))
                for sha, fmt, path in order:
                    try:
                        with open(path, "rb") as f:
                            data = f.read()
                    except OSError:
                        data = None
                    if data is None or sha256_hex(data) != sha:
                        damaged.append(path)  # left where it is: its original can restore it
                        continue
                    _insert_recovered(conn, sha, fmt, data, old_rows.get(sha))
                    indexed += 1
                    kept += sha in old_rows
                conn.execute("COMMIT")
            finally:
                conn.close()
            moved = None
            if os.path.exists(index_path):
                moved = "%s.damaged-%s" % (index_path, utc_now_iso().replace(":", ""))
                while os.path.exists(moved):
                    moved += "x"
                os.replace(index_path, moved)
            for side in _INDEX_SIDE_FILES:
                # a journal left beside the new index would be played back into it
                if os.path.exists(index_path + side):
                    os.replace(index_path + side, (moved or index_path + ".stale") + side)
            os.replace(new_path, index_path)
        except sqlite3.Error as exc:
            raise LibraryError("cannot build a new index at %s: %s" % (new_path, exc)) from None
        except OSError as exc:
            raise LibraryError("cannot rebuild the index in %s: %s"
                               % (root, exc.strerror or exc)) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(new_path)
        fsync_dir(root)
        return cls(root), RebuildReport(moved, indexed, kept, damaged)


def _create_tables(conn):
    """The index's tables, empty, at SCHEMA_VERSION (inside the caller's transaction)."""
    for statement in _SCHEMA:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))


def stored_blobs(blobs_dir):
    """[(sha256 hex, format, path)] of every blob file under blobs_dir, in name order."""
    out = []
    try:
        folders = sorted(os.listdir(blobs_dir))
    except FileNotFoundError:
        return out
    for folder in folders:
        sub = os.path.join(blobs_dir, folder)
        if not os.path.isdir(sub):
            continue
        for name in sorted(os.listdir(sub)):
            sha, _dot, fmt = name.partition(".")
            if re.fullmatch(r"[0-9a-f]{64}", sha) and fmt and sha.startswith(folder):
                out.append((sha, fmt, os.path.join(sub, name)))
    return out


def _old_id(row):
    old_id = (row or {}).get("id")
    return old_id if isinstance(old_id, int) else 1 << 62


def _insert_recovered(conn, sha, fmt, data, old):
    meta = describe(data)
    old = old or {}
    values = {
        "sha256": sha, "size_bytes": len(data), "format": fmt,
        "device_id": old.get("device_id"), "board": meta["board"],
        "firmware": meta["firmware"], "flight": meta["flight"],
        "added_utc": old.get("added_utc") or utc_now_iso(),
        "flight_date": old.get("flight_date"), "apogee_m": meta["apogee_m"],
        "motor": old.get("motor"), "notes": old.get("notes"),
        "source": old.get("source") or "recovered",
    }
    old_id = old.get("id")
    if isinstance(old_id, int) and conn.execute(
            "SELECT 1 FROM flights WHERE id = ?", (old_id,)).fetchone() is None:
        values["id"] = old_id
    conn.execute("INSERT INTO flights (%s) VALUES (%s)" % (
        ", ".join(values), ", ".join("?" * len(values))), tuple(values.values()))


def _salvage_rows(index_path):
    """{sha256: row dict} of whatever rows a damaged index still yields ({} if none)."""
    rows = {}
    try:
        conn = sqlite3.connect("file:%s?mode=ro" % index_path, uri=True)
    except sqlite3.Error:
        return rows
    try:
        cur = conn.execute("SELECT * FROM flights")
        names = [d[0] for d in cur.description]
        while True:
            try:
                row = cur.fetchone()
            except sqlite3.Error:
                break
            if row is None:
                break
            doc = dict(zip(names, row, strict=True))
            if isinstance(doc.get("sha256"), str):
                rows[doc["sha256"]] = doc
    except sqlite3.Error:
        pass
    finally:
        conn.close()
    return rows


def export_name(entry):
    """A file name for the entry's bytes: the download's own name when the board is known."""
    if entry.format == "cwf" and entry.device_id and entry.flight is not None:
        return "flight-%04d-%s.cwf" % (entry.flight, entry.device_id)
    return "%s.%s" % (entry.sha256[:16], entry.format)
