"""AS_PATH rules of an eBGP speaker, on canonical attribute blocks (4-octet AS form).

* Receipt (RFC 4271 §9.1.2): :func:`own_as_loop` tells whether a path holds the local AS
  more often than ``allow-own-as`` permits (GoBGP counts every occurrence, in every
  segment type).
* Export to an eBGP neighbor, in the order gobgpd 3.10 applies them: ``replace-peer-as``
  (:func:`replace_as`: each occurrence of the neighbor's AS becomes ours), then
  ``remove-private-as`` (:func:`remove_private`: before our own AS is prepended, so a
  private local AS stays), then the prepend of the local AS with confederation segments
  dropped (:func:`prepend`, RFC 4271 §5.1.2).

The fast checks look for the 4 octets of an AS number in the whole block first: a block
that does not hold them cannot hold the AS in its AS_PATH, and the decode is skipped.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from bgprr.wire.attributes import (
    decode_as_path,
    encode_as_path,
    encode_attribute,
    walk_attributes,
)
from bgprr.wire.constants import AttrType, SegmentType

__all__ = [
    "PrivateAs",
    "contains_as",
    "is_private_as",
    "own_as_loop",
    "prepend",
    "remove_private",
    "replace_as",
]

Segments = list[tuple[int, tuple[int, ...]]]


class PrivateAs(enum.IntEnum):
    """``[neighbors.config] remove-private-as`` (GoBGP: "all" or "replace")."""

    NONE = 0
    ALL = 1  # remove every private AS
    REPLACE = 2  # replace every private AS by the local AS


def is_private_as(asn: int) -> bool:
    """RFC 6996: 64512-65534 and 4200000000-4294967294 (65535 and 4294967295 are
    reserved, RFC 7300, and not private: GoBGP's ranges too)."""
    return 64512 <= asn <= 65534 or 4200000000 <= asn <= 4294967294


def _as_path(raw: bytes) -> tuple[int, int, int, int, Segments] | None:
    """(start, value start, end, flags, segments) of the AS_PATH of ``raw``; None when
    absent. A malformed value reads as empty (received blocks are checked on receipt, so
    only a locally built block could hold one)."""
    for t, s, vs, e in walk_attributes(raw):
        if t == AttrType.AS_PATH:
            return s, vs, e, raw[s], list(decode_as_path(raw, vs, e, 4) or ())
    return None


def contains_as(raw: bytes, asn: int) -> bool:
    """Whether the AS_PATH of the canonical block ``raw`` holds ``asn`` (any segment)."""
    if asn.to_bytes(4, "big") not in raw:
        return False
    found = _as_path(raw)
    return found is not None and any(asn in asns for _st, asns in found[4])


def own_as_loop(raw: bytes, local_as: int, allow_own_as: int = 0) -> bool:
    """RFC 4271 §9.1.2 loop check with GoBGP's ``allow-own-as``: True when ``local_as``
    occurs more than ``allow_own_as`` times in the AS_PATH."""
    if local_as.to_bytes(4, "big") not in raw:
        return False
    found = _as_path(raw)
    if found is None:
        return False
    count = sum(asns.count(local_as) for _st, asns in found[4])
    return count > allow_own_as


def _rewrite(raw: bytes, edit: Callable[[Segments], Segments | None]) -> bytes:
    """``raw`` with its AS_PATH segments replaced by ``edit(segments)`` (None: unchanged);
    a block without AS_PATH gets one in type order when ``edit([])`` returns segments."""
    found = _as_path(raw)
    if found is None:
        segs = edit([])
        if not segs:
            return raw
        attr = encode_attribute(0x40, AttrType.AS_PATH, encode_as_path(segs, 4))
        for t, s, _vs, _e in walk_attributes(raw):
            if t > AttrType.AS_PATH:
                return raw[:s] + attr + raw[s:]
        return raw + attr
    s, _vs, e, flags, segs = found
    out = edit(segs)
    if out is None:
        return raw
    # the extended-length bit is set again by encode_attribute when needed
    attr = encode_attribute(flags & 0xEF, AttrType.AS_PATH, encode_as_path(out, 4))
    return raw[:s] + attr + raw[e:]


def replace_as(raw: bytes, peer_as: int, local_as: int) -> bytes:
    """GoBGP ``replace-peer-as``: every occurrence of ``peer_as`` becomes ``local_as``."""
    if peer_as.to_bytes(4, "big") not in raw:
        return raw

    def edit(segs: Segments) -> Segments | None:
        if not any(peer_as in asns for _st, asns in segs):
            return None
        return [(st, tuple(local_as if a == peer_as else a for a in asns)) for st, asns in segs]

    return _rewrite(raw, edit)


def remove_private(raw: bytes, local_as: int, mode: PrivateAs) -> bytes:
    """GoBGP ``remove-private-as``: ALL drops every private AS of every segment (a
    segment left empty goes); REPLACE puts ``local_as`` in place of each."""
    if mode is PrivateAs.NONE:
        return raw

    def edit(segs: Segments) -> Segments | None:
        if not any(is_private_as(a) for _st, asns in segs for a in asns):
            return None
        out: Segments = []
        for st, asns in segs:
            if mode is PrivateAs.REPLACE:
                kept = tuple(local_as if is_private_as(a) else a for a in asns)
            else:
                kept = tuple(a for a in asns if not is_private_as(a))
            if kept:
                out.append((st, kept))
        return out

    return _rewrite(raw, edit)


def prepend(raw: bytes, local_as: int) -> bytes:
    """RFC 4271 §5.1.2 towards an external peer: ``local_as`` prepended to the first
    AS_SEQUENCE (a new one when the path is empty, starts with an AS_SET or the first
    sequence is full), confederation segments removed (RFC 5065 §5.3). A block without
    AS_PATH (only a locally originated one) gets ``[local_as]``."""

    def edit(segs: Segments) -> Segments:
        out = [seg for seg in segs if seg[0] in (SegmentType.AS_SEQUENCE, SegmentType.AS_SET)]
        if out and out[0][0] == SegmentType.AS_SEQUENCE and len(out[0][1]) < 255:
            out[0] = (SegmentType.AS_SEQUENCE, (local_as, *out[0][1]))
        else:
            out.insert(0, (SegmentType.AS_SEQUENCE, (local_as,)))
        return out

    return _rewrite(raw, edit)
