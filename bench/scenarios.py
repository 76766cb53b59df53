"""Benchmark scenarios: what the reflector must be configured with, and how to drive it.

``plan(name, opts)`` tells the runner how many clients (route-reflector clients with the
addresses :func:`bench.loadtester.client_address` gives) the reflector needs and the time
limit; ``python -m bench.scenarios`` runs one scenario against a running reflector in a
process of its own and prints one JSON object (the runner starts it).

Scenarios (defaults small enough for minutes on 2 cores; every size is a flag):

* ``calico-10k``: 2 speakers announce 10,000 Calico-like prefixes (3/4 /26 blocks, 1/4
  /32s), 20 receivers; full convergence, then churn (withdraw 5 %, re-announce them).
* ``inet-500k`` (default 200,000 prefixes, ``--prefixes 500000`` for the full table): one
  speaker, an Internet-like prefix-length mix and thousands of attribute sets, 10
  receivers; convergence and bytes of reflector RSS per stored path.
* ``nodes-N``: N clients connect at the same instant to the fresh reflector (a storm:
  time until all are Established, retried and SYN-retransmitted connects), then each
  announces its own /26 (own next hop, so one UPDATE each): time until each holds the
  N-1 others. Then a mass flap: all close (Cease), an observer client waits for the
  withdrawals, and all N reconnect at the same instant, announcing as soon as they are up
  (``--concurrency K`` makes the first connect a ramp of K in flight instead).
* ``inet-churn`` / ``inet-churn-slow``: the inet-500k flow (one speaker, 10 receivers),
  then churn (withdraw 5 %, re-announce them); ``-slow`` adds one more client that
  completes its session, keeps sending KEEPALIVEs and never reads (a stuck peer). Run
  both: the reflector's peak RSS and the receivers' convergence and churn times with the
  stuck client, against the same run without it.
* ``latency``: M idle Established clients; one announces a new /26; time until every
  other client's kernel has received it (``SO_TIMESTAMPNS``, :mod:`bench.kstamp`: the
  tester's own processing is left out); p50/p99 over the trials, and the p50 of the time
  at which the tester had parsed it everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import multitester, probe
from .kstamp import Stamped
from .loadtester import (
    Peer,
    Tester,
    build_attrs,
    client_address,
    pack_announce,
    pack_withdraw,
    prefix_bytes,
    self_cpu,
    set_nodelay,
)

Metrics = dict[str, Any]
SCENARIOS = ("calico-10k", "inet-500k", "latency", "nodes-200", "nodes-1000", "nodes-2000")
# Run on request only (not part of "all"): the stuck-reader pair (docs/reliability.md).
EXTRA_SCENARIOS = ("inet-churn", "inet-churn-slow")

# Approximate prefix counts per length of the IPv4 Internet table (2024, ~950k routes).
INET_LENGTHS = {
    8: 16,
    9: 13,
    10: 37,
    11: 100,
    12: 290,
    13: 570,
    14: 1100,
    15: 1900,
    16: 13500,
    17: 8000,
    18: 13500,
    19: 24000,
    20: 40000,
    21: 45000,
    22: 110000,
    23: 80000,
    24: 560000,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What the reflector must be set up with for one scenario run."""

    name: str
    clients: int
    timeout: float
    params: dict[str, Any]


def default_params(name: str) -> dict[str, Any]:
    if name == "calico-10k":
        return {"prefixes": 10000, "speakers": 2, "receivers": 20, "churn": 0.05}
    if name == "inet-500k":
        return {"prefixes": 200000, "receivers": 10, "attr_sets": 5000, "seed": 1}
    if name in EXTRA_SCENARIOS:
        return {"prefixes": 200000, "receivers": 10, "attr_sets": 5000, "seed": 1, "churn": 0.05}
    if name.startswith("nodes-"):
        return {"nodes": int(name.split("-", 1)[1]), "concurrency": 0}
    if name == "latency":
        return {"clients": 200, "trials": 30, "base_routes": False}
    if name.startswith("latency-") and name[8:].isdigit() and int(name[8:]) > 1:
        # latency-N: the same scenario with N clients (one run can hold both sizes)
        return {"clients": int(name[8:]), "trials": 30, "base_routes": False}
    raise ValueError(f"unknown scenario {name!r}")


