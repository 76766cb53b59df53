"""Run-time questions about a loaded `Config`: who is this connecting peer, and what
changed between two configurations (SIGHUP reload)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from bgprr.config.build import Leaves, build_neighbor
from bgprr.config.model import (
    Config,
    DynamicNeighbor,
    Neighbor,
    PeerGroup,
    Settings,
    canonical_address,
)
from bgprr.config.walk import Walked


def dynamic_range_for(config: Config, address: str) -> DynamicNeighbor | None:
    """The ``[[dynamic-neighbors]]`` entry with the longest prefix containing ``address``
    (an IPv4-mapped IPv6 address counts as the IPv4 address)."""
    canon = canonical_address(address)
    if canon is None:
        return None
    ip = ipaddress.ip_address(canon)
    best: DynamicNeighbor | None = None
    best_len = -1
    for entry in config.dynamic_neighbors:
        net = ipaddress.ip_network(entry.prefix)
        if net.version == ip.version and ip in net and net.prefixlen > best_len:
            best, best_len = entry, net.prefixlen
    return best


def neighbor_for_dynamic(config: Config, address: str) -> Neighbor | None:
    """The resolved neighbor for a peer connecting from ``address``.

    A statically configured neighbor with that address wins (it is returned as is).
    Otherwise the dynamic range with the longest matching prefix supplies the peer
    group; the result is that group's settings with GoBGP's defaults, ``passive=True``
    and ``dynamic=True``.  None when no range matches (the connection is refused).
    """
    static = config.neighbor(address)
    if static is not None:
        return static
    entry = dynamic_range_for(config, address)
    if entry is None:
        return None
    return dynamic_member(config, entry, str(canonical_address(address)))


def dynamic_member(config: Config, entry: DynamicNeighbor, address: str) -> Neighbor | None:
    """The neighbor that ``entry`` makes of a peer at ``address`` (no range lookup)."""
    group = config.peer_group(entry.peer_group)
    if group is None:  # cannot happen for a Config built by load_config
        return None
    return build_neighbor(
        _leaves(group, group.settings, config.source),
        [_walked(group, index, afi) for index, afi in enumerate(group.afi_safis)],
        address=address,
        global_=config.global_,
        peer_group=group.name,
        dynamic=True,
    )


def _base(group: PeerGroup) -> str:
    return f"peer-groups[{group.name}]"


def _leaves(group: PeerGroup, settings: Settings, source: str) -> Leaves:
    base = _base(group)
    return Leaves({rel: (value, f"{base}.{rel}") for rel, value in settings}, base, source)


def _walked(group: PeerGroup, index: int, settings: Settings) -> Walked:
    keypath = f"{_base(group)}.afi-safis[{index}]"
    return Walked(
        keypath=keypath, leaves={rel: (value, f"{keypath}.{rel}") for rel, value in settings}
    )


def config_diff(
    old: Config, new: Config
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(added, removed, changed) static neighbor addresses, each sorted by address.

    ``changed`` lists neighbors present in both whose resolved settings differ (any
    field, including inherited peer-group values).  Global settings and dynamic ranges
    are not compared here: compare ``old.global_ != new.global_`` and
    ``old.dynamic_neighbors != new.dynamic_neighbors`` / ``old.peer_groups`` directly.
    """
    before = {n.address: n for n in old.neighbors}
    after = {n.address: n for n in new.neighbors}
    added = _sorted(a for a in after if a not in before)
    removed = _sorted(a for a in before if a not in after)
    changed = _sorted(a for a in after if a in before and after[a] != before[a])
    return added, removed, changed


def _sorted(addresses: Iterable[str]) -> tuple[str, ...]:
    def key(text: str) -> tuple[int, int]:
        ip = ipaddress.ip_address(text)
        return (ip.version, int(ip))

    return tuple(sorted(addresses, key=key))
