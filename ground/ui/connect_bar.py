"""The strip along the top of the window: which port, connect/disconnect, how the link is
doing and what is on the other end.

The port picker offers the serial ports pyserial finds (likely pad boxes first), the
Simulator (a sim:// pad box in this process with a sample rocket on the pad), and
whatever URL the operator types: /dev/ttyACM0, COM3, socket://host:port, rfc2217://...,
sim://?... . Opening, closing and the link's health all go through the Connection.
"""

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from ground.ui import theme

SIMULATOR_LABEL = "Simulator (a pad box on this computer)"
# channel 1 lights the sample rocket's motor; channel 2 has no igniter, to show OPEN
SIMULATOR_URL = "sim://?motor=H128W&seed=1&ch1=ematch&ch2=open"
QUALITY_PERIOD_MS = 500


def available_ports():
    """[(label, url)]: the serial ports, likely pad boxes first, then the Simulator."""
    from ground.link import serial_ports

    ports = sorted(serial_ports(), key=lambda p: p["likely_board"] is None)  # stable: by name
    found = [(("%s  %s" % (p["device"], p["likely_board"] or p["description"] or "")).strip(),
              p["device"]) for p in ports]
    found.append((SIMULATOR_LABEL, SIMULATOR_URL))
    return found


def describe_quality(q):
    """The link-quality line for the bar from Connection.link_quality()."""
    if not q["connected"]:
        return "not connected"
    heard = q["since_heard_s"]
    heard_text = "never" if heard is None else "%.1f s ago" % heard
    return "frames ok %d  CRC errors %d  rejected %d  resends %d  last heard %s" % (
        q["frames_ok"], q["crc_errors"], q["rejected"], q["resends"], heard_text)


class ConnectionBar(QWidget):
    """Port picker, connect/disconnect, link quality, device info."""

    port_chosen = Signal(str)  # the URL a connect was asked for (the window remembers it)

    def __init__(self, conn, parent=None):
        super().__init__(parent)
        self.conn = conn
        self.ports = QComboBox(objectName="port_picker")
        self.ports.setEditable(True)
        self.ports.setMinimumContentsLength(28)
        self.ports.setToolTip("A serial port, the Simulator, or a URL typed in "
                              "(socket://host:port, rfc2217://host:port, sim://?...)")
        self.refresh_button = QPushButton("Rescan", objectName="rescan_ports")
        self.connect_button = QPushButton("Connect", objectName="connect_button")
        self.connect_button.setToolTip("Connect to the chosen port (Ctrl+O)")
        self.link_label = QLabel("not connected", objectName="link_quality")
        self.link_state = QLabel("NO LINK", objectName="link_state")
        self.link_state.setProperty("role", "banner")
        self.link_state.setProperty("level", "info")
        self.device_label = QLabel("", objectName="device_info")
        self.device_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.device_info = None

        # two lines: what to do (port, connect, link state) above what is known (counts,
        # board); the second line may be cut short on a narrow window (its tooltip is whole),
        # the first never is
        for label in (self.link_label, self.device_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 2, 4, 2)
        grid.setVerticalSpacing(2)
        top = QHBoxLayout()
        port_label = QLabel("Port", objectName="port_label")
        port_label.setBuddy(self.ports)
        top.addSpacing(6)
        for w in (port_label, self.ports, self.refresh_button, self.connect_button,
                  self.link_state):
            top.addWidget(w)
        top.addStretch(1)
        grid.addLayout(top, 0, 0, 1, 2)
        grid.addWidget(self.link_label, 1, 0)
        grid.addWidget(self.device_label, 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

        self.refresh_button.clicked.connect(self.rescan)
        self.connect_button.clicked.connect(self.toggle)
        conn.connected.connect(self._on_connected)
        conn.disconnected.connect(self._on_disconnected)
        conn.link_lost.connect(self._on_link_lost)
        conn.error.connect(self._on_error)
        self._connecting = False
        self._timer = QTimer(self)
        self._timer.setInterval(QUALITY_PERIOD_MS)
        self._timer.timeout.connect(self.refresh_quality)
        self._timer.start()
        self.rescan()

    # --- the port list ---------------------------------------------------------------------------
    @Slot()
    def rescan(self):
        typed = self.ports.currentText()
        self.ports.clear()
        for label, url in available_ports():
            self.ports.addItem(label, url)
        if typed:
            self.set_port(typed)

    def set_port(self, url):
        """Choose `url` (a listed port's device or URL, or anything typed)."""
        i = self.ports.findData(url)
        if i < 0:
            i = self.ports.findText(url)
        if i >= 0:
            self.ports.setCurrentIndex(i)
        else:
            self.ports.setEditText(url)

    def chosen_url(self):
        """The URL of the listed entry shown, or the text typed."""
        text = self.ports.currentText().strip()
        i = self.ports.findText(text)
        if i >= 0:
            return self.ports.itemData(i)
        return text

    # --- connecting -------------------------------------------------------------------------------
    @Slot()
    def toggle(self):
        if self.conn.is_connected or self._connecting:
            self.disconnect_port()
        else:
            self.connect_port()

    @Slot()
    def connect_port(self):
        url = self.chosen_url()
        if not url:
            self._show_state("CHOOSE A PORT", "warn")
            return
        self._connecting = True
        self.connect_button.setText("Cancel")
        self._show_state("CONNECTING", "info")
        self.port_chosen.emit(url)
        self.conn.open(url)

    @Slot()
    def disconnect_port(self):
        self._connecting = False
        self.conn.close("disconnected by the operator")
        self._on_disconnected("disconnected")

    def _on_connected(self, info):
        self._connecting = False
        self.device_info = info
        self.connect_button.setText("Disconnect")
        self.connect_button.setToolTip("Disconnect (Ctrl+Shift+O); an armed pad is disarmed first")
        self._show_state("LINK OK", "ok")
        self.device_label.setText("%s, firmware %s, protocol %s, %d channels, id %s" % (
            info["board"], info["firmware"], info["protocol_version"], info["channels"],
            info["device_id"][:12]))
        self.device_label.setToolTip(self.device_label.text())
        self.refresh_quality()

    def _on_disconnected(self, reason):
        self._connecting = False
        self.connect_button.setText("Connect")
        self.connect_button.setToolTip("Connect to the chosen port (Ctrl+O)")
        self._show_state("NO LINK", "info")
        self.refresh_quality()

    def _on_link_lost(self, reason):
        self._show_state("LINK LOST", "danger")
        self.link_state.setToolTip(reason)

    def _on_error(self, text):
        if self._connecting and not self.conn.is_connected:
            self._connecting = False
            self.connect_button.setText("Connect")
            self._show_state("NOT CONNECTED", "warn")
            self.link_state.setToolTip(text)

    def _show_state(self, text, level):
        self.link_state.setText(text)
        theme.restyle(self.link_state, level=level)

    @Slot()
    def refresh_quality(self):
        q = self.conn.link_quality()
        self.link_label.setText(describe_quality(q))
        self.link_label.setToolTip(self.link_label.text())
        if q["connected"] and q["link_ok"] and self.link_state.text() == "LINK LOST":
            self._show_state("LINK OK", "ok")
