"""The library API over loopback: a RouteReflector and bgprr client daemons (tests/api/conftest)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bgprr import (
    BadRequest,
    BestPathChanged,
    EndOfRib,
    Exists,
    NotFound,
    Overflow,
    PeerStateChanged,
    RouteReflector,
)
from bgprr.api import library
from bgprr.api.events import EventStream
from bgprr.config import load_config_text
from bgprr.io.daemon import Daemon
from bgprr.session import SessionDown
from bgprr.wire.attributes import PathAttrs, encode_attribute
from bgprr.wire.constants import IPV4_UNICAST, IPV6_UNICAST
from bgprr.wire.messages import Notification
from bgprr.wire.prefix import parse_prefix
from tests.loopback import dynamic_neighbors, peer_group

B, C, D = "127.0.6.2", "127.0.6.3", "127.0.6.4"


def key(text: str) -> int:
    return parse_prefix(text)[1]


def attrs_v4(next_hop: str, local_pref: int = 100) -> bytes:
    return (
        encode_attribute(0x40, 1, b"\x00")
        + encode_attribute(0x40, 2, b"")
        + encode_attribute(0x40, 3, socket.inet_aton(next_hop))
        + encode_attribute(0x40, 5, local_pref.to_bytes(4, "big"))
    )


def client_routes(d: Daemon, fam: tuple[int, int] = IPV4_UNICAST) -> dict[int, Any]:
    return {k: best for k, best, _ in d.engine.loc_rib(fam)}


def originate_on(d: Daemon, prefix: str, next_hop: str) -> None:
    now = asyncio.get_running_loop().time()
    d.engine.originate(IPV4_UNICAST, key(prefix), attrs_v4(next_hop), b"", now)
    d.schedule_flush()


async def test_events_and_queries(lab: Any) -> None:
    rr: RouteReflector = await lab.reflector([B, C])
    async with rr.events() as stream:
        b = await lab.client(B)
        c = await lab.client(C)
        await lab.wait(lambda: rr.is_established(B) and rr.is_established(C))
        originate_on(b, "10.6.2.0/26", B)
        await lab.wait(lambda: key("10.6.2.0/26") in client_routes(c))

        seen: list[Any] = []
        while (ev := stream.get_nowait()) is not None:
            seen.append(ev)
    assert any(
        isinstance(e, PeerStateChanged)
        and (e.peer, e.old, e.new) == (B, "OpenConfirm", "Established")
        for e in seen
    )
    assert EndOfRib(peer=B, family="ipv4-unicast", direction="received") in seen
    assert EndOfRib(peer=C, family="ipv4-unicast", direction="sent") in seen
    assert BestPathChanged(
        family="ipv4-unicast", prefix="10.6.2.0/26", next_hop=B, source=B
    ) in seen

    table = {n["address"]: n for n in rr.neighbors()}
    assert list(table) == [B, C]
    assert table[B]["short_state"] == "Establ" and table[B]["prefixes"]["accepted"] == 1
    assert table[C]["prefixes"]["advertised"] == 1
    detail = rr.neighbor(B)
    assert detail["negotiated"]["router_id"] == B
    assert detail["messages"]["received"]["OPEN"] == 1
    assert detail["messages"]["received"]["UPDATE"] >= 2  # the route and End-of-RIB

    (route,) = rr.rib()
    assert route["prefix"] == "10.6.2.0/26"
    assert route["paths"][0]["best"] and route["paths"][0]["source"] == B
    (adj_in,) = rr.adj_rib_in(B)
    assert adj_in["prefix"] == "10.6.2.0/26" and adj_in["next_hop"] == B
    (adj_out,) = rr.adj_rib_out(C)
    assert adj_out["originator_id"] == B and adj_out["cluster_list"] == [lab.RR]
    assert rr.adj_rib_out(B) == []  # not reflected back to its originator
    with pytest.raises(NotFound):
        rr.neighbor("127.0.6.99")

    # The stream was closed on leaving the block: nothing more is queued.
    originate_on(b, "10.6.3.0/26", B)
    await lab.wait(lambda: key("10.6.3.0/26") in client_routes(c))
    assert stream.get_nowait() is None


async def test_originate_and_withdraw_ipv4_ipv6(lab: Any) -> None:
    rr: RouteReflector = await lab.reflector([C], ipv6=True)
    c = await lab.client(C, ipv6=True)
    await lab.wait(lambda: rr.is_established(C))
    rr.originate(
        "10.6.9.0/24",
        "192.0.2.9",
        origin="incomplete",
        as_path=[65001, 65002],
        med=7,
        local_pref=150,
        communities=["64511:42", 0xFFFFFF01],
        large_communities=["64511:1:2", (64511, 3, 4)],
    )
    rr.originate("2001:db8:6::/48", "2001:db8::6")
    await lab.wait(lambda: key("10.6.9.0/24") in client_routes(c))
    await lab.wait(lambda: key("2001:db8:6::/48") in client_routes(c, IPV6_UNICAST))

    a = PathAttrs(client_routes(c)[key("10.6.9.0/24")].attrs.raw)
    assert a.next_hop == socket.inet_aton("192.0.2.9")
    assert a.origin == 2 and a.med == 7 and a.local_pref == 150
    assert a.as_path == ((2, (65001, 65002)),)
    assert a.communities == (64511 << 16 | 42, 0xFFFFFF01)
    assert a.large_communities == ((64511, 1, 2), (64511, 3, 4))
    v6 = client_routes(c, IPV6_UNICAST)[key("2001:db8:6::/48")]
    assert v6.attrs.next_hop[:16] == socket.inet_pton(socket.AF_INET6, "2001:db8::6")

    (route,) = rr.rib("ipv6")
    assert route["paths"][0]["next_hop"] == "2001:db8::6"
    assert route["paths"][0]["source"] == "local"

    rr.withdraw("10.6.9.0/24")
    rr.withdraw("2001:db8:6::/48")
    await lab.wait(lambda: not client_routes(c) and not client_routes(c, IPV6_UNICAST))
    with pytest.raises(NotFound):
        rr.withdraw("10.6.9.0/24")
    bads: list[Callable[[], None]] = [
        lambda: rr.originate("10.6.9.1/24", "192.0.2.9"),  # host bits
        lambda: rr.originate("10.6.9.0/24", "2001:db8::1"),  # family mismatch
        lambda: rr.originate("10.6.9.0/24", "nope"),
        lambda: rr.originate("10.6.9.0/24", "192.0.2.9", origin="bogus"),
        lambda: rr.originate("10.6.9.0/24", "192.0.2.9", communities=["1:2:3"]),
        lambda: rr.originate("10.6.9.0/24", "192.0.2.9", large_communities=["1:2"]),
        lambda: rr.originate("10.6.9.0/24", "192.0.2.9", med=-1),
        lambda: rr.originate("10.6.9.0/24", "192.0.2.9", as_path=[1 << 32]),
    ]
    for bad in bads:
        with pytest.raises(BadRequest):
            bad()


async def test_rib_prefix_queries(lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rr: RouteReflector = await lab.reflector([C])
    for p in ("10.6.0.0/16", "10.6.1.0/24", "10.6.1.128/25", "10.7.0.0/16"):
        rr.originate(p, "192.0.2.1")

    def prefixes(*args: Any) -> list[str]:
        return [r["prefix"] for r in rr.rib("ipv4", *args)]

    assert prefixes() == ["10.6.0.0/16", "10.6.1.0/24", "10.6.1.128/25", "10.7.0.0/16"]
    assert prefixes("10.6.1.0/24") == ["10.6.1.0/24"]
    assert prefixes("10.6.1.200") == ["10.6.1.128/25"]  # a bare address: longest match
    assert prefixes("10.6.1.0/24", "longer") == ["10.6.1.0/24", "10.6.1.128/25"]
    assert prefixes("10.6.1.128/25", "shorter") == [
        "10.6.0.0/16",
        "10.6.1.0/24",
        "10.6.1.128/25",
    ]
    assert prefixes("10.9.0.0/16") == []
    # The chunked variant (control API) gives the same result, yielding in between.
    monkeypatch.setattr(library, "CHUNK", 2)
    assert await rr.rib_async("ipv4", "10.6.0.0/16", "longer") == rr.rib(
        "ipv4", "10.6.0.0/16", "longer"
    )
    assert [r["prefix"] for r in await rr.rib_async()] == prefixes()
    with pytest.raises(BadRequest):
        rr.rib("ipv4", "2001:db8::/32")
    with pytest.raises(BadRequest):
        rr.rib("ipv5")
    with pytest.raises(BadRequest):
        rr.rib("ipv4", "10.6.0.0/16", "sideways")
    summary = rr.rib_summary()
    assert summary["families"]["ipv4"] == {
        "destinations": 4,
        "paths": 4,
        "local": 4,
        "update_groups": 0,
    }
    assert summary["attribute_sets"] == 1


async def test_runtime_neighbors(lab: Any) -> None:
    extra = peer_group(
        "nodes",
        "[peer-groups.timers.config]\nhold-time = 30\n"
        "[peer-groups.transport.config]\npassive-mode = true\n",
    )
    rr: RouteReflector = await lab.reflector([C], extra)
    d = await lab.client(D)
    await asyncio.sleep(0.3)
    assert D not in rr.daemon.peers  # refused: not configured

    info = rr.add_neighbor(D, 64511, peer_group="nodes")
    assert info["rr_client"] and info["peer_group"] == "nodes"
    assert info["timers"]["hold_time"] == 30 and info["passive"]
    await lab.wait(lambda: rr.is_established(D), timeout=15)
    with pytest.raises(Exists):
        rr.add_neighbor(D, 64511)

    # The validator's own messages for bad runtime neighbors.
    with pytest.raises(BadRequest, match="route reflector client must be an iBGP"):
        rr.add_neighbor("127.0.6.5", 65000, rr_client=True)
    with pytest.raises(BadRequest, match="no such peer group"):
        rr.add_neighbor("127.0.6.5", 64511, peer_group="nope")
    with pytest.raises(BadRequest, match="invalid neighbor address"):
        rr.add_neighbor("not-an-address", 64511)
    n = rr.build_neighbor("127.0.6.5", 64511, settings={"timers": {"config": {"hold-time": 9}}})
    assert n.hold_time == 9 and n.keepalive_interval == 3 and not n.rr_client

    rr.remove_neighbor(D)
    with pytest.raises(NotFound):
        rr.neighbor(D)
    await lab.wait(lambda: not lab.established(d, lab.RR))
    assert [n.address for n in rr.config.neighbors] == [C]


async def test_shutdown_enable_reset_soft_resets(
    lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rr: RouteReflector = await lab.reflector([B, C])
    b = await lab.client(B)
    c = await lab.client(C)
    await lab.wait(lambda: rr.is_established(B) and rr.is_established(C))
    originate_on(b, "10.6.4.0/26", B)
    await lab.wait(lambda: key("10.6.4.0/26") in client_routes(c))

    updates_at_c = c.peers[lab.RR].msg_in.get("UPDATE", 0)
    rr.soft_reset_out(C)
    await lab.wait(lambda: c.peers[lab.RR].msg_in.get("UPDATE", 0) > updates_at_c)

    refresh_at_b = b.peers[lab.RR].msg_in.get("ROUTE_REFRESH", 0)
    rr.soft_reset_in(B)
    await lab.wait(lambda: b.peers[lab.RR].msg_in.get("ROUTE_REFRESH", 0) > refresh_at_b)
    with pytest.raises(BadRequest):
        rr.soft_reset_in(B, "ipv6")

    received: list[Notification] = []
    client_on_down = c.on_down

    def record(runner: Any, out: SessionDown, now: float) -> None:
        if out.notification_received is not None:
            received.append(out.notification_received)
        client_on_down(runner, out, now)

    monkeypatch.setattr(c, "on_down", record)
    rr.shutdown_neighbor(C, message="maintenance")
    await lab.wait(lambda: not rr.is_established(C))
    assert rr.neighbor(C)["short_state"] == "Idle(Admin)"
    await lab.wait(lambda: bool(received))
    assert (received[0].code, received[0].subcode) == (6, 2)
    assert received[0].data == b"\x0bmaintenance"  # RFC 9003 shutdown communication
    await asyncio.sleep(1.5)  # the client retries; the reflector stays down
    assert not rr.is_established(C)
    rr.enable_neighbor(C)
    await lab.wait(lambda: rr.is_established(C), timeout=15)

    rr.reset_neighbor(B)
    await lab.wait(lambda: not rr.is_established(B))
    await lab.wait(lambda: rr.is_established(B), timeout=15)
    await lab.wait(lambda: key("10.6.4.0/26") in client_routes(c))


def _write(path: Path, text: str) -> None:
    path.write_text(text)


async def test_reload_keeps_runtime_changes_unless_the_file_contradicts(
    lab: Any, tmp_path: Path
) -> None:
    path = tmp_path / "rr.toml"
    _write(path, lab.rr_text([B, C]))
    rr = RouteReflector(str(path))
    await rr.start()
    lab.reflectors.append(rr)

    rr.add_neighbor(D, 64511, rr_client=True, passive=True, description="runtime")
    rr.remove_neighbor(C)
    rr.disable_neighbor(B)
    rr.reload()  # same file: runtime changes stay
    assert sorted(rr.daemon.peers) == [B, D]
    assert rr.neighbor(D)["description"] == "runtime"
    assert rr.neighbor(B)["admin_down"]
    # C comes back at run time with other settings than the file's: kept as well.
    rr.add_neighbor(C, 64511, rr_client=True, passive=True, description="again")
    rr.reload()
    assert sorted(rr.daemon.peers) == [B, C, D]
    assert rr.neighbor(C)["description"] == "again"

    # The file now defines D and changes C and B: the file wins for those.
    changed = lab.rr_text([B, C, D], description="file")
    _write(path, changed)
    rr.reload()
    assert sorted(rr.daemon.peers) == [B, C, D]
    assert rr.neighbor(D)["description"] == "file"
    assert rr.neighbor(C)["description"] == "file"
    assert not rr.neighbor(B)["admin_down"]


def test_event_stream_bounded_with_overflow_in_order() -> None:
    closed: list[EventStream] = []

    async def run() -> None:
        s = EventStream(2, closed.append)
        evs = [EndOfRib(peer=str(i), family="ipv4-unicast", direction="sent") for i in range(6)]
        for e in evs[:5]:
            s.push(e)
        assert s.get_nowait() == evs[0]
        s.push(evs[5])  # room again: the loss is reported before it
        got = [s.get_nowait() for _ in range(4)]
        assert got == [evs[1], Overflow(dropped=3), evs[5], None]
        assert s.dropped_total == 3
        for e in evs[:3]:
            s.push(e)
        assert [s.get_nowait() for _ in range(4)] == [evs[0], evs[1], Overflow(dropped=1), None]
        s.close()
        assert closed == [s]
        assert [e async for e in s] == []

    asyncio.run(run())
    with pytest.raises(ValueError):
        EventStream(0, closed.append)


async def test_slow_consumer_does_not_stall_routing(lab: Any) -> None:
    rr: RouteReflector = await lab.reflector([C])
    c = await lab.client(C)
    await lab.wait(lambda: rr.is_established(C))
    stream = rr.events(maxsize=4)
    for i in range(100):
        rr.originate(f"10.60.{i}.0/24", "192.0.2.1")
    await lab.wait(lambda: len(client_routes(c)) == 100)
    got = []
    while (ev := stream.get_nowait()) is not None:
        got.append(ev)
    assert len(got) == 5 and got[-1] == Overflow(dropped=96)
    stream.close()


async def test_async_context_manager_from_config_object(lab: Any) -> None:
    config = load_config_text(lab.rr_text([C]), "toml")
    async with RouteReflector(config) as rr:
        assert [n["address"] for n in rr.neighbors()] == [C]
        assert rr.neighbors()[0]["short_state"] == "Active"
    assert rr.daemon.stopped.is_set()


async def test_dynamic_neighbors_are_listed(lab: Any) -> None:
    extra = peer_group("calico") + dynamic_neighbors("127.0.6.128/25", "calico")
    rr: RouteReflector = await lab.reflector([C], extra)
    await lab.client("127.0.6.200")
    await lab.wait(lambda: "127.0.6.200" in rr.daemon.peers and rr.is_established("127.0.6.200"))
    table = {n["address"]: n for n in rr.neighbors()}
    assert list(table) == [C, "127.0.6.200"]
    dyn = table["127.0.6.200"]
    assert dyn["dynamic"] and dyn["peer_group"] == "calico" and dyn["rr_client"]
    assert dyn["short_state"] == "Establ" and not table[C]["dynamic"]
    rr.remove_neighbor("127.0.6.200")
    assert "127.0.6.200" not in rr.daemon.peers


async def test_prefix_limit_shows_idle_pfxct_until_enabled(lab: Any) -> None:
    extra = """
