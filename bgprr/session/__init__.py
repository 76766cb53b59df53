"""Pure (sans-IO) per-peer BGP session: RFC 4271 §8 FSM, OPEN negotiation, timers.

One :class:`Session` per configured neighbor, built from a frozen :class:`SessionConfig`.
It never touches a socket or a clock: every call takes ``now`` (monotonic seconds) and
queues outputs that the IO layer drains with ``poll()`` after each call, in order
(what each output asks for: :mod:`bgprr.session.events`).

Calls (all return ``None``)::

    peer.start(now)                                  # ManualStart (passive per config)
    peer.stop(now, notification=None)                # ManualStop: Cease 6/2, no restart
    peer.reset(now, notification=None, hard=True)    # AutomaticStop: Cease 6/4, restarts
    peer.connection_made(conn_id, now, inbound)      # any TCP connection with this peer
    peer.connection_failed(conn_id, now)             # our Connect() attempt failed
    peer.connection_lost(conn_id, now)               # EOF / reset on conn_id
    peer.data_received(conn_id, data, now)
    peer.handle_timer(now)                           # when now >= peer.next_timer()
    peer.send_updates(msgs, now) -> bool             # engine output, Established only
    peer.send_route_refresh(afi, safi, now, subtype=0) -> bool
    peer.write_blocked(conn_id, now) / peer.write_resumed(conn_id, now)
                                                     # transport full / draining (RFC 9687)

Queries: ``poll() -> list[Output]``, ``next_timer() -> float | None`` (re-read it after
every call), ``state``, ``negotiated`` (from OpenConfirm on), ``conn_id`` (the
connection the FSM runs on), ``deadline(Timer)``, ``local_open``,
``connect_retry_counter``, ``received`` / ``sent`` (messages by type code). ``conn_id``
values are the IO layer's own ints, unique per TCP connection; the IO layer refuses
unknown addresses itself.

A minimal asyncio side (one ``call_at`` handle per peer)::

    def pump(self) -> None:
        for out in self.peer.poll():
            match out:
                case Connect():
                    self.attempt = loop.create_task(self.dial())   # -> connection_made/failed
                case AbortConnect():
                    self.attempt.cancel()
                case Send(conn_id=cid, data=data):
                    self.transports[cid].write(data)
                case SendMany(conn_id=cid, messages=msgs):
                    self.transports[cid].writelines(msgs)
                case Close(conn_id=cid):
                    self.transports.pop(cid).close()               # flushes, then closes
                case Established(conn_id=cid, negotiated=neg):
                    engine.peer_up(self, self.transports[cid], neg)
                case UpdateReceived(update=u):
                    engine.update(self, u)
                case RouteRefreshReceived(afi=a, safi=s, subtype=t):
                    engine.route_refresh(self, a, s, t)
                case SessionDown(graceful=g):
                    engine.peer_down(self, keep_stale=g)
                case StateChanged(old=o, new=n, reason=r):
                    log.info("%s: %s -> %s (%s)", self.name, o.value, n.value, r)
        if self.timer:
            self.timer.cancel()
        deadline = self.peer.next_timer()
        if deadline is not None:
            self.timer = loop.call_at(deadline, self.on_timer)   # loop.time() clock

    def on_timer(self) -> None:
        self.timer = None
        self.peer.handle_timer(loop.time())
        self.pump()

Every byte sent to the peer is a ``Send`` or ``SendMany`` output of its session, so the
message counters and the KeepaliveTimer (restarted by every UPDATE or KEEPALIVE sent,
RFC 4271 §4.4) stay right. The tests wire two sessions together in memory
(``tests/support/pair.py``).
"""

from bgprr.wire.constants import Family

from .config import GracefulRestartConfig, SessionConfig
from .events import (
    AbortConnect,
    Close,
    Connect,
    Established,
    Event,
    Output,
    RouteRefreshReceived,
    Send,
    SendMany,
    SessionDown,
    State,
    StateChanged,
    UpdateReceived,
    describe_notification,
)
from .fsm import TRANSITIONS, Session, Transition
from .negotiate import Negotiated, build_open, keep_outbound, negotiate
from .timers import Timer

__all__ = [
    "TRANSITIONS",
    "AbortConnect",
    "Close",
    "Connect",
    "Established",
    "Event",
    "Family",
    "GracefulRestartConfig",
    "Negotiated",
    "Output",
    "RouteRefreshReceived",
    "Send",
    "SendMany",
    "Session",
    "SessionConfig",
    "SessionDown",
    "State",
    "StateChanged",
    "Timer",
    "Transition",
    "UpdateReceived",
    "build_open",
    "describe_notification",
    "keep_outbound",
    "negotiate",
]
