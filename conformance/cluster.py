"""A Calico-like cluster around the reflector under test, and checks of the clients' views."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

import pytest

from conformance import configs
from conformance.daemons import CalicoNode, Reflector, Rib
from conformance.netns import Lab, wait_for

RR_ADDRS = ["10.250.0.1", "10.250.0.2", "10.250.0.3"]
FABRIC4 = "10.250.0.0/24"
FABRIC6 = "fd00:250::/64"


def v6_addr(last: int) -> str:
    return f"fd00:250::{last}"


def static_and_dynamic(gobgp_fails: str) -> pytest.MarkDecorator:
    """Run a test twice, with ``dynamic`` False (static neighbors) and True (a
    dynamic-neighbor range), the dynamic case marked as failing with GoBGP for ``gobgp_fails``."""
    return pytest.mark.parametrize("dynamic", [
        False,
        pytest.param(True, marks=pytest.mark.gobgp_fails(reason=gobgp_fails)),
    ], ids=["static", "dynamic"])


def node_spec(i: int, v6: bool = False) -> configs.NodeSpec:
    return configs.NodeSpec(name=f"n{i}", index=i, v4=f"10.250.0.{10 + i}",
                            v6=v6_addr(10 + i) if v6 else None)


class Client(Protocol):
    name: str

    @property
    def router_id(self) -> str: ...

    @property
    def address(self) -> str: ...

    def exported(self, family: int = 4) -> list[str]: ...

    def rib(self, family: int = 4) -> Rib: ...

    def established(self) -> int: ...


class Cluster:
    """Reflector(s) under test plus Calico nodes peering with each of them."""

    def __init__(self, lab: Lab, rr_kind: str, n: int, *, v6: bool = False,
                 dynamic: bool = False, rr_count: int = 1, password: str | None = None,
                 node_restart_time: int | None = None, rr_restart_time: int = 30,
                 add_paths_send: int = 0, cluster_id: str = configs.CLUSTER_ID,
                 extra: Sequence[configs.RRNeighbor] = ()) -> None:
        self.lab = lab
        self.rr_kind = rr_kind
        self.v6 = v6
        self.dynamic = dynamic
        self.password = password
        self.add_paths_send = add_paths_send
        self.specs = [node_spec(i, v6) for i in range(1, n + 1)]
        self.rrs: list[Reflector] = []
        for k in range(rr_count):
            addr = RR_ADDRS[k]
            cfg = configs.RRConfig(router_id=addr, cluster_id=cluster_id,
                                   restart_time=rr_restart_time)
            cfg = replace(cfg, neighbors=self.static_neighbors(self.specs) + tuple(extra),
                          dynamic=self.dynamic_ranges())
            rr = Reflector(lab, rr_kind, f"rr{k + 1}", addr, cfg,
                           v6=v6_addr(k + 1) if v6 else None)
            self.rrs.append(rr)
        peers4 = [configs.BirdPeer(address=rr.address, password=password,
                                   restart_time=node_restart_time) for rr in self.rrs]
        peers6 = [configs.BirdPeer(address=v6_addr(k + 1), password=password,
                                   restart_time=node_restart_time)
                  for k in range(rr_count)] if v6 else []
        self.nodes = [CalicoNode(lab, s, peers4, peers6) for s in self.specs]

    @property
    def rr(self) -> Reflector:
        return self.rrs[0]

    def families(self) -> tuple[str, ...]:
        return ("ipv4-unicast", "ipv6-unicast") if self.v6 else ("ipv4-unicast",)

    def static_neighbors(self, specs: Sequence[configs.NodeSpec]) -> tuple[configs.RRNeighbor, ...]:
        if self.dynamic:
            return ()
        out = [configs.RRNeighbor(address=s.v4, password=self.password,
                                  add_paths_send=self.add_paths_send) for s in specs]
        if self.v6:
            out += [configs.RRNeighbor(address=s.v6, password=self.password,
                                       families=("ipv6-unicast",),
                                       add_paths_send=self.add_paths_send)
                    for s in specs if s.v6]
        return tuple(out)

    def dynamic_ranges(self) -> tuple[configs.RRDynamic, ...]:
        if not self.dynamic:
            return ()
        out = [configs.RRDynamic(prefix=FABRIC4, group="calico", password=self.password)]
        if self.v6:
            out.append(configs.RRDynamic(prefix=FABRIC6, group="calico6",
                                         password=self.password, families=("ipv6-unicast",)))
        return tuple(out)

    def start(self, graceful_restart: bool = False) -> None:
        for rr in self.rrs:
            rr.start(graceful_restart=graceful_restart)
        for node in self.nodes:
            node.start()

    def wait_established(self, timeout: float = 60.0) -> None:
        want = len(self.rrs)
        for node in self.nodes:
            wait_for(lambda node=node: node.established() >= want, timeout, 0.25,
                     f"{node.name} sessions up")

    def wait_converged(self, timeout: float = 60.0, family: int = 4) -> None:
        wait_converged(self.nodes, self.nodes, [self.rrs[0].cfg.cluster_id], timeout, family)

    def start_converged(self, timeout: float = 60.0) -> None:
        """Start everything, then wait (up to ``timeout`` each) for every node's sessions and
        for IPv4 convergence."""
        self.start()
        self.wait_established(timeout)
        self.wait_converged(timeout)

    def mesh_problems(self) -> list[str]:
        """What is wrong with the nodes' full mesh (empty: all good): each node's kernel needs
        a route via every other node to that node's IPv4 blocks, and its own routes must not
        come back to it as best (expected_problems)."""
        problems: list[str] = []
        for node in self.nodes:
            kroutes = node.kernel_routes()
            for other in self.nodes:
                if other is node:
                    continue
                for prefix in other.exported(4):
                    if prefix not in kroutes:
                        problems.append(f"{node.name}: no kernel route for {prefix}")
                    elif kroutes[prefix]["gateway"] != other.address:
                        problems.append(f"{node.name}: kernel route {prefix} via "
                                        f"{kroutes[prefix]['gateway']} != {other.address}")
            problems += expected_problems(node, [node], [configs.CLUSTER_ID])
        return problems


def expected_problems(viewer: Client, origins: Sequence[Client], cluster_list: list[str],
                      family: int = 4, rib: Rib | None = None) -> list[str]:
    """What is wrong with ``viewer``'s view of the routes of ``origins`` (empty: all good)."""
    rib = viewer.rib(family) if rib is None else rib
    problems: list[str] = []
    for origin in origins:
        if origin is viewer:
            for prefix in origin.exported(family):
                for p in rib.get(prefix, []):
                    if p.best and p.source and p.originator_id == viewer.router_id:
                        problems.append(f"{viewer.name}: own route {prefix} back as best")
            continue
        nh = origin.address if family == 4 else getattr(getattr(origin, "spec", None), "v6", None)
        for prefix in origin.exported(family):
            paths = [p for p in rib.get(prefix, []) if p.source]
            if not paths:
                problems.append(f"{viewer.name}: missing {prefix} of {origin.name}")
                continue
            best = paths[0]
            if best.next_hop != nh:
                problems.append(f"{viewer.name}: {prefix} next hop {best.next_hop} != {nh}")
            if best.originator_id is not None and best.originator_id != origin.router_id:
                problems.append(f"{viewer.name}: {prefix} originator {best.originator_id}"
                                f" != {origin.router_id}")
            if best.originator_id is None and hasattr(origin, "spec"):
                problems.append(f"{viewer.name}: {prefix} has no ORIGINATOR_ID")
            if hasattr(origin, "spec") and best.cluster_list != cluster_list:
                problems.append(f"{viewer.name}: {prefix} cluster list {best.cluster_list}"
                                f" != {cluster_list}")
            if best.local_pref not in (None, 100):
                problems.append(f"{viewer.name}: {prefix} local_pref {best.local_pref}")
            if best.med not in (None, 0):
                problems.append(f"{viewer.name}: {prefix} med {best.med}")
            if best.as_path.strip():
                problems.append(f"{viewer.name}: {prefix} as_path {best.as_path!r}")
    return problems


