"""AS_PATH rules of an eBGP speaker (bgprr.reflect.aspath), byte for byte."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bgprr.reflect.aspath import (
    PrivateAs,
    contains_as,
    is_private_as,
    own_as_loop,
    prepend,
    remove_private,
    replace_as,
)
from bgprr.wire.attributes import PathAttrs, encode_as_path, encode_attribute
from bgprr.wire.constants import AttrType

SEQ, SET, CSEQ = 2, 1, 3


def blk(*segs: tuple[int, tuple[int, ...]], med: bool = False) -> bytes:
    """ORIGIN, AS_PATH (the segments), NEXT_HOP [, MED]: a canonical block."""
    out = (
        encode_attribute(0x40, AttrType.ORIGIN, b"\0")
        + encode_attribute(0x40, AttrType.AS_PATH, encode_as_path(segs, 4))
        + encode_attribute(0x40, AttrType.NEXT_HOP, bytes((10, 0, 0, 1)))
    )
    if med:
        out += encode_attribute(0x80, AttrType.MULTI_EXIT_DISC, (5).to_bytes(4, "big"))
    return out


def test_private_ranges() -> None:
    assert [is_private_as(a) for a in (64511, 64512, 65534, 65535)] == [False, True, True, False]
    assert [is_private_as(a) for a in (4199999999, 4200000000, 4294967294, 4294967295)] == [
        False,
        True,
        True,
        False,
    ]


def test_own_as_loop_counts_every_segment() -> None:
    b = blk((SEQ, (65001, 65000)), (SET, (65000, 7)))
    assert own_as_loop(b, 65000) and own_as_loop(b, 65000, 1)
    assert not own_as_loop(b, 65000, 2)
    assert not own_as_loop(b, 65002)
    assert contains_as(b, 7) and not contains_as(b, 8)
    # the 4 octets elsewhere in the block (the NEXT_HOP 10.0.0.1 = 167772161) are no loop
    assert not own_as_loop(blk((SEQ, (1,))), 167772161)


def test_replace_peer_as() -> None:
    b = blk((SEQ, (65010, 3, 65010)), (SET, (65010, 4)))
    assert replace_as(b, 65010, 65000) == blk((SEQ, (65000, 3, 65000)), (SET, (65000, 4)))
    assert replace_as(b, 9, 65000) is b


def test_remove_private_all_and_replace() -> None:
    b = blk((SEQ, (64512, 3, 4200000000, 65535)), (SET, (64513,)), (SET, (64514, 7)))
    assert remove_private(b, 65000, PrivateAs.ALL) == blk((SEQ, (3, 65535)), (SET, (7,)))
    assert remove_private(b, 65000, PrivateAs.REPLACE) == blk(
        (SEQ, (65000, 3, 65000, 65535)), (SET, (65000,)), (SET, (65000, 7))
    )
    assert remove_private(b, 65000, PrivateAs.NONE) is b
    only = blk((SEQ, (64512, 64513)))
    assert remove_private(only, 1, PrivateAs.ALL) == blk()


def test_prepend_rules() -> None:
    assert prepend(blk(), 65000) == blk((SEQ, (65000,)))
    assert prepend(blk((SEQ, (1, 2))), 65000) == blk((SEQ, (65000, 1, 2)))
    assert prepend(blk((SET, (1, 2))), 65000) == blk((SEQ, (65000,)), (SET, (1, 2)))
    # confederation segments go (RFC 5065 §5.3)
    assert prepend(blk((CSEQ, (9,)), (SEQ, (1,))), 65000) == blk((SEQ, (65000, 1)))
    full = blk((SEQ, tuple(range(1, 256))))
    assert prepend(full, 65000) == blk((SEQ, (65000,)), (SEQ, tuple(range(1, 256))))
    # no AS_PATH at all: one is added in type order (before NEXT_HOP)
    no_path = encode_attribute(0x40, 1, b"\0") + encode_attribute(0x40, 3, b"\x0a\0\0\x01")
    assert prepend(no_path, 65000) == blk((SEQ, (65000,)))


asns = st.sampled_from([1, 3, 64512, 65000, 65534, 65535, 4200000000, 4294967294, 7])
segments = st.lists(
    st.tuples(st.sampled_from([SEQ, SET]), st.lists(asns, min_size=1, max_size=6).map(tuple)),
    max_size=4,
)


@given(segments, st.sampled_from([PrivateAs.ALL, PrivateAs.REPLACE]))
def test_remove_private_properties(
    segs: list[tuple[int, tuple[int, ...]]], mode: PrivateAs
) -> None:
    out = PathAttrs(remove_private(blk(*segs), 65000, mode)).as_path
    flat = [a for _t, s in out for a in s]
    assert not any(is_private_as(a) for a in flat if a != 65000)
    if mode is PrivateAs.REPLACE:
        assert len(flat) == sum(len(s) for _t, s in segs)
    else:
        assert flat == [a for _t, s in segs for a in s if not is_private_as(a)]
    assert PathAttrs(remove_private(blk(*segs), 65000, mode)).next_hop == bytes((10, 0, 0, 1))
