"""One TCP connection of a BGP session, as an asyncio protocol.

The protocol does no BGP work: it hands received bytes to its owner (the peer runner,
which feeds the pure session) and tells the owner when the transport can take more
bytes, so that output stays pull-based (``pause_writing`` / ``resume_writing``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterable
from typing import Protocol, cast

log = logging.getLogger("bgprr.io")

_conn_ids = itertools.count(1)

# Transport write buffer limits: above HIGH the peer is "not writable" and nothing more is
# pulled from the engine for it; pulling resumes once the buffer drains below LOW.
WRITE_HIGH = 256 * 1024
WRITE_LOW = 64 * 1024
# A closed connection whose peer reads nothing never flushes: it is aborted after this.
CLOSE_LINGER = 10.0


class ConnectionOwner(Protocol):
    def on_data(self, conn: BGPConnection, data: bytes) -> None: ...
    def on_lost(self, conn: BGPConnection, exc: Exception | None) -> None: ...
    def on_writable(self, conn: BGPConnection) -> None: ...
    def on_blocked(self, conn: BGPConnection) -> None: ...


class BGPConnection(asyncio.Protocol):
    """An asyncio protocol bound to an owner once the peer is known."""

    def __init__(
        self,
        *,
        inbound: bool,
        on_accept: Callable[[BGPConnection], None] | None = None,
    ) -> None:
        self.conn_id = next(_conn_ids)
        self.inbound = inbound
        self.owner: ConnectionOwner | None = None
        self.transport: asyncio.Transport | None = None
        self.writable = True
        self.closed = False
        self.lost = False  # connection_lost came: the socket is gone
        self.peer_address = ""
        self.peer_port = 0
        self.local_address = ""
        self._on_accept = on_accept
        self._early: list[bytes] = []

    # asyncio callbacks ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.set_write_buffer_limits(high=WRITE_HIGH, low=WRITE_LOW)
        peer = transport.get_extra_info("peername") or ("", 0)
        local = transport.get_extra_info("sockname") or ("", 0)
        self.peer_address = _unmap(str(peer[0]))
        self.peer_port = int(peer[1])
        self.local_address = _unmap(str(local[0]))
        if self._on_accept is not None:
            self._on_accept(self)

    def data_received(self, data: bytes) -> None:
        if self.owner is None:
            self._early.append(data)
            return
        self.owner.on_data(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = True
        _drop_self_reference(self.transport)
        if self.owner is not None:
            self.owner.on_lost(self, exc)

    def pause_writing(self) -> None:
        self.writable = False
        if self.owner is not None:
            self.owner.on_blocked(self)

    def resume_writing(self) -> None:
        self.writable = True
        if self.owner is not None:
            self.owner.on_writable(self)

    # used by the owner ----------------------------------------------------------------
    def attach(self, owner: ConnectionOwner) -> None:
        self.owner = owner
        early, self._early = self._early, []
        for chunk in early:
            owner.on_data(self, chunk)

    def detach(self, unread: list[bytes]) -> None:
        """No owner any more; ``unread``: bytes the owner took but did not use, which the
        next :meth:`attach` replays first."""
        self.owner = None
        self._early = unread + self._early

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def writelines(self, chunks: Iterable[bytes]) -> None:
        if self.transport is not None and not self.closed:
            self.transport.writelines(chunks)

    def buffered(self) -> int:
        if self.transport is None:
            return 0
        return self.transport.get_write_buffer_size()

    def close(self) -> None:
        """Close after flushing what is buffered (a NOTIFICATION must get out); aborted
        if that has not happened after CLOSE_LINGER seconds (a peer that reads nothing
        would otherwise keep the socket forever)."""
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()
            if not self.lost and self.transport.get_write_buffer_size():
                asyncio.get_running_loop().call_later(CLOSE_LINGER, self._linger_expired)

    def _linger_expired(self) -> None:
        if not self.lost and self.transport is not None:
            log.info(
                "connection %s: unflushed %d s after close, aborted",
                self.peer_address,
                CLOSE_LINGER,
            )
            self.transport.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.closed = True
            self.transport.abort()


def _drop_self_reference(transport: asyncio.BaseTransport | None) -> None:
    """asyncio's socket transport (CPython 3.11) keeps a bound method of itself
    (``_read_ready_cb``), a reference cycle that outlives the connection until a full
    collection, which the daemon runs rarely (bgprr.app.tune_gc): drop it once the
    connection is gone, so that reference counting frees the transport and its socket
    object. uvloop's transports have no such attribute."""
    if transport is not None and getattr(transport, "_read_ready_cb", None) is not None:
        transport._read_ready_cb = None  # type: ignore[attr-defined]


def _unmap(address: str) -> str:
    """``::ffff:10.0.0.1`` (an IPv4 peer on a dual-stack socket) -> ``10.0.0.1``."""
    if address.startswith("::ffff:") and "." in address:
        return address[7:]
    return address
