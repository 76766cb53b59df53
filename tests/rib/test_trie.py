"""RadixTrie against a dict oracle: the real radix trie's structure (synced before every
check) and the lazy layer (dict + pending adds/deletes applied at the next query)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bgprr.rib import trie as trie_mod
from bgprr.rib.trie import RadixTrie, _Node

SETTINGS = settings(max_examples=60, deadline=None)


def key_of(addr: int, plen: int, bits: int) -> int:
    """Key of the prefix ``addr/plen`` with host bits cleared."""
    addr = (addr >> (bits - plen)) << (bits - plen)
    return (addr << 8) | plen


def contains(outer: int, inner: int, bits: int) -> bool:
    olen, ilen = outer & 0xFF, inner & 0xFF
    if olen > ilen:
        return False
    return (outer >> 8) >> (bits - olen) == (inner >> 8) >> (bits - olen)


def nodes(trie: RadixTrie[Any]) -> Iterator[_Node]:
    """The trie's nodes in pre-order (left first), without syncing."""
    stack: list[_Node] = [trie._root] if trie._root is not None else []
    while stack:
        node = stack.pop()
        yield node
        for kid in (node.right, node.left):
            if kid is not None:
                stack.append(kid)


def shape(trie: RadixTrie[Any]) -> list[tuple[int, int, bool]]:
    return [(n.addr, n.plen, n.full) for n in nodes(trie)]


def check_structure(trie: RadixTrie[int]) -> None:
    """Apply pending changes, then check the real trie: parent links, children inside
    their parent on the side of their next bit, no glue node with fewer than two
    children, node count <= 2 * len - 1, and exactly the dict's keys stored."""
    trie._sync()
    assert not trie._adds and not trie._dels
    root = trie._root
    bits = trie.bits
    count = 0
    stored: list[int] = []
    if root is not None:
        assert root.parent is None
    for node in nodes(trie):
        count += 1
        assert node.plen <= bits
        assert node.addr & ((1 << (bits - node.plen)) - 1) == 0, "host bits set"
        assert node.addr >> bits == 0
        kids = [k for k in (node.left, node.right) if k is not None]
        if node.full:
            stored.append((node.addr << 8) | node.plen)
        else:
            assert len(kids) == 2, "glue node with fewer than two children"
        for side, kid in ((0, node.left), (1, node.right)):
            if kid is None:
                continue
            assert kid.parent is node
            assert kid.plen > node.plen
            assert contains((node.addr << 8) | node.plen, (kid.addr << 8) | kid.plen, bits)
            assert (kid.addr >> (bits - 1 - node.plen)) & 1 == side
    assert stored == sorted(trie._map), "pre-order is key order, same keys as the dict"
    assert count == trie._nodes == trie.node_count
    assert len(stored) == trie._held == len(trie)
    assert count <= max(0, 2 * len(trie) - 1)


def check_against(trie: RadixTrie[int], oracle: dict[int, int]) -> None:
    assert len(trie) == len(oracle)
    assert list(trie.items()) == sorted(oracle.items())
    assert list(trie) == sorted(oracle)
    for k, v in oracle.items():
        assert trie.get(k) == v
        assert k in trie


def check_queries(trie: RadixTrie[int], oracle: dict[int, int], probes: list[int]) -> None:
    bits = trie.bits
    for k in probes:
        want = sorted((o, v) for o, v in oracle.items() if contains(o, k, bits))
        assert trie.covering(k) == want
        assert trie.longest_match(k) == (want[-1] if want else None)
        assert list(trie.longer(k)) == sorted(
            (i, v) for i, v in oracle.items() if contains(k, i, bits)
        )


def prefixes(bits: int) -> st.SearchStrategy[int]:
    # a narrow address range makes nesting and shared prefixes frequent
    return st.builds(
        lambda hi, lo, plen: key_of((hi << (bits - 4)) | lo, plen, bits),
        st.integers(0, 15),
        st.integers(0, (1 << (bits - 4)) - 1),
        st.integers(0, bits),
    )


