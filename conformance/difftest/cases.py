"""Hand-written cases: each condition and action of docs/policy.md, the global chains with
their defaults, and route-server clients with their own chains."""

from __future__ import annotations

from .build import comm, match, policy, pset, rt, setc, sets, st
from .model import AS_SEQUENCE, AS_SET, ApplyPolicy, Case, Route

S = AS_SEQUENCE


def _base_routes() -> list[Route]:
    """One route from each kind of sender, so every case shows every direction."""
    return [
        Route("c1", "10.{s}.1.0/24", next_hop="198.18.0.11", med=10),
        Route("n1", "10.{s}.2.0/24", next_hop="198.18.0.13", communities=[comm("65000:1")]),
        Route("e1", "10.{s}.3.0/24", next_hop="198.18.0.21", as_path=[(S, [64999])], med=5),
        Route("e2", "10.{s}.4.0/24", next_hop="198.18.0.22", as_path=[(S, [65010, 65020])]),
        Route("r1", "10.{s}.5.0/24", next_hop="198.18.0.31", med=7),
        Route("r2", "10.{s}.6.0/24", next_hop="198.18.0.32"),
    ]


def _imp(*names: str, default: str = "accept-route") -> ApplyPolicy:
    return ApplyPolicy(imports=list(names), default_import=default)


def _exp(*names: str, default: str = "accept-route") -> ApplyPolicy:
    return ApplyPolicy(exports=list(names), default_export=default)


