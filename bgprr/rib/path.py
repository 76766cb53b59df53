"""Paths and BGP best-path selection.

:func:`select_best` follows the decision process of RFC 4271 §9.1.2.2 as an *elimination*
procedure over the candidate set, with the additions of RFC 4456 §9 (ORIGINATOR_ID in place
of the BGP identifier, shorter CLUSTER_LIST preferred) and RFC 9494 (LLGR-stale paths least
preferred). The result does not depend on the order of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bgprr.rib.intern import AttrSet

__all__ = [
    "DEFAULT_LOCAL_PREF",
    "Path",
    "Source",
    "best_path_steps",
    "equal_cost_paths",
    "select_best",
]

DEFAULT_LOCAL_PREF = 100
_ORIGIN_WORST = 2  # INCOMPLETE; used when ORIGIN is missing


@dataclass(slots=True, eq=False)
class Source:
    """The parts of a configured neighbor the RIB needs; one object per neighbor.

    ``bgp_id`` is filled in (by the session owner) when the session reaches Established.
    ``address`` is the neighbor address as an int (IPv6 addresses compare above IPv4 ones).
    ``index`` is a small int, unique per neighbor while it is configured.
    """

    key: str
    address: int
    bgp_id: int = 0
    asn: int = 0
    ebgp: bool = False
    client: bool = False
    index: int = 0


@dataclass(slots=True, eq=False)
class Path:
    """One path to a destination: who sent it (``peer`` None: locally originated), its
    ADD-PATH id (0 without ADD-PATH), attributes, graceful-restart flags and arrival time."""

    peer: Source | None
    path_id: int
    attrs: AttrSet
    stale: bool = False
    llgr_stale: bool = False
    since: float = 0.0


_STEPS = [
    "Paths marked LLGR-stale (RFC 9494) are considered only if there are no other paths.",
    "Highest LOCAL_PREF (100 when absent).",
    "Locally originated paths (no peer) over paths learned from a neighbor "
    "(an addition to RFC 4271, as in GoBGP and most implementations).",
    "Shortest AS_PATH (an AS_SET counts as 1, confederation segments as 0).",
    "Lowest ORIGIN (IGP < EGP < INCOMPLETE).",
    "Among paths with the same neighbor AS (first AS of the AS_PATH; the local AS when the "
    "path is empty or starts with an AS_SET), remove every path for which another path "
    "has a lower MULTI_EXIT_DISC (missing MED = 0). This is the RFC 4271 §9.1.2.2 (c) "
    "elimination over the whole set, not a pairwise comparison.",
    "Paths from eBGP neighbors over paths from iBGP neighbors.",
    "Lowest BGP identifier of the advertising neighbor, with ORIGINATOR_ID used in its place "
    "when present (RFC 4456 §9); the local router id for locally originated paths.",
    "Shortest CLUSTER_LIST (RFC 4456 §9).",
    "Lowest neighbor address (0 for locally originated paths).",
    "Lowest ADD-PATH path identifier received.",
    "Remaining ties (only between duplicates of the same neighbor and path id): lowest "
    "neighbor index, the attribute bytes, not GR-stale, earliest received; the result "
    "never depends on input order.",
]


def best_path_steps() -> list[str]:
    """The decision steps of :func:`select_best`, in order, as human-readable text."""
    return list(_STEPS)


def select_best(
    paths: Sequence[Path], *, router_id: int, always_compare_med: bool = False
) -> Path | None:
    """The best of ``paths`` (None when empty); see :func:`best_path_steps`.

    ``router_id`` stands in for the BGP identifier of locally originated paths.
    ``always_compare_med`` compares MED across neighbor ASes too (off by default, as the
    RFC says).
    """
    if len(paths) <= 1:
        return paths[0] if paths else None
    # steps: not LLGR-stale, LOCAL_PREF, local origin, AS_PATH length, ORIGIN. Each step
    # keeps the paths that are best on it, so together they keep the minima of one
    # lexicographic key.
    top: tuple[bool, int, bool, int, int] | None = None
    cands: list[Path] = []
    for p in paths:
        a = p.attrs
        lp = a.local_pref
        origin = a.origin
        head = (
            p.llgr_stale,
            -(DEFAULT_LOCAL_PREF if lp is None else lp),
            p.peer is not None,
            a.as_path_length,
            _ORIGIN_WORST if origin is None else origin,
        )
        if top is None or head < top:
            top = head
            cands = [p]
        elif head == top:
            cands.append(p)
    if len(cands) == 1:
        return cands[0]
    # step: MED within the same neighbor AS, by elimination over the remaining set
    cands = _med_survivors(cands, always_compare_med)
    if len(cands) == 1:
        return cands[0]
    # steps: eBGP, BGP id / ORIGINATOR_ID, CLUSTER_LIST, address, path id, tie-breaks
    winner = cands[0]
    low = _tail_key(winner, router_id)
    for p in cands[1:]:
        k = _tail_key(p, router_id)
        if k < low:
            winner, low = p, k
    return winner


def _med_survivors(cands: list[Path], always_compare_med: bool) -> list[Path]:
    """Drop every path for which a path with the same neighbor AS has a lower MED."""
    lowest: dict[int | None, int] = {}
    for p in cands:
        a = p.attrs
        group = 0 if always_compare_med else a.neighbor_as
        med = a.med or 0  # missing MED is 0
        best = lowest.get(group)
        if best is None or med < best:
            lowest[group] = med
    if len(lowest) == len(cands):
        return cands  # every neighbor AS has one path: nothing to compare
    return [
        p
        for p in cands
        if (p.attrs.med or 0) == lowest[0 if always_compare_med else p.attrs.neighbor_as]
    ]


_TailKey = tuple[bool, int, int, int, int, int, bytes, bytes, bool, float]


def _tail_key(p: Path, router_id: int) -> _TailKey:
    a = p.attrs
    peer = p.peer
    oid = a.originator_id
    if peer is None:
        ident = router_id if oid is None else oid
        return (
            True,
            ident,
            len(a.cluster_list),
            0,
            p.path_id,
            -1,
            a.raw,
            a.next_hop,
            p.stale,
            p.since,
        )
    ident = peer.bgp_id if oid is None else oid
    return (
        not peer.ebgp,
        ident,
        len(a.cluster_list),
        peer.address,
        p.path_id,
        peer.index,
        a.raw,
        a.next_hop,
        p.stale,
        p.since,
    )


def equal_cost_paths(
    paths: Sequence[Path], best: Path | None, *, always_compare_med: bool = False
) -> tuple[Path, ...]:
    """The paths as good as ``best`` for multipath forwarding, ``best`` first, the others
    in input order (empty when ``best`` is None).

    A path is equal-cost when it survives the decision steps of RFC 4271 §9.1.2.2 up to
    and including (d), eBGP over iBGP: not LLGR-stale unless ``best`` is, the same
    LOCAL_PREF, locality, AS_PATH length and ORIGIN, not eliminated by the MED step (c)
    over the whole set, and the same eBGP/iBGP kind as ``best``. The tie-breaks after
    (d) (BGP identifier, CLUSTER_LIST, neighbor address, path id) only pick one of
    equals, as in BIRD's ``bgp_rte_mergable``; there is no IGP cost (step (e)) here.
    GoBGP's multipath compares MED across neighbor ASes too (``always_compare_med``).
    """
    if best is None:
        return ()
    if len(paths) <= 1:
        return (best,)
    head = _head(best)
    cands = [p for p in paths if _head(p) == head]
    if len(cands) > 1:
        cands = _med_survivors(cands, always_compare_med)
    ebgp = _is_ebgp(best)
    return (best, *(p for p in cands if p is not best and _is_ebgp(p) == ebgp))


def _head(p: Path) -> tuple[bool, int, bool, int, int]:
    a = p.attrs
    lp = a.local_pref
    origin = a.origin
    return (
        p.llgr_stale,
        DEFAULT_LOCAL_PREF if lp is None else lp,
        p.peer is not None,
        a.as_path_length,
        _ORIGIN_WORST if origin is None else origin,
    )


def _is_ebgp(p: Path) -> bool:
    return p.peer is not None and p.peer.ebgp
