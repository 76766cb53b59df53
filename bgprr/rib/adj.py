"""The Adj-RIB-In of one neighbor (RFC 4271 §3.2): the paths it sent, per family.

Per family a dict ``(prefix key << 32 | path id) -> Path`` (path id 0 without ADD-PATH).
:class:`AdjRibIn` is the only owner of these dicts: the engine asks it to announce,
withdraw, mark or take paths, and applies what comes back (the changes it returns) to the
Loc-RIB. A change is ``(prefix key, path id, old path or None, new path or None)``.

Graceful restart (RFC 4724 §4.2, RFC 9494 §4.3) marks paths stale in place
(:meth:`mark_stale`): a marked path keeps its identity, so the Loc-RIB needs no update.
A re-announcement with the same attributes clears the mark (:meth:`announce`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bgprr.rib.intern import AttrSet
from bgprr.rib.path import Path, Source
from bgprr.wire.constants import NO_LLGR, Family

__all__ = ["AdjRibIn", "Change"]

_ID_MASK = 0xFFFFFFFF

Change = tuple[int, int, Path | None, Path | None]


class AdjRibIn:
    """The paths received from one neighbor, per family (see the module docstring)."""

    __slots__ = ("_ribs",)

    def __init__(self) -> None:
        self._ribs: dict[Family, dict[int, Path]] = {}

    # ------------------------------------------------------------------ families

    def families(self) -> list[Family]:
        """Families with a table, in the order they were enabled."""
        return list(self._ribs)

    def enable(self, fam: Family) -> None:
        """Accept paths of ``fam`` (a no-op when already accepted)."""
        self._ribs.setdefault(fam, {})

    def disable(self, fam: Family) -> None:
        """Forget the (empty) table of ``fam``: its paths are ignored from now on."""
        rib = self._ribs.pop(fam, None)
        if rib:
            raise ValueError(f"family {fam} still holds {len(rib)} paths")

    def __contains__(self, fam: object) -> bool:
        return fam in self._ribs

    # ------------------------------------------------------------------ updates

    def announce(
        self,
        fam: Family,
        source: Source,
        keys: list[int],
        ids: list[int] | None,
        attrs: AttrSet,
        llgr_stale: bool,
        now: float,
    ) -> tuple[list[Change], int]:
        """Store a path with ``attrs`` for each prefix of ``keys`` (path ids ``ids``, or
        0). Returns the changes and how many were duplicates: a path equal to the one held
        (same attribute set and LLGR mark) is kept, its stale mark cleared, and is no
        change. ``fam`` must be enabled."""
        rib = self._ribs[fam]
        changes: list[Change] = []
        dups = 0
        for i, k in enumerate(keys):
            pid = ids[i] if ids is not None else 0
            rk = (k << 32) | pid
            old = rib.get(rk)
            if old is not None and old.attrs is attrs and old.llgr_stale == llgr_stale:
                old.stale = False  # refreshed after a graceful restart
                dups += 1
                continue
            # positional: (peer, path_id, attrs, stale, llgr_stale, since), the hot path
            new = Path(source, pid, attrs, False, llgr_stale, now)
            rib[rk] = new
            changes.append((k, pid, old, new))
        return changes, dups

    def withdraw(self, fam: Family, keys: list[int], ids: list[int] | None) -> list[Change]:
        """Remove the paths of ``keys`` (path ids ``ids``, or 0); returns those removed."""
        rib = self._ribs.get(fam)
        if rib is None:
            return []
        changes: list[Change] = []
        for i, k in enumerate(keys):
            pid = ids[i] if ids is not None else 0
            old = rib.pop((k << 32) | pid, None)
            if old is not None:
                changes.append((k, pid, old, None))
        return changes

    # ------------------------------------------------------------------ graceful restart

    def mark_stale(self, fam: Family) -> bool:
        """Mark every path of ``fam`` stale; False when the family has no table."""
        rib = self._ribs.get(fam)
        if rib is None:
            return False
        for p in rib.values():
            p.stale = True
        return True

    def take(self, fam: Family, *, only_stale: bool) -> Iterator[Change]:
        """Remove the stale paths of ``fam`` (every path unless ``only_stale``), yielding
        each change as its path is removed. The paths to take are chosen at the first
        step; consume the iterator whole. Lazy, so that dropping a full table holds one
        change at a time, not a list of them."""
        rib = self._ribs.get(fam)
        if not rib:
            return
        gone = [rk for rk, p in rib.items() if p.stale or not only_stale]
        for rk in gone:
            yield rk >> 32, rk & _ID_MASK, rib.pop(rk), None

    def mark_llgr(self, fam: Family, derive: Callable[[AttrSet], AttrSet]) -> list[Change]:
        """RFC 9494 §4.3: each stale path of ``fam`` not yet LLGR-stale is replaced by an
        LLGR-stale one with the attributes ``derive`` gives (the LLGR_STALE community
        added), or removed when it carries NO_LLGR. Returns the changes in table order."""
        rib = self._ribs.get(fam)
        if not rib:
            return []
        changes: list[Change] = []
        for rk, p in list(rib.items()):
            if not p.stale or p.llgr_stale:
                continue
            if NO_LLGR in p.attrs.communities:
                del rib[rk]
                changes.append((rk >> 32, rk & _ID_MASK, p, None))
                continue
            new = Path(p.peer, p.path_id, derive(p.attrs), True, True, p.since)
            rib[rk] = new
            changes.append((rk >> 32, rk & _ID_MASK, p, new))
        return changes

    # ------------------------------------------------------------------ queries

    def count(self, fam: Family) -> int:
        rib = self._ribs.get(fam)
        return 0 if rib is None else len(rib)

    def total(self) -> int:
        return sum(len(r) for r in self._ribs.values())

    def get(self, fam: Family, key: int, path_id: int = 0) -> Path | None:
        rib = self._ribs.get(fam)
        return None if rib is None else rib.get((key << 32) | path_id)

    def items(self, fam: Family) -> Iterator[tuple[int, int, Path]]:
        """``(prefix key, path id, Path)`` of ``fam`` in prefix, then path id order."""
        rib = self._ribs.get(fam, {})
        for rk, p in sorted(rib.items()):
            yield rk >> 32, rk & _ID_MASK, p
