"""RASP .eng motor files: the format every motor database and simulator reads.

    ; comments start with a semicolon
    E12 24 70 0-3-5 0.0355 0.0552 Estes
    0.052 5.253
    ...
    2.350 0.0

The header has exactly seven fields: name, diameter (mm), length (mm), delays
(dash-separated seconds, or P for plugged), propellant mass (kg), total mass (kg),
manufacturer. Then time/thrust pairs (s, N) with strictly increasing times,
ending at zero thrust. A file may hold several motors. Anything else is an
EngError naming the file, the line and what is wrong.
"""

import pathlib

import numpy as np

CLASS_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# a motor file is a few kB; a whole manufacturer's catalogue is well under this
MAX_ENG_BYTES = 4 << 20


class EngError(ValueError):
    """A malformed motor file; the message says where and why."""


class Motor:
    def __init__(self, name, diameter_mm, length_mm, delays_s, propellant_kg, total_kg,
                 manufacturer, time_s, thrust_n, source=""):
        self.name = name
        self.diameter_mm = diameter_mm
        self.length_mm = length_mm
        self.delays_s = delays_s  # [] for a plugged motor
        self.propellant_kg = propellant_kg
        self.total_kg = total_kg
        self.manufacturer = manufacturer
        # the curve starts at (0, 0) as every RASP reader assumes
        if time_s[0] > 0:
            time_s = [0.0, *time_s]
            thrust_n = [0.0, *thrust_n]
        self.time_s = np.asarray(time_s, dtype=float)
        self.thrust_n = np.asarray(thrust_n, dtype=float)
        self.source = source

    @property
    def total_impulse_ns(self):
        return float(np.trapezoid(self.thrust_n, self.time_s))

    @property
    def burn_time_s(self):
        return float(self.time_s[-1])

    @property
    def max_thrust_n(self):
        return float(self.thrust_n.max())

    @property
    def average_thrust_n(self):
        return self.total_impulse_ns / self.burn_time_s

    @property
    def impulse_class(self):
        """The NAR/Tripoli letter: A is up to 2.5 N s, each letter doubles."""
        limit = 2.5
        for letter in CLASS_LETTERS:
            if self.total_impulse_ns <= limit:
                return letter
            limit *= 2
        return "?"

    def thrust_at(self, t_s):
        """Thrust (N) at time t, linear between points, zero outside the burn."""
        return float(np.interp(t_s, self.time_s, self.thrust_n, left=0.0, right=0.0))

    def mass_at(self, t_s):
        """Motor mass (kg) at time t: propellant burns in proportion to impulse delivered."""
        if t_s <= 0:
            return self.total_kg
        if t_s >= self.burn_time_s:
            return self.total_kg - self.propellant_kg
        mask = self.time_s <= t_s
        ts = np.append(self.time_s[mask], t_s)
        fs = np.append(self.thrust_n[mask], self.thrust_at(t_s))
        burned = float(np.trapezoid(fs, ts)) / self.total_impulse_ns
        return self.total_kg - self.propellant_kg * burned

    def __repr__(self):
        return "Motor(%s %s, %.1f N s, %.2f s)" % (
            self.manufacturer, self.name, self.total_impulse_ns, self.burn_time_s)


def _number(text, what, where):
    try:
        value = float(text)
    except ValueError:
        raise EngError("%s: %s is not a number: %r" % (where, what, text)) from None
    if not np.isfinite(value):
        raise EngError("%s: %s is not finite: %r" % (where, what, text))
    return value


def parse_eng(text, source="<text>"):
    """Every motor in a RASP .eng text; raises EngError for anything malformed."""
    motors = []
    header = None
    points = []
    header_line = 0

    def finish(lineno):
        if header is None:
            return
        where = "%s:%d" % (source, header_line)
        if len(points) < 2:
            raise EngError("%s: motor %s has fewer than two thrust points" % (where, header[0]))
        if not any(p[1] > 0.0 for p in points):
            # a curve of zeros has no impulse: mass_at and average_thrust_n would divide by it
            raise EngError("%s: motor %s has no thrust (every point is zero)" % (where, header[0]))
        if points[-1][1] != 0.0:
            raise EngError("%s: motor %s does not end at zero thrust (last point %g s, %g N)"
                           % (where, header[0], points[-1][0], points[-1][1]))
        name, dia, length, delays, prop, total, maker = header
        motors.append(Motor(name, dia, length, delays, prop, total, maker,
                            [p[0] for p in points], [p[1] for p in points], source))

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        where = "%s:%d" % (source, lineno)
        fields = line.split()
        if not fields[0][0].isdigit() and fields[0][0] not in "+-.":
            # a header line starts the next motor
            finish(lineno)
            if len(fields) != 7:
                raise EngError("%s: a motor header has 7 fields (name diameter length delays "
                               "propellant-kg total-kg maker), this one has %d" % (where, len(fields)))
            name, dia, length, delays_text, prop, total, maker = fields
            dia_mm = _number(dia, "the diameter (mm)", where)
            len_mm = _number(length, "the length (mm)", where)
            prop_kg = _number(prop, "the propellant mass (kg)", where)
            total_kg = _number(total, "the total mass (kg)", where)
            if dia_mm <= 0 or len_mm <= 0:
                raise EngError("%s: diameter and length must be positive" % where)
            if not 0 < prop_kg < total_kg:
                raise EngError("%s: the propellant mass (%g kg) must be positive and less than the "
                               "total mass (%g kg)" % (where, prop_kg, total_kg))
            if delays_text.upper() == "P":
                delays = []
            else:
                try:
                    delays = [float(d) for d in delays_text.split("-")]
                except ValueError:
                    raise EngError("%s: delays are seconds joined by '-' (e.g. 3-5-7) or P, not %r"
                                   % (where, delays_text)) from None
            header = (name, dia_mm, len_mm, delays, prop_kg, total_kg, maker)
            header_line = lineno
            points = []
            continue
        if header is None:
            raise EngError("%s: thrust data before any motor header" % where)
        if len(fields) != 2:
            raise EngError("%s: a thrust point is 'time thrust', got %d fields" % (where, len(fields)))
        t = _number(fields[0], "the time (s)", where)
        f = _number(fields[1], "the thrust (N)", where)
        if t < 0 or f < 0:
            raise EngError("%s: time and thrust cannot be negative" % where)
        if points and t <= points[-1][0]:
            raise EngError("%s: times must increase (%g s after %g s)" % (where, t, points[-1][0]))
        points.append((t, f))
    finish(None)
    if not motors:
        raise EngError("%s: no motor in the file" % source)
    return motors


def load_eng(path):
    """The first motor of a .eng file (most files hold one). EngError for what is not a
    readable .eng file (none there, a folder, a device, binary, far too long); OSError
    as open() raises it otherwise (permission denied)."""
    path = pathlib.Path(path)
    try:
        if path.is_dir():
            raise EngError("%s is a folder, not a motor file" % path)
        if not path.is_file():  # asked before opening: a FIFO would wait for a writer
            if path.exists():
                raise EngError("%s is not a file (a device, a pipe or a socket)" % path)
            raise FileNotFoundError
        with path.open("rb") as f:
            data = f.read(MAX_ENG_BYTES + 1)
    except FileNotFoundError:
        raise EngError("no motor file %s" % path) from None
    if len(data) > MAX_ENG_BYTES:
        raise EngError("%s is over %d bytes: not a motor file" % (path, MAX_ENG_BYTES))
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise EngError("%s is not a text .eng file" % path) from None
    return parse_eng(text, source=str(path))[0]
