"""Pure route-reflection engine (RFC 4456) with update groups, ADD-PATH, GR/LLGR helper,
restarting-speaker deferral and prefix limits. See :mod:`bgprr.reflect.engine`."""

from bgprr.reflect.engine import ReflectionEngine
from bgprr.reflect.types import (
    BestPathChanged,
    EndOfRibReceived,
    EndOfRibSent,
    Event,
    PeerCaps,
    PeerCounters,
    PeerReset,
    PeerSettings,
    PrefixLimit,
    PrefixLimitWarning,
    SelectionDeferralEnded,
    StaleFlushed,
)

__all__ = [
    "BestPathChanged",
    "EndOfRibReceived",
    "EndOfRibSent",
    "Event",
    "PeerCaps",
    "PeerCounters",
    "PeerReset",
    "PeerSettings",
    "PrefixLimit",
    "PrefixLimitWarning",
    "ReflectionEngine",
    "SelectionDeferralEnded",
    "StaleFlushed",
]
