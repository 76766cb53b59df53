"""Read a GoBGP-style configuration file (TOML, JSON or YAML) and resolve it.

`load_config` / `load_config_text` are the entry points: text is parsed here (format,
duplicate keys), checked key by key against the schema by `bgprr.config.walk` (which
expands ``${VAR}`` templates in string values when given an environment), and turned
into the resolved `Config` by `bgprr.config.build` (defaults, peer groups,
contradictions).
"""

from __future__ import annotations

import importlib
import json
import os
import tomllib
from collections.abc import Mapping
from typing import Any

from bgprr.config.build import build_config
from bgprr.config.errors import ConfigError
from bgprr.config.model import Config
from bgprr.config.schema import show
from bgprr.config.walk import FromEnv, walk_root

FORMATS = ("toml", "json", "yaml")


def load_config(path: str, fmt: str = "toml", *, env: Mapping[str, str] | None = None) -> Config:
    """Load, check and resolve the configuration file at ``path``.

    ``${VAR}`` templates in string values are expanded from ``env``; None (the default)
    means ``os.environ`` as it is at the time of the call, so a reload (SIGHUP) sees the
    process's current environment.  Raises `ConfigError` (one-line message naming the
    file and key) on any problem.
    """
    return read_config(path, fmt, env=env)[0]


def read_config(
    path: str, fmt: str = "toml", *, env: Mapping[str, str] | None = None
) -> tuple[Config, tuple[FromEnv, ...]]:
    """`load_config`, and which values came from templates (for `bgprr check`)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"not UTF-8 text: {exc.reason}") from None
    environ: Mapping[str, str] = os.environ if env is None else env
    return _load(text, fmt, path, environ)


def load_config_text(
    text: str,
    fmt: str = "toml",
    source_name: str = "<config>",
    *,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Like `load_config`, from text already in memory.

    Unlike `load_config`, templates are expanded only when ``env`` is given (pass
    ``os.environ`` for a file's text): by default the text is taken literally, so that
    text from elsewhere (a runtime neighbor sent over the control API) never reads the
    daemon's environment.
    """
    return _load(text, fmt, source_name, env)[0]


def _load(
    text: str, fmt: str, source_name: str, env: Mapping[str, str] | None
) -> tuple[Config, tuple[FromEnv, ...]]:
    raw = parse_text(text, fmt, source_name)
    root = walk_root(raw, source_name, env)
    return build_config(root, source_name), tuple(root.from_env)


def parse_text(text: str, fmt: str, source: str) -> dict[str, Any]:
    """Text -> plain data (dicts, lists, scalars), or ConfigError."""
    name = fmt.lower()
    if name == "yml":
        name = "yaml"
    if name not in FORMATS:
        raise ConfigError(source, "", f"unknown format {fmt!r} (expected toml, json or yaml)")
    if name == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, "", f"invalid TOML: {exc}") from None
    data = _parse_json(text, source) if name == "json" else _parse_yaml(text, source)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(source, "", f"expected a table at the top level, got {show(data)}")
    return data


def _parse_json(text: str, source: str) -> object:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ConfigError(source, "", f"invalid JSON: duplicate key {json.dumps(key)}")
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            source, "", f"invalid JSON: {exc.msg} (at line {exc.lineno}, column {exc.colno})"
        ) from None


def _parse_yaml(text: str, source: str) -> object:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        raise ConfigError(
            source, "", "YAML needs PyYAML, which is not installed (pip install 'bgprr[yaml]')"
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _yaml_no_duplicates(node, source)
        return yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(source, "", f"invalid YAML: {exc}") from None


def _yaml_no_duplicates(node: Any, source: str) -> None:
    """PyYAML keeps the last of two equal keys; a configuration must not have any."""
    if node is None:
        return
    tag = type(node).__name__
    if tag == "MappingNode":
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(
                    source, "", f"invalid YAML: duplicate key {json.dumps(key)} (at line {line})"
                )
            seen.add(key)
            _yaml_no_duplicates(value_node, source)
    elif tag == "SequenceNode":
        for item in node.value:
            _yaml_no_duplicates(item, source)
