"""The control API server: newline-delimited JSON over a Unix socket (and TCP on loopback).

Request ``{"id": 1, "method": "neighbor.get", "params": {"address": "10.0.0.1"}}``;
reply ``{"id": 1, "result": ...}`` or ``{"id": 1, "error": {"code": ..., "message": ...}}``.
Every handler calls a :class:`~bgprr.api.library.RouteReflector` method (one code path).
A bad request gets an error reply and the connection stays open; a handler bug is an
``internal`` error, never a daemon crash. The schema is in docs/api.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import ipaddress
import json
import logging
import os
import socket
import stat
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from bgprr._version import __version__

from .errors import ApiError, BadRequest

log = logging.getLogger("bgprr.api")

MAX_REQUEST = 1 << 20  # bytes per request line

_STR = (str,)
_INT = (int,)
_BOOL = (bool,)
_LIST = (list,)
_DICT = (dict,)
_OPT_INT = (int, type(None))
_OPT_STR = (str, type(None))



class Reflector(Protocol):
    """What the control API calls: the methods of
    :class:`~bgprr.api.library.RouteReflector` (docs/api.md) that it serves."""

    def neighbors(self) -> list[dict[str, Any]]: ...
    def neighbor(self, address: str) -> dict[str, Any]: ...
    def add_neighbor(self, address: str, peer_as: int, **options: Any) -> dict[str, Any]: ...
    def remove_neighbor(self, address: str) -> None: ...
    def reset_neighbor(self, address: str, *, message: str = "") -> None: ...
    def soft_reset_in(self, address: str, family: str | None = None) -> None: ...
    def soft_reset_out(self, address: str, family: str | None = None) -> None: ...
    def shutdown_neighbor(self, address: str, *, message: str = "") -> None: ...
    def disable_neighbor(self, address: str, *, message: str = "") -> None: ...
    def enable_neighbor(self, address: str) -> None: ...
    async def adj_rib_in_async(
        self, address: str, family: str = "ipv4", post_policy: bool = False
    ) -> list[Any]: ...
    async def adj_rib_out_async(self, address: str, family: str = "ipv4") -> list[Any]: ...
    async def rib_async(
        self, family: str = "ipv4", prefix: str | None = None, match: str = "exact"
    ) -> list[Any]: ...
    def rib_summary(self) -> dict[str, Any]: ...
    def originate(
        self,
        prefix: str,
        next_hop: str,
        *,
        origin: str = "igp",
        as_path: Sequence[int] = (),
        med: int | None = None,
        local_pref: int | None = 100,
        communities: Iterable[str | int] = (),
        large_communities: Iterable[str | Sequence[int]] = (),
    ) -> None: ...
    def withdraw(self, prefix: str) -> None: ...
    def reload(self, path: str | None = None) -> None: ...
    def info(self) -> dict[str, Any]: ...
    def global_policy(self) -> dict[str, Any]: ...
    def neighbor_policy(self, address: str) -> dict[str, Any]: ...


# method -> ({param: (types, required)}, handler(rr, params))
Handler = Callable[[Reflector, dict[str, Any]], Any]
Spec = dict[str, tuple[tuple[type, ...], bool]]

_ADDR: Spec = {"address": (_STR, True)}
_ADDR_MSG: Spec = {"address": (_STR, True), "message": (_STR, False)}
_ADDR_FAM: Spec = {"address": (_STR, True), "family": (_STR, False)}


def _ok(fn: Callable[..., None], *args: Any, **kwargs: Any) -> dict[str, bool]:
    fn(*args, **kwargs)
    return {"ok": True}


METHODS: dict[str, tuple[Spec, Handler]] = {
    "ping": ({}, lambda rr, p: {"version": __version__}),
    "global.get": ({}, lambda rr, p: rr.info()),
    "neighbor.list": ({}, lambda rr, p: rr.neighbors()),
    "neighbor.get": (_ADDR, lambda rr, p: rr.neighbor(p["address"])),
    "neighbor.add": (
        {
            "address": (_STR, True),
            "peer_as": (_INT, True),
            "rr_client": (_BOOL, False),
            "password": (_OPT_STR, False),
            "peer_group": (_OPT_STR, False),
            "passive": (_BOOL, False),
            "description": (_STR, False),
            "settings": (_DICT, False),
        },
        lambda rr, p: rr.add_neighbor(p.pop("address"), p.pop("peer_as"), **p),
    ),
    "neighbor.delete": (_ADDR, lambda rr, p: _ok(rr.remove_neighbor, p["address"])),
    "neighbor.reset": (_ADDR_MSG, lambda rr, p: _ok(rr.reset_neighbor, **p)),
    "neighbor.softresetin": (_ADDR_FAM, lambda rr, p: _ok(rr.soft_reset_in, **p)),
    "neighbor.softresetout": (_ADDR_FAM, lambda rr, p: _ok(rr.soft_reset_out, **p)),
    "neighbor.shutdown": (_ADDR_MSG, lambda rr, p: _ok(rr.shutdown_neighbor, **p)),
    "neighbor.disable": (_ADDR_MSG, lambda rr, p: _ok(rr.disable_neighbor, **p)),
    "neighbor.enable": (_ADDR, lambda rr, p: _ok(rr.enable_neighbor, p["address"])),
    "neighbor.adj_in": (
        {**_ADDR_FAM, "post_policy": (_BOOL, False)},
        lambda rr, p: rr.adj_rib_in_async(**p),
    ),
    "neighbor.policy": (_ADDR, lambda rr, p: rr.neighbor_policy(p["address"])),
    "global.policy": ({}, lambda rr, p: rr.global_policy()),
    "neighbor.adj_out": (_ADDR_FAM, lambda rr, p: rr.adj_rib_out_async(**p)),
    "rib.get": (
        {"family": (_STR, False), "prefix": (_OPT_STR, False), "match": (_STR, False)},
        lambda rr, p: rr.rib_async(**p),
    ),
    "rib.summary": ({}, lambda rr, p: rr.rib_summary()),
    "route.add": (
        {
            "prefix": (_STR, True),
            "next_hop": (_STR, True),
            "origin": (_STR, False),
            "as_path": (_LIST, False),
            "med": (_OPT_INT, False),
            "local_pref": (_OPT_INT, False),
            "communities": (_LIST, False),
            "large_communities": (_LIST, False),
        },
        lambda rr, p: _ok(rr.originate, p.pop("prefix"), p.pop("next_hop"), **p),
    ),
    "route.delete": ({"prefix": (_STR, True)}, lambda rr, p: _ok(rr.withdraw, p["prefix"])),
    "config.reload": ({}, lambda rr, p: _ok(rr.reload)),
}


def check_params(method: str, params: object) -> dict[str, Any]:
    """The request's params checked against the method's spec (BadRequest otherwise)."""
    spec = METHODS[method][0]
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise BadRequest("params must be an object")
    for name, value in params.items():
        if name not in spec:
            raise BadRequest(f"{method}: unknown parameter {name!r}")
        types, _ = spec[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise BadRequest(f"{method}: parameter {name!r} must be {want}")
    for name, (_, required) in spec.items():
        if required and name not in params:
            raise BadRequest(f"{method}: missing parameter {name!r}")
    return dict(params)


async def handle_request(
    rr: Reflector, line: bytes, token: str | None
) -> dict[str, Any]:
    """One request line -> the reply object (never raises). Handlers of large tables
    return awaitables that yield to the event loop while they build the result."""
    rid: Any = None
    try:
        try:
            req = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"invalid JSON: {exc}") from None
        if not isinstance(req, dict):
            raise BadRequest("a request must be a JSON object")
        rid = req.get("id")
        if token is not None:
            given = req.get("token")
            if not isinstance(given, str) or not hmac.compare_digest(given, token):
                raise BadRequest("missing or wrong token")
        method = req.get("method")
        if not isinstance(method, str) or method not in METHODS:
            raise BadRequest(f"unknown method {method!r}")
        params = check_params(method, req.get("params"))
        result = METHODS[method][1](rr, params)
        if inspect.isawaitable(result):
            result = await result
        return {"id": rid, "result": result}
    except ApiError as exc:
        return {"id": rid, "error": {"code": exc.code, "message": exc.message}}
    except Exception as exc:  # a handler bug must not take the daemon down
        log.exception("control API: internal error")
        return {"id": rid, "error": {"code": "internal", "message": f"internal error: {exc}"}}


class ControlServer:
    """Serves :data:`METHODS` for one :class:`Reflector` on any number of listeners."""

    def __init__(self, rr: Reflector, *, token: str | None = None) -> None:
        self.rr = rr
        self.token = token
        self.servers: list[asyncio.Server] = []
        self.paths: list[str] = []
        self._clients: set[asyncio.Task[None]] = set()

    async def listen_unix(self, path: str) -> None:
        """Listen on ``path`` (mode 0600). A socket file left by a dead process is
        replaced; :class:`SocketInUse` when a live process listens there (naming the bgprr
        that answers), OSError naming the path for any other problem."""
        await _claim_socket_path(path)
        old = os.umask(0o177)  # the socket is created 0600
        try:
            server = await asyncio.start_unix_server(self._serve, path, limit=MAX_REQUEST)
        except OSError as exc:
            raise OSError(f"control API socket {path}: {_why(exc)}") from None
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        self.servers.append(server)
        self.paths.append(path)
        log.info("control API on %s", path)

    async def listen_tcp(self, hostport: str) -> None:
        if not self.token:
            raise ValueError("the TCP control API needs a token")
        host, _, port = hostport.rpartition(":")
        host = host.strip("[]")
        try:
            ip = ipaddress.ip_address(host)
            port_no = int(port)
        except ValueError:
            raise ValueError(
                f"invalid control API address {hostport!r} (HOST:PORT, HOST a loopback "
                "address)"
            ) from None
        if not ip.is_loopback:
            raise ValueError(
                f"control API address {hostport} is not loopback (the token and every "
                "answer travel in clear): use 127.0.0.1 or ::1"
            )
        server = await asyncio.start_server(self._serve, host, port_no, limit=MAX_REQUEST)
        self.servers.append(server)
        log.info("control API on %s (token required)", hostport)

    def tcp_port(self) -> int | None:
        for server in self.servers:
            for sock in server.sockets:
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    return int(sock.getsockname()[1])
        return None

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for task in list(self._clients):
            task.cancel()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        for path in self.paths:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self.servers.clear()
        self.paths.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        token = self.token if _is_tcp(writer) else None
        try:
            while True:
                line = await _read_line(reader)
                if line is None:
                    break
                if line is _TOO_LONG:
                    reply: dict[str, Any] = {
                        "id": None,
                        "error": {"code": "bad_request", "message": "request too long"},
                    }
                elif not line.strip():
                    continue
                else:
                    reply = await handle_request(self.rr, line, token)
                writer.write(await _encode(reply))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()


_TOO_LONG = b"<too long>"
_BIG = 1000  # results with more entries are encoded in a worker thread


async def _encode(reply: dict[str, Any]) -> bytes:
    """The reply line; a large result (a fresh structure nobody else holds) is encoded
    off the event loop."""
    result = reply.get("result")
    if isinstance(result, list) and len(result) > _BIG:
        text = await asyncio.to_thread(json.dumps, reply, separators=(",", ":"))
    else:
        text = json.dumps(reply, separators=(",", ":"))
    return text.encode() + b"\n"


async def _read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next request line; None at EOF; ``_TOO_LONG`` (the line skipped) when it
    exceeds MAX_REQUEST."""
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial or None
    except asyncio.LimitOverrunError as exc:
        consumed = exc.consumed
    while True:  # skip up to and including the end of this line
        try:
            await reader.readexactly(consumed)
            await reader.readuntil(b"\n")
            return _TOO_LONG
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError as exc:
            consumed = exc.consumed


