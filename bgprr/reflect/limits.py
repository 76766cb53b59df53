"""Per neighbor and family prefix limits (RFC 4486 Cease / Maximum Number of Prefixes
Reached, with its data: AFI (2 octets), SAFI (1), the limit (4))."""

from __future__ import annotations

from bgprr.reflect.types import PeerReset, PrefixLimit, PrefixLimitWarning
from bgprr.wire.constants import Family
from bgprr.wire.errors import CeaseSub, ErrorCode


def check_limit(
    key: str, fam: Family, limit: PrefixLimit, count: int, warned: set[Family]
) -> PeerReset | PrefixLimitWarning | None:
    """The event due now that the neighbor holds ``count`` paths of ``fam``: a reset when
    the limit is exceeded, a warning once when ``warn_pct`` of it is reached (again after
    the count went back below). ``warned`` is the neighbor's set of warned families."""
    if count > limit.max:
        afi, safi = fam
        return PeerReset(
            key=key,
            code=ErrorCode.CEASE,
            subcode=CeaseSub.MAXIMUM_PREFIXES_REACHED,
            data=afi.to_bytes(2, "big") + bytes((safi,)) + limit.max.to_bytes(4, "big"),
            reason=f"prefix limit {limit.max} exceeded ({count})",
            idle_s=limit.restart_s,
        )
    if count * 100 >= limit.max * limit.warn_pct:
        if fam not in warned:
            warned.add(fam)
            return PrefixLimitWarning(key=key, family=fam, count=count, max=limit.max)
        return None
    warned.discard(fam)
    return None
