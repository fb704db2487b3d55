"""The launch sequence, as the command line runs it: check, confirm, arm, count down, fire, report.

ABORT is one key away at every moment: Ctrl-C, or any key when the terminal is
interactive. An abort stops the FIRE stream first, then makes the pad SAFE.
"""

import contextlib
import os
import select
import sys
import time

from ground.client import CommandRefused, DeviceError
from protocol import constants as C

MIN_COUNTDOWN_S = 5  # the high-power code's minimum
MISFIRE_WAIT_S = 60  # NAR/Tripoli: wait before approaching a misfire
SETTLE_S = 0.8  # time for the device to decide FIRED or MISFIRE


class Aborted(Exception):
    """The operator aborted."""


class Keyboard:
    """Any key aborts, when stdin is a terminal (cbreak mode while active)."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stdin
        self._saved = None

    def __enter__(self):
        try:
            if self.stream.isatty():
                import termios
                import tty

                fd = self.stream.fileno()
                self._saved = termios.tcgetattr(fd)
                tty.setcbreak(fd)
        except (OSError, ValueError, AttributeError):
            self._saved = None
        return self

    def __exit__(self, *exc):
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)

    def pressed(self):
        if self._saved is None:
            return False
        ready, _, _ = select.select([self.stream], [], [], 0)
        if ready:
            os.read(self.stream.fileno(), 64)
            return True
        return False


class LaunchSequence:
    def __init__(self, client, channel, countdown_s=MIN_COUNTDOWN_S, pulse_ms=1000,
                 out=print, keyboard=None, misfire_wait_s=MISFIRE_WAIT_S, sleep=time.sleep):
        self.client = client
        self.channel = channel  # 0-based
        self.countdown_s = countdown_s
        self.pulse_ms = pulse_ms
        self.out = out
        self.keyboard = keyboard
        self.misfire_wait_s = misfire_wait_s
        self.sleep = sleep

    def _check_abort(self):
        if self.keyboard is not None and self.keyboard.pressed():
            raise Aborted("key pressed")
        if self.client.link.error is not None:
            raise self.client.link.error

    def _wait(self, seconds):
        end = time.monotonic() + seconds
        while True:
            self._check_abort()
            left = end - time.monotonic()
            if left <= 0:
                return
            self.sleep(min(0.02, left))

    def preflight(self, override_continuity=False):
        """Status and continuity of the chosen channel; raises DeviceError if it cannot launch."""
        st = self.client.status()
        # a device that has just started has not measured its channels yet
        deadline = time.monotonic() + 1.5
        while (
            self.channel < len(st.channels)
            and st.channels[self.channel].continuity == C.CONT_UNKNOWN
            and time.monotonic() < deadline
        ):
            self.sleep(0.1)
            st = self.client.status()
        if self.channel >= len(st.channels):
            raise DeviceError("the device has %d channel(s); there is no channel %d"
                              % (len(st.channels), self.channel + 1))
        ch = st.channels[self.channel]
        self.out("channel %d: %s" % (self.channel + 1, describe_channel(ch)))
        if not st.flags & C.DEV_KEY_ON:
            raise DeviceError("the arm key is OFF: turn it on to launch")
        if ch.continuity != C.CONT_CONNECTED and not override_continuity:
            raise DeviceError("no continuity on channel %d (%s): check the igniter and clips"
                              % (self.channel + 1, C.CONT_NAMES[ch.continuity]))
        return st

    def run(self, override_continuity=False):
        """Arm, count down, fire for the pulse, report. Returns 'FIRED' or 'MISFIRE'."""
        mask = 1 << self.channel
        client = self.client
        try:
            client.arm(mask, override_continuity)
            self.out("ARMED channel %d. ABORT: Ctrl-C or any key." % (self.channel + 1))
            for t in range(self.countdown_s, 0, -1):
                self.out("T-%d" % t)
                self._wait(1.0)
            self.out("FIRE")
            client.start_fire(mask)
            end = time.monotonic() + self.pulse_ms / 1000
            while time.monotonic() < end and client.firing:
                self._check_abort()
                self.sleep(0.01)
            stopped_early = not client.firing
            client.stop_fire()
            nak = client.fire_nak if stopped_early else None
        except (Aborted, KeyboardInterrupt):
            client.abort()
            self.out("ABORTED: the pad is SAFE")
            raise Aborted("aborted by the operator") from None
        except BaseException:
            client.stop_fire()
            with contextlib.suppress(Exception):  # the original failure is the one to report
                client.abort()
            raise
        if nak is not None:
            # e.g. FIRE frames lost on the link let the dead-man pulse end, and
            # the next FIRE found the pad SAFE: what matters now is whether it fired
            self.out("the fire stream stopped early: the device said %s" % nak.reason_name)
        self.sleep(SETTLE_S)
        st = client.status()
        result = st.channels[self.channel].fire_result
        if result == C.FIRE_NONE:
            if nak is not None:
                raise CommandRefused("FIRE", nak.reason)
            raise DeviceError("the device reports no fire on channel %d" % (self.channel + 1))
        if result == C.FIRE_FIRED:
            self.out("FIRED: the igniter burned open")
            return "FIRED"
        self.out("MISFIRE: channel %d still shows continuity" % (self.channel + 1))
        self.misfire_timer()
        return "MISFIRE"

    def misfire_timer(self):
        self.out("DO NOT APPROACH the pad for %d s (misfire rule)" % self.misfire_wait_s)
        for left in range(self.misfire_wait_s, 0, -10):
            self.out("  %d s" % left)
            try:
                self._wait(min(10, left))
            except (Aborted, KeyboardInterrupt):
                self.out("timer display stopped: the %d s rule still applies" % self.misfire_wait_s)
                return
        self.out("misfire wait over: disconnect the igniter before approaching")


def describe_channel(ch):
    name = C.CONT_NAMES[ch.continuity]
    if ch.continuity == C.CONT_CONNECTED and ch.resistance_mohm != C.RESISTANCE_UNKNOWN:
        name = "CONNECTED %.2f ohm" % (ch.resistance_mohm / 1000)
    if ch.fire_result:
        name += ", last fire: %s" % C.FIRE_RESULT_NAMES[ch.fire_result]
    return name
