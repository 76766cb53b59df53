"""export: who gets which path (RFC 4456 §6, RFC 1997, RFC 9494) and the bytes sent."""

from __future__ import annotations

import pytest

from bgprr.reflect.export import (
    KIND_EBGP,
    KIND_IBGP,
    KIND_LOCAL,
    KIND_UNKNOWN,
    Entry,
    GroupKey,
    entry_of,
    exportable,
    out_block,
    route_refresh_message,
    unknown,
    view,
    with_local_pref,
)
from bgprr.rib.intern import InternTable
from bgprr.rib.path import Path, Source
from bgprr.wire.attributes import PathAttrs
from bgprr.wire.constants import (
    IPV4_UNICAST,
    LLGR_STALE,
    NO_ADVERTISE,
    NO_EXPORT,
    NO_EXPORT_SUBCONFED,
)
from tests.support.harness import block

F = IPV4_UNICAST
T = InternTable()
CLIENT = Source(key="c", address=1, bgp_id=0x0A000001, asn=65000, client=True, index=1)
NONCLIENT = Source(key="n", address=2, bgp_id=0x0A000002, asn=65000, index=2)
EBGP = Source(key="e", address=3, bgp_id=0x0A000003, asn=65001, ebgp=True, index=3)


def group(*, ebgp: bool = False, client: bool = False, llgr: bool = False) -> GroupKey:
    return GroupKey(
        family=F,
        ebgp=ebgp,
        client=client,
        as4=True,
        addpath=0,
        max_len=4096,
        cluster_id=0 if ebgp else 0x01010101,
        llgr=llgr,
    )


def path(src: Source | None, *, communities: tuple[int, ...] = (), llgr: bool = False) -> Path:
    a = T.intern(block(as_path=(65001,), med=7, communities=communities))
    return Path(peer=src, path_id=0, attrs=a, llgr_stale=llgr)


TO_CLIENT, TO_NONCLIENT, TO_EBGP = group(client=True), group(), group(ebgp=True)


@pytest.mark.parametrize(
    ("src", "to_client", "to_nonclient", "to_ebgp"),
    [
        (CLIENT, True, True, True),  # §6: from a client, to clients and non-clients
        (NONCLIENT, True, False, True),  # §6: from a non-client, to clients only
        (EBGP, True, True, True),
        (None, True, True, True),  # locally originated
    ],
)
def test_rfc4456_roles(
    src: Source | None, to_client: bool, to_nonclient: bool, to_ebgp: bool
) -> None:
    p = path(src)
    assert exportable(p, TO_CLIENT) is to_client
    assert exportable(p, TO_NONCLIENT) is to_nonclient
    assert exportable(p, TO_EBGP) is to_ebgp


def test_no_advertise_goes_nowhere() -> None:
    p = path(CLIENT, communities=(NO_ADVERTISE,))
    assert not any(exportable(p, g) for g in (TO_CLIENT, TO_NONCLIENT, TO_EBGP))


@pytest.mark.parametrize("comm", [NO_EXPORT, NO_EXPORT_SUBCONFED])
def test_no_export_stays_inside_the_as(comm: int) -> None:
    p = path(CLIENT, communities=(comm,))
    assert exportable(p, TO_CLIENT) and exportable(p, TO_NONCLIENT)
    assert not exportable(p, TO_EBGP)


def test_llgr_stale_only_to_llgr_ibgp_groups() -> None:
    p = path(CLIENT, llgr=True)
    assert not exportable(p, TO_CLIENT)
    assert exportable(p, group(client=True, llgr=True))
    assert not exportable(p, group(ebgp=True, llgr=True))


def test_entry_of_kinds() -> None:
    assert entry_of(path(None), 0).kind == KIND_LOCAL
    e = entry_of(path(EBGP), 4)
    assert (e.path_id, e.source, e.source_bgp_id, e.kind) == (4, 3, EBGP.bgp_id, KIND_EBGP)
    e = entry_of(path(CLIENT), 0)
    assert (e.source, e.kind) == (1, KIND_IBGP)
    assert e == tuple(e)  # a plain tuple underneath: states compare with ==


