"""A tiny BGP speaker over loopback (asyncio, bgprr.wire): it opens a session to the daemon
under test from its own 127.x address, announces routes and records what it receives.

The table it keeps is the neighbor's Adj-RIB-In: ``table[(afi, prefix key)]`` is the raw
attribute block last announced for the prefix plus its next hop, withdrawals delete.
Every received UPDATE bumps ``updates`` and ``last_rx`` so the runner can wait for quiet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time

from bgprr.wire.capabilities import FourOctetAS, MultiProtocol, RouteRefreshCap
from bgprr.wire.constants import AS_TRANS
from bgprr.wire.decoded import MPReach, Update
from bgprr.wire.framer import Framer
from bgprr.wire.messages import Keepalive, Notification, Open, decode_message, encode_message
from bgprr.wire.update import encode_update

IPV4 = (1, 1)
IPV6 = (2, 1)
Key = tuple[int, int]  # (afi, prefix key)


def _bgp_id(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


class Speaker:
    """One neighbor of the daemon: ``address`` (127.x), ``asn``; ``connect`` then ``announce``."""

    def __init__(self, address: str, asn: int) -> None:
        self.address = address
        self.asn = asn
        self.table: dict[Key, tuple[bytes, bytes]] = {}
        self.updates = 0
        self.last_rx = time.monotonic()
        self.notification: Notification | None = None
        self.closed = False
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self, host: str, port: int, timeout: float = 20.0) -> None:
        """Connect (retrying until the daemon listens and accepts us) and reach Established."""
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self._open(host, port), 5.0)
                return
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
                last = e
                self.close()
                self.closed = False
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.address}: no session with {host}:{port}: {last!r}")

    async def _open(self, host: str, port: int) -> None:
        reader, writer = await asyncio.open_connection(
            host, port, local_addr=(self.address, 0), family=socket.AF_INET
        )
        self._writer = writer
        caps = (
            MultiProtocol(afi=1, safi=1),
            MultiProtocol(afi=2, safi=1),
            RouteRefreshCap(),
            FourOctetAS(asn=self.asn),
        )
        my_as = self.asn if self.asn < 65536 else AS_TRANS
        writer.write(
            encode_message(
                Open(my_as=my_as, hold_time=180, bgp_id=_bgp_id(self.address), capabilities=caps)
            )
        )
        framer = Framer()
        got_open = False
        while True:
            data = await reader.read(65536)
            if not data:
                raise ValueError("connection closed during OPEN")
            framer.feed(data)
            for raw in framer:
                msg = decode_message(raw)
                if isinstance(msg, Open):
                    got_open = True
                    writer.write(encode_message(Keepalive()))
                elif isinstance(msg, Keepalive) and got_open:
                    self._tasks.append(asyncio.create_task(self._read(reader, framer)))
                    self._tasks.append(asyncio.create_task(self._keepalive()))
                    return
                elif isinstance(msg, Notification):
                    raise ValueError(f"NOTIFICATION {msg.code}/{msg.subcode}")

    async def _keepalive(self) -> None:
        while self._writer is not None:
            await asyncio.sleep(30)
            self._writer.write(encode_message(Keepalive()))

    async def _read(self, reader: asyncio.StreamReader, framer: Framer) -> None:
        while True:
            for raw in framer:
                msg = decode_message(raw)
                if isinstance(msg, Update):
                    self._record(msg)
                elif isinstance(msg, Notification):
                    self.notification = msg
            data = await reader.read(65536)
            if not data:
                self.closed = True
                return
            framer.feed(data)

    def _record(self, u: Update) -> None:
        self.updates += 1
        self.last_rx = time.monotonic()
        for k in u.withdrawn:
            self.table.pop((1, k), None)
        if u.mp_unreach is not None:
            for k in u.mp_unreach.withdrawn:
                self.table.pop((u.mp_unreach.afi, k), None)
        for k in u.nlri:
            self.table[(1, k)] = (u.attrs, b"")
        if u.mp_reach is not None:
            for k in u.mp_reach.nlri:
                self.table[(u.mp_reach.afi, k)] = (u.attrs, u.mp_reach.next_hop)

    def announce(self, afi: int, keys: list[int], attrs: bytes, next_hop: bytes) -> None:
        """One UPDATE: IPv4 prefixes with NEXT_HOP inside ``attrs``; IPv6 ones in
        MP_REACH_NLRI with ``next_hop`` (16 octets)."""
        assert self._writer is not None
        if afi == 1:
            msg = encode_update(attrs=attrs, nlri=keys)
        else:
            mp = MPReach(afi=2, safi=1, next_hop=next_hop, nlri=keys)
            msg = encode_update(attrs=attrs, mp_reach=mp)
        self._writer.write(msg)

    async def drain(self) -> None:
        if self._writer is not None:
            await self._writer.drain()

    def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        self._tasks.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
