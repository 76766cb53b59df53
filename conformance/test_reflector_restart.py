"""5. Reflector restart: killed and restarted in graceful-restart mode (-r), the clients'
kernel tables see zero route deletions (netlink monitoring of proto bird routes).
6. Redundant pair: two reflectors sharing a cluster id; killing one loses nothing."""

from __future__ import annotations

import time

from conformance.cluster import Cluster, bgp_prefixes, prefixes_of, static_and_dynamic
from conformance.netns import Lab, wait_for

RR_RESTART_TIME = 30


@static_and_dynamic(
    gobgp_fails="after `gobgpd -r` with dynamic neighbors every client deletes all "
                "reflected kernel routes and re-adds them ~2 ms later (stale routes flushed "
                "at End-of-RIB before the refreshed routes arrive)")
def test_reflector_graceful_restart_no_deletions(lab: Lab, rr_kind: str,
                                                 dynamic: bool) -> None:
    cl = Cluster(lab, rr_kind, 3, dynamic=dynamic, rr_restart_time=RR_RESTART_TIME)
    cl.start_converged()
    everything = prefixes_of(cl.nodes)
    watchers = [lab.watch_routes(n.host.ns) for n in cl.nodes]
    try:
        cl.rr.kill()
        time.sleep(1)
        cl.rr.start(graceful_restart=True)
        cl.wait_established(60)
        cl.wait_converged(60)
        # Let End-of-RIB / stale flushing play out on every client.
        time.sleep(8)
        cl.wait_converged(5)
        for n, w in zip(cl.nodes, watchers, strict=True):
            lost = [d for d in w.deleted if d in everything]
            assert not lost, (f"{n.name}: kernel route deletions during RR restart: {lost}; "
                              f"events {w.events}")
    finally:
        for w in watchers:
            w.close()


def test_redundant_pair_kill_one(lab: Lab, rr_kind: str) -> None:
    cl = Cluster(lab, rr_kind, 3, rr_count=2, rr_restart_time=5)
    cl.start_converged()
    for node in cl.nodes:  # two paths per prefix, one from each reflector
        rib = node.rib()
        for other in cl.nodes:
            if other is node:
                continue
            for prefix in other.exported():
                sources = {p.source for p in rib.get(prefix, []) if p.source}
                assert sources == {r.address for r in cl.rrs}, (node.name, prefix, sources)
    everything = prefixes_of(cl.nodes)
    watchers = [lab.watch_routes(n.host.ns) for n in cl.nodes]
    try:
        cl.rrs[0].kill()
        # Past rr1's restart time: its stale paths are gone, rr2's carry everything.
        time.sleep(5 + 5)
        cl.wait_converged(10)
        for n, w in zip(cl.nodes, watchers, strict=True):
            # The best path moves from rr1's (stale, then flushed) to rr2's: BIRD 1.6
            # rewrites the kernel route as delete + add, so allow only that instant gap.
            lost = w.outages(everything)
            assert not lost, f"{n.name}: kernel routes missing: {lost}; events {w.events}"
            want = prefixes_of([o for o in cl.nodes if o is not n])
            wait_for(lambda n=n, want=want: want <= bgp_prefixes(n), 5, 0.25, "all routes")
            rib = n.rib()
            for prefix in want:
                sources = {p.source for p in rib[prefix] if p.source}
                assert sources == {cl.rrs[1].address}, (n.name, prefix, sources)
    finally:
        for w in watchers:
            w.close()
