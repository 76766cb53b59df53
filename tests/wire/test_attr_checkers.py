"""The per-attribute checkers of bgprr.wire.attrcheck, one by one, and the table that
holds them."""

from __future__ import annotations

import pytest

from bgprr.wire.attrcheck import (
    ATTRIBUTES,
    DROP,
    EXPECTED_FLAGS,
    KEEP,
    Checker,
    Fault,
    ScanContext,
    Verdict,
    check_aggregator,
    check_as4_aggregator,
    check_as4_path,
    check_as_path,
    check_atomic_aggregate,
    check_cluster_list,
    check_communities,
    check_extended_communities,
    check_large_communities,
    check_local_pref,
    check_med,
    check_mp_reach,
    check_mp_unreach,
    check_next_hop,
    check_origin,
    check_originator_id,
    scan_attributes,
)
from bgprr.wire.attributes import encode_as_path
from bgprr.wire.constants import AttrType
from bgprr.wire.errors import Action, UpdateSub

H = bytes.fromhex
TAW = Action.TREAT_AS_WITHDRAW
DISCARD = Action.ATTRIBUTE_DISCARD
LENGTH = UpdateSub.ATTRIBUTE_LENGTH_ERROR
OPTIONAL = UpdateSub.OPTIONAL_ATTRIBUTE_ERROR


def ctx(*, as4: bool = True, ibgp: bool = True, classic_nlri: bool = True) -> ScanContext:
    return ScanContext(as4=as4, ibgp=ibgp, classic_nlri=classic_nlri)


def run(check: Checker, value: bytes, c: ScanContext | None = None, flags: int = 0x40) -> Verdict:
    """Call ``check`` on one attribute (3-octet header, after 5 octets of padding)."""
    data = b"\xaa" * 5 + bytes((flags, 0, len(value))) + value
    return check(c or ctx(), data, 5, 8, 8 + len(value), flags)


def test_table_gives_each_recognized_type_its_rfc_flags_and_action() -> None:
    expected = {
        1: 0x40, 2: 0x40, 3: 0x40, 4: 0x80, 5: 0x40, 6: 0x40, 7: 0xC0, 8: 0xC0,
        9: 0x80, 10: 0x80, 14: 0x80, 15: 0x80, 16: 0xC0, 17: 0xC0, 18: 0xC0, 32: 0xC0,
    }  # fmt: skip
    assert {t: d.flags for t, d in ATTRIBUTES.items()} == expected
    assert expected == EXPECTED_FLAGS
    discard = {t for t, d in ATTRIBUTES.items() if d.action == DISCARD}
    assert discard == {6, 7, 17, 18}  # RFC 7606 §7.6, §7.7; RFC 6793 §6
    assert ATTRIBUTES[14].action == Action.AFISAFI_DISABLE
    assert ATTRIBUTES[2].check is check_as_path and ATTRIBUTES[2].name == "AS_PATH"
    assert all(d.name == AttrType(t).name for t, d in ATTRIBUTES.items())


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        (b"\x00", KEEP),
        (b"\x02", KEEP),
        (b"\x03", Fault(UpdateSub.INVALID_ORIGIN_ATTRIBUTE, TAW, "ORIGIN value 3")),
        (b"", Fault(LENGTH, TAW, "ORIGIN length is not 1")),
        (b"\x00\x00", Fault(LENGTH, TAW, "ORIGIN length is not 1")),
    ],
)
def test_origin(value: bytes, verdict: Verdict) -> None:
    assert run(check_origin, value) == verdict


def test_as_path_4_octet() -> None:
    c = ctx()
    assert run(check_as_path, encode_as_path([(2, (65001, 4200000001))]), c) is KEEP
    assert c.as_path is None  # only kept aside for a 2-octet-AS peer
    assert run(check_as_path, b"") is KEEP  # empty path (iBGP origin)
    bad = Fault(UpdateSub.MALFORMED_AS_PATH, TAW, "malformed AS_PATH segment or AS 0")
    assert run(check_as_path, encode_as_path([(2, (65001, 0))])) == bad
    assert run(check_as_path, H("0201")) == bad  # segment overruns
    assert run(check_as_path, H("0900")) == bad  # unknown segment type


