"""2. Data plane: pod-to-pod HTTP, routed only by the kernel routes BIRD installed."""

from __future__ import annotations

import pytest

from conformance.cluster import Cluster
from conformance.netns import Lab, wait_for


@pytest.mark.parametrize("family", [4, 6])
def test_pod_to_pod_http(lab: Lab, rr_kind: str, family: int) -> None:
    cl = Cluster(lab, rr_kind, 2, v6=True)
    cl.start()
    cl.wait_established()
    cl.wait_converged(family=family)
    n1, n2 = cl.nodes
    assert n1.host.pod_ns and n2.host.pod_ns
    # Server on node 1's borrowed address (exported as a /32 or /128); client from node 2's
    # block address (covered by its /26 or /122). Both directions need BIRD's routes.
    server_addr = n1.spec.borrowed4 if family == 4 else n1.spec.borrowed6
    client_addr = n2.spec.pod4 if family == 4 else n2.spec.pod6
    (lab.workdir / "www").mkdir()
    (lab.workdir / "www" / "hello.txt").write_text("hello from n1\n")
    lab.popen("http-n1", n1.host.pod_ns,
              ["python3", "-m", "http.server", "8080", "--bind", server_addr,
               "--directory", str(lab.workdir / "www")])
    host = server_addr if family == 4 else f"[{server_addr}]"
    url = f"http://{host}:8080/hello.txt"

    # The only routes between the nodes are BIRD's (proto bird) kernel routes.
    want = n1.spec.borrowed4 + "/32" if family == 4 else n1.spec.borrowed6 + "/128"
    kr = n2.kernel_routes(2 if family == 4 else 10)
    assert want in kr, kr

    def fetch() -> str:
        res = lab.run(n2.host.pod_ns, ["curl", "-sS", "-m", "3", "--interface", client_addr,
                                       url], timeout=10)
        return res.stdout if res.returncode == 0 else ""

    body = wait_for(fetch, 20, 0.5, f"HTTP {url} from {client_addr}")
    assert body == "hello from n1\n"
    log = (lab.workdir / "http-n1.log").read_text()
    assert client_addr in log, log
