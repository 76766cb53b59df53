"""Pure conversions: configuration -> session / engine settings, negotiation -> engine caps."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from bgprr.config import Config, DynamicNeighbor, Neighbor, dynamic_member
from bgprr.reflect.aspath import PrivateAs
from bgprr.reflect.types import PeerCaps, PeerSettings, PrefixLimit
from bgprr.session import GracefulRestartConfig, Negotiated, SessionConfig, build_open
from bgprr.wire.constants import AddPathMode
from bgprr.wire.messages import Open, encode_message

from .outbound import SocketSettings

#: Seconds an inbound connection from a dynamic range may stay silent (no OPEN, no byte)
#: before it is dropped with Hold Timer Expired; RFC 4271 §8.2.2's 4 minutes apply once
#: the first bytes arrive. We send our OPEN as soon as the connection is up, so a BGP
#: speaker (even one using DelayOpen) answers within a round trip; 15 s also covers six
#: TCP retransmissions of a lost OPEN segment (0.2 + 0.4 + ... + 6.4 s).
SILENT_OPEN_TIME = 15.0


def ip_int(address: str) -> int:
    return int(ipaddress.ip_address(address))


def listener_md5_keys(config: Config) -> list[tuple[str, str, bool]]:
    """TCP-MD5 keys for the listening sockets: (address, password, False) per neighbor
    with a password, (prefix, password, True) per dynamic-neighbor range whose peer group
    has one (a prefix key, Linux TCP_MD5SIG_EXT)."""
    keys: list[tuple[str, str, bool]] = [
        (n.address, n.auth_password, False) for n in config.neighbors if n.auth_password
    ]
    for dyn in config.dynamic_neighbors:
        group = config.peer_group(dyn.peer_group)
        password = group.get("config.auth-password") if group is not None else None
        if isinstance(password, str) and password:
            keys.append((dyn.prefix, password, True))
    return keys


@dataclass(frozen=True, slots=True)
class RangeHello:
    """What every member of a dynamic range gets before it is a neighbor: the session
    settings of the range's peer group, our OPEN and its bytes (bgprr.io.pending)."""

    config: SessionConfig
    local: Open
    open_bytes: bytes


def range_hello(config: Config, entry: DynamicNeighbor, *, restarting: bool) -> RangeHello | None:
    """The :class:`RangeHello` of the dynamic range ``entry`` (from its peer group: the same
    for every member); None if the range has no peer group."""
    net = ipaddress.ip_network(entry.prefix)
    n = dynamic_member(config, entry, str(net.network_address))
    if n is None:
        return None
    cfg = session_config(config, n, restarting=restarting)
    local = build_open(cfg)
    return RangeHello(cfg, local, encode_message(local))


def session_config(config: Config, n: Neighbor, *, restarting: bool) -> SessionConfig:
    """The session settings of neighbor ``n``.

    ``restarting``: bgprr was started with ``-r``; the GR capability then carries the R bit
    and the F bit for every family, so that helpers keep our routes until our End-of-RIB.
    """
    families = n.enabled_families
    gr = n.graceful_restart
    gr_cfg: GracefulRestartConfig | None = None
    llgr: dict[tuple[int, int], int] | None = None
    if gr.enabled:
        gr_cfg = GracefulRestartConfig(
            restart_time=min(gr.restart_time, 0x0FFF),
            restarting=restarting,
            notification=gr.notification_enabled,
            forwarding=frozenset(families) if restarting else frozenset(),
        )
        if gr.long_lived_enabled:
            llgr = {
                f.family: f.llgr_restart_time for f in n.families if f.enabled and f.llgr_enabled
            }
    add_path: dict[tuple[int, int], int] = {}
    for f in n.families:
        if not f.enabled:
            continue
        mode = 0
        if f.add_paths_receive:
            mode |= AddPathMode.RECEIVE
        if f.add_paths_send_max > 0:
            mode |= AddPathMode.SEND
        if mode:
            add_path[f.family] = mode
    return SessionConfig(
        local_as=n.local_as,
        peer_as=n.peer_as,
        router_id=ip_int(config.global_.router_id),
        hold_time=n.hold_time,
        keepalive_interval=int(n.keepalive_interval),
        connect_retry=n.connect_retry,
        idle_hold_time=n.idle_hold_time_after_reset,
        send_hold_time=n.send_hold_time,
        silent_open_time=SILENT_OPEN_TIME if n.dynamic else None,
        passive=n.passive or n.dynamic,
        families=families,
        graceful_restart=gr_cfg,
        llgr=llgr,
        add_path=add_path,
    )


