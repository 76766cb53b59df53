"""BGP capabilities (RFC 5492) as frozen dataclasses.

TYPES ONLY so far: the codec (``decode_capabilities`` / ``encode_capability``) is added
below these definitions by the messages work.
"""

from __future__ import annotations

from dataclasses import dataclass


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
