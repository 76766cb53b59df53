"""The engine's routing policy and table queries (a mixin of
:class:`~bgprr.reflect.engine.ReflectionEngine`; the filters: :mod:`.policyapply`).

Policy API: ``set_policies(global_import=, global_export=, neighbors=)`` installs the
chains (:class:`~bgprr.reflect.policyapply.PolicyTable`), ``set_local_policy(key, imp,
exp)`` one route-server client's; either re-evaluates every Adj-RIB-In (kept before
policy) and moves neighbors whose export chain changed to their new update group, holding
what they were sent, so only differences go out and no session is reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bgprr.policy.types import PeerInfo, PolicyPoint
from bgprr.reflect.export import GroupKey, sent_form
from bgprr.reflect.neighbor import NeighborState
from bgprr.reflect.peering import group_key
from bgprr.reflect.policyapply import (
    AcceptAll,
    ExportFilter,
    FinalSets,
    ImportFilter,
    LocalRoutes,
    PolicyTable,
    Rib,
    same_sent,
)
from bgprr.reflect.tables import FamilyTable, SharedStates, StateFn
from bgprr.reflect.updategroup import Member, UpdateGroup
from bgprr.rib.adj import Change
from bgprr.rib.intern import InternTable
from bgprr.rib.path import Path
from bgprr.wire.constants import Family

__all__ = ["EnginePolicy"]


class EnginePolicy:
    """Policy and query methods of the engine (see the module docstring)."""

    _peers: dict[str, NeighborState]
    _policy: PolicyTable
    _imports: dict[int, ImportFilter]
    _infos: dict[int, PeerInfo]
    _finals: FinalSets
    _loop_check: bool
    _intern: InternTable
    _tables: dict[Family, FamilyTable]
    _rs_tables: dict[Family, FamilyTable]
    _log_limit: int
    _encode_keys: int
    local_as: int
    cluster_id: int
    shared_states: SharedStates

    if TYPE_CHECKING:

        def view_table(self, fam: Family, index: int) -> FamilyTable: ...

        def ranked(self, paths: list[Path]) -> list[Path]: ...

        def _apply_changes(
            self,
            fam: Family,
            index: int,
            changes: Iterator[Change] | list[Change],
            *,
            batch: bool = True,
            post: bool = False,
        ) -> int: ...

    # ------------------------------------------------------------------ policy

    def set_policies(
        self,
        *,
        global_import: PolicyPoint | None = None,
        global_export: PolicyPoint | None = None,
        neighbors: dict[str, tuple[PolicyPoint | None, PolicyPoint | None]] | None = None,
    ) -> None:
        """Install the routing policy (:class:`~bgprr.reflect.policyapply.PolicyTable`):
        the Adj-RIB-In of every neighbor is re-evaluated and neighbors whose export chain
        changed move to the right update group; only differences are sent."""
        self._policy = PolicyTable(global_import, global_export, dict(neighbors or {}))
        self._reapply()

    def set_local_policy(
        self, key: str, import_: PolicyPoint | None, export: PolicyPoint | None
    ) -> None:
        """A route-server client's own (import, export) chains (e.g. a dynamic neighbor's,
        set before :meth:`configure_peer`); only that neighbor is re-evaluated."""
        pol = self._policy
        neighbors = dict(pol.neighbors)
        if import_ is None and export is None:
            neighbors.pop(key, None)
        else:
            neighbors[key] = (import_, export)
        self._policy = PolicyTable(pol.global_import, pol.global_export, neighbors)
        peer = self._peers.get(key)
        if import_ is not None and import_.prepends_as and not self._loop_check:
            self._reapply()
        elif peer is not None:
            self._policy_peer(peer)
            self._regroup(peer)

    def policies(self) -> PolicyTable:
        return self._policy

    def peer_policies(self, key: str) -> tuple[PolicyPoint | None, PolicyPoint | None]:
        """The (import, export) chains that apply to the neighbor's routes."""
        return self._policy.chains(self._peers[key].settings)

    def _reapply(self) -> None:
        self._loop_check = self._policy.import_prepends or any(
            p.settings.allow_own_as for p in self._peers.values()
        )
        for peer in self._peers.values():
            self._policy_peer(peer)
        self._policy_local()
        for peer in self._peers.values():
            self._regroup(peer)

    def _regroup(self, peer: NeighborState) -> None:
        """Move the neighbor to the update groups its export chain now calls for."""
        for fam, m in list(peer.members.items()):
            if self._group_for(peer, fam)[0] != m.group.gkey:
                old = m.group
                held = old.held(m)
                old.leave(m)
                if not old.members:
                    del self.view_table(fam, peer.ref.index).groups[old.gkey]
                peer.members[fam] = self._join(peer, fam, (m, held, old.gkey))

    def _policy_peer(self, peer: NeighborState) -> None:
        """Apply the neighbor's current import chain to its Adj-RIB-In (differences)."""
        idx = peer.ref.index
        chain = self._policy.chains(peer.settings)[0]
        self._refilter(idx, chain, self._infos[idx], peer.rib_in)

    def _policy_local(self) -> None:
        """The global import chain on the locally originated routes (peer index -1)."""
        local = LocalRoutes({fam: t.local for fam, t in self._tables.items()})
        self._refilter(-1, self._policy.global_import, None, local)

    def _refilter(
        self, idx: int, chain: PolicyPoint | None, info: PeerInfo | None, rib: Rib
    ) -> None:
        f = self._imports.get(idx)
        if f is None:
            if chain is None:
                return
            f = self._imports[idx] = ImportFilter(chain, info, self._intern)
            f.adopt(rib)
        elif chain is not None and f.chain.identity == chain.identity:
            f.chain = chain
            return
        f.chain = chain or AcceptAll()
        for fam, changes in f.reevaluate(rib):
            self._apply_changes(fam, idx, changes, post=True)
        if chain is None:
            f.release_all(rib)
            del self._imports[idx]

    def _group_for(
        self, peer: NeighborState, fam: Family
    ) -> tuple[GroupKey, PolicyPoint | None, PeerInfo | None]:
        s = peer.settings
        caps = peer.caps
        assert caps is not None
        chain = self._policy.chains(s)[1]
        info = None
        export: tuple[object, ...] = ()
        if chain is not None:
            export = (chain.identity,)
            if chain.reads_peer:
                info = self._infos[peer.ref.index]
                export = (chain.identity, info)
        gkey = group_key(
            s,
            caps,
            fam,
            cluster_id=self.cluster_id,
            local_as=self.local_as,
            export=export,
            loop_check=self._loop_check,
        )
        return gkey, chain, info

    def _join(
        self,
        peer: NeighborState,
        fam: Family,
        prev: tuple[Member, dict[int, Any], GroupKey] | None = None,
    ) -> Member:
        """The neighbor joins its update group of ``fam`` (``prev``: moves from another
        group, with what it holds there)."""
        gkey, chain, info = self._group_for(peer, fam)
        table = self.view_table(fam, peer.ref.index)
        group = table.groups.get(gkey)
        if group is None:
            ex = None
            if chain is not None:
                ex = ExportFilter(
                    chain,
                    gkey,
                    peer=info,
                    local_as=self.local_as,
                    finals=self._finals,
                    intern=self._intern,
                    sources=self._infos.get,
                )
            group = table.groups[gkey] = UpdateGroup(
                gkey,
                StateFn(table, gkey, self.shared_states, self.ranked, ex),
                self.local_as,
                table.trie.keys(),
                self._log_limit,
                self._encode_keys,
            )
        if prev is None:
            return group.join(peer.settings.key, peer.ref.index)
        m, held, og = prev
        la = self.local_as
        return group.adopt(m, held, lambda a, b: same_sent(a, b, og, gkey, la))

    def adj_rib_in_post(self, key: str, family: Family) -> list[tuple[int, int, Path]]:
        """:meth:`adj_rib_in` after the import policy (rejected paths left out)."""
        peer = self._peers[key]
        f = self._imports.get(peer.ref.index)
        items = peer.rib_in.items(family)
        if f is None:
            return list(items)
        return [(k, i, p) for k, i, pre in items if (p := f.post(family, k, i, pre)) is not None]

    # ------------------------------------------------------------------ queries

    def loc_rib(
        self, family: Family, *, route_server: bool = False
    ) -> Iterator[tuple[int, Path, list[Path]]]:
        t = (self._rs_tables if route_server else self._tables).get(family)
        if t is None:
            return
        for k, d in t.trie.items():
            if d.best is not None:
                yield k, d.best, list(d.paths)

    def adj_rib_in(self, key: str, family: Family) -> list[tuple[int, int, Path]]:
        """(prefix key, received path id, Path), in prefix order (before import policy)."""
        return list(self._peers[key].rib_in.items(family))

    def adj_rib_out(self, key: str, family: Family) -> list[tuple[int, int, bytes, bytes]]:
        """What the neighbor was sent (as pulled so far): (prefix key, path id (0 without
        ADD-PATH), attribute block, next hop), in prefix order."""
        peer = self._peers[key]
        m = peer.members.get(family)
        if m is None:
            return []
        g = m.group
        res: list[tuple[int, int, bytes, bytes]] = []
        for k, st in sorted(g.held(m).items()):
            for e in st:
                res.append((k, e.path_id, *sent_form(e, g.gkey, self.local_as)))
        return res
