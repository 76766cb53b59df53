"""bgprr.io.listener: every waiting connection is taken per readiness event, whatever the
loop, and running out of descriptors pauses accepting instead of spinning."""

from __future__ import annotations

import asyncio
import errno
import importlib.util
import socket
from collections.abc import Callable, Coroutine
from typing import Any, cast

import pytest

from bgprr.io import listener as listener_mod
from bgprr.io.listener import Listener

N = 200


class _Counting(asyncio.Protocol):
    made: list[asyncio.BaseTransport]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(transport)


def _loops() -> list[str]:
    has_uvloop = importlib.util.find_spec("uvloop") is not None
    return ["asyncio", "uvloop"] if has_uvloop else ["asyncio"]


def _run(kind: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    if kind == "uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def _listening() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


@pytest.mark.parametrize("kind", _loops())
def test_all_waiting_connections_in_a_few_iterations(kind: str) -> None:
    """200 connections queued at once are transports after a handful of loop iterations
    (uvloop's own server takes one per iteration: 200)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        made: list[asyncio.BaseTransport] = []
        proto = type("P", (_Counting,), {"made": made})
        lst = Listener(loop, _listening(), proto, 4096)
        port = lst.sock.getsockname()[1]
        clients = []
        for _ in range(N):  # the kernel completes each handshake: all wait in the queue
            c = socket.socket()
            c.connect(("127.0.0.1", port))
            clients.append(c)
        lst.start()
        iterations = 0
        while len(made) < N and iterations < 50:
            await asyncio.sleep(0)
            iterations += 1
        assert len(made) == N and lst.accepted == N
        assert iterations <= 10
        assert lst.is_serving() and lst.sockets == (lst.sock,)
        for tr in made:
            tr.close()
        lst.close()
        assert not lst.is_serving() and not lst.sockets  # no socket once closed
        lst.close()  # twice is fine
        c = socket.socket()
        with pytest.raises(ConnectionRefusedError):
            c.connect(("127.0.0.1", port))
        c.close()
        for c in clients:
            c.close()

    _run(kind, main)


class _FlakySock:
    """A listening socket whose accept fails once with ``err``."""

    def __init__(self, real: socket.socket, err: int) -> None:
        self.real = real
        self.err = err
        self.calls = 0

    def fileno(self) -> int:
        return self.real.fileno()

    def listen(self, backlog: int) -> None:
        self.real.listen(backlog)

    def accept(self) -> tuple[socket.socket, Any]:
        self.calls += 1
        if self.calls == 1:
            raise OSError(self.err, "simulated")
        return self.real.accept()

    def close(self) -> None:
        self.real.close()

    def getsockname(self) -> Any:
        return self.real.getsockname()


def _flaky_listener(
    err: int,
) -> tuple[Listener, _FlakySock, list[asyncio.BaseTransport], socket.socket]:
    """A Listener on a socket whose first accept fails with ``err``, one client connected
    (queued, not accepted yet): (listener, socket, transports made, client)."""
    made: list[asyncio.BaseTransport] = []
    proto = type("P", (_Counting,), {"made": made})
    flaky = _FlakySock(_listening(), err)
    lst = Listener(asyncio.get_running_loop(), cast(socket.socket, flaky), proto, 16)
    c = socket.socket()
    c.connect(flaky.getsockname())
    return lst, flaky, made, c


async def _wait_made(made: list[asyncio.BaseTransport], tries: int) -> None:
    for _ in range(tries):
        if made:
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("kind", _loops())
def test_out_of_descriptors_pauses(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listener_mod, "PAUSE_ON_ERROR", 0.05)

    async def main() -> None:
        lst, flaky, made, c = _flaky_listener(errno.EMFILE)
        lst.start()
        for _ in range(5):
            await asyncio.sleep(0)
        assert made == [] and flaky.calls == 1  # paused: no busy retry
        assert lst.is_serving()  # still a listener (readiness stays up)
        await _wait_made(made, 100)
        assert len(made) == 1  # resumed after the pause
        made[0].close()
        lst.close()
        c.close()

    _run(kind, main)


@pytest.mark.parametrize("kind", _loops())
def test_aborted_while_queued_is_skipped(kind: str) -> None:
    async def main() -> None:
        lst, flaky, made, c = _flaky_listener(errno.ECONNABORTED)
        lst.start()
        await _wait_made(made, 20)
        assert len(made) == 1 and flaky.calls >= 2
        made[0].close()
        lst.close()
        c.close()

    _run(kind, main)
