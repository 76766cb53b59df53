"""From a checked `Walked` tree to the resolved `Config`: defaults, peer groups,
contradictions.

Defaults are GoBGP 3.10's (internal/pkg/config/default.go, checked against
``gobgpd -d``); docs/configuration.md lists them.  Peer-group inheritance follows
GoBGP's rule for files: a key written on the neighbor wins, even when it holds the zero
value; every key the neighbor does not write comes from its group; the ``afi-safis``
list is taken whole from the group when the neighbor lists none.
"""

from __future__ import annotations

import ipaddress
import json

from bgprr.config.errors import ConfigError
from bgprr.config.model import (
    DEFAULT_CONNECTION_BURST,
    DEFAULT_CONNECTION_RATE,
    DEFAULT_KERNEL_METRIC,
    DEFAULT_KERNEL_PROTOCOL,
    DEFAULT_KERNEL_TABLE,
    DEFAULT_MAX_SESSIONS,
    AfiSafi,
    Config,
    DynamicNeighbor,
    GlobalConfig,
    GracefulRestartConfig,
    KernelConfig,
    Neighbor,
    PeerGroup,
    PrefixLimit,
    Settings,
    Value,
)
from bgprr.config.policy_build import apply_policy_of, build_policy, check_apply_policy
from bgprr.config.policy_model import PolicyConfig
from bgprr.config.schema import FAMILIES, NOT_SUPPORTED
from bgprr.config.walk import Walked

DEFAULT_PORT = 179
DEFAULT_LOCAL_ADDRESS_LIST = ("0.0.0.0", "::")
DEFAULT_HOLD_TIME = 90
DEFAULT_CONNECT_RETRY = 120.0
DEFAULT_IDLE_HOLD_TIME_AFTER_RESET = 30.0
DEFAULT_DEFERRAL_TIME = 360
DEFAULT_TTL = 255  # multihop-ttl and ttl-min when enabled without a value
MAX_GR_RESTART_TIME = 4095  # 12 bits (RFC 4724)

MISSING = "required key is missing"


def q(text: str) -> str:
    return json.dumps(text)


class Leaves:
    """Typed access to the merged keys of one neighbor (its own over its group's)."""

    def __init__(self, items: dict[str, tuple[Value, str]], base: str, source: str) -> None:
        self._items = items
        self._base = base
        self.source = source

    def has(self, rel: str) -> bool:
        return rel in self._items

    def where(self, rel: str) -> str:
        item = self._items.get(rel)
        return item[1] if item is not None else f"{self._base}.{rel}"

    def error(self, rel: str, problem: str) -> ConfigError:
        return ConfigError(self.source, self.where(rel), problem)

    def raw(self, rel: str) -> Value | None:
        item = self._items.get(rel)
        return None if item is None else item[0]

    def int_(self, rel: str, default: int) -> int:
        value = self.raw(rel)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def float_(self, rel: str, default: float) -> float:
        value = self.raw(rel)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return default

    def bool_(self, rel: str, default: bool) -> bool:
        value = self.raw(rel)
        return value if isinstance(value, bool) else default

    def str_(self, rel: str) -> str | None:
        value = self.raw(rel)
        return value if isinstance(value, str) else None


# --------------------------------------------------------------------------------------


def build_config(root: Walked, source: str) -> Config:
    global_ = _build_global(root, source)
    policy = build_policy(root, source)
    groups = _build_groups(root, source, policy)
    neighbors: list[Neighbor] = []
    seen: dict[str, str] = {}
    for item in root.arrays.get("neighbors", []):
        neighbor = _static_neighbor(item, groups, global_, source, policy)
        where = item.where("config.neighbor-address")
        if neighbor.address in seen:
            raise ConfigError(
                source,
                where,
                f"duplicate neighbor {q(neighbor.address)} (also {seen[neighbor.address]})",
            )
        seen[neighbor.address] = item.keypath
        neighbors.append(neighbor)
    dynamics = _build_dynamic(root, groups, global_, source)
    if global_.port == -1:
        _check_not_listening(root, neighbors, dynamics, source)
    return Config(
        source=source,
        global_=global_,
        neighbors=tuple(neighbors),
        peer_groups=tuple(group for group, _ in groups.values()),
        dynamic_neighbors=dynamics,
        policy=policy,
        kernel=_build_kernel(root),
    )


