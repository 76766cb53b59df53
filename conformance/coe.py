"""Two container orchestrators (COEs) around bgprr: the topology of docs/router.md.

Fabric 10.250.0.0/24 (one bridge): bgprr at .1, COE A's nodes a1..a3 at .11-.13 (AS 64511,
pod blocks from 192.168.0.0/17), COE B's nodes b1..b3 at .21-.23 (AS 64512, blocks from
192.168.128.0/17). Every node runs BIRD 1.6 with Calico's configuration
(``configs.bird_node_conf``), peers with bgprr only, and has one pod (a namespace behind a
veth pair) with an address in its block and a borrowed /32. COE A's nodes also announce
the service CIDR. With ``upstream``: an FRR router (AS 65000) on its own link to bgprr
(10.251.0.0/24), and behind it a namespace ``ext`` (10.252.0.0/24).

bgprr reads the shipped ``examples/router/*.toml`` as they are; the FRR router reads
``examples/router/frr.conf``; ``examples/router/bird-a1.conf`` and ``bird-b1.conf`` are what
``node_conf`` writes for a1 and b1 (``test_router.py`` checks both).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import configs
from conformance.daemons import BirdDaemon, FrrClient, Reflector, Rib, bgprr_executable
from conformance.netns import Host, Lab, wait_for

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "router"

RR, RR_UP = "10.250.0.1", "10.251.0.1"  # bgprr on the fabric, on the upstream link
UP, UP_EXT, EXT = "10.251.0.2", "10.252.0.1", "10.252.0.2"
EXT_NET = "10.252.0.0/24"
DEFAULT = "0.0.0.0/0"
RR_AS, UP_AS = 64600, 65000
SERVICE = "10.96.0.0/12"
PROTO_BGP = 186  # the kernel protocol of bgprr's routes and of FRR zebra's BGP routes
PROTO_BIRD = 12
HTTP_PORT = 8080


@dataclass(frozen=True, slots=True, kw_only=True)
class CoeNodeSpec(configs.NodeSpec):
    """A node of a COE: block ``192.168.(base+i).0/26``, borrowed ``192.168.(base+100).i``."""

    base: int

    @property
    def block4(self) -> str:
        return f"192.168.{self.base + self.index}.0/26"

    @property
    def pod4(self) -> str:
        return f"192.168.{self.base + self.index}.2"

    @property
    def borrowed4(self) -> str:
        return f"192.168.{self.base + 100}.{self.index}"


@dataclass(frozen=True, slots=True)
class Coe:
    name: str
    asn: int
    pool: str
    base: int  # third octet the blocks start from
    first: int  # last octet of the first node's address
    community: str  # what bgprr's export policy tags its blocks with towards the upstream
    service: bool  # its nodes announce the service CIDR

    def specs(self, n: int = 3) -> list[CoeNodeSpec]:
        return [
            CoeNodeSpec(
                name=f"{self.name}{i}", index=i, v4=f"10.250.0.{self.first + i - 1}", base=self.base
            )
            for i in range(1, n + 1)
        ]


COE_A = Coe("a", 64511, "192.168.0.0/17", 0, 11, f"{RR_AS}:64511", True)
COE_B = Coe("b", 64512, "192.168.128.0/17", 128, 21, f"{RR_AS}:64512", False)


def node_conf(coe: Coe, spec: CoeNodeSpec) -> str:
    """Calico's BIRD 1.6 configuration of ``spec``: one global peer, bgprr."""
    return configs.bird_node_conf(
        spec,
        [configs.BirdPeer(address=RR, asn=RR_AS)],
        asn=coe.asn,
        pool4=coe.pool,
        extra_static=[SERVICE] if coe.service else (),
    )


class CoeNode:
    """One node: its namespace, its pod and its BIRD."""

    def __init__(self, lab: Lab, coe: Coe, spec: CoeNodeSpec) -> None:
        self.lab = lab
        self.coe = coe
        self.spec = spec
        self.host = lab.add_host(spec.name, spec.v4, None)
        self.pod_ns = lab.add_pod(self.host, [spec.pod4, spec.borrowed4])
        self.bird = BirdDaemon(
            lab, self.host, f"{spec.name}-bird", node_conf(coe, spec), args=["-R"]
        )

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def address(self) -> str:
        return self.spec.v4

    def exported(self) -> list[str]:
        return self.spec.exported(4) + ([SERVICE] if self.coe.service else [])

    def rib(self) -> Rib:
        """Routes learned over BGP: those with a next hop (BIRD shows no "from" for a
        path whose next hop is the neighbor itself)."""
        out: Rib = {}
        for prefix, paths in self.bird.rib().items():
            learned = [p for p in paths if p.next_hop is not None]
            if learned:
                out[prefix] = learned
        return out

    def established(self) -> int:
        return self.bird.established()

    def kernel_routes(self) -> dict[str, dict[str, Any]]:
        return self.lab.routes(self.host.ns, proto=PROTO_BIRD)


