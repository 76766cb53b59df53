"""Building blocks for the policy tests: a configuration from TOML snippets, attribute
blocks, routes and peers."""

from __future__ import annotations

import ipaddress
import struct

from bgprr.config import load_config_text
from bgprr.config.model import Config
from bgprr.policy import ChainPoint, PeerInfo, Route, compile_policies
from bgprr.rib.intern import AttrSet, InternTable
from bgprr.wire.attributes import PathAttrs, encode_as_path, encode_attribute
from bgprr.wire.constants import IPV4_UNICAST, IPV6_UNICAST, AttrType
from bgprr.wire.prefix import parse_prefix

HEAD = '[global.config]\nas = 65000\nrouter-id = "10.0.0.1"\n'

TABLE = InternTable()


def config(text: str, *, source: str = "rr.toml") -> Config:
    return load_config_text(HEAD + text, "toml", source)


def statement(conditions: str = "", actions: str = "", name: str = "p") -> str:
    """One policy ``name`` with one statement; ``conditions`` / ``actions`` are TOML
    lines under [policy-definitions.statements.conditions] / [...actions] (sub-tables
    may follow)."""
    return (
        f'[[policy-definitions]]\nname = "{name}"\n[[policy-definitions.statements]]\n'
        f"[policy-definitions.statements.conditions]\n{conditions}\n"
        f"[policy-definitions.statements.actions]\n{actions}\n"
    )


def import_point(text: str, default: str = "accept-route") -> ChainPoint:
    """The global import chain of ``text`` plus an apply-policy naming policy "p"."""
    full = (
        text
        + '\n[global.apply-policy.config]\nimport-policy-list = ["p"]\n'
        + f'default-import-policy = "{default}"\n'
    )
    point = compile_policies(config(full)).global_import
    assert point is not None
    return point


def attrs(
    *,
    origin: int | None = 0,
    as_path: tuple[tuple[int, tuple[int, ...]], ...] | None = ((2, (65001, 65002)),),
    next_hop: str | None = "192.0.2.1",
    med: int | None = None,
    local_pref: int | None = None,
    communities: tuple[int, ...] = (),
    ext_communities: tuple[bytes, ...] = (),
    large_communities: tuple[tuple[int, int, int], ...] = (),
    mp_next_hop: bytes = b"",
) -> AttrSet:
    parts = []
    if origin is not None:
        parts.append(encode_attribute(0x40, AttrType.ORIGIN, bytes((origin,))))
    if as_path is not None:
        parts.append(encode_attribute(0x40, AttrType.AS_PATH, encode_as_path(as_path)))
    if next_hop is not None:
        parts.append(
            encode_attribute(0x40, AttrType.NEXT_HOP, ipaddress.IPv4Address(next_hop).packed)
        )
    if med is not None:
        parts.append(encode_attribute(0x80, AttrType.MULTI_EXIT_DISC, struct.pack(">I", med)))
    if local_pref is not None:
        parts.append(encode_attribute(0x40, AttrType.LOCAL_PREF, struct.pack(">I", local_pref)))
    if communities:
        value = struct.pack(f">{len(communities)}I", *communities)
        parts.append(encode_attribute(0xC0, AttrType.COMMUNITIES, value))
    if ext_communities:
        parts.append(
            encode_attribute(0xC0, AttrType.EXTENDED_COMMUNITIES, b"".join(ext_communities))
        )
    if large_communities:
        value = b"".join(struct.pack(">III", *c) for c in large_communities)
        parts.append(encode_attribute(0xC0, AttrType.LARGE_COMMUNITIES, value))
    return TABLE.intern(b"".join(parts), mp_next_hop)


def c(text: str) -> int:
    """``"65000:100"`` -> the community as an int."""
    high, low = text.split(":")
    return (int(high) << 16) | int(low)


def rt(asn: int, local: int, subtype: int = 2) -> bytes:
    return bytes((0x00, subtype)) + asn.to_bytes(2, "big") + local.to_bytes(4, "big")


def route(
    prefix: str = "10.1.0.0/16", a: AttrSet | None = None, source: PeerInfo | None = None
) -> Route:
    afi, key = parse_prefix(prefix)
    family = IPV4_UNICAST if afi == 1 else IPV6_UNICAST
    return Route(family, key, a if a is not None else attrs(), source)


def peer(
    address: str = "10.0.0.2",
    *,
    asn: int = 65000,
    local_as: int = 65000,
    local_address: str = "10.0.0.1",
    rs: bool = False,
) -> PeerInfo:
    return PeerInfo(
        key=address,
        address=int(ipaddress.ip_address(address)),
        asn=asn,
        local_as=local_as,
        local_address=int(ipaddress.ip_address(local_address)),
        ebgp=asn != local_as,
        route_server_client=rs,
    )


def view(verdict: object) -> PathAttrs:
    """The attributes of an accepted verdict (AttrSet or Rewrite)."""
    raw = verdict.raw
    return PathAttrs(raw)
