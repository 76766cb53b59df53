"""Compiled statement conditions, each one gobgpd 3.10's ``Evaluate`` of that kind.

A condition is called with the running :class:`Work`, the route and the peer (import:
the session the route came in on; export: the one it goes out on) and says whether it
holds.  Class flags say what it reads, for :attr:`PolicyPoint.cacheable` and
:attr:`PolicyPoint.reads_peer`.  Regular expressions are compiled here, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bgprr.config.policy_model import (
    AsPathLength,
    AsPathSet,
    CommunitySet,
    Comparison,
    ExtCommunitySet,
    LargeCommunitySet,
    MatchOption,
    NeighborSet,
    Network,
    PrefixSet,
    RouteTypeName,
    SingleAsMatch,
    SingleAsMode,
)
from bgprr.policy.prefixes import PrefixMatcher
from bgprr.policy.types import PeerInfo, Route
from bgprr.policy.work import Work, as_path_text, as_seq_list, gobgp_as_path_length

__all__ = [
    "AfiSafiIn",
    "AsPathCondition",
    "AsPathLengthCondition",
    "CommunityCondition",
    "Condition",
    "ExtCommunityCondition",
    "LargeCommunityCondition",
    "NeighborCondition",
    "NextHopCondition",
    "OriginCondition",
    "PrefixCondition",
    "RouteTypeCondition",
    "address_family",
    "ext_community_text",
    "next_hop_of",
]

Pattern = re.Pattern[str]


class Condition:
    """Base: ``test(work, route, peer) -> bool``."""

    __slots__ = ()
    reads_prefix = False  # the route's prefix: no caching per (AttrSet, peer)
    # the route's source: no caching either.  The family is not listed: an AttrSet
    # tells it (an IPv6 route's set has an MP next hop, an IPv4 route's has none).
    reads_route = False
    reads_peer = False

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        raise NotImplementedError


def address_family(address: int) -> tuple[int, int]:
    """``(afi, address)`` of an address held as an int: below 2**32 (or IPv4-mapped
    IPv6, ``::ffff:a.b.c.d``) it is IPv4, else IPv6.  IPv4-compatible IPv6 addresses
    (``::a.b.c.d``, deprecated by RFC 4291) therefore read as IPv4."""
    if address >> 32 == 0:
        return 1, address
    if address >> 32 == 0xFFFF:
        return 1, address & 0xFFFFFFFF
    return 2, address


def next_hop_of(work: Work, afi: int) -> tuple[int, int] | None:
    """gobgpd's ``GetNexthop``: NEXT_HOP for IPv4, the global MP next hop for IPv6."""
    if afi == 1:
        value = work.view.get(3)  # NEXT_HOP
        if value is None or len(value) != 4:
            return None
        return 1, int.from_bytes(value, "big")
    if len(work.next_hop) < 16:
        return None
    return address_family(int.from_bytes(work.next_hop[:16], "big"))


def _contains(networks: tuple[Network, ...], found: tuple[int, int]) -> bool:
    afi, address = found
    return any(net.contains(afi, address) for net in networks)


def _pattern(text: str) -> Pattern:
    return re.compile(text)


class PrefixCondition(Condition):
    """``match-prefix-set``: a route of another family never matches, not even with
    ``invert`` (and a set that lists no prefix matches nothing), as in gobgpd."""

    __slots__ = ("afi", "invert", "matcher")
    reads_prefix = True

    def __init__(self, prefix_set: PrefixSet, option: MatchOption) -> None:
        self.afi = prefix_set.afi
        self.matcher = PrefixMatcher(prefix_set.afi, prefix_set.entries)
        self.invert = option is MatchOption.INVERT

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        return self.test_route(route)

    def test_route(self, route: Route) -> bool:
        """:meth:`test`, which reads nothing but the route's family and prefix."""
        if route.family[0] != self.afi:
            return False
        return self.matcher.match(route.key) != self.invert


