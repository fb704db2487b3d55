"""`coalwood key` and stored keys used by every command, against the real simulated pad
(sim:// with a storage folder, so the device's key.bin lives on between connections) and
a real key file ($COALWOOD_KEYS, a temporary file for every test: tests/conftest.py)."""

import io
import json
import os
import stat
import subprocess
import sys
import threading

import pytest

from ground.cli import main
from ground.cli_common import CliError
from ground.client import DeviceClient
from ground.commands.key import change_key
from ground.keys import KeyStore, KeyStoreError, SecretKey, connect_client, parse_key
from ground.link import KeyNotHeld
from ground.sim.device import ManualClock, SimDevice
from protocol import ROLE_DEVICE, ROLE_GROUND, Connection
from protocol import constants as C
from protocol import messages as M

SEED = 3


@pytest.fixture
def pad(tmp_path):
    """The simulated board's filesystem and its sim:// URL (same seed: same device id)."""
    folder = tmp_path / "board"
    folder.mkdir()
    return folder, "sim://?seed=%d&storage=%s" % (SEED, folder)


def run(capsys, *argv, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def store_path():
    return os.environ["COALWOOD_KEYS"]


def stored(device_id=None):
    """{device id: entry as JSON} from the key file."""
    with open(store_path()) as f:
        devices = json.load(f)["devices"]
    return devices if device_id is None else devices.get(device_id)


def board_key(folder):
    path = folder / "key.bin"
    return path.read_bytes() if path.exists() else None


def set_key(capsys, url):
    code, out, err = run(capsys, "key", "set", "--port", url)
    assert code == 0, out + err
    (device_id,) = stored()
    return device_id, stored(device_id)["key"], out + err


# --- set, then every command finds the key by itself -----------------------------------------
def test_set_stores_the_key_sets_it_on_the_device_and_never_shows_it(capsys, pad):
    folder, url = pad
    device_id, key_hex, shown = set_key(capsys, url)
    assert "device %s: key set" % device_id in shown and store_path() in shown
    assert board_key(folder) == bytes.fromhex(key_hex)  # the device really holds it
    outputs = [shown]
    for argv in (["status", "--port", url], ["status", "--port", url, "--json"],
                 ["flights", "--port", url], ["key", "list"], ["key", "list", "--json"]):
        code, out, err = run(capsys, *argv)
        assert code == 0, (argv, out + err)
        outputs.append(out + err)
    assert "authenticated link" in outputs[1]
    assert json.loads(outputs[2])["keyed_link"] is True
    assert device_id in outputs[4] and device_id in outputs[5]
    for text in outputs:
        assert key_hex not in text.lower()
    with open(store_path()) as f:
        assert f.read().count(key_hex) == 1  # in the store, and only there


def test_a_keyed_device_found_by_its_stored_key_counts_no_rejected_frame(pad, capsys):
    _folder, url = pad
    set_key(capsys, url)
    client = connect_client(DeviceClient(url), timeout=3.0)
    try:
        assert client.link.keyed and client.status().flags & C.DEV_KEYED
        # the first heartbeat failed its MAC while unkeyed, then verified under the stored
        # key: read again and accepted, so it is not a rejection
        assert client.link.stats.mac_errors == 0 and client.link.stats.frames_ok > 0
    finally:
        client.close()


def test_the_key_file_is_owner_only_from_creation(capsys, pad):
    _folder, url = pad
    old = os.umask(0)  # a permissive umask: the mode must not depend on it
    try:
        set_key(capsys, url)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(store_path()).st_mode) == 0o600
    assert not [n for n in os.listdir(os.path.dirname(store_path())) if n.endswith(".tmp")]


def test_rotation_replaces_the_key_on_both_sides(capsys, pad):
    folder, url = pad
    device_id, first, _ = set_key(capsys, url)
    _, second, shown = set_key(capsys, url)  # changed under the first key
    assert second != first and first not in shown and second not in shown
    assert stored(device_id) == {"key": second}
    assert board_key(folder) == bytes.fromhex(second)
    code, out, err = run(capsys, "status", "--port", url)
    assert code == 0 and "authenticated link" in out, err