[[neighbors]]
[neighbors.config]
neighbor-address = "127.0.6.2"
peer-as = 64511
[neighbors.timers.config]
idle-hold-time-after-reset = 1
[neighbors.transport.config]
passive-mode = true
[neighbors.route-reflector.config]
route-reflector-client = true
[[neighbors.afi-safis]]
[neighbors.afi-safis.config]
afi-safi-name = "ipv4-unicast"
[neighbors.afi-safis.prefix-limit.config]
max-prefixes = 1
"""
    rr: RouteReflector = await lab.reflector([], extra)
    b = await lab.client(B)
    await lab.wait(lambda: rr.is_established(B))
    originate_on(b, "10.6.20.0/26", B)
    originate_on(b, "10.6.21.0/26", B)
    await lab.wait(lambda: rr.neighbor(B)["short_state"] == "Idle(PfxCt)")
    assert rr.daemon.notifications[("sent", 6, 1)] == 1  # Cease / maximum prefixes
    await asyncio.sleep(1.5)  # it stays down (restart-timer 0) while B keeps trying
    assert rr.neighbor(B)["short_state"] == "Idle(PfxCt)"
    # B now sends one prefix only: enabled again, the session stays up.
    b.engine.withdraw_local(IPV4_UNICAST, key("10.6.21.0/26"), asyncio.get_running_loop().time())
    rr.enable_neighbor(B)
    await lab.wait(lambda: rr.is_established(B), timeout=15)
    await lab.wait(lambda: len(rr.rib()) == 1)
    assert rr.neighbor(B)["short_state"] == "Establ"


async def test_runtime_neighbor_with_tcp_md5(lab: Any) -> None:
    rr: RouteReflector = await lab.reflector([C])
    await lab.client(D, password="s3cret")
    await lab.client("127.0.6.5", password="wrong")
    rr.add_neighbor(D, 64511, rr_client=True, passive=True, password="s3cret")
    rr.add_neighbor("127.0.6.5", 64511, rr_client=True, passive=True, password="s3cret")
    await lab.wait(lambda: rr.is_established(D), timeout=15)
    await asyncio.sleep(2)
    assert not rr.is_established("127.0.6.5")
