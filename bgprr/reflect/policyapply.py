"""Routing policy applied by the engine (gobgpd 3.10's places and order; docs/policy.md).

Import (:class:`ImportFilter`): a neighbor's Adj-RIB-In keeps what it sent (pre-policy);
the chain runs once per received path and the Loc-RIB gets the result: the same
:class:`~bgprr.rib.path.Path` when accepted unchanged, a new one with interned attributes
when rewritten, nothing when rejected (as a withdrawal). The filter keeps the post-policy
path of every pre-policy one, so a change of policy re-evaluates the Adj-RIB-In and
applies only the differences (:meth:`ImportFilter.reevaluate`).

Reference counts: with a filter, a pre-policy path holds one reference on its attributes
(released here when it leaves the Adj-RIB-In) and its post-policy path another (released by
the Loc-RIB, as without a filter, where the two are one object with one reference).

Export (:class:`ExportFilter`): per update group (its chain is part of the
:class:`~bgprr.reflect.export.GroupKey`), on the path as it would be sent (AS_PATH
prepended, next hop rewritten, reflection attributes added: gobgpd runs its export policy
after ``UpdatePathAttrs``), with the next hop from before the rewrite as
:attr:`~bgprr.policy.types.Route.old_next_hop`. LOCAL_PREF is removed afterwards towards
eBGP neighbors. The result is an entry flagged ``KIND_FINAL``: sent as it is. Final
attribute sets are shared by their bytes (a weak dictionary), so equal results are the
same object and export states compare equal across re-evaluations.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bgprr.policy.types import PeerInfo, PolicyPoint, Rewrite, Route
from bgprr.reflect.export import (
    KIND_FINAL,
    KIND_UNKNOWN,
    Entry,
    GroupKey,
    State,
    canonical_sent_form,
    sent_form,
)
from bgprr.reflect.types import PeerSettings
from bgprr.rib.adj import Change
from bgprr.rib.intern import AttrSet, InternTable
from bgprr.rib.path import Path
from bgprr.wire.attributes import strip_attributes
from bgprr.wire.constants import AttrType, Family

__all__ = [
    "ExportFilter",
    "FinalSets",
    "ImportFilter",
    "LocalRoutes",
    "PolicyTable",
    "same_sent",
]

_LOCAL_PREF = frozenset({AttrType.LOCAL_PREF})


@dataclass(frozen=True, slots=True)
class PolicyTable:
    """The chains the engine applies (gobgpd 3.10's table ids): the global import and
    export chains for every neighbor except route-server clients, which use their own
    (``neighbors``: key -> (import, export); missing or None: accept everything).
    """

    global_import: PolicyPoint | None = None
    global_export: PolicyPoint | None = None
    neighbors: Mapping[str, tuple[PolicyPoint | None, PolicyPoint | None]] = field(
        default_factory=dict
    )

    def chains(self, s: PeerSettings) -> tuple[PolicyPoint | None, PolicyPoint | None]:
        """(import, export) chains of neighbor ``s``."""
        if s.rs_client:
            return self.neighbors.get(s.key, (None, None))
        return self.global_import, self.global_export

    @property
    def import_prepends(self) -> bool:
        """Whether an import chain may add an AS to a path's AS_PATH (the local AS, so
        that iBGP export must check for it, as gobgpd does)."""
        chains = [self.global_import, *(p[0] for p in self.neighbors.values())]
        return any(c is not None and c.prepends_as for c in chains)


def _none(_key: int) -> None:
    return None


class AcceptAll:
    """A chain that accepts every route unchanged (used to undo a filter)."""

    identity: tuple[object, ...] = ("accept",)
    cacheable = True
    reads_peer = False
    prepends_as = False

    def apply(self, route: Route, peer: PeerInfo | None) -> AttrSet | Rewrite | None:
        return route.attrs

    def classifier(
        self, family: Family, attrs: AttrSet, source: PeerInfo | None, peer: PeerInfo | None
    ) -> Callable[[int], AttrSet | Rewrite | None]:
        return lambda _key: attrs


def same_sent(a: State, b: State, ga: GroupKey, gb: GroupKey, local_as: int) -> bool:
    """``a`` sent to group ``ga`` and ``b`` sent to ``gb`` put the same routes on the
    wire (an entry flagged unknown never does)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.path_id != y.path_id or (x.kind | y.kind) & KIND_UNKNOWN:
            return False
        if x.source != y.source:
            return False
        if sent_form(x, ga, local_as) != sent_form(y, gb, local_as):
            return False
    return True