def peer_settings(config: Config, n: Neighbor) -> PeerSettings:
    limits = {
        f.family: PrefixLimit(
            max=f.prefix_limit.max_prefixes,
            warn_pct=f.prefix_limit.shutdown_threshold_pct or 100,
            restart_s=f.prefix_limit.restart_timer,
        )
        for f in n.families
        if f.enabled and f.prefix_limit is not None
    }
    return PeerSettings(
        key=n.address,
        address=ip_int(n.address),
        asn=n.peer_as,
        ebgp=not n.is_ibgp,
        client=n.rr_client,
        cluster_id=ip_int(n.cluster_id) if n.cluster_id else None,
        families=frozenset(n.enabled_families),
        addpath_send_max={
            f.family: f.add_paths_send_max
            for f in n.families
            if f.enabled and f.add_paths_send_max > 0
        },
        prefix_limits=limits,
        local_as=n.local_as,
        allow_own_as=n.allow_own_as,
        replace_peer_as=n.replace_peer_as,
        remove_private_as=_PRIVATE_AS[n.remove_private_as],
        rs_client=n.rs_client,
    )


_PRIVATE_AS = {"": PrivateAs.NONE, "all": PrivateAs.ALL, "replace": PrivateAs.REPLACE}


def peer_caps(neg: Negotiated, *, local_address: bytes = b"") -> PeerCaps:
    """The engine's view of a negotiated session; ``local_address``: our end, packed."""
    gr = neg.peer_gr
    llgr = neg.peer_llgr
    gr_families: frozenset[tuple[int, int]] = frozenset()
    forwarding: set[tuple[int, int]] = set()
    if gr is not None:
        gr_families = frozenset((f.afi, f.safi) for f in gr.families)
        forwarding.update((f.afi, f.safi) for f in gr.families if f.forwarding)
    llgr_times: dict[tuple[int, int], float] = {}
    if llgr is not None:
        for lf in llgr.families:
            llgr_times[(lf.afi, lf.safi)] = float(lf.stale_time)
            if lf.forwarding:
                forwarding.add((lf.afi, lf.safi))
    return PeerCaps(
        bgp_id=neg.peer_id,
        as4=neg.as4,
        families=neg.families,
        addpath_rx=neg.addpath_rx,
        addpath_tx=neg.addpath_tx,
        max_len=neg.max_len,
        route_refresh=neg.route_refresh,
        enhanced_rr=neg.enhanced_route_refresh,
        gr_restart_time=float(gr.time) if gr is not None else None,
        gr_families=gr_families,
        gr_forwarding=frozenset(forwarding),
        gr_restarting=gr.restart if gr is not None else False,
        llgr=llgr_times,
        llgr_capable=llgr is not None,
        notification_gr=neg.gr_notification,
        local_address=local_address,
    )


def socket_settings(n: Neighbor) -> SocketSettings:
    return SocketSettings(
        address=n.address,
        port=n.remote_port,
        local_address=n.local_address if n.local_address not in ("", "0.0.0.0", "::") else None,
        password=n.auth_password or None,
        ttl=n.multihop_ttl if n.multihop_ttl is not None else n.ttl,
        min_ttl=n.ttl_security_min,
    )


def gr_enabled(config: Config) -> bool:
    return any(n.graceful_restart.enabled for n in config.neighbors) or any(
        _group_gr(config, g.name) for g in config.peer_groups
    )


def _group_gr(config: Config, name: str) -> bool:
    group = config.peer_group(name)
    if group is None:
        return False
    value = group.get("graceful-restart.config.enabled")
    return bool(value)


def deferral_time(config: Config) -> float:
    """The selection deferral of a restarting speaker: the shortest configured one, over
    static neighbors and the peer groups of dynamic neighbors (GoBGP's default 360 s)."""
    times = [
        float(n.graceful_restart.deferral_time)
        for n in config.neighbors
        if n.graceful_restart.enabled
    ]
    for g in config.peer_groups:
        if _group_gr(config, g.name):
            value = g.get("graceful-restart.config.deferral-time")
            times.append(float(value) if isinstance(value, (int, float)) else 360.0)
    return min(times) if times else 360.0


def reflector_cluster_id(config: Config) -> str:
    """The cluster id of this reflector, used towards neighbors that set none (non-clients).

    GoBGP configures ``route-reflector-cluster-id`` on the client neighbors only; a route
    reflected from a client to a non-client must still carry that cluster id (RFC 4456: it
    identifies the reflector's cluster), not the router id. So: the cluster id the clients
    (and client peer groups) agree on; the router id when none is set, or when they name
    several (each client then gets its own, and non-clients the router id).
    """
    ids = {n.cluster_id for n in config.neighbors if n.rr_client and n.cluster_id}
    for g in config.peer_groups:
        value = g.get("route-reflector.config.route-reflector-cluster-id")
        if isinstance(value, str) and g.get("route-reflector.config.route-reflector-client"):
            ids.add(value)
    if len(ids) == 1:
        return ids.pop()
    return config.global_.router_id
