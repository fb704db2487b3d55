"""The pad panel: the arm key, the battery, the device state and every channel's continuity.

It only listens to the Connection. Each channel shows its continuity twice over,
so nobody needs to tell colours apart in sunlight: a painted shape (a filled disc
for CONNECTED, a hollow ring for OPEN, a cross for SHORT, a dashed ring with a
question mark for UNKNOWN) and large text ("CONNECTED 1.02 Ω", "OPEN", "SHORT",
"UNKNOWN"). When the link is lost or closed every value becomes UNKNOWN and the
panel says the readings are stale: a pad nobody can hear from is not known SAFE.

The check boxes choose the channels the launch panel arms (`selected_mask`);
Alt+1 .. Alt+8 tick them from the keyboard.
"""

import contextlib

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QVBoxLayout, QWidget

from ground.ui.connection import one_line
from ground.ui.theme import restyle
from protocol import constants as C

DEFAULT_CHANNELS = 2  # what the panel shows before a device says how many it has
INDICATOR_SIZE_PX = 56
CONTINUITY_POINT_SIZE = 22
KEY_POINT_SIZE = 26
STALE_TEXT = "NO LINK: readings below are not current"

# the theme's banner level of each continuity class (the shape and text say it too)
CONTINUITY_LEVELS = {
    C.CONT_UNKNOWN: "info",
    C.CONT_OPEN: "warn",
    C.CONT_CONNECTED: "ok",
    C.CONT_SHORT: "danger",
}
STATE_LEVELS = ("ok", "warn", "danger", "danger")  # SAFE, ARMED, FIRING, FAULT


def big_font(widget, point_size, bold=True):
    font = QFont(widget.font())
    font.setPointSize(point_size)
    font.setBold(bold)
    return font


def _name(names, index, what):
    """A protocol name by code, or a readable stand-in for a code this build does not know."""
    if 0 <= index < len(names):
        return names[index]
    return "%s %d?" % (what, index)


def continuity_text(continuity, resistance_mohm=C.RESISTANCE_UNKNOWN):
    """'CONNECTED 1.02 Ω', 'OPEN', 'SHORT' or 'UNKNOWN' (the CLI's describe_channel wording)."""
    if continuity not in CONTINUITY_LEVELS:
        return "UNKNOWN (code %d)" % continuity
    text = C.CONT_NAMES[continuity]
    if continuity == C.CONT_CONNECTED and resistance_mohm != C.RESISTANCE_UNKNOWN:
        text = "%s %.2f Ω" % (text, resistance_mohm / 1000)
    return text


def fire_result_text(fire_result):
    if fire_result == C.FIRE_NONE:
        return "not fired"
    return "last fire: %s" % _name(C.FIRE_RESULT_NAMES, fire_result, "result")


