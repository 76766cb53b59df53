"""${VAR} templates: the expander alone (examples, exact errors, properties), then inside
configuration files (typed keys, errors naming file and key, `bgprr check`, the CLI)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.config import ConfigError, check_main, load_config, load_config_text
from bgprr.config.template import TemplateError, escape, expand

ENV = {"A": "1", "EMPTY": "", "ASN": "64512", "NESTED": "${A}", "SP": " x "}

# -- the expander ----------------------------------------------------------------------

EXPANDS: list[tuple[str, str]] = [
    ("plain", "plain"),
    ("${A}", "1"),
    ("x${A}y${A}", "x1y1"),
    ("${EMPTY}", ""),
    ("${EMPTY:-d}", "d"),  # :- also replaces an empty value, as in the shell
    ("${EMPTY-d}", ""),  # - only an unset one
    ("${UNSET:-d}", "d"),
    ("${UNSET-d}", "d"),
    ("${UNSET:-}", ""),
    ("${A:-d}", "1"),
    ("${UNSET:-${A}}", "1"),  # a default may hold a template
    ("${A:-${UNSET}}", "1"),  # ... expanded only when used
    ("${UNSET:-a b:c-d}", "a b:c-d"),
    ("${UNSET:-x}}", "x}"),  # the default ends at the first }
    ("$${A}", "${A}"),
    ("$A $ $$ {A} pa$$word", "$A $ $$ {A} pa$$word"),  # only ${ is special
    ("${NESTED}", "${A}"),  # values are not expanded again
    ("${SP}", " x "),
]


@pytest.mark.parametrize(("template", "want"), EXPANDS, ids=[t for t, _ in EXPANDS])
def test_expand(template: str, want: str) -> None:
    assert expand(template, ENV).text == want


def test_expansion_names_what_it_used() -> None:
    done = expand("${A}/${UNSET:-${ASN}}/${EMPTY-z}", ENV)
    assert done.text == "1/64512/"
    assert done.names == ("A", "ASN", "EMPTY")
    assert done.defaulted == ("UNSET",)
    assert done.templated
    assert not expand("$${A}", ENV).templated


FAILS: list[tuple[str, str]] = [
    (
        "${UNSET}",
        "${UNSET} is not set in the environment (use ${UNSET:-default} for a default)",
    ),
    (
        "${UNSET:-${ALSO_UNSET}}",
        "${ALSO_UNSET} is not set in the environment (use ${ALSO_UNSET:-default} for a default)",
    ),
    ("${", 'unterminated template "${" (no closing }; write $${ for a literal ${)'),
    ("a${A", 'unterminated template "${A" (no closing }; write $${ for a literal ${)'),
    ("${A:-x", 'unterminated template "${A:-x" (no closing }; write $${ for a literal ${)'),
    ("${}", 'empty variable name in "${}"'),
    (
        "${1X}",
        'invalid variable name in "${1X}" (letters, digits and _, not starting with a digit)',
    ),
    (
        "${A B}",
        'unsupported template "${A B}": only ${VAR}, ${VAR:-default} and ${VAR-default} '
        "are supported",
    ),
    (
        "${A:?required}",
        'unsupported template "${A:?required}": only ${VAR}, ${VAR:-default} and '
        "${VAR-default} are supported",
    ),
    (
        "${A:+x}",
        'unsupported template "${A:+x}": only ${VAR}, ${VAR:-default} and ${VAR-default} '
        "are supported",
    ),
    # a malformed default is refused even where it is not used
    ("${A:-${}}", 'empty variable name in "${}"'),
]


@pytest.mark.parametrize(("template", "message"), FAILS, ids=[t for t, _ in FAILS])
def test_expand_refuses(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        expand(template, ENV)
    assert str(info.value) == message


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
DEFAULTS = st.text(st.characters(blacklist_characters="$}", blacklist_categories=["Cs"]))
ENVS = st.dictionaries(NAMES, st.text(), max_size=5)


@given(st.text().filter(lambda s: "$" not in s), ENVS)
def test_text_without_dollar_is_unchanged(text: str, env: dict[str, str]) -> None:
    done = expand(text, env)
    assert done.text == text and not done.templated


@given(st.text(), ENVS)
def test_escape_expands_to_itself(text: str, env: dict[str, str]) -> None:
    assert expand(escape(text), env).text == text


@given(NAMES, st.text(), DEFAULTS, st.text().filter(lambda s: "$" not in s))
def test_generated_names_and_defaults(name: str, value: str, default: str, around: str) -> None:
    set_ = {name: value}
    assert expand(f"{around}${{{name}}}{around}", set_).text == around + value + around
    assert expand(f"${{{name}:-{default}}}", {}).text == default
    assert expand(f"${{{name}-{default}}}", {}).text == default
    assert expand(f"${{{name}:-{default}}}", {name: ""}).text == default
    assert expand(f"${{{name}-{default}}}", {name: ""}).text == ""
    want = value if value else default
    assert expand(f"${{{name}:-{default}}}", set_).text == want
    with pytest.raises(TemplateError, match="is not set in the environment"):
        expand(f"${{{name}}}", {})


@settings(max_examples=300)
@given(st.text(alphabet="${}:-_aA1 ?+", max_size=12))
def test_garbage_expands_or_raises_template_error(text: str) -> None:
    try:
        done = expand(text, {"A": "v", "a": ""})
    except TemplateError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(done.text, str)


# -- in a configuration ----------------------------------------------------------------

TEMPLATED = """
[global.config]
as = "${ASN}"
router-id = "${ROUTER_IP}"
port = "${BGP_PORT:-179}"
local-address-list = ["${LISTEN:-127.0.0.1}", "::1"]

