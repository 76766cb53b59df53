"""The health server (``/healthz``, ``/readyz``, ``/metrics``), readiness through a
graceful restart, ``bgprr global`` and the ``bgprr health`` probe, against in-process
reflectors and bgprr clients over loopback."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bgprr._version import __version__
from bgprr.api import metrics as metrics_mod
from bgprr.api import schema
from bgprr.api.http import Heartbeat, HttpServer
from bgprr.api.library import RouteReflector
from bgprr.cli import main
from bgprr.config import load_config_text
from bgprr.io.daemon import Daemon
from bgprr.reflect.types import SelectionDeferralEnded
from bgprr.wire.attributes import encode_attribute
from bgprr.wire.constants import IPV4_UNICAST
from bgprr.wire.prefix import parse_prefix
from tests import loopback

from .conftest import RR

B, C = "127.0.6.2", "127.0.6.3"

GR = """
[neighbors.graceful-restart.config]
enabled = true
restart-time = 30
deferral-time = {deferral}
[[neighbors.afi-safis]]
[neighbors.afi-safis.config]
afi-safi-name = "ipv4-unicast"
[neighbors.afi-safis.mp-graceful-restart.config]
enabled = true
"""


def with_gr(text: str, deferral: int = 20) -> str:
    """Graceful restart on every [[neighbors]] of a generated config."""
    parts = text.split("[[neighbors]]")
    section = GR.format(deferral=deferral)
    return parts[0] + "".join("[[neighbors]]" + p + section for p in parts[1:])


async def request(port: int, raw: bytes) -> tuple[str, dict[str, str], str]:
    """Status line, headers and body of one raw request."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    status, *lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, headers, body