class Rib(Protocol):
    """What a filter re-evaluates: an :class:`AdjRibIn`, or :class:`LocalRoutes`."""

    def families(self) -> list[Family]: ...

    def items(self, fam: Family) -> Iterator[tuple[int, int, Path]]: ...


class LocalRoutes:
    """The locally originated routes (per family: prefix key -> path) as a :class:`Rib`
    (gobgpd runs the global import chain on routes added through its API too)."""

    __slots__ = ("tables",)

    def __init__(self, tables: Mapping[Family, Mapping[int, Path]]) -> None:
        self.tables = tables

    def families(self) -> list[Family]:
        return list(self.tables)

    def items(self, fam: Family) -> Iterator[tuple[int, int, Path]]:
        for k, p in sorted(self.tables.get(fam, {}).items()):
            yield k, 0, p


class ImportFilter:
    """One neighbor's import chain and the post-policy path of each of its paths."""

    __slots__ = ("chain", "intern", "peer", "posts", "rejected")

    def __init__(self, chain: PolicyPoint, peer: PeerInfo | None, intern: InternTable) -> None:
        self.chain = chain
        self.peer = peer
        self.intern = intern
        # family -> (prefix key << 32 | path id) -> post-policy path (None: rejected), only
        # where it is not the pre-policy path itself (most paths pass unchanged: no entry)
        self.posts: dict[Family, dict[int, Path | None]] = {}
        self.rejected = 0  # paths of the Adj-RIB-In the chain rejects now

    def _post(self, fam: Family, k: int, pre: Path) -> Path | None:
        """Evaluate ``pre``; the result holds its own reference (None: rejected)."""
        peer = self.peer  # None: locally originated routes
        # gobgpd passes no neighbor to a route-server client's import chain
        verdict = self.chain.apply(
            Route(fam, k, pre.attrs, peer),
            None if peer is None or peer.route_server_client else peer,
        )
        if verdict is None:
            return None
        if verdict is pre.attrs:
            self.intern.retain(pre.attrs)
            return pre
        if isinstance(verdict, AttrSet):  # another interned set (not expected)
            self.intern.retain(verdict)
            attrs = verdict
        else:
            attrs = self.intern.intern(verdict.raw, verdict.next_hop)
        return Path(pre.peer, pre.path_id, attrs, pre.stale, pre.llgr_stale, pre.since)

    def translate(self, fam: Family, changes: Iterable[Change]) -> Iterator[Change]:
        """Adj-RIB-In changes (pre-policy) as Loc-RIB changes (post-policy). The hot
        path of import: :meth:`_post` inlined for the common verdicts."""
        posts = self.posts.setdefault(fam, {})
        intern = self.intern
        release, retain = intern.release, intern.retain
        classifier = self.chain.classifier
        source = self.peer  # None: locally originated routes
        # gobgpd passes no neighbor to a route-server client's import chain
        arg = None if source is None or source.route_server_client else source
        last: AttrSet | None = None
        classify: Callable[[int], AttrSet | Rewrite | None] = _none
        for k, pid, old, new in changes:
            rk = (k << 32) | pid
            post_old: Path | None = None
            if old is not None:
                post_old = posts.pop(rk, old)
                if post_old is None:
                    self.rejected -= 1
                release(old.attrs)
            post_new: Path | None = None
            if new is not None:
                pre_attrs = new.attrs
                if pre_attrs is not last:  # the changes of one UPDATE share their set
                    classify = classifier(fam, pre_attrs, source, arg)
                    last = pre_attrs
                verdict = classify(k)
                if verdict is pre_attrs:
                    retain(pre_attrs)
                    post_new = new
                elif verdict is None:
                    self.rejected += 1
                    posts[rk] = None
                else:
                    if isinstance(verdict, AttrSet):  # another interned set (not expected)
                        retain(verdict)
                        attrs = verdict
                    else:
                        attrs = intern.intern(verdict.raw, verdict.next_hop)
                    post_new = posts[rk] = Path(
                        new.peer, new.path_id, attrs, new.stale, new.llgr_stale, new.since
                    )
            if post_old is not None or post_new is not None:
                yield k, pid, post_old, post_new

    def adopt(self, rib: Rib) -> None:
        """Start on a neighbor that had no filter: every path is its own post-policy
        path (one more reference each); :meth:`reevaluate` then applies the chain."""
        retain = self.intern.retain
        for fam in rib.families():
            for _k, _pid, p in rib.items(fam):
                retain(p.attrs)

    def reevaluate(self, rib: Rib) -> Iterator[tuple[Family, list[Change]]]:
        """Run the (new) chain over the Adj-RIB-In; per family the Loc-RIB changes."""
        for fam in rib.families():
            posts = self.posts.setdefault(fam, {})
            changes: list[Change] = []
            for k, pid, pre in rib.items(fam):
                rk = (k << 32) | pid
                old = posts.get(rk, pre)
                new = self._post(fam, k, pre)
                if new is old or (new is not None and old is not None and new.attrs is old.attrs):
                    if new is not None:
                        self.intern.release(new.attrs)
                    continue
                if new is pre:
                    del posts[rk]
                else:
                    posts[rk] = new
                if old is None:
                    self.rejected -= 1
                if new is None:
                    self.rejected += 1
                changes.append((k, pid, old, new))
            yield fam, changes

    def release_all(self, rib: Rib) -> None:
        """Drop the filter once every post-policy path is the pre-policy one (after
        re-evaluating with an accept-all chain): one reference each is given back."""
        release = self.intern.release
        for fam in rib.families():
            for _k, _pid, p in rib.items(fam):
                release(p.attrs)
        self.posts.clear()

    def post(self, fam: Family, k: int, pid: int, pre: Path) -> Path | None:
        """The post-policy path of ``pre`` (the Adj-RIB-In's path ``k``, ``pid``)."""
        posts = self.posts.get(fam)
        return pre if posts is None else posts.get((k << 32) | pid, pre)