# --- without the key ---------------------------------------------------------------------------
def test_a_ground_without_the_key_gets_one_clear_line_and_cannot_arm(capsys, pad, tmp_path,
                                                                     monkeypatch):
    _folder, url = pad
    set_key(capsys, url)
    monkeypatch.setenv("COALWOOD_KEYS", str(tmp_path / "another-laptop.json"))
    for argv in (["status", "--port", url],
                 ["launch", "--port", url, "--channel", "1", "--yes", "--countdown", "0",
                  "--short-countdown"]):
        code, _out, err = run(capsys, *argv)
        assert code == 4
        assert err.count("\n") == 1 and "Traceback" not in err
        assert ("requires an authentication key this ground station does not hold" in err), err
    code, _out, err = run(capsys, "status", "--port", url, "--key", "11" * 32)
    assert code == 4 and "holds another authentication key than the one given" in err


def test_a_forged_arm_without_the_devices_key_is_dropped(capsys, pad):
    """Below the command line: frames crafted with no key, or a wrong one, for the right
    session never arm the device; the same ARM under its key does (so this can fail)."""
    folder, url = pad
    _, key_hex, _ = set_key(capsys, url)
    clock = ManualClock(1000)
    dev = SimDevice(clock=clock, seed=SEED, storage_dir=str(folder))
    listener = Connection(ROLE_GROUND, key=bytes.fromhex(key_hex))

    def run_ms(ms):
        for _ in range(ms):
            dev.step(clock.advance(1))
        listener.receive_data(dev.read_output())
        got = []
        while (f := listener.next_event()) is not None:
            got.append(M.decode(f))
        return got

    run_ms(600)
    assert listener.session_known  # learned from a heartbeat MAC'd with the key
    for forged_key in (None, b"\x11" * 32):
        forger = Connection(ROLE_GROUND, key=forged_key)
        forger.set_session(listener.session)
        forger.next_seq = 100
        before = dev.app.conn.stats.mac_errors
        dev.feed(forger.send(M.Arm(1, 0)))
        replies = run_ms(50)
        assert not any(isinstance(m, (M.ArmAck, M.Nak)) for m in replies)
        assert dev.app.conn.stats.mac_errors == before + 1
        assert dev.status_dict()["state"] == "SAFE"
    listener.next_seq = 200
    dev.feed(listener.send(M.Arm(1, 0)))
    assert any(isinstance(m, M.ArmAck) for m in run_ms(50))
    dev.close()


def test_a_key_given_to_an_unkeyed_device_is_named_as_the_trouble(capsys, pad):
    _folder, url = pad
    code, _out, err = run(capsys, "status", "--port", url, "--key", "22" * 32)
    assert code == 4 and "has no authentication key: leave out --key" in err


# --- refused, cleared, lost answers ------------------------------------------------------------
def test_over_a_radio_link_set_is_refused_and_the_store_is_unchanged(capsys, pad):
    folder, url = pad
    device_id, key_hex, _ = set_key(capsys, url)
    with open(store_path(), "rb") as f:
        before = f.read()
    code, out, err = run(capsys, "key", "set", "--port", url + "&radio=1")
    assert code == 4 and out == ""
    assert "only over a cable (USB or serial), not over a radio link" in err
    assert err.count("\n") == 1
    with open(store_path(), "rb") as f:
        assert f.read() == before
    assert board_key(folder) == bytes.fromhex(key_hex)
    # and a first key asked for over a radio leaves no entry behind, nor a file
    code, _out, err = run(capsys, "key", "set", "--port", "sim://?seed=8&radio=1")
    assert code == 4 and "radio" in err
    assert KeyStore().device_ids() == [device_id]
    os.remove(store_path())
    code, _out, err = run(capsys, "key", "set", "--port", "sim://?seed=8&radio=1")
    assert code == 4 and "radio" in err and not os.path.exists(store_path())


def test_clear_asks_no_changes_nothing_and_yes_removes_the_key_everywhere(capsys, pad,
                                                                         monkeypatch):
    folder, url = pad
    device_id, key_hex, _ = set_key(capsys, url)
    with open(store_path(), "rb") as f:
        before = f.read()
    for answer in ("n\n", ""):  # no, and end of input
        code, out, err = run(capsys, "key", "clear", "--port", url, stdin=answer,
                             monkeypatch=monkeypatch)
        assert code == 0 and "nothing changed" in out, err
        assert "Remove the authentication key from device %s?" % device_id in out
        with open(store_path(), "rb") as f:
            assert f.read() == before
        assert board_key(folder) == bytes.fromhex(key_hex)
    code, out, err = run(capsys, "key", "clear", "--port", url, "--yes")
    assert code == 0 and "key removed" in out, err
    assert board_key(folder) is None and stored(device_id) is None
    code, out, _err = run(capsys, "status", "--port", url)
    assert code == 0 and "authenticated link" not in out
    code, out, _err = run(capsys, "key", "clear", "--port", url, "--yes")
    assert code == 0 and "has no key: nothing to clear" in out


