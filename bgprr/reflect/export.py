"""Export policy (RFC 4456 §6/§8, RFC 1997, RFC 9494) and the per-group output state.

The state a group has sent for one prefix is a tuple of :class:`Entry`, sorted by path id
(one entry with id 0 without ADD-PATH; empty: nothing sent). An entry is an immutable
snapshot ``(path_id, attrs, source, source_bgp_id, kind)`` so that states compare with
``==`` and never change when a Path object is updated in place. ``source`` is the sending
neighbor's :attr:`Source.index` (-1: locally originated): a member of a group never
receives (and never holds) entries whose source is itself.

A learned path whose AS_PATH holds an iBGP neighbor's AS (the local AS, put there by an
import policy or accepted with allow-own-as) is not sent to it either (gobgpd's
``isASLoop``).
Routes to eBGP neighbors (RFC 4271 §5.1, as gobgpd 3.10 sends them, see
:mod:`bgprr.reflect.aspath` for the AS_PATH steps): LOCAL_PREF, ORIGINATOR_ID and
CLUSTER_LIST are stripped, MULTI_EXIT_DISC too unless locally originated (§5.1.4);
``replace-peer-as``, ``remove-private-as``, then the local AS is prepended (§5.1.2);
NEXT_HOP is our address on the session (§5.1.3, :func:`out_next_hop`), except for a
locally originated path with a next hop of its own. A path whose AS_PATH holds the
neighbor's AS is not sent to it (GoBGP's sender-side loop check; with
``replace-peer-as`` that AS is replaced instead).
Routes learned over eBGP or originated locally go to iBGP neighbors unchanged except for
LOCAL_PREF 100 added when absent (§5.1.5); they carry no ORIGINATOR_ID/CLUSTER_LIST (they
are not reflected). (An iBGP route without LOCAL_PREF never reaches the Loc-RIB: RFC 7606
§7.5 treat-as-withdraw on receipt.)
Route-server clients (RFC 7947 §2.2) get the routes of the other clients with AS_PATH,
NEXT_HOP and MULTI_EXIT_DISC unchanged; only the attributes an external peer must not
receive (LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST) are stripped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from bgprr.reflect.aspath import PrivateAs, contains_as, prepend, remove_private, replace_as
from bgprr.rib.intern import AttrSet
from bgprr.rib.path import Path
from bgprr.wire.attributes import (
    encode_attribute,
    strip_attributes,
    to_as2_block,
    walk_attributes,
)
from bgprr.wire.constants import (
    IPV4_UNICAST,
    MARKER,
    NO_ADVERTISE,
    NO_EXPORT,
    NO_EXPORT_SUBCONFED,
    AttrType,
    Family,
    MsgType,
)
from bgprr.wire.update import with_next_hop

KIND_LOCAL = 0
KIND_EBGP = 1
KIND_IBGP = 2
# A flag on a kind: "the peer may or may not hold this" (after a ROUTE-REFRESH): such an
# entry never equals a real one, so it is always re-sent or withdrawn; the kind under the
# flag still tells how the entry was sent (adj_rib_out shows the right attributes).
KIND_UNKNOWN = 4
# A flag on a kind: the entry's attributes are already as sent (an export policy ran on
# the sent form, :mod:`bgprr.reflect.policyapply`); only the 2-octet AS conversion is left.
KIND_FINAL = 8


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
    # eBGP and route-server clients: the neighbor's AS (sender-side loop check,
    # replace-peer-as); 0 for iBGP
    peer_as: int = 0
    local_as: int = 0  # eBGP: the AS prepended (0: the engine's)
    remove_private: PrivateAs = PrivateAs.NONE
    replace_peer_as: bool = False
    rs_client: bool = False  # RFC 7947 route-server client (transparent attributes)
    # eBGP: our address on the session in this family's next-hop form (b"": unknown, the
    # next hop is passed through)
    next_hop: bytes = b""
    # the export chain's identity (empty: none), with the neighbor's PeerInfo when the
    # chain reads the peer (then the group has one member)
    export: tuple[object, ...] = ()
    # iBGP: the neighbor's AS for gobgpd's send-side AS loop check (0: the check cannot
    # match: no import policy and no allow-own-as, so no path holds the local AS)
    loop_as: int = 0


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
    if g.peer_as and not g.replace_peer_as and contains_as(path.attrs.raw, g.peer_as):
        return False
    src = path.peer
    if g.loop_as and src is not None and contains_as(path.attrs.raw, g.loop_as):
        return False
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
    """The attribute block sent to the group for ``entry`` (next hop: :func:`out_next_hop`)."""
    block = canonical_block(entry, g, local_as)
    if not g.as4:
        block = to_as2_block(block)
    return block


def canonical_block(entry: Entry, g: GroupKey, local_as: int) -> bytes:
    """:func:`out_block` in the 4-octet AS form (what an export policy sees)."""
    attrs = entry.attrs
    kind = entry.kind & ~KIND_UNKNOWN
    if kind & KIND_FINAL:
        return attrs.raw
    if g.rs_client:
        block = strip_attributes(attrs.raw, _EBGP_STRIP) if g.ebgp else attrs.raw
    elif g.ebgp:
        block = ebgp_block(
            attrs.raw,
            g.local_as or local_as,
            keep_med=kind == KIND_LOCAL,
            replace_peer=g.peer_as if g.replace_peer_as else 0,
            private=g.remove_private,
        )
    elif kind == KIND_IBGP:
        block = attrs.reflected(entry.source_bgp_id, g.cluster_id)
    else:
        block = with_local_pref(attrs.raw)
    return block


def out_next_hop(entry: Entry, g: GroupKey) -> bytes:
    """The next hop sent with ``entry`` (for :func:`bgprr.wire.update.pack_updates`):
    towards eBGP (not route-server clients) our session address, as gobgpd does, unless
    the path is locally originated with a next hop of its own (RFC 4271 §5.1.3); else the
    path's own (``b""`` for IPv4: the NEXT_HOP inside the block)."""
    nh = g.next_hop
    attrs = entry.attrs
    if not nh or g.rs_client or entry.kind & KIND_FINAL:
        return attrs.next_hop
    if (entry.kind & ~KIND_UNKNOWN) == KIND_LOCAL and not _unspecified(attrs):
        return attrs.next_hop
    return nh


