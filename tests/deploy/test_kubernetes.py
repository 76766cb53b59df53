"""deploy/kubernetes: every object validates against its schema (Kubernetes' for core
objects, Calico's CRDs for Calico's), the kustomizations render what they list, each
reflector configuration loads in bgprr, and the pieces agree with each other (ports,
AS numbers, addresses, restart and grace times). docs/kubernetes.md describes them."""

from __future__ import annotations

import copy
import ipaddress
import os
import re
from pathlib import Path
from typing import Any

import pytest

from bgprr.config import Config, load_config_text, neighbor_for_dynamic
from tests.deploy.manifests import (
    CALICO_API,
    DEPLOY,
    CalicoSchemas,
    Obj,
    expected_objects,
    k8s_errors,
    kustomization,
    kustomization_dirs,
    kustomize_command,
    load_docs,
    manifest_files,
    missing_paths,
    patch_targets,
    peer_address,
    render,
)

CALICO = CalicoSchemas()
ROUTER_IP = "172.16.18.31"
# (reflector kustomization, its Calico objects): the base pair and the two examples.
SETUPS = {
    "pair": (DEPLOY, DEPLOY / "calico"),
    "racks": (DEPLOY / "examples/racks", DEPLOY / "examples/racks/calico"),
    "hierarchy": (DEPLOY / "examples/hierarchy", DEPLOY / "examples/hierarchy/calico"),
}


def errors_of(obj: Obj) -> list[str]:
    return CALICO.errors(obj) if obj.get("apiVersion") == CALICO_API else k8s_errors(obj)


def _docs() -> list[Any]:
    return [pytest.param(f, i, id=f"{f.relative_to(DEPLOY)}#{i}")
            for f in manifest_files() for i in range(len(load_docs(f)))]


def _rel(p: Path) -> str:
    return str(p.relative_to(DEPLOY)) or "."


def _objects(path: Path, kind: str) -> list[Obj]:
    return [d for f in sorted(path.rglob("*.yaml")) if f.name != "kustomization.yaml"
            for d in load_docs(f) if d.get("kind") == kind]


def _rr_toml(cm: Obj, router_ip: str = ROUTER_IP) -> Config:
    """The ConfigMap's rr.toml as bgprr loads it, with its own templating, in a pod whose
    ROUTER_IP is router_ip."""
    text, env = cm["data"]["rr.toml"], {"ROUTER_IP": router_ip}
    return load_config_text(text, "toml", f"ConfigMap {cm['metadata']['name']}", env=env)


# -- schemas ------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "index"), _docs())
def test_object_validates(path: Path, index: int) -> None:
    obj = load_docs(path)[index]
    assert errors_of(obj) == []


def test_every_cel_rule_of_the_calico_crds_is_checked() -> None:
    assert CALICO.unknown_cel_rules() == []


def _set_in(obj: Obj, dotted: str, value: Any) -> Obj:
    out = copy.deepcopy(obj)
    *path, last = dotted.split(".")
    cur = out
    for key in path:
        cur = cur[key]
    cur[last] = value
    return out


NEGATIVE = [
    ("reflector/statefulset.yaml", 0, "spec.template.spec.terminationGracePeriod", 30),
    ("reflector/statefulset.yaml", 0, "spec.replicas", "two"),
    ("reflector/statefulset.yaml", 0, "spec.template.spec.hostNetwork", "yes"),
    ("reflector/poddisruptionbudget.yaml", 0, "spec.minAvailabe", 1),
    ("calico/bgppeers.yaml", 0, "spec.peerIp", "172.16.18.31"),
    ("calico/bgppeers.yaml", 0, "spec.peerSelector", "has(bgprr.io/route-reflector)"),
    ("calico/bgppeers.yaml", 0, "spec.peerIP", "172.16.18.310"),
    ("calico/bgpconfiguration.yaml", 0, "spec.nodeToNodeMeshEnabled", "false"),
    ("calico/bgpconfiguration.yaml", 0, "spec.nodeMeshMaxRestartTime", "120s"),
    ("calico/reflector-nodes.yaml", 0, "spec.asNumber", 64511),
    ("calico/reflector-nodes.yaml", 0, "spec.listenPort", 70000),
]


@pytest.mark.parametrize(("file", "index", "field", "value"), NEGATIVE,
                         ids=[f"{f}:{k}={v}" for f, _, k, v in NEGATIVE])
