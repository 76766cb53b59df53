"""The pure per-peer BGP session: RFC 4271 §8 FSM with connection collision handling.

A :class:`Session` owns no socket and no clock: the IO layer feeds it calls, each with
``now`` (monotonic seconds), and after every call drains ``poll()`` and acts on each
output in order (the outputs and what to do with them: :mod:`bgprr.session.events`).

The calls, and an example of the IO side: :mod:`bgprr.session`. This module holds the
public calls, the dispatch and the handlers that the rows of :mod:`bgprr.session.table`
name; the connection bookkeeping they are built from is :mod:`bgprr.session.core`.

Transitions are the table :data:`TRANSITIONS` keyed by ``(State, Event)``. In Idle,
Connect and Active every event has a row (RFC 4271 lists "any other event" there); in
OpenSent, OpenConfirm and Established an event without a row is a Finite State Machine
Error: NOTIFICATION 5/1, 5/2 or 5/3 (RFC 6608), then Idle.

Choices within the RFC (optional session attributes): AllowAutomaticStart after
anything but ManualStop; DampPeerOscillations (IdleHold back-off, see SessionConfig);
PassiveTcpEstablishment from the config (no ConnectRetryTimer while passive); no
DelayOpen; SendNOTIFICATIONwithoutOPEN on (refused connections get 6/5 or 6/7);
CollisionDetectEstablishedState off: a new connection while Established is closed with
Cease / Connection Collision Resolution (6/7) even when the peer negotiated Graceful
Restart (taking it over as a restart, as BIRD does, flaps a healthy session whenever
both sides connect at once); instead a KEEPALIVE is sent at once on the Established
connection: if the peer really restarted, its host answers with a TCP reset and the
old session ends (gracefully under GR) within a round trip. Deviations: a NOTIFICATION
received in OpenSent is not answered with an FSM error (as in OpenConfirm); a header
error in Established gets its 1/x (RFC 4271 §6.1), not 5/3; a failed outbound connect in
Connect goes to Active (the DelayOpen branch, as BIRD does), not Idle, so the peer's own
connection is accepted while we wait for the ConnectRetryTimer.

Connection collision (RFC 4271 §6.8, RFC 6286): while a connection is in OpenSent or
OpenConfirm, a second one is tracked (we send our OPEN on it, 4-minute hold). When the
first OPEN arrives on either connection, the peer's BGP Identifier is known and the
collision is resolved: the connection opened by the speaker with the higher Identifier
(then the higher AS) survives, the other gets Cease 6/7. If the surviving connection's
OPEN has not arrived yet, the session is back in OpenSent on it.

One case waits instead of resolving at once: the losing connection is in OpenConfirm.
We have sent our KEEPALIVE on it, so the peer may already be Established there, and a
Cease on an Established session ends it: both connections die, and a peer that was
keeping our routes under graceful restart (BIRD, as Calico runs it) flushes them. The
peer resolves it for us within a round trip: it either closes that connection (6/7: we
go on with the second one, whose OPEN we kept) or, Established there, closes the second
one and sends its KEEPALIVE on the first (we become Established on it). A KEEPALIVE on
the second connection, or ``collision_wait`` seconds without either, resolves it as
RFC 4271 says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

from bgprr.wire.attrcheck import ScanCache
from bgprr.wire.constants import MsgType
from bgprr.wire.errors import BGPError, CeaseSub, ErrorCode, FsmSub
from bgprr.wire.framer import Framer
from bgprr.wire.messages import (
    Keepalive,
    Notification,
    Open,
    RouteRefresh,
    decode_message,
    encode_message,
    make_shutdown_notification,
)
from bgprr.wire.update import Update, decode_update

from .core import SessionCore, _Arg, _collision, _Conn, _notification
from .events import (
    ERROR_EVENTS,
    FSM_SUBCODES,
    MESSAGE_EVENTS,
    TIMER_EVENTS,
    Established,
    Event,
    Output,
    RouteRefreshReceived,
    SendMany,
    State,
    UpdateReceived,
    describe_notification,
)
from .negotiate import Negotiated, negotiate
from .table import Row, build_rows
from .timers import Timer

_KEEPALIVE = Keepalive()
_TYPE_OCTET = itemgetter(18)  # a message's type, after the marker and the length
_UPDATE = int(MsgType.UPDATE)


class Session(SessionCore):
    """One configured BGP neighbor (see the module docstring for the IO contract)."""

    # ------------------------------------------------------------------ public API

    @property
    def state(self) -> State:
        return self._state

    @property
    def negotiated(self) -> Negotiated | None:
        """The OPEN negotiation outcome, from OpenConfirm on."""
        return self._negotiated

    @property
    def conn_id(self) -> int | None:
        """The connection the FSM runs on (the Established one, once up)."""
        return None if self._conn is None else self._conn.conn_id

    def poll(self) -> list[Output]:
        """Take the queued outputs, oldest first."""
        out, self._out = self._out, []
        return out

    def next_timer(self) -> float | None:
        """The earliest deadline (``now`` units) at which ``handle_timer`` must run."""
        return self._timers.next_deadline()

    def deadline(self, timer: Timer) -> float | None:
        """When ``timer`` expires, or ``None`` if it is not running (for show / tests)."""
        return self._timers.deadline(timer)

    def handle_timer(self, now: float) -> None:
        """Fire the timers due at ``now``. A timer (re)started while handling them fires on
        a later call, even with a zero delay (``next_timer()`` then tells the IO layer)."""
        for deadline, timer in self._timers.expired(now):
            if not self._timers.pop_if(timer, deadline):
                continue
            if timer is Timer.ALT_HOLD:
                if self._alt_open is not None:  # the peer did not resolve the collision
                    self._fire(now, Event.OPEN_COLLISION_DUMP, _Arg(conn=self._conn))
                elif self._alt is not None:
                    n = Notification(code=ErrorCode.HOLD_TIMER_EXPIRED, subcode=0)
                    self._drop_alt(n)
            else:
                self._fire(now, TIMER_EVENTS[timer])

    def start(self, now: float) -> None:
        """ManualStart (ManualStart_with_PassiveTcpEstablishment when passive)."""
        self._auto = True
        self._timers.stop(Timer.IDLE_HOLD)
        passive = self.config.passive
        self._fire(now, Event.MANUAL_START_PASSIVE if passive else Event.MANUAL_START)

    def stop(self, now: float, notification: Notification | None = None) -> None:
        """ManualStop: NOTIFICATION (default Cease / Administrative Shutdown) on any open
        connection, then Idle with no automatic restart."""
        self._auto = False
        self._flaps = 0
        self._timers.stop(Timer.IDLE_HOLD)
        if notification is None:
            notification = make_shutdown_notification(CeaseSub.ADMINISTRATIVE_SHUTDOWN, "")
        self._stop_notification = self._hard(notification, hard=True)
        self._fire(now, Event.MANUAL_STOP)

    def reset(
        self, now: float, notification: Notification | None = None, *, hard: bool = True
    ) -> None:
        """AutomaticStop (e.g. prefix limit, operator reset): NOTIFICATION (default Cease /
        Administrative Reset), Idle, automatic restart after the IdleHoldTimer. With the
        N bit negotiated, ``hard=False`` lets the peer keep our routes (RFC 8538)."""
        if notification is None:
            notification = make_shutdown_notification(CeaseSub.ADMINISTRATIVE_RESET, "")
        self._stop_notification = self._hard(notification, hard=hard)
        self._fire(now, Event.AUTOMATIC_STOP)

    def connection_made(
        self,
        conn_id: int,
        now: float,
        inbound: bool,
        local_address: bytes = b"",
        *,
        open_sent: bool = False,
    ) -> None:
        """A TCP connection with the peer; ``local_address``: our end's address, packed
        (routes whose next hop is that address are ignored, RFC 4271 §6.3).
        ``open_sent``: the host already wrote :attr:`open_bytes` on this connection (an
        inbound connection it held before the session existed); it is not sent again."""
        if not inbound:
            self._connecting = False
        conn = _Conn(
            conn_id=conn_id, inbound=inbound, framer=Framer(), local=local_address,
            open_sent=open_sent,
        )  # fmt: skip
        event = Event.TCP_CONNECTION_CONFIRMED if inbound else Event.TCP_CR_ACKED
        self._fire(now, event, _Arg(conn=conn))

    def connection_failed(self, conn_id: int, now: float) -> None:
        """The outbound attempt asked for by ``Connect`` failed."""
        if self._connecting:
            self._connecting = False
            self._fire(now, Event.TCP_CONNECTION_FAILS)

    def connection_lost(self, conn_id: int, now: float) -> None:
        if self._alt is not None and self._alt.conn_id == conn_id:
            self._alt.lost = True
            self._drop_alt(None)
        elif self._conn is not None and self._conn.conn_id == conn_id:
            self._conn.lost = True
            self._fire(now, Event.TCP_CONNECTION_FAILS, _Arg(conn=self._conn))

    def data_received(self, conn_id: int, data: bytes, now: float) -> None:
        conn = self._find(conn_id)
        if conn is None:
            return
        if conn is self._silent:  # first bytes: the usual OpenSent hold time from now
            self._silent = None
            if self._state is State.OPENSENT:
                self._timers.start(Timer.HOLD, now, self.config.open_hold_time)
        conn.framer.feed(data)
        while conn is self._conn or conn is self._alt:
            try:
                raw = conn.framer.next_message()
            except BGPError as err:
                if conn is self._alt:
                    self._drop_alt(_notification(err))
                else:
                    self._fire(now, Event.BGP_HEADER_ERR, _Arg(conn=conn, error=err))
                return
            if raw is None:
                return
            if conn is self._alt:
                self._alt_message(now, conn, raw)
            else:
                self._message(now, conn, raw)

    def send_updates(self, msgs: Sequence[bytes], now: float) -> bool:
        """Queue encoded messages from the engine (UPDATEs, and the RFC 7313 BoRR/EoRR
        ROUTE-REFRESH markers of a table resend) on the Established connection, in order,
        as one :class:`SendMany` output holding ``msgs`` itself (no copy: the caller hands
        the sequence over and must not change it). Each message sent restarts the
        KeepaliveTimer (RFC 4271 §4.4, §10). Returns False, queueing nothing, unless
        Established."""
        conn, neg = self._conn, self._negotiated
        if self._state is not State.ESTABLISHED or conn is None or neg is None or not msgs:
            return False
        sent = self.sent
        if neg.enhanced_route_refresh:
            # BoRR/EoRR markers may be among them (RFC 7313 §4): count each type, in C.
            types = bytes(map(_TYPE_OCTET, msgs))
            for mtype in set(types):
                sent[mtype] = sent.get(mtype, 0) + types.count(mtype)
        else:  # without Enhanced Route Refresh the engine sends UPDATEs only
            sent[_UPDATE] = sent.get(_UPDATE, 0) + len(msgs)
        self._out.append(SendMany(conn_id=conn.conn_id, messages=msgs))
        if neg.keepalive:
            self._timers.start(Timer.KEEPALIVE, now, neg.keepalive)
        return True

    def send_route_refresh(self, afi: int, safi: int, now: float, subtype: int = 0) -> bool:
        """Queue a ROUTE-REFRESH for ``(afi, safi)`` (RFC 2918; ``subtype`` per RFC 7313).
        Returns False, queueing nothing, unless Established with the peer's Route Refresh
        capability (Enhanced Route Refresh for a non-zero ``subtype``) and the family
        negotiated (RFC 2918 §3, RFC 7313 §4)."""
        conn, neg = self._conn, self._negotiated
        if self._state is not State.ESTABLISHED or conn is None or neg is None:
            return False
        able = neg.enhanced_route_refresh if subtype else neg.route_refresh
        if not able or (afi, safi) not in neg.families:
            return False
        self._send(conn, encode_message(RouteRefresh(afi=afi, safi=safi, subtype=subtype)))
        self._restart_keepalive(now)
        return True

    def write_blocked(self, conn_id: int, now: float) -> None:
        """The connection stopped taking data (its write buffer is full). RFC 9687: in
        Established the SendHoldTimer runs until :meth:`write_resumed`; when it expires
        the session ends with Send Hold Timer Expired (8) and the connection is aborted."""
        conn, neg = self._conn, self._negotiated
        if self._state is not State.ESTABLISHED or conn is None or conn.conn_id != conn_id:
            return
        if neg is None or self._timers.running(Timer.SEND_HOLD):
            return
        seconds = self.config.send_hold_time
        if seconds is None:
            if not neg.hold_time:
                return  # RFC 9687: no hold time negotiated, no SendHoldTimer
            seconds = max(480.0, 2.0 * neg.hold_time)
        if seconds:
            self._timers.start(Timer.SEND_HOLD, now, seconds)

    def write_resumed(self, conn_id: int, now: float) -> None:
        """The connection takes data again: the SendHoldTimer stops."""
        if self._conn is not None and self._conn.conn_id == conn_id:
            self._timers.stop(Timer.SEND_HOLD)

    # ------------------------------------------------------------------ dispatch

    def _fire(self, now: float, event: Event, arg: _Arg | None = None) -> None:
        row = TRANSITIONS.get((self._state, event))
        if row is None:
            self._fsm_error(now, event)
        else:
            row.handler(self, now, arg or _Arg())

    def _message(self, now: float, conn: _Conn, raw: bytes) -> None:
        mtype = raw[18]
        self.received[mtype] = self.received.get(mtype, 0) + 1
        if self._state is not State.ESTABLISHED:
            if mtype == MsgType.UPDATE:
                return self._fire(now, Event.UPDATE_MSG, _Arg(conn=conn))
            if mtype == MsgType.ROUTE_REFRESH:
                return self._fire(now, Event.ROUTE_REFRESH_MSG, _Arg(conn=conn))
        if mtype == MsgType.OPEN and self._state is not State.OPENSENT:
            return self._fire(now, Event.BGP_OPEN, _Arg(conn=conn))
        neg = self._negotiated
        try:
            if neg is None:
                msg = decode_message(raw)
            elif mtype == MsgType.UPDATE:  # Established, header checked by the framer
                msg = decode_update(
                    raw,
                    as4=neg.as4,
                    addpath=neg.addpath_rx,
                    ibgp=neg.ibgp,
                    cache=self._scans,
                    own=self._own,
                )
            else:
                msg = decode_message(
                    raw, as4=neg.as4, addpath=neg.addpath_rx, ibgp=neg.ibgp, max_len=neg.max_len
                )
        except BGPError as err:
            event = ERROR_EVENTS.get(err.code, Event.BGP_HEADER_ERR)
            return self._fire(now, event, _Arg(conn=conn, error=err))
        kind = MESSAGE_EVENTS.get(type(msg))
        if kind is None:
            assert isinstance(msg, Notification)
            version = msg.code == ErrorCode.OPEN_MESSAGE and msg.subcode == 1
            kind = Event.NOTIF_MSG_VER_ERR if version else Event.NOTIF_MSG
        self._fire(now, kind, _Arg(conn=conn, message=None if isinstance(msg, Keepalive) else msg))

    def _alt_message(self, now: float, alt: _Conn, raw: bytes) -> None:
        """A message on the second connection (its own FSM, in OpenSent)."""
        mtype = raw[18]
        if mtype == MsgType.NOTIFICATION:
            return self._drop_alt(None)
        if self._alt_open is not None:
            # The waiting collision: the peer kept this connection (its KEEPALIVE came).
            self._fire(now, Event.OPEN_COLLISION_DUMP, _Arg(conn=self._conn))
            if self._conn is alt:
                self._message(now, alt, raw)
            return None
        if mtype != MsgType.OPEN:
            return self._drop_alt(Notification(code=ErrorCode.FSM, subcode=1))
        try:
            peer_open = decode_message(raw)
            assert isinstance(peer_open, Open)
            neg = negotiate(self.config, self.local_open, peer_open)
        except BGPError as err:
            return self._drop_alt(_notification(err))
        main = self._conn
        assert main is not None
        # RFC 4271 §6.8: a collision with a connection that reached Established (after the
        # second one was opened, before its OPEN came) always closes the new connection.
        established = self._state is State.ESTABLISHED
        if established or main.inbound == alt.inbound or self._main_wins(main, neg):
            return self._drop_alt(_collision())
        self._alt_open = peer_open
        if self._state is State.OPENCONFIRM:  # the peer may be Established on it: wait
            self._timers.start(Timer.ALT_HOLD, now, self.config.collision_wait)
            return None
        self._fire(now, Event.OPEN_COLLISION_DUMP, _Arg(conn=main))
        return None

    def _promote_alt(self, now: float, reason: str) -> bool:
        """After the FSM's connection ended: continue on the second one, in OpenSent (then
        OpenConfirm at once if its OPEN already came)."""
        alt = self._alt
        if alt is None:
            return False
        pending, self._alt_open = self._alt_open, None
        self._conn, self._alt = alt, None
        if pending is None:
            self._timers.move(Timer.ALT_HOLD, Timer.HOLD)
        else:
            self._timers.stop(Timer.ALT_HOLD)
        self._set_state(State.OPENSENT, reason)
        if pending is not None:
            self._fire(now, Event.BGP_OPEN, _Arg(conn=alt, message=pending))
        return True

    def _fail(
        self,
        now: float,
        reason: str,
        *,
        sent: Notification | None = None,
        received: Notification | None = None,
        abort: bool = False,
    ) -> None:
        """The connection failed (error, NOTIFICATION, hold timer, TCP): Idle, or the
        second connection if one is being tracked."""
        graceful = self._end_main(now, reason, sent=sent, received=received, abort=abort)
        self.connect_retry_counter += 1
        if not self._promote_alt(now, reason):
            self._enter_idle(now, reason, flap=True, graceful=graceful)

    def _fsm_error(self, now: float, event: Event) -> None:
        sub = FSM_SUBCODES.get(self._state, FsmSub.UNSPECIFIED)
        n = Notification(code=ErrorCode.FSM, subcode=sub)
        self._fail(now, f"unexpected {event.name} in {self._state.value}", sent=n)

    # ------------------------------------------------------------------ handlers

    def _ignore(self, now: float, arg: _Arg) -> None:
        pass

    def _refuse(self, now: float, arg: _Arg) -> None:
        assert arg.conn is not None
        self._close(
            arg.conn, Notification(code=ErrorCode.CEASE, subcode=CeaseSub.CONNECTION_REJECTED)
        )

    def _start_connect(self, now: float, arg: _Arg) -> None:
        self.connect_retry_counter = 0
        self._connect(now)
        self._set_state(State.CONNECT, "start")

    def _start_passive(self, now: float, arg: _Arg) -> None:
        self.connect_retry_counter = 0
        self._set_state(State.ACTIVE, "start (passive)")

    def _idle_hold_expired(self, now: float, arg: _Arg) -> None:
        if self._auto:
            passive = self.config.passive
            self._fire(now, Event.AUTOMATIC_START_PASSIVE if passive else Event.AUTOMATIC_START)

    def _stop_unconnected(self, now: float, arg: _Arg) -> None:
        self.connect_retry_counter = 0
        self._enter_idle(now, "stopped", flap=False)

    def _give_up(self, now: float, arg: _Arg) -> None:
        """Connect/Active: TcpConnectionFails and "any other event" lead to Idle."""
        if arg.conn is not None:
            self._close(arg.conn, None)
        self.connect_retry_counter += 1
        self._enter_idle(now, f"gave up in {self._state.value}", flap=False)

    def _connect_failed(self, now: float, arg: _Arg) -> None:
        """Connect: the outbound attempt failed. RFC 4271 goes to Idle here unless
        DelayOpen runs; like BIRD we take the DelayOpen branch: Active, accepting the
        peer's own connection, and retry when the ConnectRetryTimer (still running) fires.
        Idle would refuse the peer's connections for the whole IdleHold time."""
        if arg.conn is not None:
            self._close(arg.conn, None)
        self.connect_retry_counter += 1
        if not self._timers.running(Timer.CONNECT_RETRY):
            self._timers.start(Timer.CONNECT_RETRY, now, self.config.connect_retry)
        self._set_state(State.ACTIVE, "connect failed; retrying after ConnectRetryTime")

    def _retry_connect(self, now: float, arg: _Arg) -> None:
        self._connect(now)
        self._set_state(State.CONNECT, "connect retry")

    def _tcp_up(self, now: float, arg: _Arg) -> None:
        conn = arg.conn
        assert conn is not None
        self._abort_connect()
        self._timers.stop(Timer.CONNECT_RETRY)
        self._conn = conn
        self._send_open(conn)
        hold = self.config.open_hold_time
        silent = self.config.silent_open_time
        if conn.inbound and silent is not None and silent < hold:
            hold = silent
            self._silent = conn
        self._timers.start(Timer.HOLD, now, hold)
        direction = "inbound" if conn.inbound else "outbound"
        self._set_state(State.OPENSENT, f"{direction} connection {conn.conn_id} up")

    def _track_second(self, now: float, arg: _Arg) -> None:
        conn = arg.conn
        assert conn is not None
        if self._alt is not None:
            return self._refuse(now, arg)
        self._alt = conn
        self._send_open(conn)
        self._timers.start(Timer.ALT_HOLD, now, self.config.open_hold_time)

    def _second_while_established(self, now: float, arg: _Arg) -> None:
        """Reject it (6/7). A peer that really restarted finds its old connection gone
        when our next KEEPALIVE draws a reset, so probe with one now (at most 1/s)."""
        assert arg.conn is not None
        self._close(arg.conn, _collision())
        if self._conn is not None and now - self._last_keepalive >= 1.0:
            self._send_keepalive(now, arg)

    def _stop_connected(self, now: float, arg: _Arg) -> None:
        """ManualStop (``stop`` cleared AllowAutomaticStart) or AutomaticStop (``reset``)."""
        manual = not self._auto
        n = self._stop_notification
        self._drop_alt(n)
        graceful = self._end_main(now, "stopped" if manual else "reset", sent=n)
        self.connect_retry_counter = 0 if manual else self.connect_retry_counter + 1
        self._enter_idle(now, "stopped" if manual else "reset", flap=not manual, graceful=graceful)

    def _hold_expired(self, now: float, arg: _Arg) -> None:
        n = Notification(code=ErrorCode.HOLD_TIMER_EXPIRED, subcode=0)
        reason = "hold timer expired"
        if self._silent is not None and self._silent is self._conn:
            reason = f"hold timer expired: nothing received in {self.config.silent_open_time:g} s"
        self._silent = None
        self._fail(now, reason, sent=n)

    def _send_hold_expired(self, now: float, arg: _Arg) -> None:
        n = Notification(code=ErrorCode.SEND_HOLD_TIMER_EXPIRED, subcode=0)
        reason = "send hold timer expired: the peer reads nothing (RFC 9687)"
        self._fail(now, reason, sent=n, abort=True)

    def _send_keepalive(self, now: float, arg: _Arg) -> None:
        if self._conn is not None and self._negotiated is not None:
            self._send(self._conn, encode_message(_KEEPALIVE))
            self._last_keepalive = now
            self._restart_keepalive(now)

    def _opensent_tcp_fails(self, now: float, arg: _Arg) -> None:
        self._end_main(now, "connection lost")
        if self._promote_alt(now, "connection lost"):
            return
        if not self.config.passive:
            self._timers.start(Timer.CONNECT_RETRY, now, self.config.connect_retry)
        self._set_state(State.ACTIVE, "connection lost")

    def _tcp_lost(self, now: float, arg: _Arg) -> None:
        self._fail(now, "connection lost")

    def _notified(self, now: float, arg: _Arg) -> None:
        n = arg.message
        assert isinstance(n, Notification)
        self._fail(now, f"NOTIFICATION received: {describe_notification(n)}", received=n)

    def _error(self, now: float, arg: _Arg) -> None:
        err = arg.error
        assert err is not None
        self._fail(now, f"sent NOTIFICATION: {err.describe()}", sent=_notification(err))

    def _collision_dump(self, now: float, arg: _Arg) -> None:
        reason = "connection collision: dumped"
        self._end_main(now, reason, sent=_collision())
        if not self._promote_alt(now, reason):
            self.connect_retry_counter += 1
            self._enter_idle(now, reason, flap=True)

    def _open_received(self, now: float, arg: _Arg) -> None:
        conn, peer_open = arg.conn, arg.message
        assert conn is not None and isinstance(peer_open, Open)
        try:
            neg = negotiate(self.config, self.local_open, peer_open)
        except BGPError as err:
            return self._fire(now, Event.BGP_OPEN_MSG_ERR, _Arg(conn=conn, error=err))
        if self._alt is not None:
            if self._alt.inbound != conn.inbound and not self._main_wins(conn, neg):
                return self._fire(now, Event.OPEN_COLLISION_DUMP, _Arg(conn=conn))
            self._drop_alt(_collision())
        self._timers.stop(Timer.CONNECT_RETRY)
        self._negotiated = neg
        self._own = conn.local
        self._scans = ScanCache(
            as4=neg.as4, ibgp=neg.ibgp, own=conn.local if len(conn.local) == 4 else b""
        )
        conn.framer.max_len = neg.max_len
        self._send(conn, encode_message(_KEEPALIVE))
        if neg.keepalive:
            self._timers.start(Timer.KEEPALIVE, now, neg.keepalive)
        if neg.hold_time:
            self._timers.start(Timer.HOLD, now, neg.hold_time)
        else:
            self._timers.stop(Timer.HOLD)
        self._set_state(State.OPENCONFIRM, "OPEN received")

    def _establish(self, now: float, arg: _Arg) -> None:
        conn, neg = self._conn, self._negotiated
        assert conn is not None and neg is not None
        if self._alt_open is not None:  # the waiting collision: the peer kept this one
            self._drop_alt(_collision())
        self._restart_hold(now)
        self._established_at = now
        self._set_state(State.ESTABLISHED, "KEEPALIVE received")
        self._emit(Established(conn_id=conn.conn_id, negotiated=neg))

    def _keepalive_received(self, now: float, arg: _Arg) -> None:
        self._restart_hold(now)

    def _update_received(self, now: float, arg: _Arg) -> None:
        assert isinstance(arg.message, Update)
        self._restart_hold(now)
        self._emit(UpdateReceived(update=arg.message))

    def _route_refresh_received(self, now: float, arg: _Arg) -> None:
        rr, neg = arg.message, self._negotiated
        assert isinstance(rr, RouteRefresh) and neg is not None
        self._restart_hold(now)
        # RFC 2918 §4: ignore families not negotiated; RFC 7313 §5: ignore unknown subtypes.
        if (rr.afi, rr.safi) in neg.families and rr.subtype <= 2:
            self._emit(RouteRefreshReceived(afi=rr.afi, safi=rr.safi, subtype=rr.subtype))


# ---------------------------------------------------------------------------- the table

Handler = Callable[[Session, float, _Arg], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """One row of :data:`TRANSITIONS`: the Session method to run, and the state it leads to
    in the normal case."""

    handler: Handler
    target: State


def _bind(rows: Mapping[tuple[State, Event], Row]) -> dict[tuple[State, Event], Transition]:
    """Each row's handler name bound to the Session method; a missing one fails the import."""
    out: dict[tuple[State, Event], Transition] = {}
    for key, row in rows.items():
        handler = getattr(Session, row.handler, None)
        if not callable(handler):
            raise TypeError(f"transition {key}: Session has no handler {row.handler!r}")
        out[key] = Transition(handler=handler, target=row.target)
    return out


TRANSITIONS: Mapping[tuple[State, Event], Transition] = _bind(build_rows())
"""The FSM: ``(state, event) -> Transition``. Missing rows are FSM errors (5/x)."""
