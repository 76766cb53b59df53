"""In-process scenarios: many neighbors, reflectors wired back to back, fake clock."""

from __future__ import annotations

from typing import Any

from bgprr.reflect import (
    EndOfRibSent,
    PeerCaps,
    PeerReset,
    PeerSettings,
    PrefixLimit,
    PrefixLimitWarning,
    ReflectionEngine,
    SelectionDeferralEnded,
    StaleFlushed,
)
from bgprr.reflect.tables import SharedStates
from bgprr.wire.attributes import PathAttrs
from bgprr.wire.constants import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    LLGR_STALE,
    NO_ADVERTISE,
    NO_EXPORT,
    NO_LLGR,
)
from bgprr.wire.prefix import make_key
from bgprr.wire.update import Update, decode_update, end_of_rib
from tests.support.harness import Node, announce, block, drain, withdraw

F = IPV4_UNICAST
P1 = make_key(0xC0A80100, 24)
P2 = make_key(0xC0A80200, 24)
P3 = make_key(0xC0A80300, 24)


def ip(n: int) -> int:
    return 0x0A000000 + n


class Net:
    """One reflector and its neighbors (Nodes), with a fake clock."""

    def __init__(self, rid: int = 0xC0000001, cluster: int | None = None, **kw: Any) -> None:
        self.now = 0.0
        self.r = ReflectionEngine(
            router_id=rid, local_as=65000, cluster_id=cluster or rid, now=0.0, **kw
        )
        self.nodes: dict[str, Node] = {}

    def add(
        self,
        key: str,
        n: int,
        *,
        client: bool = True,
        ebgp: bool = False,
        asn: int = 65000,
        up: bool = True,
        settings: dict[str, Any] | None = None,
        **caps: Any,
    ) -> None:
        self.r.configure_peer(
            PeerSettings(
                key=key,
                address=ip(n),
                asn=asn,
                client=client,
                ebgp=ebgp,
                families=frozenset({F, IPV6_UNICAST}),
                **(settings or {}),
            )
        )
        if up:
            self.up(key, n, ebgp=ebgp, **caps)

    def up(self, key: str, n: int, *, ebgp: bool = False, **caps: Any) -> None:
        caps.setdefault("families", frozenset({F}))
        pc = PeerCaps(bgp_id=ip(n), **caps)
        self.r.peer_established(key, pc, self.now)
        self.nodes[key] = Node(key, as4=pc.as4, addpath=pc.addpath_tx, ibgp=not ebgp)

    def down(self, key: str, *, graceful: bool = False) -> None:
        self.r.peer_down(key, self.now, graceful=graceful)
        del self.nodes[key]

    def send(self, key: str, updates: list[Update]) -> None:
        for u in updates:
            self.r.update_received(key, u, self.now)

    def drain(self, max_bytes: int = 65536) -> int:
        return drain(self.r, self.nodes, max_bytes)

    def table(self, key: str) -> dict[int, list[PathAttrs]]:
        out: dict[int, list[PathAttrs]] = {}
        for (k, _pid), (attrs, _nh) in sorted(self.nodes[key].table().items()):
            out.setdefault(k, []).append(PathAttrs(attrs))
        return out

    def tick(self, dt: float) -> None:
        self.now += dt
        t = self.r.next_timer()
        while t is not None and t <= self.now:
            self.r.handle_timer(self.now)
            t = self.r.next_timer()


def bl(n: int, **kw: Any) -> bytes:
    kw.setdefault("next_hop", ip(n).to_bytes(4, "big"))
    return block(**kw)


# ---------------------------------------------------------------------- RFC 4456 roles


def test_client_and_non_client_rules() -> None:
    net = Net()
    net.add("c1", 1)
    net.add("c2", 2)
    net.add("n1", 11, client=False)
    net.add("n2", 12, client=False)
    net.drain()
    comm = [0xFDE80001]
    net.send("c1", announce([P1], bl(1, med=7, communities=comm, local_pref=150)))
    net.send("n1", announce([P2], bl(11)))
    net.drain()
    # from a client: to the other client and to the non-clients, never back
    assert P1 not in net.table("c1")
    for k in ("c2", "n1", "n2"):
        a = net.table(k)[P1][0]
        assert a.originator_id == ip(1)
        assert a.cluster_list == (0xC0000001,)
        assert a.med == 7 and a.local_pref == 150 and a.communities == tuple(comm)
        assert a.next_hop == ip(1).to_bytes(4, "big")
    # from a non-client: to clients only
    assert P2 in net.table("c1") and P2 in net.table("c2")
    assert P2 not in net.table("n1") and P2 not in net.table("n2")
    # peer down without GR: withdrawn everywhere at once
    net.down("c1")
    net.drain()
    for k in ("c2", "n1", "n2"):
        assert P1 not in net.table(k)


