"""Connection floods against an in-process reflector on loopback: configured sessions
stay up and keep reflecting, refusals are rate-limited, capped per dynamic range and
logged in summary lines, and what the flood created goes away again.

The whole harness is ``bench/flood.py``; its 3,000-connection run and the figures are in
docs/reliability.md ("Connection floods").
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench import flood
from bgprr.config import load_config, load_config_text
from bgprr.io import pending, settings
from bgprr.io.daemon import Daemon
from bgprr.io.guard import RefusalLog, TokenBucket
from bgprr.io.state import STATE_FILE
from bgprr.session import State
from bgprr.wire.attributes import encode_attribute
from bgprr.wire.constants import IPV4_UNICAST
from bgprr.wire.messages import Notification, Open, decode_message
from bgprr.wire.prefix import parse_prefix
from tests import loopback
from tests.loopback import wait_for

CI_CONNECTIONS = int(os.environ.get("BGPRR_FLOOD_CONNECTIONS", "1000"))


def test_token_bucket() -> None:
    b = TokenBucket(rate=10.0, burst=3, now=0.0)
    assert [b.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not b.take(0.05)  # half a token
    assert b.take(0.1)
    assert not b.take(0.1)
    assert [b.take(100.0) for _ in range(4)] == [True, True, True, False]  # burst caps it
    free = TokenBucket(rate=0.0, burst=0, now=0.0)
    assert all(free.take(0.0) for _ in range(1000))


async def test_refusal_log_is_one_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bgprr")
    rl = RefusalLog(asyncio.get_running_loop(), interval=0.2)
    for i in range(500):
        rl.note(
            "no neighbor or dynamic range" if i % 2 else "over connection-rate",
            f"127.9.0.{i % 250}",
        )
    await asyncio.sleep(0.3)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "refusing connection from 127.9.0.0: over connection-rate"
    assert lines[1] == (
        "refused 499 more connections in 0.2 s: 250 no neighbor or dynamic range, "
        "249 over connection-rate (last from 127.9.0.249)"
    )
    await asyncio.sleep(0.3)  # a quiet interval: no line, and the next is logged at once
    rl.note("over connection-rate", "127.9.0.7")
    assert len(caplog.records) == 3
    assert rl.total == {"no neighbor or dynamic range": 250, "over connection-rate": 251}
    rl.close()


@pytest.fixture
async def reflector(tmp_path: Path) -> AsyncIterator[tuple[Daemon, int]]:
    """bench/flood.py's reflector (3 configured clients, dynamic range 127.64.0.0/16),
    in this process, with short timers: silent connections dropped after 2 s, dynamic
    neighbors removed 1 s after they went down."""
    port = loopback.free_port(flood.RR_ADDR)
    path, _dynamic = flood.rr_config("bgprr", port, tmp_path)
    d = Daemon(load_config(str(path)))
    d.dynamic_linger = 1.0
    d.reap_interval = 0.25
    await d.start()
    yield d, port
    await d.stop(graceful=False)


async def test_flood_keeps_sessions_and_returns_to_baseline(
    reflector: tuple[Daemon, int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(settings, "SILENT_OPEN_TIME", 2.0)
    caplog.set_level(logging.INFO, logger="bgprr")
    d, port = reflector
    seconds = 3.0
    result = await flood.run_flood(
        flood.RR_ADDR, port, os.getpid(), connections=CI_CONNECTIONS, seconds=seconds,
        dynamic=True, baseline_s=2.0, settle_s=20.0, hold_s=seconds + 8.0,
    )  # fmt: skip
    # Configured sessions never dropped, and every announcement was reflected.
    assert result.drops == 0 and result.notifications == []
    assert result.latency["missing"]["n"] == 0
    assert result.latency["during"]["n"] >= 20
    assert float(result.latency["during"]["p99_ms"]) < 2000
    for c in flood.CLIENTS:
        assert d.peers[c].session.state is State.ESTABLISHED
    # Descriptors back to the baseline once the silent connections were dropped.
    assert result.fds["back_after_s"] is not None, result.fds
    groups = result.flooder["groups"]
    assert result.flooder["connections"] == CI_CONNECTIONS and result.flooder["failed"] == 0
    for kind in ("silent", "garbage", "wrong-as"):
        unknown = groups[f"unknown {kind}"]
        assert unknown["got"] == {"NOTIFICATION 6/5": unknown["n"]}
    expected = {
        "silent": "OPEN + NOTIFICATION 4/0",
        "garbage": "OPEN + NOTIFICATION 1/1",
        "wrong-as": "OPEN + NOTIFICATION 2/2",
    }
    for kind, got in expected.items():
        g = groups[f"dynamic {kind}"]
        assert g["got"] == {got: g["n"]} and g["open_at_end"] == 0
    assert 1.9 <= groups["dynamic silent"]["closed_after_s"]["p50"] < 4.0
    # No connection of the flood became a dynamic neighbor (bgprr.io.pending: the silent,
    # garbage and wrong-AS ones were answered without one), and none is left waiting.
    assert not any(r.neighbor.dynamic for r in d.peers.values())
    assert d.dynamic_count(flood.DYNAMIC_RANGE) == 0 and len(d.pending) == 0
    assert d.reaped == 0
    assert d.pending.held == CI_CONNECTIONS // 2
    assert set(d.peers) == set(flood.CLIENTS)
    # Refusals: one line, then at most one summary per 10 s.
    refusals = [r for r in caplog.records if "refus" in r.getMessage()]
    assert 1 <= len(refusals) <= 4
    assert d.refusals.total == {
        "no neighbor or dynamic range": CI_CONNECTIONS // 2,
        pending.HEADER_ERROR: groups["dynamic garbage"]["n"],
        "OPEN error 2/2": groups["dynamic wrong-as"]["n"],
        pending.SILENT: groups["dynamic silent"]["n"],
    }


def _config(port: int, global_extra: str = "", range_extra: str = "", group_extra: str = "") -> str:
    return (
        loopback.global_config("127.0.0.1", port, "127.0.0.1")
        + global_extra
        + loopback.rr_neighbor("127.0.0.2")
        + loopback.peer_group(
            "nodes", "[peer-groups.transport.config]\npassive-mode = true\n" + group_extra
        )
        + f"""
