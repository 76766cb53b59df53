"""Drives one neighbor's pure session over asyncio connections.

The runner owns the neighbor's :class:`~bgprr.session.Session` (FSM), its connections and
its timer handle. After every call into the session it drains the session's outputs and
acts on each through the dispatch table ``_HANDLERS``. What concerns more than this
neighbor (routes for the engine, counters, flushes) goes to its host through the
callbacks of :class:`RunnerHost`, which this module declares and the daemon implements.
Every byte for the peer goes through the session (``send_updates``,
``send_route_refresh``, ``stop``/``reset`` for NOTIFICATIONs), and the runner alone sets
its ``admin_down`` / ``pfx_limit_down`` flags. Any unexpected exception is contained
here: the peer is reset, others are not affected.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bgprr.config import Neighbor
from bgprr.reflect.types import PeerCaps
from bgprr.session import (
    AbortConnect,
    Close,
    Connect,
    Established,
    Output,
    RouteRefreshReceived,
    Send,
    SendMany,
    Session,
    SessionConfig,
    SessionDown,
    State,
    StateChanged,
    UpdateReceived,
    describe_notification,
)
from bgprr.wire.constants import MsgType
from bgprr.wire.errors import CeaseSub, ErrorCode
from bgprr.wire.messages import Notification, make_shutdown_notification
from bgprr.wire.update import Update

from .connection import BGPConnection
from .outbound import apply_session_options, connect
from .settings import peer_caps, socket_settings

log = logging.getLogger("bgprr.peer")


class RunnerHost(Protocol):
    """What a :class:`SessionRunner` reports to its owner (the daemon), as it happens."""

    def on_input(self) -> None:
        """Bytes arrived from the peer (the owner paces its output while input comes)."""

    def on_state_change(self, runner: SessionRunner, out: StateChanged) -> None: ...

    def on_notification(self, runner: SessionRunner, data: bytes, *, sent: bool) -> None: ...

    def on_established(self, runner: SessionRunner, caps: PeerCaps, now: float) -> None: ...

    def on_update(self, runner: SessionRunner, update: Update, now: float) -> None: ...

    def on_route_refresh(
        self, runner: SessionRunner, out: RouteRefreshReceived, now: float
    ) -> None: ...

    def on_down(self, runner: SessionRunner, out: SessionDown, now: float) -> None: ...

    def schedule_flush(self, *, paced: bool = True) -> None:
        """The Established connection can take more output."""


class SessionRunner:
    """One neighbor: its session FSM, connections and timers."""

    def __init__(
        self,
        host: RunnerHost,
        neighbor: Neighbor,
        config: SessionConfig,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.host = host
        self.neighbor = neighbor
        self.key = neighbor.address
        self.loop = loop
        self.session = Session(config)
        self.conns: dict[int, BGPConnection] = {}
        self.established: BGPConnection | None = None
        self.uptime: float | None = None  # loop time of the last Established / down
        self.downtime: float | None = None
        self.state_since = loop.time()  # loop time of the last FSM state change
        self._admin_down = neighbor.admin_down
        self._pfx_limit_down = False
        self.last_error = ""
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._restart_handle: asyncio.TimerHandle | None = None

    @property
    def msg_in(self) -> dict[str, int]:
        """Messages received, by type name (counted by the session as it frames them)."""
        return {_MSG_NAMES.get(t, "OTHER"): n for t, n in self.session.received.items()}

    @property
    def msg_out(self) -> dict[str, int]:
        """Messages sent, by type name (counted by the session as it queues them)."""
        return {_MSG_NAMES.get(t, "OTHER"): n for t, n in self.session.sent.items()}

    @property
    def admin_down(self) -> bool:
        """Shut down by the operator (or ``admin-down`` in the configuration)."""
        return self._admin_down

    @property
    def pfx_limit_down(self) -> bool:
        """Down after its prefix limit, until it restarts or the operator starts it."""
        return self._pfx_limit_down

    # ------------------------------------------------------------------ commands

    def start(self) -> None:
        if self.admin_down:
            return
        self._call(self.session.start)

    def stop(self, notification: Notification | None = None) -> None:
        """ManualStop: NOTIFICATION (Cease / administrative shutdown by default), Idle."""
        self._call(lambda now: self.session.stop(now, notification))

    def reset(self, notification: Notification | None = None, *, hard: bool = True) -> None:
        self._call(lambda now: self.session.reset(now, notification, hard=hard))

    def close_silently(self) -> None:
        """Drop every connection without a NOTIFICATION (graceful-restart shutdown:
        the peers keep our routes as stale until we are back)."""
        self._cancel_connect()
        for conn in list(self.conns.values()):
            conn.close()
        self.conns.clear()
        self.established = None
        self._cancel_timer()

    def shutdown(self, text: str = "") -> None:
        self.stop(make_shutdown_notification(CeaseSub.ADMINISTRATIVE_SHUTDOWN, text))
        self._cancel_timer()
        if self._restart_handle is not None:
            self._restart_handle.cancel()

    def disable(self, communication: str = "") -> None:
        """Cease / Administrative Shutdown (with ``communication``, RFC 9003); the neighbor
        stays down until :meth:`enable`."""
        self._admin_down = True
        self.shutdown(communication)

    def enable(self) -> None:
        """Start the neighbor again if it was disabled or is down after its prefix limit."""
        if self._admin_down or self._pfx_limit_down:
            self._admin_down = self._pfx_limit_down = False
            self.start()

    def admin_reset(self, communication: str = "") -> None:
        """Cease / Administrative Reset, then the session comes back; a neighbor down
        after its prefix limit is started instead."""
        if self._pfx_limit_down:
            self._pfx_limit_down = False
            self.start()
            return
        self.reset(make_shutdown_notification(CeaseSub.ADMINISTRATIVE_RESET, communication))

    def engine_reset(self, notification: Notification, idle: float) -> None:
        """The engine ends the session (prefix limit, RFC 4486): ``notification``, then
        after ``idle`` seconds (if positive) start again. A prefix limit (Cease 6/1), or
        any restart delay, shows the neighbor as down after its prefix limit meanwhile."""
        if (notification.code, notification.subcode) == (
            ErrorCode.CEASE,
            CeaseSub.MAXIMUM_PREFIXES_REACHED,
        ):
            self._pfx_limit_down = True
        self.stop(notification)
        if idle > 0:
            self._restart_after(idle)

    def _restart_after(self, delay: float) -> None:
        self._pfx_limit_down = True
        if self._restart_handle is not None:
            self._restart_handle.cancel()

        def again() -> None:
            self._pfx_limit_down = False
            self._restart_handle = None
            self.start()

        self._restart_handle = self.loop.call_later(delay, again)

    # ------------------------------------------------------------------ sending

    def send_updates(self, msgs: Sequence[bytes]) -> bool:
        """Write engine output (``msgs``, handed over) through the session; False unless
        Established. The output path of every flush: ``_call`` without its closure."""
        now = self.loop.time()
        sent = False
        try:
            sent = self.session.send_updates(msgs, now)
            self._drain(now)
        except Exception:  # a bug must cost this peer its session, never the daemon
            log.exception("peer %s: internal error; resetting the session", self.key)
            self._internal_error()
            self._reschedule()
            return False
        # Sending only moves the KeepaliveTimer later: a pending handle fires no later than
        # needed (handle_timer then re-arms), so only a missing one needs scheduling.
        if self._timer is None:
            self._reschedule()
        return sent

    def route_refresh(self, afi: int, safi: int) -> bool:
        """Ask the peer to send its routes of ``(afi, safi)`` again (ROUTE-REFRESH); False
        unless Established with the capability and the family."""
        sent = False

        def send(now: float) -> None:
            nonlocal sent
            sent = self.session.send_route_refresh(afi, safi, now)

        self._call(send)
        return sent

    # ------------------------------------------------------------------ connections

    def accept(self, conn: BGPConnection, *, open_sent: bool = False) -> None:
        """An inbound connection from this neighbor's address; ``open_sent``: our OPEN
        (the session's ``open_bytes``) is already written on it (bgprr.io.pending)."""
        sock = conn.transport.get_extra_info("socket") if conn.transport else None
        if sock is not None:
            try:
                apply_session_options(sock, socket_settings(self.neighbor))
            except OSError as exc:
                log.warning("peer %s: socket options: %s", self.key, exc)
        self.conns[conn.conn_id] = conn
        local = _packed(conn.local_address)
        self._call(
            lambda now: self.session.connection_made(
                conn.conn_id, now, True, local, open_sent=open_sent
            )
        )
        conn.attach(self)

    def on_data(self, conn: BGPConnection, data: bytes) -> None:
        self.host.on_input()
        self._call(lambda now: self.session.data_received(conn.conn_id, data, now))

    def on_lost(self, conn: BGPConnection, exc: Exception | None) -> None:
        if self.conns.pop(conn.conn_id, None) is None:
            return
        if exc is not None:
            self.last_error = f"connection lost: {exc}"
        self._call(lambda now: self.session.connection_lost(conn.conn_id, now))

    def on_writable(self, conn: BGPConnection) -> None:
        self._call(lambda now: self.session.write_resumed(conn.conn_id, now))
        if conn is self.established:
            self.host.schedule_flush(paced=False)

    def on_blocked(self, conn: BGPConnection) -> None:
        # Called from inside transport.write (often while our outputs are being
        # written): starts a timer, queues no output, so no drain here.
        self.session.write_blocked(conn.conn_id, self.loop.time())
        self._reschedule()

    async def _connect(self) -> None:
        settings = socket_settings(self.neighbor)
        timeout = max(self.neighbor.connect_retry, 5.0)
        try:
            _transport, conn = await connect(settings, timeout)
        except (OSError, TimeoutError) as exc:
            self._connect_task = None
            self.last_error = f"connect: {exc or type(exc).__name__}"
            log.debug("peer %s: %s", self.key, self.last_error)
            self._call(lambda now: self.session.connection_failed(-1, now))
            return
        except asyncio.CancelledError:
            return
        self._connect_task = None
        self.conns[conn.conn_id] = conn
        # The session must know the connection before its first bytes (the peer's OPEN
        # may already be buffered in the protocol): connection_made, then attach.
        local = _packed(conn.local_address)
        self._call(lambda now: self.session.connection_made(conn.conn_id, now, False, local))
        conn.attach(self)

    def _cancel_connect(self) -> None:
        if self._connect_task is not None:
            self._connect_task.cancel()
            self._connect_task = None

    # ------------------------------------------------------------------ driving the session

    def _call(self, fn: Callable[[float], Any]) -> None:
        now = self.loop.time()
        try:
            fn(now)
            self._drain(now)
        except Exception:  # a bug must cost this peer its session, never the daemon
            log.exception("peer %s: internal error; resetting the session", self.key)
            self._internal_error()
        self._reschedule()

    def _internal_error(self) -> None:
        now = self.loop.time()
        try:
            self.session.reset(now, make_shutdown_notification(CeaseSub.OUT_OF_RESOURCES, ""))
            self._drain(now)
        except Exception:
            log.exception("peer %s: reset failed; dropping connections", self.key)
            self.close_silently()

    def _drain(self, now: float) -> None:
        while True:
            outputs = self.session.poll()
            if not outputs:
                return
            for out in outputs:
                _HANDLERS[type(out)](self, out, now)

    def _reschedule(self) -> None:
        deadline = self.session.next_timer()
        if deadline is None:
            self._cancel_timer()
            return
        # Keep an earlier handle: it fires, handle_timer finds nothing due, and we re-arm.
        # This avoids a new TimerHandle per received message (the hold timer restarts).
        if self._timer is not None and self._timer_at is not None and self._timer_at <= deadline:
            return
        self._cancel_timer()
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._call(self.session.handle_timer)

    # ------------------------------------------------------------------ outputs

    def _on_connect(self, out: Connect, now: float) -> None:
        self._cancel_connect()
        self._connect_task = self.loop.create_task(self._connect())

    def _on_abort_connect(self, out: AbortConnect, now: float) -> None:
        self._cancel_connect()

    def _on_send(self, out: Send, now: float) -> None:
        conn = self.conns.get(out.conn_id)
        if conn is not None:
            conn.write(out.data)
            if out.data[18] == MsgType.NOTIFICATION:
                self.host.on_notification(self, out.data, sent=True)

    def _on_send_many(self, out: SendMany, now: float) -> None:
        conn = self.conns.get(out.conn_id)
        if conn is not None:
            conn.writelines(out.messages)

    def _on_close(self, out: Close, now: float) -> None:
        conn = self.conns.pop(out.conn_id, None)
        if conn is not None:
            if out.abort:
                conn.abort()
            else:
                conn.close()
        if self.established is conn:
            self.established = None

    def _on_state(self, out: StateChanged, now: float) -> None:
        level = logging.INFO if State.ESTABLISHED in (out.old, out.new) else logging.DEBUG
        log.log(
            level,
            "peer %s: %s -> %s (%s)",
            self.key,
            out.old.value,
            out.new.value,
            out.reason,
            extra={"peer": self.key, "state": out.new.value},
        )
        self.state_since = now
        # Leaving Established, SessionDown (emitted just before) has set the better text.
        if out.new is State.IDLE and out.reason and out.old is not State.ESTABLISHED:
            self.last_error = out.reason
        self.host.on_state_change(self, out)

    def _on_established(self, out: Established, now: float) -> None:
        conn = self.established = self.conns.get(out.conn_id)
        self.uptime = now
        local = _packed(conn.local_address) if conn is not None else b""
        self.host.on_established(self, peer_caps(out.negotiated, local_address=local), now)

    def _on_update(self, out: UpdateReceived, now: float) -> None:
        for err in out.update.errors:
            log.warning(
                "peer %s: %s (RFC 7606 %s)", self.key, err.describe(), err.action.name.lower()
            )
        self.host.on_update(self, out.update, now)

    def _on_refresh(self, out: RouteRefreshReceived, now: float) -> None:
        self.host.on_route_refresh(self, out, now)

    def _on_down(self, out: SessionDown, now: float) -> None:
        self.established = None
        self.downtime = now
        self.uptime = None
        if out.notification_received is not None:
            text = describe_notification(out.notification_received)
            log.warning("peer %s: NOTIFICATION received: %s", self.key, text)
            self.last_error = f"received {text}"
        elif out.notification_sent is not None:
            self.last_error = f"sent {describe_notification(out.notification_sent)}"
        else:
            self.last_error = out.reason
        log.info(
            "peer %s: session down (%s)%s",
            self.key,
            out.reason,
            "; keeping its routes as stale (graceful restart)" if out.graceful else "",
        )
        self.host.on_down(self, out, now)


_MSG_NAMES = {1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE_REFRESH"}

_HANDLERS: dict[type[Output], Callable[[SessionRunner, Any, float], None]] = {
    Connect: SessionRunner._on_connect,
    AbortConnect: SessionRunner._on_abort_connect,
    Send: SessionRunner._on_send,
    SendMany: SessionRunner._on_send_many,
    Close: SessionRunner._on_close,
    StateChanged: SessionRunner._on_state,
    Established: SessionRunner._on_established,
    UpdateReceived: SessionRunner._on_update,
    RouteRefreshReceived: SessionRunner._on_refresh,
    SessionDown: SessionRunner._on_down,
}


def _packed(address: str) -> bytes:
    """The packed form of a connection's local address (b"" when unknown)."""
    try:
        return ipaddress.ip_address(address).packed
    except ValueError:
        return b""
