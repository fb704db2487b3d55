"""Errors, split like h11: who broke the rule.

Garbage from the wire never raises inside Connection: it is counted in
Connection.stats and the frame is dropped. These exceptions are for the
cases where raising is right.
"""


class ProtocolError(Exception):
    """Base class of every protocol error."""


class LocalProtocolError(ProtocolError):
    """This side broke a rule (bad length, wrong direction, a second command in flight)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that passed framing checks but makes no sense (bad field values)."""
