"""Compiled statement actions, each one gobgpd 3.10's ``Apply`` of that kind, on the
running :class:`Work` (they run in gobgpd's order: communities, extended, large, MED,
local preference, AS_PATH prepend, next hop; then the disposition decides).
"""

from __future__ import annotations

import re
import struct

from bgprr.config.policy_model import (
    CommunityAction,
    ExtCommunityAction,
    LargeCommunityAction,
    MedAction,
    NextHopAction,
    NextHopMode,
    PrependAction,
    SetOption,
)
from bgprr.policy.conditions import address_family, ext_community_text, is_transitive_for_policy
from bgprr.policy.types import PeerInfo, Route
from bgprr.policy.work import Work, as_seq_list
from bgprr.wire.attributes import encode_as_path
from bgprr.wire.constants import AttrType, SegmentType

__all__ = [
    "Action",
    "CommunitySetter",
    "ExtCommunitySetter",
    "LargeCommunitySetter",
    "LocalPrefSetter",
    "MedSetter",
    "NextHopSetter",
    "Prepender",
]

U32 = 0xFFFFFFFF
MAX_SEGMENT = 255


class Action:
    """Base: ``run(work, route, peer)`` changes ``work``."""

    __slots__ = ()
    reads_peer = False
    reads_route = False

    def run(self, work: Work, route: Route, peer: PeerInfo | None) -> None:
        raise NotImplementedError


def _words(values: tuple[int, ...] | list[int]) -> bytes:
    return struct.pack(f">{len(values)}I", *values)


class CommunitySetter(Action):
    """``set-community``: add appends (duplicates too, as gobgpd); replace sets the list
    (an empty list removes the attribute); remove drops every community whose ``A:B``
    matches one of the patterns (the attribute goes when none is left)."""

    __slots__ = ("option", "patterns", "values")

    def __init__(self, action: CommunityAction) -> None:
        self.option = action.option
        self.values = action.values
        self.patterns = tuple(re.compile(p) for p in action.patterns)

    def run(self, work: Work, route: Route, peer: PeerInfo | None) -> None:
        current = list(work.view.communities)
        if self.option is SetOption.ADD:
            if not self.values:
                return
            new = current + list(self.values)
        elif self.option is SetOption.REPLACE:
            new = list(self.values)
        else:
            new = [
                c
                for c in current
                if not any(p.search(f"{c >> 16}:{c & 0xFFFF}") for p in self.patterns)
            ]
        work.set_attribute(AttrType.COMMUNITIES, _words(new) if new else None)


class ExtCommunitySetter(Action):
    """``set-extended-community``: add appends, replace sets the list; remove keeps only
    the transitive communities that match no pattern of their subtype (gobgpd 3.10 drops
    the non-transitive ones on remove too).  An empty result removes the attribute."""

    __slots__ = ("option", "patterns", "values")

    def __init__(self, action: ExtCommunityAction) -> None:
        self.option = action.option
        self.values = action.values
        self.patterns = tuple((subtype, re.compile(p)) for subtype, p in action.patterns)

    def _removed(self, value: bytes) -> bool:
        text = ext_community_text(value)
        if text is None:
            return False
        return any(st == value[1] and p.search(text) for st, p in self.patterns)

    def run(self, work: Work, route: Route, peer: PeerInfo | None) -> None:
        current = list(work.view.ext_communities)
        if self.option is SetOption.ADD:
            if not self.values:
                return
            new = current + list(self.values)
        elif self.option is SetOption.REPLACE:
            new = list(self.values)
        else:
            new = [v for v in current if is_transitive_for_policy(v) and not self._removed(v)]
        work.set_attribute(AttrType.EXTENDED_COMMUNITIES, b"".join(new) if new else None)


class LargeCommunitySetter(Action):
    """``set-large-community``, as set-community on ``A:B:C`` texts."""

    __slots__ = ("option", "patterns", "values")

    def __init__(self, action: LargeCommunityAction) -> None:
        self.option = action.option
        self.values = action.values
        self.patterns = tuple(re.compile(p) for p in action.patterns)

    def run(self, work: Work, route: Route, peer: PeerInfo | None) -> None:
        current = list(work.view.large_communities)
        if self.option is SetOption.ADD:
            if not self.values:
                return
            new = current + list(self.values)
        elif self.option is SetOption.REPLACE:
            new = list(self.values)
        else:
            new = [
                v
                for v in current
                if not any(p.search(f"{v[0]}:{v[1]}:{v[2]}") for p in self.patterns)
            ]
        value = b"".join(_words(list(v)) for v in new)
        work.set_attribute(AttrType.LARGE_COMMUNITIES, value if new else None)


