"""The firmware app end to end: a ground Connection talks to the app over the fake HAL's port."""

import flight_profile as F
from fake_hal import FakeHal
from mptest import no_alloc
from scratch import fresh_dir

from firmware.app import BUTTON_POLL_MS, MAINTENANCE_HOLD_MS, TICK_MS, App
from firmware.hal import KEY_OFF
from protocol import ROLE_GROUND, Connection, cobs
from protocol import constants as C
from protocol import messages as M
from protocol.ticks import TICKS_MAX, ticks_add

KEY = bytes(range(32))


class MemoryStorage:
    def __init__(self):
        self.key = None

    def read_key(self):
        return self.key

    def write_key(self, key):
        self.key = key


class Rig:
    """The device app and a ground station joined by the fake port, on a simulated clock."""

    def __init__(self, key=None, start=0, storage=False, hal=None):
        self.hal = FakeHal() if hal is None else hal
        self.hal.now = start
        if storage:
            self.hal.storage_path = fresh_dir()
        self.storage = MemoryStorage()
        self.storage.key = key
        self.app = App(self.hal, self.storage)
        self.gnd = Connection(ROLE_GROUND, key=key)
        self.got = []
        self.run(600)  # boot: continuity settles, first heartbeat arrives
        assert self.gnd.session_known

    def run(self, ms):
        for _ in range(ms):
            self.hal.now = ticks_add(self.hal.now, 1)
            self.app.step(self.hal.now)
            self.collect()

    def fly(self, step_ms=5):
        """Fly flight_profile's rocket past landing: the barometer follows it, the loop runs."""
        start = self.hal.now
        end = int((F.T_LANDED + 14.0) * 1000)
        t = 0
        while t <= end:
            self.fly_pass(start, t)
            t += step_ms

    def fly_pass(self, start, t):
        """One loop pass `t` ms into flight_profile's flight, which began at tick `start`."""
        self.hal.pressure = F.pressure_pa(t / 1000.0)
        self.hal.now = ticks_add(start, t)
        self.app.step(self.hal.now)
        self.collect()

    def fly_to_liftoff(self, step_ms=5):
        """Up the flight profile until the recorder sees liftoff; returns (start tick, t ms)."""
        start = self.hal.now
        t = 0
        while not self.app.recorder.flying:
            self.fly_pass(start, t)
            t += step_ms
        return start, t

    def collect(self):
        data = self.hal.take_output()
        pos = 0
        while pos < len(data):
            pos += self.gnd.receive_data(data, -1, pos)
            while True:
                f = self.gnd.next_event()
                if f is None:
                    break
                self.got.append(M.decode(f))

    def send(self, msg, **kw):
        wire = self.gnd.send(msg, **kw)
        self.hal.inject(wire)
        return wire

    def replies(self, cls):
        return [m for m in self.got if isinstance(m, cls)]

    def command(self, msg, ms=20, **kw):
        """Send a command and return the reply to it (matched by re_seq)."""
        self.send(msg, **kw)
        seq = self.gnd.last_tx_seq
        self.run(ms)
        for m in self.got:
            if getattr(m, "re_seq", None) == seq:
                return m
        return None


def test_heartbeats_and_status_flow_at_2_hz():
    rig = Rig()
    rig.got = []
    rig.run(2000)
    hb = rig.replies(M.Heartbeat)
    st = [s for s in rig.replies(M.Status) if s.re_seq == 0xFFFF]
    assert 4 <= len(hb) <= 5 and 4 <= len(st) <= 5
    assert hb[-1].state == C.STATE_SAFE and hb[-1].flags & C.DEV_KEY_ON
    assert st[-1].channels[0].continuity == C.CONT_CONNECTED


def test_arm_fire_release_over_the_link():
    rig = Rig()
    ack = rig.command(M.Arm(1, 0))
    assert isinstance(ack, M.ArmAck) and ack.channel_mask == 1 and ack.lapse_ms == 3000
    for _ in range(10):  # hold the button for a second
        rig.send(M.Fire.for_channels(ack.token, 1))
        rig.run(100)
        assert rig.hal.level[0] == 1
    released = rig.hal.now
    rig.run(400)
    assert rig.hal.level[0] == 0
    off = [e for e in rig.hal.edges() if e[2] == 0][-1]
    assert off[0] - released <= 250
    assert not rig.replies(M.Nak)


