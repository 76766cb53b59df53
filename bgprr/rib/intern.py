"""Interned, reference-counted path attribute sets.

Every path in the RIB points at an :class:`AttrSet`. Identical attributes share one object:
the interning key is the canonical attribute block *and* the MP next hop (a next-hop-only
change must give a different set). Sets are reference counted and leave the table when the
last reference is released, so a table under churn returns to its baseline size.

An AttrSet parses the fields best-path selection needs once (on first use) and caches the
block to send when reflecting, once per ``(originator_id, cluster_id)``. Sets compare and
hash by identity, which interning makes equal to comparing their bytes.
"""

from __future__ import annotations

from typing import NamedTuple

from bgprr.wire.attributes import PathAttrs, best_path_fields, reflect_block

__all__ = ["AttrSet", "BestFields", "InternTable"]


class BestFields(NamedTuple):
    """The attribute fields best-path selection reads, as in the block (None: absent)."""

    local_pref: int | None
    med: int | None
    as_path_length: int
    neighbor_as: int | None  # first AS of the first AS_SEQUENCE; None: empty / AS_SET first
    origin: int | None
    originator_id: int | None
    cluster_list: tuple[int, ...]
    communities: tuple[int, ...]  # RFC 1997, for the well-known ones reflection checks


_FIELDS = frozenset(BestFields._fields)


class AttrSet:
    """Immutable path attributes; get them from :meth:`InternTable.intern`, never build one.

    ``raw`` is the canonical attribute block (4-octet AS form, no MP_REACH/MP_UNREACH) and
    ``next_hop`` the MP_REACH next hop (16 or 32 octets for IPv6; ``b""`` for IPv4, whose
    NEXT_HOP is inside ``raw``). ``refs`` is maintained by the table.

    The best-path fields (those of :class:`BestFields`) are plain slots, filled all at once
    on the first read of any of them (``__getattr__`` runs only for an unset slot), so
    later reads cost a slot read, not a property call.
    """

    __slots__ = (
        "_reflected",
        "_view",
        "as_path_length",
        "cluster_list",
        "communities",
        "local_pref",
        "med",
        "neighbor_as",
        "next_hop",
        "origin",
        "originator_id",
        "raw",
        "refs",
    )

    local_pref: int | None
    med: int | None
    as_path_length: int
    neighbor_as: int | None
    origin: int | None
    originator_id: int | None
    cluster_list: tuple[int, ...]
    communities: tuple[int, ...]

    def __init__(self, raw: bytes, next_hop: bytes) -> None:
        self.raw = raw
        self.next_hop = next_hop
        self.refs = 0
        self._view: PathAttrs | None = None
        # one cached reflected block as (key, bytes); a dict once a second key shows up
        self._reflected: tuple[int, bytes] | dict[int, bytes] | None = None

    def __repr__(self) -> str:
        nh = f", next_hop={self.next_hop.hex()}" if self.next_hop else ""
        return f"AttrSet(raw={self.raw.hex()}{nh}, refs={self.refs})"

    def __getattr__(self, name: str) -> object:
        if name not in _FIELDS:
            raise AttributeError(f"'AttrSet' object has no attribute {name!r}")
        # one walk over the block, no view kept (a view's index dict and caches cost
        # about 1 kB per set, these fields ~100 bytes)
        (
            self.local_pref,
            self.med,
            self.as_path_length,
            self.neighbor_as,
            self.origin,
            self.originator_id,
            self.cluster_list,
            self.communities,
        ) = best_path_fields(self.raw)
        return object.__getattribute__(self, name)

    @property
    def view(self) -> PathAttrs:
        """Lazy parsed view of ``raw`` (created on first access, then kept)."""
        v = self._view
        if v is None:
            v = self._view = PathAttrs(self.raw)
        return v

    @property
    def best_fields(self) -> BestFields:
        """``(local_pref, med, as_path_length, neighbor_as, origin, originator_id,
        cluster_list, communities)`` as in the attributes (None when absent), parsed once."""
        return BestFields(
            self.local_pref,
            self.med,
            self.as_path_length,
            self.neighbor_as,
            self.origin,
            self.originator_id,
            self.cluster_list,
            self.communities,
        )

    def reflected(self, originator_id: int, cluster_id: int) -> bytes:
        """The block to send when reflecting (RFC 4456 §8: ORIGINATOR_ID added when
        absent, ``cluster_id`` prepended to CLUSTER_LIST); computed once per key."""
        key = (originator_id << 32) | cluster_id
        cache = self._reflected
        if cache is None:
            block = reflect_block(self.raw, originator_id=originator_id, cluster_id=cluster_id)
            self._reflected = (key, block)
            return block
        if isinstance(cache, tuple):
            if cache[0] == key:
                return cache[1]
            cache = self._reflected = {cache[0]: cache[1]}
        block_or_none = cache.get(key)
        if block_or_none is None:
            block_or_none = cache[key] = reflect_block(
                self.raw, originator_id=originator_id, cluster_id=cluster_id
            )
        return block_or_none


