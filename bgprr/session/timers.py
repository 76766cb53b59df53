"""The session's timers as named deadlines (absolute ``now`` values, never wall clock).

The IO layer asks for the earliest deadline (``Session.next_timer()``) and calls
``Session.handle_timer(now)`` when it passes; tests drive the same calls with a fake clock.
"""

from __future__ import annotations

import enum


class Timer(enum.Enum):
    CONNECT_RETRY = "ConnectRetryTimer"
    HOLD = "HoldTimer"
    KEEPALIVE = "KeepaliveTimer"
    SEND_HOLD = "SendHoldTimer"  # RFC 9687: runs while the connection takes no data
    IDLE_HOLD = "IdleHoldTimer"
    ALT_HOLD = "HoldTimer(second connection)"  # the colliding connection's OpenSent hold

    __hash__ = object.__hash__  # identity, in C (the restart per message is a dict store)


class Timers:
    """A set of running timers, each a deadline; stopping a stopped timer is a no-op."""

    __slots__ = ("_deadlines",)

    def __init__(self) -> None:
        self._deadlines: dict[Timer, float] = {}

    def start(self, timer: Timer, now: float, seconds: float) -> None:
        """(Re)start ``timer`` to expire ``seconds`` after ``now``."""
        self._deadlines[timer] = now + seconds

    def stop(self, timer: Timer) -> None:
        self._deadlines.pop(timer, None)

    def running(self, timer: Timer) -> bool:
        return timer in self._deadlines

    def deadline(self, timer: Timer) -> float | None:
        return self._deadlines.get(timer)

    def move(self, src: Timer, dst: Timer) -> None:
        """Give ``dst`` the deadline of ``src`` (stopping ``dst`` if ``src`` is stopped)."""
        value = self._deadlines.pop(src, None)
        if value is None:
            self._deadlines.pop(dst, None)
        else:
            self._deadlines[dst] = value

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    def expired(self, now: float) -> list[tuple[float, Timer]]:
        """The timers due at ``now``, earliest first, as ``(deadline, timer)``."""
        due = [(d, t) for t, d in self._deadlines.items() if d <= now]
        due.sort(key=lambda item: item[0])  # stable: equal deadlines keep start order
        return due

    def pop_if(self, timer: Timer, deadline: float) -> bool:
        """Stop ``timer`` if it still runs with ``deadline``; True if it did."""
        if self._deadlines.get(timer) != deadline:
            return False
        del self._deadlines[timer]
        return True
