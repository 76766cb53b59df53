"""eBGP (RFC 4271 §5.1, §9.1.2) and route server (RFC 7947) in the engine, in process:
what each neighbor is sent is checked byte for byte against the UPDATE it must get."""

from __future__ import annotations

from typing import Any

from bgprr.reflect import PeerCaps, PeerSettings, ReflectionEngine
from bgprr.reflect.aspath import PrivateAs
from bgprr.wire.constants import IPV4_UNICAST, IPV6_UNICAST, Family
from bgprr.wire.prefix import make_key
from bgprr.wire.update import Update, pack_updates, pack_withdrawals
from tests.support.harness import Node, announce, block, withdraw

F = IPV4_UNICAST
F6 = IPV6_UNICAST
P1 = make_key(0xC0A80100, 24)
P2 = make_key(0xC0A80200, 24)
K6 = make_key(0x20010DB8 << 96, 48)
LOCAL_AS = 65000
RID = 0xC0000001


def ip(n: int) -> bytes:
    return bytes((10, 0, 0, n))


def ip6(n: int) -> bytes:
    return bytes.fromhex("20010db8000000000000000000000000")[:15] + bytes((n,))


class Net:
    """One engine (AS 65000) and the far ends of its sessions, keeping raw messages."""

    def __init__(self) -> None:
        self.r = ReflectionEngine(router_id=RID, local_as=LOCAL_AS, cluster_id=RID, now=0.0)
        self.nodes: dict[str, Node] = {}

    def add(
        self,
        key: str,
        n: int,
        *,
        asn: int = LOCAL_AS,
        client: bool = False,
        local: bytes = b"",
        families: frozenset[Family] = frozenset({F}),
        **settings: Any,
    ) -> None:
        ebgp = asn != LOCAL_AS
        self.r.configure_peer(
            PeerSettings(
                key=key,
                address=int.from_bytes(ip(n), "big"),
                asn=asn,
                ebgp=ebgp,
                client=client,
                families=frozenset({F, F6}),
                **settings,
            )
        )
        caps = PeerCaps(bgp_id=int.from_bytes(ip(n), "big"), families=families, local_address=local)
        self.r.peer_established(key, caps, 0.0)
        node = self.nodes[key] = Node(key, ibgp=not ebgp)
        node.keep_raw = True

    def send(self, key: str, updates: list[Update]) -> None:
        for u in updates:
            self.r.update_received(key, u, 0.0)

    def drain(self) -> None:
        for _ in range(100):
            dirty = [k for k in self.r.dirty_peers() if k in self.nodes]
            if not dirty:
                return
            for k in dirty:
                self.nodes[k].feed(self.r.pull(k, 65536))
        raise AssertionError("did not drain")

    def got(self, key: str) -> list[bytes]:
        """Route UPDATEs the neighbor was sent since the last call (End-of-RIB left out)."""
        node = self.nodes[key]
        out = [m for m in node.raw if m[18] == 2 and len(m) > 23 and m[19:23] != b"\0\0\0\0"]
        out += [m for m in node.raw if m[18] == 2 and _is_mp_route(m)]
        node.raw.clear()
        return sorted(set(out), key=out.index)


def _is_mp_route(m: bytes) -> bool:
    """An UPDATE with only path attributes (IPv6): not an End-of-RIB (empty MP_UNREACH)."""
    return m[19:21] == b"\0\0" and len(m) > 23 + 6 + 3 + 1 and m[19:23] == b"\0\0" + m[21:23]


def upd(block_: bytes, keys: list[int], nh: bytes = b"", family: Family = F) -> list[bytes]:
    return pack_updates(family, block_, nh, keys, None)


def ebgp_in(keys: list[int], attrs: bytes, **kw: Any) -> list[Update]:
    return announce(keys, attrs, ibgp=False, **kw)


# ------------------------------------------------------------------ 1. AS-path loop


def test_own_as_in_as_path_is_dropped_counted_and_withdrawn() -> None:
    net = Net()
    net.add("e1", 21, asn=65100, local=ip(1))
    net.add("c1", 2, client=True)
    net.drain()
    net.got("c1")
    good = block(as_path=[65100, 7], next_hop=ip(21), local_pref=None)
    net.send("e1", ebgp_in([P1, P2], good))
    net.drain()
    assert net.got("c1") == upd(block(as_path=[65100, 7], next_hop=ip(21)), [P1, P2])
    # the same prefixes again, now through our own AS: treated as withdrawn
    looped = block(as_path=[65100, LOCAL_AS, 7], next_hop=ip(21), local_pref=None)
    net.send("e1", ebgp_in([P1, P2], looped))
    net.drain()
    assert net.got("c1") == pack_withdrawals(F, [P1, P2], None)
    assert list(net.r.loc_rib(F)) == []
    c = net.r.counters("e1")
    assert (c.as_loop, c.looped, c.received, c.accepted) == (2, 0, 4, 0)
    # from an iBGP neighbor too (RFC 4271 §9.1.2 knows no exception)
    net.send("c1", announce([P1], block(as_path=[LOCAL_AS], next_hop=ip(2))))
    assert net.r.counters("c1").as_loop == 1 and list(net.r.loc_rib(F)) == []


