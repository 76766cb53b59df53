"""The routing-policy chains a daemon hands its engine, built from the configuration
(docs/policy.md): the global import and export chains, and the own chains of each
route-server client (a dynamic one's: its peer group's)."""

from __future__ import annotations

from bgprr.config.model import Config, Neighbor
from bgprr.policy import ChainPoint, Direction, Policies, compile_policies

__all__ = ["Chains", "client_chains", "compile_config"]

Chains = tuple[ChainPoint | None, ChainPoint | None]


def compile_config(config: Config) -> Policies:
    """Compile once per configuration (startup, each reload)."""
    return compile_policies(config)


def client_chains(policies: Policies, n: Neighbor) -> Chains:
    """(import, export) of a route-server client (gobgpd: its own ``apply-policy``, else
    accept everything); any other neighbor uses the global chains."""
    return (
        policies.neighbor_point(n.address, Direction.IMPORT, n.peer_group),
        policies.neighbor_point(n.address, Direction.EXPORT, n.peer_group),
    )