def test_originator_id_kept_cluster_list_prepended() -> None:
    net = Net(cluster=0xAA)
    net.add("c1", 1)
    net.add("c2", 2, settings={"cluster_id": 0xBB})
    net.add("c3", 3)
    net.drain()
    net.send("c1", announce([P1], bl(1, originator_id=0x01020304, cluster_list=[0x77])))
    net.drain()
    a2 = net.table("c2")[P1][0]
    a3 = net.table("c3")[P1][0]
    assert a2.originator_id == a3.originator_id == 0x01020304
    assert a2.cluster_list == (0xBB, 0x77)  # per-neighbor cluster id
    assert a3.cluster_list == (0xAA, 0x77)


def test_loops_are_treated_as_withdraw() -> None:
    net = Net(rid=0x0B0B0B0B, cluster=0xAA)
    net.add("c1", 1)
    net.add("c2", 2, settings={"cluster_id": 0xBB})
    net.drain()
    net.send("c1", announce([P1], bl(1)))
    net.drain()
    assert P1 in net.table("c2")
    net.send("c1", announce([P1], bl(1, cluster_list=[0x55, 0xAA])))  # ours: implicit withdraw
    net.send("c1", announce([P2], bl(1, cluster_list=[0xBB])))  # per-neighbor id is ours too
    net.send("c1", announce([P3], bl(1, originator_id=0x0B0B0B0B)))
    net.drain()
    assert net.table("c2") == {}
    assert net.r.counters("c1").looped == 3
    assert net.r.adj_rib_in("c1", F) == []


def test_source_excluded_without_breaking_the_group() -> None:
    net = Net()
    for i in range(1, 5):
        net.add(f"c{i}", i)
    net.drain()
    net.send("c1", announce([P1], bl(1, local_pref=100)))
    net.drain()
    assert P1 not in net.table("c1")
    assert all(P1 in net.table(f"c{i}") for i in (2, 3, 4))
    net.send("c2", announce([P1], bl(2, local_pref=200)))  # better: best moves to c2
    net.drain()
    assert P1 not in net.table("c2")  # its own route is not reflected back: withdrawn
    assert net.table("c1")[P1][0].originator_id == ip(2)
    assert net.table("c3")[P1][0].originator_id == ip(2)
    net.send("c2", withdraw([P1]))
    net.drain()
    assert P1 not in net.table("c1")
    assert net.table("c2")[P1][0].originator_id == ip(1)
    # one group for all four clients
    assert len({id(net.r.peer(f"c{i}").members[F].group) for i in range(1, 5)}) == 1


def test_dedupe_and_treat_as_withdraw() -> None:
    net = Net()
    net.add("c1", 1)
    net.add("c2", 2)
    net.drain()
    net.send("c1", announce([P1, P2], bl(1)))
    net.drain()
    net.send("c1", announce([P1], bl(1)))  # identical: nothing to send
    assert net.r.dirty_peers() == []
    assert net.r.counters("c1").duplicates == 1
    upd = announce([P1], bl(1, med=5))[0]
    taw = Update(attrs=upd.attrs, nlri=upd.nlri, treat_as_withdraw=True)
    net.send("c1", [taw])
    net.drain()
    assert list(net.table("c2")) == [P2]
    assert net.r.counters("c1").treat_as_withdraw == 1


