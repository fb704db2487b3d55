"""Flight analysis: clean heights, smoothed velocity and acceleration, events, statistics.

    result = analyze(flight)          # a Flight from ground.flight.formats
    result.stats["apogee_agl_m"], result.events, result.to_dict()

The method, step by step:

1. Glitches. A sample is rejected when it is physically impossible: a jump to or from its
   neighbours faster than MAX_VERTICAL_SPEED_MS (2 km/s: no amateur rocket climbs or falls
   that fast, a corrupt row does), or further from the median of the samples within
   GLITCH_HALF_WINDOW_S around it than GLITCH_MIN_M and GLITCH_SIGMAS times the noise
   there (the local noise: a parachute swinging reads noisier than a coast). The median of
   a window follows any real climb or fall, which is monotonic over a second and a half,
   and ignores what lasts less than half the window: the pressure spike of an ejection
   charge or of the motor lighting, a sensor glitch, a short shock on the static ports.
   Rejected samples are not used; they are kept and flagged.

2. A uniform time grid (the log's fastest steady rate, at most GRID_MAX_HZ; faster logs
   are averaged into grid cells), the kept samples interpolated onto it.

3. A Kalman smoother: a constant-acceleration model (height, vertical speed, acceleration;
   white jerk of spectral density Q_JERK) with the measured height's noise estimated from
   the log, a forward filter and a Rauch-Tung-Striebel backward pass. On a uniform grid
   with steady-state gains both passes are a fixed linear filter, so the smoother is its
   impulse response (computed once per grid step and noise, and cached) applied by FFT
   convolution: the recursive smoother's result to 1e-8 away from the ends, milliseconds
   for a real flight, O(n log n) for a million samples. The ends are extended by odd
   reflection (a rocket at rest stays at rest; one descending when the log ends keeps
   descending). Q_JERK was chosen on flights with a known truth (the simulated board
   flying the bundled motors) and on the RRC3 log beside its altimeter's own velocity:
   stiffer and the burn's speed is smeared, looser and the boost's pressure noise reads
   as speed. Where the log slows down (a logger dropping to 10 Hz under parachute), those
   stretches are smoothed again at their own rate and noise, since on the fine grid each
   sample would be trusted as many times over as it spans cells.

4. Barometer windows that no rocket can fly. Near Mach 1 the shock system sweeps over the
   static ports and the barometer reads hundreds of metres wrong for a second or more
   (the "Mach dip"); no median can tell a lasting offset from a climb. Where the
   acceleration of a parabola fitted through each second of heights is beyond
   MAX_SMOOTH_ACCEL_MS2 (50 g sustained, more than any airframe here survives), widened
   while the smoother has the rocket above TRANSONIC_MACH, the barometer is not used:
   the window is bridged by a cubic that matches the height and speed the good data give
   on both sides (what a smoother does across a gap), and smoothed again. The bridge is
   reported; speeds inside it are the bridge's estimate, not measurements, and the peak
   of a boost inside one is underestimated (the simulated J350W: 10 % low).

5. A measured accelerometer (AltosUI's acceleration column). As AltOS does, the barometer
   is distrusted at speed: from liftoff to burnout the speed is the accelerometer's
   integral; after burnout the two are blended, all accelerometer above 328 m/s and all
   barometer below 200 m/s (AltOS's AO_MAX_BARO_SPEED ramp). Heights stay barometric.

6. Events: the log's own where it records them (Flight.events), the rest found here:
   liftoff (the height leaves the pad), burnout (the accelerometer's thrust ends, or the
   highest climbing speed), apogee (highest smoothed height), drogue and main (changes of
   descent rate: the best split of the descent into two steady rates, accepted when the
   later is clearly slower; a drogue opening is the first deceleration of the fall after
   apogee; one rate all the way down is a main if slow enough to land on, else a drogue),
   landing (back at the final ground level, still). Every event's altitude is the smoothed
   height at its time.

7. Statistics: apogee above the pad and, where the log knows the pad's height, above sea
   level; time to apogee; maximum speed and Mach number (speed of sound of the standard
   atmosphere at the rocket's height); maximum acceleration during the burn (an ejection
   shock is not the motor's; from a barometer it is the smoothed figure, blind to a
   thrust spike); burn time; drogue and main descent rates (median over each phase);
   time under each; flight time. Durations run from the first motion (a log's liftoff can
   be a detection some metres up) to the touchdown (a log's landing can be a detection
   seconds later, once the rocket has lain still).
"""

import functools
import math
import time

import numpy as np

from ground.flight.formats import find_liftoff_s
from ground.flight.formats.base import FlightEvent, pressure_altitude_m
from ground.trajectory.atmosphere import GAMMA_AIR, LAPSE_K_M, R_AIR_J_KG_K, T0_K, TROPOPAUSE_M

