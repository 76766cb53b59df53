"""What to write into the kernel's routing table: pure planning (docs/kernel.md).

:class:`FibPlan` keeps what the kernel holds of our routes (as far as we know) and what
the engine's best paths ask for, and turns :class:`~bgprr.reflect.types.BestPathChanged`
events into the fewest operations: ``ADD`` for a prefix we do not hold, ``REPLACE`` when
the next hops differ, ``DELETE`` when it has no best path any more. Changes wait in
``pending`` (latest wins) until :meth:`FibPlan.take`, so a prefix that flaps between two
takes costs at most one operation, and none if it ends where it started.

Routes a previous run left in the kernel are given to the constructor: they count as
held (a prefix learned again with the same next hops needs no operation) and as
*leftovers* until the engine confirms them; :meth:`FibPlan.reconcile` deletes the
leftovers the engine never confirmed (a restarting speaker calls it when its selection
deferral ends, RFC 4724 §4.1).

Next hops here are BGP next hops (4 octets, or 16 for IPv6: the global address of a
32-octet MP_REACH next hop). Resolving them on the host is the IO layer's part; when it
cannot install a route it calls :meth:`FibPlan.failed`, and the prefix counts as absent.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from bgprr.reflect.types import BestPathChanged
from bgprr.rib.intern import AttrSet
from bgprr.rib.path import Path
from bgprr.wire.constants import AFI, SAFI

__all__ = ["MAX_NEXT_HOPS", "FibOp", "FibPlan", "NextHops", "OpKind", "RouteKey", "next_hops"]

#: At most this many next hops in one kernel route (the lowest addresses are kept):
#: an RTA_MULTIPATH attribute must fit its 16-bit length.
MAX_NEXT_HOPS = 256

#: ``(afi, prefix key)``; the prefix key is :func:`bgprr.wire.prefix.make_key`'s.
RouteKey = tuple[int, int]
_HOP_SETS_MAX = 65536
#: Sorted, distinct BGP next hops; empty: no route.
NextHops = tuple[bytes, ...]

_UNICAST = {(AFI.IPV4.value, SAFI.UNICAST.value), (AFI.IPV6.value, SAFI.UNICAST.value)}


class OpKind(enum.Enum):
    ADD = "add"
    REPLACE = "replace"
    DELETE = "delete"


class FibOp(NamedTuple):
    """One kernel operation (a tuple: hundreds of thousands are made in a bulk load)."""

    kind: OpKind
    afi: int
    key: int
    next_hops: NextHops  # empty for DELETE


def next_hop_attr(raw: bytes) -> bytes:
    """The value of the NEXT_HOP attribute (type 3) in an attribute block (b"" if none)."""
    off = 0
    end = len(raw)
    while off + 3 <= end:
        flags = raw[off]
        if flags & 0x10:  # extended length
            size = int.from_bytes(raw[off + 2 : off + 4], "big")
            start = off + 4
        else:
            size = raw[off + 2]
            start = off + 3
        if raw[off + 1] == 3:
            return raw[start : start + size]
        off = start + size
    return b""


def _path_next_hop(afi: int, path: Path) -> bytes | None:
    """The BGP next hop of ``path`` as the kernel wants it, or None when it has none
    usable (an IPv4 route with an RFC 8950 IPv6 next hop, an IPv6 link-local only)."""
    attrs = path.attrs
    if afi == AFI.IPV4:
        if attrs.next_hop:  # MP_REACH next hop for IPv4 NLRI (RFC 8950): not installed
            return None
        nh = next_hop_attr(attrs.raw)
        return nh if len(nh) == 4 else None
    nh = attrs.next_hop[:16]
    if len(nh) != 16 or (nh[0] == 0xFE and nh[1] & 0xC0 == 0x80):
        return None  # missing, or link-local without a global address
    return nh


def next_hops(ev: BestPathChanged, *, multipath: bool) -> NextHops:
    """The next hops of an event's route: its best path's, or with ``multipath`` those
    of every equal-cost path (:func:`bgprr.rib.path.equal_cost_paths`)."""
    best = ev.best
    if best is None:
        return ()
    afi = ev.family[0]
    if not multipath or len(ev.multipath) <= 1:
        nh = _path_next_hop(afi, best)
        return () if nh is None else (nh,)
    hops = {nh for p in ev.multipath if (nh := _path_next_hop(afi, p)) is not None}
    return tuple(sorted(hops)[:MAX_NEXT_HOPS])


class FibPlan:
    """Our routes in one kernel table: held, pending and leftover (module docstring)."""

    def __init__(
        self, *, multipath: bool = False, held: Mapping[RouteKey, NextHops] | None = None
    ) -> None:
        self.multipath = multipath
        self._held: dict[RouteKey, NextHops] = dict(held or {})
        self._leftover: set[RouteKey] = set(self._held)
        self._pending: dict[RouteKey, NextHops] = {}
        self._hop_sets: dict[NextHops, NextHops] = {}

    def __len__(self) -> int:
        """Routes held (installed as far as we know)."""
        return len(self._held)

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def leftovers(self) -> int:
        return len(self._leftover)

    def held(self) -> dict[RouteKey, NextHops]:
        return dict(self._held)

    def best_changed(self, ev: BestPathChanged) -> None:
        """Record an engine event (families other than IPv4/IPv6 unicast are ignored)."""
        self.changes((ev,))

    def set(self, afi: int, key: int, hops: NextHops) -> None:
        """The route ``(afi, key)`` should now have ``hops`` (empty: no route)."""
        rk = (afi, key)
        self._pending[rk] = hops
        if hops:
            self._leftover.discard(rk)

    def changes(self, events: Iterable[object]) -> int:
        """Record every BestPathChanged among ``events``; returns how many."""
        n = 0
        single: dict[AttrSet, NextHops] = {}  # best path's attributes -> next hops
        pending = self._pending
        leftover = self._leftover
        multipath = self.multipath
        for ev in events:
            if type(ev) is not BestPathChanged or ev.family not in _UNICAST:
                continue
            n += 1
            best = ev.best
            if best is None:
                hops: NextHops = ()
            elif multipath and len(ev.multipath) > 1:
                hops = self._shared(next_hops(ev, multipath=True))
            else:
                got = single.get(best.attrs)
                if got is None:
                    got = single[best.attrs] = self._shared(next_hops(ev, multipath=False))
                hops = got
            rk = (ev.family[0], ev.key)
            pending[rk] = hops
            if hops:
                leftover.discard(rk)
        return n

    def _shared(self, hops: NextHops) -> NextHops:
        """One tuple per distinct next-hop set (a table has few): less memory held."""
        sets = self._hop_sets
        if len(sets) > _HOP_SETS_MAX:
            sets.clear()
        return sets.setdefault(hops, hops)

    def reconcile(self) -> int:
        """Schedule the deletion of the leftovers nothing confirmed; returns how many."""
        n = 0
        for rk in self._leftover:
            if rk not in self._pending:
                self._pending[rk] = ()
                n += 1
        self._leftover.clear()
        return n

    def take(self, limit: int = 0) -> list[FibOp]:
        """The operations for (up to ``limit``, 0: all) pending prefixes, which count as
        done from now on (the caller reports failures with :meth:`failed`)."""
        pending = self._pending
        held = self._held
        ops: list[FibOp] = []
        n = len(pending) if limit <= 0 else min(limit, len(pending))
        for _ in range(n):
            rk, hops = pending.popitem()
            old = held.get(rk)
            if old == hops or (old is None and not hops):
                continue
            afi, key = rk
            if not hops:
                del held[rk]
                self._leftover.discard(rk)
                ops.append(FibOp(kind=OpKind.DELETE, afi=afi, key=key, next_hops=()))
                continue
            held[rk] = hops
            kind = OpKind.ADD if old is None else OpKind.REPLACE
            ops.append(FibOp(kind=kind, afi=afi, key=key, next_hops=hops))
        return ops

    def failed(self, afi: int, key: int) -> None:
        """The kernel does not hold the route (it refused it, or it could not be
        resolved); the next change of the prefix is planned as an ``ADD``."""
        self._held.pop((afi, key), None)

    def withdraw_all(self) -> list[FibOp]:
        """Deletions of everything held; nothing stays held or pending."""
        ops = [FibOp(kind=OpKind.DELETE, afi=afi, key=key, next_hops=()) for afi, key in self._held]
        self._held.clear()
        self._pending.clear()
        self._leftover.clear()
        return ops
