"""Path attributes: raw TLVs, the lazy :class:`PathAttrs` view, and block rewriting.

An attribute *block* is the raw Path Attributes field of an UPDATE (RFC 4271 §4.3). The
canonical block (see docs/architecture.md) is in 4-octet-AS form with MP_REACH_NLRI /
MP_UNREACH_NLRI removed. Rewriting functions (reflection, AS4 -> AS2, LLGR_STALE) splice
bytes: every attribute they do not touch is copied byte for byte.

Validation of received attributes (RFC 4271 §6.3, RFC 7606) is :mod:`bgprr.wire.attrcheck`.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from .constants import AS_TRANS, AttrType, SegmentType
from .errors import BGPError, ErrorCode, UpdateSub

__all__ = [
    "PathAttrs",
    "RawAttribute",
    "add_community",
    "as_path_length",
    "best_path_fields",
    "decode_as_path",
    "encode_as_path",
    "encode_attribute",
    "parse_attributes",
    "reflect_block",
    "set_community",
    "strip_attributes",
    "to_as2_block",
    "walk_attributes",
]

_OPT = 0x80
_TRANS = 0x40
_PARTIAL = 0x20
_EXT = 0x10

AsPath = tuple[tuple[int, tuple[int, ...]], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RawAttribute:
    """One path attribute as on the wire (flags keep the Extended Length bit as received)."""

    flags: int
    type: int
    value: bytes


def encode_attribute(flags: int, type: int, value: bytes) -> bytes:
    """Encode one attribute; the Extended Length form is used when ``value`` is longer than
    255 octets or when ``flags`` already has the Extended Length bit."""
    n = len(value)
    if n > 0xFFFF:
        raise ValueError(f"attribute value of {n} octets is too long")
    if n > 255 or flags & _EXT:
        return bytes((flags | _EXT, type, n >> 8, n & 0xFF)) + value
    return bytes((flags, type, n)) + value


def walk_attributes(
    raw: bytes, start: int = 0, end: int | None = None
) -> list[tuple[int, int, int, int]]:
    """Headers of a well-formed block: ``(type, attr_start, value_start, attr_end)`` each.

    Raises ``BGPError`` (UPDATE / Malformed Attribute List) on truncation; the offset is
    relative to ``raw``.
    """
    if end is None:
        end = len(raw)
    out: list[tuple[int, int, int, int]] = []
    o = start
    while o < end:
        if o + 3 > end:
            raise _list_error(o, "truncated attribute header")
        flags = raw[o]
        if flags & _EXT:
            if o + 4 > end:
                raise _list_error(o, "truncated attribute header")
            vs = o + 4
            ve = vs + ((raw[o + 2] << 8) | raw[o + 3])
        else:
            vs = o + 3
            ve = vs + raw[o + 2]
        if ve > end:
            raise _list_error(o, "attribute runs past the end of the block")
        out.append((raw[o + 1], o, vs, ve))
        o = ve
    return out


def _list_error(offset: int, reason: str) -> BGPError:
    return BGPError(
        ErrorCode.UPDATE_MESSAGE,
        UpdateSub.MALFORMED_ATTRIBUTE_LIST,
        offset=offset,
        reason=reason,
    )


def parse_attributes(block: bytes | memoryview) -> list[RawAttribute]:
    """Split a block into :class:`RawAttribute` (display, JSON, tests). No semantic checks."""
    raw = bytes(block)
    return [
        RawAttribute(flags=raw[s], type=t, value=raw[vs:e]) for t, s, vs, e in walk_attributes(raw)
    ]


# --------------------------------------------------------------------------------------
# AS_PATH


# struct unpackers for 0..255 ASNs of 4 and 2 octets, built once at import
_UNPACK4 = tuple(struct.Struct(f">{n}I").unpack_from for n in range(256))
_UNPACK2 = tuple(struct.Struct(f">{n}H").unpack_from for n in range(256))


def decode_as_path(raw: bytes, start: int, end: int, width: int = 4) -> AsPath | None:
    """Segments of an AS_PATH value ``raw[start:end]``; ``None`` when malformed (RFC 7606
    §7.2: unknown segment type, zero segment length, overrun, or a lone trailing octet)."""
    segs: list[tuple[int, tuple[int, ...]]] = []
    o = start
    unpackers = _UNPACK4 if width == 4 else _UNPACK2
    while o < end:
        if o + 2 > end:
            return None
        st = raw[o]
        n = raw[o + 1]
        if st < 1 or st > 4 or n == 0:
            return None
        nxt = o + 2 + n * width
        if nxt > end:
            return None
        segs.append((st, unpackers[n](raw, o + 2)))
        o = nxt
    return tuple(segs)


def encode_as_path(path: Iterable[tuple[int, Iterable[int]]], width: int = 4) -> bytes:
    """Encode segments (split at 255 ASNs); with ``width`` 2, ASNs above 65535 become
    AS_TRANS (RFC 6793)."""
    parts: list[bytes] = []
    code = "I" if width == 4 else "H"
    for st, asns in path:
        seq = tuple(asns) if width == 4 else tuple(a if a <= 0xFFFF else AS_TRANS for a in asns)
        for i in range(0, len(seq), 255):
            chunk = seq[i : i + 255]
            parts.append(bytes((st, len(chunk))))
            parts.append(struct.pack(f">{len(chunk)}{code}", *chunk))
    return b"".join(parts)


def as_path_length(path: AsPath) -> int:
    """RFC 4271 §9.1.2.2 d: an AS_SET counts 1, confederation segments count 0."""
    n = 0
    for st, asns in path:
        if st == SegmentType.AS_SEQUENCE:
            n += len(asns)
        elif st == SegmentType.AS_SET:
            n += 1
    return n


def merge_as4_path(as_path: AsPath, as4_path: AsPath) -> AsPath:
    """RFC 6793 §4.2.3: rebuild the 4-octet path from a 2-octet AS_PATH and AS4_PATH."""
    n2 = as_path_length(as_path)
    n4 = as_path_length(as4_path)
    if n2 < n4:
        return as_path
    need = n2 - n4
    lead: list[tuple[int, tuple[int, ...]]] = []
    for st, asns in as_path:
        if st == SegmentType.AS_SEQUENCE:
            if need == 0:
                break
            take = asns[:need]
            lead.append((st, take))
            need -= len(take)
        elif st == SegmentType.AS_SET:
            if need == 0:
                break
            lead.append((st, asns))
            need -= 1
        else:  # confederation segments count 0 and stay in front
            lead.append((st, asns))
    tail = list(as4_path)
    if (
        lead
        and tail
        and lead[-1][0] == SegmentType.AS_SEQUENCE
        and tail[0][0] == SegmentType.AS_SEQUENCE
        and len(lead[-1][1]) + len(tail[0][1]) <= 255
    ):
        tail[0] = (SegmentType.AS_SEQUENCE, lead[-1][1] + tail[0][1])
        lead.pop()
    return tuple(lead + tail)


# --------------------------------------------------------------------------------------
# PathAttrs: lazy view


class _Unset(enum.Enum):
    TOKEN = 0


_U = _Unset.TOKEN


class PathAttrs:
    """Immutable lazy view of a canonical (4-octet AS) attribute block.

    Every property parses its attribute on first access and caches the result. The block
    is assumed valid (it came out of ``decode_update`` or was built locally); malformed
    values raise ``ValueError``/``BGPError``.
    """

    __slots__ = (
        "_aggregator",
        "_as_path",
        "_cluster_list",
        "_communities",
        "_ext_communities",
        "_index",
        "_large_communities",
        "_local_pref",
        "_med",
        "_originator_id",
        "_raw",
    )

    def __init__(self, raw: bytes) -> None:
        self._raw = bytes(raw)
        self._index: dict[int, tuple[int, int]] | None = None
        self._as_path: AsPath | _Unset = _U
        self._med: int | _Unset | None = _U
        self._local_pref: int | _Unset | None = _U
        self._aggregator: tuple[int, int] | _Unset | None = _U
        self._communities: tuple[int, ...] | _Unset = _U
        self._ext_communities: tuple[bytes, ...] | _Unset = _U
        self._large_communities: tuple[tuple[int, int, int], ...] | _Unset = _U
        self._originator_id: int | _Unset | None = _U
        self._cluster_list: tuple[int, ...] | _Unset = _U

    def __repr__(self) -> str:
        return f"PathAttrs({self._raw!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PathAttrs):
            return NotImplemented
        return self._raw == other._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    @property
    def raw(self) -> bytes:
        return self._raw

    def _span(self, type_: int) -> tuple[int, int] | None:
        idx = self._index
        if idx is None:
            idx = {}
            for t, _s, vs, e in walk_attributes(self._raw):
                idx.setdefault(t, (vs, e))
            self._index = idx
        return idx.get(type_)

    def get(self, type_: int) -> bytes | None:
        """Value of the first attribute of ``type_``, or ``None``."""
        span = self._span(type_)
        return None if span is None else self._raw[span[0] : span[1]]

    def has(self, type_: int) -> bool:
        return self._span(type_) is not None

    def _u32(self, type_: int) -> int | None:
        span = self._span(type_)
        if span is None:
            return None
        vs, e = span
        if e - vs != 4:
            raise ValueError(f"attribute {type_} is not 4 octets")
        return int.from_bytes(self._raw[vs:e], "big")

    @property
    def origin(self) -> int | None:
        span = self._span(AttrType.ORIGIN)
        return None if span is None or span[1] <= span[0] else self._raw[span[0]]

    @property
    def as_path(self) -> AsPath:
        v = self._as_path
        if v is _U:
            span = self._span(AttrType.AS_PATH)
            if span is None:
                v = ()
            else:
                parsed = decode_as_path(self._raw, span[0], span[1], 4)
                if parsed is None:
                    raise ValueError("malformed AS_PATH")
                v = parsed
            self._as_path = v
        return v

    @property
    def as_path_length(self) -> int:
        return as_path_length(self.as_path)

    @property
    def neighbor_as(self) -> int | None:
        """First AS of the first AS_SEQUENCE (RFC 4271 §9.1.2.2 c), or ``None``."""
        for st, asns in self.as_path:
            if st == SegmentType.AS_SEQUENCE:
                return asns[0]
            if st == SegmentType.AS_SET:
                return None
        return None

    @property
    def next_hop(self) -> bytes:
        v = self.get(AttrType.NEXT_HOP)
        return b"" if v is None else v

    @property
    def med(self) -> int | None:
        v = self._med
        if v is _U:
            v = self._med = self._u32(AttrType.MULTI_EXIT_DISC)
        return v

    @property
    def local_pref(self) -> int | None:
        v = self._local_pref
        if v is _U:
            v = self._local_pref = self._u32(AttrType.LOCAL_PREF)
        return v

    @property
    def atomic_aggregate(self) -> bool:
        return self._span(AttrType.ATOMIC_AGGREGATE) is not None

    @property
    def aggregator(self) -> tuple[int, int] | None:
        v = self._aggregator
        if v is _U:
            span = self._span(AttrType.AGGREGATOR)
            if span is None:
                v = None
            else:
                vs, e = span
                if e - vs != 8:
                    raise ValueError("AGGREGATOR is not 8 octets")
                asn, ip = struct.unpack_from(">II", self._raw, vs)
                v = (asn, ip)
            self._aggregator = v
        return v

    def _words(self, type_: int, size: int) -> tuple[int, ...]:
        span = self._span(type_)
        if span is None:
            return ()
        vs, e = span
        if (e - vs) % size:
            raise ValueError(f"attribute {type_} length is not a multiple of {size}")
        return struct.unpack_from(f">{(e - vs) // 4}I", self._raw, vs)

    @property
    def communities(self) -> tuple[int, ...]:
        v = self._communities
        if v is _U:
            v = self._communities = self._words(AttrType.COMMUNITIES, 4)
        return v

    @property
    def ext_communities(self) -> tuple[bytes, ...]:
        v = self._ext_communities
        if v is _U:
            span = self._span(AttrType.EXTENDED_COMMUNITIES)
            if span is None:
                v = ()
            else:
                vs, e = span
                raw = self._raw
                v = tuple(raw[i : i + 8] for i in range(vs, e - 7, 8))
            self._ext_communities = v
        return v

    @property
    def large_communities(self) -> tuple[tuple[int, int, int], ...]:
        v = self._large_communities
        if v is _U:
            w = self._words(AttrType.LARGE_COMMUNITIES, 12)
            v = self._large_communities = tuple(
                (w[i], w[i + 1], w[i + 2]) for i in range(0, len(w), 3)
            )
        return v

    @property
    def originator_id(self) -> int | None:
        v = self._originator_id
        if v is _U:
            v = self._originator_id = self._u32(AttrType.ORIGINATOR_ID)
        return v

    @property
    def cluster_list(self) -> tuple[int, ...]:
        v = self._cluster_list
        if v is _U:
            v = self._cluster_list = self._words(AttrType.CLUSTER_LIST, 4)
        return v


BestPathFields = tuple[
    int | None,
    int | None,
    int,
    int | None,
    int | None,
    int | None,
    tuple[int, ...],
    tuple[int, ...],
]


def best_path_fields(raw: bytes) -> BestPathFields:
    """``(local_pref, med, as_path_length, neighbor_as, origin, originator_id,
    cluster_list, communities)`` of a canonical block in one walk: the values, and the
    errors in the same order, of those :class:`PathAttrs` properties read in that order
    (cheaper than a view, which also builds an index and caches)."""
    first: dict[int, tuple[int, int]] = {}
    for t, _s, vs, e in walk_attributes(raw):
        if t not in first:
            first[t] = (vs, e)
    get = first.get
    local_pref = _u32_at(raw, get(AttrType.LOCAL_PREF), AttrType.LOCAL_PREF)
    med = _u32_at(raw, get(AttrType.MULTI_EXIT_DISC), AttrType.MULTI_EXIT_DISC)
    length = 0
    neighbor: int | None = None
    span = get(AttrType.AS_PATH)
    if span is not None:
        path = decode_as_path(raw, span[0], span[1], 4)
        if path is None:
            raise ValueError("malformed AS_PATH")
        found = False  # the neighbor AS is decided (first AS_SEQUENCE, or an AS_SET first)
        for st, asns in path:
            if st == SegmentType.AS_SEQUENCE:
                length += len(asns)
                if not found:
                    neighbor, found = asns[0], True
            elif st == SegmentType.AS_SET:
                length += 1
                found = True
    span = get(AttrType.ORIGIN)
    origin = None if span is None or span[1] <= span[0] else raw[span[0]]
    originator_id = _u32_at(raw, get(AttrType.ORIGINATOR_ID), AttrType.ORIGINATOR_ID)
    cluster_list = _words_at(raw, get(AttrType.CLUSTER_LIST), AttrType.CLUSTER_LIST)
    communities = _words_at(raw, get(AttrType.COMMUNITIES), AttrType.COMMUNITIES)
    return local_pref, med, length, neighbor, origin, originator_id, cluster_list, communities


def _u32_at(raw: bytes, span: tuple[int, int] | None, type_: int) -> int | None:
    if span is None:
        return None
    vs, e = span
    if e - vs != 4:
        raise ValueError(f"attribute {type_} is not 4 octets")
    return int.from_bytes(raw[vs:e], "big")


def _words_at(raw: bytes, span: tuple[int, int] | None, type_: int) -> tuple[int, ...]:
    if span is None:
        return ()
    vs, e = span
    if (e - vs) % 4:
        raise ValueError(f"attribute {type_} length is not a multiple of 4")
    n = (e - vs) // 4
    if n < 256:
        return _UNPACK4[n](raw, vs)
    return struct.unpack_from(f">{n}I", raw, vs)


# --------------------------------------------------------------------------------------
# Block rewriting (byte splicing)


def _insert_at(headers: list[tuple[int, int, int, int]], type_: int, end: int) -> int:
    """Byte offset where an attribute of ``type_`` goes to keep ascending type order
    (before the first attribute with a larger type; at the end otherwise)."""
    for t, s, _vs, _e in headers:
        if t > type_:
            return s
    return end


def reflect_block(raw: bytes, *, originator_id: int, cluster_id: int) -> bytes:
    """RFC 4456 §8: add ORIGINATOR_ID when absent; prepend ``cluster_id`` to CLUSTER_LIST
    (creating it when absent). Every other attribute is kept byte for byte."""
    o = 0
    end = len(raw)
    cl_start = cl_vs = cl_end = -1
    ins_oid = -2  # where a new ORIGINATOR_ID goes; -1: present already; -2: not found yet
    ins_cl = -2  # the same for CLUSTER_LIST
    while o < end:
        if o + 3 > end:
            break
        flags = raw[o]
        t = raw[o + 1]
        if flags & _EXT:
            vs = o + 4
            ve = vs + ((raw[o + 2] << 8) | raw[o + 3])
        else:
            vs = o + 3
            ve = vs + raw[o + 2]
        if t == AttrType.ORIGINATOR_ID:
            ins_oid = -1
        elif t == AttrType.CLUSTER_LIST:
            cl_start, cl_vs, cl_end = o, vs, ve
            ins_cl = -1
        if t > AttrType.ORIGINATOR_ID and ins_oid == -2:
            ins_oid = o
        if t > AttrType.CLUSTER_LIST and ins_cl == -2:
            ins_cl = o
        o = ve
    if o != end:
        raise _list_error(o, "attribute runs past the end of the block")
    if ins_oid == -2:
        ins_oid = end
    if ins_cl == -2:
        ins_cl = end
    cid = cluster_id.to_bytes(4, "big")
    parts: list[bytes] = []
    pos = 0
    if ins_oid >= 0:
        new_oid = b"\x80\x09\x04" + originator_id.to_bytes(4, "big")
        parts.append(raw[pos:ins_oid])
        parts.append(new_oid)
        pos = ins_oid
    if ins_cl >= 0:
        parts.append(raw[pos:ins_cl])
        parts.append(b"\x80\x0a\x04" + cid)
        pos = ins_cl
    else:
        n = cl_end - cl_vs + 4
        parts.append(raw[pos:cl_start])
        flags = raw[cl_start]
        if n > 255 or flags & _EXT:
            parts.append(bytes((flags | _EXT, AttrType.CLUSTER_LIST, n >> 8, n & 0xFF)))
        else:
            parts.append(bytes((flags, AttrType.CLUSTER_LIST, n)))
        parts.append(cid)
        parts.append(raw[cl_vs:cl_end])
        pos = cl_end
    parts.append(raw[pos:])
    return b"".join(parts)


def add_community(raw: bytes, community: int) -> bytes:
    """Ensure ``community`` is in COMMUNITIES (appended; attribute created in type order when
    absent). Returns ``raw`` itself when it is there already."""
    headers = walk_attributes(raw)
    c = community.to_bytes(4, "big")
    for t, s, vs, e in headers:
        if t == AttrType.COMMUNITIES:
            value = raw[vs:e]
            for i in range(0, len(value) - 3, 4):
                if value[i : i + 4] == c:
                    return raw
            return raw[:s] + encode_attribute(raw[s], t, value + c) + raw[e:]
    at = _insert_at(headers, AttrType.COMMUNITIES, len(raw))
    return raw[:at] + encode_attribute(_OPT | _TRANS, AttrType.COMMUNITIES, c) + raw[at:]


set_community = add_community


def strip_attributes(raw: bytes, types: set[int] | frozenset[int]) -> bytes:
    """Remove every attribute whose type is in ``types``."""
    parts: list[bytes] = []
    pos = 0
    for t, s, _vs, e in walk_attributes(raw):
        if t in types:
            parts.append(raw[pos:s])
            pos = e
    if pos == 0:
        return raw
    parts.append(raw[pos:])
    return b"".join(parts)


def to_as2_block(raw: bytes) -> bytes:
    """Canonical block -> block for a peer without the 4-octet AS capability (RFC 6793
    §4.2.2): AS_PATH in 2-octet form with AS_TRANS for larger ASNs plus AS4_PATH (without
    confederation segments) when needed; AGGREGATOR in 6-octet form plus AS4_AGGREGATOR
    when its AS is larger than 65535. Other attributes are kept byte for byte."""
    headers = walk_attributes(raw)
    parts: list[bytes] = []
    pos = 0
    as4_path = b""
    as4_aggr = b""
    for t, s, vs, e in headers:
        if t == AttrType.AS_PATH:
            path = decode_as_path(raw, vs, e, 4)
            if path is None:
                raise ValueError("malformed AS_PATH in canonical block")
            parts.append(raw[pos:s])
            parts.append(encode_attribute(raw[s] & ~_EXT, t, encode_as_path(path, 2)))
            pos = e
            keep = [seg for seg in path if seg[0] <= SegmentType.AS_SEQUENCE]  # no confed
            if any(a > 0xFFFF for _st, asns in keep for a in asns):
                as4_path = encode_attribute(_OPT | _TRANS, AttrType.AS4_PATH, encode_as_path(keep))
        elif t == AttrType.AGGREGATOR and e - vs == 8:
            asn = int.from_bytes(raw[vs : vs + 4], "big")
            ip = raw[vs + 4 : e]
            parts.append(raw[pos:s])
            small = asn if asn <= 0xFFFF else AS_TRANS
            parts.append(encode_attribute(raw[s] & ~_EXT, t, small.to_bytes(2, "big") + ip))
            pos = e
            if asn > 0xFFFF:
                as4_aggr = encode_attribute(_OPT | _TRANS, AttrType.AS4_AGGREGATOR, raw[vs:e])
        elif t in (AttrType.AS4_PATH, AttrType.AS4_AGGREGATOR):
            parts.append(raw[pos:s])
            pos = e
    parts.append(raw[pos:])
    out = b"".join(parts)
    for new in (as4_path, as4_aggr):
        if new:
            at = _insert_at(walk_attributes(out), new[1], len(out))
            out = out[:at] + new + out[at:]
    return out
