"""One critical command in flight, resent on timeout; replies cached by sequence.

Requester is the commanding side: it tracks the single outstanding command
and tells the caller when to resend the identical frame (same sequence, the
RETRANSMIT flag) and when to give up. ReplyCache is the responding side: it
keeps the encoded reply to the last command so a retransmitted command is
answered again from the cache instead of being executed twice.
Time is passed in (ticks, see protocol.ticks); nothing here sleeps.
"""

from protocol.compat import const, copy_into
from protocol.constants import COMMAND_TIMEOUT_MS, MAX_ENCODED, MAX_RESENDS
from protocol.errors import LocalProtocolError
from protocol.ticks import ticks_diff

POLL_IDLE = const(0)  # nothing to do
POLL_RESEND = const(1)  # resend the command now, with FLAG_RETRANSMIT and the same seq
POLL_FAILED = const(2)  # gave up after MAX_RESENDS resends: report it, never retry silently


class Requester:
    """Tracks the one command in flight and its resend schedule."""

    def __init__(self, timeout_ms=COMMAND_TIMEOUT_MS, max_resends=MAX_RESENDS):
        self.timeout_ms = timeout_ms
        self.max_resends = max_resends
        self.busy = False
        self.seq = -1
        self.msg_type = 0
        self.message = None
        self.resends = 0
        self._sent_ms = 0

    def start(self, seq, msg_type, now_ms, message=None):
        """Record that the command `msg_type` went out with `seq` at `now_ms`."""
        if self.busy:
            raise LocalProtocolError(
                "command 0x%02x (seq %d) is still in flight" % (self.msg_type, self.seq)
            )
        self.busy = True
        self.seq = seq
        self.msg_type = msg_type
        self.message = message
        self.resends = 0
        self._sent_ms = now_ms

    def on_reply(self, re_seq):
        """True when `re_seq` answers the command in flight, which is then complete."""
        if self.busy and re_seq == self.seq:
            self.busy = False
            return True
        return False

    def poll(self, now_ms):
        """POLL_IDLE, POLL_RESEND (caller resends now) or POLL_FAILED (caller reports)."""
        if not self.busy or ticks_diff(now_ms, self._sent_ms) < self.timeout_ms:
            return POLL_IDLE
        if self.resends < self.max_resends:
            self.resends += 1
            self._sent_ms = now_ms
            return POLL_RESEND
        self.busy = False
        return POLL_FAILED

    def cancel(self):
        """Forget the command in flight (its reply, if it comes, is then ignored)."""
        self.busy = False


class ReplyCache:
    """The encoded reply to the last command, keyed by that command's sequence."""

    def __init__(self):
        self.buf = bytearray(MAX_ENCODED)
        self.length = 0
        self.seq = -1

    def store(self, seq, encoded, n):
        """Keep encoded[0:n] as the reply to command `seq` (copies; allocates nothing)."""
        copy_into(self.buf, 0, encoded, 0, n)
        self.length = n
        self.seq = seq

    def has(self, seq):
        return self.length > 0 and self.seq == seq

    def clear(self):
        self.length = 0
        self.seq = -1