def test_well_known_communities_and_ebgp_export() -> None:
    net = Net()
    net.add("c1", 1)
    net.add("c2", 2)
    net.add("e1", 21, client=False, ebgp=True, asn=65100)
    net.drain()
    net.send("c1", announce([P1], bl(1, as_path=[65001], med=3)))
    net.send("c1", announce([P2], bl(1, communities=[NO_EXPORT])))
    net.send("c1", announce([P3], bl(1, communities=[NO_ADVERTISE])))
    net.drain()
    assert set(net.table("c2")) == {P1, P2}
    e = net.table("e1")
    assert set(e) == {P1}
    a = e[P1][0]
    assert a.as_path == ((2, (65000, 65001)),)
    assert a.local_pref is None and a.originator_id is None and a.cluster_list == ()
    assert a.med is None  # MED from another AS is not passed on
    # from the eBGP neighbor: to everyone, no reflection attributes
    net.send("e1", [decode_update(m, ibgp=False) for m in _ebgp_msgs()])
    net.drain()
    for k in ("c1", "c2"):
        b = net.table(k)[make_key(0x08080800, 24)][0]
        assert b.originator_id is None and b.cluster_list == () and b.as_path == ((2, (65100,)),)


def _ebgp_msgs() -> list[bytes]:
    from bgprr.wire.update import pack_updates

    blk = block(as_path=[65100], next_hop=ip(21).to_bytes(4, "big"), local_pref=None)
    return pack_updates(F, blk, b"", [make_key(0x08080800, 24)], None)


def test_ipv6_and_as2_peer() -> None:
    net = Net()
    six = frozenset({F, IPV6_UNICAST})
    net.add("c1", 1, families=six)
    net.add("c2", 2, families=six, as4=False)
    net.drain()
    k6 = make_key(0x20010DB8 << 96, 48)
    nh6 = bytes.fromhex("20010db8000000000000000000000001")
    net.send(
        "c1",
        announce(
            [k6], bl(1, next_hop=None, as_path=[4200000001]), family=IPV6_UNICAST, next_hop=nh6
        ),
    )
    net.drain()
    t = net.nodes["c2"].table(IPV6_UNICAST)
    ((key, _pid), (attrs, nh)) = next(iter(t.items()))
    assert key == k6 and nh == nh6
    assert PathAttrs(attrs).as_path == ((2, (4200000001,)),)  # AS4_PATH merged back
    assert set(net.nodes["c2"].eor) == {F, IPV6_UNICAST}


# ---------------------------------------------------------------------- two reflectors


class Fabric:
    """Reflectors and client Nodes; sessions are (reflector, neighbor key) pairs."""

    def __init__(self) -> None:
        self.rrs: dict[str, ReflectionEngine] = {}
        self.links: dict[tuple[str, str], str] = {}  # (rr, key on rr) -> other rr
        self.clients: dict[str, Node] = {}  # "rr/client" -> Node

    def drain(self) -> None:
        for _ in range(100):
            moved = 0
            for name, r in self.rrs.items():
                for key in r.dirty_peers():
                    msgs = r.pull(key, 65536)
                    moved += len(msgs)
                    other = self.links.get((name, key))
                    if other is None:
                        self.clients[f"{name}/{key}"].feed(msgs)
                        continue
                    for m in msgs:
                        self.rrs[other].update_received(name, decode_update(m), 0.0)
            if not moved:
                return
        raise AssertionError("no convergence")


def _rr(rid: int, cluster: int) -> ReflectionEngine:
    return ReflectionEngine(router_id=rid, local_as=65000, cluster_id=cluster, now=0.0)


def _peer(r: ReflectionEngine, key: str, n: int, client: bool) -> None:
    r.configure_peer(PeerSettings(key=key, address=ip(n), asn=65000, client=client))
    r.peer_established(key, PeerCaps(bgp_id=ip(n), families=frozenset({F})), 0.0)


def test_two_reflectors_one_cluster() -> None:
    fab = Fabric()
    rr1 = fab.rrs["rr1"] = _rr(0x01010101, 0xCC)
    rr2 = fab.rrs["rr2"] = _rr(0x02020202, 0xCC)
    _peer(rr1, "rr2", 0x100, client=False)
    _peer(rr2, "rr1", 0x101, client=False)
    rr1.peer(key="rr2").ref.bgp_id = 0x02020202
    fab.links[("rr1", "rr2")] = "rr2"
    fab.links[("rr2", "rr1")] = "rr1"
    for i in range(1, 4):
        for name, r in fab.rrs.items():
            _peer(r, f"c{i}", i, client=True)
            fab.clients[f"{name}/c{i}"] = Node(f"c{i}")
    fab.drain()
    for r in fab.rrs.values():  # c1 announces to both reflectors
        for u in announce([P1], bl(1)):
            r.update_received("c1", u, 0.0)
    fab.drain()
    for i in (2, 3):  # clients get the route from both reflectors
        for name in ("rr1", "rr2"):
            (a,) = [PathAttrs(x) for x, _nh in fab.clients[f"{name}/c{i}"].table().values()]
            assert a.originator_id == ip(1) and a.cluster_list == (0xCC,)
    assert fab.clients["rr1/c1"].table() == {}
    # each reflector dropped the other's reflection (shared cluster id)
    assert rr1.counters("rr2").looped == 1 and rr2.counters("rr1").looped == 1
    assert rr1.adj_rib_in("rr2", F) == [] and rr2.adj_rib_in("rr1", F) == []
    for r in fab.rrs.values():
        for u in withdraw([P1]):
            r.update_received("c1", u, 0.0)
    fab.drain()
    assert all(n.table() == {} for n in fab.clients.values())


