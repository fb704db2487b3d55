"""The trajectory model: closed-form physics it must reproduce, figures it must report,
inputs it must refuse. Every check here can fail: each compares the simulation with an
independent calculation (closed form, the motor file's own integral, a monotonic trend),
not with itself.
"""

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ground.trajectory import (
    PHASES,
    Atmosphere,
    EngError,
    Motor,
    Rocket,
    TrajectoryError,
    motors,
    parse_eng,
    simulate,
)
from ground.trajectory.atmosphere import G0_M_S2, standard_pressure_pa
from ground.trajectory.examples import sample_names, sample_rocket
from ground.trajectory.motors import generate

SLOW = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def flat_motor(thrust_n, burn_s, propellant_kg, total_kg):
    """Constant thrust for burn_s, then off (a 1 us cut-off: the format ends at zero)."""
    return Motor("F1", 29, 100, [], propellant_kg, total_kg, "Test",
                 [0.0, burn_s, burn_s + 1e-6], [thrust_n, thrust_n, 0.0])


def vacuum_rocket(dry_kg=1.0, **kw):
    return Rocket(dry_kg, 0.0, diameter_m=0.05, rail_length_m=1.0, **kw)


@pytest.fixture(scope="module")
def c6_flight():
    return simulate(sample_rocket("Estes_C6"), "Estes_C6")


@pytest.fixture(scope="module")
def j350_flight():
    return simulate(sample_rocket("AeroTech_J350W"), "AeroTech_J350W")


# --- the atmosphere ------------------------------------------------------------------------
def test_standard_atmosphere_matches_the_published_table():
    atm = Atmosphere()
    assert atm.density_kg_m3(0) == pytest.approx(1.2250, abs=2e-4)
    assert atm.speed_of_sound_m_s(0) == pytest.approx(340.29, abs=0.05)
    assert atm.temperature_k(11000) == pytest.approx(216.65)
    assert atm.pressure_pa(11000) == pytest.approx(22632, abs=5)
    assert atm.temperature_k(15000) == pytest.approx(216.65)  # isothermal above 11 km
    assert atm.pressure_pa(20000) == pytest.approx(5474.9, abs=5)
    assert atm.density_kg_m3(5000) == pytest.approx(0.7364, abs=5e-4)


@pytest.mark.parametrize("height_m", [0.0, 123.4, 1000.0, 3765.0, 9000.0])
def test_pressure_inverts_the_firmware_formula_exactly(height_m):
    p = standard_pressure_pa(height_m)
    assert 44330.77 * (1 - (p / 101325) ** 0.190266) == pytest.approx(height_m, abs=1e-3)


def test_a_hot_pad_keeps_its_pressure_but_thins_the_air():
    std, hot = Atmosphere(1400), Atmosphere(1400, pad_temperature_c=35)
    assert hot.pad_pressure_pa == pytest.approx(std.pad_pressure_pa)
    assert hot.density_kg_m3(1400) < std.density_kg_m3(1400)
    # ideal gas at equal pressure: density in inverse proportion to temperature
    ratio = std.density_kg_m3(1400) / hot.density_kg_m3(1400)
    assert ratio == pytest.approx(308.15 / std.temperature_k(1400), rel=1e-9)


# --- closed forms -------------------------------------------------------------------------
def test_no_drag_flight_matches_the_closed_form():
    """Constant thrust, linear mass loss, gravity only: burnout state and apogee exactly."""
    f_n, burn_s, prop_kg, total_kg, dry_kg = 60.0, 1.5, 0.2, 0.5, 1.0
    res = simulate(vacuum_rocket(dry_kg), flat_motor(f_n, burn_s, prop_kg, total_kg))
    m0, m1 = dry_kg + total_kg, dry_kg + total_kg - prop_kg
    k = prop_kg / burn_s  # kg/s
    v_bo = f_n / k * math.log(m0 / m1) - G0_M_S2 * burn_s
    z_bo = f_n / k * (burn_s - m1 / k * math.log(m0 / m1)) - G0_M_S2 * burn_s ** 2 / 2
    i = int(np.searchsorted(res.t_s, burn_s))
    assert res.t_s[i] == burn_s  # every thrust-curve point is a step boundary
    assert res.vz_m_s[i] == pytest.approx(v_bo, rel=1e-6)
    assert res.z_m[i] == pytest.approx(z_bo, rel=1e-6)
    # ballistic coast: apogee = h0 + v0^2 / 2g, reached v0 / g later
    assert res.apogee_m == pytest.approx(z_bo + v_bo ** 2 / (2 * G0_M_S2), rel=1e-6)
    assert res.time_to_apogee_s == pytest.approx(burn_s + v_bo / G0_M_S2, rel=1e-6)
    # and it falls back to the pad at the speed it would have from the apogee
    assert res.landing_speed_m_s == pytest.approx(math.sqrt(2 * G0_M_S2 * res.apogee_m), rel=1e-6)
    assert res.landing_distance_m < 1e-9