[[dynamic-neighbors]]
[dynamic-neighbors.config]
prefix = "127.66.0.0/16"
peer-group = "nodes"
{range_extra}
"""
    )


async def _first_message(src: str, port: int) -> object:
    """Connect from ``src``, send nothing, return the reflector's first message."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0))
    try:
        data = await asyncio.wait_for(reader.read(4096), 5)
    finally:
        writer.close()
    return decode_message(data[: (data[16] << 8) | data[17]])


REJECTED = Notification(code=6, subcode=5)


async def test_max_sessions_caps_a_range() -> None:
    port = loopback.free_port("127.0.0.1")
    d = Daemon(load_config_text(_config(port, range_extra="max-sessions = 3"), "toml", "t.toml"))
    await d.start()
    try:
        writers = []
        for i in range(3):  # three connections kept open: one OPEN sent, two silent
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(f"127.66.0.{i + 1}", 0)
            )
            data = await reader.read(4096)
            assert isinstance(decode_message(data[: (data[16] << 8) | data[17]]), Open)
            if i == 0:
                writer.write(flood.build_open(64511, "127.66.0.1", 90))  # tests.loopback's AS
            writers.append(writer)
        # The one that sent its OPEN is a dynamic neighbor; the silent ones wait
        # (bgprr.io.pending); both count against max-sessions.
        await wait_for(lambda: d.dynamic_count("127.66.0.0/16") == 1)
        assert d.pending.count("127.66.0.0/16") == 2
        assert await _first_message("127.66.0.9", port) == REJECTED
        assert "127.66.0.9" not in d.peers
        assert d.refusals.total == {"127.66.0.0/16 at max-sessions 3": 1}
        if importlib.util.find_spec("prometheus_client") is not None:
            from bgprr.api.metrics import Collector

            samples = {
                (m.name, tuple(sorted(x.labels.items()))): x.value
                for m in Collector(d).collect()
                for x in m.samples
            }
            reason = (("reason", "127.66.0.0/16 at max-sessions 3"),)
            assert samples[("bgprr_connections_refused", reason)] == 1
            assert samples[("bgprr_dynamic_connections_held", ())] == 2
        for w in writers:
            w.close()
        d.dynamic_linger = 0.0
        d.reap_interval = 0.1
        d._reap()
        await wait_for(lambda: d.dynamic_count("127.66.0.0/16") == 0, timeout=10)
        await wait_for(lambda: len(d.pending) == 0, timeout=10)  # closed: nothing left
        assert d.reaped == 1 and d.pending.count("127.66.0.0/16") == 0
        assert isinstance(await _first_message("127.66.0.9", port), Open)
    finally:
        await d.stop(graceful=False)


