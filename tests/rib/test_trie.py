"""RadixTrie against a dict oracle, with structural invariants after every operation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bgprr.rib.trie import RadixTrie

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


def check_structure(trie: RadixTrie[int]) -> None:
    """Internal bookkeeping: valid keys, counts per length, the merged order."""
    bits = trie.bits
    stored = dict(trie._map)
    for k in stored:
        plen = k & 0xFF
        assert plen <= bits
        assert (k >> 8) & ((1 << (bits - plen)) - 1) == 0, "host bits set"
    assert not trie._added & trie._gone
    assert trie._order() == sorted(stored)
    assert not trie._added and not trie._gone
    lens = [0] * (bits + 1)
    for k in stored:
        lens[k & 0xFF] += 1
    assert trie._lens == lens
    assert trie._lengths() == [n for n, c in enumerate(lens) if c]
    assert trie.node_count == len(trie) == len(stored)


def check_against(trie: RadixTrie[int], oracle: dict[int, int]) -> None:
    assert len(trie) == len(oracle)
    assert list(trie.items()) == sorted(oracle.items())
    for k, v in oracle.items():
        assert trie.get(k) == v
        assert k in trie


def prefixes(bits: int) -> st.SearchStrategy[int]:
    # a narrow address range makes nesting and shared prefixes frequent
    return st.builds(
        lambda hi, lo, plen: key_of((hi << (bits - 4)) | lo, plen, bits),
        st.integers(0, 15),
        st.integers(0, (1 << (bits - 4)) - 1),
        st.integers(0, bits),
    )


OPS = st.lists(st.tuples(st.booleans(), st.integers(0, 10**6)), max_size=80)


@pytest.mark.parametrize("bits", [32, 128])
def test_churn_against_dict(bits: int) -> None:
    @SETTINGS
    @given(keys=st.lists(prefixes(bits), min_size=1, max_size=40), ops=OPS)
    def run(keys: list[int], ops: list[tuple[bool, int]]) -> None:
        trie: RadixTrie[int] = RadixTrie(bits)
        oracle: dict[int, int] = {}
        for is_insert, n in ops:
            k = keys[n % len(keys)]
            if is_insert:
                trie.insert(k, n)
                oracle[k] = n
            else:
                assert trie.delete(k) == oracle.pop(k, None)
            check_structure(trie)
        check_against(trie, oracle)
        for k in keys:
            assert trie.covering(k) == sorted(
                (o, v) for o, v in oracle.items() if contains(o, k, bits)
            )
            assert list(trie.longer(k)) == sorted(
                (i, v) for i, v in oracle.items() if contains(k, i, bits)
            )
        for k in list(oracle):
            trie.delete(k)
            check_structure(trie)
        assert len(trie) == 0 and trie.node_count == 0 and list(trie.items()) == []

    run()


def machine(bits: int) -> type[RuleBasedStateMachine]:
    """Stateful model of random inserts/deletes/queries on ``bits``-wide keys."""

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
            want = sorted((o, v) for o, v in self.oracle.items() if contains(o, k, bits))
            assert self.trie.covering(k) == want
            assert self.trie.longest_match(k) == (want[-1] if want else None)
            assert list(self.trie.longer(k)) == sorted(
                (i, v) for i, v in self.oracle.items() if contains(k, i, bits)
            )

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
    assert trie.get(k("10.0.0.0/9")) is None  # a glue node would live here: not a hit
    assert trie.delete(k("10.0.0.0/9")) is None
    trie.insert(k("10.1.0.0/16"), "replaced")
    assert trie.get(k("10.1.0.0/16")) == "replaced" and len(trie) == 5


def test_invalid_keys_rejected() -> None:
    trie: RadixTrie[int] = RadixTrie(32)
    with pytest.raises(ValueError):
        trie.insert(key_of(0, 0, 32) | 33, 1)  # length beyond 32
    with pytest.raises(ValueError):
        trie.insert((0x0A000001 << 8) | 24, 1)  # host bits set
    with pytest.raises(ValueError):
        RadixTrie(64)


def test_order_merges_changes_between_walks() -> None:
    """Inserts, deletes and re-inserts between ordered walks (the lazily merged order)."""
    trie: RadixTrie[int] = RadixTrie(32)
    rng = random.Random(7)
    oracle: dict[int, int] = {}
    pool = sorted({key_of(rng.getrandbits(32), rng.randint(0, 32), 32) for _ in range(300)})
    for step in range(40):
        for _ in range(rng.randint(0, 30)):
            k = rng.choice(pool)
            if rng.random() < 0.6:
                trie.insert(k, step)
                oracle[k] = step
            else:
                assert trie.delete(k) == oracle.pop(k, None)
        if step % 3:
            assert list(trie.items()) == sorted(oracle.items())
        probe = rng.choice(pool)
        assert list(trie.longer(probe)) == sorted(
            (i, v) for i, v in oracle.items() if contains(probe, i, 32)
        )
        check_structure(trie)
    trie.clear()
    assert len(trie) == 0 and list(trie.items()) == [] and trie.covering(pool[0]) == []
    trie.insert(pool[0], 1)
    assert list(trie.items()) == [(pool[0], 1)]


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
    assert list(shared.items()) == list(plain.items()) == sorted(index.items())
    for k in keys:
        assert shared.covering(k) == plain.covering(k)
        assert list(shared.longer(k)) == list(plain.longer(k))
    with pytest.raises(ValueError):
        shared.added((0x0A000001 << 8) | 24)  # host bits set