def test_coast_conserves_energy_without_drag():
    res = simulate(vacuum_rocket(), flat_motor(60.0, 1.0, 0.1, 0.3))
    coast = res.t_s > 1.0 + 1e-6
    energy = 0.5 * res.speed_m_s[coast] ** 2 + G0_M_S2 * res.z_m[coast]
    assert np.ptp(energy) / energy.mean() < 1e-9


@pytest.mark.parametrize("angle_deg", [0.0, 15.0])
def test_rail_exit_speed_matches_constant_acceleration(angle_deg):
    f_n, m_kg, rail_m = 100.0, 2.0, 1.5
    rocket = Rocket(m_kg - 1e-3, 0.0, diameter_m=0.05, rail_length_m=rail_m)
    res = simulate(rocket, flat_motor(f_n, 3.0, 1e-9, 1e-3), rail_angle_deg=angle_deg)
    accel = f_n / m_kg - G0_M_S2 * math.cos(math.radians(angle_deg))
    assert res.rail_exit_speed_m_s == pytest.approx(math.sqrt(2 * accel * rail_m), rel=1e-6)
    assert res.rail_exit_time_s == pytest.approx(math.sqrt(2 * rail_m / accel), rel=1e-6)
    exit_i = int(np.searchsorted(res.t_s, res.rail_exit_time_s))
    # on the rail, the rocket moved along the rail only
    horizontal = math.hypot(res.x_m[exit_i], res.y_m[exit_i])
    assert horizontal == pytest.approx(rail_m * math.sin(math.radians(angle_deg)), abs=1e-9)


def test_momentum_gained_is_impulse_less_gravity_and_drag_losses(c6_flight):
    """From liftoff to burnout: integral of m dv = impulse - integral of m g - integral of D.

    Thrust and mass come from the motor file's own methods and drag from the atmosphere,
    not from the integrator; the rocket flies vertically, so everything is along z.
    """
    res, motor, rocket = c6_flight, motors.load("C6"), sample_rocket("Estes_C6")
    sel = (res.t_s >= res.liftoff_time_s) & (res.t_s <= motor.burn_time_s)
    t, v, z = res.t_s[sel], res.vz_m_s[sel], res.z_m[sel]
    m = np.array([rocket.dry_mass_kg + motor.mass_at(x) for x in t])
    thrust = np.array([motor.thrust_at(x) for x in t])
    rho = np.array([res.atmosphere.density_kg_m3(h) for h in z])
    drag = 0.5 * rho * v * np.abs(v) * rocket.cd_area_m2
    gained = float(np.sum(0.5 * (m[1:] + m[:-1]) * np.diff(v)))
    impulse = float(np.trapezoid(thrust, t))
    gravity_loss = float(np.trapezoid(m * G0_M_S2, t))
    drag_loss = float(np.trapezoid(drag, t))
    assert impulse == pytest.approx(motor.total_impulse_ns, rel=0.01)  # lifts off at once
    assert drag_loss > 0.03 * impulse  # the check would be blind if drag were negligible
    assert gained == pytest.approx(impulse - gravity_loss - drag_loss, rel=1e-3)


# --- trends --------------------------------------------------------------------------------
def test_drag_lowers_apogee_and_higher_cd_lowers_it_further():
    motor = motors.load("C6")
    apogees = [simulate(Rocket(0.1, cd, diameter_m=0.0248, main_rate_m_s=4.5), motor).apogee_m
               for cd in (0.0, 0.3, 0.6, 0.9, 1.2)]
    assert all(a > b for a, b in itertools.pairwise(apogees)), apogees
    assert apogees[0] > 1.2 * apogees[2]  # even at 50 m/s drag costs a small rocket a lot


@SLOW
@given(cd_low=st.floats(0.2, 1.0), extra=st.floats(0.02, 0.5))
def test_apogee_falls_as_cd_rises(cd_low, extra):
    motor = motors.load("C6")

    def apogee(cd):
        return simulate(Rocket(0.08, cd, diameter_m=0.0248, main_rate_m_s=4.5), motor).apogee_m

    assert apogee(cd_low) > apogee(cd_low + extra)


