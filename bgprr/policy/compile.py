"""Compile the configured policies once into :class:`PolicyPoint` objects.

    from bgprr.policy import compile_policies
    policies = compile_policies(config)
    point = policies.import_point(peer)      # the chain gobgpd would run; None: accept all
    verdict = point.apply(route, peer) if point else route.attrs

Evaluation is gobgpd 3.10's (internal/pkg/table/policy.go ``ApplyPolicy``): the policies
of the chain in order, the statements of each in order; a statement whose conditions
all hold runs its actions (the changes stay for the statements and policies after it)
and then its disposition: ``accept-route`` or ``reject-route`` ends the whole chain,
``none`` goes on.  When no statement decided, the chain's default does (accept unless
``reject-route``), and an accepted route keeps the changes made on the way.

Where a chain applies (gobgpd's table ids): routes from a neighbor go through the global
import chain, routes to a neighbor through the global export chain; for a route-server
client, its own ``apply-policy`` replaces the global one in both directions (import:
routes it sends; export: routes sent to it).  A neighbor's ``apply-policy`` is not used
for any other neighbor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bgprr.config.model import Config
from bgprr.config.policy_model import (
    ApplyPolicy,
    DefaultPolicy,
    Disposition,
    PolicyConfig,
    PolicyDefinition,
    Statement,
)
from bgprr.policy.actions import (
    Action,
    CommunitySetter,
    ExtCommunitySetter,
    LargeCommunitySetter,
    LocalPrefSetter,
    MedSetter,
    NextHopSetter,
    Prepender,
)
from bgprr.policy.conditions import (
    AfiSafiIn,
    AsPathCondition,
    AsPathLengthCondition,
    CommunityCondition,
    Condition,
    ExtCommunityCondition,
    LargeCommunityCondition,
    NeighborCondition,
    NextHopCondition,
    OriginCondition,
    PrefixCondition,
    RouteTypeCondition,
)
from bgprr.policy.types import Direction, PeerInfo, Route, Verdict
from bgprr.policy.work import Work
from bgprr.rib.intern import AttrSet
from bgprr.wire.constants import Family

__all__ = ["CACHE_SIZE", "ChainPoint", "Policies", "compile_policies"]

#: Verdicts a cacheable point keeps, per point (oldest dropped first).
CACHE_SIZE = 8192


class _Statement:
    __slots__ = ("actions", "conditions", "disposition", "name")
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]

    def __init__(self, statement: Statement, config: PolicyConfig) -> None:
        self.name = statement.name
        self.conditions = _conditions(statement, config)
        self.actions = _actions(statement)
        self.disposition = statement.actions.disposition

    def run(self, work: Work, route: Route, peer: PeerInfo | None) -> Disposition:
        for condition in self.conditions:
            if not condition.test(work, route, peer):
                return Disposition.NONE
        for action in self.actions:
            action.run(work, route, peer)
        return self.disposition


def _conditions(statement: Statement, config: PolicyConfig) -> tuple[Condition, ...]:
    """In gobgpd's order (prefix, neighbor, as-path length, route type, as-path,
    communities, extended, large, next hop, family), then origin-eq."""
    c = statement.conditions
    out: list[Condition] = []
    if c.prefix_set is not None:
        out.append(PrefixCondition(config.prefix_set(c.prefix_set.set_name), c.prefix_set.option))
    if c.neighbor_set is not None:
        out.append(
            NeighborCondition(config.neighbor_set(c.neighbor_set.set_name), c.neighbor_set.option)
        )
    if c.as_path_length is not None:
        out.append(AsPathLengthCondition(c.as_path_length))
    if c.route_type is not None:
        out.append(RouteTypeCondition(c.route_type))
    if c.as_path_set is not None:
        out.append(
            AsPathCondition(config.as_path_set(c.as_path_set.set_name), c.as_path_set.option)
        )
    if c.community_set is not None:
        found = config.community_set(c.community_set.set_name)
        out.append(CommunityCondition(found, c.community_set.option))
    if c.ext_community_set is not None:
        ext = config.ext_community_set(c.ext_community_set.set_name)
        out.append(ExtCommunityCondition(ext, c.ext_community_set.option))
    if c.large_community_set is not None:
        large = config.large_community_set(c.large_community_set.set_name)
        out.append(LargeCommunityCondition(large, c.large_community_set.option))
    if c.next_hop_in_list:
        out.append(NextHopCondition(c.next_hop_in_list))
    if c.afi_safi_in is not None:
        out.append(AfiSafiIn(c.afi_safi_in))
    if c.origin_eq is not None:
        out.append(OriginCondition(c.origin_eq))
    return tuple(out)


def _actions(statement: Statement) -> tuple[Action, ...]:
    a = statement.actions
    out: list[Action] = []
    if a.set_community is not None:
        out.append(CommunitySetter(a.set_community))
    if a.set_ext_community is not None:
        out.append(ExtCommunitySetter(a.set_ext_community))
    if a.set_large_community is not None:
        out.append(LargeCommunitySetter(a.set_large_community))
    if a.set_med is not None:
        out.append(MedSetter(a.set_med))
    if a.set_local_pref is not None:
        out.append(LocalPrefSetter(a.set_local_pref))
    if a.set_as_path_prepend is not None:
        out.append(Prepender(a.set_as_path_prepend))
    if a.set_next_hop is not None:
        out.append(NextHopSetter(a.set_next_hop))
    return tuple(out)


def _referenced_sets(policy: PolicyDefinition, config: PolicyConfig) -> tuple[object, ...]:
    """The content of every set the policy uses (part of a point's identity)."""
    out: list[object] = []
    for statement in policy.statements:
        c = statement.conditions
        for match, find in (
            (c.prefix_set, config.prefix_set),
            (c.neighbor_set, config.neighbor_set),
            (c.as_path_set, config.as_path_set),
            (c.community_set, config.community_set),
            (c.ext_community_set, config.ext_community_set),
            (c.large_community_set, config.large_community_set),
        ):
            if match is not None:
                out.append(find(match.set_name))
    return tuple(out)


class ChainPoint:
    """A compiled chain for one attach point and direction (a :class:`PolicyPoint`)."""

    __slots__ = (
        "_cache",
        "_cacheable",
        "_prepends_as",
        "_reads_peer",
        "_split",
        "attach",
        "default",
        "direction",
        "identity",
        "policies",
    )

    def __init__(
        self,
        attach: str,
        direction: Direction,
        policies: tuple[PolicyDefinition, ...],
        default: DefaultPolicy,
        config: PolicyConfig,
    ) -> None:
        self.attach = attach  # "global", or the neighbor / peer group it belongs to
        self.direction = direction
        self.default = default
        self.policies = tuple(
            (p.name, tuple(_Statement(s, config) for s in p.statements)) for p in policies
        )
        self.identity: tuple[object, ...] = (
            direction.value,
            default.value,
            tuple((p, _referenced_sets(p, config)) for p in policies),
        )
        parts: list[Condition | Action] = []
        for _name, statements in self.policies:
            for st in statements:
                parts.extend(st.conditions)
                parts.extend(st.actions)
        self._cacheable = not any(
            (isinstance(part, Condition) and part.reads_prefix) or part.reads_route
            for part in parts
        )
        self._reads_peer = any(part.reads_peer for part in parts)
        self._prepends_as = any(isinstance(part, Prepender) for part in parts)
        # Where the prefix is read only by match-prefix-set: the verdict depends on the
        # AttrSet, the peer, the family and which of those sets match, so it is cached
        # under that key (one trie lookup per set and route instead of the whole chain).
        prefix_conds = [p for p in parts if isinstance(p, Condition) and p.reads_prefix]
        self._split: tuple[PrefixCondition, ...] | None = None
        if (
            not self._cacheable
            and all(isinstance(c, PrefixCondition) for c in prefix_conds)
            and not any(part.reads_route for part in parts)
        ):
            self._split = tuple(c for c in prefix_conds if isinstance(c, PrefixCondition))
        self._cache: dict[tuple[object, ...], Verdict] = {}

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.policies)
        return f"ChainPoint({self.attach} {self.direction.value}: [{names}], {self.default.value})"

    @property
    def cacheable(self) -> bool:
        return self._cacheable

    @property
    def reads_peer(self) -> bool:
        return self._reads_peer

    @property
    def prepends_as(self) -> bool:
        return self._prepends_as

    def apply(self, route: Route, peer: PeerInfo | None) -> Verdict:
        key: tuple[object, ...]
        if self._cacheable:
            key = (route.attrs, route.old_next_hop, peer if self._reads_peer else None)
        elif self._split is not None:
            split = self._split
            key = (
                route.attrs,
                route.old_next_hop,
                peer if self._reads_peer else None,
                route.family,
                split[0].test_route(route)
                if len(split) == 1
                else tuple([c.test_route(route) for c in split]),
            )
        else:
            return self._evaluate(route, peer)
        cache = self._cache
        try:
            return cache[key]
        except KeyError:
            pass
        verdict = self._evaluate(route, peer)
        if len(cache) >= CACHE_SIZE:
            del cache[next(iter(cache))]
        cache[key] = verdict
        return verdict

    def classifier(
        self, family: Family, attrs: AttrSet, source: PeerInfo | None, peer: PeerInfo | None
    ) -> Callable[[int], Verdict]:
        if self._cacheable:
            verdict = self.apply(Route(family, 0, attrs, source), peer)
            return lambda _key: verdict
        split = self._split
        if split is None or len(split) != 1:
            return lambda key: self.apply(Route(family, key, attrs, source), peer)
        cond = split[0]
        if family[0] != cond.afi:  # the set never matches: one verdict for all
            verdict = self.apply(Route(family, 0, attrs, source), peer)
            return lambda _key: verdict
        match, invert = cond.matcher.match, cond.invert
        known: list[Verdict | None] = [None, None]
        done = [False, False]

        def classify(key: int) -> Verdict:
            i = 1 if match(key) != invert else 0
            if done[i]:
                return known[i]
            v = known[i] = self.apply(Route(family, key, attrs, source), peer)
            done[i] = True
            return v

        return classify

    def _evaluate(self, route: Route, peer: PeerInfo | None) -> Verdict:
        work = Work(route.attrs)
        for _name, statements in self.policies:
            for statement in statements:
                result = statement.run(work, route, peer)
                if result is Disposition.ACCEPT:
                    return work.verdict(route.attrs)
                if result is Disposition.REJECT:
                    return None
        if self.default is DefaultPolicy.REJECT:
            return None
        return work.verdict(route.attrs)


