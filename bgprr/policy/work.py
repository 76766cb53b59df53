"""The attributes of one route while a policy chain runs over it.

gobgpd's statements modify the path in place: a later statement (and a later policy)
sees what an earlier one set, even when that statement's disposition is ``none``.  A
:class:`Work` holds the current canonical block and MP next hop, reads fields from it
(parsed lazily, once per change) and replaces attributes in ascending type order; every
attribute it does not touch stays byte for byte.  At the end, :meth:`Work.verdict`
returns the route's own :class:`AttrSet` when nothing changed.
"""

from __future__ import annotations

import struct

from bgprr.policy.types import Rewrite
from bgprr.rib.intern import AttrSet
from bgprr.wire.attributes import PathAttrs, encode_attribute, walk_attributes
from bgprr.wire.constants import AttrType, SegmentType

__all__ = ["AsPath", "Work", "as_path_text", "as_seq_list", "gobgp_as_path_length"]

AsPath = tuple[tuple[int, tuple[int, ...]], ...]

OPTIONAL_TRANSITIVE = 0xC0
OPTIONAL = 0x80
WELL_KNOWN = 0x40
_EXT_LEN = 0x10

#: Flags of an attribute the policy creates (RFC 4271 §5, RFC 1997, RFC 4360, RFC 8092).
NEW_FLAGS: dict[int, int] = {
    AttrType.AS_PATH: WELL_KNOWN,
    AttrType.NEXT_HOP: WELL_KNOWN,
    AttrType.MULTI_EXIT_DISC: OPTIONAL,
    AttrType.LOCAL_PREF: WELL_KNOWN,
    AttrType.COMMUNITIES: OPTIONAL_TRANSITIVE,
    AttrType.EXTENDED_COMMUNITIES: OPTIONAL_TRANSITIVE,
    AttrType.LARGE_COMMUNITIES: OPTIONAL_TRANSITIVE,
}


class Work:
    """Mutable attributes of one route during one chain (never shared)."""

    __slots__ = ("_view", "changed", "next_hop", "raw")

    def __init__(self, attrs: AttrSet) -> None:
        self.raw: bytes = attrs.raw
        self.next_hop: bytes = attrs.next_hop
        self._view: PathAttrs | None = None
        self.changed = False

    @property
    def view(self) -> PathAttrs:
        """A parsed view of the current block (not kept on the AttrSet: a view costs
        about 1 kB, and most sets never meet a policy twice)."""
        view = self._view
        if view is None:
            view = self._view = PathAttrs(self.raw)
        return view

    def set_attribute(self, type_: int, value: bytes | None) -> None:
        """Replace the attribute ``type_`` by ``value`` (None: remove it).  An existing
        attribute keeps its flags; a new one takes the standard flags and goes in
        ascending type order."""
        raw = self.raw
        headers = walk_attributes(raw)
        for t, start, _vs, end in headers:
            if t == type_:
                if value is None:
                    new = raw[:start] + raw[end:]
                else:
                    attr = encode_attribute(raw[start] & ~_EXT_LEN, type_, value)
                    new = raw[:start] + attr + raw[end:]
                self._replace(new)
                return
        if value is None:
            return
        at = len(raw)
        for t, start, _vs, _end in headers:
            if t > type_:
                at = start
                break
        attr = encode_attribute(NEW_FLAGS.get(type_, OPTIONAL_TRANSITIVE), type_, value)
        self._replace(raw[:at] + attr + raw[at:])

    def set_next_hop(self, next_hop: bytes) -> None:
        """The MP next hop (IPv6 routes)."""
        if next_hop != self.next_hop:
            self.next_hop = next_hop
            self.changed = True

    def _replace(self, raw: bytes) -> None:
        if raw != self.raw:
            self.raw = raw
            self._view = None
            self.changed = True

    def verdict(self, attrs: AttrSet) -> AttrSet | Rewrite:
        """The route's own set when the attributes ended as they started."""
        if not self.changed or (self.raw == attrs.raw and self.next_hop == attrs.next_hop):
            return attrs
        return Rewrite(self.raw, self.next_hop)


# --------------------------------------------------------------------------------------
# AS_PATH as gobgpd reads it


def as_seq_list(path: AsPath) -> tuple[int, ...]:
    """gobgpd's ``GetAsSeqList``: the ASNs of AS_SEQUENCE segments; every other segment
    contributes a single 0."""
    out: list[int] = []
    for seg_type, asns in path:
        if seg_type == SegmentType.AS_SEQUENCE:
            out.extend(asns)
        else:
            out.append(0)
    return tuple(out)


_OPEN: dict[int, str] = {
    SegmentType.AS_SET: "{",
    SegmentType.AS_CONFED_SEQUENCE: "(",
    SegmentType.AS_CONFED_SET: "[",
}
_CLOSE: dict[int, str] = {
    SegmentType.AS_SET: "}",
    SegmentType.AS_CONFED_SEQUENCE: ")",
    SegmentType.AS_CONFED_SET: "]",
}
_SEP: dict[int, str] = {SegmentType.AS_SET: ",", SegmentType.AS_CONFED_SET: ","}


def as_path_text(path: AsPath) -> str:
    """gobgpd's ``AsPathString``, what as-path regular expressions search: segments
    separated by a space; ``{1,2}`` an AS_SET, ``(1 2)`` a confederation sequence,
    ``[1,2]`` a confederation set."""
    parts: list[str] = []
    for seg_type, asns in path:
        body = _SEP.get(seg_type, " ").join(str(asn) for asn in asns)
        parts.append(_OPEN.get(seg_type, "") + body + _CLOSE.get(seg_type, ""))
    return " ".join(parts)


def gobgp_as_path_length(path: AsPath) -> int:
    """An AS_SEQUENCE counts its ASNs, an AS_SET 1, confederation segments 0."""
    total = 0
    for seg_type, asns in path:
        if seg_type == SegmentType.AS_SEQUENCE:
            total += len(asns)
        elif seg_type == SegmentType.AS_SET:
            total += 1
    return total


def u32(value: int) -> bytes:
    return struct.pack(">I", value)
