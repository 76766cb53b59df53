"""The engine's state of one configured neighbor: settings, last capabilities, its
Adj-RIB-In, its update-group memberships and receive counters."""

from __future__ import annotations

from bgprr.reflect.types import PeerCaps, PeerSettings
from bgprr.reflect.updategroup import Member
from bgprr.rib.adj import AdjRibIn
from bgprr.rib.path import Source
from bgprr.wire.constants import Family

__all__ = ["NeighborState", "RxCounters"]


class RxCounters:
    """Cumulative counts of what the neighbor sent (prefixes, not messages)."""

    __slots__ = (
        "as_loop",
        "duplicates",
        "looped",
        "received",
        "treat_as_withdraw",
        "withdrawn",
    )

    def __init__(self) -> None:
        self.received = 0  # announced
        self.withdrawn = 0  # withdrawn
        self.duplicates = 0  # announced identical to what its Adj-RIB-In holds
        self.looped = 0  # dropped: our ORIGINATOR_ID or one of our cluster ids
        self.as_loop = 0  # dropped: the local AS in AS_PATH (RFC 4271 §9.1.2)
        self.treat_as_withdraw = 0  # withdrawn by RFC 7606 treat-as-withdraw


class NeighborState:
    __slots__ = (
        "caps",
        "counts",
        "members",
        "ref",
        "refreshing",
        "reset_pending",
        "rib_in",
        "settings",
        "up",
        "warned",
    )

    def __init__(self, settings: PeerSettings, index: int) -> None:
        self.settings = settings
        self.ref = Source(
            key=settings.key,
            address=settings.address,
            asn=settings.asn,
            ebgp=settings.ebgp,
            client=settings.client,
            index=index,
        )
        self.caps: PeerCaps | None = None
        self.up = False
        self.reset_pending = False
        self.rib_in = AdjRibIn()
        self.members: dict[Family, Member] = {}
        self.warned: set[Family] = set()
        self.refreshing: set[Family] = set()  # BoRR received, EoRR not yet
        self.counts = RxCounters()
