"""Connection collision detection and resolution (RFC 4271 §6.8, RFC 6286 §2.3)."""

from __future__ import annotations

import pytest

from bgprr.session import GracefulRestartConfig, Session, SessionConfig, State, Timer, keep_outbound
from bgprr.session.events import Close, Output, Send, SessionDown, StateChanged
from bgprr.wire.capabilities import Capability, FourOctetAS, GracefulRestart
from bgprr.wire.messages import Keepalive, Notification, Open, decode_message, encode_message
from tests.support.pair import PeerPair

KA = encode_message(Keepalive())
COLLISION = Notification(code=6, subcode=7)


def state_of(p: Session) -> State:
    """The Session's state, read through a function so mypy does not narrow it across calls."""
    return p.state


def peer_open(rid: int, asn: int = 65001, caps: tuple[Capability, ...] = ()) -> bytes:
    caps = (FourOctetAS(asn=asn), *caps)
    return encode_message(Open(my_as=asn, hold_time=90, bgp_id=rid, capabilities=caps))


def notes(outs: list[Output], conn_id: int) -> list[Notification]:
    found = []
    for o in outs:
        if isinstance(o, Send) and o.conn_id == conn_id:
            m = decode_message(o.data)
            if isinstance(m, Notification):
                found.append(m)
    return found


def opensent(
    rid: int = 1, asn: int = 65000, graceful_restart: GracefulRestartConfig | None = None
) -> Session:
    """A Session in OpenSent on outbound connection 1."""
    p = Session(
        SessionConfig(local_as=asn, peer_as=65001, router_id=rid, graceful_restart=graceful_restart)
    )
    p.start(0.0)
    p.connection_made(1, 0.0, inbound=False)
    p.poll()
    return p


def test_keep_outbound_rule() -> None:
    assert keep_outbound(2, 65000, 1, 65001)  # higher id: our connection survives
    assert not keep_outbound(1, 65000, 2, 65001)
    assert not keep_outbound(5, 65000, 5, 65001)  # equal ids: the higher AS wins
    assert keep_outbound(5, 65002, 5, 65001)


@pytest.mark.parametrize("open_first_on", ["inbound", "outbound"])
def test_peer_with_higher_id_keeps_its_connection(open_first_on: str) -> None:
    p = opensent(rid=1)
    p.connection_made(2, 0.0, inbound=True)  # the peer's connection: tracked, we send OPEN
    outs = p.poll()
    assert outs == [Send(conn_id=2, data=encode_message(p.local_open))]
    assert p.deadline(Timer.ALT_HOLD) == 240.0
    if open_first_on == "inbound":
        p.data_received(2, peer_open(2), 1.0)
    else:
        p.data_received(1, peer_open(2), 1.0)  # our own connection must go
        outs = p.poll()
        assert notes(outs, 1) == [COLLISION] and Close(conn_id=1) in outs
        assert state_of(p) is State.OPENSENT and p.conn_id == 2
        p.data_received(2, peer_open(2), 1.0)
    outs = p.poll()
    if open_first_on == "inbound":
        assert notes(outs, 1) == [COLLISION] and Close(conn_id=1) in outs
    assert state_of(p) is State.OPENCONFIRM and p.conn_id == 2
    assert p.deadline(Timer.ALT_HOLD) is None
    p.data_received(2, KA, 2.0)
    assert state_of(p) is State.ESTABLISHED


@pytest.mark.parametrize("open_first_on", ["inbound", "outbound"])
def test_our_higher_id_keeps_our_connection(open_first_on: str) -> None:
    p = opensent(rid=3)
    p.connection_made(2, 0.0, inbound=True)
    p.poll()
    first, second = (2, 1) if open_first_on == "inbound" else (1, 2)
    p.data_received(first, peer_open(2), 1.0)
    outs = p.poll()
    assert notes(outs, 2) == [COLLISION] and Close(conn_id=2) in outs
    assert p.conn_id == 1
    if open_first_on == "inbound":
        assert state_of(p) is State.OPENSENT
        p.data_received(1, peer_open(2), 1.0)
    assert state_of(p) is State.OPENCONFIRM
    p.data_received(second, KA, 1.0)  # late data on the closed connection is ignored
    p.data_received(1, KA, 1.0)
    assert state_of(p) is State.ESTABLISHED and p.conn_id == 1


def test_outbound_arriving_while_inbound_in_opensent() -> None:
    p = Session(SessionConfig(local_as=65000, peer_as=65001, router_id=9, passive=True))
    p.start(0.0)
    p.connection_made(4, 0.0, inbound=True)
    p.connection_made(5, 0.0, inbound=False)  # e.g. a race with our own attempt
    p.poll()
    p.data_received(5, peer_open(2), 1.0)  # we have the higher id: outbound 5 wins
    outs = p.poll()
    assert notes(outs, 4) == [COLLISION] and p.conn_id == 5 and state_of(p) is State.OPENCONFIRM


