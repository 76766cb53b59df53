"""Fuzz invariant (as h11's): any bytes, whole or in any chunking, either make progress or
end the session with a NOTIFICATION and a Close; the Session never raises."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bgprr.session import Session, SessionConfig, State
from bgprr.session.events import Close, Output, Send, StateChanged
from bgprr.wire.capabilities import FourOctetAS
from bgprr.wire.messages import Keepalive, Notification, Open, decode_message, encode_message

CFG = SessionConfig(local_as=65000, peer_as=65001, router_id=1)
OPEN = encode_message(
    Open(my_as=65001, hold_time=90, bgp_id=2, capabilities=(FourOctetAS(asn=65001),))
)
KA = encode_message(Keepalive())
STATES = [State.OPENSENT, State.OPENCONFIRM, State.ESTABLISHED]
HEADERS = [b"\xff" * 16 + bytes([0, n, t]) for n in (19, 23, 29, 40) for t in range(1, 6)]


def peer_in(state: State) -> Session:
    p = Session(CFG)
    p.start(0.0)
    p.connection_made(1, 0.0, inbound=False)
    if state is not State.OPENSENT:
        p.data_received(1, OPEN, 0.0)
    if state is State.ESTABLISHED:
        p.data_received(1, KA, 0.0)
    p.poll()
    return p


def check(p: Session, outs: list[Output]) -> None:
    if p.state is State.IDLE:
        assert Close(conn_id=1) in outs
        sends = [o for o in outs if isinstance(o, Send)]
        if sends:  # we told the peer why
            assert isinstance(decode_message(sends[-1].data), Notification)
        else:  # the peer told us
            change = [o for o in outs if isinstance(o, StateChanged)][-1]
            assert change.reason.startswith("NOTIFICATION received")
    else:
        assert Close(conn_id=1) not in outs


garbage = st.one_of(
    st.binary(max_size=80),
    st.builds(lambda h, b: h + b, st.sampled_from(HEADERS), st.binary(max_size=40)),
)


@settings(max_examples=150, deadline=None)
@given(state=st.sampled_from(STATES), data=garbage)
def test_garbage_whole(state: State, data: bytes) -> None:
    p = peer_in(state)
    p.data_received(1, data, 1.0)
    check(p, p.poll())


@settings(max_examples=75, deadline=None)
@given(state=st.sampled_from(STATES), data=garbage, cuts=st.lists(st.integers(0, 120)))
def test_garbage_chunked_matches_whole(state: State, data: bytes, cuts: list[int]) -> None:
    whole = peer_in(state)
    whole.data_received(1, data, 1.0)
    expected = whole.poll()
    chunked = peer_in(state)
    outs: list[Output] = []
    points = sorted({c for c in cuts if c < len(data)} | {0, len(data)})
    for lo, hi in itertools.pairwise(points):
        chunked.data_received(1, data[lo:hi], 1.0)
        outs += chunked.poll()
    assert outs == expected and chunked.state is whole.state
    check(chunked, outs)
