"""Events of the library API and the bounded stream that delivers them.

A slow consumer never stalls routing: each :class:`EventStream` holds at most
``maxsize`` events; when it is full, newer events are dropped and counted, and the
consumer reads one :class:`Overflow` (with the count) where the loss happened: after the
events queued before it, before any event queued after it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerStateChanged:
    """A neighbor's session changed state (``old``/``new``: RFC 4271 state names)."""

    peer: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BestPathChanged:
    """The best path of ``prefix`` changed; ``next_hop`` None: the prefix is gone.
    ``source``: the neighbor it came from, ``"local"`` for originated routes."""

    family: str
    prefix: str
    next_hop: str | None
    source: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfRib:
    """End-of-RIB ``received`` from or ``sent`` to ``peer``."""

    peer: str
    family: str
    direction: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Overflow:
    """``dropped`` events were lost because the consumer was too slow."""

    dropped: int


Event = PeerStateChanged | BestPathChanged | EndOfRib | Overflow


class EventStream:
    """Async iterator over events; ``async with`` (or :meth:`close`) unsubscribes."""

    def __init__(self, maxsize: int, on_close: Callable[[EventStream], None]) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.dropped_total = 0
        self._queue: deque[Event] = deque()
        self._dropped = 0
        self._wakeup = asyncio.Event()
        self._closed = False
        self._on_close = on_close

    def push(self, event: Event) -> None:
        """Called by the reflector; never blocks."""
        if self._closed:
            return
        if len(self._queue) >= self.maxsize:
            self._dropped += 1
            self.dropped_total += 1
            return
        if self._dropped:  # the loss goes where it happened, in order
            self._queue.append(Overflow(dropped=self._dropped))
            self._dropped = 0
        self._queue.append(event)
        self._wakeup.set()

    def get_nowait(self) -> Event | None:
        if self._queue:
            return self._queue.popleft()
        if self._dropped:
            n, self._dropped = self._dropped, 0
            return Overflow(dropped=n)
        return None

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        while True:
            ev = self.get_nowait()
            if ev is not None:
                return ev
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._wakeup.set()
            self._on_close(self)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
