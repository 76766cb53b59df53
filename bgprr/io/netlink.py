"""rtnetlink route messages, encoded and parsed by hand, and the socket that sends them.

Only what bgprr needs to keep its routes in one kernel table (rtnetlink(7)): RTM_NEWROUTE
(add with NLM_F_EXCL, replace with NLM_F_REPLACE) and RTM_DELROUTE for one prefix with one
or several next hops (RTA_MULTIPATH), RTM_GETROUTE for one address (resolving a next hop
as the kernel would forward to it) and a dump of one table filtered by protocol.

Messages are built with precompiled :mod:`struct` formats (about 1 µs each; pyroute2's
generic encoder takes about 80 µs a message, which is 40 s for 500k routes). Many are sent
in one ``send`` without waiting for each acknowledgement: the kernel handles the messages
of one buffer in order, inside that system call, and reports each failure with an
NLMSG_ERROR; the last message of every buffer asks for an acknowledgement, which is the
barrier: once it arrived, every error of the buffer is in hand.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

__all__ = [
    "NextHop",
    "RouteMsg",
    "RouteSocket",
    "encode_delete",
    "encode_dump",
    "encode_get",
    "encode_route",
    "parse_messages",
    "parse_route",
    "route_summary",
]

NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLMSG_DONE = 3
RTM_NEWROUTE = 24
RTM_DELROUTE = 25
RTM_GETROUTE = 26
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_PRIORITY = 6
RTA_MULTIPATH = 9
RTA_TABLE = 15
RTN_UNICAST = 1
RTN_LOCAL = 2
RT_SCOPE_UNIVERSE = 0
RT_TABLE_UNSPEC = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_GET_STRICT_CHK = 12

#: Bytes per send: well under the socket's send buffer (set to 4 MiB below).
CHUNK_BYTES = 256 * 1024

_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_RTM = struct.Struct("=BBBBBBBBI")  # rtmsg
_ATTR = struct.Struct("=HH")
_U32 = struct.Struct("=HHI")  # an rtattr holding a u32
_RTNH = struct.Struct("=HBBi")  # rtnexthop: len, flags, hops, ifindex
_ERR = struct.Struct("=i")
_AF = {4: socket.AF_INET, 16: socket.AF_INET6}


@dataclass(frozen=True, slots=True)
class NextHop:
    """A kernel next hop: a gateway address (raw octets) and an interface index (0:
    let the kernel find it)."""

    gateway: bytes
    oif: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteMsg:
    """A parsed RTM_NEWROUTE (a dump entry or the answer to RTM_GETROUTE)."""

    family: int
    dst: bytes
    dst_len: int
    table: int
    protocol: int
    type: int
    metric: int = 0
    next_hops: tuple[NextHop, ...] = field(default_factory=tuple)


def _attr(kind: int, data: bytes) -> bytes:
    n = 4 + len(data)
    return _ATTR.pack(n, kind) + data + b"\0" * (-n & 3)


def _rtmsg(family: int, plen: int, table: int, proto: int, scope: int, rtype: int) -> bytes:
    return _RTM.pack(family, plen, 0, 0, table if table < 256 else RT_TABLE_UNSPEC, proto,
                     scope, rtype, 0)  # fmt: skip


def _message(mtype: int, flags: int, seq: int, body: bytes) -> bytes:
    return _HDR.pack(16 + len(body), mtype, flags, seq, 0) + body


# One RTM_NEWROUTE with one next hop in a single pack: nlmsghdr, rtmsg, RTA_TABLE,
# RTA_DST, RTA_PRIORITY, RTA_GATEWAY, RTA_OIF (the layout encode_route builds part by part).
_ONE = {
    4: struct.Struct("=IHHII BBBBBBBBI HHI HH4s HHI HH4s HHi"),
    16: struct.Struct("=IHHII BBBBBBBBI HHI HH16s HHI HH16s HHi"),
}


def encode_route(
    dst: bytes,
    plen: int,
    hops: Sequence[NextHop],
    *,
    table: int,
    protocol: int,
    metric: int,
    replace: bool,
    seq: int,
    ack: bool = False,
) -> bytes:
    """RTM_NEWROUTE for ``dst/plen`` via ``hops`` (one: RTA_GATEWAY and RTA_OIF; more:
    RTA_MULTIPATH). ``replace``: NLM_F_REPLACE (whatever route of the same prefix and
    metric is there), else NLM_F_EXCL (fails with EEXIST if there is one)."""
    width = len(dst)
    family = _AF[width]
    flags = NLM_F_REQUEST | NLM_F_CREATE | (NLM_F_REPLACE if replace else NLM_F_EXCL)
    if ack:
        flags |= NLM_F_ACK
    if len(hops) == 1 and hops[0].oif and table < 256:
        h = hops[0]
        one = _ONE[width]
        return one.pack(
            one.size, RTM_NEWROUTE, flags, seq, 0,
            family, plen, 0, 0, table, protocol, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0,
            8, RTA_TABLE, table,
            4 + width, RTA_DST, dst,
            8, RTA_PRIORITY, metric,
            4 + width, RTA_GATEWAY, h.gateway,
            8, RTA_OIF, h.oif,
        )  # fmt: skip
    parts = [
        _rtmsg(family, plen, table, protocol, RT_SCOPE_UNIVERSE, RTN_UNICAST),
        _U32.pack(8, RTA_TABLE, table),
        _attr(RTA_DST, dst),
        _U32.pack(8, RTA_PRIORITY, metric),
    ]
    if len(hops) == 1:
        h = hops[0]
        parts.append(_attr(RTA_GATEWAY, h.gateway))
        if h.oif:
            parts.append(_U32.pack(8, RTA_OIF, h.oif))
    else:
        nested = []
        for h in hops:
            gw = _attr(RTA_GATEWAY, h.gateway)
            nested.append(_RTNH.pack(8 + len(gw), 0, 0, h.oif) + gw)
        parts.append(_attr(RTA_MULTIPATH, b"".join(nested)))
    return _message(RTM_NEWROUTE, flags, seq, b"".join(parts))


def encode_delete(
    dst: bytes, plen: int, *, table: int, protocol: int, seq: int, ack: bool = False
) -> bytes:
    """RTM_DELROUTE of our route for ``dst/plen``: the kernel deletes only a route of
    ``protocol`` in ``table`` (any metric, every next hop)."""
    family = _AF[len(dst)]
    flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
    body = (
        _rtmsg(family, plen, table, protocol, RT_SCOPE_UNIVERSE, RTN_UNICAST)
        + _U32.pack(8, RTA_TABLE, table)
        + _attr(RTA_DST, dst)
    )
    return _message(RTM_DELROUTE, flags, seq, body)


def encode_get(address: bytes, *, seq: int) -> bytes:
    """RTM_GETROUTE: how the kernel forwards to ``address`` (``ip route get``)."""
    body = _rtmsg(_AF[len(address)], len(address) * 8, 0, 0, 0, 0) + _attr(RTA_DST, address)
    return _message(RTM_GETROUTE, NLM_F_REQUEST, seq, body)


def encode_dump(family: int, *, table: int, protocol: int, seq: int) -> bytes:
    """RTM_GETROUTE dump of ``family``'s routes of ``protocol`` in ``table`` (the kernel
    filters with NETLINK_GET_STRICT_CHK; :func:`parse_route`'s caller checks again)."""
    body = _rtmsg(family, 0, table, protocol, 0, 0) + _U32.pack(8, RTA_TABLE, table)
    return _message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, body)