def openconfirm_collision() -> Session:
    """Our outbound 1 in OpenConfirm (KEEPALIVE sent: the peer may be Established on it);
    the peer (higher id) opened 2 and its OPEN came: 1 loses by RFC 4271 §6.8."""
    p = opensent(rid=1)
    p.data_received(1, peer_open(2), 1.0)
    assert state_of(p) is State.OPENCONFIRM
    p.connection_made(2, 2.0, inbound=True)
    p.poll()
    p.data_received(2, peer_open(2), 3.0)
    outs = p.poll()
    # No Cease on 1 yet: a peer Established there would drop the session (and BIRD
    # its graceful-restart state); the peer resolves the collision within a round trip.
    assert outs == [] and state_of(p) is State.OPENCONFIRM and p.conn_id == 1
    assert p.deadline(Timer.ALT_HOLD) == 3.0 + p.config.collision_wait
    return p


def test_openconfirm_collision_peer_established_on_ours() -> None:
    p = openconfirm_collision()
    p.data_received(1, KA, 3.1)  # the peer was Established on 1: it keeps 1
    outs = p.poll()
    assert notes(outs, 2) == [COLLISION] and Close(conn_id=2) in outs
    assert notes(outs, 1) == [] and state_of(p) is State.ESTABLISHED and p.conn_id == 1
    assert p.deadline(Timer.ALT_HOLD) is None


def test_openconfirm_collision_peer_closes_ours() -> None:
    p = openconfirm_collision()
    p.data_received(1, encode_message(COLLISION), 3.1)  # the peer dumped 1
    outs = p.poll()
    assert notes(outs, 1) == [] and notes(outs, 2) == []
    assert Send(conn_id=2, data=KA) in outs  # its OPEN was kept: straight to OpenConfirm
    assert state_of(p) is State.OPENCONFIRM and p.conn_id == 2
    assert p.negotiated is not None and p.negotiated.peer_id == 2
    p.data_received(2, KA, 3.2)
    assert state_of(p) is State.ESTABLISHED and p.conn_id == 2


def test_openconfirm_collision_keepalive_on_second() -> None:
    p = openconfirm_collision()
    p.data_received(2, KA, 3.1)  # the peer kept 2 (its Cease on 1 is still on its way)
    outs = p.poll()
    assert notes(outs, 1) == [COLLISION] and Close(conn_id=1) in outs
    assert Send(conn_id=2, data=KA) in outs
    assert state_of(p) is State.ESTABLISHED and p.conn_id == 2


def test_openconfirm_collision_unresolved_falls_back_to_rfc() -> None:
    p = openconfirm_collision()
    p.handle_timer(3.0 + p.config.collision_wait)
    outs = p.poll()
    assert notes(outs, 1) == [COLLISION]
    assert state_of(p) is State.OPENCONFIRM and p.conn_id == 2
    changes = [o for o in outs if isinstance(o, StateChanged)]
    assert [(c.old, c.new) for c in changes] == [
        (State.OPENCONFIRM, State.OPENSENT),
        (State.OPENSENT, State.OPENCONFIRM),
    ]
    assert p.deadline(Timer.ALT_HOLD) is None and p.deadline(Timer.HOLD) is not None


def test_openconfirm_collision_then_stop_closes_both() -> None:
    p = openconfirm_collision()
    p.stop(3.5)
    outs = p.poll()
    assert Close(conn_id=1) in outs and Close(conn_id=2) in outs
    assert state_of(p) is State.IDLE and p.deadline(Timer.ALT_HOLD) is None


@pytest.mark.parametrize(("local_as", "winner"), [(65000, 2), (65002, 1)])
def test_equal_ids_compare_as(local_as: int, winner: int) -> None:
    p = opensent(rid=7, asn=local_as)
    p.connection_made(2, 0.0, inbound=True)
    p.poll()
    p.data_received(2, peer_open(7, 65001), 1.0)
    outs = p.poll()
    assert notes(outs, 3 - winner) == [COLLISION] and p.conn_id == winner


def test_third_connection_refused() -> None:
    p = opensent()
    p.connection_made(2, 0.0, inbound=True)
    p.connection_made(3, 0.0, inbound=True)
    outs = p.poll()
    assert notes(outs, 3) == [Notification(code=6, subcode=5)] and Close(conn_id=3) in outs


def test_second_connection_hold_timer_and_errors() -> None:
    p = opensent()
    p.connection_made(2, 0.0, inbound=True)
    p.poll()
    p.handle_timer(240.0)  # the main connection's hold timer: the second one is promoted
    p.handle_timer(240.0)  # ... with the same deadline, handled on the next call
    outs = p.poll()
    assert notes(outs, 2) == [Notification(code=4, subcode=0)]
    assert notes(outs, 1) == [Notification(code=4, subcode=0)]
    p = opensent()
    p.connection_made(2, 0.0, inbound=True)
    p.data_received(2, KA, 1.0)  # KEEPALIVE before OPEN on the second connection: 5/1
    outs = p.poll()
    assert notes(outs, 2) == [Notification(code=5, subcode=1)] and state_of(p) is State.OPENSENT
    p.connection_made(3, 0.0, inbound=True)
    p.data_received(3, peer_open(2, 65009), 1.0)  # bad peer AS on the second connection
    outs = p.poll()
    assert [(n.code, n.subcode) for n in notes(outs, 3)] == [(2, 2)] and p.conn_id == 1


