"""Daemons in one event loop over loopback: a reflector and bgprr speakers as clients.

Each client is itself a bgprr Daemon (not listening, one active neighbor: the reflector)
that originates routes through its engine, so both ends of every session are real.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import pytest

from bgprr.config import load_config_text
from bgprr.io.connection import BGPConnection
from bgprr.io.daemon import Daemon
from bgprr.rib.path import Path
from bgprr.session import State
from bgprr.wire.attributes import PathAttrs, encode_attribute
from bgprr.wire.constants import IPV4_UNICAST
from bgprr.wire.messages import Notification, decode_message, encode_message
from bgprr.wire.prefix import parse_prefix
from tests import loopback
from tests.loopback import wait_for

RR = "127.0.0.1"


def free_port() -> int:
    return loopback.free_port(RR)


def rr_config(port: int, clients: list[str], extra: str = "") -> str:
    return loopback.rr_config(RR, port, clients, extra, cluster_id=RR)


def client_config(me: str, port: int, password: str | None = None) -> str:
    return loopback.client_config(me, RR, port, password=password or "")


def attrs_v4(next_hop: str) -> bytes:
    return (
        encode_attribute(0x40, 1, b"\x00")
        + encode_attribute(0x40, 2, b"")
        + encode_attribute(0x40, 3, socket.inet_aton(next_hop))
        + encode_attribute(0x40, 5, (100).to_bytes(4, "big"))
    )


def routes(d: Daemon) -> dict[int, Path]:
    return {key: best for key, best, _all in d.engine.loc_rib(IPV4_UNICAST)}


def established(d: Daemon, key: str) -> bool:
    return d.peers[key].session.state is State.ESTABLISHED


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


def key(text: str) -> int:
    return parse_prefix(text)[1]


def with_section(text: str, section: str) -> str:
    """Add `section` to every [[neighbors]] of a generated config."""
    parts = text.split("[[neighbors]]")
    return parts[0] + "".join("[[neighbors]]" + p + section for p in parts[1:])


async def start_b_and_c(
    start: Start, rr_text: str, port: int, section: str = ""
) -> tuple[Daemon, Daemon, Daemon]:
    """The reflector from `rr_text` and clients b (127.0.0.2) and c (127.0.0.3), `section`
    added to theirs; returns (rr, b, c) once the reflector has both sessions."""
    rr = await start(rr_text)
    b = await start(with_section(client_config("127.0.0.2", port), section))
    c = await start(with_section(client_config("127.0.0.3", port), section))
    await wait_for(lambda: established(rr, "127.0.0.2") and established(rr, "127.0.0.3"))
    return rr, b, c


def originate(d: Daemon, prefixes: Iterable[str]) -> None:
    """`d` originates `prefixes` (IPv4, next hop 192.0.2.2) and flushes."""
    now = asyncio.get_running_loop().time()
    for text in prefixes:
        d.engine.originate(IPV4_UNICAST, key(text), attrs_v4("192.0.2.2"), b"", now)
    d.schedule_flush()


async def test_reflects_between_clients(start: Start) -> None:
    port = free_port()
    _rr, b, c = await start_b_and_c(start, rr_config(port, ["127.0.0.2", "127.0.0.3"]), port)

    originate(b, ["10.2.0.0/26"])
    await wait_for(lambda: key("10.2.0.0/26") in routes(c))

    got = PathAttrs(routes(c)[key("10.2.0.0/26")].attrs.raw)
    assert got.next_hop == socket.inet_aton("192.0.2.2")
    assert got.originator_id == int.from_bytes(socket.inet_aton("127.0.0.2"), "big")
    assert got.cluster_list == (int.from_bytes(socket.inet_aton(RR), "big"),)
    assert got.local_pref == 100
    # The originator does not get its own route back.
    assert [p.peer for p in b.engine.loc_rib(IPV4_UNICAST).__next__()[2]] == [None]

    # Withdrawal propagates.
    b.engine.withdraw_local(IPV4_UNICAST, key("10.2.0.0/26"), asyncio.get_running_loop().time())
    b.schedule_flush()
    await wait_for(lambda: key("10.2.0.0/26") not in routes(c))


async def test_client_stop_withdraws_its_routes(start: Start) -> None:
    port = free_port()
    rr, b, c = await start_b_and_c(start, rr_config(port, ["127.0.0.2", "127.0.0.3"]), port)
    originate(b, (f"10.{i}.0.0/26" for i in range(200)))
    await wait_for(lambda: len(routes(c)) == 200)
    await b.stop(graceful=False)
    await wait_for(lambda: len(routes(c)) == 0)
    assert established(rr, "127.0.0.3")


async def test_unknown_peer_is_refused_with_cease_connection_rejected(start: Start) -> None:
    port = free_port()
    await start(rr_config(port, ["127.0.0.2"]))
    reader, writer = await asyncio.open_connection(RR, port, local_addr=("127.0.0.9", 0))
    data = await asyncio.wait_for(reader.read(4096), 5)
    writer.close()
    msg = decode_message(data)
    assert msg == Notification(code=6, subcode=5)


async def test_malformed_update_resets_only_that_peer(start: Start) -> None:
    port = free_port()
    rr = await start(rr_config(port, ["127.0.0.2", "127.0.0.3"]))
    c = await start(client_config("127.0.0.3", port))
    await wait_for(lambda: established(rr, "127.0.0.3"))
    # A raw speaker as 127.0.0.2: OPEN, KEEPALIVE, then an UPDATE whose attribute
    # length runs past the message: UPDATE Message Error / Malformed Attribute List.
    from bgprr.session import SessionConfig, build_open

    reader, writer = await asyncio.open_connection(RR, port, local_addr=("127.0.0.2", 0))
    cfg = SessionConfig(local_as=64511, peer_as=64511, router_id=0x7F000002)
    writer.write(encode_message(build_open(cfg)))
    await reader.read(4096)  # their OPEN (and maybe KEEPALIVE)
    writer.write(bytes.fromhex("ff" * 16 + "0013" + "04"))
    await wait_for(lambda: established(rr, "127.0.0.2"))
    # Total attribute length 9 but only 7 bytes follow: Malformed Attribute List (3/1).
    bad = bytes.fromhex("ff" * 16 + "001e" + "02" + "0000" + "0009" + "40010100400200")
    writer.write(bad)
    received = b""
    while chunk := await asyncio.wait_for(reader.read(4096), 5):
        received += chunk
    notifications = []
    at = 0
    while at + 19 <= len(received):
        length = int.from_bytes(received[at + 16 : at + 18], "big")
        if received[at + 18] == 3:
            notifications.append(decode_message(received[at : at + length]))
        at += length
    assert len(notifications) == 1
    n = notifications[0]
    assert isinstance(n, Notification) and (n.code, n.subcode) == (3, 1)
    writer.close()
    assert established(rr, "127.0.0.3") and established(c, RR)


async def test_next_hop_our_own_address_is_ignored(start: Start) -> None:
    # RFC 4271 §6.3: a route whose NEXT_HOP is the reflector's own address on the session
    # is ignored (treat-as-withdraw), the session stays up, other routes are accepted.
    port = free_port()
    rr = await start(rr_config(port, ["127.0.0.2"]))
    from bgprr.session import SessionConfig, build_open
    from bgprr.wire.update import encode_update

    reader, writer = await asyncio.open_connection(RR, port, local_addr=("127.0.0.2", 0))
    cfg = SessionConfig(local_as=64511, peer_as=64511, router_id=0x7F000002)
    writer.write(encode_message(build_open(cfg)))
    await reader.read(4096)
    writer.write(bytes.fromhex("ff" * 16 + "0013" + "04"))
    await wait_for(lambda: established(rr, "127.0.0.2"))
    writer.write(encode_update(attrs=attrs_v4(RR), nlri=[key("10.9.0.0/26")]))
    writer.write(encode_update(attrs=attrs_v4("192.0.2.9"), nlri=[key("10.9.1.0/26")]))
    await wait_for(lambda: key("10.9.1.0/26") in routes(rr))
    assert key("10.9.0.0/26") not in routes(rr)
    assert rr.engine.counters("127.0.0.2").treat_as_withdraw == 1
    assert established(rr, "127.0.0.2")
    writer.close()


async def test_tcp_md5_sessions(start: Start) -> None:
    port = free_port()
    extra_pw = 'auth-password = "s3cret"'
    text = (
        rr_config(port, ["127.0.0.2", "127.0.0.3"])
        .replace('neighbor-address = "127.0.0.2"', f'neighbor-address = "127.0.0.2"\n{extra_pw}')
        .replace('neighbor-address = "127.0.0.3"', f'neighbor-address = "127.0.0.3"\n{extra_pw}')
    )
    rr = await start(text)
    await start(client_config("127.0.0.2", port, "s3cret"))
    await start(client_config("127.0.0.3", port, "wrong"))
    await wait_for(lambda: established(rr, "127.0.0.2"))
    await asyncio.sleep(3)
    assert not established(rr, "127.0.0.3")


GR = """
[neighbors.graceful-restart.config]
enabled = true
restart-time = 30
deferral-time = 10
[[neighbors.afi-safis]]
[neighbors.afi-safis.config]
afi-safi-name = "ipv4-unicast"
[neighbors.afi-safis.mp-graceful-restart.config]
enabled = true
"""


async def test_reflector_restart_with_gr_loses_no_route(start: Start, tmp_path: object) -> None:
    port = free_port()
    rr_text = with_section(rr_config(port, ["127.0.0.2", "127.0.0.3"]), GR)
    rr, b, c = await start_b_and_c(start, rr_text, port, GR)
    originate(b, (f"10.{i}.0.0/26" for i in range(50)))
    await wait_for(lambda: len(routes(c)) == 50)

    losses: list[int] = []
    watching = True

    async def watch() -> None:
        while watching:
            if len(routes(c)) != 50:
                losses.append(len(routes(c)))
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    await rr.stop()  # planned restart: GR peers get no NOTIFICATION
    await wait_for(lambda: not established(c, RR))
    await wait_for(lambda: not established(b, RR))
    b.peers[RR].stop()  # b comes back late: c must not be sent a table without b's routes
    d = Daemon(load_config_text(rr_text, "toml", "test.toml"), graceful_restart=True)
    await d.start()
    try:
        await wait_for(lambda: established(c, RR), timeout=20)
        await asyncio.sleep(1.5)
        b.peers[RR].start()
        await wait_for(lambda: established(b, RR), timeout=20)
        # The restarted reflector sends its table, then End-of-RIB; c sweeps nothing.
        await wait_for(lambda: not d.engine.dirty_peers() and len(routes(c)) == 50)
        await asyncio.sleep(0.5)
    finally:
        watching = False
        await watcher
        await d.stop(graceful=False)
    assert losses == []


async def test_ipv6_transport_and_mp_reach(start: Start) -> None:
    """An IPv6 session over ::1 carrying IPv6 unicast (MP_REACH_NLRI with a global next hop)."""
    port = loopback.free_port("::1")
    v6 = """
