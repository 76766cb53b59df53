"""BGP message types (RFC 4271 §4) as frozen, slotted dataclasses.

TYPES ONLY so far: ``decode_message`` / ``encode_message`` and the framer are added
by the messages work. ``Update`` lives in :mod:`bgprr.wire.update`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .capabilities import Capability


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
