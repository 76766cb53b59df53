"""The bgprr keys that limit connections: connection-rate / connection-burst in
[global.config], max-sessions in [[dynamic-neighbors]]; and malloc-trim (after floods)."""

from __future__ import annotations

import pytest

from bgprr.config import Config, ConfigError, load_config_text, render_effective
from bgprr.config.model import (
    DEFAULT_CONNECTION_BURST,
    DEFAULT_CONNECTION_RATE,
    DEFAULT_MAX_SESSIONS,
)

BASE = """
[global.config]
as = 64512
router-id = "192.0.2.1"
{global_extra}
[[peer-groups]]
[peer-groups.config]
peer-group-name = "nodes"
peer-as = 64512
[[dynamic-neighbors]]
[dynamic-neighbors.config]
prefix = "10.0.0.0/16"
peer-group = "nodes"
{range_extra}
"""


def load(
    global_extra: str = "", range_extra: str = "", env: dict[str, str] | None = None
) -> Config:
    text = BASE.format(global_extra=global_extra, range_extra=range_extra)
    return load_config_text(text, "toml", "rr.toml", env=env)


def test_defaults() -> None:
    c = load()
    assert c.global_.connection_rate == DEFAULT_CONNECTION_RATE == 1000.0
    assert c.global_.connection_burst == DEFAULT_CONNECTION_BURST == 20000
    assert c.dynamic_neighbors[0].max_sessions == DEFAULT_MAX_SESSIONS == 20000
    text = render_effective(c)  # defaults as comments: gobgpd refuses the keys
    assert "# connection-rate = 1000  (bgprr default)" in text
    assert "# max-sessions = 20000  (bgprr default)" in text


def test_set_and_rendered() -> None:
    c = load("connection-rate = 2.5\nconnection-burst = 10", "max-sessions = 300")
    assert (c.global_.connection_rate, c.global_.connection_burst) == (2.5, 10)
    assert c.dynamic_neighbors[0].max_sessions == 300
    text = render_effective(c)
    assert "connection-rate = 2.5  # bgprr only" in text
    assert "max-sessions = 300  # bgprr only" in text
    again = load_config_text(text, "toml", "effective.toml")
    assert again.global_ == c.global_ and again.dynamic_neighbors == c.dynamic_neighbors


def test_off_and_templated() -> None:
    c = load('connection-rate = "${RATE}"', "max-sessions = 0", env={"RATE": "0"})
    assert c.global_.connection_rate == 0.0
    assert c.dynamic_neighbors[0].max_sessions == 0


@pytest.mark.parametrize(
    ("global_extra", "range_extra", "message"),
    [
        (
            "connection-rate = -1",
            "",
            "rr.toml: global.config.connection-rate: expected a number per second >= 0, got -1",
        ),
        (
            'connection-rate = "fast"',
            "",
            'rr.toml: global.config.connection-rate: expected a number per second, got "fast"',
        ),
        (
            "connection-burst = 0",
            "",
            "rr.toml: global.config.connection-burst: 0 admits no connection at all at "
            "connection-rate 1000 (connection-rate = 0 turns the limit off)",
        ),
        (
            "",
            "max-sessions = -5",
            "rr.toml: dynamic-neighbors[0].config.max-sessions: -5 is out of range 0..4294967295",
        ),
    ],
)
def test_bad_values(global_extra: str, range_extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load(global_extra, range_extra)
    assert str(exc.value) == message


def test_malloc_trim_key() -> None:
    assert load().global_.malloc_trim is True
    assert "# malloc-trim = true  (bgprr default)" in render_effective(load())
    c = load("malloc-trim = false")
    assert c.global_.malloc_trim is False
    text = render_effective(c)
    assert "malloc-trim = false  # bgprr only" in text
    assert load_config_text(text, "toml", "effective.toml").global_ == c.global_
