"""The Prometheus endpoint over loopback: every metric family, and the latency histogram."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bgprr.api import metrics as metrics_mod
from bgprr.api.library import RouteReflector
from bgprr.wire.attributes import encode_attribute
from bgprr.wire.prefix import parse_prefix

B, C = "127.0.6.2", "127.0.6.3"


async def http_get(port: int, path: str) -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return head.splitlines()[0], body


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_endpoint(lab: Any) -> None:
    rr: RouteReflector = await lab.reflector([B, C, "127.0.6.9"])
    await rr.serve_control(None, "127.0.0.1:0")
    assert rr.metrics is not None and rr.http is not None
    port = rr.http.port()
    await lab.client(B)
    c = await lab.client(C)
    await lab.wait(lambda: rr.is_established(B) and rr.is_established(C))
    rr.originate("10.6.5.0/24", "192.0.2.5")
    await lab.wait(lambda: len(list(c.engine.loc_rib((1, 1)))) == 1)
    # An UPDATE read from B and reflected to C feeds the latency histogram.
    b = lab.daemons[0]
    attrs = (
        encode_attribute(0x40, 1, b"\x00")
        + encode_attribute(0x40, 2, b"")
        + encode_attribute(0x40, 3, bytes((192, 0, 2, 6)))
    )
    now = asyncio.get_running_loop().time()
    b.engine.originate((1, 1), parse_prefix("10.6.6.0/24")[1], attrs, b"", now)
    b.schedule_flush()
    await lab.wait(lambda: len(list(c.engine.loc_rib((1, 1)))) == 2)
    rr.shutdown_neighbor(C, message="bye")
    await lab.wait(lambda: not rr.is_established(C))

    status, body = await http_get(port, "/metrics")
    assert status == "HTTP/1.1 200 OK"
    got = samples(body)
    assert got[("bgprr_sessions", (("state", "Established"),))] == 1
    assert got[("bgprr_sessions", (("state", "Idle"),))] == 1
    assert got[("bgprr_sessions", (("state", "Active"),))] == 1
    assert got[("bgprr_peer_prefixes_received", (("peer", B),))] == 1
    assert got[("bgprr_peer_prefixes_accepted", (("peer", B),))] == 1
    assert got[("bgprr_peer_prefixes_advertised", (("peer", B),))] == 1  # the local route
    for reason in ("looped", "as_loop", "treat_as_withdraw"):
        assert got[("bgprr_peer_prefixes_dropped_total", (("peer", B), ("reason", reason)))] == 0
    assert got[("bgprr_messages_received_total", (("peer", B), ("type", "OPEN")))] == 1
    assert got[("bgprr_messages_received_total", (("peer", B), ("type", "KEEPALIVE")))] >= 1
    assert got[("bgprr_messages_sent_total", (("peer", C), ("type", "UPDATE")))] >= 2
    notif = (("code", "6"), ("direction", "sent"), ("subcode", "2"))
    assert got[("bgprr_notifications_total", notif)] == 1
    assert got[("bgprr_update_groups", (("family", "ipv4-unicast"),))] == 1
    group = [k for k in got if k[0] == "bgprr_update_group_members"]
    assert len(group) == 1 and got[group[0]] == 1
    assert got[("bgprr_loc_rib_destinations", (("family", "ipv4-unicast"),))] == 2
    assert got[("bgprr_loc_rib_paths", (("family", "ipv6-unicast"),))] == 0
    assert got[("bgprr_attribute_sets", ())] >= 1
    assert got[("bgprr_reflection_latency_seconds_count", ())] >= 1
    assert got[("bgprr_reflection_latency_seconds_bucket", (("le", "+Inf"),))] >= 1

    status, _ = await http_get(port, "/other")
    assert status == "HTTP/1.1 404 Not Found"
    status, body = await http_get(port, "/healthz")  # the same server
    assert (status, body) == ("HTTP/1.1 200 OK", "ok\n")
    await rr.close_control()
    assert rr.daemon.latency_observer is None


def test_metrics_unavailable_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    assert metrics_mod.metrics_unavailable("127.0.0.1:9179") is None
    assert "HOST:PORT" in str(metrics_mod.metrics_unavailable("9179"))
    assert "HOST:PORT" in str(metrics_mod.metrics_unavailable("localhost:x"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    problem = metrics_mod.metrics_unavailable("127.0.0.1:9179")
    assert problem == "--metrics needs prometheus-client: pip install 'bgprr[metrics]'"


def test_run_daemon_refuses_metrics_without_prometheus(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from bgprr.app import run_daemon

    path = tmp_path / "rr.toml"
    path.write_text('[global.config]\nas = 64511\nrouter-id = "127.0.6.1"\nport = -1\n')
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert run_daemon(str(path), metrics="127.0.0.1:9179") == 2
    err = capsys.readouterr().err
    assert err == "bgprr: --metrics needs prometheus-client: pip install 'bgprr[metrics]'\n"
