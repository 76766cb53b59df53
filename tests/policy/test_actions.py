"""Every action: the attribute block it gives, gobgpd 3.10's edge cases included."""

from __future__ import annotations

import ipaddress

import pytest

from bgprr.policy import PeerInfo, Rewrite, Route
from bgprr.rib.intern import AttrSet
from bgprr.wire.attributes import walk_attributes
from tests.policy.helpers import attrs, c, import_point, peer, route, rt, statement, view

BGP = "[policy-definitions.statements.actions.bgp-actions]\n"
ACCEPT = 'route-disposition = "accept-route"\n'


def run(actions: str, r: Route | None = None, p: PeerInfo | None = None) -> AttrSet | Rewrite:
    point = import_point(statement("", ACCEPT + actions))
    verdict = point.apply(r if r is not None else route(), p)
    assert verdict is not None
    return verdict


def community_action(kind: str, option: str, *values: str) -> str:
    items = ", ".join(f'"{v}"' for v in values)
    method = f"set-{kind}-method"
    return (
        f"[policy-definitions.statements.actions.bgp-actions.set-{kind}]\n"
        f'options = "{option}"\n'
        f"[policy-definitions.statements.actions.bgp-actions.set-{kind}.{method}]\n"
        f"communities-list = [{items}]\n"
    )


def types_in_order(verdict: AttrSet | Rewrite) -> list[int]:
    return [t for t, *_ in walk_attributes(verdict.raw)]


# -- communities -----------------------------------------------------------------------


def test_community_add_creates_in_type_order() -> None:
    verdict = run(community_action("community", "add", "65000:1", "no-export"))
    assert isinstance(verdict, Rewrite)
    assert view(verdict).communities == (c("65000:1"), 0xFFFFFF01)
    assert types_in_order(verdict) == sorted(types_in_order(verdict))


def test_community_add_appends_even_duplicates() -> None:
    r = route(a=attrs(communities=(c("65000:1"),)))
    verdict = run(community_action("community", "add", "65000:1", "1"), r)
    assert view(verdict).communities == (c("65000:1"), c("65000:1"), 1)


def test_community_replace_and_replace_empty_removes() -> None:
    r = route(a=attrs(communities=(c("65000:1"), c("65000:2"))))
    assert view(run(community_action("community", "replace", "1:1"), r)).communities == (c("1:1"),)
    verdict = run(community_action("community", "replace"), r)
    assert 8 not in types_in_order(verdict)


def test_community_remove_by_pattern() -> None:
    r = route(a=attrs(communities=(c("65000:1"), c("65000:2"), c("65001:1"), 0xFFFFFF01)))
    verdict = run(community_action("community", "remove", "^65000:.*$", "no-export"), r)
    assert view(verdict).communities == (c("65001:1"),)
    verdict = run(community_action("community", "remove", "65000:1"), r)  # anchored
    assert view(verdict).communities == (c("65000:2"), c("65001:1"), 0xFFFFFF01)
    gone = run(community_action("community", "remove", ".*"), r)
    assert 8 not in types_in_order(gone)


def test_community_remove_of_nothing_is_unchanged_same_object() -> None:
    a = attrs(communities=(c("65000:1"),))
    verdict = run(community_action("community", "remove", "9:9"), route(a=a))
    assert verdict is a


def test_large_community_actions() -> None:
    r = route(a=attrs(large_communities=((1, 2, 3),)))
    assert view(run(community_action("large-community", "add", "4:5:6"), r)).large_communities == (
        (1, 2, 3),
        (4, 5, 6),
    )
    assert view(
        run(community_action("large-community", "replace", "7:8:9"), r)
    ).large_communities == ((7, 8, 9),)
    assert 32 not in types_in_order(run(community_action("large-community", "remove", "^1:"), r))


def test_ext_community_actions() -> None:
    r = route(a=attrs(ext_communities=(rt(65000, 1),)))
    added = run(community_action("ext-community", "add", "rt:65000:2", "soo:192.0.2.1:3"), r)
    assert view(added).ext_communities == (
        rt(65000, 1),
        rt(65000, 2),
        bytes((0x01, 0x03, 192, 0, 2, 1, 0, 3)),
    )
    four = run(community_action("ext-community", "replace", "rt:1.2:3"), r)
    assert view(four).ext_communities == (bytes((0x02, 0x02, 0, 1, 0, 2, 0, 3)),)
    kept = run(community_action("ext-community", "remove", "soo:65000:1"), r)  # other subtype
    assert kept is r.attrs
    gone = run(community_action("ext-community", "remove", "rt:65000:1"), r)
    assert 16 not in types_in_order(gone)


def test_ext_community_remove_drops_non_transitive() -> None:
    """gobgpd 3.10's remove keeps only transitive communities that match no pattern."""
    non_transitive = bytes((0x40, 0x02)) + (1).to_bytes(2, "big") + (1).to_bytes(4, "big")
    r = route(a=attrs(ext_communities=(non_transitive, rt(65000, 1))))
    verdict = run(community_action("ext-community", "remove", "rt:9:9"), r)
    assert view(verdict).ext_communities == (rt(65000, 1),)


