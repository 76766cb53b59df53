"""FSM states and events (RFC 4271 §8.1) and the outputs a :class:`~bgprr.session.fsm.Session`
queues for the IO layer.

Outputs are frozen, slotted, keyword-only dataclasses. After every call into a
:class:`~bgprr.session.fsm.Session` the IO layer takes them in order from ``Session.poll()``
and acts on each:

========================  ================================================================
``Connect()``             open an outbound TCP connection; report it with
                          ``connection_made(id, now, inbound=False)`` or
                          ``connection_failed(id, now)`` (``id`` is the IO layer's choice)
``AbortConnect()``        abandon the outbound attempt in progress; report nothing for it
``Send(conn_id, data)``   write the bytes
``SendMany``              write each of ``messages`` in order (``Session.send_updates``)
``Close(conn_id, abort)``  close once written data is flushed (``abort``: at once, the
                          peer reads nothing); never reported back
``StateChanged``          log / metrics
``Established``           the engine may now write UPDATEs to ``conn_id``
``UpdateReceived``        hand to the engine (check ``update.errors`` / ``treat_as_withdraw``)
``RouteRefreshReceived``  hand to the engine
``SessionDown``           Established ended; ``graceful`` = keep the peer's routes stale
========================  ================================================================
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from bgprr.wire.errors import ErrorCode, FsmSub, code_name, subcode_name
from bgprr.wire.messages import Keepalive, Notification, Open, RouteRefresh, shutdown_message
from bgprr.wire.update import Update

from .negotiate import Negotiated
from .timers import Timer


class State(enum.Enum):
    """RFC 4271 §8.2.2 session states."""

    IDLE = "Idle"
    CONNECT = "Connect"
    ACTIVE = "Active"
    OPENSENT = "OpenSent"
    OPENCONFIRM = "OpenConfirm"
    ESTABLISHED = "Established"

    # members are singletons compared by identity: hash them the same way, in C (Enum's
    # default hashes the name in Python, on every transition-table lookup)
    __hash__ = object.__hash__


class Event(enum.IntEnum):
    """RFC 4271 §8.1 events (value = the RFC's event number), plus ROUTE-REFRESH.

    Events 6, 7 (the DampPeerOscillations starts) are what IdleHoldTimer_Expires
    triggers here; DelayOpen (12, 20) and the optional TCP events 14/15 are not used.
    """

    MANUAL_START = 1
    MANUAL_STOP = 2
    AUTOMATIC_START = 3
    MANUAL_START_PASSIVE = 4
    AUTOMATIC_START_PASSIVE = 5
    AUTOMATIC_STOP = 8
    CONNECT_RETRY_TIMER_EXPIRES = 9
    HOLD_TIMER_EXPIRES = 10
    KEEPALIVE_TIMER_EXPIRES = 11
    IDLE_HOLD_TIMER_EXPIRES = 13
    TCP_CR_ACKED = 16
    TCP_CONNECTION_CONFIRMED = 17
    TCP_CONNECTION_FAILS = 18
    BGP_OPEN = 19
    BGP_HEADER_ERR = 21
    BGP_OPEN_MSG_ERR = 22
    OPEN_COLLISION_DUMP = 23
    NOTIF_MSG_VER_ERR = 24
    NOTIF_MSG = 25
    KEEPALIVE_MSG = 26
    UPDATE_MSG = 27
    UPDATE_MSG_ERR = 28
    SEND_HOLD_TIMER_EXPIRES = 29  # RFC 9687
    ROUTE_REFRESH_MSG = 100  # RFC 2918 / RFC 7313 (not an RFC 4271 event)
    ROUTE_REFRESH_MSG_ERR = 101  # RFC 7313 §5: malformed ROUTE-REFRESH (7/1)


# Which event a timer expiry, and a decoding error (by NOTIFICATION code), produce; the
# RFC 6608 subcode of an FSM error in each state.

TIMER_EVENTS: dict[Timer, Event] = {
    Timer.CONNECT_RETRY: Event.CONNECT_RETRY_TIMER_EXPIRES,
    Timer.HOLD: Event.HOLD_TIMER_EXPIRES,
    Timer.KEEPALIVE: Event.KEEPALIVE_TIMER_EXPIRES,
    Timer.IDLE_HOLD: Event.IDLE_HOLD_TIMER_EXPIRES,
    Timer.SEND_HOLD: Event.SEND_HOLD_TIMER_EXPIRES,
}
MESSAGE_EVENTS: dict[type, Event] = {  # NOTIFICATION: by its code (version error or not)
    Update: Event.UPDATE_MSG,
    Keepalive: Event.KEEPALIVE_MSG,
    Open: Event.BGP_OPEN,
    RouteRefresh: Event.ROUTE_REFRESH_MSG,
}

ERROR_EVENTS: dict[int, Event] = {
    ErrorCode.MESSAGE_HEADER: Event.BGP_HEADER_ERR,
    ErrorCode.OPEN_MESSAGE: Event.BGP_OPEN_MSG_ERR,
    ErrorCode.UPDATE_MESSAGE: Event.UPDATE_MSG_ERR,
    ErrorCode.ROUTE_REFRESH: Event.ROUTE_REFRESH_MSG_ERR,
}
FSM_SUBCODES: dict[State, int] = {
    State.OPENSENT: FsmSub.UNEXPECTED_IN_OPENSENT,
    State.OPENCONFIRM: FsmSub.UNEXPECTED_IN_OPENCONFIRM,
    State.ESTABLISHED: FsmSub.UNEXPECTED_IN_ESTABLISHED,
}


# ----------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Connect:
    """Open an outbound TCP connection to the peer; report the outcome with
    ``connection_made(conn_id, now, inbound=False)`` or ``connection_failed(conn_id, now)``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AbortConnect:
    """Abandon the outbound attempt still in progress (do not report its outcome)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """Write ``data`` to connection ``conn_id``."""

    conn_id: int
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SendMany:
    """Write each of ``messages`` to connection ``conn_id``, in order (one output per batch
    of engine output: the same bytes objects go to every member of an update group)."""

    conn_id: int
    messages: Sequence[bytes]


@dataclass(frozen=True, slots=True, kw_only=True)
class Close:
    """Close connection ``conn_id`` once what was sent on it has been flushed; ``abort``:
    at once, dropping what is unsent (the peer stopped reading: RFC 9687)."""

    conn_id: int
    abort: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChanged:
    old: State
    new: State
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Established:
    """The session is up on ``conn_id``: the engine may write UPDATEs to it."""

    conn_id: int
    negotiated: Negotiated


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateReceived:
    """An UPDATE for the engine (with its RFC 7606 ``errors`` / ``treat_as_withdraw``)."""

    update: Update


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRefreshReceived:
    afi: int
    safi: int
    subtype: int  # RFC 7313: 0 normal request, 1 BoRR, 2 EoRR


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionDown:
    """The Established session ended (emitted before the StateChanged out of Established).

    ``graceful`` tells the engine to keep the peer's routes as stale (we are the RFC 4724
    helper): the peer negotiated Graceful Restart and the session ended without a
    NOTIFICATION (TCP loss), or, RFC 8538 with the N bit sent by both, by a NOTIFICATION
    (sent or received, hold timer expiry included) other than Cease / Hard Reset (6/9).
    ``Session.stop`` (and ``Session.reset`` unless ``hard=False``) wrap their Cease in Hard
    Reset when the N bit was negotiated, so they are never graceful.
    """

    reason: str
    notification_sent: Notification | None
    notification_received: Notification | None
    graceful: bool


Output = (
    Connect
    | AbortConnect
    | Send
    | SendMany
    | Close
    | StateChanged
    | Established
    | UpdateReceived
    | RouteRefreshReceived
    | SessionDown
)


def describe_notification(n: Notification) -> str:
    """``Cease / Administrative shutdown (6/2) "text"`` for logs and reasons."""
    text = f"{code_name(n.code)} / {subcode_name(n.code, n.subcode)} ({n.code}/{n.subcode})"
    msg = shutdown_message(n)
    return f'{text} "{msg}"' if msg else text
