"""Fuzz invariants of decode_update: garbage and mutated valid UPDATEs either decode or raise
BGPError, never anything else; what decodes is canonical (every PathAttrs property works,
the rewriting functions accept it, and encoding it back decodes to the same content).

Default runs are short; ``HYPOTHESIS_PROFILE=fuzz`` raises the example count.
"""

from __future__ import annotations

import os
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgprr.wire.attrcheck import ScanCache
from bgprr.wire.attributes import PathAttrs, add_community, reflect_block, to_as2_block
from bgprr.wire.errors import BGPError
from bgprr.wire.update import Update, decode_update
from tests.wire.updatebuild import reencode

_N = 20000 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 300
_FUZZ = settings(max_examples=_N, deadline=None, suppress_health_check=[HealthCheck.too_slow])

H = bytes.fromhex
_ATTRS = [
    H("40010100"),
    H("40010102"),
    H("40020602010000fde9"),
    H("40020a02020000fde9fa56ea00"),
    H("4002040201fde9"),
    H("4003040a000001"),
    H("800404000000ff"),
    H("40050400000064"),
    H("400600"),
    H("c00708fa56ea00c0000201"),
    H("c00706fde9c0000201"),
    H("c00808fde80001ffffff01"),
    H("80090401020304"),
    H("800a0401020304"),
    H("c010080002fde800000064"),
    H("c011060201fa56ea00"),
    H("c01208fa56ea00c0000201"),
    H("c0200cfa56ea000000000100000002"),
    H("c0630161"),
    H("80620162"),
    H("800e1a0002011020010db8000000000000000000000001002020010db8"),
    H("800f080002012020010db8"),
    H("800e0d000101040a00000100180a0102"),
    H("900f000700020100000000"),
]
_NLRI = [H("180a0102"), H("200a000001"), H("00"), H("100a09"), H("00000001180a0102")]


def _msg(withdrawn: bytes, attrs: bytes, nlri: bytes) -> bytes:
    body = len(withdrawn).to_bytes(2, "big") + withdrawn + len(attrs).to_bytes(2, "big")
    body += attrs + nlri
    return b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body


