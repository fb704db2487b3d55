"""A rocket description file: the rocket, its motor and the day's conditions, as JSON.

    {"version": 1, "name": "Juno III", "motor": "H128W", "mass_g": 900, "diameter_mm": 54,
     "cd": 0.6, "main_ms": 6, "rail_m": 1.8}

"motor" is a bundled motor's name or a RASP .eng file; a relative path is read from the
JSON file's folder, so a rocket and its motor files can be moved together. Every other key
is optional and named as the `coalwood predict` option it stands for: drogue_ms, main_ms,
main_deploy_m, rail_m, rail_angle_deg, rail_bearing_deg, wind_ms, wind_dir (the bearing the
wind blows from), pad_alt_m, temp_c, name.

read() checks what the file holds, key by key; load() also insists on a whole rocket and
flies nothing, but builds the Rocket and the atmosphere so their own checks run. Every
problem is a SpecError with one line naming the file.
"""

import errno
import json
import math
import os

from ground.atomic import write_whole
from ground.trajectory import motors
from ground.trajectory.atmosphere import Atmosphere
from ground.trajectory.errors import TrajectoryError, check_number, check_positive
from ground.trajectory.model import simulate
from ground.trajectory.motor import EngError, load_eng
from ground.trajectory.rocket import Rocket

VERSION = 1
MAX_FILE_BYTES = 1 << 20  # a rocket file is a few hundred bytes
REQUIRED = ("motor", "mass_g", "diameter_mm", "cd")
# (key, "text" or "number", what it is); the order is the order a saved file lists them in
KEYS = (
    ("name", "text", "the rocket's name"),
    ("motor", "text", "a bundled motor's name or a .eng file"),
    ("mass_g", "number", "the rocket without its motor, in grams"),
    ("diameter_mm", "number", "body diameter in mm"),
    ("cd", "number", "drag coefficient"),
    ("drogue_ms", "number", "descent rate under the drogue, m/s"),
    ("main_ms", "number", "descent rate under the main, m/s"),
    ("main_deploy_m", "number", "height the main opens at, m above the pad"),
    ("rail_m", "number", "rail length in m"),
    ("rail_angle_deg", "number", "rail tilt from vertical in degrees"),
    ("rail_bearing_deg", "number", "compass bearing the rail leans toward"),
    ("wind_ms", "number", "wind speed in m/s"),
    ("wind_dir", "number", "compass bearing the wind blows from"),
    ("pad_alt_m", "number", "pad altitude above sea level in m"),
    ("temp_c", "number", "air temperature at the pad in C"),
)
_KIND = {key: kind for key, kind, _what in KEYS}


class SpecError(ValueError):
    """The file cannot be read as a rocket; one line that names the file and the key."""


def _looks_like_path(text):
    return text.lower().endswith(".eng") or "/" in text or os.sep in text


def _check_value(key, value):
    """The model's own limits on one value (TrajectoryError), in the file's units."""
    if key == "mass_g":
        check_positive(key, value, "g", upper=500_000.0)
    elif key == "diameter_mm":
        check_positive(key, value, "mm", upper=1000.0)
    elif key == "cd":
        check_positive(key, value, "", allow_zero=True, upper=5.0)
    elif key in ("drogue_ms", "main_ms"):
        check_positive(key, value, "m/s", upper=200.0 if key == "drogue_ms" else 100.0)
    elif key == "main_deploy_m":
        check_positive(key, value, "m", upper=20000.0)
    elif key == "rail_m":
        check_positive(key, value, "m", upper=30.0)
    elif key == "rail_angle_deg":
        check_number(key, value, "degrees", 0.0, 90.0, high_open=True)
    elif key in ("rail_bearing_deg", "wind_dir"):
        check_number(key, value, "degrees", -360.0, 360.0)
    elif key == "wind_ms":
        check_number(key, value, "m/s", 0.0, 60.0)
    elif key in ("pad_alt_m", "temp_c"):
        try:
            if key == "pad_alt_m":
                Atmosphere(pad_altitude_m=value)
            else:
                Atmosphere(pad_temperature_c=value)
        except TrajectoryError as exc:
            # the atmosphere's message speaks of the pad, not of the file's key
            raise TrajectoryError("%s: %s" % (key, exc)) from None


def read(path):
    """The file's values as a dict (only the keys it has), each checked on its own; a
    relative motor path is made absolute against the file's folder. SpecError if not."""
    path = os.fspath(path)
    try:
        if os.path.exists(path) and not (os.path.isfile(path) or os.path.isdir(path)):
            # asked before opening: a device is never read to its end, a FIFO never waited on
            raise SpecError("%s: not a file (a device, a pipe or a socket)" % path)
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise SpecError("%s: over %d bytes, not a rocket file" % (path, MAX_FILE_BYTES))
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise SpecError("%s: no such rocket file" % path) from None
    except UnicodeDecodeError:
        raise SpecError("%s: not a text file (a rocket file is JSON)" % path) from None
    except OSError as exc:
        raise SpecError("%s: cannot read it (%s)" % (path, exc.strerror or exc)) from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise SpecError("%s%s: not valid JSON (%s)" % (
            path, "" if line is None else ":%d" % line,
            getattr(exc, "msg", str(exc)))) from None
    if not isinstance(doc, dict):
        raise SpecError("%s: a rocket file is one JSON object ({...}), not a %s"
                        % (path, type(doc).__name__))
    version = doc.get("version")
    if version != VERSION or isinstance(version, bool):
        raise SpecError("%s: \"version\" must be %d%s" % (
            path, VERSION, "" if version is None else ", not %r" % (version,)))
    unknown = sorted(set(doc) - set(_KIND) - {"version"})
    if unknown:
        raise SpecError("%s: unknown key %r (a rocket file has: %s)" % (
            path, unknown[0], ", ".join(["version"] + [k for k, _kind, _what in KEYS])))
    values = {}
    for key, kind, what in KEYS:
        if key not in doc or doc[key] is None:
            continue
        value = doc[key]
        if kind == "text":
            if not isinstance(value, str) or not value.strip():
                raise SpecError("%s: %r must be text (%s), not %s" % (
                    path, key, what, json.dumps(value)))
            value = value.strip()
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError("%s: %r must be a number (%s), not %s" % (
                    path, key, what, json.dumps(value)))
            try:
                _check_value(key, value)
            except TrajectoryError as exc:
                raise SpecError("%s: %s" % (path, exc)) from None
            value = float(value)
        values[key] = value
    motor = values.get("motor")
    if motor is not None and _looks_like_path(motor) and not os.path.isabs(motor):
        values["motor"] = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)),
                                                        motor))
    return values


