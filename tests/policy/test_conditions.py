"""Every condition, with gobgpd 3.10's edge cases: a statement that accepts when its
conditions hold, under a chain whose default rejects, so the verdict tells whether the
condition held."""

from __future__ import annotations

import pytest

from bgprr.policy import PeerInfo
from tests.policy.helpers import attrs, c, import_point, peer, route, rt, statement

ACCEPT = 'route-disposition = "accept-route"'


def holds(
    sets: str,
    conditions: str,
    r: object = None,
    p: PeerInfo | None = None,
) -> bool:
    point = import_point(sets + statement(conditions, ACCEPT), default="reject-route")
    r = r if r is not None else route()
    verdict = point.apply(r, p)  # type: ignore[arg-type]
    return verdict is not None


def prefix_set(*entries: tuple[str, str | None]) -> str:
    out = '[[defined-sets.prefix-sets]]\nprefix-set-name = "ps"\n'
    for prefix, rng in entries:
        out += f'[[defined-sets.prefix-sets.prefix-list]]\nip-prefix = "{prefix}"\n'
        if rng is not None:
            out += f'masklength-range = "{rng}"\n'
    return out


def match_prefix(option: str = "any") -> str:
    return (
        "[policy-definitions.statements.conditions.match-prefix-set]\n"
        f'prefix-set = "ps"\nmatch-set-options = "{option}"\n'
    )


# -- prefix sets -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "prefix", "expected"),
    [
        ((("10.0.0.0/8", None),), "10.0.0.0/8", True),
        ((("10.0.0.0/8", None),), "10.1.0.0/16", False),  # no range: exact length only
        ((("10.0.0.0/8", "16..24"),), "10.1.0.0/16", True),
        ((("10.0.0.0/8", "16..24"),), "10.1.1.0/24", True),
        ((("10.0.0.0/8", "16..24"),), "10.1.1.0/25", False),
        ((("10.0.0.0/8", "16..24"),), "10.0.0.0/8", False),
        ((("10.0.0.0/8", "16..24"),), "11.1.0.0/16", False),
        # gobgpd 3.10: only the longest covering entry decides
        ((("10.0.0.0/8", "8..32"), ("10.0.0.0/16", None)), "10.0.1.0/24", False),
        ((("10.0.0.0/8", "8..32"), ("10.0.0.0/16", None)), "10.0.0.0/16", True),
        ((("10.0.0.0/8", "8..32"), ("10.0.0.0/16", None)), "10.1.1.0/24", True),
        # two entries with the same prefix: either range
        ((("10.0.0.0/8", "9..9"), ("10.0.0.0/8", "24..24")), "10.1.1.0/24", True),
        ((("2001:db8::/32", "32..64"),), "2001:db8:1::/48", True),
        ((("0.0.0.0/0", "0..32"),), "192.0.2.0/24", True),
    ],
)
def test_prefix_set(
    entries: tuple[tuple[str, str | None], ...], prefix: str, expected: bool
) -> None:
    assert holds(prefix_set(*entries), match_prefix(), route(prefix)) is expected
    # invert flips it for a route of the set's family
    assert holds(prefix_set(*entries), match_prefix("invert"), route(prefix)) is not expected


def test_prefix_set_other_family_never_matches_even_inverted() -> None:
    sets = prefix_set(("10.0.0.0/8", "8..32"))
    v6 = route("2001:db8::/32", attrs(mp_next_hop=bytes(16)))
    assert not holds(sets, match_prefix(), v6)
    assert not holds(sets, match_prefix("invert"), v6)


def test_empty_prefix_set_matches_nothing() -> None:
    sets = '[[defined-sets.prefix-sets]]\nprefix-set-name = "ps"\n'
    assert not holds(sets, match_prefix())
    assert not holds(sets, match_prefix("invert"))


# -- neighbor sets ---------------------------------------------------------------------

NS = '[[defined-sets.neighbor-sets]]\nneighbor-set-name = "ns"\nneighbor-info-list = [{}]\n'


def match_neighbor(option: str = "any") -> str:
    return (
        "[policy-definitions.statements.conditions.match-neighbor-set]\n"
        f'neighbor-set = "ns"\nmatch-set-options = "{option}"\n'
    )


