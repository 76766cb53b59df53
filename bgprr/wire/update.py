"""The UPDATE codec (RFC 4271 §4.3, RFC 4760, RFC 7911).

:func:`decode_update` (validation per RFC 4271 §6.3 / RFC 7606, see also
:mod:`bgprr.wire.attrcheck`) gives an :class:`~bgprr.wire.decoded.Update`, which this
module exports with its parts; :func:`encode_update`, the reflector's hot-path packers
:func:`pack_updates` / :func:`pack_withdrawals`, and End-of-RIB (RFC 4724) helpers.
"""

from __future__ import annotations

from collections.abc import Sequence

from .attrcheck import AttrScan, ScanCache, scan_attributes
from .attributes import walk_attributes
from .constants import IPV4_UNICAST, MARKER, AttrType
from .decoded import MPReach, MPUnreach, Update
from .errors import Action, BGPError, ErrorCode, HeaderSub, UpdateSub
from .prefix import decode_prefixes, encode_prefixes, encode_tables

__all__ = [
    "SUPPORTED_FAMILIES",
    "MPReach",
    "MPUnreach",
    "Update",
    "check_header",
    "decode_update",
    "encode_mp_reach",
    "encode_mp_unreach",
    "encode_update",
    "end_of_rib",
    "eor_family",
    "error_family",
    "field_bounds",
    "missing_well_known",
    "mp_attributes",
    "pack_updates",
    "pack_withdrawals",
    "prefix_field",
    "reset_without_nlri",
    "with_next_hop",
]

_UPD = ErrorCode.UPDATE_MESSAGE
_TAW = Action.TREAT_AS_WITHDRAW
_DISABLE = Action.AFISAFI_DISABLE

# Families whose NLRI are plain prefixes (RFC 4271 / RFC 4760 format).
SUPPORTED_FAMILIES: frozenset[tuple[int, int]] = frozenset({(1, 1), (1, 2), (2, 1), (2, 2)})
# Allowed MP_REACH_NLRI next-hop lengths per AFI (IPv4: RFC 4760 and RFC 8950).
_NH_LENGTHS: dict[int, tuple[int, ...]] = {1: (4, 16, 32), 2: (16, 32)}


# Well-known attributes an UPDATE with NLRI must carry, by (classic NLRI?, iBGP?):
# ORIGIN, AS_PATH; NEXT_HOP with classic NLRI (RFC 4760 §3); LOCAL_PREF over iBGP.
_REQUIRED: dict[tuple[bool, bool], tuple[int, ...]] = {
    (True, True): (1, 2, 3, 5),
    (True, False): (1, 2, 3),
    (False, True): (1, 2, 5),
    (False, False): (1, 2),
}


def _ipv4_nh_bad(nh: bytes) -> bool:
    a = nh[0]
    return nh == b"\0\0\0\0" or (224 <= a < 240) or nh == b"\xff\xff\xff\xff"


def _mp_error(data: bytes, o: int, ve: int, reason: str, offset: int | None = None) -> BGPError:
    """RFC 4760 §7 / RFC 7606 §7.11: Optional Attribute Error, AFI/SAFI disable (session
    reset when the AFI/SAFI cannot even be read)."""
    hdr = 4 if data[o] & 0x10 else 3
    action = _DISABLE if ve - o >= hdr + 3 else Action.SESSION_RESET
    return BGPError(
        _UPD,
        UpdateSub.OPTIONAL_ATTRIBUTE_ERROR,
        data[o:ve],
        action=action,
        offset=o if offset is None else offset,
        reason=reason,
    )


def _mp_prefixes(
    data: bytes, o: int, ve: int, start: int, afi: int, ap: bool
) -> tuple[list[int], list[int] | None]:
    try:
        return decode_prefixes(data, start, ve, afi, ap)
    except BGPError as exc:
        raise _mp_error(data, o, ve, exc.reason, exc.offset) from None


