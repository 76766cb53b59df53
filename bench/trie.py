"""RadixTrie vs dict at N IPv4 prefixes: insert, sync, lookup, covering, delete rates.

Run: ``python bench/trie.py [N]`` (default 300000). Prints one row per operation with
microseconds per operation and operations per second for the RadixTrie and for a dict
(the dict has no covering query; its column probes the 11 prefix lengths the data uses).
``insert`` / ``delete`` are the hot path (the dict and a pending set); the ``sync`` rows
are what the next ordered query pays to bring the radix trie up to date: a linear build
from sorted keys (empty trie, or a batch large against the table) or changes applied one
by one in key order (per changed prefix).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

from bgprr.rib import trie as trie_mod
from bgprr.rib.trie import RadixTrie


def make_keys(n: int, seed: int = 1) -> list[int]:
    """``n`` distinct IPv4 prefix keys shaped like a DFZ table (mostly /24, some shorter)."""
    rng = random.Random(seed)
    lengths = [24] * 60 + [22, 23] * 8 + [16, 19, 20, 21] * 4 + [8, 12, 28, 32]
    keys: set[int] = set()
    while len(keys) < n:
        plen = rng.choice(lengths)
        addr = (rng.getrandbits(32) >> (32 - plen)) << (32 - plen)
        keys.add((addr << 8) | plen)
    out = list(keys)
    rng.shuffle(out)
    return out


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best of ``repeat`` runs (the machine is shared: the minimum is the least noisy)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def dict_covering(table: dict[int, int], key: int) -> list[tuple[int, int]]:
    """What a dict-only RIB would do for covering: probe every shorter length."""
    addr = key >> 8
    out = []
    for plen in (8, 12, 16, 19, 20, 21, 22, 23, 24, 28, 32):
        if plen > (key & 0xFF):
            break
        k = (((addr >> (32 - plen)) << (32 - plen)) << 8) | plen
        v = table.get(k)
        if v is not None:
            out.append((k, v))
    return out


def main(n: int) -> None:
    keys = make_keys(n)
    ordered = sorted(keys)
    probes = keys[: min(n, 100_000)]
    trie: RadixTrie[int] = RadixTrie(32)
    table: dict[int, int] = {}
    rows: list[tuple[str, float, float, int]] = []

    def trie_insert() -> None:
        for k in keys:
            trie.insert(k, k)

    def dict_insert() -> None:
        for k in keys:
            table[k] = k

    def one_by_one(batch: list[int]) -> RadixTrie[int]:
        """A trie holding ``batch[0]``, the rest pending (applied one by one)."""
        t: RadixTrie[int] = RadixTrie(32)
        t.insert(batch[0], 0)
        t._sync()
        for k in batch[1:]:
            t.insert(k, k)
        return t

    rows.append(("insert (hot)", timed(trie_insert), timed(dict_insert), n))
    t_build = timed(trie._sync)  # the first ordered query after the bulk load
    t_sort = timed(lambda: sorted(keys))
    nodes = trie.node_count
    saved = trie_mod._REBUILD_DIV
    trie_mod._REBUILD_DIV = 0  # apply changes one by one, however many
    try:
        inc = one_by_one(ordered)
        t_inc_sorted = timed(inc._sync)
        inc = one_by_one(keys)

        def add_all() -> None:  # in arrival order (no sort)
            for k in keys:
                inc._add(k)

        t_inc = timed(add_all)
        inc._adds.clear()
        t_del_hot = timed(lambda: [inc.delete(k) for k in keys[: n // 10]])
        t_del_sync = timed(inc._sync)  # a tenth of the table, one by one
    finally:
        trie_mod._REBUILD_DIV = saved
    rows.append(
        (
            "get",
            timed(lambda: [trie.get(k) for k in probes], 3),
            timed(lambda: [table.get(k) for k in probes], 3),
            len(probes),
        )
    )
    rows.append(
        (
            "covering",
            timed(lambda: [trie.covering(k) for k in probes], 3),
            timed(lambda: [dict_covering(table, k) for k in probes], 3),
            len(probes),
        )
    )
    rows.append(
        (
            "items (ordered)",
            timed(lambda: list(trie.items()), 3),
            timed(lambda: sorted(table.items()), 3),
            n,
        )
    )

    def trie_delete() -> None:
        for k in keys:
            trie.delete(k)

    def dict_delete() -> None:
        for k in keys:
            del table[k]

    def churn_third() -> None:  # a third of the table out, then a rebuild reusing nodes
        for k in keys[: n // 3]:
            trie.delete(k)
        trie._sync()

    t_rebuild = timed(churn_third)
    for k in keys[: n // 3]:
        trie.insert(k, k)
    trie._sync()
    rows.append(("delete (hot)", timed(trie_delete), timed(dict_delete), n))
    trie._sync()
    reinsert = timed(trie_insert) + timed(trie._sync)

    print(
        f"RadixTrie vs dict, {n} IPv4 prefixes, {nodes} trie nodes "
        f"({nodes / n:.2f} per prefix), Python {sys.version.split()[0]}"
    )
    print(
        f"{'operation':<16}{'trie us/op':>12}{'trie op/s':>12}{'dict us/op':>12}"
        f"{'dict op/s':>12}{'ratio':>8}"
    )
    for name, t_trie, t_dict, count in rows:
        print(
            f"{name:<16}{t_trie / count * 1e6:>12.2f}{count / t_trie:>12,.0f}"
            f"{t_dict / count * 1e6:>12.2f}{count / t_dict:>12,.0f}{t_trie / t_dict:>8.1f}"
        )
    for name, t, count, note in (
        ("sync: build", t_build, n, f"sort + linear build, {t_build:.2f} s in all"),
        ("  of it sort", t_sort, n, "sorted(keys)"),
        ("sync: rebuild", t_rebuild, n, "delete a third + rebuild, old nodes reused"),
        ("sync: 1 by 1", t_inc_sorted, n, "into an empty trie, in key order"),
        ("trie add", t_inc, n, "one by one, arrival order"),
        ("sync: deletes", t_del_sync, n // 10, "a tenth of the table, one by one"),
        ("delete (hot)", t_del_hot, n // 10, "that tenth, dict + pending set"),
        ("re-insert", reinsert, n, "insert + build after delete-all"),
    ):
        print(f"{name:<16}{t / count * 1e6:>12.2f}{count / t:>12,.0f}   ({note})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
