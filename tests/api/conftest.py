"""Shared fixtures for tests/api: a RouteReflector and bgprr client daemons over loopback.

Addresses 127.0.6.x (issue #6) and free ports keep these tests apart from others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bgprr.api.library import RouteReflector
from bgprr.config import load_config_text
from bgprr.io.daemon import Daemon
from bgprr.session import State
from tests import loopback

RR = "127.0.6.1"


def free_port(host: str = RR) -> int:
    return loopback.free_port(host)


def rr_config(
    port: int,
    clients: list[str],
    extra: str = "",
    *,
    ipv6: bool = False,
    description: str | None = None,
) -> str:
    fams = FAMILIES if ipv6 else ""
    return loopback.rr_config(
        RR, port, clients, extra, idle_hold=True, description=description, families=fams
    )


FAMILIES = """
[[neighbors.afi-safis]]
[neighbors.afi-safis.config]
afi-safi-name = "ipv4-unicast"
[[neighbors.afi-safis]]
[neighbors.afi-safis.config]
afi-safi-name = "ipv6-unicast"
"""


def client_config(me: str, port: int, *, ipv6: bool = False, password: str = "") -> str:
    fams = FAMILIES if ipv6 else ""
    return loopback.client_config(me, RR, port, password=password, families=fams)


class Lab:
    """Starts reflectors and client daemons; stops them all at the end."""

    RR = RR
    free_port = staticmethod(free_port)

    def __init__(self) -> None:
        self.reflectors: list[RouteReflector] = []
        self.daemons: list[Daemon] = []
        self.port = free_port()

    async def reflector(
        self, clients: list[str], extra: str = "", *, ipv6: bool = False, port: int = 0
    ) -> RouteReflector:
        text = rr_config(port or self.port, clients, extra, ipv6=ipv6)
        rr = RouteReflector(load_config_text(text, "toml"))
        await rr.start()
        self.reflectors.append(rr)
        return rr

    async def client(self, me: str, *, ipv6: bool = False, password: str = "") -> Daemon:
        text = client_config(me, self.port, ipv6=ipv6, password=password)
        d = Daemon(load_config_text(text, "toml"))
        await d.start()
        self.daemons.append(d)
        return d

    def rr_text(self, clients: list[str], extra: str = "", **kw: Any) -> str:
        return rr_config(self.port, clients, extra, **kw)

    @staticmethod
    async def wait(cond: Callable[[], bool], timeout: float = 10.0) -> None:
        await loopback.wait_for(cond, timeout)

    @staticmethod
    def established(d: Daemon, key: str) -> bool:
        return established(d, key)

    async def close(self) -> None:
        for d in self.daemons:
            if not d.stopped.is_set():
                await d.stop(graceful=False)
        for rr in self.reflectors:
            await rr.stop()


def established(d: Daemon, key: str) -> bool:
    runner = d.peers.get(key)
    return runner is not None and runner.session.state is State.ESTABLISHED


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    lab = Lab()
    yield lab
    await lab.close()
