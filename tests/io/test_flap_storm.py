"""A flap storm against `bgprr --config` in a process of its own (bench/flapstorm.py):
200 route-reflector clients on loopback, 50 of them acting every 1.5 s on average for a
bounded time (session down by NOTIFICATION or by TCP reset, with and without graceful
restart, and announce/withdraw churn). At the end every client's table, the reflector's Loc-RIB and
every Adj-RIB-In are exact, and the reflector's RSS is within 1.2x of its RSS at first
convergence. `BGPRR_FLAP_SECONDS` sets the storm's length (default 10 s); the full
60 s run is `python -m bench.flapstorm` (docs/reliability.md)."""

from __future__ import annotations

import os
from pathlib import Path

from bench.flapclient import (
    EOR,
    POOL,
    Client,
    Counters,
    Model,
    build_open,
    decode_attrs,
    pool_prefix,
)
from bench.flapstorm import Settings, run, summary
from bench.loadtester import build_attrs, pack_announce, pack_withdraw
from tests.loopback import free_port


def test_open_carries_graceful_restart_only_when_asked() -> None:
    plain = build_open("127.0.1.1", 90, None, False)
    gr = build_open("127.0.1.1", 90, 30, False)
    restarting = build_open("127.0.1.1", 90, 30, True)
    assert b"\x40\x06" not in plain
    # RFC 4724 §3: restart flags + time, then AFI 1 SAFI 1 with the F bit
    assert b"\x40\x06\x00\x1e\x00\x01\x01\x80" in gr
    assert b"\x40\x06\x80\x1e\x00\x01\x01\x80" in restarting


def test_client_table_follows_updates_and_model_compares_attributes() -> None:
    counters = Counters()
    a, b = (Client(i, counters, gr=False, hold_time=90) for i in range(2))
    model = Model([a, b], "127.201.0.1")
    a.routes = {pool_prefix(0, 3): 1, pool_prefix(0, 4): 1}
    b.established = a.established = True
    b.eor = a.eor = True

    def reflected(med: int, originator: str, cluster: str) -> bytes:
        base = build_attrs(next_hop=a.next_hop, local_pref=100, med=med)
        orig = b"\x80\x09\x04" + bytes(int(x) for x in originator.split("."))
        clus = b"\x80\x0a\x04" + bytes(int(x) for x in cluster.split("."))
        return base + orig + clus

    b.data_received(b"".join(pack_announce(reflected(1, "127.0.1.1", "127.201.0.1"),
                                           [pool_prefix(0, 3), pool_prefix(0, 4)])))  # fmt: skip
    assert model.sizes_match() and model.check() == []
    b.data_received(b"".join(pack_announce(reflected(1, "127.0.1.1", "127.201.0.9"),
                                           [pool_prefix(0, 4)])))  # fmt: skip
    (bad,) = model.check()
    assert (bad.client, bad.missing, bad.extra, bad.wrong) == (1, 0, 0, 1)
    b.data_received(b"".join(pack_withdraw([pool_prefix(0, 4)])))
    (bad,) = model.check()
    assert (bad.missing, bad.wrong) == (1, 0)
    b.eor = False
    b.data_received(EOR)
    assert b.eor
    assert decode_attrs(reflected(7, "127.0.1.1", "127.201.0.1")) == (
        0, (), a.next_hop, 7, 100, "127.0.1.1", ("127.201.0.1",),
    )  # fmt: skip
    assert len({pool_prefix(5, s) for s in range(POOL)} | {pool_prefix(6, 0)}) == POOL + 1


async def test_flap_storm_tables_exact_and_rss_bounded(tmp_path: Path) -> None:
    s = Settings(
        reflector="bgprr",
        clients=200,
        flappers=50,
        duration=float(os.environ.get("BGPRR_FLAP_SECONDS", "10")),
        interval=1.5,
        settle=90.0,
        sample=1.0,
        addr="127.201.0.1",
        port=free_port("127.201.0.1"),
        workdir=str(tmp_path),
    )
    res = await run(s)
    text = summary(res) + "\n" + res.log_tail
    assert res.reflector_alive, text
    assert res.first_convergence_s >= 0, text
    c = res.counters
    assert c["hard_flaps"] > 0 and c["gr_flaps"] > 0 and c["plain_drops"] > 0, text
    assert c["churn"] > 0 and c["unexpected_downs"] == 0, text
    assert res.final_convergence_s >= 0 and not res.client_mismatches, text
    assert not res.loc_rib_errors and not res.adj_in_errors, text
    assert res.routes_end > 0 and res.ok, text
    assert res.rss_end <= 1.2 * res.rss_first, text
    assert res.fds_end <= res.fds_first, text