class NeighborCondition(Condition):
    """``match-neighbor-set``: the peer's address (import: the neighbor the route came
    from; export: the neighbor it goes to); for a local route on import, none (no
    match, not even with ``invert``).  An empty set always matches."""

    __slots__ = ("invert", "networks")
    reads_peer = True  # the route's source only when there is no peer (local routes)

    def __init__(self, neighbor_set: NeighborSet, option: MatchOption) -> None:
        self.networks = neighbor_set.networks
        self.invert = option is MatchOption.INVERT

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        if not self.networks:
            return True
        who = peer if peer is not None and peer.address else route.source
        if who is None or not who.address:
            return False
        return _contains(self.networks, address_family(who.address)) != self.invert


class AsPathLengthCondition(Condition):
    __slots__ = ("operator", "value")

    def __init__(self, length: AsPathLength) -> None:
        self.operator = length.operator
        self.value = length.value

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        length = gobgp_as_path_length(work.view.as_path)
        if self.operator is Comparison.EQ:
            return length == self.value
        if self.operator is Comparison.GE:
            return length >= self.value
        return length <= self.value


class RouteTypeCondition(Condition):
    """``route-type``: local (no source neighbor), internal (source AS == its local AS),
    external (otherwise)."""

    __slots__ = ("kind",)
    reads_route = True

    def __init__(self, kind: RouteTypeName) -> None:
        self.kind = kind

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        source = route.source
        if source is None:
            return self.kind is RouteTypeName.LOCAL
        internal = source.asn == source.local_as and source.asn != 0
        if self.kind is RouteTypeName.INTERNAL:
            return internal
        return self.kind is RouteTypeName.EXTERNAL and not internal


def _single_match(single: SingleAsMatch, seq: tuple[int, ...]) -> bool:
    if not seq:
        return False
    mode = single.mode
    if mode is SingleAsMode.INCLUDE:
        return single.asn in seq
    if mode is SingleAsMode.LEFT_MOST:
        return seq[0] == single.asn
    if mode is SingleAsMode.ORIGIN:
        return seq[-1] == single.asn
    return len(seq) == 1 and seq[0] == single.asn


class AsPathCondition(Condition):
    """``match-as-path-set``: the fast forms on the AS_SEQUENCE numbers, then the
    regular expressions on the path's text; ``any``: one matches; ``all``: every one
    matches; ``invert``: none matches (an empty set: any false, all / invert true)."""

    __slots__ = ("option", "patterns", "singles")

    def __init__(self, as_path_set: AsPathSet, option: MatchOption) -> None:
        self.singles = as_path_set.singles
        self.patterns = tuple(_pattern(p) for p in as_path_set.patterns)
        self.option = option

    def _results(self, work: Work) -> Iterator[bool]:
        path = work.view.as_path
        if self.singles:
            seq = as_seq_list(path)
            for single in self.singles:
                yield _single_match(single, seq)
        if self.patterns:
            text = as_path_text(path)
            for pattern in self.patterns:
                yield pattern.search(text) is not None

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        option = self.option
        for result in self._results(work):
            if option is MatchOption.ALL and not result:
                return False
            if result and option is not MatchOption.ALL:
                return option is MatchOption.ANY
        return option is not MatchOption.ANY


def _set_match(patterns: tuple[Pattern, ...], texts: list[str], option: MatchOption) -> bool:
    """gobgpd's community / large-community loop: for each pattern, does some value
    match it; ``all`` stops at the first pattern without a match, ``any`` and
    ``invert`` at the first with one; ``invert`` negates the result."""
    result = False
    for pattern in patterns:
        result = any(pattern.search(text) is not None for text in texts)
        if option is MatchOption.ALL and not result:
            break
        if option is not MatchOption.ALL and result:
            break
    return not result if option is MatchOption.INVERT else result


class CommunityCondition(Condition):
    """``match-community-set`` on ``"A:B"`` texts."""

    __slots__ = ("option", "patterns")

    def __init__(self, community_set: CommunitySet, option: MatchOption) -> None:
        self.patterns = tuple(_pattern(p) for p in community_set.patterns)
        self.option = option

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        texts = [f"{c >> 16}:{c & 0xFFFF}" for c in work.view.communities]
        return _set_match(self.patterns, texts, self.option)


