"""`coalwood key`: the authenticated link's key, set over a cable and kept on this laptop.

    coalwood key set --port P        a new random key on the device and in the key store
    coalwood key clear --port P      the device's key removed (asks first)
    coalwood key list                the devices whose key this laptop holds
    coalwood key forget DEVICE_ID    drop a stored key without the device (asks first)
    coalwood key import FILE         take the keys of another laptop's key file

A key is never printed, logged or shown. The store (ground/keys.py) is written before
SET_KEY goes out, so a lost answer leaves both keys in it and the next connection
finds whichever the device holds.
"""

import json
import os
import secrets

from ground.cli_common import EXIT_DEVICE, EXIT_OK, CliError
from ground.keys import KEY_LEN, KeyStore, KeyStoreError, SecretKey, device_id_text
from protocol import constants as C

NOT_WIRED_LINE = ("the device takes a key only over a cable (USB or serial), not over a radio "
                  "link: nothing changed")
PENDING_NOTE = "change not confirmed: the next connection to the device settles it"


def add_parser(subparsers):
    from ground.cli import _add_port_args

    p = subparsers.add_parser(
        "key", help="the authenticated link's key: set, clear, list, forget, import",
        description="Keys for the authenticated link. `coalwood key set` makes a new random "
        "32-byte key, sets it on the device over a cable (USB or serial; a radio link is "
        "refused) and keeps it in this laptop's key store, a file only you can read "
        "($COALWOOD_KEYS, else keys.json in coalwood's config folder). Every command that "
        "opens a port then uses the stored key by itself; --key HEX overrides it. The key "
        "is never printed. A device whose key is lost everywhere can only be erased and "
        "flashed again (README: Putting the firmware on a board), which erases its flight "
        "logs too.")
    sub = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)

    s = sub.add_parser("set", help="set a new random key on the device (over a cable)",
                       description="Make a new random key, set it on the device and keep it "
                       "in the key store. A device that already has a key is changed with "
                       "it (the stored one, or --key). Refused over a radio link and while "
                       "the pad is armed.")
    _add_port_args(s)
    s.set_defaults(func=cmd_set)

    c = sub.add_parser("clear", help="remove the key from the device (asks first)",
                       description="Remove the device's key (the link is then no longer "
                       "authenticated) and drop it from the key store.")
    _add_port_args(c)
    c.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    c.set_defaults(func=cmd_clear)

    ls = sub.add_parser("list", help="the devices whose key is stored here (never the keys)")
    ls.add_argument("--json", action="store_true", help="one JSON object for scripts")
    ls.set_defaults(func=cmd_list)

    f = sub.add_parser("forget", help="drop a device's stored key, without the device (asks first)",
                       description="Drop a device's key from the key store. The device keeps "
                       "it: unless another laptop holds a copy, nobody can command that device "
                       "until key.bin is deleted from its filesystem.")
    f.add_argument("device_id", metavar="DEVICE_ID", help="as coalwood key list shows it")
    f.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    f.set_defaults(func=cmd_forget)

    i = sub.add_parser("import", help="take the keys of another laptop's key file",
                       description="Add the keys in FILE (a copy of another laptop's "
                       "keys.json, say on a USB stick) to this laptop's key store. Where "
                       "both hold different keys for one device, both are kept and the next "
                       "connection to it keeps the one the device uses. Delete the copy "
                       "afterwards: anyone who reads it can command those devices.")
    i.add_argument("file", metavar="FILE")
    i.set_defaults(func=cmd_import)
    return p


def _store():
    return KeyStore()


def _store_line(store):
    where = "stored in %s" % store.path
    return where + (" (readable only by you)" if os.name == "posix" else "")


def _device_id(client):
    return bytes(client.info.device_id).hex()


def _require_safe(client, device_id):
    state = client.status().state
    if state != C.STATE_SAFE:
        raise CliError("device %s is %s: its key is changed only while the pad is SAFE "
                       "(disarm first)" % (device_id, C.STATE_NAMES[state]), EXIT_DEVICE)


def _refusal(exc):
    if exc.reason == C.NAK_NOT_WIRED:
        return NOT_WIRED_LINE
    if exc.reason == C.NAK_BAD_STATE:
        return "the device refused the key change: it is not SAFE; nothing changed"
    return "the device refused the key change (%s): nothing changed" % exc.reason_name


def change_key(client, store, new_key):
    """Move the connected device to `new_key` (None: no key), the store first.

    Returns "changed", or "changed, answer lost" when the ACK never came but the device
    then answered under the new key. CliError when the device refused (the store is as
    it was), kept its old key, or went silent (both keys stay stored, marked pending).
    """
    from ground.client import CommandFailed, CommandRefused
    from ground.link import LinkError

    device_id = _device_id(client)
    old_key = client.link.key_in_force()
    before = store.begin_change(device_id, new_key, old_key)
    # whichever of the two the device answers under from now on is taken (PROTOCOL.md 5)
    client.link.offer_keys([new_key, old_key])
    try:
        client.set_key(bytes(KEY_LEN) if new_key is None else new_key)
    except CommandRefused as exc:
        store.restore(device_id, before)
        raise CliError("device %s: %s" % (device_id, _refusal(exc)), EXIT_DEVICE) from None
    except (CommandFailed, LinkError):
        return _after_silence(client, store, device_id, new_key, before)
    store.confirm(device_id)
    return "changed"


