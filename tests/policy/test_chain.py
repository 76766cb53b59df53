"""How a chain runs (gobgpd 3.10 ``ApplyPolicy``), where it applies, caching and the
PolicyPoint properties."""

from __future__ import annotations

from bgprr.policy import ChainPoint, Direction, PolicyPoint, Rewrite, compile_policies
from bgprr.policy.compile import CACHE_SIZE
from tests.policy.helpers import attrs, c, config, peer, route, view

COMMUNITIES = """
[[defined-sets.bgp-defined-sets.community-sets]]
community-set-name = "tagged"
community-list = ["65000:1"]
[[defined-sets.prefix-sets]]
prefix-set-name = "ten"
[[defined-sets.prefix-sets.prefix-list]]
ip-prefix = "10.0.0.0/8"
masklength-range = "8..32"
"""


def stmt(policy: str, body: str) -> str:
    return f'[[policy-definitions]]\nname = "{policy}"\n{body}'


def st(name: str, disposition: str, extra: str = "") -> str:
    return (
        f'[[policy-definitions.statements]]\nname = "{name}"\n'
        f"{extra}"
        f'[policy-definitions.statements.actions]\nroute-disposition = "{disposition}"\n'
    )


TAG = (
    "[policy-definitions.statements.actions.bgp-actions.set-community]\n"
    'options = "add"\n'
    "[policy-definitions.statements.actions.bgp-actions.set-community.set-community-method]\n"
    'communities-list = ["65000:1"]\n'
)
IF_TAGGED = (
    "[policy-definitions.statements.conditions.bgp-conditions.match-community-set]\n"
    'community-set = "tagged"\n'
)
IF_TEN = '[policy-definitions.statements.conditions.match-prefix-set]\nprefix-set = "ten"\n'


def chain(body: str, names: str, default: str = "accept-route") -> ChainPoint:
    text = (
        COMMUNITIES
        + body
        + f"\n[global.apply-policy.config]\nimport-policy-list = [{names}]\n"
        + f'default-import-policy = "{default}"\n'
    )
    point = compile_policies(config(text)).global_import
    assert point is not None
    return point


def test_none_disposition_keeps_changes_for_later_statements() -> None:
    # statement 1 tags (disposition none); statement 2 matches the tag and rejects
    body = stmt("p", st("tag", "none", "") + TAG + st("drop", "reject-route", IF_TAGGED))
    point = chain(body, '"p"')
    assert point.apply(route(), None) is None


def test_changes_of_a_none_statement_survive_the_default_accept() -> None:
    point = chain(stmt("p", st("tag", "none") + TAG), '"p"')
    verdict = point.apply(route(), None)
    assert isinstance(verdict, Rewrite)
    assert view(verdict).communities == (c("65000:1"),)


def test_reject_default_rejects_even_after_changes() -> None:
    point = chain(stmt("p", st("tag", "none") + TAG), '"p"', "reject-route")
    assert point.apply(route(), None) is None


def test_first_deciding_statement_ends_the_chain() -> None:
    body = stmt("p1", st("a", "accept-route", IF_TEN)) + stmt("p2", st("b", "reject-route"))
    point = chain(body, '"p1", "p2"')
    a = attrs()
    assert point.apply(route("10.1.0.0/16", a), None) is a  # accepted by p1, p2 not run
    assert point.apply(route("192.0.2.0/24", a), None) is None  # p1 undecided, p2 rejects


def test_policy_order_is_the_apply_list_order() -> None:
    body = stmt("acc", st("a", "accept-route")) + stmt("rej", st("r", "reject-route"))
    assert chain(body, '"acc", "rej"').apply(route(), None) is not None
    assert chain(body, '"rej", "acc"').apply(route(), None) is None


def test_changes_carry_into_the_next_policy() -> None:
    body = stmt("tagger", st("t", "none") + TAG) + stmt(
        "dropper", st("d", "reject-route", IF_TAGGED)
    )
    assert chain(body, '"tagger", "dropper"').apply(route(), None) is None
    assert chain(body, '"dropper", "tagger"').apply(route(), None) is not None


