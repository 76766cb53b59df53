"""BGP capabilities (RFC 5492) as frozen dataclasses.

The codec (``decode_capabilities`` / ``encode_capability``) follows the definitions.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from .constants import CapCode
from .errors import BGPError, ErrorCode, OpenSub


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiProtocol:  # RFC 4760, code 1
    afi: int
    safi: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRefreshCap:  # RFC 2918, code 2
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtendedNextHopEntry:
    afi: int
    safi: int
    nexthop_afi: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtendedNextHop:  # RFC 8950, code 5
    entries: tuple[ExtendedNextHopEntry, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtendedMessage:  # RFC 8654, code 6
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class GracefulRestartFamily:
    afi: int
    safi: int
    forwarding: bool  # F bit: forwarding state preserved


@dataclass(frozen=True, slots=True, kw_only=True)
class GracefulRestart:  # RFC 4724 (+ RFC 8538 N bit), code 64
    restart: bool  # R bit
    notification: bool  # N bit (RFC 8538)
    time: int  # restart time, seconds (12 bits)
    families: tuple[GracefulRestartFamily, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FourOctetAS:  # RFC 6793, code 65
    asn: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AddPathFamily:
    afi: int
    safi: int
    mode: int  # AddPathMode: 1 receive, 2 send, 3 both


@dataclass(frozen=True, slots=True, kw_only=True)
class AddPath:  # RFC 7911, code 69
    families: tuple[AddPathFamily, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnhancedRouteRefresh:  # RFC 7313, code 70
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class LLGRFamily:
    afi: int
    safi: int
    forwarding: bool  # F bit
    stale_time: int  # seconds (24 bits)


@dataclass(frozen=True, slots=True, kw_only=True)
class LongLivedGracefulRestart:  # RFC 9494, code 71 (may be empty, as Calico's BIRD sends)
    families: tuple[LLGRFamily, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FQDN:  # code 73
    hostname: str
    domain: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownCapability:
    code: int
    data: bytes


Capability = (
    MultiProtocol
    | RouteRefreshCap
    | ExtendedNextHop
    | ExtendedMessage
    | GracefulRestart
    | FourOctetAS
    | AddPath
    | EnhancedRouteRefresh
    | LongLivedGracefulRestart
    | FQDN
    | UnknownCapability
)


# --------------------------------------------------------------------------------------
# Codec (RFC 5492 capability TLVs: code octet, length octet, value)
#
# Error policy (documented in docs/decode.md): a capability this module knows whose value
# is structurally wrong (bad length, reserved Send/Receive value, ...) would make session
# negotiation guess, so it raises OPEN Message Error / Unspecific (2/0), as BIRD does.
# The FQDN capability is informational only: when malformed (bad inner lengths, invalid
# UTF-8) it is kept raw as an UnknownCapability(code=73) and the session goes on.
# Unknown codes (including Cisco's pre-standard route refresh, 128) are kept raw.
# --------------------------------------------------------------------------------------

Buffer = bytes | bytearray | memoryview

_H = struct.Struct("!H")
_HBB = struct.Struct("!HBB")
_HHH = struct.Struct("!HHH")


class _Malformed(Exception):
    """Internal: a known capability's value is malformed; ``reason`` explains."""


def _zero_length(value: bytes, cls: Callable[[], Capability]) -> Capability:
    if value:
        raise _Malformed("must be empty")
    return cls()


def _dec_mp(value: bytes) -> Capability:
    if len(value) != 4:
        raise _Malformed(f"length {len(value)}, expected 4")
    afi, _reserved, safi = _HBB.unpack_from(value, 0)
    return MultiProtocol(afi=afi, safi=safi)


def _dec_rr(value: bytes) -> Capability:
    return _zero_length(value, RouteRefreshCap)


def _dec_err(value: bytes) -> Capability:
    return _zero_length(value, EnhancedRouteRefresh)


def _dec_extmsg(value: bytes) -> Capability:
    return _zero_length(value, ExtendedMessage)


def _dec_enh(value: bytes) -> Capability:
    if len(value) % 6:
        raise _Malformed(f"length {len(value)} is not a multiple of 6")
    entries = tuple(
        ExtendedNextHopEntry(afi=a, safi=s, nexthop_afi=n)
        for a, s, n in (_HHH.unpack_from(value, i) for i in range(0, len(value), 6))
    )
    return ExtendedNextHop(entries=entries)