def test_thinner_air_flies_higher():
    rocket, motor = sample_rocket("AeroTech_H128W"), motors.load("H128W")
    base = simulate(rocket, motor).apogee_m
    high = simulate(rocket, motor, pad_altitude_m=1500).apogee_m
    hot = simulate(rocket, motor, pad_temperature_c=38).apogee_m
    assert high > base * 1.02 and hot > base * 1.01


@SLOW
@given(wind_from_deg=st.floats(0, 359.9), wind_m_s=st.floats(1.0, 8.0))
def test_wind_drifts_the_landing_downwind(wind_from_deg, wind_m_s):
    res = simulate(sample_rocket("Estes_C6"), "Estes_C6", wind_speed_m_s=wind_m_s,
                   wind_from_deg=wind_from_deg)
    downwind_deg = (wind_from_deg + 180.0) % 360.0
    off = (res.landing_bearing_deg - downwind_deg + 180.0) % 360.0 - 180.0
    assert abs(off) < 0.01
    # once the parachute has caught the wind (its horizontal time constant is ~0.5 s),
    # the rocket moves with the air: drift = wind * time
    k = int(np.searchsorted(res.t_s, res.time_to_apogee_s + 5.0))
    drift_m = math.hypot(res.x_m[-1] - res.x_m[k], res.y_m[-1] - res.y_m[k])
    assert drift_m == pytest.approx(wind_m_s * (res.landing_time_s - res.t_s[k]), rel=1e-3)


def test_a_crosswind_makes_the_rocket_weathercock_upwind():
    still = simulate(sample_rocket("Estes_C6"), "Estes_C6")
    windy = simulate(sample_rocket("Estes_C6"), "Estes_C6", wind_speed_m_s=5, wind_from_deg=270)
    k = int(np.argmax(windy.z_m))
    assert windy.x_m[k] < -5  # apogee west of the pad: it turned into a west wind
    assert windy.apogee_m < still.apogee_m


def test_a_tilted_rail_sends_the_rocket_its_way():
    res = simulate(sample_rocket("Estes_C6"), "Estes_C6", rail_angle_deg=10, rail_bearing_deg=45)
    assert res.landing_bearing_deg == pytest.approx(45, abs=1e-6)
    assert res.landing_distance_m > 20


# --- recovery ------------------------------------------------------------------------------
def test_descent_rates_match_the_requested_rates(j350_flight):
    res, rocket = j350_flight, sample_rocket("AeroTech_J350W")
    rho0 = res.atmosphere.density_kg_m3(0)
    # from 15 s after opening (it takes a few time constants v/g to reach terminal speed)
    drogue = ((res.t_s > res.drogue_time_s + 15) & (res.t_s < res.main_time_s))
    assert drogue.sum() > 100
    # the rate is set at the pad's density; higher up the thin air makes it faster
    rho = np.array([res.atmosphere.density_kg_m3(h) for h in res.z_m[drogue]])
    expected = rocket.drogue_rate_m_s * np.sqrt(rho0 / rho)
    assert np.allclose(-res.vz_m_s[drogue], expected, rtol=0.02)
    main = res.t_s > res.main_time_s + 5
    assert np.allclose(-res.vz_m_s[main], rocket.main_rate_m_s, rtol=0.02)
    assert res.landing_speed_m_s == pytest.approx(rocket.main_rate_m_s, rel=0.01)
    assert res.main_deploy_height_m == pytest.approx(150.0, abs=1e-6)


def test_a_drogue_given_by_cd_area_falls_at_its_terminal_speed():
    rocket = Rocket(1.0, 0.5, diameter_m=0.041, drogue_cd_area_m2=0.05, main_rate_m_s=6,
                    main_deploy_m=150, rail_length_m=2.4)
    res = simulate(rocket, "J350W")
    mass_kg = 1.0 + motors.load("J350W").total_kg - motors.load("J350W").propellant_kg
    sel = (res.t_s > res.drogue_time_s + 15) & (res.t_s < res.main_time_s)
    rho = np.array([res.atmosphere.density_kg_m3(h) for h in res.z_m[sel]])
    terminal = np.sqrt(2 * mass_kg * G0_M_S2 / (rho * (0.05 + rocket.cd_area_m2)))
    assert np.allclose(-res.vz_m_s[sel], terminal, rtol=0.02)


