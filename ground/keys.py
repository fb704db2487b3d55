"""The ground station's MAC keys: as people type them, and as this laptop keeps them.

A key is 32 bytes (64 hex digits). `coalwood key set` makes one and keeps it in the key
store, one JSON file ($COALWOOD_KEYS, else keys.json in coalwood's user config folder)
that maps each device id (hex, from DEVICE_INFO) to its key:

    {"format": "coalwood-keys", "version": 1,
     "devices": {"f0ca8cc2b65089dd": {"key": "<64 hex digits>"},
                 "0123456789abcdef": {"key": null, "previous": "<64 hex>", "pending": true}}}

An entry is "pending" while a key change is unconfirmed (SET_KEY went out, no answer
came): `key` is the key asked for (null: no key) and `previous` the one before it. Both
are tried on the next connection, and whichever the device answers under settles the
entry. The file is created owner-only (0600) and written whole (temporary file, fsync,
rename); a damaged file is reported and left exactly as it is, as its keys may be the
only copy. Nothing here prints, logs or shows a key: keys are SecretKey, whose repr
hides the bytes.
"""

import hmac
import json
import os

from ground.atomic import write_whole
from ground.cli_common import one_line

KEY_LEN = 32
ENV_VAR = "COALWOOD_KEYS"
FILE_FORMAT = "coalwood-keys"
FILE_VERSION = 1
FILE_MODE = 0o600  # owner read/write only, from the moment the file exists


class SecretKey(bytes):
    """32 key bytes that never show themselves: repr and str say only what it is, so a
    key caught in a traceback, a log line or a debugger's variable list stays hidden."""

    def __repr__(self):
        return "<%d-byte key>" % len(self)

    __str__ = __repr__


def parse_key(value):
    """None, 32 bytes, or 64 hex digits -> a SecretKey (or None). ValueError otherwise.

    All zeros is refused: on the wire it means "remove the key".
    """
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        key = bytes(value)
    else:
        text = "".join(str(value).split())
        try:
            key = bytes.fromhex(text) if len(text) == 2 * KEY_LEN else b""
        except ValueError:
            key = b""
    if len(key) != KEY_LEN:
        raise ValueError("a key must be 64 hex digits (32 bytes)")
    if key == bytes(KEY_LEN):
        raise ValueError("an all-zero key means 'no key': leave the key out instead")
    return SecretKey(key)


class KeyStoreError(Exception):
    """The key store cannot be read or written; the message is one line for people."""


def default_path():
    """$COALWOOD_KEYS, else keys.json in coalwood's user config folder."""
    env = os.environ.get(ENV_VAR)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    from platformdirs import user_config_path

    return os.path.join(user_config_path("coalwood", appauthor=False), "keys.json")


def device_id_text(device_id):
    """A device id (bytes from DEVICE_INFO, or hex) as the store's lower-case hex."""
    if isinstance(device_id, (bytes, bytearray, memoryview)):
        return bytes(device_id).hex()
    text = str(device_id).strip().lower()
    if not text or len(text) % 2 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError("a device id is hex digits, as coalwood key list shows them, not %r"
                         % str(device_id)[:40])
    return text


class StoredKey:
    """One device's entry: its key (None: no key) and, while a change is unconfirmed,
    the key before it. Never shows the keys."""

    __slots__ = ("key", "pending", "previous")

    def __init__(self, key, previous=None, pending=False):
        self.key = key
        self.previous = previous if pending else None
        self.pending = pending

    def candidates(self):
        """The keys the device may hold, the newer first (None: no key)."""
        return [self.key, self.previous] if self.pending else [self.key]

    def __repr__(self):
        return "StoredKey(%s)" % ("change not confirmed" if self.pending else "confirmed")

    def to_json(self):
        doc = {"key": None if self.key is None else self.key.hex()}
        if self.pending:
            doc["previous"] = None if self.previous is None else self.previous.hex()
            doc["pending"] = True
        return doc

    @classmethod
    def from_json(cls, doc):
        """ValueError for anything but an entry this module writes."""
        if not isinstance(doc, dict) or "key" not in doc:
            raise ValueError("an entry is not an object with a key")
        pending = doc.get("pending", False)
        if pending not in (True, False):
            raise ValueError("'pending' is not true or false")
        key = _key_from_json(doc["key"], allow_none=pending)
        previous = _key_from_json(doc.get("previous"), allow_none=True) if pending else None
        return cls(key, previous, pending)


