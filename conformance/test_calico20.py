"""A 20-node Calico cluster through one reflector, from start to the reflector's restart.

Twenty BIRD 1.6 nodes configured as calico-node configures BIRD (graceful restart, add
paths on, multihop, source address, a /26 blackhole and a borrowed /32 each):

1. they fully converge, and each node's kernel has every other node's routes;
2. a node stopped cleanly: its routes vanish everywhere;
3. a node killed: its routes stay (no kernel deletion anywhere), and are replaced when it
   comes back;
4. the reflector killed and restarted with graceful restart (-r): no node deletes a route.
"""

from __future__ import annotations

import time

from conformance.cluster import Cluster, bgp_prefixes, prefixes_of
from conformance.netns import Lab, wait_for

N = 20
NODE_RESTART_TIME = 60


def test_calico_20_nodes_lifecycle(lab: Lab, rr_kind: str) -> None:
    cl = Cluster(lab, rr_kind, N, node_restart_time=NODE_RESTART_TIME, rr_restart_time=60)
    cl.start_converged(120)
    problems = cl.mesh_problems()
    assert not problems, problems

    stopped, killed, *_ = reversed(cl.nodes)
    live = [n for n in cl.nodes if n is not stopped]

    # 2. Clean stop: BIRD sends Cease; the node's routes leave every kernel at once.
    gone = prefixes_of([stopped])
    stopped.stop()
    for node in live:
        wait_for(lambda node=node: not (set(node.kernel_routes()) & gone), 20, 0.25,
                 f"{node.name} kernel drops {sorted(gone)}")

    # 3. Killed (no NOTIFICATION): kept stale, replaced on return, never deleted.
    kept = prefixes_of([killed])
    others = [n for n in live if n is not killed]
    watchers = [lab.watch_routes(n.host.ns) for n in others]
    try:
        killed.kill()
        time.sleep(5)
        for node in others:
            assert kept <= bgp_prefixes(node), f"{node.name} lost {killed.name} while stale"
        killed.start()
        wait_for(lambda: killed.established() >= 1, 60, 0.25, f"{killed.name} back up")
        time.sleep(5)  # its End-of-RIB and the reflector's sweep
        for node in others:
            assert kept <= set(node.kernel_routes()), f"{node.name} lost {killed.name}"
        for w in watchers:
            lost = [d for d in w.deleted if d in kept]
            assert not lost, f"{w.ns}: kernel route deletions {lost}"
    finally:
        for w in watchers:
            w.close()

    # 4. The reflector killed and restarted with -r: zero deletions on every node.
    everything = prefixes_of(live)
    watchers = [lab.watch_routes(n.host.ns) for n in live]
    try:
        cl.rr.kill()
        time.sleep(1)
        cl.rr.start(graceful_restart=True)
        for node in live:
            wait_for(lambda node=node: node.established() >= 1, 120, 0.25,
                     f"{node.name} session back")
        time.sleep(8)  # End-of-RIB both ways, stale sweeps
        for node, w in zip(live, watchers, strict=True):
            lost = [d for d in w.deleted if d in everything]
            assert not lost, f"{node.name}: kernel route deletions during RR restart: {lost}"
            assert everything - prefixes_of([node]) <= set(node.kernel_routes())
    finally:
        for w in watchers:
            w.close()
