"""Path attribute blocks written out by hand for the RIB tests (test_intern, test_bestpath)."""

from __future__ import annotations


def attr(flags: int, type_: int, value: bytes) -> bytes:
    """One path attribute; extended length when the value needs it."""
    if len(value) > 255:
        return bytes((flags | 0x10, type_)) + len(value).to_bytes(2, "big") + value
    return bytes((flags, type_, len(value))) + value


def block(
    *,
    origin: int = 0,
    as_path: tuple[tuple[int, tuple[int, ...]], ...] = ((2, (65001,)),),
    next_hop: int | None = 0x0A000001,
    med: int | None = None,
    local_pref: int | None = None,
    communities: tuple[int, ...] = (),
    originator_id: int | None = None,
    cluster_list: tuple[int, ...] = (),
) -> bytes:
    """A canonical (4-octet AS) attribute block, attributes in type order (RFC 4271 §4.3)."""
    out = attr(0x40, 1, bytes((origin,)))
    segs = b"".join(
        bytes((t, len(a))) + b"".join(x.to_bytes(4, "big") for x in a) for t, a in as_path
    )
    out += attr(0x40, 2, segs)
    if next_hop is not None:
        out += attr(0x40, 3, next_hop.to_bytes(4, "big"))
    if med is not None:
        out += attr(0x80, 4, med.to_bytes(4, "big"))
    if local_pref is not None:
        out += attr(0x40, 5, local_pref.to_bytes(4, "big"))
    if communities:
        out += attr(0xC0, 8, b"".join(c.to_bytes(4, "big") for c in communities))
    if originator_id is not None:
        out += attr(0x80, 9, originator_id.to_bytes(4, "big"))
    if cluster_list:
        out += attr(0x80, 10, b"".join(c.to_bytes(4, "big") for c in cluster_list))
    return out
