"""InternTable / AttrSet: identity, next hop in the key, refcounts, reclamation, caches."""

from __future__ import annotations

import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bgprr.rib.intern as intern_mod
from bgprr.rib.intern import AttrSet, InternTable
from bgprr.wire.attributes import BestPathFields, PathAttrs, reflect_block
from tests.rib.attrblock import attr, block

NH6_A = bytes.fromhex("20010db8000000000000000000000001")
NH6_B = bytes.fromhex("20010db8000000000000000000000002")


def test_same_bytes_same_object_and_refcount() -> None:
    t = InternTable()
    raw = block(local_pref=200)
    a = t.intern(raw)
    b = t.intern(bytes(bytearray(raw)))  # equal bytes, different object
    assert a is b and a.refs == 2 and len(t) == 1
    assert a.raw == raw and a.next_hop == b""
    t.release(a)
    assert a.refs == 1 and len(t) == 1 and a in t
    t.release(b)
    assert a.refs == 0 and len(t) == 0 and a not in t
    c = t.intern(raw)
    assert c is not a and c.refs == 1  # reclaimed: a fresh set after the last release
    assert t.stats() == {
        "entries": 1,
        "refs": 1,
        "hits": 1,
        "misses": 2,
        "reclaimed": 1,
        "raw_bytes": len(raw),
    }


def test_next_hop_is_part_of_the_key() -> None:
    t = InternTable()
    raw = block(next_hop=None)
    a = t.intern(raw, NH6_A)
    b = t.intern(raw, NH6_B)
    c = t.intern(raw)
    assert len({id(a), id(b), id(c)}) == 3 and len(t) == 3
    assert a.next_hop == NH6_A and b.next_hop == NH6_B and c.next_hop == b""
    assert t.intern(raw, NH6_A) is a
    # IPv4: NEXT_HOP is inside raw, so a next-hop-only change is a different block
    assert t.intern(block(next_hop=1)) is not t.intern(block(next_hop=2))
    t.release(b)
    assert b not in t and a in t and c in t


def test_release_errors() -> None:
    t = InternTable()
    other = InternTable()
    a = t.intern(block())
    with pytest.raises(ValueError):
        other.release(a)
    t.release(a)
    with pytest.raises(ValueError):
        t.release(a)  # over-release
    assert len(t) == 0 and t.stats()["refs"] == 0


def test_derive_keeps_next_hop() -> None:
    t = InternTable()
    a = t.intern(block(next_hop=None), NH6_A)
    d = t.derive(a, block(next_hop=None, communities=(0xFFFF0006,)))
    assert d is not a and d.next_hop == NH6_A and d.refs == 1 and a.refs == 1
    assert d.communities == (0xFFFF0006,)
    assert t.derive(a, a.raw) is a and a.refs == 2


BLOCKS = [block(local_pref=lp, med=m) for lp in (None, 100, 200) for m in (None, 5)]
NHS = [b"", NH6_A, NH6_B]


