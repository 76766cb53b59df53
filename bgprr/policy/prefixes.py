"""Prefix sets compiled for lookup: one dict per prefix length, searched from the
longest length down (longest-prefix match in at most one dict probe per distinct length
of the set, never a scan of its entries).

gobgpd 3.10 keeps a prefix set in a crit-bit tree and asks it for the *longest* entry
that covers the route's prefix; only the mask-length ranges of that entry (of every
entry written with exactly that prefix) decide.  :class:`PrefixMatcher` answers the
same question.  So with ``10.0.0.0/8 8..32`` and ``10.0.0.0/16 16..16`` in one set,
``10.0.1.0/24`` does not match: the /16 is the longest cover and does not take /24.
"""

from __future__ import annotations

from collections.abc import Iterable

from bgprr.config.policy_model import PrefixEntry

__all__ = ["PrefixMatcher"]


class PrefixMatcher:
    """``match(key)``: does the prefix ``key`` (``(address << 8) | length``, full-width
    address, as :func:`bgprr.wire.prefix.make_key` builds it) match the set?"""

    __slots__ = ("_bits", "_lengths", "_tables")

    def __init__(self, afi: int, entries: Iterable[PrefixEntry]) -> None:
        self._bits = 32 if afi == 1 else 128
        tables: dict[int, dict[int, list[tuple[int, int]]]] = {}
        for entry in entries:
            net = entry.network
            top = net.address >> (self._bits - net.length)
            tables.setdefault(net.length, {}).setdefault(top, []).append(
                (entry.min_length, entry.max_length)
            )
        self._lengths = tuple(sorted(tables, reverse=True))
        self._tables = {
            length: {top: tuple(ranges) for top, ranges in table.items()}
            for length, table in tables.items()
        }

    def match(self, key: int) -> bool:
        plen = key & 0xFF
        address = key >> 8
        bits = self._bits
        tables = self._tables
        for length in self._lengths:
            if length > plen:
                continue
            ranges = tables[length].get(address >> (bits - length))
            if ranges is not None:
                for low, high in ranges:  # noqa: SIM110 (no generator frame per route)
                    if low <= plen <= high:
                        return True
                return False
        return False
