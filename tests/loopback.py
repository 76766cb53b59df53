"""bgprr daemons on loopback, shared by tests/api and tests/io: free ports, a polling wait and
the TOML configs of a reflector (listening, its neighbors passive) and of its clients (not
listening, one active neighbor: the reflector). Everything is AS 64511 (iBGP)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable


def free_port(host: str) -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll `cond` every 20 ms; AssertionError once `timeout` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def global_config(router_id: str, port: int, listen: str | None = None) -> str:
    """The [global.config] table; `listen` is the one local-address-list entry, if any."""
    text = f"""
[global.config]
as = 64511
router-id = "{router_id}"
port = {port}
"""
    if listen is not None:
        text += f'local-address-list = ["{listen}"]\n'
    return text


def rr_neighbor(
    address: str,
    *,
    client: bool = True,
    cluster_id: str | None = None,
    idle_hold: bool = False,
    description: str | None = None,
    families: str = "",
) -> str:
    """One passive [[neighbors]] entry of a reflector: a route-reflector client unless
    `client` is false; `idle_hold` sets idle-hold-time-after-reset to 1 s; `families` is
    appended as it is (afi-safis tables)."""
    text = f"""
[[neighbors]]
[neighbors.config]
neighbor-address = "{address}"
peer-as = 64511
"""
    if description:
        text += f'description = "{description}"\n'
    if idle_hold:
        text += "[neighbors.timers.config]\nidle-hold-time-after-reset = 1\n"
    text += "[neighbors.transport.config]\npassive-mode = true\n"
    if client:
        text += "[neighbors.route-reflector.config]\nroute-reflector-client = true\n"
        if cluster_id is not None:
            text += f'route-reflector-cluster-id = "{cluster_id}"\n'
    return text + families


def rr_config(
    rr: str,
    port: int,
    clients: list[str],
    extra: str = "",
    *,
    cluster_id: str | None = None,
    idle_hold: bool = False,
    description: str | None = None,
    families: str = "",
) -> str:
    """A reflector with router id `rr` listening on `rr`:`port`, one client neighbor per
    address in `clients` (see rr_neighbor), then `extra` as it is."""
    text = global_config(rr, port, rr)
    for c in clients:
        text += rr_neighbor(
            c,
            cluster_id=cluster_id,
            idle_hold=idle_hold,
            description=description,
            families=families,
        )
    return text + extra


def client_config(
    me: str,
    rr: str,
    port: int,
    *,
    password: str = "",
    families: str = "",
    local_address: bool = True,
    idle_hold: bool = True,
) -> str:
    """A speaker with router id `me` that does not listen and connects to `rr`:`port` (from
    `me` unless `local_address` is false), retrying every second."""
    pw = f'auth-password = "{password}"\n' if password else ""
    hold = "idle-hold-time-after-reset = 1\n" if idle_hold else ""
    local = f'local-address = "{me}"\n' if local_address else ""
    return (
        global_config(me, -1)
        + f"""
[[neighbors]]
[neighbors.config]
neighbor-address = "{rr}"
peer-as = 64511
{pw}[neighbors.timers.config]
connect-retry = 1
{hold}[neighbors.transport.config]
{local}remote-port = {port}
"""
        + families
    )


def peer_group(name: str, tables: str = "") -> str:
    """A [[peer-groups]] entry in AS 64511 whose members are route-reflector clients;
    `tables` (TOML) follows its [peer-groups.config] keys."""
    return f"""
[[peer-groups]]
[peer-groups.config]
peer-group-name = "{name}"
peer-as = 64511
{tables}[peer-groups.route-reflector.config]
route-reflector-client = true
"""


def dynamic_neighbors(prefix: str, group: str) -> str:
    """A [[dynamic-neighbors]] entry: peers from `prefix` get peer group `group`."""
    return f"""
[[dynamic-neighbors]]
[dynamic-neighbors.config]
prefix = "{prefix}"
peer-group = "{group}"
"""
