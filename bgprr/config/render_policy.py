"""`bgprr check`'s policy part: where each chain applies (comments) and the policy keys
as TOML that bgprr and gobgpd read back (``[global.apply-policy]``, ``[defined-sets]``,
``[[policy-definitions]]``), every statement with its resolved name and its defaults
written out."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from bgprr.config.model import Config
from bgprr.config.policy_model import (
    ApplyPolicy,
    Conditions,
    DefaultPolicy,
    MatchSet,
    PolicyConfig,
    Statement,
    StatementActions,
)

__all__ = ["apply_policy_lines", "policy_lines", "policy_summary"]

Key = Callable[[int, str, "str | int | tuple[str, ...]"], None]
Table = Callable[[int, str], None]

_ORIGIN_NAMES = {0: "igp", 1: "egp", 2: "incomplete"}
_RS_ONLY = (
    "    not applied: gobgpd 3.10 (and bgprr) use a neighbor's apply-policy for",
    "    route-server clients only",
)
_GROUP = "    applied to its members that are route-server clients (instead of the global chains):"


def _chain(names: tuple[str, ...], default: DefaultPolicy, policy: PolicyConfig) -> str:
    parts = []
    for name in names:
        count = len(policy.policy(name).statements)
        parts.append(f"{name} ({count} statement{'' if count == 1 else 's'})")
    head = ", then ".join(parts) if parts else "no policy"
    return f"{head}; default {default.value}"


def policy_summary(config: Config) -> list[str]:
    """Comment lines: every attach point, its policies in order and its default."""
    policy = config.policy
    apply = policy.global_apply
    lines = [
        "Routing policy as it applies (docs/policy.md):",
        "  global import (routes from every neighbor, before best-path selection):",
        "    " + _chain(apply.import_policies, apply.default_import, policy),
        "  global export (routes to every neighbor):",
        "    " + _chain(apply.export_policies, apply.default_export, policy),
    ]
    if any(n.rs_client for n in config.neighbors):
        lines.append("  (route-server clients: their own apply-policy instead, below)")
    for neighbor in config.neighbors:
        if neighbor.apply_policy is not None:
            lines.append(f"  neighbor {neighbor.address} apply-policy:")
            if neighbor.rs_client:
                lines.extend(_own(neighbor.apply_policy, policy))
            else:
                lines.extend(_RS_ONLY)
    for group in config.peer_groups:
        if group.apply_policy is not None:
            lines.append(f"  peer group {group.name} apply-policy:")
            lines.append(_GROUP)
            lines.extend(_own(group.apply_policy, policy))
    return lines


def _own(apply: ApplyPolicy, policy: PolicyConfig) -> list[str]:
    """A route-server client's own chains (gobgpd's table id is its address)."""
    return [
        "    import (routes it sends): "
        + _chain(apply.import_policies, apply.default_import, policy),
        "    export (routes sent to it): "
        + _chain(apply.export_policies, apply.default_export, policy),
    ]


def apply_policy_lines(
    key: Key, table: Table, indent: int, header: str, apply: ApplyPolicy
) -> None:
    table(indent, f"[{header}.apply-policy.config]")
    key(indent + 2, "import-policy-list", apply.import_policies)
    key(indent + 2, "default-import-policy", apply.default_import.value)
    key(indent + 2, "export-policy-list", apply.export_policies)
    key(indent + 2, "default-export-policy", apply.default_export.value)


def policy_lines(key: Key, table: Table, blank: Callable[[], None], policy: PolicyConfig) -> None:
    """The defined sets and policy definitions, as TOML."""
    base = "defined-sets"
    for prefix_set in policy.prefix_sets:
        blank()
        table(0, f"[[{base}.prefix-sets]]")
        key(2, "prefix-set-name", prefix_set.name)
        for entry in prefix_set.entries:
            table(2, f"[[{base}.prefix-sets.prefix-list]]")
            key(4, "ip-prefix", entry.text.partition(" ")[0])
            key(4, "masklength-range", f"{entry.min_length}..{entry.max_length}")
    for neighbor_set in policy.neighbor_sets:
        blank()
        table(0, f"[[{base}.neighbor-sets]]")
        key(2, "neighbor-set-name", neighbor_set.name)
        key(2, "neighbor-info-list", neighbor_set.written)
    bgp = f"{base}.bgp-defined-sets"
    groups: list[tuple[str, list[tuple[str, tuple[str, ...]]]]] = [
        ("community", [(s.name, s.written) for s in policy.community_sets]),
        ("ext-community", [(s.name, s.written) for s in policy.ext_community_sets]),
        ("large-community", [(s.name, s.written) for s in policy.large_community_sets]),
        ("as-path", [(s.name, s.written) for s in policy.as_path_sets]),
    ]
    for kind, sets in groups:
        for name, written in sets:
            blank()
            table(0, f"[[{bgp}.{kind}-sets]]")
            key(2, f"{kind}-set-name", name)
            key(2, f"{kind}-list", written)
    for definition in policy.policies:
        blank()
        table(0, "[[policy-definitions]]")
        key(2, "name", definition.name)
        for statement in definition.statements:
            _statement(key, table, statement)


def _statement(key: Key, table: Table, statement: Statement) -> None:
    base = "policy-definitions.statements"
    table(2, f"[[{base}]]")
    key(4, "name", statement.name)
    _conditions(key, table, f"{base}.conditions", statement.conditions)
    _actions(key, table, f"{base}.actions", statement.actions)


def _match(key: Key, table: Table, header: str, name_key: str, match: MatchSet | None) -> None:
    if match is not None:
        table(4, f"[{header}]")
        key(6, name_key, match.set_name)
        key(6, "match-set-options", match.option.value)


def _conditions(key: Key, table: Table, base: str, c: Conditions) -> None:
    _match(key, table, f"{base}.match-prefix-set", "prefix-set", c.prefix_set)
    _match(key, table, f"{base}.match-neighbor-set", "neighbor-set", c.neighbor_set)
    bgp = f"{base}.bgp-conditions"
    _match(key, table, f"{bgp}.match-as-path-set", "as-path-set", c.as_path_set)
    _match(key, table, f"{bgp}.match-community-set", "community-set", c.community_set)
    _match(key, table, f"{bgp}.match-ext-community-set", "ext-community-set", c.ext_community_set)
    _match(
        key,
        table,
        f"{bgp}.match-large-community-set",
        "large-community-set",
        c.large_community_set,
    )
    scalars: list[tuple[str, str | tuple[str, ...]]] = []
    if c.route_type is not None:
        scalars.append(("route-type", c.route_type.value))
    if c.next_hop_in_list:
        scalars.append(
            (
                "next-hop-in-list",
                tuple(_network_text(n.afi, n.address, n.length) for n in c.next_hop_in_list),
            )
        )
    if c.afi_safi_in is not None:
        scalars.append(("afi-safi-in-list", c.afi_safi_names))
    if c.origin_eq is not None:
        scalars.append(("origin-eq", _ORIGIN_NAMES[c.origin_eq]))
    if scalars:
        table(4, f"[{bgp}]")
        for name, value in scalars:
            key(6, name, value)
    if c.as_path_length is not None:
        table(4, f"[{bgp}.as-path-length]")
        key(6, "operator", c.as_path_length.operator.value)
        key(6, "value", c.as_path_length.value)


def _network_text(afi: int, address: int, length: int) -> str:
    if afi == 1:
        return str(ipaddress.IPv4Network((address, length)))
    return str(ipaddress.IPv6Network((address, length)))


def _actions(key: Key, table: Table, base: str, a: StatementActions) -> None:
    table(4, f"[{base}]")
    key(6, "route-disposition", a.disposition.value)
    bgp = f"{base}.bgp-actions"
    scalars: list[tuple[str, str | int]] = []
    if a.set_med is not None:
        scalars.append(("set-med", a.set_med.written))
    if a.set_local_pref is not None:
        scalars.append(("set-local-pref", a.set_local_pref))
    if a.set_next_hop is not None:
        scalars.append(("set-next-hop", a.set_next_hop.written))
    if scalars:
        table(4, f"[{bgp}]")
        for name, value in scalars:
            key(6, name, value)
    for kind, action in (
        ("community", a.set_community),
        ("ext-community", a.set_ext_community),
        ("large-community", a.set_large_community),
    ):
        if action is not None:
            table(4, f"[{bgp}.set-{kind}]")
            key(6, "options", action.option.value)
            table(4, f"[{bgp}.set-{kind}.set-{kind}-method]")
            key(6, "communities-list", action.written)
    if a.set_as_path_prepend is not None:
        prepend = a.set_as_path_prepend
        table(4, f"[{bgp}.set-as-path-prepend]")
        key(6, "as", "last-as" if prepend.asn is None else str(prepend.asn))
        key(6, "repeat-n", prepend.repeat)