def test_refused_commands_get_the_device_reason():
    rig = Rig()
    rig.hal.key = KEY_OFF
    rig.run(20)
    nak = rig.command(M.Arm(1, 0))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_KEY_OFF
    nak = rig.command(M.Fire.for_channels(b"1234", 1))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_NOT_ARMED
    nak = rig.command(M.ConfigSet(C.CFG_FIRE_CAP_MS, 5000))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_BAD_VALUE
    value = rig.command(M.ConfigSet(C.CFG_FIRE_CAP_MS, 2000))
    assert isinstance(value, M.ConfigValue) and value.value == 2000
    assert rig.app.controller.fire_cap_ms == 2000


def test_retransmitted_arm_is_answered_from_cache_not_run_twice():
    rig = Rig()
    rig.send(M.Arm(1, 0), seq=40)
    for _ in range(20):  # the ARM_ACK is lost on the way back
        rig.hal.now = ticks_add(rig.hal.now, 1)
        rig.app.step(rig.hal.now)
        rig.hal.take_output()
    token = bytes(rig.app.controller.token)
    assert rig.app.controller.state == C.STATE_ARMED
    again = rig.command(M.Arm(1, 0), seq=40, flags=C.FLAG_RETRANSMIT)
    assert isinstance(again, M.ArmAck) and bytes(again.token) == token
    assert bytes(rig.app.controller.token) == token  # not armed a second time
    assert rig.app.conn.stats.duplicates == 1


def test_device_info_and_igniter_test():
    rig = Rig()
    info = rig.command(M.GetDeviceInfo())
    assert info.board_name == "fake-2ch" and info.channels == 2 and info.protocol_version == 1
    assert info.device_id == b"fakehal0"  # from the HAL, not from the app
    result = rig.command(M.IgniterTest(0))
    assert result.continuity == C.CONT_CONNECTED and 900 <= result.resistance_mohm <= 1100
    assert 9000 <= result.sense_current_ua <= 10000  # ~10 mA into a near-short
    flights = rig.command(M.FlightList())
    assert isinstance(flights, M.FlightInfo) and flights.count == 0


def test_set_key_only_over_a_wired_link_then_everything_needs_the_mac():
    rig = Rig()
    rig.hal.wired = False
    nak = rig.command(M.SetKey(KEY))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_NOT_WIRED
    rig.hal.wired = True
    ack = rig.command(M.SetKey(KEY))
    assert isinstance(ack, M.Ack) and rig.storage.key == KEY
    assert rig.app.conn.keyed
    # an unkeyed ground can no longer arm
    rig.send(M.Arm(1, 0))
    rig.run(20)
    assert rig.app.controller.state == C.STATE_SAFE
    assert rig.app.conn.stats.mac_errors >= 1


def test_keyed_link_arms_and_an_unauthenticated_abort_still_stops_it():
    rig = Rig(key=KEY)
    ack = rig.command(M.Arm(1, 0))
    assert isinstance(ack, M.ArmAck)
    rig.send(M.Fire.for_channels(ack.token, 1))
    rig.run(10)
    assert rig.hal.level[0] == 1
    # anyone without the key, who has heard the session nonce on the air, may ABORT
    stranger = Connection(ROLE_GROUND)
    stranger._session[:] = rig.gnd._session
    stranger.session_known = True
    rig.hal.inject(stranger.send(M.Abort()))
    rig.run(5)
    assert rig.hal.level[0] == 0 and rig.app.controller.state == C.STATE_SAFE
    # and an unauthenticated DISARM likewise ends an ARM (channel 1: channel 0 just fired)
    ack = rig.command(M.Arm(0b10, 0))
    assert isinstance(ack, M.ArmAck) and rig.app.controller.state == C.STATE_ARMED
    rig.hal.inject(stranger.send(M.Disarm()))
    rig.run(5)
    assert rig.app.controller.state == C.STATE_SAFE
    assert rig.app.controller.safe_reason == C.SAFE_DISARM


def test_link_loss_over_the_app_makes_the_pad_safe():
    rig = Rig()
    rig.command(M.Arm(1, 0))
    assert rig.app.controller.state == C.STATE_ARMED
    rig.run(1100)  # the ground goes quiet
    assert rig.app.controller.state == C.STATE_SAFE
    assert rig.app.controller.safe_reason == C.SAFE_LINK_LOST


