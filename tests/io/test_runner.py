"""SessionRunner alone: a fake host (the RunnerHost Protocol) and a fake transport."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bgprr.config import Neighbor, load_config_text
from bgprr.io.connection import BGPConnection
from bgprr.io.runner import RunnerHost, SessionRunner
from bgprr.io.settings import session_config
from bgprr.reflect.types import PeerCaps
from bgprr.session import (
    RouteRefreshReceived,
    Session,
    SessionConfig,
    SessionDown,
    State,
    StateChanged,
)
from bgprr.wire.constants import MsgType
from bgprr.wire.errors import CeaseSub, ErrorCode
from bgprr.wire.messages import (
    Keepalive,
    Notification,
    RouteRefresh,
    decode_message,
    encode_message,
)
from bgprr.wire.update import Update

CONFIG = """
[global.config]
as = 64512
router-id = "10.0.0.1"
port = 1790
[[neighbors]]
[neighbors.config]
neighbor-address = "127.0.0.2"
peer-as = 64512
[neighbors.transport.config]
passive-mode = true
"""
PEER = SessionConfig(local_as=64512, peer_as=64512, router_id=0x0A000002)
EOR = b"\xff" * 16 + b"\x00\x17\x02" + bytes(4)


class FakeHost:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.inputs = 0

    def on_input(self) -> None:
        self.inputs += 1

    def on_state_change(self, runner: SessionRunner, out: StateChanged) -> None:
        self.calls.append(("state", out.new))

    def on_notification(self, runner: SessionRunner, data: bytes, *, sent: bool) -> None:
        self.calls.append(("notification", (sent, data[19], data[20])))

    def on_established(self, runner: SessionRunner, caps: PeerCaps, now: float) -> None:
        self.calls.append(("established", caps))

    def on_update(self, runner: SessionRunner, update: Update, now: float) -> None:
        self.calls.append(("update", update))

    def on_route_refresh(
        self, runner: SessionRunner, out: RouteRefreshReceived, now: float
    ) -> None:
        self.calls.append(("refresh", out))

    def on_down(self, runner: SessionRunner, out: SessionDown, now: float) -> None:
        self.calls.append(("down", out.graceful))

    def schedule_flush(self, *, paced: bool = True) -> None:
        self.calls.append(("flush", paced))


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def writelines(self, chunks: list[bytes]) -> None:
        self.written.extend(chunks)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.2", 179), "sockname": ("127.0.0.1", 179)}.get(name, default)

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None:
        self.closed = True


def make_runner() -> tuple[SessionRunner, FakeHost, Neighbor]:
    config = load_config_text(CONFIG, "toml", "<test>")
    n = config.neighbors[0]
    host = FakeHost()
    _check: RunnerHost = host  # the fake satisfies the Protocol (mypy)
    settings = session_config(config, n, restarting=False)
    runner = SessionRunner(host, n, settings, asyncio.get_running_loop())
    return runner, host, n


def established(runner: SessionRunner) -> tuple[BGPConnection, FakeTransport]:
    conn = BGPConnection(inbound=True)
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    runner.accept(conn)
    conn.data_received(encode_message(Session(PEER).local_open))
    conn.data_received(encode_message(Keepalive()))
    assert runner.session.state is State.ESTABLISHED
    return conn, transport


async def test_established_through_the_host() -> None:
    runner, host, _ = make_runner()
    runner.start()
    assert runner.session.state is State.ACTIVE  # passive: waits for the peer
    _, transport = established(runner)
    assert host.inputs == 2
    assert [decode_message(m).__class__.__name__ for m in transport.written] == [
        "Open",
        "Keepalive",
    ]
    assert [c[0] for c in host.calls if c[0] != "state"] == ["established"]
    assert runner.msg_out == {"OPEN": 1, "KEEPALIVE": 1}
    assert runner.msg_in == {"OPEN": 1, "KEEPALIVE": 1}


async def test_updates_and_route_refresh_go_through_the_session() -> None:
    runner, _, _ = make_runner()
    runner.start()
    _, transport = established(runner)
    transport.written.clear()
    msgs = [EOR, EOR]
    assert runner.send_updates(msgs)
    assert transport.written == msgs and transport.written[0] is EOR  # the same objects
    assert runner.route_refresh(1, 1)
    assert transport.written[2] == encode_message(RouteRefresh(afi=1, safi=1))
    assert not runner.route_refresh(2, 1)  # IPv6 unicast not negotiated
    assert runner.msg_out == {"OPEN": 1, "KEEPALIVE": 1, "UPDATE": 2, "ROUTE_REFRESH": 1}


async def test_not_established_sends_nothing() -> None:
    runner, _, _ = make_runner()
    runner.start()
    assert not runner.send_updates([EOR])
    assert not runner.route_refresh(1, 1)
    assert runner.msg_out == {}


async def test_disable_and_enable() -> None:
    runner, host, _ = make_runner()
    runner.start()
    _, transport = established(runner)
    runner.disable("maintenance")
    assert runner.admin_down and runner.session.state is State.IDLE
    n = decode_message(transport.written[-1])
    assert isinstance(n, Notification)
    assert (n.code, n.subcode) == (ErrorCode.CEASE, CeaseSub.ADMINISTRATIVE_SHUTDOWN)
    assert ("notification", (True, 6, CeaseSub.ADMINISTRATIVE_SHUTDOWN)) in host.calls
    runner.start()  # stays down while disabled
    assert runner.session.state is State.IDLE
    runner.enable()
    assert not runner.admin_down and runner.session.state is State.ACTIVE


async def test_engine_reset_for_the_prefix_limit_restarts_later() -> None:
    runner, _, _ = make_runner()
    runner.start()
    established(runner)
    limit = Notification(code=ErrorCode.CEASE, subcode=CeaseSub.MAXIMUM_PREFIXES_REACHED)
    runner.engine_reset(limit, 0.05)
    assert runner.pfx_limit_down and runner.session.state is State.IDLE
    await asyncio.sleep(0.15)
    assert not runner.pfx_limit_down and runner.session.state is State.ACTIVE


async def test_engine_reset_without_restart() -> None:
    runner, _, _ = make_runner()
    runner.start()
    established(runner)
    other = Notification(code=ErrorCode.CEASE, subcode=CeaseSub.OUT_OF_RESOURCES)
    runner.engine_reset(other, 0)
    assert not runner.pfx_limit_down and runner.session.state is State.IDLE


async def test_admin_reset_starts_a_neighbor_down_after_its_prefix_limit() -> None:
    runner, _, _ = make_runner()
    runner.start()
    established(runner)
    limit = Notification(code=ErrorCode.CEASE, subcode=CeaseSub.MAXIMUM_PREFIXES_REACHED)
    runner.engine_reset(limit, 0)
    assert runner.pfx_limit_down and runner.session.state is State.IDLE
    runner.admin_reset()
    assert not runner.pfx_limit_down and runner.session.state is State.ACTIVE


async def test_sent_counters_are_by_type() -> None:
    runner, _, _ = make_runner()
    runner.start()
    established(runner)
    runner.send_updates([EOR])
    assert runner.session.sent[MsgType.UPDATE] == 1


async def test_close_aborts_a_connection_that_never_flushes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A closed connection whose peer reads nothing is aborted after CLOSE_LINGER (the
    socket would otherwise stay open forever, waiting to flush)."""
    import socket as socket_mod

    from bgprr.io import connection as conn_mod

    monkeypatch.setattr(conn_mod, "CLOSE_LINGER", 0.3)
    loop = asyncio.get_running_loop()
    accepted: list[conn_mod.BGPConnection] = []

    def factory() -> conn_mod.BGPConnection:
        return conn_mod.BGPConnection(inbound=True, on_accept=accepted.append)

    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = socket_mod.socket()
    client.setsockopt(socket_mod.SOL_SOCKET, socket_mod.SO_RCVBUF, 4096)
    client.setblocking(False)
    await loop.sock_connect(client, ("127.0.0.1", port))
    for _ in range(100):
        if accepted:
            break
        await asyncio.sleep(0.01)
    conn = accepted[0]
    assert conn.transport is not None
    conn.transport.get_extra_info("socket").setsockopt(
        socket_mod.SOL_SOCKET, socket_mod.SO_SNDBUF, 8192
    )
    conn.write(b"x" * 2_000_000)  # far more than the kernel buffers take
    assert conn.buffered() > 0
    conn.close()
    assert not conn.lost
    for _ in range(200):
        if conn.lost:
            break
        await asyncio.sleep(0.01)
    assert conn.lost
    client.close()
    server.close()
