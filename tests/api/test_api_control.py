"""The control API and the CLI against a running in-process reflector.

CLI commands run through click's CliRunner in a worker thread (they block on the socket)
while the event loop serves them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bgprr._version import __version__
from bgprr.api import schema
from bgprr.api.control import METHODS, ControlServer, SocketInUse
from bgprr.api.library import RouteReflector
from bgprr.cli import main
from bgprr.wire.attributes import encode_attribute
from bgprr.wire.constants import IPV4_UNICAST
from bgprr.wire.prefix import parse_prefix

B, C = "127.0.6.2", "127.0.6.3"
RR = "127.0.6.1"


async def cli(sock: Path | str, *args: str, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    argv = ["--api-socket", str(sock), *args] if sock else list(args)
    return await asyncio.to_thread(runner.invoke, main, argv, env=env)


class Conn:
    """A raw control API connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send_line(self, line: bytes) -> dict[str, Any]:
        self.writer.write(line + b"\n")
        await self.writer.drain()
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(self.reader.readline(), 5))
        schema.validate(reply, schema.REPLY)
        return reply

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        req = {"id": 7, "method": method, "params": params}
        return await self.send_line(json.dumps(req).encode())


@pytest.fixture
async def running(lab: Any, tmp_path: Path) -> tuple[RouteReflector, Path, Any]:
    rr: RouteReflector = await lab.reflector([B, C])
    sock = tmp_path / "bgprr.sock"
    await rr.serve_control(str(sock))
    b = await lab.client(B)
    await lab.client(C)
    await lab.wait(lambda: rr.is_established(B) and rr.is_established(C))
    now = asyncio.get_running_loop().time()
    attrs = (
        encode_attribute(0x40, 1, b"\x00")
        + encode_attribute(0x40, 2, b"")
        + encode_attribute(0x40, 3, socket.inet_aton(B))
        + encode_attribute(0x40, 5, (100).to_bytes(4, "big"))
    )
    b.engine.originate(IPV4_UNICAST, parse_prefix("10.6.2.0/26")[1], attrs, b"", now)
    b.schedule_flush()
    await lab.wait(lambda: len(rr.rib()) == 1)
    return rr, sock, lab


async def test_socket_mode_and_every_method_matches_its_schema(running: Any) -> None:
    _rr, sock, _lab = running
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    conn = Conn(*await asyncio.open_unix_connection(str(sock)))
    calls: list[tuple[str, dict[str, Any]]] = [
        ("ping", {}),
        ("global.get", {}),
        ("neighbor.list", {}),
        ("neighbor.get", {"address": B}),
        ("neighbor.adj_in", {"address": B}),
        ("neighbor.adj_in", {"address": B, "post_policy": True}),
        ("neighbor.policy", {"address": B}),
        ("global.policy", {}),
        ("neighbor.adj_out", {"address": C, "family": "ipv4"}),
        ("rib.get", {}),
        ("rib.get", {"prefix": "10.6.2.0/26", "match": "exact", "family": "ipv4"}),
        ("rib.summary", {}),
        ("route.add", {"prefix": "10.6.7.0/24", "next_hop": "192.0.2.7", "med": 3,
                       "communities": ["1:2"], "large_communities": ["1:2:3"],
                       "as_path": [65001]}),
        ("route.delete", {"prefix": "10.6.7.0/24"}),
        ("neighbor.softresetout", {"address": C}),
        ("neighbor.softresetin", {"address": B}),
        ("neighbor.add", {"address": "127.0.6.9", "peer_as": 64511, "rr_client": True,
                          "passive": True, "description": "x"}),
        ("neighbor.disable", {"address": "127.0.6.9", "message": "bye"}),
        ("neighbor.enable", {"address": "127.0.6.9"}),
        ("neighbor.shutdown", {"address": "127.0.6.9"}),
        ("neighbor.reset", {"address": "127.0.6.9", "message": "again"}),
        ("neighbor.delete", {"address": "127.0.6.9"}),
    ]
    for method, params in calls:
        reply = await conn.call(method, **params)
        assert "result" in reply, (method, reply)
        schema.validate(reply["result"], schema.RESULTS[method])
    assert {m for m, _ in calls} | {"config.reload"} == set(METHODS) == set(schema.RESULTS)
    # config.reload without a file: a structured error
    reply = await conn.call("config.reload")
    assert reply["error"]["code"] == "bad_request"
    detail = (await conn.call("neighbor.get", address=B))["result"]
    assert detail["state"] == "Established" and detail["prefixes"]["accepted"] == 1
    conn.writer.close()