def _mp_family(
    data: bytes, span: tuple[int, int, int], name: str, minlen: int, errors: list[BGPError]
) -> tuple[int, int] | None:
    """The (afi, safi) of an MP attribute; None (with an attribute-discard error collected)
    for a family we do not support; a session reset when it is too short."""
    o, vs, ve = span
    if ve - vs < minlen:
        raise _mp_error(data, o, ve, f"{name} shorter than {minlen} octets")
    afi = (data[vs] << 8) | data[vs + 1]
    safi = data[vs + 2]
    if (afi, safi) not in SUPPORTED_FAMILIES:
        errors.append(
            BGPError(
                _UPD,
                UpdateSub.OPTIONAL_ATTRIBUTE_ERROR,
                data[o:ve],
                action=Action.ATTRIBUTE_DISCARD,
                offset=o,
                reason=f"{name} for unsupported AFI/SAFI {afi}/{safi} ignored",
            )
        )
        return None
    return afi, safi


def _is_own(nh: bytes, own: bytes) -> bool:
    """The global address of MP next hop ``nh`` (4 or 16 octets, or 32 with a link-local
    second) is ``own``."""
    return (nh[:16] if len(nh) == 32 else nh) == own


def _decode_mp_reach(
    data: bytes,
    span: tuple[int, int, int],
    addpath: frozenset[tuple[int, int]],
    errors: list[BGPError],
    own: bytes = b"",
) -> tuple[MPReach | None, bool]:
    """Returns (MPReach or None when discarded, treat-as-withdraw)."""
    fam = _mp_family(data, span, "MP_REACH_NLRI", 5, errors)
    if fam is None:
        return None, False
    afi, safi = fam
    o, vs, ve = span
    nhl = data[vs + 3]
    nh_end = vs + 4 + nhl
    if nhl not in _NH_LENGTHS[afi] or nh_end + 1 > ve:
        raise _mp_error(data, o, ve, f"bad next hop length {nhl} for AFI {afi}")
    nh = data[vs + 4 : nh_end]
    keys, ids = _mp_prefixes(data, o, ve, nh_end + 1, afi, fam in addpath)
    twd = False
    reason = ""
    if (nhl == 4 and _ipv4_nh_bad(nh)) or (nhl != 4 and nh[0] == 0xFF):
        reason = "MP_REACH_NLRI next hop is not a unicast address"
    elif own and _is_own(nh, own):
        reason = "MP_REACH_NLRI next hop is our own address (ignored)"
    if reason:
        errors.append(
            BGPError(
                _UPD,
                UpdateSub.INVALID_NEXT_HOP_ATTRIBUTE,
                data[o:ve],
                action=_TAW,
                offset=vs + 4,
                reason=reason,
            )
        )
        twd = True
    return MPReach(afi=afi, safi=safi, next_hop=nh, nlri=keys, nlri_ids=ids), twd


def _decode_mp_unreach(
    data: bytes,
    span: tuple[int, int, int],
    addpath: frozenset[tuple[int, int]],
    errors: list[BGPError],
) -> MPUnreach | None:
    fam = _mp_family(data, span, "MP_UNREACH_NLRI", 3, errors)
    if fam is None:
        return None
    o, vs, ve = span
    keys, ids = _mp_prefixes(data, o, ve, vs + 3, fam[0], fam in addpath)
    return MPUnreach(afi=fam[0], safi=fam[1], withdrawn=keys, withdrawn_ids=ids)


