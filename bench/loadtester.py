"""A minimal asyncio BGP load tester that is meant never to be the bottleneck.

Self-contained: OPEN, KEEPALIVE, NOTIFICATION and UPDATE messages are built by hand from
RFC 4271 (plus RFC 4760 and RFC 6793 capabilities) into prebuilt ``bytes`` before any
clock starts, with as many NLRI per UPDATE as fit in 4096 octets.

Every simulated BGP speaker is a :class:`Peer` with its own loopback source address
(bound before connect), so the reflector sees each as a distinct neighbour. Receiving is
cheap: the attribute block of an UPDATE is skipped by its length, and the withdrawn-routes
and NLRI fields are split into per-prefix ``bytes`` by one compiled regular expression (C
speed, no Python loop per prefix); each peer keeps the set of prefixes it currently holds.
A scenario sets a *goal* on the peers it waits for; the first time a goal holds after an
UPDATE, the peer's arrival time is recorded.

Traffic goes only to the reflector address given (a loopback address); every wait is
bounded by a deadline and the tester reports its own CPU time so that a saturated tester
is visible in the results.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import re
import resource
import socket
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

MARKER = b"\xff" * 16
MAX_MSG = 4096
KEEPALIVE = MARKER + b"\x00\x13\x04"
_HDR = struct.Struct("!16sHB")

# One IPv4 NLRI entry: a length octet then ceil(len/8) address octets (RFC 4271 §4.3).
PREFIX_RE = re.compile(
    rb"\x00|[\x01-\x08].|[\x09-\x10]..|[\x11-\x18]...|[\x19-\x20]....", re.DOTALL
)
_findall = PREFIX_RE.findall

Goal = Callable[["Peer"], bool]
Hook = Callable[["Peer"], object]


# --------------------------------------------------------------------------- encoding


def encode_prefix(text: str) -> bytes:
    """``"10.0.0.0/26"`` -> the NLRI encoding ``b"\\x1a\\x0a\\x00\\x00\\x00"``."""
    net = ipaddress.IPv4Network(text)
    plen = net.prefixlen
    return bytes([plen]) + net.network_address.packed[: (plen + 7) // 8]


def prefix_bytes(addr: int, plen: int) -> bytes:
    """NLRI encoding of the IPv4 network ``addr/plen`` (host bits are masked off)."""
    mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
    return bytes([plen]) + ((addr & mask).to_bytes(4, "big"))[: (plen + 7) // 8]


def decode_prefix(nlri: bytes) -> str:
    """Inverse of :func:`encode_prefix` (for reports and tests)."""
    plen = nlri[0]
    addr = nlri[1:].ljust(4, b"\x00")
    return f"{ipaddress.IPv4Address(addr)}/{plen}"


def message(msg_type: int, body: bytes) -> bytes:
    return _HDR.pack(MARKER, 19 + len(body), msg_type) + body


def build_open(asn: int, router_id: str, hold_time: int = 180) -> bytes:
    """OPEN with Multiprotocol IPv4 unicast, route refresh and 4-octet AS capabilities."""
    caps = (
        b"\x01\x04\x00\x01\x00\x01"  # MP-BGP AFI 1 SAFI 1 (RFC 4760)
        + b"\x02\x00"  # route refresh (RFC 2918)
        + b"\x41\x04"
        + asn.to_bytes(4, "big")  # 4-octet AS (RFC 6793)
    )
    opt = b"\x02" + bytes([len(caps)]) + caps
    my_as = asn if asn <= 0xFFFF else 23456
    body = (
        struct.pack("!BHH", 4, my_as, hold_time)
        + ipaddress.IPv4Address(router_id).packed
        + bytes([len(opt)])
        + opt
    )
    return message(1, body)


def build_notification(code: int = 6, subcode: int = 2) -> bytes:
    """NOTIFICATION; default Cease / Administrative Shutdown (RFC 4486)."""
    return message(3, bytes([code, subcode]))


def _attr(flags: int, code: int, value: bytes) -> bytes:
    if len(value) > 255:
        return struct.pack("!BBH", flags | 0x10, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def build_attrs(
    *,
    next_hop: str,
    as_path: Sequence[int] = (),
    local_pref: int | None = 100,
    med: int | None = None,
    communities: Sequence[int] = (),
    origin: int = 0,
) -> bytes:
    """Path attribute block in 4-octet-AS form (both ends negotiate RFC 6793)."""
    out = [_attr(0x40, 1, bytes([origin]))]
    path = b""
    for i in range(0, len(as_path), 255):
        seg = as_path[i : i + 255]
        path += bytes([2, len(seg)]) + b"".join(a.to_bytes(4, "big") for a in seg)
    out.append(_attr(0x40, 2, path))
    out.append(_attr(0x40, 3, ipaddress.IPv4Address(next_hop).packed))
    if med is not None:
        out.append(_attr(0x80, 4, med.to_bytes(4, "big")))
    if local_pref is not None:
        out.append(_attr(0x40, 5, local_pref.to_bytes(4, "big")))
    if communities:
        out.append(_attr(0xC0, 8, b"".join(c.to_bytes(4, "big") for c in communities)))
    return b"".join(out)


def _chunks(items: Sequence[bytes], room: int) -> Iterable[bytes]:
    cur: list[bytes] = []
    size = 0
    for it in items:
        if size + len(it) > room and cur:
            yield b"".join(cur)
            cur, size = [], 0
        cur.append(it)
        size += len(it)
    if cur:
        yield b"".join(cur)


def pack_announce(attrs: bytes, nlri: Sequence[bytes]) -> list[bytes]:
    """UPDATE messages announcing ``nlri`` (NLRI encodings) with one attribute block."""
    head = b"\x00\x00" + struct.pack("!H", len(attrs)) + attrs
    room = MAX_MSG - 19 - len(head)
    return [message(2, head + chunk) for chunk in _chunks(nlri, room)]


def pack_withdraw(nlri: Sequence[bytes]) -> list[bytes]:
    """UPDATE messages withdrawing ``nlri``."""
    room = MAX_MSG - 19 - 4
    return [
        message(2, struct.pack("!H", len(chunk)) + chunk + b"\x00\x00")
        for chunk in _chunks(nlri, room)
    ]


def split_update(data: bytes, start: int, end: int) -> tuple[list[bytes], list[bytes]]:
    """(withdrawn, announced) NLRI encodings of the UPDATE body ``data[start:end]``."""
    wl = (data[start] << 8) | data[start + 1]
    a = start + 2 + wl
    al = (data[a] << 8) | data[a + 1]
    return _findall(data, start + 2, a), _findall(data, a + 2 + al, end)


# --------------------------------------------------------------------------- sessions


@dataclass(slots=True)
class Stats:
    """Connection attempts and failures, shared by all peers of one tester."""

    connects: int = 0
    connect_errors: int = 0
    connect_timeouts: int = 0
    slow_connects: int = 0  # took >= 0.9 s: a SYN was retransmitted (listen queue full)
    session_failures: int = 0  # TCP up, but closed/NOTIFICATION before Established
    notifications: int = 0
    connect_times: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Peer(asyncio.Protocol):
    """One simulated BGP speaker (route-reflector client)."""

    def __init__(self, tester: Tester, index: int, address: str) -> None:
        self.tester = tester
        self.index = index
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.pending = b""
        self.got_open = False
        self.established = False
        self.up: asyncio.Future[bool] = tester.loop.create_future()
        self.seen: set[bytes] = set()
        self.updates = 0
        self.announced = 0
        self.withdrawn = 0
        self.goal: Goal | None = None
        self.reached_at = 0.0
        self.closed_reason = ""

    # asyncio.Protocol -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its API
        self.transport = cast(asyncio.Transport, transport)
        self.pending = b""
        self.transport.write(self.tester.open_msg(self))

    def connection_lost(self, exc: Exception | None) -> None:
        was_up = self.established
        self.established = False
        self.transport = None
        if not self.up.done():
            self.up.set_result(False)
        if was_up:
            self.tester.on_down(self)

    def data_received(self, data: bytes) -> None:
        # The hot path: the chunk is split at the 16-octet markers (C code), each message
        # costs a few index operations and one slice, the NLRI of consecutive UPDATEs are
        # split into prefixes and added to the set together, and the goal is checked once
        # per chunk. A piece whose length field disagrees (a marker pattern inside a
        # message, or a chunk ending inside a marker) sends the rest to the plain walk.
        if self.pending:
            data = self.pending + data
        parts: list[bytes] = []
        updates = 0
        o = 0
        pieces = data.split(MARKER)
        last = len(pieces) - 1
        if pieces[0]:  # not at a marker (cannot happen on a sane stream): plain walk
            updates += self._walk(data, 0, parts)
            last, o = 0, -1
        for i in range(1, last + 1):
            pc = pieces[i]
            size = len(pc) + 16
            if size < 19 or ((pc[0] << 8) | pc[1]) != size:
                if i == last and (size < 19 or ((pc[0] << 8) | pc[1]) > size):
                    break  # incomplete last message: keep it for the next chunk
                if parts:
                    self._announce(parts)
                    parts = []
                updates += self._walk(data, o, parts)
                parts = []
                o = -1
                break
            if pc[2] == 2:
                updates += 1
                wl = (pc[3] << 8) | pc[4]
                a = 5 + wl
                nl = a + 2 + ((pc[a] << 8) | pc[a + 1])
                if wl:
                    if parts:
                        self._announce(parts)
                        parts = []
                    w = _findall(pc, 5, a)
                    self.seen.difference_update(w)
                    self.withdrawn += len(w)
                if nl < len(pc):
                    parts.append(pc[nl:])
            else:
                if parts:
                    self._announce(parts)
                    parts = []
                if not self._control(pc[2], pc[3:5]):
                    self.pending = b""
                    return
            o += size
        if o >= 0:
            if parts:
                self._announce(parts)
            self.pending = data[o:] if o < len(data) else b""
        if updates:
            self.updates += updates
            goal = self.goal
            if goal is not None and goal(self):
                self.goal = None
                self.reached_at = time.monotonic()
                self.tester.on_goal(self)

    def _walk(self, data: bytes, o: int, parts: list[bytes]) -> int:
        """Plain message walk from offset ``o``; sets ``pending``; returns UPDATE count."""
        n = len(data)
        updates = 0
        while o + 19 <= n:
            end = o + ((data[o + 16] << 8) | data[o + 17])
            if end > n or end < o + 19:
                break
            if data[o + 18] == 2:
                updates += 1
                wl = (data[o + 19] << 8) | data[o + 20]
                a = o + 21 + wl
                nl = a + 2 + ((data[a] << 8) | data[a + 1])
                if wl:
                    if parts:
                        self._announce(parts)
                        parts = []
                    w = _findall(data, o + 21, a)
                    self.seen.difference_update(w)
                    self.withdrawn += len(w)
                if nl < end:
                    parts.append(data[nl:end])
            else:
                if parts:
                    self._announce(parts)
                    parts = []
                if not self._control(data[o + 18], data[o + 19 : o + 21]):
                    self.pending = b""
                    return updates
            o = end
        if parts:
            self._announce(parts)
        self.pending = data[o:] if o < n else b""
        return updates

    def _announce(self, parts: list[bytes]) -> None:
        ann = _findall(parts[0] if len(parts) == 1 else b"".join(parts))
        self.seen.update(ann)
        self.announced += len(ann)

    def _control(self, t: int, head: bytes) -> bool:
        """OPEN, KEEPALIVE or NOTIFICATION (``head``: its first two body octets); False
        when the session is over."""
        if t == 4:
            if self.got_open and not self.established:
                self.established = True
                self.up.set_result(True)
        elif t == 1:
            self.got_open = True
            if self.transport is not None:
                self.transport.write(KEEPALIVE)
        elif t == 3:
            code = "/".join(str(x) for x in head)
            self.tester.stats.notifications += 1
            self.tester.stats.error(f"notification {code}")
            self.closed_reason = f"notification {code}"
            if self.transport is not None:
                self.transport.close()
            return False
        return True

    # control ------------------------------------------------------------------------
    def held(self) -> int:
        """How many prefixes this peer holds now."""
        return len(self.seen)

    def send(self, msgs: Iterable[bytes]) -> None:
        if self.transport is not None:
            self.transport.write(b"".join(msgs))

    def close(self, notify: bool = True) -> None:
        if self.transport is not None:
            if notify and self.established:
                self.transport.write(build_notification(6, 2))
            self.transport.close()


class Tester:
    """S+R peers against one reflector at ``rr_addr:rr_port``."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(
        self,
        rr_addr: str,
        rr_port: int,
        *,
        asn: int = 64512,
        hold_time: int = 180,
        connect_timeout: float = 5.0,
        open_timeout: float = 15.0,
        rr_pids: Sequence[int] = (),
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.rr_addr = rr_addr
        self.rr_port = rr_port
        self.asn = asn
        self.hold_time = hold_time
        self.connect_timeout = connect_timeout
        self.open_timeout = open_timeout
        self.rr_pids = list(rr_pids)
        self.stats = Stats()
        self.peers: list[Peer] = []
        self._waiting = 0
        self._waiter: asyncio.Future[None] | None = None
        self.downs = 0
        self._ka_task: asyncio.Task[None] | None = None
        self._opens: dict[int, bytes] = {}

    # peers --------------------------------------------------------------------------
    def add_peers(self, addresses: Sequence[str]) -> list[Peer]:
        new = [Peer(self, len(self.peers) + i, a) for i, a in enumerate(addresses)]
        self.peers.extend(new)
        return new

    def open_msg(self, peer: Peer) -> bytes:
        m = self._opens.get(peer.index)
        if m is None:
            m = self._opens[peer.index] = build_open(self.asn, peer.address, self.hold_time)
        return m

    async def _connect_once(self, peer: Peer, deadline: float) -> bool:
        peer.got_open = False
        peer.up = self.loop.create_future()
        t0 = time.monotonic()
        self.stats.connects += 1
        try:
            await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: peer, self.rr_addr, self.rr_port, local_addr=(peer.address, 0)
                ),
                timeout=max(0.05, min(self.connect_timeout, deadline - t0)),
            )
        except TimeoutError:
            self.stats.connect_timeouts += 1
            return False
        except OSError as exc:
            self.stats.connect_errors += 1
            self.stats.error(type(exc).__name__)
            return False
        dt = time.monotonic() - t0
        self.stats.connect_times.append(dt)
        if dt >= 0.9:
            self.stats.slow_connects += 1
        try:
            ok = await asyncio.wait_for(
                asyncio.shield(peer.up),
                timeout=max(0.05, min(self.open_timeout, deadline - time.monotonic())),
            )
        except TimeoutError:
            ok = False
        if not ok:
            self.stats.session_failures += 1
            peer.close(notify=False)
        return ok

    async def connect(self, peer: Peer, deadline: float, on_up: Hook | None = None) -> bool:
        """Connect and establish ``peer``, retrying until ``deadline``: after 0.5, 1, 2, 4
        and then every 5 s (Calico's BIRD nodes use ``connect retry time 5``)."""
        delay = 0.5
        while time.monotonic() < deadline:
            if await self._connect_once(peer, deadline):
                if on_up is not None:
                    on_up(peer)
                return True
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 5.0)
        return False

    async def connect_all(
        self,
        peers: Sequence[Peer],
        deadline: float,
        concurrency: int = 0,
        on_up: Hook | None = None,
    ) -> tuple[float, int]:
        """Establish every peer; concurrency 0 = all at the same instant.

        Returns (seconds until the last was Established, number that never made it).
        """
        t0 = time.monotonic()
        # from the start: a storm can outlast the hold time of the first sessions up
        self.start_keepalives()
        if concurrency <= 0:
            res = await asyncio.gather(*(self.connect(p, deadline, on_up) for p in peers))
        else:
            sem = asyncio.Semaphore(concurrency)

            async def one(p: Peer) -> bool:
                async with sem:
                    return await self.connect(p, deadline, on_up)

            res = await asyncio.gather(*(one(p) for p in peers))
        return time.monotonic() - t0, sum(1 for r in res if not r)

    def start_keepalives(self) -> None:
        """Send KEEPALIVEs on every Established peer from now on (once started, kept)."""
        if self._ka_task is None:
            self._ka_task = self.loop.create_task(self._keepalives())

    async def _keepalives(self) -> None:
        interval = max(1.0, min(30.0, self.hold_time / 6))
        while True:
            await asyncio.sleep(interval)
            for p in self.peers:
                if p.established and p.transport is not None:
                    p.transport.write(KEEPALIVE)

    # goals --------------------------------------------------------------------------
    def on_goal(self, peer: Peer) -> None:
        self._waiting -= 1
        if self._waiting <= 0 and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def on_down(self, peer: Peer) -> None:
        self.downs += 1

    async def wait_goal(
        self, peers: Sequence[Peer], goal: Goal, deadline: float
    ) -> tuple[list[float], int]:
        """Wait until ``goal(peer)`` holds for every peer (checked now and after each
        UPDATE). Returns (arrival times, monotonic, of the peers that reached it; number
        that did not before ``deadline``)."""
        self._waiting = 0
        self._waiter = self.loop.create_future()
        reached: list[Peer] = []
        for p in peers:
            if goal(p):
                p.reached_at = time.monotonic()
                p.goal = None
                reached.append(p)
            else:
                p.goal = goal
                self._waiting += 1
        if self._waiting > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._waiter, timeout=max(0.01, deadline - time.monotonic()))
        times: list[float] = []
        missed = 0
        for p in peers:
            if p.goal is None:
                times.append(p.reached_at)
            else:
                p.goal = None
                missed += 1
        self._waiter = None
        return times, missed

    async def close_all(self, peers: Sequence[Peer] | None = None) -> None:
        for p in self.peers if peers is None else peers:
            p.close()
        await asyncio.sleep(0)

    async def shutdown(self) -> None:
        if self._ka_task is not None:
            self._ka_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ka_task
        await self.close_all()
        await asyncio.sleep(0.05)

    # measurements -------------------------------------------------------------------
    def rr_usage(self) -> dict[str, float]:
        """CPU seconds and current/peak RSS (bytes) of the reflector's processes."""
        return proc_usage(self.rr_pids)


def self_cpu() -> float:
    """CPU seconds (user+system) used by this process so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def proc_usage(pids: Sequence[int]) -> dict[str, float]:
    """Sum over ``pids`` of CPU seconds and RSS / peak RSS (VmHWM) in bytes from /proc."""
    clk = float(os.sysconf("SC_CLK_TCK"))
    cpu = rss = hwm = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{pid}/status", "rb") as f:
                status = f.read().decode()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        cpu += (int(fields[11]) + int(fields[12])) / clk
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm += int(line.split()[1]) * 1024
    return {"cpu_s": cpu, "rss": rss, "peak_rss": hwm}


def client_address(i: int) -> str:
    """Source address of client ``i``: 127.0.1.1 .. 127.0.1.250, 127.0.2.1, ..."""
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def set_nodelay(peer: Peer) -> None:
    if peer.transport is not None:
        sock = peer.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
