"""The simulated barometer: a trajectory as pressure readings, and SimHal flying it.

Deterministic: seeded noise, a ManualClock stepped by hand.
"""

import math
import statistics

import numpy as np
import pytest

from firmware.altimeter import FlightDetector
from firmware.baro import PadBaseline, altitude_cm
from firmware.hal import KEY_ON
from ground.sim.device import ManualClock
from ground.sim.flight import SimulatedFlight, transonic_weight
from ground.sim.hal import SimHal
from ground.sim.igniter import PRESETS, make_igniter
from ground.trajectory import Rocket, simulate
from ground.trajectory.examples import sample_rocket

QUIET = dict(noise_pa_rms=0.0, ignition_spike_pa=0.0, ejection_spike_pa=0.0, transonic_cp=0.0)


@pytest.fixture(scope="module")
def slow():
    """Estes C6, single parachute at apogee: Mach 0.15."""
    return simulate(sample_rocket("Estes_C6"), "Estes_C6")


@pytest.fixture(scope="module")
def fast():
    """AeroTech J350W, dual deploy: Mach 1.26 on the way up."""
    return simulate(sample_rocket("AeroTech_J350W"), "AeroTech_J350W")


@pytest.fixture(scope="module")
def subsonic_fast():
    """The same J350W in a heavier 54 mm rocket: tops out at Mach ~0.75."""
    rocket = Rocket(2.0, 0.5, diameter_m=0.054, rail_length_m=2.4, drogue_rate_m_s=25,
                    main_rate_m_s=6, main_deploy_m=150)
    return simulate(rocket, "J350W")


def flight_times_ms(result, step_ms=5):
    return np.arange(0.0, result.landing_time_s * 1000.0, step_ms)


def near_a_spike(flight, t_ms, margin_ms=500.0):
    return any(-1.0 <= t_ms - t0 <= margin_ms for t0, _a, _r in flight.spikes)


# --- the sensor model ---------------------------------------------------------------------
def test_pad_noise_is_seeded_gaussian_of_the_stated_size(slow):
    flight = SimulatedFlight(slow, seed=7)
    readings = [flight.pressure_pa(None) for _ in range(5000)]
    assert abs(statistics.fmean(readings) - 101325) < 0.15
    sd = statistics.pstdev(readings)
    assert 2.3 < sd < 2.7  # 2.5 Pa RMS, plus the rounding to whole pascals
    within = sum(abs(r - 101325) <= sd for r in readings) / len(readings)
    assert 0.64 < within < 0.76  # ~68 % within one sigma (whole-pascal steps blur it a little)
    assert [SimulatedFlight(slow, seed=7).pressure_pa(-5) for _ in range(3)] != [
        SimulatedFlight(slow, seed=8).pressure_pa(-5) for _ in range(3)]
    again = SimulatedFlight(slow, seed=7)
    assert [again.pressure_pa(None) for _ in range(5000)] == readings


def test_before_ignition_and_after_landing_it_reads_the_ground(slow):
    flight = SimulatedFlight(slow, **QUIET)
    assert flight.pressure_pa(None) == flight.pressure_pa(-100) == 101325
    assert flight.pressure_pa(slow.landing_time_s * 1000 + 1) == 101325
    assert flight.pressure_pa(slow.landing_time_s * 1000 + 3_600_000) == 101325
    assert flight.pressure_pa(slow.time_to_apogee_s * 1000) < 101325 - 1900  # ~164 m up


def test_spikes_at_ignition_and_at_each_ejection(fast):
    flight = SimulatedFlight(fast, noise_pa_rms=0.0, transonic_cp=0.0)
    assert flight.ejection_ms == [fast.drogue_time_s * 1000, fast.main_time_s * 1000]

    def excess(t_ms):
        return flight.pressure_pa(t_ms) - flight.true_pressure_pa(t_ms)

    assert excess(25.0) == pytest.approx(60, abs=0.6)  # ignition: peak 25 ms in
    for t0 in flight.ejection_ms:
        assert excess(t0 + 15.0) == pytest.approx(300, abs=0.6)
        assert excess(t0 - 50.0) == pytest.approx(0, abs=0.6)  # nothing before the charge
        assert excess(t0 + 200.0) == pytest.approx(0, abs=0.6)  # gone in a fraction of a second
    assert excess(1000.0) == pytest.approx(0, abs=0.6)


def test_a_single_deploy_flight_has_one_ejection_spike(slow):
    flight = SimulatedFlight(slow)
    assert flight.ejection_ms == [slow.main_time_s * 1000]