def _build_kernel(root: Walked) -> KernelConfig:
    """``[zebra.config]`` (GoBGP's switch, bgprr's kernel-* keys) and GoBGP's global
    multipath switch (docs/kernel.md)."""
    enabled = root.value("zebra.config.enabled")
    table = root.value("zebra.config.kernel-table")
    protocol = root.value("zebra.config.kernel-protocol")
    metric = root.value("zebra.config.kernel-metric")
    multipath = root.value("global.use-multiple-paths.config.enabled")
    return KernelConfig(
        enabled=enabled is True,
        table=table if isinstance(table, int) else DEFAULT_KERNEL_TABLE,
        protocol=protocol if isinstance(protocol, int) else DEFAULT_KERNEL_PROTOCOL,
        metric=metric if isinstance(metric, int) else DEFAULT_KERNEL_METRIC,
        multipath=multipath is True,
    )


def _check_not_listening(
    root: Walked, neighbors: list[Neighbor], dynamics: tuple[DynamicNeighbor, ...], source: str
) -> None:
    """port = -1 (do not listen) leaves passive and dynamic neighbors no way in."""
    if dynamics:
        who = "dynamic-neighbors[0], which can only connect in"
    else:
        index = next((i for i, n in enumerate(neighbors) if n.passive), None)
        if index is None:
            return
        who = f"neighbors[{index}], which is passive"
    raise ConfigError(
        source, "global.config.port", f"port -1 (do not listen) leaves no way in for {who}"
    )


def _build_global(root: Walked, source: str) -> GlobalConfig:
    asn = root.value("global.config.as")
    if not isinstance(asn, int):
        raise ConfigError(source, "global.config.as", MISSING)
    router_id = root.value("global.config.router-id")
    if not isinstance(router_id, str):
        raise ConfigError(source, "global.config.router-id", MISSING)
    port = root.value("global.config.port")
    addresses = root.value("global.config.local-address-list")
    written = root.value("global.config.connection-rate")
    rate = written if isinstance(written, float) else DEFAULT_CONNECTION_RATE
    burst = root.value("global.config.connection-burst")
    trim = root.value("global.config.malloc-trim")
    if rate > 0 and burst == 0:
        raise ConfigError(
            source,
            "global.config.connection-burst",
            f"0 admits no connection at all at connection-rate {_num(rate)} "
            "(connection-rate = 0 turns the limit off)",
        )
    return GlobalConfig(
        asn=asn,
        router_id=router_id,
        port=port if isinstance(port, int) else DEFAULT_PORT,
        local_address_list=addresses
        if isinstance(addresses, tuple)
        else DEFAULT_LOCAL_ADDRESS_LIST,
        connection_rate=rate,
        connection_burst=burst if isinstance(burst, int) else DEFAULT_CONNECTION_BURST,
        malloc_trim=trim if isinstance(trim, bool) else True,
    )


def _settings(item: Walked) -> Settings:
    # Sorted: equal configurations compare equal whatever the key order in the file.
    return tuple(sorted((rel, value) for rel, (value, _) in item.leaves.items()))


def _build_groups(
    root: Walked, source: str, policy: PolicyConfig
) -> dict[str, tuple[PeerGroup, Walked]]:
    groups: dict[str, tuple[PeerGroup, Walked]] = {}
    for item in root.arrays.get("peer-groups", []):
        name = item.value("config.peer-group-name")
        where = item.where("config.peer-group-name")
        if not isinstance(name, str) or not name:
            raise ConfigError(source, where, MISSING)
        if name in groups:
            raise ConfigError(
                source, where, f"duplicate peer group {q(name)} (also {groups[name][1].keypath})"
            )
        leaves = Leaves(dict(item.leaves), item.keypath, source)
        apply = apply_policy_of(leaves.raw, leaves.where, source)
        if apply is not None:
            check_apply_policy(apply, policy, leaves.where, source)
        group = PeerGroup(
            name=name,
            settings=_settings(item),
            afi_safis=tuple(_settings(a) for a in item.arrays.get("afi-safis", [])),
            apply_policy=apply,
        )
        groups[name] = (group, item)
    return groups