def kind(name: str) -> str:
    """The scenario family of ``name``: ``nodes`` for nodes-N, ``latency`` for latency and
    latency-N, else the name itself."""
    if name.startswith("nodes-"):
        return "nodes"
    if name.startswith("latency-"):
        return "latency"
    return name


def plan(name: str, overrides: dict[str, Any] | None = None, timeout: float = 300.0) -> Plan:
    params = default_params(name)
    params.update({k: v for k, v in (overrides or {}).items() if k in params})
    if name == "calico-10k":
        clients = params["speakers"] + params["receivers"] + 1  # + the policy probe
    elif name == "inet-500k":
        clients = 1 + params["receivers"] + 1  # + the policy probe
    elif name in EXTRA_SCENARIOS:
        clients = 2 + params["receivers"]  # the stuck client's address is configured in both
    elif name.startswith("nodes-"):
        clients = params["nodes"] + 1  # + the observer
    else:
        clients = params["clients"]
    return Plan(name=name, clients=clients, timeout=timeout, params=params)


# --------------------------------------------------------------------------- data


def calico_prefixes(n: int) -> list[bytes]:
    """3/4 /26 IPAM blocks from 10.0.0.0/8, 1/4 /32 borrowed addresses from 172.16/12."""
    n26 = n - n // 4
    out = [prefix_bytes(0x0A000000 + i * 64, 26) for i in range(n26)]
    out += [prefix_bytes(0xAC100000 + i, 32) for i in range(n - n26)]
    return out


def inet_prefixes(n: int, rng: random.Random) -> list[bytes]:
    """``n`` distinct prefixes with the Internet's prefix-length mix."""
    total = sum(INET_LENGTHS.values())
    counts = {plen: int(n * c / total) for plen, c in INET_LENGTHS.items()}
    counts[24] += n - sum(counts.values())
    out: list[bytes] = []
    for plen, c in counts.items():
        got: set[bytes] = set()
        while len(got) < c:
            first = rng.randint(1, 223)
            if first in (10, 127):
                continue
            got.add(prefix_bytes((first << 24) | rng.getrandbits(24), plen))
        out.extend(sorted(got))
    return out


def inet_updates(n: int, attr_sets: int, seed: int) -> tuple[list[bytes], int]:
    """UPDATEs announcing ``n`` Internet-like prefixes over ``attr_sets`` attribute sets
    (AS paths of 1-8 hops through 20 upstreams, 0-6 communities, some MEDs); prefixes
    per set are Zipf-like. Returns (messages, number of prefixes)."""
    rng = random.Random(seed)
    prefixes = inet_prefixes(n, rng)
    rng.shuffle(prefixes)
    sets = max(1, min(attr_sets, n))
    upstreams = [rng.choice((174, 1299, 2914, 3356, 6453, 6762, 6939, 3257)) + i for i in range(20)]
    attrs: list[bytes] = []
    for _ in range(sets):
        up = rng.choice(upstreams)
        path = [up] + [rng.randint(1, 400000) for _ in range(rng.randint(0, 7))]
        comms = sorted(
            {(up << 16 | rng.randint(1, 3000)) & 0xFFFFFFFF for _ in range(rng.randint(0, 6))}
        )
        med = rng.randint(0, 500) if rng.random() < 0.3 else None
        attrs.append(build_attrs(next_hop="198.18.0.1", as_path=path, communities=comms, med=med))
    weights = [1.0 / (j + 1) ** 0.9 for j in range(sets)]
    groups: list[list[bytes]] = [[] for _ in range(sets)]
    for p, j in zip(
        prefixes, rng.choices(range(sets), weights=weights, k=len(prefixes)), strict=True
    ):
        groups[j].append(p)
    msgs: list[bytes] = []
    for a, g in zip(attrs, groups, strict=True):
        if g:
            msgs += pack_announce(a, g)
    return msgs, len(prefixes)


