"""decode_update error handling: every RFC 4271 §6.3 / RFC 7606 / RFC 6793 §6 case with its
exact (code, subcode, data, action) and offset; the RFC 6793 AS4_PATH merge."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.wire.attributes import (
    PathAttrs,
    encode_as_path,
    parse_attributes,
    to_as2_block,
)
from bgprr.wire.errors import Action, BGPError
from bgprr.wire.update import (
    decode_update,
    error_family,
)
from tests.wire.updatebuild import (
    AFTER_AS,
    AS_PATH,
    BASE,
    BEFORE_NH,
    DISABLE,
    DISCARD,
    LOCAL_PREF,
    MP6,
    MP6_BODY,
    NEXT_HOP,
    NH6,
    NLRI,
    NO_LP,
    ORIGIN,
    RESET,
    TAW,
    A,
    H,
    err_tuple,
    k,
    msg,
)

# --------------------------------------------------------------------------------------
# errors


AS4_AGGR = A(0xC0, 7, H("fa56ea00c0000201"))

RAISED: list[tuple[str, bytes, dict[str, Any], tuple[int, int, bytes, Action], int]] = [
    ("length field", msg()[:16] + H("0019") + msg()[18:] + b"\0", {}, (1, 2, H("0019"), RESET), 16),
    ("type", msg()[:18] + b"\x01" + msg()[19:], {}, (1, 3, b"\x01", RESET), 18),
    ("withdrawn length", msg()[:19] + H("00ff") + H("0000"), {}, (3, 1, b"", RESET), 19),
    ("attr length", msg()[:21] + H("00ff"), {}, (3, 1, b"", RESET), 21),
    ("withdrawn /33", msg(withdrawn=H("21") + bytes(5)), {}, (3, 10, b"", RESET), 21),
    ("nlri overrun", msg(attrs=BASE, nlri=H("180a01")), {}, (3, 10, b"", RESET), 23 + len(BASE)),
    ("dup MP_REACH", msg(attrs=MP6 + MP6), {}, (3, 1, b"", RESET), 23 + len(MP6)),
    ("dup MP_UNREACH", msg(attrs=H("800f03000201") * 2), {}, (3, 1, b"", RESET), 29),
    (
        "unrecognized well-known",
        msg(attrs=A(0x40, 99, b"x")),
        {},
        (3, 2, H("406301") + b"x", RESET),
        23,
    ),
    ("MP_REACH 2 octets", msg(attrs=A(0x80, 14, b"\0\2")), {}, (3, 9, H("800e020002"), RESET), 23),
    ("MP_REACH overruns list", msg(attrs=H("800e10") + bytes(4)), {}, (3, 5, b"", RESET), 23),
    (
        # RFC 4760 §7 (RFC 7606 §3 c defers to it): Optional Attribute Error, not 3/4
        "MP_REACH flags",
        msg(attrs=bytes((0xC0,)) + MP6[1:]),
        {},
        (3, 9, bytes((0xC0,)) + MP6[1:], DISABLE),
        23,
    ),
    (
        "MP_REACH optional transitive with Partial",
        msg(attrs=bytes((0xE0,)) + MP6[1:]),
        {},
        (3, 9, bytes((0xE0,)) + MP6[1:], DISABLE),
        23,
    ),
    (
        "MP_REACH with Partial",
        msg(attrs=bytes((0xA0,)) + MP6[1:]),
        {},
        (3, 9, bytes((0xA0,)) + MP6[1:], DISABLE),
        23,
    ),
    (
        "MP_REACH v6 next hop of 4",
        msg(attrs=A(0x80, 14, H("000201040a00000100"))),
        {},
        (3, 9, A(0x80, 14, H("000201040a00000100")), DISABLE),
        23,
    ),
    (
        "MP_REACH next hop overruns",
        msg(attrs=A(0x80, 14, H("000201100a000001"))),
        {},
        (3, 9, A(0x80, 14, H("000201100a000001")), DISABLE),
        23,
    ),
    (
        "MP_REACH /129",
        msg(attrs=A(0x80, 14, H("00020110") + NH6[:16] + H("0081") + bytes(17))),
        {},
        (3, 9, A(0x80, 14, H("00020110") + NH6[:16] + H("0081") + bytes(17)), DISABLE),
        23 + 3 + 21,
    ),
    (
        "MP_UNREACH overrun",
        msg(attrs=A(0x80, 15, H("0002013020"))),
        {},
        (3, 9, A(0x80, 15, H("0002013020")), DISABLE),
        26 + 3,
    ),
]


@pytest.mark.parametrize(
    ("m", "kw", "expected", "offset"),
    [c[1:] for c in RAISED],
    ids=[c[0] for c in RAISED],
)
def test_raised_errors(
    m: bytes, kw: dict[str, Any], expected: tuple[int, int, bytes, Action], offset: int
) -> None:
    with pytest.raises(BGPError) as info:
        decode_update(m, **kw)
    assert err_tuple(info.value) == expected
    assert info.value.offset == offset


def test_error_family() -> None:
    with pytest.raises(BGPError) as info:
        decode_update(msg(attrs=bytes((0xC0,)) + MP6[1:]))
    assert error_family(info.value) == (2, 1)
    ext = H("900e0005") + H("0002010400")
    with pytest.raises(BGPError) as info:
        decode_update(msg(attrs=ext))
    assert error_family(info.value) == (2, 1)
    assert error_family(BGPError(3, 1)) is None


ATTR0 = 21  # offset of the Total Path Attribute Length in msg() without withdrawn routes
NH_ERR = (3, 8)

COLLECTED: list[tuple[str, bytes, dict[str, Any], list[tuple[int, int, bytes, Action]], bool]] = [
    ("attr overruns list", BASE + H("c0080a") + bytes(4), {}, [(3, 1, b"", TAW)], True),
    ("short tail", BASE + H("c008"), {}, [(3, 1, b"", TAW)], True),
    ("dup ORIGIN", BASE + H("40010102"), {}, [(3, 1, b"", DISCARD)], False),
    ("ORIGIN flags", H("c0010100") + BASE[4:], {}, [(3, 4, H("c0010100"), TAW)], True),
    # RFC 4271 §4.3: the Partial bit must be 0 on a well-known attribute (RFC 7606 §3 c)
    ("ORIGIN Partial", H("60010100") + BASE[4:], {}, [(3, 4, H("60010100"), TAW)], True),
    (
        "NEXT_HOP Partial",
        BEFORE_NH + H("6003040a000001") + LOCAL_PREF,
        {},
        [(3, 4, H("6003040a000001"), TAW)],
        True,
    ),
    # ... and on an optional non-transitive one
    ("MED Partial", BASE + H("a0040400000001"), {}, [(3, 4, H("a0040400000001"), TAW)], True),
    ("ATOMIC flags", BASE + H("c00600"), {}, [(3, 4, H("c00600"), DISCARD)], False),
    ("ORIGIN len", H("4001020000") + BASE[4:], {}, [(3, 5, H("4001020000"), TAW)], True),
    ("ORIGIN value", H("40010103") + BASE[4:], {}, [(3, 6, H("40010103"), TAW)], True),
    (
        "AS_PATH seg type",
        ORIGIN + A(0x40, 2, H("050100000001")) + AFTER_AS,
        {},
        [(3, 11, b"", TAW)],
        True,
    ),
    ("AS_PATH seg len 0", ORIGIN + A(0x40, 2, H("0200")) + AFTER_AS, {}, [(3, 11, b"", TAW)], True),
    (
        "AS_PATH overrun",
        ORIGIN + A(0x40, 2, H("020200000001")) + AFTER_AS,
        {},
        [(3, 11, b"", TAW)],
        True,
    ),
    (
        "AS_PATH lone octet",
        ORIGIN + A(0x40, 2, H("02010000000102")) + AFTER_AS,
        {},
        [(3, 11, b"", TAW)],
        True,
    ),
    (
        "AS_PATH AS 0",
        ORIGIN + A(0x40, 2, H("020100000000")) + AFTER_AS,
        {},
        [(3, 11, b"", TAW)],
        True,
    ),
    (
        "NEXT_HOP len",
        BEFORE_NH + H("4003050a00000100") + LOCAL_PREF,
        {},
        [(3, 5, H("4003050a00000100"), TAW)],
        True,
    ),
    (
        "NEXT_HOP 0.0.0.0",
        BEFORE_NH + H("40030400000000") + LOCAL_PREF,
        {},
        [(*NH_ERR, H("40030400000000"), TAW)],
        True,
    ),
    (
        "NEXT_HOP multicast",
        BEFORE_NH + H("400304e0000001") + LOCAL_PREF,
        {},
        [(*NH_ERR, H("400304e0000001"), TAW)],
        True,
    ),
    (
        "NEXT_HOP our own address",  # RFC 4271 §6.3: the route is ignored, session kept
        BEFORE_NH + H("4003040a000001") + LOCAL_PREF,
        {"own": H("0a000001")},
        [(*NH_ERR, H("4003040a000001"), TAW)],
        True,
    ),
    (
        "NEXT_HOP broadcast",
        BEFORE_NH + H("400304ffffffff") + LOCAL_PREF,
        {},
        [(*NH_ERR, H("400304ffffffff"), TAW)],
        True,
    ),
    ("MED len", BASE + H("800403000001"), {}, [(3, 5, H("800403000001"), TAW)], True),
    ("LOCAL_PREF len", NO_LP + H("4005020064"), {}, [(3, 5, H("4005020064"), TAW)], True),
    ("ATOMIC len", BASE + H("40060101"), {}, [(3, 5, H("40060101"), DISCARD)], False),
    (
        "AGGREGATOR len",
        BASE + H("c00706fde9c0000201"),
        {},
        [(3, 5, H("c00706fde9c0000201"), DISCARD)],
        False,
    ),
    (
        "AGGREGATOR AS 0",
        BASE + H("c0070800000000c0000201"),
        {},
        [(3, 9, H("c0070800000000c0000201"), DISCARD)],
        False,
    ),
    ("COMMUNITIES len 0", BASE + H("c00800"), {}, [(3, 5, H("c00800"), TAW)], True),
    (
        "COMMUNITIES len 6",
        BASE + H("c00806") + bytes(6),
        {},
        [(3, 5, H("c00806") + bytes(6), TAW)],
        True,
    ),
    (
        "ORIGINATOR_ID len",
        BASE + H("80090500000000ff"),
        {},
        [(3, 5, H("80090500000000ff"), TAW)],
        True,
    ),
    ("CLUSTER_LIST len 0", BASE + H("800a00"), {}, [(3, 5, H("800a00"), TAW)], True),
    (
        "CLUSTER_LIST len 5",
        BASE + H("800a05") + bytes(5),
        {},
        [(3, 5, H("800a05") + bytes(5), TAW)],
        True,
    ),
    (
        "EXT len 12",
        BASE + H("c0100c") + bytes(12),
        {},
        [(3, 5, H("c0100c") + bytes(12), TAW)],
        True,
    ),
    ("LARGE len 8", BASE + H("c02008") + bytes(8), {}, [(3, 5, H("c02008") + bytes(8), TAW)], True),
    (
        "ORIGINATOR_ID from eBGP",
        NO_LP + H("80090401020304"),
        {"ibgp": False},
        [(3, 9, H("80090401020304"), DISCARD)],
        False,
    ),
    (
        "CLUSTER_LIST from eBGP",
        NO_LP + H("800a0401020304"),
        {"ibgp": False},
        [(3, 9, H("800a0401020304"), DISCARD)],
        False,
    ),
    (
        "AS4_PATH from 4-octet peer",
        BASE + H("c01106020100000001"),
        {},
        [(3, 9, H("c01106020100000001"), DISCARD)],
        False,
    ),
    (
        "AS4_AGGREGATOR from 4-octet peer",
        BASE + H("c012080000000101020304"),
        {},
        [(3, 9, H("c012080000000101020304"), DISCARD)],
        False,
    ),
    ("missing ORIGIN", BASE[4:], {}, [(3, 3, b"\x01", TAW)], True),
    ("missing AS_PATH", ORIGIN + AFTER_AS, {}, [(3, 3, b"\x02", TAW)], True),
    ("missing NEXT_HOP", BEFORE_NH + LOCAL_PREF, {}, [(3, 3, b"\x03", TAW)], True),
    ("missing LOCAL_PREF iBGP", NO_LP, {}, [(3, 3, b"\x05", TAW)], True),
    (
        "missing all",
        b"",
        {"ibgp": False},
        [(3, 3, b"\x01", TAW), (3, 3, b"\x02", TAW), (3, 3, b"\x03", TAW)],
        True,
    ),
    (
        "two errors",
        H("40010107") + AS_PATH + H("400303000000") + LOCAL_PREF + H("40060101"),
        {},
        [
            (3, 6, H("40010107"), TAW),
            (3, 5, H("400303000000"), TAW),
            (3, 5, H("40060101"), DISCARD),
        ],
        True,
    ),
    (
        "unsupported family",
        BASE + A(0x80, 14, H("001901040000000000")),
        {},
        [(3, 9, A(0x80, 14, H("001901040000000000")), DISCARD)],
        False,
    ),
    (
        "MP v6 multicast next hop",
        BASE + A(0x80, 14, H("00020110") + H("ff02") + bytes(14) + H("00")),
        {},
        [(3, 8, A(0x80, 14, H("00020110ff02") + bytes(14) + H("00")), TAW)],
        True,
    ),
]


@pytest.mark.parametrize(
    ("attrs", "kw", "expected", "twd"),
    [c[1:] for c in COLLECTED],
    ids=[c[0] for c in COLLECTED],
)
def test_collected_errors(
    attrs: bytes,
    kw: dict[str, Any],
    expected: list[tuple[int, int, bytes, Action]],
    twd: bool,
) -> None:
    u = decode_update(msg(attrs=attrs, nlri=NLRI), **kw)
    assert [err_tuple(e) for e in u.errors] == expected
    assert u.treat_as_withdraw is twd
    assert u.nlri == [k("10.1.2.0/24")]  # still known, to be withdrawn when twd
    for e in u.errors:
        assert e.offset is not None and ATTR0 <= e.offset < ATTR0 + 2 + len(attrs)


def test_error_offsets_point_at_the_attribute() -> None:
    u = decode_update(msg(withdrawn=H("100a09"), attrs=BASE + H("c00800"), nlri=NLRI))
    assert u.errors[0].offset == 23 + 3 + len(BASE)


def test_malformed_attributes_are_removed_and_valid_ones_kept() -> None:
    u = decode_update(msg(attrs=BASE + H("40060101") + H("c00804ffff0006"), nlri=NLRI))
    assert u.attrs == BASE + H("c00804ffff0006")
    u = decode_update(msg(attrs=BASE + H("40010102"), nlri=NLRI))  # duplicate discarded
    assert u.attrs == BASE


def test_local_pref_from_ebgp_is_dropped_quietly() -> None:
    u = decode_update(msg(attrs=BASE, nlri=NLRI), ibgp=False)
    assert u.errors == () and not u.treat_as_withdraw
    assert u.attrs == NO_LP


def test_unrecognized_optional_attributes() -> None:
    non_transitive = A(0x80, 99, b"abc")
    transitive = A(0xC0, 98, b"xyz")
    partial = A(0xE0, 97, b"")
    u = decode_update(msg(attrs=BASE + non_transitive + transitive + partial, nlri=NLRI))
    assert u.errors == ()
    assert u.attrs == BASE + A(0xE0, 98, b"xyz") + partial
    ext = H("d0620003") + b"xyz"
    u = decode_update(msg(attrs=BASE + ext, nlri=NLRI))
    assert u.attrs == BASE + H("f0620003") + b"xyz"


def test_next_hop_not_checked_without_classic_nlri() -> None:
    u = decode_update(msg(attrs=MP6 + MP6_BODY + H("40030400000000")))
    assert u.errors == () and u.attrs == MP6_BODY + H("40030400000000")
    u = decode_update(msg(attrs=MP6 + MP6_BODY + H("40030100")))
    assert [err_tuple(e) for e in u.errors] == [(3, 5, H("40030100"), DISCARD)]
    assert not u.treat_as_withdraw


def test_mp_only_updates_need_no_next_hop_and_unreach_needs_nothing() -> None:
    assert decode_update(msg(attrs=MP6 + MP6_BODY)).errors == ()
    u = decode_update(msg(attrs=MP6 + ORIGIN))
    assert [err_tuple(e) for e in u.errors] == [(3, 3, b"\x02", TAW), (3, 3, b"\x05", TAW)]
    assert decode_update(msg(attrs=H("800f080002012020010db8"))).errors == ()
    # no NLRI at all: attributes need not be complete
    assert decode_update(msg(attrs=ORIGIN)).errors == ()


# --------------------------------------------------------------------------------------
# 2-octet AS peers (RFC 6793 §4.2.3)


def test_as4_merge_from_old_speaker() -> None:
    as_path2 = A(0x40, 2, H("0203fde95ba05ba0"))
    as4_path = A(0xC0, 17, H("0202fa56ea00fa56ea01"))
    aggr2 = A(0xC0, 7, H("5ba0c0000201"))
    as4_aggr = A(0xC0, 18, H("fa56ea02c0000201"))
    attrs = ORIGIN + as_path2 + NEXT_HOP + aggr2 + as4_path + as4_aggr
    u = decode_update(msg(attrs=attrs, nlri=NLRI), as4=False, ibgp=False)
    assert u.errors == ()
    pa = PathAttrs(u.attrs)
    assert pa.as_path == ((2, (65001, 4200000000, 4200000001)),)
    assert pa.aggregator == (4200000002, 0xC0000201)
    assert [a.type for a in parse_attributes(u.attrs)] == [1, 2, 3, 7]


def test_as4_ignored_when_aggregator_not_as_trans_or_longer_path() -> None:
    as_path2 = A(0x40, 2, H("0202fde95ba0"))
    as4_path = A(0xC0, 17, H("0201fa56ea00"))
    aggr2 = A(0xC0, 7, H("fde9c0000201"))
    as4_aggr = A(0xC0, 18, H("fa56ea02c0000201"))
    attrs = ORIGIN + as_path2 + NEXT_HOP + aggr2 + as4_path + as4_aggr
    u = decode_update(msg(attrs=attrs, nlri=NLRI), as4=False, ibgp=False)
    assert [(e.subcode, e.action) for e in u.errors] == [(9, DISCARD)]
    pa = PathAttrs(u.attrs)
    assert pa.as_path == ((2, (65001, 23456)),)
    assert pa.aggregator == (65001, 0xC0000201)
    long4 = A(0xC0, 17, H("0203fa56ea00fa56ea01fa56ea02"))
    u = decode_update(
        msg(attrs=ORIGIN + as_path2 + NEXT_HOP + long4, nlri=NLRI), as4=False, ibgp=False
    )
    assert PathAttrs(u.attrs).as_path == ((2, (65001, 23456)),)


@pytest.mark.parametrize(
    ("bad", "sub"),
    [
        (A(0xC0, 17, H("020200000001")), 9),  # overrun
        (A(0xC0, 17, H("030100000001")), 9),  # confederation segment
        (A(0xC0, 17, H("020100000000")), 9),  # AS 0
        (A(0xC0, 18, H("0000fde9c00002")), 5),  # AS4_AGGREGATOR length
        (A(0xC0, 18, H("00000000c0000201")), 9),
        (A(0x40, 17, H("020100000001")), 4),  # flags
    ],
)
def test_malformed_as4_attributes_are_discarded(bad: bytes, sub: int) -> None:
    attrs = ORIGIN + A(0x40, 2, H("0201fde9")) + NEXT_HOP + bad
    u = decode_update(msg(attrs=attrs, nlri=NLRI), as4=False, ibgp=False)
    assert [err_tuple(e) for e in u.errors] == [(3, sub, bad, DISCARD)]
    assert not u.treat_as_withdraw
    assert PathAttrs(u.attrs).as_path == ((2, (65001,)),)


def test_two_octet_aggregator_length_rules() -> None:
    attrs = ORIGIN + A(0x40, 2, H("0201fde9")) + NEXT_HOP + AS4_AGGR
    u = decode_update(msg(attrs=attrs, nlri=NLRI), as4=False, ibgp=False)
    assert [err_tuple(e) for e in u.errors] == [(3, 5, AS4_AGGR, DISCARD)]


def test_errors_without_reachable_nlri_escalate_to_session_reset() -> None:
    # RFC 7606 §5.2: path attributes, no reachable NLRI, an error worse than attribute discard
    bad_origin = H("40010103")
    with pytest.raises(BGPError) as info:
        decode_update(msg(attrs=bad_origin + AS_PATH))
    assert err_tuple(info.value) == (3, 6, bad_origin, RESET)
    assert info.value.offset == 23
    with pytest.raises(BGPError) as info:
        decode_update(msg(withdrawn=H("100a09"), attrs=H("800f03000201") + BASE + H("c008")))
    assert err_tuple(info.value) == (3, 1, b"", RESET)
    # attribute discard alone does not escalate
    u = decode_update(msg(attrs=ORIGIN + H("40060101")))
    assert [err_tuple(e) for e in u.errors] == [(3, 5, H("40060101"), DISCARD)]
    # with MP_REACH_NLRI present the error stays treat-as-withdraw
    u = decode_update(msg(attrs=MP6 + bad_origin + AS_PATH + LOCAL_PREF))
    assert u.treat_as_withdraw and u.mp_reach is not None


def test_mp_unreach_short_and_unsupported_family() -> None:
    with pytest.raises(BGPError) as info:
        decode_update(msg(attrs=H("800f020002")))
    assert err_tuple(info.value) == (3, 9, H("800f020002"), RESET)
    u = decode_update(msg(attrs=H("800f0400190100")))
    assert [err_tuple(e) for e in u.errors] == [(3, 9, H("800f0400190100"), DISCARD)]
    assert u.mp_unreach is None


def test_confederation_segments_from_ebgp_are_malformed() -> None:
    confed = A(0x40, 2, H("03 01 0000fdf2  02 01 0000fde9"))
    attrs = ORIGIN + confed + NEXT_HOP
    u = decode_update(msg(attrs=attrs, nlri=NLRI), ibgp=False)
    assert [err_tuple(e) for e in u.errors] == [(3, 11, b"", TAW)] and u.treat_as_withdraw
    u = decode_update(msg(attrs=attrs + LOCAL_PREF, nlri=NLRI), ibgp=True)
    assert u.errors == () and PathAttrs(u.attrs).as_path_length == 1


def test_bad_marker() -> None:
    m = b"\x00" + msg()[1:]
    with pytest.raises(BGPError) as info:
        decode_update(m)
    assert err_tuple(info.value) == (1, 1, b"", RESET)


@settings(max_examples=100)
@given(
    st.lists(
        # at most 3 x (2 + 4 * 20) = 246 octets: the helper A writes a one-octet length
        st.tuples(
            st.sampled_from([1, 2]),
            st.lists(st.integers(1, 2**32 - 1), min_size=1, max_size=20),
        ),
        max_size=3,
    ),
    st.one_of(st.none(), st.integers(1, 2**32 - 1)),
)
def test_old_speaker_sees_the_same_path(
    path: list[tuple[int, list[int]]], aggr_as: int | None
) -> None:
    """Canonical block -> to_as2_block -> decode_update(as4=False) gives the block back."""
    block = ORIGIN + A(0x40, 2, encode_as_path([(t, tuple(a)) for t, a in path])) + NEXT_HOP
    if aggr_as is not None:
        block += A(0xC0, 7, aggr_as.to_bytes(4, "big") + H("c0000201"))
    u = decode_update(msg(attrs=to_as2_block(block), nlri=NLRI), as4=False, ibgp=False)
    assert u.errors == ()
    assert u.attrs == block


def test_own_next_hop_other_addresses_accepted() -> None:
    # Only our own address on the session is refused: another host's, or our IPv6
    # address on an IPv6 session, leave the IPv4 NEXT_HOP alone.
    for own in (H("0a000002"), H("20010db8000000000000000000000001"), b""):
        u = decode_update(msg(attrs=BASE, nlri=NLRI), own=own)
        assert not u.errors and not u.treat_as_withdraw and u.nlri


def test_own_mp_next_hop_ignored() -> None:
    # MP_REACH next hop (global, with a link-local second) equal to our IPv6 address.
    own = NH6[:16]
    u = decode_update(msg(attrs=MP6 + BASE[:4] + AS_PATH + LOCAL_PREF), own=own)
    assert u.treat_as_withdraw
    assert [(e.code, e.subcode, e.action) for e in u.errors] == [(3, 8, TAW)]
    ok = decode_update(msg(attrs=MP6 + BASE[:4] + AS_PATH + LOCAL_PREF), own=NH6[16:])
    assert not ok.treat_as_withdraw and ok.mp_reach is not None and ok.mp_reach.nlri


def test_own_next_hop_with_a_scan_cache() -> None:
    # The session's scan cache must not hand a clean result of the same attribute field
    # to a decode whose own address makes it an error, or the reverse.
    from bgprr.wire.attrcheck import ScanCache

    cache = ScanCache(as4=True, ibgp=True, own=H("0a000001"))
    m = msg(attrs=BASE, nlri=NLRI)
    for _ in range(2):
        u = decode_update(m, cache=cache, own=H("0a000001"))
        assert u.treat_as_withdraw
    clean = decode_update(m, cache=cache)
    assert not clean.treat_as_withdraw
