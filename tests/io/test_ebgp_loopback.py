"""eBGP and route server between bgprr daemons over loopback: the local address of the
session reaches the engine (next hop self towards eBGP, RFC 4271 §5.1.3), and a
route-server client's route reaches another client unchanged (RFC 7947 §2.2)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bgprr.config import load_config_text
from bgprr.io.daemon import Daemon
from bgprr.rib.path import Path
from bgprr.session import State
from bgprr.wire.attributes import PathAttrs, encode_as_path, encode_attribute
from bgprr.wire.constants import IPV4_UNICAST
from bgprr.wire.prefix import parse_prefix
from tests.loopback import free_port, wait_for

A, X, Y = "127.0.7.1", "127.0.7.2", "127.0.7.3"
PREFIX = parse_prefix("10.7.0.0/24")[1]

Start = Callable[[str], Awaitable[Daemon]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    daemons: list[Daemon] = []

    async def _start(text: str) -> Daemon:
        d = Daemon(load_config_text(text, "toml", "test.toml"))
        await d.start()
        daemons.append(d)
        return d

    yield _start
    for d in daemons:
        if not d.stopped.is_set():
            await d.stop(graceful=False)


def middle(port: int, *, rs: bool) -> str:
    """A (AS 65000) listening on A:port; X (AS 65001) and Y (AS 65002) passive."""
    text = f'[global.config]\nas = 65000\nrouter-id = "{A}"\nport = {port}\n'
    text += f'local-address-list = ["{A}"]\n'
    for addr, asn in ((X, 65001), (Y, 65002)):
        text += f"""
[[neighbors]]
[neighbors.config]
neighbor-address = "{addr}"
peer-as = {asn}
[neighbors.transport.config]
passive-mode = true
"""
        if rs:
            text += "[neighbors.route-server.config]\nroute-server-client = true\n"
    return text


def edge(me: str, asn: int, port: int) -> str:
    """A speaker in AS `asn` connecting from `me` to A:port (bgprr does not require the
    first AS of a path to be the neighbor's, so it takes a route server's routes)."""
    return f"""
[global.config]
as = {asn}
router-id = "{me}"
port = -1
[[neighbors]]
[neighbors.config]
neighbor-address = "{A}"
peer-as = 65000
[neighbors.timers.config]
connect-retry = 1
idle-hold-time-after-reset = 1
[neighbors.transport.config]
local-address = "{me}"
remote-port = {port}
"""


def routes(d: Daemon) -> dict[int, Path]:
    return {k: best for k, best, _all in d.engine.loc_rib(IPV4_UNICAST)}


def up(d: Daemon, key: str) -> bool:
    return d.peers[key].session.state is State.ESTABLISHED


@pytest.mark.parametrize("rs", [False, True], ids=["ebgp", "route-server"])
async def test_x_to_y_through_a(start: Start, rs: bool) -> None:
    port = free_port(A)
    a = await start(middle(port, rs=rs))
    x = await start(edge(X, 65001, port))
    y = await start(edge(Y, 65002, port))
    await wait_for(lambda: up(a, X) and up(a, Y))
    # X originates with its own next hop and a MED (both kept towards A, RFC 4271 §5.1.3)
    raw = (
        encode_attribute(0x40, 1, b"\x00")
        + encode_attribute(0x40, 2, encode_as_path([]))
        + encode_attribute(0x40, 3, socket.inet_aton("192.0.2.7"))
        + encode_attribute(0x80, 4, (5).to_bytes(4, "big"))
    )
    x.engine.originate(IPV4_UNICAST, PREFIX, raw, b"", asyncio.get_running_loop().time())
    x.schedule_flush()
    await wait_for(lambda: PREFIX in routes(y))
    got = PathAttrs(routes(y)[PREFIX].attrs.raw)
    if rs:
        # transparent: X's AS only, X's next hop, X's MED
        assert got.as_path == ((2, (65001,)),)
        assert got.next_hop == socket.inet_aton("192.0.2.7")
        assert got.med == 5
        assert [k for k, _b, _p in a.engine.loc_rib(IPV4_UNICAST, route_server=True)] == [PREFIX]
    else:
        at_a = PathAttrs(routes(a)[PREFIX].attrs.raw)
        assert at_a.as_path == ((2, (65001,)),) and at_a.med == 5
        # A prepends its AS, puts its own address on the Y session, drops X's MED
        assert got.as_path == ((2, (65000, 65001)),)
        assert got.next_hop == socket.inet_aton(A)
        assert got.med is None
    assert got.local_pref is None  # Y holds it as received over eBGP
    # X does not get its own route back; withdrawal reaches Y
    assert [p.peer for p in routes(x).values()] == [None]
    x.engine.withdraw_local(IPV4_UNICAST, PREFIX, asyncio.get_running_loop().time())
    x.schedule_flush()
    await wait_for(lambda: PREFIX not in routes(y))