class InternTable:
    """Interning table for :class:`AttrSet` with reference counts and reclamation."""

    __slots__ = ("_bytes", "_hits", "_misses", "_reclaimed", "_refs", "_table")

    def __init__(self) -> None:
        # key: the raw block alone when there is no MP next hop, else (raw, next_hop);
        # a bytes key never equals a tuple key, so the two kinds cannot collide
        self._table: dict[bytes | tuple[bytes, bytes], AttrSet] = {}
        self._hits = 0
        self._misses = 0
        self._reclaimed = 0
        self._refs = 0
        self._bytes = 0  # len(raw) + len(next_hop) summed over the entries

    def __len__(self) -> int:
        return len(self._table)

    def intern(self, raw: bytes, next_hop: bytes = b"") -> AttrSet:
        """The AttrSet for ``(raw, next_hop)`` with one more reference (same object for
        the same bytes while it has references)."""
        key: bytes | tuple[bytes, bytes] = (raw, next_hop) if next_hop else raw
        a = self._table.get(key)
        if a is None:
            if type(raw) is not bytes:
                raw = bytes(raw)
                key = (raw, next_hop) if next_hop else raw
            a = self._table[key] = AttrSet(raw, bytes(next_hop))
            self._misses += 1
            self._bytes += len(raw) + len(next_hop)
        else:
            self._hits += 1
        a.refs += 1
        self._refs += 1
        return a

    def retain(self, a: AttrSet, n: int = 1) -> None:
        """``n`` more references on ``a``, a set this table holds: what ``n`` calls of
        ``intern(a.raw, a.next_hop)`` do (hits counted), without hashing the key."""
        if a.refs <= 0 or n < 0:
            raise ValueError(f"retain of an AttrSet this table does not hold: {a!r}")
        a.refs += n
        self._refs += n
        self._hits += n

    def derive(self, a: AttrSet, raw: bytes) -> AttrSet:
        """Intern a variant of ``a`` with another block (e.g. LLGR_STALE added) and the
        same next hop; one new reference on the result, ``a`` unchanged."""
        return self.intern(raw, a.next_hop)

    def release(self, a: AttrSet) -> None:
        """Drop one reference; the set leaves the table at zero references."""
        key: bytes | tuple[bytes, bytes] = (a.raw, a.next_hop) if a.next_hop else a.raw
        if a.refs <= 0 or self._table.get(key) is not a:
            raise ValueError(f"release of an AttrSet this table does not hold: {a!r}")
        a.refs -= 1
        self._refs -= 1
        if a.refs == 0:
            del self._table[key]
            self._reclaimed += 1
            self._bytes -= len(a.raw) + len(a.next_hop)

    def __contains__(self, a: object) -> bool:
        if not isinstance(a, AttrSet):
            return False
        key: bytes | tuple[bytes, bytes] = (a.raw, a.next_hop) if a.next_hop else a.raw
        return self._table.get(key) is a

    def stats(self) -> dict[str, int]:
        """Counters: entries, refs (total held), hits, misses, reclaimed, raw_bytes."""
        return {
            "entries": len(self._table),
            "refs": self._refs,
            "hits": self._hits,
            "misses": self._misses,
            "reclaimed": self._reclaimed,
            "raw_bytes": self._bytes,
        }
