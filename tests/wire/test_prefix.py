"""Prefix keys and NLRI field codec (RFC 4271 §4.3, RFC 4760, RFC 7911)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.wire.errors import Action, BGPError
from bgprr.wire.prefix import (
    decode_prefixes,
    encode_prefixes,
    key_addr,
    key_len,
    key_to_str,
    make_key,
    parse_prefix,
    prefix_size,
)

V4, V6 = 1, 2


def test_key_layout() -> None:
    key = make_key(0x0A010200, 24)
    assert key == (0x0A010200 << 8) | 24
    assert key_addr(key) == 0x0A010200
    assert key_len(key) == 24
    assert key_to_str(key, V4) == "10.1.2.0/24"
    assert key_to_str(make_key(0, 0), V4) == "0.0.0.0/0"
    assert key_to_str(make_key(0x20010DB8 << 96, 32), V6) == "2001:db8::/32"


@pytest.mark.parametrize(
    ("text", "afi", "addr", "plen"),
    [
        ("10.0.0.0/8", V4, 0x0A000000, 8),
        (" 192.168.1.0/24 ", V4, 0xC0A80100, 24),
        ("10.1.2.3", V4, 0x0A010203, 32),
        ("0.0.0.0/0", V4, 0, 0),
        ("2001:db8::/32", V6, 0x20010DB8 << 96, 32),
        ("::/0", V6, 0, 0),
        ("fe80::1/128", V6, (0xFE80 << 112) | 1, 128),
    ],
)
def test_parse_prefix(text: str, afi: int, addr: int, plen: int) -> None:
    assert parse_prefix(text) == (afi, make_key(addr, plen))


@pytest.mark.parametrize(
    "text", ["", "10.0.0.1/24", "10.0.0.0/33", "300.0.0.0/8", "2001:db8::1/32", "x", "1.2.3.4/-1"]
)
def test_parse_prefix_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_prefix(text)


def test_keys_sort_by_address_then_length() -> None:
    texts = ["10.0.0.0/8", "10.0.0.0/24", "9.255.0.0/16", "10.0.1.0/24", "10.0.0.0/16"]
    keys = sorted(parse_prefix(t)[1] for t in texts)
    assert [key_to_str(k, V4) for k in keys] == [
        "9.255.0.0/16",
        "10.0.0.0/8",
        "10.0.0.0/16",
        "10.0.0.0/24",
        "10.0.1.0/24",
    ]


# Golden vectors: length octet + minimal address octets (RFC 4271 §4.3).
GOLDEN_V4 = [
    (b"\x00", "0.0.0.0/0"),
    (b"\x08\x0a", "10.0.0.0/8"),
    (b"\x10\xac\x10", "172.16.0.0/16"),
    (b"\x18\x0a\x01\x02", "10.1.2.0/24"),
    (b"\x1a\xc0\xa8\x01\x40", "192.168.1.64/26"),
    (b"\x20\x0a\x00\x00\x01", "10.0.0.1/32"),
]
GOLDEN_V6 = [
    (b"\x00", "::/0"),
    (b"\x20\x20\x01\x0d\xb8", "2001:db8::/32"),
    (b"\x30\x20\x01\x0d\xb8\x00\x01", "2001:db8:1::/48"),
    (b"\x40\x20\x01\x0d\xb8\x00\x01\x00\x02", "2001:db8:1:2::/64"),
    (b"\x80" + bytes.fromhex("20010db8000000000000000000000001"), "2001:db8::1/128"),
]


@pytest.mark.parametrize(("afi", "golden"), [(V4, GOLDEN_V4), (V6, GOLDEN_V6)])
def test_golden_decode_encode(afi: int, golden: list[tuple[bytes, str]]) -> None:
    wire = b"".join(w for w, _ in golden)
    keys, ids = decode_prefixes(wire, 0, len(wire), afi, False)
    assert ids is None
    assert [key_to_str(k, afi) for k in keys] == [t for _, t in golden]
    assert keys == [parse_prefix(t)[1] for _, t in golden]
    assert encode_prefixes(keys, None, afi) == wire
    assert sum(prefix_size(k, False) for k in keys) == len(wire)


def test_addpath_golden() -> None:
    wire = b"\x00\x00\x00\x01\x18\x0a\x01\x02" + b"\xff\xff\xff\xff\x20\x0a\x00\x00\x01"
    keys, ids = decode_prefixes(wire, 0, len(wire), V4, True)
    assert keys == [parse_prefix("10.1.2.0/24")[1], parse_prefix("10.0.0.1/32")[1]]
    assert ids == [1, 0xFFFFFFFF]
    assert encode_prefixes(keys, ids, V4) == wire
    assert prefix_size(keys[0], True) == 8


def test_host_bits_are_masked() -> None:
    # /23 with the last bit of the third octet set, /25 with host bits in the 4th octet.
    wire = b"\x17\x0a\x01\x03" + b"\x19\x0a\x00\x00\xff"
    keys, _ = decode_prefixes(wire, 0, len(wire), V4, False)
    assert [key_to_str(k, V4) for k in keys] == ["10.1.2.0/23", "10.0.0.128/25"]
    wire6 = b"\x21\x20\x01\x0d\xb8\xff"
    keys6, _ = decode_prefixes(wire6, 0, len(wire6), V6, False)
    assert key_to_str(keys6[0], V6) == "2001:db8:8000::/33"


def test_offsets_window_and_memoryview() -> None:
    junk = b"\xde\xad"
    wire = junk + b"\x18\x0a\x01\x02\x08\x0b" + junk
    keys, _ = decode_prefixes(wire, 2, 8, V4, False)
    assert [key_to_str(k, V4) for k in keys] == ["10.1.2.0/24", "11.0.0.0/8"]
    keys2, _ = decode_prefixes(memoryview(wire), 2, 8, V4, False)
    assert keys2 == keys
    assert decode_prefixes(wire, 3, 3, V4, False) == ([], None)
    assert decode_prefixes(wire, 3, 3, V4, True) == ([], [])


@pytest.mark.parametrize(
    ("wire", "afi", "addpath", "bad_at"),
    [
        (b"\x21\x0a\x00\x00\x00\x00", V4, False, 0),  # /33
        (b"\x18\x0a\x01\x02\xff", V4, False, 4),  # /255
        (b"\x81" + bytes(17), V6, False, 0),  # /129
        (b"\x18\x0a\x01", V4, False, 0),  # overrun
        (b"\x08\x0a\x20\x0a\x00", V4, False, 2),  # second prefix overruns
        (b"\x00\x00\x00\x01", V4, True, 0),  # path id without prefix
        (b"\x00\x00\x00\x01\x18\x0a", V4, True, 0),  # prefix overruns
        (b"\x00\x00\x00\x01\x21" + bytes(4), V4, True, 0),  # /33 after path id
        (b"\x00\x00", V4, True, 0),  # truncated path id
    ],
)
def test_decode_errors(wire: bytes, afi: int, addpath: bool, bad_at: int) -> None:
    base = 100
    with pytest.raises(BGPError) as info:
        decode_prefixes(b"\x99" + wire, 1, 1 + len(wire), afi, addpath, base=base)
    err = info.value
    assert (err.code, err.subcode, err.data, err.action) == (3, 10, b"", Action.SESSION_RESET)
    assert err.offset == base + 1 + bad_at


def test_end_past_buffer() -> None:
    with pytest.raises(BGPError) as info:
        decode_prefixes(b"\x08\x0a", 0, 5, V4, False)
    assert info.value.subcode == 10


def test_encode_length_mismatch() -> None:
    with pytest.raises(ValueError):
        encode_prefixes([make_key(0, 0)], [], V4)


def _keys(bits: int) -> st.SearchStrategy[int]:
    return st.builds(
        lambda addr, plen: make_key(addr >> (bits - plen) << (bits - plen) if plen else 0, plen),
        st.integers(0, (1 << bits) - 1),
        st.integers(0, bits),
    )


@settings(max_examples=200)
@given(st.lists(_keys(32), max_size=40), st.booleans(), st.data())
def test_roundtrip_v4(keys: list[int], addpath: bool, data: st.DataObject) -> None:
    ids = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=len(keys), max_size=len(keys)))
    wire = encode_prefixes(keys, ids if addpath else None, V4)
    got, got_ids = decode_prefixes(wire, 0, len(wire), V4, addpath)
    assert got == keys
    assert got_ids == (ids if addpath else None)
    for k in got:
        net = ipaddress.ip_network(key_to_str(k, V4))
        assert parse_prefix(str(net)) == (V4, k)


@settings(max_examples=200)
@given(st.lists(_keys(128), max_size=30))
def test_roundtrip_v6(keys: list[int]) -> None:
    wire = encode_prefixes(keys, None, V6)
    assert decode_prefixes(wire, 0, len(wire), V6, False) == (keys, None)
    for k in keys:
        assert parse_prefix(key_to_str(k, V6)) == (V6, k)
