"""Hypothesis properties: the prefix-set lookup against a linear reference, compile
determinism, identity against behaviour, and the shape of rewritten blocks."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgprr.config.policy_model import Network, PrefixEntry
from bgprr.policy import Rewrite, compile_policies
from bgprr.policy.prefixes import PrefixMatcher
from bgprr.wire.attributes import PathAttrs, walk_attributes
from bgprr.wire.prefix import make_key
from tests.policy.helpers import attrs, config, peer, route

BASE = 10 << 24  # entries and queries inside 10.0.0.0/8, so that they overlap often


@st.composite
def prefixes(draw: st.DrawFn, low: int = 8) -> tuple[int, int]:
    length = draw(st.integers(low, 32))
    address = BASE | draw(st.integers(0, (1 << 24) - 1))
    mask = ((1 << length) - 1) << (32 - length) if length else 0
    return address & mask, length


@st.composite
def entries(draw: st.DrawFn) -> PrefixEntry:
    address, length = draw(prefixes())
    low = draw(st.integers(0, 32))
    high = draw(st.integers(low, 32))
    return PrefixEntry(Network(1, address, length), low, high, "")


def linear(items: list[PrefixEntry], address: int, length: int) -> bool:
    """gobgpd 3.10 by its definition: the longest entry prefix that covers the route,
    then the ranges of the entries with exactly that prefix."""
    covering = [e for e in items if e.network.length <= length and e.network.contains(1, address)]
    if not covering:
        return False
    longest = max(e.network.length for e in covering)
    return any(
        e.min_length <= length <= e.max_length for e in covering if e.network.length == longest
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(entries(), max_size=25), st.lists(prefixes(0), min_size=1, max_size=20))
def test_prefix_matcher_agrees_with_linear_reference(
    items: list[PrefixEntry], queries: list[tuple[int, int]]
) -> None:
    matcher = PrefixMatcher(1, items)
    for address, length in queries:
        assert matcher.match(make_key(address, length)) == linear(items, address, length)


@settings(max_examples=200, deadline=None)
@given(st.lists(entries(), min_size=1, max_size=10))
def test_every_entry_matches_its_own_lengths(items: list[PrefixEntry]) -> None:
    """An entry's own prefix matches when its range takes its own length: no longer
    entry can cover it, so the lookup stops at that prefix."""
    matcher = PrefixMatcher(1, items)
    for entry in items:
        net = entry.network
        if entry.min_length <= net.length <= entry.max_length:
            assert matcher.match(make_key(net.address, net.length))


# -- whole chains ----------------------------------------------------------------------

SETS = """
[[defined-sets.prefix-sets]]
prefix-set-name = "ps"
[[defined-sets.prefix-sets.prefix-list]]
ip-prefix = "10.0.0.0/8"
masklength-range = "16..24"
[[defined-sets.bgp-defined-sets.community-sets]]
community-set-name = "cs"
community-list = ["65000:1", "^65001:"]
[[defined-sets.bgp-defined-sets.as-path-sets]]
as-path-set-name = "as"
as-path-list = ["_65002_", "^65001$"]
"""

CONDITIONS = [
    '[policy-definitions.statements.conditions.match-prefix-set]\nprefix-set = "ps"\n',
    '[policy-definitions.statements.conditions.match-prefix-set]\nprefix-set = "ps"\n'
    'match-set-options = "invert"\n',
    "[policy-definitions.statements.conditions.bgp-conditions.match-community-set]\n"
    'community-set = "cs"\n',
    "[policy-definitions.statements.conditions.bgp-conditions.match-as-path-set]\n"
    'as-path-set = "as"\nmatch-set-options = "all"\n',
    "[policy-definitions.statements.conditions.bgp-conditions.as-path-length]\n"
    'operator = "le"\nvalue = 1\n',
]
ACTIONS = [
    '[policy-definitions.statements.actions.bgp-actions]\nset-med = "+5"\n',
    "[policy-definitions.statements.actions.bgp-actions]\nset-local-pref = 50\n",
    '[policy-definitions.statements.actions.bgp-actions.set-community]\noptions = "add"\n'
    "[policy-definitions.statements.actions.bgp-actions.set-community.set-community-method]\n"
    'communities-list = ["65000:1"]\n',
    "[policy-definitions.statements.actions.bgp-actions.set-community]\n"
    'options = "remove"\n'
    "[policy-definitions.statements.actions.bgp-actions.set-community.set-community-method]\n"
    'communities-list = ["^65001:.*"]\n',
    "[policy-definitions.statements.actions.bgp-actions.set-as-path-prepend]\n"
    'as = "last-as"\nrepeat-n = 2\n',
    '[policy-definitions.statements.actions.bgp-actions]\nset-next-hop = "self"\n',
]
DISPOSITIONS = ["none", "accept-route", "reject-route"]

statements = st.tuples(
    st.lists(st.sampled_from(CONDITIONS), max_size=2, unique_by=lambda s: s.split("\n")[0]),
    st.sampled_from([*ACTIONS, ""]),
    st.sampled_from(DISPOSITIONS),
)
chains = st.tuples(
    st.lists(st.lists(statements, min_size=1, max_size=3), min_size=1, max_size=3),
    st.sampled_from(["accept-route", "reject-route"]),
)


def chain_text(chain: tuple[list[list[tuple[list[str], str, str]]], str]) -> str:
    policies, default = chain
    out = SETS
    for index, body in enumerate(policies):
        out += f'[[policy-definitions]]\nname = "p{index}"\n'
        for conditions, action, disposition in body:
            out += "[[policy-definitions.statements]]\n" + "".join(conditions)
            out += f'[policy-definitions.statements.actions]\nroute-disposition = "{disposition}"\n'
            out += action
    names = ", ".join(f'"p{i}"' for i in range(len(policies)))
    out += f"[global.apply-policy.config]\nimport-policy-list = [{names}]\n"
    return out + f'default-import-policy = "{default}"\n'


ROUTES = [
    route("10.1.0.0/16", attrs(communities=(65000 << 16 | 1,))),
    route("10.1.1.0/24", attrs(as_path=((2, (65001,)),), communities=(65001 << 16 | 7,))),
    route("192.0.2.0/24", attrs(as_path=((2, (65002, 65001)),), med=3)),
    route("10.0.0.0/8", attrs(as_path=())),
]


def outcomes(text: str) -> list[object]:
    point = compile_policies(config(text)).global_import
    if point is None:
        return [r.attrs for r in ROUTES]
    out: list[object] = []
    for r in ROUTES:
        verdict = point.apply(r, peer())
        out.append(verdict if not isinstance(verdict, Rewrite) else (verdict.raw, verdict.next_hop))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains)
def test_compile_is_deterministic_and_identity_follows_config(
    chain: tuple[list[list[tuple[list[str], str, str]]], str],
) -> None:
    text = chain_text(chain)
    one = compile_policies(config(text)).global_import
    two = compile_policies(config(text)).global_import
    assert (one is None) == (two is None)
    if one is not None and two is not None:
        assert one.identity == two.identity
    assert outcomes(text) == outcomes(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains, chains)
def test_equal_identity_means_equal_results(
    a: tuple[list[list[tuple[list[str], str, str]]], str],
    b: tuple[list[list[tuple[list[str], str, str]]], str],
) -> None:
    first = compile_policies(config(chain_text(a))).global_import
    second = compile_policies(config(chain_text(b))).global_import
    assert first is not None and second is not None
    if first.identity == second.identity:
        assert outcomes(chain_text(a)) == outcomes(chain_text(b))
    else:
        assert a != b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains)
def test_rewritten_blocks_are_canonical(
    chain: tuple[list[list[tuple[list[str], str, str]]], str],
) -> None:
    point = compile_policies(config(chain_text(chain))).global_import
    assert point is not None
    for r in ROUTES:
        verdict = point.apply(r, peer())
        if verdict is None:
            continue
        if not isinstance(verdict, Rewrite):
            assert verdict is r.attrs
            continue
        assert verdict.raw != r.attrs.raw or verdict.next_hop != r.attrs.next_hop
        types = [t for t, *_ in walk_attributes(verdict.raw)]
        assert types == sorted(types) and len(set(types)) == len(types)
        assert 14 not in types and 15 not in types  # no MP_REACH / MP_UNREACH
        view = PathAttrs(verdict.raw)
        assert view.as_path is not None and view.communities is not None