def test_an_armed_pad_goes_safe_at_the_link_loss_deadline_itself_between_ticks():
    rig = Rig()
    for phase in range(TICK_MS):  # the ARM lands at every phase of the 10 ms tick
        rig.run(phase + 1)
        rig.send(M.Arm(1, 0))
        rig.run(1)  # dispatched in this pass: the last frame the device hears
        assert rig.app.controller.state == C.STATE_ARMED
        deadline = ticks_add(rig.hal.now, rig.app.controller.link_loss_ms)
        while rig.app.controller.state == C.STATE_ARMED:
            rig.run(1)
        assert rig.hal.now == deadline, (phase, rig.hal.now, deadline)
        assert rig.app.controller.safe_reason == C.SAFE_LINK_LOST


def test_a_slow_port_never_delays_the_controller():
    rig = Rig()
    ack = rig.command(M.Arm(1, 0))
    rig.hal.write_limit = 1  # the port takes one byte per loop pass
    rig.send(M.Fire.for_channels(ack.token, 1))
    rig.run(5)
    assert rig.hal.level[0] == 1
    rig.run(300)
    assert rig.hal.level[0] == 0  # off on time, whatever the output queue holds


def test_one_fire_frame_dispatch_allocates_nothing():
    rig = Rig()
    ack = rig.command(M.Arm(1, 0))
    frames = []
    for _ in range(4):
        frames.append(bytearray(rig.gnd.send(M.Fire.for_channels(ack.token, 1))))
    state = [0]

    def one_fire():
        wire = frames[state[0]]
        state[0] += 1
        rig.hal.inject(wire)
        rig.hal.now = ticks_add(rig.hal.now, 1)
        rig.app.step(rig.hal.now)

    no_alloc(one_fire)
    assert rig.hal.level[0] == 1 and rig.app.controller.state == C.STATE_FIRING


def test_outputs_stop_within_250_ms_whatever_the_release_phase():
    # regression: the app once ticked the controller only every 10 ms, so an
    # output could stay on up to 259 ms after the last FIRE
    worst = 0
    for phase in range(0, 20, 3):
        rig = Rig()
        ack = rig.command(M.Arm(1, 0))
        rig.run(phase)
        rig.send(M.Fire.for_channels(ack.token, 1))
        rig.run(1)
        fired = rig.hal.now
        rig.run(300)
        off = [e for e in rig.hal.edges() if e[2] == 0][-1]
        worst = max(worst, off[0] - fired)
    assert worst <= 250, worst


