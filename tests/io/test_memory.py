"""Memory comes back: repeated connection floods, session flaps and route churn leave
Python's own allocations (tracemalloc) and the collector's objects where they were, and
create no reference cycles.

The daemon collects the oldest generation almost never (bgprr.app.tune_gc), so anything a
connection or a session leaves in a reference cycle stays until the process ends: here the
collector is off while the cycles run, and ``gc.collect()`` afterwards must find nothing.
Every wait is for a condition (connections closed, neighbors removed, tables exact), and
every bound is on counts and bytes, not on time. The clients use plain sockets through
the loop (no transports of their own), so whatever is counted is the reflector's.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from bench import flood
from bench.flapclient import EOR, build_open
from bench.loadtester import KEEPALIVE, build_attrs, build_notification, pack_announce
from bgprr.config import load_config
from bgprr.io import settings
from bgprr.io import trim as trim_module
from bgprr.io.daemon import Daemon
from bgprr.reflect.tables import SharedStates
from bgprr.session import State
from bgprr.wire.constants import IPV4_UNICAST
from bgprr.wire.prefix import make_key
from tests import loopback
from tests.loopback import wait_for

FLOOD = 120  # connections per flood: half from the dynamic range, half from nowhere
ROUNDS = 3


@pytest.fixture
async def reflector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Daemon, int]]:
    """bench/flood.py's reflector in this process, with short timers: silent connections
    dropped after 0.3 s, dynamic neighbors removed 0.2 s after they went down."""
    monkeypatch.setattr(settings, "SILENT_OPEN_TIME", 0.3)
    port = loopback.free_port(flood.RR_ADDR)
    path, _dynamic = flood.rr_config("bgprr", port, tmp_path)
    d = Daemon(load_config(str(path)))
    d.dynamic_linger = 0.2
    d.reap_interval = 0.1
    await d.start()
    yield d, port
    await d.stop(graceful=False)


@pytest.fixture
def no_collector() -> Iterator[None]:
    """The collector off (so that reference cycles stay until counted), and tracemalloc
    on; both restored afterwards."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start(1)
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        if not tracing:
            tracemalloc.stop()


async def _sock(addr: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((addr, 0))
    await loop.sock_connect(s, (flood.RR_ADDR, port))
    return s


def _one(port: int, addr: str, kind: str) -> bytes:
    """One flood connection (blocking, in a thread: an asyncio socket call that fails
    leaves its exception and future in a reference cycle, which would be counted here);
    what the reflector sent until it closed."""
    got = b""
    with socket.create_connection((flood.RR_ADDR, port), 10.0, (addr, 0)) as s:
        if kind == "garbage":
            s.sendall(os.urandom(64))
        elif kind == "wrong-as":
            s.sendall(flood.build_open(flood.ASN + 1, "192.0.2.1", 90))
        try:
            while data := s.recv(65536):
                got += data
        except OSError:
            pass
    return got


async def _flood(d: Daemon, port: int, n: int) -> None:
    """``n`` connections of bench.flood's kinds; back when each was closed by the
    reflector and every dynamic neighbor it created is removed again."""
    before = len(d.peers)
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=n) as pool:
        got = await asyncio.gather(
            *(loop.run_in_executor(pool, _one, port, a, k) for a, k in flood.plan(n, True))
        )
    assert all(got)  # each got an answer (OPEN, NOTIFICATION) before the close
    await wait_for(lambda: len(d.peers) == before, 20.0)


def _cycles() -> int:
    """Objects that only reference cycles kept alive (collected now)."""
    return gc.collect()


def _traced() -> int:
    return tracemalloc.get_traced_memory()[0]


async def test_connection_floods_return_to_baseline(
    reflector: tuple[Daemon, int], no_collector: None
) -> None:
    d, port = reflector
    await _flood(d, port, FLOOD)  # warm-up: caches, interned names, the refusal log
    await _flood(d, port, FLOOD)
    _cycles()
    traced0, objects0 = _traced(), len(gc.get_objects())
    for _ in range(ROUNDS):
        await _flood(d, port, FLOOD)
        assert _cycles() == 0
    grown = _traced() - traced0
    assert grown < 48 * 1024, f"{grown} bytes more after {ROUNDS} floods"
    assert len(gc.get_objects()) - objects0 < 200
    # Every dynamic-range connection was held (bgprr.io.pending) and answered without a
    # dynamic neighbor: silent, garbage and wrong-AS alike.
    assert d.pending.held == (2 + ROUNDS) * FLOOD // 2 and len(d.pending) == 0
    assert d.reaped == 0
    assert d._range_members == {}  # no emptied set keeps the flood's table


