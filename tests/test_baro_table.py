"""firmware/baro_table.py holds exactly the standard atmosphere, in double precision."""

from firmware.baro import P_MAX_PA, P_MIN_PA
from firmware.baro_table import ALTITUDE_CM


def test_table_is_the_formula():
    n = (P_MAX_PA - P_MIN_PA) // 256 + 2
    want = [round(44330.77 * (1 - ((P_MIN_PA + 256 * i) / 101325) ** 0.190266) * 100) for i in range(n)]
    assert list(ALTITUDE_CM) == want
