"""The cases of the differential tests and the one topology they all run in.

A :class:`Case` is a set of GoBGP policy tables (defined sets, policy definitions, the
global and route-server-client apply-policy) and the routes its neighbors announce. Its
prefixes are written with ``{s}`` for its *slot* (``10.{s}.0.0/16``,
``2001:db8:{s:x}::/48``), so that several cases can share one daemon run
(:mod:`conformance.difftest.batch`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from bgprr.wire.attributes import encode_as_path, encode_attribute

LOCAL_AS = 65000
ROUTER_ID = "192.0.2.1"
CLUSTER_ID = "192.0.2.100"
DAEMON = "127.0.0.1"


@dataclass(frozen=True)
class Neighbor:
    name: str
    address: str
    asn: int
    role: str  # "client", "nonclient", "ebgp", "rs"


NEIGHBORS = (
    Neighbor("c1", "127.0.1.11", LOCAL_AS, "client"),
    Neighbor("c2", "127.0.1.12", LOCAL_AS, "client"),
    Neighbor("n1", "127.0.1.13", LOCAL_AS, "nonclient"),
    Neighbor("e1", "127.0.1.21", 65001, "ebgp"),
    Neighbor("e2", "127.0.1.22", 65002, "ebgp"),
    Neighbor("r1", "127.0.1.31", 65011, "rs"),
    Neighbor("r2", "127.0.1.32", 65012, "rs"),
)
BY_NAME = {n.name: n for n in NEIGHBORS}
BY_ADDRESS = {n.address: n for n in NEIGHBORS}

AS_SET, AS_SEQUENCE = 1, 2


@dataclass
class Route:
    """One announcement. ``prefix`` may hold ``{s}`` (the case's slot). Next hops come from
    198.18.0.0/15 (gobgpd 3.10 treats a 127/8 NEXT_HOP as withdrawn) or 2001:db8:ff::/48."""

    sender: str
    prefix: str
    next_hop: str = "198.18.0.1"
    origin: int = 0
    as_path: list[tuple[int, list[int]]] = field(default_factory=list)
    med: int | None = None
    local_pref: int | None = 100
    communities: list[int] = field(default_factory=list)
    ext_communities: list[bytes] = field(default_factory=list)
    large_communities: list[tuple[int, int, int]] = field(default_factory=list)
    phase: int = 0  # announced after every route of a lower phase has been propagated

    def at(self, slot: int) -> Route:
        r = Route(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        r.prefix = self.prefix.format(s=slot)
        return r

    @property
    def afi(self) -> int:
        return 2 if ":" in self.prefix else 1

    def full_as_path(self) -> list[tuple[int, list[int]]]:
        """What the sender puts on the wire: an eBGP or route-server sender's own AS first."""
        nb = BY_NAME[self.sender]
        if nb.role in ("ebgp", "rs"):
            if self.as_path and self.as_path[0][0] == AS_SEQUENCE:
                return [(AS_SEQUENCE, [nb.asn, *self.as_path[0][1]]), *self.as_path[1:]]
            return [(AS_SEQUENCE, [nb.asn]), *self.as_path]
        return self.as_path

    def attrs(self) -> tuple[bytes, bytes]:
        """The attribute block (NEXT_HOP inside for IPv4) and the MP next hop (IPv6)."""
        nb = BY_NAME[self.sender]
        parts = [
            encode_attribute(0x40, 1, bytes([self.origin])),
            encode_attribute(0x40, 2, encode_as_path(self.full_as_path())),
        ]
        mp_nh = b""
        if self.afi == 1:
            parts.append(encode_attribute(0x40, 3, ipaddress.IPv4Address(self.next_hop).packed))
        else:
            mp_nh = ipaddress.IPv6Address(self.next_hop).packed
        if self.med is not None:
            parts.append(encode_attribute(0x80, 4, self.med.to_bytes(4, "big")))
        if self.local_pref is not None and nb.role in ("client", "nonclient"):
            parts.append(encode_attribute(0x40, 5, self.local_pref.to_bytes(4, "big")))
        if self.communities:
            value = b"".join(c.to_bytes(4, "big") for c in self.communities)
            parts.append(encode_attribute(0xC0, 8, value))
        if self.ext_communities:
            parts.append(encode_attribute(0xC0, 16, b"".join(self.ext_communities)))
        if self.large_communities:
            value = b"".join(
                b"".join(x.to_bytes(4, "big") for x in lc) for lc in self.large_communities
            )
            parts.append(encode_attribute(0xC0, 32, value))
        return b"".join(parts), mp_nh


@dataclass
class ApplyPolicy:
    imports: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    default_import: str = "accept-route"
    default_export: str = "accept-route"

    def defaults(self) -> tuple[str, str]:
        return (self.default_import, self.default_export)


@dataclass
class Case:
    """``defined_sets`` is the ``[defined-sets]`` table (``prefix-sets``, ``neighbor-sets``,
    ``bgp-defined-sets``), ``policies`` the ``[[policy-definitions]]`` entries; names are
    the case's own (the batch prefixes them). ``neighbor_policy`` is keyed by neighbor
    name (route-server clients)."""

    name: str
    routes: list[Route]
    defined_sets: dict[str, Any] = field(default_factory=dict)
    policies: list[dict[str, Any]] = field(default_factory=list)
    global_policy: ApplyPolicy = field(default_factory=ApplyPolicy)
    neighbor_policy: dict[str, ApplyPolicy] = field(default_factory=dict)
    note: str = ""

    def batch_key(self) -> tuple[Any, ...]:
        nbr = tuple(sorted((k, v.defaults()) for k, v in self.neighbor_policy.items()))
        return (self.global_policy.defaults(), nbr)