Q_JERK = 100.0  # m^2/s^5: white-jerk spectral density of the smoother's model
GRID_MAX_HZ = 100.0
MAX_GRID_FACTOR = 4  # a grid never has more than this many points per sample (plus slack)
GLITCH_HALF_WINDOW_S = 0.75
GLITCH_POINTS = 13
GLITCH_MIN_M = 5.0
GLITCH_SIGMAS = 8.0
LOCAL_NOISE_S = 5.0
MAX_VERTICAL_SPEED_MS = 2000.0
MAX_SMOOTH_ACCEL_MS2 = 50.0 * 9.80665
WILD_HALF_WINDOW_S = 0.5
TRANSONIC_MACH = 0.8
BRIDGE_MARGIN_S = 0.25
BRIDGE_EDGE_S = 0.5
BARO_TRUSTED_BELOW_MS = 200.0  # AltOS: AO_MAX_BARO_SPEED
BARO_IGNORED_ABOVE_MS = 328.0  # AltOS: the end of its distrust ramp
LANDED_BAND_M = 5.0
LANDED_SPEED_MS = 2.0
LANDED_HOLD_S = 3.0
RATE_CHANGE_RATIO = 1.5
RATE_CHANGE_MIN_MS = 3.0
RATE_SEGMENT_S = 5.0  # each steady rate lasts at least this long
MIN_DESCENT_MS = 1.5  # slower than this is not a descent under a parachute
DROGUE_DELAY_MAX_S = 15.0  # a drogue opens this soon after apogee, or it is not one
SPARSE_FRACTION = 0.3  # grid cells holding a sample, below which a stretch is sparse
SPARSE_MIN_S = 5.0
OPENING_SHOCK_MS2 = 0.5 * 9.80665
# a lone parachute faster than this is a drogue (mains land rockets at 4-8 m/s)
SINGLE_CHUTE_MAIN_MAX_MS = 12.0

STAT_KEYS = ("apogee_agl_m", "apogee_msl_m", "time_to_apogee_s", "max_speed_ms", "max_mach",
             "max_accel_ms2", "burn_time_s", "drogue_rate_ms", "main_rate_ms",
             "time_under_drogue_s", "time_under_main_s", "flight_time_s")


class Analysis:
    """What analyze() found. Per-sample series (same length as the flight):
    altitude_m (smoothed), velocity_ms, accel_ms2, mach, rejected (bool).
    Grid series: grid_t_s, grid_altitude_m, grid_velocity_ms, grid_accel_ms2.
    events: [FlightEvent]; stats: {STAT_KEYS...}; bridges: [(t0_s, t1_s, why)];
    notes: one line each; timings_s: seconds per step."""

    def __init__(self, flight):
        self.flight = flight
        self.notes = []
        self.bridges = []
        self.timings_s = {}

    @property
    def samples(self):
        return len(self.flight)

    def event(self, name):
        for ev in self.events:
            if ev.name == name:
                return ev
        return None

    def to_dict(self):
        """JSON-ready: the statistics, events, the flight's metadata and what was done."""
        f = self.flight
        out = {k: _num(self.stats.get(k)) for k in STAT_KEYS}
        out.update({
            "events": [e.as_dict() for e in self.events],
            "format": f.format,
            "format_title": f.format_title,
            "samples": len(f),
            "source": f.source,
            "device": f.metadata.get("device"),
            "firmware": f.metadata.get("firmware"),
            "flight": f.metadata.get("flight"),
            "pad_pressure_pa": _num(f.pad_pressure_pa, 1),
            "pad_altitude_msl_m": _num(f.pad_altitude_msl_m, 1),
            "time_origin": f.time_origin,
            "duration_s": _num(float(f.t_s[-1] - f.t_s[0]), 3),
            "glitches_rejected": int(np.count_nonzero(self.rejected)),
            "bridged": [{"t0_s": _num(a, 3), "t1_s": _num(b, 3), "why": why}
                        for a, b, why in self.bridges],
            "accelerometer": f.accel_ms2 is not None,
            "notes": list(f.notes) + list(self.notes),
        })
        return out


def _num(value, digits=3):
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


# --- the atmosphere ------------------------------------------------------------------------
def speed_of_sound_ms(altitude_msl_m):
    """The standard day's speed of sound at heights above sea level (array)."""
    h = np.minimum(np.asarray(altitude_msl_m, dtype=np.float64), TROPOPAUSE_M)
    return np.sqrt(GAMMA_AIR * R_AIR_J_KG_K * (T0_K - LAPSE_K_M * h))


def pad_msl_m(flight):
    """The pad's height above sea level for the air's temperature: the log's when it says,
    else its pressure altitude, else sea level."""
    if flight.pad_altitude_msl_m is not None:
        return float(flight.pad_altitude_msl_m)
    if flight.pad_pressure_pa is not None:
        return float(pressure_altitude_m(flight.pad_pressure_pa))
    return 0.0