def test_a_wrong_field_fails(file: str, index: int, field: str, value: Any) -> None:
    good = load_docs(DEPLOY / file)[index]
    assert errors_of(good) == []
    assert errors_of(_set_in(good, field, value)) != []


# -- kustomizations -----------------------------------------------------------------------

@pytest.mark.parametrize("kdir", kustomization_dirs(), ids=_rel)
def test_kustomization_entries_exist(kdir: Path) -> None:
    assert missing_paths(kdir) == []
    k = kustomization(kdir)
    unsuffixed = [(kind, name.removesuffix(k.get("nameSuffix", "")))
                  for kind, name in expected_objects(kdir)]
    for target in patch_targets(kdir):
        assert target in unsuffixed, f"patch of {target}, which {_rel(kdir)} does not have"


@pytest.mark.parametrize("kdir", kustomization_dirs(), ids=_rel)
def test_kustomize_renders_the_listed_objects(kdir: Path) -> None:
    command = kustomize_command()
    if command is None:
        if os.environ.get("CI"):  # the test extra installs kubectl: CI must render
            pytest.fail("neither kustomize nor kubectl is installed")
        pytest.skip("neither kustomize nor kubectl is installed")
    rendered = render(kdir, command)
    got = sorted((d["kind"], d["metadata"]["name"]) for d in rendered)
    assert got == sorted(expected_objects(kdir))
    for obj in rendered:
        assert errors_of(obj) == [], (obj["kind"], obj["metadata"]["name"])
    namespace = kustomization(kdir).get("namespace")
    for obj in rendered:
        if namespace and obj["kind"] not in ("Namespace",) and obj["apiVersion"] != CALICO_API:
            assert obj["metadata"].get("namespace") == namespace, obj["metadata"]


# -- the reflector pods -------------------------------------------------------------------

def _pair(kdir: Path) -> tuple[Obj, Obj, Obj]:
    """The StatefulSet, PodDisruptionBudget and ConfigMap of the base pair."""
    (sts,) = _objects(kdir / "reflector", "StatefulSet")
    (pdb,) = _objects(kdir / "reflector", "PodDisruptionBudget")
    (cm,) = _objects(kdir / "reflector", "ConfigMap")
    return sts, pdb, cm


