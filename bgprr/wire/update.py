"""UPDATE messages (RFC 4271 §4.3, RFC 4760, RFC 7911) and their decoded form.

TYPES ONLY so far: the decoder/encoder are added by the codec work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import BGPError


@dataclass(frozen=True, slots=True, kw_only=True)
class MPReach:
    afi: int
    safi: int
    next_hop: bytes  # 4, 16 or 32 (global + link-local) bytes, as received
    nlri: list[int]  # prefix keys (see bgprr.wire.prefix)
    nlri_ids: list[int] | None = None  # ADD-PATH path identifiers, parallel to nlri


@dataclass(frozen=True, slots=True, kw_only=True)
class MPUnreach:
    afi: int
    safi: int
    withdrawn: list[int]
    withdrawn_ids: list[int] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Update:
    """A decoded UPDATE.

    ``attrs`` is the canonical raw path attribute block: attributes in received order,
    MP_REACH_NLRI / MP_UNREACH_NLRI removed, attributes discarded under RFC 7606 removed,
    and (from a 2-octet-AS peer) AS_PATH/AGGREGATOR rewritten to 4-octet form after the
    RFC 6793 AS4_PATH merge, AS4_* removed. It is the interning key of the path's attributes
    (with the next hop: classic NEXT_HOP is inside it, MP next hop is in ``mp_reach``).
    """

    withdrawn: list[int] = field(default_factory=list)  # IPv4 unicast prefix keys
    withdrawn_ids: list[int] | None = None
    attrs: bytes = b""
    nlri: list[int] = field(default_factory=list)  # IPv4 unicast prefix keys
    nlri_ids: list[int] | None = None
    mp_reach: MPReach | None = None
    mp_unreach: MPUnreach | None = None
    # Non-fatal RFC 7606 errors found (attribute discard, treat-as-withdraw, AFI/SAFI disable).
    errors: tuple[BGPError, ...] = ()
    # True when every announced prefix (nlri and mp_reach) must be handled as withdrawn.
    treat_as_withdraw: bool = False