def test_transonic_dip_appears_only_on_a_flight_past_mach_0_8(fast, slow, subsonic_fast):
    assert transonic_weight(0.79) == 0 and transonic_weight(1.0) == 1 and transonic_weight(1.21) == 0
    assert slow.max_mach < 0.8 and subsonic_fast.max_mach < 0.8 < 1.0 < fast.max_mach
    for result in (slow, subsonic_fast):
        flight = SimulatedFlight(result, noise_pa_rms=0.0)
        errors = [flight.sensor_error_pa(t) for t in flight_times_ms(result, 10)
                  if not near_a_spike(flight, t)]
        assert max(errors) == 0.0
    flight = SimulatedFlight(fast, noise_pa_rms=0.0)
    t_ms = flight_times_ms(fast, 2)
    mach = np.array([fast.mach_at(t / 1000) for t in t_ms])
    err = np.array([flight.sensor_error_pa(t) for t in t_ms])
    spiky = np.array([near_a_spike(flight, t) for t in t_ms])
    transonic = (mach > 0.8) & (mach < 1.2)
    assert err[transonic & ~spiky].max() > 1000  # a dip of order 100 m of false altitude
    assert err[~transonic & ~spiky].max() == 0.0
    # the altimeter sees the altitude drop for a moment, though the rocket is climbing
    k = int(np.argmax(np.where(spiky, 0, err)))
    assert fast.vz_m_s[np.searchsorted(fast.t_s, t_ms[k] / 1000)] > 100
    fw_drop_m = (altitude_cm(round(flight.true_pressure_pa(t_ms[k])))
                 - altitude_cm(flight.pressure_pa(t_ms[k]))) / 100
    assert 80 < fw_drop_m < 400


@pytest.mark.parametrize("pad_altitude_m", [0.0, 1400.0])
def test_firmware_altitude_tracks_the_trajectory_within_centimetres(pad_altitude_m):
    result = simulate(sample_rocket("AeroTech_H128W"), "AeroTech_H128W",
                      pad_altitude_m=pad_altitude_m)
    flight = SimulatedFlight(result, **QUIET)
    worst_cm = 0.0
    for t in flight_times_ms(result, 20):
        p = flight.pressure_pa(t)
        truth_cm = (pad_altitude_m + result.height_at(t / 1000)) * 100
        worst_cm = max(worst_cm, abs(altitude_cm(p) - truth_cm))
    # whole pascals (~8-10 cm) plus the firmware table's interpolation (< 10 cm)
    assert worst_cm < 15
    assert altitude_cm(flight.pressure_pa(None)) == pytest.approx(pad_altitude_m * 100, abs=10)


def test_with_noise_the_firmware_altitude_scatters_by_a_few_decimetres(slow):
    flight = SimulatedFlight(slow, seed=3, ignition_spike_pa=0.0, ejection_spike_pa=0.0)
    err_m = [altitude_cm(flight.pressure_pa(t)) / 100 - slow.height_at(t / 1000)
             for t in flight_times_ms(slow, 10)]
    rms_m = math.sqrt(statistics.fmean(e * e for e in err_m))
    assert 0.12 < rms_m < 0.35  # 2.5 Pa at ~8.3 cm/Pa, plus rounding


def test_a_hot_day_makes_the_barometric_altimeter_read_low():
    """The firmware assumes the standard lapse; in warmer air pressure falls more slowly
    with height, so it reads the height scaled by 288.15 K / T_pad exactly."""
    result = simulate(sample_rocket("AeroTech_H128W"), "AeroTech_H128W", pad_temperature_c=35.0)
    flight = SimulatedFlight(result, **QUIET)
    t_ms = result.time_to_apogee_s * 1000
    baro_m = (altitude_cm(flight.pressure_pa(t_ms)) - altitude_cm(flight.pressure_pa(None))) / 100
    assert baro_m == pytest.approx(result.apogee_m * 288.15 / 308.15, abs=0.2)


@pytest.mark.parametrize("which", ["slow", "fast"])
def test_the_firmware_detector_finds_apogee_through_noise_spikes_and_mach_dip(which, request):
    result = request.getfixturevalue(which)
    flight = SimulatedFlight(result, seed=11)
    pad = PadBaseline(64)
    while not pad.add(flight.pressure_pa(None)):
        pass
    det = FlightDetector()
    t = 0
    while t < result.landing_time_s * 1000 + 12000:
        det.sample(t, pad.agl_cm(flight.pressure_pa(t)))
        t += 10
    assert det.max_height_cm / 100 == pytest.approx(result.apogee_m, rel=0.01)
    assert det.apogee_detected_ms >= result.time_to_apogee_s * 1000  # never early
    assert det.apogee_detected_ms <= result.time_to_apogee_s * 1000 + 2000
    assert det.landed_ms > result.landing_time_s * 1000


# --- SimHal flying it ---------------------------------------------------------------------
def pad_hal(preset, flight, step_ms=1, fire_at=1500, until=6000, seed=5, channels=1,
            motor_channels=(0,), fire_channel=0):
    """A SimHal on a manual clock: key on, fire `fire_channel` at fire_at, run until `until`."""
    clock = ManualClock(1000)
    igniters = [make_igniter(preset) for _ in range(channels)]
    hal = SimHal(igniters, key_on=True, seed=seed, clock=clock, rocket=flight,
                 motor_channels=motor_channels)
    hal.advance(clock.now)
    readings = {}
    while clock.now < until:
        if clock.now >= fire_at and not hal.level[fire_channel]:
            hal.fire(fire_channel, True)
        clock.advance(step_ms)
        hal.advance(clock.now)
        readings[clock.now] = hal.pressure_pa()
    return hal, readings


