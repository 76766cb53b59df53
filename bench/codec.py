"""UPDATE codec throughput: ``python bench/codec.py`` prints a markdown table.

Workloads:
- calico: IPv4 /26 blocks and /32 host routes, 4-octet private ASN, NEXT_HOP, LOCAL_PREF,
  one community; as packed by the reflector (full 4096-octet messages) and as BIRD sends
  them to a reflector (one prefix per UPDATE).
- internet: /24-/16 mix, 5-ASN paths, MED, 6 communities, a large community, 8 prefixes per
  UPDATE; IPv6 the same through MP_REACH_NLRI.
Each row is the best of a few repetitions.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

from bgprr.wire.attributes import encode_as_path, encode_attribute, reflect_block
from bgprr.wire.prefix import decode_prefixes, encode_prefixes
from bgprr.wire.update import (
    decode_update,
    pack_updates,
    pack_withdrawals,
)

H = bytes.fromhex


def _best(fn: Callable[[], object], reps: int = 5) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def calico_attrs() -> bytes:
    return b"".join(
        [
            encode_attribute(0x40, 1, b"\x00"),
            encode_attribute(0x40, 2, encode_as_path([(2, (4200000001,))])),
            encode_attribute(0x40, 3, H("0a000001")),
            encode_attribute(0x40, 5, (100).to_bytes(4, "big")),
            encode_attribute(0xC0, 8, H("fde80001")),
        ]
    )


def internet_attrs(rng: random.Random, nh: bool = True) -> bytes:
    path = tuple(
        rng.choice([3356, 1299, 174, 6939, 4200000000 + rng.randrange(1000)]) for _ in range(5)
    )
    parts = [
        encode_attribute(0x40, 1, b"\x00"),
        encode_attribute(0x40, 2, encode_as_path([(2, path)])),
    ]
    if nh:
        parts.append(encode_attribute(0x40, 3, H("c0000201")))
    parts += [
        encode_attribute(0x80, 4, (rng.randrange(1000)).to_bytes(4, "big")),
        encode_attribute(0x40, 5, (100).to_bytes(4, "big")),
        encode_attribute(0xC0, 8, b"".join(rng.randbytes(4) for _ in range(6))),
        encode_attribute(0xC0, 32, rng.randbytes(12)),
    ]
    return b"".join(parts)


def main() -> None:
    rng = random.Random(7)
    rows: list[tuple[str, int, int, float]] = []  # name, msgs, prefixes, seconds

    # Calico: 20000 /26 blocks + 20000 /32 host routes in 10.0.0.0/8 (packed)
    blocks = [((10 << 24) | (i << 6)) << 8 | 26 for i in range(20000)]
    hosts = [((10 << 24) | (1 << 22) | i) << 8 | 32 for i in range(20000)]
    keys = blocks + hosts
    attrs = calico_attrs()
    msgs = pack_updates((1, 1), attrs, b"", keys, None)
    n = len(keys)
    rows.append(
        ("calico decode, packed", len(msgs), n, _best(lambda: [decode_update(m) for m in msgs]))
    )
    rows.append(
        (
            "calico encode, pack_updates",
            len(msgs),
            n,
            _best(lambda: pack_updates((1, 1), attrs, b"", keys, None)),
        )
    )
    rows.append(
        (
            "calico encode, pack_withdrawals",
            len(pack_withdrawals((1, 1), keys, None)),
            n,
            _best(lambda: pack_withdrawals((1, 1), keys, None)),
        )
    )
    ap_msgs = pack_updates((1, 1), attrs, b"", keys, list(range(n)))
    ap = frozenset({(1, 1)})
    rows.append(
        (
            "calico decode, packed, ADD-PATH",
            len(ap_msgs),
            n,
            _best(lambda: [decode_update(m, addpath=ap) for m in ap_msgs]),
        )
    )

    # Calico as BIRD sends it: one prefix per UPDATE
    singles = [pack_updates((1, 1), attrs, b"", [key], None)[0] for key in keys[:20000:2]]
    rows.append(
        (
            "calico decode, 1 prefix/UPDATE",
            len(singles),
            len(singles),
            _best(lambda: [decode_update(m) for m in singles]),
        )
    )
    few = keys[:20000:2]
    rows.append(
        (
            "calico encode, 1 prefix/UPDATE",
            len(few),
            len(few),
            _best(lambda: [pack_updates((1, 1), attrs, b"", [x], None) for x in few]),
        )
    )

    # Internet-like IPv4: 8 prefixes per UPDATE, distinct attributes per message
    inet: list[bytes] = []
    inet_groups: list[tuple[bytes, list[int]]] = []
    for _ in range(5000):
        a = internet_attrs(rng)
        ks = []
        for _ in range(8):
            plen = rng.choice([24, 24, 24, 23, 22, 20, 16])
            addr = rng.getrandbits(32) >> (32 - plen) << (32 - plen)
            ks.append((addr << 8) | plen)
        inet_groups.append((a, ks))
        inet += pack_updates((1, 1), a, b"", ks, None)
    rows.append(
        (
            "internet v4 decode, 8/UPDATE",
            len(inet),
            8 * len(inet),
            _best(lambda: [decode_update(m) for m in inet]),
        )
    )
    rows.append(
        (
            "internet v4 encode, 8/UPDATE",
            len(inet),
            8 * len(inet),
            _best(lambda: [pack_updates((1, 1), a, b"", ks, None) for a, ks in inet_groups]),
        )
    )

    # Internet-like IPv6 via MP_REACH_NLRI
    nh6 = H("20010db8000000000000000000000001fe800000000000000000000000000001")
    inet6: list[bytes] = []
    groups6: list[tuple[bytes, list[int]]] = []
    for _ in range(5000):
        a = internet_attrs(rng, nh=False)
        ks = []
        for _ in range(8):
            plen = rng.choice([48, 48, 48, 44, 40, 32, 64])
            addr = rng.getrandbits(128) >> (128 - plen) << (128 - plen)
            ks.append((addr << 8) | plen)
        groups6.append((a, ks))
        inet6 += pack_updates((2, 1), a, nh6, ks, None)
    rows.append(
        (
            "internet v6 decode, 8/UPDATE",
            len(inet6),
            8 * len(inet6),
            _best(lambda: [decode_update(m) for m in inet6]),
        )
    )
    rows.append(
        (
            "internet v6 encode, 8/UPDATE",
            len(inet6),
            8 * len(inet6),
            _best(lambda: [pack_updates((2, 1), a, nh6, ks, None) for a, ks in groups6]),
        )
    )

    # raw NLRI field decoding and reflection rewriting
    field = encode_prefixes(keys, None, 1)
    rows.append(
        (
            "decode_prefixes only (/26+/32)",
            0,
            n,
            _best(lambda: decode_prefixes(field, 0, len(field), 1, False)),
        )
    )
    blocks_ = [a for a, _ in inet_groups]
    rows.append(
        (
            "reflect_block (per attribute set)",
            len(blocks_),
            0,
            _best(lambda: [reflect_block(b, originator_id=1, cluster_id=2) for b in blocks_]),
        )
    )

    print("| workload | msgs | prefixes | msgs/s | prefixes/s | µs/msg |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, m, p, sec in rows:
        mps = f"{m / sec:,.0f}" if m else "-"
        pps = f"{p / sec:,.0f}" if p else "-"
        per = f"{sec / m * 1e6:.2f}" if m else "-"
        print(f"| {name} | {m} | {p} | {mps} | {pps} | {per} |")
    print(f"\nPython {sys.version.split()[0]}; best of 5 (CPU time); single process.")


if __name__ == "__main__":
    main()
