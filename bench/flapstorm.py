"""Flap storms and soaks against a route reflector in a process of its own.

``python -m bench.flapstorm --reflector bgprr --clients 200 --flappers 50 --duration 60``

1. The reflector (``bgprr --config``, ``gobgpd`` or BIRD 2) starts with one passive
   route-reflector client neighbor per client, graceful restart (helper) on each.
2. Every client connects, announces its prefixes and End-of-RIB; the run waits until
   every client's table is exact (:class:`~bench.flapclient.Model`): *first convergence*,
   where the reflector's RSS is the baseline.
3. For ``duration`` seconds each flapper acts at random intervals (exponential, mean
   ``interval``): a session flap (``flap_share`` of the actions), either a NOTIFICATION
   (Cease) or a TCP reset (graceful restart when the client negotiated it: half of the
   clients do), down for 0.1..1.5 s, coming back with a changed set of prefixes and
   End-of-RIB; otherwise a churn round (withdraw some, announce others, re-announce some
   with a new MED).
4. Then every client is up with its final routes; the run waits until every client's
   table is exact again, and reads the reflector's Loc-RIB and each Adj-RIB-In through
   its own interface and compares them with the model too. RSS and open files are sampled
   from ``/proc/PID`` every ``sample`` seconds throughout.

``--soak`` changes the defaults to a long run: every client churns (mean 5 s between
actions) and 0.5 % of the actions are session flaps: about one flap every
1,000 s per client, so that bgprr's idle-hold back-off (which doubles for flaps less than
300 s apart) rarely keeps a client out.

``--med-values N``: a prefix's MED cycles through 1..N instead of counting its
announcements, so that the set of attribute sets the churn can produce is bounded (with
counting MEDs every re-announcement is a new attribute set, and the reflector's working
set keeps changing); memory can then be compared with a stationary load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .flapclient import POOL, Client, Counters, Model, fmt_prefix, pool_prefix
from .flaprr import Reflector, Table
from .loadtester import KEEPALIVE, self_cpu


@dataclass(slots=True)
class Settings:
    reflector: str = "bgprr"
    clients: int = 200
    flappers: int = 50
    duration: float = 60.0
    prefixes: int = 20  # initial routes per client (of a pool of 64)
    interval: float = 1.0  # mean seconds between one flapper's actions
    flap_share: float = 0.67  # share of those actions that are session flaps
    sample: float = 2.0  # seconds between RSS / fd samples
    settle: float = 330.0  # seconds allowed to reconnect (idle hold up to 300 s) and converge
    hold_time: int = 90
    addr: str = "127.201.0.1"
    port: int = 17950
    seed: int = 1
    med_values: int = 0  # 0: a prefix's MED counts its announcements; N: cycles over N
    workdir: str = ""


@dataclass(slots=True)
class Result:
    settings: dict[str, Any]
    ok: bool = False
    connect_s: float = 0.0  # until every client was Established
    first_convergence_s: float = 0.0  # from the first connection to exact tables
    storm_s: float = 0.0  # until the last flapper's last action is done (it may wait for
    # the reflector's idle hold to let it back in)
    dump_s: float = 0.0
    final_convergence_s: float = 0.0
    rss_first: float = 0.0
    rss_end: float = 0.0
    rss_ratio: float = 0.0
    rss_max: float = 0.0
    rss_after_dump: float = 0.0
    fds_first: float = 0.0
    fds_end: float = 0.0
    routes_end: int = 0
    counters: dict[str, Any] = field(default_factory=dict)
    client_mismatches: list[str] = field(default_factory=list)
    loc_rib_errors: list[str] = field(default_factory=list)
    adj_in_errors: list[str] = field(default_factory=list)
    reflector_alive: bool = True
    tester_cpu_s: float = 0.0
    reflector_cpu_s: float = 0.0
    samples: list[dict[str, float]] = field(default_factory=list)
    log_tail: str = ""


class Storm:
    def __init__(self, s: Settings, rr: Reflector) -> None:
        self.s = s
        self.rr = rr
        self.rng = random.Random(s.seed)
        self.counters = Counters()
        self.clients = [
            Client(i, self.counters, gr=i % 2 == 0, hold_time=s.hold_time) for i in range(s.clients)
        ]
        self.model = Model(self.clients, s.addr)
        self.t0 = time.monotonic()
        self.samples: list[dict[str, float]] = []
        self.phase = "start"
        for c in self.clients:
            c.med_values = s.med_values
            for slot in self.rng.sample(range(POOL), s.prefixes):
                c.routes[pool_prefix(c.index, slot)] = 0

    async def up(self, c: Client, deadline: float) -> bool:
        if not await c.connect(self.rr.addr, self.rr.port, deadline):
            return False
        c.send_table()
        return True

    async def keepalives(self) -> None:
        while True:
            await asyncio.sleep(self.s.hold_time / 3)
            for c in self.clients:
                if c.established and c.transport is not None:
                    c.transport.write(KEEPALIVE)

    async def sampler(self) -> None:
        while True:
            u = self.rr.usage()
            self.samples.append({
                "t": round(time.monotonic() - self.t0, 2),
                "rss": u["rss"], "fds": u["fds"], "cpu_s": u["cpu_s"],
                "established": float(sum(c.established for c in self.clients)),
                "routes": float(self.model.total()),
                "phase": float(("start", "storm", "settle", "end").index(self.phase)),
            })  # fmt: skip
            await asyncio.sleep(self.s.sample)

    def _change_routes(self, c: Client, n: int) -> tuple[list[int], list[int], list[int]]:
        """Pick ``n`` slots to withdraw, ``n`` to announce, ``n`` to re-announce."""
        have = [s for s in range(POOL) if pool_prefix(c.index, s) in c.routes]
        free = [s for s in range(POOL) if pool_prefix(c.index, s) not in c.routes]
        gone = self.rng.sample(have, min(n, len(have)))
        new = self.rng.sample(free, min(n, len(free)))
        kept = [s for s in have if s not in gone]
        again = self.rng.sample(kept, min(n, len(kept)))
        return gone, new, again

    async def flapper(self, c: Client, end: float) -> None:
        rng = self.rng
        while True:
            await asyncio.sleep(rng.expovariate(1.0 / self.s.interval))
            if time.monotonic() >= end:
                break
            if not c.established:  # the reflector dropped it, or refused it too long
                await self.up(c, time.monotonic() + self.s.settle)
                continue
            if rng.random() < self.s.flap_share:
                how = rng.choice(("notify", "reset"))
                if how == "notify":
                    self.counters.hard_flaps += 1
                elif c.gr:
                    self.counters.gr_flaps += 1
                else:
                    self.counters.plain_drops += 1
                c.restarting = how == "reset" and c.gr
                c.drop(how)
                gone, new, _ = self._change_routes(c, rng.randint(0, 5))
                for s in gone:
                    c.routes.pop(pool_prefix(c.index, s), None)
                for s in new:
                    c.routes[pool_prefix(c.index, s)] = 0
                await asyncio.sleep(rng.uniform(0.1, 1.5))
                await self.up(c, time.monotonic() + self.s.settle)
                c.restarting = False
            else:
                self.counters.churn += 1
                gone, new, again = self._change_routes(c, rng.randint(1, 4))
                c.withdraw(gone)
                c.announce(new + again)

    async def converge(self, timeout: float) -> float:
        """Seconds until every client's table is exact (sizes first, then content)."""
        t = time.monotonic()
        end = t + timeout
        while time.monotonic() < end:
            if self.model.sizes_match() and not self.model.check():
                return time.monotonic() - t
            await asyncio.sleep(0.2)
        return -1.0


