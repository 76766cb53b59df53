"""7. Non-clients and chains: non-client to non-client is not reflected; two clusters in a
chain give CLUSTER_LIST [c2, c1]; routes looping back to their cluster are dropped."""

from __future__ import annotations

import time

import pytest

from conformance import configs
from conformance.cluster import Cluster, bgp_prefixes, make_client, node_spec
from conformance.daemons import CalicoNode, Reflector
from conformance.netns import Lab, wait_for

C1, C2 = "244.0.0.1", "244.0.0.2"
NONCLIENT_ATTRS = ("routes reflected to a non-client carry neither ORIGINATOR_ID nor "
                   "CLUSTER_LIST, so the second reflector sets ORIGINATOR_ID to the first "
                   "reflector's router id (10.250.0.1, not n1's) and CLUSTER_LIST lacks c1")


def test_nonclient_to_nonclient_not_reflected(lab: Lab, rr_kind: str) -> None:
    extra = [configs.RRNeighbor(address="10.250.0.101", rr_client=False),
             configs.RRNeighbor(address="10.250.0.102", rr_client=False)]
    cl = Cluster(lab, rr_kind, 2, extra=extra)
    a = make_client(lab, "bird2", 1, [cl.rr.address])
    b = make_client(lab, "bird2", 2, [cl.rr.address])
    cl.start()
    a.start()
    b.start()
    cl.wait_established()
    for c in (a, b):
        wait_for(lambda c=c: c.established() >= 1, 60, 0.25, f"{c.name} up")
    node_prefixes = {p for n in cl.nodes for p in n.exported()}
    for viewer in (*cl.nodes, a, b):  # clients' routes reach everyone
        wait_for(lambda v=viewer: node_prefixes - set(v.exported()) <= bgp_prefixes(v),
                 60, 0.25, f"{viewer.name} has the clients' routes")
    for n in cl.nodes:  # non-clients' routes reach the clients
        wait_for(lambda n=n: {*a.exported(), *b.exported()} <= bgp_prefixes(n), 30, 0.25,
                 f"{n.name} has the non-clients' routes")
    time.sleep(3)
    assert not set(a.exported()) & bgp_prefixes(b), "non-client route reflected to non-client"
    assert not set(b.exported()) & bgp_prefixes(a), "non-client route reflected to non-client"


def _two_clusters(lab: Lab, rr_kind: str, rr1_sees_rr2_as_client: bool,
                  rr2_sees_rr1_as_client: bool
                  ) -> tuple[Reflector, Reflector, list[CalicoNode], CalicoNode]:
    s1, s2, s3 = node_spec(1), node_spec(2), node_spec(3)
    rr1_addr, rr2_addr = "10.250.0.1", "10.250.0.2"
    n1_neigh = (configs.RRNeighbor(address=s1.v4), configs.RRNeighbor(address=s2.v4))
    to_rr2 = configs.RRNeighbor(address=rr2_addr, rr_client=rr1_sees_rr2_as_client)
    cfg1 = configs.RRConfig(router_id=rr1_addr, cluster_id=C1, neighbors=(*n1_neigh, to_rr2))
    cfg2 = configs.RRConfig(router_id=rr2_addr, cluster_id=C2, neighbors=(
        configs.RRNeighbor(address=s3.v4),
        configs.RRNeighbor(address=rr1_addr, rr_client=rr2_sees_rr1_as_client)))
    rr1 = Reflector(lab, rr_kind, "rr1", rr1_addr, cfg1)
    rr2 = Reflector(lab, rr_kind, "rr2", rr2_addr, cfg2)
    p1 = [configs.BirdPeer(address=rr1_addr)]
    nodes = [CalicoNode(lab, s1, p1), CalicoNode(lab, s2, p1)]
    n3 = CalicoNode(lab, s3, [configs.BirdPeer(address=rr2_addr)])
    rr1.start()
    rr2.start()
    for n in (*nodes, n3):
        n.start()
    return rr1, rr2, nodes, n3


@pytest.mark.gobgp_fails(reason=NONCLIENT_ATTRS)
def test_chain_cluster_list(lab: Lab, rr_kind: str) -> None:
    _rr1, _rr2, (n1, _n2), n3 = _two_clusters(lab, rr_kind, False, False)
    want = set(n1.exported())

    def n3_view() -> bool:
        rib = n3.rib()
        return all(p in rib and rib[p][0].source for p in want)

    wait_for(n3_view, 60, 0.25, "n3 has n1's routes through the chain")
    rib = n3.rib()
    for p in want:
        best = rib[p][0]
        assert best.next_hop == n1.address
        assert best.originator_id == n1.router_id
        assert best.cluster_list == [C2, C1], best.cluster_list
    # and the other way round: n3's routes at n1 carry [c1, c2]
    wait_for(lambda: set(n3.exported()) <= bgp_prefixes(n1), 30, 0.25, "n1 has n3's routes")
    rib1 = n1.rib()
    for p in n3.exported():
        assert rib1[p][0].cluster_list == [C1, C2], rib1[p][0].cluster_list
        assert rib1[p][0].originator_id == n3.router_id


def test_looped_routes_dropped(lab: Lab, rr_kind: str) -> None:
    # A ring of three clusters, each reflector a client of the previous one:
    # n1 -> rr1 -> rr2 -> rr3 -> back to rr1 with CLUSTER_LIST [c3, c2, c1], which rr1 must
    # drop. Its BIRD 2 ADD-PATH client would see such a path as a second path.
    addrs = ["10.250.0.1", "10.250.0.2", "10.250.0.3"]
    cids = [C1, C2, "244.0.0.3"]
    s1 = node_spec(1)
    rrs = []
    for k in range(3):
        nxt, prev = addrs[(k + 1) % 3], addrs[(k - 1) % 3]
        neigh = [configs.RRNeighbor(address=nxt, rr_client=True),
                 configs.RRNeighbor(address=prev, rr_client=False)]
        if k == 0:
            neigh += [configs.RRNeighbor(address=s1.v4),
                      configs.RRNeighbor(address="10.250.0.101", add_paths_send=8)]
        cfg = configs.RRConfig(router_id=addrs[k], cluster_id=cids[k], neighbors=tuple(neigh))
        rrs.append(Reflector(lab, rr_kind, f"rr{k + 1}", addrs[k], cfg))
    n1 = CalicoNode(lab, s1, [configs.BirdPeer(address=addrs[0])])
    b2 = make_client(lab, "bird2", 1, [addrs[0]], add_paths="rx")
    for rr in rrs:
        rr.start()
    n1.start()
    b2.start()
    want = set(n1.exported())
    wait_for(lambda: want <= bgp_prefixes(b2), 60, 0.25, "BIRD 2 client has n1's routes")
    # Give the route time to travel round the ring (three reflection hops).
    time.sleep(6)
    rib = b2.rib()
    for p in want:
        paths = rib[p]
        assert [x.cluster_list for x in paths] == [[C1]], [(x.source, x.cluster_list)
                                                           for x in paths]
