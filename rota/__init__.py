"""Rota engine for the Joint Agency Response to unexpected child deaths (England)."""

__version__ = "0.1.0"