OPS = st.lists(st.tuples(st.booleans(), st.integers(0, 10**6)), max_size=80)


def apply_op(trie: RadixTrie[int], oracle: dict[int, int], k: int, is_insert: bool, n: int) -> None:
    """Insert (k, n) into both, or delete k from both: the trie returns what the dict had."""
    if is_insert:
        trie.insert(k, n)
        oracle[k] = n
    else:
        assert trie.delete(k) == oracle.pop(k, None)


@pytest.mark.parametrize("bits", [32, 128])
def test_churn_against_dict(bits: int) -> None:
    """Every operation followed by a sync and the structural checks (so each change
    reaches the trie alone: the incremental insert / delete paths)."""

    @SETTINGS
    @given(keys=st.lists(prefixes(bits), min_size=1, max_size=40), ops=OPS)
    def run(keys: list[int], ops: list[tuple[bool, int]]) -> None:
        trie: RadixTrie[int] = RadixTrie(bits)
        oracle: dict[int, int] = {}
        for is_insert, n in ops:
            apply_op(trie, oracle, keys[n % len(keys)], is_insert, n)
            check_structure(trie)
        check_against(trie, oracle)
        check_queries(trie, oracle, keys)
        for k in list(oracle):
            trie.delete(k)
            check_structure(trie)
        assert len(trie) == 0 and trie.node_count == 0 and trie._root is None

    run()