def _static_neighbor(
    item: Walked,
    groups: dict[str, tuple[PeerGroup, Walked]],
    global_: GlobalConfig,
    source: str,
    policy: PolicyConfig,
) -> Neighbor:
    address = item.value("config.neighbor-address")
    if not isinstance(address, str):
        raise ConfigError(source, item.where("config.neighbor-address"), MISSING)
    group_name = item.value("config.peer-group")
    merged: dict[str, tuple[Value, str]] = {}
    afis = item.arrays.get("afi-safis", [])
    if isinstance(group_name, str) and group_name:
        found = groups.get(group_name)
        if found is None:
            raise ConfigError(
                source, item.where("config.peer-group"), f"no such peer group {q(group_name)}"
            )
        group_item = found[1]
        merged.update(group_item.leaves)
        merged.pop("config.peer-group-name", None)
        own_as = item.value("config.peer-as")
        group_as = group_item.value("config.peer-as")
        if own_as is not None and group_as is not None and own_as != group_as:
            raise ConfigError(
                source,
                item.where("config.peer-as"),
                f"peer-as {own_as} contradicts peer-as {group_as} of peer group "
                f"{q(group_name)} (GoBGP would silently use the group's)",
            )
        if not afis:
            afis = group_item.arrays.get("afi-safis", [])
    merged.update(item.leaves)
    leaves = Leaves(merged, item.keypath, source)
    if not leaves.has("config.peer-as"):
        raise ConfigError(source, item.where("config.peer-as"), MISSING)
    return build_neighbor(
        leaves,
        afis,
        address=address,
        global_=global_,
        peer_group=group_name if isinstance(group_name, str) and group_name else None,
        dynamic=False,
        policy=policy,
    )


