"""UpdateGroup alone: a dict stands in for the Loc-RIB; output decoded with bgprr.wire."""

from __future__ import annotations

from bgprr.reflect.export import EMPTY, KIND_IBGP, KIND_LOCAL, Entry, GroupKey, State
from bgprr.reflect.updategroup import Member, UpdateGroup
from bgprr.rib.intern import AttrSet, InternTable
from bgprr.wire.attributes import PathAttrs
from bgprr.wire.constants import IPV4_UNICAST
from bgprr.wire.prefix import make_key
from bgprr.wire.update import Update, decode_update, eor_family
from tests.support.harness import block

F = IPV4_UNICAST
T = InternTable()
A = T.intern(block(med=1))
B = T.intern(block(med=2))
P = [make_key(0x0A000000 + (i << 8), 24) for i in range(200)]


def gkey(addpath: int = 0) -> GroupKey:
    return GroupKey(
        family=F, ebgp=False, client=True, as4=True, addpath=addpath, max_len=4096,
        cluster_id=0x01010101, llgr=False,
    )  # fmt: skip


class Rib:
    """The Loc-RIB as the group sees it: prefix -> State."""

    def __init__(self) -> None:
        self.states: dict[int, State] = {}

    def __call__(self, k: int) -> State:
        return self.states.get(k, EMPTY)


def ent(attrs: AttrSet, src: int = -1, pid: int = 0) -> Entry:
    if src < 0:
        return Entry(pid, attrs, src, 0, KIND_LOCAL)
    return Entry(pid, attrs, src, 0x0A000000 + src, KIND_IBGP)


def make(addpath: int = 0, **kw: int) -> tuple[UpdateGroup, Rib]:
    rib = Rib()
    return UpdateGroup(gkey(addpath), rib, 65000, iter(()), **kw), rib


def decode(msgs: list[bytes], addpath: bool = False) -> list[Update]:
    fams = frozenset({F}) if addpath else frozenset()
    return [decode_update(m, addpath=fams) for m in msgs]


def routes(msgs: list[bytes], addpath: bool = False) -> dict[tuple[int, int], int | None]:
    """(prefix, path id) -> MED announced, or None when withdrawn (last message wins)."""
    out: dict[tuple[int, int], int | None] = {}
    for u in decode(msgs, addpath):
        for i, k in enumerate(u.withdrawn):
            out[(k, u.withdrawn_ids[i] if u.withdrawn_ids else 0)] = None
        for i, k in enumerate(u.nlri):
            out[(k, u.nlri_ids[i] if u.nlri_ids else 0)] = PathAttrs(u.attrs).med
    return out


def pull(g: UpdateGroup, m: Member, budget: int = 1 << 20) -> tuple[list[bytes], list[str]]:
    out: list[bytes] = []
    _, notes = g.pull(m, budget, out, 0)
    return out, notes


def set_state(g: UpdateGroup, rib: Rib, k: int, st: State) -> None:
    rib.states[k] = st
    g.mark(k)


def test_join_empty_group_gets_only_eor() -> None:
    g, _ = make()
    m = g.join("a", 1)
    assert m.attached and g.has_work(m)
    out, notes = pull(g, m)
    assert [eor_family(u) for u in decode(out)] == [F]
    assert notes == ["eor"]
    assert not g.has_work(m)


def test_one_encoding_shared_by_members() -> None:
    g, rib = make()
    m1, m2 = g.join("a", 1), g.join("b", 2)
    pull(g, m1), pull(g, m2)
    set_state(g, rib, P[0], (ent(A),))
    o1, _ = pull(g, m1)
    o2, _ = pull(g, m2)
    assert routes(o1) == {(P[0], 0): 1}
    assert o1[0] is o2[0]  # same bytes object for every member


def test_member_never_gets_its_own_route() -> None:
    g, rib = make()
    m1, m2 = g.join("a", 1), g.join("b", 2)
    pull(g, m1), pull(g, m2)
    set_state(g, rib, P[0], (ent(A, src=1),))
    assert pull(g, m1)[0] == []
    assert routes(pull(g, m2)[0]) == {(P[0], 0): 1}
    assert g.advertised(m1) == 0 and g.advertised(m2) == 1


