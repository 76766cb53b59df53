"""equal_cost_paths: the equal-cost set for multipath forwarding (RFC 4271 §9.1.2.2 up
to (d), as BIRD's bgp_rte_mergable): which steps split the set and which only break ties."""

from __future__ import annotations

import itertools

from bgprr.rib.path import Path, equal_cost_paths, select_best
from tests.rib.test_bestpath import ROUTER_ID, path, peer


def ecmp(*paths: Path, **kw: bool) -> tuple[Path, ...]:
    """The set, checked to be the same (as a set, best first) for every input order."""
    b = select_best(paths, router_id=ROUTER_ID, **kw)
    first = equal_cost_paths(paths, b, **kw)
    for perm in itertools.permutations(paths):
        got = equal_cost_paths(perm, select_best(perm, router_id=ROUTER_ID, **kw), **kw)
        assert got[0] is b
        assert set(map(id, got)) == set(map(id, first))
    return first


A, B, C = peer(1), peer(2), peer(3)


def test_none_and_single() -> None:
    assert equal_cost_paths([], None) == ()
    only = path(A)
    assert equal_cost_paths([only], only) == (only,)


def test_tie_breaks_after_d_do_not_split() -> None:
    # different BGP ids, CLUSTER_LIST lengths and neighbor addresses: all equal-cost
    p1 = path(A, next_hop=0x0A000001)
    p2 = path(B, next_hop=0x0A000002, cluster_list=(7, 8))
    p3 = path(C, next_hop=0x0A000003, originator_id=99)
    got = ecmp(p1, p2, p3)
    assert len(got) == 3


def test_local_pref_as_path_origin_split() -> None:
    base = path(A, next_hop=0x0A000001)
    assert ecmp(base, path(B, local_pref=99)) == (base,)
    assert ecmp(base, path(B, as_path=((2, (1, 2)),))) == (base,)
    assert ecmp(base, path(B, origin=1)) == (base,)


def test_med_by_neighbor_as() -> None:
    low = path(A, med=5)
    high_same_as = path(B, med=10)
    assert ecmp(low, high_same_as) == (low,)
    # another neighbor AS: MED is not compared (RFC 4271 §9.1.2.2 (c)), both stay
    other_as = path(C, med=50, as_path=((2, (65002,)),))
    assert len(ecmp(low, other_as)) == 2
    # GoBGP's multipath compares MED across ASes
    assert ecmp(low, other_as, always_compare_med=True) == (low,)


def test_ebgp_and_ibgp_do_not_mix() -> None:
    e1 = path(peer(5, ebgp=True))
    e2 = path(peer(6, ebgp=True))
    i1 = path(A)
    got = ecmp(e1, e2, i1)
    assert set(map(id, got)) == {id(e1), id(e2)}


def test_llgr_stale_only_with_stale_best() -> None:
    fresh = path(A)
    stale = path(B, llgr=True)
    assert ecmp(fresh, stale) == (fresh,)
    s2 = path(C, llgr=True)
    assert len(ecmp(stale, s2)) == 2


def test_local_origin_not_mixed_with_learned() -> None:
    local = path(None)
    learned = path(A)
    assert ecmp(local, learned) == (local,)