def _is_tcp(writer: asyncio.StreamWriter) -> bool:
    sock = writer.get_extra_info("socket")
    return sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6)


class SocketInUse(OSError):
    """The control socket's path is held by a live process."""


PROBE_TIMEOUT = 2.0  # seconds to connect to, and hear from, a live socket's owner


async def _claim_socket_path(path: str) -> None:
    """Remove a socket file left by a dead process; refuse one a live process listens on
    (:class:`SocketInUse`, naming the bgprr that answers ``global.get``)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OSError(f"control API socket {path}: {_why(exc)}") from None
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(f"control API socket {path}: exists and is not a socket")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(path), PROBE_TIMEOUT
        )
    except (ConnectionRefusedError, FileNotFoundError):  # nobody listens: stale
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OSError(f"control API socket {path}: stale, {_why(exc)}") from None
        return
    except TimeoutError:  # a full backlog: someone listens
        who = "another process"
    except OSError as exc:
        raise OSError(f"control API socket {path}: {_why(exc)}") from None
    else:
        try:
            who = await _who(reader, writer)
        finally:
            writer.close()
    raise SocketInUse(
        f"control API socket {path} is in use by {who}; "
        "give this instance its own --api-socket"
    )


async def _who(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
    """Who answers on a live control socket, from its ``global.get``."""
    try:
        writer.write(b'{"id": 0, "method": "global.get"}\n')
        await writer.drain()
        reply = json.loads(await asyncio.wait_for(reader.readline(), PROBE_TIMEOUT))
    except (OSError, TimeoutError, ValueError):
        return "another process"
    if not isinstance(reply, dict) or not ("result" in reply or "error" in reply):
        return "another process"
    info = reply.get("result")
    if not isinstance(info, dict):
        return "another bgprr"  # an older one, without global.get
    parts = [f"router id {info.get('router_id')}", f"AS {info.get('local_as')}"]
    if info.get("config"):
        parts.append(f"config {info['config']}")
    if info.get("pid"):
        parts.append(f"pid {info['pid']}")
    return f"another bgprr ({', '.join(parts)})"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
