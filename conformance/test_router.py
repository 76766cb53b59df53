"""12. Two COEs through bgprr (docs/router.md): route server, then eBGP router.

COE A (3 Calico BIRD 1.6 nodes, AS 64511) and COE B (3 nodes, AS 64512) peer with bgprr
only (``conformance/coe.py`` builds it; bgprr reads the shipped ``examples/router/*.toml``).

* Route server (``route-server.toml``): each COE gets the other's routes with the origin
  node's next hop and AS_PATH; the service CIDR that every node of A announces reaches B
  with its three paths (ADD-PATH) and becomes a three-way ECMP route in B's kernels; a
  pod in A fetches a page from a pod in B over HTTP, node to node.
* Router (``router.toml``): the same with bgprr's address as every next hop (eBGP) and
  bgprr's own kernel routes carrying the traffic (the service CIDR as one ECMP route);
  an FRR upstream (AS 65000) gets only the pod blocks (192.168.0.0/16 up to /26), each
  with its COE's community, and its default route reaches no node (bgprr's policies);
  a namespace behind FRR fetches a page from a pod of each COE through bgprr's kernel
  routes, before and after ``bgprr -r`` (killed and restarted), which deletes no kernel
  route anywhere (nodes, FRR, bgprr).

bgprr only (kernel routes, and the files are bgprr's examples).
"""

from __future__ import annotations

import time

import pytest

from conformance.coe import (
    COE_A,
    COE_B,
    DEFAULT,
    EXAMPLES,
    EXT_NET,
    PROTO_BGP,
    RR,
    RR_UP,
    SERVICE,
    UP,
    CoeNode,
    Topology,
    frr_paths,
    node_conf,
)
from conformance.netns import Lab, RouteWatcher, wait_for


@pytest.fixture(autouse=True)
def _bgprr_only(rr_kind: str) -> None:
    if rr_kind != "bgprr":
        pytest.skip("the scenario runs bgprr's shipped examples (kernel routes)")


def test_shipped_bird_configs_are_the_generated_ones() -> None:
    """examples/router/bird-a1.conf and bird-b1.conf are what the scenario's a1 and b1 run."""
    for coe, name in ((COE_A, "bird-a1.conf"), (COE_B, "bird-b1.conf")):
        assert (EXAMPLES / name).read_text() == node_conf(coe, coe.specs()[0])


def route_problems(t: Topology, *, via_rr: bool) -> list[str]:
    """What is wrong with each node's view of the other COE (empty: all good). Route
    server: the origin node's next hop and AS; router: bgprr's next hop, its AS in front."""
    problems: list[str] = []
    for viewers, origins in ((t.b, t.a), (t.a, t.b)):
        for v in viewers:
            rib = v.rib()
            for o in origins:
                nh = RR if via_rr else o.address
                path = f"64600 {o.coe.asn}" if via_rr else str(o.coe.asn)
                for prefix in o.spec.exported(4):
                    got = [(p.next_hop, p.as_path) for p in rib.get(prefix, [])]
                    if got != [(nh, path)]:
                        problems.append(f"{v.name}: {prefix} {got} != {[(nh, path)]}")
    return problems


def service_paths(node: CoeNode) -> set[tuple[str | None, str]]:
    return {(p.next_hop, p.as_path) for p in node.rib().get(SERVICE, [])}


def wait_routes(t: Topology, *, via_rr: bool) -> None:
    last: list[str] = []

    def ok() -> bool:
        nonlocal last
        last = route_problems(t, via_rr=via_rr)
        return not last

    try:
        wait_for(ok, 60, 0.5, "the COEs' routes")
    except TimeoutError as exc:
        raise AssertionError(f"routes not right after 60 s: {last[:10]}") from exc


def test_route_server(lab: Lab) -> None:
    t = Topology(lab, EXAMPLES / "route-server.toml", upstream=False)
    t.start()
    wait_routes(t, via_rr=False)
    a_addrs = sorted(n.address for n in t.a)
    for b in t.b:  # every path of the service CIDR (ADD-PATH), one ECMP kernel route
        want = {(a, str(COE_A.asn)) for a in a_addrs}
        wait_for(
            lambda b=b, want=want: service_paths(b) == want,
            20,
            0.25,
            f"{b.name}: the service's 3 paths",
        )
        wait_for(
            lambda b=b: b.kernel_routes().get(SERVICE, {}).get("gateway") == ",".join(a_addrs),
            20,
            0.25,
            f"{b.name}: ECMP service route",
        )
    # pod to pod, node to node: a1's route to b1's block goes to b1 itself
    a1, b1 = t.a[0], t.b[0]
    assert a1.kernel_routes()[b1.spec.block4]["gateway"] == b1.address
    url = t.serve(b1)
    t.wait_http(a1.pod_ns, url, "pod of b1\n", source=a1.spec.pod4)
    assert a1.spec.pod4 in (lab.workdir / "http-b1.log").read_text()


