"""1. Convergence: every client has every other client's routes, reflected unchanged."""

from __future__ import annotations

import pytest

from conformance import configs
from conformance.cluster import Cluster, wait_converged
from conformance.netns import Lab


def _check_cluster(lab: Lab, rr_kind: str, n: int, v6: bool, timeout: float) -> None:
    cl = Cluster(lab, rr_kind, n, v6=v6)
    cl.start_converged(timeout)
    if v6:
        wait_converged(cl.nodes, cl.nodes, [configs.CLUSTER_ID], timeout, family=6)
    # Kernel view: each node has a proto-bird route to every other node's block.
    problems = cl.mesh_problems()
    assert not problems, problems


def test_convergence_3_nodes_dual_stack(lab: Lab, rr_kind: str) -> None:
    _check_cluster(lab, rr_kind, 3, v6=True, timeout=60)


@pytest.mark.slow
def test_convergence_50_nodes(lab: Lab, rr_kind: str) -> None:
    _check_cluster(lab, rr_kind, 50, v6=False, timeout=240)
