"""Pure (sans-IO) per-peer BGP session: RFC 4271 §8 FSM, OPEN negotiation, timers.

See :mod:`bgprr.session.fsm` for the contract between a :class:`Peer` and the IO layer.
"""

from .config import Family, GracefulRestartConfig, SessionConfig
from .events import (
    AbortConnect,
    Close,
    Connect,
    Established,
    Event,
    Output,
    RouteRefreshReceived,
    Send,
    SessionDown,
    State,
    StateChanged,
    UpdateReceived,
    describe_notification,
)
from .fsm import TRANSITIONS, Peer, Transition
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
    "Peer",
    "RouteRefreshReceived",
    "Send",
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