def test_accept_with_changes_applies_the_changes() -> None:
    point = chain(stmt("p", st("t", "accept-route") + TAG), '"p"')
    assert view(point.apply(route(), None)).communities == (c("65000:1"),)


def test_rejecting_statement_runs_its_actions_but_rejects() -> None:
    point = chain(stmt("p", st("t", "reject-route") + TAG), '"p"')
    assert point.apply(route(), None) is None


def test_no_policy_and_accept_default_is_none_point() -> None:
    policies = compile_policies(config(stmt("p", st("a", "accept-route"))))
    assert policies.global_import is None and policies.global_export is None
    text = '[global.apply-policy.config]\ndefault-export-policy = "reject-route"\n'
    only_default = compile_policies(config(text))
    assert only_default.global_import is None
    assert only_default.global_export is not None
    assert only_default.global_export.apply(route(), peer()) is None


def test_point_properties_and_protocol() -> None:
    point: PolicyPoint = chain(stmt("p", st("a", "accept-route", IF_TEN)), '"p"')
    assert point.cacheable is False  # reads the prefix
    assert point.reads_peer is False
    tagged = chain(stmt("p", st("a", "accept-route", IF_TAGGED)), '"p"')
    assert tagged.cacheable is True
    neighbor = (
        '[[defined-sets.neighbor-sets]]\nneighbor-set-name = "n"\n'
        'neighbor-info-list = ["10.0.0.2"]\n'
        + stmt(
            "p",
            st(
                "a",
                "accept-route",
                "[policy-definitions.statements.conditions.match-neighbor-set]\n"
                'neighbor-set = "n"\n',
            ),
        )
    )
    assert chain(neighbor, '"p"').reads_peer is True
    route_type = stmt(
        "p",
        st(
            "a",
            "accept-route",
            '[policy-definitions.statements.conditions.bgp-conditions]\nroute-type = "local"\n',
        ),
    )
    assert chain(route_type, '"p"').cacheable is False


def test_cache_returns_the_same_verdict_and_stays_bounded() -> None:
    point = chain(stmt("p", st("t", "accept-route") + TAG), '"p"')
    assert point.cacheable
    r = route()
    first = point.apply(r, peer())
    assert point.apply(r, peer("10.0.0.9")) is first  # the peer is not read: one entry
    for value in range(CACHE_SIZE + 10):
        point.apply(route(a=attrs(med=value)), None)
    assert len(point._cache) <= CACHE_SIZE


def test_identity_equal_for_equal_configs_and_different_otherwise() -> None:
    body = stmt("p", st("t", "accept-route", IF_TAGGED) + TAG)
    one = chain(body, '"p"')
    two = chain(body, '"p"')
    assert one.identity == two.identity and hash(one.identity) == hash(two.identity)
    other_default = chain(body, '"p"', "reject-route")
    assert other_default.identity != one.identity
    changed_set = chain(body.replace('"65000:1"]', '"65000:2"]', 1), '"p"')
    assert changed_set.identity != one.identity


