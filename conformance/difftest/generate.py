"""Generated cases: random sets x random statements x random routes (hypothesis).

The draw is derandomized (``derandomize=True``, no example database), so the same count
gives the same cases on every machine. Only IPv4 routes; prefixes in the case's slot.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .build import comm, match, policy, pset, rt, setc, sets
from .build import st as stmt
from .model import AS_SEQUENCE, AS_SET, NEIGHBORS, ApplyPolicy, Case, Route

SENDERS = [n.name for n in NEIGHBORS]
ASNS = [64999, 65000, 65001, 65002, 65010, 65011, 65012, 65020]
COMMS = ["65000:1", "65000:2", "65001:1", "65010:20"]
EXTS = [rt(65000, 100), rt(65000, 200), rt(65001, 7), rt(65000, 5, 3)]
EXT_TEXT = ["rt:65000:100", "rt:65000:200", "rt:65001:7", "soo:65000:5", "rt:^65000:"]
LARGE = [(65000, 1, 2), (65000, 1, 3), (65001, 0, 0)]
LARGE_TEXT = ["65000:1:2", "65000:1:3", "65001:0:0", "^65000:1:"]
AS_ENTRIES = ["_65010_", "^65001_", "_65020$", "^65002$", "_65011_", "^65001 65010", "_64999,"]
COMM_ENTRIES = [*COMMS, "^65000:", "4259840001"]
NH_LISTS = [["198.18.0.0/28"], ["198.18.0.3"], ["198.18.0.16/28", "198.18.0.1"], ["127.0.0.1"]]


def _prefix(draw: Any, lo: int, hi: int) -> tuple[str, int]:
    plen = draw(st.integers(lo, hi))
    # few distinct values, so that routes share prefixes and sets cover them
    host = draw(st.sampled_from([0x0100, 0x0180, 0x0200, 0x0000, 0x8000, 0x0140]))
    host &= (0xFFFF << (32 - plen)) & 0xFFFF
    return f"10.{{s}}.{host >> 8}.{host & 0xFF}/{plen}", plen


@st.composite
def routes(draw: Any) -> list[Route]:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        sender = draw(st.sampled_from(SENDERS))
        prefix, _ = _prefix(draw, 17, 26)
        path: list[tuple[int, list[int]]] = []
        seq = draw(st.lists(st.sampled_from(ASNS), max_size=3))
        if seq:
            path.append((AS_SEQUENCE, seq))
        if draw(st.integers(0, 9)) == 0:
            path.append((AS_SET, draw(st.lists(st.sampled_from(ASNS), min_size=1, max_size=2))))
        out.append(
            Route(
                sender,
                prefix,
                next_hop=f"198.18.0.{draw(st.integers(1, 20))}",
                origin=draw(st.sampled_from([0, 0, 1, 2])),
                as_path=path,
                med=draw(st.one_of(st.none(), st.integers(0, 50))),
                local_pref=draw(st.sampled_from([100, 50, 200])),
                communities=[
                    comm(c) for c in draw(st.lists(st.sampled_from(COMMS), max_size=2, unique=True))
                ],
                ext_communities=draw(st.lists(st.sampled_from(EXTS), max_size=2, unique=True)),
                large_communities=draw(st.lists(st.sampled_from(LARGE), max_size=2, unique=True)),
            )
        )
    return out


@st.composite
def statement(draw: Any, i: int, defined: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    bgp: dict[str, Any] = {}
    kinds = draw(
        st.lists(
            st.sampled_from(
                [
                    "prefix",
                    "neighbor",
                    "community",
                    "ext",
                    "large",
                    "aspath",
                    "aslen",
                    "rtype",
                    "nh",
                    "afi",
                ]
            ),
            max_size=2,
            unique=True,
        )
    )
    name = f"s{i}"
    for k in kinds:
        if k == "prefix":
            entries: list[str | tuple[str, str]] = []
            for _ in range(draw(st.integers(1, 3))):
                p, plen = _prefix(draw, 17, 24)
                if draw(st.booleans()):
                    top = draw(st.integers(plen, 28))
                    entries.append((p, f"{plen}..{top}"))
                else:
                    entries.append(p)
            defined.setdefault("prefix", []).append(pset(name, *entries))
            kw["prefix"] = name
            kw["opt"] = draw(st.sampled_from(["any", "invert"]))
        elif k == "neighbor":
            addrs = draw(
                st.lists(
                    st.sampled_from([n.address for n in NEIGHBORS]),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            )
            defined.setdefault("neighbor", {})[name] = addrs
            kw["neighbor"] = name
            kw["nopt"] = draw(st.sampled_from(["any", "invert"]))
        elif k in ("community", "ext", "large", "aspath"):
            pool = {
                "community": COMM_ENTRIES,
                "ext": EXT_TEXT,
                "large": LARGE_TEXT,
                "aspath": AS_ENTRIES,
            }[k]
            kind = {
                "community": "community",
                "ext": "ext_community",
                "large": "large_community",
                "aspath": "as_path",
            }[k]
            entries = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
            defined.setdefault(kind, {})[name] = entries
            bgp.update(
                match(kind.replace("_", "-"), name, draw(st.sampled_from(["any", "all", "invert"])))
            )
        elif k == "aslen":
            bgp["as-path-length"] = {
                "operator": draw(st.sampled_from(["eq", "ge", "le"])),
                "value": draw(st.integers(0, 4)),
            }
        elif k == "rtype":
            bgp["route-type"] = draw(st.sampled_from(["internal", "external"]))
        elif k == "nh":
            bgp["next-hop-in-list"] = draw(st.sampled_from(NH_LISTS))
        else:
            bgp["afi-safi-in-list"] = [draw(st.sampled_from(["ipv4-unicast", "ipv6-unicast"]))]
    actions: dict[str, Any] = {}
    for a in draw(
        st.lists(
            st.sampled_from(["comm", "ext", "large", "med", "lp", "nh", "prepend"]),
            max_size=2,
            unique=True,
        )
    ):
        if a == "comm":
            opt = draw(st.sampled_from(["add", "remove", "replace"]))
            pool = COMMS if opt != "remove" else COMM_ENTRIES
            vals = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
            actions["set_community"] = setc(opt, *vals)
        elif a == "ext":
            opt = draw(st.sampled_from(["add", "remove", "replace"]))
            vals = draw(
                st.lists(st.sampled_from(EXT_TEXT[:4]), min_size=1, max_size=2, unique=True)
            )
            actions["set_ext_community"] = setc(opt, *vals, kind="ext-community")
        elif a == "large":
            opt = draw(st.sampled_from(["add", "remove", "replace"]))
            vals = draw(
                st.lists(st.sampled_from(LARGE_TEXT[:3]), min_size=1, max_size=2, unique=True)
            )
            actions["set_large_community"] = setc(opt, *vals, kind="large-community")
        elif a == "med":
            actions["set_med"] = draw(st.sampled_from(["7", "+5", "-3", "0", "+1"]))
        elif a == "lp":
            actions["set_local_pref"] = draw(st.sampled_from([50, 150, 300]))
        elif a == "nh":
            actions["set_next_hop"] = draw(st.sampled_from(["198.18.2.2", "self", "unchanged"]))
        else:
            actions["set_as_path_prepend"] = {
                "as": draw(st.sampled_from(["65100", "last-as", "65001"])),
                "repeat-n": draw(st.integers(1, 3)),
            }
    disp = draw(st.sampled_from(["accept-route", "reject-route", "none", "none"]))
    return stmt(name, disp, bgp=bgp or None, **kw, **actions)


@st.composite
def case(draw: Any) -> Case:
    defined: dict[str, Any] = {}
    statements = [draw(statement(i, defined)) for i in range(draw(st.integers(1, 3)))]
    pol = policy("p", *statements)
    where = draw(
        st.sampled_from(["import", "import", "export", "export", "r1-import", "r2-export"])
    )
    default = draw(st.sampled_from(["accept-route", "accept-route", "reject-route"]))
    ap = ApplyPolicy()
    if where.endswith("import"):
        ap.imports, ap.default_import = ["p"], default
    else:
        ap.exports, ap.default_export = ["p"], default
    c = Case(
        "",
        draw(routes()),
        sets(
            prefix=defined.get("prefix"),
            neighbor=defined.get("neighbor"),
            **{k: v for k, v in defined.items() if k not in ("prefix", "neighbor")},
        ),
        [pol],
    )
    if where.startswith("r"):
        c.neighbor_policy = {where[:2]: ap}
    else:
        c.global_policy = ap
    return c


def generated_cases(n: int) -> list[Case]:
    out: list[Case] = []
    if n <= 0:
        return out

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(case())
    def collect(c: Case) -> None:
        if len(out) < n:
            c.name = f"gen-{len(out)}"
            out.append(c)

    collect()
    return out
