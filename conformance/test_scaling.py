"""Scaling out past one reflector pair (docs/kubernetes.md, "Scaling out"), with the
layouts of deploy/kubernetes/examples: racks of three BIRD 1.6 Calico nodes, each rack
with its own reflector pair (one cluster id per pair) and its nodes peering with that pair
only (Calico's BGPPeer nodeSelector), the nodes accepted as dynamic neighbors from the
rack's range.

* Meshed pairs: the pairs are plain iBGP peers (non-clients) of each other. Every node
  learns every other node's routes, CLUSTER_LIST [own pair, origin pair], and pods reach
  pods in the other rack through the kernel routes BIRD installed.
* Hierarchy: the rack pairs are route-reflector clients of a top pair. Every node learns
  everything with CLUSTER_LIST [own pair, top, origin pair]; a route the top pair reflects
  back into its rack pair is dropped there (loop check); one reflector of a rack pair
  killed costs no node a kernel route.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from conformance import configs
from conformance.cluster import (
    bgp_prefixes,
    expected_problems,
    make_client,
    node_spec,
    prefixes_of,
    wait_converged,
)
from conformance.daemons import CalicoNode, Reflector
from conformance.netns import Lab, wait_for

NONCLIENT_ATTRS = ("routes reflected to a non-client carry neither ORIGINATOR_ID nor "
                   "CLUSTER_LIST, so the next reflector sets ORIGINATOR_ID to the first "
                   "reflector's router id and CLUSTER_LIST lacks the origin pair's id")
TOP_CLUSTER = "244.0.0.1"
RR_RESTART_TIME = 5


@dataclass(frozen=True)
class RackSpec:
    name: str
    node_indexes: tuple[int, ...]
    node_range: str  # the rack's dynamic-neighbor range
    rr_addrs: tuple[str, str]
    cluster_id: str


# Node i is at 10.250.0.(10 + i): rack a 10.250.0.16-18, rack b 10.250.0.24-26.
RACK_A = RackSpec("a", (6, 7, 8), "10.250.0.16/29", ("10.250.0.1", "10.250.0.2"), "244.0.1.1")
RACK_B = RackSpec("b", (14, 15, 16), "10.250.0.24/29", ("10.250.0.3", "10.250.0.4"),
                  "244.0.2.1")
TOP_ADDRS = ("10.250.0.5", "10.250.0.6")


@dataclass
class Rack:
    spec: RackSpec
    rrs: list[Reflector]
    nodes: list[CalicoNode]


def _rack_config(rack: RackSpec, addr: str,
                 upstream: Sequence[configs.RRNeighbor]) -> configs.RRConfig:
    return configs.RRConfig(
        router_id=addr, cluster_id=rack.cluster_id, restart_time=RR_RESTART_TIME,
        neighbors=tuple(upstream),
        dynamic=(configs.RRDynamic(prefix=rack.node_range, group=f"rack-{rack.name}"),))


def _build_rack(lab: Lab, rr_kind: str, rack: RackSpec,
                upstream: Sequence[configs.RRNeighbor]) -> Rack:
    rrs = [Reflector(lab, rr_kind, f"r{rack.name}{k + 1}", addr,
                     _rack_config(rack, addr, upstream))
           for k, addr in enumerate(rack.rr_addrs)]
    peers = [configs.BirdPeer(address=a) for a in rack.rr_addrs]
    nodes = [CalicoNode(lab, node_spec(i), peers) for i in rack.node_indexes]
    return Rack(rack, rrs, nodes)


def _start(racks: Sequence[Rack], extra: Sequence[Reflector] = ()) -> None:
    for rr in [*extra, *(r for rack in racks for r in rack.rrs)]:
        rr.start()
    for rack in racks:
        for node in rack.nodes:
            node.start()
    for rack in racks:
        for node in rack.nodes:
            wait_for(lambda n=node: n.established() >= 2, 60, 0.25, f"{node.name} sessions")


def _wait_all_converged(racks: Sequence[Rack], middle: Sequence[str]) -> None:
    """Every node has every node's routes; a route from another rack carries
    CLUSTER_LIST [own pair, *middle, origin pair] and the origin node's ORIGINATOR_ID."""
    for viewer in racks:
        for origin in racks:
            cl = ([viewer.spec.cluster_id] if origin is viewer
                  else [viewer.spec.cluster_id, *middle, origin.spec.cluster_id])
            wait_converged(viewer.nodes, origin.nodes, cl, timeout=60)


def _kernel_problems(nodes: Sequence[CalicoNode]) -> list[str]:
    """Each node needs a BIRD kernel route via every other node to that node's prefixes."""
    problems = []
    for node in nodes:
        kroutes = node.kernel_routes()
        for other in nodes:
            if other is node:
                continue
            for prefix in other.exported():
                route = kroutes.get(prefix)
                if route is None or route["gateway"] != other.address:
                    problems.append(f"{node.name}: {prefix} -> {route}")
    return problems


