"""Differences between gobgpd 3.10 and bgprr that docs/interop.md documents as gobgpd bugs
(or as deliberate bgprr choices), each with the exact condition under which the test
accepts it. A difference no entry explains fails the test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .batch import Placed
from .compare import Diff, routes_of
from .model import BY_ADDRESS, BY_NAME, CLUSTER_ID

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


KNOWN = (
    Known("G1", "client route reflected to a non-client without ORIGINATOR_ID/CLUSTER_LIST", _g1),
    Known("G5", "eBGP-learned route sent to an RR client with ORIGINATOR_ID/CLUSTER_LIST", _g5),
)


def explain(d: Diff, pl: Placed) -> str | None:
    """The id of the documented difference that explains ``d``, or None."""
    for k in KNOWN:
        if k.check(d, pl):
            return k.id
    return None
