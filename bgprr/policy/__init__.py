"""Routing policy: GoBGP's policy language (defined-sets, policy-definitions,
apply-policy), compiled once and applied by the engine. See :mod:`bgprr.policy.types`
(the contract) and :mod:`bgprr.policy.compile` (where and how a chain runs)."""

from bgprr.policy.compile import ChainPoint, Policies, compile_policies
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
    "ChainPoint",
    "Direction",
    "PeerInfo",
    "Policies",
    "PolicyPoint",
    "Rewrite",
    "Route",
    "RouteType",
    "Verdict",
    "compile_policies",
]