@settings(max_examples=80, deadline=None)
@given(ops=st.lists(st.tuples(st.booleans(), st.integers(0, 17)), max_size=120))
def test_churn_returns_to_baseline(ops: list[tuple[bool, int]]) -> None:
    t = InternTable()
    base = [t.intern(block(as_path=()))]  # a set held throughout
    held: list[AttrSet] = []
    for take, n in ops:
        if take or not held:
            held.append(t.intern(BLOCKS[n % 6], NHS[n // 6]))
        else:
            t.release(held.pop(n % len(held)))
        distinct = {(a.raw, a.next_hop) for a in held + base}
        assert len(t) == len(distinct)
        for a in held:
            assert a.refs == sum(1 for h in held if h is a)
            assert t.intern(a.raw, a.next_hop) is a
            t.release(a)
    for a in held:
        t.release(a)
    assert len(t) == 1 and t.stats()["refs"] == 1 and base[0] in t
    assert t.stats()["raw_bytes"] == len(base[0].raw)


def test_best_fields_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[bytes] = []
    real = intern_mod.best_path_fields

    def counting(raw: bytes) -> BestPathFields:
        made.append(raw)
        return real(raw)

    monkeypatch.setattr(intern_mod, "best_path_fields", counting)
    t = InternTable()
    raw = block(
        origin=1,
        as_path=((2, (65002, 65003)), (1, (7, 8, 9))),
        med=33,
        local_pref=250,
        originator_id=0x01020304,
        cluster_list=(5, 6),
    )
    a = t.intern(raw)
    for _ in range(3):
        assert a.local_pref == 250 and a.med == 33 and a.origin == 1
        assert a.as_path_length == 3 and a.neighbor_as == 65002  # an AS_SET counts as one
        assert a.originator_id == 0x01020304 and a.cluster_list == (5, 6)
    assert len(made) == 1
    assert t.intern(raw).best_fields == a.best_fields and len(made) == 1
    assert a.best_fields == (250, 33, 3, 65002, 1, 0x01020304, (5, 6), ())
    b = t.intern(block(as_path=()))
    assert b.local_pref is None and b.med is None and b.neighbor_as is None
    assert b.as_path_length == 0 and b.originator_id is None and b.cluster_list == ()


def test_view_is_lazy_and_kept() -> None:
    t = InternTable()
    a = t.intern(block(communities=(1, 2)))
    assert a._view is None
    _ = a.best_fields
    assert a._view is None  # best path does not keep the view
    with pytest.raises(AttributeError):
        _ = a.no_such_field
    v = a.view
    assert a.view is v and v.raw == a.raw and a.communities == (1, 2) == v.communities


def test_reflected_cached_per_key(monkeypatch: pytest.MonkeyPatch) -> None:
    real = reflect_block
    calls: list[tuple[int, int]] = []

    def counting(raw: bytes, *, originator_id: int, cluster_id: int) -> bytes:
        calls.append((originator_id, cluster_id))
        return real(raw, originator_id=originator_id, cluster_id=cluster_id)

    monkeypatch.setattr(intern_mod, "reflect_block", counting)
    t = InternTable()
    raw = block(local_pref=100)
    a = t.intern(raw)
    out = a.reflected(0x0A000002, 0x0A0000FE)
    assert a.reflected(0x0A000002, 0x0A0000FE) is out
    # RFC 4456 §8: ORIGINATOR_ID added, CLUSTER_LIST created with our cluster id
    assert out == raw + attr(0x80, 9, bytes.fromhex("0a000002")) + attr(
        0x80, 10, bytes.fromhex("0a0000fe")
    )
    other = a.reflected(0x0A000003, 0x0A0000FE)
    assert other != out
    assert a.reflected(0x0A000002, 0x0A0000FE) is out
    assert a.reflected(0x0A000003, 0x0A0000FE) is other
    assert calls == [(0x0A000002, 0x0A0000FE), (0x0A000003, 0x0A0000FE)]
    # already reflected once: ORIGINATOR_ID kept, cluster id prepended
    r = t.intern(block(originator_id=9, cluster_list=(7,)))
    assert PathAttrs(r.reflected(1, 8)).cluster_list == (8, 7)
    assert PathAttrs(r.reflected(1, 8)).originator_id == 9


def test_attrset_is_small() -> None:
    t = InternTable()
    a = t.intern(block())
    assert not hasattr(a, "__dict__")
    assert sys.getsizeof(a) <= 136  # 13 slots (8 of them the best-path fields) + headers
    # whole cost per distinct set (object, table slot, best-path fields; not the raw bytes,
    # which the decoded UPDATE already holds) stays well under half a kilobyte
    raws = [block(med=i) for i in range(2000)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    sets = [t.intern(r) for r in raws]
    for s in sets:
        _ = s.best_fields
    per_set = (tracemalloc.get_traced_memory()[0] - before) / len(raws)
    tracemalloc.stop()
    assert per_set < 400, per_set


def test_retain_is_intern_without_lookup() -> None:
    t = InternTable()
    u = InternTable()
    raw = block(med=7)
    a, b = t.intern(raw), u.intern(raw)
    t.retain(a, 3)
    for _ in range(3):
        assert u.intern(raw) is b
    assert a.refs == b.refs == 4 and t.stats() == u.stats()
    for _ in range(4):
        t.release(a)
    assert len(t) == 0
    with pytest.raises(ValueError):
        t.retain(a)  # no longer held