def test_view_removes_the_members_own_entries() -> None:
    a = T.intern(block())
    st = (Entry(1, a, 1, 9, KIND_IBGP), Entry(2, a, 2, 9, KIND_IBGP))
    assert view(st, 1) == (st[1],)
    assert view(st, 5) is st


def test_unknown_union_by_path_id_flagged() -> None:
    a, b = T.intern(block()), T.intern(block(med=1))
    s1 = (Entry(1, a, 1, 0, KIND_IBGP),)
    s2 = (Entry(1, b, 2, 0, KIND_EBGP), Entry(3, b, 2, 0, KIND_EBGP))
    u = unknown(s1, s2)
    assert [e.path_id for e in u] == [1, 3]
    assert u[0].attrs is b and all(e.kind & KIND_UNKNOWN for e in u)
    assert u[0] != s2[0]  # never equal to a real entry: always re-sent


def test_reflected_block_adds_originator_and_cluster() -> None:
    e = entry_of(path(CLIENT), 0)
    attrs = PathAttrs(out_block(e, TO_NONCLIENT, 65000))
    assert attrs.originator_id == CLIENT.bgp_id  # RFC 4456 §8: set when absent
    assert attrs.cluster_list == (0x01010101,)  # our cluster id prepended
    assert attrs.med == 7


def test_reflected_block_keeps_existing_originator_prepends_cluster() -> None:
    a = T.intern(block(originator_id=0x0B0B0B0B, cluster_list=(0x02020202,)))
    e = Entry(0, a, 1, CLIENT.bgp_id, KIND_IBGP)
    attrs = PathAttrs(out_block(e, TO_CLIENT, 65000))
    assert attrs.originator_id == 0x0B0B0B0B
    assert attrs.cluster_list == (0x01010101, 0x02020202)


def test_ebgp_learned_to_ibgp_gets_local_pref_no_reflection_attrs() -> None:
    a = T.intern(block(local_pref=None))
    attrs = PathAttrs(out_block(Entry(0, a, 3, 0, KIND_EBGP), TO_CLIENT, 65000))
    assert attrs.local_pref == 100
    assert attrs.originator_id is None and attrs.cluster_list == ()


def test_ebgp_export_strips_and_prepends() -> None:
    a = T.intern(block(as_path=(65001,), med=7, originator_id=1, cluster_list=(2,)))
    attrs = PathAttrs(out_block(Entry(0, a, 1, 0, KIND_IBGP), TO_EBGP, 65000))
    assert attrs.local_pref is None and attrs.originator_id is None
    assert attrs.cluster_list == () and attrs.med is None
    assert attrs.as_path == ((2, (65000, 65001)),)
    local = PathAttrs(out_block(Entry(0, a, -1, 0, KIND_LOCAL), TO_EBGP, 65000))
    assert local.med == 7  # RFC 4271 §5.1.4: a locally originated MED is kept


def test_unknown_flag_does_not_change_the_block() -> None:
    e = entry_of(path(CLIENT), 0)
    assert out_block(e._replace(kind=e.kind | KIND_UNKNOWN), TO_CLIENT, 65000) == out_block(
        e, TO_CLIENT, 65000
    )


def test_with_local_pref_keeps_existing() -> None:
    raw = block(local_pref=200)
    assert with_local_pref(raw) == raw
    assert PathAttrs(with_local_pref(block(local_pref=None))).local_pref == 100


def test_route_refresh_message_bytes() -> None:
    msg = route_refresh_message((2, 1), 1)
    assert msg[:16] == b"\xff" * 16
    assert msg[16:] == bytes((0, 23, 5, 0, 2, 1, 1))


def test_llgr_stale_community_path_still_exportable_when_not_marked() -> None:
    p = path(CLIENT, communities=(LLGR_STALE,))
    assert exportable(p, TO_CLIENT)
