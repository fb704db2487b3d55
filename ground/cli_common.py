"""What every `coalwood` subcommand shares: the exit statuses and the one-line error."""

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_DEVICE = 4  # the device refused, or did not answer
EXIT_LINK = 5  # the port: missing, busy, not permitted, vanished
EXIT_MISFIRE = 6
EXIT_CORRUPT = 7  # a download failed its whole-flight CRC-32 / SHA-256 check
EXIT_ABORTED = 130

# --key, wherever a command connects to a device
KEY_HELP = ("the device's 32-byte MAC key in hex, for an authenticated link (default: the "
            "key stored for the device by coalwood key set)")


def one_line(exc):
    """An exception (or any message) as the single line a person reads: its words, or its
    type's name when it has none."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class CliError(Exception):
    """A user-facing error: printed as one line, exits with `code`."""

    def __init__(self, message, code=EXIT_BAD_INPUT):
        super().__init__(message)
        self.code = code
