"""Prefix keys and NLRI encoding (RFC 4271 §4.3, RFC 4760, RFC 7911 ADD-PATH).

A prefix is one int, its *key*: ``(address << 8) | length`` with the host bits of the
full-width address (32 bits for IPv4, 128 for IPv6) zero. Keys sort in address order, then
by length. The family (AFI) always comes from context.

The NLRI decoder is on the hot path: it works on ``bytes`` with an offset cursor, uses
per-length lookup tables (octet count, shift, mask) built once at import, and creates no
object per prefix other than the key int (and the path id int with ADD-PATH).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from .constants import AFI
from .errors import BGPError, ErrorCode, UpdateSub

__all__ = [
    "decode_prefixes",
    "encode_prefixes",
    "key_addr",
    "key_len",
    "key_to_str",
    "make_key",
    "parse_prefix",
]


def _bits(afi: int) -> int:
    if afi == AFI.IPV4:
        return 32
    if afi == AFI.IPV6:
        return 128
    raise ValueError(f"unsupported AFI {afi}")


def _tables(bits: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Per prefix length: octets on the wire, left shift into key position, key mask."""
    octets = tuple((plen + 7) >> 3 for plen in range(bits + 1))
    shifts = tuple(bits - 8 * octets[plen] + 8 for plen in range(bits + 1))
    masks = tuple((((1 << plen) - 1) << (bits - plen)) << 8 for plen in range(bits + 1))
    return octets, shifts, masks


_T4 = _tables(32)
_T6 = _tables(128)
_TABLES = {AFI.IPV4.value: _T4, AFI.IPV6.value: _T6}


def make_key(addr: int, plen: int) -> int:
    """Key of ``addr/plen`` (IPv4 or IPv6 alike); host bits of ``addr`` must be zero."""
    return (addr << 8) | plen


def key_addr(key: int) -> int:
    """Network address of a key, as a full-width int."""
    return key >> 8


def key_len(key: int) -> int:
    """Prefix length of a key."""
    return key & 0xFF


def key_to_str(key: int, afi: int) -> str:
    """``"10.0.0.0/24"`` or ``"2001:db8::/32"`` (display only)."""
    addr = key >> 8
    plen = key & 0xFF
    if afi == AFI.IPV4:
        return f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}/{plen}"
    if afi == AFI.IPV6:
        return f"{ipaddress.IPv6Address(addr)}/{plen}"
    raise ValueError(f"unsupported AFI {afi}")


def parse_prefix(text: str) -> tuple[int, int]:
    """Parse ``"10.0.0.0/24"`` / ``"2001:db8::/32"`` (config and CLI) into ``(afi, key)``.

    A bare address is a host route. Host bits set (``"10.0.0.1/24"``) or any other bad
    text raises ``ValueError``.
    """
    try:
        net = ipaddress.ip_network(text.strip(), strict=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid prefix {text!r}: {exc}") from None
    afi = AFI.IPV4 if net.version == 4 else AFI.IPV6
    return int(afi), make_key(int(net.network_address), net.prefixlen)


def _nlri_error(offset: int, reason: str) -> BGPError:
    return BGPError(
        ErrorCode.UPDATE_MESSAGE,
        UpdateSub.INVALID_NETWORK_FIELD,
        offset=offset,
        reason=reason,
    )


def decode_prefixes(
    buf: bytes | memoryview,
    off: int,
    end: int,
    afi: int,
    addpath: bool,
    *,
    base: int = 0,
) -> tuple[list[int], list[int] | None]:
    """Decode the prefixes in ``buf[off:end]`` into keys (and ADD-PATH ids when ``addpath``).

    Trailing host bits are masked off. A prefix length larger than the address, or a prefix
    (or path id) running past ``end``, raises ``BGPError`` UPDATE / Invalid Network Field
    (RFC 4271 §6.3; RFC 7606 §5.3 makes it a session reset); the offset is ``base`` plus
    the offset in ``buf`` of the offending length octet (or path id).
    """
    if type(buf) is not bytes:
        data = bytes(buf[off:end])
        base += off
        end -= off
        off = 0
    else:
        data = buf
    if end > len(data):
        raise _nlri_error(base + off, "NLRI field runs past the end of the message")
    octets, shifts, masks = _TABLES.get(afi) or (_T4 if _bits(afi) == 32 else _T6)
    keys: list[int] = []
    add = keys.append
    frm = int.from_bytes
    o = off
    if not addpath:
        try:
            while o < end:
                plen = data[o]
                n = o + 1 + octets[plen]
                if n > end:
                    raise _nlri_error(base + o, f"prefix /{plen} runs past the end of the field")
                add(((frm(data[o + 1 : n]) << shifts[plen]) & masks[plen]) | plen)
                o = n
        except IndexError:
            raise _nlri_error(
                base + o, f"prefix length {data[o]} exceeds {len(octets) - 1} bits"
            ) from None
        return keys, None
    ids: list[int] = []
    add_id = ids.append
    try:
        while o < end:
            p = o + 4
            if p >= end:
                raise _nlri_error(base + o, "ADD-PATH path identifier runs past the field")
            plen = data[p]
            n = p + 1 + octets[plen]
            if n > end:
                raise _nlri_error(base + o, f"prefix /{plen} runs past the end of the field")
            add_id(frm(data[o:p]))
            add(((frm(data[p + 1 : n]) << shifts[plen]) & masks[plen]) | plen)
            o = n
    except IndexError:
        raise _nlri_error(
            base + o, f"prefix length {data[o + 4]} exceeds {len(octets) - 1} bits"
        ) from None
    return keys, ids


def _enc_tables(bits: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[bytes, ...]]:
    octets = tuple((plen + 7) >> 3 for plen in range(bits + 1))
    shifts = tuple(bits - 8 * octets[plen] + 8 for plen in range(bits + 1))
    heads = tuple(bytes((plen,)) for plen in range(bits + 1))
    return octets, shifts, heads


_E4 = _enc_tables(32)
_E6 = _enc_tables(128)


def encode_prefixes(keys: Sequence[int], ids: Sequence[int] | None, afi: int) -> bytes:
    """Encode keys (with their ADD-PATH ids when ``ids`` is not None) as an NLRI field."""
    octets, shifts, heads = _E4 if _bits(afi) == 32 else _E6
    parts: list[bytes] = []
    add = parts.append
    if ids is None:
        for key in keys:
            plen = key & 0xFF
            add(heads[plen])
            add((key >> shifts[plen]).to_bytes(octets[plen], "big"))
    else:
        if len(ids) != len(keys):
            raise ValueError("ids and keys differ in length")
        for key, pid in zip(keys, ids, strict=True):
            plen = key & 0xFF
            add(pid.to_bytes(4, "big"))
            add(heads[plen])
            add((key >> shifts[plen]).to_bytes(octets[plen], "big"))
    return b"".join(parts)


def prefix_size(key: int, addpath: bool) -> int:
    """Octets ``key`` takes in an NLRI field."""
    return 1 + (((key & 0xFF) + 7) >> 3) + (4 if addpath else 0)


def encode_tables(afi: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[bytes, ...]]:
    """Per prefix length: (octets, right shift of the key, length octet) for encoders that
    build NLRI inline (``bgprr.wire.update.pack_updates``)."""
    return _E4 if _bits(afi) == 32 else _E6
