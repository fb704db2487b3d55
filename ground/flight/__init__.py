"""Flights after download: reading, analysis, export, plots and the local flight library.

    from ground.flight import load, analyze
    result = analyze(load("flight.cwf"))     # any format formats.FORMATS reads
    result.stats, result.events, result.to_dict()

- formats: reading logs (Coalwood .cwf, AltosUI, RRC3, CATS, PerfectFlite, Eggtimer,
  Blue Raven, and Coalwood's own analysis CSV) into one Flight; FlightFormatError
- analysis: glitch rejection, the Kalman smoother, events and statistics
- export: CSV with a commented header, PNG plots (plot.py draws; Qt only when asked)
- library: the local flight library
"""

from ground.flight.analysis import Analysis, analyze
from ground.flight.formats import (
    FORMATS,
    Flight,
    FlightEvent,
    FlightFormatError,
    detect,
    format_names,
    load,
    parse,
)

__all__ = [
    "FORMATS",
    "Analysis",
    "Flight",
    "FlightEvent",
    "FlightFormatError",
    "analyze",
    "detect",
    "format_names",
    "load",
    "parse",
]