def test_two_clusters_in_a_chain() -> None:
    fab = Fabric()
    rr1 = fab.rrs["rr1"] = _rr(0x01010101, 0xC1)
    rr2 = fab.rrs["rr2"] = _rr(0x02020202, 0xC2)
    _peer(rr1, "rr2", 0x100, client=False)  # rr1's upstream
    _peer(rr2, "rr1", 0x101, client=True)  # rr1 is a client of rr2
    fab.links[("rr1", "rr2")] = "rr2"
    fab.links[("rr2", "rr1")] = "rr1"
    _peer(rr1, "a", 1, client=True)
    _peer(rr2, "d", 4, client=True)
    fab.clients["rr1/a"] = Node("a")
    fab.clients["rr2/d"] = Node("d")
    fab.drain()
    for u in announce([P1], bl(1)):
        rr1.update_received("a", u, 0.0)
    fab.drain()
    ((attrs, _nh),) = fab.clients["rr2/d"].table().values()
    a = PathAttrs(attrs)
    assert a.cluster_list == (0xC2, 0xC1)
    assert a.originator_id == ip(1)
    # and back the other way from d: rr1 forwards it to its client a
    for u in announce([P2], bl(4)):
        rr2.update_received("d", u, 0.0)
    fab.drain()
    b = [PathAttrs(x) for (k, _p), (x, _n) in fab.clients["rr1/a"].table().items() if k == P2]
    assert b[0].cluster_list == (0xC1, 0xC2) and b[0].originator_id == ip(4)


# ---------------------------------------------------------------------- ADD-PATH


def test_addpath_three_paths_stable_ids() -> None:
    net = Net()
    for i in (1, 2, 3, 4):
        net.add(f"c{i}", i)
    ap = frozenset({F})
    net.add("a", 9, settings={"addpath_send_max": {F: 8}}, addpath_tx=ap, addpath_rx=ap)
    net.add("b", 10, settings={"addpath_send_max": {F: 2}}, addpath_tx=ap, addpath_rx=ap)
    net.drain()
    for i in (1, 2, 3):
        net.send(f"c{i}", announce([P1], bl(i, local_pref=100 + i)))
    net.drain()
    got = net.nodes["a"].table()
    assert len(got) == 3
    ids = {PathAttrs(x).originator_id: pid for (_k, pid), (x, _n) in got.items()}
    assert set(ids) == {ip(1), ip(2), ip(3)} and len(set(ids.values())) == 3
    # send-max 2: the two best
    b = {PathAttrs(x).originator_id for (_k, _pid), (x, _n) in net.nodes["b"].table().items()}
    assert b == {ip(3), ip(2)}
    # others get best only
    assert [a.originator_id for a in net.table("c4")[P1]] == [ip(3)]
    # stable ids: a withdrawal and a change do not renumber the others
    net.send("c1", withdraw([P1]))
    net.send("c3", announce([P1], bl(3, local_pref=50)))
    net.drain()
    got = net.nodes["a"].table()
    assert {PathAttrs(x).originator_id: pid for (_k, pid), (x, _n) in got.items()} == {
        ip(2): ids[ip(2)],
        ip(3): ids[ip(3)],
    }
    # received path ids: two paths from one ADD-PATH neighbor are two paths
    net.send("a", announce([P2, P2], bl(9), ids=[7, 8], addpath=True))
    net.drain()
    assert len([1 for (k, _p) in net.nodes["b"].table() if k == P2]) == 2
    assert P2 not in {k for k, _p in net.nodes["a"].table()}
    assert len(net.r.adj_rib_in("a", F)) == 2