def _after_silence(client, store, device_id, new_key, before):
    """SET_KEY went unanswered: one more question, under whichever key the device's
    frames now verify, tells which key it holds; silence again leaves both stored."""
    from ground.client import DeviceError
    from ground.link import LinkError

    try:
        client.status()
    except (DeviceError, LinkError):
        raise CliError("device %s: no answer to the key change: the old and the new key are "
                       "both kept, and the next connection uses whichever the device holds"
                       % device_id, EXIT_DEVICE) from None
    if client.link.uses_key(new_key):
        store.confirm(device_id)
        return "changed, answer lost"
    store.restore(device_id, before)
    raise CliError("device %s: no answer to the key change, and the device still uses its "
                   "old key: nothing changed" % device_id, EXIT_DEVICE)


def _connect(args, store):
    from ground.cli import _open_client

    try:
        store.device_ids()  # a damaged store is reported before the port is touched
    except KeyStoreError as exc:
        raise CliError(str(exc)) from None
    return _open_client(args, store=store)


def _store_errors(fn):
    def wrapped(args):
        try:
            return fn(args)
        except KeyStoreError as exc:
            raise CliError(str(exc)) from None

    wrapped.__doc__ = fn.__doc__
    return wrapped


@_store_errors
def cmd_set(args):
    store = _store()
    client = _connect(args, store)
    try:
        device_id = _device_id(client)
        _require_safe(client, device_id)
        outcome = change_key(client, store, SecretKey(secrets.token_bytes(KEY_LEN)))
    finally:
        client.close()
    if outcome != "changed":
        print("device %s: the answer to the key change was lost, but the device now answers "
              "under the new key" % device_id)
    print("device %s: key set" % device_id)
    print(_store_line(store))
    return EXIT_OK


@_store_errors
def cmd_clear(args):
    from ground.cli import _confirm

    store = _store()
    client = _connect(args, store)
    try:
        device_id = _device_id(client)
        if not client.link.keyed:
            print("device %s has no key: nothing to clear" % device_id)
            if store.entry(device_id) is not None:
                print("the key stored here for it is no longer used: coalwood key forget %s "
                      "drops it" % device_id)
            return EXIT_OK
        _require_safe(client, device_id)
        prompt = ("Remove the authentication key from device %s? Anyone who can reach its "
                  "link could then command it" % device_id)
        if not _confirm(prompt, args.yes):
            print("nothing changed")
            return EXIT_OK
        outcome = change_key(client, store, None)
    finally:
        client.close()
    if outcome != "changed":
        print("device %s: the answer was lost, but the device now answers without a key"
              % device_id)
    print("device %s: key removed; its link is no longer authenticated" % device_id)
    return EXIT_OK


@_store_errors
def cmd_list(args):
    store = _store()
    entries = store.entries()  # one reading: another command may change the file meanwhile
    rows = [{"device_id": d, "pending": entries[d].pending} for d in sorted(entries)]
    if args.json:
        print(json.dumps({"path": store.path, "devices": rows}))
        return EXIT_OK
    if not rows:
        print("no keys stored (%s)" % store.path)
        return EXIT_OK
    print("keys %s:" % _store_line(store))
    for r in rows:
        print("  %s%s" % (r["device_id"], "  (%s)" % PENDING_NOTE if r["pending"] else ""))
    return EXIT_OK


@_store_errors
def cmd_forget(args):
    from ground.cli import _confirm

    try:
        device_id = device_id_text(args.device_id)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    store = _store()
    if store.entry(device_id) is None:
        raise CliError("no key stored for device %s (coalwood key list shows those there are)"
                       % device_id)
    prompt = ("Forget the key of device %s? Unless another laptop holds it, nobody can then "
              "command that device until key.bin is deleted from its filesystem" % device_id)
    if not _confirm(prompt, args.yes):
        print("nothing changed")
        return EXIT_OK
    store.forget(device_id)
    print("device %s: key forgotten" % device_id)
    return EXIT_OK


@_store_errors
def cmd_import(args):
    source = KeyStore(args.file)
    store = _store()
    if os.path.abspath(args.file) == store.path:
        raise CliError("%s is this laptop's own key store" % args.file)
    if os.path.isdir(args.file):
        raise CliError("%s is a folder: give the key file in it (keys.json)" % args.file)
    if not os.path.isfile(args.file):
        raise CliError("no key file %s" % args.file)
    outcome = store.import_from(source)
    if not outcome:
        print("no keys in %s" % args.file)
        return EXIT_OK
    for device_id, what in outcome.items():
        print("device %s: %s" % (device_id, what))
    print(_store_line(store))
    return EXIT_OK