[[neighbors]]
[neighbors.config]
neighbor-address = "${NODE:-10.0.0.1}"
peer-as = "${PEER_AS:-${ASN}}"
auth-password = "${BGP_PASSWORD}"
description = "price $$5, literal $${NODE}"
[neighbors.timers.config]
hold-time = "${HOLD:-90}"
keepalive-interval = "${KEEPALIVE:-2.5}"
[neighbors.transport.config]
passive-mode = "${PASSIVE:-true}"
[neighbors.route-reflector.config]
route-reflector-client = "${RR_CLIENT:-TRUE}"
route-reflector-cluster-id = "${CLUSTER_ID:-7}"
"""

RR_ENV = {"ASN": "64512", "ROUTER_IP": "10.0.0.9", "BGP_PASSWORD": "s3cret-from-env"}


def test_templated_values_are_typed_by_the_schema() -> None:
    config = load_config_text(TEMPLATED, source_name="rr.toml", env=RR_ENV)
    g = config.global_
    assert (g.asn, g.router_id, g.local_address_list) == (64512, "10.0.0.9", ("127.0.0.1", "::1"))
    (n,) = config.neighbors
    assert n.address == "10.0.0.1" and n.peer_as == 64512
    assert n.auth_password == "s3cret-from-env"
    assert n.description == "price $$5, literal ${NODE}"
    assert (n.hold_time, n.keepalive_interval, n.passive, n.rr_client) == (90, 2.5, True, True)
    assert n.cluster_id == "0.0.0.7"
    other = load_config_text(
        TEMPLATED,
        env={**RR_ENV, "PEER_AS": "65001", "RR_CLIENT": "false", "HOLD": " 30 ", "LISTEN": ""},
        source_name="rr.toml",
    )
    (m,) = other.neighbors
    assert (m.peer_as, m.rr_client, m.hold_time) == (65001, False, 30)
    assert other.global_.local_address_list == ("127.0.0.1", "::1")  # :- and empty


def test_without_env_the_text_is_literal() -> None:
    text = '[global.config]\nas = 1\nrouter-id = "1.1.1.1"\n' + (
        '[[neighbors]]\n[neighbors.config]\nneighbor-address = "10.0.0.1"\npeer-as = 1\n'
        'description = "${HOME} $${x}"\n'
    )
    (n,) = load_config_text(text).neighbors
    assert n.description == "${HOME} $${x}"
    with pytest.raises(ConfigError, match=r"^<config>: global.config.router-id: "):
        load_config_text(text.replace('"1.1.1.1"', '"${IP}"'))


def test_keys_are_not_expanded() -> None:
    text = json.dumps({"global": {"config": {"${KEY}": 1, "router-id": "1.1.1.1"}}})
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "json", "rr.json", env={"KEY": "as"})
    assert str(info.value) == "rr.json: global.config.${key}: unknown key"


def test_yaml_plain_scalar_template() -> None:
    pytest.importorskip("yaml")
    text = "global:\n  config:\n    as: ${ASN}\n    router-id: ${ROUTER_IP:-10.1.1.1}\n"
    g = load_config_text(text, "yaml", "rr.yaml", env={"ASN": "65000"}).global_
    assert (g.asn, g.router_id) == (65000, "10.1.1.1")


CONFIG_FAILS: list[tuple[str, dict[str, str], str]] = [
    (
        "unset",
        {"ASN": "64512", "BGP_PASSWORD": ""},
        "rr.toml: global.config.router-id: ${ROUTER_IP} is not set in the environment "
        "(use ${ROUTER_IP:-default} for a default)",
    ),
    (
        "not-a-number",
        {**RR_ENV, "ASN": "64512x"},
        'rr.toml: global.config.as: expected an integer, got "64512x" (expanded from "${ASN}")',
    ),
    (
        "out-of-range",
        {**RR_ENV, "PEER_AS": "0"},
        "rr.toml: neighbors[0].config.peer-as: 0 is out of range 1..4294967295 "
        '(expanded from "${PEER_AS:-${ASN}}")',
    ),
    (
        "not-a-bool",
        {**RR_ENV, "PASSIVE": "yes"},
        'rr.toml: neighbors[0].transport.config.passive-mode: expected true or false, got "yes" '
        '(expanded from "${PASSIVE:-true}")',
    ),
    (
        "bad-address",
        {**RR_ENV, "ROUTER_IP": ""},
        'rr.toml: global.config.router-id: "" is not a valid IPv4 address '
        '(expanded from "${ROUTER_IP}")',
    ),
    (
        "hold-time",
        {**RR_ENV, "HOLD": "2"},
        "rr.toml: neighbors[0].timers.config.hold-time: hold-time must be 0 or at least 3 "
        'seconds (RFC 4271), got 2 (expanded from "${HOLD:-90}")',
    ),
    (
        "in-a-list",
        {**RR_ENV, "LISTEN": "nowhere"},
        'rr.toml: global.config.local-address-list: "nowhere" is not a valid IP address '
        "(expanded from its templates)",
    ),
]


@pytest.mark.parametrize(
    ("env", "message"), [c[1:] for c in CONFIG_FAILS], ids=[c[0] for c in CONFIG_FAILS]
)
def test_config_template_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(TEMPLATED, source_name="rr.toml", env=env)
    assert str(info.value) == message


@pytest.mark.parametrize("bad", ["${", "${}", "${1X}", "${A:?x}"])
def test_malformed_template_names_file_and_key(bad: str) -> None:
    text = TEMPLATED.replace('"price $$5, literal $${NODE}"', json.dumps("x" + bad))
    with pytest.raises(ConfigError) as info:
        load_config_text(text, source_name="rr.toml", env=RR_ENV)
    assert str(info.value).startswith("rr.toml: neighbors[0].config.description: ")
    assert bad in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("pw${secret", "unterminated template (no closing }; write $${ for a literal ${)"),
        (
            "pw${1secret}",
            "invalid variable name (letters, digits and _, not starting with a digit)",
        ),
        (
            "pw${s:?ecret}",
            "unsupported template: only ${VAR}, ${VAR:-default} and ${VAR-default} are supported",
        ),
    ],
)
def test_password_template_errors_do_not_quote_the_value(password: str, problem: str) -> None:
    """A password written before templates existed may hold a ${: the error names the key
    and the problem, never a part of the password."""
    text = TEMPLATED.replace('"${BGP_PASSWORD}"', json.dumps(password))
    with pytest.raises(ConfigError) as info:
        load_config_text(text, source_name="rr.toml", env=RR_ENV)
    assert str(info.value) == f"rr.toml: neighbors[0].config.auth-password: {problem}"
    assert "secret" not in str(info.value) and "ecret" not in str(info.value)


def test_load_config_reads_the_environment_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a SIGHUP reload does: load_config again, in the process's current environment."""
    path = tmp_path / "rr.toml"
    path.write_text(TEMPLATED)
    for name, value in RR_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HOLD", raising=False)
    assert load_config(str(path)).neighbors[0].hold_time == 90
    monkeypatch.setenv("HOLD", "60")
    assert load_config(str(path)).neighbors[0].hold_time == 60
    assert load_config(str(path), env={**RR_ENV, "HOLD": "30"}).neighbors[0].hold_time == 30


# -- bgprr check -----------------------------------------------------------------------


def test_check_prints_the_expanded_configuration(tmp_path: Path) -> None:
    path = tmp_path / "rr.toml"
    path.write_text(TEMPLATED)
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(path), out=out, err=err, env=RR_ENV) == 0
    assert err.getvalue() == ""
    text = out.getvalue()
    assert "s3cret-from-env" not in text  # a password from the environment is masked too
    assert '    auth-password = "********"\n' in text
    assert '  as = 64512\n  router-id = "10.0.0.9"\n' in text
    assert '    description = "price $$5, literal $${NODE}"\n' in text
    assert (
        "# Templates expanded from the environment:\n"
        "#   global.config.as: ${ASN}\n"
        "#   global.config.router-id: ${ROUTER_IP}\n"
        "#   global.config.port: the default of ${BGP_PORT}\n"
        "#   global.config.local-address-list: the default of ${LISTEN}\n"
        "#   neighbors[0].config.neighbor-address: the default of ${NODE}\n"
        "#   neighbors[0].config.peer-as: ${ASN}, the default of ${PEER_AS}\n"
        "#   neighbors[0].config.auth-password: ${BGP_PASSWORD}\n"
    ) in text
    # The output reads back (no environment needed: it holds no templates) to the same.
    again = tmp_path / "effective.toml"
    again.write_text(text)
    first = load_config_text(TEMPLATED, source_name="rr.toml", env=RR_ENV)
    second = load_config(str(again), env={})
    assert second.global_ == first.global_
    assert [n.description for n in second.neighbors] == ["price $$5, literal ${NODE}"]
    assert [n.peer_as for n in second.neighbors] == [64512]