# ---------------------------------------------------------------------- graceful restart


GR: dict[str, Any] = {"gr_restart_time": 120.0, "gr_forwarding": frozenset({F})}


def test_gr_helper_timeline() -> None:
    net = Net()
    net.add("g", 1, **GR)
    net.add("c2", 2)
    net.drain()
    net.send("g", announce([P1, P2, P3], bl(1)))
    net.drain()
    net.r.poll_events()
    net.now = 10.0
    net.down("g", graceful=True)
    assert net.r.dirty_peers() == []  # stale routes kept, nothing sent
    assert net.r.next_timer() == 130.0
    net.tick(50.0)
    net.up("g", 1, **GR)  # back with the F bit: keep until End-of-RIB
    assert net.r.next_timer() == 60.0 + 360.0
    net.send("g", announce([P1], bl(1)))  # refreshed (identical)
    net.send("g", announce([P2], bl(1, med=9)))  # refreshed (changed)
    net.drain()
    assert set(net.table("c2")) == {P1, P2, P3}
    net.send("g", [decode_update(end_of_rib(F))])
    net.drain()
    assert set(net.table("c2")) == {P1, P2}  # P3 not refreshed: swept
    assert net.table("c2")[P2][0].med == 9
    ev = net.r.poll_events()
    assert any(isinstance(e, StaleFlushed) and e.count == 1 for e in ev)
    assert net.r.next_timer() is None
    # restart timer expiry without reconnect
    net.down("g", graceful=True)
    net.tick(119.0)
    net.drain()
    assert set(net.table("c2")) == {P1, P2}
    net.tick(2.0)
    net.drain()
    assert net.table("c2") == {}
    # reconnect without the F bit: flushed at once
    net.up("g", 1, **GR)
    net.send("g", announce([P1], bl(1)))
    net.drain()
    net.down("g", graceful=True)
    net.up("g", 1, gr_restart_time=120.0)
    net.drain()
    assert net.table("c2") == {}
    # graceful=False (e.g. hold timer without N bit... decided by the IO layer): flush
    net.send("g", announce([P1], bl(1)))
    net.drain()
    net.down("g", graceful=False)
    net.drain()
    assert net.table("c2") == {}


def test_llgr() -> None:
    net = Net()
    llgr: dict[str, Any] = {
        "gr_restart_time": 60.0,
        "gr_forwarding": frozenset({F}),
        "llgr": {F: 1000.0},
    }
    net.add("g", 1, **llgr)
    net.add("n1", 2, client=False, llgr_capable=True)  # LLGR-capable, empty capability
    net.add("plain", 3)
    net.add("c4", 4)
    net.drain()
    net.send("g", announce([P1], bl(1, local_pref=200)))
    net.send("g", announce([P2], bl(1, communities=[NO_LLGR])))
    net.send("c4", announce([P1], bl(4, local_pref=50)))
    net.drain()
    net.down("g", graceful=True)
    net.tick(61.0)  # GR over: long-lived stale
    net.drain()
    n1 = net.table("n1")
    # the LLGR-stale path is least preferred: c4's route wins although its LOCAL_PREF is lower
    assert [a.originator_id for a in n1[P1]] == [ip(4)]
    assert P2 not in n1  # NO_LLGR: removed
    best = next(b for k, b, _all in net.r.loc_rib(F) if k == P1)
    assert best.peer is not None and best.peer.key == "c4"
    net.send("c4", withdraw([P1]))
    net.drain()
    a = net.table("n1")[P1][0]
    assert LLGR_STALE in a.communities and a.originator_id == ip(1)
    assert P1 not in net.table("plain")  # not to peers without LLGR
    net.tick(998.0)  # LLGR began at 61: stale until 1061
    net.drain()
    assert P1 in net.table("n1")
    net.tick(2.0)
    net.drain()
    assert net.table("n1") == {}


