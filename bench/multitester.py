"""``nodes-N`` with the simulated nodes split over several load-tester processes.

One process (the coordinator, ``python -m bench.scenarios``) owns the observer client and
drives the phases; ``--tester-procs P`` worker processes (``python -m bench.multitester``)
each own a contiguous slice of the N nodes (:func:`slices`) and answer one JSON line per
command on their standard output. Phase times are taken on the system-wide monotonic
clock, so the arrival times that the workers report merge exactly (:func:`merge_phase`).

``--tester-mode count`` gives the nodes a :class:`CountPeer`: in the mesh every UPDATE
that a node receives carries one /26, so the peer keeps the four address octets of each
(sliced out at C speed after splitting the chunk at the markers) instead of decoding the
NLRI field into a set; its goal is the count, and its table is checked exactly against
the expected one after each phase (``wrong_tables``), outside the timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from .loadtester import (
    KEEPALIVE,
    MARKER,
    Peer,
    Tester,
    client_address,
    pack_announce,
    proc_usage,
    self_cpu,
)

Metrics = dict[str, Any]
REPLY_LIMIT = 64 * 2**20  # one reply line carries an arrival time per node
_KA_BODY = KEEPALIVE[16:]
_LEN26 = 26


def slices(n: int, procs: int) -> list[tuple[int, int]]:
    """``procs`` contiguous, near-equal [first, end) slices of ``range(n)`` (no empty one)."""
    procs = max(1, min(procs, n))
    q, r = divmod(n, procs)
    out: list[tuple[int, int]] = []
    first = 0
    for k in range(procs):
        end = first + q + (1 if k < r else 0)
        out.append((first, end))
        first = end
    return out


def merge_phase(t0: float, replies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One phase's worker replies -> the phase figures: the time of the last and the median
    arrival (s after ``t0``), how many missed, Established sessions, connection counters."""
    times = sorted(x for r in replies for x in r.get("times", []))
    out: dict[str, Any] = {"missed": sum(int(r.get("missed", 0)) for r in replies)}
    if times:
        out["last_s"] = round(times[-1] - t0, 4)
        out["p50_s"] = round(statistics.median(times) - t0, 4)
    ends = [r["up_end"] for r in replies if "up_end" in r]
    if ends:
        out["up_s"] = round(max(ends) - t0, 4)
    for key in ("failed", "established", "connects", "failed_connects", "slow_connects",
                "session_failures", "wrong", "returned", "missing", "extra", "updates", "nlri",
                "withdrawn"):  # fmt: skip
        if any(key in r for r in replies):
            out[key] = sum(int(r.get(key, 0)) for r in replies)
    return out


def verify(nodes: Sequence[Peer], n: int) -> dict[str, int]:
    """Each node's table against every other node's /26. A node's own /26 reflected back
    to it (``returned``: some reflectors send a client's routes to that client too) is
    not counted against the table: a node ignores it, as RFC 4456 §8 has a router ignore
    a route whose ORIGINATOR_ID is its own. ``missing`` and ``extra``: prefixes summed
    over the ``wrong`` tables."""
    mine = {node_prefix(j) for j in range(n)}
    out = {"wrong": 0, "returned": 0, "missing": 0, "extra": 0}
    for p in nodes:
        own = node_prefix(p.index)
        table = _table(p)
        if own in table:
            out["returned"] += 1
            table = table - {own}
        want = mine - {own}
        if table != want:
            out["wrong"] += 1
            out["missing"] += len(want - table)
            out["extra"] += len(table - want)
    return out


