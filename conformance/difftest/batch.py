"""Several cases in one daemon run, kept apart by their prefixes.

Case number ``s`` of a batch (its *slot*) announces only prefixes inside ``10.s.0.0/16``
and ``2001:db8:s::/48`` (never those two themselves). Every name of the case gets the
prefix ``kS-`` and every statement a prefix-set condition that only the case's own routes
can meet, which leaves the case's result unchanged:

* a statement without a prefix-set condition gets the slot's set (one copy of the
  statement per family the case announces: a prefix set holds one family);
* a statement matching a set with ``any`` needs nothing: the set's entries must lie
  inside the slot (checked here);
* a statement matching a set with ``invert`` gets a copy of the set with two more
  entries: ``10.0.0.0/8`` with range ``8..32`` (every other slot's route: longest match
  there, so it matches and the inverted condition fails) and the slot's own ``/16``
  without a range (the longest cover of the case's routes that no entry of the case
  covers, matching none of them since they are longer: as without the set entry).

Cases share a batch only when their default policies are the same
(:meth:`Case.batch_key`).
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from .model import (
    BY_NAME,
    CLUSTER_ID,
    DAEMON,
    LOCAL_AS,
    NEIGHBORS,
    ROUTER_ID,
    ApplyPolicy,
    Case,
    Route,
)

_SET_LISTS = {
    "prefix-sets": "prefix-set-name",
    "neighbor-sets": "neighbor-set-name",
}
_BGP_SET_LISTS = {
    "community-sets": "community-set-name",
    "ext-community-sets": "ext-community-set-name",
    "large-community-sets": "large-community-set-name",
    "as-path-sets": "as-path-set-name",
}
_REFS = {
    "match-prefix-set": "prefix-set",
    "match-neighbor-set": "neighbor-set",
}
_BGP_REFS = {
    "match-community-set": "community-set",
    "match-ext-community-set": "ext-community-set",
    "match-large-community-set": "large-community-set",
    "match-as-path-set": "as-path-set",
}


def slot_nets(s: int) -> dict[int, ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return {
        1: ipaddress.ip_network(f"10.{s}.0.0/16"),
        2: ipaddress.ip_network(f"2001:db8:{s:x}::/48"),
    }


@dataclass
class Placed:
    """A case at its slot: the routes with real prefixes, the tables with prefixed names."""

    case: Case
    slot: int
    routes: list[Route]
    sets: dict[str, Any]
    policies: list[dict[str, Any]]
    global_policy: ApplyPolicy
    neighbor_policy: dict[str, ApplyPolicy] = field(default_factory=dict)


def _rename_apply(ap: ApplyPolicy, p: str) -> ApplyPolicy:
    return ApplyPolicy(
        [p + n for n in ap.imports],
        [p + n for n in ap.exports],
        ap.default_import,
        ap.default_export,
    )


def place(case: Case, s: int) -> Placed:
    p = f"k{s}-"
    routes = [r.at(s) for r in case.routes]
    nets = slot_nets(s)
    for r in routes:
        net = ipaddress.ip_network(r.prefix)
        if not (net.subnet_of(nets[r.afi]) and net != nets[r.afi]):  # type: ignore[arg-type]
            raise ValueError(f"{case.name}: {r.prefix} is not inside slot {s}")
    families = sorted({r.afi for r in routes})
    sets = copy.deepcopy(case.defined_sets)
    prefix_sets: dict[str, dict[str, Any]] = {}
    for lst, key in _SET_LISTS.items():
        for entry in sets.get(lst, []):
            entry[key] = p + entry[key]
            if lst == "prefix-sets":
                prefix_sets[entry[key]] = entry
                for item in entry.get("prefix-list", []):
                    item["ip-prefix"] = item["ip-prefix"].format(s=s)
    for lst, key in _BGP_SET_LISTS.items():
        for entry in sets.get("bgp-defined-sets", {}).get(lst, []):
            entry[key] = p + entry[key]
    extra: list[dict[str, Any]] = []
    for fam in families:
        extra.append(
            {
                "prefix-set-name": f"{p}gate{fam}",
                "prefix-list": [
                    {
                        "ip-prefix": str(nets[fam]),
                        "masklength-range": f"{nets[fam].prefixlen}..{nets[fam].max_prefixlen}",
                    }
                ],
            }
        )
    policies = copy.deepcopy(case.policies)
    for pol in policies:
        statements: list[dict[str, Any]] = []
        for st in pol.get("statements", []):
            st["name"] = f"{p}{pol['name']}-{st['name']}"
            cond = st.setdefault("conditions", {})
            for k, ref in _REFS.items():
                if k in cond:
                    cond[k][ref] = p + cond[k][ref]
            for k, ref in _BGP_REFS.items():
                if k in cond.get("bgp-conditions", {}):
                    cond["bgp-conditions"][k][ref] = p + cond["bgp-conditions"][k][ref]
            mps = cond.get("match-prefix-set")
            if mps is None:
                for fam in families:
                    c = copy.deepcopy(st)
                    c["name"] = f"{st['name']}-g{fam}"
                    c["conditions"]["match-prefix-set"] = {"prefix-set": f"{p}gate{fam}"}
                    statements.append(c)
                continue
            ps = prefix_sets[mps["prefix-set"]]
            items = ps.get("prefix-list", [])
            fam = 2 if items and ":" in items[0]["ip-prefix"] else 1
            for item in items:
                if not ipaddress.ip_network(item["ip-prefix"], strict=False).subnet_of(nets[fam]):  # type: ignore[arg-type]
                    raise ValueError(f"{case.name}: {item['ip-prefix']} is not inside slot {s}")
            if not items:
                raise ValueError(f"{case.name}: empty prefix set {ps['prefix-set-name']}")
            if str(mps.get("match-set-options", "any")).lower() == "invert":
                inv = copy.deepcopy(ps)
                inv["prefix-set-name"] = f"{ps['prefix-set-name']}-inv-{st['name']}"
                wide = "10.0.0.0/8" if fam == 1 else "2001:db8::/32"
                rng = "8..32" if fam == 1 else "32..128"
                inv["prefix-list"] = [
                    *items,
                    {"ip-prefix": wide, "masklength-range": rng},
                    {"ip-prefix": str(nets[fam])},
                ]
                extra.append(inv)
                mps["prefix-set"] = inv["prefix-set-name"]
            statements.append(st)
        pol["name"] = p + pol["name"]
        pol["statements"] = statements
    sets.setdefault("prefix-sets", []).extend(extra)
    return Placed(
        case,
        s,
        routes,
        sets,
        policies,
        _rename_apply(case.global_policy, p),
        {k: _rename_apply(v, p) for k, v in case.neighbor_policy.items()},
    )


def batches(cases: list[Case], size: int) -> list[list[Case]]:
    """Cases grouped by default policies, at most ``size`` (<= 250) per batch."""
    groups: dict[Any, list[Case]] = {}
    for c in cases:
        groups.setdefault(c.batch_key(), []).append(c)
    out: list[list[Case]] = []
    for g in groups.values():
        out.extend(g[i : i + size] for i in range(0, len(g), size))
    return out


def _apply(aps: list[ApplyPolicy]) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "import-policy-list": [n for a in aps for n in a.imports],
        "export-policy-list": [n for a in aps for n in a.exports],
    }
    if aps:
        cfg["default-import-policy"] = aps[0].default_import
        cfg["default-export-policy"] = aps[0].default_export
    return {"config": cfg}


def _merge_sets(placed: list[Placed]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pl in placed:
        for k, v in pl.sets.items():
            if k == "bgp-defined-sets":
                bgp = out.setdefault(k, {})
                for kk, vv in v.items():
                    bgp.setdefault(kk, []).extend(vv)
            else:
                out.setdefault(k, []).extend(v)
    return out


def config(placed: list[Placed], port: int) -> dict[str, Any]:
    """The whole TOML tree of one run."""
    glob: dict[str, Any] = {
        "config": {
            "as": LOCAL_AS,
            "router-id": ROUTER_ID,
            "port": port,
            "local-address-list": [DAEMON],
        },
        "apply-policy": _apply([pl.global_policy for pl in placed]),
    }
    neighbors = []
    for nb in NEIGHBORS:
        n: dict[str, Any] = {
            "config": {"neighbor-address": nb.address, "peer-as": nb.asn},
            "transport": {"config": {"passive-mode": True}},
            "afi-safis": [
                {"config": {"afi-safi-name": "ipv4-unicast"}},
                {"config": {"afi-safi-name": "ipv6-unicast"}},
            ],
        }
        if nb.role == "client":
            n["route-reflector"] = {
                "config": {"route-reflector-client": True, "route-reflector-cluster-id": CLUSTER_ID}
            }
        if nb.role == "rs":
            n["route-server"] = {"config": {"route-server-client": True}}
            aps = [pl.neighbor_policy[nb.name] for pl in placed if nb.name in pl.neighbor_policy]
            if aps:
                n["apply-policy"] = _apply(aps)
        neighbors.append(n)
    tree: dict[str, Any] = {"global": glob, "neighbors": neighbors}
    sets = _merge_sets(placed)
    if sets:
        tree["defined-sets"] = sets
    pols = [p for pl in placed for p in pl.policies]
    if pols:
        tree["policy-definitions"] = pols
    return tree


__all__ = ["BY_NAME", "Placed", "batches", "config", "place"]