def test_allow_own_as() -> None:
    net = Net()
    net.add("e1", 21, asn=65100, local=ip(1), allow_own_as=1)
    once = block(as_path=[65100, LOCAL_AS], next_hop=ip(21), local_pref=None)
    twice = block(as_path=[65100, LOCAL_AS, 3, LOCAL_AS], next_hop=ip(21), local_pref=None)
    net.send("e1", ebgp_in([P1], once) + ebgp_in([P2], twice))
    assert [k for k, _b, _p in net.r.loc_rib(F)] == [P1]
    assert net.r.counters("e1").as_loop == 1


# ------------------------------------------------------------------ sender side, replace-peer-as


def test_not_sent_to_a_neighbor_whose_as_is_in_the_path_unless_replace_peer_as() -> None:
    net = Net()
    net.add("c1", 2, client=True)
    net.add("e2", 22, asn=65200, local=ip(1))
    net.add("e3", 23, asn=65200, local=ip(1), replace_peer_as=True)
    net.add("e4", 24, asn=65300, local=ip(1))
    net.drain()
    for k in net.nodes:
        net.got(k)
    net.send("c1", announce([P1], block(as_path=[65200, 9], next_hop=ip(2), med=4)))
    net.drain()
    assert net.got("e2") == []
    # replace-peer-as: 65200 becomes 65000, then 65000 is prepended; next hop self; no MED
    want = block(as_path=[LOCAL_AS, LOCAL_AS, 9], next_hop=ip(1), local_pref=None)
    assert net.got("e3") == upd(want, [P1])
    want = block(as_path=[LOCAL_AS, 65200, 9], next_hop=ip(1), local_pref=None)
    assert net.got("e4") == upd(want, [P1])
    assert net.r.adj_rib_out("e2", F) == []


# ------------------------------------------------------------------ 2. remove-private-as


def test_remove_private_as_all_and_replace() -> None:
    net = Net()
    net.add("c1", 2, client=True)
    net.add("all", 22, asn=3356, local=ip(1), remove_private_as=PrivateAs.ALL)
    net.add("rep", 23, asn=1299, local=ip(1), remove_private_as=PrivateAs.REPLACE)
    net.add("none", 24, asn=174, local=ip(1))
    net.drain()
    for k in net.nodes:
        net.got(k)
    path = [64512, 3, 4200000000, 65535, 4294967294]
    net.send("c1", announce([P1], block(as_path=path, next_hop=ip(2))))
    net.drain()
    nh = ip(1)
    # gobgpd removes before it prepends: our own (private) AS 65000 stays in front
    assert net.got("all") == upd(
        block(as_path=[65000, 3, 65535], next_hop=nh, local_pref=None), [P1]
    )
    rep = [65000, 65000, 3, 65000, 65535, 65000]
    assert net.got("rep") == upd(block(as_path=rep, next_hop=nh, local_pref=None), [P1])
    assert net.got("none") == upd(block(as_path=[65000, *path], next_hop=nh, local_pref=None), [P1])


# ------------------------------------------------------------------ 3. next hop


def test_next_hop_self_towards_ebgp_ipv4_and_ipv6() -> None:
    net = Net()
    both = frozenset({F, F6})
    net.add("c1", 2, client=True, families=both)
    net.add("e4", 22, asn=65200, local=ip(1), families=both)  # IPv4 session
    net.add("e6", 23, asn=65300, local=ip6(1), families=both)  # IPv6 session
    net.add("x", 24, asn=65400, families=both)  # local address unknown: passed through
    net.drain()
    for k in net.nodes:
        net.got(k)
    net.send("c1", announce([P1], block(as_path=[1], next_hop=ip(2))))
    net.send("c1", announce([K6], block(as_path=[1], next_hop=None), family=F6, next_hop=ip6(2)))
    net.drain()
    out = block(as_path=[LOCAL_AS, 1], next_hop=ip(1), local_pref=None)
    mapped = bytes(10) + b"\xff\xff" + ip(1)
    out6 = block(as_path=[LOCAL_AS, 1], next_hop=None, local_pref=None)
    assert net.got("e4") == upd(out, [P1]) + upd(out6, [K6], mapped, F6)
    # an IPv4 route over an IPv6 session keeps its next hop (no RFC 8950)
    keep = block(as_path=[LOCAL_AS, 1], next_hop=ip(2), local_pref=None)
    assert net.got("e6") == upd(keep, [P1]) + upd(out6, [K6], ip6(1), F6)
    assert net.got("x") == upd(keep, [P1]) + upd(out6, [K6], ip6(2), F6)
    # iBGP: unchanged
    assert net.r.adj_rib_out("e4", F) == [(P1, 0, out, b"")]
    assert net.r.adj_rib_out("e4", F6) == [(K6, 0, out6, mapped)]