def test_main_lost_promotes_second() -> None:
    p = opensent()
    p.connection_made(2, 0.0, inbound=True)
    p.connection_lost(1, 1.0)
    assert state_of(p) is State.OPENSENT and p.conn_id == 2
    assert p.deadline(Timer.HOLD) == 240.0 and p.deadline(Timer.ALT_HOLD) is None
    p.data_received(2, peer_open(2) + KA, 2.0)
    assert state_of(p) is State.ESTABLISHED


def test_connection_while_established_is_rejected() -> None:
    p = opensent()
    p.data_received(1, peer_open(2) + KA, 1.0)
    p.poll()
    p.connection_made(2, 2.0, inbound=True)
    outs = p.poll()
    assert outs == [
        Send(conn_id=2, data=encode_message(COLLISION)),
        Close(conn_id=2),
        Send(conn_id=1, data=KA),
    ]
    assert state_of(p) is State.ESTABLISHED and p.conn_id == 1


def test_connection_while_established_with_gr_probes_with_keepalive() -> None:
    gr = GracefulRestartConfig(restart_time=120)
    p = opensent(graceful_restart=gr)
    peer_gr = GracefulRestart(restart=False, notification=False, time=90, families=())
    p.data_received(1, peer_open(2, caps=(peer_gr,)) + KA, 1.0)
    p.poll()
    p.connection_made(2, 2.0, inbound=True)
    outs = p.poll()
    assert outs == [
        Send(conn_id=2, data=encode_message(COLLISION)),
        Close(conn_id=2),
        Send(conn_id=1, data=KA),  # a restarted peer's host answers this with a reset
    ]
    assert p.deadline(Timer.KEEPALIVE) == 32.0
    p.connection_made(3, 2.5, inbound=True)  # at most one probe a second
    assert p.poll() == [Send(conn_id=3, data=encode_message(COLLISION)), Close(conn_id=3)]
    p.connection_lost(1, 2.6)  # the reset
    outs = p.poll()
    down = outs[0]
    assert isinstance(down, SessionDown) and down.graceful
    assert state_of(p) is State.IDLE and p.deadline(Timer.IDLE_HOLD) == 2.6


@pytest.mark.parametrize(("id_a", "id_b"), [(1, 2), (2, 1)])
def test_simultaneous_open_pair(id_a: int, id_b: int) -> None:
    """Both sides connect at once; both keep the same connection (the higher id's)."""
    a = Session(SessionConfig(local_as=65000, peer_as=65001, router_id=id_a))
    b = Session(SessionConfig(local_as=65001, peer_as=65000, router_id=id_b))
    pair = PeerPair(a, b, auto_connect=False)
    a.start(0.0)
    b.start(0.0)
    pair.pump()
    assert sorted(pair.pending) == [0, 1]
    ca = pair.connect(0)
    cb = pair.connect(1)  # both TCP connections up before any OPEN arrives
    pair.pump()
    assert state_of(a) is state_of(b) is State.ESTABLISHED
    survivor, loser = (ca, cb) if id_a > id_b else (cb, ca)
    assert a.conn_id == b.conn_id == survivor
    assert not pair.links[loser][1]
    for side in (0, 1):
        assert notes(pair.log[side], loser) in ([], [COLLISION])
    assert notes(pair.log[0], loser) + notes(pair.log[1], loser) != []
    pair.advance(1000.0)
    assert state_of(a) is state_of(b) is State.ESTABLISHED


def test_second_connection_open_after_main_established_is_closed() -> None:
    """The inbound connection arrived while the outbound one was in OpenSent; the outbound
    one reached Established before the inbound OPEN came. Even though the peer's higher
    BGP Identifier would make its connection win a collision in OpenConfirm, RFC 4271
    §6.8 closes the new connection: the Established session must not be dumped (found in
    a 20-node conformance run: the FSM error reset a Calico node, which ended its GR)."""
    p = opensent(rid=1)
    p.data_received(1, peer_open(2), 0.5)  # main: OPEN -> OpenConfirm
    assert state_of(p) is State.OPENCONFIRM
    p.connection_made(2, 0.6, inbound=True)  # tracked as the second connection
    p.poll()
    p.data_received(1, KA, 1.0)  # main: KEEPALIVE -> Established
    assert state_of(p) is State.ESTABLISHED
    p.poll()
    p.data_received(2, peer_open(2), 1.5)  # the second connection's OPEN, peer id 2 > 1
    outs = p.poll()
    assert notes(outs, 2) == [COLLISION]
    assert Close(conn_id=2) in outs
    assert state_of(p) is State.ESTABLISHED and p.conn_id == 1
    assert not [o for o in outs if isinstance(o, SessionDown)]
