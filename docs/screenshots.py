"""Screenshots of the ground station's window in its main states, for the README.

    python docs/screenshots.py [--out DIR] [--size 1400x900] [--only NAME,...]

The real window, drawn offscreen, flies the simulated pad's sample rocket (an H128W) and
is grabbed at each state a launch goes through:

    window-connected.png    connected to the pad: key ON, channel 1 CONNECTED, channel 2 OPEN
    window-armed.png        the device acknowledged ARM: the countdown at its start
    window-countdown.png    a few seconds into the countdown
    window-flight.png       the Launch tab after the flight: live plots and flight states
    window-flight-view.png  the flight downloaded: statistics, events, the predicted overlay

Everything runs in a temporary folder (settings, downloads, the flight library): nothing
of the user's is read or written. The countdown seconds and the flown flight are sped up,
so the whole run takes seconds; the pictures show the real digits and the real flight.
The simulator is seeded, so the pictures change only when the window does.
"""

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")

SHOTS = ("connected", "armed", "countdown", "flight", "flight-view")
FILE_PATTERN = "window-%s.png"
DEFAULT_SIZE = (1400, 900)
SIM_URL = "sim://?motor=H128W&seed=1&ch1=ematch&ch2=open"

COUNTDOWN_S = 10
COUNTDOWN_SHOT_LEFT_S = 7  # "a few seconds in"
SECOND_MS = 400  # a countdown second here: long enough to catch each digit on screen
SIM_SPEED = 20  # the device clock once the pad is SAFE again: 141 s of flight in about 7 s
SETTLE_PAINT_MS = 150  # lets queued layout and the plots' redraw timers catch up before a grab
WAIT_STEP_MS = 10

CONNECT_TIMEOUT_MS = 15000
STATUS_TIMEOUT_MS = 3000
LIFTOFF_TIMEOUT_MS = 3000
LANDING_TIMEOUT_MS = 20000
LISTING_TIMEOUT_MS = 10000
DOWNLOAD_TIMEOUT_MS = 20000
REFRESH_EVERY_MS = 500


class ShotError(Exception):
    """Something the run needed did not happen: one line for the user."""


# --- arguments ------------------------------------------------------------------------------------
def parse_size(text):
    """'1400x900' -> (1400, 900)."""
    try:
        w, h = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("size %r: use WIDTHxHEIGHT, e.g. 1400x900" % text) from None
    if not (320 <= w <= 8000 and 240 <= h <= 8000):
        raise argparse.ArgumentTypeError("size %r: between 320x240 and 8000x8000" % text)
    return w, h


