"""1b. Convergence with BIRD 2, gobgpd and FRR as reflector clients and as non-clients."""

from __future__ import annotations

import pytest

from conformance import configs
from conformance.cluster import CLIENT_KINDS, Cluster, make_client, wait_converged
from conformance.netns import Lab, wait_for


@pytest.mark.parametrize("role", [
    "client",
    pytest.param("nonclient", marks=pytest.mark.gobgp_fails(
        reason="routes reflected from clients to a non-client carry neither ORIGINATOR_ID "
               "nor CLUSTER_LIST (RFC 4456 section 8 requires both on every reflected route)")),
])
@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_other_daemon_converges(lab: Lab, rr_kind: str, kind: str, role: str) -> None:
    extra = configs.RRNeighbor(address="10.250.0.101", rr_client=(role == "client"))
    cl = Cluster(lab, rr_kind, 3, extra=[extra])
    other = make_client(lab, kind, 1, [cl.rr.address])
    cl.start()
    other.start()
    cl.wait_established()
    wait_for(lambda: other.established() >= 1, 60, 0.25, f"{kind} session up")
    everyone = [*cl.nodes, other]
    # A client's routes go to clients and non-clients, a non-client's to clients: either
    # way every node and the other daemon see everything, reflected unchanged.
    wait_converged(everyone, everyone, [configs.CLUSTER_ID], 60)
