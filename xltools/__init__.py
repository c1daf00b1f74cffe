"""xltools: the county performance self-evaluation report as a protected Excel template with Python behind it."""

__version__ = "0.1.0"
