"""The engine's per-family tables and the export state function of an update group.

``_Table``: per family a dict ``prefix key -> _Dest`` (exact match, the hot path), the
RadixTrie over the same destinations (ordered walks, covering queries), the update groups
and locally originated paths. :class:`StateFn` computes what an update group should hold
for a prefix (its :data:`~bgprr.reflect.export.State`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bgprr.reflect.export import EMPTY, Entry, GroupKey, State, entry_of, exportable
from bgprr.reflect.updategroup import UpdateGroup
from bgprr.rib.path import Path
from bgprr.rib.trie import RadixTrie
from bgprr.wire.constants import ADDRESS_BITS, Family

if TYPE_CHECKING:
    from bgprr.reflect.engine import ReflectionEngine


class _Dest:
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


class _Table:
    __slots__ = ("dests", "family", "groups", "local", "trie")

    def __init__(self, family: Family) -> None:
        self.family = family
        self.dests: dict[int, _Dest] = {}
        # the trie shares ``dests`` (no second dict): the engine reports keys that
        # appear and go with ``added`` / ``removed``
        self.trie: RadixTrie[_Dest] = RadixTrie(ADDRESS_BITS[family[0]], index=self.dests)
        self.groups: dict[GroupKey, UpdateGroup] = {}
        self.local: dict[int, Path] = {}


class StateFn:
    """``state_fn`` of an update group: the Loc-RIB state of a prefix for that group."""

    __slots__ = ("g", "r", "table")

    def __init__(self, r: ReflectionEngine, table: _Table, g: GroupKey) -> None:
        self.r = r
        self.table = table
        self.g = g

    def __call__(self, k: int) -> State:
        d = self.table.dests.get(k)
        if d is None:
            return EMPTY
        g = self.g
        if not g.addpath:
            b = d.best
            if b is None or not exportable(b, g):
                return EMPTY
            ref = b.peer
            if ref is None:
                return (entry_of(b, 0),)
            # The state depends only on the attribute set and the source: one tuple shared
            # by every prefix with both (an Internet table: ~5,000 for 500,000 prefixes).
            ck = (id(b.attrs), ref.index, ref.bgp_id, ref.ebgp)
            cache = self.r.states
            st = cache.get(ck)
            if st is None or st[0][1] is not b.attrs:
                if len(cache) > 2 * len(self.r.intern_table) + 1024:
                    self.r.prune_states()
                st = cache[ck] = (entry_of(b, 0),)
            return st
        elig = [p for p in d.paths if exportable(p, g)]
        if len(elig) > g.addpath:
            elig = self.r.ranked(elig)[: g.addpath]
        out: list[Entry] = []
        for p in elig:
            ref = p.peer
            out.append(entry_of(p, d.local_id((ref.index if ref is not None else -1, p.path_id))))
        out.sort(key=_first)
        return tuple(out)


def _first(e: Entry) -> int:
    return e[0]