# -- the command line ------------------------------------------------------------------

BGPRR = [sys.executable, "-m", "bgprr"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("ROUTER_IP", "ASN")}
    return subprocess.run(
        [*BGPRR, *args],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env={**base, **env},
    )


def test_cli_check_expands_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "rr.toml"
    path.write_text(TEMPLATED)
    r = _run(["check", "--config", str(path)], RR_ENV)
    assert r.returncode == 0, r.stderr
    assert '  router-id = "10.0.0.9"\n' in r.stdout
    assert "s3cret-from-env" not in r.stdout + r.stderr


@pytest.mark.parametrize("command", [["check"], []], ids=["check", "daemon"])
def test_cli_unset_variable_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "rr.toml"
    path.write_text(TEMPLATED)
    # No ROUTER_IP: refused before anything starts (nothing listens, no socket is made).
    # BGP_PORT and --api-socket: should it start after all, it would not take port 179.
    sock = ["--api-socket", str(tmp_path / "api.sock")] if command == [] else []
    r = _run([*command, "--config", str(path), *sock], {"ASN": "64512", "BGP_PORT": "17999"})
    assert r.returncode == 2
    assert r.stdout == ""
    want = (
        f"{path}: global.config.router-id: ${{ROUTER_IP}} is not set in the environment "
        "(use ${ROUTER_IP:-default} for a default)"
    )
    prefix = "bgprr: " if command == [] else ""
    assert r.stderr == prefix + want + "\n"