async def test_connection_rate_never_limits_configured_neighbors() -> None:
    port = loopback.free_port("127.0.0.1")
    rate = "connection-rate = 0.01\nconnection-burst = 2\n"
    d = Daemon(load_config_text(_config(port, global_extra=rate), "toml", "t.toml"))
    await d.start()
    client = Daemon(
        load_config_text(loopback.client_config("127.0.0.2", "127.0.0.1", port), "toml", "c.toml")
    )
    try:
        got = [await _first_message(f"127.77.0.{i}", port) for i in range(1, 5)]
        assert got == [REJECTED] * 4
        assert d.refusals.total == {"no neighbor or dynamic range": 2, "over connection-rate": 2}
        # The bucket is empty: a dynamic address is refused, the configured one is not.
        assert await _first_message("127.66.0.1", port) == REJECTED
        await client.start()
        await wait_for(lambda: d.peers["127.0.0.2"].session.state is State.ESTABLISHED)
        assert "127.66.0.1" not in d.peers
    finally:
        await client.stop(graceful=False)
        await d.stop(graceful=False)


async def test_removal_spares_neighbors_a_restart_waits_for(tmp_path: Path) -> None:
    """Under ``-r``, a dynamic neighbor listed in the state file stays until it has sent
    End-of-RIB (or the deferral ends), even while it is down; another one goes."""
    port = loopback.free_port("127.0.0.1")
    gr = "[peer-groups.graceful-restart.config]\nenabled = true\n"
    text = _config(port, group_extra=gr)
    (tmp_path / STATE_FILE).write_text("127.66.0.5\n")
    d = Daemon(
        load_config_text(text, "toml", "t.toml"), graceful_restart=True, state_dir=str(tmp_path)
    )
    d.dynamic_linger = 0.2
    d.reap_interval = 0.1
    await d.start()
    try:
        assert d.engine.deferring
        for src in ("127.66.0.5", "127.66.0.6"):  # OPEN, then closed in OpenConfirm: down
            _reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0))
            writer.write(flood.build_open(64511, src, 90))
            await wait_for(lambda a=src: a in d.peers, timeout=5)
            writer.close()
        await wait_for(lambda: "127.66.0.6" not in d.peers, timeout=5)
        await asyncio.sleep(0.5)
        assert "127.66.0.5" in d.peers
        assert d.engine.holds_routes("127.66.0.5")
    finally:
        await d.stop(graceful=False)


CLIENT_GR = """
[neighbors.graceful-restart.config]
enabled = true
restart-time = 2
[[neighbors.afi-safis]]
[neighbors.afi-safis.config]
afi-safi-name = "ipv4-unicast"
[neighbors.afi-safis.mp-graceful-restart.config]
enabled = true
"""


async def test_removal_waits_until_stale_routes_are_swept() -> None:
    """A dynamic neighbor that went down gracefully keeps its routes as stale for its
    restart time: it is not removed before they are gone."""
    port = loopback.free_port("127.0.0.1")
    gr = "[peer-groups.graceful-restart.config]\nenabled = true\n"
    rr = Daemon(load_config_text(_config(port, group_extra=gr), "toml", "rr.toml"))
    rr.dynamic_linger = 0.2
    rr.reap_interval = 0.1
    me = "127.66.0.7"
    text = loopback.client_config(me, "127.0.0.1", port, families=CLIENT_GR)
    client = Daemon(load_config_text(text, "toml", "c.toml"))
    await rr.start()
    await client.start()
    try:
        await wait_for(lambda: me in rr.peers and rr.peers[me].established is not None)
        now = asyncio.get_running_loop().time()
        attrs = (
            encode_attribute(0x40, 1, b"\x00")
            + encode_attribute(0x40, 2, b"")
            + encode_attribute(0x40, 3, bytes([192, 0, 2, 7]))
            + encode_attribute(0x40, 5, (100).to_bytes(4, "big"))
        )
        client.engine.originate(IPV4_UNICAST, parse_prefix("10.7.0.0/26")[1], attrs, b"", now)
        client.schedule_flush()
        await wait_for(lambda: rr.engine.peer(me).rib_in.total() == 1)
        t_down = asyncio.get_running_loop().time()
        await client.stop()  # graceful: no NOTIFICATION, the reflector keeps the route
        await wait_for(lambda: rr.peers[me].established is None)
        await asyncio.sleep(1.0)  # 5 lingers, well within the 2 s restart time
        assert me in rr.peers and rr.engine.holds_routes(me)
        await wait_for(lambda: me not in rr.peers, timeout=10)
        assert asyncio.get_running_loop().time() - t_down >= 2.0  # the restart time
        assert not list(rr.engine.loc_rib(IPV4_UNICAST))
    finally:
        if not client.stopped.is_set():
            await client.stop(graceful=False)
        await rr.stop(graceful=False)
