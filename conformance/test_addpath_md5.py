"""9. ADD-PATH: a service /24 announced by three nodes reaches a BIRD 2 ``add paths rx``
client as three paths. 10. TCP-MD5: sessions with a password come up; a wrong one never."""

from __future__ import annotations

import time

from conformance import configs
from conformance.cluster import Cluster, make_client, node_spec, static_and_dynamic
from conformance.daemons import CalicoNode
from conformance.netns import Lab, wait_for


def test_addpath_three_paths(lab: Lab, rr_kind: str) -> None:
    extra = [configs.RRNeighbor(address="10.250.0.101", add_paths_send=8)]
    cl = Cluster(lab, rr_kind, 3, extra=extra, add_paths_send=8)
    # Every node also announces the service prefix (as calico does for service IPs).
    for node in cl.nodes:
        conf = configs.bird_node_conf(
            node.spec, [configs.BirdPeer(address=cl.rr.address)], family=4,
            extra_static=[configs.SERVICE4])
        node.bird.conf_path.write_text(conf)
    b2 = make_client(lab, "bird2", 1, [cl.rr.address], add_paths="rx")
    cl.start()
    b2.start()
    cl.wait_established()
    want = {n.address for n in cl.nodes}

    def hops() -> set[str]:
        return {p.next_hop for p in b2.rib().get(configs.SERVICE4, []) if p.next_hop}

    wait_for(lambda: hops() == want, 60, 0.25, f"three paths for {configs.SERVICE4}")
    paths = b2.rib()[configs.SERVICE4]
    assert len(paths) == 3, [(p.next_hop, p.originator_id) for p in paths]
    assert {p.originator_id for p in paths} == {n.router_id for n in cl.nodes}
    for p in paths:
        assert p.cluster_list == [configs.CLUSTER_ID]


@static_and_dynamic(
    gobgp_fails="the peer group's auth-password is not installed as a TCP-MD5 key for the "
                "dynamic-neighbor range: the kernel drops the clients' signed SYNs and no "
                "session ever comes up (nothing in gobgpd's log)")
def test_md5(lab: Lab, rr_kind: str, dynamic: bool) -> None:
    secret = "s3cr3t-calico"
    extra = [] if dynamic else [configs.RRNeighbor(address=node_spec(3).v4, password=secret)]
    cl = Cluster(lab, rr_kind, 2, dynamic=dynamic, password=secret, extra=extra)
    bad = CalicoNode(lab, node_spec(3),
                     [configs.BirdPeer(address=cl.rr.address, password="wrong-secret")])
    cl.start()
    bad.start()
    cl.wait_established(30)
    cl.wait_converged(30)
    # The wrong password never establishes (BIRD retries every 5 s); wait a few retries.
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        assert bad.established() == 0, "session with a wrong TCP-MD5 password came up"
        time.sleep(0.5)
    for n in cl.nodes:
        assert not set(bad.exported()) & {k for k, v in n.rib().items()
                                          if any(p.source for p in v)}