def _flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_reflector_pod_spec() -> None:
    sts, pdb, cm = _pair(DEPLOY)
    pod = sts["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    args = c["args"]
    assert sts["spec"]["replicas"] == 2
    assert pod["hostNetwork"] is True
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= \
        sts["spec"]["template"]["metadata"]["labels"].items()
    env = {e["name"]: e for e in c["env"]}
    assert env["ROUTER_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"
    assert "--graceful-restart" in args or "-r" in args
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    state = _flag(args, "--state-dir")
    (state_vol,) = [n for n, p in mounts.items() if p == state]
    assert volumes[state_vol]["hostPath"]["path"] == "/var/lib/bgprr"
    config = _flag(args, "--config")
    (config_vol,) = [n for n, p in mounts.items() if p == os.path.dirname(config)]
    assert volumes[config_vol]["configMap"]["name"] == cm["metadata"]["name"]
    assert os.path.basename(config) in cm["data"]
    # The control socket, on a writable volume under the read-only root.
    sock_vol = [n for n, p in mounts.items() if p == os.path.dirname(_flag(args, "--api-socket"))]
    assert len(sock_vol) == 1 and "emptyDir" in volumes[sock_vol[0]]
    sec = c["securityContext"]
    assert sec["readOnlyRootFilesystem"] is True
    # The file capability reaches bgprr through tini only without no_new_privs.
    assert sec["allowPrivilegeEscalation"] is True
    assert sec["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    # Probes ask the daemon's own health server, on the address it serves.
    http = _flag(args, "--http")
    assert c["livenessProbe"]["exec"]["command"] == ["bgprr", "health", "--http", http]
    assert c["readinessProbe"]["exec"]["command"] == ["bgprr", "health", "--http", http,
                                                      "--ready"]
    assert ipaddress.ip_address(http.rsplit(":", 1)[0]).is_loopback
    # One replica at a time, and one always up.
    assert sts["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == 1
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]


def test_pod_command_lines_parse() -> None:
    """The daemon's arguments and the probes' command lines are what bgprr's CLI accepts
    (an unknown or misspelled option is a usage error)."""
    from bgprr.cli import main

    sts, _, _ = _pair(DEPLOY)
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    params = main.make_context("bgprr", list(c["args"])).params
    assert params["graceful_restart"] is True
    assert params["http"] == _flag(c["args"], "--http")
    for probe, ready in ((c["livenessProbe"], False), (c["readinessProbe"], True)):
        bgprr, sub, *argv = probe["exec"]["command"]
        assert (bgprr, sub) == ("bgprr", "health")
        health = main.commands["health"].make_context("health", argv)
        assert health.params["ready"] is ready
        # The probe gives up by itself before the kubelet's timeout.
        assert health.params["timeout"] < probe["timeoutSeconds"]


def test_grace_period_fits_in_the_restart_time() -> None:
    """A replaced reflector pod must be back (old pod's grace period, then the new pod's
    start) well inside the restart time it advertised, or its clients flush its routes."""
    sts, _, cm = _pair(DEPLOY)
    config = _rr_toml(cm)
    grace = sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    (node_range,) = config.dynamic_neighbors
    client = neighbor_for_dynamic(config, str(ipaddress.ip_network(node_range.prefix)[7]))
    assert client is not None and client.graceful_restart.enabled
    assert grace * 2 <= client.graceful_restart.restart_time


def _configmaps() -> list[Any]:
    return [pytest.param(cm, id=_rel(f)) for f in manifest_files() for cm in load_docs(f)
            if cm["kind"] == "ConfigMap" and "rr.toml" in cm.get("data", {})]


@pytest.mark.parametrize("cm", _configmaps())
def test_reflector_config_loads(cm: Obj) -> None:
    config = _rr_toml(cm)
    assert config.global_.router_id == ROUTER_IP
    assert "${" not in cm["data"]["rr.toml"].replace("${ROUTER_IP}", "")
    clients = [n for n in config.neighbors if n.rr_client]
    clients += [n for d in config.dynamic_neighbors
                if (n := neighbor_for_dynamic(config, str(ipaddress.ip_network(d.prefix)[7])))
                and n.rr_client]
    assert clients
    # One cluster id for the pair, written out (the default would be each pod's router id).
    assert {n.cluster_id for n in clients} - {None} and len({n.cluster_id for n in clients}) == 1
    assert all(n.graceful_restart.enabled for n in [*config.neighbors, *clients])


# -- Calico objects against the reflectors ------------------------------------------------

_RACK = re.compile(r"^bgprr\.io/rack == '(?P<rack>[^']+)'$")


def _pairs(kdir: Path) -> dict[str | None, Config]:
    """The reflector configuration of each pair, by the rack label its pods are placed by."""
    if (kdir / "reflector").is_dir():
        return {None: _rr_toml(_pair(kdir)[2])}
    out: dict[str | None, Config] = {}
    for sub in sorted(p for p in kdir.iterdir() if (p / "placement-patch.yaml").exists()):
        (patch,) = load_docs(sub / "placement-patch.yaml")
        rack = patch["spec"]["template"]["spec"]["nodeSelector"]["bgprr.io/rack"]
        (cm,) = load_docs(sub / "rr-toml.yaml")
        out[rack] = _rr_toml(cm)
    return out


def _in_range(config: Config, address: str) -> bool:
    addr = ipaddress.ip_address(address)
    return any(addr in ipaddress.ip_network(d.prefix) for d in config.dynamic_neighbors)


def calico_problems(pairs: dict[str | None, Config], calico: list[Obj]) -> list[str]:
    """What is wrong between the Calico objects and the reflectors they point at."""
    problems: list[str] = []
    confs = list(pairs.values())
    configs = [c for c in calico if c["kind"] == "BGPConfiguration"]
    peers = [c for c in calico if c["kind"] == "BGPPeer"]
    default = [c for c in configs if c["metadata"]["name"] == "default"]
    if len(default) != 1 or default[0]["spec"].get("nodeToNodeMeshEnabled") is not False:
        problems.append("no default BGPConfiguration with nodeToNodeMeshEnabled: false")
        return problems
    asn = default[0]["spec"]["asNumber"]
    if {c.global_.asn for c in confs} != {asn}:
        problems.append(f"AS {asn} in Calico, {[c.global_.asn for c in confs]} in rr.toml")
    moved = [c for c in configs if c["metadata"]["name"].startswith("node.")]
    ports = {x.global_.port for x in confs}
    problems += [f"{c['metadata']['name']}: BIRD moved onto the reflectors' port"
                 for c in moved if c["spec"].get("listenPort") in ports]
    peer_ips: set[str] = set()
    for peer in peers:
        name, spec = peer["metadata"]["name"], peer["spec"]
        address, port = peer_address(spec["peerIP"])
        selector = spec.get("nodeSelector")
        m = _RACK.match(selector) if selector else None
        rack = m["rack"] if m else None
        conf = pairs.get(rack)
        if conf is None:
            problems.append(f"{name}: no reflector pair for nodeSelector {selector!r}")
            continue
        if spec.get("asNumber") != asn:
            problems.append(f"{name}: asNumber {spec.get('asNumber')} != {asn}")
        # Without a port in peerIP, Calico uses the listenPort of the Calico node that has
        # the address: the reflector node's own BIRD, once moved.
        if moved and ":" not in spec["peerIP"]:
            problems.append(f"{name}: peerIP without a port goes to the moved BIRD")
        elif port != conf.global_.port:
            problems.append(f"{name}: port {port}, the reflectors listen on {conf.global_.port}")
        # The reflector's own node is in its rack: the pair accepts it as a client (the
        # node peers with the other reflector of the pair).
        if not _in_range(conf, address):
            problems.append(f"{name}: {address} outside the pair's node ranges")
        peer_ips.add(address)
    # Two reflectors per pair, each named by a BGPPeer, and BIRD moved on each node.
    if not len(peer_ips) == len(peers) == 2 * len(pairs) == len(moved):
        problems.append(f"{len(peers)} BGPPeers, {len(peer_ips)} addresses, {len(moved)} "
                        f"nodes with BIRD moved, for {len(pairs)} pairs")
    # Reflector-to-reflector sessions (meshed pairs, or pairs under a top pair) point at
    # addresses the BGPPeers name; one cluster id per pair, distinct between pairs.
    for conf in confs:
        stray = {n.address for n in conf.neighbors} - peer_ips
        if stray:
            problems.append(f"rr.toml neighbors {sorted(stray)} are no reflector")
    cluster_ids = {n.cluster_id for c in confs for d in c.dynamic_neighbors
                   if (n := neighbor_for_dynamic(c, str(ipaddress.ip_network(d.prefix)[7])))}
    if len(cluster_ids) != len(confs):
        problems.append(f"cluster ids {sorted(map(str, cluster_ids))} for {len(confs)} pairs")
    return problems


def _calico(cdir: Path) -> list[Obj]:
    return [d for f in sorted(cdir.glob("*.yaml")) if f.name != "kustomization.yaml"
            for d in load_docs(f)]


@pytest.mark.parametrize("setup", list(SETUPS))
def test_calico_objects_point_at_the_reflectors(setup: str) -> None:
    kdir, cdir = SETUPS[setup]
    assert calico_problems(_pairs(kdir), _calico(cdir)) == []


def _without_port(obj: Obj) -> Obj:
    if obj["kind"] != "BGPPeer":
        return obj
    return _set_in(obj, "spec.peerIP", peer_address(obj["spec"]["peerIP"])[0])


BROKEN = {
    "peerIP without a port": lambda objs: [_without_port(o) for o in objs],
    "mesh left on": lambda objs: [_set_in(o, "spec.nodeToNodeMeshEnabled", True)
                                  if o["metadata"]["name"] == "default" else o for o in objs],
    "BIRD moved onto 179": lambda objs: [_set_in(o, "spec.listenPort", 179)
                                         if o["metadata"]["name"].startswith("node.") else o
                                         for o in objs],
    "a reflector node left out": lambda objs: [o for o in objs
                                               if o["metadata"]["name"] != "bgprr-2"],
    "peer outside the node range": lambda objs: [
        _set_in(o, "spec.peerIP", "10.9.9.9:179") if o["metadata"]["name"] == "bgprr-1"
        else o for o in objs],
}


@pytest.mark.parametrize("how", list(BROKEN))
def test_broken_calico_objects_fail(how: str) -> None:
    kdir, cdir = SETUPS["pair"]
    assert calico_problems(_pairs(kdir), BROKEN[how](_calico(cdir))) != []