class FinalSet(AttrSet):
    """An attribute set as sent after an export policy: no ``__slots__`` of its own, so
    that it can be weakly referenced (plain AttrSets stay small)."""


class FinalSets:
    """Attribute sets as sent after an export policy, shared by their bytes while any
    export state holds them (not reference-counted: a weak dictionary)."""

    __slots__ = ("sets",)

    def __init__(self) -> None:
        self.sets: weakref.WeakValueDictionary[tuple[bytes, bytes], FinalSet] = (
            weakref.WeakValueDictionary()
        )

    def get(self, raw: bytes, next_hop: bytes) -> AttrSet:
        key = (raw, next_hop)
        a = self.sets.get(key)
        if a is None:
            a = self.sets[key] = FinalSet(raw, next_hop)
        return a


class ExportFilter:
    """The export chain of one update group (see the module docstring). ``peer``: the
    member's PeerInfo when the chain reads the peer (a group of one), else None."""

    __slots__ = ("cache", "chain", "finals", "g", "intern", "local_as", "peer", "sources")

    def __init__(
        self,
        chain: PolicyPoint,
        g: GroupKey,
        *,
        peer: PeerInfo | None,
        local_as: int,
        finals: FinalSets,
        intern: InternTable,
        sources: Callable[[int], PeerInfo | None],
    ) -> None:
        self.chain = chain
        self.g = g
        self.peer = peer
        self.local_as = local_as
        self.finals = finals
        self.intern = intern
        self.sources = sources
        # cacheable chains: (attrs, source, source bgp id, kind) -> final set or None
        self.cache: dict[tuple[AttrSet, int, int, int], AttrSet | None] = {}

    def entry(self, k: int, e: Entry) -> Entry | None:
        """``e`` as sent after the chain (None: rejected)."""
        cacheable = self.chain.cacheable
        ck = (e.attrs, e.source, e.source_bgp_id, e.kind)
        if cacheable:
            cache = self.cache
            try:
                final = cache[ck]
            except KeyError:
                if len(cache) > 2 * len(self.intern) + 1024:
                    cache.clear()
                final = cache[ck] = self._final(k, e)
        else:
            final = self._final(k, e)
        if final is None:
            return None
        return Entry(e.path_id, final, e.source, e.source_bgp_id, e.kind | KIND_FINAL)

    def _final(self, k: int, e: Entry) -> AttrSet | None:
        g = self.g
        raw, nh = canonical_sent_form(e._replace(kind=e.kind & ~KIND_UNKNOWN), g, self.local_as)
        finals = self.finals
        sent = finals.get(raw, nh)
        attrs = e.attrs
        old_nh = attrs.next_hop or (attrs.view.next_hop or b"")
        src = self.sources(e.source) if e.source >= 0 else None
        verdict = self.chain.apply(Route(g.family, k, sent, src, old_nh), self.peer)
        if verdict is None:
            return None
        if not isinstance(verdict, AttrSet) or verdict is not sent:
            raw, nh = verdict.raw, verdict.next_hop
        if g.ebgp and not g.rs_client:
            # gobgpd removes LOCAL_PREF after the export policy (which may have set it)
            raw = strip_attributes(raw, _LOCAL_PREF)
        return finals.get(raw, nh)
