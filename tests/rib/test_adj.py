"""AdjRibIn: the one owner of a neighbor's received paths."""

from __future__ import annotations

import pytest

from bgprr.rib.adj import AdjRibIn
from bgprr.rib.intern import AttrSet, InternTable
from bgprr.rib.path import Source
from bgprr.wire.constants import IPV4_UNICAST, IPV6_UNICAST, LLGR_STALE, NO_LLGR
from tests.rib.attrblock import block

V4 = IPV4_UNICAST
SRC = Source(key="n1", address=1, index=3)


def attrs(t: InternTable, **kw: object) -> AttrSet:
    return t.intern(block(**kw))  # type: ignore[arg-type]


def rib_with(keys: list[int], a: AttrSet, ids: list[int] | None = None) -> AdjRibIn:
    r = AdjRibIn()
    r.enable(V4)
    r.announce(V4, SRC, keys, ids, a, False, 1.0)
    return r


def test_announce_returns_changes_and_stores() -> None:
    t = InternTable()
    a = attrs(t)
    r = AdjRibIn()
    r.enable(V4)
    changes, dups = r.announce(V4, SRC, [10, 20], None, a, False, 5.0)
    assert dups == 0
    assert [(k, pid, old) for k, pid, old, _ in changes] == [(10, 0, None), (20, 0, None)]
    p = changes[0][3]
    assert p is not None and p.peer is SRC and p.attrs is a and p.since == 5.0
    assert r.get(V4, 10) is p
    assert r.count(V4) == 2 and r.total() == 2


def test_announce_same_attrs_is_duplicate_and_unmarks_stale() -> None:
    t = InternTable()
    a = attrs(t)
    r = rib_with([10], a)
    r.mark_stale(V4)
    p = r.get(V4, 10)
    assert p is not None and p.stale
    changes, dups = r.announce(V4, SRC, [10], None, a, False, 9.0)
    assert changes == [] and dups == 1
    assert r.get(V4, 10) is p and not p.stale


def test_announce_new_attrs_replaces() -> None:
    t = InternTable()
    a, b = attrs(t), attrs(t, med=5)
    r = rib_with([10], a)
    old = r.get(V4, 10)
    changes, _ = r.announce(V4, SRC, [10], None, b, False, 2.0)
    assert len(changes) == 1 and changes[0][2] is old
    new = r.get(V4, 10)
    assert new is changes[0][3] and new is not None and new.attrs is b


def test_llgr_flag_difference_is_a_change() -> None:
    t = InternTable()
    a = attrs(t)
    r = rib_with([10], a)
    changes, dups = r.announce(V4, SRC, [10], None, a, True, 2.0)
    assert dups == 0 and len(changes) == 1
    p = r.get(V4, 10)
    assert p is not None and p.llgr_stale


def test_path_ids_are_separate_paths() -> None:
    t = InternTable()
    r = rib_with([10, 10], attrs(t), ids=[1, 2])
    assert r.count(V4) == 2
    assert [(k, pid) for k, pid, _ in r.items(V4)] == [(10, 1), (10, 2)]
    assert r.withdraw(V4, [10], [2])[0][:2] == (10, 2)
    assert r.get(V4, 10, 1) is not None and r.get(V4, 10, 2) is None


def test_withdraw_unknown_or_disabled_family() -> None:
    t = InternTable()
    r = rib_with([10], attrs(t))
    assert r.withdraw(V4, [99], None) == []
    assert r.withdraw(IPV6_UNICAST, [10], None) == []
    gone = r.withdraw(V4, [10], None)
    assert len(gone) == 1 and gone[0][3] is None
    assert r.count(V4) == 0


def test_take_only_stale_or_all() -> None:
    t = InternTable()
    a, b = attrs(t), attrs(t, med=1)
    r = rib_with([1, 2, 3], a)
    r.mark_stale(V4)
    r.announce(V4, SRC, [2], None, a, False, 3.0)  # refreshed: no longer stale
    r.announce(V4, SRC, [4], None, b, False, 3.0)
    assert sorted(k for k, _, _, _ in r.take(V4, only_stale=True)) == [1, 3]
    assert [k for k, _, _ in r.items(V4)] == [2, 4]
    assert sorted(k for k, _, _, _ in r.take(V4, only_stale=False)) == [2, 4]
    assert r.total() == 0


def test_mark_stale_without_table() -> None:
    assert not AdjRibIn().mark_stale(V4)
    assert list(AdjRibIn().take(V4, only_stale=False)) == []


def test_mark_llgr_replaces_and_removes_no_llgr() -> None:
    t = InternTable()
    a = attrs(t)
    n = attrs(t, communities=(NO_LLGR,))
    r = rib_with([1, 2], a)
    r.announce(V4, SRC, [3], None, n, False, 1.0)
    r.announce(V4, SRC, [4], None, a, True, 1.0)  # already LLGR-stale
    r.mark_stale(V4)
    seen: list[AttrSet] = []
    llgr_attrs = attrs(t, communities=(LLGR_STALE,))

    def derive(x: AttrSet) -> AttrSet:
        seen.append(x)
        return llgr_attrs

    changes = r.mark_llgr(V4, derive)
    assert [(k, new is None) for k, _, _, new in changes] == [(1, False), (2, False), (3, True)]
    assert seen == [a, a]
    p = r.get(V4, 1)
    assert p is not None and p.stale and p.llgr_stale and p.attrs is llgr_attrs
    assert p.since == 1.0 and p.peer is SRC
    assert r.get(V4, 3) is None
    assert r.mark_llgr(V4, derive) == []  # nothing left to mark


def test_mark_llgr_skips_fresh_paths() -> None:
    t = InternTable()
    r = rib_with([1], attrs(t))
    assert r.mark_llgr(V4, lambda x: x) == []


def test_families_enable_disable() -> None:
    r = AdjRibIn()
    r.enable(V4)
    r.enable(IPV6_UNICAST)
    r.enable(V4)
    assert r.families() == [V4, IPV6_UNICAST]
    assert V4 in r
    r.disable(IPV6_UNICAST)
    assert r.families() == [V4]
    r.disable(IPV6_UNICAST)  # absent: no-op


def test_disable_refuses_non_empty_table() -> None:
    t = InternTable()
    r = rib_with([1], attrs(t))
    with pytest.raises(ValueError):
        r.disable(V4)


def test_items_sorted_by_prefix_then_path_id() -> None:
    t = InternTable()
    r = AdjRibIn()
    r.enable(V4)
    r.announce(V4, SRC, [30, 10, 20, 10], [1, 5, 1, 2], attrs(t), False, 0.0)
    assert [(k, pid) for k, pid, _ in r.items(V4)] == [(10, 2), (10, 5), (20, 1), (30, 1)]
    assert list(r.items(IPV6_UNICAST)) == []
