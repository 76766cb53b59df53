"""The route-reflection engine: pure, bytes and ``now`` in, events and bytes (pulled) out.

API (driven by the asyncio layer; every call that can depend on time takes ``now``)::

    r = ReflectionEngine(router_id=..., local_as=..., cluster_id=..., restarting=False,
                  deferral_time=360.0, expected_peers=frozenset(), now=now,
                  best_path_events=False, multipath_events=False,
                  log_limit=1 << 20, encode_keys=2000)
    r.configure_peer(PeerSettings(...))          # add or replace (replace: peer must be down)
    r.remove_peer(key, now)
    r.peer_established(key, PeerCaps(...), now)
    r.peer_down(key, now, graceful=False)
    r.update_received(key, update, now)          # a decoded bgprr.wire.update.Update
    r.route_refresh_received(key, afi, safi, subtype, now)
    r.originate(family, key, attrs_raw, next_hop, now) / r.withdraw_local(family, key, now)
    r.next_timer() -> float | None ; r.handle_timer(now)
    r.dirty_peers() -> list[str] ; r.pull(key, max_bytes) -> list[bytes]
    r.poll_events() -> list[Event]
    r.loc_rib(family, route_server=False) ; r.adj_rib_in(key, family)
    r.adj_rib_out(key, family) ; r.counters(key)

Tables (:mod:`bgprr.reflect.tables`): per family a dict ``prefix key -> Destination``
(exact match, the hot path) and a RadixTrie holding the same destinations, touched only
when a destination appears or disappears (ordered walks). Adj-RIB-In per neighbor: an
:class:`~bgprr.rib.adj.AdjRibIn`, whose changes the engine applies to the Loc-RIB.
Attributes are interned (one reference per path, released when it goes).

Reflection (RFC 4456): see :mod:`bgprr.reflect.export` (who gets what, attributes) and
:mod:`bgprr.reflect.updategroup` (encode once, pull-based output). A received path whose
ORIGINATOR_ID is our router id or whose CLUSTER_LIST holds any cluster id we use (global or
per neighbor) is treated as withdrawn and counted (``looped``); so is one whose AS_PATH
holds the local AS beyond ``allow_own_as`` (``as_loop``). eBGP export and route-server
clients (their own Loc-RIB, ``table(fam, route_server=True)``): docs/ebgp.md.

Graceful restart helper (RFC 4724, RFC 9494) and the restarting speaker: the pure machine
of :mod:`bgprr.reflect.gr` decides, the engine applies its actions. Dynamic neighbors and
the restarting speaker: ``expected_peers`` is what the IO layer saved (state file) of
neighbors that were Established before the restart, dynamic ones included; any neighbor
that reaches Established during the deferral is waited for as well; a dynamic neighbor
that does not come back is waited for until ``deferral_time``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bgprr.policy.types import PeerInfo
from bgprr.reflect.aspath import own_as_loop
from bgprr.reflect.enginepolicy import EnginePolicy
from bgprr.reflect.export import (
    route_refresh_message,
)
from bgprr.reflect.gr import (
    DeferralEnded,
    DropPaths,
    EnterLlgr,
    GrAction,
    GrCaps,
    GrMachine,
    MarkStale,
)
from bgprr.reflect.limits import check_limit
from bgprr.reflect.neighbor import NeighborState
from bgprr.reflect.peering import peer_info
from bgprr.reflect.policyapply import FinalSets, ImportFilter, PolicyTable
from bgprr.reflect.tables import Destination, FamilyTable, SharedStates
from bgprr.reflect.types import (
    BestPathChanged,
    EndOfRibReceived,
    EndOfRibSent,
    Event,
    PeerCaps,
    PeerCounters,
    PeerReset,
    PeerSettings,
    SelectionDeferralEnded,
    StaleFlushed,
)
from bgprr.reflect.updategroup import (
    DEFAULT_LOG_LIMIT,
    ENCODE_KEYS,
    TRIM_BYTES,
)
from bgprr.rib.adj import Change
from bgprr.rib.intern import AttrSet, InternTable
from bgprr.rib.path import Path, equal_cost_paths, select_best
from bgprr.wire.attributes import add_community
from bgprr.wire.constants import IPV4_UNICAST, LLGR_STALE, Family, RouteRefreshSubtype
from bgprr.wire.errors import Action
from bgprr.wire.update import Update, eor_family

__all__ = ["ReflectionEngine"]


class ReflectionEngine(EnginePolicy):
    """A route reflector's tables and output state (see the module docstring); routing
    policy and queries: :class:`~bgprr.reflect.enginepolicy.EnginePolicy`."""

    def __init__(
        self,
        *,
        router_id: int,
        local_as: int,
        cluster_id: int,
        restarting: bool = False,
        deferral_time: float = 360.0,
        expected_peers: frozenset[str] = frozenset(),
        now: float,
        best_path_events: bool = False,
        multipath_events: bool = False,
        log_limit: int = DEFAULT_LOG_LIMIT,
        encode_keys: int = ENCODE_KEYS,
    ) -> None:
        self.router_id = router_id
        self.local_as = local_as
        self.cluster_id = cluster_id
        self._best_events = best_path_events
        # BestPathChanged carries the equal-cost set (types.BestPathChanged)
        self._multipath = best_path_events and multipath_events
        self._log_limit = log_limit
        self._encode_keys = encode_keys
        self._intern = InternTable()
        self._tables: dict[Family, FamilyTable] = {}
        # RFC 7947: the route-server clients' own Loc-RIB (GoBGP keeps them apart: routes
        # of clients go to clients only, the others' to the others only)
        self._rs_tables: dict[Family, FamilyTable] = {}
        self._rs_index: set[int] = set()  # peer indexes of the route-server clients
        self._peers: dict[str, NeighborState] = {}
        self._events: list[Event] = []
        self._dirty: set[str] = set()  # peers that had work at the last dirty_peers()
        self.pull_full = False  # the last pull() stopped at its budget
        self.shared_states = SharedStates(self._intern)  # see tables.StateFn
        self._cluster_ids: frozenset[int] = frozenset({cluster_id})
        self._next_index = 0
        self._policy = PolicyTable()  # routing policy (policyapply)
        self._imports: dict[int, ImportFilter] = {}  # per peer index with an import chain
        self._infos: dict[int, PeerInfo] = {}  # per peer index: the neighbor as policy sees it
        self._finals = FinalSets()
        self._loop_check = False  # some path may hold the local AS (GroupKey.loop_as)
        self.gr = GrMachine(
            restarting=restarting, defer_deadline=now + deferral_time, expected=expected_peers
        )
        self._gr_apply: dict[type, Callable[[Any], None]] = {
            MarkStale: self._mark_stale,
            DropPaths: self._drop_paths,
            EnterLlgr: self._enter_llgr,
            DeferralEnded: self._deferral_ended,
        }

    @property
    def deferring(self) -> bool:
        """Restarting speaker: no output until the selection deferral ends."""
        return self.gr.deferring

    # ------------------------------------------------------------------ configuration

    def configure_peer(self, settings: PeerSettings) -> None:
        old = self._peers.get(settings.key)
        if old is not None:
            if old.up:
                raise ValueError(f"peer {settings.key} is up: take it down first")
            old.settings = settings
            ref = old.ref
            ref.address, ref.asn = settings.address, settings.asn
            ref.ebgp, ref.client = settings.ebgp, settings.client
            if old.rib_in.total() and (ref.index in self._rs_index) != settings.rs_client:
                raise ValueError(f"peer {settings.key} holds routes: remove it first")
        else:
            # never reused: group states may still name a removed neighbor's index
            self._peers[settings.key] = NeighborState(settings, self._next_index)
            self._next_index += 1
        index = self._peers[settings.key].ref.index
        if settings.rs_client:
            self._rs_index.add(index)
        else:
            self._rs_index.discard(index)
        self.gr.configure(
            settings.key,
            stale_path_time=settings.stale_path_time,
            llgr_max_stale_time=settings.llgr_max_stale_time,
        )
        self._update_cluster_ids()
        peer = self._peers[settings.key]
        self._infos[index] = peer_info(settings, peer.caps, local_as=self.local_as)
        if settings.allow_own_as and not self._loop_check:
            self._reapply()
        else:
            self._policy_peer(peer)

    def remove_peer(self, key: str, now: float) -> None:
        peer = self._peers.get(key)
        if peer is None:
            return
        self.peer_down(key, now, graceful=False)
        for fam in peer.rib_in.families():
            self._apply_changes(fam, peer.ref.index, peer.rib_in.take(fam, only_stale=False))
        self._apply(self.gr.forget(key))
        del self._peers[key]
        self._imports.pop(peer.ref.index, None)
        self._infos.pop(peer.ref.index, None)
        pol = self._policy
        if key in pol.neighbors:
            rest = {k: v for k, v in pol.neighbors.items() if k != key}
            self._policy = PolicyTable(pol.global_import, pol.global_export, rest)
        self._rs_index.discard(peer.ref.index)
        self._update_cluster_ids()
        self.shared_states.released()

    def holds_routes(self, key: str) -> bool:
        """Removing the neighbor would lose something: its Adj-RIB-In holds paths (stale
        ones under graceful restart included), or a restarting speaker still waits for
        its End-of-RIB (RFC 4724 §4.1)."""
        peer = self._peers.get(key)
        if peer is not None and peer.rib_in.total():
            return True
        return self.gr.awaits(key)

    def _update_cluster_ids(self) -> None:
        ids = {self.cluster_id}
        for p in self._peers.values():
            if p.settings.cluster_id is not None:
                ids.add(p.settings.cluster_id)
        self._cluster_ids = frozenset(ids)

    # ------------------------------------------------------------------ sessions

    def peer_established(self, key: str, caps: PeerCaps, now: float) -> None:
        peer = self._peers[key]
        if peer.up:
            self.peer_down(key, now, graceful=False)
        s = peer.settings
        peer.caps = caps
        peer.up = True
        peer.reset_pending = False
        peer.warned.clear()
        peer.ref.bgp_id = caps.bgp_id
        info = self._infos[peer.ref.index] = peer_info(s, caps, local_as=self.local_as)
        f = self._imports.get(peer.ref.index)
        if f is not None:
            f.peer = info
        fams = caps.families & s.families if s.families else caps.families
        for fam in sorted(fams):
            peer.members[fam] = self._join(peer, fam)
            peer.rib_in.enable(fam)
        gr_caps = GrCaps(
            families=caps.families,
            restart_time=caps.gr_restart_time,
            gr_families=caps.gr_families,
            forwarding=caps.gr_forwarding,
            llgr=caps.llgr,
        )
        held = peer.rib_in.families()
        self._apply(self.gr.peer_established(key, gr_caps, families=fams, held=held, now=now))
        for fam in held:
            if fam not in fams:
                peer.rib_in.disable(fam)

    def peer_down(self, key: str, now: float, *, graceful: bool) -> None:
        peer = self._peers[key]
        if not peer.up:
            return
        peer.up = False
        peer.refreshing.clear()
        for fam, m in peer.members.items():
            group = m.group
            group.leave(m)
            if not group.members:
                del self.view_table(fam, peer.ref.index).groups[group.gkey]
        peer.members.clear()
        self._apply(
            self.gr.peer_down(key, graceful=graceful, families=peer.rib_in.families(), now=now)
        )

    def families(self, key: str) -> list[Family]:
        """Families in which the neighbor's session exchanges routes (while up)."""
        return sorted(self._peers[key].members)

    # ------------------------------------------------------------------ input

    def update_received(self, key: str, update: Update, now: float) -> None:
        peer = self._peers[key]
        if not peer.up or peer.reset_pending:
            return
        fam = eor_family(update)
        if fam is not None:
            if fam in peer.members:
                self._events.append(EndOfRibReceived(key=key, family=fam))
                self._apply(self.gr.eor_received(key, fam, now))
            return
        for err in update.errors:
            if err.action >= Action.AFISAFI_DISABLE:
                self._events.append(
                    PeerReset(
                        key=key,
                        code=err.code,
                        subcode=err.subcode,
                        data=err.data,
                        reason=f"AFI/SAFI disable: {err.describe()}",
                    )
                )
                peer.reset_pending = True
                return
        taw = update.treat_as_withdraw
        touched: list[Family] = []
        if update.withdrawn:
            self._withdraw(peer, IPV4_UNICAST, update.withdrawn, update.withdrawn_ids)
        mu = update.mp_unreach
        if mu is not None and mu.withdrawn:
            self._withdraw(peer, (mu.afi, mu.safi), mu.withdrawn, mu.withdrawn_ids)
        if update.nlri:
            if taw:
                peer.counts.treat_as_withdraw += len(update.nlri)
                self._withdraw(peer, IPV4_UNICAST, update.nlri, update.nlri_ids, count=False)
            else:
                self._announce(
                    peer, IPV4_UNICAST, update.nlri, update.nlri_ids, update.attrs, b"", now
                )
                touched.append(IPV4_UNICAST)
        mr = update.mp_reach
        if mr is not None and mr.nlri:
            mfam = (mr.afi, mr.safi)
            if taw:
                peer.counts.treat_as_withdraw += len(mr.nlri)
                self._withdraw(peer, mfam, mr.nlri, mr.nlri_ids, count=False)
            else:
                self._announce(peer, mfam, mr.nlri, mr.nlri_ids, update.attrs, mr.next_hop, now)
                touched.append(mfam)
        for tfam in touched:
            self._check_limit(peer, tfam)

    def _announce(
        self,
        peer: NeighborState,
        fam: Family,
        keys: list[int],
        ids: list[int] | None,
        raw: bytes,
        next_hop: bytes,
        now: float,
    ) -> None:
        rib = peer.rib_in
        if fam not in rib:
            return  # family not negotiated with this neighbor: ignored
        counts = peer.counts
        counts.received += len(keys)
        intern = self._intern
        attrs = intern.intern(raw, next_hop)
        created = 0  # new paths, each holding a reference on attrs (taken at the end)
        try:
            if attrs.originator_id == self.router_id or not self._cluster_ids.isdisjoint(
                attrs.cluster_list
            ):
                counts.looped += len(keys)
                self._withdraw(peer, fam, keys, ids, count=False)
                return
            s = peer.settings
            if own_as_loop(attrs.raw, s.local_as or self.local_as, s.allow_own_as):
                counts.as_loop += len(keys)  # RFC 4271 §9.1.2: as treat-as-withdraw
                self._withdraw(peer, fam, keys, ids, count=False)
                return
            # RFC 9494 §4.3: a path received with LLGR_STALE is least preferred too
            changes, dups = rib.announce(
                fam, peer.ref, keys, ids, attrs, LLGR_STALE in attrs.communities, now
            )
            counts.duplicates += dups
            created = len(changes)
            self._apply_changes(fam, peer.ref.index, changes)
        finally:
            if created:
                intern.retain(attrs, created)
            intern.release(attrs)

    def _withdraw(
        self,
        peer: NeighborState,
        fam: Family,
        keys: list[int],
        ids: list[int] | None,
        *,
        count: bool = True,
    ) -> None:
        if fam not in peer.rib_in:
            return
        if count:
            peer.counts.withdrawn += len(keys)
        self._apply_changes(fam, peer.ref.index, peer.rib_in.withdraw(fam, keys, ids))

    def _apply_changes(
        self,
        fam: Family,
        index: int,
        changes: Iterable[Change],
        *,
        batch: bool = True,
        post: bool = False,
    ) -> int:
        """Apply changes of the Adj-RIB-In of neighbor ``index`` to the Loc-RIB (through
        its import chain unless ``post``: already post-policy); returns how many. With
        ``batch``, update groups are marked once for all prefixes whose best path changed;
        otherwise each change marks them at once."""
        if not post:
            f = self._imports.get(index)
            if f is not None:
                changes = f.translate(fam, changes)
        table = self.view_table(fam, index)
        set_path = self.set_path
        marks: list[int] | None = [] if batch else None
        n = 0
        for k, pid, old, new in changes:
            set_path(table, k, (index, pid), new, old, marks)
            n += 1
        if marks:
            self._mark_all(table, marks)
        return n

    def _check_limit(self, peer: NeighborState, fam: Family) -> None:
        limit = peer.settings.prefix_limits.get(fam)
        if limit is None:
            return
        ev = check_limit(peer.settings.key, fam, limit, peer.rib_in.count(fam), peer.warned)
        if ev is not None:
            self._events.append(ev)
            if isinstance(ev, PeerReset):
                peer.reset_pending = True

    def route_refresh_received(
        self, key: str, afi: int, safi: int, subtype: int, now: float
    ) -> None:
        """ROUTE-REFRESH from the neighbor. NORMAL: re-send it our Adj-RIB-Out (between
        BoRR and EoRR when enhanced route refresh was negotiated). BoRR/EoRR (RFC 7313
        §4.2, it re-sends us its routes): on BoRR its paths of the family are marked stale,
        re-announced ones are unmarked, and on EoRR those still stale are removed."""
        fam = (afi, safi)
        peer = self._peers[key]
        if subtype == RouteRefreshSubtype.BORR:
            if peer.up and peer.rib_in.mark_stale(fam):
                peer.refreshing.add(fam)
            return
        if subtype == RouteRefreshSubtype.EORR:
            if fam in peer.refreshing:
                peer.refreshing.discard(fam)
                n = self.drop_paths(peer, fam, only_stale=True)
                self._events.append(
                    StaleFlushed(key=key, family=fam, count=n, reason="Enhanced Route Refresh")
                )
            return
        m = peer.members.get(fam)
        if m is None or subtype != RouteRefreshSubtype.NORMAL:
            return
        caps = peer.caps
        borr = None
        if caps is not None and caps.enhanced_rr:
            borr = route_refresh_message(fam, RouteRefreshSubtype.BORR)
        m.group.refresh(m, borr)

    # ------------------------------------------------------------------ local routes

    def originate(
        self, family: Family, key: int, attrs_raw: bytes, next_hop: bytes, now: float
    ) -> None:
        table = self.table(family)
        attrs = self._intern.intern(attrs_raw, next_hop)
        old = table.local.get(key)
        if old is not None and old.attrs is attrs:
            self._intern.release(attrs)
            return
        path = Path(peer=None, path_id=0, attrs=attrs, since=now)
        table.local[key] = path
        self._apply_changes(family, -1, [(key, 0, old, path)])  # global import chain

    def withdraw_local(self, family: Family, key: int, now: float) -> None:
        table = self.table(family)
        old = table.local.pop(key, None)
        if old is not None:
            self._apply_changes(family, -1, [(key, 0, old, None)])

    # ------------------------------------------------------------------ Loc-RIB core

    def table(self, fam: Family, *, route_server: bool = False) -> FamilyTable:
        """The Loc-RIB of ``fam`` (``route_server``: the route-server clients' one)."""
        tables = self._rs_tables if route_server else self._tables
        t = tables.get(fam)
        if t is None:
            t = tables[fam] = FamilyTable(fam)
        return t

    def view_table(self, fam: Family, index: int) -> FamilyTable:
        """The Loc-RIB that neighbor ``index`` feeds and is fed from."""
        return self.table(fam, route_server=index in self._rs_index)

    def set_path(
        self,
        table: FamilyTable,
        k: int,
        pk: tuple[int, int],
        new: Path | None,
        old: Path | None,
        marks: list[int] | None = None,
    ) -> None:
        """Replace ``old`` by ``new`` (either may be None) at prefix ``k``; ``pk`` is the
        path's (peer index, received path id). Releases ``old``'s attributes. A change of
        best path marks ``k`` in every update group, or is appended to ``marks`` (the
        caller then marks the whole batch with ``mark_many``)."""
        d = table.dests.get(k)
        if d is None:  # a new destination (``old`` is None): ``new`` is its best path
            if new is None:
                return
            table.dests[k] = Destination(k, new)
            table.trie.added(k)  # the trie shares table.dests
            self._best_changed(table, k, new, marks, None)
            return
        paths = d.paths
        before = equal_cost_paths(paths, d.best) if self._multipath else ()
        replaced = False
        if old is not None:
            for i, p in enumerate(paths):
                if p is old:
                    if new is not None:
                        paths[i] = new
                        replaced = True
                    else:
                        del paths[i]
                        if d.ids is not None:
                            d.ids.pop(pk, None)
                    break
            self._intern.release(old.attrs)
        if new is not None and not replaced:
            paths.append(new)
        prev = d.best
        d.best = best = select_best(paths, router_id=self.router_id)
        if not paths:
            del table.dests[k]
            table.trie.removed(k)
        if best is not prev:
            self._best_changed(table, k, best, marks, paths)
        else:
            for g in table.groups.values():
                if g.gkey.addpath or g.gkey.rs_client:  # their state is not just the best
                    g.mark(k)
            if self._multipath:
                after = equal_cost_paths(paths, best)
                if len(after) != len(before) or any(
                    x is not y for x, y in zip(after, before, strict=True)
                ):
                    self._events.append(
                        BestPathChanged(family=table.family, key=k, best=best, multipath=after)
                    )

    def _best_changed(
        self,
        table: FamilyTable,
        k: int,
        best: Path | None,
        marks: list[int] | None,
        paths: list[Path] | None,
    ) -> None:
        if marks is not None:
            marks.append(k)
        else:
            for g in table.groups.values():
                g.mark(k)
        if self._best_events:
            multipath: tuple[Path, ...] = ()
            if self._multipath and best is not None:
                multipath = (best,) if paths is None else equal_cost_paths(paths, best)
            self._events.append(
                BestPathChanged(family=table.family, key=k, best=best, multipath=multipath)
            )

    @staticmethod
    def _mark_all(table: FamilyTable, marks: list[int]) -> None:
        """Mark a batch of prefixes (collected by ``set_path``) in every update group."""
        if marks:
            for g in table.groups.values():
                g.mark_many(marks)

    def drop_paths(self, peer: NeighborState, fam: Family, *, only_stale: bool) -> int:
        """Withdraw the neighbor's paths of a family (only the stale ones); returns count."""
        taken = peer.rib_in.take(fam, only_stale=only_stale)
        return self._apply_changes(fam, peer.ref.index, taken)

    # ------------------------------------------------------------------ GR actions

    def _apply(self, actions: list[GrAction]) -> None:
        for a in actions:
            self._gr_apply[type(a)](a)

    def _mark_stale(self, a: MarkStale) -> None:
        self._peers[a.key].rib_in.mark_stale(a.family)

    def _drop_paths(self, a: DropPaths) -> None:
        n = self.drop_paths(self._peers[a.key], a.family, only_stale=a.only_stale)
        if n:
            self.shared_states.released()
        if a.report or (n and a.only_stale):
            self._events.append(StaleFlushed(key=a.key, family=a.family, count=n, reason=a.reason))

    def _enter_llgr(self, a: EnterLlgr) -> None:
        peer = self._peers[a.key]
        intern = self._intern

        def derive(attrs: AttrSet) -> AttrSet:
            return intern.derive(attrs, add_community(attrs.raw, LLGR_STALE))

        changes = peer.rib_in.mark_llgr(a.family, derive)
        self._apply_changes(a.family, peer.ref.index, changes, batch=False)

    def _deferral_ended(self, a: DeferralEnded) -> None:
        self._events.append(SelectionDeferralEnded(reason=a.reason))

    @property
    def intern_table(self) -> InternTable:
        return self._intern

    def ranked(self, paths: list[Path]) -> list[Path]:
        """Paths in best-path order (repeated selection; path counts per prefix are small)."""
        rest = list(paths)
        out: list[Path] = []
        while rest:
            b = select_best(rest, router_id=self.router_id)
            assert b is not None
            out.append(b)
            rest = [p for p in rest if p is not b]
        return out

    # ------------------------------------------------------------------ output

    def dirty_peers(self) -> list[str]:
        """Neighbors with something to pull. Only candidates are checked: the peers that had
        work last time, and the members of groups touched since (not every peer). Called
        once per flush, it also trims update-group logs beyond ``TRIM_BYTES``."""
        if self.gr.deferring:
            return []
        cand = self._dirty
        for t in (*self._tables.values(), *self._rs_tables.values()):
            for g in t.groups.values():
                if g.log_bytes > TRIM_BYTES:
                    g.trim()
                if g.touched:
                    g.touched = False
                    cand.update(m.key for m in g.members.values())
        out = [k for k in cand if self.has_work(k)]
        self._dirty = set(out)
        return out

    def has_work(self, key: str) -> bool:
        """Whether the neighbor has something to pull."""
        p = self._peers.get(key)
        if p is None or not p.up or self.gr.deferring:
            return False
        return any(m.group.has_work(m) for m in p.members.values())

    def pull(self, key: str, max_bytes: int) -> list[bytes]:
        """The neighbor's next messages, up to about ``max_bytes`` (at least one message
        if it has any). ``pull_full`` tells afterwards whether it stopped at the budget
        with more to send (the transport may take more at once)."""
        self.pull_full = False
        peer = self._peers.get(key)
        if peer is None or not peer.up or self.gr.deferring:
            return []
        out: list[bytes] = []
        size = 0
        members = peer.members
        for fam in members if len(members) == 1 else sorted(members):
            m = members[fam]
            size, notes = m.group.pull(m, max_bytes, out, size)
            if notes:
                if "eor" in notes:
                    self._events.append(EndOfRibSent(key=key, family=fam))
                if "full" in notes:
                    self.pull_full = True
            if size >= max_bytes:
                self.pull_full = True
                break
        return out

    def poll_events(self) -> list[Event]:
        ev = self._events
        self._events = []
        return ev

    def next_timer(self) -> float | None:
        return self.gr.next_timer()

    def handle_timer(self, now: float) -> None:
        self._apply(self.gr.handle_timer(now))

    # ------------------------------------------------------------------ queries

    def counters(self, key: str) -> PeerCounters:
        peer = self._peers[key]
        c = peer.counts
        advertised = sum(m.group.advertised(m) for m in peer.members.values())
        f = self._imports.get(peer.ref.index)
        rejected = 0 if f is None else f.rejected
        return PeerCounters(
            received=c.received,
            withdrawn=c.withdrawn,
            accepted=peer.rib_in.total() - rejected,
            rejected=rejected,
            duplicates=c.duplicates,
            looped=c.looped,
            as_loop=c.as_loop,
            treat_as_withdraw=c.treat_as_withdraw,
            advertised=advertised,
        )

    def peer(self, key: str) -> NeighborState:
        return self._peers[key]