def build_neighbor(
    leaves: Leaves,
    afis: list[Walked],
    *,
    address: str,
    global_: GlobalConfig,
    peer_group: str | None,
    dynamic: bool,
    policy: PolicyConfig | None = None,
) -> Neighbor:
    """Resolve one neighbor from its merged keys; raises ConfigError on contradictions.
    With ``policy``, the policies its apply-policy names must be defined there."""
    version = ipaddress.ip_address(address).version
    peer_as = leaves.int_("config.peer-as", 0)
    local_as = leaves.int_("config.local-as", global_.asn)
    if local_as != global_.asn:
        raise leaves.error(
            "config.local-as",
            f"local-as {local_as} differs from global.config.as {global_.asn}; "
            f"a per-neighbor local-as is {NOT_SUPPORTED}",
        )

    hold_time = leaves.int_("timers.config.hold-time", DEFAULT_HOLD_TIME)
    keepalive = leaves.float_("timers.config.keepalive-interval", hold_time / 3)
    if hold_time > 0 and keepalive >= hold_time:
        raise leaves.error(
            "timers.config.keepalive-interval",
            f"keepalive-interval {_num(keepalive)} must be less than hold-time {hold_time}",
        )

    local_address = leaves.str_("transport.config.local-address")
    if local_address is None:
        local_address = "0.0.0.0" if version == 4 else "::"
    elif ipaddress.ip_address(local_address).version != version:
        raise leaves.error(
            "transport.config.local-address",
            f"local-address {q(local_address)} is IPv{6 if version == 4 else 4} but the "
            f"neighbor address {q(address)} is IPv{version}",
        )

    multihop = leaves.bool_("ebgp-multihop.config.enabled", False)
    ttl_security = leaves.bool_("ttl-security.config.enabled", False)
    if multihop and ttl_security:
        raise leaves.error(
            "ttl-security.config.enabled",
            "ttl-security and ebgp-multihop are mutually exclusive (as in GoBGP)",
        )

    rr_client = leaves.bool_("route-reflector.config.route-reflector-client", False)
    if rr_client and peer_as != local_as:
        raise leaves.error(
            "route-reflector.config.route-reflector-client",
            f"a route reflector client must be an iBGP neighbor, but peer-as {peer_as} "
            f"differs from local-as {local_as}",
        )

    rs_client = leaves.bool_("route-server.config.route-server-client", False)
    if rs_client and rr_client:
        raise leaves.error(
            "route-server.config.route-server-client",
            "a neighbor cannot be both route-server-client and route-reflector-client "
            "(as in GoBGP)",
        )

    apply_policy = apply_policy_of(leaves.raw, leaves.where, leaves.source)
    if apply_policy is not None and policy is not None:
        check_apply_policy(apply_policy, policy, leaves.where, leaves.source)
    password = leaves.str_("config.auth-password")
    families = _families(leaves, afis, version)
    graceful = _graceful_restart(leaves, afis, families, hold_time)
    return Neighbor(
        address=address,
        peer_as=peer_as,
        local_as=local_as,
        auth_password=password or None,
        description=leaves.str_("config.description") or "",
        admin_down=leaves.bool_("config.admin-down", False),
        peer_group=peer_group,
        hold_time=hold_time,
        keepalive_interval=keepalive,
        connect_retry=leaves.float_("timers.config.connect-retry", DEFAULT_CONNECT_RETRY),
        idle_hold_time_after_reset=leaves.float_(
            "timers.config.idle-hold-time-after-reset", DEFAULT_IDLE_HOLD_TIME_AFTER_RESET
        ),
        send_hold_time=_opt_float(leaves.raw("timers.config.send-hold-time")),
        passive=True if dynamic else leaves.bool_("transport.config.passive-mode", False),
        local_address=local_address,
        remote_port=leaves.int_("transport.config.remote-port", DEFAULT_PORT),
        ttl=leaves.int_("transport.config.ttl", 0) or None,
        multihop_ttl=leaves.int_("ebgp-multihop.config.multihop-ttl", DEFAULT_TTL)
        if multihop
        else None,
        ttl_security_min=leaves.int_("ttl-security.config.ttl-min", DEFAULT_TTL)
        if ttl_security
        else None,
        rr_client=rr_client,
        cluster_id=leaves.str_("route-reflector.config.route-reflector-cluster-id"),
        families=families,
        graceful_restart=graceful,
        dynamic=dynamic,
        allow_own_as=leaves.int_("as-path-options.config.allow-own-as", 0),
        replace_peer_as=leaves.bool_("as-path-options.config.replace-peer-as", False),
        remove_private_as=leaves.str_("config.remove-private-as") or "",
        rs_client=rs_client,
        apply_policy=apply_policy,
    )


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _families(leaves: Leaves, afis: list[Walked], version: int) -> tuple[AfiSafi, ...]:
    receive = leaves.bool_("add-paths.config.receive", False)
    send_max = leaves.int_("add-paths.config.send-max", 0)
    if not afis:
        # GoBGP: no afi-safis listed -> the family of the neighbor address.
        name = "ipv4-unicast" if version == 4 else "ipv6-unicast"
        afi, safi = FAMILIES[name]
        return (
            AfiSafi(
                name=name,
                afi=afi,
                safi=safi,
                enabled=True,
                mp_graceful_restart=False,
                llgr_enabled=False,
                llgr_restart_time=0,
                add_paths_receive=receive,
                add_paths_send_max=send_max,
                prefix_limit=None,
            ),
        )
    out: list[AfiSafi] = []
    seen: dict[str, str] = {}
    for item in afis:
        written = item.value("config.afi-safi-name")
        where = item.where("config.afi-safi-name")
        if not isinstance(written, str):
            raise ConfigError(leaves.source, where, MISSING)
        name = written
        if name in seen:
            raise ConfigError(
                leaves.source, where, f"afi-safi {q(name)} is listed twice (also {seen[name]})"
            )
        seen[name] = item.keypath
        own = Leaves(dict(item.leaves), item.keypath, leaves.source)
        afi, safi = FAMILIES[name]
        max_prefixes = own.int_("prefix-limit.config.max-prefixes", 0)
        limit = None
        if max_prefixes > 0:
            limit = PrefixLimit(
                max_prefixes=max_prefixes,
                shutdown_threshold_pct=own.int_("prefix-limit.config.shutdown-threshold-pct", 0),
                restart_timer=own.float_("prefix-limit.config.restart-timer", 0.0),
            )
        out.append(
            AfiSafi(
                name=name,
                afi=afi,
                safi=safi,
                enabled=own.bool_("config.enabled", True),
                mp_graceful_restart=own.bool_("mp-graceful-restart.config.enabled", False),
                llgr_enabled=own.bool_("long-lived-graceful-restart.config.enabled", False),
                llgr_restart_time=own.int_("long-lived-graceful-restart.config.restart-time", 0),
                add_paths_receive=own.bool_("add-paths.config.receive", receive),
                add_paths_send_max=own.int_("add-paths.config.send-max", send_max),
                prefix_limit=limit,
            )
        )
    return tuple(out)