def test_an_unanswered_change_keeps_both_keys_and_the_next_connection_settles(capsys, pad):
    folder, url = pad
    device_id, old_hex, _ = set_key(capsys, url)
    store = KeyStore()
    client = connect_client(DeviceClient(url), timeout=3.0, store=store)
    try:
        client.link._port.device.cut_link(True)  # SET_KEY never arrives
        with pytest.raises(CliError, match="both kept"):
            change_key(client, store, parse_key("33" * 32))
    finally:
        client.close()
    entry = store.entry(device_id)
    assert entry.pending and len(entry.candidates()) == 2
    assert board_key(folder) == bytes.fromhex(old_hex)
    code, out, err = run(capsys, "status", "--port", url)  # finds the old key, settles
    assert code == 0 and "authenticated link" in out, err
    assert stored(device_id) == {"key": old_hex}


def test_a_lost_ack_is_found_out_by_the_next_answer(capsys, pad):
    folder, url = pad
    device_id, _old_hex, _ = set_key(capsys, url)
    store = KeyStore()
    client = connect_client(DeviceClient(url), timeout=3.0, store=store)
    device = client.link._port.device
    write_key = device.storage.write_key

    def written_then_cut(key):  # the device takes the key; its ACK is lost on the way
        write_key(key)
        device.cut_link(True)
        threading.Timer(1.3, device.cut_link, args=(False,)).start()

    device.storage.write_key = written_then_cut
    new = parse_key("44" * 32)
    try:
        assert change_key(client, store, new) == "changed, answer lost"
        assert client.link.uses_key(new)
    finally:
        client.close()
    assert stored(device_id) == {"key": new.hex()}
    assert board_key(folder) == new


def test_an_armed_pad_keeps_its_key(pad):
    """The command line refuses before sending; the firmware refuses SET_KEY too (NAK
    BAD_STATE) and the store is put back as it was: here, no file at all."""
    from ground.commands.key import _require_safe

    _folder, url = pad
    store = KeyStore()
    client = connect_client(DeviceClient(url), timeout=3.0, store=store)
    try:
        device_id = bytes(client.info.device_id).hex()
        _require_safe(client, device_id)  # SAFE: no complaint
        client.arm(1, override_continuity=True)
        with pytest.raises(CliError, match="is ARMED: its key is changed only while the pad"):
            _require_safe(client, device_id)
        with pytest.raises(CliError, match="not SAFE; nothing changed"):
            change_key(client, store, parse_key("55" * 32))
        assert not client.link.keyed
    finally:
        client.disarm()
        client.close()
    assert not os.path.exists(store_path())


# --- the store ---------------------------------------------------------------------------------
def test_a_damaged_store_is_one_line_and_left_untouched(capsys, pad):
    folder, url = pad
    with open(store_path(), "wb") as f:
        f.write(b'{"format": "coalwood-keys", "version": 1, "devices": {"ab": {"key": "12')
    with open(store_path(), "rb") as f:
        before = f.read()
    for argv in (["status", "--port", url], ["key", "set", "--port", url], ["key", "list"]):
        code, out, err = run(capsys, *argv)
        assert code == 3 and out == ""
        assert err.count("\n") == 1 and "is damaged" in err and store_path() in err
    with open(store_path(), "rb") as f:
        assert f.read() == before
    assert board_key(folder) is None  # nothing was sent to the device


def test_the_store_never_shows_a_key(tmp_path):
    store = KeyStore(str(tmp_path / "k.json"))
    key = parse_key("5a" * 32)
    store.put("0102030405060708", key)
    assert isinstance(key, SecretKey) and "5a" not in repr(key) and "5a" not in str(key)
    shown = [repr(store), repr(store.entry("0102030405060708")), repr(store.candidate_keys()),
             repr(store.keys_for("0102030405060708"))]
    # neither as hex nor as the bytes' own repr (0x5a is "Z")
    assert not any("5a5a" in s or "ZZ" in s for s in shown), shown
    assert store.keys_for("0102030405060708") == [key]


