"""Parsing of the library API's arguments (families, prefixes, communities, settings
tables): each raises :class:`~bgprr.api.errors.BadRequest` with a one-line reason."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from bgprr.config import PeerGroup
from bgprr.wire.prefix import key_addr, key_len, make_key, parse_prefix

from . import views
from .errors import BadRequest

__all__ = [
    "addr_order",
    "community",
    "family",
    "group_table",
    "large_community",
    "prefix",
    "table_at",
    "u32",
]


def addr_order(text: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(text)
    return (ip.version, int(ip))


def table_at(root: dict[str, Any], *path: str) -> dict[str, Any]:
    node = root
    for name in path:
        nxt = node.setdefault(name, {})
        if not isinstance(nxt, dict):
            raise BadRequest(f"settings: {name} must be a table")
        node = nxt
    return node


def group_table(group: PeerGroup) -> dict[str, Any]:
    """A peer group back as the GoBGP table it was written as."""
    table: dict[str, Any] = {}
    for rel, value in group.settings:
        *parents, leaf = rel.split(".")
        table_at(table, *parents)[leaf] = list(value) if isinstance(value, tuple) else value
    afis: list[dict[str, Any]] = []
    for settings in group.afi_safis:
        entry: dict[str, Any] = {}
        for rel, value in settings:
            *parents, leaf = rel.split(".")
            table_at(entry, *parents)[leaf] = list(value) if isinstance(value, tuple) else value
        afis.append(entry)
    if afis:
        table["afi-safis"] = afis
    return table


def family(name: str) -> tuple[int, int]:
    fam = views.FAMILIES.get(name.lower().removesuffix("-unicast"))
    if fam is None:
        raise BadRequest(f"invalid family {name!r} (ipv4 or ipv6)")
    return fam


def prefix(text: str) -> tuple[int, int]:
    try:
        afi, key = parse_prefix(text)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return afi, make_key(key_addr(key), key_len(key))


def u32(value: int, what: str) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 32:
        raise BadRequest(f"invalid {what} {value!r}")
    return value.to_bytes(4, "big")


def community(c: str | int) -> int:
    if isinstance(c, int) and not isinstance(c, bool):
        u32(c, "community")
        return c
    parts = str(c).split(":")
    if len(parts) != 2 or not all(p.isdigit() and int(p) < 1 << 16 for p in parts):
        raise BadRequest(f"invalid community {c!r} (ASN:VALUE)")
    return int(parts[0]) << 16 | int(parts[1])


def large_community(c: str | Sequence[int]) -> tuple[int, int, int]:
    parts = str(c).split(":") if isinstance(c, str) else [str(x) for x in c]
    if len(parts) != 3 or not all(p.isdigit() and int(p) < 1 << 32 for p in parts):
        raise BadRequest(f"invalid large community {c!r} (ASN:X:Y)")
    return int(parts[0]), int(parts[1]), int(parts[2])