def decode_update(
    msg: bytes | memoryview,
    *,
    as4: bool = True,
    addpath: frozenset[tuple[int, int]] = frozenset(),
    ibgp: bool = True,
    cache: ScanCache | None = None,
    own: bytes = b"",
) -> Update:
    """Decode a whole UPDATE message (19-octet header included).

    ``as4``: the peer has the 4-octet AS capability (else AS4_PATH/AS4_AGGREGATOR are
    merged, RFC 6793 §4.2.3, and ``attrs`` comes out in 4-octet form). ``addpath``: the
    families for which we receive ADD-PATH ids. ``ibgp``: the peer is internal (LOCAL_PREF
    required; ORIGINATOR_ID/CLUSTER_LIST accepted). ``cache``: the session's
    :class:`~bgprr.wire.attrcheck.ScanCache` (same result, repeated attribute sets are
    not scanned again). ``own``: our address on this session (4 or 16 octets); a route
    whose next hop is that address is ignored (RFC 4271 §6.3: treat-as-withdraw with
    3/8 Invalid NEXT_HOP, no NOTIFICATION).

    Raises ``BGPError`` only for session reset and AFI/SAFI disable (the family can be read
    from the error with :func:`error_family`); milder errors land in ``Update.errors``.
    """
    data = msg if type(msg) is bytes else bytes(msg)
    n = len(data)
    check_header(data)
    wend, aend = field_bounds(data)
    astart = wend + 2
    v4ap = IPV4_UNICAST in addpath
    withdrawn, wids = prefix_field(data, 21, wend, v4ap)
    nlri, nids = prefix_field(data, aend, n, v4ap)
    errors: list[BGPError] = []
    twd = False
    mp_reach: MPReach | None = None
    mp_unreach: MPUnreach | None = None
    seen: bytes | bytearray | None = None
    block = b""
    own4 = own if len(own) == 4 else b""
    if aend > astart:
        key, hit = (
            _cache_lookup(cache, data, astart, aend, as4, ibgp, own4) if nlri else (b"", None)
        )
        if hit is not None:
            block, seen = hit
        else:
            scan = scan_attributes(
                data, astart, aend, as4=as4, ibgp=ibgp, classic_nlri=bool(nlri), own=own4
            )
            if key and cache is not None:
                cache.store(key, scan)
            mp_reach, mp_unreach = mp_attributes(data, scan, addpath, own)
            if scan.mp_reach is None and not nlri:
                reset_without_nlri(scan)
            block, seen, errors, twd = scan.block, scan.seen, scan.errors, scan.treat_as_withdraw
    if nlri or (mp_reach is not None and mp_reach.nlri):
        missing = missing_well_known(seen, bool(nlri), ibgp, wend)
        if missing:
            errors += missing
            twd = True
    return Update(
        withdrawn=withdrawn,
        withdrawn_ids=wids,
        attrs=block,
        nlri=nlri,
        nlri_ids=nids,
        mp_reach=mp_reach,
        mp_unreach=mp_unreach,
        errors=tuple(errors),
        treat_as_withdraw=twd,
    )


def check_header(data: bytes) -> None:
    """The 19-octet header of an UPDATE whose length field is the length of ``data``
    (RFC 4271 §6.1)."""
    n = len(data)
    if data[:16] != MARKER:
        raise BGPError(
            ErrorCode.MESSAGE_HEADER,
            HeaderSub.CONNECTION_NOT_SYNCHRONIZED,
            offset=0,
            reason="marker is not all ones",
        )
    if n < 23 or ((data[16] << 8) | data[17]) != n:
        raise BGPError(
            ErrorCode.MESSAGE_HEADER,
            HeaderSub.BAD_MESSAGE_LENGTH,
            data[16:18],
            offset=16,
            reason=f"UPDATE of {n} octets with length field {data[16:18].hex() or 'missing'}",
        )
    if data[18] != 2:
        raise BGPError(ErrorCode.MESSAGE_HEADER, HeaderSub.BAD_MESSAGE_TYPE, data[18:19], offset=18)


def field_bounds(data: bytes) -> tuple[int, int]:
    """(end of Withdrawn Routes, end of Path Attributes); the attributes start 2 octets
    after the first. Lengths that overrun the message reset the session (RFC 4271 §6.3,
    RFC 7606 §5.3)."""
    n = len(data)
    wend = 21 + ((data[19] << 8) | data[20])
    if wend + 2 > n:
        raise BGPError(
            _UPD,
            UpdateSub.MALFORMED_ATTRIBUTE_LIST,
            offset=19,
            reason="Withdrawn Routes Length too large",
        )
    aend = wend + 2 + ((data[wend] << 8) | data[wend + 1])
    if aend > n:
        raise BGPError(
            _UPD,
            UpdateSub.MALFORMED_ATTRIBUTE_LIST,
            offset=wend,
            reason="Total Path Attribute Length too large",
        )
    return wend, aend


def prefix_field(
    data: bytes, start: int, end: int, addpath: bool
) -> tuple[list[int], list[int] | None]:
    """The IPv4 unicast prefix keys (and ADD-PATH ids when ``addpath``) of the Withdrawn
    Routes or NLRI field ``data[start:end]``."""
    if end > start:
        return decode_prefixes(data, start, end, 1, addpath)
    return [], None