def check_reflector(model: Model, loc: Table, adj: dict[str, Table]) -> tuple[list[str], list[str]]:
    """Loc-RIB and Adj-RIB-In errors against the model (at most 10 of each)."""
    want = {fmt_prefix(p): (c, med) for p, (c, med) in model.all_routes().items()}
    loc_err: list[str] = []
    for prefix, (c, med) in want.items():
        paths = loc.get(prefix, [])
        if [(h.source, h.next_hop, h.med, h.stale) for h in paths] != [
            (c.address, c.next_hop, med, False)
        ]:
            loc_err.append(f"{prefix}: holds {paths}, expected one path from {c.address} med {med}")
    loc_err += [f"{p}: not announced by anyone, held {loc[p]}" for p in loc if p not in want]
    adj_err: list[str] = []
    for c in model.clients:
        got = adj.get(c.address, {})
        exp = {fmt_prefix(p): med for p, med in c.routes.items()}
        for prefix, med in exp.items():
            paths = got.get(prefix, [])
            if [(h.next_hop, h.med, h.stale) for h in paths] != [(c.next_hop, med, False)]:
                adj_err.append(f"{c.address} {prefix}: holds {paths}, expected med {med}")
        adj_err += [f"{c.address} {p}: not announced" for p in got if p not in exp]
    return loc_err[:10] + ([f"... {len(loc_err)} in all"] if len(loc_err) > 10 else []), (
        adj_err[:10] + ([f"... {len(adj_err)} in all"] if len(adj_err) > 10 else [])
    )


