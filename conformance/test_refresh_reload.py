"""8. Route refresh (``birdc reload in``, ``vtysh clear bgp * soft in``) is answered with the
routes again, sessions untouched; a SIGHUP config reload adds and removes a neighbor while
the other sessions stay up."""

from __future__ import annotations

import time
from dataclasses import replace

from conformance import configs
from conformance.cluster import Cluster, bgp_prefixes, make_client, prefixes_of, wait_converged
from conformance.netns import Lab, wait_for


def same_since(a: str, b: str) -> bool:
    """BIRD 1.6 prints a state-change time converted from a seconds clock: +-1 s jitter."""
    def secs(text: str) -> int:
        h, m, s = (int(x) for x in text.split()[-1].split(":"))
        return h * 3600 + m * 60 + s

    return a.split()[0] == b.split()[0] and abs(secs(a) - secs(b)) <= 1


def test_route_refresh(lab: Lab, rr_kind: str) -> None:
    cl = Cluster(lab, rr_kind, 3, extra=[configs.RRNeighbor(address="10.250.0.101")])
    frr = make_client(lab, "frr", 1, [cl.rr.address])
    cl.start()
    frr.start()
    cl.wait_established()
    wait_for(lambda: frr.established() >= 1, 60, 0.25, "FRR up")
    everyone = [*cl.nodes, frr]
    wait_converged(everyone, everyone, [configs.CLUSTER_ID], 60)
    everything = prefixes_of(everyone)
    watchers = [lab.watch_routes(n.host.ns) for n in cl.nodes]
    try:
        bird = cl.nodes[0].bird
        proto = bird.bgp_protocols()[0]
        since = bird.since(proto)
        before = bird.import_stats(proto)["Import updates"]
        learned = len(prefixes_of([n for n in everyone if n is not cl.nodes[0]]))
        out = bird.cli("reload", "in", proto)
        assert "reloading" in out, out
        wait_for(lambda: bird.import_stats(proto)["Import updates"] >= before + learned, 15,
                 0.25, "BIRD re-receives every route after ROUTE-REFRESH")
        assert same_since(bird.since(proto), since), "session was reset instead of refreshed"

        def frr_stats() -> dict[str, int]:
            data = frr.vtysh_json(f"show bgp neighbors {cl.rr.address} json") or {}
            return dict(data.get(cl.rr.address, {}).get("messageStats", {}))

        up = frr.vtysh_json(f"show bgp neighbors {cl.rr.address} json")[cl.rr.address][
            "connectionsEstablished"]
        before_frr = frr_stats()["updatesRecv"]
        frr.vtysh("clear bgp * soft in")
        wait_for(lambda: frr_stats().get("routeRefreshSent", 0) >= 1, 10, 0.25, "FRR refresh")
        wait_for(lambda: frr_stats()["updatesRecv"] > before_frr, 15, 0.25,
                 "FRR re-receives routes after ROUTE-REFRESH")
        data = frr.vtysh_json(f"show bgp neighbors {cl.rr.address} json")[cl.rr.address]
        assert data["connectionsEstablished"] == up, "FRR session was reset"
        assert data.get("connectionsDropped", 0) == 0, "FRR session was reset"
        wait_converged(everyone, everyone, [configs.CLUSTER_ID], 10)
        for n, w in zip(cl.nodes, watchers, strict=True):
            assert not w.outages(everything), f"{n.name}: routes lost: {w.events}"
    finally:
        for w in watchers:
            w.close()


def test_sighup_adds_and_removes_neighbor(lab: Lab, rr_kind: str) -> None:
    cl = Cluster(lab, rr_kind, 3)
    n1, n2, n3 = cl.nodes
    # Start without n3 in the reflector's configuration; n3 keeps trying to connect.
    base = cl.rr.cfg
    cl.rr.write_config(replace(base, neighbors=tuple(
        x for x in base.neighbors if x.address != n3.address)))
    cl.start()
    for n in (n1, n2):
        wait_for(lambda n=n: n.established() >= 1, 60, 0.25, f"{n.name} up")
    wait_converged([n1, n2], [n1, n2], [configs.CLUSTER_ID], 60)
    time.sleep(2)
    assert n3.established() == 0
    since = {n.name: n.bird.since(n.bird.bgp_protocols()[0]) for n in (n1, n2)}
    watchers = {n.name: lab.watch_routes(n.host.ns) for n in (n1, n2, n3)}
    try:
        # Add n3.
        cl.rr.write_config(base)
        cl.rr.hup()
        wait_for(lambda: n3.established() >= 1, 60, 0.25, "n3 up after SIGHUP")
        cl.wait_converged()
        # Remove n2.
        cl.rr.write_config(replace(base, neighbors=tuple(
            x for x in base.neighbors if x.address != n2.address)))
        cl.rr.hup()
        gone = set(n2.exported())
        for n in (n1, n3):
            wait_for(lambda n=n: not (bgp_prefixes(n) & gone), 30, 0.25,
                     f"{n.name} drops n2's routes")
        wait_for(lambda: not ({*n1.exported(), *n3.exported()} & bgp_prefixes(n2)), 30, 0.25,
                 "n2 loses the others' routes")
        wait_converged([n1, n3], [n1, n3], [configs.CLUSTER_ID], 10)
        # The sessions that stayed configured were never reset, and lost no route.
        assert same_since(n1.bird.since(n1.bird.bgp_protocols()[0]), since["n1"])
        keep = prefixes_of([n1, n3])
        for name in ("n1", "n3"):
            lost = watchers[name].outages(keep)
            assert not lost, f"{name}: kernel routes lost: {lost}"
    finally:
        for w in watchers.values():
            w.close()