class CountPeer(Peer):
    """A node that keeps the address octets of the /26 at the end of each UPDATE."""

    def __init__(self, tester: Tester, index: int, address: str) -> None:
        super().__init__(tester, index, address)
        self.tails: list[bytes] = []
        self.count = 0
        self.odd_updates = 0  # UPDATEs not ending in a /26 (withdrawals, End-of-RIB)

    def held(self) -> int:
        # UPDATEs in the chunk that completed the session went through the general walk
        return self.count + len(self.seen)

    def clear(self) -> None:
        self.tails = []
        self.count = 0
        self.seen.clear()

    def table(self) -> set[bytes]:
        """The /26 NLRI encodings received since the last :meth:`clear`."""
        raw = b"".join(self.tails)
        return {bytes([_LEN26]) + raw[i : i + 4] for i in range(0, len(raw), 4)} | self.seen

    def data_received(self, data: bytes) -> None:
        if not self.established:
            super().data_received(data)
            return
        if self.pending:
            data = self.pending + data
            self.pending = b""
        pieces = data.split(MARKER)
        if pieces[0]:  # not at a marker: leave it to the general walk
            self.pending = b""
            super().data_received(data)
            return
        last = pieces[-1]
        if len(last) < 2:
            self.pending = MARKER + last
            pieces.pop()
        else:
            body = ((last[0] << 8) | last[1]) - 16
            if body > len(last):  # the last message is incomplete
                self.pending = MARKER + last
                pieces.pop()
            elif body < len(last):  # followed by the start of the next marker
                self.pending = last[body:]
                pieces[-1] = last[:body]
        del pieces[0]
        tails = [pc[-4:] for pc in pieces if pc[2] == 2 and pc[-5] == _LEN26]
        if len(pieces) - len(tails) - pieces.count(_KA_BODY):
            for k, pc in enumerate(pieces):
                if pc[2] == 2:
                    if not (len(pc) >= 5 and pc[-5] == _LEN26):
                        self.odd_updates += 1
                        self.updates += 1
                elif pc[2] != 4 and not self._control(pc[2], pc[3:5]):
                    self.pending = b""  # the session is over: what came after is dropped
                    tails = [pc[-4:] for pc in pieces[:k] if pc[2] == 2 and pc[-5] == _LEN26]
                    break
        if tails:
            self.tails.append(b"".join(tails))
            self.count += len(tails)
            self.announced += len(tails)
            self.updates += len(tails)
            goal = self.goal
            if goal is not None and goal(self):
                self.goal = None
                self.reached_at = time.monotonic()
                self.tester.on_goal(self)


# --------------------------------------------------------------------------- worker


def node_prefix(i: int) -> bytes:
    return bytes([_LEN26]) + (0x0A400000 + i * 64).to_bytes(4, "big")  # 10.64.0.0/26 + i


def node_announce(i: int) -> list[bytes]:
    from .scenarios import node_attrs  # the same attributes as the one-process run

    return pack_announce(node_attrs(i), [node_prefix(i)])


def _table(p: Peer) -> set[bytes]:
    return p.table() if isinstance(p, CountPeer) else set(p.seen)


def _counters(t: Tester) -> dict[str, int]:
    st = t.stats
    return {
        "connects": st.connects,
        "failed_connects": st.connect_errors + st.connect_timeouts,
        "slow_connects": st.slow_connects,
        "session_failures": st.session_failures,
    }


