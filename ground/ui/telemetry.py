"""Live telemetry in the window: altitude, vertical speed and battery against time.

    panel = TelemetryPanel(conn)          # listens to conn.telemetry, .status, .connected, .fired

What arrives, and how it is put on one time axis:

- TELEMETRY batches (protocol.messages.Telemetry) carry the device tick of their first sample
  (`base_ms`) and each sample's `dt_ms` after it. The tick wraps at 2**30 (MicroPython's
  ticks_ms); it is unwrapped with the protocol's own `ticks_diff`, which is also right for a
  device whose tick wraps at 2**32 (2**30 divides 2**32), as long as consecutive batches are
  less than 2**29 ms (six days) apart. Device time is tied to the host's clock once, at the
  first batch: its newest sample is placed at the moment the batch arrived. A device tick that
  goes backwards (the board restarted) ties it again, so the axis never runs backwards, which
  clip-to-view needs.
- STATUS (every 500 ms) carries the battery but no device tick. Its time is the newest
  telemetry sample's time plus the host seconds since that batch arrived, i.e. the offset
  between host and device seen in the latest telemetry; before any telemetry it is host time.
  Under a sped-up simulated clock the battery's points are therefore spaced in host seconds
  while the flight's are in device seconds; on a real board the two agree to a link latency.
- The axis reads T+ seconds from the first point, and from liftoff once the first BOOST is
  seen (everything already on the plots moves with it, so the FIRE mark sits at T-).

A batch's flight state is the state of its newest sample, so a state change happened somewhere
in the first batch that reports it; the line is drawn at that batch's first sample, at most one
batch (250 ms) early, never after the state held. The firmware sends TELEMETRY only in flight,
so the lines are BOOST (liftoff) to LANDED; PAD is shown by the state readout, from STATUS.

Drawing: samples go into preallocated numpy columns (doubling when full, no per-sample Python
objects). A QTimer redraws every redraw_ms while something changed, never per sample; curves
use pyqtgraph's clip-to-view and automatic peak downsampling, and the panel sets the view
ranges itself from slices and running extremes instead of asking pyqtgraph to scan every point.
"Follow" shows the last follow_s seconds and scrolls; turning it off shows the whole flight (from
just before the first TELEMETRY sample to the last; everything, before any), and zooming or
panning by hand turns it off and leaves the view where the operator put it.

Nothing here parses bytes: it reads messages the connection already decoded.
"""

import contextlib
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ground.cli_common import one_line
from protocol import constants as C
from protocol.ticks import ticks_diff

DEFAULT_REDRAW_MS = 50
DEFAULT_CAPACITY = 1 << 15  # samples before the first doubling: about 5 minutes at 100 Hz
DEFAULT_FOLLOW_S = 30.0
WHOLE_FLIGHT_LEAD_S = 2.0  # the whole-flight view starts this long before the first sample
TELEMETRY_STALE_S = 1.0  # after this long without TELEMETRY the state readout follows STATUS

# wire ranges of a TELEMETRY sample (PROTOCOL.md 0xC0); anything else is a bad batch
_DT_MS_MAX = 0xFFFF
_ALT_CM_RANGE = (-(1 << 31), (1 << 31) - 1)
_SPEED_CMS_RANGE = (-(1 << 15), (1 << 15) - 1)
_BASE_MS_MAX = (1 << 32) - 1

# the flight event each state change stands for (the flight log's event names)
STATE_EVENTS = {
    C.FLIGHT_BOOST: "liftoff",
    C.FLIGHT_COAST: "burnout",
    C.FLIGHT_DROGUE: "apogee",
    C.FLIGHT_MAIN: "main",
    C.FLIGHT_LANDED: "landed",
}

# Plots draw themselves (no stylesheet reaches them): thick, high-contrast pens on white,
# distinguished by dash as well as colour.
PLOT_BACKGROUND = "w"
PLOT_FOREGROUND = "k"
PEN_ALTITUDE = pg.mkPen("#000000", width=3)
PEN_SPEED = pg.mkPen("#0033cc", width=3)
PEN_BATTERY = pg.mkPen("#005a00", width=3)
PEN_STATE_MARK = pg.mkPen("#b00000", width=2, style=Qt.PenStyle.DashLine)
PEN_COMMAND_MARK = pg.mkPen("#000000", width=2, style=Qt.PenStyle.DotLine)
# no fill: a label over the curve must not hide the flight under it
MARK_LABEL_OPTS = {"color": "#000000", "fill": None, "movable": False}
MARK_LABEL_POSITIONS = (0.92, 0.78, 0.64)  # staggered so marks close together stay readable