@pytest.mark.parametrize("bits", [32, 128])
@pytest.mark.parametrize("rebuild_div", [0, 4, 1 << 30])
def test_batched_churn_against_dict(
    bits: int, rebuild_div: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of changes between queries, applied one by one (``_REBUILD_DIV`` 0), by a
    rebuild from sorted keys (huge), or whichever the size says (the default)."""
    monkeypatch.setattr(trie_mod, "_REBUILD_DIV", rebuild_div)

    @SETTINGS
    @given(
        keys=st.lists(prefixes(bits), min_size=1, max_size=40),
        batches=st.lists(OPS, max_size=6),
    )
    def run(keys: list[int], batches: list[list[tuple[bool, int]]]) -> None:
        trie: RadixTrie[int] = RadixTrie(bits)
        oracle: dict[int, int] = {}
        for ops in batches:
            for is_insert, n in ops:
                apply_op(trie, oracle, keys[n % len(keys)], is_insert, n)
            check_queries(trie, oracle, keys[:5])
            check_structure(trie)
            check_against(trie, oracle)

    run()


def machine(bits: int) -> type[RuleBasedStateMachine]:
    """Stateful model of random inserts/deletes/queries on ``bits``-wide keys; the
    invariant syncs and checks the real trie after every step."""

    class TrieMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.trie: RadixTrie[int] = RadixTrie(bits)
            self.oracle: dict[int, int] = {}

        @rule(k=prefixes(bits), v=st.integers())
        def insert(self, k: int, v: int) -> None:
            self.trie.insert(k, v)
            self.oracle[k] = v

        @precondition(lambda self: bool(self.oracle))
        @rule(data=st.data())
        def delete_present(self, data: st.DataObject) -> None:
            k = data.draw(st.sampled_from(sorted(self.oracle)))
            assert self.trie.delete(k) == self.oracle.pop(k)

        @rule(k=prefixes(bits))
        def delete_any(self, k: int) -> None:
            assert self.trie.delete(k) == self.oracle.pop(k, None)

        @rule(k=prefixes(bits))
        def query(self, k: int) -> None:
            assert self.trie.get(k) == self.oracle.get(k)
            assert (k in self.trie) == (k in self.oracle)
            check_queries(self.trie, self.oracle, [k])

        @invariant()
        def consistent(self) -> None:
            check_structure(self.trie)
            assert list(self.trie.items()) == sorted(self.oracle.items())

    return TrieMachine


MACHINE_SETTINGS = settings(max_examples=30, stateful_step_count=40, deadline=None)
TestTrieMachine4 = machine(32).TestCase
TestTrieMachine4.settings = MACHINE_SETTINGS
TestTrieMachine6 = machine(128).TestCase
TestTrieMachine6.settings = MACHINE_SETTINGS


def test_host_routes_full_depth() -> None:
    trie: RadixTrie[int] = RadixTrie(128)
    keys = [key_of(1 << i, 128, 128) for i in range(128)] + [key_of(0, 0, 128)]
    for i, k in enumerate(keys):
        trie.insert(k, i)
    check_structure(trie)
    assert list(trie.items()) == sorted((k, i) for i, k in enumerate(keys))
    assert trie.covering(keys[0]) == [(key_of(0, 0, 128), 128), (keys[0], 0)]
    for k in keys:
        trie.delete(k)
        check_structure(trie)
    assert trie.node_count == 0


def test_examples_ipv4() -> None:
    def k(text: str) -> int:
        net, plen = text.split("/")
        a, b, c, d = (int(x) for x in net.split("."))
        return key_of((a << 24) | (b << 16) | (c << 8) | d, int(plen), 32)

    trie: RadixTrie[str] = RadixTrie(32)
    for p in ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.2.0.0/16", "192.168.0.0/16"]:
        trie.insert(k(p), p)
    assert [v for _, v in trie.covering(k("10.1.2.128/25"))] == [
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
    ]
    assert [v for _, v in trie.longer(k("10.0.0.0/8"))] == [
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "10.2.0.0/16",
    ]
    assert list(trie.longer(k("11.0.0.0/8"))) == []
    assert trie.longest_match(k("10.3.0.1/32")) == (k("10.0.0.0/8"), "10.0.0.0/8")
    # 10.0.0.0/14 is a glue node (10.1/16 and 10.2/16 diverge there): not a hit
    assert (k("10.0.0.0/14") >> 8, 14, False) in shape(trie)
    assert trie.get(k("10.0.0.0/14")) is None and k("10.0.0.0/14") not in trie
    assert trie.delete(k("10.0.0.0/14")) is None
    trie.insert(k("10.1.0.0/16"), "replaced")
    assert trie.get(k("10.1.0.0/16")) == "replaced" and len(trie) == 5
    assert trie.node_count == 7  # five keys, glue 10.0.0.0/14 and 0.0.0.0/0


def test_invalid_keys_rejected() -> None:
    trie: RadixTrie[int] = RadixTrie(32)
    with pytest.raises(ValueError):
        trie.insert(key_of(0, 0, 32) | 33, 1)  # length beyond 32
    with pytest.raises(ValueError):
        trie.insert((0x0A000001 << 8) | 24, 1)  # host bits set
    with pytest.raises(ValueError):
        trie.insert(((1 << 32) << 8) | 8, 1)  # address wider than 32 bits
    with pytest.raises(ValueError):
        RadixTrie(64)
    assert len(trie) == 0 and not trie._adds


def test_build_and_incremental_make_the_same_trie(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trie is canonical for its key set: the linear build from sorted keys and
    inserts one by one (in random order) give the same nodes."""
    rng = random.Random(3)
    lengths = [0, 8, 16, 23, 24, 32]
    keys = list({key_of(rng.getrandbits(32), rng.choice(lengths), 32) for _ in range(400)})
    built: RadixTrie[int] = RadixTrie(32)
    for k in keys:
        built.insert(k, k)
    check_structure(built)  # an empty trie: built in one pass
    monkeypatch.setattr(trie_mod, "_REBUILD_DIV", 0)
    one_by_one: RadixTrie[int] = RadixTrie(32)
    one_by_one.insert(keys[0], keys[0])
    check_structure(one_by_one)
    rng.shuffle(keys)
    for k in keys:
        one_by_one.insert(k, k)
        if rng.random() < 0.3:
            check_structure(one_by_one)
    check_structure(one_by_one)
    assert shape(one_by_one) == shape(built)
    assert list(one_by_one.items()) == list(built.items())


def test_free_list_reuses_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trie_mod, "_REBUILD_DIV", 0)  # deletes reach the trie one by one
    trie: RadixTrie[int] = RadixTrie(32)
    rng = random.Random(7)
    keys = sorted({key_of(rng.getrandbits(32), rng.randint(8, 32), 32) for _ in range(500)})
    for k in keys:
        trie.insert(k, 1)
    peak = trie.node_count
    assert trie.free_count == 0
    for k in keys:
        trie.delete(k)
    assert trie.node_count == 0 and trie.free_count == peak  # every node freed
    for k in keys:
        trie.insert(k, 2)
    assert trie.node_count == peak and trie.free_count == 0  # and reused by the build
    check_structure(trie)


