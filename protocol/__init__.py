"""Coalwood wire protocol: sans-IO, the same code on CPython and MicroPython.

See protocol/PROTOCOL.md for the specification.
"""

from protocol.connection import (  # noqa: F401
    DUPLICATE,
    FRAME,
    Connection,
    Frame,
    Stats,
)
from protocol.constants import PROTOCOL_VERSION, ROLE_DEVICE, ROLE_GROUND  # noqa: F401
from protocol.errors import (  # noqa: F401
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