def node_prefix(i: int) -> bytes:
    return prefix_bytes(0x0A400000 + i * 64, 26)  # 10.64.0.0/26 + i


def node_attrs(i: int) -> bytes:
    nh = 0xC6120000 + 1 + i  # 198.18.0.1 + i (attribute data only)
    return build_attrs(next_hop=".".join(str((nh >> s) & 255) for s in (24, 16, 8, 0)))


# --------------------------------------------------------------------------- helpers


class Clock:
    """Phase bookkeeping: wall time, tester CPU and reflector CPU per phase."""

    def __init__(self, tester: Tester, metrics: Metrics) -> None:
        self.tester = tester
        self.metrics = metrics
        self.t0 = time.monotonic()
        self.cpu0 = self_cpu()
        self.rr0 = tester.rr_usage()["cpu_s"]

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.cpu0 = self_cpu()
        self.rr0 = self.tester.rr_usage()["cpu_s"]

    def done(self, name: str, times: Sequence[float], missed: int) -> bool:
        m = self.metrics
        m[f"{name}_tester_cpu_s"] = round(self_cpu() - self.cpu0, 3)
        m[f"{name}_rr_cpu_s"] = round(self.tester.rr_usage()["cpu_s"] - self.rr0, 3)
        wall = time.monotonic() - self.t0
        if wall > 0.05 and m[f"{name}_tester_cpu_s"] >= 0.8 * wall:
            m[f"{name}_tester_bound"] = True  # the tester was (nearly) saturated
        if missed:
            m[f"{name}_s"] = None
            m[f"{name}_missed"] = missed
            m.setdefault("failed", f"{name}: {missed} peers did not reach the goal in time")
            return False
        if times:
            m[f"{name}_s"] = round(max(times) - self.t0, 4)
            m[f"{name}_p50_s"] = round(statistics.median(times) - self.t0, 4)
        return True


def count_goal(n: int) -> Callable[[Peer], bool]:
    return lambda p: len(p.seen) >= n


def verify(peers: Sequence[Peer], expected: set[bytes]) -> int:
    """Peers whose table is not exactly ``expected`` (checked once, outside timings)."""
    return sum(1 for p in peers if p.seen != expected)


# --------------------------------------------------------------------------- scenarios


async def run_calico(t: Tester, params: dict[str, Any], deadline: float, m: Metrics) -> None:
    n, s, r = params["prefixes"], params["speakers"], params["receivers"]
    prefixes = calico_prefixes(n)
    speakers = t.add_peers([client_address(i) for i in range(s)])
    receivers = t.add_peers([client_address(s + i) for i in range(r)])
    shares = [prefixes[i::s] for i in range(s)]
    attrs = [node_attrs(i) for i in range(s)]
    announce = [pack_announce(attrs[i], shares[i]) for i in range(s)]
    churn = [sh[:: max(1, round(1 / params["churn"]))] for sh in shares]
    withdraw = [pack_withdraw(c) for c in churn]
    reannounce = [pack_announce(attrs[i], churn[i]) for i in range(s)]
    n_churn = sum(len(c) for c in churn)
    m["prefixes"], m["churn_prefixes"] = n, n_churn
    clk = Clock(t, m)
    el, failed = await t.connect_all(speakers + receivers, deadline, concurrency=64)
    m["established_s"] = round(el, 4)
    if failed:
        m["failed"] = f"{failed} sessions not established"
        return
    await asyncio.sleep(0.5)
    clk.start()
    for sp, msgs in zip(speakers, announce, strict=True):
        sp.send(msgs)
    if not clk.done("converge", *await t.wait_goal(receivers, count_goal(n), deadline)):
        return
    m["wrong_tables"] = verify(receivers, set(prefixes))
    clk.start()
    for sp, msgs in zip(speakers, withdraw, strict=True):
        sp.send(msgs)
    goal = (lambda k: lambda p: len(p.seen) <= k)(n - n_churn)
    if not clk.done("churn_withdraw", *await t.wait_goal(receivers, goal, deadline)):
        return
    clk.start()
    for sp, msgs in zip(speakers, reannounce, strict=True):
        sp.send(msgs)
    if not clk.done("churn_announce", *await t.wait_goal(receivers, count_goal(n), deadline)):
        return
    m["churn_s"] = round(m["churn_withdraw_s"] + m["churn_announce_s"], 4)
    await _probe(t, client_address(s + r), prefixes, deadline, m)