async def worker(rr: str, first: int, end: int, n: int, mode: str, concurrency: int) -> None:
    """Own nodes ``first`` .. ``end``-1 of ``n``; answer the coordinator's commands."""
    addr, port = rr.rsplit(":", 1)
    t = Tester(addr, int(port))
    cls = CountPeer if mode == "count" else Peer
    nodes = [cls(t, i, client_address(i)) for i in range(first, end)]
    t.peers.extend(nodes)
    ann = {i: node_announce(i) for i in range(first, end)}
    want = n - 1

    def mesh(p: Peer) -> bool:
        return p.held() >= want

    def announce(p: Peer) -> bool:
        p.send(ann[p.index])
        return True

    loop = asyncio.get_running_loop()
    watchdog = loop.create_task(_orphan_watch(os.getppid()))
    _reply({"ready": True, "pid": os.getpid()})
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)
        c, deadline = cmd["cmd"], float(cmd.get("deadline", 0))
        before = _counters(t)
        out: dict[str, Any] = {}
        if c == "storm":
            _el, failed = await t.connect_all(nodes, deadline, concurrency)
            out["up_end"] = time.monotonic()
            out["failed"] = failed
        elif c == "mesh":
            for p in nodes:
                p.send(ann[p.index])
            times, out["missed"] = await t.wait_goal(nodes, mesh, deadline)
            out["times"] = [round(x, 5) for x in times]
        elif c == "reconnect":
            s0 = time.monotonic()
            storm = asyncio.ensure_future(t.connect_all(nodes, deadline, 0, on_up=announce))
            times, out["missed"] = await t.wait_goal(nodes, mesh, deadline)
            out["times"] = [round(x, 5) for x in times]
            el, out["failed"] = await storm
            out["up_end"] = s0 + el
        elif c == "verify":
            out.update(verify(nodes, n))
        elif c == "close":
            await t.close_all(nodes)
            for p in nodes:
                if isinstance(p, CountPeer):
                    p.clear()
                else:
                    p.seen.clear()
        elif c == "exit":
            out["updates"] = sum(p.updates for p in nodes)
            out["nlri"] = sum(p.announced for p in nodes)
            out["withdrawn"] = sum(p.withdrawn for p in nodes)
            out["errors"] = t.stats.errors
            out["cpu_s"] = round(self_cpu(), 3)
            await t.shutdown()
            _reply(out)
            break
        if c in ("storm", "reconnect"):
            out.update({k: v - before[k] for k, v in _counters(t).items()})
        out["established"] = sum(1 for p in nodes if p.established)
        _reply(out)
    watchdog.cancel()


async def _orphan_watch(parent: int) -> None:
    """Exit when the coordinator is gone (killed mid-phase: no one would stop us)."""
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    os._exit(3)


