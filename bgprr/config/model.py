"""The resolved configuration: frozen dataclasses, every default filled in.

A `Config` is what the rest of bgprr sees.  Peer-group values are already merged into
each `Neighbor`; nothing here needs the file any more.  Field names follow GoBGP's key
names (``hold-time`` -> ``hold_time``); docs/configuration.md documents each one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from bgprr.config.policy_model import ApplyPolicy, PolicyConfig

#: A value as written in the file, after type checking (lists become tuples).
Value = int | float | bool | str | tuple[str, ...]

#: Defaults of the bgprr keys that limit connections (docs/configuration.md).
DEFAULT_CONNECTION_RATE = 1000.0  # connections/s not from a configured neighbor
DEFAULT_CONNECTION_BURST = 20000
DEFAULT_MAX_SESSIONS = 20000  # dynamic neighbors per [[dynamic-neighbors]] range

#: Defaults of the bgprr keys of the kernel routing table (docs/kernel.md).
DEFAULT_KERNEL_TABLE = 254  # main
DEFAULT_KERNEL_PROTOCOL = 186  # "bgp" in iproute2's rt_protos
DEFAULT_KERNEL_METRIC = 20

#: Keys written under one table, as ``(relative key path, value)`` pairs sorted by key.
Settings = tuple[tuple[str, Value], ...]


def canonical_address(text: str) -> str | None:
    """The canonical spelling of an IP address, or None if ``text`` is not one.

    An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``, what a dual-stack listening
    socket reports for an IPv4 peer) is the IPv4 address it maps.
    """
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrefixLimit:
    """``[neighbors.afi-safis.prefix-limit.config]``; only present when max-prefixes > 0."""

    max_prefixes: int
    shutdown_threshold_pct: int
    restart_timer: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AfiSafi:
    """One ``[[neighbors.afi-safis]]`` entry (or the default family of the address)."""

    name: str
    afi: int
    safi: int
    enabled: bool
    mp_graceful_restart: bool
    llgr_enabled: bool
    llgr_restart_time: int
    add_paths_receive: bool
    add_paths_send_max: int
    prefix_limit: PrefixLimit | None

    @property
    def family(self) -> tuple[int, int]:
        return (self.afi, self.safi)


@dataclass(frozen=True, slots=True, kw_only=True)
class GracefulRestartConfig:
    """``[neighbors.graceful-restart.config]`` (RFC 4724, RFC 9494 long-lived)."""

    enabled: bool
    restart_time: int
    helper_only: bool
    deferral_time: int
    notification_enabled: bool
    long_lived_enabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalConfig:
    """``[global.config]``.  ``port == -1`` means: do not listen (GoBGP semantics).

    ``connection_rate`` / ``connection_burst`` (bgprr keys): a token bucket for accepted
    connections that do not come from a configured neighbor; a rate of 0 is no limit.
    ``malloc_trim`` (bgprr key): give the C heap's free memory back to the system once a
    connection flood has subsided (bgprr.io.daemon, docs/reliability.md)."""

    asn: int
    router_id: str
    port: int
    local_address_list: tuple[str, ...]
    connection_rate: float = DEFAULT_CONNECTION_RATE
    connection_burst: int = DEFAULT_CONNECTION_BURST
    malloc_trim: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelConfig:
    """Installing best routes into the host's kernel (docs/kernel.md).

    ``enabled``: GoBGP's ``[zebra.config] enabled``; ``table``, ``protocol``, ``metric``:
    the bgprr keys ``kernel-table``, ``kernel-protocol``, ``kernel-metric`` of that table;
    ``multipath``: GoBGP's ``[global.use-multiple-paths.config] enabled``."""

    enabled: bool = False
    table: int = DEFAULT_KERNEL_TABLE
    protocol: int = DEFAULT_KERNEL_PROTOCOL
    metric: int = DEFAULT_KERNEL_METRIC
    multipath: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Neighbor:
    """A fully resolved neighbor (peer-group values merged, defaults filled in)."""

    address: str
    peer_as: int
    local_as: int
    auth_password: str | None = field(repr=False)  # a secret: never in a repr or a log
    description: str
    admin_down: bool
    peer_group: str | None
    hold_time: int
    keepalive_interval: float
    connect_retry: float
    idle_hold_time_after_reset: float
    passive: bool
    local_address: str
    remote_port: int
    ttl: int | None
    multihop_ttl: int | None
    ttl_security_min: int | None
    rr_client: bool
    cluster_id: str | None
    families: tuple[AfiSafi, ...]
    graceful_restart: GracefulRestartConfig
    dynamic: bool = False
    # RFC 9687 (a bgprr key): None = max(480 s, 2 x hold time), 0 = no SendHoldTimer
    send_hold_time: float | None = None
    # [neighbors.as-path-options.config] allow-own-as / replace-peer-as
    allow_own_as: int = 0
    replace_peer_as: bool = False
    remove_private_as: str = ""  # [neighbors.config]: "", "all" or "replace"
    rs_client: bool = False  # [neighbors.route-server.config] route-server-client
    # [neighbors.apply-policy] (its own or its peer group's); None when not written.
    # gobgpd 3.10 applies it to route-server clients only (docs/policy.md).
    apply_policy: ApplyPolicy | None = None

    @property
    def afi(self) -> int:
        """1 for an IPv4 neighbor address, 2 for IPv6 (the transport family)."""
        return 1 if ipaddress.ip_address(self.address).version == 4 else 2

    @property
    def is_ibgp(self) -> bool:
        return self.peer_as == self.local_as

    def family(self, afi: int, safi: int) -> AfiSafi | None:
        """The configured entry for (afi, safi), enabled or not; None if not listed."""
        for fam in self.families:
            if fam.afi == afi and fam.safi == safi:
                return fam
        return None

    @property
    def enabled_families(self) -> tuple[tuple[int, int], ...]:
        return tuple(f.family for f in self.families if f.enabled)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class PeerGroup:
    """A ``[[peer-groups]]`` entry as written: members inherit every key they don't set."""

    name: str
    settings: Settings
    afi_safis: tuple[Settings, ...]
    apply_policy: ApplyPolicy | None = None  # its [peer-groups.apply-policy], parsed

    def __repr__(self) -> str:
        shown = tuple(
            (k, "********" if k.endswith("auth-password") else v) for k, v in self.settings
        )
        return f"PeerGroup(name={self.name!r}, settings={shown!r}, afi_safis={self.afi_safis!r})"

    def get(self, key: str) -> Value | None:
        for k, v in self.settings:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class DynamicNeighbor:
    """``[[dynamic-neighbors]]``: peers connecting from ``prefix`` use ``peer_group``;
    ``max_sessions`` (a bgprr key): at most this many dynamic neighbors of the range, and
    connections of it waiting for their OPEN (bgprr.io.pending), at once (0: no cap)."""

    prefix: str
    peer_group: str
    max_sessions: int = DEFAULT_MAX_SESSIONS


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    source: str
    global_: GlobalConfig
    neighbors: tuple[Neighbor, ...]
    peer_groups: tuple[PeerGroup, ...]
    dynamic_neighbors: tuple[DynamicNeighbor, ...]
    # [defined-sets], [[policy-definitions]], [global.apply-policy] (docs/policy.md)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    kernel: KernelConfig = KernelConfig()

    def neighbor(self, address: str) -> Neighbor | None:
        """The statically configured neighbor with this address (any spelling, also
        IPv4-mapped IPv6)."""
        canon = canonical_address(address)
        for n in self.neighbors:
            if n.address == canon:
                return n
        return None

    def peer_group(self, name: str) -> PeerGroup | None:
        for g in self.peer_groups:
            if g.name == name:
                return g
        return None

    def cluster_id_for(self, neighbor: Neighbor) -> str:
        """The cluster id used towards ``neighbor``: its own, else the router id."""
        return neighbor.cluster_id or self.global_.router_id