async def _probe(
    t: Tester, address: str, prefixes: Sequence[bytes], deadline: float, m: Metrics
) -> None:
    """Untimed: what the benchmark's import policy did (:mod:`bench.probe`)."""
    m["policy_tagged"] = await probe.probe_tags(t, address, len(prefixes), deadline)
    m["policy_matches"] = probe.expected_tags(prefixes)


async def run_inet(t: Tester, params: dict[str, Any], deadline: float, m: Metrics) -> None:
    msgs, n = inet_updates(params["prefixes"], params["attr_sets"], params["seed"])
    m["prefixes"], m["updates_sent"] = n, len(msgs)
    speaker = t.add_peers([client_address(0)])[0]
    receivers = t.add_peers([client_address(1 + i) for i in range(params["receivers"])])
    _, failed = await t.connect_all([speaker, *receivers], deadline, concurrency=64)
    if failed:
        m["failed"] = f"{failed} sessions not established"
        return
    await asyncio.sleep(0.5)
    base = t.rr_usage()
    clk = Clock(t, m)
    speaker.send(msgs)
    del msgs
    ok = clk.done("converge", *await t.wait_goal(receivers, count_goal(n), deadline))
    after = t.rr_usage()
    m["rss_before_mb"] = round(base["rss"] / 2**20, 1)
    m["rss_converged_mb"] = round(after["rss"] / 2**20, 1)
    if ok:
        m["bytes_per_path"] = round((after["rss"] - base["rss"]) / n, 1)
        m["wrong_tables"] = sum(1 for p in receivers if len(p.seen) != n)
        if params.get("probe", True):
            prefixes = inet_prefixes(params["prefixes"], random.Random(params["seed"]))
            await _probe(t, client_address(1 + params["receivers"]), prefixes, deadline, m)


async def run_nodes(t: Tester, params: dict[str, Any], deadline: float, m: Metrics) -> None:
    n = params["nodes"]
    nodes = t.add_peers([client_address(i) for i in range(n)])
    observer = t.add_peers([client_address(n)])[0]
    ann = [pack_announce(node_attrs(i), [node_prefix(i)]) for i in range(n)]
    clk = Clock(t, m)
    if not await t.connect(observer, deadline):
        m["failed"] = "observer not established"
        return
    # 1. storm on a fresh reflector: all N connect at the same instant
    s0 = _conn_stats(t)
    el, failed = await t.connect_all(nodes, deadline, concurrency=params["concurrency"])
    m["established_s"] = round(el, 4)
    _storm_stats(t, s0, n, "storm", m)
    if failed:
        m["failed"] = f"{failed} of {n} sessions not established"
        return
    # 2. every node announces its /26 at once; wait for the full mesh
    clk.start()
    for p in nodes:
        p.send(ann[p.index])
    if not clk.done("converge", *await t.wait_goal([*nodes, observer], _mesh_goal(n), deadline)):
        return
    m["reflected_to_origin"] = sum(1 for p in nodes if node_prefix(p.index) in p.seen)
    # 3. mass flap: all send Cease and close; the observer sees every withdrawal; then
    #    all reconnect at the same instant, each announcing as soon as it is up
    clk.start()
    await t.close_all(nodes)
    if not clk.done("teardown", *await t.wait_goal([observer], count_goal_at_most(0), deadline)):
        return
    for p in nodes:
        p.seen.clear()
    await asyncio.sleep(0.2)
    s0 = _conn_stats(t)
    clk.start()
    storm = asyncio.ensure_future(
        t.connect_all(nodes, deadline, concurrency=0, on_up=lambda p: _announce(p, ann))
    )
    times, missed = await t.wait_goal([*nodes, observer], _mesh_goal(n), deadline)
    el, failed = await storm
    m["reconnect_established_s"] = round(el, 4)
    _storm_stats(t, s0, n, "reconnect", m)
    clk.done("reconnect_converge", times, missed + failed)