def _cache_lookup(
    cache: ScanCache | None,
    data: bytes,
    start: int,
    end: int,
    as4: bool,
    ibgp: bool,
    own: bytes,
) -> tuple[bytes, tuple[bytes, bytes] | None]:
    """(the field as cache key, or b"" when ``cache`` does not apply; the cached result)."""
    if cache is None or cache.as4 != as4 or cache.ibgp != ibgp or cache.own != own:
        return b"", None
    key = data[start:end]
    return key, cache.table.get(key)


def mp_attributes(
    data: bytes,
    scan: AttrScan,
    addpath: frozenset[tuple[int, int]],
    own: bytes = b"",
) -> tuple[MPReach | None, MPUnreach | None]:
    """Decode the MP_UNREACH_NLRI then MP_REACH_NLRI that ``scan`` found; their errors go
    to ``scan.errors`` (an invalid MP next hop sets ``scan.treat_as_withdraw``). ``own``:
    our address on the session (4 or 16 octets)."""
    mp_unreach = None
    mp_reach = None
    if scan.mp_unreach is not None:
        mp_unreach = _decode_mp_unreach(data, scan.mp_unreach, addpath, scan.errors)
    if scan.mp_reach is not None:
        mp_reach, bad_nh = _decode_mp_reach(data, scan.mp_reach, addpath, scan.errors, own)
        scan.treat_as_withdraw = scan.treat_as_withdraw or bad_nh
    return mp_reach, mp_unreach


def reset_without_nlri(scan: AttrScan) -> None:
    """RFC 7606 §5.2: attributes but no reachable NLRI, and an error stronger than
    attribute discard: we cannot trust that the NLRI were parsed; session reset."""
    if not scan.treat_as_withdraw:
        return
    first = next(e for e in scan.errors if e.action == _TAW)
    raise BGPError(
        first.code,
        first.subcode,
        first.data,
        offset=first.offset,
        reason=f"{first.reason} (UPDATE without reachable NLRI, RFC 7606 §5.2)",
    )


def missing_well_known(
    seen: bytes | bytearray | None, classic_nlri: bool, ibgp: bool, offset: int
) -> list[BGPError]:
    """RFC 4271 §6.3, RFC 7606 §3: one treat-as-withdraw error per well-known attribute
    that an UPDATE announcing prefixes lacks (``offset``: the Total Path Attribute Length
    field)."""
    missing = []
    for t in _REQUIRED[classic_nlri, ibgp]:
        if seen is None or not seen[t]:
            missing.append(
                BGPError(
                    _UPD,
                    UpdateSub.MISSING_WELL_KNOWN_ATTRIBUTE,
                    bytes((t,)),
                    action=_TAW,
                    offset=offset,
                    reason=f"missing well-known attribute {t}",
                )
            )
    return missing


def error_family(err: BGPError) -> tuple[int, int] | None:
    """The (afi, safi) of an AFI/SAFI-disable error (its data is the MP attribute)."""
    data = err.data
    if err.action != _DISABLE or len(data) < 3:
        return None
    hdr = 4 if data[0] & 0x10 else 3
    if len(data) < hdr + 3:
        return None
    return ((data[hdr] << 8) | data[hdr + 1], data[hdr + 2])


def eor_family(update: Update) -> tuple[int, int] | None:
    """The family an End-of-RIB marker (RFC 4724 §2) is for, or ``None``."""
    if update.nlri or update.withdrawn or update.mp_reach is not None or update.attrs:
        return None
    mu = update.mp_unreach
    if mu is None:
        return IPV4_UNICAST
    if mu.withdrawn:
        return None
    return (mu.afi, mu.safi)


# --------------------------------------------------------------------------------------
# Encoding


def _mp_header(type_: int, length: int) -> bytes:
    if length > 255:
        return bytes((0x90, type_, length >> 8, length & 0xFF))
    return bytes((0x80, type_, length))


def encode_mp_reach(mp: MPReach) -> bytes:
    """The MP_REACH_NLRI attribute (extended length only when needed)."""
    nlri = encode_prefixes(mp.nlri, mp.nlri_ids, mp.afi)
    body = b"".join(
        (
            mp.afi.to_bytes(2, "big"),
            bytes((mp.safi, len(mp.next_hop))),
            mp.next_hop,
            b"\0",
            nlri,
        )
    )
    return _mp_header(AttrType.MP_REACH_NLRI, len(body)) + body