def load_motor(text):
    """A Motor from a .eng path or a bundled name; EngError or OSError if it cannot be."""
    if os.path.exists(text) and _looks_like_path(text):
        return load_eng(text)  # EngError says what is wrong with a folder or a device
    if os.path.isfile(text):
        return load_eng(text)
    if _looks_like_path(text):
        try:
            return motors.load(os.path.basename(text))
        except EngError:
            raise EngError("no motor file %s (and no bundled motor of that name; bundled: %s)"
                           % (text, ", ".join(motors.available()))) from None
    return motors.load(text)


class RocketSpec:
    """A whole rocket from a file: `values` (as read), `rocket` (a Rocket), `motor` (a Motor);
    conditions() and simulate() fly it."""

    def __init__(self, values, rocket, motor, source=None):
        self.values = values
        self.rocket = rocket
        self.motor = motor
        self.source = source

    def conditions(self, pad_alt_m=None):
        """simulate()'s keywords for the day the file describes; `pad_alt_m` is the pad's
        height when the file does not give one (a flight's, say)."""
        v = self.values
        if v.get("pad_alt_m") is not None:
            pad_alt_m = v["pad_alt_m"]
        return {"rail_angle_deg": v.get("rail_angle_deg", 0.0),
                "rail_bearing_deg": v.get("rail_bearing_deg", 0.0),
                "wind_speed_m_s": v.get("wind_ms", 0.0), "wind_from_deg": v.get("wind_dir", 0.0),
                "pad_altitude_m": 0.0 if pad_alt_m is None else pad_alt_m,
                "pad_temperature_c": v.get("temp_c")}

    def simulate(self, pad_alt_m=None):
        """The predicted FlightResult; TrajectoryError if the rocket cannot fly."""
        return simulate(self.rocket, self.motor, **self.conditions(pad_alt_m))


def rocket_of(values):
    """The Rocket the values describe (TrajectoryError from its own checks)."""
    name = values.get("name") or "%g g, %g mm rocket" % (values["mass_g"], values["diameter_mm"])
    return Rocket(values["mass_g"] / 1000.0, values["cd"],
                  diameter_m=values["diameter_mm"] / 1000.0,
                  rail_length_m=values.get("rail_m", 1.0),
                  drogue_rate_m_s=values.get("drogue_ms"), main_rate_m_s=values.get("main_ms"),
                  main_deploy_m=values.get("main_deploy_m"), name=name)


def load(path):
    """A RocketSpec from the file at `path`: read(), then a whole rocket and its motor."""
    path = os.fspath(path)
    values = read(path)
    missing = [key for key in REQUIRED if key not in values]
    if missing:
        raise SpecError("%s: no %r (a rocket file needs %s)" % (
            path, missing[0], ", ".join(REQUIRED)))
    try:
        rocket = rocket_of(values)
    except TrajectoryError as exc:
        raise SpecError("%s: %s" % (path, exc)) from None
    try:
        motor = load_motor(values["motor"])
    except EngError as exc:
        raise SpecError("%s: motor: %s" % (path, exc)) from None
    except OSError as exc:
        raise SpecError("%s: motor %s: cannot read it (%s)" % (
            path, values["motor"], exc.strerror or exc)) from None
    return RocketSpec(values, rocket, motor, source=path)


def save(path, values):
    """Write `values` (read()'s keys; None and missing ones left out) as a rocket file. A
    motor file's path is written relative to the JSON file's folder, so read() finds it."""
    path = os.fspath(path)
    doc = {"version": VERSION}
    for key, kind, _what in KEYS:
        value = values.get(key)
        if value is None:
            continue
        if key == "motor" and _looks_like_path(value) and os.path.exists(value):
            value = os.path.relpath(os.path.abspath(value),
                                    os.path.dirname(os.path.abspath(path)))
        if kind == "number":
            value = float(value)
            if not math.isfinite(value):
                raise SpecError("%s: %r is not a finite number" % (path, key))
            if value == int(value):
                value = int(value)  # 900, not 900.0: the file is for people too
        doc[key] = value
    text = json.dumps(doc, indent=2) + "\n"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):  # write_whole would make it: a typo must not make folders
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), folder)
    write_whole(path, text.encode("utf-8"))  # never half a file, nor a file half replaced
    return path


def sample_spec(motor_name):
    """The sample rocket for a bundled motor (the one the simulated pad flies) as a
    RocketSpec with no file: what the window compares a simulated flight with.
    ValueError (EngError) naming the bundled motors if there is no such motor."""
    from ground.trajectory import examples, motors

    stem = motors.file_name(motor_name)
    return RocketSpec({}, examples.sample_rocket(stem), motors.load(stem))
