"""4. Node removal: clean stop withdraws at once; a killed node's routes stay stale for its
graceful-restart time, are refreshed when it returns, and go when the timer fires."""

from __future__ import annotations

import time

from conformance.cluster import Cluster, bgp_prefixes, prefixes_of
from conformance.netns import Lab, wait_for

RESTART_TIME = 20


def test_clean_stop_withdraws_everywhere(lab: Lab, rr_kind: str) -> None:
    cl = Cluster(lab, rr_kind, 3, node_restart_time=RESTART_TIME)
    cl.start_converged()
    n1, n2, n3 = cl.nodes
    gone = prefixes_of([n3])
    t0 = time.monotonic()
    n3.stop()
    for node in (n1, n2):
        wait_for(lambda node=node: not (bgp_prefixes(node) & gone), 10, 0.25,
                 f"{node.name} drops {sorted(gone)}")
        wait_for(lambda node=node: not (set(node.kernel_routes()) & gone), 10, 0.25,
                 f"{node.name} kernel drops {sorted(gone)}")
    # A clean stop is not a restart: well before the restart time.
    assert time.monotonic() - t0 < RESTART_TIME / 2


def test_killed_node_kept_stale_then_refreshed_then_expired(lab: Lab, rr_kind: str) -> None:
    cl = Cluster(lab, rr_kind, 3, node_restart_time=RESTART_TIME)
    cl.start_converged()
    n1, n2, n3 = cl.nodes
    n3_prefixes = prefixes_of([n3])
    watchers = [lab.watch_routes(n.host.ns) for n in (n1, n2)]
    try:
        # Killed: no Cease, the reflector keeps n3's routes (stale) for its restart time.
        n3.kill()
        time.sleep(RESTART_TIME / 2)
        for node in (n1, n2):
            assert n3_prefixes <= bgp_prefixes(node), f"{node.name} lost n3 while stale"
        # n3 comes back within its restart time: routes refreshed, never withdrawn.
        n3.start()
        wait_for(lambda: n3.established() >= 1, 30, 0.25, "n3 back up")
        cl.wait_converged()
        time.sleep(RESTART_TIME / 2 + 3)  # past the first restart timer
        for node in (n1, n2):
            assert n3_prefixes <= bgp_prefixes(node), f"{node.name} lost n3 after return"
        for w in watchers:
            lost = [d for d in w.deleted if d in n3_prefixes]
            assert not lost, f"{w.ns}: kernel route deletions {lost}"
        # Killed again and not restarted: gone when the restart timer fires, not before.
        n3.kill()
        t0 = time.monotonic()
        for node in (n1, n2):
            wait_for(lambda node=node: not (bgp_prefixes(node) & n3_prefixes),
                     RESTART_TIME + 15, 0.5, f"{node.name} expires n3's stale routes")
        elapsed = time.monotonic() - t0
        assert elapsed > RESTART_TIME - 5, f"stale routes dropped after {elapsed:.1f}s"
    finally:
        for w in watchers:
            w.close()