def policy_problems(t: Topology) -> list[str]:
    """What bgprr's policies must make true (examples/router/router.toml): the upstream
    gets exactly the pod blocks, each with its COE's community; no node has the
    upstream's default route, nor does bgprr's kernel."""
    assert t.up is not None
    problems: list[str] = []
    blocks = {n.spec.block4: n for n in t.nodes}
    got = set(t.up.rib())
    if got != set(blocks):
        problems.append(f"upstream: prefixes {sorted(got)} != the pod blocks {sorted(blocks)}")
    for prefix, n in sorted(blocks.items()):
        want = [
            {"as_path": f"64600 {n.coe.asn}", "next_hop": RR_UP, "communities": [n.coe.community]}
        ]
        paths = frr_paths(t.up, prefix)
        if paths != want:
            problems.append(f"upstream: {prefix} {paths} != {want}")
    for n in t.nodes:
        if DEFAULT in n.rib():
            problems.append(f"{n.name}: has the upstream's default route")
    if DEFAULT in t.rr_kernel():
        problems.append("bgprr's kernel has the upstream's default route")
    return problems


def test_router(lab: Lab) -> None:
    t = Topology(lab, EXAMPLES / "router.toml", upstream=True)
    assert t.up is not None and t.ext is not None
    up, ext = t.up, t.ext
    t.start()
    wait_routes(t, via_rr=True)
    a_addrs = ",".join(sorted(n.address for n in t.a))
    for b in t.b:  # one path via bgprr; bgprr's kernel spreads it over A's nodes
        wait_for(
            lambda b=b: service_paths(b) == {(RR, "64600 64511")},
            20,
            0.25,
            f"{b.name}: the service via bgprr",
        )
    wait_for(
        lambda: t.rr_kernel().get(SERVICE, {}).get("gateway") == a_addrs,
        20,
        0.25,
        "bgprr's ECMP service route",
    )
    kernel = t.rr_kernel()
    for n in t.nodes:  # bgprr forwards to the nodes
        assert kernel[n.spec.block4]["gateway"] == n.address, kernel
    wait_for(
        lambda: t.rr_kernel().get(EXT_NET, {}).get("gateway") == UP,
        20,
        0.25,
        "bgprr's route to the upstream's network",
    )
    # the upstream's network reaches every node, via bgprr
    for n in t.nodes:
        wait_for(
            lambda n=n: (
                [(p.next_hop, p.as_path) for p in n.rib().get(EXT_NET, [])] == [(RR, "64600 65000")]
            ),
            20,
            0.25,
            f"{n.name}: the upstream's network",
        )

    # pod to pod through bgprr's kernel routes
    a1, b1 = t.a[0], t.b[0]
    assert a1.kernel_routes()[b1.spec.block4]["gateway"] == RR
    url_b1, url_a1 = t.serve(b1), t.serve(a1)
    t.wait_http(a1.pod_ns, url_b1, "pod of b1\n", source=a1.spec.pod4)

    # the upstream: what it got (policies, checked at the end) and the way back in
    wait_for(
        lambda: {n.spec.block4 for n in t.nodes} <= set(up.rib()),
        30,
        0.5,
        "the pod blocks at the upstream",
    )
    policy = policy_problems(t)
    t.wait_http(ext.ns, url_a1, "pod of a1\n")
    t.wait_http(ext.ns, url_b1, "pod of b1\n")

    # bgprr -r: killed and restarted; no kernel route deleted anywhere
    watched = {n.name: RouteWatcher(n.host.ns) for n in t.nodes}
    watched["upstream"] = RouteWatcher(up.host.ns, proto=PROTO_BGP)
    watched["bgprr"] = RouteWatcher(t.rr.host.ns, proto=PROTO_BGP)
    try:
        t.rr.kill()
        time.sleep(1)
        t.rr.start(graceful_restart=True)
        t.wait_established(60)
        wait_for(t.rr_restart_done, 60, 0.5, "bgprr's graceful restart complete")
        # room for the End-of-RIB handling (stale routes flushed) at the nodes and FRR
        time.sleep(3)
        wait_routes(t, via_rr=True)
        assert t.rr_kernel().get(SERVICE, {}).get("gateway") == a_addrs
        t.wait_http(ext.ns, url_a1, "pod of a1\n", timeout=10)
        t.wait_http(ext.ns, url_b1, "pod of b1\n", timeout=10)
        t.wait_http(a1.pod_ns, url_b1, "pod of b1\n", source=a1.spec.pod4, timeout=10)
        for name, w in watched.items():
            assert not w.deleted, f"{name}: kernel routes deleted by the restart: {w.events}"
    finally:
        for w in watched.values():
            w.close()
    assert not policy, "policy problems:\n" + "\n".join(policy)
