"""Connections from a dynamic range before the peer's first message (bgprr.io.pending):
held as a few small objects, answered exactly as a dynamic neighbor's session would
answer them (our OPEN at once; a header error's NOTIFICATION; 4/0 after silence), and a
dynamic neighbor only once a valid message header has arrived."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bench import flood
from bgprr.config import load_config_text
from bgprr.io import pending, settings
from bgprr.io.daemon import Daemon
from bgprr.session import State
from bgprr.wire.constants import MsgType
from bgprr.wire.messages import Keepalive, Notification, Open, decode_message, encode_message
from tests import loopback
from tests.loopback import wait_for

RANGE = "127.67.0.0/16"
ASN = 64511  # tests.loopback's AS (iBGP)


def _config(port: int, hold: int = 90) -> str:
    group = loopback.peer_group("nodes", f"[peer-groups.timers.config]\nhold-time = {hold}\n")
    return (
        loopback.global_config("127.0.0.1", port, "127.0.0.1")
        + group
        + loopback.dynamic_neighbors(RANGE, "nodes")
    )


@pytest.fixture
async def rr() -> AsyncIterator[tuple[Daemon, int]]:
    port = loopback.free_port("127.0.0.1")
    d = Daemon(load_config_text(_config(port), "toml", "t.toml"))
    await d.start()
    yield d, port
    await d.stop(graceful=False)


async def _connect(port: int, src: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0))


async def _messages(reader: asyncio.StreamReader, n: int, timeout: float = 5.0) -> list[object]:
    """The next ``n`` messages (fewer if the reflector closes first)."""
    buf = b""
    out: list[object] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while len(out) < n:
        while len(buf) >= 19 and len(buf) >= (length := (buf[16] << 8) | buf[17]):
            out.append(decode_message(buf[:length]))
            buf = buf[length:]
            if len(out) == n:
                return out
        chunk = await asyncio.wait_for(reader.read(65536), max(0.01, end - loop.time()))
        if not chunk:
            break
        buf += chunk
    return out


async def test_a_neighbor_only_once_its_open_came(rr: tuple[Daemon, int]) -> None:
    d, port = rr
    reader, writer = await _connect(port, "127.67.0.1")
    try:
        first = await _messages(reader, 1)
        assert isinstance(first[0], Open) and first[0].my_as == ASN
        # Held, not a neighbor yet: nothing but the connection costs.
        assert "127.67.0.1" not in d.peers
        assert d.pending.count(RANGE) == 1 and d.dynamic_count(RANGE) == 0
        # The OPEN in three pieces, the header split, then the body: the neighbor comes
        # with the whole OPEN (checked as its session would check it).
        data = flood.build_open(ASN, "127.67.0.1", 90) + encode_message(Keepalive())
        for piece in (data[:7], data[7:25]):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)
            assert "127.67.0.1" not in d.peers and d.pending.count(RANGE) == 1
        writer.write(data[25:])
        await wait_for(lambda: "127.67.0.1" in d.peers)
        runner = d.peers["127.67.0.1"]
        await wait_for(lambda: runner.session.state is State.ESTABLISHED)
        # One OPEN on the wire, counted once by the session; then its KEEPALIVE.
        after = await _messages(reader, 1)
        assert isinstance(after[0], Keepalive)
        assert runner.session.sent[MsgType.OPEN] == 1
        assert d.pending.count(RANGE) == 0 and d.dynamic_count(RANGE) == 1
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\x00" * 40, Notification(code=1, subcode=1)),
        (b"\xff" * 16 + b"\x00\x12\x01", Notification(code=1, subcode=2, data=b"\x00\x12")),
        (b"\xff" * 16 + b"\x00\x13\x09", Notification(code=1, subcode=3, data=b"\x09")),
        (b"\xff" * 16 + b"\x00\x14\x04", Notification(code=1, subcode=2, data=b"\x00\x14")),
    ],
    ids=["marker", "length", "type", "keepalive-length"],
)
async def test_a_header_error_is_answered_without_a_neighbor(
    rr: tuple[Daemon, int], raw: bytes, expected: Notification
) -> None:
    d, port = rr
    reader, writer = await _connect(port, "127.67.0.2")
    try:
        writer.write(raw)
        got = await _messages(reader, 3)
        assert isinstance(got[0], Open) and got[1:] == [expected]
        assert await reader.read(100) == b""  # closed
        assert "127.67.0.2" not in d.peers and len(d.pending) == 0
        assert d.refusals.total == {pending.HEADER_ERROR: 1}
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("asn", "hold", "expected"),
    [
        (64999, 90, Notification(code=2, subcode=2, data=(64999).to_bytes(4, "big"))),
        (ASN, 1, Notification(code=2, subcode=6)),
    ],
    ids=["wrong-as", "hold-time-1"],
)
async def test_an_open_the_session_would_refuse_makes_no_neighbor(
    rr: tuple[Daemon, int], asn: int, hold: int, expected: Notification
) -> None:
    """The range's session settings check the OPEN (``negotiate``, as the session would):
    refused here, with the session's NOTIFICATION, and no neighbor is created."""
    d, port = rr
    reader, writer = await _connect(port, "127.67.0.9")
    try:
        writer.write(flood.build_open(asn, "127.67.0.9", hold))
        got = await _messages(reader, 3)
        assert isinstance(got[0], Open) and got[1:] == [expected]
        assert "127.67.0.9" not in d.peers and len(d.pending) == 0
        assert d.refusals.total == {f"OPEN error {expected.code}/{expected.subcode}": 1}
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        (encode_message(Keepalive()), [Notification(code=5, subcode=1)]),
        (encode_message(Notification(code=6, subcode=2)), []),
    ],
    ids=["keepalive", "notification"],
)
async def test_another_first_message_is_answered_as_in_opensent(
    rr: tuple[Daemon, int], first: bytes, expected: list[Notification]
) -> None:
    """A well-formed first message that is not an OPEN: what the session in OpenSent
    answers (RFC 6608 5/1; nothing to a NOTIFICATION), closed, no neighbor."""
    d, port = rr
    reader, writer = await _connect(port, "127.67.0.3")
    try:
        writer.write(first)
        got = await _messages(reader, 3)
        assert isinstance(got[0], Open) and got[1:] == expected
        assert "127.67.0.3" not in d.peers and len(d.pending) == 0
        assert d.refusals.total == {pending.UNEXPECTED: 1}
    finally:
        writer.close()


