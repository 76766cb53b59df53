"""UPDATE codec: golden messages, round trips, packing and End-of-RIB. Messages are written
out by hand (error handling: test_update_errors.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.wire.attributes import (
    PathAttrs,
    encode_attribute,
    parse_attributes,
)
from bgprr.wire.errors import BGPError
from bgprr.wire.update import (
    MPReach,
    MPUnreach,
    Update,
    decode_update,
    encode_update,
    end_of_rib,
    eor_family,
    pack_updates,
    pack_withdrawals,
    with_next_hop,
)
from tests.wire.updatebuild import (
    AS_PATH,
    BASE,
    LOCAL_PREF,
    MP6,
    MP6_BODY,
    NEXT_HOP,
    NH6,
    NLRI,
    ORIGIN,
    A,
    H,
    k,
    msg,
    reencode,
)

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
    assert reencode(u) == m
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


def test_golden_ipv6_mp_reach_with_addpath() -> None:
    mp = H("80 0e 23  0002 01 10") + NH6[:16] + H("00  00000005 20 20010db8  00000006 00")
    m = msg(attrs=mp + MP6_BODY)
    u = decode_update(m, addpath=frozenset({(2, 1)}))
    assert u.mp_reach == MPReach(
        afi=2, safi=1, next_hop=NH6[:16], nlri=[k("2001:db8::/32"), k("::/0")], nlri_ids=[5, 6]
    )
    assert encode_update(attrs=u.attrs, mp_reach=u.mp_reach) == m


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
