"""Per-session export parameters: the update-group key of a neighbor in a family, the
next hop we put towards eBGP neighbors, and the :class:`~bgprr.policy.types.PeerInfo`
a policy sees.

The local address (our end of the TCP connection, packed, from
:attr:`PeerCaps.local_address`) becomes the next hop in the family's form: as it is for
the family of its own version, IPv4-mapped (``::ffff:a.b.c.d``, as FRR and BIRD send
it) for IPv6 routes over an IPv4 session. IPv4 routes over an IPv6 session keep their
next hop (an IPv6 next hop for IPv4 needs RFC 8950, not negotiated by bgprr).
"""

from __future__ import annotations

from bgprr.policy.types import PeerInfo
from bgprr.reflect.aspath import PrivateAs
from bgprr.reflect.export import GroupKey
from bgprr.reflect.types import PeerCaps, PeerSettings
from bgprr.wire.constants import Family

__all__ = ["group_key", "peer_info", "session_next_hop"]

_V4_MAPPED = b"\0" * 10 + b"\xff\xff"


def session_next_hop(local_address: bytes, family: Family) -> bytes:
    """Our session address as a next hop of ``family`` (b"" when it cannot be one)."""
    if family[0] == 1:
        return local_address if len(local_address) == 4 else b""
    if len(local_address) == 16:
        return local_address
    if len(local_address) == 4:
        return _V4_MAPPED + local_address
    return b""


def group_key(
    s: PeerSettings,
    caps: PeerCaps,
    fam: Family,
    *,
    cluster_id: int,
    local_as: int,
    export: tuple[object, ...] = (),
    loop_check: bool = False,
) -> GroupKey:
    """The update-group key of neighbor ``s`` in family ``fam`` (see :class:`GroupKey`).
    ``cluster_id``/``local_as``: the engine's defaults; ``export``: the export chain's
    identity; ``loop_check``: some path may hold the local AS (the iBGP check is on)."""
    ebgp = s.ebgp
    rs = s.rs_client
    return GroupKey(
        family=fam,
        ebgp=ebgp,
        client=s.client and not ebgp,
        as4=caps.as4,
        addpath=s.addpath_send_max.get(fam, 0) if fam in caps.addpath_tx else 0,
        max_len=caps.max_len,
        cluster_id=0 if ebgp else (s.cluster_id or cluster_id),
        llgr=caps.llgr_capable or bool(caps.llgr),
        peer_as=s.asn if ebgp or rs else 0,
        local_as=(s.local_as or local_as) if ebgp else 0,
        remove_private=s.remove_private_as if ebgp and not rs else PrivateAs.NONE,
        replace_peer_as=s.replace_peer_as and ebgp and not rs,
        rs_client=rs,
        next_hop=session_next_hop(caps.local_address, fam) if ebgp and not rs else b"",
        export=export,
        loop_as=s.asn if loop_check and not ebgp and not rs else 0,
    )


def peer_info(s: PeerSettings, caps: PeerCaps | None, *, local_as: int) -> PeerInfo:
    """The neighbor as a policy sees it (``local_address`` 0 before Established)."""
    local = caps.local_address if caps is not None else b""
    return PeerInfo(
        key=s.key,
        address=s.address,
        asn=s.asn,
        local_as=s.local_as or local_as,
        router_id=caps.bgp_id if caps is not None else 0,
        local_address=int.from_bytes(local, "big") if local else 0,
        ebgp=s.ebgp,
        route_server_client=s.rs_client,
    )
