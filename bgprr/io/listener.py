"""A listening socket that takes every waiting connection each time it is readable.

uvloop's ``create_server`` accepts one connection per event-loop iteration. When the loop
is busy (a flush pass writing a table to thousands of sessions runs in every iteration),
that caps the accept rate at one connection per pass: measured with a callback holding
the loop for 50 ms per iteration, 300 waiting connections took 15 s to accept under
uvloop and 0.3 s under the stdlib loop (which accepts up to its backlog per event). In a
5,000-node reconnect storm, connections then waited in the listen queue longer than the
nodes' OPEN timeout, and every failed attempt put the neighbor into its IdleHold time.

So bgprr accepts by itself: on each readiness event of the listening socket it accepts
until the queue is empty (at most ``ACCEPT_BATCH``, so a flood cannot hold the loop), and
hands each socket to the loop as a transport (``connect_accepted_socket``). Out of file
descriptors (EMFILE/ENFILE/ENOBUFS/ENOMEM), it stops accepting for ``PAUSE_ON_ERROR``
seconds, as asyncio's own servers do, instead of spinning on a queue it cannot empty.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

log = logging.getLogger("bgprr")

ACCEPT_BATCH = 1024  # connections taken per readiness event at most
PAUSE_ON_ERROR = 1.0  # seconds without accepting after running out of descriptors
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Listener:
    """Accepting connections on ``sock`` (bound, non-blocking) into ``factory`` protocols.

    The part of ``asyncio.Server``'s API the daemon uses: ``sockets``, ``is_serving()``,
    ``close()``."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        factory: Callable[[], asyncio.Protocol],
        backlog: int,
    ) -> None:
        self.loop = loop
        self.sock = sock
        self.factory = factory
        self.accepted = 0
        self._serving = False
        self._closed = False
        self._pause: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        sock.listen(backlog)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return () if self._closed else (self.sock,)

    def is_serving(self) -> bool:
        """Listening (also while accepting pauses after running out of descriptors)."""
        return not self._closed

    def start(self) -> None:
        if not self._closed and not self._serving:
            self.loop.add_reader(self.sock.fileno(), self._ready)
            self._serving = True

    def close(self) -> None:
        if self._closed:
            return
        if self._serving:
            self.loop.remove_reader(self.sock.fileno())
        if self._pause is not None:
            self._pause.cancel()
            self._pause = None
        self._serving = False
        self._closed = True
        self.sock.close()

    def _ready(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the peer gave up while queued
            except OSError as exc:
                if exc.errno in _RESOURCE_ERRORS:
                    log.warning(
                        "accepting connections: %s; pausing %.0f s", exc.strerror, PAUSE_ON_ERROR
                    )
                    self._pause_accepting()
                    return
                log.warning("accepting connections: %s", exc)
                return
            self.accepted += 1
            conn.setblocking(False)
            self._hand_over(conn)

    def _hand_over(self, conn: socket.socket) -> None:
        task = self.loop.create_task(self.loop.connect_accepted_socket(self.factory, conn))
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._handed(t, conn))

    def _handed(self, task: asyncio.Task[object], conn: socket.socket) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            conn.close()
            return
        exc = task.exception()
        if exc is not None:  # the connection died before it became a transport
            log.debug("accepted connection dropped: %s", exc)
            conn.close()

    def _pause_accepting(self) -> None:
        if self._serving:
            self.loop.remove_reader(self.sock.fileno())
            self._serving = False
        self._pause = self.loop.call_later(PAUSE_ON_ERROR, self._resume)

    def _resume(self) -> None:
        self._pause = None
        self.start()