def test_neighbor_set_address_and_prefix() -> None:
    sets = NS.format('"10.0.0.2", "192.168.0.0/16"')
    assert holds(sets, match_neighbor(), p=peer("10.0.0.2"))
    assert holds(sets, match_neighbor(), p=peer("192.168.7.7"))
    assert not holds(sets, match_neighbor(), p=peer("10.0.0.3"))
    assert holds(sets, match_neighbor("invert"), p=peer("10.0.0.3"))
    assert not holds(sets, match_neighbor("invert"), p=peer("10.0.0.2"))


def test_neighbor_set_ipv6() -> None:
    sets = NS.format('"2001:db8::/64"')
    assert holds(sets, match_neighbor(), p=peer("2001:db8::2", local_address="2001:db8::1"))
    assert not holds(sets, match_neighbor(), p=peer("2001:db9::2", local_address="2001:db8::1"))
    assert not holds(sets, match_neighbor(), p=peer("10.0.0.2"))


def test_neighbor_set_local_route_without_peer_never_matches() -> None:
    sets = NS.format('"10.0.0.2"')
    assert not holds(sets, match_neighbor(), route(), None)
    assert not holds(sets, match_neighbor("invert"), route(), None)


def test_neighbor_set_falls_back_to_source() -> None:
    sets = NS.format('"10.0.0.2"')
    assert holds(sets, match_neighbor(), route(source=peer("10.0.0.2")), None)


def test_empty_neighbor_set_always_matches() -> None:
    sets = '[[defined-sets.neighbor-sets]]\nneighbor-set-name = "ns"\n'
    assert holds(sets, match_neighbor("invert"), p=peer())


# -- as-path ---------------------------------------------------------------------------


def as_set(*entries: str) -> str:
    items = ", ".join(f'"{e}"' for e in entries)
    return (
        "[[defined-sets.bgp-defined-sets.as-path-sets]]\n"
        f'as-path-set-name = "as"\nas-path-list = [{items}]\n'
    )


def match_as(option: str = "any") -> str:
    return (
        "[policy-definitions.statements.conditions.bgp-conditions.match-as-path-set]\n"
        f'as-path-set = "as"\nmatch-set-options = "{option}"\n'
    )


PATH = ((2, (65001, 65002, 65003)), (1, (65010, 65011)))


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("^65001_", True),
        ("^65002_", False),
        ("_65002_", True),
        ("_65004_", False),
        ("_65003$", False),  # the last AS_SEQUENCE-list entry is the AS_SET's 0
        ("^65001$", False),
        ("^65001 65002", True),  # regular expression on the text
        ("_65010,", True),  # AS_SET text {65010,65011}
        ("\\\\{65010,65011\\\\}$", True),
        ("^650", True),
        ("65002_65003", True),
        ("_6500_", False),
    ],
)
def test_as_path_entries(entry: str, expected: bool) -> None:
    r = route(a=attrs(as_path=PATH))
    assert holds(as_set(entry), match_as(), r) is expected


def test_as_path_origin_and_only_forms() -> None:
    r = route(a=attrs(as_path=((2, (65001, 65002)),)))
    assert holds(as_set("_65002$"), match_as(), r)
    assert holds(as_set("^65003$"), match_as(), route(a=attrs(as_path=((2, (65003,)),))))
    assert not holds(as_set("^65003$"), match_as(), route(a=attrs(as_path=((2, (65003, 1)),))))


def test_as_path_options() -> None:
    r = route(a=attrs(as_path=((2, (65001, 65002)),)))
    assert holds(as_set("_65001_", "_9_"), match_as("any"), r)
    assert not holds(as_set("_65001_", "_9_"), match_as("all"), r)
    assert holds(as_set("_65001_", "65002$"), match_as("all"), r)
    assert not holds(as_set("_65001_", "_9_"), match_as("invert"), r)
    assert holds(as_set("_8_", "_9_"), match_as("invert"), r)


def test_empty_as_path() -> None:
    r = route(a=attrs(as_path=()))
    assert not holds(as_set("_65001_"), match_as(), r)
    assert holds(as_set("^$"), match_as(), r)


# -- communities -----------------------------------------------------------------------


def community_set(kind: str, *entries: str) -> str:
    items = ", ".join(f'"{e}"' for e in entries)
    return (
        f"[[defined-sets.bgp-defined-sets.{kind}-sets]]\n"
        f'{kind}-set-name = "cs"\n{kind}-list = [{items}]\n'
    )


