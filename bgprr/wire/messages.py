"""BGP message types (RFC 4271 §4) as frozen, slotted dataclasses.

The codec (header checks, ``decode_message`` / ``encode_message``, RFC 8203/9003 shutdown
communication helpers) follows the definitions. ``Update`` and its codec live in
:mod:`bgprr.wire.update`; the incremental framer is :mod:`bgprr.wire.framer`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import update as _update
from .capabilities import Capability, FourOctetAS, decode_capabilities, encode_capability
from .constants import (
    BGP_VERSION,
    HEADER_LEN,
    MARKER,
    MAX_EXTENDED_MESSAGE_LEN,
    MAX_MESSAGE_LEN,
    MsgType,
    OptParamType,
)
from .errors import BGPError, CeaseSub, ErrorCode, HeaderSub, OpenSub, RouteRefreshSub


@dataclass(frozen=True, slots=True, kw_only=True)
class Open:
    version: int = 4
    my_as: int  # the 2-octet field as sent (AS_TRANS when the real AS is > 65535)
    hold_time: int
    bgp_id: int  # 32-bit int
    capabilities: tuple[Capability, ...] = ()
    # optional parameters other than capabilities, kept raw as (type, value)
    other_params: tuple[tuple[int, bytes], ...] = ()
    extended_params: bool = False  # RFC 9072 encoding was used / is to be used


@dataclass(frozen=True, slots=True, kw_only=True)
class Keepalive:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    code: int
    subcode: int
    data: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRefresh:
    afi: int
    safi: int
    subtype: int = 0  # RFC 7313: 0 normal, 1 BoRR, 2 EoRR


Message = Open | _update.Update | Notification | Keepalive | RouteRefresh

# --------------------------------------------------------------------------------------
# Header (RFC 4271 §4.1, §6.1)
# --------------------------------------------------------------------------------------

_HDR = struct.Struct("!16sHB")
_OPEN = struct.Struct("!BHHIB")
_RR = struct.Struct("!HBB")

OPEN_MIN_LEN = 29
NOTIFICATION_MIN_LEN = 21
UPDATE_MIN_LEN = 23
KEEPALIVE_LEN = 19
ROUTE_REFRESH_LEN = 23

Buffer = bytes | bytearray | memoryview


def _bad_length(length: int, reason: str) -> BGPError:
    return BGPError(
        ErrorCode.MESSAGE_HEADER,
        HeaderSub.BAD_MESSAGE_LENGTH,
        length.to_bytes(2, "big"),
        offset=16,
        reason=reason,
    )


def check_header(buf: Buffer, off: int = 0, *, max_len: int = MAX_MESSAGE_LEN) -> tuple[int, int]:
    """Validate the 19-octet header at ``buf[off:]``; return ``(length, type)``.

    Checks, in order (RFC 4271 §6.1): the marker is all ones (1/1), the length is within
    ``19..max_len`` (1/2, data = the length field), the type is known (1/3, data = the type
    octet), and the per-type length rule (1/2): KEEPALIVE exactly 19, OPEN 29..4096 even
    after extended-message negotiation (RFC 8654), UPDATE >= 23, NOTIFICATION >= 21.
    A ROUTE-REFRESH of the wrong length is left to :func:`decode_message`, which raises the
    RFC 7313 error (7/1) whose data is the whole message. Raises only :class:`BGPError`.
    """
    if len(buf) - off < HEADER_LEN:
        raise BGPError(
            ErrorCode.MESSAGE_HEADER,
            HeaderSub.BAD_MESSAGE_LENGTH,
            offset=0,
            reason=f"{len(buf) - off} octets, shorter than the 19-octet header",
        )
    marker, length, mtype = _HDR.unpack_from(buf, off)
    if marker != MARKER:
        raise BGPError(
            ErrorCode.MESSAGE_HEADER,
            HeaderSub.CONNECTION_NOT_SYNCHRONIZED,
            offset=0,
            reason="marker is not all ones",
        )
    if length < HEADER_LEN or length > max_len:
        raise _bad_length(length, f"length {length} outside 19..{max_len}")
    limits = _LENGTHS.get(mtype)
    if limits is not None and limits[0] <= length <= limits[1]:
        return length, mtype  # the common case: one lookup instead of the checks below
    if mtype not in _TYPES:
        raise BGPError(
            ErrorCode.MESSAGE_HEADER,
            HeaderSub.BAD_MESSAGE_TYPE,
            bytes([mtype]),
            offset=18,
            reason=f"unknown message type {mtype}",
        )
    if mtype == MsgType.KEEPALIVE and length != KEEPALIVE_LEN:
        raise _bad_length(length, f"KEEPALIVE length {length}, must be 19")
    if mtype == MsgType.OPEN and not OPEN_MIN_LEN <= length <= MAX_MESSAGE_LEN:
        raise _bad_length(length, f"OPEN length {length} outside 29..4096")
    if mtype == MsgType.UPDATE and length < UPDATE_MIN_LEN:
        raise _bad_length(length, f"UPDATE length {length}, below 23")
    if mtype == MsgType.NOTIFICATION and length < NOTIFICATION_MIN_LEN:
        raise _bad_length(length, f"NOTIFICATION length {length}, below 21")
    return length, mtype


_TYPES = frozenset(int(t) for t in MsgType)
# per type, the lengths the per-type rules of check_header accept (within max_len)
_LENGTHS: dict[int, tuple[int, int]] = {
    MsgType.OPEN: (OPEN_MIN_LEN, MAX_MESSAGE_LEN),
    MsgType.UPDATE: (UPDATE_MIN_LEN, MAX_EXTENDED_MESSAGE_LEN),
    MsgType.NOTIFICATION: (NOTIFICATION_MIN_LEN, MAX_EXTENDED_MESSAGE_LEN),
    MsgType.KEEPALIVE: (KEEPALIVE_LEN, KEEPALIVE_LEN),
    MsgType.ROUTE_REFRESH: (HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN),
}


def _header(mtype: int, body_len: int) -> bytes:
    return _HDR.pack(MARKER, HEADER_LEN + body_len, mtype)


# --------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------


def _open_error(sub: int, offset: int, reason: str, data: bytes = b"") -> BGPError:
    return BGPError(ErrorCode.OPEN_MESSAGE, sub, data, offset=offset, reason=reason)


def _decode_open(msg: memoryview, length: int) -> Open:
    version, my_as, hold, bgp_id, opt_len = _OPEN.unpack_from(msg, HEADER_LEN)
    if version != BGP_VERSION:
        raise _open_error(
            OpenSub.UNSUPPORTED_VERSION_NUMBER,
            19,
            f"version {version}, only 4 is supported",
            BGP_VERSION.to_bytes(2, "big"),
        )
    if my_as == 0:
        raise _open_error(OpenSub.BAD_PEER_AS, 20, "My Autonomous System is 0 (RFC 7607)")
    if hold in (1, 2):
        raise _open_error(OpenSub.UNACCEPTABLE_HOLD_TIME, 22, f"hold time {hold}")
    if bgp_id == 0:
        raise _open_error(OpenSub.BAD_BGP_IDENTIFIER, 24, "BGP Identifier is 0")
    pos = OPEN_MIN_LEN
    extended = False
    plen_size = 1
    end = pos + opt_len
    if opt_len and length > pos and msg[pos] == OptParamType.EXTENDED_LENGTH:
        # RFC 9072: Non-Ext OP Type 255, then a 2-octet Extended Opt. Parm. Length.
        if length < pos + 3:
            raise _open_error(OpenSub.UNSPECIFIC, pos, "truncated RFC 9072 parameters length")
        extended = True
        plen_size = 2
        end = pos + 3 + int.from_bytes(msg[pos + 1 : pos + 3], "big")
        pos += 3
    if end != length:
        raise _open_error(
            OpenSub.UNSPECIFIC,
            28,
            f"optional parameters end at octet {end}, the message at {length}",
        )
    caps: list[Capability] = []
    while pos < end:
        if pos + 1 + plen_size > end:
            raise _open_error(OpenSub.UNSPECIFIC, pos, "truncated optional parameter header")
        ptype = msg[pos]
        plen = int.from_bytes(msg[pos + 1 : pos + 1 + plen_size], "big")
        vstart = pos + 1 + plen_size
        if vstart + plen > end:
            raise _open_error(
                OpenSub.UNSPECIFIC,
                pos + 1,
                f"optional parameter length {plen} overruns the parameters",
            )
        if ptype != OptParamType.CAPABILITIES:
            raise _open_error(
                OpenSub.UNSUPPORTED_OPTIONAL_PARAMETER,
                pos,
                f"unsupported optional parameter type {ptype}",
            )
        caps.extend(decode_capabilities(msg, vstart, vstart + plen, base=0))
        pos = vstart + plen
    if any(isinstance(c, FourOctetAS) and c.asn == 0 for c in caps):
        raise _open_error(OpenSub.BAD_PEER_AS, 29, "4-octet AS capability carries AS 0 (RFC 7607)")
    return Open(
        version=version,
        my_as=my_as,
        hold_time=hold,
        bgp_id=bgp_id,
        capabilities=tuple(caps),
        extended_params=extended,
    )


def _decode_route_refresh(msg: memoryview, length: int) -> RouteRefresh:
    if length != ROUTE_REFRESH_LEN:
        raise BGPError(
            ErrorCode.ROUTE_REFRESH,
            RouteRefreshSub.INVALID_MESSAGE_LENGTH,
            bytes(msg),
            offset=16,
            reason=f"ROUTE-REFRESH length {length}, must be 23",
        )
    afi, subtype, safi = _RR.unpack_from(msg, HEADER_LEN)
    return RouteRefresh(afi=afi, safi=safi, subtype=subtype)


def decode_message(
    msg: Buffer,
    *,
    as4: bool = True,
    addpath: frozenset[tuple[int, int]] = frozenset(),
    ibgp: bool = True,
    max_len: int = MAX_MESSAGE_LEN,
) -> Message:
    """Decode one whole BGP message (header included).

    ``as4``, ``addpath`` (families whose NLRI carry path identifiers when received) and
    ``ibgp`` are the negotiated session facts the UPDATE decoder needs; ``max_len`` is 4096,
    or 65535 after extended-message negotiation. Raises only :class:`BGPError`.
    """
    view = memoryview(msg)
    length, mtype = check_header(view, 0, max_len=max_len)
    if len(view) != length:
        raise _bad_length(length, f"length field {length}, but {len(view)} octets given")
    if mtype == MsgType.KEEPALIVE:
        return Keepalive()
    if mtype == MsgType.OPEN:
        return _decode_open(view, length)
    if mtype == MsgType.UPDATE:
        return _update.decode_update(view, as4=as4, addpath=addpath, ibgp=ibgp)
    if mtype == MsgType.NOTIFICATION:
        return Notification(code=view[19], subcode=view[20], data=bytes(view[21:]))
    return _decode_route_refresh(view, length)


# --------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------


def encode_open(m: Open) -> bytes:
    """Encode an OPEN (``m.other_params`` are written after the capabilities).

    Capabilities go in one type-2 parameter (splitting them over several parameters could
    not help: all parameters share the one-octet Opt Parm Len). The RFC 9072 extended
    encoding (Opt Parm Len 255, Non-Ext OP Type 255, 2-octet lengths) is used when
    ``m.extended_params`` is set or when the parameters do not fit in 255 octets.
    """
    tlvs = b"".join(encode_capability(c) for c in m.capabilities)
    params = [(int(OptParamType.CAPABILITIES), tlvs)] if tlvs else []
    params += m.other_params
    head = _OPEN.pack(m.version, m.my_as, m.hold_time, m.bgp_id, 0)[:-1]
    if not m.extended_params and sum(2 + len(v) for _, v in params) <= 255:
        short = b"".join(bytes([t, len(v)]) + v for t, v in params)
        body = head + bytes([len(short)]) + short
    else:
        ext = b"".join(bytes([t]) + len(v).to_bytes(2, "big") + v for t, v in params)
        marker = bytes([255, OptParamType.EXTENDED_LENGTH])
        body = head + marker + len(ext).to_bytes(2, "big") + ext
    if HEADER_LEN + len(body) > MAX_MESSAGE_LEN:
        raise ValueError("OPEN message longer than 4096 octets")
    return _header(MsgType.OPEN, len(body)) + body


def encode_message(m: Message) -> bytes:
    """Encode any message to its wire bytes (header included)."""
    if isinstance(m, Keepalive):
        return _header(MsgType.KEEPALIVE, 0)
    if isinstance(m, Open):
        return encode_open(m)
    if isinstance(m, Notification):
        body = bytes([m.code, m.subcode]) + bytes(m.data)
    elif isinstance(m, RouteRefresh):
        body = _RR.pack(m.afi, m.subtype, m.safi)
    else:
        return _update.encode_update(
            withdrawn=m.withdrawn,
            withdrawn_ids=m.withdrawn_ids,
            attrs=m.attrs,
            nlri=m.nlri,
            nlri_ids=m.nlri_ids,
            mp_reach=m.mp_reach,
            mp_unreach=m.mp_unreach,
        )
    if HEADER_LEN + len(body) > MAX_EXTENDED_MESSAGE_LEN:
        raise ValueError("message longer than 65535 octets")
    mtype = MsgType.NOTIFICATION if isinstance(m, Notification) else MsgType.ROUTE_REFRESH
    return _header(mtype, len(body)) + body


# --------------------------------------------------------------------------------------
# Administrative Shutdown / Reset communication (RFC 8203, RFC 9003)
# --------------------------------------------------------------------------------------

_SHUTDOWN_SUBCODES = (CeaseSub.ADMINISTRATIVE_SHUTDOWN, CeaseSub.ADMINISTRATIVE_RESET)


def shutdown_message(n: Notification) -> str | None:
    """The operator's text of a Cease / Administrative Shutdown or Reset, else ``None``.

    The data is a length octet then that many octets of UTF-8 (RFC 9003: up to 255).
    ``None`` when the NOTIFICATION is not such a Cease, carries no data, the length
    overruns the data or the text is not valid UTF-8 (the raw data stays in ``n.data``).
    Octets after the communication are ignored.
    """
    if n.code != ErrorCode.CEASE or n.subcode not in _SHUTDOWN_SUBCODES or not n.data:
        return None
    size = n.data[0]
    if 1 + size > len(n.data):
        return None
    try:
        return bytes(n.data[1 : 1 + size]).decode("utf-8")
    except UnicodeDecodeError:
        return None


def make_shutdown_notification(subcode: int, text: str) -> Notification:
    """A Cease NOTIFICATION carrying ``text`` as its shutdown communication.

    The UTF-8 text is cut to 255 octets at a character boundary (RFC 9003).
    """
    raw = text.encode("utf-8")[:255]
    raw = raw.decode("utf-8", "ignore").encode("utf-8")
    return Notification(code=ErrorCode.CEASE, subcode=subcode, data=bytes([len(raw)]) + raw)