def _conn_stats(t: Tester) -> tuple[int, int, int, int]:
    st = t.stats
    return (st.connects, st.connect_errors + st.connect_timeouts, st.slow_connects,
            st.session_failures)  # fmt: skip


def _storm_stats(
    t: Tester, before: tuple[int, int, int, int], n: int, name: str, m: Metrics
) -> None:
    now = _conn_stats(t)
    m[f"{name}_connects"] = now[0] - before[0]
    m[f"{name}_failed_connects"] = now[1] - before[1]
    m[f"{name}_slow_connects"] = now[2] - before[2]
    m[f"{name}_session_failures"] = now[3] - before[3]
    m[f"{name}_retries"] = now[0] - before[0] - n


def _mesh_goal(n: int) -> Callable[[Peer], bool]:
    # every node holds the n-1 others; the observer (index n) holds all n
    return lambda p: len(p.seen) >= (n - 1 if p.index < n else n)


def count_goal_at_most(k: int) -> Callable[[Peer], bool]:
    return lambda p: len(p.seen) <= k


def has(q: bytes) -> Callable[[Peer], bool]:
    return lambda p: q in p.seen


def lacks(q: bytes) -> Callable[[Peer], bool]:
    return lambda p: q not in p.seen


def _announce(p: Peer, ann: Sequence[Sequence[bytes]]) -> bool:
    p.send(ann[p.index])
    return True


async def run_latency(t: Tester, params: dict[str, Any], deadline: float, m: Metrics) -> None:
    n, trials = params["clients"], params["trials"]
    peers = t.add_peers([client_address(i) for i in range(n)])
    el, failed = await t.connect_all(peers, deadline, concurrency=64, on_up=set_nodelay)
    m["established_s"] = round(el, 4)
    if failed:
        m["failed"] = f"{failed} of {n} sessions not established"
        return
    if params["base_routes"]:
        for p in peers:
            p.send(pack_announce(node_attrs(p.index), [node_prefix(p.index)]))
        _, missed = await t.wait_goal(peers, count_goal(n - 1), deadline)
        if missed:
            m["failed"] = "base routes did not converge"
            return
    await asyncio.sleep(1.0)
    lat: list[float] = []  # kernel receipt at the last receiver
    user: list[float] = []  # the tester had parsed it at the last receiver
    first: list[float] = []  # kernel receipt at the first receiver
    clk = Clock(t, m)
    for k in range(trials):
        src = peers[k % n]
        probe = prefix_bytes(0x0AC80000 + k * 64, 26)  # 10.200.0.0/26 + k
        others = [p for p in peers if p is not src]
        ann = pack_announce(node_attrs(src.index), [probe])
        reader = Stamped(others)  # kernel receive times (see bench/kstamp.py)
        try:
            t0_wall, t0 = time.time(), time.monotonic()
            src.send(ann)
            stamps = reader.wait(has(probe), min(10.0, max(0.1, deadline - time.monotonic())))
        finally:
            reader.close()
        if len(stamps) < len(others):
            m["failed"] = f"trial {k}: {len(others) - len(stamps)} clients did not get the prefix"
            break
        lat.append(max(kt for kt, _ut in stamps.values()) - t0_wall)
        first.append(min(kt for kt, _ut in stamps.values()) - t0_wall)
        user.append(max(ut for _kt, ut in stamps.values()) - t0)
        src.send(pack_withdraw([probe]))
        _, missed = await t.wait_goal(others, lacks(probe), deadline)
        if missed:
            m["failed"] = f"trial {k}: withdrawal not propagated"
            break
        await asyncio.sleep(0.05)
    clk.done("trials", [], 0)
    if lat:
        lat.sort()
        m["latency_p50_ms"] = round(1000 * statistics.median(lat), 2)
        m["latency_p99_ms"] = round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 2)
        m["latency_max_ms"] = round(1000 * lat[-1], 2)
        m["latency_user_p50_ms"] = round(1000 * statistics.median(user), 2)
        m["latency_first_p50_ms"] = round(1000 * statistics.median(first), 2)
        m["trials_done"] = len(lat)
        m["latency_trials_ms"] = [round(1000 * x, 3) for x in lat]