def test_locally_originated_next_hop() -> None:
    net = Net()
    net.add("e1", 21, asn=65100, local=ip(1))
    net.add("c1", 2, client=True)
    net.drain()
    net.got("e1")
    net.got("c1")
    net.r.originate(F, P1, block(next_hop=ip(99), local_pref=None, med=7), b"", 0.0)
    net.drain()
    # iBGP: LOCAL_PREF 100 added, the rest unchanged
    assert net.got("c1") == upd(block(next_hop=ip(99), med=7), [P1])
    net.nodes.pop("c1")  # 0.0.0.0 is not a next hop an iBGP neighbor would take
    net.r.originate(F, P2, block(next_hop=bytes(4), local_pref=None, med=7), b"", 0.0)
    net.drain()
    # its own next hop stays, 0.0.0.0 becomes ours; a local MED is kept (RFC 4271 §5.1.4)
    assert net.got("e1") == upd(
        block(as_path=[LOCAL_AS], next_hop=ip(99), local_pref=None, med=7), [P1]
    ) + upd(block(as_path=[LOCAL_AS], next_hop=ip(1), local_pref=None, med=7), [P2])


# ------------------------------------------------------------------ 4. MED and LOCAL_PREF


def test_med_and_local_pref() -> None:
    net = Net()
    net.add("c1", 2, client=True)
    net.add("n1", 3)
    net.add("e1", 21, asn=65100, local=ip(1))
    net.add("e2", 22, asn=65200, local=ip(1))
    net.drain()
    for k in net.nodes:
        net.got(k)
    # from eBGP with MED: iBGP gets MED and LOCAL_PREF 100; the other AS gets no MED
    net.send("e1", ebgp_in([P1], block(as_path=[65100], next_hop=ip(21), local_pref=None, med=7)))
    # from iBGP with MED and LOCAL_PREF: reflected unchanged, neither goes to eBGP
    net.send("c1", announce([P2], block(as_path=[1], next_hop=ip(2), local_pref=200, med=9)))
    net.drain()
    assert net.got("c1") == upd(block(as_path=[65100], next_hop=ip(21), med=7), [P1])
    reflected = block(
        as_path=[1], next_hop=ip(2), med=9, local_pref=200,
        originator_id=int.from_bytes(ip(2), "big"),
        cluster_list=[RID],
    )  # fmt: skip
    assert net.got("n1") == upd(block(as_path=[65100], next_hop=ip(21), med=7), [P1]) + upd(
        reflected, [P2]
    )
    assert net.got("e2") == upd(
        block(as_path=[LOCAL_AS, 65100], next_hop=ip(1), local_pref=None), [P1]
    ) + upd(block(as_path=[LOCAL_AS, 1], next_hop=ip(1), local_pref=None), [P2])
    assert net.got("e1") == upd(block(as_path=[LOCAL_AS, 1], next_hop=ip(1), local_pref=None), [P2])


# ------------------------------------------------------------------ 5. reflection and eBGP


