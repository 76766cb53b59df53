"""JSON-ready views of the daemon's state: neighbors, paths, RIB summaries.

Every function returns plain ``dict`` / ``list`` / ``str`` / ``int`` / ``bool`` / ``None``
values: the schema of docs/api.md. The control API sends them as they are, the CLI
formats them (:mod:`bgprr.api.format`), the library returns them. Times are seconds
relative to ``now`` (the loop's clock), so views are comparable and testable.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from bgprr.policy import ChainPoint, PolicyPoint
from bgprr.rib.intern import AttrSet
from bgprr.rib.path import Path
from bgprr.session import Negotiated, State
from bgprr.wire.attributes import PathAttrs
from bgprr.wire.constants import AFI, FAMILY_NAMES, IPV4_UNICAST, IPV6_UNICAST, Family
from bgprr.wire.prefix import key_to_str

if TYPE_CHECKING:
    from bgprr.io.runner import SessionRunner
    from bgprr.reflect.engine import ReflectionEngine

JSON = dict[str, Any]

FAMILIES: dict[str, Family] = {"ipv4": IPV4_UNICAST, "ipv6": IPV6_UNICAST}
ORIGIN_CODES = {0: "i", 1: "e", 2: "?"}

# GoBGP's short state names (`gobgp neighbor`).
SHORT_STATES = {
    State.IDLE: "Idle",
    State.CONNECT: "Connect",
    State.ACTIVE: "Active",
    State.OPENSENT: "Sent",
    State.OPENCONFIRM: "Confirm",
    State.ESTABLISHED: "Establ",
}


def family_name(fam: Family) -> str:
    return FAMILY_NAMES.get(fam, f"{fam[0]}/{fam[1]}")


def ip_text(value: int, afi: int) -> str:
    return str(ipaddress.IPv4Address(value) if afi == AFI.IPV4 else ipaddress.IPv6Address(value))


def next_hop_text(attrs: PathAttrs, mp_next_hop: bytes) -> str:
    """The IPv4 NEXT_HOP attribute, or the global address of an MP next hop."""
    if mp_next_hop:
        if len(mp_next_hop) >= 16:
            return str(ipaddress.IPv6Address(mp_next_hop[:16]))
        if len(mp_next_hop) == 4:
            return str(ipaddress.IPv4Address(mp_next_hop))
        return mp_next_hop.hex()
    nh = attrs.next_hop
    return str(ipaddress.IPv4Address(nh)) if len(nh) == 4 else ""


def as_path_text(attrs: PathAttrs) -> str:
    """GoBGP style: sequences as ``65001 65002``, sets as ``{65003,65004}``."""
    try:
        segments = attrs.as_path
    except ValueError:
        return "(malformed)"
    parts: list[str] = []
    for seg_type, asns in segments:
        if seg_type in (1, 4):  # AS_SET, AS_CONFED_SET
            parts.append("{" + ",".join(str(a) for a in asns) + "}")
        elif seg_type == 3:  # AS_CONFED_SEQUENCE
            parts.append("(" + " ".join(str(a) for a in asns) + ")")
        else:
            parts.extend(str(a) for a in asns)
    return " ".join(parts)


def attrs_view(raw: bytes, mp_next_hop: bytes) -> JSON:
    """The displayable attributes of one attribute block."""
    a = PathAttrs(raw)
    origin = a.origin
    return {
        "next_hop": next_hop_text(a, mp_next_hop),
        "as_path": as_path_text(a),
        "origin": ORIGIN_CODES.get(origin, "?") if origin is not None else None,
        "med": a.med,
        "local_pref": a.local_pref,
        "communities": [f"{c >> 16}:{c & 0xFFFF}" for c in a.communities],
        "large_communities": [f"{g}:{x}:{y}" for g, x, y in a.large_communities],
        "originator_id": ip_text(a.originator_id, AFI.IPV4)
        if a.originator_id is not None
        else None,
        "cluster_list": [ip_text(c, AFI.IPV4) for c in a.cluster_list],
    }


AttrCache = dict[int, tuple[object, JSON]]


def cached_attrs_view(attrs: AttrSet, cache: AttrCache | None) -> JSON:
    """``attrs_view`` of an interned set, computed once per set within one query (many
    paths share a set); a fresh dict every time."""
    if cache is None:
        return attrs_view(attrs.raw, attrs.next_hop)
    hit = cache.get(id(attrs))
    if hit is None or hit[0] is not attrs:
        hit = cache[id(attrs)] = (attrs, attrs_view(attrs.raw, attrs.next_hop))
    out = dict(hit[1])
    out["communities"] = list(out["communities"])
    out["large_communities"] = list(out["large_communities"])
    out["cluster_list"] = list(out["cluster_list"])
    return out


def path_view(path: Path, *, best: bool, now: float, cache: AttrCache | None = None) -> JSON:
    out = cached_attrs_view(path.attrs, cache)
    out.update(
        {
            "best": best,
            "stale": path.stale or path.llgr_stale,
            "source": path.peer.key if path.peer is not None else "local",
            "path_id": path.path_id,
            "age": max(0, int(now - path.since)),
        }
    )
    return out


def route_view(
    key: int,
    afi: int,
    best: Path | None,
    paths: list[Path],
    now: float,
    cache: AttrCache | None = None,
) -> JSON:
    ordered = sorted(paths, key=lambda p: p is not best)  # best first, others in order
    return {
        "prefix": key_to_str(key, afi),
        "paths": [path_view(p, best=p is best, now=now, cache=cache) for p in ordered],
    }


def _since(t: float | None, now: float) -> int | None:
    return None if t is None else max(0, int(now - t))


def short_state(runner: SessionRunner) -> str:
    state = runner.session.state
    if state is State.IDLE:
        if runner.admin_down:
            return "Idle(Admin)"
        if runner.pfx_limit_down:
            return "Idle(PfxCt)"
    return SHORT_STATES[state]


def neighbor_view(
    runner: SessionRunner, engine: ReflectionEngine, now: float, *, detail: bool
) -> JSON:
    n = runner.neighbor
    state = runner.session.state
    up = state is State.ESTABLISHED and runner.uptime is not None
    counters = engine.counters(runner.key)
    out: JSON = {
        "address": n.address,
        "peer_as": n.peer_as,
        "state": state.value,
        "short_state": short_state(runner),
        "admin_down": runner.admin_down,
        "pfx_limit_down": runner.pfx_limit_down,
        "dynamic": n.dynamic,
        "peer_group": n.peer_group,
        "rr_client": n.rr_client,
        "uptime": _since(runner.uptime, now) if up else None,
        "downtime": None if up else _since(runner.downtime, now),
        "prefixes": {
            # paths in the Adj-RIB-In (GoBGP's #Received), those the import policy accepts
            "received": counters.accepted + counters.rejected,
            "accepted": counters.accepted,
            "advertised": counters.advertised,
        },
    }
    if not detail:
        return out
    neg = runner.session.negotiated
    out.update(
        {
            "local_as": n.local_as,
            "description": n.description,
            "passive": n.passive,
            "remote_port": n.remote_port,
            "local_address": n.local_address,
            "cluster_id": n.cluster_id,
            "families": [family_name(f.family) for f in n.families if f.enabled],
            "timers": {
                "hold_time": n.hold_time,
                "keepalive_interval": n.keepalive_interval,
                "connect_retry": n.connect_retry,
                "idle_hold_time_after_reset": n.idle_hold_time_after_reset,
            },
            "negotiated": None if neg is None else _negotiated_view(neg),
            "messages": {
                "received": dict(sorted(runner.msg_in.items())),
                "sent": dict(sorted(runner.msg_out.items())),
            },
            "last_error": runner.last_error,
        }
    )
    out["prefixes"].update(
        {
            "announced_total": counters.received,
            "withdrawn_total": counters.withdrawn,
            "duplicates": counters.duplicates,
            "looped": counters.looped,
            "as_loop": counters.as_loop,
            "treat_as_withdraw": counters.treat_as_withdraw,
            "rejected": counters.rejected,
        }
    )
    return out


def _negotiated_view(neg: Negotiated) -> JSON:
    caps: list[str] = []
    if neg.as4:
        caps.append("4-octet-as")
    if neg.route_refresh:
        caps.append("route-refresh")
    if neg.enhanced_route_refresh:
        caps.append("enhanced-route-refresh")
    if neg.extended_message:
        caps.append("extended-message")
    if neg.peer_gr is not None:
        caps.append("graceful-restart")
    if neg.peer_llgr is not None:
        caps.append("long-lived-graceful-restart")
    if neg.addpath_rx or neg.addpath_tx:
        caps.append("add-path")
    return {
        "router_id": ip_text(neg.peer_id, AFI.IPV4),
        "hold_time": neg.hold_time,
        "keepalive": neg.keepalive,
        "families": sorted(family_name(f) for f in neg.families),
        "addpath_receive": sorted(family_name(f) for f in neg.addpath_rx),
        "addpath_send": sorted(family_name(f) for f in neg.addpath_tx),
        "capabilities": caps,
    }


def chain_view(point: ChainPoint | None) -> JSON:
    """One policy chain: its policies in order and its default (none: accept all)."""
    if point is None:
        return {"policies": [], "default": "accept-route"}
    return {"policies": [name for name, _ in point.policies], "default": point.default.value}


def policy_view(
    chains: tuple[PolicyPoint | None, PolicyPoint | None], *, source: str
) -> JSON:
    """Where the (import, export) chains come from and what they run."""
    imp, exp = chains
    return {
        "source": source,
        "import": chain_view(imp if isinstance(imp, ChainPoint) else None),
        "export": chain_view(exp if isinstance(exp, ChainPoint) else None),
    }


def adj_in_item(
    item: tuple[int, int, Path], afi: int, now: float, cache: AttrCache | None = None
) -> JSON:
    """One entry of ``ReflectionEngine.adj_rib_in``."""
    k, pid, path = item
    view = path_view(path, best=False, now=now, cache=cache)
    view["prefix"] = key_to_str(k, afi)
    view["path_id"] = pid
    return view


def adj_out_item(
    item: tuple[int, int, bytes, bytes], afi: int, cache: dict[tuple[bytes, bytes], JSON]
) -> JSON:
    """One entry of ``ReflectionEngine.adj_rib_out`` (attributes as sent)."""
    k, pid, block, nh = item
    base = cache.get((block, nh))
    if base is None:
        base = cache[(block, nh)] = attrs_view(block, nh)
    view = {key: list(v) if isinstance(v, list) else v for key, v in base.items()}
    view.update({"prefix": key_to_str(k, afi), "path_id": pid, "best": True})
    view.update({"stale": False, "age": None})
    return view