def sent_form(entry: Entry, g: GroupKey, local_as: int) -> tuple[bytes, bytes]:
    """(attribute block, MP next hop) as the group is sent ``entry``: an IPv4 next hop is
    put in the block's NEXT_HOP (the next hop is then ``b""``, as in :class:`AttrSet`)."""
    return _with_nh(out_block(entry, g, local_as), out_next_hop(entry, g), g)


def canonical_sent_form(entry: Entry, g: GroupKey, local_as: int) -> tuple[bytes, bytes]:
    """:func:`sent_form` in the 4-octet AS form (the path as an export policy sees it)."""
    return _with_nh(canonical_block(entry, g, local_as), out_next_hop(entry, g), g)


def _with_nh(block: bytes, nh: bytes, g: GroupKey) -> tuple[bytes, bytes]:
    if g.family == IPV4_UNICAST and len(nh) == 4:
        return with_next_hop(block, nh), b""
    return block, nh


def _unspecified(attrs: AttrSet) -> bool:
    """The path's next hop is 0.0.0.0 / :: (or missing)."""
    nh = attrs.next_hop[:16] if attrs.next_hop else attrs.view.next_hop
    return not any(nh)


_EBGP_STRIP = frozenset({AttrType.LOCAL_PREF, AttrType.ORIGINATOR_ID, AttrType.CLUSTER_LIST})
_EBGP_STRIP_MED = _EBGP_STRIP | {AttrType.MULTI_EXIT_DISC}


def ebgp_block(
    raw: bytes,
    local_as: int,
    *,
    keep_med: bool,
    replace_peer: int = 0,
    private: PrivateAs = PrivateAs.NONE,
) -> bytes:
    """Canonical block as sent to an eBGP neighbor (see the module docstring):
    ``replace_peer`` (non-zero: that AS becomes ``local_as``), ``private``
    (remove-private-as), then ``local_as`` prepended."""
    block = strip_attributes(raw, _EBGP_STRIP if keep_med else _EBGP_STRIP_MED)
    if replace_peer:
        block = replace_as(block, replace_peer, local_as)
    block = remove_private(block, local_as, private)
    return prepend(block, local_as)


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
