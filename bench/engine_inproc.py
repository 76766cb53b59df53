"""In-process timing of the reflection engine's hot path (no sockets, no asyncio).

Two loads, each timed from the first UPDATE handed to the engine until every receiver
has pulled all its output:

* ``inet``: one iBGP client announces ``--prefixes`` IPv4 prefixes (Internet-like
  lengths) spread over ``--attr-sets`` attribute sets; ``--receivers`` clients pull.
* ``calico``: a full mesh of ``--nodes`` clients, each announcing one /26 with its own
  next hop; every node pulls the ``nodes - 1`` others.

``python -m bench.engine_inproc`` prints the CPU seconds (process time) of each load
(best of one run; run it several times and take the median). ``--policy`` installs the
benchmark's import policy (:mod:`bench.policyset`: a 10,000-entry prefix set, a
community added to matches) as the global import chain. Like the daemon, the engine is
set up with the collector tuned (:func:`bgprr.app.tune_gc`: what exists is frozen).
``--calico-prefixes N`` adds a third load, ``calico-10k``'s flow (two speakers announce N
Calico-like prefixes, 20 receivers).
"""

from __future__ import annotations

import argparse
import random
import time

from bench.policyset import gobgp_policy_toml
from bgprr.app import tune_gc
from bgprr.config.loader import load_config_text
from bgprr.policy.compile import compile_policies
from bgprr.reflect import PeerCaps, PeerSettings, ReflectionEngine
from bgprr.wire.attributes import encode_as_path, encode_attribute
from bgprr.wire.constants import IPV4_UNICAST, AttrType
from bgprr.wire.update import Update, decode_update, pack_updates

F = IPV4_UNICAST
LENGTHS = ((24, 60), (23, 8), (22, 12), (21, 5), (20, 5), (19, 4), (16, 3), (18, 3))


def attrs(as_path: tuple[int, ...], next_hop: int, local_pref: int = 100) -> bytes:
    return b"".join(
        (
            encode_attribute(0x40, AttrType.ORIGIN, b"\x00"),
            encode_attribute(0x40, AttrType.AS_PATH, encode_as_path([(2, as_path)], 4)),
            encode_attribute(0x40, AttrType.NEXT_HOP, next_hop.to_bytes(4, "big")),
            encode_attribute(0x40, AttrType.LOCAL_PREF, local_pref.to_bytes(4, "big")),
        )
    )


POLICY = False


def engine(keys: list[str]) -> ReflectionEngine:
    r = ReflectionEngine(router_id=0x01010101, local_as=65000, cluster_id=0x01010101, now=0.0)
    if POLICY:
        text = "[global.config]\nas = 65000\nrouter-id = \"1.1.1.1\"\n"
        point = compile_policies(load_config_text(text + gobgp_policy_toml())).global_import
        r.set_policies(global_import=point)
    tune_gc()  # as the daemon does after loading its configuration
    for i, k in enumerate(keys):
        r.configure_peer(PeerSettings(key=k, address=0x0A000000 + i, asn=65000, client=True))
        r.peer_established(k, PeerCaps(bgp_id=0x0A000000 + i, families=frozenset({F})), 0.0)
    return r


def drain(r: ReflectionEngine) -> int:
    moved = 0
    while True:
        dirty = r.dirty_peers()
        if not dirty:
            return moved
        for k in dirty:
            moved += len(r.pull(k, 65536))


def updates(blocks: dict[bytes, list[int]]) -> list[Update]:
    out: list[Update] = []
    for block, keys in blocks.items():
        for msg in pack_updates(F, block, b"", keys, None, max_len=4096):
            out.append(decode_update(msg))
    return out


def inet(prefixes: int, attr_sets: int, receivers: int) -> float:
    rng = random.Random(1)
    sets = [
        attrs(tuple(rng.randrange(1, 64000) for _ in range(rng.randrange(1, 6))), 0x0A0000FE)
        for _ in range(attr_sets)
    ]
    seen: set[int] = set()
    weights = [w for _, w in LENGTHS]
    while len(seen) < prefixes:
        plen = rng.choices([p for p, _ in LENGTHS], weights)[0]
        addr = rng.randrange(1 << 24, 224 << 24) >> (32 - plen) << (32 - plen)
        seen.add(addr << 8 | plen)
    by_set: dict[bytes, list[int]] = {}
    for k in seen:
        by_set.setdefault(sets[rng.randrange(attr_sets)], []).append(k)
    upds = updates(by_set)
    r = engine(["src"] + [f"rx{i}" for i in range(receivers)])
    t = time.process_time()
    for u in upds:
        r.update_received("src", u, 1.0)
    drain(r)
    return time.process_time() - t


def calico(nodes: int) -> float:
    keys = [f"n{i}" for i in range(nodes)]
    per: list[list[Update]] = []
    for i in range(nodes):
        pk = ((0x0A000000 + (i << 6)) << 8) | 26
        per.append(updates({attrs((), 0x0B000000 + i): [pk]}))
    r = engine(keys)
    drain(r)
    t = time.process_time()
    for i, k in enumerate(keys):
        for u in per[i]:
            r.update_received(k, u, 1.0)
    drain(r)
    return time.process_time() - t


def calico_flow(prefixes: int, speakers: int = 2, receivers: int = 20) -> float:
    """calico-10k's convergence: the speakers' shares of the prefixes to the receivers."""
    n26 = prefixes - prefixes // 4
    keys = [((0x0A000000 + i * 64) << 8) | 26 for i in range(n26)]
    keys += [((0xAC100000 + i) << 8) | 32 for i in range(prefixes - n26)]
    per = [updates({attrs((), 0x0B000000 + j): keys[j::speakers]}) for j in range(speakers)]
    names = [f"s{i}" for i in range(speakers)]
    r = engine(names + [f"rx{i}" for i in range(receivers)])
    t = time.process_time()
    for name, upds in zip(names, per, strict=True):
        for u in upds:
            r.update_received(name, u, 1.0)
    drain(r)
    return time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prefixes", type=int, default=200_000)
    ap.add_argument("--attr-sets", type=int, default=5_000)
    ap.add_argument("--receivers", type=int, default=10)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--calico-prefixes", type=int, default=0)
    ap.add_argument("--policy", action="store_true", help="with the benchmark import policy")
    a = ap.parse_args()
    global POLICY
    POLICY = a.policy
    ti = inet(a.prefixes, a.attr_sets, a.receivers)
    tc = calico(a.nodes)
    line = f"inet {ti:.2f} s  calico {tc:.2f} s  total {ti + tc:.2f} s"
    if a.calico_prefixes:
        line += f"  calico-flow {calico_flow(a.calico_prefixes):.3f} s"
    print(line)


if __name__ == "__main__":
    main()
