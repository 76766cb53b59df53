"""Connection floods: how fast unconfigured addresses may connect, and how refusals are
logged without flooding the log.

* :class:`TokenBucket`: ``rate`` tokens per second, at most ``burst`` saved; every
  accepted connection that does not come from a configured neighbor takes one
  (``[global.config] connection-rate`` / ``connection-burst``, bgprr keys).
* :class:`RefusalLog`: the first refusal after a quiet period is logged at once, with
  the address; the ones that follow within ``interval`` seconds are counted by reason
  and summed up in one line at the end of the interval, which starts the next one.

The daemon decides (``Daemon._on_accept``); this module only counts.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("bgprr")

#: Seconds between two summary lines of refused connections.
REFUSAL_LOG_INTERVAL = 10.0


class TokenBucket:
    """``take(now)`` is True at most ``burst`` times at once and ``rate`` times per
    second in the long run. A rate of 0 means no limit."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last = now

    def take(self, now: float) -> bool:
        if not self.rate:
            return True
        elapsed = now - self._last
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def tokens(self) -> float:
        """Tokens left at the last :meth:`take` (for show and tests)."""
        return self._tokens


class RefusalLog:
    """Counts refused connections by reason; logs at most one line per interval after
    the first (see the module docstring). ``total`` keeps the counts since start."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, interval: float = REFUSAL_LOG_INTERVAL
    ) -> None:
        self.loop = loop
        self.interval = interval
        self.total: dict[str, int] = {}
        self._window: dict[str, int] = {}
        self._last_address = ""
        self._handle: asyncio.TimerHandle | None = None

    def note(self, reason: str, address: str) -> None:
        self.total[reason] = self.total.get(reason, 0) + 1
        if self._handle is None:
            log.warning("refusing connection from %s: %s", address, reason)
            self._handle = self.loop.call_later(self.interval, self._summary)
            return
        self._window[reason] = self._window.get(reason, 0) + 1
        self._last_address = address

    def _summary(self) -> None:
        window, self._window = self._window, {}
        if not window:
            self._handle = None  # quiet: the next refusal is logged at once
            return
        parts = ", ".join(f"{n} {reason}" for reason, n in sorted(window.items()))
        log.warning(
            "refused %d more connections in %g s: %s (last from %s)",
            sum(window.values()),
            self.interval,
            parts,
            self._last_address,
        )
        self._handle = self.loop.call_later(self.interval, self._summary)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