def test_as_path_confederation_segments_only_from_ibgp() -> None:
    confed = encode_as_path([(3, (65010,)), (2, (65001,))])
    assert run(check_as_path, confed, ctx(ibgp=True)) is KEEP
    assert isinstance(run(check_as_path, confed, ctx(ibgp=False)), Fault)


def test_as_path_2_octet_is_kept_aside_for_the_merge() -> None:
    c = ctx(as4=False)
    c.spans.extend([(0, 4), (4, 8)])
    assert run(check_as_path, H("02020001fde9"), c, flags=0x50) is KEEP
    assert c.as_path == ((2, (1, 65001)),)
    assert (c.as_path_at, c.as_path_flags) == (2, 0x50)


def test_next_hop() -> None:
    assert run(check_next_hop, H("0a000001")) is KEEP
    inv = UpdateSub.INVALID_NEXT_HOP_ATTRIBUTE
    assert run(check_next_hop, H("00000000")) == Fault(inv, TAW, "NEXT_HOP 0.0.0.0")
    assert run(check_next_hop, H("e0000001")) == Fault(inv, TAW, "multicast/broadcast")
    assert run(check_next_hop, H("ffffffff")) == Fault(inv, TAW, "multicast/broadcast")
    assert run(check_next_hop, H("f0000001")) is KEEP  # class E is not refused
    assert run(check_next_hop, H("0a0000")) == Fault(LENGTH, TAW, "NEXT_HOP length is not 4")


def test_next_hop_without_classic_nlri_is_kept_unless_malformed() -> None:
    c = ctx(classic_nlri=False)
    assert run(check_next_hop, H("00000000"), c) is KEEP
    assert run(check_next_hop, H("0a0000"), c) == Fault(LENGTH, DISCARD, "NEXT_HOP")


def test_med() -> None:
    assert run(check_med, H("00000064"), flags=0x80) is KEEP
    assert run(check_med, H("0064"), flags=0x80) == Fault(
        LENGTH, TAW, "MULTI_EXIT_DISC length is not 4"
    )


def test_local_pref() -> None:
    assert run(check_local_pref, H("00000064")) is KEEP
    assert run(check_local_pref, H("0064")) == Fault(LENGTH, TAW, "LOCAL_PREF length is not 4")
    # RFC 4271 §5.1.5: ignored from an external peer, even when malformed
    assert run(check_local_pref, H("00000064"), ctx(ibgp=False)) is DROP
    assert run(check_local_pref, H("0064"), ctx(ibgp=False)) is DROP


def test_atomic_aggregate() -> None:
    assert run(check_atomic_aggregate, b"") is KEEP
    assert run(check_atomic_aggregate, b"\x00") == Fault(LENGTH, DISCARD, "not empty")


def test_aggregator_4_octet() -> None:
    assert run(check_aggregator, H("0000fde90a000001"), flags=0xC0) is KEEP
    assert run(check_aggregator, H("000000000a000001")) == Fault(OPTIONAL, DISCARD, "AS 0")
    assert run(check_aggregator, H("fde90a000001")) == Fault(LENGTH, DISCARD, "AGGREGATOR")


def test_aggregator_2_octet_is_widened_and_kept_aside() -> None:
    c = ctx(as4=False)
    c.spans.append((0, 4))
    assert run(check_aggregator, H("5ba00a000001"), c, flags=0xC0) is KEEP
    assert c.aggr == H("00005ba00a000001")
    assert (c.aggr_at, c.aggr_flags) == (1, 0xC0)
    assert run(check_aggregator, H("00000a000001"), ctx(as4=False)) == Fault(
        OPTIONAL, DISCARD, "AS 0"
    )
    assert run(check_aggregator, H("0000fde90a000001"), ctx(as4=False)) == Fault(
        LENGTH, DISCARD, "AGGREGATOR"
    )


@pytest.mark.parametrize(
    ("check", "unit", "t"),
    [
        (check_communities, 4, 8),
        (check_extended_communities, 8, 16),
        (check_large_communities, 12, 32),
    ],
)
def test_list_attributes_are_non_zero_multiples(check: Checker, unit: int, t: int) -> None:
    assert run(check, bytes(unit)) is KEEP
    assert run(check, bytes(3 * unit)) is KEEP
    assert run(check, b"") == Fault(LENGTH, TAW, f"length 0 of attribute {t}")
    odd = unit + 2
    assert run(check, bytes(odd)) == Fault(LENGTH, TAW, f"length {odd} of attribute {t}")