def test_parachutes_open_with_a_finite_load(j350_flight):
    assert j350_flight.max_deploy_accel_m_s2 < 10 * G0_M_S2
    quick = Rocket(1.0, 0.5, diameter_m=0.041, drogue_rate_m_s=25, main_rate_m_s=6,
                   main_deploy_m=150, rail_length_m=2.4, chute_inflation_s=0.05)
    snap = simulate(quick, "J350W")
    assert snap.max_deploy_accel_m_s2 > 2 * j350_flight.max_deploy_accel_m_s2  # shorter: harder
    assert math.isfinite(snap.max_deploy_accel_m_s2)


def test_drogue_delay_opens_after_apogee():
    rocket = Rocket(0.1, 0.75, diameter_m=0.0248, main_rate_m_s=4.5, drogue_delay_s=2.0)
    res = simulate(rocket, "C6")
    assert res.main_time_s == pytest.approx(res.time_to_apogee_s + 2.0, abs=1e-9)
    assert res.main_deploy_height_m < res.apogee_m - 5  # it fell for 2 s first


def test_phases_come_in_flight_order(j350_flight):
    res = j350_flight
    order = [p for i, p in enumerate(res.phase) if i == 0 or p != res.phase[i - 1]]
    assert order == ["rail", "boost", "coast", "drogue", "main", "landed"]
    assert set(order) <= set(PHASES)
    assert res.liftoff_time_s < res.rail_exit_time_s < res.burnout_time_s
    assert res.burnout_time_s < res.time_to_apogee_s < res.main_time_s < res.landing_time_s


# --- accuracy and figures -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["Estes_C6", "AeroTech_J350W"])
def test_rk4_converges(name):
    rocket = sample_rocket(name)
    base = simulate(rocket, name)
    half = simulate(rocket, name, dt_burn_s=0.0005, dt_coast_s=0.005, dt_descent_s=0.025)
    coarse = simulate(rocket, name, dt_burn_s=0.005, dt_coast_s=0.05, dt_descent_s=0.25)
    # 0.1 % would do for any prediction; RK4 with exact event times does far better, and a
    # step that straddled a thrust-curve point or an event would show up at this level
    assert abs(half.apogee_m - base.apogee_m) < 1e-7 * base.apogee_m
    assert abs(coarse.apogee_m - base.apogee_m) < 1e-6 * base.apogee_m
    assert abs(half.landing_time_s - base.landing_time_s) < 1e-5 * base.landing_time_s


def test_an_estes_c6_flies_a_sport_rocket_to_a_few_hundred_metres(c6_flight):
    """Estes rates the C6 for rockets up to ~113 g; a 100 g BT-50 rocket reaches 150-350 m."""
    res = c6_flight
    assert 150 < res.apogee_m < 350
    assert 4.5 < res.time_to_apogee_s < 8
    assert 40 < res.max_speed_m_s < 80 and res.max_mach < 0.3
    # the peak acceleration comes with the ignition spike: 14.09 N on 0.126 kg, less g
    assert res.max_accel_m_s2 == pytest.approx(14.09 / 0.1258 - G0_M_S2, rel=0.05)


def test_the_fast_sample_goes_supersonic(j350_flight):
    assert j350_flight.max_mach > 1.0
    assert j350_flight.max_speed_m_s == pytest.approx(j350_flight.max_mach * 340, rel=0.05)


def test_summary_is_json_and_deterministic(c6_flight):
    again = simulate(sample_rocket("Estes_C6"), "Estes_C6")
    assert json.loads(json.dumps(c6_flight.summary())) == again.summary()
    assert np.array_equal(c6_flight.z_m, again.z_m)
    assert len(c6_flight) == len(c6_flight.t_s) == len(c6_flight.phase)
    assert c6_flight.height_at(-1.0) == 0.0 and c6_flight.height_at(1e6) == 0.0


# --- refusals ----------------------------------------------------------------------------------
def test_too_heavy_a_rocket_never_leaves_the_pad():
    with pytest.raises(TrajectoryError) as info:
        simulate(Rocket(2.0, 0.75, diameter_m=0.0248), "C6")
    text = str(info.value)
    assert "never leaves the pad" in text and "thrust-to-weight 0.71" in text


def test_a_rocket_that_lifts_but_cannot_clear_the_rail_is_refused():
    with pytest.raises(TrajectoryError, match=r"never clears the 1\.00 m rail"):
        simulate(Rocket(0.6, 0.75, diameter_m=0.0248, rail_length_m=1.0), "C6")


