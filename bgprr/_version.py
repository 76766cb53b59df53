"""The version of bgprr (imports nothing)."""

__version__ = "0.1.0"