# the smallest y span shown, so noise on the pad is not blown up to fill the plot
MIN_SPAN_ALTITUDE_M = 10.0
MIN_SPAN_SPEED_MS = 5.0
MIN_SPAN_BATTERY_V = 0.5
Y_PADDING = 0.08
Y_STEPS = 5  # a y range is whole steps of about a fifth of its span
NO_VALUE = "--"


class BadTelemetry(ValueError):
    """A TELEMETRY message whose values cannot be plotted; the text is one line."""


class SeriesBuffer:
    """float64 columns sharing one length: column 0 is time, the rest values.

    Preallocated; append() copies a block in and doubles the capacity when full. Running
    minimum and maximum of every column make the whole-flight view O(1)."""

    def __init__(self, columns, capacity=DEFAULT_CAPACITY):
        self._data = np.empty((columns, max(16, int(capacity))))
        self.n = 0
        self.lo = np.full(columns, np.inf)
        self.hi = np.full(columns, -np.inf)

    @property
    def capacity(self):
        return self._data.shape[1]

    def append(self, block):
        """block: shape (columns, k), all finite, time non-decreasing and >= the last."""
        k = block.shape[1]
        if k == 0:
            return
        need = self.n + k
        if need > self.capacity:
            size = self.capacity
            while size < need:
                size *= 2
            grown = np.empty((self._data.shape[0], size))
            grown[:, : self.n] = self._data[:, : self.n]
            self._data = grown
        self._data[:, self.n : need] = block
        np.minimum(self.lo, block.min(axis=1), out=self.lo)
        np.maximum(self.hi, block.max(axis=1), out=self.hi)
        self.n = need

    def column(self, index):
        """A view of the filled part of one column (no copy)."""
        return self._data[index, : self.n]

    def last(self, index):
        return float(self._data[index, self.n - 1]) if self.n else None

    def shift_time(self, delta_s):
        self._data[0, : self.n] += delta_s
        self.lo[0] += delta_s
        self.hi[0] += delta_s

    def index_before(self, t_s):
        """Index of the last sample before t_s (0 if none): where a view starting at t_s
        needs its data to start so the curve reaches the left edge."""
        return max(0, int(np.searchsorted(self._data[0, : self.n], t_s, side="left")) - 1)

    def visible_extremes(self, index, left_s):
        """(min, max) of column `index` over samples at or after left_s; None if none."""
        start = int(np.searchsorted(self._data[0, : self.n], left_s, side="left"))
        if start >= self.n:
            return None
        part = self._data[index, start : self.n]
        return float(part.min()), float(part.max())

    def clear(self):
        self.n = 0
        self.lo.fill(np.inf)
        self.hi.fill(-np.inf)


def decode_batch(msg):
    """(base_ms, flight_state, dt_ms, altitude_m, speed_ms) of a Telemetry message, the last
    three as numpy arrays; BadTelemetry for anything a decoder could not have produced."""
    try:
        base_ms = _int_in(msg.base_ms, 0, _BASE_MS_MAX, "base_ms")
        state = _int_in(msg.flight_state, 0, len(C.FLIGHT_STATE_NAMES) - 1, "flight_state")
        samples = list(msg.samples)
        if not samples:
            raise BadTelemetry("TELEMETRY without samples")
        rows = [(_int_in(s.dt_ms, 0, _DT_MS_MAX, "dt_ms"),
                 _int_in(s.altitude_cm, *_ALT_CM_RANGE, "altitude_cm"),
                 _int_in(s.speed_cms, *_SPEED_CMS_RANGE, "speed_cms")) for s in samples]
    except BadTelemetry:
        raise
    except (AttributeError, TypeError, ValueError, OverflowError) as exc:
        raise BadTelemetry("TELEMETRY not readable: %s" % one_line(exc)) from None
    values = np.array(rows, dtype=np.float64).T
    return base_ms, state, values[0], values[1] / 100.0, values[2] / 100.0