async def run_inet_churn(
    t: Tester, params: dict[str, Any], deadline: float, m: Metrics, *, stuck: bool
) -> None:
    """inet-500k plus churn, optionally with a client that never reads."""
    msgs, n = inet_updates(params["prefixes"], params["attr_sets"], params["seed"])
    m["prefixes"], m["stuck_client"] = n, stuck
    speaker = t.add_peers([client_address(0)])[0]
    receivers = t.add_peers([client_address(1 + i) for i in range(params["receivers"])])
    peers = [speaker, *receivers]
    if stuck:
        peers.append(t.add_peers([client_address(1 + params["receivers"])])[0])
    _, failed = await t.connect_all(peers, deadline, concurrency=64)
    if failed:
        m["failed"] = f"{failed} sessions not established"
        return
    slow = peers[-1] if stuck else None
    if slow is not None and slow.transport is not None:
        slow.transport.pause_reading()  # from now on it reads nothing (KEEPALIVEs go on)
    await asyncio.sleep(0.5)
    base = t.rr_usage()
    clk = Clock(t, m)
    speaker.send(msgs)
    del msgs
    if not clk.done("converge", *await t.wait_goal(receivers, count_goal(n), deadline)):
        return
    m["rss_converged_mb"] = round(t.rr_usage()["rss"] / 2**20, 1)
    rng = random.Random(params["seed"] + 1)
    table = sorted(receivers[0].seen)
    churn = rng.sample(table, max(1, int(len(table) * params["churn"])))
    attrs = build_attrs(next_hop="198.18.0.2", as_path=[64999], communities=[])
    clk.start()
    speaker.send(pack_withdraw(churn))
    goal = (lambda k: lambda p: len(p.seen) <= k)(n - len(churn))
    if not clk.done("churn_withdraw", *await t.wait_goal(receivers, goal, deadline)):
        return
    clk.start()
    speaker.send(pack_announce(attrs, churn))
    if not clk.done("churn_announce", *await t.wait_goal(receivers, count_goal(n), deadline)):
        return
    m["churn_s"] = round(m["churn_withdraw_s"] + m["churn_announce_s"], 4)
    m["churn_prefixes"] = len(churn)
    m["rss_before_mb"] = round(base["rss"] / 2**20, 1)
    m["wrong_tables"] = verify(receivers, set(table))
    if slow is not None:
        m["stuck_client_up"] = slow.transport is not None
        m["stuck_client_received_prefixes"] = slow.announced


async def _inet_churn(t: Tester, params: dict[str, Any], deadline: float, m: Metrics) -> None:
    await run_inet_churn(t, params, deadline, m, stuck=False)