def test_only_withdrawal_when_best_moves_to_the_member() -> None:
    g, rib = make()
    m1, m2 = g.join("a", 1), g.join("b", 2)
    pull(g, m1), pull(g, m2)
    set_state(g, rib, P[0], (ent(A, src=2),))
    pull(g, m1), pull(g, m2)
    set_state(g, rib, P[0], (ent(B, src=1),))
    assert routes(pull(g, m1)[0]) == {(P[0], 0): None}  # it held m2's path
    assert routes(pull(g, m2)[0]) == {(P[0], 0): 2}


def test_latest_state_wins_before_encoding() -> None:
    g, rib = make()
    m = g.join("a", 1)
    pull(g, m)
    set_state(g, rib, P[0], (ent(A),))
    set_state(g, rib, P[0], (ent(B),))
    out, _ = pull(g, m)
    assert len(out) == 1 and routes(out) == {(P[0], 0): 2}


def test_announce_then_withdraw_before_pull_sends_nothing() -> None:
    g, rib = make()
    m = g.join("a", 1)
    pull(g, m)
    set_state(g, rib, P[0], (ent(A),))
    set_state(g, rib, P[0], EMPTY)
    assert pull(g, m)[0] == []


def test_withdrawal() -> None:
    g, rib = make()
    m = g.join("a", 1)
    pull(g, m)
    set_state(g, rib, P[0], (ent(A),))
    pull(g, m)
    set_state(g, rib, P[0], EMPTY)
    assert routes(pull(g, m)[0]) == {(P[0], 0): None}
    assert g.held(m) == {}


def test_same_attributes_packed_in_one_update() -> None:
    g, rib = make()
    m = g.join("a", 1)
    pull(g, m)
    for k in P[:50]:
        set_state(g, rib, k, (ent(A),))
    out, _ = pull(g, m)
    assert len(out) == 1 and len(decode(out)[0].nlri) == 50


def test_pull_budget_stops_and_reports_full() -> None:
    g, rib = make()
    m = g.join("a", 1)
    pull(g, m)
    for i, k in enumerate(P[:100]):
        set_state(g, rib, k, (ent(T.intern(block(med=1000 + i))),))
    out, notes = pull(g, m, budget=1)
    assert len(out) == 1 and "full" in notes  # at least one message, then stop
    got = routes(out)
    while g.has_work(m):
        more, _ = pull(g, m, budget=300)
        assert sum(map(len, more)) <= 300 or len(more) == 1
        got.update(routes(more))
    assert len(got) == 100


def test_late_joiner_walks_table_then_eor() -> None:
    g, rib = make(encode_keys=10)
    m1 = g.join("a", 1)
    pull(g, m1)
    for k in P[:35]:
        set_state(g, rib, k, (ent(A),))
    pull(g, m1)
    m2 = g.join("b", 2)
    assert not m2.attached
    out, notes = pull(g, m2)
    assert set(routes(out)) == {(k, 0) for k in P[:35]}
    assert eor_family(decode(out)[-1]) == F and notes == ["eor"]
    assert m2.attached and g.advertised(m2) == 35


def test_change_during_walk_is_sent_once_latest() -> None:
    g, rib = make(encode_keys=5)
    m1 = g.join("a", 1)
    pull(g, m1)
    for k in P[:20]:
        set_state(g, rib, k, (ent(A),))
    pull(g, m1)
    m2 = g.join("b", 2)
    first, _ = pull(g, m2, budget=1)
    set_state(g, rib, P[19], (ent(B),))
    pull(g, m1)
    rest, _ = pull(g, m2)
    got = routes(first)
    got.update(routes(rest))
    assert got[(P[19], 0)] == 2 and len(got) == 20
    assert g.held(m2)[P[19]][0].attrs is B


def test_refresh_resends_everything_with_borr_eorr() -> None:
    g, rib = make()
    m = g.join("a", 1)
    pull(g, m)
    for k in P[:3]:
        set_state(g, rib, k, (ent(A),))
    pull(g, m)
    borr = b"BORR"
    g.refresh(m, borr)
    out, _ = pull(g, m)
    assert out[0] == borr
    assert set(routes(out[1:-1])) == {(k, 0) for k in P[:3]}
    last = out[-1]
    assert last[18] == 5 and last[21] == 2  # ROUTE-REFRESH, subtype EoRR (RFC 7313)


