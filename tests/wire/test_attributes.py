"""Path attributes: TLV codec, the PathAttrs view, block rewriting (RFC 4271, 4456, 6793,
1997, 4360, 8092). Golden bytes are written out by hand from the RFC formats."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.wire.attributes import (
    PathAttrs,
    RawAttribute,
    add_community,
    as_path_length,
    best_path_fields,
    decode_as_path,
    encode_as_path,
    encode_attribute,
    merge_as4_path,
    parse_attributes,
    reflect_block,
    set_community,
    strip_attributes,
    to_as2_block,
    walk_attributes,
)
from bgprr.wire.constants import LLGR_STALE
from bgprr.wire.errors import BGPError

H = bytes.fromhex

ORIGIN = H("40 01 01 00")
# AS_SEQUENCE 65001 4200000000 65000, AS_SET {1 2}
AS_PATH = H("40 02 18  02 03 0000fde9 fa56ea00 0000fde8  01 02 00000001 00000002")
NEXT_HOP = H("40 03 04 0a000001")
MED = H("80 04 04 00000005")
LOCAL_PREF = H("40 05 04 00000064")
ATOMIC = H("40 06 00")
AGGREGATOR = H("c0 07 08 fa56ea00 c0000201")
COMMUNITIES = H("c0 08 08 fde80001 ffffff01")
ORIGINATOR_ID = H("80 09 04 0a000002")
CLUSTER_LIST = H("80 0a 08 01010101 02020202")
EXT_COMM = H("c0 10 08 0002fde800000064")
LARGE_COMM = H("c0 20 0c fa56ea00 00000001 00000002")

FULL = b"".join(
    [
        ORIGIN,
        AS_PATH,
        NEXT_HOP,
        MED,
        LOCAL_PREF,
        ATOMIC,
        AGGREGATOR,
        COMMUNITIES,
        ORIGINATOR_ID,
        CLUSTER_LIST,
        EXT_COMM,
        LARGE_COMM,
    ]
)


def test_encode_attribute_forms() -> None:
    assert encode_attribute(0x40, 1, b"\x00") == ORIGIN
    assert encode_attribute(0x40, 6, b"") == ATOMIC
    assert encode_attribute(0x50, 1, b"\x00") == H("5001000100")  # ext flag given
    long = bytes(300)
    assert encode_attribute(0xC0, 8, long) == H("d008012c") + long  # ext bit added
    assert encode_attribute(0xC0, 8, bytes(255))[:3] == H("c008ff")
    with pytest.raises(ValueError):
        encode_attribute(0xC0, 8, bytes(65536))


def test_parse_attributes_golden_and_reencode() -> None:
    attrs = parse_attributes(FULL)
    assert [a.type for a in attrs] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32]
    assert attrs[0] == RawAttribute(flags=0x40, type=1, value=b"\x00")
    assert attrs[6] == RawAttribute(flags=0xC0, type=7, value=H("fa56ea00c0000201"))
    assert b"".join(encode_attribute(a.flags, a.type, a.value) for a in attrs) == FULL
    ext = H("5001000100")
    assert parse_attributes(memoryview(ext)) == [RawAttribute(flags=0x50, type=1, value=b"\0")]
    assert encode_attribute(0x50, 1, b"\0") == ext


@pytest.mark.parametrize("bad", [H("40"), H("4001"), H("400102"), H("500100"), H("50010002aa")])
def test_parse_attributes_truncated(bad: bytes) -> None:
    with pytest.raises(BGPError) as info:
        parse_attributes(ORIGIN + bad)
    assert (info.value.code, info.value.subcode) == (3, 1)
    assert info.value.offset == len(ORIGIN)


def test_walk_attributes() -> None:
    assert walk_attributes(ORIGIN + ATOMIC) == [(1, 0, 3, 4), (6, 4, 7, 7)]


def test_path_attrs_every_property() -> None:
    pa = PathAttrs(FULL)
    assert pa.raw == FULL
    assert pa.origin == 0
    assert pa.as_path == ((2, (65001, 4200000000, 65000)), (1, (1, 2)))
    assert pa.as_path_length == 4
    assert pa.neighbor_as == 65001
    assert pa.next_hop == H("0a000001")
    assert pa.med == 5
    assert pa.local_pref == 100
    assert pa.atomic_aggregate is True
    assert pa.aggregator == (4200000000, 0xC0000201)
    assert pa.communities == (0xFDE80001, 0xFFFFFF01)
    assert pa.ext_communities == (H("0002fde800000064"),)
    assert pa.large_communities == ((4200000000, 1, 2),)
    assert pa.originator_id == 0x0A000002
    assert pa.cluster_list == (0x01010101, 0x02020202)
    # cached: same objects on the second access
    assert pa.as_path is pa.as_path
    assert pa.communities is pa.communities
    assert pa.get(5) == H("00000064")
    assert pa.has(32) and not pa.has(99)
    assert pa == PathAttrs(FULL) and hash(pa) == hash(PathAttrs(FULL))
    assert pa != PathAttrs(ORIGIN)


def test_path_attrs_absent() -> None:
    pa = PathAttrs(b"")
    assert pa.origin is None
    assert pa.as_path == ()
    assert pa.as_path_length == 0
    assert pa.neighbor_as is None
    assert pa.next_hop == b""
    assert pa.med is None and pa.local_pref is None
    assert pa.atomic_aggregate is False
    assert pa.aggregator is None
    assert pa.communities == () and pa.ext_communities == () and pa.large_communities == ()
    assert pa.originator_id is None and pa.cluster_list == ()


def test_path_attrs_malformed_values() -> None:
    with pytest.raises(ValueError):
        _ = PathAttrs(H("400201") + b"\x02").as_path
    with pytest.raises(ValueError):
        _ = PathAttrs(H("80040200 01")).med
    with pytest.raises(ValueError):
        _ = PathAttrs(H("c00806") + bytes(6)).communities


def test_as_path_length_and_neighbor_with_confederations() -> None:
    path = ((3, (65010, 65011)), (2, (1, 2)), (1, (7, 8, 9)), (4, (5,)))
    assert as_path_length(path) == 3
    raw = encode_attribute(0x40, 2, encode_as_path(path))
    pa = PathAttrs(raw)
    assert pa.as_path == path
    assert pa.neighbor_as == 1
    assert PathAttrs(encode_attribute(0x40, 2, encode_as_path([(1, (5, 6))]))).neighbor_as is None


def test_as_path_codec() -> None:
    raw = H("02030000fde9fa56ea000000fde8")
    assert decode_as_path(raw, 0, len(raw)) == ((2, (65001, 4200000000, 65000)),)
    assert encode_as_path([(2, (65001, 4200000000, 65000))]) == raw
    assert encode_as_path([(2, (65001, 4200000000))], 2) == H("0202fde95ba0")
    long = tuple(range(1, 301))
    enc = encode_as_path([(2, long)])
    path = decode_as_path(enc, 0, len(enc))
    assert path is not None and [len(a) for _, a in path] == [255, 45]
    for bad in [H("02"), H("0200"), H("050100000001"), H("020200000001"), H("0201000001")]:
        assert decode_as_path(bad, 0, len(bad)) is None


def test_merge_as4_path() -> None:
    trans = 23456
    as_path = ((2, (65001, trans, trans)),)
    assert merge_as4_path(as_path, ((2, (4200000000, 4200000001)),)) == (
        (2, (65001, 4200000000, 4200000001)),
    )
    # AS4_PATH longer than AS_PATH: AS_PATH is used as is (RFC 6793 §4.2.3)
    assert merge_as4_path(((2, (1,)),), ((2, (5, 6)),)) == ((2, (1,)),)
    # a set counts as one; confederation segments stay in front
    merged = merge_as4_path(((3, (9,)), (1, (1, 2)), (2, (trans,))), ((2, (4200000000,)),))
    assert merged == ((3, (9,)), (1, (1, 2)), (2, (4200000000,)))


def test_reflect_block_inserts_in_type_order() -> None:
    block = ORIGIN + AS_PATH + NEXT_HOP + LOCAL_PREF + COMMUNITIES + EXT_COMM
    out = reflect_block(block, originator_id=0x0A000009, cluster_id=0x0B0B0B0B)
    assert out == (
        ORIGIN
        + AS_PATH
        + NEXT_HOP
        + LOCAL_PREF
        + COMMUNITIES
        + H("8009040a000009")
        + H("800a040b0b0b0b")
        + EXT_COMM
    )


def test_reflect_block_existing_attributes() -> None:
    block = ORIGIN + AS_PATH + ORIGINATOR_ID + CLUSTER_LIST + LARGE_COMM
    out = reflect_block(block, originator_id=0x0A000009, cluster_id=0x0B0B0B0B)
    assert out == (
        ORIGIN + AS_PATH + ORIGINATOR_ID + H("800a0c0b0b0b0b0101010102020202") + LARGE_COMM
    )
    pa = PathAttrs(out)
    assert pa.originator_id == 0x0A000002
    assert pa.cluster_list == (0x0B0B0B0B, 0x01010101, 0x02020202)


def test_reflect_block_empty_and_growth_to_extended_length() -> None:
    assert reflect_block(b"", originator_id=1, cluster_id=2) == H("80090400000001800a0400000002")
    cl = encode_attribute(0x80, 10, bytes(252))  # 63 entries
    out = reflect_block(ORIGIN + ORIGINATOR_ID + cl, originator_id=1, cluster_id=7)
    assert out[: 4 + 7] == ORIGIN + ORIGINATOR_ID
    assert out[11:15] == H("900a0100")
    assert out[15:19] == H("00000007")
    assert len(out) == 11 + 4 + 256
    assert PathAttrs(out).cluster_list == (7,) + (0,) * 63


def test_add_community() -> None:
    block = ORIGIN + AS_PATH + NEXT_HOP + LARGE_COMM
    out = add_community(block, LLGR_STALE)
    assert out == ORIGIN + AS_PATH + NEXT_HOP + H("c00804ffff0006") + LARGE_COMM
    assert add_community(out, LLGR_STALE) is out
    out2 = add_community(ORIGIN + COMMUNITIES, LLGR_STALE)
    assert out2 == ORIGIN + H("c0080cfde80001ffffff01ffff0006")
    assert set_community(ORIGIN, 1) == ORIGIN + H("c0080400000001")


def test_strip_attributes() -> None:
    assert strip_attributes(FULL, {9, 10}) == FULL.replace(ORIGINATOR_ID + CLUSTER_LIST, b"")
    assert strip_attributes(FULL, set()) is FULL
    assert strip_attributes(FULL, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32}) == b""


def test_to_as2_block_big_asns() -> None:
    block = ORIGIN + AS_PATH + NEXT_HOP + AGGREGATOR + COMMUNITIES + LARGE_COMM
    out = to_as2_block(block)
    expected = (
        ORIGIN
        + H("40020e0203fde95ba0fde8010200010002")
        + NEXT_HOP
        + H("c007065ba0c0000201")
        + COMMUNITIES
        + H("c0111802030000fde9fa56ea000000fde801020000000100000002")
        + H("c01208fa56ea00c0000201")
        + LARGE_COMM
    )
    assert out == expected


def test_to_as2_block_small_asns_and_confed() -> None:
    path = [(3, (65010,)), (2, (65001, 65002))]
    block = ORIGIN + encode_attribute(0x40, 2, encode_as_path(path))
    assert to_as2_block(block) == ORIGIN + H("40020a0301fdf20202fde9fdea")
    path4 = [(3, (65010,)), (2, (4200000000,))]
    out = to_as2_block(ORIGIN + encode_attribute(0x40, 2, encode_as_path(path4)))
    attrs = parse_attributes(out)
    assert [a.type for a in attrs] == [1, 2, 17]
    assert attrs[1].value == H("0301fdf202015ba0")
    # AS4_PATH carries no confederation segments (RFC 6793 §4.2.2)
    assert attrs[2].value == H("0201fa56ea00")


@settings(max_examples=100)
@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2]), st.lists(st.integers(1, 2**32 - 1), min_size=1)),
        max_size=4,
    )
)
def test_to_as2_then_merge_roundtrip(path: list[tuple[int, list[int]]]) -> None:
    segs = tuple((t, tuple(a)) for t, a in path)
    block = ORIGIN + encode_attribute(0x40, 2, encode_as_path(segs))
    out = parse_attributes(to_as2_block(block))
    as2 = decode_as_path(out[1].value, 0, len(out[1].value), 2)
    assert as2 is not None
    if len(out) == 3:
        as4 = decode_as_path(out[2].value, 0, len(out[2].value), 4)
        assert as4 is not None
        merged = merge_as4_path(as2, as4)
    else:
        merged = as2
    assert encode_as_path(merged) == encode_as_path(segs)


def test_rewrites_keep_extended_length_attributes_byte_identical() -> None:
    ext_origin = H("5001000100")
    ext_comm = H("d0080004fde80001")
    block = ext_origin + AS_PATH + ext_comm + LARGE_COMM
    out = reflect_block(block, originator_id=1, cluster_id=2)
    assert out == (ext_origin + AS_PATH + ext_comm + H("80090400000001800a0400000002") + LARGE_COMM)
    assert add_community(block, 0xFDE80001) is block
    assert add_community(block, 5) == ext_origin + AS_PATH + H("d0080008fde8000100000005") + (
        LARGE_COMM
    )
    with pytest.raises(BGPError):
        reflect_block(ORIGIN + H("c0080a00"), originator_id=1, cluster_id=2)


def test_to_as2_block_drops_stray_as4_attributes() -> None:
    stray = H("c01106020100000001") + H("c012080000000101020304")
    small_aggr = H("c007080000fde9c0000201")
    out = to_as2_block(ORIGIN + small_aggr + stray)
    assert out == ORIGIN + H("c00706fde9c0000201")
    assert repr(PathAttrs(ORIGIN)) == f"PathAttrs({ORIGIN!r})"
    assert PathAttrs(ORIGIN).__eq__(ORIGIN) is NotImplemented


def test_to_as2_block_big_asn_only_in_confed_segment_needs_no_as4_path() -> None:
    path = [(3, (4200000000,)), (2, (65001,))]
    out = to_as2_block(ORIGIN + encode_attribute(0x40, 2, encode_as_path(path)))
    assert out == ORIGIN + H("40 02 08  03 01 5ba0  02 01 fde9")


_BLOCK_PARTS = st.lists(
    st.sampled_from(
        [
            *(ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, ATOMIC, AGGREGATOR, COMMUNITIES),
            *(ORIGINATOR_ID, CLUSTER_LIST, EXT_COMM, LARGE_COMM, H("c0 63 01 61")),
            H("d0 40 0000"),  # unknown transitive, extended length, empty
        ]
    ),
    unique=True,
)


@settings(max_examples=200)
@given(_BLOCK_PARTS, st.booleans(), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_reflect_block_property(parts: list[bytes], ordered: bool, oid: int, cid: int) -> None:
    if ordered:
        parts = sorted(parts, key=lambda a: a[1])
    block = b"".join(parts)
    out = reflect_block(block, originator_id=oid, cluster_id=cid)
    before = parse_attributes(block)
    after = parse_attributes(out)
    untouched = [a for a in after if a.type not in (9, 10)]
    assert untouched == [a for a in before if a.type not in (9, 10)]
    pa_in, pa_out = PathAttrs(block), PathAttrs(out)
    assert pa_out.originator_id == (oid if pa_in.originator_id is None else pa_in.originator_id)
    assert pa_out.cluster_list == (cid, *pa_in.cluster_list)
    if ordered:
        assert [a.type for a in after] == sorted(a.type for a in after)
    # every attribute other than CLUSTER_LIST keeps its exact bytes
    for a in before:
        if a.type != 10:
            assert encode_attribute(a.flags, a.type, a.value) in out


_PIECES = [
    ORIGIN,
    AS_PATH,
    NEXT_HOP,
    MED,
    LOCAL_PREF,
    COMMUNITIES,
    ORIGINATOR_ID,
    CLUSTER_LIST,
    H("40 02 00"),  # empty AS_PATH
    H("40 02 0a 03 01 0000fde9 02 01 00000007"),  # confed sequence, then a sequence
    H("40 02 0a 01 01 00000009 02 01 00000007"),  # AS_SET first: no neighbor AS
    H("40 02 04 02 01 0000"),  # malformed AS_PATH
    H("80 04 03 000005"),  # MED of 3 octets
    H("40 05 00"),  # empty LOCAL_PREF
    H("c0 08 06 fde80001 ffff"),  # communities not a multiple of 4
    H("80 0a 00"),  # empty CLUSTER_LIST
    H("40 01 00"),  # empty ORIGIN
    H("c0 08 03"),  # truncated header/value
]


def _via_view(raw: bytes) -> object:
    try:
        v = PathAttrs(raw)
        return (
            v.local_pref,
            v.med,
            v.as_path_length,
            v.neighbor_as,
            v.origin,
            v.originator_id,
            v.cluster_list,
            v.communities,
        )
    except (ValueError, BGPError) as e:
        return type(e), str(e)


def _via_function(raw: bytes) -> object:
    try:
        return best_path_fields(raw)
    except (ValueError, BGPError) as e:
        return type(e), str(e)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=8), st.binary(max_size=6))
def test_best_path_fields_match_the_view(pieces: list[bytes], tail: bytes) -> None:
    """Same values, and the same first error, as the PathAttrs properties (also with
    duplicates, malformed values and trailing garbage)."""
    for raw in (b"".join(pieces), b"".join(pieces) + tail):
        assert _via_function(raw) == _via_view(raw)


def test_best_path_fields_full_block() -> None:
    assert best_path_fields(FULL) == (
        100,
        5,
        4,
        65001,
        0,
        0x0A000002,
        (0x01010101, 0x02020202),
        (0xFDE80001, 0xFFFFFF01),
    )
    many = encode_attribute(0x80, 10, bytes(4 * 300))  # 300 cluster ids: past the table
    assert best_path_fields(many)[6] == (0,) * 300
