"""The scale tooling: tester slices and merged phases, the counting receiver, CPU pinning,
the worker processes against a toy reflector, and ``python -m bench plot``."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import time
from pathlib import Path
from typing import Any, cast

import pytest

from bench import multitester, pinning, plot, reflectors
from bench.loadtester import KEEPALIVE, build_attrs, build_notification, pack_announce
from bench.multitester import CountPeer, merge_phase, node_prefix, slices, verify
from tests.support.bench_tester import NullTester

pytestmark = pytest.mark.timeout(60)


# --------------------------------------------------------------------------- slices, merge


@pytest.mark.parametrize(("n", "procs"), [(10, 3), (5000, 2), (10000, 4), (3, 8), (7, 1)])
def test_slices_cover_every_node_once_near_equal(n: int, procs: int) -> None:
    sl = slices(n, procs)
    assert len(sl) == min(n, procs)
    assert sl[0][0] == 0 and sl[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(sl))
    sizes = [e - f for f, e in sl]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_merge_phase_times_counts_and_sums() -> None:
    t0 = 100.0
    replies = [
        {"times": [101.0, 103.0], "missed": 0, "up_end": 100.5, "failed": 0, "established": 2,
         "connects": 3, "wrong": 0},
        {"times": [102.0], "missed": 1, "up_end": 100.75, "failed": 1, "established": 1,
         "connects": 2, "wrong": 1},
    ]  # fmt: skip
    m = merge_phase(t0, replies)
    assert m["last_s"] == 3.0 and m["p50_s"] == 2.0
    assert m["up_s"] == 0.75
    assert (m["missed"], m["failed"], m["established"], m["connects"], m["wrong"]) == (
        1, 1, 3, 5, 1)  # fmt: skip
    assert "slow_connects" not in m  # no reply had it
    assert merge_phase(t0, [{"missed": 0}]) == {"missed": 0}


# --------------------------------------------------------------------------- CountPeer


def _count_peer() -> tuple[CountPeer, NullTester]:
    nt = NullTester()
    p = CountPeer(cast(Any, nt), 0, "127.0.1.1")
    p.established = True
    p.got_open = True
    return p, nt


def test_count_peer_any_chunking_keeps_the_exact_table() -> None:
    rng = random.Random(5)
    n = 300
    stream: list[bytes] = []
    for i in range(1, n):  # node 0 is this peer: it never gets its own /26
        attrs = build_attrs(next_hop=f"198.18.{i >> 8}.{i & 255}")
        stream += pack_announce(attrs, [node_prefix(i)])
        if rng.random() < 0.1:
            stream.append(KEEPALIVE)
    data = b"".join(stream)
    want = {node_prefix(i) for i in range(1, n)}
    for trial in range(12):
        p, nt = _count_peer()
        p.goal = lambda q: q.held() >= n - 1
        i = 0
        while i < len(data):
            step = rng.choice((1, 3, 16, 17, 19, 40, 4096)) if trial else len(data)
            p.data_received(data[i : i + step])
            i += step
        assert p.count == n - 1 and p.held() == n - 1
        assert p.table() == want
        assert p.pending == b""
        assert nt.goals == 1 and p.goal is None
        p.clear()
        assert p.held() == 0 and p.table() == set()


def test_verify_forgives_only_the_nodes_own_route_sent_back() -> None:
    """FRR sends each client its own route back (a node drops it: its ORIGINATOR_ID is the
    node's own); that is counted apart, while a missing or foreign prefix still makes the
    table wrong."""
    n = 4
    nt = NullTester()
    peers = [CountPeer(cast(Any, nt), i, f"127.0.1.{i + 1}") for i in range(n)]
    for p in peers:
        p.seen.update(node_prefix(j) for j in range(n) if j != p.index)
    assert verify(peers, n) == {"wrong": 0, "returned": 0, "missing": 0, "extra": 0}
    for p in peers:
        p.seen.add(node_prefix(p.index))  # everyone's own route comes back
    assert verify(peers, n) == {"wrong": 0, "returned": 4, "missing": 0, "extra": 0}
    peers[1].seen.discard(node_prefix(2))
    peers[2].seen.add(node_prefix(9))  # not a node of this run
    assert verify(peers, n) == {"wrong": 2, "returned": 4, "missing": 1, "extra": 1}
    merged = merge_phase(0.0, [verify(peers[:2], n), verify(peers[2:], n)])
    assert (merged["wrong"], merged["returned"], merged["missing"], merged["extra"]) == (2, 4, 1, 1)


def test_count_peer_counts_updates_that_came_with_the_opening_keepalive() -> None:
    nt = NullTester()
    p = CountPeer(cast(Any, nt), 0, "127.0.1.1")
    p.got_open = True
    p.up = nt.loop.create_future()
    first = [pack_announce(build_attrs(next_hop="198.18.0.2"), [node_prefix(i)])[0]
             for i in (1, 2)]  # fmt: skip
    later = pack_announce(build_attrs(next_hop="198.18.0.3"), [node_prefix(3)])[0]
    p.data_received(KEEPALIVE + b"".join(first))  # Established by this chunk
    assert p.established
    p.data_received(later)
    assert p.held() == 3 and p.table() == {node_prefix(i) for i in (1, 2, 3)}
    p.clear()
    assert p.held() == 0


def test_count_peer_counts_other_updates_and_stops_at_a_notification() -> None:
    p, _nt = _count_peer()
    closed: list[bool] = []

    class _T:
        def close(self) -> None:
            closed.append(True)

        def write(self, data: bytes) -> None:
            pass

    p.transport = cast(Any, _T())
    eor = b"\xff" * 16 + b"\x00\x17\x02\x00\x00\x00\x00"  # an empty UPDATE (End-of-RIB)
    one = pack_announce(build_attrs(next_hop="198.18.0.9"), [node_prefix(9)])[0]
    p.data_received(eor + one + build_notification(6, 2) + one)
    assert p.odd_updates == 1 and p.count == 1  # the UPDATE after the NOTIFICATION: ignored
    assert closed == [True] and p.closed_reason == "notification 6/2"


# --------------------------------------------------------------------------- pinning


def test_pin_plan() -> None:
    assert pinning.plan("auto", {0, 1}) == ([0], [1])
    assert pinning.plan("auto", [3, 1, 2]) == ([1], [2, 3])
    assert pinning.plan("2", [0, 1, 2, 3]) == ([2], [0, 1, 3])
    assert pinning.plan("off", [0, 1]) is None
    assert pinning.plan("auto", [0]) is None  # one CPU: nothing to split
    with pytest.raises(ValueError, match="not one of"):
        pinning.plan("5", [0, 1])
    with pytest.raises(ValueError, match="CPU number"):
        pinning.plan("fast", [0, 1])


def test_pin_sets_every_thread_of_a_process() -> None:
    mine = pinning.affinity(os.getpid())
    assert os.getpid() in pinning.threads(os.getpid())
    assert pinning.threads(2**22 + 12345) == [2**22 + 12345]  # no such process
    assert pinning.pin([os.getpid()], mine) >= 1  # the same mask: changes nothing
    assert pinning.affinity(os.getpid()) == mine
    assert pinning.pin([2**22 + 12345], mine) == 0


# --------------------------------------------------------------------------- workers


def test_worker_processes_storm_and_mesh_against_a_toy_reflector() -> None:
    from tests.bench.test_bench_loadtester import ToyReflector

    async def main() -> None:
        toy = ToyReflector()
        server = await asyncio.start_server(toy.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        n = 6
        w = await multitester.Workers.start(f"127.0.0.1:{port}", n, 2, "count", 0, False)
        try:
            deadline = time.monotonic() + 20
            t0 = time.monotonic()
            storm = merge_phase(t0, await w.ask("storm", deadline))
            assert storm["established"] == n and storm["failed"] == 0
            assert storm["connects"] == n and 0 < storm["up_s"] < 20
            mesh = merge_phase(t0, await w.ask("mesh", deadline))
            assert mesh["missed"] == 0 and 0 < mesh["last_s"] < 20
            assert merge_phase(0, await w.ask("verify", deadline))["wrong"] == 0
            final = await w.ask("exit")
            assert sum(r["nlri"] for r in final) == n * (n - 1)
        finally:
            await w.stop()
            server.close()

    asyncio.run(main())


# --------------------------------------------------------------------------- plot


def _doc(started: str, load1: float, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"started": started, "machine": {"loadavg": [load1, 0, 0]}, "results": results}


def _nodes(rr: str, n: int, **m: Any) -> dict[str, Any]:
    return {"reflector": rr, "scenario": f"nodes-{n}", "params": {"nodes": n}, "metrics": m}


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    d = tmp_path / "results"
    d.mkdir()
    old = _doc("20261201T000000Z", 0.5, [
        _nodes("bgprr", 200, established_s=0.05, converge_s=0.03, reconnect_converge_s=0.1,
               peak_rss_mb=33.0),
        _nodes("bgprr", 5000, established_s=9.0, converge_s=99.0, peak_rss_mb=1.0),
    ])  # fmt: skip
    new = _doc("20261206T000000Z", 2.0, [
        _nodes("bgprr", 5000, established_s=2.0, converge_s=24.0, reconnect_converge_s=30.0,
               peak_rss_mb=1200.0),
        _nodes("gobgp", 5000, established_s=460.0, storm_wall_s=461.0, wall_s=480.0,
               failed="3171 of 5000 sessions not established", peak_rss_mb=300.0),
        _nodes("bird2", 5000, established_s=115.0, converge_s=None, converge_wall_s=363.0,
               failed="converge: 5001 peers did not reach the goal in time",
               peak_rss_mb=130.0),
        {"reflector": "bgprr", "scenario": "latency", "params": {"clients": 200},
         "metrics": {"latency_p50_ms": 3.0, "latency_p99_ms": 4.5, "latency_first_p50_ms": 0.6,
                     "latency_trials_ms": [2.0, 3.0, 4.5]}},
        {"reflector": "bgprr", "scenario": "latency-1000", "params": {"clients": 1000},
         "metrics": {"latency_p50_ms": 19.0, "latency_p99_ms": 25.0}},
        {"reflector": "bgprr", "scenario": "inet-500k", "params": {"prefixes": 200000},
         "metrics": {"converge_s": 1.0, "peak_rss_mb": 150.0}},
        {"reflector": "bgprr", "scenario": "inet-500k", "params": {"prefixes": 500000},
         "metrics": {"converge_s": 3.0, "peak_rss_mb": 300.0}},
        {"reflector": "gobgp", "scenario": "inet-500k", "params": {"prefixes": 500000},
         "metrics": {"converge_s": None, "failed": "converge", "peak_rss_mb": 700.0}},
    ])  # fmt: skip
    (d / "a.json").write_text(json.dumps(old))
    (d / "b.json").write_text(json.dumps(new))
    (d / "flap.json").write_text(json.dumps({"samples": [], "settings": {}}))  # not a run
    (d / "bad.json").write_text("{not json")
    return d


def test_plot_series(results_dir: Path) -> None:
    docs = plot.load(results_dir.glob("*.json"))
    assert len(docs) == 2
    s = plot.nodes_series(docs)
    P = plot.Point
    # the later file wins for bgprr 5000; 200 comes from the older one
    assert s["bgprr"]["converge_s"] == [P(200, 0.03, True, 0.5), P(5000, 24.0, True, 2.0)]
    assert s["bgprr"]["peak_rss_mb"] == [P(200, 33.0, True, 0.5), P(5000, 1200.0, True, 2.0)]
    # a storm that gave up is not "all Established": drawn as not done, nothing after it
    assert s["gobgp"] == {
        "established_s": [P(5000, 461.0, False, 2.0)],
        "peak_rss_mb": [P(5000, 300.0, True, 2.0)],
    }
    # a mesh that did not finish: the storm figure, then the mesh's time used
    assert s["bird2"]["established_s"] == [P(5000, 115.0, True, 2.0)]
    assert s["bird2"]["converge_s"] == [P(5000, 363.0, False, 2.0)]
    assert "reconnect_converge_s" not in s["bird2"]
    mem = plot.memory_series(docs)
    assert mem == {"bgprr": {"peak_rss_mb": [P(200000, 150.0, True, 2.0),
                                             P(500000, 300.0, True, 2.0)]}}  # fmt: skip
    lat = plot.latency_series(docs)
    assert lat["bgprr"]["trials"] == [2.0, 3.0, 4.5]
    assert lat["bgprr"]["latency_p99_ms"] == 4.5 and lat["bgprr"]["clients"] == 200
    # latency-N: its own entry per size
    assert lat["bgprr@1000"]["latency_p50_ms"] == 19.0 and lat["bgprr@1000"]["clients"] == 1000
    assert lat["bgprr@1000"]["reflector"] == "bgprr" and lat["bgprr@1000"]["trials"] == []


def test_latency_n_scenario() -> None:
    from bench import scenarios

    assert scenarios.default_params("latency-1000")["clients"] == 1000
    assert scenarios.plan("latency-1000").clients == 1000
    assert scenarios.kind("latency-1000") == "latency" and scenarios.kind("nodes-5") == "nodes"
    assert scenarios.kind("inet-500k") == "inet-500k"
    for bad in ("latency-", "latency-x", "latency-1"):
        with pytest.raises(ValueError):
            scenarios.default_params(bad)


def test_plot_files(results_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "img"
    assert plot.main([*map(str, sorted(results_dir.glob("*.json"))), "--out-dir", str(out)]) == 0
    for name in ("bench-nodes.png", "bench-latency.png", "bench-memory.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(_doc("x", 0, [])))
    assert plot.main([str(empty), "--out-dir", str(tmp_path / "none")]) == 1


def test_a_reply_with_every_arrival_time_fits_the_pipe_limit() -> None:
    # 10,000 nodes in one process: one rounded monotonic time each, as the worker sends it
    line = json.dumps({"times": [round(123456.123456789 + i, 5) for i in range(10000)]})
    assert len(line) < multitester.REPLY_LIMIT


def test_keepalives_run_while_a_storm_is_still_connecting() -> None:
    from bench.loadtester import Tester

    async def main() -> None:
        t = Tester("127.0.0.1", 9, connect_timeout=0.1)  # nothing listens: retried
        peers = t.add_peers(["127.0.0.1"])
        storm = asyncio.ensure_future(t.connect_all(peers, time.monotonic() + 0.3))
        await asyncio.sleep(0.05)
        # the sessions already up must not wait for the last connect to get KEEPALIVEs
        assert t._ka_task is not None and not storm.done()
        _el, failed = await storm
        assert failed == 1
        await t.shutdown()

    asyncio.run(main())


def test_run_tester_rss_limit(tmp_path: Path) -> None:
    """The runner stops a scenario whose reflector outgrows --rss-limit-mb, and passes the
    tester's output through otherwise."""
    import sys

    from bench import runner

    me = [os.getpid()]  # stands in for the reflector: this process's RSS is > 1 MB
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    t0 = time.monotonic()
    rc, _out, _err, over = runner._run_tester(sleeper, tmp_path, 60.0, me, 1.0)
    assert rc is None and over is not None and over > 1.0
    assert time.monotonic() - t0 < 10
    talker = [sys.executable, "-c", "print('{\"metrics\": {}}')"]
    rc, out, _err, over = runner._run_tester(talker, tmp_path, 60.0, me, 1e9)
    assert (rc, out.strip(), over) == (0, '{"metrics": {}}', None)
    rc, _out, _err, over = runner._run_tester(sleeper, tmp_path, 0.2, me, 1e9)
    assert rc is None and over is None  # outlived its time limit


def test_bgprr_malloc_runs_only_the_reflector_on_the_c_allocator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bgprr-malloc`` is bgprr with ``PYTHONMALLOC=malloc`` in the reflector's
    environment only; plain bgprr inherits the bench's environment unchanged."""
    seen: dict[str, dict[str, str] | None] = {}

    class Stop(Exception):
        """Raised by the fake spawn: the command and environment are all that is needed."""

    def fake_spawn(
        cmd: list[str], log: Path, netns: str | None, env: dict[str, str] | None = None
    ) -> None:
        seen[log.parent.name] = env
        raise Stop

    monkeypatch.setattr(reflectors, "_spawn", fake_spawn)
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    for name in ("bgprr", "bgprr-malloc"):
        with pytest.raises(Stop):
            reflectors.start(name, tmp_path / name, "127.0.0.2", 1790, 2, None)
    assert seen["bgprr"] is None
    env = seen["bgprr-malloc"]
    assert env is not None and env["PYTHONMALLOC"] == "malloc"
    assert "PYTHONMALLOC" not in os.environ