def encode_mp_unreach(mp: MPUnreach) -> bytes:
    """The MP_UNREACH_NLRI attribute (extended length only when needed)."""
    nlri = encode_prefixes(mp.withdrawn, mp.withdrawn_ids, mp.afi)
    body = mp.afi.to_bytes(2, "big") + bytes((mp.safi,)) + nlri
    return _mp_header(AttrType.MP_UNREACH_NLRI, len(body)) + body


def encode_update(
    *,
    withdrawn: Sequence[int] = (),
    withdrawn_ids: Sequence[int] | None = None,
    attrs: bytes = b"",
    nlri: Sequence[int] = (),
    nlri_ids: Sequence[int] | None = None,
    mp_reach: MPReach | None = None,
    mp_unreach: MPUnreach | None = None,
) -> bytes:
    """A whole UPDATE message. ``attrs`` is a raw block without MP attributes; MP_REACH_NLRI
    then MP_UNREACH_NLRI are placed before it (RFC 7606 §5.1), so that decoding a message
    built here and encoding the result gives the same bytes."""
    w = encode_prefixes(withdrawn, withdrawn_ids, 1) if withdrawn else b""
    pieces = []
    if mp_reach is not None:
        pieces.append(encode_mp_reach(mp_reach))
    if mp_unreach is not None:
        pieces.append(encode_mp_unreach(mp_unreach))
    pieces.append(attrs)
    a = b"".join(pieces)
    nl = encode_prefixes(nlri, nlri_ids, 1) if nlri else b""
    total = 23 + len(w) + len(a) + len(nl)
    if total > 0xFFFF:
        raise ValueError(f"UPDATE of {total} octets is too long")
    return b"".join(
        (
            MARKER,
            total.to_bytes(2, "big"),
            b"\x02",
            len(w).to_bytes(2, "big"),
            w,
            len(a).to_bytes(2, "big"),
            a,
            nl,
        )
    )


def with_next_hop(attrs: bytes, next_hop: bytes) -> bytes:
    """``attrs`` with NEXT_HOP set to ``next_hop`` (replaced, or inserted in type order)."""
    headers = walk_attributes(attrs)
    for t, s, vs, e in headers:
        if t == AttrType.NEXT_HOP:
            if attrs[vs:e] == next_hop:
                return attrs
            return attrs[:s] + b"\x40\x03\x04" + next_hop + attrs[e:]
    at = len(attrs)
    for t, s, _vs, _e in headers:
        if t > AttrType.NEXT_HOP:
            at = s
            break
    return attrs[:at] + b"\x40\x03\x04" + next_hop + attrs[at:]


def _fill(
    keys: Sequence[int], ids: Sequence[int] | None, afi: int, cap: int
) -> list[tuple[list[bytes], int]]:
    """Split keys into groups of encoded NLRI pieces of at most ``cap`` octets each. Each
    piece list starts with an empty slot for the caller's header."""
    if cap <= 0:
        raise ValueError("attributes leave no room for NLRI within max_len")
    octets, shifts, heads = encode_tables(afi)
    groups: list[tuple[list[bytes], int]] = []
    parts: list[bytes] = [b""]
    add = parts.append
    used = 0
    if ids is None:
        for key in keys:
            plen = key & 0xFF
            nb = octets[plen]
            if used + nb + 1 > cap:
                if not used:
                    raise ValueError("a prefix does not fit within max_len")
                groups.append((parts, used))
                parts = [b""]
                add = parts.append
                used = 0
            add(heads[plen])
            add((key >> shifts[plen]).to_bytes(nb, "big"))
            used += nb + 1
    else:
        if len(ids) != len(keys):
            raise ValueError("ids and keys differ in length")
        for key, pid in zip(keys, ids, strict=True):
            plen = key & 0xFF
            nb = octets[plen]
            if used + nb + 5 > cap:
                if not used:
                    raise ValueError("a prefix does not fit within max_len")
                groups.append((parts, used))
                parts = [b""]
                add = parts.append
                used = 0
            add(pid.to_bytes(4, "big"))
            add(heads[plen])
            add((key >> shifts[plen]).to_bytes(nb, "big"))
            used += nb + 5
    if used:
        groups.append((parts, used))
    return groups


