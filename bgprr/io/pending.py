"""Connections from a dynamic range, held cheaply until the peer's first message.

A connection from a ``[[dynamic-neighbors]]`` range used to become a dynamic neighbor (a
session runner, its engine state and policy chains: about 4 KB, plus a timer) the moment
it was accepted. In a flood of connections that never speak, every one of them did, for
the 15 s a silent connection is allowed (``SILENT_OPEN_TIME``) and the minute before a
neighbor that went down is removed (``DYNAMIC_LINGER``); and the few objects that outlived
them kept CPython's allocator arenas mapped (docs/reliability.md, "What holds the
plateau").

Now such a connection waits here, as a few small objects, until its first message has
arrived (the header; for an OPEN, the whole message):

* our OPEN goes out at once, as before: a BGP speaker (DelayOpen or not) answers within a
  round trip. The OPEN is the same for every member of a range, so the daemon encodes it
  once per range;
* a whole OPEN that the range's session settings accept (``negotiate``, the session's
  own check) hands the connection, with the bytes read so far, to ``promote``, which
  creates the dynamic neighbor; its session starts with our OPEN counted as sent
  (``connection_made(open_sent=True)``): the wire sees what it saw before;
* anything else gets here what the session in OpenSent would have answered, and the
  connection is closed with no neighbor: a header error its NOTIFICATION (1/1, 1/2 with
  the length, 1/3 with the type), an OPEN the session would refuse its 2/x (a wrong peer
  AS, a bad BGP identifier or hold time...), a NOTIFICATION nothing, another message a
  Finite State Machine Error (5/1, RFC 6608);
* nothing, or no whole OPEN, within ``silent`` seconds (``SILENT_OPEN_TIME``):
  NOTIFICATION Hold Timer Expired (4/0), closed, as the session's own silent-connection
  rule did (a speaker sends its OPEN in one piece; one that trickles it is not given the
  4 minutes of OpenSent).

Every refusal goes to ``note(reason, address)`` (the daemon's refusal log and counters;
an OPEN error's reason names its code and subcode, ``OPEN error 2/2``).
One timer serves every waiting connection (they expire in the order they came, checked
at most every ``SWEEP_INTERVAL`` seconds), not one timer per connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bgprr.session import negotiate
from bgprr.wire.constants import HEADER_LEN, MsgType
from bgprr.wire.errors import BGPError, ErrorCode, FsmSub
from bgprr.wire.messages import Notification, Open, check_header, decode_message, encode_message

from . import settings
from .connection import BGPConnection
from .settings import RangeHello

log = logging.getLogger("bgprr")

#: Seconds between two looks for silent connections (so they are closed after
#: ``silent`` .. ``silent + SWEEP_INTERVAL`` seconds).
SWEEP_INTERVAL = 0.5

HEADER_ERROR = "message header error before OPEN"
UNEXPECTED = "other message before OPEN"
SILENT = "silent after our OPEN"

#: promote(connection, range prefix, the OPEN written on it, the bytes read so far)
Promote = Callable[[BGPConnection, str, bytes, list[bytes]], None]


class _Waiting:
    """One held connection: the owner its protocol reports to until it is promoted."""

    __slots__ = ("conn", "data", "deadline", "hello", "pending", "prefix", "size")

    def __init__(
        self,
        pending: PendingOpens,
        conn: BGPConnection,
        prefix: str,
        hello: RangeHello,
        deadline: float,
    ) -> None:
        self.pending = pending
        self.conn = conn
        self.prefix = prefix
        self.hello = hello
        self.deadline = deadline
        self.data: list[bytes] = []
        self.size = 0

    def on_data(self, conn: BGPConnection, data: bytes) -> None:
        self.pending._data(self, data)

    def on_lost(self, conn: BGPConnection, exc: Exception | None) -> None:
        self.pending._remove(self)

    def on_writable(self, conn: BGPConnection) -> None:
        """Nothing waits to be written."""

    def on_blocked(self, conn: BGPConnection) -> None:
        """Our OPEN is all there is; the connection is closed if the peer stays silent."""


class PendingOpens:
    """The dynamic-range connections whose first message has not come yet."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        promote: Promote,
        note: Callable[[str, str], None],
        silent: float | None = None,
    ) -> None:
        self.loop = loop
        self.promote = promote
        self.note = note
        self.silent = silent  # None: settings.SILENT_OPEN_TIME (read when one comes)
        self.held = 0  # connections held since start
        self._waiting: dict[int, _Waiting] = {}  # conn_id -> held, in arrival order
        self._per_range: dict[str, int] = {}
        self._handle: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def count(self, prefix: str) -> int:
        """Connections of the range ``prefix`` waiting now."""
        return self._per_range.get(prefix, 0)

    def add(self, conn: BGPConnection, prefix: str, hello: RangeHello) -> None:
        """Hold ``conn`` (from the range ``prefix``): write our OPEN (``hello``) and wait
        for the peer's first message."""
        silent = settings.SILENT_OPEN_TIME if self.silent is None else self.silent
        w = _Waiting(self, conn, prefix, hello, self.loop.time() + silent)
        self._waiting[conn.conn_id] = w
        self._per_range[prefix] = self._per_range.get(prefix, 0) + 1
        self.held += 1
        conn.write(hello.open_bytes)
        conn.attach(w)
        if self._handle is None:
            self._arm()

    def close(self) -> None:
        """Abort every waiting connection (the daemon stops)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        for w in list(self._waiting.values()):
            self._remove(w)
            w.conn.abort()

    def _remove(self, w: _Waiting) -> bool:
        if self._waiting.pop(w.conn.conn_id, None) is None:
            return False
        w.conn.owner = None  # no cycle left (bytes still coming wait in the connection)
        left = self._per_range[w.prefix] - 1
        if left:
            self._per_range[w.prefix] = left
        else:
            del self._per_range[w.prefix]
        return True

    def _data(self, w: _Waiting, data: bytes) -> None:
        if w.conn.conn_id not in self._waiting:
            return
        w.data.append(data)
        w.size += len(data)
        if w.size < HEADER_LEN:
            return
        if len(w.data) > 1:
            w.data = [b"".join(w.data)]
        head = w.data[0]
        try:
            length, mtype = check_header(head)
            if mtype == MsgType.OPEN and w.size < length:
                return  # the rest of the OPEN first
            if mtype == MsgType.OPEN:
                peer = decode_message(head[:length])
                assert isinstance(peer, Open)
                negotiate(w.hello.config, w.hello.local, peer)
        except BGPError as err:
            self._remove(w)
            self._refuse(w, Notification(code=err.code, subcode=err.subcode, data=err.data))
            header = err.code == ErrorCode.MESSAGE_HEADER
            reason = HEADER_ERROR if header else f"OPEN error {err.code}/{err.subcode}"
            self.note(reason, w.conn.peer_address)
            log.debug("connection from %s: %s", w.conn.peer_address, err)
            return
        self._remove(w)
        if mtype == MsgType.OPEN:
            self.promote(w.conn, w.prefix, w.hello.open_bytes, w.data)
        elif mtype == MsgType.NOTIFICATION:  # as in OpenSent: closed, nothing sent
            w.conn.close()
            self.note(UNEXPECTED, w.conn.peer_address)
        else:  # as in OpenSent: Finite State Machine Error (RFC 6608)
            self._refuse(w, Notification(code=ErrorCode.FSM, subcode=FsmSub.UNEXPECTED_IN_OPENSENT))
            self.note(UNEXPECTED, w.conn.peer_address)

    def _refuse(self, w: _Waiting, n: Notification) -> None:
        w.conn.write(encode_message(n))
        w.conn.close()

    def _arm(self) -> None:
        first = next(iter(self._waiting.values()), None)
        if first is None:
            return
        when = max(first.deadline, self.loop.time() + SWEEP_INTERVAL)
        self._handle = self.loop.call_at(when, self._sweep)

    def _sweep(self) -> None:
        self._handle = None
        now = self.loop.time()
        expired = Notification(code=ErrorCode.HOLD_TIMER_EXPIRED, subcode=0)
        while self._waiting:
            w = next(iter(self._waiting.values()))
            if w.deadline > now:
                break
            self._remove(w)
            self._refuse(w, expired)
            self.note(SILENT, w.conn.peer_address)
        self._arm()