@st.composite
def _valid_like(draw: st.DrawFn) -> bytes:
    attrs = b"".join(draw(st.lists(st.sampled_from(_ATTRS), max_size=10)))
    nlri = b"".join(draw(st.lists(st.sampled_from(_NLRI), max_size=4)))
    wd = b"".join(draw(st.lists(st.sampled_from(_NLRI), max_size=3)))
    return _msg(wd, attrs, nlri)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    m = bytearray(draw(_valid_like()))
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 3))
        pos = draw(st.integers(19, max(19, len(m) - 1)))
        if kind == 0 and pos < len(m):
            m[pos] = draw(st.integers(0, 255))
        elif kind == 1:
            m[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif kind == 2:
            del m[pos : pos + draw(st.integers(1, 4))]
        else:
            m[19:] = m[19:pos] if draw(st.booleans()) else m[19:]
    if draw(st.booleans()):  # keep the header consistent most of the time
        m[16:18] = len(m).to_bytes(2, "big")
    return bytes(m)


_KW = st.fixed_dictionaries(
    {
        "as4": st.booleans(),
        "ibgp": st.booleans(),
        "addpath": st.sampled_from(
            [frozenset(), frozenset({(1, 1)}), frozenset({(2, 1)}), frozenset({(1, 1), (2, 1)})]
        ),
    }
)


def _check(m: bytes, kw: dict[str, object]) -> None:
    as4 = bool(kw["as4"])
    ibgp = bool(kw["ibgp"])
    addpath = kw["addpath"]
    assert isinstance(addpath, frozenset)
    try:
        u = decode_update(m, as4=as4, ibgp=ibgp, addpath=addpath)
    except BGPError:
        return
    assert isinstance(u, Update)
    pa = PathAttrs(u.attrs)
    _ = (
        pa.origin,
        pa.as_path,
        pa.as_path_length,
        pa.neighbor_as,
        pa.next_hop,
        pa.med,
        pa.local_pref,
        pa.atomic_aggregate,
        pa.aggregator,
        pa.communities,
        pa.ext_communities,
        pa.large_communities,
        pa.originator_id,
        pa.cluster_list,
    )
    reflect_block(u.attrs, originator_id=1, cluster_id=2)
    to_as2_block(u.attrs)
    add_community(u.attrs, 0xFFFF0006)
    again = reencode(u)
    u2 = decode_update(again, as4=True, ibgp=ibgp, addpath=addpath)
    assert (u2.withdrawn, u2.withdrawn_ids, u2.attrs, u2.nlri, u2.nlri_ids) == (
        u.withdrawn,
        u.withdrawn_ids,
        u.attrs,
        u.nlri,
        u.nlri_ids,
    )
    assert (u2.mp_reach, u2.mp_unreach) == (u.mp_reach, u.mp_unreach)


@_FUZZ
@given(st.binary(max_size=200), _KW)
def test_random_bodies(body: bytes, kw: dict[str, object]) -> None:
    m = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    _check(m, kw)


@_FUZZ
@given(st.binary(max_size=80), _KW)
def test_random_bytes_whole_message(m: bytes, kw: dict[str, object]) -> None:
    _check(m, kw)


@_FUZZ
@given(_mutated(), _KW)
def test_mutated_valid_messages(m: bytes, kw: dict[str, object]) -> None:
    _check(m, kw)


@_FUZZ
@given(_valid_like(), _KW)
def test_valid_like_messages(m: bytes, kw: dict[str, object]) -> None:
    _check(m, kw)


def _outcome(m: bytes, kw: dict[str, object], cache: ScanCache | None) -> object:
    """Everything decode_update tells about ``m`` (errors by their fields)."""
    addpath = kw["addpath"]
    assert isinstance(addpath, frozenset)
    try:
        u = decode_update(
            m, as4=bool(kw["as4"]), ibgp=bool(kw["ibgp"]), addpath=addpath, cache=cache
        )
    except BGPError as e:
        return ("raised", e.code, e.subcode, e.data, e.action, e.offset, e.reason)
    errs = [(e.code, e.subcode, e.data, e.action, e.offset, e.reason) for e in u.errors]
    fields = (u.withdrawn, u.withdrawn_ids, u.attrs, u.nlri, u.nlri_ids, u.mp_reach, u.mp_unreach)
    return fields, errs, u.treat_as_withdraw


@_FUZZ
@given(st.lists(st.one_of(_valid_like(), _mutated()), min_size=1, max_size=6), _KW, _KW)
def test_scan_cache_changes_nothing(
    msgs: list[bytes], kw: dict[str, object], other: dict[str, object]
) -> None:
    """Decoding through a ScanCache (hits, misses, a full table starting over, calls with
    other session flags) gives exactly what decoding without one gives."""
    cache = ScanCache(as4=bool(kw["as4"]), ibgp=bool(kw["ibgp"]), limit=3)
    for m in msgs + msgs + msgs[::-1]:
        assert _outcome(m, kw, cache) == _outcome(m, kw, None)
        assert _outcome(m, other, cache) == _outcome(m, other, None)


def test_scan_cache_hit_shares_the_block() -> None:
    attrs = b"".join(_ATTRS[i] for i in (0, 2, 5, 7))
    cache = ScanCache(as4=True, ibgp=True)
    first = decode_update(_msg(b"", attrs, _NLRI[0]), cache=cache)
    second = decode_update(_msg(_NLRI[1], attrs, _NLRI[1] + _NLRI[3]), cache=cache)
    assert len(cache.table) == 1 and first.attrs == attrs and second.attrs is first.attrs
    assert second.nlri != first.nlri and second.withdrawn and not second.errors
    ebgp = decode_update(_msg(b"", attrs, _NLRI[0]), ibgp=False, cache=cache)
    assert ebgp.attrs != attrs and len(cache.table) == 1  # LOCAL_PREF dropped, not cached


def test_scan_caches_share_their_seen_maps() -> None:
    """Sets that differ only in their MED keep one shared map of the types they carry,
    across sessions: a full table of such sets costs its fields, not 256 octets each."""
    caches = [ScanCache(as4=True, ibgp=True) for _ in range(2)]
    head = b"".join(_ATTRS[i] for i in (0, 2, 5, 7))
    fields = [head + H("80040400") + i.to_bytes(3, "big") for i in range(256)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for cache in caches:
            for f in fields:
                u = decode_update(_msg(b"", f, _NLRI[0]), cache=cache)
                assert u.attrs == f and not u.errors
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    maps = {id(seen) for cache in caches for _block, seen in cache.table.values()}
    assert len(maps) == 1
    _block, seen = next(iter(caches[0].table.values()))
    assert isinstance(seen, bytes) and len(seen) == 256 and seen[4] == 1 and seen[9] == 0
    assert grown < 2 * 256 * 240, grown  # the field, its tuple and the slot: no private map


def test_shared_seen_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from bgprr.wire import attrcheck

    monkeypatch.setattr(attrcheck, "_SEEN", {})
    monkeypatch.setattr(attrcheck, "SEEN_LIMIT", 4)
    maps = [bytearray(256) for _ in range(6)]
    for i, m in enumerate(maps):
        m[10 + i] = 1
    got = [attrcheck.shared_seen(m) for m in maps]
    assert [bytes(m) for m in maps] == got
    assert len(attrcheck._SEEN) == 4  # the rest are private copies
    assert attrcheck.shared_seen(maps[0]) is got[0]
    assert attrcheck.shared_seen(maps[5]) is not got[5]


@_FUZZ
@given(st.one_of(_valid_like(), _mutated()), _KW)
def test_decoded_update_is_a_plain_update(m: bytes, kw: dict[str, object]) -> None:
    """decode_update's result equals the Update built through its own __init__ from the
    same fields, and is read-only."""
    addpath = kw["addpath"]
    assert isinstance(addpath, frozenset)
    try:
        u = decode_update(m, as4=bool(kw["as4"]), ibgp=bool(kw["ibgp"]), addpath=addpath)
    except BGPError:
        return
    names = Update.FIELDS
    again = Update(**{n: getattr(u, n) for n in names})
    assert u == again and repr(u) == repr(again) and type(u) is Update
    with pytest.raises(AttributeError):
        u.attrs = b""  # type: ignore[misc]  # the point: assignment must fail
