"""demoseed: reproducible demo data for an engineering-metrics app."""

__version__ = "0.1.0"