def test_reflection_and_ebgp_both_directions() -> None:
    net = Net()
    net.add("c1", 2, client=True)
    net.add("c2", 3, client=True)
    net.add("n1", 4)
    net.add("e1", 21, asn=65100, local=ip(1))
    net.add("e2", 22, asn=65200, local=bytes((10, 0, 1, 1)))
    net.drain()
    for k in net.nodes:
        net.got(k)
    c1 = int.from_bytes(ip(2), "big")
    # a client's route: reflected to the client and the non-client, eBGP rules outward
    net.send("c1", announce([P1], block(as_path=[], next_hop=ip(2), med=5, local_pref=150)))
    # an eBGP route: to every iBGP neighbor as learned plus LOCAL_PREF, to the other AS
    net.send("e1", ebgp_in([P2], block(as_path=[65100, 8], next_hop=ip(21), local_pref=None)))
    net.drain()
    refl = block(next_hop=ip(2), med=5, local_pref=150, originator_id=c1, cluster_list=[RID])
    learned = block(as_path=[65100, 8], next_hop=ip(21))
    assert net.got("c1") == upd(learned, [P2])
    assert net.got("c2") == upd(refl, [P1]) + upd(learned, [P2])
    assert net.got("n1") == upd(refl, [P1]) + upd(learned, [P2])
    out1 = block(as_path=[LOCAL_AS], next_hop=ip(1), local_pref=None)
    assert net.got("e1") == upd(out1, [P1])
    assert net.got("e2") == upd(
        block(as_path=[LOCAL_AS], next_hop=bytes((10, 0, 1, 1)), local_pref=None), [P1]
    ) + upd(
        block(as_path=[LOCAL_AS, 65100, 8], next_hop=bytes((10, 0, 1, 1)), local_pref=None), [P2]
    )
    # the eBGP route now also comes from c2 with a better LOCAL_PREF: e1 gets it (the
    # best no longer comes from e1), withdrawals follow when it goes
    net.send("c2", announce([P2], block(as_path=[65100, 8], next_hop=ip(3), local_pref=200)))
    net.drain()
    assert net.got("e1") == []  # 65100 is in the path: not sent back to AS 65100
    assert net.got("e2") == upd(
        block(as_path=[LOCAL_AS, 65100, 8], next_hop=bytes((10, 0, 1, 1)), local_pref=None), [P2]
    )
    net.send("c1", withdraw([P1]))
    net.send("e1", withdraw([P2]))
    net.drain()
    assert net.got("e1") == pack_withdrawals(F, [P1], None)
    assert net.got("e2") == pack_withdrawals(F, [P1], None)
    assert net.got("c1") == upd(
        block(
            as_path=[65100, 8], next_hop=ip(3), local_pref=200,
            originator_id=int.from_bytes(ip(3), "big"), cluster_list=[RID],
        ),
        [P2],
    )  # fmt: skip


# ------------------------------------------------------------------ 6. route server


def test_route_server_clients() -> None:
    net = Net()
    net.add("rs1", 11, asn=65011, rs_client=True, local=ip(1))
    net.add("rs2", 12, asn=65012, rs_client=True, local=ip(1))
    net.add("rs3", 13, asn=65013, rs_client=True, local=ip(1))
    net.add("e1", 21, asn=65100, local=ip(1))
    net.add("c1", 2, client=True)
    net.drain()
    for k in net.nodes:
        net.got(k)
    a1 = block(as_path=[65011, 1], next_hop=ip(11), med=50, local_pref=None)
    net.send("rs1", ebgp_in([P1], a1))
    net.drain()
    # transparent: AS_PATH, NEXT_HOP and MED as received; not back to rs1
    assert net.got("rs2") == upd(a1, [P1]) and net.got("rs3") == upd(a1, [P1])
    assert net.got("rs1") == []
    # route-server clients and the other neighbors do not mix (as in gobgpd)
    assert net.got("e1") == [] and net.got("c1") == []
    net.send("e1", ebgp_in([P2], block(as_path=[65100], next_hop=ip(21), local_pref=None)))
    net.r.originate(F, P2, block(next_hop=ip(99)), b"", 0.0)
    net.drain()
    assert [net.got(k) for k in ("rs1", "rs2", "rs3")] == [[], [], []]
    assert [k for k, _b, _p in net.r.loc_rib(F, route_server=True)] == [P1]
    # rs2 announces P1 too, with a shorter path: rs1 and rs3 switch to it; rs2 (whose
    # route is now the best) gets the best of the others (gobgpd's per-client view)
    a2 = block(as_path=[65012], next_hop=ip(12), local_pref=None)
    net.send("rs2", ebgp_in([P1], a2))
    net.drain()
    assert net.got("rs1") == upd(a2, [P1]) and net.got("rs3") == upd(a2, [P1])
    assert net.got("rs2") == []  # it holds rs1's path, still the best of the others
    assert net.r.adj_rib_out("rs2", F) == [(P1, 0, a1, b"")]
    # a path through AS 65013 is not offered to rs3: it keeps the next one
    a3 = block(as_path=[65011, 65013], next_hop=ip(11), local_pref=None)
    net.send("rs1", ebgp_in([P1], a3))
    net.drain()
    assert net.got("rs2") == upd(a3, [P1])
    assert net.got("rs3") == [] and net.r.adj_rib_out("rs3", F) == [(P1, 0, a2, b"")]
    net.send("rs2", withdraw([P1]))
    net.drain()
    assert net.got("rs3") == pack_withdrawals(F, [P1], None)
    assert net.got("rs1") == pack_withdrawals(F, [P1], None)