def test_originator_id() -> None:
    assert run(check_originator_id, H("0a000001")) is KEEP
    assert run(check_originator_id, H("0a00")) == Fault(
        LENGTH, TAW, "ORIGINATOR_ID length is not 4"
    )
    assert run(check_originator_id, H("0a000001"), ctx(ibgp=False)) == Fault(
        OPTIONAL, DISCARD, "from eBGP"
    )


def test_cluster_list() -> None:
    assert run(check_cluster_list, H("0a0000010a000002")) is KEEP
    assert run(check_cluster_list, H("0a00")) == Fault(LENGTH, TAW, "length 2 of attribute 10")
    # refused from eBGP before its length is looked at
    assert run(check_cluster_list, H("0a00"), ctx(ibgp=False)) == Fault(
        OPTIONAL, DISCARD, "from eBGP"
    )


def test_mp_attributes_are_noted_not_kept() -> None:
    c = ctx()
    assert run(check_mp_reach, H("000201"), c) is DROP
    assert c.result.mp_reach == (5, 8, 11)
    assert run(check_mp_unreach, H("00020100"), c) is DROP
    assert c.result.mp_unreach == (5, 8, 12)


def test_as4_path() -> None:
    c = ctx(as4=False)
    assert run(check_as4_path, encode_as_path([(2, (4200000001,))]), c, flags=0xC0) is DROP
    assert c.as4_path == ((2, (4200000001,)),)
    assert run(check_as4_path, encode_as_path([(2, (1,))])) == Fault(
        OPTIONAL, DISCARD, "AS4_PATH from a 4-octet AS speaker"
    )
    assert run(check_as4_path, H("0201"), ctx(as4=False)) == Fault(
        OPTIONAL, DISCARD, "malformed AS4_PATH"
    )
    # confederation segments are never allowed in AS4_PATH here
    confed = encode_as_path([(3, (65010,))])
    assert run(check_as4_path, confed, ctx(as4=False)) == Fault(
        OPTIONAL, DISCARD, "malformed AS4_PATH"
    )


def test_as4_aggregator() -> None:
    c = ctx(as4=False)
    assert run(check_as4_aggregator, H("fa56ea000a000001"), c) is DROP
    assert c.as4_aggr == H("fa56ea000a000001")
    assert run(check_as4_aggregator, H("fa56ea000a000001")) == Fault(
        OPTIONAL, DISCARD, "AS4_AGGREGATOR from a 4-octet AS speaker"
    )
    assert run(check_as4_aggregator, H("fa560a000001"), ctx(as4=False)) == Fault(
        LENGTH, DISCARD, "AS4_AGGREGATOR length is not 8"
    )
    assert run(check_as4_aggregator, H("000000000a000001"), ctx(as4=False)) == Fault(
        OPTIONAL, DISCARD, "AS4_AGGREGATOR with AS 0"
    )


def test_scan_turns_a_fault_into_the_error_of_its_attribute() -> None:
    """The scan loop gives a checker's Fault the attribute as data (AS_PATH: none), the
    attribute's offset, and treat-as-withdraw when the action says so."""
    origin_bad = H("400101") + b"\x07"
    as_path_bad = H("400202") + H("0201")
    block = origin_bad + as_path_bad
    data = b"\xaa" * 10 + block
    res = scan_attributes(data, 10, len(data), as4=True, ibgp=True, classic_nlri=True)
    got = [(e.subcode, e.data, e.action, e.offset) for e in res.errors]
    assert got == [
        (UpdateSub.INVALID_ORIGIN_ATTRIBUTE, origin_bad, TAW, 10),
        (UpdateSub.MALFORMED_AS_PATH, b"", TAW, 14),
    ]
    assert res.treat_as_withdraw
    assert res.block == b""


def test_scan_flags_error_uses_the_table_action() -> None:
    atomic_optional = H("800600")  # ATOMIC_AGGREGATE with the Optional bit
    data = atomic_optional + H("40010100")
    res = scan_attributes(data, 0, len(data), as4=True, ibgp=True, classic_nlri=True)
    (err,) = res.errors
    assert (err.subcode, err.data, err.action) == (
        UpdateSub.ATTRIBUTE_FLAGS_ERROR,
        atomic_optional,
        DISCARD,
    )
    assert not res.treat_as_withdraw
    assert res.block == H("40010100")