def _key_from_json(value, allow_none):
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise ValueError("a key is not 64 hex digits")
    return parse_key(value)


def same_key(a, b):
    """Whether two keys (or None for no key) are the same, in constant time."""
    if a is None or b is None:
        return a is None and b is None
    return hmac.compare_digest(bytes(a), bytes(b))


class KeyStore:
    """The key file at `path` (default: default_path()). Every call reads the file afresh
    and every change writes it whole, so two coalwood commands see each other's keys.

    A file that does not exist is an empty store, and is created only by the first key.
    """

    def __init__(self, path=None):
        self.path = os.path.abspath(path) if path else default_path()

    def __repr__(self):
        return "KeyStore(%r)" % self.path

    # --- reading -----------------------------------------------------------------------------
    def _load(self):
        """{device id hex: StoredKey}. KeyStoreError for a file that is there but unusable."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise KeyStoreError("cannot read the key store %s: %s"
                                % (self.path, exc.strerror or exc)) from None
        try:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("not text: a key store is a JSON file") from None
            doc = json.loads(text)
            if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
                raise ValueError("not a coalwood key file")
            if doc.get("version") != FILE_VERSION:
                raise ValueError("version %r, this coalwood reads version %d"
                                 % (doc.get("version"), FILE_VERSION))
            devices = doc.get("devices")
            if not isinstance(devices, dict):
                raise ValueError("no 'devices' object")
            entries = {}
            for device_id, entry in devices.items():
                try:
                    entries[device_id_text(device_id)] = StoredKey.from_json(entry)
                except ValueError as exc:
                    raise ValueError("device %s: %s" % (str(device_id)[:40], exc)) from None
        except (ValueError, UnicodeDecodeError) as exc:
            # never "repaired" by starting afresh: its keys may be the only copy
            raise KeyStoreError("the key store %s is damaged (%s): it is left as it is; "
                                "mend it or move it away" % (self.path, _reason(exc))) from None
        return entries

    def device_ids(self):
        """The ids of the devices with a stored key (or an unconfirmed change), sorted."""
        return sorted(self._load())

    def entries(self):
        """{device id: StoredKey} of every device, read at once (never shows the keys)."""
        return self._load()

    def entry(self, device_id):
        """The StoredKey for a device, or None."""
        return self._load().get(device_id_text(device_id))

    def candidate_keys(self):
        """Every key the store holds, each once: what a ground tries on a keyed device
        whose id it does not know yet."""
        keys = []
        for entry in self._load().values():
            for key in entry.candidates():
                if key is not None and not any(same_key(key, k) for k in keys):
                    keys.append(key)
        return keys

    def keys_for(self, device_id):
        """The keys this device may hold, newer first ([] when the store has none for it;
        None in the list: it may hold no key)."""
        entry = self.entry(device_id)
        return entry.candidates() if entry is not None else []

    # --- changing ------------------------------------------------------------------------------
    def _save(self, entries):
        doc = {"format": FILE_FORMAT, "version": FILE_VERSION,
               "devices": {d: entries[d].to_json() for d in sorted(entries)}}
        data = (json.dumps(doc, indent=1) + "\n").encode("utf-8")
        try:
            write_whole(self.path, data, mode=FILE_MODE)
        except OSError as exc:
            raise KeyStoreError("cannot write the key store %s: %s"
                                % (self.path, exc.strerror or exc)) from None

    def _put(self, device_id, entry):
        """Set a device's entry (None: drop it); False when there was nothing to drop."""
        entries = self._load()
        device_id = device_id_text(device_id)
        if entry is None:
            if device_id not in entries:
                return False
            del entries[device_id]
        else:
            entries[device_id] = entry
        self._save(entries)
        return True

    def begin_change(self, device_id, new_key, old_key):
        """Record, before SET_KEY goes out, that the device is being moved from `old_key`
        to `new_key` (either None: no key). Returns the store as it was, for restore()."""
        before = _Before(self.entry(device_id), os.path.exists(self.path))
        self._put(device_id, StoredKey(new_key, old_key, pending=True))
        return before

    def confirm(self, device_id):
        """The device answered the change: its key is the new one (none: no entry)."""
        entry = self.entry(device_id)
        if entry is not None and entry.pending:
            self._put(device_id, None if entry.key is None else StoredKey(entry.key))

    def restore(self, device_id, before):
        """Put the store back exactly as begin_change found it (no file, if there was none)."""
        entries = self._load()
        if before.entry is None and not before.file_existed and set(entries) <= {device_id}:
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise KeyStoreError("cannot remove the key store %s: %s"
                                    % (self.path, exc.strerror or exc)) from None
            return
        self._put(device_id, before.entry)

    def settle(self, device_id, link):
        """After a connection that the device answered: a pending change becomes whichever
        of its two keys the link verifies under. True if the store changed."""
        entry = self.entry(device_id)
        if entry is None or not entry.pending:
            return False
        for key in entry.candidates():
            if link.uses_key(key):
                self._put(device_id, None if key is None else StoredKey(key))
                return True
        return False  # the link runs under a key given by hand: nothing learned

    def put(self, device_id, key):
        """Store `key` as the device's (confirmed) key."""
        self._put(device_id, StoredKey(parse_key(key)))

    def forget(self, device_id):
        """Drop a device's entry; False if there was none."""
        return self._put(device_id, None)

    def import_from(self, other):
        """Take the keys of another key store (a KeyStore, say a copy of another laptop's
        file). Returns {device id: what happened}: "added", "same", "both kept" (this store
        held another key: both are tried on the next connection, which settles it), or
        "skipped: ..." (a change is unconfirmed on one side: connect to the device there
        first). Nothing is written unless something was added."""
        theirs = other._load()
        entries = self._load()
        outcome = {}
        for device_id in sorted(theirs):
            new = theirs[device_id]
            mine = entries.get(device_id)
            if new.pending or (mine is not None and mine.pending):
                outcome[device_id] = ("skipped: a key change is not confirmed; connect to the "
                                      "device once (any command) where it is pending")
            elif mine is None:
                entries[device_id] = new
                outcome[device_id] = "added"
            elif same_key(mine.key, new.key):
                outcome[device_id] = "same"
            else:
                entries[device_id] = StoredKey(new.key, mine.key, pending=True)
                outcome[device_id] = "both kept"
        if any(v in ("added", "both kept") for v in outcome.values()):
            self._save(entries)
        return outcome


