"""A small blocking client of the control API (what the CLI uses).

``address`` is a Unix socket path, or ``tcp://127.0.0.1:PORT`` (then ``token`` is sent
with every request). Errors: :class:`~bgprr.api.errors.Unavailable` when the daemon
cannot be reached, else the :class:`~bgprr.api.errors.ApiError` subclass of the reply's
error code.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from .errors import ERRORS, ApiError, Unavailable

DEFAULT_SOCKET = "/run/bgprr.sock"


class Client:
    def __init__(self, address: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.address = address
        self.token = token
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""
        self._next_id = 1

    def _connect(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        try:
            if self.address.startswith("tcp://"):
                host, _, port = self.address[6:].rpartition(":")
                sock = socket.create_connection((host.strip("[]"), int(port)), self.timeout)
            else:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(self.address)
                except OSError:
                    sock.close()
                    raise
        except (OSError, ValueError) as exc:
            why = _why(exc)
            if isinstance(exc, PermissionError) and not self.address.startswith("tcp://"):
                why += _owner_hint(self.address)
            raise Unavailable(f"cannot reach bgprr at {self.address}: {why}") from None
        sock.settimeout(self.timeout)
        self._sock = sock
        return sock

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        sock = self._connect()
        rid = self._next_id
        self._next_id += 1
        req: dict[str, Any] = {"id": rid, "method": method, "params": params or {}}
        if self.token is not None:
            req["token"] = self.token
        try:
            sock.sendall(json.dumps(req).encode() + b"\n")
            line = self._readline(sock)
        except OSError as exc:
            self.close()
            raise Unavailable(f"bgprr at {self.address}: {_why(exc)}") from None
        reply = json.loads(line)
        err = reply.get("error")
        if err is not None:
            raise ERRORS.get(err.get("code"), ApiError)(str(err.get("message")))
        return reply.get("result")

    def _readline(self, sock: socket.socket) -> bytes:
        while b"\n" not in self._buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("connection closed by the daemon")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buf = b""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _owner_hint(path: str) -> str:
    """Why a control socket refuses us: it is mode 0600, for the daemon's user."""
    try:
        uid = os.stat(path).st_uid
    except OSError:
        return " (the socket or its directory is not open to this user)"
    return f" (the socket is mode 0600, for uid {uid} only: run as that user or root)"


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def call(address: str, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
    """One request on a fresh connection."""
    with Client(address, **kw) as client:
        return client.call(method, params)