async def _inet_churn_slow(t: Tester, params: dict[str, Any], deadline: float, m: Metrics) -> None:
    await run_inet_churn(t, params, deadline, m, stuck=True)


RUNNERS: dict[str, Callable[[Tester, dict[str, Any], float, Metrics], Awaitable[None]]] = {
    "calico-10k": run_calico,
    "inet-500k": run_inet,
    "inet-churn": _inet_churn,
    "inet-churn-slow": _inet_churn_slow,
    "latency": run_latency,
}


async def run(
    name: str,
    rr: str,
    pids: Sequence[int],
    params: dict[str, Any],
    timeout: float,
    *,
    procs: int = 1,
    mode: str = "full",
    uvloop: bool = True,
) -> Metrics:
    addr, port = rr.rsplit(":", 1)
    t = Tester(addr, int(port), rr_pids=pids)
    m: Metrics = {}
    fn = run_nodes if name.startswith("nodes-") else RUNNERS[kind(name)]
    if name.startswith("nodes-") and (procs > 1 or mode != "full"):
        cores = len(os.sched_getaffinity(0))
        fn = functools.partial(
            multitester.run_nodes_split, procs=procs, mode=mode, cores=cores, uvloop=uvloop
        )
    start = time.monotonic()
    deadline = start + timeout
    try:
        await asyncio.wait_for(fn(t, params, deadline, m), timeout + 10)
    except TimeoutError:
        m.setdefault("failed", f"timeout after {timeout:.0f} s")
    finally:
        await t.shutdown()
    m["updates_received"] = sum(p.updates for p in t.peers)
    m["nlri_received"] = sum(p.announced for p in t.peers)
    m["withdrawn_received"] = sum(p.withdrawn for p in t.peers)
    for key in ("updates", "nlri", "withdrawn"):  # the worker processes' share
        m[f"{key}_received"] += m.pop(f"worker_{key}", 0)
    m["wall_s"] = round(time.monotonic() - start, 3)
    m["coordinator_cpu_s"] = round(self_cpu(), 3)
    m["tester_cpu_s"] = round(self_cpu() + sum(m.get("worker_cpu_s", [])), 3)
    st = t.stats
    m["connects"], m["connect_failures"] = st.connects, st.connect_errors + st.connect_timeouts
    m["session_failures"], m["notifications"] = st.session_failures, st.notifications
    if st.errors:
        m["connect_errors"] = st.errors
    return m


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scenarios")
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--rr", required=True, help="reflector ADDRESS:PORT (loopback)")
    ap.add_argument("--pids", default="", help="reflector PIDs for /proc measurements")
    ap.add_argument("--params", default="{}", help="JSON parameter overrides")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--no-uvloop", action="store_true")
    ap.add_argument("--tester-procs", type=int, default=1, help="nodes-N: tester processes")
    ap.add_argument(
        "--tester-mode", choices=("full", "count"), default="full", help="nodes-N: node parser"
    )
    ap.add_argument("--tester-cpus", default="", help="CPU list for the testers, e.g. 1")
    a = ap.parse_args(argv)
    if not a.rr.startswith("127."):
        ap.error("the reflector must be on a loopback address (127.0.0.0/8)")
    p = plan(a.scenario, json.loads(a.params), a.timeout)
    pids = [int(x) for x in a.pids.split(",") if x]
    if a.tester_cpus:
        os.sched_setaffinity(0, [int(x) for x in a.tester_cpus.split(",")])  # workers inherit
    coro = run(
        a.scenario,
        a.rr,
        pids,
        p.params,
        a.timeout,
        procs=a.tester_procs,
        mode=a.tester_mode,
        uvloop=not a.no_uvloop,
    )
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if not a.no_uvloop:
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:
            factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        m = runner.run(coro)
    m["tester_loop"] = "uvloop" if factory is not None else "asyncio"
    print(json.dumps({"scenario": a.scenario, "params": p.params, "metrics": m}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
