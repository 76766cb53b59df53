"""Route-reflector clients for flap storms and soaks, and the tables they must end with.

A :class:`Client` is one iBGP speaker on its own loopback source address. It announces
/26 prefixes from its own pool (client ``i`` owns ``10.0.0.0 + i * 4096`` .. ``+ 4095``,
64 prefixes), each with NEXT_HOP ``198.18.x.y`` (its own) and a MED that counts the
prefix's announcements, so a re-announcement with new attributes is visible. It keeps
what it was sent as ``prefix -> attribute set`` (each distinct attribute block decoded
once), drops it when its session goes, and notes the End-of-RIB marker.

:class:`Model` is the independent expectation: from what every client has announced
(``Client.routes``) it computes the table that RFC 4456 reflection must give each client
(every other client's routes, NEXT_HOP unchanged, ORIGINATOR_ID = the announcing client's
router id, CLUSTER_LIST = the reflector's cluster id) and compares it with what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from .loadtester import (
    KEEPALIVE,
    PREFIX_RE,
    build_attrs,
    build_notification,
    client_address,
    message,
    pack_announce,
    pack_withdraw,
    prefix_bytes,
)

ASN = 64512
POOL = 64  # /26 prefixes a client may announce
EOR = message(2, b"\x00\x00\x00\x00")  # IPv4 unicast End-of-RIB (RFC 4724 §2)

# (origin, AS_PATH ASNs, NEXT_HOP, MED, LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST)
Attrs = tuple[int, tuple[int, ...], str, int | None, int | None, str, tuple[str, ...]]


def pool_prefix(owner: int, slot: int) -> bytes:
    """NLRI encoding of prefix ``slot`` (0..63) of client ``owner``."""
    return prefix_bytes(0x0A000000 + owner * POOL * 64 + slot * 64, 26)


def next_hop(owner: int) -> str:
    return str(ipaddress.IPv4Address(0xC6120000 + 1 + owner))  # 198.18.0.1 + owner


def build_open(router_id: str, hold_time: int, gr_time: int | None, restarting: bool) -> bytes:
    """OPEN: IPv4 unicast, route refresh, 4-octet AS and, with ``gr_time``, Graceful
    Restart (RFC 4724 §3: R bit when ``restarting``, IPv4 unicast with the F bit)."""
    caps = b"\x01\x04\x00\x01\x00\x01" + b"\x02\x00" + b"\x41\x04" + ASN.to_bytes(4, "big")
    if gr_time is not None:
        flags_time = (0x8000 if restarting else 0) | gr_time
        caps += b"\x40\x06" + struct.pack("!HHBB", flags_time, 1, 1, 0x80)
    opt = b"\x02" + bytes([len(caps)]) + caps
    body = (
        struct.pack("!BHH", 4, ASN, hold_time)
        + ipaddress.IPv4Address(router_id).packed
        + bytes([len(opt)])
        + opt
    )
    return message(1, body)


def decode_attrs(block: bytes) -> Attrs:
    """The fields of a path attribute block (4-octet AS_PATH) that reflection must keep
    or set. Unknown attributes are ignored."""
    origin, nh, med, lp, orig = -1, "", None, None, ""
    path: list[int] = []
    clusters: list[str] = []
    o = 0
    while o < len(block):
        flags, code = block[o], block[o + 1]
        if flags & 0x10:
            ln = (block[o + 2] << 8) | block[o + 3]
            o += 4
        else:
            ln = block[o + 2]
            o += 3
        v = block[o : o + ln]
        o += ln
        if code == 1:
            origin = v[0]
        elif code == 2:
            i = 0
            while i < len(v):
                n = v[i + 1]
                path.extend(struct.unpack_from(f"!{n}I", v, i + 2))
                i += 2 + 4 * n
        elif code == 3:
            nh = str(ipaddress.IPv4Address(v))
        elif code == 4:
            med = int.from_bytes(v, "big")
        elif code == 5:
            lp = int.from_bytes(v, "big")
        elif code == 9:
            orig = str(ipaddress.IPv4Address(v))
        elif code == 10:
            clusters = [str(ipaddress.IPv4Address(v[i : i + 4])) for i in range(0, len(v), 4)]
    return (origin, tuple(path), nh, med, lp, orig, tuple(clusters))


@dataclass(slots=True)
class Counters:
    """Events of a whole run, shared by the clients."""

    established: int = 0
    hard_flaps: int = 0  # NOTIFICATION Cease, then close
    gr_flaps: int = 0  # TCP reset, Graceful Restart negotiated: routes must be kept
    plain_drops: int = 0  # TCP reset, no Graceful Restart: routes must go
    churn: int = 0  # announce/withdraw/re-announce rounds
    notifications_received: int = 0
    unexpected_downs: int = 0
    notification_codes: dict[str, int] = field(default_factory=dict)


class Client(asyncio.Protocol):
    """One route-reflector client (see the module doc)."""

    def __init__(self, index: int, counters: Counters, *, gr: bool, hold_time: int) -> None:
        self.index = index
        self.address = client_address(index)
        self.counters = counters
        self.gr = gr
        self.hold_time = hold_time
        self.next_hop = next_hop(index)
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.up: asyncio.Future[bool] | None = None
        self.established = False
        self.eor = False
        self.table: dict[bytes, int] = {}  # prefix -> attribute set id
        self.attr_ids: dict[bytes, int] = {}
        self.attrs: list[Attrs] = []
        self.routes: dict[bytes, int] = {}  # what we announce: prefix -> MED
        self.versions = [0] * POOL
        self.med_values = 0  # MEDs cycle through this many values (0: they keep counting)
        self.closing = False  # a down we caused (not counted as unexpected)
        self.restarting = False

    # asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.buf = b""
        gr_time = 30 if self.gr else None
        self.transport.write(build_open(self.address, self.hold_time, gr_time, self.restarting))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.established and not self.closing:
            self.counters.unexpected_downs += 1
        self.established = False
        self.transport = None
        self.table.clear()
        self.eor = False
        if self.up is not None and not self.up.done():
            self.up.set_result(False)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        o, n = 0, len(buf)
        while o + 19 <= n:
            end = o + ((buf[o + 16] << 8) | buf[o + 17])
            if end > n:
                break
            t = buf[o + 18]
            if t == 2:
                self._update(buf, o + 19, end)
            elif t == 4:
                if not self.established and self.up is not None and not self.up.done():
                    self.established = True
                    self.counters.established += 1
                    self.up.set_result(True)
            elif t == 1:
                if self.transport is not None:
                    self.transport.write(KEEPALIVE)
            elif t == 3:
                self.counters.notifications_received += 1
                code = f"{buf[o + 19]}/{buf[o + 20]}" if end >= o + 21 else "?"
                codes = self.counters.notification_codes
                codes[code] = codes.get(code, 0) + 1
                if self.transport is not None:
                    self.transport.close()
                self.buf = b""
                return
            o = end
        self.buf = buf[o:]

    def _update(self, d: bytes, s: int, end: int) -> None:
        wl = (d[s] << 8) | d[s + 1]
        a = s + 2 + wl
        al = (d[a] << 8) | d[a + 1]
        table = self.table
        if wl:
            for p in PREFIX_RE.findall(d, s + 2, a):
                table.pop(p, None)
        if a + 2 + al < end:
            block = d[a + 2 : a + 2 + al]
            aid = self.attr_ids.get(block)
            if aid is None:
                aid = self.attr_ids[block] = len(self.attrs)
                self.attrs.append(decode_attrs(block))
            for p in PREFIX_RE.findall(d, a + 2 + al, end):
                table[p] = aid
        elif not wl and not al:
            self.eor = True

    # actions --------------------------------------------------------------------------
    def send(self, msgs: Iterable[bytes]) -> None:
        if self.transport is not None and self.established:
            self.transport.write(b"".join(msgs))

    def _announce_msgs(self, slots: Iterable[int]) -> list[bytes]:
        by_med: dict[int, list[bytes]] = {}
        for slot in slots:
            self.versions[slot] += 1
            p = pool_prefix(self.index, slot)
            med = self.versions[slot]
            if self.med_values:  # cycle through 1..med_values: a stationary working set
                med = (med - 1) % self.med_values + 1
            self.routes[p] = med
            by_med.setdefault(med, []).append(p)
        msgs: list[bytes] = []
        for med, nlri in by_med.items():
            attrs = build_attrs(next_hop=self.next_hop, local_pref=100, med=med)
            msgs += pack_announce(attrs, nlri)
        return msgs

    def announce(self, slots: Iterable[int]) -> None:
        """Announce (or re-announce, with a new MED) the prefixes of ``slots``."""
        self.send(self._announce_msgs(slots))

    def withdraw(self, slots: Iterable[int]) -> None:
        nlri = [pool_prefix(self.index, s) for s in slots]
        for p in nlri:
            self.routes.pop(p, None)
        self.send(pack_withdraw(nlri))

    def send_table(self) -> None:
        """After (re)establishing: every route we announce, then End-of-RIB."""
        slots = [s for s in range(POOL) if pool_prefix(self.index, s) in self.routes]
        self.send([*self._announce_msgs(slots), EOR])

    def drop(self, how: str) -> None:
        """End the session: ``notify`` (Cease / Administrative Reset, RFC 4486) or
        ``reset`` (no NOTIFICATION, TCP RST: a crash, so Graceful Restart applies when
        negotiated, RFC 4724 §4.2)."""
        tr = self.transport
        if tr is None:
            return
        self.closing = True
        if how == "notify":
            tr.write(build_notification(6, 4))
            tr.close()
        else:
            sock = tr.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            tr.abort()

    async def connect(self, addr: str, port: int, deadline: float) -> bool:
        """Connect and establish, retrying every 0.5 s until ``deadline``."""
        loop = asyncio.get_running_loop()
        while time.monotonic() < deadline:
            self.closing = False
            self.up = loop.create_future()
            try:
                await asyncio.wait_for(
                    loop.create_connection(lambda: self, addr, port, local_addr=(self.address, 0)),
                    timeout=max(0.1, min(5.0, deadline - time.monotonic())),
                )
                ok = await asyncio.wait_for(
                    asyncio.shield(self.up),
                    timeout=max(0.1, min(15.0, deadline - time.monotonic())),
                )
            except (OSError, TimeoutError):
                ok = False
            if ok:
                return True
            if self.transport is not None:
                self.closing = True
                self.transport.abort()
            await asyncio.sleep(0.5)
        return False


@dataclass(slots=True)
class Mismatch:
    """Differences between a client's table and the model's."""

    client: int
    missing: int  # expected, absent
    extra: int  # present, not expected
    wrong: int  # present with other attributes
    example: str


class Model:
    """The tables reflection must produce, computed from what the clients announced."""

    def __init__(self, clients: list[Client], cluster_id: str) -> None:
        self.clients = clients
        self.cluster_id = cluster_id

    def expected_attrs(self, owner: Client, med: int) -> Attrs:
        return (0, (), owner.next_hop, med, 100, owner.address, (self.cluster_id,))

    def all_routes(self) -> dict[bytes, tuple[Client, int]]:
        """Every announced prefix -> (its owner, its MED): the reflector's Loc-RIB."""
        out: dict[bytes, tuple[Client, int]] = {}
        for c in self.clients:
            for p, med in c.routes.items():
                out[p] = (c, med)
        return out

    def total(self) -> int:
        return sum(len(c.routes) for c in self.clients)

    def sizes_match(self) -> bool:
        """Cheap test: every client established with a table of the right size. (End-of-RIB
        is not required: gobgpd sends it only to peers that negotiated Graceful Restart.)"""
        total = self.total()
        return all(c.established and len(c.table) == total - len(c.routes) for c in self.clients)

    def check(self) -> list[Mismatch]:
        """Every client's table against the expectation, attributes included."""
        everything = self.all_routes()
        out: list[Mismatch] = []
        for c in self.clients:
            missing = extra = wrong = 0
            example = ""
            for p, (owner, med) in everything.items():
                if owner is c:
                    continue
                aid = c.table.get(p)
                if aid is None:
                    missing += 1
                    example = example or f"missing {fmt_prefix(p)} of {owner.address}"
                elif c.attrs[aid] != self.expected_attrs(owner, med):
                    wrong += 1
                    example = example or (
                        f"{fmt_prefix(p)}: got {c.attrs[aid]}, "
                        f"expected {self.expected_attrs(owner, med)}"
                    )
            for p in c.table:
                hit = everything.get(p)
                if hit is None or hit[0] is c:
                    extra += 1
                    example = example or f"extra {fmt_prefix(p)}"
            if missing or extra or wrong or not c.established:
                out.append(Mismatch(c.index, missing, extra, wrong, example or "not established"))
        return out


def fmt_prefix(nlri: bytes) -> str:
    addr = ipaddress.IPv4Address(nlri[1:].ljust(4, bytes(1)))
    return f"{addr}/{nlri[0]}"