def pack_updates(
    family: tuple[int, int],
    attrs: bytes,
    next_hop: bytes,
    keys: Sequence[int],
    ids: Sequence[int] | None,
    *,
    max_len: int = 4096,
) -> list[bytes]:
    """UPDATE messages announcing ``keys`` with the attribute block ``attrs`` (no MP
    attributes), as many prefixes per message as fit in ``max_len``.

    IPv4 unicast with a 4-octet (or empty) ``next_hop``: classic NLRI; a non-empty
    ``next_hop`` sets the NEXT_HOP attribute in ``attrs`` (replacing or inserting it), an
    empty one leaves ``attrs`` as given (it must carry NEXT_HOP). Every other case (IPv6,
    or IPv4 with a 16/32-octet next hop, RFC 8950): MP_REACH_NLRI with ``next_hop``, placed
    first, then ``attrs``.
    """
    afi, safi = family
    msgs: list[bytes] = []
    if family == IPV4_UNICAST and len(next_hop) in (0, 4):
        if next_hop:
            attrs = with_next_hop(attrs, next_hop)
        fixed = 23 + len(attrs)
        tail = b"\x02\x00\x00" + len(attrs).to_bytes(2, "big") + attrs
        for parts, used in _fill(keys, ids, afi, max_len - fixed):
            parts[0] = MARKER + (fixed + used).to_bytes(2, "big") + tail
            msgs.append(b"".join(parts))
        return msgs
    mp_fixed = afi.to_bytes(2, "big") + bytes((safi, len(next_hop))) + next_hop + b"\0"
    cap = max_len - 23 - 4 - len(mp_fixed) - len(attrs)
    for parts, used in _fill(keys, ids, afi, cap):
        mp_len = len(mp_fixed) + used
        mph = _mp_header(AttrType.MP_REACH_NLRI, mp_len)
        alen = len(mph) + mp_len + len(attrs)
        parts[0] = b"".join(
            (
                MARKER,
                (23 + alen).to_bytes(2, "big"),
                b"\x02\x00\x00",
                alen.to_bytes(2, "big"),
                mph,
                mp_fixed,
            )
        )
        parts.append(attrs)
        msgs.append(b"".join(parts))
    return msgs


def pack_withdrawals(
    family: tuple[int, int],
    keys: Sequence[int],
    ids: Sequence[int] | None,
    *,
    max_len: int = 4096,
) -> list[bytes]:
    """UPDATE messages withdrawing ``keys`` (IPv4 unicast: Withdrawn Routes field; other
    families: MP_UNREACH_NLRI), as many per message as fit in ``max_len``."""
    afi, safi = family
    msgs: list[bytes] = []
    if family == IPV4_UNICAST:
        for parts, used in _fill(keys, ids, afi, max_len - 23):
            parts[0] = MARKER + (23 + used).to_bytes(2, "big") + b"\x02" + used.to_bytes(2, "big")
            parts.append(b"\0\0")
            msgs.append(b"".join(parts))
        return msgs
    fam = afi.to_bytes(2, "big") + bytes((safi,))
    for parts, used in _fill(keys, ids, afi, max_len - 23 - 4 - 3):
        mp_len = 3 + used
        mph = _mp_header(AttrType.MP_UNREACH_NLRI, mp_len)
        alen = len(mph) + mp_len
        parts[0] = b"".join(
            (
                MARKER,
                (23 + alen).to_bytes(2, "big"),
                b"\x02\x00\x00",
                alen.to_bytes(2, "big"),
                mph,
                fam,
            )
        )
        msgs.append(b"".join(parts))
    return msgs


def end_of_rib(family: tuple[int, int]) -> bytes:
    """The End-of-RIB marker of ``family`` (RFC 4724 §2)."""
    if family == IPV4_UNICAST:
        return MARKER + b"\x00\x17\x02\x00\x00\x00\x00"
    afi, safi = family
    return (
        MARKER
        + b"\x00\x1d\x02\x00\x00\x00\x06\x80\x0f\x03"
        + afi.to_bytes(2, "big")
        + bytes((safi,))
    )