def _graceful_restart(
    leaves: Leaves, afis: list[Walked], families: tuple[AfiSafi, ...], hold_time: int
) -> GracefulRestartConfig:
    graceful = GracefulRestartConfig(
        enabled=leaves.bool_("graceful-restart.config.enabled", False),
        restart_time=leaves.int_(
            "graceful-restart.config.restart-time", min(hold_time, MAX_GR_RESTART_TIME)
        ),
        helper_only=leaves.bool_("graceful-restart.config.helper-only", False),
        deferral_time=leaves.int_("graceful-restart.config.deferral-time", DEFAULT_DEFERRAL_TIME),
        notification_enabled=leaves.bool_("graceful-restart.config.notification-enabled", False),
        long_lived_enabled=leaves.bool_("graceful-restart.config.long-lived-enabled", False),
    )
    if graceful.long_lived_enabled and not graceful.enabled:
        raise leaves.error(
            "graceful-restart.config.long-lived-enabled",
            "long-lived-enabled needs graceful-restart.config.enabled = true",
        )
    for item, family in zip(afis, families, strict=False):
        if family.mp_graceful_restart and not graceful.enabled:
            raise ConfigError(
                leaves.source,
                item.where("mp-graceful-restart.config.enabled"),
                f"graceful restart for {family.name} needs graceful-restart.config.enabled = true",
            )
        if family.llgr_enabled and not graceful.long_lived_enabled:
            raise ConfigError(
                leaves.source,
                item.where("long-lived-graceful-restart.config.enabled"),
                f"long-lived graceful restart for {family.name} needs "
                "graceful-restart.config.long-lived-enabled = true",
            )
    return graceful


def _build_dynamic(
    root: Walked,
    groups: dict[str, tuple[PeerGroup, Walked]],
    global_: GlobalConfig,
    source: str,
) -> tuple[DynamicNeighbor, ...]:
    out: list[DynamicNeighbor] = []
    seen: dict[str, str] = {}
    for item in root.arrays.get("dynamic-neighbors", []):
        prefix = item.value("config.prefix")
        if not isinstance(prefix, str):
            raise ConfigError(source, item.where("config.prefix"), MISSING)
        if prefix in seen:
            raise ConfigError(
                source,
                item.where("config.prefix"),
                f"duplicate dynamic neighbor prefix {q(prefix)} (also {seen[prefix]})",
            )
        seen[prefix] = item.keypath
        name = item.value("config.peer-group")
        where = item.where("config.peer-group")
        if not isinstance(name, str) or not name:
            raise ConfigError(source, where, MISSING)
        found = groups.get(name)
        if found is None:
            raise ConfigError(source, where, f"no such peer group {q(name)}")
        group_item = found[1]
        if group_item.value("config.peer-as") is None:
            raise ConfigError(
                source,
                where,
                f"peer group {q(name)} has no config.peer-as "
                "(dynamic neighbors take their peer-as from the group)",
            )
        if group_item.value("transport.config.passive-mode") is False:
            raise ConfigError(
                source,
                group_item.where("transport.config.passive-mode"),
                f"peer group {q(name)} is used by {item.keypath}, whose members are "
                "always passive; passive-mode = false contradicts that",
            )
        # Resolve one member now, so that every contradiction is reported at load time.
        sample = str(ipaddress.ip_network(prefix).network_address)
        build_neighbor(
            Leaves(dict(group_item.leaves), group_item.keypath, source),
            group_item.arrays.get("afi-safis", []),
            address=sample,
            global_=global_,
            peer_group=name,
            dynamic=True,
        )
        cap = item.value("config.max-sessions")
        out.append(
            DynamicNeighbor(
                prefix=prefix,
                peer_group=name,
                max_sessions=cap if isinstance(cap, int) else DEFAULT_MAX_SESSIONS,
            )
        )
    return tuple(out)


def _opt_float(value: object) -> float | None:
    """A number of seconds that is absent (None) unless configured."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