def test_import_adds_keeps_both_on_a_conflict_and_forget_drops(tmp_path, capsys, monkeypatch):
    other = KeyStore(str(tmp_path / "stick" / "keys.json"))
    other.put("aa01", parse_key("01" * 32))
    other.put("bb02", parse_key("02" * 32))
    mine = KeyStore()
    mine.put("bb02", parse_key("03" * 32))
    code, out, err = run(capsys, "key", "import", other.path)
    assert code == 0, err
    assert "device aa01: added" in out and "device bb02: both kept" in out
    assert "01" * 32 not in out and "02" * 32 not in out
    assert mine.keys_for("aa01") == [parse_key("01" * 32)]
    assert mine.keys_for("bb02") == [parse_key("02" * 32), parse_key("03" * 32)]
    code, out, _ = run(capsys, "key", "forget", "aa01", stdin="n\n", monkeypatch=monkeypatch)
    assert code == 0 and "nothing changed" in out and mine.entry("aa01") is not None
    code, out, _ = run(capsys, "key", "forget", "aa01", "--yes")
    assert code == 0 and mine.entry("aa01") is None
    code, _out, err = run(capsys, "key", "forget", "aa01", "--yes")
    assert code == 3 and "no key stored for device aa01" in err
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(KeyStoreError, match="damaged"):
        KeyStore(str(tmp_path / "bad.json")).device_ids()


def test_key_not_held_is_a_link_error_the_window_shows_in_one_line(pad, capsys, tmp_path):
    _folder, url = pad
    set_key(capsys, url)
    with pytest.raises(KeyNotHeld, match="does not hold"):
        connect_client(DeviceClient(url), timeout=3.0,
                       store=KeyStore(str(tmp_path / "empty.json")))


# --- the window, and a real pty ----------------------------------------------------------------
def test_the_window_connects_to_a_keyed_pad_with_the_stored_key(qtbot, capsys, pad,
                                                               tmp_path, monkeypatch):
    pytest.importorskip("pytestqt")
    from ground.ui import Connection as WindowConnection

    _folder, url = pad
    device_id, _key_hex, _ = set_key(capsys, url)
    conn = WindowConnection()
    try:
        with qtbot.waitSignal(conn.connected, timeout=5000) as blocker:
            conn.open(url)
        info = blocker.args[0]
        assert info["device_id"] == device_id and info["keyed_link"] is True
        with qtbot.waitSignal(conn.status, timeout=3000) as blocker:
            conn.request_status()
        assert blocker.args[0].flags & C.DEV_KEYED
    finally:
        conn.close()
    monkeypatch.setenv("COALWOOD_KEYS", str(tmp_path / "empty.json"))
    conn = WindowConnection()
    with qtbot.waitSignal(conn.error, timeout=5000) as blocker:
        conn.open(url)
    assert "does not hold" in blocker.args[0] and "\n" not in blocker.args[0]
    assert not conn.is_connected


@pytest.mark.skipif(sys.platform == "win32", reason="the pty simulator needs POSIX terminals")
def test_set_and_status_over_a_real_pty(tmp_path):
    cli = [sys.executable, "-m", "ground.cli"]
    sim = subprocess.Popen([*cli, "sim", "--seed", "5", "--storage", str(tmp_path / "board")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        port = sim.stdout.readline().strip()
        assert port.startswith("/dev/"), port
        shown = ""
        for argv in (["key", "set", "--port", port], ["status", "--port", port, "--json"]):
            done = subprocess.run([*cli, *argv], capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL)
            assert done.returncode == 0, done.stdout + done.stderr
            shown += done.stdout + done.stderr
        assert json.loads(done.stdout)["keyed_link"] is True
        (entry,) = stored().values()
        assert entry["key"] not in shown
        assert (tmp_path / "board" / "key.bin").read_bytes() == bytes.fromhex(entry["key"])
    finally:
        sim.stdin.write("quit\n")
        sim.stdin.flush()
        sim.wait(timeout=10)


def test_an_unsigned_device_frame_never_makes_a_keyed_link_unkeyed(capsys, pad):
    """A change from no key is pending, so "no key" stays on offer; once the device's frames
    have verified under its key, a forged unsigned frame is dropped, not adopted."""
    _folder, url = pad
    _, key_hex, _ = set_key(capsys, url)
    key = bytes.fromhex(key_hex)
    client = DeviceClient(url, key=key)
    client.connect(timeout=5)
    try:
        client.link.offer_keys([key, None])
        forger = Connection(ROLE_DEVICE, session=client.link.conn.session, key=None)
        forged = forger.send(M.Heartbeat(C.STATE_SAFE, 0, 0))
        before = client.link.stats.mac_errors
        client.link._take(bytes(forged))
        assert client.link.uses_key(key)  # still checking every frame's MAC
        assert client.link.stats.mac_errors == before + 1  # the forgery was rejected
        assert client.status().state == C.STATE_SAFE  # and the real device still answers
    finally:
        client.close()
