"""What a Session sends on request: UPDATEs (``send_updates``) and ROUTE-REFRESH
(``send_route_refresh``), only when Established, counted, restarting the KeepaliveTimer."""

from __future__ import annotations

import pytest

from bgprr.session import (
    RouteRefreshReceived,
    Send,
    SendMany,
    Session,
    SessionConfig,
    State,
    Timer,
    UpdateReceived,
)
from bgprr.wire.capabilities import FourOctetAS
from bgprr.wire.constants import MsgType
from bgprr.wire.messages import Keepalive, Open, RouteRefresh, encode_message
from bgprr.wire.update import decode_update
from tests.support.pair import PeerPair

A = SessionConfig(local_as=65000, peer_as=65000, router_id=1)
B = SessionConfig(local_as=65000, peer_as=65000, router_id=2, passive=True)
KA = encode_message(Keepalive())
H = b"\xff" * 16


def update(prefix_octet: int) -> bytes:
    """An UPDATE announcing 10.<n>.0.0/16 (ORIGIN, AS_PATH, NEXT_HOP, LOCAL_PREF)."""
    attrs = (
        b"\x40\x01\x01\x00"
        + b"\x40\x02\x00"
        + b"\x40\x03\x04\x0a\x00\x00\x01"
        + b"\x40\x05\x04\x00\x00\x00\x64"
    )
    nlri = bytes((16, 10, prefix_octet))
    body = b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + nlri
    return H + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body


def borr() -> bytes:
    return encode_message(RouteRefresh(afi=1, safi=1, subtype=1))


def state_of(p: Session) -> State:
    return p.state


def up_pair() -> PeerPair:
    pair = PeerPair(Session(A), Session(B))
    pair.b.start(0.0)
    pair.a.start(0.0)
    pair.pump()
    assert state_of(pair.a) is state_of(pair.b) is State.ESTABLISHED
    return pair


def established(config: SessionConfig = A, *, caps: bool = True) -> Session:
    """A Session in Established on connection 1; the peer's OPEN without Route Refresh
    capabilities unless ``caps``."""
    p = Session(config)
    p.start(0.0)
    p.connection_made(1, 0.0, inbound=False)
    if caps:
        peer = Session(B).local_open
    else:
        peer = Open(my_as=65000, hold_time=90, bgp_id=2, capabilities=(FourOctetAS(asn=65000),))
    p.data_received(1, encode_message(peer), 0.0)
    p.data_received(1, KA, 0.0)
    assert state_of(p) is State.ESTABLISHED
    p.poll()
    return p


def test_updates_arrive_in_order() -> None:
    pair = up_pair()
    msgs = [update(n) for n in range(50)]
    assert pair.a.send_updates(msgs, pair.now)
    pair.pump()
    got = [o.update.nlri for o in pair.log[1] if isinstance(o, UpdateReceived)]
    assert got == [decode_update(m, as4=True, ibgp=True).nlri for m in msgs]
    assert len(set(map(tuple, got))) == 50


def test_one_output_holding_the_callers_sequence() -> None:
    p = established()
    msgs = [update(1), update(2), borr()]
    assert p.send_updates(msgs, 1.0)
    outs = p.poll()
    assert len(outs) == 1 and isinstance(outs[0], SendMany)
    assert outs[0].conn_id == 1 and outs[0].messages is msgs  # no copy


def test_counters_by_type() -> None:
    p = established()
    before = dict(p.sent)
    assert before == {MsgType.OPEN: 1, MsgType.KEEPALIVE: 1}
    p.send_updates([update(1), update(2), borr()], 1.0)
    p.send_updates([update(3)], 2.0)
    p.send_route_refresh(1, 1, 3.0)
    assert p.sent == {
        MsgType.OPEN: 1,
        MsgType.KEEPALIVE: 1,
        MsgType.UPDATE: 3,
        MsgType.ROUTE_REFRESH: 2,
    }
    p.handle_timer(p.deadline(Timer.KEEPALIVE) or 0.0)
    assert p.sent[MsgType.KEEPALIVE] == 2


