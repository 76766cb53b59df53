"""bgprr: a pure-Python BGP-4 route reflector."""

__version__ = "0.1.0"