class Topology:
    """bgprr with ``rr_conf``, both COEs and, with ``upstream``, the FRR router and ext."""

    def __init__(self, lab: Lab, rr_conf: Path, *, upstream: bool) -> None:
        self.lab = lab
        self.rr = Reflector(lab, "bgprr", "rr", RR, configs.RRConfig(router_id=RR))
        self.rr.conf_path.write_text(rr_conf.read_text())
        self.a = [CoeNode(lab, COE_A, s) for s in COE_A.specs()]
        self.b = [CoeNode(lab, COE_B, s) for s in COE_B.specs()]
        self.up: FrrClient | None = None
        self.ext: Host | None = None
        if upstream:
            router = lab.add_router("up")
            self.ext = lab.add_router("ext")
            lab.add_link(self.rr.host, "eth1", RR_UP, router, "eth0", UP)
            lab.add_link(router, "eth1", UP_EXT, self.ext, "eth0", EXT)
            lab.run(self.ext.ns, ["ip", "route", "add", "default", "via", UP_EXT], check=True)
            self.up = FrrClient(lab, "up", UP, [RR_UP], [EXT_NET, DEFAULT])
            self.up.conf_path.write_text((EXAMPLES / "frr.conf").read_text())

    @property
    def nodes(self) -> list[CoeNode]:
        return self.a + self.b

    def start(self, timeout: float = 60) -> None:
        self.rr.start()
        for n in self.nodes:
            n.bird.start()
        if self.up is not None:
            self.up.start()
        self.wait_established(timeout)

    def wait_established(self, timeout: float = 60) -> None:
        for n in self.nodes:
            wait_for(lambda n=n: n.established() == 1, timeout, 0.25, f"{n.name} up")
        if self.up is not None:
            up = self.up
            wait_for(lambda: up.established() == 1, timeout, 0.25, "upstream up")

    def rr_kernel(self) -> dict[str, dict[str, Any]]:
        """bgprr's kernel routes in its namespace."""
        return self.lab.routes(self.rr.host.ns, proto=PROTO_BGP)

    def rr_restart_done(self) -> bool:
        """bgprr's readiness says its graceful restart is over: End-of-RIB from every
        neighbor (or the deferral time passed), its kernel routes written, its tables and
        End-of-RIB sent (docs/api.md, Readiness)."""
        exe = bgprr_executable()
        assert exe is not None
        sock = str(self.lab.workdir / f"{self.rr.name}.sock")
        res = self.lab.run(self.rr.host.ns, [exe, "--api-socket", sock, "global", "--json"])
        if res.returncode != 0:
            return False
        ready = json.loads(res.stdout).get("readiness") or {}
        restart = ready.get("restart") or {}
        return bool(ready.get("ready")) and restart.get("phase") == "done"

    # -- HTTP -------------------------------------------------------------------------------

    def serve(self, node: CoeNode) -> str:
        """An HTTP server in ``node``'s pod; returns the URL of a page naming the node."""
        www = self.lab.workdir / f"www-{node.name}"
        www.mkdir(exist_ok=True)
        (www / "who").write_text(f"pod of {node.name}\n")
        self.lab.popen(
            f"http-{node.name}",
            node.pod_ns,
            [
                "python3",
                "-m",
                "http.server",
                str(HTTP_PORT),
                "--bind",
                node.spec.pod4,
                "--directory",
                str(www),
            ],
        )
        return f"http://{node.spec.pod4}:{HTTP_PORT}/who"

    def fetch(self, ns: str, url: str, source: str | None = None) -> str:
        argv = ["curl", "-sS", "-m", "3", *(("--interface", source) if source else ()), url]
        res = self.lab.run(ns, argv, timeout=10)
        return res.stdout if res.returncode == 0 else ""

    def wait_http(
        self, ns: str, url: str, want: str, source: str | None = None, timeout: float = 20
    ) -> None:
        wait_for(
            lambda: self.fetch(ns, url, source) == want,
            timeout,
            0.5,
            f"HTTP {url} from {source or ns}",
        )


def frr_paths(up: FrrClient, prefix: str) -> list[dict[str, Any]]:
    """FRR's paths of ``prefix`` as ``{"as_path", "next_hop", "communities"}``."""
    data = up.vtysh_json(f"show bgp ipv4 unicast {prefix} json") or {}
    out = []
    for p in data.get("paths", []):
        nhs = [n.get("ip") for n in p.get("nexthops", [])]
        out.append(
            {
                "as_path": str((p.get("aspath") or {}).get("string", "")),
                "next_hop": nhs[0] if nhs else None,
                "communities": str((p.get("community") or {}).get("string", "")).split(),
            }
        )
    return out
