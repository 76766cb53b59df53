"""UPDATE codec: golden messages, round trips, RFC 4271 §6.3 / RFC 7606 error handling,
RFC 6793 AS4 merge, packing and End-of-RIB. Messages are written out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.wire.attributes import (
    PathAttrs,
    encode_as_path,
    encode_attribute,
    parse_attributes,
    to_as2_block,
)
from bgprr.wire.errors import Action, BGPError
from bgprr.wire.prefix import parse_prefix
from bgprr.wire.update import (
    MPReach,
    MPUnreach,
    Update,
    decode_update,
    encode_update,
    end_of_rib,
    eor_family,
    error_family,
    pack_updates,
    pack_withdrawals,
    with_next_hop,
)

H = bytes.fromhex
RESET, TAW, DISCARD, DISABLE = (
    Action.SESSION_RESET,
    Action.TREAT_AS_WITHDRAW,
    Action.ATTRIBUTE_DISCARD,
    Action.AFISAFI_DISABLE,
)

ORIGIN = H("40 01 01 00")
AS_PATH = H("40 02 06  02 01 0000fde9")  # AS_SEQUENCE 65001
NEXT_HOP = H("40 03 04 0a000001")
LOCAL_PREF = H("40 05 04 00000064")
BASE = ORIGIN + AS_PATH + NEXT_HOP + LOCAL_PREF
NLRI = H("180a0102")  # 10.1.2.0/24
NH6 = H("20010db8000000000000000000000001 fe800000000000000000000000000001")
MP6 = H("80 0e 2a  0002 01 20") + NH6 + H("00  20 20010db8")  # 2001:db8::/32
MP6_BODY = ORIGIN + AS_PATH + LOCAL_PREF
AFTER_AS = NEXT_HOP + LOCAL_PREF
BEFORE_NH = ORIGIN + AS_PATH
NO_LP = ORIGIN + AS_PATH + NEXT_HOP


def k(text: str) -> int:
    return parse_prefix(text)[1]


def msg(withdrawn: bytes = b"", attrs: bytes = b"", nlri: bytes = b"") -> bytes:
    body = len(withdrawn).to_bytes(2, "big") + withdrawn + len(attrs).to_bytes(2, "big")
    body += attrs + nlri
    return b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body


def err_tuple(e: BGPError) -> tuple[int, int, bytes, Action]:
    return (e.code, e.subcode, e.data, e.action)


# --------------------------------------------------------------------------------------
# golden messages


def test_golden_ipv4_update() -> None:
    m = msg(withdrawn=H("100a09"), attrs=BASE, nlri=NLRI + H("200a000001"))
    assert m[:26] == H("ffffffffffffffffffffffffffffffff003e020003100a09001b")
    u = decode_update(m)
    assert u == Update(
        withdrawn=[k("10.9.0.0/16")],
        attrs=BASE,
        nlri=[k("10.1.2.0/24"), k("10.0.0.1/32")],
    )
    assert encode_update(withdrawn=u.withdrawn, attrs=u.attrs, nlri=u.nlri) == m
    assert decode_update(memoryview(m)) == u


def test_golden_ipv6_mp_reach() -> None:
    m = msg(attrs=MP6 + MP6_BODY)
    u = decode_update(m)
    assert u.errors == ()
    assert u.attrs == MP6_BODY
    assert u.nlri == [] and u.withdrawn == []
    assert u.mp_reach == MPReach(afi=2, safi=1, next_hop=NH6, nlri=[k("2001:db8::/32")])
    assert encode_update(attrs=u.attrs, mp_reach=u.mp_reach) == m


def test_golden_addpath_ipv4_and_mp_unreach() -> None:
    nlri = H("00000007180a0102")
    wd = H("00000009100a09")
    unreach = H("800f0c0002010000000a2020010db8")
    m = msg(withdrawn=wd, attrs=unreach + BASE, nlri=nlri)
    u = decode_update(m, addpath=frozenset({(1, 1), (2, 1)}))
    assert u.nlri == [k("10.1.2.0/24")] and u.nlri_ids == [7]
    assert u.withdrawn == [k("10.9.0.0/16")] and u.withdrawn_ids == [9]
    assert u.mp_unreach == MPUnreach(
        afi=2, safi=1, withdrawn=[k("2001:db8::/32")], withdrawn_ids=[10]
    )
    assert (
        encode_update(
            withdrawn=u.withdrawn,
            withdrawn_ids=u.withdrawn_ids,
            attrs=u.attrs,
            nlri=u.nlri,
            nlri_ids=u.nlri_ids,
            mp_unreach=u.mp_unreach,
        )
        == m
    )
    # without ADD-PATH negotiated the same bytes are another (bad) NLRI encoding
    with pytest.raises(BGPError):
        decode_update(m)


def test_mp_reach_ipv4_and_extended_length() -> None:
    keys = [k(f"10.{i}.0.0/16") for i in range(100)]
    mp = MPReach(afi=1, safi=1, next_hop=H("0a000001"), nlri=keys)
    m = encode_update(attrs=MP6_BODY, mp_reach=mp)
    assert m[23:27] == H("900e0135")  # 2+1+1+4+1 + 100 * 3 = 309
    u = decode_update(m)
    assert u.mp_reach == mp and u.errors == ()
    assert encode_update(attrs=u.attrs, mp_reach=u.mp_reach) == m


def test_reencode_arbitrary_message_via_raw_attributes() -> None:
    # a received message with an extended-length ORIGIN and MP_REACH last
    attrs = H("5001000100") + AS_PATH + LOCAL_PREF + MP6
    m = msg(attrs=attrs)
    u = decode_update(m)
    assert u.attrs == H("5001000100") + AS_PATH + LOCAL_PREF
    wd_len = m[19:21]
    raw = parse_attributes(m[23 : 23 + len(attrs)])
    block = b"".join(encode_attribute(a.flags, a.type, a.value) for a in raw)
    assert m[:19] + wd_len + len(block).to_bytes(2, "big") + block == m


# --------------------------------------------------------------------------------------
# errors


def A(flags: int, t: int, value: bytes) -> bytes:
    return bytes((flags, t, len(value))) + value


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
        "MP_REACH flags",
        msg(attrs=bytes((0xC0,)) + MP6[1:]),
        {},
        (3, 4, bytes((0xC0,)) + MP6[1:], DISABLE),
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


# --------------------------------------------------------------------------------------
# End-of-RIB, packing


def test_end_of_rib() -> None:
    assert end_of_rib((1, 1)) == b"\xff" * 16 + H("00170200000000")
    assert end_of_rib((2, 1)) == b"\xff" * 16 + H("001d0200000006800f03000201")
    assert eor_family(decode_update(end_of_rib((1, 1)))) == (1, 1)
    assert eor_family(decode_update(end_of_rib((2, 1)))) == (2, 1)
    assert eor_family(decode_update(msg(attrs=BASE, nlri=NLRI))) is None
    assert eor_family(decode_update(msg(attrs=H("800f080002012020010db8")))) is None
    assert eor_family(decode_update(msg(withdrawn=H("100a09")))) is None


CALICO_ATTRS = ORIGIN + A(0x40, 2, H("0201fa56ea00")) + LOCAL_PREF + H("c00804fde80001")


@pytest.mark.parametrize("addpath", [False, True])
def test_pack_updates_ipv4(addpath: bool) -> None:
    keys = [(((10 << 24) | (i << 6)) << 8) | 26 for i in range(2000)]  # 10.0.0.0/26 ...
    ids = list(range(2000)) if addpath else None
    msgs = pack_updates((1, 1), CALICO_ATTRS, H("0a000001"), keys, ids)
    assert all(len(m) <= 4096 for m in msgs)
    assert all(len(m) > 4096 - (9 if addpath else 5) for m in msgs[:-1])
    got: list[int] = []
    got_ids: list[int] = []
    for m in msgs:
        u = decode_update(m, addpath=frozenset({(1, 1)}) if addpath else frozenset())
        assert u.errors == ()
        assert PathAttrs(u.attrs).next_hop == H("0a000001")
        assert u.attrs == with_next_hop(CALICO_ATTRS, H("0a000001"))
        got += u.nlri
        got_ids += u.nlri_ids or []
        assert encode_update(attrs=u.attrs, nlri=u.nlri, nlri_ids=u.nlri_ids) == m
    assert got == keys
    assert got_ids == (ids or [])


def test_pack_updates_next_hop_behaviour() -> None:
    attrs = ORIGIN + AS_PATH + NEXT_HOP + LOCAL_PREF
    [m] = pack_updates((1, 1), attrs, b"", [k("10.0.0.0/8")], None)
    assert decode_update(m).attrs == attrs
    [m] = pack_updates((1, 1), attrs, H("0a000002"), [k("10.0.0.0/8")], None)
    assert decode_update(m).attrs == ORIGIN + AS_PATH + H("4003040a000002") + LOCAL_PREF
    assert with_next_hop(attrs, H("0a000001")) is attrs


@pytest.mark.parametrize("nh", [NH6[:16], NH6])
def test_pack_updates_ipv6(nh: bytes) -> None:
    keys = [((0x20010DB8 << 96) | (i << 64)) << 8 | 64 for i in range(1000)]
    msgs = pack_updates((2, 1), MP6_BODY, nh, keys, None, max_len=1000)
    assert len(msgs) > 1 and all(len(m) <= 1000 for m in msgs)
    got: list[int] = []
    for m in msgs:
        u = decode_update(m)
        assert u.errors == () and u.attrs == MP6_BODY
        assert u.mp_reach is not None and u.mp_reach.next_hop == nh
        got += u.mp_reach.nlri
        assert encode_update(attrs=u.attrs, mp_reach=u.mp_reach) == m
    assert got == keys


def test_pack_updates_ipv4_with_ipv6_next_hop_uses_mp_reach() -> None:
    [m] = pack_updates((1, 1), MP6_BODY, NH6[:16], [k("10.0.0.0/8")], None)
    u = decode_update(m)
    assert u.mp_reach == MPReach(afi=1, safi=1, next_hop=NH6[:16], nlri=[k("10.0.0.0/8")])
    assert u.nlri == []


@pytest.mark.parametrize("family", [(1, 1), (2, 1)])
@pytest.mark.parametrize("addpath", [False, True])
def test_pack_withdrawals(family: tuple[int, int], addpath: bool) -> None:
    if family == (1, 1):
        keys = [(((10 << 24) | (i << 8)) << 8) | 24 for i in range(3000)]
    else:
        keys = [((0x20010DB8 << 96) | (i << 80)) << 8 | 48 for i in range(3000)]
    ids = [i * 3 for i in range(3000)] if addpath else None
    msgs = pack_withdrawals(family, keys, ids, max_len=4096)
    ap = frozenset({family}) if addpath else frozenset()
    got: list[int] = []
    got_ids: list[int] = []
    for m in msgs:
        assert len(m) <= 4096
        u = decode_update(m, addpath=ap)
        assert u.errors == () and u.attrs == b""
        if family == (1, 1):
            got += u.withdrawn
            got_ids += u.withdrawn_ids or []
            assert encode_update(withdrawn=u.withdrawn, withdrawn_ids=u.withdrawn_ids) == m
        else:
            assert u.mp_unreach is not None
            got += u.mp_unreach.withdrawn
            got_ids += u.mp_unreach.withdrawn_ids or []
            assert encode_update(mp_unreach=u.mp_unreach) == m
    assert got == keys and got_ids == (ids or [])


def test_pack_limits() -> None:
    assert pack_updates((1, 1), BASE, b"", [], None) == []
    assert pack_withdrawals((2, 1), [], None) == []
    with pytest.raises(ValueError):
        pack_updates((1, 1), bytes(4090), b"", [k("10.0.0.0/8")], None)
    with pytest.raises(ValueError):
        pack_updates((1, 1), BASE, b"", [k("10.0.0.0/8")], [1, 2])
    with pytest.raises(ValueError):
        encode_update(attrs=bytes(70000))


# --------------------------------------------------------------------------------------
# property: random valid updates round-trip


def _v4_keys() -> st.SearchStrategy[list[int]]:
    return st.lists(
        st.builds(
            lambda a, p: (((a >> (32 - p)) << (32 - p) if p else 0) << 8) | p,
            st.integers(0, 2**32 - 1),
            st.integers(0, 32),
        ),
        max_size=20,
    )


_ATTR_PARTS = st.lists(
    st.sampled_from(
        [
            H("800404000000ff"),
            H("400600"),
            H("c00708fa56ea00c0000201"),
            H("c00808fde80001ffffff01"),
            H("80090401020304"),
            H("800a0401020304"),
            H("c010080002fde800000064"),
            H("c0200cfa56ea000000000100000002"),
            H("e0630161"),
        ]
    ),
    unique=True,
)


@settings(max_examples=150)
@given(_v4_keys(), _v4_keys(), _ATTR_PARTS, st.booleans())
def test_random_valid_updates_roundtrip(
    nlri: list[int], withdrawn: list[int], extra: list[bytes], v6: bool
) -> None:
    extra.sort(key=lambda a: a[1])
    attrs = ORIGIN + AS_PATH + NEXT_HOP + LOCAL_PREF + b"".join(extra)
    mp = None
    if v6:
        mp = MPReach(
            afi=2, safi=1, next_hop=NH6, nlri=[((x >> 8) << 104) | (x & 0xFF) for x in nlri]
        )
    m = encode_update(withdrawn=withdrawn, attrs=attrs, nlri=nlri, mp_reach=mp)
    u = decode_update(m)
    assert u.errors == () and not u.treat_as_withdraw
    assert (u.withdrawn, u.attrs, u.nlri, u.mp_reach) == (withdrawn, attrs, nlri, mp)
    assert (
        encode_update(withdrawn=u.withdrawn, attrs=u.attrs, nlri=u.nlri, mp_reach=u.mp_reach) == m
    )


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


def test_golden_ipv6_mp_reach_with_addpath() -> None:
    mp = H("80 0e 23  0002 01 10") + NH6[:16] + H("00  00000005 20 20010db8  00000006 00")
    m = msg(attrs=mp + MP6_BODY)
    u = decode_update(m, addpath=frozenset({(2, 1)}))
    assert u.mp_reach == MPReach(
        afi=2, safi=1, next_hop=NH6[:16], nlri=[k("2001:db8::/32"), k("::/0")], nlri_ids=[5, 6]
    )
    assert encode_update(attrs=u.attrs, mp_reach=u.mp_reach) == m


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
        st.tuples(st.sampled_from([1, 2]), st.lists(st.integers(1, 2**32 - 1), min_size=1)),
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


@settings(max_examples=100)
@given(
    st.lists(st.integers(0, 2**24 - 1), max_size=300),
    st.integers(200, 4096),
    st.booleans(),
    st.sampled_from([(1, 1), (2, 1)]),
)
def test_pack_property(raw: list[int], max_len: int, addpath: bool, fam: tuple[int, int]) -> None:
    keys = [((r << 8) << 8) | 24 for r in raw] if fam == (1, 1) else [(r << 112) | 40 for r in raw]
    ids = list(range(len(keys))) if addpath else None
    attrs = MP6_BODY if fam == (2, 1) else BASE
    nh = NH6 if fam == (2, 1) else b""
    ap = frozenset({fam}) if addpath else frozenset()
    for msgs, withdraw in (
        (pack_updates(fam, attrs, nh, keys, ids, max_len=max_len), False),
        (pack_withdrawals(fam, keys, ids, max_len=max_len), True),
    ):
        got: list[int] = []
        got_ids: list[int] = []
        for m in msgs:
            assert len(m) <= max_len
            u = decode_update(m, addpath=ap)
            assert u.errors == ()
            if fam == (1, 1):
                got += u.withdrawn if withdraw else u.nlri
                got_ids += (u.withdrawn_ids if withdraw else u.nlri_ids) or []
            elif withdraw:
                assert u.mp_unreach is not None
                got += u.mp_unreach.withdrawn
                got_ids += u.mp_unreach.withdrawn_ids or []
            else:
                assert u.mp_reach is not None
                got += u.mp_reach.nlri
                got_ids += u.mp_reach.nlri_ids or []
        assert got == keys and got_ids == (ids or [])
