"""DTEM — the Dynamic Territory Equity Model."""

__version__ = "0.1.0"