# --- step 1: glitches ---------------------------------------------------------------------
def noise_sigma_m(t_s, z_m):
    """The sensor noise (m, 1 sigma): robust spread of each sample about the line through
    its neighbours; never below the reading's quantum / sqrt(12) or 5 cm."""
    if len(z_m) < 5:
        return 1.0
    # a statistic, not a filter: a few hundred thousand samples settle it
    every = max(1, len(z_m) // 300000)
    if every > 1:
        t_s, z_m = t_s[::every], z_m[::every]
    dt0 = t_s[1:-1] - t_s[:-2]
    dt1 = t_s[2:] - t_s[1:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        line = (z_m[:-2] * dt1 + z_m[2:] * dt0) / (dt0 + dt1)
    e = (z_m[1:-1] - line)[np.isfinite(line)]
    sigma = float(np.median(np.abs(e - np.median(e)))) * 1.4826 / math.sqrt(1.5) if len(e) else 0
    steps = np.abs(np.diff(z_m))
    steps = steps[steps > 1e-9]
    quantum = float(np.percentile(steps, 5)) if len(steps) else 0.0
    return max(sigma, quantum / math.sqrt(12.0), 0.05)


def _mirror(idx, n):
    idx = np.abs(idx)
    return np.where(idx > n - 1, 2 * (n - 1) - idx, idx)


def find_glitches(t_s, z_m, sigma_m):
    """Samples no rocket could have produced (see the module docstring, step 1)."""
    n = len(z_m)
    bad = ~np.isfinite(z_m)
    dt = np.diff(t_s)
    jump = np.abs(np.diff(z_m)) > MAX_VERTICAL_SPEED_MS * dt + 6.0 * sigma_m + GLITCH_MIN_M
    # a spike: an impossible jump in and another out, opposite ways
    d = np.diff(z_m)
    spike = jump[:-1] & jump[1:] & (np.sign(d[:-1]) != np.sign(d[1:]))
    bad[1:-1] |= spike
    if n > 2 and jump[-1] and not jump[-2]:
        bad[-1] = True
    if n > 2 and jump[0] and not jump[1]:
        bad[0] = True
    # the median of GLITCH_POINTS samples spread over the window around each centre (centres
    # a fraction of the window apart; the reference in between interpolated), the window
    # mirrored at the log's ends
    k = (GLITCH_POINTS - 1) // 2
    spacing = GLITCH_HALF_WINDOW_S / k
    every_s = max(spacing / 2.0, (t_s[-1] - t_s[0]) / (2.0 * n))  # at most 2 centres a sample
    centres = np.r_[np.minimum(np.searchsorted(t_s, np.arange(t_s[0], t_s[-1], every_s)), n - 1),
                    n - 1]
    centres = centres[np.r_[True, np.diff(centres) > 0]]
    times = t_s[centres][:, None] + np.arange(-k, k + 1)[None, :] * spacing
    times = np.where(times < t_s[0], 2 * t_s[0] - times, times)
    times = np.where(times > t_s[-1], 2 * t_s[-1] - times, times)
    idx = np.clip(np.searchsorted(t_s, times), 0, n - 1)
    zz = z_m
    if np.any(bad):
        # the impossible jumps already found are filled in, not left out: a median of a
        # window one sample short would sit half a sample off on a steep climb
        if np.count_nonzero(~bad) < 2:
            return bad
        zz = z_m.copy()
        zz[bad] = np.interp(t_s[bad], t_s[~bad], z_m[~bad])
    ref_c = np.median(zz[idx], axis=1)
    ok_c = np.isfinite(ref_c)
    if np.count_nonzero(ok_c) < 2:
        return bad
    resid = np.abs(z_m - np.interp(t_s, t_s[centres][ok_c], ref_c[ok_c]))
    # the noise where the sample is (a parachute swinging is noisier than a coast): the
    # median residual over LOCAL_NOISE_S around it
    r_c = np.where(ok_c, np.abs(resid[centres]), sigma_m)
    span = max(1, round(LOCAL_NOISE_S / every_s))
    stride = max(1, span // 8)
    padded = np.pad(r_c, span, mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * span + 1)[::stride]
    local_c = np.median(windows, axis=1) * 1.4826
    local = np.interp(t_s, t_s[centres][::stride], local_c)
    bad |= resid > np.maximum(GLITCH_MIN_M, GLITCH_SIGMAS * np.maximum(local, sigma_m))
    return bad


# --- step 2: the grid ---------------------------------------------------------------------
def _grid(t_s, z_m, n_samples):
    """(grid times, heights on it, grid step, samples per cell): see step 2."""
    dts = np.diff(t_s)
    dts = dts[dts > 0]
    dt = max(float(np.percentile(dts, 10)), 1.0 / GRID_MAX_HZ)
    span = float(t_s[-1] - t_s[0])
    limit = MAX_GRID_FACTOR * n_samples + 1000
    if span / dt > limit:
        dt = span / limit
    n = math.floor(span / dt) + 1
    grid = t_s[0] + np.arange(n) * dt
    cell = np.minimum(((t_s - t_s[0]) / dt + 0.5).astype(np.int64), n - 1)
    counts = np.bincount(cell, minlength=n)
    per_cell = float(np.mean(counts[counts > 0]))
    if per_cell > 1.5:
        used = counts > 0
        tm = np.bincount(cell, weights=t_s, minlength=n)[used] / counts[used]
        zm = np.bincount(cell, weights=z_m, minlength=n)[used] / counts[used]
        return grid, np.interp(grid, tm, zm), dt, per_cell, counts
    return grid, np.interp(grid, t_s, z_m), dt, 1.0, counts


# --- step 3: the smoother -----------------------------------------------------------------
def _model(dt, q):
    f = np.array([[1.0, dt, dt * dt / 2.0], [0.0, 1.0, dt], [0.0, 0.0, 1.0]])
    qm = q * np.array([[dt ** 5 / 20.0, dt ** 4 / 8.0, dt ** 3 / 6.0],
                       [dt ** 4 / 8.0, dt ** 3 / 3.0, dt ** 2 / 2.0],
                       [dt ** 3 / 6.0, dt ** 2 / 2.0, dt]])
    return f, qm


@functools.lru_cache(maxsize=32)
def smoother_kernel(dt, q, r, tol=1e-10):
    """The steady-state Kalman/RTS smoother as a filter: (G, offset) with
    x_k = sum_d G[d + offset] * z[k - d], G of shape (length, 3) for (height, speed,
    acceleration), for grid step dt (s), jerk density q and measurement variance r (m^2)."""
    f, qm = _model(dt, q)
    h = np.array([[1.0, 0.0, 0.0]])
    p = np.eye(3) * max(r, 1.0) * 1e3
    for _ in range(100000):
        pp = f @ p @ f.T + qm
        gain = pp @ h.T / (pp[0, 0] + r)
        pn = (np.eye(3) - gain @ h) @ pp
        pn = (pn + pn.T) / 2.0
        if np.max(np.abs(pn - p)) <= 1e-13 * np.max(np.abs(pn)):
            p = pn
            break
        p = pn
    pp = f @ p @ f.T + qm
    gain = (pp @ h.T / (pp[0, 0] + r))[:, 0]
    c = p @ f.T @ np.linalg.inv(pp)
    a = (np.eye(3) - np.outer(gain, h[0])) @ f
    fwd = [gain]
    while len(fwd) < 200000:
        fwd.append(a @ fwd[-1])
        if np.max(np.abs(fwd[-1])) < tol * np.max(np.abs(gain)):
            break
    fwd = np.array(fwd)  # fwd[n] = A^n K: the filter's response n steps after an impulse
    b = np.eye(3) - c @ f
    back = [b]
    cm = np.eye(3)
    while len(back) < 200000:
        cm = c @ cm
        back.append(cm @ b)
        if np.max(np.abs(cm)) < tol:
            break
    back = np.array(back)  # back[m] = C^m (I - C F)
    lf, lb = len(fwd), len(back)
    g = np.zeros((lf + lb - 1, 3))
    for m in range(lb):
        g[lb - 1 - m: lb - 1 - m + lf] += fwd @ back[m].T
    return g, lb - 1


def _fast_len(n):
    """The next length >= n with no prime factor above 5 (FFTs are fast there)."""
    best = 1 << (n - 1).bit_length()
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            f = f35
            while f < n:
                f *= 2
            best = min(best, f)
            f35 *= 3
        f5 *= 5
    return best


@functools.lru_cache(maxsize=8)
def _kernel_spectrum(dt, q, r, nfft):
    g, off = smoother_kernel(dt, q, r)
    return np.fft.rfft(g.T, nfft, axis=1), off, len(g)


def smooth(z_m, dt, q=Q_JERK, r=1.0):
    """Smoothed (height, speed, acceleration) on a uniform grid: an (n, 3) array."""
    z = np.asarray(z_m, dtype=np.float64)
    n = len(z)
    g, off = smoother_kernel(dt, q, r)
    pad = len(g)
    if n < 2:
        return np.column_stack([z, np.zeros(n), np.zeros(n)])
    # odd reflection about the end samples, repeated if the kernel is longer than the data
    ext = z
    while len(ext) - n < 2 * pad:
        left = 2 * ext[0] - ext[1:min(len(ext), pad + 1)][::-1]
        right = 2 * ext[-1] - ext[-min(len(ext), pad + 1):-1][::-1]
        ext = np.concatenate([left, ext, right])
    lead = (len(ext) - n) // 2
    ext = ext[lead - pad: lead + n + pad]
    nfft = _fast_len(len(ext) + len(g))
    spectra, off, _length = _kernel_spectrum(dt, q, r, nfft)
    zf = np.fft.rfft(ext, nfft)
    out = np.empty((n, 3))
    for i in range(3):
        y = np.fft.irfft(zf * spectra[i], nfft)
        out[:, i] = y[pad + off: pad + off + n]
    return out


# --- step 4: bridges over a barometer no rocket can fly -----------------------------------
def _runs(mask):
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[::2], edges[1::2], strict=True))


def _dilate(mask, cells):
    if cells <= 0 or not np.any(mask):
        return mask
    return np.convolve(mask.astype(np.float64), np.ones(2 * cells + 1), "same") > 0.5


def _edge_state(t, z, ok, i, side, cells):
    """(height, speed) at grid index i from a quadratic through the good cells on one side."""
    sel = np.arange(max(0, i - cells), i + 1) if side < 0 else np.arange(i, min(len(t), i + cells + 1))
    sel = sel[ok[sel]]
    if len(sel) < 4:
        return float(z[i]), None
    c = np.polyfit(t[sel] - t[i], z[sel], 2)
    return float(c[2]), float(c[1])


def local_accel_ms2(zg, dt, half_s=WILD_HALF_WINDOW_S):
    """Acceleration from a least-squares parabola through each +-half_s of the grid (a
    Savitzky-Golay second derivative): a fixed bandwidth, whatever the smoother's tuning."""
    m = max(2, round(half_s / dt))
    if len(zg) < 2 * m + 1:
        return np.zeros(len(zg))
    k = np.arange(-m, m + 1, dtype=np.float64)
    curvature = np.linalg.pinv(np.vander(k, 3, increasing=True))[2]
    a = np.convolve(zg, 2.0 * curvature[::-1] / (dt * dt), "same")
    a[:m] = 0.0
    a[-m:] = 0.0
    return a


def _bridges(grid, zg, x, dt, pad_msl):
    """Windows of the grid where the barometer is not used (step 4), and the filled heights."""
    h, v = x[:, 0], x[:, 1]
    mach = np.abs(v) / speed_of_sound_ms(pad_msl + np.maximum(h, 0.0))
    wild = np.abs(local_accel_ms2(zg, dt)) > MAX_SMOOTH_ACCEL_MS2
    if not np.any(wild):
        return [], zg
    # brief slow-downs inside a transonic stretch are the same disturbance
    fast = _dilate(mach > TRANSONIC_MACH, round(0.5 / dt))
    mask = wild.copy()
    for s, e in _runs(fast):
        if np.any(wild[s:e]):
            mask[s:e] = True
    mask = _dilate(mask, round(BRIDGE_MARGIN_S / dt))
    runs = _runs(mask)
    merged = []
    for s, e in runs:
        if merged and s - merged[-1][1] < round(1.0 / dt):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    ok = np.ones(len(zg), bool)
    for s, e in merged:
        ok[s:e] = False
    filled = zg.copy()
    windows = []
    edge = max(4, round(BRIDGE_EDGE_S / dt))
    for s, e in merged:
        i1, i2 = s - 1, e
        if i1 < 0 or i2 >= len(zg):
            continue
        h1, v1 = _edge_state(grid, zg, ok, i1, -1, edge)
        h2, v2 = _edge_state(grid, zg, ok, i2, +1, edge)
        span = grid[i2] - grid[i1]
        if v1 is None or v2 is None or span <= 0:
            continue
        u = (grid[i1:i2 + 1] - grid[i1]) / span
        filled[i1:i2 + 1] = ((2 * u ** 3 - 3 * u ** 2 + 1) * h1 + (u ** 3 - 2 * u ** 2 + u) * span * v1
                             + (-2 * u ** 3 + 3 * u ** 2) * h2 + (u ** 3 - u ** 2) * span * v2)
        windows.append((float(grid[i1]), float(grid[i2])))
    return windows, filled


def _sparse_stretches(x, grid, filled, dt, counts, t_s, z_m, q):
    """Where the log samples much slower than the grid (a logger that drops to 10 Hz under
    parachute), each real sample stands for many grid cells and the grid's smoother would
    trust it as many times over: smooth those stretches again at their own rate and noise,
    and blend the two over a second at the joins."""
    window = max(1, round(1.0 / dt))
    density = np.convolve(counts.astype(np.float64), np.ones(2 * window + 1) / (2 * window + 1),
                          "same")
    sparse = density < SPARSE_FRACTION
    if np.count_nonzero(sparse) * dt < SPARSE_MIN_S:
        return x
    in_sparse = sparse[np.minimum(((t_s - grid[0]) / dt + 0.5).astype(np.int64), len(grid) - 1)]
    ts, zs = t_s[in_sparse], z_m[in_sparse]
    gaps = np.diff(ts)
    gaps = gaps[(gaps > 0) & (gaps < 1.0)]
    if len(ts) < 10 or not len(gaps):
        return x
    dt_c = float(np.median(gaps))
    if dt_c < 2.0 * dt:
        return x
    coarse = np.arange(grid[0], grid[-1] + dt_c / 2.0, dt_c)
    sigma_c = noise_sigma_m(ts, zs)
    xc = smooth(np.interp(coarse, grid, filled), dt_c, q, sigma_c * sigma_c)
    weight = np.convolve(sparse.astype(np.float64), np.ones(2 * window + 1) / (2 * window + 1),
                         "same")[:, None]
    return weight * np.column_stack([np.interp(grid, coarse, xc[:, i]) for i in range(3)]) + (
        1.0 - weight) * x


# --- the analysis --------------------------------------------------------------------------
def analyze(flight, q=Q_JERK):
    """Analyse a Flight (see the module docstring). Returns an Analysis."""
    clock = time.perf_counter
    res = Analysis(flight)
    t, z = flight.t_s, flight.altitude_m
    t0 = clock()
    sigma = noise_sigma_m(t, z)
    rejected = find_glitches(t, z, sigma)
    keep = ~rejected
    if np.count_nonzero(keep) < 5:
        keep = np.ones(len(t), bool)
        rejected = ~keep
        res.notes.append("nearly every sample looks like a glitch: none rejected")
    res.rejected = rejected
    res.noise_m = sigma
    if np.any(rejected):
        times = t[rejected]
        shown = ", ".join("%.2f" % x for x in times[:6]) + (", ..." if len(times) > 6 else "")
        res.notes.append("%d samples rejected as glitches (impossible jumps, pressure spikes) "
                         "at t = %s s" % (len(times), shown))
    grid, zg, dt, per_cell, counts = _grid(t[keep], z[keep], len(t))
    r = sigma * sigma / per_cell
    res.timings_s["clean"] = clock() - t0

    t0 = clock()
    pad_msl = pad_msl_m(flight)
    x = smooth(zg, dt, q, r)
    windows, filled = _bridges(grid, zg, x, dt, pad_msl)
    if windows:
        x = smooth(filled, dt, q, r)
        for a, b in windows:
            res.bridges.append((a, b, "barometer disturbed (impossible motion near Mach 1)"))
            res.notes.append("the barometer is bridged from %.2f to %.2f s: it reads what no "
                             "rocket can fly (a transonic shock on the ports); speeds there "
                             "are the bridge's, not measured" % (a, b))
    x = _sparse_stretches(x, grid, filled, dt, counts, t[keep], z[keep], q)
    res.timings_s["smoother"] = clock() - t0

    t0 = clock()
    h, v, acc = x[:, 0], x[:, 1], x[:, 2]
    events, burnout_t = _events(res, flight, grid, h, v, acc)
    if flight.accel_ms2 is not None:
        v = _accelerometer_speed(flight, grid, v, events, burnout_t)
    res.timings_s["events"] = clock() - t0

    t0 = clock()
    res.grid_t_s, res.grid_altitude_m, res.grid_velocity_ms, res.grid_accel_ms2 = grid, h, v, acc
    res.altitude_m = np.interp(t, grid, h)
    res.velocity_ms = np.interp(t, grid, v)
    res.accel_ms2 = (flight.accel_ms2.copy() if flight.accel_ms2 is not None
                     else np.interp(t, grid, acc))
    sound = speed_of_sound_ms(pad_msl + np.maximum(h, 0.0))
    res.mach = np.interp(t, grid, np.abs(v) / sound)
    res.events = events
    res.stats = _statistics(res, flight, grid, h, v, acc, sound, pad_msl)
    res.timings_s["statistics"] = clock() - t0
    return res


def _accelerometer_speed(flight, grid, v_baro, events, burnout_t):
    """Step 5: the speed, with the accelerometer where AltOS trusts it over the barometer."""
    t = flight.t_s
    a = np.where(np.isfinite(flight.accel_ms2), flight.accel_ms2, 0.0)
    lift = _event_time(events, "liftoff")
    apogee = _event_time(events, "apogee")
    if lift is None or apogee is None:
        return v_baro
    i0 = int(np.searchsorted(t, lift))
    i1 = int(np.searchsorted(t, apogee))
    if i1 - i0 < 3:
        return v_baro
    seg_t = t[i0:i1 + 1] if i1 < len(t) else t[i0:]
    seg_a = a[i0:i0 + len(seg_t)]
    v_acc = np.r_[0.0, np.cumsum((seg_a[1:] + seg_a[:-1]) / 2.0 * np.diff(seg_t))]
    on_grid = (grid >= seg_t[0]) & (grid <= seg_t[-1])
    va = np.interp(grid[on_grid], seg_t, v_acc)
    w = np.clip((va - BARO_TRUSTED_BELOW_MS) / (BARO_IGNORED_ABOVE_MS - BARO_TRUSTED_BELOW_MS),
                0.0, 1.0)
    if burnout_t is not None:
        w = np.where(grid[on_grid] <= burnout_t, 1.0, w)
    out = v_baro.copy()
    out[on_grid] = w * va + (1.0 - w) * v_baro[on_grid]
    return out


def _event_time(events, name):
    for ev in events:
        if ev.name == name:
            return ev.t_s
    return None


def _events(res, flight, grid, h, v, acc):
    """Step 6. Returns (events in time order, burnout time or None)."""
    own = {e.name: e for e in flight.events}
    found = {}

    def at(t_s):
        return float(np.interp(t_s, grid, h))

    if "liftoff" in own:
        lift = own["liftoff"].t_s
    else:
        # a log with no liftoff of its own had its times zeroed at the one found on loading
        lift = 0.0 if flight.time_origin == "detected" else find_liftoff_s(grid, h)
        if lift is not None:
            found["liftoff"] = lift
    start = 0 if lift is None else int(np.searchsorted(grid, lift))
    if lift is None or start >= len(grid) - 2:
        res.notes.append("the rocket never left the pad in this log: no flight events")
        return [], None

    i_apo = start + int(np.argmax(h[start:]))
    apogee_t = float(grid[i_apo])
    if "apogee" not in own:
        found["apogee"] = apogee_t

    burnout_t = own["burnout"].t_s if "burnout" in own else None
    if burnout_t is None:
        burnout_t = _burnout(flight, grid, v, start, i_apo, lift)
        if burnout_t is not None:
            found["burnout"] = burnout_t

    touchdown_t, end_level = _landing(grid, h, v, i_apo)
    landing_t = touchdown_t
    if "landing" in own:
        landing_t = own["landing"].t_s
        if touchdown_t is not None and landing_t - touchdown_t > 1.0:
            res.notes.append("the log marks its landing %.1f s after the touchdown at %.2f s "
                             "(its landing detection waits for the rocket to lie still); "
                             "times under the parachutes and the flight time run to the "
                             "touchdown" % (landing_t - touchdown_t, touchdown_t))
        else:
            touchdown_t = landing_t
    elif touchdown_t is not None:
        found["landing"] = touchdown_t

    descent_end = touchdown_t if touchdown_t is not None else float(grid[-1])
    drogue_t = own["drogue"].t_s if "drogue" in own else None
    main_t = own["main"].t_s if "main" in own else None
    if main_t is None:
        main_t = _rate_change(grid, v, apogee_t, descent_end)
        if main_t is not None:
            found["main"] = main_t
    if drogue_t is None and main_t is not None:
        drogue_t = _opening_shock(grid, acc, apogee_t, min(main_t, apogee_t + DROGUE_DELAY_MAX_S))
        drogue_t = apogee_t if drogue_t is None else drogue_t
        found["drogue"] = drogue_t
    if main_t is None and drogue_t is None and descent_end - apogee_t > 5.0:
        # one steady rate all the way down: a main if it is slow enough to land on, else a
        # drogue (whose main never opened, or a drogue-only recovery)
        opened = _opening_shock(grid, acc, apogee_t,
                                min(descent_end, apogee_t + DROGUE_DELAY_MAX_S)) or apogee_t
        rate = _median_rate(grid, v, opened + 2.0, descent_end - 1.0)
        name = "drogue" if rate is not None and rate > SINGLE_CHUTE_MAIN_MAX_MS else "main"
        found[name] = opened
        if name == "main":
            main_t = opened
        else:
            drogue_t = opened
    if landing_t is None and end_level > 10.0:
        res.notes.append("the log ends %.0f m above the pad, moving %+.1f m/s: no landing in it"
                         % (float(h[-1]), float(v[-1])))
    # durations count from the first motion: a log's liftoff can be a detection some metres
    # up (the Coalwood firmware's is at 20 m, a second into a small rocket's flight)
    moved = find_liftoff_s(grid, h)
    first_motion = moved if moved is not None and lift - 3.0 <= moved < lift else lift
    res.phases = {"liftoff": lift, "first_motion": first_motion, "apogee": apogee_t,
                  "burnout": burnout_t,
                  "drogue": drogue_t, "main": main_t, "landing": touchdown_t,
                  "end_level_m": end_level}
    events = [FlightEvent(e.name, e.t_s, at(e.t_s), "log") for e in flight.events]
    events += [FlightEvent(name, t_s, at(t_s), "detected") for name, t_s in found.items()]
    events.sort(key=lambda e: (e.t_s, e.source != "log"))
    return events, burnout_t


def _burnout(flight, grid, v, start, i_apo, lift):
    if flight.accel_ms2 is not None:
        t = flight.t_s
        a = flight.accel_ms2
        sel = np.flatnonzero((t > lift + 0.05) & (t < grid[i_apo]) & (a < 0.0))
        if len(sel):
            return float(t[sel[0]])
    if i_apo <= start + 1:
        return None
    return float(grid[start + int(np.argmax(v[start:i_apo + 1]))])


def _landing(grid, h, v, i_apo):
    """(landing time or None, the final ground level): the first time after apogee the
    rocket is back at the level it ends at, still, for LANDED_HOLD_S (or to the log's end)."""
    dt = grid[1] - grid[0]
    tail = max(3, round(2.0 / dt))
    level = float(np.median(h[-tail:]))
    if np.abs(np.median(v[-tail:])) > LANDED_SPEED_MS or level > h[i_apo] - 10.0:
        return None, level
    still = (np.abs(h - level) < LANDED_BAND_M) & (np.abs(v) < LANDED_SPEED_MS)
    still[: i_apo + 1] = False
    hold = max(1, round(LANDED_HOLD_S / dt))
    runs = _runs(still)
    for s, e in runs:
        if e - s >= hold or e == len(grid):
            return float(grid[s]), level
    return None, level


def _rate_change(grid, v, apogee_t, end_t):
    """The main parachute's opening: the split of the descent (from 2 s after apogee to
    3 s before its end, so neither the fall from apogee nor the touchdown counts) into two
    steady rates that fits best, if the later is clearly slower. None for a single rate."""
    i0 = int(np.searchsorted(grid, apogee_t + 2.0))
    i1 = int(np.searchsorted(grid, end_t - 3.0))
    if i1 - i0 < 20:
        return None
    d = -v[i0:i1]
    n = len(d)
    c1 = np.cumsum(d)
    c2 = np.cumsum(d * d)
    least = max(5, round(RATE_SEGMENT_S / (grid[1] - grid[0])))
    k = np.arange(least, n - least)
    if not len(k):
        return None
    left_n, right_n = k.astype(np.float64), (n - k).astype(np.float64)
    left_s, right_s = c1[k - 1], c1[-1] - c1[k - 1]
    left_q, right_q = c2[k - 1], c2[-1] - c2[k - 1]
    cost = (left_q - left_s ** 2 / left_n) + (right_q - right_s ** 2 / right_n)
    best = int(np.argmin(cost))
    split = int(k[best])
    early = float(np.median(d[:split]))
    late = float(np.median(d[split:]))
    if not (late > MIN_DESCENT_MS and early > RATE_CHANGE_RATIO * late
            and early - late > RATE_CHANGE_MIN_MS):
        return None
    # the opening: where the descent rate first falls below the midway rate, near the split
    mid = (early + late) / 2.0
    lo = max(0, split - round(5.0 / (grid[1] - grid[0])))
    below = np.flatnonzero(d[lo:split + 1] < mid)
    j = lo + int(below[0]) if len(below) else split
    return float(grid[i0 + j])


def _opening_shock(grid, acc, t0, t1):
    """The first clear deceleration of the fall after t0 (a parachute opening), or None."""
    i0 = int(np.searchsorted(grid, t0))
    i1 = int(np.searchsorted(grid, t1))
    hit = np.flatnonzero(acc[i0:i1] > OPENING_SHOCK_MS2)
    return float(grid[i0 + hit[0]]) if len(hit) else None


def _median_rate(grid, v, t0, t1):
    if t0 is None or t1 is None or t1 - t0 < 2.0:
        return None
    sel = (grid >= t0) & (grid <= t1)
    if np.count_nonzero(sel) < 5:
        return None
    return float(np.median(-v[sel]))


def _statistics(res, flight, grid, h, v, acc, sound, pad_msl):
    p = getattr(res, "phases", None)
    stats = dict.fromkeys(STAT_KEYS)
    if not p:
        stats["apogee_agl_m"] = float(np.max(h))
        return stats
    lift, apo, burn = p["first_motion"], p["apogee"], p["burnout"]
    i_apo = int(np.searchsorted(grid, apo))
    stats["apogee_agl_m"] = float(h[min(i_apo, len(h) - 1)])
    if flight.pad_altitude_msl_m is not None:
        stats["apogee_msl_m"] = float(flight.pad_altitude_msl_m) + stats["apogee_agl_m"]
    stats["time_to_apogee_s"] = apo - lift
    end = p["landing"] if p["landing"] is not None else float(grid[-1])
    flying = (grid >= lift) & (grid <= end)
    if np.any(flying):
        speed = np.abs(v[flying])
        k = int(np.argmax(speed))
        stats["max_speed_ms"] = float(speed[k])
        stats["max_mach"] = float(np.max(speed / sound[flying]))
    boost_end = burn + 0.5 if burn is not None else apo
    if flight.accel_ms2 is not None:
        sel = (flight.t_s >= lift) & (flight.t_s <= boost_end)
        if np.any(sel):
            stats["max_accel_ms2"] = float(np.nanmax(flight.accel_ms2[sel]))
    else:
        sel = (grid >= lift) & (grid <= boost_end)
        if np.any(sel):
            stats["max_accel_ms2"] = float(np.max(acc[sel]))
    if burn is not None:
        stats["burn_time_s"] = burn - lift
    drogue, main, landing = p["drogue"], p["main"], p["landing"]
    descent_end = landing if landing is not None else float(grid[-1])
    if drogue is not None:
        drogue_end = main if main is not None else descent_end
        stats["drogue_rate_ms"] = _median_rate(grid, v, drogue + 2.0, drogue_end - 1.0)
        if drogue_end - drogue >= 1.0 and (main is not None or landing is not None):
            stats["time_under_drogue_s"] = drogue_end - drogue
    if main is not None:
        stats["main_rate_ms"] = _median_rate(grid, v, main + 2.0, descent_end - 1.0)
        if landing is not None:
            stats["time_under_main_s"] = landing - main
    if landing is not None:
        stats["flight_time_s"] = landing - lift
    return stats
