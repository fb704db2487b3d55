"""Coalwood firmware: exactly what is copied to the board (see firmware/README.md)."""

FIRMWARE_VERSION = (0, 1, 0)
