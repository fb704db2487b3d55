"""The desktop window (PySide6 + pyqtgraph).

`Connection` (ground/ui/connection.py) owns the device client and is the only
thing that talks to the device; widgets only listen to its signals.
"""

from ground.ui.connection import Connection

__all__ = ["Connection"]