class _Peer:
    """A configured client on plain sockets: OPEN, routes, End-of-RIB, then down by a
    NOTIFICATION or a TCP reset."""

    def __init__(self, addr: str, port: int) -> None:
        self.addr = addr
        self.port = port
        self.med = 0

    async def session(self, d: Daemon, routes: int, how: str) -> None:
        loop = asyncio.get_running_loop()
        s = await _sock(self.addr, self.port)
        await loop.sock_sendall(s, build_open(self.addr, 90, None, False))
        runner = d.peers[self.addr]
        await wait_for(lambda: runner.session.state is State.OPENCONFIRM, 10.0)
        await loop.sock_sendall(s, KEEPALIVE)
        await wait_for(lambda: runner.session.state is State.ESTABLISHED, 10.0)
        self.med += 1  # every session a new attribute set
        attrs = build_attrs(next_hop="198.18.0.1", med=self.med)
        third = int(self.addr.rsplit(".", 1)[1])
        nlri = [bytes([26, 10, third, i, 0]) for i in range(routes)]
        await loop.sock_sendall(s, b"".join([*pack_announce(attrs, nlri), EOR]))
        rib = d.engine.table(IPV4_UNICAST).dests
        await wait_for(lambda: all(_key(p) in rib for p in nlri), 10.0)
        if how == "notify":
            await loop.sock_sendall(s, build_notification(6, 4))
        else:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        await wait_for(lambda: runner.session.state is not State.ESTABLISHED, 10.0)
        await wait_for(lambda: not d.engine.holds_routes(self.addr), 10.0)


def _key(nlri: bytes) -> int:
    return make_key(int.from_bytes(nlri[1:].ljust(4, b"\x00"), "big"), nlri[0])


async def test_session_flaps_return_to_baseline(
    reflector: tuple[Daemon, int], no_collector: None
) -> None:
    """Each of the three configured clients comes up with 40 routes (a new MED each
    time) and goes down, by NOTIFICATION or TCP reset; the reflector ends each round
    holding nothing, as before."""
    d, port = reflector
    peers = [_Peer(addr, port) for addr in flood.CLIENTS]
    for r in d.peers.values():  # taken back at once after every flap (no damping)
        r.session.config = replace(r.session.config, idle_hold_time=0.0)

    async def round_(i: int) -> None:
        how = "notify" if i % 2 else "reset"
        await asyncio.gather(*(p.session(d, 40, how) for p in peers))
        for addr in flood.CLIENTS:  # back to Idle -> Active for the next round
            await wait_for(lambda a=addr: d.peers[a].session.state is not State.IDLE, 10.0)

    await round_(0)
    await round_(1)
    _cycles()
    traced0, objects0 = _traced(), len(gc.get_objects())
    for i in range(2, 2 + 2 * ROUNDS):
        await round_(i)
        assert _cycles() == 0
    assert len(d.engine.intern_table) == 0
    assert len(d.engine.shared_states) <= SharedStates.SLACK
    grown = _traced() - traced0
    assert grown < 48 * 1024, f"{grown} bytes more after {2 * ROUNDS} flaps of each client"
    assert len(gc.get_objects()) - objects0 < 200


@pytest.mark.parametrize("enabled", [True, False])
async def test_heap_trimmed_once_a_flood_subsided(
    reflector: tuple[Daemon, int], monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    """``malloc-trim`` (default on): the free C heap goes back to the system after the
    flood, not during it; off, never."""
    d, port = reflector
    calls: list[int] = []
    monkeypatch.setattr(trim_module, "malloc_trim", lambda: calls.append(len(d.peers)) or True)
    d.trim.threshold = 10
    d.config = replace(d.config, global_=replace(d.config.global_, malloc_trim=enabled))
    await _flood(d, port, 40)
    trims = d.trim.trims
    if enabled:
        # the last trim comes once the flood's neighbors are all gone
        await wait_for(lambda: bool(calls) and calls[-1] == len(flood.CLIENTS), 5.0)
    else:
        await wait_for(lambda: not (d.trim.flooded or d.trim.due), 5.0)
        await asyncio.sleep(3 * d.reap_interval)
        assert calls == [] and d.trim.trims == trims == 0
