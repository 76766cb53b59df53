"""The RFC 4271 §8 transition table of :class:`~bgprr.session.fsm.Session`.

``(state, event) -> Transition(handler, target)``. In Idle, Connect and Active every event
has a row (RFC 4271 lists "any other event" there); in OpenSent, OpenConfirm and
Established an event without a row is a Finite State Machine Error (RFC 6608).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .events import Event, State

if TYPE_CHECKING:
    from .fsm import Session, _Arg

Handler = Callable[["Session", float, "_Arg"], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """One row: the handler, and the state it leads to in the normal case."""

    handler: Handler
    target: State


def build_transitions(p: type[Session]) -> dict[tuple[State, Event], Transition]:
    """The table for :class:`~bgprr.session.fsm.Session` (its handlers are Session methods)."""
    s, e = State, Event
    starts = (e.MANUAL_START, e.AUTOMATIC_START, e.MANUAL_START_PASSIVE, e.AUTOMATIC_START_PASSIVE)
    tcp_up = (e.TCP_CR_ACKED, e.TCP_CONNECTION_CONFIRMED)
    notif = (e.NOTIF_MSG, e.NOTIF_MSG_VER_ERR)
    rows: dict[tuple[State, Event], Transition] = {}

    def add(state: State, events: tuple[Event, ...], handler: Handler, target: State) -> None:
        for event in events:
            rows[state, event] = Transition(handler=handler, target=target)

    # Idle: refuses connections; everything but a start is ignored.
    add(s.IDLE, (e.MANUAL_START, e.AUTOMATIC_START), p._start_connect, s.CONNECT)
    add(s.IDLE, (e.MANUAL_START_PASSIVE, e.AUTOMATIC_START_PASSIVE), p._start_passive, s.ACTIVE)
    add(s.IDLE, (e.IDLE_HOLD_TIMER_EXPIRES,), p._idle_hold_expired, s.CONNECT)
    add(s.IDLE, tcp_up, p._refuse, s.IDLE)
    # Connect and Active
    for state in (s.CONNECT, s.ACTIVE):
        add(state, starts, p._ignore, state)
        add(state, (e.MANUAL_STOP,), p._stop_unconnected, s.IDLE)
        add(state, (e.CONNECT_RETRY_TIMER_EXPIRES,), p._retry_connect, s.CONNECT)
        add(state, tcp_up, p._tcp_up, s.OPENSENT)
        add(state, (e.TCP_CONNECTION_FAILS,), p._give_up, s.IDLE)
    add(s.CONNECT, (e.TCP_CONNECTION_FAILS,), p._connect_failed, s.ACTIVE)
    # OpenSent, OpenConfirm, Established: common rows
    for state in (s.OPENSENT, s.OPENCONFIRM, s.ESTABLISHED):
        add(state, starts, p._ignore, state)
        add(state, (e.MANUAL_STOP,), p._stop_connected, s.IDLE)
        add(state, (e.AUTOMATIC_STOP,), p._stop_connected, s.IDLE)
        add(state, (e.HOLD_TIMER_EXPIRES,), p._hold_expired, s.IDLE)
        add(state, notif, p._notified, s.IDLE)
        add(state, (e.BGP_HEADER_ERR,), p._error, s.IDLE)
    # OpenSent and OpenConfirm: a second connection, OPEN errors, collisions
    for state in (s.OPENSENT, s.OPENCONFIRM):
        add(state, tcp_up, p._track_second, state)
        add(state, (e.BGP_OPEN_MSG_ERR,), p._error, s.IDLE)
        add(state, (e.OPEN_COLLISION_DUMP,), p._collision_dump, s.IDLE)
    # OpenSent
    add(s.OPENSENT, (e.TCP_CONNECTION_FAILS,), p._opensent_tcp_fails, s.ACTIVE)
    add(s.OPENSENT, (e.BGP_OPEN,), p._open_received, s.OPENCONFIRM)
    # OpenConfirm
    add(s.OPENCONFIRM, (e.KEEPALIVE_TIMER_EXPIRES,), p._send_keepalive, s.OPENCONFIRM)
    add(s.OPENCONFIRM, (e.TCP_CONNECTION_FAILS,), p._tcp_lost, s.IDLE)
    add(s.OPENCONFIRM, (e.KEEPALIVE_MSG,), p._establish, s.ESTABLISHED)
    # Established
    add(s.ESTABLISHED, tcp_up, p._second_while_established, s.ESTABLISHED)
    add(s.ESTABLISHED, (e.KEEPALIVE_TIMER_EXPIRES,), p._send_keepalive, s.ESTABLISHED)
    add(s.ESTABLISHED, (e.TCP_CONNECTION_FAILS,), p._tcp_lost, s.IDLE)
    add(s.ESTABLISHED, (e.KEEPALIVE_MSG,), p._keepalive_received, s.ESTABLISHED)
    add(s.ESTABLISHED, (e.UPDATE_MSG,), p._update_received, s.ESTABLISHED)
    add(s.ESTABLISHED, (e.ROUTE_REFRESH_MSG,), p._route_refresh_received, s.ESTABLISHED)
    add(s.ESTABLISHED, (e.UPDATE_MSG_ERR, e.ROUTE_REFRESH_MSG_ERR), p._error, s.IDLE)
    # "Any other event": ignored in Idle; back to Idle from Connect and Active.
    for event in Event:
        rows.setdefault((s.IDLE, event), Transition(handler=p._ignore, target=s.IDLE))
        for state in (s.CONNECT, s.ACTIVE):
            rows.setdefault((state, event), Transition(handler=p._give_up, target=s.IDLE))
    return rows