def _point(
    attach: str, direction: Direction, apply: ApplyPolicy, config: PolicyConfig
) -> ChainPoint | None:
    """None when the chain accepts every route unchanged (no policy, default accept)."""
    if direction is Direction.IMPORT:
        names, default = apply.import_policies, apply.default_import
    else:
        names, default = apply.export_policies, apply.default_export
    if not names and default is DefaultPolicy.ACCEPT:
        return None
    policies = tuple(config.policy(name) for name in names)
    return ChainPoint(attach, direction, policies, default, config)


@dataclass(frozen=True, slots=True)
class Policies:
    """The compiled points of one configuration.

    ``global_import`` / ``global_export``: the chains of ``[global.apply-policy]``.
    ``neighbors`` / ``peer_groups``: per address / group name, the (import, export)
    chains of its own ``apply-policy`` (gobgpd uses them for route-server clients only;
    a neighbor without one is not listed).  None stands for a chain that accepts every
    route unchanged.
    """

    global_import: ChainPoint | None = None
    global_export: ChainPoint | None = None
    neighbors: Mapping[str, tuple[ChainPoint | None, ChainPoint | None]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    peer_groups: Mapping[str, tuple[ChainPoint | None, ChainPoint | None]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def global_point(self, direction: Direction) -> ChainPoint | None:
        return self.global_import if direction is Direction.IMPORT else self.global_export

    def neighbor_point(
        self, key: str, direction: Direction, peer_group: str | None = None
    ) -> ChainPoint | None:
        """The neighbor's own chain (a dynamic neighbor: its peer group's); None when it
        has no apply-policy or it accepts everything."""
        pair = self.neighbors.get(key)
        if pair is None and peer_group is not None:
            pair = self.peer_groups.get(peer_group)
        if pair is None:
            return None
        return pair[0] if direction is Direction.IMPORT else pair[1]

    def point_for(
        self, direction: Direction, peer: PeerInfo | None, peer_group: str | None = None
    ) -> ChainPoint | None:
        """The chain gobgpd 3.10 runs: import, ``peer`` the neighbor the route came from
        (None: a local route); export, the neighbor it goes to.  A route-server client's
        own chain (accept-all when it has no apply-policy); anyone else: the global one."""
        if peer is not None and peer.route_server_client:
            return self.neighbor_point(peer.key, direction, peer_group)
        return self.global_point(direction)

    def import_point(
        self, peer: PeerInfo | None, peer_group: str | None = None
    ) -> ChainPoint | None:
        return self.point_for(Direction.IMPORT, peer, peer_group)

    def export_point(self, peer: PeerInfo, peer_group: str | None = None) -> ChainPoint | None:
        return self.point_for(Direction.EXPORT, peer, peer_group)


def _pair(
    attach: str, apply: ApplyPolicy, config: PolicyConfig
) -> tuple[ChainPoint | None, ChainPoint | None]:
    return (
        _point(attach, Direction.IMPORT, apply, config),
        _point(attach, Direction.EXPORT, apply, config),
    )


def compile_policies(config: Config) -> Policies:
    """Compile ``config``'s policies (checked at load: every name resolves).  Pure and
    deterministic: equal configurations give points with equal identities."""
    policy = config.policy
    neighbors: dict[str, tuple[ChainPoint | None, ChainPoint | None]] = {}
    for neighbor in config.neighbors:
        if neighbor.apply_policy is not None:
            neighbors[neighbor.address] = _pair(neighbor.address, neighbor.apply_policy, policy)
    groups: dict[str, tuple[ChainPoint | None, ChainPoint | None]] = {}
    for group in config.peer_groups:
        if group.apply_policy is not None:
            groups[group.name] = _pair(f"peer-group {group.name}", group.apply_policy, policy)
    return Policies(
        global_import=_point("global", Direction.IMPORT, policy.global_apply, policy),
        global_export=_point("global", Direction.EXPORT, policy.global_apply, policy),
        neighbors=MappingProxyType(neighbors),
        peer_groups=MappingProxyType(groups),
    )