def _download(rig, info, window=3584):
    """Fetch a whole flight with FLIGHT_READ windows; returns its bytes."""
    data = bytearray(info.size_bytes)
    offset = 0
    while offset < info.size_bytes:
        n = min(window, info.size_bytes - offset)
        rig.got = []
        rig.send(M.FlightRead(info.flight, offset, n))
        rig.run(n // 11 + 50)
        chunks = rig.replies(M.FlightData)
        assert chunks, "no FLIGHT_DATA for offset %d" % offset
        for c in chunks:
            assert c.flight == info.flight
            data[c.offset : c.offset + len(c.data)] = c.data
        offset = chunks[-1].offset + len(chunks[-1].data)
    return bytes(data)


def test_a_flight_through_the_app_is_listed_and_downloads_verified():
    import hashlib

    from protocol.crc import crc32_into

    rig = Rig(storage=True)
    rig.got = []
    rig.fly()
    tele = rig.replies(M.Telemetry)
    assert tele, "no TELEMETRY during the flight"
    top = max(s.altitude_cm for t in tele for s in t.samples)
    assert abs(top / 100.0 - F.APOGEE_M) < 0.02 * F.APOGEE_M
    status = rig.command(M.GetStatus())
    assert status.flight_state == C.FLIGHT_PAD and status.log_free_bytes > 0
    info = rig.command(M.FlightList())
    assert info.count == 1 and info.flags == C.FLIGHT_COMPLETE
    assert abs(info.apogee_cm / 100.0 - F.APOGEE_M) < 0.01 * F.APOGEE_M
    data = _download(rig, info)
    crc = bytearray(4)
    crc32_into(data, 0, len(data), crc, 0)
    assert crc[0] | crc[1] << 8 | crc[2] << 16 | crc[3] << 24 == info.crc32
    assert hashlib.sha256(data).digest() == info.sha256


def test_flight_read_refusals():
    rig = Rig(storage=True)
    rig.fly()
    info = rig.command(M.FlightList())
    nak = rig.command(M.FlightRead(info.flight + 1, 0, 10))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_NO_SUCH_FLIGHT
    nak = rig.command(M.FlightRead(info.flight, info.size_bytes - 4, 5))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_OUT_OF_RANGE
    nak = rig.command(M.FlightRead(info.flight, 0, 0))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_OUT_OF_RANGE
    rig.command(M.Arm(1, 0))
    nak = rig.command(M.FlightRead(info.flight, 0, 100))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_BUSY  # never while armed


def test_erase_needs_the_word_and_then_the_flight_is_gone():
    rig = Rig(storage=True)
    rig.fly()
    info = rig.command(M.FlightList())
    nak = rig.command(M.FlightErase(info.flight, b"erase"))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_NEED_CONFIRM
    assert rig.command(M.FlightList()).count == 1
    ack = rig.command(M.FlightErase(info.flight, C.ERASE_CONFIRM))
    assert isinstance(ack, M.Ack)
    assert rig.command(M.FlightList()).count == 0
    nak = rig.command(M.FlightErase(info.flight, C.ERASE_CONFIRM))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_NO_SUCH_FLIGHT


def test_a_loop_pass_while_logging_a_flight_allocates_nothing():
    rig = Rig(storage=True)
    start = rig.hal.now
    pressures = [F.pressure_pa(i / 100.0) for i in range(int((F.PAD_S + 2.0) * 100))]
    t = [0]

    def one_pass():
        rig.hal.pressure = pressures[t[0] // 10]
        rig.hal.now = ticks_add(start, t[0])
        rig.app.step(rig.hal.now)
        rig.hal.tx_n = 0  # the ground's side of the port, not the device's
        t[0] += 10

    while not rig.app.recorder.flying:
        one_pass()
    for _ in range(30):  # telemetry batches and log writes under way
        no_alloc(one_pass)
    assert rig.app.recorder.flying and rig.app.recorder.state >= C.FLIGHT_BOOST


def test_the_key_store_keeps_the_key_across_a_reboot():
    from firmware.keystore import KeyStore

    root = fresh_dir() + "/data"  # a fresh board: the folder does not exist yet
    hal = FakeHal()
    hal.storage_path = root
    store = KeyStore(root)
    App(hal, store)  # boot makes the folder
    assert store.read_key() is None
    store.write_key(KEY)
    assert KeyStore(root).read_key() == KEY  # what the next boot reads
    store.write_key(None)
    assert KeyStore(root).read_key() is None


def test_full_storage_is_seen_by_the_ground_and_earlier_flights_stay_whole():
    rig = Rig(storage=True)
    rig.fly()
    first = rig.command(M.FlightList())
    log = rig.app.recorder.log
    # the storage fills up: room for the next flight's header and a few records only
    log.capacity_bytes = log._used_bytes() + log.reserve_bytes + 40 + 24 * 30
    rig.fly()
    st = rig.command(M.GetStatus())
    assert st.flags & C.DEV_LOG_FULL
    rig.got = []
    rig.send(M.FlightList())
    rig.run(50)
    infos = rig.replies(M.FlightInfo)
    assert [i.flight for i in infos] == [first.flight, first.flight + 1]
    assert infos[0].sha256 == first.sha256 and infos[0].size_bytes == first.size_bytes
    assert infos[1].size_bytes == 40 + 24 * 30  # stopped cleanly at the limit
    assert infos[1].flags == C.FLIGHT_COMPLETE  # closed at landing all the same


def test_a_keyed_device_erases_only_for_a_mac():
    rig = Rig(key=KEY, storage=True)
    rig.fly()
    assert rig.command(M.FlightList()).count == 1
    forger = Connection(ROLE_GROUND)  # knows the session and numbers (on the wire), not the key
    forger.set_session(rig.gnd.session)
    forger.next_seq = (rig.gnd.next_seq + 5) & 0xFFFF
    rig.hal.inject(forger.send(M.FlightErase(0, C.ERASE_CONFIRM)))
    rig.run(30)
    assert rig.command(M.FlightList()).count == 1  # nothing erased
    assert rig.app.conn.stats.mac_errors >= 1
    ack = rig.command(M.FlightErase(0, C.ERASE_CONFIRM))
    assert isinstance(ack, M.Ack) and rig.command(M.FlightList()).count == 0


def test_link_stats_report_every_rejected_frame_and_each_reason():
    rig = Rig(key=KEY)
    info = rig.command(M.GetDeviceInfo())
    assert info.features & C.FEATURE_LINK_STATS
    before = rig.command(M.GetLinkStats())
    assert isinstance(before, M.LinkStats) and before.rejected() == 0
    recorded = rig.send(M.GetStatus())  # a legitimate frame, heard on the air
    rig.run(20)
    stranger = Connection(ROLE_GROUND)  # the session is on the air; the key is not
    stranger.set_session(rig.gnd.session)
    stranger.next_seq = (rig.gnd.next_seq + 1000) & 0xFFFF
    wrong = Connection(ROLE_GROUND, key=bytes(range(1, 33)))
    wrong.set_session(rig.gnd.session)
    wrong.next_seq = stranger.next_seq
    frame = bytearray(cobs.decode(rig.gnd.send(M.Arm(1, 0))[:-1]))
    frame[C.PAYLOAD_OFFSET] ^= 0x02  # one bit flipped on the way: the CRC no longer matches
    bad_crc = cobs.encode(bytes(frame))
    for wire in (stranger.send(M.Arm(1, 0)), wrong.send(M.Arm(1, 0)), wrong.send(M.Fire(b"abcd", 1, 0xFE)),
                 recorded, recorded, bad_crc, stranger.send(M.Abort())):
        rig.hal.inject(wire)
        rig.run(5)
    after = rig.command(M.GetLinkStats())
    assert after.re_seq == rig.gnd.last_tx_seq
    assert after.mac_errors - before.mac_errors == 3
    assert after.replays - before.replays == 2
    assert after.crc_errors - before.crc_errors == 1
    assert after.rejected() - before.rejected() == 6
    assert after.mac_exempt_accepted == 1  # the ABORT, acted on without a MAC
    assert rig.app.controller.state == C.STATE_SAFE and not rig.replies(M.ArmAck)
    # the reply is the device's own receiver counts, taken when the request arrived
    stats = rig.app.conn.stats
    assert after.frames_ok == stats.frames_ok and after.mac_errors == stats.mac_errors
    assert before.frames_out < after.frames_out < stats.frames_out  # the reply came after


def test_an_unkeyed_link_stats_request_to_a_keyed_device_is_itself_rejected():
    rig = Rig(key=KEY)
    plain = Connection(ROLE_GROUND)
    plain.set_session(rig.gnd.session)
    plain.next_seq = rig.gnd.next_seq + 10
    rig.got = []
    rig.hal.inject(plain.send(M.GetLinkStats()))
    rig.run(20)
    assert not rig.replies(M.LinkStats)
    assert rig.app.conn.stats.mac_errors == 1
    assert rig.command(M.GetLinkStats()).mac_errors == 1


def test_a_long_session_rolls_over_to_a_new_nonce_only_while_safe():
    rig = Rig(key=KEY)
    old_session = rig.app.conn.session
    early = rig.send(M.GetStatus())  # what an eavesdropper records early in the session
    rig.run(20)
    ack = rig.command(M.Arm(1, 0))
    assert isinstance(ack, M.ArmAck)
    rig.app.conn.frames_in_session = C.SESSION_ROLLOVER_FRAMES  # as after ~16k frames
    rig.run(100)
    assert rig.app.conn.session == old_session  # never while ARMED
    assert isinstance(rig.command(M.Disarm()), M.Ack)  # SAFE again: now it rolls over
    rig.run(600)  # the next device frame carries the new nonce
    new_session = rig.app.conn.session
    assert new_session != old_session and rig.app.sessions_rolled == 1
    assert rig.gnd.session == new_session  # the ground followed
    before = rig.app.conn.stats.session_errors
    rig.hal.inject(early)
    rig.run(20)
    assert rig.app.conn.stats.session_errors == before + 1  # the recording is now useless
    assert isinstance(rig.command(M.GetStatus()), M.Status)  # and the real ground goes on


# --- MAINTENANCE: the loop ends so the USB port is the REPL again ------------------------------
def test_maintenance_is_refused_unless_confirmed_wired_and_safe():
    rig = Rig()
    nak = rig.command(M.Maintenance(b"MAINX"))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_NEED_CONFIRM
    rig.hal.wired = False
    nak = rig.command(M.Maintenance(C.MAINTENANCE_CONFIRM))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_NOT_WIRED
    rig.hal.wired = True
    ack = rig.command(M.Arm(1, 0))
    assert isinstance(ack, M.ArmAck)
    nak = rig.command(M.Maintenance(C.MAINTENANCE_CONFIRM))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_BAD_STATE
    assert not rig.app.maintenance and rig.app.controller.state == C.STATE_ARMED
    rig.got = []
    rig.run(600)  # the loop goes on: heartbeats still flow
    assert rig.replies(M.Heartbeat)


def test_maintenance_acks_then_the_app_stops_with_outputs_off():
    rig = Rig()
    ack = rig.command(M.Maintenance(C.MAINTENANCE_CONFIRM))
    assert isinstance(ack, M.Ack) and ack.acked_type == C.MAINTENANCE
    assert rig.app.maintenance
    assert not rig.hal.any_on()
    # the app no longer steps: no heartbeat, no status, no answer, no output driven
    rig.got = []
    calls = rig.hal.fire_calls
    rig.send(M.Arm(1, 0))
    rig.send(M.GetStatus())
    rig.run(2000)
    assert rig.got == []
    assert rig.app.controller.state == C.STATE_SAFE
    assert rig.hal.fire_calls == calls


def test_a_keyed_device_enters_maintenance_only_for_a_mac():
    rig = Rig(key=KEY)
    forger = Connection(ROLE_GROUND)  # knows the session and numbers (on the wire), not the key
    forger.set_session(rig.gnd.session)
    forger.next_seq = (rig.gnd.next_seq + 5) & 0xFFFF
    rig.hal.inject(forger.send(M.Maintenance(C.MAINTENANCE_CONFIRM)))
    rig.run(30)
    assert not rig.app.maintenance
    assert rig.app.conn.stats.mac_errors >= 1
    ack = rig.command(M.Maintenance(C.MAINTENANCE_CONFIRM))
    assert isinstance(ack, M.Ack) and rig.app.maintenance


def test_maintenance_is_refused_while_a_flight_is_logging():
    rig = Rig(storage=True)
    rig.fly_to_liftoff()
    nak = rig.command(M.Maintenance(C.MAINTENANCE_CONFIRM))
    assert isinstance(nak, M.Nak) and nak.reason == C.NAK_BUSY
    assert not rig.app.maintenance


# --- the maintenance button: held 3 s on a SAFE pad, the app ends as for MAINTENANCE ---------
class ButtonHal(FakeHal):
    """The fake HAL with a maintenance button a test holds (`button`); counts its reads."""

    def __init__(self):
        FakeHal.__init__(self)
        self.button = False
        self.button_reads = 0

    def maintenance_button(self):
        self.button_reads += 1
        return self.button


def _button_rig(**kw):
    return Rig(hal=ButtonHal(), **kw)


def _hold_armed(rig, token, ms):
    """Keep the pad ARMED for `ms` with an ARM_REFRESH every 500 ms (the ground's heartbeat)."""
    for _ in range(ms // 500):
        rig.send(M.ArmRefresh(token))
        rig.run(500)


def test_the_hold_time_and_poll_period():
    assert MAINTENANCE_HOLD_MS == 3000
    assert BUTTON_POLL_MS == 100


def test_holding_the_button_3_s_on_a_safe_pad_ends_the_app_with_outputs_off():
    rig = _button_rig()
    rig.hal.button = True
    # first seen at the next poll (within BUTTON_POLL_MS), then held MAINTENANCE_HOLD_MS
    rig.run(MAINTENANCE_HOLD_MS - 1)
    assert not rig.app.maintenance
    calls = rig.hal.fire_calls
    rig.run(BUTTON_POLL_MS + 1)
    assert rig.app.maintenance
    assert rig.hal.fire_calls >= calls + rig.hal.channels and not rig.hal.any_on()
    assert rig.hal.led_on  # the user holding the button sees it took
    assert rig.app.controller.state == C.STATE_SAFE
    # the loop is over, as after a MAINTENANCE: no heartbeat, no answer, no output driven
    rig.got = []
    calls = rig.hal.fire_calls
    rig.send(M.Arm(1, 0))
    rig.run(2000)
    assert rig.got == [] and rig.hal.fire_calls == calls
    assert rig.app.controller.state == C.STATE_SAFE


def test_releasing_the_button_at_2_9_s_does_nothing_and_the_next_hold_starts_over():
    rig = _button_rig()
    rig.hal.button = True
    rig.run(2900)
    rig.hal.button = False
    rig.run(200)
    rig.hal.button = True
    rig.run(2900)  # 6 s since the first press, but no 3 s of it unbroken
    assert not rig.app.maintenance
    rig.hal.button = False
    rig.got = []
    rig.run(3000)
    assert not rig.app.maintenance
    assert rig.replies(M.Heartbeat) and rig.replies(M.Status)  # the loop goes on
    assert isinstance(rig.command(M.GetStatus()), M.Status)


def test_the_button_is_ignored_while_armed_and_the_pad_stays_armed():
    rig = _button_rig()
    ack = rig.command(M.Arm(1, 0))
    assert isinstance(ack, M.ArmAck)
    rig.hal.button = True
    reads = rig.hal.button_reads
    _hold_armed(rig, ack.token, 3 * MAINTENANCE_HOLD_MS)
    assert rig.app.controller.state == C.STATE_ARMED  # neither disarmed nor ended
    assert not rig.app.maintenance and not rig.hal.any_on()
    assert rig.hal.button_reads == reads  # not even read (BOOTSEL stalls the flash)
    # disarmed from the ground with the button still held: the 3 s count from SAFE
    assert isinstance(rig.command(M.Disarm(), ms=1), M.Ack)
    assert rig.app.controller.state == C.STATE_SAFE
    rig.run(MAINTENANCE_HOLD_MS - 1)
    assert not rig.app.maintenance
    rig.run(BUTTON_POLL_MS + 1)
    assert rig.app.maintenance


def test_the_button_neither_stops_nor_starts_a_firing():
    rig = _button_rig()
    ack = rig.command(M.Arm(1, 0))
    rig.hal.button = True
    reads = rig.hal.button_reads
    for _ in range(25):  # a 2.5 s fire stream, the button held throughout
        rig.send(M.Fire.for_channels(ack.token, 1))
        rig.run(100)
        assert rig.hal.level[0] == 1 and rig.app.controller.state == C.STATE_FIRING
    assert rig.hal.button_reads == reads  # not even read while firing
    rig.hal.button = False  # let go with the launch switch
    rig.run(400)  # the stream stops: the output stops, as always
    assert rig.hal.level[0] == 0
    assert rig.app.controller.state == C.STATE_SAFE
    assert rig.app.controller.safe_reason == C.SAFE_FIRE_DONE  # not the button's doing
    rig.run(MAINTENANCE_HOLD_MS)
    assert not rig.app.maintenance
    assert len(rig.hal.edges()) == 2  # one on, one off: the button drove nothing


def test_the_button_is_ignored_while_a_flight_is_logging():
    rig = _button_rig(storage=True)
    start, t = rig.fly_to_liftoff()
    rig.hal.button = True
    reads = rig.hal.button_reads
    end = t + 2 * MAINTENANCE_HOLD_MS
    while t < end:  # held for 6 s of the flight
        rig.fly_pass(start, t)
        t += 5
    assert rig.app.recorder.flying and not rig.app.maintenance
    assert rig.hal.button_reads == reads


def test_the_button_hold_survives_a_ticks_wraparound():
    # booted 600 ms, the clock wraps 1.5 s into the hold
    rig = _button_rig(start=TICKS_MAX - 600 - 1500)
    rig.hal.button = True
    rig.run(MAINTENANCE_HOLD_MS - 1)
    assert rig.hal.now < 3000  # the clock did wrap
    assert not rig.app.maintenance
    rig.run(BUTTON_POLL_MS + 1)
    assert rig.app.maintenance


def test_a_loop_pass_polling_the_button_allocates_nothing():
    rig = _button_rig()
    calls = [0]

    def one_pass():
        # no_alloc calls this twice, a warm-up and then with the heap locked: the clock
        # moves on only in the locked call, so every poll, press and release is seen there
        calls[0] += 1
        if calls[0] % 2 == 0:
            rig.hal.now = ticks_add(rig.hal.now, 1)
        rig.app.step(rig.hal.now)
        rig.hal.tx_n = 0  # the ground's side of the port, not the device's

    reads = rig.hal.button_reads
    for pressed, ms in ((True, 500), (False, 300), (True, 500)):
        rig.hal.button = pressed
        for _ in range(ms):
            no_alloc(one_pass)
    polls = rig.hal.button_reads - reads
    assert 12 <= polls <= 14, polls  # 1.3 s of passes: polled every 100 ms, not every pass
    assert rig.app._button_held and not rig.app.maintenance  # the last press is being timed