def test_keepalive_timer_restarts_with_each_send() -> None:
    p = established()
    assert p.deadline(Timer.KEEPALIVE) == 30.0
    p.send_updates([update(1)], 25.0)
    assert p.deadline(Timer.KEEPALIVE) == 55.0
    p.send_route_refresh(1, 1, 40.0)
    assert p.deadline(Timer.KEEPALIVE) == 70.0
    assert len(p.poll()) == 2
    p.handle_timer(69.0)
    assert p.poll() == []
    p.data_received(1, KA, 69.0)  # the peer's KEEPALIVE keeps our hold timer going
    p.handle_timer(70.0)
    assert p.poll() == [Send(conn_id=1, data=KA)]


def test_no_keepalive_timer_with_hold_time_zero() -> None:
    zero = SessionConfig(local_as=65000, peer_as=65000, router_id=1, hold_time=0)
    p = established(zero)
    assert p.deadline(Timer.KEEPALIVE) is None
    assert p.send_updates([update(1)], 5.0)
    assert p.deadline(Timer.KEEPALIVE) is None


@pytest.mark.parametrize(
    "state", [State.IDLE, State.CONNECT, State.ACTIVE, State.OPENSENT, State.OPENCONFIRM]
)
def test_refused_unless_established(state: State) -> None:
    p = Session(A if state is not State.ACTIVE else B)
    if state is not State.IDLE:
        p.start(0.0)
    if state in (State.OPENSENT, State.OPENCONFIRM):
        p.connection_made(1, 0.0, inbound=False)
    if state is State.OPENCONFIRM:
        p.data_received(1, encode_message(Session(B).local_open), 0.0)
    assert state_of(p) is state
    p.poll()
    sent, deadline = dict(p.sent), p.deadline(Timer.KEEPALIVE)
    assert not p.send_updates([update(1)], 5.0)
    assert not p.send_route_refresh(1, 1, 5.0)
    assert p.poll() == []
    assert p.sent == sent and p.deadline(Timer.KEEPALIVE) == deadline


def test_refused_after_the_session_went_down() -> None:
    pair = up_pair()
    pair.a.stop(pair.now)
    pair.pump()
    assert not pair.a.send_updates([update(1)], pair.now)
    assert pair.a.poll() == []


def test_empty_batch_is_nothing() -> None:
    p = established()
    deadline = p.deadline(Timer.KEEPALIVE)
    assert not p.send_updates([], 10.0)
    assert p.poll() == [] and p.deadline(Timer.KEEPALIVE) == deadline


def test_route_refresh_reaches_the_peer() -> None:
    pair = up_pair()
    assert pair.a.send_route_refresh(1, 1, pair.now)
    pair.pump()
    assert RouteRefreshReceived(afi=1, safi=1, subtype=0) in pair.log[1]
    assert Send(conn_id=pair.a.conn_id or 0, data=encode_message(RouteRefresh(afi=1, safi=1))) in (
        pair.log[0]
    )


def test_route_refresh_needs_the_capability_and_the_family() -> None:
    p = established(caps=False)
    assert not p.send_route_refresh(1, 1, 1.0)
    assert not p.send_route_refresh(1, 1, 1.0, subtype=1)
    q = established()
    assert not q.send_route_refresh(2, 1, 1.0)  # IPv6 unicast not negotiated
    assert q.poll() == []
    assert q.send_route_refresh(1, 1, 1.0, subtype=2)  # Enhanced Route Refresh: EoRR
    eorr = encode_message(RouteRefresh(afi=1, safi=1, subtype=2))
    assert q.poll() == [Send(conn_id=1, data=eorr)]


def test_counters_without_enhanced_route_refresh() -> None:
    p = established(caps=False)
    assert p.send_updates([update(1), update(2)], 1.0)
    assert p.sent == {MsgType.OPEN: 1, MsgType.KEEPALIVE: 1, MsgType.UPDATE: 2}