def test_refresh_without_enhanced_rr_has_no_markers() -> None:
    g, rib = make()
    m = g.join("a", 1)
    pull(g, m)
    set_state(g, rib, P[0], (ent(A),))
    pull(g, m)
    g.refresh(m, None)
    out, _ = pull(g, m)
    assert routes(out) == {(P[0], 0): 1}


def test_addpath_sends_path_ids() -> None:
    g, rib = make(addpath=2)
    m = g.join("a", 1)
    pull(g, m)
    set_state(g, rib, P[0], (ent(A, src=2, pid=1), ent(B, src=3, pid=2)))
    out, _ = pull(g, m)
    assert routes(out, addpath=True) == {(P[0], 1): 1, (P[0], 2): 2}
    set_state(g, rib, P[0], (ent(B, src=3, pid=2),))
    assert routes(pull(g, m)[0], addpath=True) == {(P[0], 1): None}
    assert g.advertised(m) == 1


def test_leave_then_trim_drops_log() -> None:
    g, rib = make()
    m1, m2 = g.join("a", 1), g.join("b", 2)
    pull(g, m1), pull(g, m2)
    set_state(g, rib, P[0], (ent(A),))
    pull(g, m1)
    assert g.log and g.log_bytes > 0  # m2 has not pulled it yet
    g.leave(m2)
    assert 2 not in g.members
    g.trim()
    assert not g.log and g.log_bytes == 0


def test_log_limit_detaches_lagging_member() -> None:
    g, rib = make(log_limit=200, encode_keys=1)
    m1, m2 = g.join("a", 1), g.join("b", 2)
    pull(g, m1), pull(g, m2)
    for i, k in enumerate(P[:20]):
        set_state(g, rib, k, (ent(T.intern(block(med=i))),))
        pull(g, m1)
    assert not m2.attached  # detached with a patch instead of holding the log
    assert g.log_bytes <= 200 or len(g.log) == 1
    got = routes(pull(g, m2)[0])
    assert got == {(k, 0): i for i, k in enumerate(P[:20])}


def test_held_reflects_unpulled_log() -> None:
    g, rib = make()
    m = g.join("a", 1)
    pull(g, m)
    set_state(g, rib, P[0], (ent(A),))
    set_state(g, rib, P[1], (ent(B),))
    assert g.has_work(m)
    g.mark(P[2])  # nothing there: no change
    out, _ = pull(g, m, budget=1)
    assert len(out) == 1
    held = g.held(m)
    assert len(held) == 1 and next(iter(held.values()))[0].attrs in (A, B)


def test_sent_personal_messages_keep_no_old_states() -> None:
    """What a detached member held for the prefixes of its personal messages is kept only
    until those messages are pulled (it holds old states and their attribute sets)."""
    g, rib = make(encode_keys=10)
    m0 = g.join("z", 0)
    for i, k in enumerate(P[:30]):
        set_state(g, rib, k, (ent(B if i % 2 else A, src=3),))
    pull(g, m0)
    m1 = g.join("a", 1)
    pull(g, m1, budget=1)  # one of the two messages of its first walk step
    assert m1.outq and m1.outq_olds
    pull(g, m1)
    assert m1.attached and not m1.outq and not m1.outq_olds
    g.refresh(m1, None)  # the patch path: re-send everything it holds
    for k in P[:30]:
        set_state(g, rib, k, (ent(B, src=3),))
    pull(g, m1)
    assert m1.attached and not m1.outq_olds
    assert g.held(m1) == {k: (ent(B, src=3),) for k in P[:30]}


def test_sources_that_hold_nothing_are_not_counted() -> None:
    """``by_src`` counts the group's paths per source; a source whose last path went is
    forgotten (dynamic neighbors come and go, each with a new index)."""
    g, rib = make()
    m = g.join("a", 1)
    for src in range(10, 60):
        set_state(g, rib, P[0], (ent(A, src=src),))
        set_state(g, rib, P[1], (ent(B, src=src),))
        pull(g, m)
    assert g.by_src == {59: 2}
    set_state(g, rib, P[0], EMPTY)
    set_state(g, rib, P[1], EMPTY)
    pull(g, m)
    assert g.by_src == {} and g.advertised(m) == 0