def test_received_llgr_stale_is_least_preferred() -> None:
    net = Net()
    net.add("c1", 1)
    net.add("c2", 2)
    net.add("l", 3, llgr_capable=True)
    net.add("p", 4)
    net.send("c1", announce([P1], bl(1, local_pref=300, communities=[LLGR_STALE])))
    net.send("c2", announce([P1], bl(2, local_pref=100)))
    net.drain()
    assert [a.originator_id for a in net.table("l")[P1]] == [ip(2)]
    net.send("c2", withdraw([P1]))
    net.drain()
    assert [a.originator_id for a in net.table("l")[P1]] == [ip(1)]
    assert P1 not in net.table("p")  # neighbors without LLGR do not get LLGR-stale paths


def test_restarting_speaker_deferral() -> None:
    net = Net(restarting=True, deferral_time=300.0, expected_peers=frozenset({"a", "b"}))
    net.add("a", 1, **GR)
    net.add("c", 3, **GR)  # dynamic neighbor, not in the state file: waited for too
    net.add("x", 4)  # no GR capability: its EoR is not waited for (RFC 4724 4.1)
    net.send("a", announce([P1], bl(1)))
    net.send("c", announce([P2], bl(3)))
    assert net.r.dirty_peers() == [] and net.r.pull("a", 65536) == []
    net.send("a", [decode_update(end_of_rib(F))])
    net.send("c", [decode_update(end_of_rib(F))])
    assert net.r.dirty_peers() == []  # b has not come back yet
    net.add("b", 2, **GR)
    assert net.r.pull("b", 65536) == []
    net.send("b", [decode_update(end_of_rib(F))])
    ev = net.r.poll_events()
    assert SelectionDeferralEnded(reason="eor") in ev
    net.drain()
    assert set(net.table("b")) == {P1, P2}
    assert set(net.table("a")) == {P2} and F in net.nodes["a"].eor
    assert set(net.table("x")) == {P1, P2} and net.nodes["x"].eor == [F]
    # timer variant: an expected neighbor never returns
    net2 = Net(restarting=True, deferral_time=300.0, expected_peers=frozenset({"x"}))
    net2.add("a", 1, **GR)
    net2.send("a", announce([P1], bl(1)))
    net2.add("b", 2, **GR)
    net2.drain()
    assert net2.nodes["b"].messages == 0
    assert net2.r.next_timer() == 300.0
    net2.tick(300.0)
    assert SelectionDeferralEnded(reason="timer") in net2.r.poll_events()
    net2.drain()
    assert set(net2.table("b")) == {P1} and net2.nodes["b"].eor == [F]


def test_enhanced_route_refresh_from_the_neighbor() -> None:
    net = Net()
    net.add("c1", 1, enhanced_rr=True)
    net.add("c2", 2)
    net.send("c1", announce([P1, P2, P3], bl(1)))
    net.drain()
    net.r.route_refresh_received("c1", 1, 1, 1, net.now)  # BoRR: it re-sends its routes
    net.send("c1", announce([P1], bl(1)))
    net.send("c1", announce([P2], bl(1, med=4)))
    net.drain()
    assert set(net.table("c2")) == {P1, P2, P3}
    net.r.route_refresh_received("c1", 1, 1, 2, net.now)  # EoRR: P3 was not re-sent
    net.drain()
    assert set(net.table("c2")) == {P1, P2}
    assert net.table("c2")[P2][0].med == 4


# ---------------------------------------------------------------------- limits, refresh


def test_prefix_limit() -> None:
    net = Net()
    net.add(
        "c1", 1, settings={"prefix_limits": {F: PrefixLimit(max=10, warn_pct=80, restart_s=30)}}
    )
    keys = [make_key(0x0A000000 + (i << 8), 24) for i in range(12)]
    net.send("c1", announce(keys[:8], bl(1)))
    ev = net.r.poll_events()
    assert PrefixLimitWarning(key="c1", family=F, count=8, max=10) in ev
    net.send("c1", announce(keys[8:10], bl(1)))
    assert not [e for e in net.r.poll_events() if isinstance(e, PeerReset)]
    net.send("c1", announce(keys[10:], bl(1)))
    (reset,) = [e for e in net.r.poll_events() if isinstance(e, PeerReset)]
    assert (reset.code, reset.subcode) == (6, 1)
    assert reset.data == bytes.fromhex("0001010000000a") and reset.idle_s == 30


