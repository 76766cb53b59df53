"""The steps of decode_update one by one, and the Update record itself."""

from __future__ import annotations

import pytest

from bgprr.wire.attrcheck import AttrScan, scan_attributes
from bgprr.wire.errors import BGPError, HeaderSub, UpdateSub
from bgprr.wire.update import (
    MPReach,
    Update,
    check_header,
    field_bounds,
    missing_well_known,
    mp_attributes,
    prefix_field,
    reset_without_nlri,
)
from tests.wire.updatebuild import (
    BASE,
    DISABLE,
    DISCARD,
    MP6,
    NH6,
    NLRI,
    ORIGIN,
    RESET,
    TAW,
    H,
    err_tuple,
    k,
    msg,
)


def test_check_header() -> None:
    check_header(msg(attrs=BASE, nlri=NLRI))
    m = msg()
    with pytest.raises(BGPError) as exc:
        check_header(b"\xfe" + m[1:])
    assert (exc.value.subcode, exc.value.offset) == (HeaderSub.CONNECTION_NOT_SYNCHRONIZED, 0)
    with pytest.raises(BGPError) as exc:
        check_header(m + b"\0")
    assert (exc.value.subcode, exc.value.data, exc.value.offset) == (
        HeaderSub.BAD_MESSAGE_LENGTH,
        H("0017"),
        16,
    )
    with pytest.raises(BGPError) as exc:
        check_header(m[:18] + b"\x04" + m[19:])
    assert (exc.value.subcode, exc.value.data) == (HeaderSub.BAD_MESSAGE_TYPE, b"\x04")


def test_field_bounds() -> None:
    w = H("180a0102")
    m = msg(withdrawn=w, attrs=BASE, nlri=NLRI)
    wend, aend = field_bounds(m)
    assert m[21:wend] == w
    assert m[wend + 2 : aend] == BASE
    assert m[aend:] == NLRI
    with pytest.raises(BGPError) as exc:
        field_bounds(m[:19] + H("00ff") + m[21:])
    assert (exc.value.subcode, exc.value.offset) == (UpdateSub.MALFORMED_ATTRIBUTE_LIST, 19)
    bad = msg()[:21] + H("0001")
    with pytest.raises(BGPError) as exc:
        field_bounds(bad)
    assert (exc.value.action, exc.value.offset) == (RESET, 21)


def test_prefix_field() -> None:
    data = b"\xaa" + NLRI + H("00000007") + NLRI
    assert prefix_field(data, 1, 5, False) == ([k("10.1.2.0/24")], None)
    assert prefix_field(data, 5, 13, True) == ([k("10.1.2.0/24")], [7])
    assert prefix_field(data, 5, 5, True) == ([], None)


def _scan(attrs: bytes, *, classic: bool = False) -> tuple[bytes, AttrScan]:
    data = msg(attrs=attrs)
    scan = scan_attributes(data, 23, len(data), as4=True, ibgp=True, classic_nlri=classic)
    return data, scan


def test_mp_attributes_decodes_both() -> None:
    unreach = H("800f08 0002 01 20 20010db8")
    data, scan = _scan(MP6 + unreach + ORIGIN)
    assert scan.errors == []
    reach, unr = mp_attributes(data, scan, frozenset())
    assert reach == MPReach(afi=2, safi=1, next_hop=NH6, nlri=[k("2001:db8::/32")])
    assert unr is not None and (unr.afi, unr.safi, unr.withdrawn) == (
        2,
        1,
        [k("2001:db8::/32")],
    )


def test_mp_attributes_collects_its_errors_in_the_scan() -> None:
    bad_nh = H("800e1a 0002 01 10") + b"\xff" * 16 + H("00 20 20010db8")
    data, scan = _scan(bad_nh)
    reach, _ = mp_attributes(data, scan, frozenset())
    assert reach is not None and reach.nlri == [k("2001:db8::/32")]
    assert [err_tuple(e) for e in scan.errors] == [
        (3, UpdateSub.INVALID_NEXT_HOP_ATTRIBUTE, bad_nh, TAW)
    ]
    assert scan.treat_as_withdraw
    unsupported = H("800e0a 0019 46 04 0a000001 00 00")  # AFI 25 / SAFI 70
    data, scan = _scan(unsupported)
    assert mp_attributes(data, scan, frozenset()) == (None, None)
    assert [err_tuple(e) for e in scan.errors] == [
        (3, UpdateSub.OPTIONAL_ATTRIBUTE_ERROR, unsupported, DISCARD)
    ]
    short = H("800e04 0002 01 10")  # next hop runs past the attribute
    data, scan = _scan(short)
    with pytest.raises(BGPError) as exc:
        mp_attributes(data, scan, frozenset())
    assert exc.value.action == DISABLE


def test_reset_without_nlri() -> None:
    _, scan = _scan(ORIGIN + H("4001020000"))  # a duplicate: attribute discard only
    reset_without_nlri(scan)
    _, scan = _scan(H("40010103"))  # bad ORIGIN: treat-as-withdraw
    with pytest.raises(BGPError) as exc:
        reset_without_nlri(scan)
    assert err_tuple(exc.value) == (3, UpdateSub.INVALID_ORIGIN_ATTRIBUTE, H("40010103"), RESET)
    assert exc.value.reason.endswith("(UPDATE without reachable NLRI, RFC 7606 §5.2)")


def test_missing_well_known() -> None:
    seen = bytearray(256)
    assert [e.data for e in missing_well_known(None, True, True, 21)] == [
        b"\x01",
        b"\x02",
        b"\x03",
        b"\x05",
    ]
    seen[1] = seen[2] = 1
    got = missing_well_known(seen, True, False, 30)
    assert [(err_tuple(e), e.offset) for e in got] == [
        ((3, UpdateSub.MISSING_WELL_KNOWN_ATTRIBUTE, b"\x03", TAW), 30)
    ]
    assert missing_well_known(seen, False, False, 30) == []
    assert [e.data for e in missing_well_known(seen, False, True, 30)] == [b"\x05"]


def test_update_record() -> None:
    a, b = Update(), Update()
    assert a == b and a.nlri == [] and a.withdrawn == []
    a.nlri.append(1)
    assert b.nlri == []  # defaults are not shared
    u = Update(attrs=b"x", nlri=[5], treat_as_withdraw=True)
    assert u != Update(attrs=b"x", nlri=[5])
    assert repr(u) == (
        "Update(withdrawn=[], withdrawn_ids=None, attrs=b'x', nlri=[5], nlri_ids=None, "
        "mp_reach=None, mp_unreach=None, errors=(), treat_as_withdraw=True)"
    )
    with pytest.raises(AttributeError):
        u.nlri = []  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(u)
    assert u.__eq__(object()) is NotImplemented