class LargeCommunityCondition(Condition):
    """``match-large-community-set`` on ``"A:B:C"`` texts."""

    __slots__ = ("option", "patterns")

    def __init__(self, large_set: LargeCommunitySet, option: MatchOption) -> None:
        self.patterns = tuple(_pattern(p) for p in large_set.patterns)
        self.option = option

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        texts = [f"{a}:{b}:{c}" for a, b, c in work.view.large_communities]
        return _set_match(self.patterns, texts, self.option)


def ext_community_text(value: bytes) -> str | None:
    """gobgpd's text of a two-octet-AS, IPv4-address or four-octet-AS specific extended
    community (RFC 4360, RFC 5668); None for any other type."""
    kind = value[0] & 0x3F
    if kind == 0x00:
        return f"{int.from_bytes(value[2:4], 'big')}:{int.from_bytes(value[4:8], 'big')}"
    if kind == 0x01:
        return f"{value[2]}.{value[3]}.{value[4]}.{value[5]}:{int.from_bytes(value[6:8], 'big')}"
    if kind == 0x02:
        high = int.from_bytes(value[2:4], "big")
        low = int.from_bytes(value[4:6], "big")
        return f"{high}.{low}:{int.from_bytes(value[6:8], 'big')}"
    return None


def is_transitive_for_policy(value: bytes) -> bool:
    """gobgpd reads only extended communities of type below 0x3f (RFC 7153 transitive)."""
    return value[0] < 0x3F


class ExtCommunityCondition(Condition):
    """``match-ext-community-set``, with gobgpd 3.10's loop: over the route's
    extended communities (transitive ones only), each checked against the entries of its
    subtype; ``any`` stops at the first that matches, ``all`` at the first that does
    not; the result is that of the last one looked at (``invert`` negates it).  So
    ``all`` means: every extended community of the route matches some entry."""

    __slots__ = ("entries", "option")

    def __init__(self, ext_set: ExtCommunitySet, option: MatchOption) -> None:
        self.entries = tuple((subtype, _pattern(p)) for subtype, p in ext_set.entries)
        self.option = option

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        option = self.option
        result = False
        for value in work.view.ext_communities:
            result = False
            if not is_transitive_for_policy(value):
                continue
            text = ext_community_text(value)
            if text is not None:
                subtype = value[1]
                result = any(st == subtype and p.search(text) is not None for st, p in self.entries)
            if option is MatchOption.ALL and not result:
                break
            if option is MatchOption.ANY and result:
                break
        return not result if option is MatchOption.INVERT else result


class NextHopCondition(Condition):
    """``next-hop-in-list``: the route's next hop is in one of the networks. On export,
    gobgpd tests the next hop the path had before the session's rewrite
    (:attr:`Route.old_next_hop`) when that one is specified and differs."""

    __slots__ = ("networks",)

    def __init__(self, networks: tuple[Network, ...]) -> None:
        self.networks = networks

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        found = next_hop_of(work, route.family[0])
        old = route.old_next_hop[:16]
        if old and any(old):
            found = address_family(int.from_bytes(old, "big"))
        return found is not None and _contains(self.networks, found)


class AfiSafiIn(Condition):
    """``afi-safi-in-list``: the route's family is listed (an empty list: never)."""

    __slots__ = ("families",)

    def __init__(self, families: tuple[tuple[int, int], ...]) -> None:
        self.families = frozenset(families)

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        return (route.family[0], route.family[1]) in self.families


class OriginCondition(Condition):
    """``origin-eq`` (igp 0, egp 1, incomplete 2)."""

    __slots__ = ("origin",)

    def __init__(self, origin: int) -> None:
        self.origin = origin

    def test(self, work: Work, route: Route, peer: PeerInfo | None) -> bool:
        return work.view.origin == self.origin