class ChannelIndicator(QWidget):
    """A shape per continuity class. `state` is the C.CONT_* code it draws; `stale` dashes it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = C.CONT_UNKNOWN
        self.stale = True
        self.setMinimumSize(INDICATOR_SIZE_PX, INDICATOR_SIZE_PX)
        restyle(self, continuity="UNKNOWN", stale=True)

    def sizeHint(self):
        return QSize(INDICATOR_SIZE_PX, INDICATOR_SIZE_PX)

    def set_state(self, state, stale=False):
        state = state if state in CONTINUITY_LEVELS else C.CONT_UNKNOWN
        if (state, stale) != (self.state, self.stale):
            self.state = state
            self.stale = stale
            restyle(self, continuity=C.CONT_NAMES[state], stale=stale)
            self.update()

    def paintEvent(self, event):
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            colour = self.palette().color(QPalette.ColorRole.WindowText)
            side = min(self.width(), self.height()) - 8.0
            pen_px = max(3.0, side / 10)
            box = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
            pen = QPen(colour, pen_px)
            painter.setPen(pen)
            if self.state == C.CONT_CONNECTED:
                painter.setBrush(colour)
                painter.drawEllipse(box)
            elif self.state == C.CONT_OPEN:
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawEllipse(box)
            elif self.state == C.CONT_SHORT:
                inset = box.adjusted(pen_px, pen_px, -pen_px, -pen_px)
                painter.drawLine(inset.topLeft(), inset.bottomRight())
                painter.drawLine(inset.topRight(), inset.bottomLeft())
            else:
                pen.setStyle(Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawEllipse(box)
                painter.setFont(big_font(self, max(8, int(side / 2.5))))
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "?")
            if self.stale and self.state != C.CONT_UNKNOWN:
                # an old reading: strike it through so it is not read as current
                painter.setPen(QPen(colour, pen_px / 2, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(box.left(), box.bottom()), QPointF(box.right(), box.top()))
        finally:
            painter.end()


class _ChannelRow:
    """The widgets of one channel: select box, shape, continuity text, last fire result."""

    def __init__(self, index, parent):
        n = index + 1
        self.select = QCheckBox("Launch channel &%d" % n if n <= 9 else "Launch channel %d" % n,
                                parent)
        self.select.setObjectName("channel%dSelect" % n)
        self.select.setToolTip("Select channel %d for the next launch (Alt+%d)" % (n, n))
        self.indicator = ChannelIndicator(parent)
        self.indicator.setObjectName("channel%dIndicator" % n)
        self.text = QLabel("UNKNOWN", parent)
        self.text.setObjectName("channel%dContinuity" % n)
        self.text.setFont(big_font(self.text, CONTINUITY_POINT_SIZE))
        restyle(self.text, role="banner", level="info", continuity="UNKNOWN", stale=True)
        self.result = QLabel("", parent)
        self.result.setObjectName("channel%dResult" % n)
        self.continuity = C.CONT_UNKNOWN
        self.fire_result = C.FIRE_NONE

    def widgets(self):
        return (self.select, self.indicator, self.text, self.result)

    def show(self, continuity, resistance_mohm, fire_result, stale):
        self.continuity = continuity if continuity in CONTINUITY_LEVELS else C.CONT_UNKNOWN
        self.fire_result = fire_result
        text = continuity_text(continuity, resistance_mohm)
        self.indicator.set_state(continuity, stale)
        self.indicator.setAccessibleName(text)
        self.text.setText(text)
        restyle(self.text, role="banner",
                level="info" if stale else CONTINUITY_LEVELS[self.continuity],
                continuity=C.CONT_NAMES[self.continuity], stale=stale)
        self.result.setText(fire_result_text(fire_result))
        restyle(self.result, fire_result=_name(C.FIRE_RESULT_NAMES, fire_result, "result"))


class PadPanel(QWidget):
    """The pad at a glance; `selected_mask` is what the launch panel arms."""

    selection_changed = Signal(int)  # the new mask of channels selected for launch

    def __init__(self, conn, parent=None):
        super().__init__(parent)
        self.setObjectName("padPanel")
        self._conn = conn
        self._rows = []
        self._mask = 1  # channel 1, until the operator chooses otherwise
        self._locked = False
        self._stale = True

        self._key = QLabel(self)
        self._key.setObjectName("armKey")
        self._key.setFont(big_font(self._key, KEY_POINT_SIZE))
        self._battery = QLabel(self)
        self._battery.setObjectName("battery")
        restyle(self._battery, role="readout")
        self._battery.setFont(big_font(self._battery, CONTINUITY_POINT_SIZE))
        self._state = QLabel(self)
        self._state.setObjectName("deviceState")
        self._state.setWordWrap(True)  # a long reason must not widen the window
        self._state.setFont(big_font(self._state, CONTINUITY_POINT_SIZE))
        self._notice = QLabel(self)
        self._notice.setObjectName("padNotice")
        self._notice.setWordWrap(True)

        top = QGridLayout()  # two rows: the panel must fit a 768-pixel laptop screen
        top.addWidget(self._key, 0, 0)
        top.addWidget(self._state, 0, 1)
        top.addWidget(self._battery, 1, 0)
        top.addWidget(self._notice, 1, 1)
        top.setColumnStretch(1, 1)
        self._grid = QGridLayout()
        self._grid.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self._grid)
        layout.addStretch(1)

        channels = DEFAULT_CHANNELS
        if conn.is_connected:
            with contextlib.suppress(AttributeError):
                channels = conn.client.info.channels
        self._build_rows(channels)
        self._show_unknown(STALE_TEXT if not conn.is_connected else "waiting for the first status")

        conn.connected.connect(self._on_connected)
        conn.status.connect(self._on_status)
        conn.disconnected.connect(self._on_gone)
        conn.link_lost.connect(self._on_gone)

    # --- what other parts read ----------------------------------------------------------------
    @property
    def selected_mask(self):
        return self._mask

    @property
    def channel_count(self):
        return len(self._rows)

    @property
    def stale(self):
        """True while the values shown are not current (no link)."""
        return self._stale

    def set_selected_mask(self, mask):
        mask &= (1 << len(self._rows)) - 1
        for i, row in enumerate(self._rows):
            row.select.setChecked(bool(mask & (1 << i)))
        self._set_mask(mask)

    def set_selection_locked(self, locked):
        """While a launch is under way the selection must not change under it."""
        self._locked = locked
        for row in self._rows:
            row.select.setEnabled(not locked)

    def checkbox(self, i):
        return self._rows[i].select

    def indicator(self, i):
        return self._rows[i].indicator

    def channel_state(self, i):
        """The C.CONT_* code channel i (0-based) shows."""
        return self._rows[i].continuity

    def channel_text(self, i):
        return self._rows[i].text.text()

    def fire_result_text(self, i):
        return self._rows[i].result.text()

    def key_text(self):
        return self._key.text()

    def battery_text(self):
        return self._battery.text()

    def state_text(self):
        return self._state.text()

    def notice_text(self):
        return self._notice.text()

    def describe_selection(self):
        """One line per selected channel, for the ARM confirmation."""
        lines = []
        for i, row in enumerate(self._rows):
            if self._mask & (1 << i):
                lines.append("channel %d: %s" % (i + 1, row.text.text()))
        return lines

    # --- building -------------------------------------------------------------------------------
    def _build_rows(self, channels):
        channels = max(1, min(int(channels), C.MAX_CHANNELS))
        if channels == len(self._rows):
            return
        for row in self._rows:
            for w in row.widgets():
                self._grid.removeWidget(w)
                w.deleteLater()
        self._rows = []
        for i in range(channels):
            row = _ChannelRow(i, self)
            row.select.setChecked(bool(self._mask & (1 << i)))
            row.select.setEnabled(not self._locked)
            row.select.toggled.connect(self._on_toggled)
            for col, w in enumerate(row.widgets()):
                self._grid.addWidget(w, i, col)
            self._rows.append(row)
        self._set_mask(self._mask & ((1 << channels) - 1))

    # --- slots ------------------------------------------------------------------------------------
    def _on_toggled(self, _checked):
        mask = 0
        for i, row in enumerate(self._rows):
            if row.select.isChecked():
                mask |= 1 << i
        self._set_mask(mask)

    def _set_mask(self, mask):
        if mask != self._mask:
            self._mask = mask
            self.selection_changed.emit(mask)

    def _on_connected(self, device_info):
        try:
            self._build_rows(device_info.get("channels") or DEFAULT_CHANNELS)
            self._show_unknown("connected to %s: waiting for the first status"
                               % device_info.get("board", "the device"))
        except Exception as exc:  # never into Qt's event loop
            self._show_notice("pad panel: %s" % one_line(exc), "danger")

    def _on_gone(self, reason):
        try:
            self._show_unknown("%s (%s)" % (STALE_TEXT, reason))
        except Exception as exc:
            self._show_notice("pad panel: %s" % one_line(exc), "danger")

    def _on_status(self, status):
        try:
            self._show_status(status)
        except Exception as exc:
            self._show_notice("pad panel: bad status: %s" % one_line(exc), "danger")

    # --- showing ------------------------------------------------------------------------------
    def _show_unknown(self, notice):
        self._stale = True
        self._key.setText("ARM KEY: UNKNOWN")
        restyle(self._key, role="banner", level="info", key="unknown")
        self._battery.setText("BATTERY: UNKNOWN")
        self._state.setText("DEVICE: UNKNOWN")
        restyle(self._state, role="banner", level="info", state="UNKNOWN")
        self._show_notice(notice)
        for row in self._rows:
            row.show(C.CONT_UNKNOWN, C.RESISTANCE_UNKNOWN, row.fire_result, stale=True)

    def _show_notice(self, text, level="warn"):
        self._notice.setText(text)
        self._notice.setVisible(bool(text))
        restyle(self._notice, role="banner", level=level)

    def _show_status(self, status):
        if not self._conn.link_ok:
            return  # a frame from before the link went: the panel already says it is stale
        self._stale = False
        channels = list(status.channels)
        if channels:
            self._build_rows(len(channels))
        key_on = bool(status.flags & C.DEV_KEY_ON)
        self._key.setText("ARM KEY: %s" % ("ON" if key_on else "OFF"))
        # a key that is on makes the pad live: the louder of the two
        restyle(self._key, role="banner", level="warn" if key_on else "ok",
                key="on" if key_on else "off")
        self._battery.setText("BATTERY: %.2f V" % (status.battery_mv / 1000))
        state = _name(C.STATE_NAMES, status.state, "state")
        if status.state == C.STATE_SAFE:
            text = "DEVICE: SAFE (%s)" % _name(C.SAFE_REASON_NAMES, status.safe_reason, "reason")
        else:
            text = "DEVICE: %s" % state
        self._state.setText(text)
        level = STATE_LEVELS[status.state] if 0 <= status.state < len(STATE_LEVELS) else "danger"
        restyle(self._state, role="banner", level=level, state=state)
        self._show_notice("")
        for row, ch in zip(self._rows, channels, strict=False):
            row.show(ch.continuity, ch.resistance_mohm, ch.fire_result, stale=False)
