"""The RFC 4271 §8 transition table of :class:`~bgprr.session.fsm.Session`, as data.

``(state, event) -> Row(handler, target)``: ``handler`` names the Session method that
runs the transition (``fsm.py`` binds each name to its method once, when the module
loads, and refuses a name it lacks), ``target`` is the state it leads to in the normal
case. In Idle, Connect and Active every event has a row (RFC 4271 lists "any other event"
there); in OpenSent, OpenConfirm and Established an event without a row is a Finite
State Machine Error (RFC 6608).
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import Event, State


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One row: the name of the handler, and the state it leads to in the normal case."""

    handler: str
    target: State


def build_rows() -> dict[tuple[State, Event], Row]:
    """The rows of the FSM (handler names are methods of the Session)."""
    s, e = State, Event
    starts = (e.MANUAL_START, e.AUTOMATIC_START, e.MANUAL_START_PASSIVE, e.AUTOMATIC_START_PASSIVE)
    tcp_up = (e.TCP_CR_ACKED, e.TCP_CONNECTION_CONFIRMED)
    notif = (e.NOTIF_MSG, e.NOTIF_MSG_VER_ERR)
    rows: dict[tuple[State, Event], Row] = {}

    def add(state: State, events: tuple[Event, ...], handler: str, target: State) -> None:
        for event in events:
            rows[state, event] = Row(handler=handler, target=target)

    # Idle: refuses connections; everything but a start is ignored.
    add(s.IDLE, (e.MANUAL_START, e.AUTOMATIC_START), "_start_connect", s.CONNECT)
    add(s.IDLE, (e.MANUAL_START_PASSIVE, e.AUTOMATIC_START_PASSIVE), "_start_passive", s.ACTIVE)
    add(s.IDLE, (e.IDLE_HOLD_TIMER_EXPIRES,), "_idle_hold_expired", s.CONNECT)
    add(s.IDLE, tcp_up, "_refuse", s.IDLE)
    # Connect and Active
    for state in (s.CONNECT, s.ACTIVE):
        add(state, starts, "_ignore", state)
        add(state, (e.MANUAL_STOP,), "_stop_unconnected", s.IDLE)
        add(state, (e.CONNECT_RETRY_TIMER_EXPIRES,), "_retry_connect", s.CONNECT)
        add(state, tcp_up, "_tcp_up", s.OPENSENT)
        add(state, (e.TCP_CONNECTION_FAILS,), "_give_up", s.IDLE)
    add(s.CONNECT, (e.TCP_CONNECTION_FAILS,), "_connect_failed", s.ACTIVE)
    # OpenSent, OpenConfirm, Established: common rows
    for state in (s.OPENSENT, s.OPENCONFIRM, s.ESTABLISHED):
        add(state, starts, "_ignore", state)
        add(state, (e.MANUAL_STOP,), "_stop_connected", s.IDLE)
        add(state, (e.AUTOMATIC_STOP,), "_stop_connected", s.IDLE)
        add(state, (e.HOLD_TIMER_EXPIRES,), "_hold_expired", s.IDLE)
        add(state, notif, "_notified", s.IDLE)
        add(state, (e.BGP_HEADER_ERR,), "_error", s.IDLE)
    # OpenSent and OpenConfirm: a second connection, OPEN errors, collisions
    for state in (s.OPENSENT, s.OPENCONFIRM):
        add(state, tcp_up, "_track_second", state)
        add(state, (e.BGP_OPEN_MSG_ERR,), "_error", s.IDLE)
        add(state, (e.OPEN_COLLISION_DUMP,), "_collision_dump", s.IDLE)
    # OpenSent
    add(s.OPENSENT, (e.TCP_CONNECTION_FAILS,), "_opensent_tcp_fails", s.ACTIVE)
    add(s.OPENSENT, (e.BGP_OPEN,), "_open_received", s.OPENCONFIRM)
    # OpenConfirm
    add(s.OPENCONFIRM, (e.KEEPALIVE_TIMER_EXPIRES,), "_send_keepalive", s.OPENCONFIRM)
    add(s.OPENCONFIRM, (e.TCP_CONNECTION_FAILS,), "_tcp_lost", s.IDLE)
    add(s.OPENCONFIRM, (e.KEEPALIVE_MSG,), "_establish", s.ESTABLISHED)
    # Established
    add(s.ESTABLISHED, tcp_up, "_second_while_established", s.ESTABLISHED)
    add(s.ESTABLISHED, (e.KEEPALIVE_TIMER_EXPIRES,), "_send_keepalive", s.ESTABLISHED)
    add(s.ESTABLISHED, (e.SEND_HOLD_TIMER_EXPIRES,), "_send_hold_expired", s.IDLE)
    add(s.ESTABLISHED, (e.TCP_CONNECTION_FAILS,), "_tcp_lost", s.IDLE)
    add(s.ESTABLISHED, (e.KEEPALIVE_MSG,), "_keepalive_received", s.ESTABLISHED)
    add(s.ESTABLISHED, (e.UPDATE_MSG,), "_update_received", s.ESTABLISHED)
    add(s.ESTABLISHED, (e.ROUTE_REFRESH_MSG,), "_route_refresh_received", s.ESTABLISHED)
    add(s.ESTABLISHED, (e.UPDATE_MSG_ERR, e.ROUTE_REFRESH_MSG_ERR), "_error", s.IDLE)
    # "Any other event": ignored in Idle; back to Idle from Connect and Active.
    for event in Event:
        rows.setdefault((s.IDLE, event), Row(handler="_ignore", target=s.IDLE))
        for state in (s.CONNECT, s.ACTIVE):
            rows.setdefault((state, event), Row(handler="_give_up", target=s.IDLE))
    return rows