async def test_bad_requests_get_errors_and_the_connection_stays(running: Any) -> None:
    _rr, sock, _lab = running
    conn = Conn(*await asyncio.open_unix_connection(str(sock)))
    cases: list[tuple[bytes, str]] = [
        (b"{not json", "bad_request"),
        (b"[1, 2]", "bad_request"),
        (b'"text"', "bad_request"),
        (b"\xff\xfe", "bad_request"),
        (b'{"method": "nope"}', "bad_request"),
        (b'{"method": 5}', "bad_request"),
        (b'{"id": 1, "method": "neighbor.get"}', "bad_request"),  # missing address
        (b'{"id": 1, "method": "neighbor.get", "params": {"address": 5}}', "bad_request"),
        (b'{"id": 1, "method": "neighbor.get", "params": {"address": "x", "y": 1}}',
         "bad_request"),
        (b'{"id": 1, "method": "neighbor.get", "params": [1]}', "bad_request"),
        (b'{"id": 1, "method": "neighbor.get", "params": {"address": "10.9.9.9"}}',
         "not_found"),
        (b'{"id": 1, "method": "neighbor.add", "params": {"address": "127.0.6.2",'
         b' "peer_as": 64511}}', "exists"),
        (b'{"id": 1, "method": "neighbor.add", "params": {"address": "127.0.6.8",'
         b' "peer_as": true}}', "bad_request"),
        (b'{"id": 1, "method": "rib.get", "params": {"family": "ipv9"}}', "bad_request"),
        (b'{"id": 1, "method": "route.add", "params": {"prefix": "10.0.0.0/8",'
         b' "next_hop": "1.1.1.1", "as_path": ["x"]}}', "bad_request"),
        (b'{"id": 1, "method": "neighbor.softresetin", "params": {"address": "127.0.6.2",'
         b' "family": "ipv6"}}', "bad_request"),
    ]
    for line, code in cases:
        reply = await conn.send_line(line)
        assert reply["error"]["code"] == code, (line, reply)
    # A request longer than the limit is refused, and the connection still works.
    reply = await conn.send_line(b'{"pad": "' + b"x" * (1 << 21) + b'"}')
    assert reply["error"]["code"] == "bad_request"
    assert (await conn.call("ping"))["result"]["version"]
    # A handler bug is an internal error, not a crash.
    METHODS["test.boom"] = ({}, lambda rr, p: 1 // 0)
    try:
        reply = await conn.call("test.boom")
        assert reply["error"]["code"] == "internal"
    finally:
        del METHODS["test.boom"]
    assert (await conn.call("ping"))["result"]
    conn.writer.close()


def body(r: Result, sock: Path) -> str:
    """Human output after its first line, which names the instance that answered."""
    first, _, rest = r.output.partition("\n")
    assert first == f"bgprr {__version__} · router id {RR} · AS 64511 · {sock}", r.output
    return rest


async def test_cli_commands(running: Any, tmp_path: Path) -> None:
    rr, sock, lab = running
    r = await cli(sock, "neighbor")
    assert r.exit_code == 0, r.output
    lines = body(r, sock).splitlines()
    assert lines[0].split() == ["Peer", "AS", "Up/Down", "State", "|#Received", "Accepted"]
    assert lines[1].split()[0] == B and lines[1].split()[3:] == ["Establ", "|", "1", "1"]
    assert lines[2].split()[0] == C

    r = await cli(sock, "neighbor", "--json")
    data = json.loads(r.output)
    schema.validate(data, schema.RESULTS["neighbor.list"])

    r = await cli(sock, "neighbor", B)
    assert r.exit_code == 0 and body(r, sock).startswith(f"BGP neighbor is {B}, remote AS 64511")
    assert "BGP state = Established, up for " in r.output
    r = await cli(sock, "neighbor", B, "--json")
    schema.validate(json.loads(r.output), schema.RESULTS["neighbor.get"])

    r = await cli(sock, "neighbor", B, "adj-in")
    assert r.exit_code == 0 and body(r, sock).splitlines()[1].split()[:3] == [
        "*", "10.6.2.0/26", B
    ]
    r = await cli(sock, "neighbor", B, "adj-in", "--post-policy", "--json")
    assert [x["prefix"] for x in json.loads(r.output)] == ["10.6.2.0/26"]
    r = await cli(sock, "neighbor", B, "policy")
    assert r.exit_code == 0 and body(r, sock).splitlines() == [
        f"Neighbor {B}: global policy",
        "Import policy: -",
        "  Default: accept-route",
        "Export policy: -",
        "  Default: accept-route",
    ]
    r = await cli(sock, "global", "policy", "--json")
    assert json.loads(r.output)["import"] == {"policies": [], "default": "accept-route"}
    r = await cli(sock, "neighbor", B, "adj-out", "--post-policy")
    assert r.exit_code == 2
    r = await cli(sock, "neighbor", C, "adj-out", "--json")
    (out,) = json.loads(r.output)
    assert out["prefix"] == "10.6.2.0/26" and out["originator_id"] == B

    r = await cli(sock, "global", "rib")
    assert r.exit_code == 0
    lines = body(r, sock).splitlines()
    assert lines[0].split() == ["Network", "Next", "Hop", "AS_PATH", "Age", "Attrs"]
    assert lines[1].split()[:3] == ["*>", "10.6.2.0/26", B]
    r = await cli(sock, "global", "rib", "10.6.2.1")
    assert r.exit_code == 0 and "10.6.2.0/26" in r.output
    r = await cli(sock, "global", "rib", "10.6.0.0/16", "longer-prefixes", "--json")
    assert [x["prefix"] for x in json.loads(r.output)] == ["10.6.2.0/26"]
    r = await cli(sock, "global", "rib", "10.99.0.0/16")
    assert r.exit_code == 1 and "Network not in table" in r.output
    r = await cli(sock, "global", "rib", "-a", "ipv6")
    assert r.exit_code == 0 and len(body(r, sock).splitlines()) == 1
    r = await cli(sock, "global", "rib", "summary")
    assert r.exit_code == 0 and "Destination: 1, Path: 1" in body(r, sock)
    r = await cli(sock, "global", "rib", "summary", "--json")
    schema.validate(json.loads(r.output), schema.RESULTS["rib.summary"])

    r = await cli(sock, "global", "rib", "add", "10.6.8.0/24", "nexthop", "192.0.2.8",
                  "community", "64511:1,64511:2", "med", "9", "aspath", "65001 65002")
    assert r.exit_code == 0, r.output
    assert body(r, sock) == "route 10.6.8.0/24 added (next hop 192.0.2.8)\n"
    (route,) = rr.rib("ipv4", "10.6.8.0/24")
    assert route["paths"][0]["communities"] == ["64511:1", "64511:2"]
    assert route["paths"][0]["as_path"] == "65001 65002"
    r = await cli(sock, "global", "rib", "del", "10.6.8.0/24")
    assert r.exit_code == 0 and rr.rib("ipv4", "10.6.8.0/24") == []
    assert body(r, sock) == "route 10.6.8.0/24 withdrawn\n"

    # Runtime changes through the CLI.
    r = await cli(sock, "neighbor", "add", "127.0.6.9", "--as", "64511", "--rr-client",
                  "--passive")
    assert r.exit_code == 0, r.output
    assert body(r, sock) == (
        "neighbor 127.0.6.9 added (AS 64511, route-reflector client); "
        "passive: waiting for the peer to connect (state Active)\n"
    )
    assert rr.neighbor("127.0.6.9")["rr_client"]
    r = await cli(sock, "neighbor", "add", "127.0.6.9", "--as", "64511")
    assert r.exit_code == 1 and "exists" in r.output
    r = await cli(sock, "neighbor", "127.0.6.9", "disable")
    assert r.exit_code == 0 and rr.neighbor("127.0.6.9")["short_state"] == "Idle(Admin)"
    assert body(r, sock) == (
        "neighbor 127.0.6.9 shut down; it stays Idle(Admin) until "
        "`bgprr neighbor 127.0.6.9 enable`\n"
    )
    r = await cli(sock, "neighbor", "127.0.6.9", "disable")
    assert body(r, sock) == "neighbor 127.0.6.9 was already shut down (state Idle(Admin))\n"
    r = await cli(sock, "neighbor")
    assert "Idle(Admin)" in r.output
    r = await cli(sock, "neighbor", "127.0.6.9", "enable")
    assert r.exit_code == 0 and rr.neighbor("127.0.6.9")["short_state"] != "Idle(Admin)"
    assert body(r, sock) == (
        "neighbor 127.0.6.9 enabled; passive: waiting for the peer to connect (state Active)\n"
    )
    r = await cli(sock, "neighbor", "127.0.6.9", "enable")
    assert body(r, sock) == (
        "neighbor 127.0.6.9 was not shut down; nothing to do: "
        "passive: waiting for the peer to connect (state Active)\n"
    )
    r = await cli(sock, "neighbor", "del", "127.0.6.9")
    assert r.exit_code == 0 and body(r, sock) == "neighbor 127.0.6.9 deleted\n"
    # An active neighbor (nobody listens at its port): enable says it connects.
    closed = lab.free_port("127.0.6.10")
    rr.add_neighbor("127.0.6.10", 64511, settings={"transport": {"config": {
        "remote-port": closed}}})
    for op in ("disable", "enable"):
        r = await cli(sock, "neighbor", "127.0.6.10", op)
        assert r.exit_code == 0, r.output
    assert re.fullmatch(
        r"neighbor 127\.0\.6\.10 enabled; connecting to the peer \(state (Connect|Active)\)\n",
        body(r, sock),
    ), r.output
    assert (await cli(sock, "neighbor", "del", "127.0.6.10")).exit_code == 0
    r = await cli(sock, "neighbor", "127.0.6.9")
    assert r.exit_code == 1 and "not found" in r.output

    r = await cli(sock, "neighbor", C, "shutdown", "--message", "maintenance")
    assert r.exit_code == 0
    assert body(r, sock).startswith(
        f"neighbor {C} shut down (Cease / Administrative Shutdown sent); it stays Idle(Admin)"
    )
    await lab.wait(lambda: not rr.is_established(C))
    r = await cli(sock, "neighbor", C, "enable")
    assert body(r, sock) == (
        f"neighbor {C} enabled; passive: waiting for the peer to connect (state Active)\n"
    )
    await lab.wait(lambda: rr.is_established(C), timeout=15)
    said = {
        "softresetin": f"neighbor {B}: ROUTE-REFRESH sent (ipv4-unicast); "
        "it sends its routes again\n",
        "softresetout": f"neighbor {B}: sending it every route again (ipv4-unicast)\n",
        "reset": f"neighbor {B} reset (Cease / Administrative Reset sent); ",
    }
    for op, text in said.items():
        r = await cli(sock, "neighbor", B, op)
        assert r.exit_code == 0, (op, r.output)
        assert body(r, sock).startswith(text), (op, r.output)
    r = await cli(sock, "neighbor", B, "reset", "--json")  # JSON: the changes print nothing
    assert r.exit_code == 0 and r.output == ""


async def test_cli_usage_and_unreachable(running: Any, tmp_path: Path) -> None:
    _rr, sock, _lab = running
    for argv in (
        ["neighbor", "add", "127.0.6.9"],  # no --as
        ["neighbor", B, "frobnicate"],
        ["neighbor", B, "--as", "5"],
        ["neighbor", "del"],
        ["global", "rib", "10.0.0.0/8", "sideways"],
        ["global", "rib", "add", "10.0.0.0/8"],
        ["global", "rib", "add", "10.0.0.0/8", "nexthop", "1.1.1.1", "med", "x"],
        ["global", "rib", "add", "10.0.0.0/8", "colour", "blue"],
        ["global", "rib", "10.0.0.1/8"],  # host bits: the daemon says bad_request
    ):
        r = await cli(sock, *argv)
        assert r.exit_code == 2, (argv, r.output)
    missing = tmp_path / "nothing.sock"
    r = await cli(missing, "neighbor")
    assert r.exit_code == 2 and str(missing) in r.output
    # BGPRR_API_SOCKET when --api-socket is not given
    r = await cli("", "neighbor", "--json", env={"BGPRR_API_SOCKET": str(sock)})
    assert r.exit_code == 0 and len(json.loads(r.output)) == 2
    r = await cli("", "neighbor", env={"BGPRR_API_SOCKET": str(missing)})
    assert r.exit_code == 2 and str(missing) in r.output


async def test_tcp_listener_needs_the_token(lab: Any, tmp_path: Path) -> None:
    rr: RouteReflector = await lab.reflector([C])
    server = ControlServer(rr, token="s3cret")
    try:
        await server.listen_tcp("127.0.0.1:0")
        port = server.tcp_port()
        assert port
        conn = Conn(*await asyncio.open_connection("127.0.0.1", port))
        reply = await conn.call("ping")
        assert reply["error"]["code"] == "bad_request" and "token" in reply["error"]["message"]
        ok = await conn.send_line(b'{"id": 2, "method": "ping", "token": "s3cret"}')
        assert ok["result"]["version"]
        conn.writer.close()
        r = await cli(f"tcp://127.0.0.1:{port}", "neighbor", "--json",
                      env={"BGPRR_API_TOKEN": "s3cret"})
        assert r.exit_code == 0 and json.loads(r.output)[0]["address"] == C
        r = await cli(f"tcp://127.0.0.1:{port}", "global", env={"BGPRR_API_TOKEN": "s3cret"})
        assert r.exit_code == 0
        assert r.output.splitlines()[0].endswith(f"AS 64511 · tcp://127.0.0.1:{port}")
        r = await cli(f"tcp://127.0.0.1:{port}", "global", env={"BGPRR_API_TOKEN": "wrong"})
        assert (r.exit_code, r.output) == (2, "bgprr: missing or wrong token\n")
        with pytest.raises(ValueError, match="not loopback"):
            await server.listen_tcp("0.0.0.0:0")
        with pytest.raises(ValueError, match="token"):
            await ControlServer(rr).listen_tcp("127.0.0.1:0")
    finally:
        await server.close()


async def test_stale_socket_is_replaced_and_a_live_one_kept(lab: Any, tmp_path: Path) -> None:
    path = tmp_path / "api.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    conf = tmp_path / "rr.toml"
    conf.write_text(lab.rr_text([C]))
    rr = RouteReflector(conf)
    await rr.start()
    lab.reflectors.append(rr)
    await rr.serve_control(str(path))
    r = await cli(path, "neighbor", "--json")
    assert r.exit_code == 0

    # A second instance given the same socket does not start its control API, and says
    # which bgprr holds it; the first keeps answering on it.
    other: RouteReflector = await lab.reflector([B], port=lab.free_port())
    with pytest.raises(SocketInUse) as err:
        await other.serve_control(str(path), tcp="127.0.0.1:0", token="t")
    assert str(err.value) == (
        f"control API socket {path} is in use by another bgprr (router id {RR}, AS 64511, "
        f"config {conf}, pid {os.getpid()}); give this instance its own --api-socket"
    )
    assert other.control is None  # nothing left serving
    r = await cli(path, "neighbor", "--json")
    assert [n["address"] for n in json.loads(r.output)] == [C]
    await rr.close_control()
    assert not path.exists()


async def test_socket_problems_are_one_line(lab: Any, tmp_path: Path) -> None:
    rr: RouteReflector = await lab.reflector([C])
    missing = tmp_path / "no" / "such" / "dir.sock"
    with pytest.raises(OSError) as err:
        await rr.serve_control(str(missing))
    assert str(err.value) == f"control API socket {missing}: No such file or directory"
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError) as err:
        await rr.serve_control(str(tmp_path / "file"))
    assert str(err.value) == f"control API socket {tmp_path / 'file'}: exists and is not a socket"
    # Something that listens but is no bgprr.
    path = tmp_path / "other.sock"
    server = await asyncio.start_unix_server(lambda r, w: w.close(), str(path))
    try:
        with pytest.raises(SocketInUse, match="in use by another process; give this"):
            await rr.serve_control(str(path))
    finally:
        server.close()
    assert rr.control is None


