"""Kernel receive timestamps for the latency scenario.

The tester's own processing of 200 sockets (event-loop callbacks, parsing) takes a few
milliseconds, comparable to what the latency scenario measures; a user-space arrival
time therefore says as much about the tester as about the reflector. For one trial,
:func:`read_stamped` takes the receivers' sockets from the event loop (``pause_reading``
and a duplicated descriptor), reads them with ``recvmsg`` and ``SO_TIMESTAMPNS`` (the
time at which the kernel queued the segment on the socket, CLOCK_REALTIME), feeds the
bytes to each peer's protocol exactly as the loop would, and gives the sockets back.
The figure is then the reflector's: from just before the announcing client's ``write``
to the kernel's receipt of the UPDATE at each other client.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import time
from collections.abc import Callable, Sequence

from .loadtester import Peer

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; SCM_TIMESTAMPNS is the same
_TIMESPEC = struct.Struct("@qq")


class Stamped:
    """The receivers of one trial, read with kernel timestamps until :meth:`close`."""

    def __init__(self, peers: Sequence[Peer]) -> None:
        self.peers = list(peers)
        self.socks: dict[int, tuple[socket.socket, Peer]] = {}
        self.ep = select.epoll()
        for p in self.peers:
            tr = p.transport
            if tr is None:
                continue
            tr.pause_reading()
            fd = os.dup(tr.get_extra_info("socket").fileno())
            s = socket.socket(fileno=fd)
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.socks[fd] = (s, p)
            self.ep.register(fd, select.EPOLLIN)

    def wait(self, done: Callable[[Peer], bool], timeout: float) -> dict[int, tuple[float, float]]:
        """Read until ``done(peer)`` holds for every peer; returns peer index -> (kernel
        time (CLOCK_REALTIME seconds) of the segment that made it hold, the tester's
        ``time.monotonic()`` once it had parsed it). Blocks the loop (a trial lasts
        milliseconds); stops at ``timeout`` seconds."""
        stamps: dict[int, tuple[float, float]] = {}
        todo = {p.index for p in self.peers if not done(p)}
        end = time.monotonic() + timeout
        space = socket.CMSG_SPACE(_TIMESPEC.size)
        while todo:
            left = end - time.monotonic()
            if left <= 0:
                break
            for fd, _ev in self.ep.poll(left):
                s, p = self.socks[fd]
                try:
                    data, anc, _flags, _addr = s.recvmsg(65536, space)
                except BlockingIOError:
                    continue
                if not data:
                    self.ep.unregister(fd)
                    continue
                ts = None
                for level, kind, payload in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        sec, nsec = _TIMESPEC.unpack(payload[: _TIMESPEC.size])
                        ts = sec + nsec * 1e-9
                p.data_received(data)
                if p.index in todo and done(p):
                    todo.discard(p.index)
                    stamps[p.index] = (ts if ts is not None else time.time(), time.monotonic())
        return stamps

    def close(self) -> None:
        """Give the sockets back to the event loop (timestamps off)."""
        self.ep.close()
        for s, p in self.socks.values():
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)
            s.close()  # the duplicate only
            if p.transport is not None:
                p.transport.resume_reading()
        self.socks.clear()