def _reply(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- coordinator


class Workers:
    """The worker processes of one run, spoken to in lockstep."""

    def __init__(self, procs: list[asyncio.subprocess.Process]) -> None:
        self.procs = procs

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    @classmethod
    async def start(
        cls, rr: str, n: int, procs: int, mode: str, concurrency: int, uvloop: bool
    ) -> Workers:
        started: list[asyncio.subprocess.Process] = []
        per = math.ceil(concurrency / procs) if concurrency > 0 else 0
        for first, end in slices(n, procs):
            cmd = [sys.executable, "-m", "bench.multitester", "--rr", rr, "--nodes", str(n),
                   "--first", str(first), "--end", str(end), "--mode", mode,
                   "--concurrency", str(per)]  # fmt: skip
            if not uvloop:
                cmd.append("--no-uvloop")
            started.append(
                await asyncio.create_subprocess_exec(
                    *cmd,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=REPLY_LIMIT,
                )
            )
        w = cls(started)
        await w._collect(120.0)  # "ready"
        return w

    async def ask(self, cmd: str, deadline: float = 0.0) -> list[dict[str, Any]]:
        line = (json.dumps({"cmd": cmd, "deadline": deadline}) + "\n").encode()
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write(line)
            await p.stdin.drain()
        return await self._collect(max(30.0, deadline - time.monotonic() + 60.0))

    async def _collect(self, limit: float) -> list[dict[str, Any]]:
        async def one(p: asyncio.subprocess.Process) -> dict[str, Any]:
            assert p.stdout is not None
            line = await p.stdout.readline()
            if not line:
                raise RuntimeError(f"tester process {p.pid} exited ({p.returncode})")
            reply: dict[str, Any] = json.loads(line)
            return reply

        return list(await asyncio.wait_for(asyncio.gather(*map(one, self.procs)), limit))

    async def stop(self) -> None:
        for p in self.procs:
            if p.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                await p.wait()


class PhaseClock:
    """Per phase: wall time, the CPU of every tester process (and the sum), the
    reflector's CPU, RSS at the end and peak RSS so far, the load average."""

    def __init__(self, t: Tester, worker_pids: Sequence[int], cores: int, m: Metrics) -> None:
        self.t, self.pids, self.cores, self.m = t, list(worker_pids), max(1, cores), m
        self.t0 = time.monotonic()
        self.cpu0 = self._cpus()
        self.rr0 = t.rr_usage()["cpu_s"]

    def _cpus(self) -> list[float]:
        return [self_cpu()] + [proc_usage([pid])["cpu_s"] for pid in self.pids]

    def start(self) -> float:
        self.t0 = time.monotonic()
        self.cpu0 = self._cpus()
        self.rr0 = self.t.rr_usage()["cpu_s"]
        return self.t0

    def done(self, name: str) -> float:
        wall = time.monotonic() - self.t0
        cpus = [b - a for a, b in zip(self.cpu0, self._cpus(), strict=True)]
        rr = self.t.rr_usage()
        m = self.m
        total = sum(cpus)
        m[f"{name}_wall_s"] = round(wall, 3)
        m[f"{name}_tester_cpu_s"] = round(total, 3)
        m[f"{name}_tester_cpu_max_s"] = round(max(cpus), 3)
        # share of the testers' cores: 100 = every tester core busy all the time
        m[f"{name}_tester_cpu_pct"] = round(100 * total / (wall * self.cores), 1) if wall else 0
        m[f"{name}_rr_cpu_s"] = round(rr["cpu_s"] - self.rr0, 3)
        m[f"{name}_rss_mb"] = round(rr["rss"] / 2**20, 1)
        m[f"{name}_rss_peak_mb"] = round(rr["peak_rss"] / 2**20, 1)
        m[f"{name}_loadavg"] = [round(x, 2) for x in os.getloadavg()]
        if wall > 0.05 and total >= 0.8 * wall * self.cores:
            m[f"{name}_tester_bound"] = True
        return wall


async def run_nodes_split(
    t: Tester,
    params: dict[str, Any],
    deadline: float,
    m: Metrics,
    *,
    procs: int,
    mode: str,
    cores: int,
    uvloop: bool = True,
) -> None:
    """``nodes-N`` (see :mod:`bench.scenarios`) with the nodes in ``procs`` processes; the
    observer (client N) stays in this process, with the full parser."""
    n = params["nodes"]
    m["tester_procs"], m["tester_mode"], m["tester_cores"] = procs, mode, cores
    m["tester_slices"] = slices(n, procs)
    rr = f"{t.rr_addr}:{t.rr_port}"
    w = await Workers.start(rr, n, procs, mode, params["concurrency"], uvloop)
    try:
        await _phases(t, w, n, deadline, m, cores)
    except (RuntimeError, ValueError, TimeoutError) as exc:
        m["failed"] = f"tester processes: {type(exc).__name__}: {exc}"
    finally:
        m["tester_proc_peak_rss_mb"] = [
            round(proc_usage([pid])["peak_rss"] / 2**20, 1) for pid in w.pids
        ]
        with contextlib.suppress(RuntimeError, TimeoutError):
            if all(p.returncode is None for p in w.procs):
                final = await w.ask("exit")
                m["worker_cpu_s"] = [r["cpu_s"] for r in final]
                merged = merge_phase(0.0, final)
                for k in ("updates", "nlri", "withdrawn"):
                    m[f"worker_{k}"] = merged.get(k, 0)
                errs: dict[str, int] = {}
                for r in final:
                    for k, v in r.get("errors", {}).items():
                        errs[k] = errs.get(k, 0) + v
                if errs:
                    m["worker_errors"] = errs
        await w.stop()


def _note(m: Metrics, n: int, text: str) -> None:
    print(f"nodes-{n}: {text}", file=sys.stderr, flush=True)


async def _phases(t: Tester, w: Workers, n: int, deadline: float, m: Metrics, cores: int) -> None:
    observer = t.add_peers([client_address(n)])[0]
    observer.index = n
    clk = PhaseClock(t, w.pids, cores, m)
    if not await t.connect(observer, deadline):
        m["failed"] = "observer not established"
        return
    t.start_keepalives()
    # 1. storm on a fresh reflector
    t0 = clk.start()
    ph = merge_phase(t0, await w.ask("storm", deadline))
    clk.done("storm")
    m["established_s"] = ph.get("up_s")
    m["storm_established"] = ph["established"]
    for k in ("connects", "failed_connects", "slow_connects", "session_failures"):
        m[f"storm_{k}"] = ph[k]
    m["storm_retries"] = ph["connects"] - n
    _note(m, n, f"storm {ph.get('up_s')} s, {ph['established']}/{n} Established")
    if ph["failed"]:
        m["failed"] = f"{ph['failed']} of {n} sessions not established"
        return
    # 2. full mesh
    t0 = clk.start()
    obs = asyncio.ensure_future(t.wait_goal([observer], lambda p: p.held() >= n, deadline))
    ph = merge_phase(t0, await w.ask("mesh", deadline))
    _otimes, omissed = await obs
    clk.done("converge")
    _note(m, n, f"mesh {ph.get('last_s')} s, missed {ph['missed'] + omissed}")
    m["converge_p50_s"] = ph.get("p50_s")
    if ph["missed"] or omissed:
        m["converge_s"] = None
        m["converge_missed"] = ph["missed"] + omissed
        m["failed"] = f"converge: {ph['missed'] + omissed} peers did not reach the goal in time"
        return
    m["converge_s"] = ph.get("last_s")
    _verified(m, "", merge_phase(0.0, await w.ask("verify", deadline + 60)))
    # 3. mass flap: all close, the observer sees every withdrawal; all reconnect at once
    t0 = clk.start()
    await w.ask("close", deadline)
    _times, missed = await t.wait_goal([observer], lambda p: p.held() == 0, deadline)
    m["teardown_s"] = round(time.monotonic() - t0, 4) if not missed else None
    clk.done("teardown")
    if missed:
        m["failed"] = "teardown: the observer still holds routes"
        return
    await asyncio.sleep(0.2)
    t0 = clk.start()
    obs = asyncio.ensure_future(t.wait_goal([observer], lambda p: p.held() >= n, deadline))
    ph = merge_phase(t0, await w.ask("reconnect", deadline))
    _otimes, omissed = await obs
    clk.done("reconnect_converge")
    m["reconnect_established_s"] = ph.get("up_s")
    m["reconnect_established"] = ph["established"]
    for k in ("connects", "failed_connects", "slow_connects", "session_failures"):
        m[f"reconnect_{k}"] = ph[k]
    m["reconnect_retries"] = ph["connects"] - n
    _note(m, n, f"reconnect {ph.get('last_s')} s, missed {ph['missed'] + omissed}")
    if ph["missed"] or omissed:
        m["reconnect_converge_s"] = None
        m["failed"] = f"reconnect: {ph['missed'] + omissed} peers did not reach the goal in time"
        return
    m["reconnect_converge_s"] = ph.get("last_s")
    _verified(m, "reconnect_", merge_phase(0.0, await w.ask("verify", deadline + 60)))


def _verified(m: dict[str, Any], prefix: str, ph: dict[str, Any]) -> None:
    """A verification's figures into the metrics: ``wrong_tables`` and, where not zero,
    the own routes sent back and the prefixes missing and extra in the wrong tables."""
    m[f"{prefix}wrong_tables"] = ph["wrong"]
    for key, name in (("returned", "own_returned"), ("missing", "missing_routes"),
                      ("extra", "extra_routes")):  # fmt: skip
        if ph.get(key):
            m[prefix + name] = ph[key]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.multitester")
    ap.add_argument("--rr", required=True, help="reflector ADDRESS:PORT (loopback)")
    ap.add_argument("--nodes", type=int, required=True)
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--end", type=int, required=True)
    ap.add_argument("--mode", choices=("full", "count"), default="full")
    ap.add_argument("--concurrency", type=int, default=0)
    ap.add_argument("--no-uvloop", action="store_true")
    a = ap.parse_args(argv)
    if not a.rr.startswith("127."):
        ap.error("the reflector must be on a loopback address (127.0.0.0/8)")
    factory = None
    if not a.no_uvloop:
        with contextlib.suppress(ImportError):
            import uvloop

            factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as r:
        r.run(worker(a.rr, a.first, a.end, a.nodes, a.mode, a.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