def test_schema_validator_catches_what_it_should() -> None:
    good = {"ok": True}
    schema.validate(good, schema.OK)
    for bad in ({"ok": False}, {}, {"ok": True, "x": 1}, [1], None):
        with pytest.raises(ValueError):
            schema.validate(bad, schema.OK)
    n = {
        "address": "10.0.0.1", "peer_as": 1, "state": "Idle", "short_state": "Idle(Admin)",
        "admin_down": True, "pfx_limit_down": False, "dynamic": False, "peer_group": None,
        "rr_client": False, "uptime": None, "downtime": 5,
        "prefixes": {"received": 0, "accepted": 0, "advertised": 0},
    }
    schema.validate([n], schema.RESULTS["neighbor.list"])
    for key, value in (("state", "Establ"), ("peer_as", -1), ("uptime", "1"), ("dynamic", 0)):
        with pytest.raises(ValueError, match=key):
            schema.validate([dict(n, **{key: value})], schema.RESULTS["neighbor.list"])


def test_docs_list_every_method_and_metric() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    for method in METHODS:
        assert f"| `{method}` |" in doc, method
    for name in ("bgprr_sessions", "bgprr_notifications_total", "bgprr_update_group_members",
                 "bgprr_attribute_sets", "bgprr_reflection_latency_seconds"):
        assert name in doc
    golden = (Path(__file__).parent / "golden" / "neighbor_table.txt").read_text()
    assert golden in doc  # the table shown is the tested one
