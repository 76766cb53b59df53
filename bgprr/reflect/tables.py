"""The engine's per-family tables and the export state function of an update group.

:class:`FamilyTable`: per family a dict ``prefix key -> Destination`` (exact match, the
hot path), the RadixTrie over the same destinations (ordered walks, covering queries),
the update groups and locally originated paths. :class:`StateFn` computes what an update
group should hold for a prefix (its :data:`~bgprr.reflect.export.State`), sharing
one-entry states through :class:`SharedStates`.
"""

from __future__ import annotations

from collections.abc import Callable

from bgprr.reflect.export import EMPTY, Entry, GroupKey, State, entry_of, exportable
from bgprr.reflect.policyapply import ExportFilter
from bgprr.reflect.updategroup import UpdateGroup
from bgprr.rib.intern import InternTable
from bgprr.rib.path import Path
from bgprr.rib.trie import RadixTrie
from bgprr.wire.constants import ADDRESS_BITS, Family

__all__ = ["Destination", "FamilyTable", "SharedStates", "StateFn"]


class Destination:
    __slots__ = ("best", "ids", "key", "paths")

    def __init__(self, key: int, first: Path | None = None) -> None:
        """A destination, with its ``first`` path (then also its best) if given."""
        self.key = key
        self.paths: list[Path] = [] if first is None else [first]
        self.best: Path | None = first
        # ADD-PATH local path ids, (peer index, received id) -> id; created on first use
        self.ids: dict[tuple[int, int], int] | None = None

    def local_id(self, pk: tuple[int, int]) -> int:
        """The stable local path id of path ``pk`` (the lowest free id >= 1 when new)."""
        ids = self.ids
        if ids is None:
            ids = self.ids = {}
        lid = ids.get(pk)
        if lid is None:
            used = set(ids.values())
            lid = 1
            while lid in used:
                lid += 1
            ids[pk] = lid
        return lid


class FamilyTable:
    __slots__ = ("dests", "family", "groups", "local", "trie")

    def __init__(self, family: Family) -> None:
        self.family = family
        self.dests: dict[int, Destination] = {}
        # the trie shares ``dests`` (no second dict): the engine reports keys that
        # appear and go with ``added`` / ``removed``
        self.trie: RadixTrie[Destination] = RadixTrie(ADDRESS_BITS[family[0]], index=self.dests)
        self.groups: dict[GroupKey, UpdateGroup] = {}
        self.local: dict[int, Path] = {}


StateKey = tuple[int, int, int, bool]  # (id(attrs), source index, bgp id, ebgp)


class SharedStates:
    """One-entry export states shared by every prefix with the same attribute set and
    source (an Internet table has a few thousand for hundreds of thousands of prefixes).

    A state keeps its attribute set alive after the set left the intern table, so such
    states are pruned: when the cache has doubled since the last pruning (at most twice
    the live states plus ``SLACK``, and amortized O(1) per store) and when the engine has
    dropped a neighbor's paths (:meth:`released`)."""

    SLACK = 256

    __slots__ = ("intern", "limit", "states")

    def __init__(self, intern: InternTable) -> None:
        self.intern = intern
        self.states: dict[StateKey, State] = {}
        self.limit = self.SLACK

    def __len__(self) -> int:
        return len(self.states)

    def store(self, ck: StateKey, st: State) -> None:
        if len(self.states) >= self.limit:
            self.prune()
        self.states[ck] = st

    def prune(self) -> None:
        """Drop the states whose attribute set left the intern table."""
        live = self.intern
        self.states = {k: st for k, st in self.states.items() if st[0].attrs in live}
        self.limit = 2 * len(self.states) + self.SLACK

    def released(self) -> None:
        """Attribute sets may have left the intern table: prune when the cache holds a
        quarter more states than there are sets (a live state has a set of its own, except
        where two sources send the same attributes), so that a run of neighbors going down
        one by one prunes a geometric number of times, and the last one leaves nothing."""
        n = len(self.intern)
        if len(self.states) > n + n // 4:
            self.prune()


class StateFn:
    """``state_fn`` of an update group: the Loc-RIB state of a prefix for that group.
    ``rank`` orders paths by preference (ADD-PATH: the first ``addpath`` are sent)."""

    __slots__ = ("export", "g", "rank", "shared", "table")

    def __init__(
        self,
        table: FamilyTable,
        g: GroupKey,
        shared: SharedStates,
        rank: Callable[[list[Path]], list[Path]],
        export: ExportFilter | None = None,
    ) -> None:
        self.table = table
        self.g = g
        self.shared = shared
        self.rank = rank
        self.export = export

    def __call__(self, k: int) -> State:
        d = self.table.dests.get(k)
        if d is None:
            return EMPTY
        g = self.g
        ex = self.export
        if ex is not None:  # the export chain on the entries (policyapply)
            out = []
            for e in self._state(d, g):
                f = ex.entry(k, e)
                if f is not None:
                    out.append(f)
            return tuple(out)
        return self._state(d, g)

    def _state(self, d: Destination, g: GroupKey) -> State:
        if not g.addpath:
            b = d.best
            if b is None:
                return EMPTY
            if not exportable(b, g):
                if not g.rs_client:
                    return EMPTY
                # GoBGP's route-server view: the first exportable path in best-path
                # order (paths holding the client's AS are skipped, not the prefix)
                b = next((p for p in self.rank(d.paths) if exportable(p, g)), None)
                if b is None:
                    return EMPTY
            ref = b.peer
            if ref is None:
                return (entry_of(b, 0),)
            ck = (id(b.attrs), ref.index, ref.bgp_id, ref.ebgp)
            shared = self.shared
            st = shared.states.get(ck)
            if st is None or st[0].attrs is not b.attrs:
                st = (entry_of(b, 0),)
                shared.store(ck, st)
            return st
        elig = [p for p in d.paths if exportable(p, g)]
        if len(elig) > g.addpath:
            elig = self.rank(elig)[: g.addpath]
        out: list[Entry] = []
        for p in elig:
            ref = p.peer
            out.append(entry_of(p, d.local_id((ref.index if ref is not None else -1, p.path_id))))
        out.sort(key=_path_id)
        return tuple(out)


def _path_id(e: Entry) -> int:
    return e.path_id