[[neighbors.afi-safis]]
[neighbors.afi-safis.config]
afi-safi-name = "ipv6-unicast"
"""
    rr = await start(loopback.global_config(RR, port, "::1") + loopback.rr_neighbor("::1") + v6)
    b = await start(
        loopback.client_config(
            "127.0.0.2", "::1", port, families=v6, local_address=False, idle_hold=False
        )
    )
    await wait_for(lambda: established(rr, "::1") and established(b, "::1"))
    from bgprr.wire.constants import IPV6_UNICAST

    neg = rr.peers["::1"].session.negotiated
    assert neg is not None and neg.families == frozenset({IPV6_UNICAST})
    attrs = encode_attribute(0x40, 1, b"\x00") + encode_attribute(0x40, 2, b"")
    nh = socket.inet_pton(socket.AF_INET6, "2001:db8::2")
    pfx = parse_prefix("2001:db8:1::/122")[1]
    b.engine.originate(IPV6_UNICAST, pfx, attrs, nh, asyncio.get_running_loop().time())
    b.schedule_flush()
    await wait_for(lambda: any(k == pfx for k, _b, _a in rr.engine.loc_rib(IPV6_UNICAST)))
    best = next(p for k, p, _a in rr.engine.loc_rib(IPV6_UNICAST) if k == pfx)
    assert best.attrs.next_hop == nh


async def stuck_client(rr: Daemon, port: int) -> tuple[asyncio.StreamWriter, BGPConnection]:
    """A raw session from 127.0.0.4 that never reads after its OPEN (small receive buffer),
    and the reflector's end of it (small send buffer: loopback autotuning would otherwise
    absorb megabytes); returns once 127.0.0.2-4 are Established with ``rr``."""
    from bgprr.session import SessionConfig, build_open

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind(("127.0.0.4", 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (RR, port))
    _reader, writer = await asyncio.open_connection(sock=sock)
    cfg = SessionConfig(local_as=64511, peer_as=64511, router_id=0x7F000004, hold_time=0)
    writer.write(encode_message(build_open(cfg)) + bytes.fromhex("ff" * 16 + "0013" + "04"))
    await wait_for(lambda: all(established(rr, k) for k in ("127.0.0.2", "127.0.0.3", "127.0.0.4")))
    conn = rr.peers["127.0.0.4"].established
    assert conn is not None and conn.transport is not None
    conn.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    return writer, conn


def originate_many(d: Daemon, n: int) -> None:
    """``d`` originates n /26 prefixes from 10.0.0.0 (next hop 192.0.2.2) and flushes."""
    now = asyncio.get_running_loop().time()
    for i in range(n):
        a = (10 << 24) | (i << 6)
        d.engine.originate(IPV4_UNICAST, (a << 8) | 26, attrs_v4("192.0.2.2"), b"", now)
    d.schedule_flush()


async def test_slow_peer_does_not_slow_others_or_grow_memory(start: Start) -> None:
    """A client that stops reading: the others converge, its write buffer stays bounded."""
    port = free_port()
    rr = await start(rr_config(port, ["127.0.0.2", "127.0.0.3", "127.0.0.4"]))
    b = await start(client_config("127.0.0.2", port))
    c = await start(client_config("127.0.0.3", port))
    writer, _conn = await stuck_client(rr, port)  # the slow peer, 127.0.0.4
    n = 100_000  # ~600 KB of UPDATEs: more than the 256 KB write high-water mark
    originate_many(b, n)
    peak = 0

    def converged() -> bool:
        nonlocal peak
        slow = rr.peers["127.0.0.4"].established
        if slow is not None:
            peak = max(peak, slow.buffered())
        return len(routes(c)) == n

    await wait_for(converged, timeout=60)
    from bgprr.io.connection import WRITE_HIGH

    slow = rr.peers["127.0.0.4"].established
    assert slow is not None
    stuck = slow
    # It really is stuck: the next (paced) flush fills its buffer past the high-water mark.
    await wait_for(lambda: not stuck.writable, timeout=5)
    peak = max(peak, stuck.buffered())
    # Bounded: what the engine may pull at once on top of the high-water mark.
    assert peak <= 2 * WRITE_HIGH
    writer.close()


async def test_send_hold_timer_drops_a_peer_that_reads_nothing(start: Start) -> None:
    """RFC 9687: a client that keeps its session up but never reads is dropped once its
    connection has taken no data for send-hold-time (2 s here); the socket is aborted
    (nothing left behind), the other clients are untouched."""
    port = free_port()
    text = rr_config(port, ["127.0.0.2", "127.0.0.3", "127.0.0.4"])
    anchor = 'neighbor-address = "127.0.0.4"\npeer-as = 64511\n'
    assert anchor in text
    text = text.replace(anchor, anchor + "[neighbors.timers.config]\nsend-hold-time = 2\n")
    rr = await start(text)
    b = await start(client_config("127.0.0.2", port))
    c = await start(client_config("127.0.0.3", port))
    writer, stuck = await stuck_client(rr, port)
    n = 100_000
    originate_many(b, n)
    from bgprr.session import Timer

    session = rr.peers["127.0.0.4"].session
    await wait_for(lambda: session.deadline(Timer.SEND_HOLD) is not None, timeout=10)
    deadline = session.deadline(Timer.SEND_HOLD)
    assert deadline is not None and not stuck.writable  # started when the writes blocked
    await wait_for(lambda: not established(rr, "127.0.0.4"), timeout=10)
    dropped = asyncio.get_running_loop().time()
    assert deadline - 0.01 <= dropped <= deadline + 3.0, (deadline, dropped)
    await wait_for(lambda: stuck.lost, timeout=5)  # aborted: the socket is gone at once
    assert rr.notifications.get(("sent", 8, 0)) == 1
    await wait_for(lambda: len(routes(c)) == n, timeout=60)
    assert established(rr, "127.0.0.2") and established(rr, "127.0.0.3")
    writer.close()


async def test_ttl_security_gtsm(start: Start) -> None:
    """RFC 5082: with ttl-security the reflector sends TTL 255 and drops packets below
    ttl-min; a peer that sends TTL 64 never gets its OPEN through, one with GTSM does."""
    import socket as so

    gtsm = "[neighbors.ttl-security.config]\nenabled = true\nttl-min = 255\n"
    port = free_port()
    rr = await start(with_section(rr_config(port, ["127.0.0.2", "127.0.0.3"]), gtsm))
    await start(with_section(client_config("127.0.0.2", port), gtsm))
    await start(client_config("127.0.0.3", port))
    await wait_for(lambda: established(rr, "127.0.0.2"))
    conn = rr.peers["127.0.0.2"].established
    assert conn is not None and conn.transport is not None
    sock = conn.transport.get_extra_info("socket")
    assert sock.getsockopt(so.IPPROTO_IP, so.IP_TTL) == 255
    assert sock.getsockopt(so.IPPROTO_IP, 21) == 255  # IP_MINTTL
    await asyncio.sleep(2)
    assert not established(rr, "127.0.0.3")


async def test_non_client_gets_the_clients_cluster_id(start: Start) -> None:
    """GoBGP sets route-reflector-cluster-id on the clients only; a route reflected from a
    client to a non-client carries that cluster id, not the router id."""
    port = free_port()
    text = loopback.rr_config(RR, port, ["127.0.0.2"], cluster_id="244.0.0.1")
    text += loopback.rr_neighbor("127.0.0.3", client=False)
    _rr, b, c = await start_b_and_c(start, text, port)
    originate(b, ["10.2.0.0/26"])
    await wait_for(lambda: key("10.2.0.0/26") in routes(c))
    got = PathAttrs(routes(c)[key("10.2.0.0/26")].attrs.raw)
    assert got.cluster_list == (int.from_bytes(socket.inet_aton("244.0.0.1"), "big"),)
    assert got.originator_id == int.from_bytes(socket.inet_aton("127.0.0.2"), "big")


async def test_tcp_md5_for_dynamic_neighbor_range(start: Start) -> None:
    """A peer group's auth-password covers its dynamic-neighbor range (prefix MD5 key)."""
    port = free_port()
    rr = await start(
        loopback.global_config(RR, port, RR)
        + loopback.peer_group("nodes", 'auth-password = "s3cret"\n')
        + loopback.dynamic_neighbors("127.0.0.0/29", "nodes")
    )
    await start(client_config("127.0.0.2", port, "s3cret"))
    await start(client_config("127.0.0.3", port, "wrong"))
    await wait_for(lambda: "127.0.0.2" in rr.peers and established(rr, "127.0.0.2"))
    await asyncio.sleep(2)
    assert "127.0.0.3" not in rr.peers  # its SYNs never got through


