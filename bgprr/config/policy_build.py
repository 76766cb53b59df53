"""From the checked `Walked` tree to the typed `PolicyConfig`: defined sets, policy
definitions and the global apply-policy; `apply_policy_of` reads a neighbor's or a peer
group's ``apply-policy``.

Every problem is one `ConfigError` naming the key: a set or policy that is not defined,
a name used twice, a regular expression Python's ``re`` cannot compile, a bad
masklength range, community or action value.  gobgpd 3.10 refuses the same files
(at start, or when the policy is set), except where docs/policy.md says otherwise.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TypeVar

from bgprr.config.errors import ConfigError
from bgprr.config.model import Value
from bgprr.config.policy_model import (
    ApplyPolicy,
    AsPathLength,
    AsPathSet,
    CommunityAction,
    CommunitySet,
    Comparison,
    Conditions,
    DefaultPolicy,
    Disposition,
    ExtCommunityAction,
    ExtCommunitySet,
    LargeCommunityAction,
    LargeCommunitySet,
    MatchOption,
    MatchSet,
    NeighborSet,
    PolicyConfig,
    PolicyDefinition,
    PrefixEntry,
    PrefixSet,
    PrependAction,
    RouteTypeName,
    SetOption,
    SingleAsMatch,
    Statement,
    StatementActions,
)
from bgprr.config.policy_values import (
    as_path_entry,
    community_pattern,
    ext_community_pattern,
    large_community_pattern,
    parse_community,
    parse_ext_community,
    parse_large_community,
    parse_med,
    parse_network,
    parse_next_hop,
    parse_prefix_entry,
    parse_prepend_as,
)
from bgprr.config.schema import FAMILIES, GOBGP_OTHER_FAMILIES, BadValue, show
from bgprr.config.walk import Walked

__all__ = ["apply_policy_of", "build_policy", "check_apply_policy"]

_T = TypeVar("_T")
_BGP = "conditions.bgp-conditions."
_ACT = "actions.bgp-actions."
_OPERATORS = {
    "attribute-eq": Comparison.EQ,
    "attribute-ge": Comparison.GE,
    "attribute-le": Comparison.LE,
    "eq": Comparison.EQ,
    "ge": Comparison.GE,
    "le": Comparison.LE,
}
_ORIGINS = {"igp": 0, "egp": 1, "incomplete": 2}


def q(text: str) -> str:
    return json.dumps(text)


class _Item:
    """Typed access to the keys of one walked table, with errors that name the key."""

    def __init__(self, item: Walked, source: str) -> None:
        self.item = item
        self.source = source

    def error(self, rel: str, problem: str) -> ConfigError:
        return ConfigError(self.source, self.item.where(rel), problem)

    def str_(self, rel: str) -> str | None:
        value = self.item.value(rel)
        return value if isinstance(value, str) else None

    def int_(self, rel: str) -> int | None:
        value = self.item.value(rel)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def list_(self, rel: str) -> tuple[str, ...] | None:
        value = self.item.value(rel)
        return value if isinstance(value, tuple) else None

    def parse(self, rel: str, fn: Callable[[str], _T], text: str) -> _T:
        try:
            return fn(text)
        except BadValue as exc:
            raise self.error(rel, str(exc)) from None

    def parse_all(self, rel: str, fn: Callable[[str], _T]) -> tuple[_T, ...]:
        """``fn`` on every element of the list at ``rel``; an error names the element."""
        out: list[_T] = []
        for index, text in enumerate(self.list_(rel) or ()):
            try:
                out.append(fn(text))
            except BadValue as exc:
                raise self.error(f"{rel}[{index}]", str(exc)) from None
        return tuple(out)


def _names(kind: str, items: list[Walked], key: str, source: str) -> list[tuple[str, _Item]]:
    """(name, item) for each set of one kind; a missing or repeated name is an error."""
    seen: dict[str, str] = {}
    out: list[tuple[str, _Item]] = []
    for walked in items:
        item = _Item(walked, source)
        name = item.str_(key)
        if not name:
            raise item.error(key, f"every {kind} needs a name")
        if name in seen:
            raise item.error(key, f"duplicate {kind} {q(name)} (also {seen[name]})")
        seen[name] = walked.keypath
        out.append((name, item))
    return out


# --------------------------------------------------------------------------------------
# defined-sets


def _prefix_sets(root: Walked, source: str) -> tuple[PrefixSet, ...]:
    out: list[PrefixSet] = []
    for name, item in _names(
        "prefix-set", root.arrays.get("defined-sets.prefix-sets", []), "prefix-set-name", source
    ):
        entries: list[PrefixEntry] = []
        afi = 0
        for walked in item.item.arrays.get("prefix-list", []):
            entry_item = _Item(walked, source)
            prefix = entry_item.str_("ip-prefix")
            if prefix is None:
                raise entry_item.error("ip-prefix", "required key is missing")
            entry = entry_item.parse(
                "ip-prefix", lambda text: parse_prefix_entry(text, None), prefix
            )
            rng = entry_item.str_("masklength-range")
            if rng is not None:
                entry = entry_item.parse(
                    "masklength-range", functools.partial(parse_prefix_entry, prefix), rng
                )
            if afi and entry.network.afi != afi:
                raise entry_item.error(
                    "ip-prefix",
                    f"{q(prefix)} is IPv{4 if afi == 2 else 6} but earlier entries of "
                    f"prefix-set {q(name)} are IPv{4 if afi == 1 else 6} (one family per set)",
                )
            afi = entry.network.afi
            entries.append(entry)
        out.append(PrefixSet(name, afi, tuple(entries)))
    return tuple(out)


def _neighbor_sets(root: Walked, source: str) -> tuple[NeighborSet, ...]:
    items = root.arrays.get("defined-sets.neighbor-sets", [])
    return tuple(
        NeighborSet(
            name,
            item.parse_all("neighbor-info-list", parse_network),
            item.list_("neighbor-info-list") or (),
        )
        for name, item in _names("neighbor-set", items, "neighbor-set-name", source)
    )


def _bgp_sets(
    root: Walked, source: str
) -> tuple[
    tuple[CommunitySet, ...],
    tuple[ExtCommunitySet, ...],
    tuple[LargeCommunitySet, ...],
    tuple[AsPathSet, ...],
]:
    base = "defined-sets.bgp-defined-sets."

    def sets(kind: str) -> list[tuple[str, _Item]]:
        return _names(kind, root.arrays.get(f"{base}{kind}s", []), f"{kind}-name", source)

    communities = tuple(
        CommunitySet(
            name,
            item.parse_all("community-list", community_pattern),
            item.list_("community-list") or (),
        )
        for name, item in sets("community-set")
    )
    ext = tuple(
        ExtCommunitySet(
            name,
            item.parse_all("ext-community-list", ext_community_pattern),
            item.list_("ext-community-list") or (),
        )
        for name, item in sets("ext-community-set")
    )
    large = tuple(
        LargeCommunitySet(
            name,
            item.parse_all("large-community-list", large_community_pattern),
            item.list_("large-community-list") or (),
        )
        for name, item in sets("large-community-set")
    )
    as_paths: list[AsPathSet] = []
    for name, item in sets("as-path-set"):
        parsed = item.parse_all("as-path-list", as_path_entry)
        as_paths.append(
            AsPathSet(
                name,
                tuple(p for p in parsed if isinstance(p, SingleAsMatch)),
                tuple(p for p in parsed if isinstance(p, str)),
                item.list_("as-path-list") or (),
            )
        )
    return communities, ext, large, tuple(as_paths)


# --------------------------------------------------------------------------------------
# policy-definitions


class _Refs:
    """The names defined, to check every reference against."""

    def __init__(self, **kinds: set[str]) -> None:
        self.kinds = kinds

    def check(self, item: _Item, rel: str, kind: str, name: str) -> None:
        if name not in self.kinds[kind]:
            raise item.error(rel, f"no such {kind} {q(name)}")


def _match_set(
    item: _Item, base: str, key: str, kind: str, refs: _Refs, restricted: bool
) -> MatchSet | None:
    name = item.str_(f"{base}.{key}")
    option_text = item.str_(f"{base}.match-set-options")
    if not name:
        if option_text:
            raise item.error(f"{base}.match-set-options", f"needs {base}.{key}")
        return None
    refs.check(item, f"{base}.{key}", kind, name)
    allowed = ("any", "invert") if restricted else ("any", "all", "invert")
    text = option_text or "any"
    if text not in allowed:
        raise item.error(
            f"{base}.match-set-options",
            f"{show(text)} is not one of {', '.join(allowed)} (for a {kind})",
        )
    return MatchSet(name, MatchOption(text))


def _conditions(item: _Item, refs: _Refs) -> Conditions:
    length = None
    operator = item.str_(f"{_BGP}as-path-length.operator")
    value = item.int_(f"{_BGP}as-path-length.value")
    if operator or value:
        comparison = _OPERATORS.get(operator or "")
        if comparison is None:
            raise item.error(
                f"{_BGP}as-path-length.operator",
                f"{show(operator or '')} is not one of {', '.join(_OPERATORS)}",
            )
        length = AsPathLength(comparison, value or 0)
    route_type = None
    written_type = item.str_(f"{_BGP}route-type")
    if written_type not in (None, "", "none"):
        try:
            route_type = RouteTypeName(written_type)
        except ValueError:
            raise item.error(
                f"{_BGP}route-type",
                f"{show(written_type)} is not one of internal, external, local, none",
            ) from None
    families = item.list_(f"{_BGP}afi-safi-in-list")
    afi_safi: tuple[tuple[int, int], ...] | None = None
    if families is not None:
        for index, name in enumerate(families):
            if name not in FAMILIES and name not in GOBGP_OTHER_FAMILIES:
                raise item.error(f"{_BGP}afi-safi-in-list[{index}]", f"unknown family {q(name)}")
        afi_safi = tuple(FAMILIES[name] for name in families if name in FAMILIES)
    origin = item.str_(f"{_BGP}origin-eq")
    if origin is not None and origin not in _ORIGINS:
        raise item.error(f"{_BGP}origin-eq", f"{show(origin)} is not one of igp, egp, incomplete")
    return Conditions(
        prefix_set=_match_set(item, "conditions.match-prefix-set", "prefix-set", "prefix-set",
                              refs, True),
        neighbor_set=_match_set(item, "conditions.match-neighbor-set", "neighbor-set",
                                "neighbor-set", refs, True),
        as_path_length=length,
        route_type=route_type,
        as_path_set=_match_set(item, f"{_BGP}match-as-path-set", "as-path-set", "as-path-set",
                               refs, False),
        community_set=_match_set(item, f"{_BGP}match-community-set", "community-set",
                                 "community-set", refs, False),
        ext_community_set=_match_set(item, f"{_BGP}match-ext-community-set",
                                     "ext-community-set", "ext-community-set", refs, False),
        large_community_set=_match_set(item, f"{_BGP}match-large-community-set",
                                       "large-community-set", "large-community-set", refs,
                                       False),
        next_hop_in_list=item.parse_all(f"{_BGP}next-hop-in-list", parse_network),
        afi_safi_in=afi_safi,
        afi_safi_names=families or (),
        origin_eq=None if origin is None else _ORIGINS[origin],
    )  # fmt: skip


def _set_option(item: _Item, base: str, method: str) -> tuple[SetOption, tuple[str, ...]] | None:
    """(option, written list) of a set-*-community action; None when absent (gobgpd: no
    option and no list)."""
    written = item.list_(f"{base}.{method}.communities-list") or ()
    text = (item.str_(f"{base}.options") or "").lower()
    if text not in ("add", "remove", "replace"):
        if not written and not text:
            return None
        raise item.error(f"{base}.options", f"{show(text)} is not one of add, remove, replace")
    return SetOption(text), written


def _actions(item: _Item) -> StatementActions:
    rel = "actions.route-disposition"
    text = item.str_(rel) or "none"
    try:
        disposition = Disposition(text)
    except ValueError:
        raise item.error(
            rel, f"{show(text)} is not one of accept-route, reject-route, none"
        ) from None
    values_rel = "set-community-method.communities-list"
    community = None
    found = _set_option(item, f"{_ACT}set-community", "set-community-method")
    if found is not None:
        option, written = found
        at = f"{_ACT}set-community.{values_rel}"
        remove = option is SetOption.REMOVE
        community = CommunityAction(
            option,
            () if remove else item.parse_all(at, parse_community),
            item.parse_all(at, community_pattern) if remove else (),
            written,
        )
    ext = None
    found = _set_option(item, f"{_ACT}set-ext-community", "set-ext-community-method")
    if found is not None:
        option, written = found
        at = f"{_ACT}set-ext-community.set-ext-community-method.communities-list"
        remove = option is SetOption.REMOVE
        ext = ExtCommunityAction(
            option,
            () if remove else item.parse_all(at, parse_ext_community),
            item.parse_all(at, ext_community_pattern) if remove else (),
            written,
        )
    large = None
    found = _set_option(item, f"{_ACT}set-large-community", "set-large-community-method")
    if found is not None:
        option, written = found
        at = f"{_ACT}set-large-community.set-large-community-method.communities-list"
        remove = option is SetOption.REMOVE
        large = LargeCommunityAction(
            option,
            () if remove else item.parse_all(at, parse_large_community),
            item.parse_all(at, large_community_pattern) if remove else (),
            written,
        )
    med_text = item.str_(f"{_ACT}set-med")
    med = None if not med_text else item.parse(f"{_ACT}set-med", parse_med, med_text)
    hop_text = item.str_(f"{_ACT}set-next-hop")
    hop = None if hop_text is None else item.parse(f"{_ACT}set-next-hop", parse_next_hop, hop_text)
    local_pref = item.int_(f"{_ACT}set-local-pref") or None  # 0: no action (gobgpd)
    return StatementActions(
        disposition=disposition,
        set_community=community,
        set_ext_community=ext,
        set_large_community=large,
        set_med=med,
        set_local_pref=local_pref,
        set_as_path_prepend=_prepend(item),
        set_next_hop=hop,
    )


def _prepend(item: _Item) -> PrependAction | None:
    base = f"{_ACT}set-as-path-prepend"
    asn_text = item.str_(f"{base}.as") or ""
    repeat = item.int_(f"{base}.repeat-n") or 0
    if not asn_text:
        if repeat:
            raise item.error(f"{base}.as", "required when repeat-n is set")
        return None
    return PrependAction(item.parse(f"{base}.as", parse_prepend_as, asn_text), repeat)


def _policies(root: Walked, source: str, refs: _Refs) -> tuple[PolicyDefinition, ...]:
    out: list[PolicyDefinition] = []
    statement_names: dict[str, str] = {}
    for name, item in _names("policy", root.arrays.get("policy-definitions", []), "name", source):
        statements: list[Statement] = []
        for index, walked in enumerate(item.item.arrays.get("statements", [])):
            st = _Item(walked, source)
            st_name = st.str_("name") or f"{name}_stmt{index}"
            if st_name in statement_names:
                raise st.error(
                    "name",
                    f"duplicate statement name {q(st_name)} (also {statement_names[st_name]}; "
                    "gobgpd wants statement names unique across all policies)",
                )
            statement_names[st_name] = walked.keypath
            statements.append(Statement(st_name, _conditions(st, refs), _actions(st)))
        out.append(PolicyDefinition(name, tuple(statements)))
    return tuple(out)


# --------------------------------------------------------------------------------------
# apply-policy


def apply_policy_of(
    get: Callable[[str], Value | None], where: Callable[[str], str], source: str
) -> ApplyPolicy | None:
    """The ``apply-policy.config`` keys found by ``get`` (relative key -> value); None
    when none is written.  Policy names are checked by `check_apply_policy`."""
    base = "apply-policy.config."
    written = [get(base + key) for key in _APPLY_KEYS]
    if all(value is None for value in written):
        return None

    def default(key: str) -> DefaultPolicy:
        value = get(base + key)
        if value is None or value == "":
            return DefaultPolicy.ACCEPT
        if value not in ("accept-route", "reject-route"):
            raise ConfigError(
                source, where(base + key), f"{show(value)} is not accept-route or reject-route"
            )
        return DefaultPolicy(value)

    def names(key: str) -> tuple[str, ...]:
        value = get(base + key)
        if not isinstance(value, tuple):
            return ()
        for index, name in enumerate(value):
            if name in value[:index]:
                raise ConfigError(
                    source, f"{where(base + key)}[{index}]", f"policy {q(name)} is listed twice"
                )
        return value

    return ApplyPolicy(
        import_policies=names("import-policy-list"),
        default_import=default("default-import-policy"),
        export_policies=names("export-policy-list"),
        default_export=default("default-export-policy"),
    )


_APPLY_KEYS = (
    "import-policy-list",
    "default-import-policy",
    "export-policy-list",
    "default-export-policy",
)


def check_apply_policy(
    apply: ApplyPolicy, policies: PolicyConfig, where: Callable[[str], str], source: str
) -> None:
    """Every policy ``apply`` names is defined."""
    defined = {p.name for p in policies.policies}
    for key, names in (
        ("import-policy-list", apply.import_policies),
        ("export-policy-list", apply.export_policies),
    ):
        for index, name in enumerate(names):
            if name not in defined:
                raise ConfigError(
                    source,
                    f"{where('apply-policy.config.' + key)}[{index}]",
                    f"no such policy {q(name)}",
                )


def build_policy(root: Walked, source: str) -> PolicyConfig:
    """The policy part of the file; raises ConfigError on the first problem."""
    prefix_sets = _prefix_sets(root, source)
    neighbor_sets = _neighbor_sets(root, source)
    communities, ext, large, as_paths = _bgp_sets(root, source)
    refs = _Refs(
        **{
            "prefix-set": {s.name for s in prefix_sets},
            "neighbor-set": {s.name for s in neighbor_sets},
            "community-set": {s.name for s in communities},
            "ext-community-set": {s.name for s in ext},
            "large-community-set": {s.name for s in large},
            "as-path-set": {s.name for s in as_paths},
        }
    )
    policies = _policies(root, source, refs)
    global_apply = apply_policy_of(
        lambda rel: root.value("global." + rel), lambda rel: "global." + rel, source
    )
    config = PolicyConfig(
        prefix_sets=prefix_sets,
        neighbor_sets=neighbor_sets,
        community_sets=communities,
        ext_community_sets=ext,
        large_community_sets=large,
        as_path_sets=as_paths,
        policies=policies,
        global_apply=global_apply or ApplyPolicy(),
    )
    if global_apply is not None:
        check_apply_policy(global_apply, config, lambda rel: "global." + rel, source)
    return config
