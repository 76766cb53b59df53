"""Differences between gobgpd 3.10 and bgprr that docs/interop.md documents as gobgpd bugs
(or as deliberate bgprr choices), each with the exact condition under which the test
accepts it. A difference no entry explains fails the test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .batch import Placed
from .compare import Diff, routes_of
from .model import BY_ADDRESS, BY_NAME, CLUSTER_ID, LOCAL_AS, Route

Check = Callable[[Diff, Placed], bool]


@dataclass(frozen=True)
class Known:
    id: str
    summary: str
    check: Check


def _senders(d: Diff, pl: Placed) -> set[str]:
    return {BY_NAME[r.sender].role for r in routes_of(pl, d.prefix)}


def _g1(d: Diff, pl: Placed) -> bool:
    # client -> non-client: gobgpd adds neither ORIGINATOR_ID nor CLUSTER_LIST
    if BY_NAME[d.neighbor].role != "nonclient" or d.gobgp is not None or d.bgprr is None:
        return False
    if d.attr == "cluster-list":
        return d.bgprr == CLUSTER_ID
    if d.attr == "originator-id":
        nb = BY_ADDRESS.get(d.bgprr)
        return nb is not None and nb.role == "client"
    return False


def _g5(d: Diff, pl: Placed) -> bool:
    # eBGP-learned route to an RR client: gobgpd adds ORIGINATOR_ID (the eBGP neighbor's
    # router id) and CLUSTER_LIST
    if BY_NAME[d.neighbor].role != "client" or d.bgprr is not None or d.gobgp is None:
        return False
    if d.attr == "cluster-list":
        return d.gobgp == CLUSTER_ID and "ebgp" in _senders(d, pl)
    if d.attr == "originator-id":
        nb = BY_ADDRESS.get(d.gobgp)
        return nb is not None and nb.role == "ebgp"
    return False


def _asns(r: Route) -> set[int]:
    return {a for _t, seg in r.full_as_path() for a in seg}


def _replaced_by_looped(d: Diff, pl: Placed) -> bool:
    """A sender announced the prefix more than once; its last path holds our AS, an
    earlier one does not."""
    if d.attr != "presence" or d.bgprr is not None or d.g_attrs is None:
        return False
    by_sender: dict[str, list[Route]] = {}
    for r in routes_of(pl, d.prefix):
        by_sender.setdefault(r.sender, []).append(r)
    return any(
        len(rs) > 1 and LOCAL_AS in _asns(rs[-1]) and any(LOCAL_AS not in _asns(r) for r in rs[:-1])
        for rs in by_sender.values()
    )


def _best_through_neighbor(d: Diff, pl: Placed) -> bool:
    """bgprr's best path holds the eBGP neighbor's AS (as the other neighbors received
    it), and what gobgpd sent that neighbor does not (a path it was sent before that one
    won)."""
    nb = BY_NAME[d.neighbor]
    if nb.role != "ebgp" or d.attr != "presence" or d.bgprr is not None or d.g_attrs is None:
        return False
    path = d.g_attrs.get("as-path", "").split()
    if str(nb.asn) in path:
        return False
    return any(
        str(nb.asn) in p.replace("{", " ").replace("}", " ").replace(",", " ").split()
        for p in d.b_paths
    )


def _g6(d: Diff, pl: Placed) -> bool:
    # RFC 1997 well-known communities not acted on
    if d.attr != "presence" or d.bgprr is not None or d.g_attrs is None:
        return False
    comms = d.g_attrs.get("communities", "").split()
    external = BY_NAME[d.neighbor].role in ("ebgp", "rs")
    return "65535:65282" in comms or (
        external and ("65535:65281" in comms or "65535:65283" in comms)
    )


def _g7(d: Diff, pl: Placed) -> bool:
    # a path replaced by one holding our AS (dropped on receipt) stays with the neighbors
    return _replaced_by_looped(d, pl)


def _g8(d: Diff, pl: Placed) -> bool:
    # the best path holds an eBGP neighbor's AS: the path sent there before stays
    return _best_through_neighbor(d, pl)


def _g9(d: Diff, pl: Placed) -> bool:
    # origin-eq read but not applied: the statement holds whatever the ORIGIN
    if d.attr != "presence":
        return False
    wanted = {
        st.get("conditions", {}).get("bgp-conditions", {}).get("origin-eq")
        for pol in pl.policies
        for st in pol.get("statements", [])
    } - {None}
    names = {"igp": 0, "egp": 1, "incomplete": 2}
    return bool(wanted) and all(
        r.origin not in {names[w] for w in wanted} for r in routes_of(pl, d.prefix)
    )


def _g10(d: Diff, pl: Placed) -> bool:
    # the neighbor's own path became best: the iBGP path it was sent before is not
    # withdrawn (gobgpd withdraws it only when it came from another AS or was local)
    if d.attr != "presence" or d.bgprr is not None or d.g_attrs is None:
        return False
    nb = BY_NAME[d.neighbor]
    senders = {r.sender for r in routes_of(pl, d.prefix)}
    ibgp = {s for s in senders if BY_NAME[s].role in ("client", "nonclient")}
    return nb.role in ("client", "nonclient") and nb.name in senders and bool(ibgp - {nb.name})


def _g11(d: Diff, pl: Placed) -> bool:
    # LOCAL_PREF (here set by a policy) sent to an external route-server client
    return (
        BY_NAME[d.neighbor].role == "rs"
        and d.attr == "local-pref"
        and d.bgprr is None
        and d.gobgp is not None
    )


KNOWN = (
    Known("G1", "client route reflected to a non-client without ORIGINATOR_ID/CLUSTER_LIST", _g1),
    Known("G5", "eBGP-learned route sent to an RR client with ORIGINATOR_ID/CLUSTER_LIST", _g5),
    Known("G6", "NO_EXPORT / NO_ADVERTISE (RFC 1997) not acted on", _g6),
    Known("G7", "a path implicitly withdrawn by a looped one (our AS) stays at the neighbors", _g7),
    Known("G8", "a new best path holding an eBGP neighbor's AS leaves the old one there", _g8),
    Known("G10", "a neighbor keeps the iBGP path it was sent after its own path became best", _g10),
    Known("G9", "origin-eq is read and ignored (the statement matches every ORIGIN)", _g9),
    Known("G11", "LOCAL_PREF sent to an external route-server client (RFC 4271 5.1.5)", _g11),
)


def explain(d: Diff, pl: Placed) -> str | None:
    """The id of the documented difference that explains ``d``, or None."""
    for k in KNOWN:
        if k.check(d, pl):
            return k.id
    return None