def match_c(kind: str, option: str = "any") -> str:
    return (
        f"[policy-definitions.statements.conditions.bgp-conditions.match-{kind}-set]\n"
        f'{kind}-set = "cs"\nmatch-set-options = "{option}"\n'
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("65000:100", True),
        ("65000:10", False),  # anchored: not a substring
        (str(c("65000:100")), True),  # a 32-bit number
        ("no-export", True),
        ("NO_EXPORT", True),
        ("^65000:.*$", True),
        ("0:1", False),
        ("65000:1.0", True),  # "." in the A:B form is any character (gobgpd's pattern)
        ("6500", False),  # a number is one community: 0:6500
        ("^6500", True),  # a plain regular expression, unanchored
        ("00:100", False),  # the A:B form is anchored at both ends
    ],
)
def test_community_entries(entry: str, expected: bool) -> None:
    r = route(a=attrs(communities=(c("65000:100"), 0xFFFFFF01)))
    assert holds(community_set("community", entry), match_c("community"), r) is expected


def test_community_options() -> None:
    r = route(a=attrs(communities=(c("65000:1"), c("65000:2"))))
    sets = community_set("community", "65000:1", "65000:3")
    assert holds(sets, match_c("community", "any"), r)
    assert not holds(sets, match_c("community", "all"), r)
    assert holds(community_set("community", "65000:1", "65000:2"), match_c("community", "all"), r)
    assert not holds(sets, match_c("community", "invert"), r)
    assert holds(community_set("community", "1:1"), match_c("community", "invert"), r)
    # no communities at all
    empty = route(a=attrs())
    assert not holds(sets, match_c("community", "any"), empty)
    assert not holds(sets, match_c("community", "all"), empty)
    assert holds(sets, match_c("community", "invert"), empty)


def test_large_community() -> None:
    r = route(a=attrs(large_communities=((65000, 1, 2), (65000, 3, 4))))
    assert holds(community_set("large-community", "65000:1:2"), match_c("large-community"), r)
    # A:B:C anywhere anchors the whole entry; anything else is searched unanchored
    assert not holds(community_set("large-community", "5000:1:2"), match_c("large-community"), r)
    assert holds(community_set("large-community", "65000:1:"), match_c("large-community"), r)
    assert holds(community_set("large-community", "^65000:3:.*$"), match_c("large-community"), r)
    both = community_set("large-community", "65000:1:2", "65000:3:4")
    assert holds(both, match_c("large-community", "all"), r)
    assert not holds(both, match_c("large-community", "invert"), r)


def test_ext_community_route_target_and_origin() -> None:
    r = route(a=attrs(ext_communities=(rt(65000, 1), rt(65000, 2, subtype=3))))
    kind = "ext-community"
    assert holds(community_set(kind, "rt:65000:1"), match_c(kind), r)
    assert not holds(community_set(kind, "soo:65000:1"), match_c(kind), r)
    assert holds(community_set(kind, "soo:65000:2"), match_c(kind), r)
    assert holds(community_set(kind, "rt:^65000:.*$"), match_c(kind), r)
    assert not holds(community_set(kind, "rt:65001:1"), match_c(kind), r)


def test_ext_community_ipv4_and_four_octet_forms() -> None:
    v4 = bytes((0x01, 0x02, 192, 0, 2, 1, 0, 7))
    as4 = bytes((0x02, 0x02)) + (65536 * 3 + 5).to_bytes(4, "big") + (9).to_bytes(2, "big")
    r = route(a=attrs(ext_communities=(v4, as4)))
    kind = "ext-community"
    assert holds(community_set(kind, "rt:192.0.2.1:7"), match_c(kind), r)
    assert holds(community_set(kind, "rt:3.5:9"), match_c(kind), r)


def test_ext_community_all_is_over_the_routes_communities() -> None:
    """gobgpd 3.10: ``all`` holds when every (transitive) extended community of the route
    matches some entry, not when every entry is matched."""
    kind = "ext-community"
    one = route(a=attrs(ext_communities=(rt(65000, 1),)))
    two = route(a=attrs(ext_communities=(rt(65000, 1), rt(65000, 2))))
    sets = community_set(kind, "rt:65000:1", "rt:65000:9")
    assert holds(sets, match_c(kind, "all"), one)  # the entry 65000:9 matches nothing
    assert not holds(sets, match_c(kind, "all"), two)
    # invert: the result of the last community looked at, negated
    assert not holds(sets, match_c(kind, "invert"), one)
    assert holds(community_set(kind, "rt:1:1"), match_c(kind, "invert"), one)