async def run(s: Settings) -> Result:
    res = Result(settings=asdict(s))
    tmp = None
    if not s.workdir:
        tmp = tempfile.TemporaryDirectory(prefix="bgprr-flap-")
        s.workdir = tmp.name
    rr = await asyncio.to_thread(Reflector, s.reflector, Path(s.workdir), s.addr, s.port, s.clients)
    storm = Storm(s, rr)
    tasks: list[asyncio.Task[Any]] = [asyncio.create_task(storm.sampler())]
    cpu0 = self_cpu()
    try:
        sem = asyncio.Semaphore(50)

        async def first(c: Client) -> bool:
            async with sem:
                return await storm.up(c, time.monotonic() + s.settle)

        t = time.monotonic()
        await asyncio.gather(*(first(c) for c in storm.clients))
        res.connect_s = round(time.monotonic() - t, 2)
        tasks.append(asyncio.create_task(storm.keepalives()))
        converged = await storm.converge(s.settle)
        res.first_convergence_s = converged + res.connect_s if converged >= 0 else -1.0
        u = rr.usage()
        res.rss_first, res.fds_first = u["rss"], u["fds"]
        if res.first_convergence_s < 0:
            res.client_mismatches = [str(m) for m in storm.model.check()[:10]]
            return res
        storm.phase = "storm"
        end = time.monotonic() + s.duration
        flappers = storm.rng.sample(storm.clients, s.flappers)
        t = time.monotonic()
        await asyncio.gather(*(storm.flapper(c, end) for c in flappers))
        res.storm_s = round(time.monotonic() - t, 2)
        storm.phase = "settle"
        await asyncio.gather(
            *(storm.up(c, time.monotonic() + s.settle) for c in storm.clients if not c.established)
        )
        res.final_convergence_s = await storm.converge(s.settle)
        res.client_mismatches = [str(m) for m in storm.model.check()[:10]]
        # RSS before the table dumps below (answering them costs the reflector memory)
        u = rr.usage()
        res.rss_end, res.fds_end = u["rss"], u["fds"]
        res.rss_ratio = round(res.rss_end / res.rss_first, 3) if res.rss_first else 0.0
        t = time.monotonic()
        loc = await asyncio.to_thread(rr.loc_rib)
        adj = await asyncio.to_thread(rr.adj_rib_in, [c.address for c in storm.clients])
        res.dump_s = round(time.monotonic() - t, 2)
        res.loc_rib_errors, res.adj_in_errors = check_reflector(storm.model, loc, adj)
        storm.phase = "end"
        u = rr.usage()
        res.rss_after_dump, res.reflector_cpu_s = u["rss"], u["cpu_s"]
        res.routes_end = storm.model.total()
        res.ok = (
            res.final_convergence_s >= 0
            and not res.client_mismatches
            and not res.loc_rib_errors
            and not res.adj_in_errors
            and rr.alive()
        )
        return res
    finally:
        res.reflector_alive = rr.alive()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        res.samples = storm.samples
        res.rss_max = max((x["rss"] for x in storm.samples), default=0.0)
        res.counters = asdict(storm.counters)
        res.tester_cpu_s = round(self_cpu() - cpu0, 2)
        for c in storm.clients:
            c.drop("notify")
        await asyncio.sleep(0.2)
        res.log_tail = rr.run.log_tail(20)
        await asyncio.to_thread(rr.stop)
        if tmp is not None:
            tmp.cleanup()


