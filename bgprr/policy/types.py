"""What a routing policy reads and returns: the contract between the policy compiler
(:mod:`bgprr.policy`) and the engine that applies it (:mod:`bgprr.reflect`).

Pure data, no IO. A policy never runs per prefix per receiver: the engine asks one
:class:`PolicyPoint` (a compiled ``apply-policy`` chain for one attach point and
direction) once per route and attach point, and :attr:`PolicyPoint.cacheable` tells it
whether the answer may be cached per ``(AttrSet, peer)``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from bgprr.rib.intern import AttrSet
from bgprr.wire.constants import Family

__all__ = [
    "Direction",
    "PeerInfo",
    "PolicyPoint",
    "Rewrite",
    "Route",
    "RouteType",
    "Verdict",
]


class Direction(enum.Enum):
    IMPORT = "import"
    EXPORT = "export"


class RouteType(enum.Enum):
    """GoBGP's ``route-type`` condition: where the route was learned."""

    INTERNAL = "internal"  # from an iBGP neighbor
    EXTERNAL = "external"  # from an eBGP neighbor
    LOCAL = "local"  # originated by this speaker (no neighbor)


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerInfo:
    """A neighbor as a policy sees it.

    Import: the neighbor the route came from. Export: the neighbor it is going to.
    ``local_address``: our own address on that session (``set-next-hop self``), as an
    int, 0 when unknown; ``address`` likewise the neighbor's.
    """

    key: str  # neighbor address text, as in the config
    address: int
    asn: int
    local_as: int
    router_id: int = 0  # the neighbor's BGP identifier, 0 before Established
    local_address: int = 0
    ebgp: bool = False
    route_server_client: bool = False


class Route(NamedTuple):
    """One path offered to a policy. ``key`` is the prefix as
    :func:`bgprr.wire.prefix.make_key` builds it; ``source`` the neighbor it was learned
    from (None: originated locally). ``old_next_hop`` (export only): the next hop the
    path had before the engine's rewrite for the session (4 or 16+ octets; ``b""``: not
    rewritten); gobgpd's ``OldNextHop``, read by ``next-hop-in-list`` and
    ``set-next-hop unchanged``."""

    family: Family
    key: int
    attrs: AttrSet
    source: PeerInfo | None
    old_next_hop: bytes = b""


class Rewrite(NamedTuple):
    """Accepted with other attributes: the canonical block (4-octet AS form, as
    :attr:`AttrSet.raw`) and the MP next hop (``b""`` for IPv4, as
    :attr:`AttrSet.next_hop`). The engine interns it."""

    raw: bytes
    next_hop: bytes


#: ``None``: rejected. The route's own :class:`AttrSet` (the same object): accepted
#: unchanged. A :class:`Rewrite`: accepted with these attributes.
Verdict = AttrSet | Rewrite | None


class PolicyPoint(Protocol):
    """A compiled chain (policies in order, then the default action) for one attach point
    and direction. Equal :attr:`identity` means equal results for every route and peer:
    the engine groups peers by it (update groups, route-server views)."""

    @property
    def identity(self) -> tuple[object, ...]: ...

    @property
    def cacheable(self) -> bool:
        """True when no condition of the chain reads the prefix: the verdict then depends
        only on the AttrSet and the peer, and the engine may cache it."""
        ...

    @property
    def prepends_as(self) -> bool:
        """True when an action of the chain may add an AS to the AS_PATH
        (``set-as-path-prepend``): only then can an import chain put the local AS into a
        path (the engine checks such paths before sending them to iBGP neighbors)."""
        ...

    @property
    def reads_peer(self) -> bool:
        """True when a condition or action reads the peer (neighbor sets, ``self``)."""
        ...

    def apply(self, route: Route, peer: PeerInfo | None) -> Verdict: ...

    def classifier(
        self, family: Family, attrs: AttrSet, source: PeerInfo | None, peer: PeerInfo | None
    ) -> Callable[[int], Verdict]:
        """``apply`` for the routes of ``family`` with ``attrs`` from ``source``, as a
        function of the prefix key alone (the engine asks once per UPDATE's attribute
        set, then once per prefix: cheaper than :meth:`apply` per route)."""
        ...