async def test_flush_passes_are_time_sliced(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flush pass stops once FLUSH_SLICE is spent (here: at once, after one peer); the
    peers it did not reach go first in the next pass, and every client gets everything."""
    import bgprr.io.daemon as daemon_mod

    port = free_port()
    clients = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
    rr = await start(rr_config(port, clients))
    ds = [await start(client_config(c, port)) for c in clients]
    await wait_for(lambda: all(established(rr, c) for c in clients))
    monkeypatch.setattr(daemon_mod, "FLUSH_SLICE", -1.0)
    passes: list[list[str]] = []
    real_pull, real_pass = rr.engine.pull, rr._flush_peers

    def pull(k: str, budget: int) -> list[bytes]:
        passes[-1].append(k)
        return real_pull(k, budget)

    def one_pass() -> bool:
        passes.append([])
        return real_pass()

    monkeypatch.setattr(rr.engine, "pull", pull)
    monkeypatch.setattr(rr, "_flush_peers", one_pass)
    prefixes = [f"10.9.{i}.0/26" for i in range(40)]
    originate(ds[0], prefixes)
    await wait_for(lambda: all(key(p) in routes(d) for d in ds[1:] for p in prefixes))
    served = [p for p in passes if p]
    assert served and all(len(p) == 1 for p in served)  # one peer per pass
    # round robin: no peer is served twice before every peer with work had its turn
    seq = [p[0] for p in served]
    assert set(clients[1:]) <= set(seq)
    assert len(set(seq[: len(set(seq))])) == len(set(seq))