def parse_messages(buf: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """``(type, flags, seq, payload)`` of each message in a received buffer."""
    off = 0
    end = len(buf)
    while off + 16 <= end:
        length, mtype, flags, seq, _pid = _HDR.unpack_from(buf, off)
        if length < 16:
            break
        yield mtype, flags, seq, buf[off + 16 : off + length]
        off += (length + 3) & ~3


def _attrs(buf: bytes, off: int, end: int) -> Iterator[tuple[int, bytes]]:
    while off + 4 <= end:
        n, kind = _ATTR.unpack_from(buf, off)
        if n < 4:
            break
        yield kind & 0x3FFF, buf[off + 4 : off + n]
        off += (n + 3) & ~3


def parse_route(payload: bytes) -> RouteMsg:
    """An RTM_NEWROUTE payload (rtmsg and attributes)."""
    family, plen, _src, _tos, table, proto, _scope, rtype, _flags = _RTM.unpack_from(payload)
    dst = b""
    metric = 0
    gateway = b""
    oif = 0
    hops: list[NextHop] = []
    for kind, data in _attrs(payload, _RTM.size, len(payload)):
        if kind == RTA_DST:
            dst = data
        elif kind == RTA_TABLE:
            table = int.from_bytes(data[:4], "little")
        elif kind == RTA_PRIORITY:
            metric = int.from_bytes(data[:4], "little")
        elif kind == RTA_GATEWAY:
            gateway = data
        elif kind == RTA_OIF:
            oif = int.from_bytes(data[:4], "little", signed=True)
        elif kind == RTA_MULTIPATH:
            off = 0
            while off + 8 <= len(data):
                n, _f, _h, ifindex = _RTNH.unpack_from(data, off)
                if n < 8:
                    break
                gw = b""
                for k2, d2 in _attrs(data, off + 8, off + n):
                    if k2 == RTA_GATEWAY:
                        gw = d2
                hops.append(NextHop(gw, ifindex))
                off += (n + 3) & ~3
    if not hops and (gateway or oif):
        hops.append(NextHop(gateway, oif))
    if not dst:
        dst = b"\0" * (4 if family == socket.AF_INET else 16)
    return RouteMsg(
        family=family,
        dst=dst,
        dst_len=plen,
        table=table,
        protocol=proto,
        type=rtype,
        metric=metric,
        next_hops=tuple(hops),
    )


def route_summary(payload: bytes) -> tuple[int, bytes, int, int, int, tuple[bytes, ...]]:
    """``(family, dst, dst_len, table, protocol, gateways)`` of an RTM_NEWROUTE payload:
    what a dump of our routes needs, read faster than :func:`parse_route`."""
    family, plen, _s, _t, table, proto, _sc, _ty, _f = _RTM.unpack_from(payload)
    dst = b""
    gws: tuple[bytes, ...] = ()
    off = _RTM.size
    end = len(payload)
    unpack = _ATTR.unpack_from
    while off + 4 <= end:
        n, kind = unpack(payload, off)
        if n < 4:
            break
        kind &= 0x3FFF
        if kind == RTA_DST:
            dst = payload[off + 4 : off + n]
        elif kind == RTA_TABLE:
            table = int.from_bytes(payload[off + 4 : off + 8], "little")
        elif kind == RTA_GATEWAY:
            gws = (payload[off + 4 : off + n],)
        elif kind == RTA_MULTIPATH:
            gws = tuple(h.gateway for h in parse_route(payload).next_hops if h.gateway)
        off += (n + 3) & ~3
    if not dst:
        dst = b"\0" * (4 if family == socket.AF_INET else 16)
    return family, dst, plen, table, proto, gws


class RouteSocket:
    """A blocking NETLINK_ROUTE socket (used by one thread at a time)."""

    def __init__(self) -> None:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            sock.bind((0, 0))
            for opt, size in ((socket.SO_SNDBUF, 4 << 20), (socket.SO_RCVBUF, 8 << 20)):
                try:
                    sock.setsockopt(socket.SOL_SOCKET, opt + 32, size)  # ...BUFFORCE
                except OSError:
                    sock.setsockopt(socket.SOL_SOCKET, opt, size)
            for opt in (NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK):
                # older kernels: full error messages, unfiltered dumps
                with contextlib.suppress(OSError):
                    sock.setsockopt(SOL_NETLINK, opt, 1)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.sends = 0  # send() calls (each up to CHUNK_BYTES of messages)

    def close(self) -> None:
        self.sock.close()

    def send_batch(self, msgs: Sequence[bytes], seqs: Sequence[int]) -> dict[int, int]:
        """Send ``msgs`` (whose sequence numbers are ``seqs``; only the last of each
        chunk is re-encoded with NLM_F_ACK by the caller's choice: see :meth:`chunks`)
        and return ``seq -> errno`` for the ones the kernel refused."""
        errors: dict[int, int] = {}
        start = 0
        total = len(msgs)
        while start < total:
            size = 0
            end = start
            while end < total and (end == start or size + len(msgs[end]) <= CHUNK_BYTES):
                size += len(msgs[end])
                end += 1
            last = seqs[end - 1]
            buf = b"".join(msgs[start : end - 1]) + _with_ack(msgs[end - 1])
            self.sock.send(buf)
            self.sends += 1
            self._wait_ack(last, errors)
            start = end
        return errors

    def _wait_ack(self, seq: int, errors: dict[int, int]) -> None:
        while True:
            data = self.sock.recv(1 << 20)
            for mtype, _flags, mseq, payload in parse_messages(data):
                if mtype != NLMSG_ERROR:
                    continue
                (code,) = _ERR.unpack_from(payload)
                if code:
                    errors[mseq] = -code
                if mseq == seq:
                    return

    def request(self, msg: bytes, seq: int) -> Iterator[tuple[int, bytes]]:
        """Send one request; yield its answers as ``(type, payload)`` until NLMSG_DONE,
        the end of a single answer, or an error (raised as OSError). A dump streams:
        one receive buffer at a time."""
        self.sock.send(msg)
        while True:
            data = self.sock.recv(1 << 20)
            done = False
            for mtype, flags, mseq, payload in parse_messages(data):
                if mseq != seq:
                    continue
                if mtype == NLMSG_DONE:
                    done = True
                elif mtype == NLMSG_ERROR:
                    (code,) = _ERR.unpack_from(payload)
                    if code:
                        raise OSError(-code, os.strerror(-code))
                    done = True
                else:
                    yield mtype, payload
                    if not flags & NLM_F_MULTI:
                        done = True
            if done:
                return


def _with_ack(msg: bytes) -> bytes:
    length, mtype, flags, seq, pid = _HDR.unpack_from(msg)
    return _HDR.pack(length, mtype, flags | NLM_F_ACK, seq, pid) + msg[16:]


def is_missing(code: int) -> bool:
    """A delete that found nothing (the route is already gone)."""
    return code in (errno.ESRCH, errno.ENOENT)
