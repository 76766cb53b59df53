"""Message codec: header checks (RFC 4271 §6.1), OPEN, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH."""

from __future__ import annotations

import pytest

from bgprr.wire.capabilities import (
    AddPath,
    AddPathFamily,
    FourOctetAS,
    MultiProtocol,
    RouteRefreshCap,
    UnknownCapability,
)
from bgprr.wire.errors import BGPError
from bgprr.wire.messages import (
    Keepalive,
    Notification,
    Open,
    RouteRefresh,
    check_header,
    decode_message,
    encode_message,
    make_shutdown_notification,
    shutdown_message,
)

M = b"\xff" * 16


def msg(mtype: int, body: bytes, length: int | None = None) -> bytes:
    n = 19 + len(body) if length is None else length
    return M + n.to_bytes(2, "big") + bytes([mtype]) + body


def b(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def err(data: bytes, max_len: int = 4096) -> BGPError:
    with pytest.raises(BGPError) as info:
        decode_message(data, max_len=max_len)
    return info.value


# ---------------------------------------------------------------- header


def test_keepalive_round_trip() -> None:
    raw = msg(4, b"")
    assert decode_message(raw) == Keepalive()
    assert encode_message(Keepalive()) == raw


def test_bad_marker() -> None:
    raw = b"\xff" * 15 + b"\xfe" + b"\x00\x13\x04"
    e = err(raw)
    assert (e.code, e.subcode, e.data, e.offset) == (1, 1, b"", 0)


@pytest.mark.parametrize("length", [0, 18, 4097, 65535])
def test_bad_length_data_is_length_field(length: int) -> None:
    raw = msg(4, b"", length)
    e = err(raw)
    assert (e.code, e.subcode, e.data, e.offset) == (1, 2, length.to_bytes(2, "big"), 16)


def test_bad_type_data_is_type_octet() -> None:
    e = err(msg(9, b""))
    assert (e.code, e.subcode, e.data, e.offset) == (1, 3, b"\x09", 18)
    e = err(msg(0, b""))
    assert (e.code, e.subcode, e.data) == (1, 3, b"\x00")


@pytest.mark.parametrize(
    ("mtype", "body_len"),
    [(4, 1), (1, 9), (3, 1), (2, 3)],  # KEEPALIVE 20, OPEN 28, NOTIFICATION 20, UPDATE 22
)
def test_per_type_length(mtype: int, body_len: int) -> None:
    raw = msg(mtype, bytes(body_len))
    e = err(raw)
    assert (e.code, e.subcode, e.data) == (1, 2, len(raw).to_bytes(2, "big"))


def test_length_field_disagrees_with_buffer() -> None:
    raw = msg(4, b"") + b"\x00"
    e = err(raw)
    assert (e.code, e.subcode, e.data) == (1, 2, b"\x00\x13")


def test_extended_message_max_len() -> None:
    raw = msg(3, b"\x06\x02" + bytes(5000))
    assert err(raw).subcode == 2
    n = decode_message(raw, max_len=65535)
    assert isinstance(n, Notification) and len(n.data) == 5000
    # OPEN stays limited to 4096 (RFC 8654)
    big_open = msg(1, b"\x04\xfd\xe8\x00\x5a\x01\x02\x03\x04\x00" + bytes(4100))
    assert err(big_open, max_len=65535).data == len(big_open).to_bytes(2, "big")


def test_check_header_needs_19() -> None:
    with pytest.raises(BGPError):
        check_header(M)
    assert check_header(b"xx" + msg(4, b""), 2) == (19, 4)


# ---------------------------------------------------------------- OPEN

# AS 65000, hold 90, id 1.2.3.4, caps: MP ipv4/unicast, route refresh, 4-octet AS 65000
OPEN_HEX = "04 fde8 005a 01020304 10 020e 0104 00010001 0200 4104 0000fde8"
OPEN = Open(
    my_as=65000,
    hold_time=90,
    bgp_id=0x01020304,
    capabilities=(MultiProtocol(afi=1, safi=1), RouteRefreshCap(), FourOctetAS(asn=65000)),
)


def test_open_round_trip() -> None:
    raw = msg(1, b(OPEN_HEX))
    assert decode_message(raw) == OPEN
    assert encode_message(OPEN) == raw


def test_open_capabilities_in_several_parameters() -> None:
    raw = msg(1, b("04 fde8 005a 01020304 14 0206 0104 00010001 0202 0200 0206 4104 0000fde8"))
    assert decode_message(raw) == OPEN


def test_open_without_parameters() -> None:
    raw = msg(1, b("04 fde8 0000 0a000001 00"))
    o = Open(my_as=65000, hold_time=0, bgp_id=0x0A000001)
    assert decode_message(raw) == o
    assert encode_message(o) == raw


def test_open_extended_parameters_rfc9072() -> None:
    # Opt Parm Len 255, Non-Ext OP Type 255, Ext Opt Parm Len 2 octets, params type + 2-octet len
    raw = msg(1, b("04 fde8 005a 01020304 ff ff 000b 02 0008 0104 00010001 4100") + b"")
    with pytest.raises(BGPError):  # 4-octet AS with length 0 is malformed
        decode_message(raw)
    raw = msg(1, b("04 fde8 005a 01020304 ff ff 000f 02 000c 0104 00010001 4104 0000fde8"))
    o = decode_message(raw)
    assert o == Open(
        my_as=65000,
        hold_time=90,
        bgp_id=0x01020304,
        capabilities=(MultiProtocol(afi=1, safi=1), FourOctetAS(asn=65000)),
        extended_params=True,
    )
    assert encode_message(o) == raw


def test_open_long_capabilities_switch_to_rfc9072() -> None:
    caps = tuple(UnknownCapability(code=200 + i % 10, data=bytes(100)) for i in range(5))
    o = Open(my_as=65000, hold_time=90, bgp_id=1, capabilities=caps)
    raw = encode_message(o)
    assert raw[28] == 255 and raw[29] == 255
    back = decode_message(raw)
    assert isinstance(back, Open) and back.capabilities == caps and back.extended_params


def test_open_version() -> None:
    e = err(msg(1, b("03 fde8 005a 01020304 00")))
    assert (e.code, e.subcode, e.data, e.offset) == (2, 1, b"\x00\x04", 19)


@pytest.mark.parametrize("hold", [1, 2])
def test_open_hold_time(hold: int) -> None:
    e = err(msg(1, b("04 fde8") + hold.to_bytes(2, "big") + b("01020304 00")))
    assert (e.code, e.subcode) == (2, 6)


def test_open_hold_time_3_and_0_ok() -> None:
    for hold in (0, 3):
        o = decode_message(msg(1, b("04 fde8") + hold.to_bytes(2, "big") + b("01020304 00")))
        assert isinstance(o, Open) and o.hold_time == hold


def test_open_bgp_identifier() -> None:
    e = err(msg(1, b("04 fde8 005a 00000000 00")))
    assert (e.code, e.subcode, e.offset) == (2, 3, 24)
    # RFC 6286: any nonzero value, e.g. a class-E or broadcast-looking one
    o = decode_message(msg(1, b("04 fde8 005a ffffffff 00")))
    assert isinstance(o, Open) and o.bgp_id == 0xFFFFFFFF


def test_open_as_zero_rfc7607() -> None:
    e = err(msg(1, b("04 0000 005a 01020304 00")))
    assert (e.code, e.subcode) == (2, 2)
    e = err(msg(1, b("04 5ba0 005a 01020304 08 0206 4104 00000000")))
    assert (e.code, e.subcode) == (2, 2)


def test_open_unknown_optional_parameter() -> None:
    e = err(msg(1, b("04 fde8 005a 01020304 04 0102 abcd")))
    assert (e.code, e.subcode, e.offset) == (2, 4, 29)


@pytest.mark.parametrize(
    "body",
    [
        "04 fde8 005a 01020304 05 0204 0104",  # opt len overruns message
        "04 fde8 005a 01020304 02 0204",  # param length overruns params
        "04 fde8 005a 01020304 01 02",  # truncated param header
        "04 fde8 005a 01020304 00 0200",  # trailing octets after params
        "04 fde8 005a 01020304 01 ff",  # RFC 9072 marker without its length
        "04 fde8 005a 01020304 ff ff 0009 02 0004 0104",  # ext length overruns
    ],
)
def test_open_parameter_overruns_are_2_0(body: str) -> None:
    e = err(msg(1, b(body)))
    assert (e.code, e.subcode) == (2, 0)


def test_open_add_path_round_trip() -> None:
    o = Open(
        my_as=23456,
        hold_time=240,
        bgp_id=0x0A000002,
        capabilities=(AddPath(families=(AddPathFamily(afi=1, safi=1, mode=3),)),),
    )
    assert decode_message(encode_message(o)) == o


# ---------------------------------------------------------------- NOTIFICATION


def test_notification_round_trip() -> None:
    raw = msg(3, b("0302 0004 0000"))
    n = Notification(code=3, subcode=2, data=b("0004 0000"))
    assert decode_message(raw) == n
    assert encode_message(n) == raw
    assert decode_message(msg(3, b"\x06\x00")) == Notification(code=6, subcode=0)


def test_shutdown_message() -> None:
    text = "maintenance: back in 10 min"
    raw = text.encode()
    n = Notification(code=6, subcode=2, data=bytes([len(raw)]) + raw)
    assert shutdown_message(n) == text
    assert shutdown_message(Notification(code=6, subcode=4, data=b"\x02\xc3\xa9")) == "é"
    assert shutdown_message(Notification(code=6, subcode=4, data=b"\x00")) == ""


@pytest.mark.parametrize(
    "n",
    [
        Notification(code=6, subcode=2, data=b""),  # no communication
        Notification(code=6, subcode=2, data=b"\x05abc"),  # length overruns
        Notification(code=6, subcode=2, data=b"\x02\xc3\x28"),  # invalid UTF-8
        Notification(code=6, subcode=3, data=b"\x01a"),  # not shutdown/reset
        Notification(code=3, subcode=2, data=b"\x01a"),
    ],
)
def test_shutdown_message_none(n: Notification) -> None:
    assert shutdown_message(n) is None


def test_make_shutdown_truncates_at_char_boundary() -> None:
    n = make_shutdown_notification(2, "€" * 100)  # 3 octets each: 300 octets
    assert (n.code, n.subcode) == (6, 2)
    assert n.data[0] == 255 == len(n.data) - 1
    assert shutdown_message(n) == "€" * 85
    n = make_shutdown_notification(4, "a" + "€" * 100)  # 1 + 3k: cut back to 253
    assert n.data[0] == 253 and shutdown_message(n) == "a" + "€" * 84
    n = make_shutdown_notification(2, "bye")
    assert encode_message(n) == msg(3, b"\x06\x02\x03bye")


# ---------------------------------------------------------------- ROUTE-REFRESH


@pytest.mark.parametrize("subtype", [0, 1, 2, 7])
def test_route_refresh_round_trip(subtype: int) -> None:
    raw = msg(5, b"\x00\x02" + bytes([subtype]) + b"\x01")
    rr = RouteRefresh(afi=2, safi=1, subtype=subtype)
    assert decode_message(raw) == rr
    assert encode_message(rr) == raw


@pytest.mark.parametrize("body", [b"", b"\x00\x01\x01", b"\x00\x01\x01\x01\x00"])
def test_route_refresh_bad_length_rfc7313(body: bytes) -> None:
    raw = msg(5, body)
    e = err(raw)
    assert (e.code, e.subcode, e.data) == (7, 1, raw)


# ---------------------------------------------------------------- UPDATE (codec in update.py)


def test_update_dispatch_and_round_trip() -> None:
    from bgprr.wire.update import Update

    body = b("0000 0015 400101 00 400200 400304 0a000001 400504 00000064 18 0a0b0c")
    raw = msg(2, body)
    u = decode_message(raw)
    assert isinstance(u, Update)
    assert u.nlri == [(0x0A0B0C00 << 8) | 24]
    assert encode_message(u) == raw
    e = err(msg(2, b("0000 0008 400101 00")))  # attributes overrun the message
    assert e.code == 3


def test_end_of_rib_update() -> None:
    raw = msg(2, b"\x00\x00\x00\x00")
    u = decode_message(raw)
    assert encode_message(u) == raw


def test_open_encoding_boundary_255() -> None:
    def open_with(n: int) -> Open:  # capabilities totalling n octets of TLVs
        caps = [UnknownCapability(code=200, data=bytes(200))] if n > 202 else []
        rest = n - (202 if caps else 0)
        caps.append(UnknownCapability(code=201, data=bytes(rest - 2)))
        return Open(my_as=65000, hold_time=90, bgp_id=1, capabilities=tuple(caps))

    fits = encode_message(open_with(253))  # 2 + 253 = 255: one-octet lengths
    assert fits[28] == 255 and fits[29] == 2 and fits[30] == 253
    over = encode_message(open_with(254))  # 256: RFC 9072
    assert over[28:30] == b"\xff\xff" and over[30:32] == (3 + 254).to_bytes(2, "big")
    for raw, o in ((fits, open_with(253)), (over, open_with(254))):
        back = decode_message(raw)
        assert isinstance(back, Open) and back.capabilities == o.capabilities


def test_open_other_params_encode_but_are_refused_on_receipt() -> None:
    o = Open(my_as=65000, hold_time=90, bgp_id=1, other_params=((1, b"\x00"),))
    raw = encode_message(o)
    assert raw[28:] == b"\x03\x01\x01\x00"
    e = err(raw)
    assert (e.code, e.subcode) == (2, 4)
