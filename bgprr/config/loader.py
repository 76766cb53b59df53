"""Read a GoBGP-style configuration file (TOML, JSON or YAML) and check every key.

`load_config` / `load_config_text` are the entry points; they return the resolved
`Config` (see `bgprr.config.validate` for defaults, peer groups and contradictions).
This module turns text into a `Walked` tree: every key known, every value of the right
type, every key remembered with its full key path for error messages.
"""

from __future__ import annotations

import importlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bgprr.config.errors import ConfigError
from bgprr.config.model import Config, Value
from bgprr.config.schema import (
    NOT_SUPPORTED,
    ROOT,
    ArrayOf,
    BadValue,
    Leaf,
    Node,
    Refused,
    check_leaf,
    show,
)

FORMATS = ("toml", "json", "yaml")


@dataclass(slots=True)
class Walked:
    """One checked table: ``leaves`` maps a key path relative to this table
    (``config.peer-as``) to ``(value, full key path)``; ``arrays`` holds the arrays of
    tables below it (``afi-safis``), each element walked in turn."""

    keypath: str
    leaves: dict[str, tuple[Value, str]] = field(default_factory=dict)
    arrays: dict[str, list[Walked]] = field(default_factory=dict)

    def where(self, rel: str) -> str:
        """Full key path of ``rel`` below this table (written or not)."""
        return f"{self.keypath}.{rel}" if self.keypath else rel

    def value(self, rel: str) -> Value | None:
        item = self.leaves.get(rel)
        return None if item is None else item[0]


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
    # Imported here: validate imports this module for `Walked`.
    from bgprr.config.validate import build_config

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


# --------------------------------------------------------------------------------------
# The walk


def walk_root(raw: Mapping[str, Any], source: str) -> Walked:
    root = Walked(keypath="")
    _walk_table(raw, ROOT, "", root, source)
    return root


def _walk_table(
    raw: Mapping[str, Any], schema: Mapping[str, Node], rel: str, out: Walked, source: str
) -> None:
    seen: dict[str, str] = {}
    for orig_key, value in raw.items():
        # GoBGP reads its file through viper, which folds key case; so does bgprr.
        key = str(orig_key).lower()
        key_rel = f"{rel}.{key}" if rel else key
        where = out.where(key_rel)
        if key in seen:
            raise ConfigError(
                source, where, f"duplicate key (also written as {json.dumps(seen[key])})"
            )
        seen[key] = str(orig_key)
        node = schema.get(key)
        if node is None:
            raise ConfigError(
                source, where, _unknown(schema, key, out.where(rel) if rel else out.keypath)
            )
        if isinstance(node, Refused):
            problem = NOT_SUPPORTED if not node.why else f"{NOT_SUPPORTED} ({node.why})"
            raise ConfigError(source, where, problem)
        if isinstance(node, Leaf):
            try:
                out.leaves[key_rel] = (check_leaf(node.kind, value), where)
            except BadValue as exc:
                raise ConfigError(source, where, str(exc)) from None
        elif isinstance(node, ArrayOf):
            out.arrays[key_rel] = _walk_array(value, node, where, source)
        else:
            if not isinstance(value, dict):
                raise ConfigError(source, where, f"expected a table, got {show(value)}")
            _walk_table(value, node, key_rel, out, source)


def _walk_array(value: object, node: ArrayOf, where: str, source: str) -> list[Walked]:
    if isinstance(value, dict):
        raise ConfigError(
            source, where, "expected an array of tables ([[...]] in TOML), got a table"
        )
    if not isinstance(value, list):
        raise ConfigError(source, where, f"expected an array of tables, got {show(value)}")
    items: list[Walked] = []
    for index, element in enumerate(value):
        item = Walked(keypath=f"{where}[{index}]")
        if not isinstance(element, dict):
            raise ConfigError(source, item.keypath, f"expected a table, got {show(element)}")
        _walk_table(element, node.table, "", item, source)
        items.append(item)
    return items


def _unknown(schema: Mapping[str, Node], key: str, parent: str) -> str:
    """'unknown key', with a hint when the key belongs one level down, in .config."""
    config = schema.get("config")
    if isinstance(config, Mapping) and key in config:
        full = f"{parent}.config.{key}" if parent else f"config.{key}"
        return f"unknown key (did you mean {full}?)"
    return "unknown key"
