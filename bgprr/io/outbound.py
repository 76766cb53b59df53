"""Opening sockets: outbound connections and listeners, with MD5, TTL and GTSM set."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from .connection import BGPConnection
from .listener import Listener
from .sockopts import set_md5, set_min_ttl, set_nodelay, set_ttl

LISTEN_BACKLOG = 4096  # BIRD's 8 loses SYNs when 1000 nodes reconnect at once


@dataclass(frozen=True, slots=True, kw_only=True)
class SocketSettings:
    """Per-peer transport settings taken from the neighbor's configuration."""

    address: str
    port: int = 179
    local_address: str | None = None
    password: str | None = field(default=None, repr=False)  # a secret: never in a repr
    ttl: int | None = None  # multihop TTL or plain TTL
    min_ttl: int | None = None  # RFC 5082: peers at most (256 - min_ttl) hops away


def family_of(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def apply_session_options(sock: socket.socket, s: SocketSettings) -> None:
    set_nodelay(sock)
    if s.min_ttl is not None:
        set_ttl(sock, 255)
        set_min_ttl(sock, s.min_ttl)
    elif s.ttl is not None:
        set_ttl(sock, s.ttl)


async def connect(
    s: SocketSettings, timeout: float
) -> tuple[asyncio.Transport, BGPConnection]:
    """Open an outbound connection; raises OSError / TimeoutError on failure."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(family_of(s.address), socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if s.password:
            set_md5(sock, s.address, s.password)
        apply_session_options(sock, s)
        if s.local_address:
            sock.bind((s.local_address, 0))
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (s.address, s.port))
        transport, proto = await loop.create_connection(
            lambda: BGPConnection(inbound=False), sock=sock
        )
    except BaseException:
        sock.close()
        raise
    return transport, proto


async def listen(
    address: str,
    port: int,
    on_accept: Callable[[BGPConnection], None],
    *,
    gtsm: bool = False,
) -> tuple[Listener, socket.socket]:
    """A listening socket with a large backlog (TCP-MD5 keys: the daemon adds them),
    accepting every waiting connection per readiness event (:mod:`.listener`).

    ``gtsm``: some neighbor uses TTL security, so the handshake (SYN-ACK, sent by the
    listening socket before any per-peer option can be set) must already leave with TTL
    255, or the peer's IP_MINTTL drops it. Per-peer TTLs are set after accept."""
    loop = asyncio.get_running_loop()
    fam = family_of(address)
    sock = socket.socket(fam, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
        sock.setblocking(False)
        if gtsm:
            set_ttl(sock, 255)
        server = Listener(
            loop,
            sock,
            lambda: BGPConnection(inbound=True, on_accept=on_accept),
            LISTEN_BACKLOG,
        )
        server.start()
    except BaseException:
        sock.close()
        raise
    return server, sock