# -- MED, local preference -------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "action", "after"),
    [
        (None, '"100"', 100),
        (50, "100", 100),  # a TOML integer, as gobgpd's weak decoding reads it
        (50, '"+10"', 60),
        (None, '"+10"', 10),
        (50, '"-10"', 40),
        (5, '"-10"', 5),  # below 0: unchanged
        (0xFFFFFFFF, '"+1"', 0xFFFFFFFF),  # above 2**32-1: unchanged
        (5, '"0"', 0),
    ],
)
def test_set_med(before: int | None, action: str, after: int) -> None:
    verdict = run(BGP + f"set-med = {action}\n", route(a=attrs(med=before)))
    assert view(verdict).med == after


def test_set_local_pref_and_zero_means_no_action() -> None:
    assert view(run(BGP + "set-local-pref = 300\n")).local_pref == 300
    a = attrs(local_pref=100)
    assert run(BGP + "set-local-pref = 0\n", route(a=a)) is a


# -- AS_PATH prepend -------------------------------------------------------------------


def prepend(asn: str, repeat: int) -> str:
    return (
        "[policy-definitions.statements.actions.bgp-actions.set-as-path-prepend]\n"
        f"as = {asn}\nrepeat-n = {repeat}\n"
    )


def test_prepend_number_into_first_sequence() -> None:
    verdict = run(prepend('"65100"', 2), route(a=attrs(as_path=((2, (65001,)),))))
    assert view(verdict).as_path == ((2, (65100, 65100, 65001)),)
    integer = run(prepend("65100", 1), route(a=attrs(as_path=((2, (65001,)),))))
    assert view(integer).as_path == ((2, (65100, 65001)),)


def test_prepend_last_as() -> None:
    verdict = run(prepend('"last-as"', 3), route(a=attrs(as_path=((2, (65001, 65002)),))))
    assert view(verdict).as_path == ((2, (65001, 65001, 65001, 65001, 65002)),)


@pytest.mark.parametrize("path", [(), ((1, (65001, 65002)),)], ids=["empty", "as-set-first"])
def test_prepend_last_as_without_a_leading_sequence_does_nothing(path: tuple[object, ...]) -> None:
    a = attrs(as_path=path)  # type: ignore[arg-type]
    assert run(prepend('"last-as"', 2), route(a=a)) is a


def test_prepend_before_a_set_and_on_empty_path() -> None:
    verdict = run(prepend('"7"', 2), route(a=attrs(as_path=((1, (1, 2)),))))
    assert view(verdict).as_path == ((2, (7, 7)), (1, (1, 2)))
    empty = run(prepend('"7"', 1), route(a=attrs(as_path=())))
    assert view(empty).as_path == ((2, (7,)),)


def test_prepend_overflow_opens_a_new_segment() -> None:
    full = tuple(range(1, 255))  # 254 ASNs
    verdict = run(prepend('"7"', 3), route(a=attrs(as_path=((2, full),))))
    assert view(verdict).as_path == ((2, (7, 7)), (2, (7, *full)))


# -- next hop --------------------------------------------------------------------------


def nh(value: str) -> str:
    return BGP + f'set-next-hop = "{value}"\n'


def test_next_hop_address_ipv4() -> None:
    verdict = run(nh("198.51.100.1"))
    assert view(verdict).next_hop == ipaddress.IPv4Address("198.51.100.1").packed


def test_next_hop_self_uses_the_peers_local_address() -> None:
    verdict = run(nh("self"), p=peer(local_address="10.9.9.9"))
    assert view(verdict).next_hop == ipaddress.IPv4Address("10.9.9.9").packed
    a = attrs()
    assert run(nh("SELF"), route(a=a), None) is a  # no peer: nothing to set


def test_next_hop_ipv6_route() -> None:
    r = route("2001:db8::/32", attrs(mp_next_hop=bytes(32)))
    verdict = run(nh("2001:db8::1"), r)
    assert isinstance(verdict, Rewrite)
    assert verdict.next_hop == ipaddress.IPv6Address("2001:db8::1").packed
    mapped = run(nh("192.0.2.1"), r)
    assert isinstance(mapped, Rewrite)
    assert mapped.next_hop == ipaddress.IPv6Address("::ffff:192.0.2.1").packed
    own = run(nh("self"), r, peer("2001:db8::2", local_address="2001:db8::99"))
    assert isinstance(own, Rewrite)
    assert own.next_hop == ipaddress.IPv6Address("2001:db8::99").packed


def test_next_hop_ipv6_address_on_ipv4_route_and_unchanged_do_nothing() -> None:
    a = attrs()
    assert run(nh("2001:db8::1"), route(a=a)) is a
    assert run(nh("unchanged"), route(a=a)) is a


def test_actions_keep_other_attributes_byte_for_byte() -> None:
    a = attrs(med=5, communities=(1,), large_communities=((1, 1, 1),))
    verdict = run(BGP + "set-local-pref = 7\n", route(a=a))
    kept = [a.raw[s:e] for t, s, _v, e in walk_attributes(a.raw)]
    new = [verdict.raw[s:e] for t, s, _v, e in walk_attributes(verdict.raw) if t != 5]
    assert kept == new
