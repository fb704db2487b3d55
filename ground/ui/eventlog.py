"""The launch log: everything the device said and every command sent, with times.

Commands, answers, refusals, link and fire events arrive as the Connection's `event`
signal. STATUS comes twice a second; it is logged when what it says changes (state,
key, continuity, fire results, flight state), not every time, or the log would be a
wall of identical lines. The battery voltage is in every STATUS line but does not by
itself make one (its last digit moves with every reading). Flight-state changes seen in
TELEMETRY are logged too.

The log is kept whole in memory (a launch day is thousands of lines, not millions) and
saved as plain text with ISO times, so it can be attached to a range report.
"""

import datetime
import os
import time

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ground.atomic import write_whole
from ground.launch import describe_channel
from protocol import constants as C


def status_summary(st):
    """(key for change detection, the line) of one STATUS."""
    key_on = bool(st.flags & C.DEV_KEY_ON)
    channels = tuple((ch.continuity, ch.fire_result) for ch in st.channels)
    change_key = (st.state, st.safe_reason, key_on, st.flight_state, channels,
                  bool(st.flags & C.DEV_LOG_FULL))
    parts = ["STATUS %s" % C.STATE_NAMES[st.state] if st.state < len(C.STATE_NAMES)
             else "STATUS state %d" % st.state]
    if st.state == C.STATE_SAFE and st.safe_reason < len(C.SAFE_REASON_NAMES):
        parts[0] += " (%s)" % C.SAFE_REASON_NAMES[st.safe_reason]
    parts.append("key %s" % ("ON" if key_on else "OFF"))
    parts.append("battery %.2f V" % (st.battery_mv / 1000))
    for i, ch in enumerate(st.channels):
        parts.append("ch%d %s" % (i + 1, describe_channel(ch)))
    if st.flight_state < len(C.FLIGHT_STATE_NAMES):
        parts.append("flight %s" % C.FLIGHT_STATE_NAMES[st.flight_state])
    if st.flags & C.DEV_LOG_FULL:
        parts.append("LOG FULL")
    return change_key, ", ".join(parts)


def format_entry(t_s, kind, text):
    stamp = datetime.datetime.fromtimestamp(t_s).isoformat(timespec="milliseconds")
    return "%s  %-8s %s" % (stamp, kind, text)


class EventLog(QWidget):
    saved = Signal(str)  # path
    save_failed = Signal(str)  # one line

    def __init__(self, conn, parent=None):
        super().__init__(parent)
        self.entries = []  # (t_s, kind, text)
        self._last_status_key = None
        self._last_flight_state = None
        self.view = QPlainTextEdit(objectName="event_log")
        self.view.setReadOnly(True)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        font = QFont(self.view.font())
        font.setPointSize(11)
        self.view.setFont(font)
        self.save_button = QPushButton("Save log…", objectName="save_log")
        self.save_button.setToolTip("Save the whole log as text (Ctrl+S)")
        self.save_button.clicked.connect(self.save_dialog)
        self.note = QLabel("")
        top = QHBoxLayout()
        top.addWidget(self.save_button)
        top.addWidget(self.note, 1)
        box = QVBoxLayout(self)
        box.setContentsMargins(2, 2, 2, 2)
        box.addLayout(top)
        box.addWidget(self.view)
        conn.event.connect(self.add)
        conn.status.connect(self._on_status)
        conn.telemetry.connect(self._on_telemetry)
        conn.connected.connect(self._on_connected)

    @Slot(str, str, float)
    def add(self, kind, text, t_s):
        self.entries.append((t_s, kind, text))
        self.view.appendPlainText(format_entry(t_s, kind, text))

    def text(self):
        return "".join(format_entry(*e) + "\n" for e in self.entries)

    def _on_connected(self, info):
        self._last_status_key = None
        self._last_flight_state = None

    def _on_status(self, st):
        change_key, line = status_summary(st)
        if change_key != self._last_status_key:
            self._last_status_key = change_key
            self.add("device", line, time.time())

    def _on_telemetry(self, msg):
        if msg.flight_state != self._last_flight_state:
            self._last_flight_state = msg.flight_state
            name = (C.FLIGHT_STATE_NAMES[msg.flight_state]
                    if msg.flight_state < len(C.FLIGHT_STATE_NAMES) else str(msg.flight_state))
            self.add("flight", "flight state %s" % name, time.time())

    # --- saving -------------------------------------------------------------------------------
    @Slot()
    def save_dialog(self):
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the launch log", "coalwood-log-%s.txt"
            % datetime.datetime.now().strftime("%Y%m%d-%H%M%S"), "Text (*.txt)",
            options=QFileDialog.Option.DontUseNativeDialog)
        if path:
            self.save(path)

    def save(self, path):
        """Write the whole log to `path` (atomically: a failed save leaves any old file whole).
        True when saved; a failure is one line in the pane and `save_failed`."""
        try:
            write_whole(path, self.text().encode("utf-8"))
        except OSError as exc:
            line = "cannot save the log to %s: %s" % (path, exc.strerror or exc)
            self.note.setText(line)
            self.save_failed.emit(line)
            return False
        self.note.setText("saved %s" % os.path.basename(path))
        self.saved.emit(path)
        return True
