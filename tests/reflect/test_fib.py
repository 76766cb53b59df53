"""FibPlan: what to add, replace and delete in the kernel for a sequence of best-path
changes; leftovers of a previous run; the engine's BestPathChanged.multipath events."""

from __future__ import annotations

from bgprr.reflect.engine import ReflectionEngine
from bgprr.reflect.fib import MAX_NEXT_HOPS, FibOp, FibPlan, OpKind, next_hop_attr, next_hops
from bgprr.reflect.types import BestPathChanged, PeerCaps, PeerSettings
from bgprr.rib.intern import InternTable
from bgprr.rib.path import Path, Source
from bgprr.wire.update import decode_update
from tests.rib.attrblock import block

NH1, NH2, NH3 = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x03"
K1 = (0x0A010000 << 8) | 24
K2 = (0x0A020000 << 8) | 24
TABLE = InternTable()


def ops(plan: FibPlan) -> list[tuple[str, int, tuple[bytes, ...]]]:
    return sorted((o.kind.value, o.key, o.next_hops) for o in plan.take())


def test_add_replace_delete() -> None:
    plan = FibPlan()
    plan.set(1, K1, (NH1,))
    assert ops(plan) == [("add", K1, (NH1,))]
    plan.set(1, K1, (NH2,))
    assert ops(plan) == [("replace", K1, (NH2,))]
    plan.set(1, K1, ())
    assert ops(plan) == [("delete", K1, ())]
    assert len(plan) == 0
    assert ops(plan) == []


def test_latest_wins_and_no_op_when_back_where_it_started() -> None:
    plan = FibPlan()
    plan.set(1, K1, (NH1,))
    plan.set(1, K1, (NH2,))
    plan.set(1, K2, (NH1,))
    plan.set(1, K2, ())  # appeared and went before the take: nothing
    assert ops(plan) == [("add", K1, (NH2,))]
    plan.set(1, K1, (NH3,))
    plan.set(1, K1, (NH2,))  # flapped back
    assert ops(plan) == []
    plan.set(1, K2, ())  # withdrawing what was never installed
    assert ops(plan) == []


def test_take_limit_keeps_the_rest_pending() -> None:
    plan = FibPlan()
    for i in range(10):
        plan.set(1, (i << 8) | 32, (NH1,))
    first = plan.take(4)
    assert len(first) == 4 and plan.pending == 6
    assert len(plan.take()) == 6 and plan.pending == 0 and len(plan) == 10


def test_families_are_separate() -> None:
    plan = FibPlan()
    plan.set(1, K1, (NH1,))
    plan.set(2, K1, (b"\xfd" + bytes(14) + b"\x01",))
    got = plan.take()
    assert sorted(o.afi for o in got) == [1, 2]
    assert all(o.kind is OpKind.ADD for o in got)


def test_failed_route_is_added_again_next_time() -> None:
    plan = FibPlan()
    plan.set(1, K1, (NH1,))
    plan.take()
    plan.failed(1, K1)  # the kernel refused it or could not resolve it
    assert len(plan) == 0
    plan.set(1, K1, ())
    assert ops(plan) == []  # nothing to delete
    plan.set(1, K1, (NH1,))
    assert ops(plan) == [("add", K1, (NH1,))]


def test_leftovers_kept_until_reconcile() -> None:
    # a previous run left K1 (NH1) and K2 (NH2)
    plan = FibPlan(held={(1, K1): (NH1,), (1, K2): (NH2,)})
    assert plan.leftovers == 2
    plan.set(1, K1, (NH1,))  # learned again, same next hop: confirmed, no operation
    assert ops(plan) == []
    assert plan.leftovers == 1
    assert plan.reconcile() == 1
    assert ops(plan) == [("delete", K2, ())]
    assert plan.leftovers == 0 and plan.held() == {(1, K1): (NH1,)}


def test_leftover_learned_with_other_next_hop_is_replaced() -> None:
    plan = FibPlan(held={(1, K1): (NH1,)})
    plan.set(1, K1, (NH2,))
    assert plan.reconcile() == 0
    assert ops(plan) == [("replace", K1, (NH2,))]


def test_leftover_withdrawn_before_reconcile_is_deleted_once() -> None:
    plan = FibPlan(held={(1, K1): (NH1,)})
    plan.set(1, K1, (NH1,))
    plan.set(1, K1, ())
    assert plan.reconcile() == 0  # confirmed, then withdrawn: an ordinary delete
    assert ops(plan) == [("delete", K1, ())]


def test_withdraw_all() -> None:
    plan = FibPlan()
    plan.set(1, K1, (NH1,))
    plan.set(1, K2, (NH2,))
    plan.take()
    plan.set(1, K1, (NH3,))  # pending, dropped
    got = plan.withdraw_all()
    assert sorted(o.key for o in got) == [K1, K2]
    assert all(o.kind is OpKind.DELETE for o in got)
    assert len(plan) == 0 and plan.pending == 0


# -- next hops of an event -------------------------------------------------------------


def src(n: int) -> Source:
    return Source(key=f"10.0.0.{n}", address=0x0A000000 + n, bgp_id=n, index=n)


def p4(n: int, nh: int, **kw: int) -> Path:
    return Path(peer=src(n), path_id=0, attrs=TABLE.intern(block(next_hop=nh, **kw)))


def p6(n: int, nh: bytes) -> Path:
    return Path(peer=src(n), path_id=0, attrs=TABLE.intern(block(next_hop=None), nh))