def wait_converged(viewers: Sequence[Client], origins: Sequence[Client],
                   cluster_list: list[str], timeout: float = 60.0, family: int = 4,
                   settle: float = 6.0) -> None:
    last: list[str] = []

    def ok() -> bool:
        nonlocal last
        last = []
        for v in viewers:
            last += expected_problems(v, origins, cluster_list, family)
        return not last

    present_since: list[float] = []

    def done() -> bool:
        if ok():
            return True
        # Every route is there but some attribute is wrong: that will not heal, fail fast.
        if not any(" missing " in p for p in last):
            present_since.append(time.monotonic())
            if present_since[-1] - present_since[0] > settle:
                raise AssertionError(f"routes present but wrong: {last[:20]}")
        else:
            present_since.clear()
        return False

    try:
        wait_for(done, timeout, 0.5, "convergence")
    except TimeoutError as exc:
        raise AssertionError(f"not converged after {timeout}s: {last[:20]}") from exc


def dump(clients: Sequence[Any], family: int = 4) -> str:
    out = []
    for c in clients:
        rib = c.rib(family)
        for prefix, paths in sorted(rib.items()):
            for p in paths:
                out.append(f"{c.name} {prefix} nh={p.next_hop} best={p.best} "
                           f"orig={p.originator_id} cl={p.cluster_list} src={p.source}")
    return "\n".join(out)


def prefixes_of(clients: Sequence[Client], family: int = 4) -> set[str]:
    out: set[str] = set()
    for c in clients:
        out.update(c.exported(family))
    return out


def bgp_prefixes(client: Client, family: int = 4) -> set[str]:
    """Prefixes ``client`` has at least one BGP path for."""
    return {k for k, paths in client.rib(family).items() if any(p.source for p in paths)}


CLIENT_KINDS = ("bird2", "gobgp", "frr")


def make_client(lab: Lab, kind: str, k: int, peers: Sequence[str], *,
                password: str | None = None, add_paths: str = "rx",
                statics: Sequence[str] | None = None) -> Any:
    """Client ``k`` (1..) of ``kind`` at 10.250.0.(100+k), announcing 10.244.(100+k).0/26."""
    from conformance.daemons import Bird2Client, FrrClient, GobgpClient

    addr = f"10.250.0.{100 + k}"
    nets = list(statics) if statics is not None else [f"10.244.{100 + k}.0/26"]
    name = f"{kind}{k}"
    if kind == "bird2":
        return Bird2Client(lab, name, addr, peers, nets, add_paths=add_paths,
                           password=password)
    if kind == "gobgp":
        return GobgpClient(lab, name, addr, peers, nets, password=password)
    if kind == "frr":
        return FrrClient(lab, name, addr, peers, nets, password=password)
    raise ValueError(kind)
