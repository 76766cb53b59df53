"""Framer: any chunking, early header checks, linear one-octet feeding."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

from bgprr.wire.constants import IPV4_UNICAST
from bgprr.wire.errors import BGPError
from bgprr.wire.framer import Framer
from bgprr.wire.messages import Notification, Open, decode_message, shutdown_message
from bgprr.wire.update import Update

M = b"\xff" * 16
KEEPALIVE = M + b"\x00\x13\x04"
NOTIFICATION = M + b"\x00\x17\x03\x06\x02\x01a"
OPEN = M + bytes.fromhex("001d 01 04 fde8 005a 01020304 00")
ROUTE_REFRESH = M + bytes.fromhex("0017 05 0001 00 01")
STREAM = OPEN + KEEPALIVE + NOTIFICATION + ROUTE_REFRESH + KEEPALIVE
EXPECTED = [OPEN, KEEPALIVE, NOTIFICATION, ROUTE_REFRESH, KEEPALIVE]


def test_whole_stream() -> None:
    f = Framer()
    f.feed(STREAM)
    assert list(f) == EXPECTED
    assert f.next_message() is None
    assert f.position == len(STREAM) and f.buffered == 0


@pytest.mark.parametrize("size", [1, 2, 3, 7, 18, 19, 20, 64])
def test_any_chunking(size: int) -> None:
    f = Framer()
    out: list[bytes] = []
    for i in range(0, len(STREAM), size):
        f.feed(STREAM[i : i + size])
        out.extend(f)
    assert out == EXPECTED


def test_every_split_point() -> None:
    for cut in range(len(STREAM) + 1):
        f = Framer()
        f.feed(STREAM[:cut])
        first = list(f)
        f.feed(memoryview(STREAM)[cut:])
        assert first + list(f) == EXPECTED


def test_position_tracks_message_starts() -> None:
    f = Framer()
    f.feed(STREAM)
    starts = []
    while True:
        starts.append(f.position)
        if f.next_message() is None:
            break
    assert starts[:-1] == [0, 29, 48, 71, 94]


def test_header_error_raised_before_body_arrives() -> None:
    f = Framer()
    f.feed(KEEPALIVE)
    f.feed(M + b"\x10\x00\x02")  # UPDATE of 4096 octets would be fine ...
    assert f.next_message() == KEEPALIVE
    assert f.next_message() is None  # ... and waits for its body
    f = Framer()
    f.feed(M + b"\x10\x01\x02")  # 4097: too long, reported at once
    with pytest.raises(BGPError) as info:
        f.next_message()
    assert (info.value.code, info.value.subcode, info.value.data) == (1, 2, b"\x10\x01")
    with pytest.raises(BGPError):  # stays failed
        f.next_message()


@pytest.mark.parametrize(
    ("header", "expect"),
    [
        (b"\x00" * 16 + b"\x00\x13\x04", (1, 1, b"")),
        (M + b"\x00\x12\x04", (1, 2, b"\x00\x12")),
        (M + b"\x00\x14\x04", (1, 2, b"\x00\x14")),  # KEEPALIVE must be 19
        (M + b"\x00\x13\x07", (1, 3, b"\x07")),
        (M + b"\x00\x1c\x01", (1, 2, b"\x00\x1c")),  # OPEN 28
    ],
)
def test_header_errors_byte_by_byte(header: bytes, expect: tuple[int, int, bytes]) -> None:
    f = Framer()
    for i, octet in enumerate(header):
        f.feed(bytes([octet]))
        if i < 18:
            assert f.next_message() is None
    with pytest.raises(BGPError) as info:
        f.next_message()
    assert (info.value.code, info.value.subcode, info.value.data) == expect


def test_extended_max_len() -> None:
    big = M + (19 + 10000).to_bytes(2, "big") + b"\x03\x06\x00" + bytes(9998)
    f = Framer()
    f.feed(big[:19])
    with pytest.raises(BGPError):
        f.next_message()
    f = Framer()
    f.max_len = 65535
    f.feed(big)
    assert f.next_message() == big
    with pytest.raises(ValueError):
        f.max_len = 100


def test_route_refresh_length_left_to_decoder() -> None:
    bad = M + b"\x00\x18\x05" + b"\x00\x01\x00\x01\x00"
    f = Framer()
    f.feed(bad)
    assert f.next_message() == bad


def test_ten_thousand_one_octet_feeds_is_linear() -> None:
    stream = KEEPALIVE * 600  # 11,400 octets
    f = Framer()
    count = 0
    t0 = time.perf_counter()
    for i in range(len(stream)):
        f.feed(stream[i : i + 1])
        while f.next_message() is not None:
            count += 1
    elapsed = time.perf_counter() - t0
    assert count == 600
    # A large message fed one octet at a time must not copy the buffer per octet either.
    big = M + (19 + 60000).to_bytes(2, "big") + b"\x03\x06\x00" + bytes(59998)
    f = Framer(65535)
    got: list[bytes] = []
    t1 = time.perf_counter()
    for i in range(len(big)):
        f.feed(big[i : i + 1])
        got.extend(f)
    assert time.perf_counter() - t1 < 5.0
    assert got == [big]
    assert elapsed < 2.0


def test_real_bird_session_stream_byte_by_byte() -> None:
    golden = Path(__file__).parent / "golden"
    names = ["open", "keepalive", "update", "update2", "notification"]
    msgs = [bytes.fromhex((golden / f"real_bird_{n}.hex").read_text().strip()) for n in names]
    stream = b"".join(msgs)
    f = Framer()
    got: list[bytes] = []
    for i in range(len(stream)):
        f.feed(stream[i : i + 1])
        got.extend(f)
    assert got == msgs
    decoded = [decode_message(m, addpath=frozenset({IPV4_UNICAST})) for m in got]
    assert isinstance(decoded[0], Open) and isinstance(decoded[2], Update)
    assert isinstance(decoded[4], Notification)
    assert shutdown_message(decoded[4]) == "maintenance by bgprr capture"


def test_failed_framer_is_freed_without_the_cycle_collector() -> None:
    """The error a failed framer keeps carries no traceback: its frames would hold the
    framer (and the caller's buffers) in a reference cycle that only a full collection
    frees, and the daemon runs full collections rarely (bgprr.app.tune_gc)."""
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            f = Framer()
            f.feed(b"\x00" * 19 + bytes(4000))  # a bad marker, and a buffer behind it
            for _ in range(2):
                with pytest.raises(BGPError) as info:
                    f.next_message()
                assert info.value.code == 1
            del info
            del f
        assert gc.collect() == 0  # nothing was left for the collector
    finally:
        gc.enable()