def test_rebuild_reuses_the_old_nodes() -> None:
    trie: RadixTrie[int] = RadixTrie(32)
    rng = random.Random(5)
    keys = sorted({key_of(rng.getrandbits(32), rng.randint(8, 32), 32) for _ in range(600)})
    for k in keys:
        trie.insert(k, 1)
    trie._sync()
    old = {id(n): n for n in nodes(trie)}
    for k in keys[::2]:  # half the table: rebuilt from the sorted keys
        trie.delete(k)
    check_structure(trie)
    now = list(nodes(trie))
    assert all(id(n) in old for n in now)
    assert trie.free_count == len(old) - len(now)
    assert all(n.parent is None and n.left is None and n.right is None for n in trie._free)


def test_pending_add_cancelled_by_delete_costs_nothing() -> None:
    trie: RadixTrie[int] = RadixTrie(32)
    base = [key_of(i << 24, 8, 32) for i in range(10)]
    for k in base:
        trie.insert(k, 0)
    trie._sync()
    before = shape(trie)
    churn = [key_of((i << 24) | (j << 16), 16, 32) for i in range(10) for j in range(5)]
    for k in churn:
        trie.insert(k, 1)
    for k in churn:
        assert trie.delete(k) == 1
    assert not trie._adds and not trie._dels  # nothing left for the trie to do
    assert shape(trie) == before
    # a delete cancelled by a re-insert: the node stays, the new value is seen
    trie.delete(base[3])
    assert trie._dels == {base[3]}
    trie.insert(base[3], 42)
    assert not trie._adds and not trie._dels
    assert shape(trie) == before
    assert list(trie.longer(base[3])) == [(base[3], 42)]
    check_structure(trie)


def test_order_merges_changes_between_walks() -> None:
    """Inserts, deletes and re-inserts between ordered walks (the lazily synced trie),
    with batches big and small against the table."""
    trie: RadixTrie[int] = RadixTrie(32)
    rng = random.Random(7)
    oracle: dict[int, int] = {}
    pool = sorted({key_of(rng.getrandbits(32), rng.randint(0, 32), 32) for _ in range(300)})
    for step in range(40):
        for _ in range(rng.choice([0, 1, 5, 30, 200])):
            k = rng.choice(pool)
            if rng.random() < 0.6:
                trie.insert(k, step)
                oracle[k] = step
            else:
                assert trie.delete(k) == oracle.pop(k, None)
        if step % 3:
            assert list(trie.items()) == sorted(oracle.items())
        check_queries(trie, oracle, [rng.choice(pool)])
        check_structure(trie)
    trie.clear()
    assert len(trie) == 0 and list(trie.items()) == [] and trie.covering(pool[0]) == []
    assert trie.node_count == 0
    trie.insert(pool[0], 1)
    assert list(trie.items()) == [(pool[0], 1)]
    check_structure(trie)


def test_queries_with_odd_keys() -> None:
    """Host bits in a query key are ignored; a length beyond the width matches nothing
    longer and is covered like the full-length address."""
    trie: RadixTrie[str] = RadixTrie(32)
    k24 = key_of(0x0A010200, 24, 32)
    k25 = key_of(0x0A010280, 25, 32)
    trie.insert(k24, "a")
    trie.insert(k25, "b")
    odd = (0x0A010203 << 8) | 24
    assert list(trie.longer(odd)) == [(k24, "a"), (k25, "b")]
    assert trie.covering(odd) == [(k24, "a")]
    beyond = (0x0A010281 << 8) | 40
    assert list(trie.longer(beyond)) == []
    assert trie.covering(beyond) == [(k24, "a"), (k25, "b")]
    assert trie.longest_match(beyond) == (k25, "b")
    assert trie.covering((1 << 40) | 8) == []  # address wider than 32 bits
    assert "x" not in trie  # a non-int key is never stored