class MedSetter(Action):
    """``set-med``: ``N`` sets; ``+N`` / ``-N`` add to the MED (0 when absent); a result
    below 0 or above 2**32-1 leaves the MED as it was (gobgpd logs and goes on)."""

    __slots__ = ("relative", "value")

    def __init__(self, action: MedAction) -> None:
        self.value = action.value
        self.relative = action.relative

    def run(self, work: Work, route: Route, peer: PeerInfo | None) -> None:
        if self.relative:
            med = (work.view.med or 0) + self.value
            if not 0 <= med <= U32:
                return
        else:
            med = self.value
        work.set_attribute(AttrType.MULTI_EXIT_DISC, struct.pack(">I", med))


class LocalPrefSetter(Action):
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def run(self, work: Work, route: Route, peer: PeerInfo | None) -> None:
        work.set_attribute(AttrType.LOCAL_PREF, struct.pack(">I", self.value))


class Prepender(Action):
    """``set-as-path-prepend``: ``repeat`` copies of the AS (``last-as``: the leftmost
    AS of the path; nothing when the path is empty or starts with an AS_SET), put into
    the first AS_SEQUENCE up to 255 ASNs, the rest in a new segment before it."""

    __slots__ = ("asn", "repeat")

    def __init__(self, action: PrependAction) -> None:
        self.asn = action.asn
        self.repeat = action.repeat

    def run(self, work: Work, route: Route, peer: PeerInfo | None) -> None:
        path = work.view.as_path
        asn = self.asn
        if asn is None:
            seq = as_seq_list(path)
            if not seq or seq[0] == 0:
                return
            asn = seq[0]
        if self.repeat == 0:
            return
        segments = list(path)
        pending = self.repeat
        if segments and segments[0][0] == SegmentType.AS_SEQUENCE:
            first = segments[0][1]
            room = min(pending, MAX_SEGMENT - len(first))
            segments[0] = (SegmentType.AS_SEQUENCE, (asn,) * room + first)
            pending -= room
        if pending:
            segments.insert(0, (SegmentType.AS_SEQUENCE, (asn,) * pending))
        work.set_attribute(AttrType.AS_PATH, encode_as_path(segments))


class NextHopSetter(Action):
    """``set-next-hop``: an address, ``self`` (the peer's ``local_address``: on import
    the receiving session's own address) or ``unchanged`` (on export the next hop from
    before the session's rewrite, :attr:`Route.old_next_hop`; else the one it has).
    An IPv4 address on an IPv6 route becomes ``::ffff:a.b.c.d`` (as gobgpd writes it);
    an IPv6 address on an IPv4 route is not applied (bgprr keeps IPv4 next hops in
    NEXT_HOP, RFC 8950 is not supported)."""

    __slots__ = ("mode", "target")

    def __init__(self, action: NextHopAction) -> None:
        self.mode = action.mode
        self.target = (action.afi, action.address)

    @property
    def reads_peer(self) -> bool:  # type: ignore[override]
        return self.mode is NextHopMode.SELF

    def run(self, work: Work, route: Route, peer: PeerInfo | None) -> None:
        if self.mode is NextHopMode.UNCHANGED:
            old = route.old_next_hop
            if old:  # export: the next hop from before the session's rewrite (gobgpd)
                if route.family[0] == 1:
                    if len(old) == 4:
                        work.set_attribute(AttrType.NEXT_HOP, old)
                else:
                    work.set_next_hop(old)
            return
        if self.mode is NextHopMode.SELF:
            if peer is None or not peer.local_address:
                return
            afi, address = address_family(peer.local_address)
        else:
            afi, address = self.target
        if route.family[0] == 1:
            if afi == 1:
                work.set_attribute(AttrType.NEXT_HOP, address.to_bytes(4, "big"))
            return
        if afi == 1:
            address |= 0xFFFF << 32
        work.set_next_hop(address.to_bytes(16, "big"))