def test_no_rocket_keeps_the_old_pad_barometer(slow):
    hal, readings = pad_hal("ematch", None)
    assert hal.arm_key() == KEY_ON and hal.igniters[0].burned
    assert hal.flight is None and hal.ignition_ms is None and hal.flight_time_ms() is None
    assert set(readings.values()) == {101325}


@pytest.mark.parametrize("step_ms", [1, 7])
def test_a_good_igniter_launches_the_flight_at_the_instant_it_burns_through(slow, step_ms):
    flight = SimulatedFlight(slow, **QUIET)
    reference = SimulatedFlight(slow, **QUIET)
    hal, readings = pad_hal("ematch", flight, step_ms=step_ms, fire_at=1500, until=10000)
    burn_ms = PRESETS["ematch"][4]  # all-fire current flows from the first step: 20 ms
    on_ms = hal.edges[0][0]
    assert hal.ignition_ms == pytest.approx(on_ms + burn_ms, abs=1e-9)
    assert hal.flight is flight
    for now, p in readings.items():
        since = now - hal.ignition_ms
        assert p == (101325 if since < 0 else reference.pressure_pa(since)), now
    # the lowest reading is the apogee's pressure (to the pascal), reached while the clock ran
    assert min(readings.values()) == round(slow.atmosphere.pressure_pa(slow.apogee_m))


def test_the_flight_follows_the_hal_clock_with_noise(slow):
    hal, readings = pad_hal("ematch", SimulatedFlight(slow, seed=2), until=1500 + 12000)
    pad = [p for t, p in readings.items() if t < hal.ignition_ms]
    assert 1 <= statistics.pstdev(pad) < 4 and abs(statistics.fmean(pad) - 101325) < 1
    t_top = hal.ignition_ms + slow.time_to_apogee_s * 1000
    # just before apogee: at apogee itself the ejection charge's spike would be in it
    near_top = [p for t, p in readings.items() if -60 < t - t_top < 0]
    height_m = (altitude_cm(round(statistics.fmean(near_top))) - altitude_cm(101325)) / 100
    assert height_m == pytest.approx(slow.apogee_m, abs=0.5)


@pytest.mark.parametrize("preset", ["dud", "open", "short", "high"])
def test_an_igniter_that_does_not_burn_through_never_launches(slow, preset):
    hal, readings = pad_hal(preset, SimulatedFlight(slow, seed=4), until=1500 + 10000)
    assert hal.ignition_ms is None and hal.flight_time_ms() is None
    assert max(abs(p - 101325) for p in readings.values()) < 15  # pad noise only
    if preset == "dud":
        assert hal.igniters[0].functioned and not hal.igniters[0].burned  # the misfire case


def test_only_the_motor_channel_launches_it(slow):
    hal, _ = pad_hal("ematch", SimulatedFlight(slow, **QUIET), channels=2, fire_channel=1)
    assert hal.igniters[1].burned and hal.ignition_ms is None
    hal, _ = pad_hal("ematch", SimulatedFlight(slow, **QUIET), channels=2, fire_channel=1,
                     motor_channels=(0, 1))
    assert hal.ignition_ms is not None


def test_simhal_builds_the_flight_from_a_spec():
    hal = SimHal([make_igniter("ematch")], seed=9, clock=lambda: 0,
                 rocket=(sample_rocket("Estes_C6"), "C6"))
    assert hal.flight.result.motor.name == "C6"
    windy = SimHal([make_igniter("ematch")], seed=9, clock=lambda: 0,
                   rocket={"rocket": sample_rocket("Estes_C6"), "motor": "C6",
                           "wind_speed_m_s": 4.0, "wind_from_deg": 270.0})
    assert windy.flight.result.landing_bearing_deg == pytest.approx(90.0, abs=0.01)
    same = SimHal([make_igniter("ematch")], seed=9, clock=lambda: 0,
                  rocket=(sample_rocket("Estes_C6"), "C6"))
    assert [hal.pressure_pa() for _ in range(20)] == [same.pressure_pa() for _ in range(20)]


@pytest.mark.parametrize(
    ("rocket", "message"),
    [
        ("C6", "rocket must be None"),
        ({"motor": "C6"}, "needs 'rocket' and 'motor'"),
    ],
)
def test_simhal_refuses_a_rocket_it_cannot_fly(rocket, message):
    with pytest.raises(ValueError, match=message):
        SimHal([make_igniter("ematch")], clock=lambda: 0, rocket=rocket)


def test_simhal_refuses_a_motor_channel_it_does_not_have(slow):
    with pytest.raises(ValueError, match=r"channels 0\.\.0"):
        SimHal([make_igniter("ematch")], clock=lambda: 0, rocket=slow, motor_channels=(1,))