def _int_in(value, lo, hi, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise BadTelemetry("TELEMETRY %s is not an integer: %r" % (name, value))
    if not lo <= value <= hi:
        raise BadTelemetry("TELEMETRY %s out of range: %d" % (name, value))
    return int(value)


def state_name(state):
    if state is None:
        return None
    if 0 <= state < len(C.FLIGHT_STATE_NAMES):
        return C.FLIGHT_STATE_NAMES[state]
    return "state %d" % state


class _Mark:
    """A labelled vertical line on every plot (the label on the top one)."""

    def __init__(self, t_s, label, kind, plots, pen, label_position):
        self.t_s = t_s
        self.label = label
        self.kind = kind  # "state" or "command"
        self.lines = []
        for i, plot in enumerate(plots):
            line = pg.InfiniteLine(
                pos=t_s, angle=90, pen=pen, movable=False,
                label=label if i == 0 else None,
                labelOpts=dict(MARK_LABEL_OPTS, position=label_position) if i == 0 else None)
            plot.addItem(line, ignoreBounds=True)
            self.lines.append((plot, line))

    def move(self, delta_s):
        self.t_s += delta_s
        for _, line in self.lines:
            line.setValue(self.t_s)

    def remove(self):
        for plot, line in self.lines:
            plot.removeItem(line)
        self.lines = []


class TelemetryPanel(QWidget):
    """Three stacked plots sharing their time axis, big readouts, follow / whole-flight view."""

    redrawn = Signal()  # after every redraw (tests and the benchmark count them)
    error = Signal(str)  # one line: a batch that could not be plotted

    def __init__(self, conn=None, parent=None, redraw_ms=DEFAULT_REDRAW_MS,
                 capacity=DEFAULT_CAPACITY, follow_s=DEFAULT_FOLLOW_S, clock=time.monotonic):
        super().__init__(parent)
        self.setObjectName("telemetryPanel")
        self._clock = clock
        self._follow_s = float(follow_s)
        self._tm = SeriesBuffer(3, capacity)  # t_s, altitude_m, speed_ms
        self._battery = SeriesBuffer(2, 64)  # t_s, battery_v
        self._marks = []
        self._view_mode = "follow"  # "follow", "whole" or "user" (zoomed or panned by hand)
        self._placing_view = False
        self._y_ranges = {}  # plot -> the y range the panel last gave it
        self._redraws = 0
        self._bad_batches = 0
        self._bad_run = False
        self._reset_state()

        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(int(redraw_ms))
        self._timer.timeout.connect(self._on_timer)
        self._dirty = False
        if conn is not None:
            self.attach(conn)

    # --- wiring --------------------------------------------------------------------------------
    def attach(self, conn):
        """Listen to a Connection (or anything with its telemetry/status/connected/fired)."""
        conn.telemetry.connect(self.on_telemetry)
        conn.status.connect(self.on_status)
        conn.connected.connect(self._on_connected)
        conn.fired.connect(self._on_fired)

    def _build(self):
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)

        readouts = QGridLayout()
        self._readouts = {}
        for col, (key, caption, name) in enumerate((
                ("altitude_m", "ALTITUDE", "telemetryAltitude"),
                ("speed_ms", "VERTICAL SPEED", "telemetrySpeed"),
                ("max_altitude_m", "MAX ALTITUDE", "telemetryMaxAltitude"),
                ("flight_state", "FLIGHT", "telemetryFlightState"),
                ("battery_v", "BATTERY", "telemetryBattery"))):
            cap = QLabel(caption)
            cap.setObjectName(name + "Caption")
            value = QLabel(NO_VALUE)
            value.setObjectName(name)
            value.setProperty("role", "readout")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            readouts.addWidget(cap, 0, col)
            readouts.addWidget(value, 1, col)
            self._readouts[key] = value
        outer.addLayout(readouts)

        controls = QHBoxLayout()
        self.follow_box = QCheckBox("Follow the last %g s" % self._follow_s)
        self.follow_box.setObjectName("telemetryFollow")
        self.follow_box.setChecked(True)
        self.follow_box.toggled.connect(self.set_follow)
        self.whole_button = QPushButton("Whole flight")
        self.whole_button.setObjectName("telemetryWholeFlight")
        self.whole_button.clicked.connect(self.show_whole_flight)
        controls.addWidget(self.follow_box)
        controls.addWidget(self.whole_button)
        controls.addStretch(1)
        outer.addLayout(controls)

        self.altitude_plot = self._plot("telemetryAltitudePlot", "altitude", "m")
        self.speed_plot = self._plot("telemetrySpeedPlot", "speed", "m/s")
        self.battery_plot = self._plot("telemetryBatteryPlot", "battery", "V")
        self.speed_plot.setXLink(self.altitude_plot)
        self.battery_plot.setXLink(self.altitude_plot)
        self.battery_plot.setLabel("bottom", "time (T+)", units="s")
        for plot in (self.altitude_plot, self.speed_plot):
            # one time scale, under the bottom plot: the grid lines above line up with it
            plot.getPlotItem().getAxis("bottom").setStyle(showValues=False)
        self.altitude_curve = self._curve(self.altitude_plot, PEN_ALTITUDE)
        self.speed_curve = self._curve(self.speed_plot, PEN_SPEED)
        self.battery_curve = self._curve(self.battery_plot, PEN_BATTERY)
        self.speed_plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen(PLOT_FOREGROUND)),
                                ignoreBounds=True)
        # the battery plot carries the time axis under its data: it needs the height for both
        for plot, stretch, min_height_px in ((self.altitude_plot, 3, 80),
                                             (self.speed_plot, 2, 70),
                                             (self.battery_plot, 1, 95)):
            plot.setMinimumHeight(min_height_px)
            outer.addWidget(plot, stretch)

    def _plot(self, name, title, units):
        plot = pg.PlotWidget(background=PLOT_BACKGROUND)
        plot.setObjectName(name)
        item = plot.getPlotItem()
        item.setLabel("left", title, units=units)
        item.showGrid(x=True, y=True, alpha=0.3)
        for axis in ("left", "bottom"):
            ax = item.getAxis(axis)
            ax.setPen(pg.mkPen(PLOT_FOREGROUND, width=2))
            ax.setTextPen(pg.mkPen(PLOT_FOREGROUND))
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.hideButtons()  # the view is the panel's (follow / whole flight) or the operator's
        vb = item.getViewBox()
        vb.disableAutoRange()
        vb.setMouseEnabled(x=True, y=True)
        vb.sigRangeChangedManually.connect(self._on_manual_range)
        return plot

    @staticmethod
    def _curve(plot, pen):
        curve = plot.getPlotItem().plot(pen=pen)
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        return curve

    def _reset_state(self):
        self._origin_raw_s = None  # raw (host-based) seconds at axis zero
        self._liftoff_seen = False
        self._last_base = None  # the last batch's base_ms as sent, and unwrapped
        self._unwrapped_base_ms = None
        self._device_offset_s = None  # raw seconds = device ms / 1000 + this
        self._last_tm_raw_s = None
        self._last_tm_host_s = None
        self._tm_state = None
        self._status_state = None
        self._battery_v = None

    # --- input slots -----------------------------------------------------------------------------
    @Slot(object)
    def on_telemetry(self, msg):
        """One TELEMETRY batch (protocol.messages.Telemetry), decoded by the connection."""
        try:
            base_ms, state, dt_ms, altitude_m, speed_ms = decode_batch(msg)
        except BadTelemetry as exc:
            self._reject(str(exc))
            return
        try:
            now = self._clock()
            raw = self._device_raw_s(base_ms, dt_ms, now)
            self._last_tm_raw_s = float(raw[-1])
            self._last_tm_host_s = now
            if self._origin_raw_s is None:
                self._origin_raw_s = float(raw[0])
            if state != self._tm_state:
                self._state_changed(state, float(raw[0]))
            self._tm_state = state
            self._append_tm(raw - self._origin_raw_s, altitude_m, speed_ms)
            self._bad_run = False
        except Exception as exc:  # never into Qt's event loop; the window shows one line
            self._reject("TELEMETRY not plotted: %s" % one_line(exc))

    @Slot(object)
    def on_status(self, msg):
        """STATUS: the battery (plotted) and the flight state (readout, when no TELEMETRY)."""
        try:
            volts = float(msg.battery_mv) / 1000.0
            state = int(msg.flight_state)
        except (AttributeError, TypeError, ValueError):
            self._reject("STATUS not readable")
            return
        if not math.isfinite(volts):
            return
        self._status_state = state
        raw = self._host_raw_s(self._clock())
        if self._origin_raw_s is None:
            self._origin_raw_s = raw
        t = raw - self._origin_raw_s
        last = self._battery.last(0)
        if last is not None:
            t = max(t, last)
        self._battery.append(np.array([[t], [volts]]))
        self._battery_v = volts
        self._mark_dirty()

    @Slot()
    def clear(self):
        """Forget everything: a new connection starts a new plot."""
        self._tm.clear()
        self._battery.clear()
        for mark in self._marks:
            mark.remove()
        self._marks = []
        self._reset_state()
        self._bad_run = False
        for curve in (self.altitude_curve, self.speed_curve, self.battery_curve):
            curve.setData([], [])
        self._view_mode = "follow" if self.follow_box.isChecked() else "whole"
        self._dirty = True
        self.redraw()

    @Slot(dict)
    def _on_connected(self, _device_info):
        self.clear()

    @Slot(int)
    def _on_fired(self, _mask):
        raw = self._host_raw_s(self._clock())
        if self._origin_raw_s is None:
            self._origin_raw_s = raw
        self._add_mark(raw - self._origin_raw_s, "FIRE", "command")

    def add_samples(self, t_s, altitude_m, speed_ms, flight_state=None):
        """Plot samples given directly on the panel's axis (T+ seconds), for the benchmark and
        tests; times must not go back (they are clamped to the last one). flight_state, if
        given, applies to these samples as a TELEMETRY batch's does."""
        t = np.asarray(t_s, dtype=np.float64)
        alt = np.asarray(altitude_m, dtype=np.float64)
        spd = np.asarray(speed_ms, dtype=np.float64)
        if not t.shape == alt.shape == spd.shape or t.ndim != 1:
            raise ValueError("t_s, altitude_m and speed_ms must be 1-D arrays of one length")
        if not len(t):
            return
        if self._origin_raw_s is None:
            # the newest sample is "now": later STATUS points follow on from it
            self._origin_raw_s = self._clock() - float(t[-1])
        raw = t + self._origin_raw_s
        if flight_state is not None:
            if flight_state != self._tm_state:
                self._state_changed(int(flight_state), float(raw[0]))  # may move T+0
            self._tm_state = int(flight_state)
        self._last_tm_raw_s = float(raw[-1])
        self._last_tm_host_s = self._clock()
        self._append_tm(raw - self._origin_raw_s, alt, spd)

    # --- time ------------------------------------------------------------------------------------
    def _device_raw_s(self, base_ms, dt_ms, now):
        """Raw seconds of a batch's samples, from its device tick (see the module docstring)."""
        if self._last_base is None:
            unwrapped = base_ms
        else:
            unwrapped = self._unwrapped_base_ms + ticks_diff(base_ms, self._last_base)
        self._last_base = base_ms
        self._unwrapped_base_ms = unwrapped
        device_s = (unwrapped + dt_ms) / 1000.0
        offset = self._device_offset_s
        if offset is None or (self._last_tm_raw_s is not None
                              and device_s[0] + offset < self._last_tm_raw_s):
            # the first batch, or the device clock went back: the newest sample is "now"
            offset = now - float(device_s[-1])
            if self._last_tm_raw_s is not None:
                offset = max(offset, self._last_tm_raw_s - float(device_s[0]))
            self._device_offset_s = offset
        # samples of one batch never go back either (dt_ms out of order is clamped)
        return np.maximum.accumulate(device_s + offset)

    def _host_raw_s(self, now):
        """Raw seconds of something stamped by the host (a STATUS, a FIRE)."""
        if self._last_tm_raw_s is None:
            return now
        return self._last_tm_raw_s + (now - self._last_tm_host_s)

    def _state_changed(self, state, raw_s):
        if state == C.FLIGHT_BOOST and not self._liftoff_seen:
            self._liftoff_seen = True
            self._move_origin(raw_s)
        if state in STATE_EVENTS:
            label = "%s (%s)" % (state_name(state), STATE_EVENTS[state])
            self._add_mark(raw_s - self._origin_raw_s, label, "state")

    def _move_origin(self, raw_s):
        """T+0 becomes raw_s: everything on the plots moves with it."""
        delta = self._origin_raw_s - raw_s
        self._origin_raw_s = raw_s
        if delta == 0:
            return
        self._tm.shift_time(delta)
        self._battery.shift_time(delta)
        for mark in self._marks:
            mark.move(delta)
        self._mark_dirty()

    # --- data ------------------------------------------------------------------------------------
    def _append_tm(self, t, altitude_m, speed_ms):
        finite = np.isfinite(t) & np.isfinite(altitude_m) & np.isfinite(speed_ms)
        if not finite.all():
            t, altitude_m, speed_ms = t[finite], altitude_m[finite], speed_ms[finite]
            if not len(t):
                return
        last = self._tm.last(0)
        t = np.maximum.accumulate(t if last is None else np.maximum(t, last))
        self._tm.append(np.vstack((t, altitude_m, speed_ms)))
        self._mark_dirty()

    def _add_mark(self, t_s, label, kind):
        position = MARK_LABEL_POSITIONS[len(self._marks) % len(MARK_LABEL_POSITIONS)]
        pen = PEN_STATE_MARK if kind == "state" else PEN_COMMAND_MARK
        self._marks.append(_Mark(t_s, label, kind,
                                 (self.altitude_plot, self.speed_plot, self.battery_plot),
                                 pen, position))
        self._mark_dirty()

    def _reject(self, text):
        self._bad_batches += 1
        if not self._bad_run:  # a run of bad batches is said once
            self._bad_run = True
            with contextlib.suppress(Exception):
                self.error.emit(text)

    # --- drawing ---------------------------------------------------------------------------------
    def _mark_dirty(self):
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def _on_timer(self):
        if self._dirty:
            self.redraw()
        else:
            self._timer.stop()  # nothing new: stay quiet until the next sample

    @Slot()
    def redraw(self):
        """Give the curves the data, place the view, refresh the readouts (the timer calls it)."""
        self._dirty = False
        self._redraws += 1
        window = self._window()
        # Following, the curves get only what is in view (and the sample before it): pyqtgraph
        # then does no work proportional to the whole flight. Any other view gets everything.
        left = window[0] if window is not None and self._view_mode == "follow" else None
        for curve, buf, col in ((self.altitude_curve, self._tm, 1),
                                (self.speed_curve, self._tm, 2),
                                (self.battery_curve, self._battery, 1)):
            start = 0 if left is None else buf.index_before(left)
            curve.setData(buf.column(0)[start:], buf.column(col)[start:], skipFiniteCheck=True)
        self._place_view(window)
        self._show_readouts()
        self.redrawn.emit()

    def _window(self):
        """(left, right) of the time axis the panel would show now; None if nothing to show."""
        span = self._time_span()
        if span is None:
            return None
        first, last = span
        if self._view_mode == "follow":
            right = max(last, first + self._follow_s)
            return right - self._follow_s, right
        if self._tm.n:
            # the flight, not the hour of battery readings on the pad before it
            first = float(self._tm.lo[0]) - WHOLE_FLIGHT_LEAD_S
            last = float(self._tm.hi[0])
        return first, max(last, first + 1.0)

    def _place_view(self, window=None):
        if self._view_mode == "user":
            return
        window = window or self._window()
        if window is None:
            return
        left, right = window
        ranges = []
        for plot, buf, col, min_span in ((self.altitude_plot, self._tm, 1, MIN_SPAN_ALTITUDE_M),
                                         (self.speed_plot, self._tm, 2, MIN_SPAN_SPEED_MS),
                                         (self.battery_plot, self._battery, 1,
                                          MIN_SPAN_BATTERY_V)):
            if self._view_mode == "follow":
                extremes = buf.visible_extremes(col, left)
            else:
                extremes = (float(buf.lo[col]), float(buf.hi[col])) if buf.n else None
            ranges.append((plot, _y_range(extremes, min_span)))
        self._placing_view = True
        try:
            self.altitude_plot.setXRange(left, right, padding=0)
            for plot, yrange in ranges:
                if yrange is not None and yrange != self._y_ranges.get(plot):
                    plot.setYRange(*yrange, padding=0)
                    self._y_ranges[plot] = yrange
        finally:
            self._placing_view = False

    def _time_span(self):
        firsts = [float(b.lo[0]) for b in (self._tm, self._battery) if b.n]
        lasts = [float(b.hi[0]) for b in (self._tm, self._battery) if b.n]
        for mark in self._marks:
            firsts.append(mark.t_s)
            lasts.append(mark.t_s)
        if not firsts:
            return None
        return min(firsts), max(lasts)

    def _show_readouts(self):
        r = self.readouts()
        self._readouts["altitude_m"].setText(_fmt(r["altitude_m"], "%.1f m"))
        self._readouts["speed_ms"].setText(_fmt(r["speed_ms"], "%+.1f m/s"))
        self._readouts["max_altitude_m"].setText(_fmt(r["max_altitude_m"], "%.1f m"))
        self._readouts["flight_state"].setText(r["flight_state"] or NO_VALUE)
        self._readouts["battery_v"].setText(_fmt(r["battery_v"], "%.2f V"))

    # --- the view --------------------------------------------------------------------------------
    @Slot(bool)
    def set_follow(self, on):
        """Follow the last follow_s seconds (scrolling), or show the whole flight."""
        if self.follow_box.isChecked() != bool(on):
            self.follow_box.blockSignals(True)
            self.follow_box.setChecked(bool(on))
            self.follow_box.blockSignals(False)
        self._view_mode = "follow" if on else "whole"
        self.redraw()  # the curves hold only the followed window while following

    @Slot()
    def show_whole_flight(self):
        self.set_follow(False)

    def _on_manual_range(self, *_args):
        if self._placing_view:
            return
        # the operator zoomed or panned: stop moving the view under them
        self.follow_box.blockSignals(True)
        self.follow_box.setChecked(False)
        self.follow_box.blockSignals(False)
        was_following = self._view_mode == "follow"
        self._view_mode = "user"
        self._y_ranges = {}  # the operator moved them: set them again when the panel takes over
        if was_following:
            self.redraw()  # the curves held only the followed window: give them everything

    # --- what tests and the window read ------------------------------------------------------------
    @property
    def view_mode(self):
        return self._view_mode

    @property
    def follow(self):
        return self._view_mode == "follow"

    @property
    def follow_s(self):
        return self._follow_s

    @property
    def redraw_count(self):
        return self._redraws

    @property
    def point_count(self):
        """Telemetry samples held (altitude and speed have one each)."""
        return self._tm.n

    @property
    def capacity(self):
        """Samples the telemetry buffer holds before it next doubles."""
        return self._tm.capacity

    @property
    def bad_batches(self):
        return self._bad_batches

    def series(self):
        """Copies of what is held: {"t_s", "altitude_m", "speed_ms", "battery_t_s",
        "battery_v"} as numpy arrays."""
        return {
            "t_s": self._tm.column(0).copy(),
            "altitude_m": self._tm.column(1).copy(),
            "speed_ms": self._tm.column(2).copy(),
            "battery_t_s": self._battery.column(0).copy(),
            "battery_v": self._battery.column(1).copy(),
        }

    def marks(self):
        """[(t_s, label, kind)] in the order they appeared; kind is "state" or "command"."""
        return [(m.t_s, m.label, m.kind) for m in self._marks]

    def readouts(self):
        """The numbers behind the readouts (None where nothing is known yet)."""
        tm = self._tm
        state = self._status_state
        if self._tm_state is not None and self._last_tm_host_s is not None and (
                state is None or self._clock() - self._last_tm_host_s < TELEMETRY_STALE_S):
            state = self._tm_state
        return {
            "t_s": tm.last(0),
            "altitude_m": tm.last(1),
            "speed_ms": tm.last(2),
            "max_altitude_m": float(tm.hi[1]) if tm.n else None,
            "flight_state": state_name(state),
            "battery_v": self._battery_v,
        }

    def readout_text(self, key):
        """What the readout `key` (a readouts() key) shows now."""
        return self._readouts[key].text()


def _y_range(extremes, min_span):
    """A y range around (min, max): at least min_span, padded, and widened to whole steps of
    1, 2 or 5 x 10^k, so a plot's scale stays put while the data moves inside it (steady for
    the eye, and its axis is not laid out again at every redraw)."""
    if extremes is None:
        return None
    lo, hi = extremes
    span = hi - lo
    if span < min_span:
        mid = (hi + lo) / 2.0
        lo, hi, span = mid - min_span / 2.0, mid + min_span / 2.0, min_span
    lo, hi = lo - span * Y_PADDING, hi + span * Y_PADDING
    step = _nice_step((hi - lo) / Y_STEPS)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def _nice_step(raw):
    power = 10.0 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 5.0):
        if raw <= mult * power:
            return mult * power
    return 10.0 * power


def _fmt(value, pattern):
    return NO_VALUE if value is None else pattern % value
