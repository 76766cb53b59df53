"""RadixTrie vs dict at N IPv4 prefixes: insert, lookup, covering, delete rates.

Run: ``python bench/trie.py [N]`` (default 300000). Prints one row per operation with
microseconds per operation and operations per second for the trie and for a dict (the
dict has no covering query; its column probes the 11 prefix lengths the data uses).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

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

    rows.append(("insert", timed(trie_insert), timed(dict_insert), len(keys)))
    nodes = trie.node_count
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
            len(keys),
        )
    )

    def trie_delete() -> None:
        for k in keys:
            trie.delete(k)

    def dict_delete() -> None:
        for k in keys:
            del table[k]

    rows.append(("delete", timed(trie_delete), timed(dict_delete), len(keys)))
    reinsert = timed(trie_insert)

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
    print(
        f"{'re-insert':<16}{reinsert / n * 1e6:>12.2f}{n / reinsert:>12,.0f}"
        "   (after delete-all; free list holds at most 4096 nodes)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