def test_route_refresh_enhanced_and_plain() -> None:
    net = Net()
    net.add("c1", 1)
    net.add("e", 2, enhanced_rr=True)
    net.add("p", 3)
    net.drain()
    net.send("c1", announce([P1, P2], bl(1)))
    net.drain()
    for n in net.nodes.values():
        n.keep_raw = True
        n.raw.clear()
    net.r.route_refresh_received("e", 1, 1, 0, 0.0)
    net.r.route_refresh_received("p", 1, 1, 0, 0.0)
    net.drain()
    raw = net.nodes["e"].raw
    assert raw[0][18] == 5 and raw[0][21] == 1  # BoRR first
    assert raw[-1][18] == 5 and raw[-1][21] == 2  # EoRR last
    assert net.nodes["e"].refresh == [(F, 1), (F, 2)]
    assert set(net.table("e")) == {P1, P2} and len(raw) == 3
    assert net.nodes["p"].refresh == [] and len(net.nodes["p"].raw) == 1
    assert net.nodes["c1"].raw == []


# ---------------------------------------------------------------------- scale, memory


def test_slow_peer_bounded_and_encode_once() -> None:
    net = Net(log_limit=16 * 1024)
    net.add("src", 1)
    for i in range(100):
        net.add(f"c{i}", 100 + i)
    net.add("slow", 99)
    slow = net.nodes.pop("slow")  # never pulls
    net.drain()
    keys = [make_key(0x0A000000 + (i << 8), 24) for i in range(3000)]
    for rnd in range(4):
        for j in range(0, len(keys), 500):
            net.send("src", announce(keys[j : j + 500], bl(1, med=rnd)))
            net.drain(max_bytes=16384)
    assert all(len(net.nodes[f"c{i}"].table()) == 3000 for i in range(100))
    assert all(net.table(f"c{i}")[keys[0]][0].med == 3 for i in range(0, 100, 9))
    m = net.r.peer("slow").members[F]
    g = m.group
    assert not m.attached and len(m.patch) <= len(g.sent) == 3000
    assert g.log_bytes <= 2 * g.log_limit
    assert slow.messages == 0
    # it catches up from its personal set when it finally pulls
    net.nodes["slow"] = slow
    net.drain()
    assert len(slow.table()) == 3000 and slow.eor == [F]
    assert m.attached and not m.patch
    # encode once: the same bytes objects for every member
    net.send("src", announce(keys[:50], bl(1, med=77)))
    pulled = [net.r.pull(f"c{i}", 65536) for i in range(100)]
    assert len(pulled[0]) >= 1
    assert all(len(p) == len(pulled[0]) for p in pulled)
    assert all(a is b for p in pulled[1:] for a, b in zip(p, pulled[0], strict=True))
    ev = net.r.poll_events()
    assert sum(1 for e in ev if isinstance(e, EndOfRibSent)) == 1 + 100 + 1


def test_tables_return_to_baseline() -> None:
    net = Net()
    ap = frozenset({F})
    net.add("c1", 1)
    net.add("a", 2, settings={"addpath_send_max": {F: 4}}, addpath_tx=ap, addpath_rx=ap)
    net.add("n1", 3, client=False, **GR)
    keys = [make_key(0x0A000000 + (i << 8), 24) for i in range(50)]
    net.send("c1", announce(keys, bl(1)))
    net.send("a", announce(keys, bl(2), ids=[5] * 50, addpath=True))
    net.send("n1", announce(keys[:10], bl(3)))
    net.r.originate(F, P1, bl(99), b"", net.now)
    net.drain()
    assert len(net.nodes["a"].table()) == 50 + 10 + 1  # c1's, n1's and the local path
    net.r.remove_peer("c1", net.now)
    net.down("a")
    net.down("n1", graceful=True)
    net.r.withdraw_local(F, P1, net.now)
    net.drain()
    stats = net.r.intern_table.stats()
    assert (stats["entries"], stats["refs"]) == (1, 10)  # n1's stale paths share one set
    net.tick(1000.0)
    assert len(net.r.intern_table) == 0
    table = net.r.table(F)
    assert table.dests == {} and len(table.trie) == 0 and table.groups == {}
    assert list(net.r.loc_rib(F)) == []


