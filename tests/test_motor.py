"""RASP .eng motor files: parsed exactly, malformed ones refused with the line and the reason."""

import pytest

from ground.trajectory.motor import EngError, load_eng, parse_eng

# A small motor written for these tests (not a real product's curve).
TEST_MOTOR = """; a test motor
; two comment lines, then the header
T24 24 70 3-5-7 0.0120 0.0300 Test
0.02 10.0
0.10 20.0   ; peak
0.50 10.0
1.00 0.0
"""


def test_parses_header_and_curve_and_derives_the_figures():
    (m,) = parse_eng(TEST_MOTOR)
    assert m.name == "T24" and m.manufacturer == "Test"
    assert (m.diameter_mm, m.length_mm, m.delays_s) == (24.0, 70.0, [3.0, 5.0, 7.0])
    assert m.time_s[0] == 0.0 and m.thrust_n[0] == 0.0  # the implied start point
    # trapezoids: 0.1 + 1.2 + 6.0 + 2.5
    assert m.total_impulse_ns == pytest.approx(9.8)
    assert m.impulse_class == "C"  # C is 5.01 to 10 N s
    assert m.burn_time_s == 1.0 and m.max_thrust_n == 20.0
    assert m.thrust_at(0.3) == pytest.approx(15.0) and m.thrust_at(2.0) == 0.0
    assert m.mass_at(0) == pytest.approx(0.030)
    assert m.mass_at(1.0) == pytest.approx(0.018)
    assert 0.018 < m.mass_at(0.3) < 0.030


def test_plugged_motor_and_several_motors_in_one_file():
    text = TEST_MOTOR + "P38 38 100 P 0.05 0.10 Test\n0.5 100\n1.0 0\n"
    motors = parse_eng(text)
    assert [m.name for m in motors] == ["T24", "P38"]
    assert motors[1].delays_s == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("T24 24 70 3 0.01 0.03\n0.1 5\n0.2 0\n", "7 fields"),
        ("T24 24 70 3 0.05 0.03 X\n0.1 5\n0.2 0\n", "less than the total mass"),
        ("T24 24 70 3 0.01 0.03 X\n0.1 5\n0.2 1\n", "does not end at zero thrust"),
        ("T24 24 70 3 0.01 0.03 X\n0.2 5\n0.1 0\n", "times must increase"),
        ("T24 24 70 3 0.01 0.03 X\n0.1 five\n0.2 0\n", "not a number"),
        ("T24 24 70 3 0.01 0.03 X\n0.1 5 7\n0.2 0\n", "'time thrust'"),
        ("0.1 5\n", "before any motor header"),
        ("; only comments\n", "no motor"),
        ("T24 24 70 a-b 0.01 0.03 X\n0.1 5\n0.2 0\n", "delays"),
        ("T24 24 70 3 0.01 0.03 X\n0.2 0\n", "fewer than two"),
    ],
)
def test_malformed_files_name_the_line_and_the_problem(text, message):
    with pytest.raises(EngError) as info:
        parse_eng(text, source="bad.eng")
    assert message in str(info.value) and "bad.eng" in str(info.value)


def test_load_eng_reports_missing_and_binary_files(tmp_path):
    with pytest.raises(EngError, match="no motor file"):
        load_eng(tmp_path / "none.eng")
    binary = tmp_path / "x.eng"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(EngError, match="not a text"):
        load_eng(binary)
    good = tmp_path / "t.eng"
    good.write_text(TEST_MOTOR)
    assert load_eng(good).name == "T24"
