"""The health and metrics HTTP server (``--http HOST:PORT``; ``--metrics`` is an alias).

One small asyncio server in the daemon's event loop, stdlib only:

* ``GET /healthz``: ``200 ok`` when the event loop answers and its heartbeat is on
  time; ``503 unhealthy: …`` when the last heartbeat ran more than
  :data:`STALL_LIMIT` seconds late (the loop was blocked that long: BGP keepalives were
  late too).
* ``GET /readyz``: ``200 ready`` or ``503 not ready: REASON`` (:mod:`bgprr.api.readiness`).
* ``GET /metrics``: Prometheus text when prometheus-client is installed, else ``404``
  with the hint to install the ``metrics`` extra.

``HEAD`` answers the same without a body; other methods get ``405``. One request per
connection (``Connection: close``); a request line or headers that do not parse get
``400``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from typing import Any, Protocol

log = logging.getLogger("bgprr.api")

METRICS_HINT = "/metrics needs prometheus-client: pip install 'bgprr[metrics]'"
BEAT = 1.0  # seconds between two heartbeats
STALL_LIMIT = 10.0  # a heartbeat later than this: /healthz answers 503
TIMEOUT = 10.0  # seconds to read a request
MAX_LINE = 8192  # bytes per request or header line
MAX_HEADERS = 100

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}


def parse_hostport(text: str, what: str = "--http") -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT``), the host an IP address; ValueError naming ``what``."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    bad = ValueError(f"invalid {what} address {text!r} (HOST:PORT)")
    if not sep or not host:
        raise bad
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise bad from None
    if not 0 <= number <= 65535:
        raise ValueError(f"invalid {what} port {port}")
    return host, number


def ready_text(state: dict[str, Any]) -> str:
    """The one-line answer of ``/readyz``: ``ready`` or ``not ready: REASON``, followed by
    `` (warning: …)`` when something needs the operator without making it unready."""
    text = "ready" if state["ready"] else f"not ready: {state['reason']}"
    warnings = state.get("warnings")
    return f"{text} (warning: {'; '.join(warnings)})" if warnings else text


def hostport_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Probed(Protocol):
    """What the server asks: :meth:`bgprr.api.library.RouteReflector.readiness`."""

    def readiness(self) -> dict[str, Any]: ...


class Rendered(Protocol):
    """What ``/metrics`` serves: :class:`bgprr.api.metrics.MetricsServer`."""

    def render(self) -> bytes: ...


class Heartbeat:
    """A timer every ``interval`` seconds that notes how late it ran."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = BEAT) -> None:
        self.loop = loop
        self.interval = interval
        self.last = loop.time()  # when it last ran
        self.lag = 0.0  # how late it ran then
        self.max_lag = 0.0  # the largest lag seen
        self._due = self.last + interval
        self._handle: asyncio.TimerHandle | None = loop.call_at(self._due, self._beat)

    def _beat(self) -> None:
        now = self.loop.time()
        self.lag = max(0.0, now - self._due)
        self.max_lag = max(self.max_lag, self.lag)
        self.last = now
        self._due = now + self.interval
        self._handle = self.loop.call_at(self._due, self._beat)

    def stall(self) -> float:
        """How long the loop was last held up: the lag of the last beat, or the time since
        the last beat beyond its interval (when asked before the beat could run)."""
        waited = self.loop.time() - self.last - self.interval
        return max(self.lag, waited)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class HttpServer:
    """Serves ``/healthz``, ``/readyz`` and (with ``metrics``) ``/metrics``."""

    def __init__(
        self,
        probed: Probed,
        metrics: Rendered | None = None,
        *,
        stall_limit: float = STALL_LIMIT,
        beat: float = BEAT,
    ) -> None:
        self.probed = probed
        self.metrics = metrics
        self.stall_limit = stall_limit
        self.beat_interval = beat
        self.heartbeat: Heartbeat | None = None
        self.server: asyncio.Server | None = None
        self.address = ""

    def paths(self) -> list[str]:
        return ["/healthz", "/readyz", *(["/metrics"] if self.metrics is not None else [])]

    async def listen(self, hostport: str) -> None:
        host, port = parse_hostport(hostport)
        self.server = await asyncio.start_server(self._serve, host, port, limit=MAX_LINE)
        self.heartbeat = Heartbeat(asyncio.get_running_loop(), self.beat_interval)
        self.address = hostport_text(host, self.port())
        note = "" if self.metrics is not None else f" ({METRICS_HINT})"
        log.info("http: serving %s on %s%s", " ".join(self.paths()), self.address, note)
        if not ipaddress.ip_address(host).is_loopback:
            log.warning(
                "http: %s is not a loopback address: anyone who reaches it reads the "
                "health, readiness and metrics (neighbor addresses, prefix counts) without "
                "authentication; bind 127.0.0.1 unless a firewall or network policy "
                "guards it",
                self.address,
            )

    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
            self.heartbeat = None
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None

    # ------------------------------------------------------------------ answers

    def health(self) -> tuple[int, str]:
        hb = self.heartbeat
        stall = 0.0 if hb is None else hb.stall()
        if stall > self.stall_limit:
            return 503, (
                f"unhealthy: event loop held up, heartbeat {stall:.1f} s late "
                f"(limit {self.stall_limit:g} s)"
            )
        return 200, "ok"

    def ready(self) -> tuple[int, str]:
        state = self.probed.readiness()
        return (200 if state["ready"] else 503), ready_text(state)

    def answer(self, method: str, target: str) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and extra headers for one request."""
        path = target.split("?", 1)[0]
        if path not in ("/healthz", "/readyz", "/metrics", "/"):
            return 404, b"not found\n", {}
        if method not in ("GET", "HEAD"):
            return 405, b"method not allowed\n", {"Allow": "GET, HEAD"}
        if path == "/healthz":
            code, text = self.health()
        elif path == "/readyz":
            code, text = self.ready()
        elif self.metrics is None:
            return 404, (METRICS_HINT + "\n").encode(), {}
        else:
            from prometheus_client import CONTENT_TYPE_LATEST

            return 200, self.metrics.render(), {"Content-Type": CONTENT_TYPE_LATEST}
        return code, (text + "\n").encode(), {}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(_read_request(reader), TIMEOUT)
            headers: dict[str, str] = {}
            if request is None:
                code, body, method = 400, b"bad request\n", "GET"
            else:
                method, target = request
                code, body, headers = self.answer(method, target)
            head = {"Content-Type": "text/plain; charset=utf-8", **headers,
                    "Content-Length": str(len(body)), "Connection": "close"}
            lines = [f"HTTP/1.1 {code} {_REASONS[code]}"]
            lines += [f"{k}: {v}" for k, v in head.items()]
            out = ("\r\n".join(lines) + "\r\n\r\n").encode()
            writer.write(out if method == "HEAD" else out + body)
            await writer.drain()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str] | None:
    """(method, target) of the request; None when it does not parse."""
    try:
        line = await reader.readline()
        for _ in range(MAX_HEADERS + 1):
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
        else:
            return None
    except ValueError:  # a line over the limit
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/") or not parts[1].startswith("/"):
        return None
    return parts[0], parts[1]
