"""select_best: one test per decision step (paths tie on every earlier step), the MED
elimination case, ORIGINATOR_ID / CLUSTER_LIST (RFC 4456), LLGR-stale (RFC 9494), and
order independence against a literal re-statement of the RFC procedure."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.rib.intern import InternTable
from bgprr.rib.path import Path, Source, best_path_steps, select_best
from bgprr.wire.attributes import PathAttrs
from tests.rib.attrblock import block

AsPath = tuple[tuple[int, tuple[int, ...]], ...]
ROUTER_ID = 0x0A0000FE


TABLE = InternTable()


def peer(n: int, *, bgp_id: int | None = None, ebgp: bool = False, asn: int = 65000) -> Source:
    return Source(
        key=f"10.0.0.{n}",
        address=0x0A000000 + n,
        bgp_id=n if bgp_id is None else bgp_id,
        asn=asn,
        ebgp=ebgp,
        client=True,
        index=n,
    )


def path(p: Source | None, path_id: int = 0, *, llgr: bool = False, **attrs: Any) -> Path:
    """A path from `p` whose attribute block is block(**attrs) (next hop 10.0.0.1)."""
    return Path(peer=p, path_id=path_id, attrs=TABLE.intern(block(**attrs)), llgr_stale=llgr)


def best(*paths: Path, **kw: bool) -> Path | None:
    """select_best, checked to give the same answer for every order of the input."""
    first = select_best(paths, router_id=ROUTER_ID, **kw)
    for perm in itertools.permutations(paths):
        assert select_best(perm, router_id=ROUTER_ID, **kw) is first
    return first


P1, P2, P3, P4 = peer(1), peer(2), peer(3), peer(4)


def test_empty_and_single() -> None:
    assert select_best([], router_id=ROUTER_ID) is None
    only = path(P1, llgr=True)
    assert select_best([only], router_id=ROUTER_ID) is only


def test_step_llgr_stale_least_preferred() -> None:
    stale = path(P1, llgr=True, local_pref=300)
    fresh = path(P2, local_pref=50, as_path=((2, (1, 2, 3, 4)),), origin=2)
    assert best(stale, fresh) is fresh
    stale2 = path(P3, llgr=True, local_pref=200)
    assert best(stale, stale2) is stale  # only stale paths: the usual rules among them


def test_gr_stale_is_not_a_criterion() -> None:
    old = Path(peer=P2, path_id=0, attrs=TABLE.intern(block(local_pref=200)), stale=True)
    assert best(old, path(P1)) is old


def test_step_local_pref() -> None:
    absent = path(P2)  # no LOCAL_PREF: 100
    assert best(absent, path(P1, local_pref=99)) is absent
    higher = path(P3, local_pref=101, as_path=((2, (1, 2, 3)),), origin=2)
    assert best(absent, higher) is higher  # beats a shorter AS_PATH and a better ORIGIN


def test_step_locally_originated() -> None:
    local = path(None, as_path=((2, (1, 2)),), origin=2)
    learned = path(P1, as_path=((2, (1,)),), origin=0)
    assert best(local, learned) is local  # before AS_PATH length and ORIGIN
    assert best(local, path(P2, local_pref=101)) is not local  # after LOCAL_PREF


def test_step_as_path_length() -> None:
    short = path(P2, as_path=((2, (65001,)),), origin=2)
    assert best(short, path(P1, as_path=((2, (65001, 65002)),))) is short
    with_set = path(P4, as_path=((2, (65001,)), (1, (7, 8, 9))))  # an AS_SET counts as 1
    assert best(with_set, path(P3, as_path=((2, (65001, 65002, 65003)),))) is with_set


def test_step_origin() -> None:
    igp, egp, incomplete = path(P3, origin=0), path(P2, origin=1), path(P1, origin=2)
    assert best(igp, egp, incomplete) is igp
    assert best(egp, incomplete) is egp


def test_step_med_same_neighbor_as() -> None:
    low = path(P2, med=5)
    assert best(low, path(P1, med=10)) is low  # beats a lower BGP id
    no_med = path(P4)  # missing MED is 0
    assert best(no_med, path(P3, med=1)) is no_med


def test_step_med_ignored_across_neighbor_as() -> None:
    a = path(P1, med=100, as_path=((2, (65001,)),))
    b = path(P2, med=5, as_path=((2, (65002,)),))
    assert best(a, b) is a  # decided by the BGP identifier
    assert best(a, b, always_compare_med=True) is b


def pairwise(paths: Sequence[Path]) -> Path:
    """The wrong way: fold a two-path comparison over the list (order dependent)."""

    def better(x: Path, y: Path) -> Path:
        fx, fy = x.attrs.best_fields, y.attrs.best_fields
        if fx.neighbor_as == fy.neighbor_as and (fx.med or 0) != (fy.med or 0):
            return x if (fx.med or 0) < (fy.med or 0) else y
        assert x.peer is not None and y.peer is not None
        return x if x.peer.bgp_id < y.peer.bgp_id else y

    winner = paths[0]
    for p in paths[1:]:
        winner = better(winner, p)
    return winner


def test_med_elimination_is_not_pairwise() -> None:
    # A and C share neighbor AS 100, C has the lower MED: A is eliminated. B (AS 200) then
    # beats C on the BGP identifier. Comparing in pairs, A beats B (id) and C beats A (MED).
    a = path(peer(1), med=100, as_path=((2, (100,)),))
    b = path(peer(2), med=50, as_path=((2, (200,)),))
    c = path(peer(3), med=10, as_path=((2, (100,)),))
    assert best(a, b, c) is b
    assert pairwise([a, b, c]) is c  # what a pairwise fold gets wrong
    # ... and the fold is not even order independent: each path wins for some order
    folds = {id(pairwise(list(p))) for p in itertools.permutations([a, b, c])}
    assert folds == {id(a), id(b), id(c)}


def test_med_empty_as_path_is_the_local_as() -> None:
    # empty AS_PATH and AS_SET-first paths both have the local AS as neighbor AS
    x = path(P1, as_path=(), med=20)
    y = path(P2, as_path=(), med=10)
    assert best(x, y) is y


def test_step_ebgp_over_ibgp() -> None:
    ebgp = path(peer(9, ebgp=True, asn=65009))
    assert best(ebgp, path(P1)) is ebgp  # despite the higher BGP id and address


def test_step_bgp_identifier() -> None:
    low = path(peer(7, bgp_id=3))
    assert best(low, path(peer(2, bgp_id=4))) is low  # despite the higher address


def test_step_originator_id_in_place_of_bgp_id() -> None:
    reflected = path(peer(1, bgp_id=1), originator_id=9)
    direct = path(peer(2, bgp_id=5))
    assert best(reflected, direct) is direct  # 5 < 9, the peer's own id 1 is not used
    low_oid = path(peer(3, bgp_id=50), originator_id=2)
    assert best(low_oid, direct) is low_oid


def test_step_cluster_list_length() -> None:
    short = path(peer(8), originator_id=7, cluster_list=(1,))
    long = path(peer(1), originator_id=7, cluster_list=(2, 3))
    assert best(short, long) is short  # same ORIGINATOR_ID, despite the higher address


def test_step_peer_address() -> None:
    a = path(Source(key="10.0.0.9", address=0x0A000009, bgp_id=5, index=1))
    b = path(Source(key="10.0.0.3", address=0x0A000003, bgp_id=5, index=2))
    assert best(a, b) is b
    v6 = path(Source(key="2001:db8::1", address=0x20010DB8 << 96 | 1, bgp_id=5, index=3))
    assert best(v6, a) is a


def test_step_path_id() -> None:
    low = path(P1, 2)
    assert best(low, path(P1, 7)) is low


def test_locally_originated_use_router_id() -> None:
    mine = path(None, 1, as_path=())
    other = path(None, 2, as_path=(), originator_id=ROUTER_ID - 1)
    assert best(mine, other) is other  # ORIGINATOR_ID below our router id
    assert best(mine, path(None, 3, as_path=(), originator_id=ROUTER_ID + 1)) is mine


def test_best_path_steps() -> None:
    steps = best_path_steps()
    assert len(steps) == 12 and all(isinstance(s, str) and s for s in steps)
    assert "LLGR" in steps[0] and "LOCAL_PREF" in steps[1] and "MULTI_EXIT_DISC" in steps[5]
    steps.clear()
    assert best_path_steps()  # a copy: callers cannot change the module's list


# ---- order independence, against the RFC procedure stated literally -----------------


def reference(paths: Sequence[Path], router_id: int) -> Path:
    def keep(c: list[Path], f: Callable[[Path], int]) -> list[Path]:
        low = min(f(p) for p in c)
        return [p for p in c if f(p) == low]

    def pa(p: Path) -> PathAttrs:
        return PathAttrs(p.attrs.raw)

    def med(p: Path) -> int:
        return pa(p).med or 0

    c = [p for p in paths if not p.llgr_stale] or list(paths)

    def local_pref(p: Path) -> int:
        lp = pa(p).local_pref
        return 100 if lp is None else lp

    def origin(p: Path) -> int:
        o = pa(p).origin
        assert o is not None
        return o

    c = keep(c, lambda p: -local_pref(p))
    c = keep(c, lambda p: p.peer is not None)
    c = keep(c, lambda p: pa(p).as_path_length)
    c = keep(c, origin)
    c = [
        p
        for p in c
        if not any(pa(q).neighbor_as == pa(p).neighbor_as and med(q) < med(p) for q in c)
    ]
    c = keep(c, lambda p: not (p.peer is not None and p.peer.ebgp))

    def ident(p: Path) -> int:
        oid = pa(p).originator_id
        if oid is not None:
            return oid
        return router_id if p.peer is None else p.peer.bgp_id

    c = keep(c, ident)
    c = keep(c, lambda p: len(pa(p).cluster_list))
    c = keep(c, lambda p: 0 if p.peer is None else p.peer.address)
    c = keep(c, lambda p: p.path_id)
    assert len(c) == 1, c
    return c[0]


PEERS = [
    peer(1, bgp_id=30),
    peer(2, bgp_id=20, ebgp=True),
    peer(3, bgp_id=20),
    Source(key="10.0.0.4", address=0x0A000004, bgp_id=30, ebgp=True, index=4),
]
spec = st.tuples(
    st.sampled_from([None, 1, 2, 3, 4]),  # peer (None: local)
    st.integers(0, 2),  # path id
    st.booleans() | st.just(False),  # llgr stale (mostly not)
    st.sampled_from([None, 100, 200]),
    st.sampled_from([(), ((2, (65001,)),), ((2, (65002,)),), ((2, (65001, 9)),), ((1, (5, 6)),)]),
    st.integers(0, 2),  # origin
    st.sampled_from([None, 0, 5, 10]),  # med
    st.sampled_from([None, 10, 20, 30]),  # originator id
    st.sampled_from([(), (1,), (1, 2)]),
)


@settings(max_examples=150, deadline=None)
@given(specs=st.lists(spec, min_size=1, max_size=7), data=st.data())
def test_order_independent_and_matches_rfc_procedure(
    specs: list[
        tuple[
            int | None, int, bool, int | None, AsPath, int, int | None, int | None, tuple[int, ...]
        ]
    ],
    data: st.DataObject,
) -> None:
    paths: list[Path] = []
    seen: set[tuple[int | None, int]] = set()
    for who, pid, llgr, lp, asp, origin, med, oid, cl in specs:
        if (who, pid) in seen:
            continue  # one path per (neighbor, path id), as in a RIB
        seen.add((who, pid))
        p = None if who is None else PEERS[who - 1]
        paths.append(
            path(
                p,
                pid,
                llgr=llgr,
                local_pref=lp,
                as_path=asp,
                origin=origin,
                med=med,
                originator_id=oid,
                cluster_list=cl,
            )
        )
    if not paths:
        return
    want = reference(paths, ROUTER_ID)
    assert select_best(paths, router_id=ROUTER_ID) is want
    shuffled = data.draw(st.permutations(paths))
    assert select_best(shuffled, router_id=ROUTER_ID) is want