def test_route_server_client_uses_its_own_apply_policy() -> None:
    text = (
        stmt("rej", st("r", "reject-route"))
        + '[global.apply-policy.config]\nimport-policy-list = ["rej"]\n'
        + '[[peer-groups]]\n[peer-groups.config]\npeer-group-name = "g"\npeer-as = 65001\n'
        + '[peer-groups.apply-policy.config]\ndefault-export-policy = "reject-route"\n'
        + '[[neighbors]]\n[neighbors.config]\nneighbor-address = "10.0.0.2"\npeer-as = 65000\n'
        + '[neighbors.apply-policy.config]\nexport-policy-list = ["rej"]\n'
        + '[[neighbors]]\n[neighbors.config]\nneighbor-address = "10.0.0.3"\npeer-as = 65000\n'
    )
    policies = compile_policies(config(text))
    plain = peer("10.0.0.2")
    rs = peer("10.0.0.2", rs=True)
    assert policies.import_point(plain) is policies.global_import
    assert policies.import_point(None) is policies.global_import
    assert policies.export_point(plain) is None  # the global export accepts everything
    assert policies.import_point(rs) is None  # its own import chain accepts everything
    own = policies.export_point(rs)
    assert own is not None and own.apply(route(), rs) is None
    # a route-server client without apply-policy: accept all; a dynamic one: its group's
    assert policies.export_point(peer("10.0.0.3", rs=True)) is None
    group = policies.point_for(Direction.EXPORT, peer("10.5.0.1", rs=True), peer_group="g")
    assert group is not None and group.default.value == "reject-route"


def test_compile_is_deterministic() -> None:
    text = COMMUNITIES + stmt("p", st("t", "accept-route", IF_TEN + IF_TAGGED) + TAG)
    text += '[global.apply-policy.config]\nimport-policy-list = ["p"]\n'
    a = compile_policies(config(text))
    b = compile_policies(config(text))
    assert a.global_import is not None and b.global_import is not None
    assert a.global_import.identity == b.global_import.identity
    assert repr(a.global_import) == repr(b.global_import)


def test_prefix_set_chains_cache_by_which_sets_match() -> None:
    # match-prefix-set is the only prefix reader: verdicts are cached per (AttrSet,
    # family, set results), and every cached answer equals a fresh evaluation.
    point = chain(stmt("p", st("t", "accept-route", IF_TEN) + TAG), '"p"')
    assert not point.cacheable and point._split is not None
    a = attrs(med=7)
    prefixes = [f"10.{i}.0.0/16" for i in range(50)] + [f"11.{i}.0.0/16" for i in range(50)]
    prefixes += ["2001:db8::/32", "10.0.0.0/7"]
    for text in prefixes * 2:
        r = route(text, a)
        assert point.apply(r, peer()) == point._evaluate(r, peer())
    assert point.apply(route("10.3.0.0/16", a), None) is point.apply(route("10.9.9.0/24", a), None)
    assert len(point._cache) == 3  # (IPv4, in the set), (IPv4, not in it), (IPv6, not in it)


def test_chains_reading_the_route_otherwise_are_not_cached() -> None:
    route_type = (
        '[policy-definitions.statements.conditions.bgp-conditions]\nroute-type = "local"\n'
    )
    point = chain(stmt("p", st("a", "accept-route", IF_TEN + route_type) + TAG), '"p"')
    assert point._split is None
    point.apply(route("10.1.0.0/16"), peer())
    assert not point._cache


def test_classifier_answers_as_apply() -> None:
    route_type = (
        '[policy-definitions.statements.conditions.bgp-conditions]\nroute-type = "local"\n'
    )
    points = [
        chain(stmt("p", st("t", "accept-route", IF_TEN) + TAG), '"p"'),  # prefix set only
        chain(stmt("p", st("t", "reject-route", IF_TAGGED)), '"p"'),  # cacheable
        chain(stmt("p", st("a", "accept-route", IF_TEN + route_type) + TAG), '"p"'),  # neither
    ]
    for point in points:
        for a in (attrs(med=1), attrs(communities=(c("65000:1"),))):
            for src in (None, peer("10.0.0.7")):
                sample = [route(t, a, src) for t in ("10.1.0.0/16", "11.0.0.0/8", "10.0.0.0/7")]
                sample += [route("2001:db8::/32", a, src)]
                for r in sample:
                    classify = point.classifier(r.family, a, src, peer())
                    assert classify(r.key) == point._evaluate(r, peer()), (point, r)
                v4 = [r for r in sample if r.family == sample[0].family]
                classify = point.classifier(v4[0].family, a, src, peer())
                assert [classify(r.key) for r in v4] == [point._evaluate(r, peer()) for r in v4]