async def get(port: int, path: str) -> tuple[str, str]:
    status, _, body = await request(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return status, body


async def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_endpoints_methods_and_bad_requests(lab: Any) -> None:
    rr: RouteReflector = await lab.reflector([B])
    records = Records()
    api_log = logging.getLogger("bgprr.api")
    api_log.addHandler(records)
    old_level = api_log.level
    api_log.setLevel(logging.INFO)
    try:
        await rr.serve_control(None, http="127.0.0.1:0")
    finally:
        api_log.removeHandler(records)
        api_log.setLevel(old_level)
    assert rr.http is not None
    port = rr.http.port()
    assert records.lines == [f"http: serving /healthz /readyz /metrics on 127.0.0.1:{port}"]

    assert await get(port, "/healthz") == ("HTTP/1.1 200 OK", "ok\n")
    assert await get(port, "/readyz?verbose=1") == ("HTTP/1.1 200 OK", "ready\n")
    status, body = await get(port, "/metrics")
    assert status == "HTTP/1.1 200 OK" and "bgprr_sessions" in body
    status, headers, body = await request(port, b"HEAD /readyz HTTP/1.1\r\n\r\n")
    assert (status, headers["Content-Length"], body) == ("HTTP/1.1 200 OK", "6", "")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    status, headers, body = await request(port, b"POST /healthz HTTP/1.1\r\n\r\n")
    assert (status, headers["Allow"], body) == (
        "HTTP/1.1 405 Method Not Allowed", "GET, HEAD", "method not allowed\n"
    )
    assert await get(port, "/nothing") == ("HTTP/1.1 404 Not Found", "not found\n")
    for raw in (b"hello\r\n\r\n", b"GET\r\n\r\n", b"GET healthz HTTP/1.1\r\n\r\n",
                b"GET /healthz HTTP/1.1 extra\r\n\r\n",
                b"GET /" + b"x" * 9000 + b" HTTP/1.1\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n"):
        status, _, body = await request(port, raw)
        assert (status, body) == ("HTTP/1.1 400 Bad Request", "bad request\n"), raw[:40]
    # A client that connects and says nothing does not stop others from being answered.
    idle = socket.create_connection(("127.0.0.1", port))
    try:
        assert await get(port, "/healthz") == ("HTTP/1.1 200 OK", "ok\n")
    finally:
        idle.close()

    await rr.daemon.stop(graceful=False)
    assert await get(port, "/readyz") == ("HTTP/1.1 503 Service Unavailable",
                                          "not ready: stopping\n")
    await rr.close_control()
    assert rr.http is None
    with pytest.raises(OSError):
        await get(port, "/healthz")


async def test_without_prometheus_metrics_is_a_404_with_the_hint(
    lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_mod, "metrics_available", lambda: False)
    rr: RouteReflector = await lab.reflector([B])
    with pytest.raises(ValueError, match=r"--metrics needs prometheus-client"):
        await rr.serve_control(None, "127.0.0.1:0")  # --metrics insists
    await rr.serve_control(None, http="127.0.0.1:0")
    assert rr.http is not None and rr.metrics is None
    port = rr.http.port()
    hint = "/metrics needs prometheus-client: pip install 'bgprr[metrics]'\n"
    assert await get(port, "/metrics") == ("HTTP/1.1 404 Not Found", hint)
    assert await get(port, "/healthz") == ("HTTP/1.1 200 OK", "ok\n")
    with pytest.raises(ValueError, match="alias"):
        await rr.serve_control(None, "127.0.0.1:1", http="127.0.0.1:2")


async def test_healthz_reports_a_loop_that_was_held_up(lab: Any) -> None:
    """A probe that had to wait for a blocked event loop is answered 503 (the heartbeat ran
    late by more than the limit); the next one, once the heartbeat is on time, 200."""
    rr: RouteReflector = await lab.reflector([B])
    await rr.serve_control(None, http="127.0.0.1:0")
    server = rr.http
    assert isinstance(server, HttpServer) and server.heartbeat is not None
    server.heartbeat.stop()
    server.heartbeat = Heartbeat(asyncio.get_running_loop(), 0.5)
    server.stall_limit = 0.3
    port = server.port()
    assert await get(port, "/healthz") == ("HTTP/1.1 200 OK", "ok\n")

    answers: list[tuple[int, str]] = []

    def probe() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        answers.append((resp.status, resp.read().decode()))
        conn.close()

    thread = threading.Thread(target=probe)
    thread.start()
    time.sleep(1.2)  # the event loop is blocked; the probe's request waits in the socket
    await asyncio.to_thread(thread.join)
    ((status, text),) = answers
    assert status == 503
    late = re.fullmatch(
        r"unhealthy: event loop held up, heartbeat (\d\.\d) s late \(limit 0\.3 s\)\n", text
    )
    assert late is not None, text
    assert float(late[1]) >= 0.7  # blocked 1.2 s, the heartbeat due at most 0.5 s into it
    await asyncio.sleep(0.7)  # the next heartbeat is on time again
    assert await get(port, "/healthz") == ("HTTP/1.1 200 OK", "ok\n")


def attrs(med: int) -> bytes:
    return (
        encode_attribute(0x40, 1, b"\x00")
        + encode_attribute(0x40, 2, b"")
        + encode_attribute(0x40, 3, socket.inet_aton("192.0.2.1"))
        + encode_attribute(0x80, 4, med.to_bytes(4, "big"))
        + encode_attribute(0x40, 5, (100).to_bytes(4, "big"))
    )


async def gr_client(lab: Any, me: str) -> Daemon:
    text = with_gr(loopback.client_config(me, RR, lab.port))
    d = Daemon(load_config_text(text, "toml"))
    await d.start()
    lab.daemons.append(d)
    return d


ROUTES = 8000  # one MED each: ~500 KB of UPDATEs per peer, more than one flush's budget


async def test_readyz_follows_the_graceful_restart(lab: Any, tmp_path: Path) -> None:
    text = with_gr(lab.rr_text([B, C]))
    rr = RouteReflector(load_config_text(text, "toml"), graceful_restart=True)
    await rr.start()
    lab.reflectors.append(rr)
    sock = tmp_path / "api.sock"
    await rr.serve_control(str(sock), http="127.0.0.1:0")
    assert rr.http is not None
    port = rr.http.port()
    now = asyncio.get_running_loop().time()
    for i in range(ROUTES):  # local routes, held back while deferring
        key = parse_prefix(f"10.{i >> 8}.{i & 255}.0/24")[1]
        rr.daemon.engine.originate(IPV4_UNICAST, key, attrs(i), b"", now)

    status, body = await get(port, "/readyz")
    assert status == "HTTP/1.1 503 Service Unavailable"
    assert re.fullmatch(
        r"not ready: graceful restart: waiting for End-of-RIB from 2 of 2 peers, (19|20) s "
        r"left\n", body
    ), body
    assert await get(port, "/healthz") == ("HTTP/1.1 200 OK", "ok\n")
    r = await cli("health", "--http", f"127.0.0.1:{port}", "--ready")
    assert r.exit_code == 1 and r.output.startswith("not ready: graceful restart: waiting")
    r = await cli("health", env={"BGPRR_HTTP": f"127.0.0.1:{port}"})
    assert (r.exit_code, r.output) == (0, "ok\n")

    # `bgprr global` says so, and which peers it waits for.
    r = await cli("--api-socket", str(sock), "global")
    assert r.exit_code == 0, r.output
    first, *lines = r.output.splitlines()
    assert re.fullmatch(
        rf"bgprr {re.escape(__version__)} · router id {RR} · AS 64511 · {sock} · not ready: "
        r"graceful restart: waiting for End-of-RIB from 2 of 2 peers, (19|20) s left", first
    ), first
    assert "Ready:          no: graceful restart: waiting for End-of-RIB from 2 of 2" in lines[8]
    assert lines[9:] == ["Restart (-r):   deferring", f"Waiting for:    {B}, {C}"]
    r = await cli("--api-socket", str(sock), "global", "--json")
    info = json.loads(r.output)
    schema.validate(info, schema.RESULTS["global.get"])
    assert info["readiness"]["restart"]["waiting_for"] == [B, C]
    assert info["router_id"] == RR and info["local_as"] == 64511 and info["restarting"]

    at_deferral_end: list[dict[str, Any]] = []

    def on_event(key: str, ev: object) -> None:
        if isinstance(ev, SelectionDeferralEnded):
            at_deferral_end.append(rr.readiness())

    rr.daemon.listeners.append(on_event)
    await gr_client(lab, B)
    await lab.wait(lambda: rr.readiness()["restart"]["waiting_for"] == [C])
    assert rr.readiness()["reason"].startswith(
        "graceful restart: waiting for End-of-RIB from 1 of 2 peers"
    )
    await gr_client(lab, C)
    await lab.wait(lambda: rr.readiness()["ready"], timeout=20)
    # When the deferral ended the tables were still going out.
    (then,) = at_deferral_end
    assert then["reason"] == (
        "graceful restart: sending tables, End-of-RIB not yet sent to 2 of 2 peers"
    )
    assert then["restart"]["phase"] == "sending"
    assert rr.readiness() == {
        "ready": True,
        "reason": None,
        "restart": {"phase": "done", "waiting_for": [], "peers": 2, "deferral_left": None},
        "warnings": [],
    }
    assert await get(port, "/readyz") == ("HTTP/1.1 200 OK", "ready\n")
    r = await cli("health", "--http", f"127.0.0.1:{port}", "--ready")
    assert (r.exit_code, r.output) == (0, "ready\n")
    # A peer going down afterwards does not make the reflector unready.
    lab.daemons[0].peers[RR].stop()
    await lab.wait(lambda: not rr.is_established(B))
    assert rr.readiness()["ready"]
    r = await cli("--api-socket", str(sock), "global")
    assert "Ready:          yes" in r.output and "Restart (-r):   done" in r.output


async def test_readyz_when_the_deferral_time_ends(lab: Any) -> None:
    text = with_gr(lab.rr_text([C]), deferral=1)  # C never comes
    rr = RouteReflector(load_config_text(text, "toml"), graceful_restart=True)
    await rr.start()
    lab.reflectors.append(rr)
    state = rr.readiness()
    assert not state["ready"]
    assert state["reason"] == "graceful restart: waiting for End-of-RIB from 1 of 1 peer, 1 s left"
    await lab.wait(lambda: rr.readiness()["ready"], timeout=5)
    assert rr.readiness()["restart"] == {
        "phase": "done", "waiting_for": [], "peers": 0, "deferral_left": None
    }


async def test_readiness_before_start_and_without_listener(lab: Any) -> None:
    text = lab.rr_text([C])
    d = Daemon(load_config_text(text, "toml"))
    rr = RouteReflector.attach(d)
    assert rr.readiness() == {
        "ready": False, "reason": "starting", "restart": None, "warnings": []
    }
    await d.start()
    assert rr.readiness() == {
        "ready": True, "reason": None, "restart": None, "warnings": []
    }
    for server in d.servers:
        server.close()
    assert rr.readiness()["reason"] == f"not listening on port {lab.port}"
    await d.stop(graceful=False)


async def test_health_probe_exit_codes(lab: Any) -> None:
    port = lab.free_port("127.0.0.1")  # nothing listens there
    r = await cli("health", "--http", f"127.0.0.1:{port}")
    assert r.exit_code == 1
    assert r.output == (
        f"bgprr: cannot reach bgprr at http://127.0.0.1:{port}/healthz: Connection refused\n"
    )
    r = await cli("health", "--http", "localhost:x")
    assert (r.exit_code, r.output) == (2, "bgprr: invalid --http address 'localhost:x' "
                                          "(HOST:PORT)\n")
    r = await cli("--http", f"127.0.0.1:{port}", "health", "--ready")
    assert r.exit_code == 1 and f"127.0.0.1:{port}/readyz" in r.output


async def test_ipv6_loopback_address(lab: Any) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    rr: RouteReflector = await lab.reflector([B])
    await rr.serve_control(None, http="[::1]:0")
    assert rr.http is not None
    port = rr.http.port()
    assert rr.http.address == f"[::1]:{port}"
    r = await cli("health", "--http", f"[::1]:{port}", "--ready")
    assert (r.exit_code, r.output) == (0, "ready\n")
