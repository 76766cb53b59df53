"""Update groups: encode once, pull-based, bounded output (as BIRD's ``bgp_fire_tx``).

Neighbors with the same :class:`GroupKey` form one group. A group keeps

* ``sent``: its Adj-RIB-Out, prefix key -> :data:`State` (what an in-sync member holds,
  before removing the member's own paths, see :func:`view`);
* ``pending``: dirty prefix keys in FIFO order (latest state wins: the state is read from
  the Loc-RIB through ``state_fn`` at encode time);
* ``log``: a short window of encoded batches. Each message carries a tag: to ALL members,
  to all EXCEPT the source neighbor of the route (a member never gets its own routes
  back), or ONLY to one member (the withdrawal a member needs when the new best path of a
  prefix comes from itself while it held another one). The same bytes objects are handed
  to every member.

A member is *attached* (a cursor into the log) or *detached*. A detached member keeps a
``patch``: prefix -> what it actually holds, only for prefixes where that differs from
the group's ``view``; it is sent ``view(sent)`` for those prefixes, and rejoins the log at
its end once the patch is empty. The patch never holds more than one entry per prefix,
so memory is bounded by the table size for a neighbor that never pulls. A member is
detached when the log grows beyond ``log_limit`` bytes while its cursor is in the oldest
batch, when it joins (its whole initial table is a patch of empty states) and on
ROUTE-REFRESH (every state it holds becomes "unknown", so everything is re-sent).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from bgprr.reflect.export import (
    EMPTY,
    Entry,
    GroupKey,
    State,
    out_block,
    out_next_hop,
    route_refresh_message,
    unknown,
    view,
)
from bgprr.wire.update import decode_update, end_of_rib, pack_updates, pack_withdrawals

ALL = 0
EXCEPT = 1
ONLY = 2

Msg = tuple[int, int, bytes]  # (tag mode, peer index, encoded message)
SameFn = Callable[[State, State], bool]

DEFAULT_LOG_LIMIT = 1 << 25  # bytes of encoded messages kept for lagging members (32 MiB)
TRIM_BYTES = 1 << 20  # a log beyond this is trimmed once per flush (its batches' dicts too)
ENCODE_KEYS = 2000  # prefixes per encode round


class Batch:
    __slots__ = ("msgs", "nbytes", "news", "olds", "seq")

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.msgs: list[Msg] = []
        self.olds: dict[int, State] = {}
        self.news: dict[int, State] = {}
        self.nbytes = 0


class Member:
    """One neighbor in one family."""

    __slots__ = (
        "attached",
        "eor_due",
        "eor_need",
        "eorr_due",
        "group",
        "index",
        "key",
        "outq",
        "outq_olds",
        "patch",
        "pos",
        "pre",
        "seq",
        "walk",
        "walk_empty",
        "walk_pos",
    )

    def __init__(self, key: str, index: int, group: UpdateGroup) -> None:
        self.key = key
        self.index = index
        self.group = group
        self.attached = False
        self.seq = 0  # batch sequence number of the cursor (attached)
        self.pos = 0  # message index inside that batch
        self.patch: dict[int, State] = {}
        # A walk over a sorted snapshot of the group's prefixes (initial table, refresh):
        # walk[walk_pos:] are still to be sent; while ``walk_empty`` the member holds
        # nothing for them (initial table), otherwise it holds the group's view (refresh).
        self.walk: list[int] | None = None
        self.walk_pos = 0
        self.walk_empty = False
        self.outq: deque[bytes] = deque()  # personal messages encoded, not yet pulled
        # what it held for the prefixes in outq (while outq is not empty; it keeps old
        # states, and so their attribute sets, alive)
        self.outq_olds: dict[int, State] = {}
        self.pre: list[bytes] = []  # control messages to send first (BoRR)
        self.eor_due = True
        self.eorr_due = False
        self.eor_need = 0  # group.done_seq needed before End-of-RIB / EoRR


class UpdateGroup:
    __slots__ = (
        "by_src",
        "done_seq",
        "encode_keys",
        "gkey",
        "local_as",
        "log",
        "log_bytes",
        "log_limit",
        "mark_seq",
        "members",
        "next_seq",
        "one_cache",
        "pending",
        "pq",
        "sent",
        "snap",
        "state_fn",
        "touched",
    )

    def __init__(
        self,
        gkey: GroupKey,
        state_fn: Callable[[int], State],
        local_as: int,
        keys: Iterator[int],
        log_limit: int = DEFAULT_LOG_LIMIT,
        encode_keys: int = ENCODE_KEYS,
    ) -> None:
        self.gkey = gkey
        self.state_fn = state_fn
        self.local_as = local_as
        self.log_limit = log_limit
        self.encode_keys = encode_keys
        self.members: dict[int, Member] = {}
        self.sent: dict[int, State] = {}
        self.snap: list[int] | None = None  # sorted(sent), shared by walks until it changes
        self.by_src: dict[int, int] = {}  # entries in ``sent`` per source index
        self.pending: dict[int, int] = {}
        self.pq: deque[int] = deque()
        self.mark_seq = 0
        self.done_seq = 0
        self.log: deque[Batch] = deque()
        self.next_seq = 0
        self.log_bytes = 0
        # Initial-table dumps (``_personal``): the UPDATE of a prefix whose attribute set
        # no other prefix shares (a Calico node's /26 with its own next hop), kept while
        # its entry is unchanged, so N late joiners cost N lookups, not N encodings.
        # Without ADD-PATH only (one entry per prefix); at most one message per prefix.
        self.one_cache: dict[int, tuple[Entry, list[bytes]]] = {}
        # Some member may have new work (set on every change; the engine clears it when it
        # collects the members to pull from, so idle groups cost nothing per flush).
        self.touched = True
        self.mark_many(keys)

    # ----------------------------------------------------------------- input side

    def mark(self, key: int) -> None:
        """The Loc-RIB state of ``key`` may have changed for this group."""
        self.mark_many((key,))

    def mark_many(self, keys: Iterable[int]) -> None:
        """:meth:`mark` for each of ``keys`` (one call per UPDATE, not per prefix)."""
        self.touched = True
        pending = self.pending
        pq = self.pq
        seq = self.mark_seq
        for k in keys:
            if k not in pending:
                seq += 1
                pending[k] = seq
                pq.append(k)
        self.mark_seq = seq

    def join(self, key: str, index: int) -> Member:
        """A neighbor joins: detached, walking the whole table, then End-of-RIB."""
        self.touched = True
        m = Member(key, index, self)
        m.eor_need = self.mark_seq
        self._start_walk(m, empty=True)
        if m.walk is None:  # nothing sent yet: share the log from now on
            m.attached = True
            m.seq = self.next_seq
        self.members[index] = m
        return m

    def adopt(self, prev: Member, held: dict[int, State], same: SameFn) -> Member:
        """A member of another group moves here (a change of export policy) holding
        ``held``: it is sent only the prefixes where that differs from this group's view
        (``same(held, view)``: the two put the same routes on the wire)."""
        while self.pq:  # this group's states first (a new group: no members to send to)
            self._encode_next()
        self.touched = True
        m = Member(prev.key, prev.index, self)
        m.pre, m.eor_due, m.eorr_due = prev.pre, prev.eor_due, prev.eorr_due
        m.eor_need = self.mark_seq
        sent = self.sent
        idx = m.index
        for k in held.keys() | sent.keys():
            h = held.get(k, EMPTY)
            v = view(sent.get(k, EMPTY), idx)
            if h != v and not same(h, v):
                m.patch[k] = h
        if not m.patch:
            m.attached = True
            m.seq = self.next_seq
        self.members[idx] = m
        return m

    def leave(self, m: Member) -> None:
        self.members.pop(m.index, None)
        self.trim()

    def refresh(self, m: Member, borr: bytes | None) -> None:
        """ROUTE-REFRESH: re-send everything this member holds or should hold."""
        self.touched = True
        if m.attached:
            self._detach(m)
        patch = m.patch
        for k, held in patch.items():
            patch[k] = unknown(held)
        # a refresh during the initial walk: prefixes not walked yet are taken as held,
        # which can only cause a redundant withdrawal later
        self._start_walk(m, empty=False)
        if borr is not None:
            m.pre.append(borr)
            m.eorr_due = True
            m.eor_need = self.mark_seq

    def _start_walk(self, m: Member, *, empty: bool) -> None:
        snap = self.snap
        if snap is None:
            snap = self.snap = sorted(self.sent)
        m.walk = snap if snap else None
        m.walk_pos = 0
        m.walk_empty = empty

    def _unwalked(self, m: Member, k: int) -> bool:
        """True when ``k`` is still ahead in an initial walk (the member holds nothing)."""
        walk = m.walk
        if walk is None or not m.walk_empty:
            return False
        i = bisect_left(walk, k, m.walk_pos)
        return i < len(walk) and walk[i] == k

    # ----------------------------------------------------------------- encoding

    def _encode_next(self) -> None:
        """Encode the next ``encode_keys`` pending prefixes into one batch (if anyone listens)."""
        self.touched = True  # done_seq and maybe the log move: End-of-RIB may be due
        self.trim()
        batch = Batch(self.next_seq)
        sent = self.sent
        pending = self.pending
        pq = self.pq
        popleft = pq.popleft
        state_fn = self.state_fn
        olds = batch.olds
        news = batch.news
        by_src = self.by_src
        one_cache = self.one_cache
        n = 0
        last = self.done_seq
        limit = min(len(pq), self.encode_keys)
        while n < limit:
            k = popleft()
            last = pending.pop(k)
            n += 1
            new = state_fn(k)
            old = sent.get(k, EMPTY)
            if new is old or new == old:  # states are shared tuples: identity is common
                continue
            if new:
                if not old:
                    self.snap = None
                sent[k] = new
            else:
                del sent[k]
                self.snap = None
            if old:
                one_cache.pop(k, None)
            olds[k] = old
            news[k] = new
            if len(old) == 1 == len(new) and old[0].source == new[0].source:
                continue  # same source: its count does not change
            for e in old:
                left = by_src[e.source] - 1
                if left:
                    by_src[e.source] = left
                else:  # sources come and go (dynamic neighbors get new indexes)
                    del by_src[e.source]
            for e in new:
                by_src[e.source] = by_src.get(e.source, 0) + 1
        self.done_seq = last
        if not pq:  # a dict keeps the table of its largest content: give it back
            self.pending = {}
        if not batch.olds:
            return
        for m in self.members.values():
            if not m.attached:
                self._patch_hook(m, batch)
        if not any(m.attached for m in self.members.values()):
            return
        self._encode_batch(batch)
        if batch.msgs:
            self.log.append(batch)
            self.next_seq += 1
            self.log_bytes += batch.nbytes
            self._enforce_limit()

    def _patch_hook(self, m: Member, batch: Batch) -> None:
        """A detached member keeps what it holds for prefixes the group just changed."""
        patch = m.patch
        idx = m.index
        for k, old in batch.olds.items():
            new_view = view(batch.news[k], idx)
            held = patch.get(k)
            if held is None:
                held = EMPTY if self._unwalked(m, k) else view(old, idx)
                if held != new_view:
                    patch[k] = held
            elif held == new_view:
                del patch[k]

    def _encode_batch(self, batch: Batch) -> None:
        ann: dict[tuple[int, int, int, int, int], tuple[Entry, list[int], list[int]]] = {}
        wd: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        news = batch.news
        for k, old in batch.olds.items():
            new = news[k]
            if len(new) + len(old) == 1 or (
                len(new) == 1 == len(old) and new[0].path_id == old[0].path_id
            ):
                # one path in, one path out, same path id (no ADD-PATH): the common case
                if new:
                    e = new[0]
                    pid, attrs, src, bgp_id, kind = e
                    bkey = (EXCEPT if src >= 0 else ALL, src, id(attrs), bgp_id, kind)
                    b = ann.get(bkey)
                    if b is None:
                        b = ann[bkey] = (e, [], [])
                    b[1].append(k)
                    b[2].append(pid)
                    if old and old[0].source != src and src >= 0:
                        w = wd.setdefault((ONLY, src), ([], []))
                        w[0].append(k)
                        w[1].append(pid)
                else:
                    gone = old[0]
                    src = gone.source
                    w = wd.setdefault((EXCEPT if src >= 0 else ALL, src), ([], []))
                    w[0].append(k)
                    w[1].append(gone.path_id)
                continue
            olds = {e.path_id: e for e in old}
            for e in new:
                pid, attrs, src, bgp_id, kind = e
                o = olds.pop(pid, None)
                if o == e:
                    continue
                mode = EXCEPT if src >= 0 else ALL
                bkey = (mode, src, id(attrs), bgp_id, kind)
                b = ann.get(bkey)
                if b is None:
                    b = ann[bkey] = (e, [], [])
                b[1].append(k)
                b[2].append(pid)
                if o is not None and o.source != src and src >= 0:
                    w = wd.setdefault((ONLY, src), ([], []))
                    w[0].append(k)
                    w[1].append(pid)
            for pid, o in olds.items():
                src = o.source
                w = wd.setdefault((EXCEPT if src >= 0 else ALL, src), ([], []))
                w[0].append(k)
                w[1].append(pid)
        g = self.gkey
        fam = g.family
        addpath = g.addpath > 0
        msgs = batch.msgs
        for (mode, src), (keys, ids) in wd.items():
            for msg in pack_withdrawals(fam, keys, ids if addpath else None, max_len=g.max_len):
                msgs.append((mode, src, msg))
        blocks: dict[tuple[int, int, int], bytes] = {}
        for (mode, src, aid, bgp_id, kind), (e, keys, ids) in ann.items():
            bk = (aid, bgp_id, kind)
            block = blocks.get(bk)
            if block is None:
                block = blocks[bk] = out_block(e, g, self.local_as)
            nh = out_next_hop(e, g)
            for msg in pack_updates(
                fam, block, nh, keys, ids if addpath else None, max_len=g.max_len
            ):
                msgs.append((mode, src, msg))
        batch.nbytes = sum(len(x[2]) for x in msgs)

    def _personal(self, m: Member) -> None:
        """Encode up to ``encode_keys`` prefixes of a detached member's walk and patch into
        its outq."""
        g = self.gkey
        fam = g.family
        addpath = g.addpath > 0
        sent = self.sent
        patch = m.patch
        idx = m.index
        ann: dict[tuple[int, int, int], tuple[Entry, list[int], list[int]]] = {}
        wk: list[int] = []
        wi: list[int] = []
        n = 0
        olds_out = m.outq_olds = {}
        cache = None if addpath else self.one_cache
        outq = m.outq
        walk = m.walk
        if walk is not None:
            pos = m.walk_pos
            end = min(len(walk), pos + self.encode_keys)
            empty = m.walk_empty
            for k in walk[pos:end]:
                if k in patch:
                    continue  # the patch knows what it holds
                if empty:
                    olds_out[k] = EMPTY
                    st = sent.get(k, EMPTY)
                    if cache is not None and len(st) == 1 and st[0].source != idx:
                        hit = self._cached(k, st[0])  # fast path: a cached UPDATE
                        if hit is not None:
                            outq.extend(hit)
                            continue
                for e in view(sent.get(k, EMPTY), idx):
                    pid, attrs, _src, bgp_id, kind = e
                    bkey = (id(attrs), bgp_id, kind)
                    b = ann.get(bkey)
                    if b is None:
                        b = ann[bkey] = (e, [], [])
                    b[1].append(k)
                    b[2].append(pid)
            n = end - pos
            m.walk_pos = end
            if end == len(walk):
                m.walk = None
        while patch and n < self.encode_keys:
            k, held = patch.popitem()
            olds_out[k] = held
            n += 1
            new = view(sent.get(k, EMPTY), idx)
            olds = {e.path_id: e for e in held}
            for e in new:
                pid, attrs, _src, bgp_id, kind = e
                if olds.pop(pid, None) == e:
                    continue
                bkey = (id(attrs), bgp_id, kind)
                b = ann.get(bkey)
                if b is None:
                    b = ann[bkey] = (e, [], [])
                b[1].append(k)
                b[2].append(pid)
            for pid in olds:
                wk.append(k)
                wi.append(pid)
        if wk:
            m.outq.extend(pack_withdrawals(fam, wk, wi if addpath else None, max_len=g.max_len))
        for e, keys, ids in ann.values():
            if cache is not None and len(keys) == 1:
                hit = self._cached(keys[0], e)
                if hit is not None:
                    outq.extend(hit)
                    continue
            block = out_block(e, g, self.local_as)
            nh = out_next_hop(e, g)
            msgs = pack_updates(fam, block, nh, keys, ids if addpath else None, max_len=g.max_len)
            if cache is not None and len(keys) == 1:
                cache[keys[0]] = (e, msgs)
            outq.extend(msgs)

    def _cached(self, k: int, e: Entry) -> list[bytes] | None:
        """The cached UPDATE of prefix ``k`` if it was encoded for entry ``e`` itself."""
        hit = self.one_cache.get(k)
        return hit[1] if hit is not None and hit[0] is e else None

    # ----------------------------------------------------------------- members

    def _detach(self, m: Member) -> None:
        m.attached = False
        patch = m.patch
        idx = m.index
        for b in self.log:
            if b.seq < m.seq:
                continue
            partial = b.seq == m.seq and m.pos > 0
            for k, old in b.olds.items():
                if k in patch:
                    continue
                if partial:
                    patch[k] = unknown(view(old, idx), view(b.news[k], idx))
                else:
                    patch[k] = view(old, idx)
        sent = self.sent
        for k in [k for k, st in patch.items() if st == view(sent.get(k, EMPTY), idx)]:
            del patch[k]

    def _enforce_limit(self) -> None:
        while self.log_bytes > self.log_limit and len(self.log) > 1:
            oldest = self.log[0].seq
            for m in self.members.values():
                if m.attached and m.seq == oldest:
                    self._detach(m)
            self.trim()

    def trim(self) -> None:
        """Drop the log batches every attached member has passed. O(members), so it runs
        on encoding, under memory pressure, and once per flush (the engine) for groups
        whose log is beyond ``TRIM_BYTES``, never per pull."""
        attached = [m.seq for m in self.members.values() if m.attached]
        low = min(attached) if attached else self.next_seq
        log = self.log
        while log and log[0].seq < low:
            self.log_bytes -= log.popleft().nbytes

    def _eor_ready(self, m: Member) -> bool:
        return m.attached and m.seq == self.next_seq and not m.outq and self.done_seq >= m.eor_need

    def has_work(self, m: Member) -> bool:
        if m.outq or m.pre or not m.attached:
            return True
        if m.seq < self.next_seq or self.pq:
            return True
        return (m.eor_due or m.eorr_due) and self._eor_ready(m)

    def pull(self, m: Member, budget: int, out: list[bytes], size: int) -> tuple[int, list[str]]:
        """Append messages for ``m`` to ``out`` while ``size`` stays within ``budget`` (at
        least one message). Returns the new size and notes ("eor" when End-of-RIB went,
        "full" when it stopped at the budget with more to send)."""
        notes: list[str] = []
        idx = m.index
        while True:
            if m.pre:
                msg = m.pre[0]
                if out and size + len(msg) > budget:
                    notes.append("full")
                    break
                m.pre.pop(0)
                out.append(msg)
                size += len(msg)
                continue
            if m.outq:
                msg = m.outq[0]
                if out and size + len(msg) > budget:
                    notes.append("full")
                    break
                m.outq.popleft()
                out.append(msg)
                size += len(msg)
                if not m.outq:  # all sent: what it held before is history now
                    m.outq_olds = {}
                continue
            if not m.attached:
                if m.patch or m.walk is not None:
                    self._personal(m)
                    continue
                m.attached = True
                m.seq = self.next_seq
                m.pos = 0
                m.patch = {}  # a drained dict keeps its table: give the memory back
                m.outq_olds = {}
                continue
            if m.seq < self.next_seq:
                batch = self.log[m.seq - self.log[0].seq]
                msgs = batch.msgs
                full = False
                while m.pos < len(msgs):
                    mode, src, msg = msgs[m.pos]
                    if (mode == EXCEPT and src == idx) or (mode == ONLY and src != idx):
                        m.pos += 1
                        continue
                    if out and size + len(msg) > budget:
                        full = True
                        break
                    out.append(msg)
                    size += len(msg)
                    m.pos += 1
                if full:
                    notes.append("full")
                    break
                m.seq += 1
                m.pos = 0
                continue
            if self.pq:
                self._encode_next()
                continue
            if m.eor_due and self._eor_ready(m):
                m.eor_due = False
                out.append(end_of_rib(self.gkey.family))
                size += len(out[-1])
                notes.append("eor")
                continue
            if m.eorr_due and self._eor_ready(m):
                m.eorr_due = False
                out.append(route_refresh_message(self.gkey.family, 2))
                size += len(out[-1])
                continue
            break
        # Trimming scans every member, so a pull trims only once the log is large (old
        # batches are also dropped when the next batch is encoded).
        if self.log_bytes > self.log_limit // 2:
            self.trim()
        return size, notes

    def advertised(self, m: Member) -> int:
        """How many paths member ``m`` holds (cheap when it is in sync with the group)."""
        if m.attached and m.seq == self.next_seq:
            by_src = self.by_src
            return sum(by_src.values()) - by_src.get(m.index, 0)
        return sum(len(st) for st in self.held(m).values())

    def held(self, m: Member) -> dict[int, State]:
        """What member ``m`` holds now (prefix -> state), from what it has pulled. Messages
        encoded for it but not pulled yet are decoded to tell which changes it has."""
        idx = m.index
        res = {k: v for k, st in self.sent.items() if (v := view(st, idx))}
        over: dict[int, State] = dict(m.patch)
        if m.outq:
            pending = self._ops(m.outq)
            for k, old in m.outq_olds.items():
                if k not in over:
                    over[k] = _mix(old, view(self.sent.get(k, EMPTY), idx), k, pending)
        walk = m.walk
        if walk is not None and m.walk_empty:
            for k in walk[m.walk_pos :]:
                over.setdefault(k, EMPTY)
        if m.attached:
            for b in self.log:
                if b.seq < m.seq:
                    continue
                if b.seq == m.seq and m.pos > 0:
                    rest = [
                        msg
                        for mode, src, msg in b.msgs[m.pos :]
                        if not ((mode == EXCEPT and src == idx) or (mode == ONLY and src != idx))
                    ]
                    pending = self._ops(rest)
                    for k, old in b.olds.items():
                        if k not in over:
                            over[k] = _mix(view(old, idx), view(b.news[k], idx), k, pending)
                    continue
                for k, old in b.olds.items():
                    if k not in over:
                        over[k] = view(old, idx)
        for k, st in over.items():
            if st:
                res[k] = st
            else:
                res.pop(k, None)
        return res

    def _ops(self, msgs: Iterable[bytes]) -> set[tuple[int, int]]:
        """(prefix, path id) announced or withdrawn by ``msgs`` (route messages only)."""
        g = self.gkey
        fams = frozenset({g.family}) if g.addpath else frozenset()
        ops: set[tuple[int, int]] = set()
        for msg in msgs:
            if msg[18] != 2:
                continue
            u = decode_update(msg, as4=g.as4, addpath=fams, ibgp=not g.ebgp)
            for keys, ids in (
                (u.withdrawn, u.withdrawn_ids),
                (u.nlri, u.nlri_ids),
                (u.mp_reach.nlri, u.mp_reach.nlri_ids) if u.mp_reach else ([], None),
                (u.mp_unreach.withdrawn, u.mp_unreach.withdrawn_ids)
                if u.mp_unreach
                else ([], None),
            ):
                ops.update(zip(keys, ids or [0] * len(keys), strict=True))
        return ops


def _mix(old: State, new: State, k: int, pending: set[tuple[int, int]]) -> State:
    """Per path id: ``old`` where the change of ``(k, id)`` is still pending, else ``new``."""
    o = {e.path_id: e for e in old}
    n = {e.path_id: e for e in new}
    out: list[Entry] = []
    for pid in sorted(o.keys() | n.keys()):
        e = o.get(pid) if (k, pid) in pending else n.get(pid)
        if e is not None:
            out.append(e)
    return tuple(out)