def test_next_hop_attr_walks_the_block() -> None:
    assert next_hop_attr(block(next_hop=0x0A000009, med=5)) == b"\x0a\x00\x00\x09"
    assert next_hop_attr(block(next_hop=None)) == b""
    # an extended-length attribute before NEXT_HOP
    long_path = ((2, tuple(range(1, 80))),)
    assert next_hop_attr(block(as_path=long_path, next_hop=0x0A000007)) == b"\x0a\x00\x00\x07"


def test_next_hops_best_and_multipath() -> None:
    a, b, c = p4(1, 0x0A000001), p4(2, 0x0A000002), p4(3, 0x0A000001)
    ev = BestPathChanged(family=(1, 1), key=K1, best=a, multipath=(a, b, c))
    assert next_hops(ev, multipath=False) == (NH1,)
    assert next_hops(ev, multipath=True) == (NH1, NH2)  # sorted, distinct
    assert next_hops(BestPathChanged(family=(1, 1), key=K1, best=None), multipath=True) == ()


def test_next_hops_ipv6_global_of_a_pair_and_link_local_alone() -> None:
    glob = bytes.fromhex("fd000000000000000000000000000001")
    ll = bytes.fromhex("fe800000000000000000000000000001")
    ev = BestPathChanged(family=(2, 1), key=K1, best=p6(1, glob + ll))
    assert next_hops(ev, multipath=False) == (glob,)
    ev = BestPathChanged(family=(2, 1), key=K1, best=p6(1, ll))
    assert next_hops(ev, multipath=False) == ()


def test_next_hops_capped() -> None:
    paths = tuple(p4(i, 0x0B000000 + i) for i in range(MAX_NEXT_HOPS + 10))
    ev = BestPathChanged(family=(1, 1), key=K1, best=paths[0], multipath=paths)
    got = next_hops(ev, multipath=True)
    assert len(got) == MAX_NEXT_HOPS and got == tuple(sorted(got))


def test_changes_ignores_other_events_and_families() -> None:
    plan = FibPlan()
    a = p4(1, 0x0A000001)
    n = plan.changes(
        [
            BestPathChanged(family=(1, 1), key=K1, best=a),
            BestPathChanged(family=(1, 128), key=K2, best=a),
            "not an event",
        ]
    )
    assert n == 1
    assert [(o.kind, o.key) for o in plan.take()] == [(OpKind.ADD, K1)]


# -- the engine's multipath events -----------------------------------------------------


def engine_with_peers(*, multipath: bool) -> ReflectionEngine:
    eng = ReflectionEngine(
        router_id=0x0A0000FE,
        local_as=65000,
        cluster_id=0x0A0000FE,
        now=0.0,
        best_path_events=True,
        multipath_events=multipath,
    )
    for n in (1, 2, 3):
        eng.configure_peer(PeerSettings(key=f"10.0.0.{n}", address=0x0A000000 + n, asn=65000,
                                        client=True))  # fmt: skip
        eng.peer_established(f"10.0.0.{n}", PeerCaps(bgp_id=n, families=frozenset({(1, 1)})), 0.0)
    return eng


def _update(body: bytes) -> bytes:
    return b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body


def announce(eng: ReflectionEngine, n: int, nh: int, local_pref: int = 100) -> None:
    raw = block(next_hop=nh, as_path=(), local_pref=local_pref)
    nlri = b"\x18\x0a\x01\x00"  # 10.1.0.0/24
    body = b"\0\0" + len(raw).to_bytes(2, "big") + raw + nlri
    eng.update_received(f"10.0.0.{n}", decode_update(_update(body)), 0.0)


def withdraw(eng: ReflectionEngine, n: int) -> None:
    body = b"\0\x04\x18\x0a\x01\x00\0\0"
    eng.update_received(f"10.0.0.{n}", decode_update(_update(body)), 0.0)


def plan_of(eng: ReflectionEngine, plan: FibPlan) -> list[FibOp]:
    plan.changes(eng.poll_events())
    return plan.take()


def test_engine_multipath_events_drive_ecmp_routes() -> None:
    eng = engine_with_peers(multipath=True)
    plan = FibPlan(multipath=True)
    announce(eng, 1, 0x0A000001)
    assert [(o.kind, o.next_hops) for o in plan_of(eng, plan)] == [(OpKind.ADD, (NH1,))]
    # a second equal-cost path: the best (lowest BGP id) stays, the set grows
    announce(eng, 2, 0x0A000002)
    assert [(o.kind, o.next_hops) for o in plan_of(eng, plan)] == [(OpKind.REPLACE, (NH1, NH2))]
    # a worse path (lower LOCAL_PREF) changes nothing
    announce(eng, 3, 0x0A000003, local_pref=50)
    assert plan_of(eng, plan) == []
    withdraw(eng, 1)
    assert [(o.kind, o.next_hops) for o in plan_of(eng, plan)] == [(OpKind.REPLACE, (NH2,))]
    withdraw(eng, 2)
    assert [(o.kind, o.next_hops) for o in plan_of(eng, plan)] == [(OpKind.REPLACE, (NH3,))]
    withdraw(eng, 3)
    assert [o.kind for o in plan_of(eng, plan)] == [OpKind.DELETE]


def test_engine_without_multipath_reports_best_only() -> None:
    eng = engine_with_peers(multipath=False)
    announce(eng, 1, 0x0A000001)
    announce(eng, 2, 0x0A000002)
    evs = [e for e in eng.poll_events() if isinstance(e, BestPathChanged)]
    assert len(evs) == 1 and evs[0].multipath == ()  # the second path is not better
