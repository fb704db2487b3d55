"""Coalwood ground station: link, device client, analysis, simulator, CLI and UI (CPython only)."""

__version__ = "0.1.0"