def _http_between(lab: Lab, server: CalicoNode, client: CalicoNode) -> None:
    """A pod on ``client`` fetches a page from a pod on ``server`` (routed by BIRD)."""
    assert server.host.pod_ns and client.host.pod_ns
    www = lab.workdir / "www"
    www.mkdir(exist_ok=True)
    (www / "rack.txt").write_text(f"hello from {server.name}\n")
    lab.popen(f"http-{server.name}", server.host.pod_ns,
              ["python3", "-m", "http.server", "8080", "--bind", server.spec.borrowed4,
               "--directory", str(www)])
    url = f"http://{server.spec.borrowed4}:8080/rack.txt"

    def fetch() -> str:
        res = lab.run(client.host.pod_ns, ["curl", "-sS", "-m", "3", "--interface",
                                           client.spec.pod4, url], timeout=10)
        return res.stdout if res.returncode == 0 else ""

    assert wait_for(fetch, 20, 0.5, f"HTTP {url}") == f"hello from {server.name}\n"


def _sources(node: CalicoNode, prefixes: set[str]) -> dict[str, set[str | None]]:
    rib = node.rib()
    return {p: {x.source for x in rib.get(p, []) if x.source} for p in prefixes}


@pytest.mark.gobgp_fails(reason=NONCLIENT_ATTRS)
def test_rack_pairs_meshed_as_nonclients(lab: Lab, rr_kind: str) -> None:
    # Each rack's reflectors peer with the other rack's as non-clients.
    a = _build_rack(lab, rr_kind, RACK_A, [configs.RRNeighbor(address=x, rr_client=False)
                                           for x in RACK_B.rr_addrs])
    b = _build_rack(lab, rr_kind, RACK_B, [configs.RRNeighbor(address=x, rr_client=False)
                                           for x in RACK_A.rr_addrs])
    _start([a, b])
    _wait_all_converged([a, b], middle=[])
    # Each node peers with its own pair only: both paths of a foreign route come from there.
    for rack, other in ((a, b), (b, a)):
        for node in rack.nodes:
            got = _sources(node, prefixes_of(other.nodes))
            assert all(s == set(rack.spec.rr_addrs) for s in got.values()), (node.name, got)
    assert _kernel_problems([*a.nodes, *b.nodes]) == []
    _http_between(lab, a.nodes[0], b.nodes[0])


@pytest.mark.gobgp_fails(reason=NONCLIENT_ATTRS)
def test_rack_pairs_under_a_top_pair(lab: Lab, rr_kind: str) -> None:
    top_up = [configs.RRNeighbor(address=x, rr_client=False) for x in TOP_ADDRS]
    # A BIRD 2 client of rack a's first reflector with ADD-PATH receive: it sees every path
    # that reflector keeps, so a route looping back through the top pair would show.
    watcher_addr = "10.250.0.101"
    a = _build_rack(lab, rr_kind, RACK_A,
                    [*top_up, configs.RRNeighbor(address=watcher_addr, add_paths_send=8)])
    b = _build_rack(lab, rr_kind, RACK_B, top_up)
    rack_rrs = [*RACK_A.rr_addrs, *RACK_B.rr_addrs]
    tops = [Reflector(lab, rr_kind, f"rt{k + 1}", addr, configs.RRConfig(
        router_id=addr, cluster_id=TOP_CLUSTER, restart_time=RR_RESTART_TIME,
        neighbors=tuple(configs.RRNeighbor(address=x) for x in rack_rrs)))
        for k, addr in enumerate(TOP_ADDRS)]
    watcher = make_client(lab, "bird2", 1, [RACK_A.rr_addrs[0]], add_paths="rx",
                          statics=[])
    _start([a, b], extra=tops)
    watcher.start()
    _wait_all_converged([a, b], middle=[TOP_CLUSTER])
    everyone = [*a.nodes, *b.nodes]
    assert _kernel_problems(everyone) == []

    # No loop: rack a's own routes reach the watcher once, straight from rack a's client;
    # rack b's come down from the top pair (two paths, one per top reflector).
    wait_for(lambda: prefixes_of(everyone) <= bgp_prefixes(watcher), 30, 0.25,
             "watcher has every route")
    time.sleep(3)  # room for a looped path to arrive, were it to come back
    rib = watcher.rib()
    for node in a.nodes:
        for p in node.exported():
            lists = [x.cluster_list for x in rib[p] if x.source]
            assert lists == [[RACK_A.cluster_id]], (p, lists)
    for node in b.nodes:
        for p in node.exported():
            paths = [x for x in rib[p] if x.source]
            assert [x.cluster_list for x in paths] == \
                [[RACK_A.cluster_id, TOP_CLUSTER, RACK_B.cluster_id]] * 2, (p, paths)
            assert {x.originator_id for x in paths} == {node.router_id}

    # One reflector of rack a's pair goes away: nothing is lost anywhere.
    everything = prefixes_of(everyone)
    watchers = [lab.watch_routes(n.host.ns) for n in everyone]
    try:
        a.rrs[0].kill()
        # Past its restart time its stale paths are flushed (rack a's nodes, the top pair).
        time.sleep(RR_RESTART_TIME + 5)
        _wait_all_converged([a, b], middle=[TOP_CLUSTER])
        for n, w in zip(everyone, watchers, strict=True):
            lost = w.outages(everything)
            assert not lost, f"{n.name}: kernel routes missing: {lost}; events {w.events}"
        for node in a.nodes:
            got = _sources(node, everything - set(node.exported()))
            assert all(s == {RACK_A.rr_addrs[1]} for s in got.values()), (node.name, got)
        problems = [p for n in b.nodes
                    for p in expected_problems(n, a.nodes, [RACK_B.cluster_id, TOP_CLUSTER,
                                                            RACK_A.cluster_id])]
        assert problems == []
        assert _kernel_problems(everyone) == []
    finally:
        for w in watchers:
            w.close()