def summary(r: Result) -> str:
    s = r.settings
    mib = 1024 * 1024
    return "\n".join([
        f"{s['reflector']}: {s['clients']} clients, {s['flappers']} acting for {s['duration']} s"
        f" (mean {s['interval']} s between actions, {s['flap_share']:.1%} flaps)",
        f"  events: {r.counters}",
        f"  all Established in {r.connect_s:.2f} s, tables exact"
        f" {r.first_convergence_s:.2f} s after start, RSS {r.rss_first / mib:.1f} MiB,"
        f" {r.fds_first:.0f} fds",
        f"  storm {r.storm_s:.1f} s (until the last flapper was back);"
        f" then exact in {r.final_convergence_s:.2f} s, {r.routes_end} routes,"
        f" RSS {r.rss_end / mib:.1f} MiB ({r.rss_ratio}x first, max sampled"
        f" {r.rss_max / mib:.1f} MiB), {r.fds_end:.0f} fds; after the table dumps"
        f" {r.rss_after_dump / mib:.1f} MiB",
        f"  client tables exact: {not r.client_mismatches}; Loc-RIB exact: "
        f"{not r.loc_rib_errors}; Adj-RIB-In exact: {not r.adj_in_errors};"
        f" reflector alive: {r.reflector_alive}",
        f"  CPU: reflector {r.reflector_cpu_s:.1f} s, tester {r.tester_cpu_s:.1f} s",
        *[f"  client: {m}" for m in r.client_mismatches],
        *[f"  loc-rib: {m}" for m in r.loc_rib_errors],
        *[f"  adj-in: {m}" for m in r.adj_in_errors],
        f"  verdict: {'OK' if r.ok else 'FAILED'}",
    ])  # fmt: skip


async def _main(s: Settings) -> Result:
    """``run`` with SIGTERM and SIGINT ending it cleanly (the reflector is stopped)."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        if task is not None:
            loop.add_signal_handler(sig, task.cancel)
    return await run(s)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.flapstorm",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--reflector", default="bgprr", choices=("bgprr", "gobgp", "bird2"))
    ap.add_argument("--soak", action="store_true", help="long-run defaults (see above)")
    d = Settings()
    for name in ("clients", "flappers", "duration", "prefixes", "interval", "flap_share",
                 "sample", "settle", "port", "seed", "med_values"):  # fmt: skip
        ap.add_argument("--" + name.replace("_", "-"), type=type(getattr(d, name)))
    ap.add_argument("--addr", default=d.addr)
    ap.add_argument("--workdir", default="")
    ap.add_argument("--out", help="write the result (with every sample) as JSON here")
    ap.add_argument("--uvloop", action="store_true", help="run the tester on uvloop")
    a = ap.parse_args(argv)
    s = Settings(reflector=a.reflector, addr=a.addr, workdir=a.workdir)
    if a.soak:
        s.flappers, s.duration, s.interval, s.flap_share, s.sample = 200, 3600.0, 5.0, 0.005, 5.0
    for name in ("clients", "flappers", "duration", "prefixes", "interval", "flap_share",
                 "sample", "settle", "port", "seed", "med_values"):  # fmt: skip
        v = getattr(a, name)
        if v is not None:
            setattr(s, name, v)
    s.flappers = min(s.flappers, s.clients)
    if a.uvloop:
        import uvloop

        res = uvloop.run(_main(s))
    else:
        res = asyncio.run(_main(s))
    print(summary(res))
    if a.out:
        Path(a.out).write_text(json.dumps(asdict(res), indent=1) + "\n")
        print(f"wrote {a.out}", file=sys.stderr)
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
