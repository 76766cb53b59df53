"""Short builders of GoBGP policy tables for the cases (plain dicts, GoBGP key names)."""

from __future__ import annotations

from typing import Any

D = dict[str, Any]


def pset(name: str, *entries: str | tuple[str, str]) -> D:
    items = []
    for e in entries:
        if isinstance(e, tuple):
            items.append({"ip-prefix": e[0], "masklength-range": e[1]})
        else:
            items.append({"ip-prefix": e})
    return {"prefix-set-name": name, "prefix-list": items}


def sets(
    prefix: list[D] | None = None,
    neighbor: dict[str, list[str]] | None = None,
    **bgp: dict[str, list[str]],
) -> D:
    """``bgp`` keys: community, ext_community, large_community, as_path."""
    out: D = {}
    if prefix:
        out["prefix-sets"] = prefix
    if neighbor:
        out["neighbor-sets"] = [
            {"neighbor-set-name": k, "neighbor-info-list": v} for k, v in neighbor.items()
        ]
    b: D = {}
    for kind, named in bgp.items():
        k = kind.replace("_", "-")
        b[f"{k}-sets"] = [{f"{k}-set-name": n, f"{k}-list": v} for n, v in named.items()]
    if b:
        out["bgp-defined-sets"] = b
    return out


def st(
    name: str,
    disp: str = "none",
    *,
    prefix: str | None = None,
    neighbor: str | None = None,
    opt: str | None = None,
    nopt: str | None = None,
    bgp: D | None = None,
    **actions: Any,
) -> D:
    """A statement. ``prefix``/``neighbor``: set names (``opt``/``nopt`` their options);
    ``bgp``: bgp-conditions; ``actions``: bgp-actions with ``_`` for ``-``."""
    cond: D = {}
    if prefix:
        cond["match-prefix-set"] = {"prefix-set": prefix}
        if opt:
            cond["match-prefix-set"]["match-set-options"] = opt
    if neighbor:
        cond["match-neighbor-set"] = {"neighbor-set": neighbor}
        if nopt:
            cond["match-neighbor-set"]["match-set-options"] = nopt
    if bgp:
        cond["bgp-conditions"] = bgp
    acts: D = {"route-disposition": disp}
    bgpa = {k.replace("_", "-"): v for k, v in actions.items()}
    if bgpa:
        acts["bgp-actions"] = bgpa
    out: D = {"name": name, "actions": acts}
    if cond:
        out["conditions"] = cond
    return out


def setc(options: str, *values: str, kind: str = "community") -> D:
    """A set-community / set-ext-community / set-large-community action value."""
    return {"options": options, f"set-{kind}-method": {"communities-list": list(values)}}


def match(kind: str, name: str, opt: str | None = None) -> D:
    """A bgp-conditions ``match-<kind>-set`` entry."""
    d: D = {f"{kind}-set": name}
    if opt:
        d["match-set-options"] = opt
    return {f"match-{kind}-set": d}


def policy(name: str, *statements: D) -> D:
    return {"name": name, "statements": list(statements)}


def comm(text: str) -> int:
    a, b = text.split(":")
    return (int(a) << 16) | int(b)


def rt(asn: int, n: int, subtype: int = 2) -> bytes:
    return bytes([0x00, subtype]) + asn.to_bytes(2, "big") + n.to_bytes(4, "big")
