"""Export policy (RFC 4456 §6/§8, RFC 1997, RFC 9494) and the per-group output state.

The state a group has sent for one prefix is a tuple of :class:`Entry`, sorted by path id
(one entry with id 0 without ADD-PATH; empty: nothing sent). An entry is an immutable
snapshot ``(path_id, attrs, source, source_bgp_id, kind)`` so that states compare with
``==`` and never change when a Path object is updated in place. ``source`` is the sending
neighbor's :attr:`Source.index` (-1: locally originated): a member of a group never
receives (and never holds) entries whose source is itself.

Routes to eBGP neighbors (rare with Calico; kept minimal): LOCAL_PREF, ORIGINATOR_ID and
CLUSTER_LIST are stripped, MULTI_EXIT_DISC too unless locally originated (RFC 4271 §5.1.4),
the local AS is prepended to AS_PATH and the NEXT_HOP is passed through unchanged: the
engine has no local address, so next-hop-self is not possible (third-party next hop,
valid when the eBGP neighbor shares the subnet of the original next hop).
Routes learned over eBGP or originated locally go to iBGP neighbors unchanged except for
LOCAL_PREF 100 added when absent; they carry no ORIGINATOR_ID/CLUSTER_LIST (they are not
reflected).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from bgprr.rib.intern import AttrSet
from bgprr.rib.path import Path
from bgprr.wire.attributes import (
    decode_as_path,
    encode_as_path,
    encode_attribute,
    strip_attributes,
    to_as2_block,
    walk_attributes,
)
from bgprr.wire.constants import (
    MARKER,
    NO_ADVERTISE,
    NO_EXPORT,
    NO_EXPORT_SUBCONFED,
    AttrType,
    Family,
    MsgType,
    SegmentType,
)

KIND_LOCAL = 0
KIND_EBGP = 1
KIND_IBGP = 2
# A flag on a kind: "the peer may or may not hold this" (after a ROUTE-REFRESH): such an
# entry never equals a real one, so it is always re-sent or withdrawn; the kind under the
# flag still tells how the entry was sent (adj_rib_out shows the right attributes).
KIND_UNKNOWN = 4



class Entry(NamedTuple):
    """What a group sends (or has sent) for one path of a prefix."""

    path_id: int  # as sent (0 without ADD-PATH)
    attrs: AttrSet
    source: int  # index of the neighbor it came from (-1: locally originated)
    source_bgp_id: int  # its BGP identifier (ORIGINATOR_ID when reflected)
    kind: int  # KIND_LOCAL, KIND_EBGP or KIND_IBGP, possibly with KIND_UNKNOWN


State = tuple[Entry, ...]
EMPTY: State = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupKey:
    """Everything that makes the bytes sent to a neighbor differ: neighbors with equal keys
    share one update group (one encoding)."""

    family: Family
    ebgp: bool
    client: bool  # iBGP route-reflector client (False for eBGP)
    as4: bool
    addpath: int  # ADD-PATH send-max (0: best path only, no path ids)
    max_len: int
    cluster_id: int  # cluster id prepended when reflecting (0 for eBGP)
    llgr: bool  # may receive LLGR-stale paths


def entry_of(path: Path, path_id: int) -> Entry:
    peer = path.peer
    if peer is None:
        return Entry(path_id, path.attrs, -1, 0, KIND_LOCAL)
    return Entry(
        path_id, path.attrs, peer.index, peer.bgp_id, KIND_EBGP if peer.ebgp else KIND_IBGP
    )


def exportable(path: Path, g: GroupKey) -> bool:
    """RFC 4456 §6 role rules plus well-known communities and LLGR."""
    comms = path.attrs.communities
    if comms:
        if NO_ADVERTISE in comms:
            return False
        if g.ebgp and (NO_EXPORT in comms or NO_EXPORT_SUBCONFED in comms):
            return False
    if path.llgr_stale and (not g.llgr or g.ebgp):
        return False
    src = path.peer
    if src is None or src.ebgp or g.ebgp or src.client:
        return True
    return g.client  # from a non-client: to clients only


def view(state: State, index: int) -> State:
    """What a member with peer index ``index`` holds of a group state."""
    for e in state:
        if e.source == index:
            return tuple(x for x in state if x.source != index)
    return state


def unknown(*states: State) -> State:
    """Union (by path id) of states, every entry flagged KIND_UNKNOWN."""
    ids: dict[int, Entry] = {}
    for st in states:
        for e in st:
            ids[e.path_id] = e._replace(kind=e.kind | KIND_UNKNOWN)
    return tuple(ids[i] for i in sorted(ids))


def out_block(entry: Entry, g: GroupKey, local_as: int) -> bytes:
    """The attribute block sent to the group for ``entry`` (next hop: its ``attrs.next_hop``)."""
    attrs = entry.attrs
    kind = entry.kind & ~KIND_UNKNOWN
    if g.ebgp:
        block = ebgp_block(attrs.raw, local_as, keep_med=kind == KIND_LOCAL)
    elif kind == KIND_IBGP:
        block = attrs.reflected(entry.source_bgp_id, g.cluster_id)
    else:
        block = with_local_pref(attrs.raw)
    if not g.as4:
        block = to_as2_block(block)
    return block


_EBGP_STRIP = frozenset({AttrType.LOCAL_PREF, AttrType.ORIGINATOR_ID, AttrType.CLUSTER_LIST})
_EBGP_STRIP_MED = _EBGP_STRIP | {AttrType.MULTI_EXIT_DISC}


def ebgp_block(raw: bytes, local_as: int, *, keep_med: bool) -> bytes:
    """Canonical block as sent to an eBGP neighbor (see the module docstring)."""
    block = strip_attributes(raw, _EBGP_STRIP if keep_med else _EBGP_STRIP_MED)
    for t, s, vs, e in walk_attributes(block):
        if t != AttrType.AS_PATH:
            continue
        path = decode_as_path(block, vs, e, 4) or ()
        segs = [seg for seg in path if seg[0] in (SegmentType.AS_SEQUENCE, SegmentType.AS_SET)]
        if segs and segs[0][0] == SegmentType.AS_SEQUENCE and len(segs[0][1]) < 255:
            segs[0] = (SegmentType.AS_SEQUENCE, (local_as, *segs[0][1]))
        else:
            segs.insert(0, (SegmentType.AS_SEQUENCE, (local_as,)))
        new = encode_attribute(block[s] & 0xEF, t, encode_as_path(segs, 4))
        return block[:s] + new + block[e:]
    # no AS_PATH (only possible for a locally originated block): add one in type order
    new = encode_attribute(0x40, AttrType.AS_PATH, encode_as_path([(2, (local_as,))], 4))
    for t, s, _vs, _e in walk_attributes(block):
        if t > AttrType.AS_PATH:
            return block[:s] + new + block[s:]
    return block + new


def with_local_pref(raw: bytes, default: int = 100) -> bytes:
    """``raw`` with LOCAL_PREF (RFC 4271 §5.1.5: required towards iBGP neighbors) added
    when absent, as for a route learned over eBGP or originated without one."""
    at = len(raw)
    for t, s, _vs, _e in walk_attributes(raw):
        if t == AttrType.LOCAL_PREF:
            return raw
        if t > AttrType.LOCAL_PREF and at == len(raw):
            at = s
    return (
        raw[:at]
        + encode_attribute(0x40, AttrType.LOCAL_PREF, default.to_bytes(4, "big"))
        + raw[at:]
    )


def route_refresh_message(family: Family, subtype: int) -> bytes:
    """ROUTE-REFRESH (RFC 2918) with the RFC 7313 subtype (1 BoRR, 2 EoRR)."""
    afi, safi = family
    body = (MsgType.ROUTE_REFRESH, afi >> 8, afi & 0xFF, subtype, safi)
    return MARKER + b"\x00\x17" + bytes(body)
