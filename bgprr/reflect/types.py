"""Configuration, negotiated capabilities, events and counters of the reflection engine.

All are frozen, slotted, keyword-only dataclasses (events) or plain frozen records.
Families are ``(afi, safi)`` int tuples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bgprr.reflect.aspath import PrivateAs
from bgprr.rib.path import Path
from bgprr.wire.constants import Family


@dataclass(frozen=True, slots=True, kw_only=True)
class PrefixLimit:
    """Per neighbor and family: at most ``max`` paths in the Adj-RIB-In; a warning event
    when ``warn_pct`` percent is reached; ``restart_s`` is handed to the IO layer in the
    :class:`PeerReset` (idle time before reconnecting; 0 = do not reconnect by itself)."""

    max: int
    warn_pct: int = 90
    restart_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerSettings:
    """Configured neighbor. ``key`` is the neighbor address text; ``address`` the same as an
    int (best-path tie-break). ``cluster_id`` overrides the global cluster id for routes
    reflected to this neighbor (and joins the set of ids used for loop detection)."""

    key: str
    address: int
    asn: int
    ebgp: bool = False
    client: bool = False
    cluster_id: int | None = None
    families: frozenset[Family] = frozenset()
    addpath_send_max: Mapping[Family, int] = field(default_factory=dict)
    prefix_limits: Mapping[Family, PrefixLimit] = field(default_factory=dict)
    # GR helper: how long to wait for End-of-RIB after the restarted peer came back.
    stale_path_time: float = 360.0
    # LLGR helper: cap on the peer's advertised long-lived stale time (None: no cap).
    llgr_max_stale_time: float | None = None
    # The local AS of the session (0: the engine's); loop check and prepend use it.
    local_as: int = 0
    # GoBGP [neighbors.as-path-options.config]: accept paths holding the local AS up to
    # this many times; replace the neighbor's AS by ours on export (eBGP).
    allow_own_as: int = 0
    replace_peer_as: bool = False
    # GoBGP [neighbors.config] remove-private-as, on export to eBGP
    remove_private_as: PrivateAs = PrivateAs.NONE
    # RFC 7947 route-server client (GoBGP [neighbors.route-server.config])
    rs_client: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerCaps:
    """What the session negotiated (both sides' OPEN), given at Established.

    ``addpath_rx``: families in which the peer sends path ids; ``addpath_tx``: families in
    which we may send them. ``gr_restart_time`` None: the peer did not send the GR
    capability. ``gr_families``: families in its GR capability (empty: all ``families``);
    ``gr_forwarding``: those with the F bit (GR or LLGR). ``llgr``: family -> long-lived
    stale time from its LLGR capability; ``llgr_capable``: it sent the LLGR capability at
    all (Calico's BIRD sends it empty).
    """

    bgp_id: int
    as4: bool = True
    families: frozenset[Family] = frozenset()
    addpath_rx: frozenset[Family] = frozenset()
    addpath_tx: frozenset[Family] = frozenset()
    max_len: int = 4096
    route_refresh: bool = True
    enhanced_rr: bool = False
    gr_restart_time: float | None = None
    gr_families: frozenset[Family] = frozenset()
    gr_forwarding: frozenset[Family] = frozenset()
    gr_restarting: bool = False
    llgr: Mapping[Family, float] = field(default_factory=dict)
    llgr_capable: bool = False
    notification_gr: bool = False
    # our end of the TCP connection, packed (4 or 16 octets; b"" when unknown): the next
    # hop towards eBGP neighbors (RFC 4271 §5.1.3), PeerInfo.local_address
    local_address: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerCounters:
    received: int = 0  # prefixes announced by the peer (cumulative)
    withdrawn: int = 0  # prefixes withdrawn by the peer (cumulative)
    accepted: int = 0  # paths now in its Adj-RIB-In that the import policy accepts
    rejected: int = 0  # paths now in its Adj-RIB-In that the import policy rejects
    duplicates: int = 0  # announcements identical to the Adj-RIB-In (no output)
    looped: int = 0  # dropped: our ORIGINATOR_ID or one of our cluster ids (cumulative)
    as_loop: int = 0  # dropped: the local AS in AS_PATH beyond allow-own-as (cumulative)
    treat_as_withdraw: int = 0  # prefixes withdrawn by RFC 7606 treat-as-withdraw
    advertised: int = 0  # paths now in its Adj-RIB-Out (what it was sent)


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerReset:
    """The IO layer must send NOTIFICATION(code, subcode, data) and close the session,
    then call ``peer_down``; ``idle_s`` > 0: reconnect only after that long."""

    key: str
    code: int
    subcode: int
    data: bytes = b""
    reason: str = ""
    idle_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PrefixLimitWarning:
    key: str
    family: Family
    count: int
    max: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfRibSent:
    key: str
    family: Family


@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfRibReceived:
    key: str
    family: Family


@dataclass(frozen=True, slots=True, kw_only=True)
class BestPathChanged:
    """Only emitted when the ReflectionEngine was built with ``best_path_events=True``.

    ``multipath``: with ``multipath_events=True`` as well, the equal-cost paths of the
    prefix (:func:`bgprr.rib.path.equal_cost_paths`, ``best`` first), and the event is
    also emitted when that set changed while ``best`` stayed; otherwise empty.
    """

    family: Family
    key: int
    best: Path | None
    multipath: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StaleFlushed:
    key: str
    family: Family
    count: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SelectionDeferralEnded:
    """Restarting speaker: output starts now (``reason``: "eor" or "timer")."""

    reason: str


Event = (
    PeerReset
    | PrefixLimitWarning
    | EndOfRibSent
    | EndOfRibReceived
    | BestPathChanged
    | StaleFlushed
    | SelectionDeferralEnded
)
