"""Readers for the real flight logs in ../shared/flights (test fixtures: pressure over time)."""

import csv
import os
import pathlib

SHARED = pathlib.Path(os.environ.get("COALWOOD_SHARED", pathlib.Path(__file__).resolve().parents[2] / "shared"))
FLIGHTS = SHARED / "flights"


def _rows(name):
    text = (FLIGHTS / name).read_text()
    return list(csv.reader(text.splitlines()))


def rrc3_juno3():
    """[(t_ms, pressure_pa, log_altitude_m)] from the RRC3 log, glitch rows dropped."""
    rows = _rows("juno3-rrc3-2023.csv")
    out = []
    for r in rows[1:]:
        try:
            t, alt, p = float(r[0]), float(r[1]), float(r[2]) * 100
        except (ValueError, IndexError):
            continue
        if 30000 < p < 110000 and -50 < alt < 5000:
            out.append((round(t * 1000), round(p), alt))
    return out


def cats_hedy():
    """[(t_ms, pressure_pa, None)] from the CATS barometer log (first sensor id only)."""
    rows = _rows("hedy-cats-baro.csv")
    header = [h.strip().lower() for h in rows[0]]
    ti, ii, pi = header.index("ts"), header.index("id"), header.index("p")
    first_id = None
    out = []
    for r in rows[1:]:
        try:
            t, sid, p = float(r[ti]), r[ii].strip(), float(r[pi])
        except (ValueError, IndexError):
            continue
        first_id = first_id or sid
        if sid == first_id:
            out.append((round(t * 1000), round(p), None))
    return out


def telemetrum_prometheus():
    """[(t_ms, pressure_pa, log_height_m)] from the AltosUI export (repeated times kept)."""
    rows = _rows("prometheus-telemetrum-2022.csv")
    header = [h.strip().lstrip("#").strip().lower() for h in rows[0]]
    ti, pi, hi = header.index("time"), header.index("pressure"), header.index("height")
    out = []
    for r in rows[1:]:
        try:
            out.append((round(float(r[ti]) * 1000), round(float(r[pi])), float(r[hi])))
        except (ValueError, IndexError):
            continue
    return out