def _dec_gr(value: bytes) -> Capability:
    if len(value) < 2 or (len(value) - 2) % 4:
        raise _Malformed(f"length {len(value)} is not 2 + 4n")
    head = _H.unpack_from(value, 0)[0]
    fams = []
    for i in range(2, len(value), 4):
        afi, safi, flags = _HBB.unpack_from(value, i)
        fams.append(GracefulRestartFamily(afi=afi, safi=safi, forwarding=bool(flags & 0x80)))
    return GracefulRestart(
        restart=bool(head & 0x8000),
        notification=bool(head & 0x4000),
        time=head & 0x0FFF,
        families=tuple(fams),
    )


def _dec_as4(value: bytes) -> Capability:
    if len(value) != 4:
        raise _Malformed(f"length {len(value)}, expected 4")
    return FourOctetAS(asn=int.from_bytes(value, "big"))


def _dec_addpath(value: bytes) -> Capability:
    if len(value) % 4:
        raise _Malformed(f"length {len(value)} is not a multiple of 4")
    fams = []
    for i in range(0, len(value), 4):
        afi, safi, mode = _HBB.unpack_from(value, i)
        if mode not in (1, 2, 3):
            raise _Malformed(f"Send/Receive value {mode} is not 1, 2 or 3")
        fams.append(AddPathFamily(afi=afi, safi=safi, mode=mode))
    return AddPath(families=tuple(fams))


def _dec_llgr(value: bytes) -> Capability:
    if len(value) % 7:
        raise _Malformed(f"length {len(value)} is not a multiple of 7")
    fams = []
    for i in range(0, len(value), 7):
        afi, safi, flags = _HBB.unpack_from(value, i)
        stale = int.from_bytes(value[i + 4 : i + 7], "big")
        fams.append(LLGRFamily(afi=afi, safi=safi, forwarding=bool(flags & 0x80), stale_time=stale))
    return LongLivedGracefulRestart(families=tuple(fams))


def _dec_fqdn(value: bytes) -> Capability:
    try:
        hlen = value[0]
        host = value[1 : 1 + hlen]
        dlen = value[1 + hlen]
        dom = value[2 + hlen : 2 + hlen + dlen]
        if len(host) != hlen or len(dom) != dlen or 2 + hlen + dlen != len(value):
            raise IndexError
        return FQDN(hostname=host.decode("utf-8"), domain=dom.decode("utf-8"))
    except (IndexError, UnicodeDecodeError):
        return UnknownCapability(code=CapCode.FQDN, data=value)


_DECODERS: dict[int, Callable[[bytes], Capability]] = {
    CapCode.MULTIPROTOCOL: _dec_mp,
    CapCode.ROUTE_REFRESH: _dec_rr,
    CapCode.EXTENDED_NEXT_HOP: _dec_enh,
    CapCode.EXTENDED_MESSAGE: _dec_extmsg,
    CapCode.GRACEFUL_RESTART: _dec_gr,
    CapCode.FOUR_OCTET_AS: _dec_as4,
    CapCode.ADD_PATH: _dec_addpath,
    CapCode.ENHANCED_ROUTE_REFRESH: _dec_err,
    CapCode.LONG_LIVED_GRACEFUL_RESTART: _dec_llgr,
    CapCode.FQDN: _dec_fqdn,
}


def decode_capability(code: int, value: bytes) -> Capability:
    """Decode one capability value; raises ``ValueError`` naming the problem if malformed."""
    dec = _DECODERS.get(code)
    if dec is None:
        return UnknownCapability(code=code, data=bytes(value))
    try:
        return dec(bytes(value))
    except _Malformed as exc:
        raise ValueError(str(exc)) from None


def decode_capabilities(
    buf: Buffer, off: int, end: int, *, base: int = 0
) -> tuple[Capability, ...]:
    """Decode the capability TLVs in ``buf[off:end]`` (the value of one type-2 parameter).

    ``base`` is the offset of ``buf[0]`` from the start of the BGP message, used for the
    ``offset`` of a raised :class:`BGPError` (OPEN Message Error / Unspecific, 2/0).
    """
    caps: list[Capability] = []
    view = memoryview(buf)
    i = off
    while i < end:
        if i + 2 > end:
            raise BGPError(
                ErrorCode.OPEN_MESSAGE,
                OpenSub.UNSPECIFIC,
                offset=base + i,
                reason="truncated capability header",
            )
        code = view[i]
        clen = view[i + 1]
        if i + 2 + clen > end:
            raise BGPError(
                ErrorCode.OPEN_MESSAGE,
                OpenSub.UNSPECIFIC,
                offset=base + i + 1,
                reason=f"capability {code} length {clen} overruns its optional parameter",
            )
        value = bytes(view[i + 2 : i + 2 + clen])
        try:
            caps.append(decode_capability(code, value))
        except ValueError as exc:
            raise BGPError(
                ErrorCode.OPEN_MESSAGE,
                OpenSub.UNSPECIFIC,
                offset=base + i,
                reason=f"malformed capability {capability_name(code)} ({code}): {exc}",
            ) from None
        i += 2 + clen
    return tuple(caps)


