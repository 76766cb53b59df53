"""Checks of the Kubernetes manifests in deploy/kubernetes, used by test_kubernetes.py.

* Kubernetes objects: ``kubernetes-validate`` (the API's JSON schemas, shipped in the
  package, strict: an unknown field is an error, as with ``kubectl apply``).
* Calico objects (projectcalico.org/v3): the ``openAPIV3Schema`` of Calico's own CRDs
  (``calico-crds/``, vendored), made strict the same way, plus the CRDs' CEL rules and the
  rules Calico documents for node-specific BGPConfiguration, restated here.
* Kustomizations: the files they name exist, and what they should render (kind, name).
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
CRDS = Path(__file__).resolve().parent / "calico-crds"
CALICO_API = "projectcalico.org/v3"
# The oldest Kubernetes the manifests are meant for, and the newest the package knows.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())

Obj = dict[str, Any]


def load_docs(path: Path) -> list[Obj]:
    with path.open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d is not None]


def manifest_files() -> list[Path]:
    """Every file of whole objects: kustomizations and partial patches left out."""
    return sorted(p for p in DEPLOY.rglob("*.yaml")
                  if p.name != "kustomization.yaml" and not p.name.endswith("-patch.yaml"))


def kustomization_dirs() -> list[Path]:
    return sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml"))


# -- Kubernetes objects -------------------------------------------------------------------

def k8s_errors(obj: Obj) -> list[str]:
    """Schema errors of a Kubernetes object, for every version of K8S_VERSIONS."""
    errors = []
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"Kubernetes {version}: {exc.message} at {list(exc.path)}")
    return errors


# -- Calico objects -----------------------------------------------------------------------

def _strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever it lists the known ones."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def _cel_messages(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for rule in schema.get("x-kubernetes-validations", []):
            yield " ".join(str(rule["message"]).split())
        for value in schema.values():
            yield from _cel_messages(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _cel_messages(value)


Spec = dict[str, Any]


def _set(spec: Spec, key: str) -> bool:
    value = spec.get(key)
    return value not in (None, "", 0, [], {})


def _both(a: str, b: str) -> Callable[[Spec], bool]:
    return lambda s: not (_set(s, a) and _set(s, b))


# The CRDs' CEL rules, by message: each predicate is True when the spec passes the rule.
CEL_RULES: dict[str, dict[str, Callable[[Spec], bool]]] = {
    "BGPConfiguration": {
        "nodeMeshPassword cannot be set when nodeToNodeMeshEnabled is false":
            lambda s: not (_set(s, "nodeMeshPassword") and s.get("nodeToNodeMeshEnabled") is False),
        "nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false":
            lambda s: not (_set(s, "nodeMeshMaxRestartTime")
                           and s.get("nodeToNodeMeshEnabled") is False),
        "communities are defined but not used in prefixAdvertisements":
            lambda s: not (_set(s, "communities") and not _set(s, "prefixAdvertisements")),
    },
    "BGPPeer": {
        "node and nodeSelector cannot both be set": _both("node", "nodeSelector"),
        "peerIP and peerSelector cannot both be set": _both("peerIP", "peerSelector"),
        "asNumber must be empty when peerSelector is set": _both("peerSelector", "asNumber"),
        "peerIP must be empty when localWorkloadSelector is set":
            _both("localWorkloadSelector", "peerIP"),
        "peerSelector must be empty when localWorkloadSelector is set":
            _both("localWorkloadSelector", "peerSelector"),
        "asNumber is required when localWorkloadSelector is set":
            lambda s: not _set(s, "localWorkloadSelector") or _set(s, "asNumber"),
        "reachableBy must be empty when peerIP is empty":
            lambda s: not _set(s, "reachableBy") or _set(s, "peerIP"),
        "keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is "
        "deprecated, use nextHopMode instead":
            lambda s: not (s.get("keepOriginalNextHop") and "nextHopMode" in s),
    },
}

# Calico's docs (BGPConfiguration reference): "The resources with the name node.<nodename>
# contain the node-specific overrides ... Only prefixAdvertisements, listenPort, and
# logSeverityScreen can be overridden this way."
NODE_SPECIFIC_FIELDS = frozenset({"prefixAdvertisements", "listenPort", "logSeverityScreen"})
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class CalicoSchemas:
    """The v3 schema of each vendored Calico CRD, by kind."""

    def __init__(self, crd_dir: Path = CRDS) -> None:
        self.schemas: dict[str, Obj] = {}
        self.cel: dict[str, list[str]] = {}
        for path in sorted(crd_dir.glob("*.yaml")):
            (crd,) = load_docs(path)
            kind = crd["spec"]["names"]["kind"]
            (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v3"]
            schema = version["schema"]["openAPIV3Schema"]
            self.schemas[kind] = _strict(schema)
            self.cel[kind] = list(_cel_messages(schema))

    def unknown_cel_rules(self) -> list[str]:
        return [f"{kind}: {m}" for kind, msgs in self.cel.items() for m in msgs
                if m not in CEL_RULES.get(kind, {})]

    def errors(self, obj: Obj) -> list[str]:
        kind = obj.get("kind", "")
        if obj.get("apiVersion") != CALICO_API or kind not in self.schemas:
            return [f"not a known Calico object: {obj.get('apiVersion')} {kind}"]
        validator = jsonschema.Draft202012Validator(self.schemas[kind])
        errors = [f"{e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(obj)]
        meta = obj.get("metadata", {})
        name = str(meta.get("name", ""))
        if not NAME.match(name):
            errors.append(f"metadata.name {name!r} is not a valid object name")
        unexpected = sorted(set(meta) - {"name", "labels", "annotations"})
        if unexpected:
            errors.append(f"metadata: unexpected {unexpected}")
        spec = obj.get("spec", {})
        if isinstance(spec, dict):
            rules = CEL_RULES.get(kind, {})
            errors += [f"CEL rule: {m}" for m, ok in rules.items() if not ok(spec)]
            if kind == "BGPConfiguration" and name.startswith("node."):
                extra = set(spec) - NODE_SPECIFIC_FIELDS
                if extra:
                    errors.append(f"node-specific BGPConfiguration {name} sets {sorted(extra)}")
            if kind == "BGPPeer" and _set(spec, "peerIP"):
                errors += _peer_ip_errors(str(spec["peerIP"]))
        return errors


def peer_address(value: str) -> tuple[str, int]:
    """(address, port) of a peerIP: an address, `IPv4:port` or `[IPv6]:port`."""
    m = re.fullmatch(r"\[(?P<v6>[^\]]+)\]:(?P<p6>\d+)|(?P<v4>[\d.]+):(?P<p4>\d+)", value)
    if m is None:
        return value, 179
    return m["v6"] or m["v4"], int(m["p6"] or m["p4"])


def _peer_ip_errors(value: str) -> list[str]:
    addr, port = peer_address(value)
    try:
        ipaddress.ip_address(addr)
    except ValueError:
        return [f"peerIP {value!r} is not an address"]
    return [] if 0 < port < 65536 else [f"peerIP {value!r}: bad port"]


# -- kustomizations -----------------------------------------------------------------------

def kustomization(kdir: Path) -> Obj:
    (k,) = load_docs(kdir / "kustomization.yaml")
    return k


def missing_paths(kdir: Path) -> list[str]:
    """Entries of resources/patches that do not exist (a directory needs a kustomization)."""
    k = kustomization(kdir)
    entries = list(k.get("resources", [])) + [p["path"] for p in k.get("patches", [])]
    out = []
    for entry in entries:
        path = (kdir / entry).resolve()
        if path.is_dir():
            if not (path / "kustomization.yaml").exists():
                out.append(f"{entry}: a directory without kustomization.yaml")
        elif not path.is_file():
            out.append(f"{entry}: no such file")
        elif not path.is_relative_to(kdir.resolve()):
            out.append(f"{entry}: a file outside the kustomization (kustomize refuses it)")
    return out


def expected_objects(kdir: Path) -> list[tuple[str, str]]:
    """(kind, name) of what ``kdir`` renders: its resources, recursively, with nameSuffix."""
    k = kustomization(kdir)
    out: list[tuple[str, str]] = []
    for entry in k.get("resources", []):
        path = kdir / entry
        if path.is_dir():
            out += expected_objects(path)
        else:
            out += [(d["kind"], d["metadata"]["name"]) for d in load_docs(path)]
    prefix, suffix = k.get("namePrefix", ""), k.get("nameSuffix", "")
    return [(kind, prefix + name + suffix) for kind, name in out]


def patch_targets(kdir: Path) -> list[tuple[str, str]]:
    k = kustomization(kdir)
    out = []
    for p in k.get("patches", []):
        for d in load_docs(kdir / p["path"]):
            out.append((d["kind"], d["metadata"]["name"]))
    return out


def kustomize_command() -> list[str] | None:
    """A kustomize that works offline: `kustomize build` or `kubectl kustomize`."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render(kdir: Path, command: list[str]) -> list[Obj]:
    res = subprocess.run([*command, str(kdir)], capture_output=True, text=True, timeout=120,
                         check=False)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(command)} {kdir}: {res.stderr.strip()}")
    return [d for d in yaml.safe_load_all(res.stdout) if d is not None]