def test_pull_budget_and_adj_rib_out_while_partial() -> None:
    net = Net()
    net.add("src", 1)
    net.add("c", 2)
    net.drain()
    keys = [make_key(0x0A000000 + (i << 8), 24) for i in range(2000)]
    for j in range(0, 2000, 100):  # 20 attribute sets: 20 UPDATEs of 100 prefixes
        net.send("src", announce(keys[j : j + 100], bl(1, med=j)))
    got: list[bytes] = []
    while True:
        msgs = net.r.pull("c", 1000)
        if not msgs:
            break
        assert len(msgs) == 1 or sum(map(len, msgs)) <= 1000
        net.nodes["c"].feed(msgs)
        got.extend(msgs)
        # what the engine reports as sent always matches what the neighbor holds
        held = {(k, pid) for k, pid, _b, _n in net.r.adj_rib_out("c", F)}
        assert held == set(net.nodes["c"].table())
    assert len(net.nodes["c"].table()) == 2000
    assert net.r.counters("c").advertised == 2000


def test_late_joiners_share_cached_single_prefix_updates() -> None:
    """A Calico mesh: each node's /26 has its own next hop (its own UPDATE). Nodes that
    join later get their initial table from the group's cache: the same bytes objects,
    re-encoded only for prefixes that changed since."""
    net = Net()
    for i in range(20):
        net.add(f"n{i}", 10 + i)
    keys = [make_key(0x0AF40000 + (i << 6), 26) for i in range(20)]
    for i in range(20):
        net.send(f"n{i}", announce([keys[i]], bl(10 + i)))
    net.drain()

    def initial(name: str, n: int) -> dict[int, bytes]:
        net.add(name, n)
        by_prefix: dict[int, bytes] = {}
        for msg in net.r.pull(name, 1 << 20):
            u = decode_update(msg, as4=True)
            if u.nlri:
                assert len(u.nlri) == 1
                by_prefix[u.nlri[0]] = msg
        return by_prefix

    a = initial("late1", 90)
    b = initial("late2", 91)
    assert set(a) == set(b) == set(keys)
    assert all(a[k] is b[k] for k in keys)  # encoded once
    net.send("n3", announce([keys[3]], bl(13, med=5)))  # one prefix changes
    net.drain()
    c = initial("late3", 92)
    assert set(c) == set(keys)
    assert c[keys[3]] is not a[keys[3]] and decode_update(c[keys[3]], as4=True).nlri
    assert all(c[k] is a[k] for k in keys if k != keys[3])


def test_export_states_shared_and_pruned() -> None:
    """Prefixes with the same attribute set and source share one export state tuple (the
    memory of an Internet table); states of attribute sets gone from the intern table are
    pruned."""
    net = Net()
    net.add("src", 1)
    net.add("dst", 2)
    keys = [make_key(0x0A000000 + (i << 8), 24) for i in range(300)]
    net.send("src", announce(keys, bl(1, med=1)))
    net.drain()
    g = net.r.peer("dst").members[F].group
    states = {id(g.sent[k]) for k in keys}
    assert len(states) == 1 and len(net.table("dst")) == 300
    net.send("src", announce(keys, bl(1, med=2)))  # a new set: the old one is reclaimed
    net.drain()
    assert len({id(g.sent[k]) for k in keys}) == 1
    assert all(g.sent[k][0][1].med == 2 for k in keys[:3])
    net.r.shared_states.prune()
    assert len(net.r.shared_states) == 1  # only the live set's state is left
    assert net.table("dst")[keys[0]][0].med == 2


def test_export_states_of_released_sets_do_not_accumulate() -> None:
    """Under churn (every round a new MED per prefix) the cached states stay within twice
    the live ones plus a slack, and a source that goes down takes its states with it."""
    net = Net()
    net.add("dst", 2)
    sources = [f"s{i}" for i in range(4)]
    for i, key in enumerate(sources):
        net.add(key, 10 + i)
    keys = [make_key(0x0A000000 + (i << 8), 24) for i in range(200)]
    shared = net.r.shared_states
    for rnd in range(40):
        for i, key in enumerate(sources):
            mine = keys[i * 50 : (i + 1) * 50]
            for j, k in enumerate(mine):  # one attribute set per prefix
                net.send(key, announce([k], bl(10 + i, med=rnd * 100 + j)))
        net.drain()
        assert len(shared) <= 2 * len(net.r.intern_table) + SharedStates.SLACK
    for key in sources:
        net.down(key)
    net.drain()
    assert len(net.r.intern_table) == 0
    assert len(shared) == 0