def hand_written() -> list[Case]:
    b = _base_routes
    cases = [
        Case(
            "plain",
            [
                *b(),
                Route("c2", "2001:db8:{s:x}:1::/64", next_hop="2001:db8:ff::2"),
                Route("e1", "2001:db8:{s:x}:2::/64", next_hop="2001:db8:ff::21"),
            ],
            note="reflection, eBGP and route server without policies",
        ),
        Case(
            "prefix-masklength-range",
            [
                Route("c1", f"10.{{s}}.{i}.0/{n}")
                for i, n in ((16, 20), (32, 22), (48, 24), (64, 25))
            ]
            + [Route("e1", "10.{s}.16.128/25")],
            sets(prefix=[pset("p", ("10.{s}.0.0/18", "21..24"))]),
            [policy("drop", st("s1", "reject-route", prefix="p"))],
            _imp("drop"),
        ),
        Case(
            "prefix-invert-default-reject",
            [*b(), Route("c2", "10.{s}.200.0/24")],
            sets(prefix=[pset("p", ("10.{s}.0.0/21", "21..24"))]),
            [policy("keep", st("s1", "accept-route", prefix="p", opt="invert", set_med="99"))],
            _imp("keep", default="reject-route"),
        ),
        Case(
            "prefix-longest-match",
            [
                Route("c1", "10.{s}.1.0/24"),
                Route("c1", "10.{s}.64.0/24"),
                Route("c1", "10.{s}.1.0/25"),
            ],
            sets(prefix=[pset("p", ("10.{s}.0.0/17", "17..32"), "10.{s}.0.0/18")]),
            [policy("drop", st("s1", "reject-route", prefix="p"))],
            _imp("drop"),
        ),
        Case(
            "ipv6-prefix-set",
            [
                Route("c1", "2001:db8:{s:x}:1::/64", next_hop="2001:db8:ff::1"),
                Route("e1", "2001:db8:{s:x}:8000::/64", next_hop="2001:db8:ff::21"),
                Route("c1", "10.{s}.1.0/24"),
            ],
            sets(prefix=[pset("p6", ("2001:db8:{s:x}::/49", "49..64"))]),
            [policy("mark", st("s1", prefix="p6", set_local_pref=300, set_med="+3"))],
            _imp("mark"),
        ),
        Case(
            "neighbor-set-import",
            b(),
            sets(neighbor={"ext": ["127.0.1.21", "127.0.1.22"], "cl": ["127.0.1.0/28"]}),
            [
                policy(
                    "nb",
                    st("s1", neighbor="ext", set_local_pref=200),
                    st("s2", neighbor="cl", set_community=setc("add", "65000:77")),
                )
            ],
            _imp("nb"),
        ),
        Case(
            "neighbor-set-export",
            b(),
            sets(neighbor={"to": ["127.0.1.12", "127.0.1.22"]}),
            [policy("nb", st("s1", "reject-route", neighbor="to"))],
            _exp("nb"),
        ),
        Case(
            "neighbor-set-export-invert",
            b(),
            sets(neighbor={"to": ["127.0.1.12"]}),
            [policy("nb", st("s1", neighbor="to", nopt="invert", set_med="42"))],
            _exp("nb"),
        ),
        Case(
            "community-any-all-invert",
            [
                Route("c1", "10.{s}.1.0/24", communities=[comm("65000:1")]),
                Route("c1", "10.{s}.2.0/24", communities=[comm("65000:1"), comm("65000:2")]),
                Route("c1", "10.{s}.3.0/24", communities=[comm("65001:9")]),
                Route("e1", "10.{s}.4.0/24", communities=[comm("65535:65281")]),
                Route("e1", "10.{s}.5.0/24"),
            ],
            sets(
                community={
                    "one": ["65000:1"],
                    "both": ["65000:1", "65000:2"],
                    "re": ["^65001:"],
                    "wk": ["no-export", "4259840002"],
                }
            ),
            [
                policy(
                    "c",
                    st("a", bgp=match("community", "one"), set_med="1"),
                    st("b", bgp=match("community", "both", "all"), set_local_pref=222),
                    st(
                        "c",
                        bgp=match("community", "re", "invert"),
                        set_community=setc("add", "65000:300"),
                    ),
                    st("d", bgp=match("community", "wk"), set_community=setc("add", "65000:400")),
                )
            ],
            _imp("c"),
        ),
        Case(
            "ext-community",
            [
                Route("c1", "10.{s}.1.0/24", ext_communities=[rt(65000, 100)]),
                Route("c1", "10.{s}.2.0/24", ext_communities=[rt(65000, 100), rt(65000, 5, 3)]),
                Route("e1", "10.{s}.3.0/24", ext_communities=[rt(65001, 7)]),
            ],
            sets(ext_community={"x": ["rt:65000:100"], "y": ["soo:65000:5", "rt:^65001:"]}),
            [
                policy(
                    "e",
                    st("a", bgp=match("ext-community", "x"), set_med="11"),
                    st(
                        "b",
                        bgp=match("ext-community", "y", "all"),
                        set_ext_community=setc("add", "rt:65000:9", kind="ext-community"),
                    ),
                    st("c", bgp=match("ext-community", "x", "invert"), set_local_pref=150),
                )
            ],
            _imp("e"),
        ),
        Case(
            "ext-community-remove-replace",
            [
                Route("c1", "10.{s}.1.0/24", ext_communities=[rt(65000, 100), rt(65000, 200)]),
                Route("c1", "10.{s}.2.0/24", ext_communities=[rt(65000, 100)]),
            ],
            sets(prefix=[pset("one", "10.{s}.1.0/24"), pset("two", "10.{s}.2.0/24")]),
            [
                policy(
                    "e",
                    st(
                        "a",
                        prefix="one",
                        set_ext_community=setc("remove", "rt:65000:100", kind="ext-community"),
                    ),
                    st(
                        "b",
                        prefix="two",
                        set_ext_community=setc(
                            "replace", "rt:65000:1", "soo:192.0.2.1:3", kind="ext-community"
                        ),
                    ),
                )
            ],
            _imp("e"),
        ),
        Case(
            "large-community",
            [
                Route("c1", "10.{s}.1.0/24", large_communities=[(65000, 1, 2)]),
                Route("e1", "10.{s}.2.0/24", large_communities=[(65000, 1, 3), (65001, 0, 0)]),
            ],
            sets(large_community={"l": ["65000:1:2"], "r": ["^65000:1:"]}),
            [
                policy(
                    "l",
                    st("a", bgp=match("large-community", "l"), set_local_pref=400),
                    st(
                        "b",
                        bgp=match("large-community", "r"),
                        set_large_community=setc("remove", "^65001:", kind="large-community"),
                    ),
                    st("c", set_large_community=setc("add", "65000:9:9", kind="large-community")),
                )
            ],
            _imp("l"),
        ),
        Case(
            "as-path-sets",
            [
                Route("e1", "10.{s}.1.0/24", as_path=[(S, [65010, 65020])]),
                Route("e2", "10.{s}.2.0/24", as_path=[(S, [65030]), (AS_SET, [65010, 65040])]),
                Route("e1", "10.{s}.3.0/24", as_path=[(S, [65020, 65021])]),
                Route("c1", "10.{s}.4.0/24", as_path=[(S, [65001, 65002])]),
            ],
            sets(
                as_path={
                    "has": ["_65010_"],
                    "first": ["^65001_"],
                    "last": ["_65020$"],
                    "re": ["^65002 65030"],
                    "set": ["_65010,"],
                }
            ),
            [
                policy(
                    "a",
                    st("a", bgp=match("as-path", "has"), set_med="1"),
                    st("b", bgp=match("as-path", "first"), set_local_pref=120),
                    st("c", bgp=match("as-path", "last"), set_community=setc("add", "1:3")),
                    st("d", bgp=match("as-path", "re"), set_community=setc("add", "1:4")),
                    st(
                        "e", bgp=match("as-path", "set", "invert"), set_community=setc("add", "1:5")
                    ),
                )
            ],
            _imp("a"),
        ),
        Case(
            "as-path-length-reject",
            [
                Route("e1", "10.{s}.1.0/24", as_path=[(S, [1, 2])]),
                Route("e1", "10.{s}.2.0/24", as_path=[(S, [1]), (AS_SET, [3, 4, 5])]),
                Route("c1", "10.{s}.3.0/24", as_path=[(S, [1, 2, 3, 4])]),
            ],
            {},
            [
                policy(
                    "l",
                    st("a", "reject-route", bgp={"as-path-length": {"operator": "ge", "value": 3}}),
                )
            ],
            _imp("l"),
        ),
        Case(
            "route-type",
            b(),
            {},
            [
                policy(
                    "t",
                    st("i", bgp={"route-type": "internal"}, set_med="100"),
                    st("e", bgp={"route-type": "external"}, set_community=setc("add", "2:2")),
                )
            ],
            _imp("t"),
        ),
        Case(
            "next-hop-in-list-import",
            b(),
            {},
            [
                policy(
                    "n",
                    st(
                        "a",
                        "reject-route",
                        bgp={"next-hop-in-list": ["198.18.0.0/28", "198.18.0.21"]},
                    ),
                )
            ],
            _imp("n"),
        ),
        Case(
            "next-hop-in-list-export",
            b(),
            {},
            [policy("n", st("a", bgp={"next-hop-in-list": ["198.18.0.16/28"]}, set_med="5"))],
            _exp("n"),
        ),
        Case(
            "afi-safi-in",
            [
                Route("c1", "10.{s}.1.0/24"),
                Route("c1", "2001:db8:{s:x}:1::/64", next_hop="2001:db8:ff::1"),
            ],
            {},
            [policy("f", st("a", bgp={"afi-safi-in-list": ["ipv6-unicast"]}, set_local_pref=66))],
            _imp("f"),
        ),
        Case(
            "origin-eq",
            [Route("c1", "10.{s}.1.0/24", origin=2), Route("c1", "10.{s}.2.0/24", origin=0)],
            {},
            [policy("o", st("a", "reject-route", bgp={"origin-eq": "incomplete"}))],
            _imp("o"),
        ),
        Case(
            "communities-add-remove-replace",
            [
                Route("c1", "10.{s}.1.0/24", communities=[comm("65000:1"), comm("65000:2")]),
                Route("c1", "10.{s}.2.0/24", communities=[comm("65000:1"), comm("65001:2")]),
                Route("c1", "10.{s}.3.0/24", communities=[comm("65000:1")]),
            ],
            sets(
                prefix=[
                    pset("one", "10.{s}.1.0/24"),
                    pset("two", "10.{s}.2.0/24"),
                    pset("three", "10.{s}.3.0/24"),
                ]
            ),
            [
                policy(
                    "c",
                    st("a", prefix="one", set_community=setc("add", "65000:3", "no-advertise")),
                    st("b", prefix="two", set_community=setc("remove", "^65000:")),
                    st("c", prefix="three", set_community=setc("replace", "65009:9", "blackhole")),
                )
            ],
            _imp("c"),
        ),
        Case(
            "communities-export",
            [
                Route("c1", "10.{s}.1.0/24", communities=[comm("65000:1")]),
                Route("e1", "10.{s}.2.0/24"),
            ],
            {},
            [
                policy(
                    "c",
                    st("a", set_community=setc("add", "65000:50")),
                    st("b", set_community=setc("remove", "65000:1")),
                )
            ],
            _exp("c"),
        ),
        Case(
            "set-med",
            [
                Route("c1", "10.{s}.1.0/24", med=10),
                Route("c1", "10.{s}.2.0/24"),
                Route("c1", "10.{s}.3.0/24", med=3),
                Route("c1", "10.{s}.4.0/24", med=4294967290),
            ],
            sets(
                prefix=[
                    pset("a", "10.{s}.1.0/24"),
                    pset("b", "10.{s}.2.0/24"),
                    pset("c", "10.{s}.3.0/24"),
                    pset("d", "10.{s}.4.0/24"),
                ]
            ),
            [
                policy(
                    "m",
                    st("a", prefix="a", set_med="+5"),
                    st("b", prefix="b", set_med="-5"),
                    st("c", prefix="c", set_med="-5"),
                    st("d", prefix="d", set_med="+10"),
                )
            ],
            _imp("m"),
        ),
        Case("set-med-value-export", b(), {}, [policy("m", st("a", set_med="123"))], _exp("m")),
        Case("set-local-pref", b(), {}, [policy("l", st("a", set_local_pref=250))], _imp("l")),
        Case(
            "set-next-hop-address",
            b(),
            {},
            [policy("n", st("a", set_next_hop="198.18.1.1"))],
            _imp("n"),
        ),
        Case(
            "set-next-hop-self-import",
            b(),
            {},
            [policy("n", st("a", set_next_hop="self"))],
            _imp("n"),
        ),
        Case(
            "set-next-hop-self-export",
            b(),
            {},
            [policy("n", st("a", set_next_hop="self"))],
            _exp("n"),
        ),
        Case(
            "set-next-hop-unchanged-export",
            b(),
            {},
            [policy("n", st("a", set_next_hop="unchanged"))],
            _exp("n"),
        ),
        Case(
            "as-path-prepend-export",
            [*b(), Route("e1", "10.{s}.7.0/24", as_path=[(AS_SET, [1, 2])])],
            {},
            [policy("p", st("a", set_as_path_prepend={"as": "65100", "repeat-n": 2}))],
            _exp("p"),
        ),
        Case(
            "as-path-prepend-last-as-import",
            [*b(), Route("c1", "10.{s}.7.0/24", as_path=[(S, [64700])])],
            {},
            [policy("p", st("a", set_as_path_prepend={"as": "last-as", "repeat-n": 3}))],
            _imp("p"),
        ),
        Case(
            "as-path-prepend-own-as-import",
            b(),
            {},
            [policy("p", st("a", set_as_path_prepend={"as": "65000", "repeat-n": 1}))],
            _imp("p"),
        ),
        Case(
            "export-default-reject",
            [*b(), Route("c2", "10.{s}.8.0/24", communities=[comm("65000:8")])],
            sets(community={"ok": ["65000:8"]}),
            [policy("x", st("a", "accept-route", bgp=match("community", "ok")))],
            _exp("x", default="reject-route"),
        ),
        Case(
            "chain-none-then-match",
            b(),
            sets(community={"t": ["65000:99"]}),
            [
                policy("p1", st("a", set_community=setc("add", "65000:99"))),
                policy(
                    "p2",
                    st(
                        "b",
                        "reject-route",
                        bgp=match("community", "t"),
                        neighbor=None,
                        prefix=None,
                        set_med="1",
                    ),
                ),
            ],
            ApplyPolicy(imports=["p1"], exports=["p2"]),
        ),
        Case(
            "rs-client-policies",
            b(),
            sets(community={"x": ["65000:1"]}),
            [
                policy("r1in", st("a", set_med="+20", set_community=setc("add", "65000:1"))),
                policy("r2out", st("a", "reject-route", bgp=match("community", "x"))),
            ],
            neighbor_policy={"r1": _imp("r1in"), "r2": _exp("r2out")},
        ),
        Case(
            "rs-client-default-reject-export",
            b(),
            {},
            [
                policy(
                    "r2out",
                    st("a", "accept-route", bgp={"as-path-length": {"operator": "eq", "value": 1}}),
                )
            ],
            neighbor_policy={"r2": _exp("r2out", default="reject-route"), "r1": _imp("r2out")},
        ),
        Case(
            "implicit-withdraw-by-looped-path",
            [
                Route("c1", "10.{s}.1.0/24", as_path=[(S, [65010])]),
                Route("c1", "10.{s}.1.0/24", as_path=[(S, [65010, 65000])]),
                Route("e1", "10.{s}.2.0/24", as_path=[(S, [65010])]),
                Route("e1", "10.{s}.2.0/24", as_path=[(S, [65000])]),
            ],
            note="G7: the second announcement holds our AS and replaces the first",
        ),
        Case(
            "implicit-withdraw-by-path-through-neighbor",
            [
                Route("c1", "10.{s}.1.0/24", as_path=[(S, [65010])]),
                Route("c1", "10.{s}.1.0/24", as_path=[(S, [65010, 65002])]),
            ],
            note="G8: the second announcement holds e2's AS and replaces the first",
        ),
        Case(
            "own-path-becomes-best",
            [
                Route("c1", "10.{s}.1.0/24", as_path=[(S, [65010, 65020])]),
                Route("n1", "10.{s}.1.0/24", as_path=[(S, [65010])], phase=1),
                Route("c1", "10.{s}.2.0/24", as_path=[(S, [65010, 65020])]),
                Route("c2", "10.{s}.2.0/24", as_path=[(S, [65010])], phase=1),
                Route("e1", "10.{s}.3.0/24", as_path=[(S, [65010, 65020])]),
                Route("e2", "10.{s}.3.0/24", as_path=[(S, [65010])], phase=1),
            ],
            note="G10: the path a neighbor was sent stays there when its own path wins",
        ),
        Case(
            "best-path-through-neighbor-as",
            [
                Route("c1", "10.{s}.1.0/24", as_path=[(S, [65010])]),
                Route("c2", "10.{s}.1.0/24", as_path=[(S, [65001])], local_pref=200, phase=1),
                Route("c2", "10.{s}.2.0/24", as_path=[(S, [65001])], local_pref=200),
                Route("c1", "10.{s}.2.0/24", as_path=[(S, [65010])], phase=1),
            ],
            note="G8: the best path holds e1's AS; e1 had (.1) or never had (.2) another",
        ),
    ]
    return cases