def test_a_tilted_rail_needs_thrust_along_it():
    rocket = Rocket(1.0, 0.0, diameter_m=0.05)
    motor = flat_motor(11.0, 2.0, 1e-6, 1e-3)  # thrust-to-weight 1.12
    simulate(rocket, motor)
    with pytest.raises(TrajectoryError, match="along the 30-degree rail"):
        simulate(rocket, motor, rail_angle_deg=30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(dry_mass_kg=-0.1), "dry mass must be positive"),
        (dict(dry_mass_kg=0), "dry mass must be positive"),
        (dict(dry_mass_kg="heavy"), "must be a number"),
        (dict(cd=-0.2), "drag coefficient Cd must be zero or more"),
        (dict(cd=float("nan")), "must be finite"),
        (dict(diameter_m=None), "reference diameter"),
        (dict(reference_area_m2=0.01), "one of the two"),
        (dict(rail_length_m=0), "rail length must be positive"),
        (dict(drogue_rate_m_s=20, drogue_cd_area_m2=0.1), "not both"),
        (dict(drogue_rate_m_s=20, main_rate_m_s=6), "main needs a deploy height"),
        (dict(drogue_rate_m_s=5, main_rate_m_s=6, main_deploy_m=150), "must be slower"),
        (dict(main_deploy_m=150), "no main parachute"),
        (dict(dry_mass_kg=5000), "beyond any model or high-power rocket"),
    ],
)
def test_bad_rocket_inputs_are_refused_with_the_reason(kwargs, message):
    args = dict(dry_mass_kg=0.1, cd=0.75, diameter_m=0.0248)
    args.update(kwargs)
    with pytest.raises(TrajectoryError, match=message):
        Rocket(**args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(rail_angle_deg=90), "rail angle"),
        (dict(rail_angle_deg=-5), "rail angle"),
        (dict(wind_speed_m_s=-1), "wind speed"),
        (dict(pad_altitude_m=9000), "pad altitude"),
        (dict(pad_temperature_c=80), "pad temperature"),
        (dict(dt_burn_s=0), "dt_burn_s"),
    ],
)
def test_bad_launch_conditions_are_refused(kwargs, message):
    with pytest.raises(TrajectoryError, match=message):
        simulate(sample_rocket("Estes_C6"), "C6", **kwargs)


def test_impossible_recovery_rates_are_refused():
    with pytest.raises(TrajectoryError, match="no slower than the rocket falls without one"):
        simulate(Rocket(0.1, 0.75, diameter_m=0.0248, drogue_rate_m_s=200), "C6")


def test_warnings_for_flights_the_safety_codes_frown_on(c6_flight):
    assert any("rail exit speed" in w for w in c6_flight.warnings)
    ballistic = simulate(Rocket(0.1, 0.75, diameter_m=0.0248), "C6", wind_speed_m_s=10,
                         rail_angle_deg=25)
    text = " ".join(ballistic.warnings)
    assert "no recovery" in text and "20 mph" in text and "25 degrees" in text


def test_a_motor_file_without_thrust_is_refused():
    with pytest.raises(EngError, match="no thrust"):
        parse_eng("Z0 18 70 P 0.01 0.02 X\n0.1 0\n0.5 0\n", source="zero.eng")


def test_an_unknown_motor_names_the_bundled_ones():
    with pytest.raises(EngError) as info:
        simulate(sample_rocket("Estes_C6"), "D12")
    for name in motors.available():
        assert name in str(info.value)
    with pytest.raises(TrajectoryError, match="Motor or a bundled"):
        simulate(sample_rocket("Estes_C6"), 42)


# --- the bundled motor files -------------------------------------------------------------------
def test_bundled_motors_parse_and_match_their_published_totals():
    assert motors.available() == ["AeroTech_H128W", "AeroTech_J350W", "Estes_C6"]
    assert sample_names() == motors.available()
    for spec in generate.MOTORS:
        stem = spec["file"][:-4]
        motor = motors.load(stem)
        name, dia, length, _delays, prop, total, maker = spec["header"]
        assert (motor.name, motor.diameter_mm, motor.length_mm) == (name, dia, length)
        assert (motor.propellant_kg, motor.total_kg, motor.manufacturer) == (prop, total, maker)
        assert motor.impulse_class == name[0]
        assert motor.total_impulse_ns == pytest.approx(spec["impulse_ns"], rel=1e-3)
        assert motor.burn_time_s == pytest.approx(spec["burn_s"])
        if "peak_n" in spec:
            assert motor.max_thrust_n == pytest.approx(spec["peak_n"])
        text = motors.read_text(stem)
        assert "; Source:" in text and "not the measured curve" in text
    assert motors.load("c6").name == motors.load("Estes_C6.eng").name == "C6"


def test_bundled_motor_files_are_what_the_generator_writes():
    assert generate.main(["--check"]) == 0
