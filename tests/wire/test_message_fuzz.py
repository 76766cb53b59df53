"""Fuzz: garbage and mutated messages either decode or raise BGPError, nothing else.

The invariant (as h11's fuzz tests) is checked for ``decode_message``, for the ``Framer``
fed whole and byte by byte (both must agree), and for the JSON form: whatever decodes is
shown as JSON and encodes back to the same bytes. ``HYPOTHESIS_PROFILE=fuzz`` raises the
example counts.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgprr.wire.constants import IPV4_UNICAST, IPV6_UNICAST
from bgprr.wire.errors import BGPError
from bgprr.wire.framer import Framer
from bgprr.wire.jsonfmt import json_to_message, message_to_json
from bgprr.wire.messages import decode_message

FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
EXAMPLES = 5000 if FUZZ else 150
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=not FUZZ,
)

GOLDEN = Path(__file__).parent / "golden"
SEEDS = [bytes.fromhex("".join(p.read_text().split())) for p in sorted(GOLDEN.glob("*.hex"))]
MARKER = b"\xff" * 16

sessions = st.fixed_dictionaries(
    {
        "as4": st.booleans(),
        "addpath": st.sampled_from(
            [frozenset(), frozenset({IPV4_UNICAST}), frozenset({IPV4_UNICAST, IPV6_UNICAST})]
        ),
        "ibgp": st.booleans(),
    }
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A golden message with a few octets changed, dropped or inserted (length fixed up
    most of the time so that the body parsers, not just the header check, get exercised)."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "del", "ins"]))
        i = draw(st.integers(19, max(19, len(data) - 1)))
        if op == "set" and i < len(data):
            data[i] = draw(st.integers(0, 255))
        elif op == "del" and i < len(data):
            del data[i]
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
    if draw(st.integers(0, 9)) and len(data) <= 0xFFFF:
        data[16:18] = len(data).to_bytes(2, "big")
    return bytes(data)


@st.composite
def framed_garbage(draw: st.DrawFn) -> bytes:
    body = draw(st.binary(max_size=80))
    mtype = draw(st.integers(0, 7))
    return MARKER + (19 + len(body)).to_bytes(2, "big") + bytes([mtype]) + body


def check_decode(data: bytes, session: dict[str, object]) -> None:
    as4 = bool(session["as4"])
    addpath = session["addpath"]
    assert isinstance(addpath, frozenset)
    try:
        decode_message(data, as4=as4, addpath=addpath, ibgp=bool(session["ibgp"]))
    except BGPError:
        return
    # It decoded: the JSON form must exist and encode back to exactly these bytes.
    obj = message_to_json(data, as4=as4, addpath=addpath)
    assert json_to_message(obj) == data


def frame(data: bytes, step: int) -> tuple[list[bytes], tuple[int, int, bytes] | None]:
    f = Framer()
    out: list[bytes] = []
    try:
        for i in range(0, len(data), step):
            f.feed(data[i : i + step])
            out.extend(f)
    except BGPError as exc:
        return out, (exc.code, exc.subcode, exc.data)
    return out, None


@SETTINGS
@given(st.binary(max_size=120), sessions)
def test_random_bytes(data: bytes, session: dict[str, object]) -> None:
    check_decode(data, session)
    check_decode(MARKER + data, session)


@SETTINGS
@given(framed_garbage(), sessions)
def test_random_bodies_with_valid_header(data: bytes, session: dict[str, object]) -> None:
    check_decode(data, session)


@SETTINGS
@given(mutated(), sessions)
def test_mutated_messages(data: bytes, session: dict[str, object]) -> None:
    check_decode(data, session)


@SETTINGS
@given(st.lists(st.one_of(mutated(), framed_garbage(), st.binary(max_size=30)), max_size=4))
def test_framer_whole_equals_byte_by_byte(parts: list[bytes]) -> None:
    stream = b"".join(parts)
    whole = frame(stream, max(1, len(stream)))
    assert frame(stream, 1) == whole
    assert frame(stream, 7) == whole
    for msg in whole[0]:
        assert int.from_bytes(msg[16:18], "big") == len(msg)


def test_seeds_decode() -> None:
    assert len(SEEDS) >= 20
