"""Check a parsed configuration against the schema, key by key.

`walk_root` turns the plain data of a file into a `Walked` tree: every key known, every
value of the right type, every key remembered with its full key path for error messages.
`bgprr.config.build` makes the resolved `Config` from it.

With an environment mapping, string values are expanded first (`bgprr.config.template`);
a templated string where the key wants a number or a bool is read as one
(`bgprr.config.schema.from_text`).  Keys are never expanded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bgprr.config.errors import ConfigError
from bgprr.config.model import Value
from bgprr.config.schema import (
    NOT_SUPPORTED,
    ArrayOf,
    BadValue,
    Leaf,
    Node,
    Refused,
    check_leaf,
    from_text,
    show,
)
from bgprr.config.template import TemplateError, expand
from bgprr.config.tree import ROOT

__all__ = ["FromEnv", "Walked", "walk_root"]

#: The key whose value never appears in a message (`bgprr check` masks it too).
SECRET_KEY = "auth-password"


@dataclass(frozen=True, slots=True)
class FromEnv:
    """A value written with templates: its key path, the variables substituted and the
    variables whose default was used."""

    keypath: str
    names: tuple[str, ...]
    defaulted: tuple[str, ...]


@dataclass(slots=True)
class Walked:
    """One checked table: ``leaves`` maps a key path relative to this table
    (``config.peer-as``) to ``(value, full key path)``; ``arrays`` holds the arrays of
    tables below it (``afi-safis``), each element walked in turn."""

    keypath: str
    leaves: dict[str, tuple[Value, str]] = field(default_factory=dict)
    arrays: dict[str, list[Walked]] = field(default_factory=dict)
    from_env: list[FromEnv] = field(default_factory=list)  # filled on the root only

    def where(self, rel: str) -> str:
        """Full key path of ``rel`` below this table (written or not)."""
        return f"{self.keypath}.{rel}" if self.keypath else rel

    def value(self, rel: str) -> Value | None:
        item = self.leaves.get(rel)
        return None if item is None else item[0]


@dataclass(slots=True)
class _Walk:
    source: str
    env: Mapping[str, str] | None
    from_env: list[FromEnv]


def walk_root(raw: Mapping[str, Any], source: str, env: Mapping[str, str] | None = None) -> Walked:
    """Check ``raw`` against the schema; with ``env``, expand templates from it."""
    root = Walked(keypath="")
    _walk_table(raw, ROOT, "", root, _Walk(source, env, root.from_env))
    return root


def _walk_table(
    raw: Mapping[str, Any], schema: Mapping[str, Node], rel: str, out: Walked, ctx: _Walk
) -> None:
    source = ctx.source
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
            out.leaves[key_rel] = (_leaf(node, value, where, ctx), where)
        elif isinstance(node, ArrayOf):
            out.arrays[key_rel] = _walk_array(value, node, where, ctx)
        else:
            if not isinstance(value, dict):
                raise ConfigError(source, where, f"expected a table, got {show(value)}")
            _walk_table(value, node, key_rel, out, ctx)


def _leaf(node: Leaf, value: object, where: str, ctx: _Walk) -> Value:
    """The checked value of one key, its templates expanded first (when ``ctx.env``)."""
    written = value
    try:
        if ctx.env is not None:
            value = _expand(node, value, where, ctx.env, ctx.from_env)
        return check_leaf(node.kind, value)
    except TemplateError as exc:
        secret = where.endswith(SECRET_KEY)
        raise ConfigError(ctx.source, where, exc.masked if secret else str(exc)) from None
    except BadValue as exc:
        problem = str(exc)
        if value != written:
            shown = isinstance(written, str) and not where.endswith(SECRET_KEY)
            origin = show(written) if shown else "its templates"
            problem += f" (expanded from {origin})"
        raise ConfigError(ctx.source, where, problem) from None


def _expand(
    node: Leaf, value: object, where: str, env: Mapping[str, str], notes: list[FromEnv]
) -> object:
    if isinstance(value, str):
        done = expand(value, env)
        if done.templated:
            notes.append(FromEnv(where, done.names, done.defaulted))
            return from_text(node.kind, done.text)
        return done.text
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = [expand(item, env) for item in value]
        names = tuple(name for item in items for name in item.names)
        defaulted = tuple(name for item in items for name in item.defaulted)
        if names or defaulted:
            notes.append(FromEnv(where, names, defaulted))
        return [item.text for item in items]
    return value


def _walk_array(value: object, node: ArrayOf, where: str, ctx: _Walk) -> list[Walked]:
    source = ctx.source
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
        _walk_table(element, node.table, "", item, ctx)
        items.append(item)
    return items


def _unknown(schema: Mapping[str, Node], key: str, parent: str) -> str:
    """'unknown key', with a hint when the key belongs one level down, in .config."""
    config = schema.get("config")
    if isinstance(config, Mapping) and key in config:
        full = f"{parent}.config.{key}" if parent else f"config.{key}"
        return f"unknown key (did you mean {full}?)"
    return "unknown key"
