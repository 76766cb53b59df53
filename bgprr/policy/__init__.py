"""Routing policy: GoBGP's policy language (defined-sets, policy-definitions,
apply-policy), compiled once and applied by the engine. See :mod:`bgprr.policy.types`."""

from bgprr.policy.types import (
    Direction,
    PeerInfo,
    PolicyPoint,
    Rewrite,
    Route,
    RouteType,
    Verdict,
)

__all__ = [
    "Direction",
    "PeerInfo",
    "PolicyPoint",
    "Rewrite",
    "Route",
    "RouteType",
    "Verdict",
]