def test_mutation_during_iteration_raises() -> None:
    trie: RadixTrie[int] = RadixTrie(32)
    for i in range(4):
        trie.insert(key_of(i << 24, 8, 32), i)
    it = trie.items()
    assert next(it) == (key_of(0, 8, 32), 0)
    trie.insert(key_of(1 << 24, 8, 32), 10)  # replacing a value is allowed, like a dict
    assert next(it) == (key_of(1 << 24, 8, 32), 10)
    trie.insert(key_of(9 << 24, 8, 32), 9)
    with pytest.raises(RuntimeError):
        next(it)


@SETTINGS
@given(keys=st.lists(prefixes(32), min_size=1, max_size=30), ops=OPS)
def test_shared_index_against_dict(keys: list[int], ops: list[tuple[bool, int]]) -> None:
    """An owner that stores keys in the shared dict itself and reports them with
    added/removed (mixed with insert/delete) sees the same answers as a plain trie."""
    index: dict[int, int] = {keys[0]: -1}
    shared: RadixTrie[int] = RadixTrie(32, index=index)
    plain: RadixTrie[int] = RadixTrie(32)
    plain.insert(keys[0], -1)
    for is_insert, n in ops:
        k = keys[n % len(keys)]
        if is_insert:
            if n % 3:
                if k not in index:
                    index[k] = n
                    shared.added(k)
                index[k] = n
            else:
                shared.insert(k, n)
            plain.insert(k, n)
        elif n % 3:
            if index.pop(k, None) is not None or k in plain:
                shared.removed(k)
            plain.delete(k)
        else:
            assert shared.delete(k) == plain.delete(k)
        if n % 4 == 0:
            assert list(shared.items()) == list(plain.items())
    check_structure(shared)
    check_structure(plain)
    assert shape(shared) == shape(plain)
    assert list(shared.items()) == list(plain.items()) == sorted(index.items())
    for k in keys:
        assert shared.covering(k) == plain.covering(k)
        assert list(shared.longer(k)) == list(plain.longer(k))
    with pytest.raises(ValueError):
        shared.added((0x0A000001 << 8) | 24)  # host bits set


@pytest.mark.parametrize("shared", [False, True])
def test_bulk_changes_stop_tracking_and_rebuild(shared: bool) -> None:
    """Beyond len / 4 pending changes the trie stops tracking them (no 500,000-key set
    held until the first query) and the next query rebuilds it from the sorted keys."""
    import random

    rng = random.Random(7)
    index: dict[int, int] = {}
    trie: RadixTrie[int] = RadixTrie(32, index=index) if shared else RadixTrie(32)
    oracle: dict[int, int] = {}
    keys = sorted({key_of(rng.getrandbits(32), rng.randint(8, 32), 32) for _ in range(6000)})

    def put(k: int) -> None:
        if shared:
            if k not in index:
                index[k] = k
                trie.added(k)
        else:
            trie.insert(k, k)
        oracle[k] = k

    def drop(k: int) -> None:
        if shared:
            if index.pop(k, None) is not None:
                trie.removed(k)
        else:
            trie.delete(k)
        oracle.pop(k, None)

    for k in keys:
        put(k)
    assert trie._stale and not trie._adds  # bulk load: nothing tracked per key
    check_against(trie, oracle)
    check_structure(trie)
    assert not trie._stale
    for k in keys[:200]:  # a small change after the sync: tracked again
        drop(k)
    assert not trie._stale and len(trie._dels) == 200
    check_against(trie, oracle)
    for k in keys[200:5000]:  # a bulk withdrawal
        drop(k)
    assert trie._stale and not trie._dels
    check_against(trie, oracle)
    check_structure(trie)
