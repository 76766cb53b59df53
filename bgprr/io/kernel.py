"""Best routes into the host's kernel routing table (docs/kernel.md).

:class:`KernelSync` owns a :class:`~bgprr.reflect.fib.FibPlan` (what to write, pure) and
one worker thread that does every netlink call (:mod:`bgprr.io.netlink`), so the event
loop never waits for the kernel. The daemon hands it the engine's BestPathChanged
events; whenever the worker is idle and changes are pending, up to :data:`BATCH` of them
go to it as one batch: it resolves the next hops (one RTM_GETROUTE per distinct next
hop and batch), encodes the messages and sends them in large buffers without waiting for
each acknowledgement. Changes that arrive meanwhile wait in the plan (latest wins).

Next hops: a BGP next hop the kernel reaches directly (its lookup has no gateway) is
installed as it is, with the interface; one reached through a router is installed via
that router (recursive resolution, as BIRD's ``gateway recursive``); one that is an
address of this host (the lookup says local) or that the kernel cannot reach is not
installed. Resolution happens when a route is written, not again when the host's own
routes change.

Lifecycle: at start the worker reads the routes of our protocol in our table (what a
previous run left). Without a graceful restart they are deleted at once, before any
route is learned (a run that stopped cleanly left none; one that crashed without ``-r``
promised nothing). A restarting speaker (``-r``) writes nothing until its selection
deferral ends (RFC 4724 §4.1), then writes the difference: leftovers learned again with
the same next hops stay untouched, the others go. :meth:`KernelSync.stop` deletes every
route of our protocol in our table (read back from the kernel, so exactly ours) unless
told to keep them (a graceful stop, before a restart with ``-r``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bgprr.config import KernelConfig
from bgprr.reflect.fib import FibOp, FibPlan, NextHops, OpKind, RouteKey

from .netlink import (
    RTM_NEWROUTE,
    RTN_LOCAL,
    RTN_UNICAST,
    NextHop,
    RouteSocket,
    encode_delete,
    encode_dump,
    encode_get,
    encode_route,
    is_missing,
    parse_route,
    route_summary,
)

log = logging.getLogger("bgprr.kernel")

#: Prefixes per batch handed to the worker.
BATCH = 10_000
_AFI_FAMILY = {1: socket.AF_INET, 2: socket.AF_INET6}
_FAMILY_AFI = {socket.AF_INET: 1, socket.AF_INET6: 2}
_WIDTH = {1: 4, 2: 16}


@dataclass(slots=True)
class KernelStats:
    """Counters since start (``held``: routes the plan believes installed)."""

    added: int = 0  # operations sent (refused ones included)
    replaced: int = 0
    deleted: int = 0
    refused: int = 0  # the kernel said no (an error other than "not there" on delete)
    unresolved: int = 0  # no next hop the kernel can reach
    local: int = 0  # every next hop is an address of this host
    batches: int = 0
    sends: int = 0
    last_batch_ops: int = 0
    last_batch_s: float = 0.0
    netlink_s: float = 0.0  # of the batches' time, spent sending (the kernel's work)
    flush_dump_s: float = 0.0  # stop: reading our routes back
    flush_delete_s: float = 0.0  # stop: deleting them
    leftovers_found: int = 0
    leftovers_deleted: int = 0


@dataclass(slots=True)
class _Result:
    failed: list[RouteKey]
    stats: KernelStats
    seconds: float


class _Worker:
    """The netlink side, used only from the worker thread."""

    def __init__(self, cfg: KernelConfig) -> None:
        self.cfg = cfg
        self.sock = RouteSocket()
        self.seq = 0

    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xFFFFFFFF or 1
        return self.seq

    def dump(self) -> dict[RouteKey, NextHops]:
        """Our routes in our table: ``(afi, key) -> gateways``."""
        out: dict[RouteKey, NextHops] = {}
        for afi, family in _AFI_FAMILY.items():
            seq = self._next_seq()
            msg = encode_dump(family, table=self.cfg.table, protocol=self.cfg.protocol, seq=seq)
            for mtype, payload in self.sock.request(msg, seq):
                if mtype != RTM_NEWROUTE:
                    continue
                _fam, dst, plen, table, proto, gws = route_summary(payload)
                if proto != self.cfg.protocol or table != self.cfg.table:
                    continue
                key = (int.from_bytes(dst, "big") << 8) | plen
                out[(afi, key)] = gws if len(gws) <= 1 else tuple(sorted(set(gws)))
        return out

    def resolve(self, hop: bytes, cache: dict[bytes, NextHop | str]) -> NextHop | str:
        """How to install next hop ``hop``: a NextHop, "local" or "unreachable"."""
        got = cache.get(hop)
        if got is not None:
            return got
        seq = self._next_seq()
        try:
            answers = list(self.sock.request(encode_get(hop, seq=seq), seq))
        except OSError:  # ENETUNREACH and the like
            answers = []
        res: NextHop | str = "unreachable"
        for mtype, payload in answers:
            if mtype != RTM_NEWROUTE:
                continue
            r = parse_route(payload)
            if r.type == RTN_LOCAL:
                res = "local"
            elif r.type == RTN_UNICAST and r.next_hops:
                h = r.next_hops[0]
                res = NextHop(h.gateway or hop, h.oif)  # via a router, or on-link
        cache[hop] = res
        return res

    def apply(self, ops: Sequence[FibOp]) -> _Result:
        t0 = time.perf_counter()
        st = KernelStats()
        cfg = self.cfg
        table, protocol, metric = cfg.table, cfg.protocol, cfg.metric
        resolved: dict[NextHops, list[NextHop] | str] = {}
        cache: dict[bytes, NextHop | str] = {}
        msgs: list[bytes] = []
        seqs: list[int] = []
        unresolved: set[int] = set()  # indexes of ops not installed (no next hop)
        failed: list[RouteKey] = []
        base = self.seq + 1
        delete, add = OpKind.DELETE, OpKind.ADD
        for i, (kind, afi, key, next_hops) in enumerate(ops):
            seq = (base + i) & 0xFFFFFFFF
            dst = (key >> 8).to_bytes(_WIDTH[afi], "big")
            plen = key & 0xFF
            if kind is delete:
                st.deleted += 1
                msgs.append(encode_delete(dst, plen, table=table, protocol=protocol, seq=seq))
                seqs.append(seq)
                continue
            if kind is add:
                st.added += 1
            else:
                st.replaced += 1
            hops = resolved.get(next_hops)
            if hops is None:
                hops = resolved[next_hops] = self._resolve_all(next_hops, cache)
            if isinstance(hops, str):
                if hops == "local":
                    st.local += 1
                else:
                    st.unresolved += 1
                failed.append((afi, key))
                unresolved.add(i)
                if kind is not add:  # the old route must go as well
                    msgs.append(encode_delete(dst, plen, table=table, protocol=protocol,
                                              seq=seq))  # fmt: skip
                    seqs.append(seq)
                continue
            msgs.append(encode_route(dst, plen, hops, table=table, protocol=protocol,
                                     metric=metric, replace=kind is not add, seq=seq))  # fmt: skip
            seqs.append(seq)
        self.seq = (base + len(ops)) & 0xFFFFFFFF
        sends = self.sock.sends
        t1 = time.perf_counter()
        errors = self.sock.send_batch(msgs, seqs) if msgs else {}
        st.netlink_s = time.perf_counter() - t1
        st.sends = self.sock.sends - sends
        for seq, code in errors.items():
            i = (seq - base) & 0xFFFFFFFF
            if i >= len(ops) or i in unresolved:
                continue
            op = ops[i]
            if op.kind is OpKind.DELETE:
                if is_missing(code):
                    continue
                log.warning("kernel: delete %s: %s", _show(op), os.strerror(code))
            else:
                failed.append((op.afi, op.key))
                if st.refused < 5:
                    log.warning("kernel: %s %s: %s", op.kind.value, _show(op), os.strerror(code))
            st.refused += 1
        return _Result(failed=failed, stats=st, seconds=time.perf_counter() - t0)

    def _resolve_all(
        self, next_hops: NextHops, cache: dict[bytes, NextHop | str]
    ) -> list[NextHop] | str:
        """The kernel next hops for BGP next hops, or why there are none ("local": all
        are ours; "unreachable")."""
        hops: list[NextHop] = []
        local = False
        for nh in next_hops:
            r = self.resolve(nh, cache)
            if isinstance(r, NextHop):
                if r not in hops:
                    hops.append(r)
            elif r == "local":
                local = True
        if hops:
            return hops
        return "local" if local else "unreachable"

    def flush_ours(self) -> tuple[int, float, float]:
        """Delete every route of our protocol in our table; returns how many, and the
        seconds spent reading them back and deleting them."""
        t0 = time.perf_counter()
        ours = self.dump()
        t1 = time.perf_counter()
        msgs: list[bytes] = []
        seqs: list[int] = []
        table, protocol = self.cfg.table, self.cfg.protocol
        for afi, key in ours:
            seq = self._next_seq()
            dst = (key >> 8).to_bytes(_WIDTH[afi], "big")
            msgs.append(encode_delete(dst, key & 0xFF, table=table, protocol=protocol, seq=seq))
            seqs.append(seq)
        errors = self.sock.send_batch(msgs, seqs) if msgs else {}
        bad = [c for c in errors.values() if not is_missing(c)]
        if bad:
            log.warning("kernel: %d routes not deleted: %s", len(bad), os.strerror(bad[0]))
        return len(msgs) - len(bad), t1 - t0, time.perf_counter() - t1


def _show(op: FibOp) -> str:
    dst = (op.key >> 8).to_bytes(_WIDTH[op.afi], "big")
    return f"{socket.inet_ntop(_AFI_FAMILY[op.afi], dst)}/{op.key & 0xFF}"


class KernelSync:
    """Keeps our routes in the kernel in step with the engine (module docstring)."""

    def __init__(self, cfg: KernelConfig, *, restarting: bool) -> None:
        self.cfg = cfg
        self.hold = restarting  # a restarting speaker writes nothing before deferral end
        self.plan = FibPlan(multipath=cfg.multipath)
        self.stats = KernelStats()
        self.problem: str | None = None  # why the kernel cannot be written (None: it can)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bgprr-kernel")
        self._worker: _Worker | None = None
        self._busy: asyncio.Future[_Result] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self.in_flight = 0  # operations of the batch being written

    @property
    def pending(self) -> int:
        """Prefixes whose change is not in the kernel yet (waiting or being written)."""
        return self.plan.pending + self.in_flight

    async def start(self) -> None:
        """Open the netlink socket and read what a previous run left."""
        self._loop = asyncio.get_running_loop()
        try:
            self._worker = await self._loop.run_in_executor(self._pool, _Worker, self.cfg)
            held = await self._loop.run_in_executor(self._pool, self._worker.dump)
        except OSError as exc:
            self.problem = f"netlink: {exc.strerror or exc}"
            log.error("kernel routes disabled: %s", self.problem)
            self._worker = None
            return
        self.plan = FibPlan(multipath=self.cfg.multipath, held=held)
        self.stats.leftovers_found = len(held)
        log.info(
            "kernel: table %d, protocol %d, metric %d%s; %d routes of ours found%s",
            self.cfg.table,
            self.cfg.protocol,
            self.cfg.metric,
            ", multipath" if self.cfg.multipath else "",
            len(held),
            " (kept until the selection deferral ends)" if self.hold and held else "",
        )
        if not self.hold:
            self.stats.leftovers_deleted += self.plan.reconcile()
        self.kick()

    def changes(self, events: Iterable[object]) -> None:
        """The engine's events (BestPathChanged are used, the others ignored)."""
        if self.plan.changes(events) and not self.hold:
            self.kick()

    def deferral_ended(self) -> None:
        """The restarting speaker's selection deferral ended: write the difference."""
        if not self.hold:
            return
        self.hold = False
        n = self.plan.reconcile()
        self.stats.leftovers_deleted += n
        log.info("kernel: selection deferral over; %d leftover routes to delete", n)
        self.kick()

    @property
    def idle(self) -> bool:
        """Nothing in flight and nothing to write now."""
        return self._busy is None and (self.hold or not self.plan.pending)

    def kick(self) -> None:
        if (
            self._busy is not None
            or self._worker is None
            or self._loop is None
            or self.hold
            or self._stopped
        ):
            return
        ops = self.plan.take(BATCH)
        if not ops:
            if self.plan.pending:  # only no-ops were taken: look again
                self._loop.call_soon(self.kick)
            return
        fut = self._loop.run_in_executor(self._pool, self._worker.apply, ops)
        self._busy = fut
        self.in_flight = len(ops)
        fut.add_done_callback(self._done)

    def _done(self, fut: asyncio.Future[_Result]) -> None:
        self._busy = None
        self.in_flight = 0
        try:
            res = fut.result()
        except asyncio.CancelledError:
            return
        except OSError as exc:
            self.problem = f"netlink: {exc.strerror or exc}"
            log.error("kernel: batch failed: %s", self.problem)
            return
        for afi, key in res.failed:
            self.plan.failed(afi, key)
        s, r = self.stats, res.stats
        s.added += r.added
        s.replaced += r.replaced
        s.deleted += r.deleted
        s.refused += r.refused
        s.unresolved += r.unresolved
        s.local += r.local
        s.sends += r.sends
        s.netlink_s += r.netlink_s
        s.batches += 1
        s.last_batch_ops = r.added + r.replaced + r.deleted
        s.last_batch_s = res.seconds
        log.debug("kernel: %d changes in %.3f s", s.last_batch_ops, res.seconds)
        self.kick()

    async def drain(self) -> None:
        """Wait until nothing is in flight or pending (tests, benchmarks, stop)."""
        while not self.idle and self._worker is not None:
            if self._busy is not None:
                await asyncio.wait([self._busy])
            else:
                self.kick()
                await asyncio.sleep(0)

    def freeze(self) -> None:
        """Write nothing more (the daemon is stopping; :meth:`stop` follows)."""
        self._stopped = True

    async def stop(self, *, keep: bool) -> None:
        """Delete our routes (read back from the kernel) unless ``keep``; close."""
        self._stopped = True
        loop = asyncio.get_running_loop()
        if self._busy is not None:
            await asyncio.wait([self._busy])
        worker, self._worker = self._worker, None
        if worker is not None:
            try:
                if not keep:
                    n, dump_s, del_s = await loop.run_in_executor(self._pool, worker.flush_ours)
                    self.stats.flush_dump_s, self.stats.flush_delete_s = dump_s, del_s
                    log.info("kernel: %d routes of ours deleted in %.2f s", n, dump_s + del_s)
                else:
                    log.info("kernel: routes kept for the next start with -r")
            except OSError as exc:
                log.error("kernel: %s", exc.strerror or exc)
            worker.sock.close()
        self._pool.shutdown(wait=False)


__all__ = ["BATCH", "KernelStats", "KernelSync"]
