"""`bgprr check`: print the effective configuration in GoBGP's key names.

The output is TOML that bgprr (and gobgpd) can read back: every neighbor is written out
in full, defaults filled in and its peer group's values merged in.  Secrets are masked
unless ``show_secrets`` is true.  Templates are shown expanded; a header comment lists
the keys whose value came from the environment (variable names only, never values), and
a ``${`` in a value is written ``$${`` so that bgprr reads the output back unchanged.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from collections.abc import Mapping
from typing import TextIO

from bgprr.config.dynamic import dynamic_member
from bgprr.config.errors import ConfigError
from bgprr.config.loader import read_config
from bgprr.config.model import (
    DEFAULT_CONNECTION_BURST,
    DEFAULT_CONNECTION_RATE,
    DEFAULT_KERNEL_METRIC,
    DEFAULT_KERNEL_PROTOCOL,
    DEFAULT_KERNEL_TABLE,
    DEFAULT_MAX_SESSIONS,
    AfiSafi,
    Config,
    KernelConfig,
    Neighbor,
    PeerGroup,
    Settings,
    Value,
)
from bgprr.config.render_policy import apply_policy_lines, policy_lines, policy_summary
from bgprr.config.template import escape
from bgprr.config.walk import FromEnv

MASK = "********"


def fmt_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(json.dumps(item) for item in value) + "]"


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def table(self, indent: int, header: str) -> None:
        self.lines.append(" " * indent + header)

    def key(self, indent: int, name: str, value: Value, comment: str = "") -> None:
        tail = f"  # {comment}" if comment else ""
        if isinstance(value, str):
            value = escape(value)
        elif isinstance(value, tuple):
            value = tuple(escape(item) for item in value)
        self.lines.append(f"{' ' * indent}{name} = {fmt_value(value)}{tail}")

    def comment(self, indent: int, text: str) -> None:
        self.lines.append(f"{' ' * indent}# {text}")

    def blank(self) -> None:
        self.lines.append("")


def render_effective(
    config: Config, *, show_secrets: bool = False, from_env: tuple[FromEnv, ...] = ()
) -> str:
    """The effective configuration as GoBGP-style TOML text; ``from_env`` (from
    `read_config`) adds a comment naming the keys written with templates."""
    out = _Out()
    out.comment(0, f"Effective configuration of {config.source}")
    out.comment(0, "(bgprr: defaults filled in, peer-group values merged into each neighbor)")
    if from_env:
        out.comment(0, "Templates expanded from the environment:")
        for note in from_env:
            out.comment(0, f"  {note.keypath}: {_provenance(note)}")
    out.blank()
    g = config.global_
    out.table(0, "[global.config]")
    out.key(2, "as", g.asn)
    out.key(2, "router-id", g.router_id)
    out.key(2, "port", g.port, "-1: do not listen" if g.port == -1 else "")
    out.key(2, "local-address-list", g.local_address_list)
    _bgprr_key(out, 2, "connection-rate", g.connection_rate, DEFAULT_CONNECTION_RATE)
    _bgprr_key(out, 2, "connection-burst", g.connection_burst, DEFAULT_CONNECTION_BURST)
    _bgprr_key(out, 2, "malloc-trim", g.malloc_trim, True)
    out.blank()
    for line in policy_summary(config):
        out.comment(0, line)
    apply_policy_lines(out.key, out.table, 0, "global", config.policy.global_apply)
    _kernel(out, config.kernel)
    for neighbor in config.neighbors:
        out.blank()
        _neighbor(out, config, neighbor, show_secrets)
    for group in config.peer_groups:
        out.blank()
        _group(out, group, show_secrets)
    for entry in config.dynamic_neighbors:
        out.blank()
        out.table(0, "[[dynamic-neighbors]]")
        out.table(2, "[dynamic-neighbors.config]")
        out.key(4, "prefix", entry.prefix)
        out.key(4, "peer-group", entry.peer_group)
        _bgprr_key(out, 4, "max-sessions", entry.max_sessions, DEFAULT_MAX_SESSIONS)
        out.comment(4, "members are always passive; the longest matching prefix wins")
        member = dynamic_member(
            config, entry, str(ipaddress.ip_network(entry.prefix).network_address)
        )
        if member is not None:
            out.comment(4, "a member resolves to: " + _summary(config, member))
    policy_lines(out.key, out.table, out.blank, config.policy)
    return "\n".join(out.lines) + "\n"


def _kernel(out: _Out, k: KernelConfig) -> None:
    """GoBGP's multipath and zebra switches, and bgprr's kernel-* keys (docs/kernel.md)."""
    if k.multipath:
        out.blank()
        out.table(0, "[global.use-multiple-paths.config]")
        out.key(2, "enabled", True, "equal-cost routes in the kernel")
    if not k.enabled and k == KernelConfig(multipath=k.multipath):
        return
    out.blank()
    out.table(0, "[zebra.config]")
    out.key(2, "enabled", k.enabled, "bgprr: best routes into the kernel, no zebra")
    _bgprr_key(out, 2, "kernel-table", k.table, DEFAULT_KERNEL_TABLE)
    _bgprr_key(out, 2, "kernel-protocol", k.protocol, DEFAULT_KERNEL_PROTOCOL)
    _bgprr_key(out, 2, "kernel-metric", k.metric, DEFAULT_KERNEL_METRIC)


def _bgprr_key(out: _Out, indent: int, name: str, value: float, default: float) -> None:
    """A bgprr-only key (gobgpd refuses unknown keys): written only when it differs from
    its default, so that the output of a GoBGP file stays readable by gobgpd."""
    if value == default:
        out.comment(indent, f"{name} = {fmt_value(value)}  (bgprr default)")
    else:
        out.key(indent, name, value, "bgprr only")


def _provenance(note: FromEnv) -> str:
    parts = [f"${{{name}}}" for name in dict.fromkeys(note.names)]
    parts += [f"the default of ${{{name}}}" for name in dict.fromkeys(note.defaulted)]
    return ", ".join(parts)


def _summary(config: Config, n: Neighbor) -> str:
    parts = [
        f"peer-as {n.peer_as}",
        f"hold-time {n.hold_time}",
        f"keepalive-interval {fmt_value(n.keepalive_interval)}",
        f"route-reflector-client {fmt_value(n.rr_client)}",
    ]
    if n.rr_client:
        parts.append(f"cluster-id {config.cluster_id_for(n)}")
    gr = n.graceful_restart
    parts.append(
        f"graceful-restart {fmt_value(gr.enabled)}"
        + (f" (restart-time {gr.restart_time})" if gr.enabled else "")
    )
    families = [f.name for f in n.families if f.enabled]
    parts.append("families " + (", ".join(families) if families else "none"))
    return "; ".join(parts)


def _neighbor(out: _Out, config: Config, n: Neighbor, show_secrets: bool) -> None:
    out.table(0, "[[neighbors]]")
    out.table(2, "[neighbors.config]")
    out.key(4, "neighbor-address", n.address)
    out.key(4, "peer-as", n.peer_as)
    out.key(4, "local-as", n.local_as)
    if n.peer_group is not None:
        out.key(4, "peer-group", n.peer_group)
    if n.auth_password is not None:
        out.key(4, "auth-password", n.auth_password if show_secrets else MASK)
    out.key(4, "description", n.description)
    out.key(4, "admin-down", n.admin_down)
    if n.remove_private_as:
        out.key(4, "remove-private-as", n.remove_private_as)
    out.table(2, "[neighbors.timers.config]")
    out.key(4, "hold-time", n.hold_time)
    out.key(4, "keepalive-interval", n.keepalive_interval)
    out.key(4, "connect-retry", n.connect_retry)
    out.key(4, "idle-hold-time-after-reset", n.idle_hold_time_after_reset)
    if n.send_hold_time is not None:
        out.key(4, "send-hold-time", n.send_hold_time)
    out.table(2, "[neighbors.transport.config]")
    out.key(4, "passive-mode", n.passive)
    out.key(4, "local-address", n.local_address)
    out.key(4, "remote-port", n.remote_port)
    if n.ttl is not None:
        out.key(4, "ttl", n.ttl)
    out.table(2, "[neighbors.ebgp-multihop.config]")
    out.key(4, "enabled", n.multihop_ttl is not None)
    if n.multihop_ttl is not None:
        out.key(4, "multihop-ttl", n.multihop_ttl)
    out.table(2, "[neighbors.ttl-security.config]")
    out.key(4, "enabled", n.ttl_security_min is not None)
    if n.ttl_security_min is not None:
        out.key(4, "ttl-min", n.ttl_security_min)
    out.table(2, "[neighbors.route-reflector.config]")
    out.key(4, "route-reflector-client", n.rr_client)
    if n.cluster_id is not None:
        out.key(4, "route-reflector-cluster-id", n.cluster_id)
    else:
        out.comment(
            4,
            f"route-reflector-cluster-id = {fmt_value(config.cluster_id_for(n))}"
            "  (default: global router-id)",
        )
    if n.allow_own_as or n.replace_peer_as:
        out.table(2, "[neighbors.as-path-options.config]")
        out.key(4, "allow-own-as", n.allow_own_as)
        out.key(4, "replace-peer-as", n.replace_peer_as)
    if n.rs_client:
        out.table(2, "[neighbors.route-server.config]")
        out.key(4, "route-server-client", n.rs_client)
    if n.apply_policy is not None:
        out.comment(2, "apply-policy: used by gobgpd for route-server clients only")
        apply_policy_lines(out.key, out.table, 2, "neighbors", n.apply_policy)
    gr = n.graceful_restart
    out.table(2, "[neighbors.graceful-restart.config]")
    out.key(4, "enabled", gr.enabled)
    out.key(4, "restart-time", gr.restart_time)
    out.key(4, "helper-only", gr.helper_only)
    out.key(4, "deferral-time", gr.deferral_time)
    out.key(4, "notification-enabled", gr.notification_enabled)
    out.key(4, "long-lived-enabled", gr.long_lived_enabled)
    for fam in n.families:
        _family(out, fam)


def _family(out: _Out, fam: AfiSafi) -> None:
    out.table(2, "[[neighbors.afi-safis]]")
    out.table(4, "[neighbors.afi-safis.config]")
    out.key(6, "afi-safi-name", fam.name)
    out.key(6, "enabled", fam.enabled)
    out.table(4, "[neighbors.afi-safis.mp-graceful-restart.config]")
    out.key(6, "enabled", fam.mp_graceful_restart)
    out.table(4, "[neighbors.afi-safis.long-lived-graceful-restart.config]")
    out.key(6, "enabled", fam.llgr_enabled)
    out.key(6, "restart-time", fam.llgr_restart_time)
    out.table(4, "[neighbors.afi-safis.add-paths.config]")
    out.key(6, "receive", fam.add_paths_receive)
    out.key(6, "send-max", fam.add_paths_send_max)
    if fam.prefix_limit is not None:
        limit = fam.prefix_limit
        out.table(4, "[neighbors.afi-safis.prefix-limit.config]")
        out.key(6, "max-prefixes", limit.max_prefixes)
        out.key(6, "shutdown-threshold-pct", limit.shutdown_threshold_pct)
        out.key(6, "restart-timer", limit.restart_timer)


def _settings(out: _Out, prefix: str, settings: Settings, indent: int, show_secrets: bool) -> None:
    """Keys grouped by their table, in the order written."""
    tables: dict[str, list[tuple[str, Value]]] = {}
    for rel, value in settings:
        table, _, name = rel.rpartition(".")
        if name == "auth-password" and not show_secrets:
            value = MASK
        tables.setdefault(table, []).append((name, value))
    for table, items in tables.items():
        out.table(indent, f"[{prefix}.{table}]")
        for name, value in items:
            out.key(indent + 2, name, value)


def _group(out: _Out, group: PeerGroup, show_secrets: bool) -> None:
    out.table(0, "[[peer-groups]]")
    out.comment(2, "as written; members above already include these values")
    _settings(out, "peer-groups", group.settings, 2, show_secrets)
    for afi in group.afi_safis:
        out.table(2, "[[peer-groups.afi-safis]]")
        _settings(out, "peer-groups.afi-safis", afi, 4, show_secrets)


def check_main(
    path: str,
    fmt: str = "toml",
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """`bgprr check --config PATH`: 0 and the effective configuration on ``out``, or 2 and
    the one-line error on ``err``.  ``env``: as for `load_config` (None: ``os.environ``)."""
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    try:
        config, from_env = read_config(path, fmt, env=env)
    except ConfigError as exc:
        print(str(exc), file=stderr)
        return 2
    stdout.write(render_effective(config, from_env=from_env))
    return 0