def parse_only(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SHOTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError("--only %s: choose from %s" % (text, ", ".join(SHOTS)))
    return set(names)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # one line, and the same status as any other failure
        raise ShotError(message)


def make_parser():
    p = _Parser(prog="python docs/screenshots.py",
                description="Render the ground station's window in its main states to PNGs.")
    p.add_argument("--out", default=DOCS, help="folder for the PNGs (default: docs/)")
    p.add_argument("--size", type=parse_size, default=DEFAULT_SIZE,
                   help="window size in pixels, WIDTHxHEIGHT (default: %dx%d)" % DEFAULT_SIZE)
    p.add_argument("--only", type=parse_only, default=set(SHOTS),
                   help="comma-separated shots to write (default: all): " + ", ".join(SHOTS))
    return p


# --- waiting on the event loop ----------------------------------------------------------------------
def wait_until(predicate, what, timeout_ms):
    """Run the event loop until predicate() holds; ShotError naming `what` after timeout_ms."""
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout_ms / 1000.0
    while not predicate():
        if time.monotonic() > deadline:
            raise ShotError("timed out after %.1f s waiting for %s" % (timeout_ms / 1000.0, what))
        QTest.qWait(WAIT_STEP_MS)


def catch(signal):
    """A list that collects the signal's emissions (each as a tuple of its arguments)."""
    got = []
    signal.connect(lambda *args: got.append(args))
    return got


# --- the run ----------------------------------------------------------------------------------------
class Shooter:
    """One window against one simulated pad, driven through a launch and grabbed on the way."""

    def __init__(self, out_dir, size, only, folder):
        from PySide6.QtCore import QSettings

        from ground.ui.window import MainWindow

        self.out_dir = out_dir
        self.size = size
        self.only = only
        self.written = []
        self.taken = set()
        settings = QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
        self.win = MainWindow(settings=settings, downloads_dir=os.path.join(folder, "downloads"),
                              launch_options={"second_ms": SECOND_MS})
        self.device = None

    # --- grabbing ---------------------------------------------------------------------------------
    def show(self):
        from PySide6.QtTest import QTest

        win = self.win
        win.resize(*self.size)
        win.show()
        if not QTest.qWaitForWindowExposed(win, 5000):
            raise ShotError("the window was never shown (QT_QPA_PLATFORM=%s)"
                            % os.environ.get("QT_QPA_PLATFORM", ""))
        win.resize(*self.size)  # the window manager may have had its say when it was shown
        QTest.qWait(SETTLE_PAINT_MS)
        shown = (win.width(), win.height())
        if shown != self.size:
            hint = win.minimumSizeHint()
            raise ShotError("the window is %dx%d, not the %dx%d asked for (its smallest: %dx%d)"
                            % (*shown, *self.size, hint.width(), hint.height()))

    def grab(self, name, settle=True):
        from PySide6.QtTest import QTest

        if settle:
            QTest.qWait(SETTLE_PAINT_MS)
        if name not in self.only:
            return
        if (self.win.width(), self.win.height()) != self.size:
            # a widget's new minimum (a long line of text) can grow the window for a moment
            self.win.resize(*self.size)
            QTest.qWait(SETTLE_PAINT_MS)
        pixmap = self.win.grab()
        ratio = pixmap.devicePixelRatio() or 1.0
        got = (round(pixmap.width() / ratio), round(pixmap.height() / ratio))
        if got != self.size:
            raise ShotError("%s: the grab is %dx%d, not %dx%d" % (name, *got, *self.size))
        path = os.path.join(self.out_dir, FILE_PATTERN % name)
        if not pixmap.save(path, "PNG"):
            raise ShotError("cannot write %s" % path)
        self.written.append(path)
        self.taken.add(name)
        print(path, flush=True)

    def done(self):
        return self.only <= self.taken

    # --- the states -------------------------------------------------------------------------------
    def connected(self):
        from protocol import constants as C

        win = self.win
        connected = catch(win.conn.connected)
        errors = catch(win.conn.error)
        win.connect_to(SIM_URL)
        wait_until(lambda: connected or errors, "the simulated pad to connect", CONNECT_TIMEOUT_MS)
        if errors and not connected:
            raise ShotError("cannot connect to %s: %s" % (SIM_URL, errors[0][0]))
        self.device = win.conn.client.link._port.device
        pad = win.pad
        # a device just started has not measured its channels yet: STATUS comes at 2 Hz
        wait_until(lambda: pad.channel_state(0) == C.CONT_CONNECTED
                   and pad.channel_state(1) == C.CONT_OPEN, "the pad's continuity",
                   STATUS_TIMEOUT_MS)
        wait_until(lambda: "frames ok 0 " not in win.bar.link_label.text(),
                   "the link quality", STATUS_TIMEOUT_MS)
        self.grab("connected")

    def armed(self):
        win = self.win
        launch = win.launch
        launch.countdown_spin.setValue(COUNTDOWN_S)
        armed = catch(win.conn.armed)
        launch.request_arm()
        box = launch.confirm_box
        if box is None:
            raise ShotError("ARM asked nothing: %s" % launch.banner_text())
        from PySide6.QtWidgets import QMessageBox

        box.button(QMessageBox.StandardButton.Yes).click()
        wait_until(lambda: armed or launch.state not in ("ARMING", "COUNTDOWN"),
                   "the ARM answer", STATUS_TIMEOUT_MS)
        if launch.state != "COUNTDOWN":
            raise ShotError("ARM did not start the countdown: %s" % launch.banner_text())
        # the pad panel shows the device's own state from its next STATUS: ask for it now,
        # while the countdown still shows its first second
        win.conn.request_status()
        wait_until(lambda: "ARMED" in win.pad.state_text(), "the pad to show ARMED",
                   STATUS_TIMEOUT_MS)
        if launch.countdown_text() != "T-%d" % COUNTDOWN_S:
            raise ShotError("the countdown moved on before the pad showed ARMED (%s)"
                            % launch.countdown_text())
        self.grab("armed", settle=False)

    def countdown(self):
        launch = self.win.launch
        digits = "T-%d" % COUNTDOWN_SHOT_LEFT_S
        wait_until(lambda: launch.countdown_text() == digits or launch.state != "COUNTDOWN",
                   "the countdown to reach %s" % digits, COUNTDOWN_S * SECOND_MS + 2000)
        if launch.state != "COUNTDOWN":
            raise ShotError("the countdown stopped: %s" % launch.banner_text())
        self.grab("countdown", settle=False)

    def flight(self):
        win = self.win
        launch = win.launch
        device = self.device
        wait_until(lambda: launch.state != "COUNTDOWN", "T-0", COUNTDOWN_S * SECOND_MS + 2000)
        if launch.state != "READY":
            raise ShotError("no T-0: %s" % launch.banner_text())
        fired = catch(win.conn.fired)
        launch.switch_pressed("button")  # the operator holds the launch switch...
        wait_until(lambda: fired or launch.state != "READY", "FIRE", STATUS_TIMEOUT_MS)
        wait_until(lambda: device.hal.flight_time_ms() is not None or launch.state != "FIRING",
                   "the motor to light", LIFTOFF_TIMEOUT_MS)
        launch.switch_released("button")  # ...and lets go once it is away
        wait_until(lambda: launch.state in ("FIRED", "NOT_FIRED", "MISFIRE"),
                   "the fire result", STATUS_TIMEOUT_MS + 2000)
        if launch.state != "FIRED":
            raise ShotError("the launch ended %s: %s" % (launch.state, launch.banner_text()))
        wait_until(lambda: device.status_dict()["state"] == "SAFE", "the pad to go SAFE",
                   STATUS_TIMEOUT_MS)
        # only on a SAFE pad: its link-loss and arm timers would run fast too
        device.clock.set_speed(SIM_SPEED)
        telemetry = win.telemetry
        wait_until(lambda: telemetry.readout_text("flight_state") == "LANDED",
                   "the rocket to land", LANDING_TIMEOUT_MS)
        telemetry.show_whole_flight()
        states = [label for _t, label, kind in telemetry.marks() if kind == "state"]
        if not any(label.startswith("LANDED") for label in states):
            raise ShotError("the plots show no landing: %s" % ", ".join(states))
        self.grab("flight")

    def flight_view(self):
        win = self.win
        panel = win.device_flights
        asked = [time.monotonic() - 1.0]

        def listed():
            # the flight is on the device once its log is closed, soon after landing
            if panel.table.rowCount() >= 1:
                return True
            if time.monotonic() - asked[0] >= REFRESH_EVERY_MS / 1000.0:
                asked[0] = time.monotonic()
                panel.refresh()
            return False

        wait_until(listed, "the flight on the device", LISTING_TIMEOUT_MS)
        shown = catch(win.flight_view.shown)
        errors = catch(panel.error)
        panel.download_all()
        wait_until(lambda: shown or errors, "the flight to download", DOWNLOAD_TIMEOUT_MS)
        if errors and not shown:
            raise ShotError("download: %s" % errors[0][0])
        if win.flight_view.prediction is None:
            raise ShotError("the flight view shows no prediction: %s" % win.flight_view.message())
        dialog = panel.progress_dialog
        if dialog is not None:
            dialog.hide()  # its own window: not in the grab, but closed all the same
        win.tabs.setCurrentIndex(1)
        self.grab("flight-view")

    def run(self):
        self.show()
        for step in (self.connected, self.armed, self.countdown, self.flight, self.flight_view):
            step()
            if self.done():
                break

    def close(self):
        from PySide6.QtTest import QTest

        self.win.close()  # disconnects: the simulator stops
        self.win.deleteLater()
        QTest.qWait(0)


# what the offscreen platform says about every window it shows: not news for a screenshot
OFFSCREEN_NOISE = ("This plugin does not support propagateSizeHints()",)


def _quiet_offscreen(_mode, _context, message):
    if message not in OFFSCREEN_NOISE:
        print(message, file=sys.stderr)


def render(out_dir, size=DEFAULT_SIZE, only=SHOTS):
    """Write the PNGs named in `only` into out_dir; returns their paths."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from ground.ui import theme

    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise ShotError("cannot make the folder %s: %s" % (out_dir, exc.strerror or exc)) from None
    app = QApplication.instance() or QApplication([sys.argv[0]])
    theme.apply(app)
    previous_handler = qInstallMessageHandler(_quiet_offscreen)
    folder = tempfile.mkdtemp(prefix="coalwood-screenshots-")
    saved_library = os.environ.get("COALWOOD_LIBRARY")
    os.environ["COALWOOD_LIBRARY"] = os.path.join(folder, "library")  # never the user's
    shooter = None
    try:
        shooter = Shooter(out_dir, tuple(size), set(only), folder)
        shooter.run()
        return list(shooter.written)
    finally:
        if shooter is not None:
            with contextlib.suppress(Exception):
                shooter.close()
        if saved_library is None:
            os.environ.pop("COALWOOD_LIBRARY", None)
        else:
            os.environ["COALWOOD_LIBRARY"] = saved_library
        shutil.rmtree(folder, ignore_errors=True)
        qInstallMessageHandler(previous_handler)


def main(argv=None):
    try:
        args = make_parser().parse_args(argv)
        render(args.out, args.size, args.only)
    except ShotError as exc:
        print("screenshots: %s" % exc, file=sys.stderr)
        return 2
    except Exception as exc:  # a user gets one line, not a traceback
        text = " ".join(str(exc).split()) or type(exc).__name__
        print("screenshots: %s: %s" % (type(exc).__name__, text), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
