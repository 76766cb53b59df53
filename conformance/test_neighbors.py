"""3. Static and dynamic neighbors (listen range + peer group), IPv4 and IPv6."""

from __future__ import annotations

import pytest

from conformance import configs
from conformance.cluster import Cluster, wait_converged
from conformance.netns import Lab


@pytest.mark.parametrize("mode", ["static", "dynamic", "mixed"])
def test_neighbor_modes_converge(lab: Lab, rr_kind: str, mode: str) -> None:
    extra: list[configs.RRNeighbor] = []
    if mode == "mixed":
        # n1 configured explicitly, the others only covered by the listen range.
        extra = [configs.RRNeighbor(address="10.250.0.11"),
                 configs.RRNeighbor(address="fd00:250::11", families=("ipv6-unicast",))]
    cl = Cluster(lab, rr_kind, 3, v6=True, dynamic=mode != "static", extra=extra)
    cl.start()
    cl.wait_established()
    cl.wait_converged()
    wait_converged(cl.nodes, cl.nodes, [configs.CLUSTER_ID], 60, family=6)