async def test_silence_is_closed_with_hold_timer_expired(
    rr: tuple[Daemon, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SILENT_OPEN_TIME", 0.3)
    d, port = rr
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    reader, writer = await _connect(port, "127.67.0.4")
    try:
        got = await _messages(reader, 3)
        waited = loop.time() - t0
        assert isinstance(got[0], Open) and got[1:] == [Notification(code=4, subcode=0)]
        assert 0.3 <= waited < 0.3 + pending.SWEEP_INTERVAL + 0.5
        assert "127.67.0.4" not in d.peers and len(d.pending) == 0
        assert d.refusals.total == {pending.SILENT: 1}
    finally:
        writer.close()


async def test_a_gone_connection_leaves_nothing(rr: tuple[Daemon, int]) -> None:
    d, port = rr
    reader, writer = await _connect(port, "127.67.0.5")
    await _messages(reader, 1)
    assert len(d.pending) == 1
    writer.close()
    await wait_for(lambda: len(d.pending) == 0)
    assert d.pending.count(RANGE) == 0 and "127.67.0.5" not in d.peers
    assert d.refusals.total == {}


async def test_a_changed_range_refuses_the_held_connection(rr: tuple[Daemon, int]) -> None:
    """Our OPEN went out under the old settings; the session of the new ones cannot take
    the connection over: Cease / Other Configuration Change (6/6), the peer reconnects."""
    d, port = rr
    reader, writer = await _connect(port, "127.67.0.6")
    try:
        assert isinstance((await _messages(reader, 1))[0], Open)
        d.apply_config(load_config_text(_config(port, hold=30), "toml", "t.toml"))
        writer.write(flood.build_open(ASN, "127.67.0.6", 90))
        got = await _messages(reader, 1)
        assert got == [Notification(code=6, subcode=6)]
        # The next connection gets the new OPEN and its session.
        reader2, writer2 = await _connect(port, "127.67.0.7")
        try:
            first = await _messages(reader2, 1)
            assert isinstance(first[0], Open) and first[0].hold_time == 30
        finally:
            writer2.close()
    finally:
        writer.close()


async def test_stop_aborts_held_connections() -> None:
    port = loopback.free_port("127.0.0.1")
    d = Daemon(load_config_text(_config(port), "toml", "t.toml"))
    await d.start()
    reader, writer = await _connect(port, "127.67.0.8")
    try:
        await _messages(reader, 1)
        assert len(d.pending) == 1
        await d.stop(graceful=False)
        assert len(d.pending) == 0
        assert await asyncio.wait_for(reader.read(100), 5) == b""
    finally:
        writer.close()
