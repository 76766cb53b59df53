"""What each neighbor received, normalized to text per attribute, and the differences
between gobgpd and bgprr, each either explained by a documented gobgpd behaviour
(:mod:`conformance.difftest.known`) or reported."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from bgprr.wire.attributes import decode_as_path, walk_attributes
from bgprr.wire.prefix import key_to_str

from .batch import Placed, slot_nets
from .model import BY_NAME, Route
from .speaker import Key

Attrs = dict[str, str]

_ORIGIN = {0: "igp", 1: "egp", 2: "incomplete"}
_SEG = {1: ("{", ",", "}"), 2: ("", " ", ""), 3: ("(", " ", ")"), 4: ("[", ",", "]")}


def as_path_text(raw: bytes, vs: int, e: int) -> str:
    path = decode_as_path(raw, vs, e) or ()
    out = []
    for t, asns in path:
        o, sep, c = _SEG.get(t, ("?", " ", "?"))
        out.append(o + sep.join(str(a) for a in asns) + c)
    return " ".join(out)


def _words(v: bytes, n: int) -> list[bytes]:
    return [v[i : i + n] for i in range(0, len(v), n)]


def _ext(b: bytes) -> str:
    t, st = b[0], b[1]
    name = {2: "rt", 3: "soo"}.get(st, f"{t:02x}{st:02x}")
    if t in (0x00, 0x40):
        return f"{name}:{int.from_bytes(b[2:4], 'big')}:{int.from_bytes(b[4:8], 'big')}"
    if t in (0x01, 0x41):
        return f"{name}:{ipaddress.IPv4Address(b[2:6])}:{int.from_bytes(b[6:8], 'big')}"
    if t in (0x02, 0x42):
        a = int.from_bytes(b[2:6], "big")
        return f"{name}:{a >> 16}.{a & 0xFFFF}:{int.from_bytes(b[6:8], 'big')}"
    return b.hex()


def normalize(attrs: bytes, mp_next_hop: bytes) -> Attrs:
    out: Attrs = {}
    for t, _s, vs, e in walk_attributes(attrs):
        v = attrs[vs:e]
        if t == 1:
            out["origin"] = _ORIGIN.get(v[0], str(v[0])) if v else "?"
        elif t == 2:
            out["as-path"] = as_path_text(attrs, vs, e)
        elif t == 3:
            out["next-hop"] = str(ipaddress.IPv4Address(v))
        elif t in (4, 5):
            out["med" if t == 4 else "local-pref"] = str(int.from_bytes(v, "big"))
        elif t == 6:
            out["atomic-aggregate"] = "yes"
        elif t == 8:
            out["communities"] = " ".join(
                f"{int.from_bytes(w[:2], 'big')}:{int.from_bytes(w[2:], 'big')}"
                for w in _words(v, 4)
            )
        elif t == 9:
            out["originator-id"] = str(ipaddress.IPv4Address(v))
        elif t == 10:
            out["cluster-list"] = " ".join(str(ipaddress.IPv4Address(w)) for w in _words(v, 4))
        elif t == 16:
            out["ext-communities"] = " ".join(_ext(w) for w in _words(v, 8))
        elif t == 32:
            out["large-communities"] = " ".join(
                ":".join(str(int.from_bytes(w[i : i + 4], "big")) for i in (0, 4, 8))
                for w in _words(v, 12)
            )
        else:
            out[f"attr-{t}"] = v.hex()
    if mp_next_hop:
        out["next-hop"] = str(ipaddress.IPv6Address(mp_next_hop[:16]))
        if len(mp_next_hop) == 32:
            out["next-hop-link-local"] = str(ipaddress.IPv6Address(mp_next_hop[16:]))
    return out


@dataclass(frozen=True)
class Diff:
    case: str
    neighbor: str
    prefix: str
    attr: str  # "presence" when one side does not have the prefix at all
    gobgp: str | None
    bgprr: str | None
    g_attrs: Attrs | None = None  # everything the neighbor holds for the prefix
    b_attrs: Attrs | None = None
    # the AS_PATHs bgprr sent for the prefix to the neighbors that are not route-server
    # clients (each holds bgprr's best path, with policies and the eBGP prepend applied)
    b_paths: tuple[str, ...] = ()

    def line(self) -> str:
        g, b = self.gobgp, self.bgprr
        if self.attr == "presence":  # show what the side that has it holds
            g = _short(self.g_attrs) if self.g_attrs is not None else None
            b = _short(self.b_attrs) if self.b_attrs is not None else None
        return (
            f"  {self.prefix:<22} {self.neighbor:<3} {self.attr:<16} gobgpd={g!r:<28} bgprr={b!r}"
        )


def _short(a: Attrs) -> str:
    keys = ("as-path", "next-hop", "med", "local-pref", "communities")
    return ", ".join(f"{k}={a[k]}" for k in keys if k in a)


def _view(table: dict[Key, tuple[bytes, bytes]], pl: Placed) -> dict[str, Attrs]:
    nets = slot_nets(pl.slot)
    out = {}
    for (afi, k), (attrs, nh) in table.items():
        text = key_to_str(k, afi)
        if ipaddress.ip_network(text).subnet_of(nets[afi]):  # type: ignore[arg-type]
            out[text] = normalize(attrs, nh)
    return out


def case_diffs(
    pl: Placed, tables: dict[str, dict[str, dict[Key, tuple[bytes, bytes]]]]
) -> list[Diff]:
    """Every difference of one case, neighbor by neighbor, prefix by prefix."""
    diffs = []
    bviews = {nb: _view(t, pl) for nb, t in tables["bgprr"].items()}
    for nb in sorted(tables["gobgp"]):
        g = _view(tables["gobgp"][nb], pl)
        b = bviews[nb]
        for prefix in sorted(set(g) | set(b)):
            paths = tuple(
                v[prefix].get("as-path", "")
                for k, v in bviews.items()
                if prefix in v and BY_NAME[k].role != "rs"
            )
            if prefix not in g or prefix not in b:
                diffs.append(
                    Diff(
                        pl.case.name,
                        nb,
                        prefix,
                        "presence",
                        "yes" if prefix in g else None,
                        "yes" if prefix in b else None,
                        g.get(prefix),
                        b.get(prefix),
                        paths,
                    )
                )
                continue
            for a in sorted(set(g[prefix]) | set(b[prefix])):
                if g[prefix].get(a) != b[prefix].get(a):
                    diffs.append(
                        Diff(
                            pl.case.name,
                            nb,
                            prefix,
                            a,
                            g[prefix].get(a),
                            b[prefix].get(a),
                            g[prefix],
                            b[prefix],
                        )
                    )
    return diffs


def routes_of(pl: Placed, prefix: str) -> list[Route]:
    return [r for r in pl.routes if ipaddress.ip_network(r.prefix) == ipaddress.ip_network(prefix)]
