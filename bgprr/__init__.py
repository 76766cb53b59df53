"""bgprr: a pure-Python BGP-4 route reflector.

The library API (docs/library.md)::

    from bgprr import RouteReflector

Names are imported on first use, so ``import bgprr.wire`` does not load asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bgprr._version import __version__

if TYPE_CHECKING:
    from bgprr.api.errors import ApiError, BadRequest, Exists, NotFound, Unavailable
    from bgprr.api.events import (
        BestPathChanged,
        EndOfRib,
        Event,
        EventStream,
        Overflow,
        PeerStateChanged,
    )
    from bgprr.api.library import RouteReflector

_EXPORTS = {
    "RouteReflector": "bgprr.api.library",
    "ApiError": "bgprr.api.errors",
    "BadRequest": "bgprr.api.errors",
    "Exists": "bgprr.api.errors",
    "NotFound": "bgprr.api.errors",
    "Unavailable": "bgprr.api.errors",
    "BestPathChanged": "bgprr.api.events",
    "EndOfRib": "bgprr.api.events",
    "Event": "bgprr.api.events",
    "EventStream": "bgprr.api.events",
    "Overflow": "bgprr.api.events",
    "PeerStateChanged": "bgprr.api.events",
}

__all__ = [
    "ApiError",
    "BadRequest",
    "BestPathChanged",
    "EndOfRib",
    "Event",
    "EventStream",
    "Exists",
    "NotFound",
    "Overflow",
    "PeerStateChanged",
    "RouteReflector",
    "Unavailable",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bgprr' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
