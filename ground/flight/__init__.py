"""Flights after download: reading, analysis, export, plots and the local flight library."""
