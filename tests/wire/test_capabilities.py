"""Capability codec (RFC 5492 TLVs) built from the RFC formats."""

from __future__ import annotations

import pytest

from bgprr.wire.capabilities import (
    FQDN,
    AddPath,
    AddPathFamily,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    ExtendedNextHop,
    ExtendedNextHopEntry,
    FourOctetAS,
    GracefulRestart,
    GracefulRestartFamily,
    LLGRFamily,
    LongLivedGracefulRestart,
    MultiProtocol,
    RouteRefreshCap,
    UnknownCapability,
    capability_code,
    capability_name,
    decode_capabilities,
    encode_capability,
)
from bgprr.wire.errors import BGPError

# (hex TLV, decoded capability): each hand-built from the RFC's value layout.
VECTORS: list[tuple[str, Capability]] = [
    ("0104 0001 0001", MultiProtocol(afi=1, safi=1)),  # RFC 4760: AFI, reserved, SAFI
    ("0104 0002 0001", MultiProtocol(afi=2, safi=1)),
    ("0200", RouteRefreshCap()),  # RFC 2918
    ("4600", EnhancedRouteRefresh()),  # RFC 7313
    ("0600", ExtendedMessage()),  # RFC 8654
    ("4104 0000fde8", FourOctetAS(asn=65000)),  # RFC 6793
    ("4104 fa56ea00", FourOctetAS(asn=4200000000)),
    # RFC 4724 + RFC 8538: R=1 N=1 time=120, ipv4/unicast F=1, ipv6/unicast F=0
    (
        "400a c078 0001 01 80 0002 01 00",
        GracefulRestart(
            restart=True,
            notification=True,
            time=120,
            families=(
                GracefulRestartFamily(afi=1, safi=1, forwarding=True),
                GracefulRestartFamily(afi=2, safi=1, forwarding=False),
            ),
        ),
    ),
    ("4002 0fff", GracefulRestart(restart=False, notification=False, time=4095, families=())),
    (
        "4508 0001 01 03 0002 01 01",  # RFC 7911: AFI, SAFI, Send/Receive
        AddPath(
            families=(
                AddPathFamily(afi=1, safi=1, mode=3),
                AddPathFamily(afi=2, safi=1, mode=1),
            )
        ),
    ),
    ("4700", LongLivedGracefulRestart(families=())),  # empty, as Calico's BIRD sends
    (
        "4707 0001 01 80 000e10",  # RFC 9494: AFI, SAFI, flags, 24-bit stale time
        LongLivedGracefulRestart(
            families=(LLGRFamily(afi=1, safi=1, forwarding=True, stale_time=3600),)
        ),
    ),
    (
        "0506 0001 0001 0002",  # RFC 8950: AFI, SAFI (2 octets), next-hop AFI
        ExtendedNextHop(entries=(ExtendedNextHopEntry(afi=1, safi=1, nexthop_afi=2),)),
    ),
    ("4909 05 6e6f646531 02 6c6e", FQDN(hostname="node1", domain="ln")),
    ("4902 00 00", FQDN(hostname="", domain="")),
    ("4907 02 c3a9 03 e282ac", FQDN(hostname="é", domain="€")),
    ("8000", UnknownCapability(code=128, data=b"")),  # Cisco pre-standard route refresh
    ("ee03 010203", UnknownCapability(code=238, data=b"\x01\x02\x03")),
]


def _b(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.mark.parametrize(("hexstr", "cap"), VECTORS)
def test_vector_decodes_and_reencodes(hexstr: str, cap: Capability) -> None:
    raw = _b(hexstr)
    assert decode_capabilities(raw, 0, len(raw)) == (cap,)
    assert encode_capability(cap) == raw
    assert capability_code(cap) == raw[0]


def test_several_in_one_parameter_with_offsets() -> None:
    raw = b"\xaa\xbb" + _b("0104 0001 0001 0200 4104 0000fde8") + b"\xcc"
    caps = decode_capabilities(raw, 2, len(raw) - 1)
    assert caps == (MultiProtocol(afi=1, safi=1), RouteRefreshCap(), FourOctetAS(asn=65000))


def test_empty_range() -> None:
    assert decode_capabilities(b"\x01\x04", 1, 1) == ()


@pytest.mark.parametrize(
    ("hexstr", "where"),
    [
        ("0103 000100", 0),  # multiprotocol length 3
        ("0201 00", 0),  # route refresh must be empty
        ("4601 00", 0),
        ("0601 00", 0),
        ("4103 000001", 0),  # 4-octet AS length 3
        ("4001 00", 0),  # graceful restart shorter than 2
        ("4003 0078 00", 0),  # not 2 + 4n
        ("4503 000101", 0),  # add-path not 4n
        ("4504 00010100", 0),  # add-path Send/Receive 0
        ("4504 00010104", 0),  # add-path Send/Receive 4
        ("4703 000101", 0),  # LLGR not 7n
        ("0504 00010001", 0),  # extended next hop not 6n
        ("01", 0),  # truncated header
        ("0105 00010001", 1),  # length overruns
    ],
)
def test_malformed_known_capability_is_open_error_0(hexstr: str, where: int) -> None:
    raw = _b(hexstr)
    with pytest.raises(BGPError) as info:
        decode_capabilities(raw, 0, len(raw), base=30)
    err = info.value
    assert (err.code, err.subcode) == (2, 0)
    assert err.offset == 30 + where


@pytest.mark.parametrize(
    "hexstr",
    [
        "4903 05 6e6f",  # hostname length overruns
        "4905 01 61 03 6263",  # domain length overruns
        "4902 01 ff",  # no domain length
        "4904 01 ff 01 61",  # invalid UTF-8 hostname
        "4905 01 61 01 62 00",  # trailing octet
    ],
)
def test_malformed_fqdn_is_kept_raw(hexstr: str) -> None:
    raw = _b(hexstr)
    (cap,) = decode_capabilities(raw, 0, len(raw))
    assert cap == UnknownCapability(code=73, data=raw[2:])
    assert encode_capability(cap) == raw


def test_gr_reserved_bits_and_time_mask() -> None:
    # Reserved flag bits (0x3000) and per-family reserved bits are ignored on receipt.
    raw = _b("4006 b005 0001 01 7f")
    (cap,) = decode_capabilities(raw, 0, len(raw))
    assert cap == GracefulRestart(
        restart=True,
        notification=False,
        time=5,
        families=(GracefulRestartFamily(afi=1, safi=1, forwarding=False),),
    )


def test_encode_limits() -> None:
    with pytest.raises(ValueError):
        encode_capability(FQDN(hostname="a" * 256, domain=""))
    with pytest.raises(ValueError):
        encode_capability(UnknownCapability(code=200, data=bytes(256)))


def test_names() -> None:
    assert capability_name(69) == "add-path"
    assert capability_name(128) == "route-refresh-cisco"
    assert capability_name(250) == "unknown-250"
