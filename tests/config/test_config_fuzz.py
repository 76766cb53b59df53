"""Property tests: any input either loads or raises the one ConfigError (one line), and
whatever loads renders to a file that loads back to the same neighbors."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.config import ConfigError, load_config_text, render_effective

WORDS = [
    "global", "config", "as", "router-id", "port", "local-address-list", "neighbors",
    "peer-groups", "dynamic-neighbors", "neighbor-address", "peer-as", "local-as",
    "peer-group", "peer-group-name", "prefix", "timers", "hold-time", "keepalive-interval",
    "transport", "passive-mode", "local-address", "afi-safis", "afi-safi-name", "enabled",
    "graceful-restart", "route-reflector", "route-reflector-client", "state", "zebra",
    "apply-policy", "add-paths", "send-max", "Config", "AS", "bogus",
]  # fmt: skip

SCALARS = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["10.0.0.1", "2001:db8::1", "10.0.0.0/8", "ipv4-unicast", "x", "", "::"]),
    st.text(max_size=8),
    st.none(),
)

TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(WORDS), inner, max_size=4),
    ),
    max_leaves=20,
)


def _one_line(exc: ConfigError) -> None:
    text = str(exc)
    assert "\n" not in text
    assert text.startswith("fuzz.json: ")


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(WORDS), TREES, max_size=4))
def test_garbage_loads_or_raises_config_error(tree: dict[str, Any]) -> None:
    try:
        load_config_text(json.dumps(tree), "json", "fuzz.json")
    except ConfigError as exc:
        _one_line(exc)


NEIGHBOR_KEYS: dict[str, list[Any]] = {
    "config.peer-as": [64511, 64511, 65000],
    "config.description": ["d", ""],
    "config.admin-down": [True, False],
    "config.auth-password": ["pw", ""],
    "timers.config.hold-time": [0, 9, 90, 240],
    "timers.config.keepalive-interval": [1, 3.5],
    "timers.config.connect-retry": [5, 0.5],
    "transport.config.passive-mode": [True, False],
    "transport.config.local-address": ["10.9.9.9", "::1"],
    "transport.config.ttl": [1, 64],
    "ebgp-multihop.config.enabled": [True, False],
    "ttl-security.config.enabled": [True, False],
    "route-reflector.config.route-reflector-client": [True, False],
    "route-reflector.config.route-reflector-cluster-id": ["1.2.3.4", "7"],
    "graceful-restart.config.enabled": [True, False],
    "graceful-restart.config.long-lived-enabled": [True, False],
    "add-paths.config.send-max": [0, 3],
}


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *tables, leaf = path.split(".")
        for table in tables:
            node = node.setdefault(table, {})
        node[leaf] = value
    return out


NEIGHBORS = st.lists(
    st.fixed_dictionaries(
        {"config.neighbor-address": st.sampled_from(["10.0.0.1", "10.0.0.2", "2001:db8::2"])},
        optional={k: st.sampled_from(v) for k, v in NEIGHBOR_KEYS.items()},
    ),
    max_size=2,
    unique_by=lambda flat: str(flat["config.neighbor-address"]),
)


@settings(max_examples=150, deadline=None)
@given(NEIGHBORS, st.sampled_from([[], ["ipv4-unicast"], ["ipv6-unicast", "ipv4-unicast"]]))
def test_render_round_trip(neighbors: list[dict[str, Any]], families: list[str]) -> None:
    tree: dict[str, Any] = {"global": {"config": {"as": 64511, "router-id": "1.1.1.1"}}}
    tree["neighbors"] = []
    for flat in neighbors:
        entry = _nest(flat)
        if families:
            entry["afi-safis"] = [{"config": {"afi-safi-name": name}} for name in families]
        tree["neighbors"].append(entry)
    try:
        config = load_config_text(json.dumps(tree), "json", "fuzz.json")
    except ConfigError as exc:
        _one_line(exc)
        return
    again = load_config_text(render_effective(config, show_secrets=True), "toml", "fuzz.json")
    assert again.neighbors == config.neighbors
    assert again.global_ == config.global_


TEMPLATE_SCALARS = st.one_of(
    st.text(alphabet="${}:-_AB1 .", max_size=10),
    st.sampled_from(["${A}", "${B:-64512}", "${C-true}", "${D}", "1${A}", "${A:-${B}}"]),
)
TEMPLATE_TREES = st.recursive(
    TEMPLATE_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(WORDS), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(WORDS), TEMPLATE_TREES, max_size=4))
def test_templated_garbage_loads_or_raises_config_error(tree: dict[str, Any]) -> None:
    """With templates expanded, still only ConfigError, one line, naming the file."""
    env = {"A": "10.0.0.1", "B": "", "C": "64512"}
    try:
        load_config_text(json.dumps(tree), "json", "fuzz.json", env=env)
    except ConfigError as exc:
        _one_line(exc)
