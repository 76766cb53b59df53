"""A small TOML writer for the configs of the differential tests (nested tables, arrays of
tables, strings, integers, booleans and lists of those)."""

from __future__ import annotations

import json
from typing import Any


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    raise TypeError(f"not a TOML scalar: {v!r}")


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _table(path: str, d: dict[str, Any], array: bool, out: list[str]) -> None:
    scalars = [(k, v) for k, v in d.items() if not isinstance(v, dict) and not _is_table_list(v)]
    if path:
        out.append(f"[[{path}]]" if array else f"[{path}]")
    out.extend(f"{k} = {_scalar(v)}" for k, v in scalars)
    for k, v in d.items():
        sub = f"{path}.{k}" if path else k
        if isinstance(v, dict):
            _table(sub, v, False, out)
        elif _is_table_list(v):
            for item in v:
                _table(sub, item, True, out)


def dumps(d: dict[str, Any]) -> str:
    out: list[str] = []
    _table("", d, False, out)
    return "\n".join(out) + "\n"
