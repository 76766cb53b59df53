"""The bookkeeping under :class:`~bgprr.session.fsm.Session`: its connections and outputs.

:class:`SessionCore` holds a session's state (the FSM's connection, a colliding second
one, the timers, the queued outputs, the message counters) and the steps that the
RFC 4271 §8 handlers of :mod:`bgprr.session.fsm` are made of: send and close on a
connection, change state, dial and abort a dial, end the session (SessionDown, graceful
or not: RFC 4724, RFC 8538), go Idle with the IdleHoldTimer back-off
(DampPeerOscillations).

Whatever fires a transition (the table, failing over to the second connection after a
collision) lives with the handlers in :mod:`bgprr.session.fsm`; this module imports
nothing of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bgprr.wire.attrcheck import ScanCache
from bgprr.wire.constants import MsgType
from bgprr.wire.errors import BGPError, CeaseSub, ErrorCode
from bgprr.wire.framer import Framer
from bgprr.wire.messages import Notification, Open, RouteRefresh, encode_message
from bgprr.wire.update import Update

from .config import SessionConfig
from .events import (
    AbortConnect,
    Close,
    Connect,
    Output,
    Send,
    SessionDown,
    State,
    StateChanged,
)
from .negotiate import Negotiated, build_open, keep_outbound
from .timers import Timer, Timers


@dataclass(slots=True, eq=False)
class _Conn:
    conn_id: int
    inbound: bool
    framer: Framer
    lost: bool = False
    local: bytes = b""  # our address on this connection, packed (4 or 16 octets), if known
    open_sent: bool = False  # our OPEN already went out on it (the host wrote it)


# Internal and short-lived (one per event, never shared or hashed): a plain slotted class
# is cheaper to build than a frozen one, whose __init__ goes through object.__setattr__.
@dataclass(slots=True, kw_only=True, eq=False)
class _Arg:
    conn: _Conn | None = None
    message: Open | Update | RouteRefresh | Notification | None = None
    error: BGPError | None = None


def _notification(err: BGPError) -> Notification:
    return Notification(code=err.code, subcode=err.subcode, data=err.data)


def _collision() -> Notification:
    return Notification(code=ErrorCode.CEASE, subcode=CeaseSub.CONNECTION_COLLISION_RESOLUTION)


class SessionCore:
    """A session's state and the steps its FSM handlers are made of; no transitions."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.local_open = build_open(config)
        self.connect_retry_counter = 0
        self._open_bytes = encode_message(self.local_open)
        self._state = State.IDLE
        self._out: list[Output] = []
        self._timers = Timers()
        self._conn: _Conn | None = None  # the connection the FSM runs on
        self._alt: _Conn | None = None  # a colliding second connection, in OpenSent
        self._alt_open: Open | None = None  # its OPEN, kept while the collision waits
        self._silent: _Conn | None = None  # inbound main connection, nothing received yet
        self._connecting = False  # an outbound attempt is in progress
        self._auto = False  # AllowAutomaticStart: restart after the IdleHoldTimer
        self._flaps = 0  # consecutive session flaps (DampPeerOscillations)
        # Messages received on the session's connection, by type code (for counters).
        self.received: dict[int, int] = {}
        # Messages queued for sending on any of its connections, by type code.
        self.sent: dict[int, int] = {}
        self._established_at: float | None = None
        self._negotiated: Negotiated | None = None
        self._scans: ScanCache | None = None  # attribute scans of this negotiation
        self._own = b""  # our address on the established connection (RFC 4271 §6.3)
        self._stop_notification: Notification | None = None  # for Manual/AutomaticStop
        self._last_keepalive = float("-inf")

    # ------------------------------------------------------------------ helpers

    def _find(self, conn_id: int) -> _Conn | None:
        for conn in (self._conn, self._alt):
            if conn is not None and conn.conn_id == conn_id:
                return conn
        return None

    def _main_wins(self, main: _Conn, neg: Negotiated) -> bool:
        cfg = self.config
        keep_out = keep_outbound(cfg.router_id, cfg.local_as, neg.peer_id, neg.peer_as)
        return keep_out != main.inbound

    def _emit(self, out: Output) -> None:
        self._out.append(out)

    def _set_state(self, new: State, reason: str) -> None:
        old = self._state
        if new is not old:
            self._state = new
            self._emit(StateChanged(old=old, new=new, reason=reason))

    @property
    def open_bytes(self) -> bytes:
        """Our OPEN message, encoded (what ``connection_made(open_sent=True)`` assumes
        the host wrote)."""
        return self._open_bytes

    def _send_open(self, conn: _Conn) -> None:
        if conn.open_sent:  # the host wrote it: counted, not sent again
            self.sent[MsgType.OPEN] = self.sent.get(MsgType.OPEN, 0) + 1
        else:
            self._send(conn, self._open_bytes)

    def _send(self, conn: _Conn, data: bytes) -> None:
        if not conn.lost:
            mtype = data[18]
            self.sent[mtype] = self.sent.get(mtype, 0) + 1
            self._emit(Send(conn_id=conn.conn_id, data=data))

    def _restart_keepalive(self, now: float) -> None:
        neg = self._negotiated
        if neg is not None and neg.keepalive:
            self._timers.start(Timer.KEEPALIVE, now, neg.keepalive)

    def _close(
        self, conn: _Conn, notification: Notification | None, *, abort: bool = False
    ) -> None:
        if not conn.lost:
            if notification is not None:
                self._send(conn, encode_message(notification))
            self._emit(Close(conn_id=conn.conn_id, abort=abort))

    def _drop_alt(self, notification: Notification | None) -> None:
        alt = self._alt
        if alt is not None:
            self._alt = self._alt_open = None
            self._timers.stop(Timer.ALT_HOLD)
            self._close(alt, notification)

    def _abort_connect(self) -> None:
        if self._connecting:
            self._connecting = False
            self._emit(AbortConnect())

    def _connect(self, now: float) -> None:
        self._abort_connect()
        self._connecting = True
        self._emit(Connect())
        self._timers.start(Timer.CONNECT_RETRY, now, self.config.connect_retry)

    def _hard(self, n: Notification, *, hard: bool) -> Notification:
        """Wrap a Cease in Hard Reset (RFC 8538 §3) when the N bit was negotiated."""
        neg = self._negotiated
        if not (hard and neg and neg.gr_notification and n.code == ErrorCode.CEASE):
            return n
        if n.subcode == CeaseSub.HARD_RESET:
            return n
        return Notification(
            code=ErrorCode.CEASE, subcode=CeaseSub.HARD_RESET, data=bytes([n.subcode]) + n.data
        )

    def _graceful(self, sent: Notification | None, received: Notification | None) -> bool:
        neg = self._negotiated
        if self._state is not State.ESTABLISHED or neg is None or neg.peer_gr is None:
            return False
        n = sent if sent is not None else received
        if n is None:
            return True
        hard = n.code == ErrorCode.CEASE and n.subcode == CeaseSub.HARD_RESET
        return neg.gr_notification and not hard

    def _end_main(
        self,
        now: float,
        reason: str,
        *,
        sent: Notification | None = None,
        received: Notification | None = None,
        graceful: bool | None = None,
        abort: bool = False,
    ) -> bool:
        """Close the FSM's connection (sending ``sent``; aborted when ``abort`` or while
        the connection takes no data); SessionDown if it was up. Returns whether that
        SessionDown was graceful."""
        up = self._state is State.ESTABLISHED
        if up:
            if graceful is None:
                graceful = self._graceful(sent, received)
            self._emit(
                SessionDown(
                    reason=reason,
                    notification_sent=sent,
                    notification_received=received,
                    graceful=graceful,
                )
            )
            since = self._established_at
            if since is not None and now - since >= self.config.idle_hold_reset:
                self._flaps = 0
            self._established_at = None
        if self._conn is not None:
            # a connection that takes no data will not flush a NOTIFICATION: abort it
            abort = abort or self._timers.running(Timer.SEND_HOLD)
            self._close(self._conn, sent, abort=abort)
            self._conn = None
        self._negotiated = self._scans = None
        self._timers.stop(Timer.HOLD)
        self._timers.stop(Timer.KEEPALIVE)
        self._timers.stop(Timer.SEND_HOLD)
        return up and bool(graceful)

    def _idle_hold_delay(self, flap: bool) -> float:
        """DampPeerOscillations: the first flap of an Established session restarts at once
        (a peer whose session dropped once, e.g. every node after a network blip,
        reconnects without waiting); a failed connection attempt, and each further
        consecutive flap, waits idle_hold_time, doubled per flap, up to idle_hold_max."""
        cfg = self.config
        if flap and self._flaps == 1:
            return 0.0
        return min(cfg.idle_hold_time * (1 << max(self._flaps - 2, 0)), cfg.idle_hold_max)

    def _enter_idle(self, now: float, reason: str, *, flap: bool, graceful: bool = False) -> None:
        """Go Idle; restart after the IdleHoldTimer unless stopped. After a graceful
        SessionDown the restart is immediate: the restarting peer must find us listening
        well within its Restart Time (the flap still counts for later back-off)."""
        self._timers.stop(Timer.CONNECT_RETRY)
        self._abort_connect()
        if flap:
            self._flaps += 1
        if self._auto:
            delay = 0.0 if graceful else self._idle_hold_delay(flap)
            self._timers.start(Timer.IDLE_HOLD, now, delay)
        self._set_state(State.IDLE, reason)

    def _restart_hold(self, now: float) -> None:
        neg = self._negotiated
        if neg is not None and neg.hold_time:
            self._timers.start(Timer.HOLD, now, neg.hold_time)