class _Before:
    """A device's entry (or None) and whether the key file existed, before a change."""

    __slots__ = ("entry", "file_existed")

    def __init__(self, entry, file_existed):
        self.entry = entry
        self.file_existed = file_existed

    def __repr__(self):
        return "_Before(%r, file_existed=%r)" % (self.entry, self.file_existed)


def _reason(exc):
    return one_line(exc)[:120]


def connect_client(client, timeout, store=None, explicit_key=False):
    """Connect a DeviceClient, trying the keys the store holds when no key was given.

    A client made with a key (--key) uses that key and no other. Otherwise the link
    starts unkeyed and, if the device's frames fail their MAC, adopts whichever stored
    key verifies them; once the device's id is known only its own keys stay on offer,
    and a pending key change in the store is settled. A keyed device whose key is not
    held fails with ground.link.KeyNotHeld (one line) instead of going silent.
    Returns the client; KeyStoreError if the store cannot be read.
    """
    from ground.client import DeviceSilent
    from ground.link import KeyNotHeld

    if not explicit_key:
        store = store if store is not None else KeyStore()
        client.link.offer_keys(store.candidate_keys())
    try:
        client.connect(timeout=timeout)
    except DeviceSilent:
        trouble = client.link.key_trouble()
        if trouble is not None:
            raise KeyNotHeld(trouble) from None
        raise
    if not explicit_key:
        device_id = bytes(client.info.device_id).hex()
        try:
            client.link.offer_keys(store.keys_for(device_id))
            store.settle(device_id, client.link)
        except KeyStoreError:
            client.close()
            raise
    return client