def test_ext_community_non_transitive_ignored() -> None:
    non_transitive = bytes((0x40, 0x02)) + (65000).to_bytes(2, "big") + (1).to_bytes(4, "big")
    r = route(a=attrs(ext_communities=(non_transitive,)))
    kind = "ext-community"
    assert not holds(community_set(kind, "rt:65000:1"), match_c(kind), r)


# -- scalar conditions -----------------------------------------------------------------

BGP = "[policy-definitions.statements.conditions.bgp-conditions]\n"


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [("eq", 3, True), ("eq", 2, False), ("ge", 3, True), ("ge", 4, False), ("le", 3, True),
     ("le", 2, False), ("attribute-eq", 3, True), ("attribute-ge", 2, True),
     ("attribute-le", 4, True)],
)  # fmt: skip
def test_as_path_length(operator: str, value: int, expected: bool) -> None:
    # 2 in the sequence + 1 for the AS_SET + 0 for a confederation segment
    path = ((3, (1, 2)), (2, (65001, 65002)), (1, (7, 8)))
    cond = (
        "[policy-definitions.statements.conditions.bgp-conditions.as-path-length]\n"
        f'operator = "{operator}"\nvalue = {value}\n'
    )
    assert holds("", cond, route(a=attrs(as_path=path))) is expected


@pytest.mark.parametrize(
    ("kind", "source", "expected"),
    [
        ("internal", peer(asn=65000), True),
        ("internal", peer(asn=65001), False),
        ("external", peer(asn=65001), True),
        ("external", None, False),
        ("local", None, True),
        ("local", peer(), False),
    ],
)
def test_route_type(kind: str, source: PeerInfo | None, expected: bool) -> None:
    assert holds("", BGP + f'route-type = "{kind}"\n', route(source=source)) is expected


def test_next_hop_in_list() -> None:
    cond = BGP + 'next-hop-in-list = ["192.0.2.0/24", "198.51.100.7"]\n'
    assert holds("", cond, route(a=attrs(next_hop="192.0.2.9")))
    assert holds("", cond, route(a=attrs(next_hop="198.51.100.7")))
    assert not holds("", cond, route(a=attrs(next_hop="198.51.100.8")))
    v6 = BGP + 'next-hop-in-list = ["2001:db8::/32"]\n'
    nh = bytes.fromhex("20010db8000000000000000000000001")
    assert holds("", v6, route("2001:db8:1::/48", attrs(mp_next_hop=nh)))
    assert not holds("", cond, route("2001:db8:1::/48", attrs(mp_next_hop=nh)))


def test_afi_safi_in() -> None:
    v6 = route("2001:db8::/32", attrs(mp_next_hop=bytes(16)))
    assert holds("", BGP + 'afi-safi-in-list = ["ipv4-unicast"]\n')
    assert not holds("", BGP + 'afi-safi-in-list = ["ipv4-unicast"]\n', v6)
    assert holds("", BGP + 'afi-safi-in-list = ["l2vpn-evpn", "ipv6-unicast"]\n', v6)
    assert not holds("", BGP + "afi-safi-in-list = []\n")  # written empty: never


@pytest.mark.parametrize(
    ("word", "origin", "expected"),
    [("igp", 0, True), ("egp", 1, True), ("incomplete", 2, True), ("igp", 2, False),
     ("egp", None, False)],
)  # fmt: skip
def test_origin_eq(word: str, origin: int | None, expected: bool) -> None:
    assert holds("", BGP + f'origin-eq = "{word}"\n', route(a=attrs(origin=origin))) is expected


def test_all_conditions_must_hold() -> None:
    cond = BGP + 'route-type = "internal"\norigin-eq = "igp"\n'
    assert holds("", cond, route(source=peer()))
    assert not holds("", cond, route(a=attrs(origin=1), source=peer()))
    assert not holds("", cond, route(source=peer(asn=1)))


def test_statement_without_conditions_always_holds() -> None:
    assert holds("", "")
