"""Read a GoBGP-style configuration file (TOML, JSON or YAML) and resolve it.

`load_config` / `load_config_text` are the entry points: text is parsed here (format,
duplicate keys), checked key by key against the schema by `bgprr.config.walk`, and turned
into the resolved `Config` by `bgprr.config.build` (defaults, peer groups,
contradictions).
"""

from __future__ import annotations

import importlib
import json
import tomllib
from typing import Any

from bgprr.config.build import build_config
from bgprr.config.errors import ConfigError
from bgprr.config.model import Config
from bgprr.config.schema import show
from bgprr.config.walk import walk_root

FORMATS = ("toml", "json", "yaml")


def load_config(path: str, fmt: str = "toml") -> Config:
    """Load, check and resolve the configuration file at ``path``.

    Raises `ConfigError` (one-line message naming the file and key) on any problem.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"not UTF-8 text: {exc.reason}") from None
    return load_config_text(text, fmt, path)


def load_config_text(text: str, fmt: str = "toml", source_name: str = "<config>") -> Config:
    """Like `load_config`, from text already in memory."""
    raw = parse_text(text, fmt, source_name)
    root = walk_root(raw, source_name)
    return build_config(root, source_name)


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
