# ruff: noqa: E501  (the table holds exact one-line messages, longer than a code line)
"""Bad policy configurations: each is refused with exactly this one-line message
naming file and key, and ``bgprr check`` exits 2 on it; good ones load into the typed
model (docs/policy.md)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bgprr.config import ConfigError, check_main, load_config, load_config_text
from bgprr.config.policy_model import DefaultPolicy, MatchOption, SetOption
from tests.config.gobgpd_check import gobgpd_dry_run, needs_gobgpd

G = '[global.config]\nas = 65000\nrouter-id = "10.0.0.1"\n'
PS = '[[defined-sets.prefix-sets]]\nprefix-set-name = "ps"\n[[defined-sets.prefix-sets.prefix-list]]\n'


def pol(cond="", act="", name="p"):
    return (
        f'[[policy-definitions]]\nname = "{name}"\n[[policy-definitions.statements]]\n'
        f"[policy-definitions.statements.conditions]\n{cond}\n[policy-definitions.statements.actions]\n{act}\n"
    )


BGPC = "[policy-definitions.statements.conditions.bgp-conditions]\n"
BGPA = "[policy-definitions.statements.actions.bgp-actions]\n"


def setc(kind, opt, *vals):
    items = ", ".join(f'"{v}"' for v in vals)
    return (
        f'[policy-definitions.statements.actions.bgp-actions.set-{kind}]\noptions = "{opt}"\n'
        f"[policy-definitions.statements.actions.bgp-actions.set-{kind}.set-{kind}-method]\ncommunities-list = [{items}]\n"
    )


def cset(kind, *vals):
    items = ", ".join(f'"{v}"' for v in vals)
    return f'[[defined-sets.bgp-defined-sets.{kind}-sets]]\n{kind}-set-name = "s"\n{kind}-list = [{items}]\n'


# (id, TOML appended to G, the exact message for source name "rr.toml")
BAD: list[tuple[str, str, str]] = [
    (
        "undefined-prefix-set",
        pol('[policy-definitions.statements.conditions.match-prefix-set]\nprefix-set = "nope"\n'),
        'rr.toml: policy-definitions[0].statements[0].conditions.match-prefix-set.prefix-set: no such prefix-set "nope"',
    ),
    (
        "undefined-neighbor-set",
        pol(
            '[policy-definitions.statements.conditions.match-neighbor-set]\nneighbor-set = "nope"\n'
        ),
        'rr.toml: policy-definitions[0].statements[0].conditions.match-neighbor-set.neighbor-set: no such neighbor-set "nope"',
    ),
    (
        "undefined-community-set",
        pol(
            '[policy-definitions.statements.conditions.bgp-conditions.match-community-set]\ncommunity-set = "nope"\n'
        ),
        'rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.match-community-set.community-set: no such community-set "nope"',
    ),
    (
        "undefined-as-path-set",
        pol(
            '[policy-definitions.statements.conditions.bgp-conditions.match-as-path-set]\nas-path-set = "nope"\n'
        ),
        'rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.match-as-path-set.as-path-set: no such as-path-set "nope"',
    ),
    (
        "undefined-policy-global",
        '[global.apply-policy.config]\nimport-policy-list = ["nope"]\n',
        'rr.toml: global.apply-policy.config.import-policy-list[0]: no such policy "nope"',
    ),
    (
        "undefined-policy-neighbor",
        '[[neighbors]]\n[neighbors.config]\nneighbor-address = "10.0.0.2"\npeer-as = 65000\n[neighbors.apply-policy.config]\nexport-policy-list = ["nope"]\n',
        'rr.toml: neighbors[0].apply-policy.config.export-policy-list[0]: no such policy "nope"',
    ),
    (
        "undefined-policy-group",
        '[[peer-groups]]\n[peer-groups.config]\npeer-group-name = "g"\n[peer-groups.apply-policy.config]\nimport-policy-list = ["nope"]\n',
        'rr.toml: peer-groups[0].apply-policy.config.import-policy-list[0]: no such policy "nope"',
    ),
    (
        "policy-listed-twice",
        pol() + '[global.apply-policy.config]\nimport-policy-list = ["p", "p"]\n',
        'rr.toml: global.apply-policy.config.import-policy-list[1]: policy "p" is listed twice',
    ),
    (
        "bad-default",
        '[global.apply-policy.config]\ndefault-import-policy = "accept"\n',
        'rr.toml: global.apply-policy.config.default-import-policy: "accept" is not accept-route or reject-route',
    ),
    (
        "bad-as-path-regex",
        cset("as-path", "(65000"),
        'rr.toml: defined-sets.bgp-defined-sets.as-path-sets[0].as-path-list[0]: "(65000" is not a valid regular expression: missing ), unterminated subpattern at position 0',
    ),
    (
        "bad-community-regex",
        cset("community", "[0-9"),
        'rr.toml: defined-sets.bgp-defined-sets.community-sets[0].community-list[0]: "[0-9" is not a valid regular expression: unterminated character set at position 0',
    ),
    (
        "bad-large-regex",
        cset("large-community", "*1"),
        'rr.toml: defined-sets.bgp-defined-sets.large-community-sets[0].large-community-list[0]: "*1" is not a valid regular expression: nothing to repeat at position 0',
    ),
    (
        "bad-masklength-range",
        PS + 'ip-prefix = "10.0.0.0/8"\nmasklength-range = "24..16"\n',
        'rr.toml: defined-sets.prefix-sets[0].prefix-list[0].masklength-range: "24..16": 24 is more than 16',
    ),
    (
        "bad-masklength-format",
        PS + 'ip-prefix = "10.0.0.0/8"\nmasklength-range = "16-24"\n',
        'rr.toml: defined-sets.prefix-sets[0].prefix-list[0].masklength-range: "16-24" is not a range MIN..MAX',
    ),
    (
        "masklength-too-long",
        PS + 'ip-prefix = "10.0.0.0/8"\nmasklength-range = "8..33"\n',
        'rr.toml: defined-sets.prefix-sets[0].prefix-list[0].masklength-range: "8..33": 33 is longer than 32 bits',
    ),
    (
        "bad-ip-prefix",
        PS + 'ip-prefix = "10.0.0.300/8"\n',
        'rr.toml: defined-sets.prefix-sets[0].prefix-list[0].ip-prefix: "10.0.0.300/8" is not an IP address or prefix',
    ),
    (
        "mixed-families",
        PS
        + 'ip-prefix = "10.0.0.0/8"\n[[defined-sets.prefix-sets.prefix-list]]\nip-prefix = "2001:db8::/32"\n',
        'rr.toml: defined-sets.prefix-sets[0].prefix-list[1].ip-prefix: "2001:db8::/32" is IPv6 but earlier entries of prefix-set "ps" are IPv4 (one family per set)',
    ),
    (
        "bad-neighbor-info",
        '[[defined-sets.neighbor-sets]]\nneighbor-set-name = "n"\nneighbor-info-list = ["10.0.0.1", "bogus"]\n',
        'rr.toml: defined-sets.neighbor-sets[0].neighbor-info-list[1]: "bogus" is not an IP address or prefix',
    ),
    (
        "duplicate-set",
        cset("community", "1:1") + cset("community", "1:2"),
        'rr.toml: defined-sets.bgp-defined-sets.community-sets[1].community-set-name: duplicate community-set "s" (also defined-sets.bgp-defined-sets.community-sets[0])',
    ),
    (
        "set-without-name",
        '[[defined-sets.neighbor-sets]]\nneighbor-info-list = ["10.0.0.1"]\n',
        "rr.toml: defined-sets.neighbor-sets[0].neighbor-set-name: every neighbor-set needs a name",
    ),
    (
        "duplicate-policy",
        pol() + pol(),
        'rr.toml: policy-definitions[1].name: duplicate policy "p" (also policy-definitions[0])',
    ),
    (
        "duplicate-statement",
        pol(name="a").replace(
            "[[policy-definitions.statements]]\n", '[[policy-definitions.statements]]\nname = "s"\n'
        )
        + pol(name="b").replace(
            "[[policy-definitions.statements]]\n", '[[policy-definitions.statements]]\nname = "s"\n'
        ),
        'rr.toml: policy-definitions[1].statements[0].name: duplicate statement name "s" (also policy-definitions[0].statements[0]; gobgpd wants statement names unique across all policies)',
    ),
    (
        "bad-community-value",
        pol(act=setc("community", "add", "65536:1")),
        "rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-community.set-community-method.communities-list[0]: community AS part 65536 is out of range 0..65535",
    ),
    (
        "bad-community-word",
        pol(act=setc("community", "add", "nonsense")),
        'rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-community.set-community-method.communities-list[0]: "nonsense" is not a community (expected A:B, a number or a name)',
    ),
    (
        "bad-ext-community",
        pol(act=setc("ext-community", "add", "rt:65536:1")),
        'rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-ext-community.set-ext-community-method.communities-list[0]: "rt:65536:1": AS 65536 does not fit 2 octets (write it as 1.0:N, the 4-octet AS form)',
    ),
    (
        "encap-ext-community",
        cset("ext-community", "encap:vxlan"),
        'rr.toml: defined-sets.bgp-defined-sets.ext-community-sets[0].ext-community-list[0]: "encap:vxlan": encap extended communities are not supported by bgprr',
    ),
    (
        "bad-large-community",
        pol(act=setc("large-community", "replace", "1:2")),
        'rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-large-community.set-large-community-method.communities-list[0]: "1:2" is not a large community (expected A:B:C)',
    ),
    (
        "bad-set-option",
        pol(act=setc("community", "append", "1:1")),
        'rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-community.options: "append" is not one of add, remove, replace',
    ),
    (
        "bad-disposition",
        pol(act='route-disposition = "accept"'),
        'rr.toml: policy-definitions[0].statements[0].actions.route-disposition: "accept" is not one of accept-route, reject-route, none',
    ),
    (
        "bad-med",
        pol(act=BGPA + 'set-med = "x10"\n'),
        'rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-med: "x10" is not a MED action (N, +N or -N)',
    ),
    (
        "med-too-big",
        pol(act=BGPA + 'set-med = "4294967296"\n'),
        "rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-med: MED 4294967296 is out of range 0..4294967295",
    ),
    (
        "bad-next-hop",
        pol(act=BGPA + 'set-next-hop = "myself"\n'),
        'rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-next-hop: "myself" is not an IP address, "self" or "unchanged"',
    ),
    (
        "bad-prepend-as",
        pol(
            act='[policy-definitions.statements.actions.bgp-actions.set-as-path-prepend]\nas = "first-as"\nrepeat-n = 1\n'
        ),
        'rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-as-path-prepend.as: "first-as" is not an AS number or "last-as"',
    ),
    (
        "prepend-without-as",
        pol(
            act="[policy-definitions.statements.actions.bgp-actions.set-as-path-prepend]\nrepeat-n = 1\n"
        ),
        "rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-as-path-prepend.as: required when repeat-n is set",
    ),
    (
        "bad-match-option",
        pol(
            '[policy-definitions.statements.conditions.bgp-conditions.match-community-set]\ncommunity-set = "s"\nmatch-set-options = "none"\n'
        )
        + cset("community", "1:1"),
        'rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.match-community-set.match-set-options: "none" is not one of any, all, invert (for a community-set)',
    ),
    (
        "all-on-prefix-set",
        PS
        + 'ip-prefix = "10.0.0.0/8"\n'
        + pol(
            '[policy-definitions.statements.conditions.match-prefix-set]\nprefix-set = "ps"\nmatch-set-options = "all"\n'
        ),
        'rr.toml: policy-definitions[0].statements[0].conditions.match-prefix-set.match-set-options: "all" is not one of any, invert (for a prefix-set)',
    ),
    (
        "bad-operator",
        pol(BGPC.replace("]\n", ".as-path-length]\n") + 'operator = "gt"\nvalue = 3\n'),
        'rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.as-path-length.operator: "gt" is not one of attribute-eq, attribute-ge, attribute-le, eq, ge, le',
    ),
    (
        "bad-route-type",
        pol(BGPC + 'route-type = "ibgp"\n'),
        'rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.route-type: "ibgp" is not one of internal, external, local, none',
    ),
    (
        "bad-family",
        pol(BGPC + 'afi-safi-in-list = ["ipv4-anycast"]\n'),
        'rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.afi-safi-in-list[0]: unknown family "ipv4-anycast"',
    ),
    (
        "bad-origin",
        pol(BGPC + 'origin-eq = "bgp"\n'),
        'rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.origin-eq: "bgp" is not one of igp, egp, incomplete',
    ),
    (
        "bad-next-hop-in-list",
        pol(BGPC + 'next-hop-in-list = ["10.0.0.1", "x"]\n'),
        'rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.next-hop-in-list[1]: "x" is not an IP address or prefix',
    ),
    (
        "med-eq-ignored-by-gobgpd",
        pol(BGPC + "med-eq = 10\n"),
        "rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.med-eq: not supported by bgprr (gobgpd 3.10 reads it but never applies it)",
    ),
    (
        "rpki",
        pol(BGPC + 'rpki-validation-result = "valid"\n'),
        "rr.toml: policy-definitions[0].statements[0].conditions.bgp-conditions.rpki-validation-result: not supported by bgprr (bgprr has no RPKI)",
    ),
    (
        "community-set-ref",
        pol(
            act='[policy-definitions.statements.actions.bgp-actions.set-community]\noptions = "add"\n[policy-definitions.statements.actions.bgp-actions.set-community.set-community-method]\ncommunity-set-ref = "x"\n'
        ),
        "rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-community.set-community-method.community-set-ref: not supported by bgprr",
    ),
    (
        "policy-without-name",
        "[[policy-definitions]]\n[[policy-definitions.statements]]\n",
        "rr.toml: policy-definitions[0].name: every policy needs a name",
    ),
    (
        "set-med-bool",
        pol(act=BGPA + "set-med = true\n"),
        "rr.toml: policy-definitions[0].statements[0].actions.bgp-actions.set-med: expected a string or an integer, got true",
    ),
    (
        "list-not-strings",
        cset("community").replace("[]", "[1, 2]"),
        "rr.toml: defined-sets.bgp-defined-sets.community-sets[0].community-list: expected an array of strings, got an element 1",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [(t, m) for _, t, m in BAD], ids=[i for i, _, _ in BAD]
)
def test_bad_policy_config(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(G + text, "toml", "rr.toml")
    assert str(info.value) == message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "message"), [(t, m) for _, t, m in BAD[:12]], ids=[i for i, _, _ in BAD[:12]]
)
def test_check_exits_2_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rr.toml"
    path.write_text(G + text)
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(path), out=out, err=err, env={}) == 2
    assert out.getvalue() == ""
    assert err.getvalue() == message.replace("rr.toml", str(path), 1) + "\n"


def test_cli_check_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "rr.toml"
    _, text, message = BAD[0]
    path.write_text(G + text)
    done = subprocess.run(
        [sys.executable, "-m", "bgprr", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [message.replace("rr.toml", str(path), 1)]


SAMPLE = Path(__file__).with_name("policy_sample.toml")


def test_sample_loads_into_the_typed_model() -> None:
    config = load_config(str(SAMPLE), env={})
    policy = config.policy
    assert [p.name for p in policy.policies] == ["p-in", "p-out", "p-all"]
    assert policy.policies[1].statements[0].name == "p-out_stmt0"  # gobgpd's default name
    assert policy.global_apply.import_policies == ("p-in",)
    assert policy.global_apply.default_export is DefaultPolicy.REJECT
    entry = policy.prefix_set("ps1").entries[0]
    assert (entry.network.length, entry.min_length, entry.max_length) == (8, 16, 24)
    statement = policy.policy("p-in").statements[0]
    assert statement.conditions.community_set is not None
    assert statement.conditions.community_set.option is MatchOption.ALL
    assert statement.actions.set_community is not None
    assert statement.actions.set_community.option is SetOption.ADD
    assert statement.actions.set_community.values == ((65000 << 16) | 200,)
    assert policy.community_set("cs1").patterns == ("^65000:100$", "^65535:65281$", "^65001:.*$")
    assert policy.as_path_set("as1").patterns == ("65003$",)
    every = policy.policy("p-all").statements[0]
    assert every.conditions.afi_safi_in == ((2, 1),)  # l2vpn-evpn: valid, never seen
    assert every.actions.set_community is not None
    assert every.actions.set_community.option is SetOption.REMOVE  # options read in any case
    assert every.actions.set_ext_community is not None
    assert every.actions.set_ext_community.values == (
        bytes((0, 2, 0xFD, 0xE8, 0, 0, 0, 7)),
        bytes((2, 3, 0, 1, 0, 2, 0, 3)),
    )
    assert every.actions.set_med is not None and every.actions.set_med.value == 100
    neighbor = config.neighbors[0]
    assert neighbor.apply_policy is not None
    assert neighbor.apply_policy.import_policies == ("p-in",)
    assert neighbor.apply_policy.default_export is DefaultPolicy.ACCEPT


def test_members_inherit_the_group_apply_policy_key_by_key() -> None:
    text = (
        pol()
        + pol(name="q")
        + '[[peer-groups]]\n[peer-groups.config]\npeer-group-name = "g"\npeer-as = 65000\n'
        + '[peer-groups.apply-policy.config]\nimport-policy-list = ["p"]\n'
        + 'default-export-policy = "reject-route"\n'
        + '[[neighbors]]\n[neighbors.config]\nneighbor-address = "10.0.0.2"\npeer-group = "g"\n'
        + '[neighbors.apply-policy.config]\nimport-policy-list = ["q"]\n'
        + '[[neighbors]]\n[neighbors.config]\nneighbor-address = "10.0.0.3"\npeer-group = "g"\n'
    )
    config = load_config_text(G + text, "toml", "rr.toml")
    own, inherited = config.neighbors
    assert own.apply_policy is not None and inherited.apply_policy is not None
    assert own.apply_policy.import_policies == ("q",)
    assert own.apply_policy.default_export is DefaultPolicy.REJECT  # from the group
    assert inherited.apply_policy.import_policies == ("p",)
    group = config.peer_group("g")
    assert group is not None and group.apply_policy is not None
    assert group.apply_policy.default_export is DefaultPolicy.REJECT


def test_equal_files_give_equal_policy_models() -> None:
    one = load_config(str(SAMPLE), env={})
    two = load_config(str(SAMPLE), env={})
    assert one.policy == two.policy and hash(one.policy) == hash(two.policy)


@needs_gobgpd
def test_gobgpd_reads_the_sample_too() -> None:
    done = gobgpd_dry_run(SAMPLE)
    assert done.returncode == 0, done.stderr


def test_check_output_reads_back_to_the_same_policy(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(SAMPLE), out=out, err=err, env={}) == 0
    text = out.getvalue()
    assert "#   global import (routes from every neighbor, before best-path selection):" in text
    assert "#     p-in (1 statement); default accept-route" in text
    assert "#     p-out (1 statement); default reject-route" in text
    assert "#   neighbor 10.0.0.2 apply-policy:" in text
    again = tmp_path / "effective.toml"
    again.write_text(text)
    first = load_config(str(SAMPLE), env={})
    second = load_config(str(again), env={})
    assert second.policy == first.policy
    assert second.neighbors == first.neighbors


@needs_gobgpd
def test_gobgpd_reads_the_check_output(tmp_path: Path) -> None:
    out = io.StringIO()
    assert check_main(str(SAMPLE), out=out, err=io.StringIO(), env={}) == 0
    path = tmp_path / "effective.toml"
    path.write_text(out.getvalue())
    done = gobgpd_dry_run(path)
    assert done.returncode == 0, done.stderr


def test_check_summary_shows_a_route_server_clients_own_chains() -> None:
    from bgprr.config import load_config_text
    from bgprr.config.render_policy import policy_summary

    text = """
[global.config]
as = 65000
router-id = "10.0.0.1"
[[policy-definitions]]
name = "p"
[[policy-definitions.statements]]
[policy-definitions.statements.actions]
route-disposition = "reject-route"
[[neighbors]]
[neighbors.config]
neighbor-address = "10.0.0.2"
peer-as = 65002
[neighbors.route-server.config]
route-server-client = true
[neighbors.apply-policy.config]
import-policy-list = ["p"]
[[neighbors]]
[neighbors.config]
neighbor-address = "10.0.0.3"
peer-as = 65000
[neighbors.apply-policy.config]
export-policy-list = ["p"]
"""
    lines = policy_summary(load_config_text(text, "toml", "rs.toml"))
    at = lines.index("  neighbor 10.0.0.2 apply-policy:")
    assert lines[at + 1] == "    import (routes it sends): p (1 statement); default accept-route"
    assert lines[at + 2] == "    export (routes sent to it): no policy; default accept-route"
    at = lines.index("  neighbor 10.0.0.3 apply-policy:")
    assert "route-server" in lines[at + 2] and "not applied" in lines[at + 1]