def capability_code(cap: Capability) -> int:
    """The RFC 5492 capability code of ``cap``."""
    if isinstance(cap, UnknownCapability):
        return cap.code
    return _CODES[type(cap)]


_CODES: dict[type, int] = {
    MultiProtocol: CapCode.MULTIPROTOCOL,
    RouteRefreshCap: CapCode.ROUTE_REFRESH,
    ExtendedNextHop: CapCode.EXTENDED_NEXT_HOP,
    ExtendedMessage: CapCode.EXTENDED_MESSAGE,
    GracefulRestart: CapCode.GRACEFUL_RESTART,
    FourOctetAS: CapCode.FOUR_OCTET_AS,
    AddPath: CapCode.ADD_PATH,
    EnhancedRouteRefresh: CapCode.ENHANCED_ROUTE_REFRESH,
    LongLivedGracefulRestart: CapCode.LONG_LIVED_GRACEFUL_RESTART,
    FQDN: CapCode.FQDN,
}

_NAMES: dict[int, str] = {
    CapCode.MULTIPROTOCOL: "multiprotocol",
    CapCode.ROUTE_REFRESH: "route-refresh",
    CapCode.EXTENDED_NEXT_HOP: "extended-next-hop",
    CapCode.EXTENDED_MESSAGE: "extended-message",
    CapCode.GRACEFUL_RESTART: "graceful-restart",
    CapCode.FOUR_OCTET_AS: "four-octet-as",
    CapCode.ADD_PATH: "add-path",
    CapCode.ENHANCED_ROUTE_REFRESH: "enhanced-route-refresh",
    CapCode.LONG_LIVED_GRACEFUL_RESTART: "long-lived-graceful-restart",
    CapCode.FQDN: "fqdn",
    128: "route-refresh-cisco",
}


def capability_name(code: int) -> str:
    """Stable lower-case name of a capability code (``"unknown-<code>"`` if unnamed)."""
    return _NAMES.get(code, f"unknown-{code}")


def _enc_value(cap: Capability) -> bytes:
    if isinstance(cap, MultiProtocol):
        return _HBB.pack(cap.afi, 0, cap.safi)
    if isinstance(cap, RouteRefreshCap | EnhancedRouteRefresh | ExtendedMessage):
        return b""
    if isinstance(cap, ExtendedNextHop):
        return b"".join(_HHH.pack(e.afi, e.safi, e.nexthop_afi) for e in cap.entries)
    if isinstance(cap, GracefulRestart):
        head = (cap.time & 0x0FFF) | (0x8000 if cap.restart else 0)
        head |= 0x4000 if cap.notification else 0
        return _H.pack(head) + b"".join(
            _HBB.pack(f.afi, f.safi, 0x80 if f.forwarding else 0) for f in cap.families
        )
    if isinstance(cap, FourOctetAS):
        return cap.asn.to_bytes(4, "big")
    if isinstance(cap, AddPath):
        return b"".join(_HBB.pack(f.afi, f.safi, f.mode) for f in cap.families)
    if isinstance(cap, LongLivedGracefulRestart):
        return b"".join(
            _HBB.pack(f.afi, f.safi, 0x80 if f.forwarding else 0) + f.stale_time.to_bytes(3, "big")
            for f in cap.families
        )
    if isinstance(cap, FQDN):
        host = cap.hostname.encode("utf-8")
        dom = cap.domain.encode("utf-8")
        if len(host) > 255 or len(dom) > 255:
            raise ValueError("FQDN hostname and domain are limited to 255 octets each")
        return bytes([len(host)]) + host + bytes([len(dom)]) + dom
    return bytes(cap.data)


def encode_capability(cap: Capability) -> bytes:
    """Encode one capability as its TLV (code, length, value)."""
    value = _enc_value(cap)
    if len(value) > 255:
        raise ValueError(f"capability value of {len(value)} octets does not fit in one TLV")
    return bytes([capability_code(cap), len(value)]) + value
