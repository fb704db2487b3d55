"""Regenerate the bundled .eng files from published totals: python -m ground.trajectory.motors.generate

A measured thrust curve is the best input a simulation can have, but the curves in the
public motor databases carry their own terms. These files are rebuilt instead from each
motor's published figures (total impulse, burn time, masses, dimensions; and the peak
thrust where the shape depends on it) with a generic shape for its propellant, scaled so
that the integral is the published total impulse. Apogee depends mostly on the total
impulse and the burn time, so predictions stay close; the fine shape does not. Each file
says so in its comments.

`--check` compares the files on disk with what this script would write (exit 1 if not).
"""

import argparse
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent

# Black powder: an ignition spike to the published peak, then a long plateau.
# Knots: (fraction of the burn time, share of the peak, share of the plateau level).
BLACK_POWDER = (
    (0.020, 0.05, 0.0),
    (0.060, 0.35, 0.0),
    (0.100, 0.85, 0.0),
    (0.115, 1.00, 0.0),
    (0.135, 0.75, 0.0),
    (0.160, 0.45, 0.0),
    (0.200, 0.00, 1.10),
    (0.500, 0.00, 1.00),
    (0.900, 0.00, 0.95),
    (0.960, 0.00, 0.70),
    (1.000, 0.00, 0.00),
)

# Composite (AeroTech White Lightning): a fast rise, a broad hump, a regressive tail.
# Knots: (fraction of the burn time, multiple of the average thrust before scaling).
COMPOSITE = (
    (0.010, 0.60),
    (0.030, 1.15),
    (0.080, 1.25),
    (0.300, 1.30),
    (0.550, 1.18),
    (0.750, 1.00),
    (0.880, 0.75),
    (0.950, 0.35),
    (1.000, 0.00),
)

MOTORS = (
    {
        "file": "Estes_C6.eng",
        "header": ("C6", 18, 70, "0-3-5-7", 0.0108, 0.0258, "Estes"),
        "impulse_ns": 8.82, "burn_s": 1.86, "peak_n": 14.09, "shape": "black-powder",
        "about": (
            "Estes C6 (C6-0/3/5/7), 18 x 70 mm black-powder single-use motor.",
            "Source: the NAR certification figures for the Estes C6 as listed on",
            "thrustcurve.org: total impulse 8.82 N s, peak thrust 14.09 N, burn time 1.86 s,",
            "propellant 10.8 g, loaded mass 25.8 g.",
        ),
    },
    {
        "file": "AeroTech_H128W.eng",
        "header": ("H128W", 29, 194, "6-10-14", 0.094, 0.206, "AeroTech"),
        "impulse_ns": 176.0, "burn_s": 1.38, "shape": "composite",
        "about": (
            "AeroTech H128W, 29 x 194 mm White Lightning composite motor.",
            "Source: AeroTech's published certification figures for the H128W as listed on",
            "thrustcurve.org, rounded: total impulse 176 N s, average thrust 128 N (burn time",
            "1.38 s), propellant 94 g, loaded mass 206 g.",
        ),
    },
    {
        "file": "AeroTech_J350W.eng",
        "header": ("J350W", 38, 337, "6-10-14", 0.37, 0.62, "AeroTech"),
        "impulse_ns": 700.0, "burn_s": 2.0, "shape": "composite",
        "about": (
            "AeroTech J350W, 38 x 337 mm White Lightning reload in the RMS-38/720 case.",
            "Source: AeroTech's published certification figures for the J350W as listed on",
            "thrustcurve.org, rounded: total impulse 700 N s, average thrust 350 N (burn time",
            "2.0 s), propellant 370 g, loaded mass with the case 620 g.",
        ),
    },
)


def _trapezoid(points):
    total, t0, f0 = 0.0, 0.0, 0.0
    for t, f in points:
        total += 0.5 * (f + f0) * (t - t0)
        t0, f0 = t, f
    return total


def curve(spec):
    """[(t_s, thrust_n)] for a spec, rounded as written, ending at zero thrust."""
    burn = spec["burn_s"]
    if spec["shape"] == "black-powder":
        peak = spec["peak_n"]
        spike = _trapezoid([(k * burn, a * peak) for k, a, _b in BLACK_POWDER])
        per_level = _trapezoid([(k * burn, b) for k, _a, b in BLACK_POWDER])
        level = (spec["impulse_ns"] - spike) / per_level
        if not 0 < level < peak:
            raise ValueError("%s: the published figures do not fit the black-powder shape"
                             % spec["file"])
        raw = [(k * burn, a * peak + b * level) for k, a, b in BLACK_POWDER]
    else:
        raw = [(k * burn, m) for k, m in COMPOSITE]
        scale = spec["impulse_ns"] / _trapezoid(raw)
        raw = [(t, f * scale) for t, f in raw]
    return [(round(t, 4), round(f, 3)) for t, f in raw]


def render(spec):
    name, dia, length, delays, prop, total, maker = spec["header"]
    lines = ["; " + line for line in spec["about"]]
    lines.append("; Regenerated from those published totals with a generic %s shape scaled to the"
                 % spec["shape"])
    lines.append("; total impulse (ground/trajectory/motors/generate.py): not the measured curve.")
    lines.append("%s %d %d %s %g %g %s" % (name, dia, length, delays, prop, total, maker))
    for t, f in curve(spec):
        lines.append("   %.4f %.3f" % (t, f))
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare, do not write")
    args = ap.parse_args(argv)
    stale = []
    for spec in MOTORS:
        path = HERE / spec["file"]
        text = render(spec)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date: %s" % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
