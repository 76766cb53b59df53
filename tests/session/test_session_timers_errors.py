"""Timer expiries, IdleHold back-off, every error NOTIFICATION, graceful SessionDown."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bgprr.session import GracefulRestartConfig, Session, SessionConfig, State, Timer
from bgprr.session.events import (
    AbortConnect,
    Close,
    Connect,
    Output,
    Send,
    SendMany,
    SessionDown,
    UpdateReceived,
)
from bgprr.wire.capabilities import Capability, FourOctetAS, GracefulRestart
from bgprr.wire.messages import (
    Keepalive,
    Notification,
    Open,
    decode_message,
    encode_message,
    make_shutdown_notification,
)
from tests.support.pair import PeerPair

KA = encode_message(Keepalive())
CFG = SessionConfig(local_as=65000, peer_as=65001, router_id=1)
H = b"\xff" * 16


def state_of(p: Session) -> State:
    """The Session's state, read through a function so mypy does not narrow it across calls."""
    return p.state


def msg(mtype: int, body: bytes) -> bytes:
    return H + (19 + len(body)).to_bytes(2, "big") + bytes([mtype]) + body


def peer_open(
    *,
    version: int = 4,
    my_as: int = 65001,
    hold: int = 90,
    rid: int = 2,
    caps: tuple[Capability, ...] = (),
) -> bytes:
    raw = encode_message(
        Open(my_as=my_as, hold_time=hold, bgp_id=rid, capabilities=(FourOctetAS(asn=my_as), *caps))
    )
    return raw[:19] + bytes([version]) + raw[20:]


def notes(outs: list[Output]) -> list[Notification]:
    found = []
    for o in outs:
        if isinstance(o, Send):
            m = decode_message(o.data)
            if isinstance(m, Notification):
                found.append(m)
    return found


def peer_in(state: State, config: SessionConfig = CFG, open_bytes: bytes | None = None) -> Session:
    p = Session(config)
    p.start(0.0)
    p.connection_made(1, 0.0, inbound=False)
    if state is not State.OPENSENT:
        p.data_received(1, open_bytes or peer_open(), 0.0)
    if state is State.ESTABLISHED:
        p.data_received(1, KA, 0.0)
    assert state_of(p) is state
    p.poll()
    return p


# ----------------------------------------------------------------------------- timers


def test_keepalives_keep_a_pair_up() -> None:
    a = Session(CFG)
    b = Session(SessionConfig(local_as=65001, peer_as=65000, router_id=2, passive=True))
    pair = PeerPair(a, b)
    b.start(0.0)
    a.start(0.0)
    pair.advance(3000.0)
    assert state_of(a) is state_of(b) is State.ESTABLISHED
    kas = [o for o in pair.log[0] if isinstance(o, Send) and o.data == KA]
    assert len(kas) == 1 + 3000 // 30


def test_keepalive_timer_restarted_by_send_updates() -> None:
    p = peer_in(State.ESTABLISHED)
    assert p.deadline(Timer.KEEPALIVE) == 30.0
    eor = msg(2, bytes(4))
    assert p.send_updates([eor], 20.0)
    assert p.poll() == [SendMany(conn_id=1, messages=[eor])]
    assert p.deadline(Timer.KEEPALIVE) == 50.0
    p.handle_timer(49.0)
    assert p.poll() == []
    p.data_received(1, KA, 49.0)  # the peer's keepalive restarts our hold timer
    p.handle_timer(50.0)
    assert p.poll() == [Send(conn_id=1, data=KA)]
    assert p.deadline(Timer.KEEPALIVE) == 80.0 and p.deadline(Timer.HOLD) == 139.0


@pytest.mark.parametrize("state", [State.OPENSENT, State.OPENCONFIRM, State.ESTABLISHED])
def test_hold_timer_expiry(state: State) -> None:
    p = peer_in(state)
    expected = 240.0 if state is State.OPENSENT else 90.0
    assert p.deadline(Timer.HOLD) == expected
    p.handle_timer(expected - 0.5)
    assert state_of(p) is state
    p.handle_timer(expected)
    outs = p.poll()
    assert notes(outs) == [Notification(code=4, subcode=0)] and Close(conn_id=1) in outs
    assert state_of(p) is State.IDLE
    down = [o for o in outs if isinstance(o, SessionDown)]
    assert len(down) == (state is State.ESTABLISHED)
    if down:
        assert not down[0].graceful and down[0].notification_sent == Notification(code=4, subcode=0)


def test_connect_retry_timer() -> None:
    p = Session(CFG)
    p.start(0.0)
    p.poll()
    p.handle_timer(120.0)
    assert p.poll() == [AbortConnect(), Connect()]
    assert state_of(p) is State.CONNECT and p.deadline(Timer.CONNECT_RETRY) == 240.0
    # Active (after losing the connection in OpenSent) retries into Connect.
    p.connection_made(1, 130.0, inbound=False)
    p.connection_lost(1, 131.0)
    assert state_of(p) is State.ACTIVE and p.deadline(Timer.CONNECT_RETRY) == 251.0
    p.poll()
    p.handle_timer(251.0)
    assert state_of(p) is State.CONNECT and Connect() in p.poll()


def _flap(p: Session, now: float, lasting: float = 1.0) -> float:
    """Bring the Session up at ``now`` (it must be in Connect), then lose the connection."""
    assert state_of(p) is State.CONNECT
    p.connection_made(1, now, inbound=False)
    p.data_received(1, peer_open() + KA, now)
    assert state_of(p) is State.ESTABLISHED
    p.connection_lost(1, now + lasting)
    assert state_of(p) is State.IDLE
    hold = p.deadline(Timer.IDLE_HOLD)
    assert hold is not None
    p.handle_timer(hold)
    return hold - (now + lasting)


def test_idle_hold_backoff_grows_and_resets() -> None:
    p = Session(replace(CFG, idle_hold_time=30.0, idle_hold_max=300.0, idle_hold_reset=600.0))
    p.start(0.0)
    now, waits = 0.0, []
    for _ in range(6):
        waits.append(_flap(p, now))
        now += 1.0 + waits[-1]
    # The first flap restarts at once (a single drop, e.g. a network blip, must not lock
    # the peer out); consecutive ones back off: 30, 60, ... capped at 300.
    assert waits == [0.0, 30.0, 60.0, 120.0, 240.0, 300.0]
    assert _flap(p, now, lasting=600.0) == 0.0  # stable long enough: back to the start
    assert _flap(p, now + 700.0) == 30.0
    p.poll()
    # A failed TCP connect goes to Active (accepting the peer's connection) and retries
    # when the ConnectRetryTimer fires; it is not a flap.
    retry = p.deadline(Timer.CONNECT_RETRY)
    p.connection_failed(9, 2000.0)
    assert state_of(p) is State.ACTIVE and p.deadline(Timer.CONNECT_RETRY) == retry
    assert retry is not None
    p.handle_timer(retry)
    assert state_of(p) is State.CONNECT and Connect() in p.poll()


def test_stop_cancels_automatic_restart() -> None:
    p = Session(CFG)
    p.start(0.0)
    p.connection_failed(5, 1.0)
    assert p.deadline(Timer.CONNECT_RETRY) is not None
    p.stop(2.0)
    assert p.next_timer() is None and state_of(p) is State.IDLE
    p.start(3.0)
    assert state_of(p) is State.CONNECT


def test_reset_restarts_after_idle_hold() -> None:
    p = peer_in(State.ESTABLISHED)
    p.reset(10.0)
    outs = p.poll()
    assert notes(outs) == [make_shutdown_notification(4, "")]
    # A first reset restarts at once; the restart happens on the next timer call.
    assert state_of(p) is State.IDLE and p.deadline(Timer.IDLE_HOLD) == 10.0
    p.handle_timer(10.0)
    assert state_of(p) is State.CONNECT


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("data", "code", "subcode"),
    [
        (b"\x00" * 16 + b"\x00\x13\x04", 1, 1),  # marker
        (H + b"\x00\x12\x04", 1, 2),  # length below 19
        (H + b"\x00\x14\x04\x00", 1, 2),  # KEEPALIVE of 20 octets
        (msg(9, b""), 1, 3),  # unknown type
    ],
)
@pytest.mark.parametrize("state", [State.OPENSENT, State.OPENCONFIRM, State.ESTABLISHED])
def test_header_errors(state: State, data: bytes, code: int, subcode: int) -> None:
    p = peer_in(state)
    p.data_received(1, data, 1.0)
    outs = p.poll()
    assert [(n.code, n.subcode) for n in notes(outs)] == [(code, subcode)]
    assert state_of(p) is State.IDLE and Close(conn_id=1) in outs


@pytest.mark.parametrize(
    ("raw", "subcode", "data"),
    [
        (peer_open(version=3), 1, b"\x00\x04"),
        (peer_open(my_as=65002), 2, (65002).to_bytes(4, "big")),
        (peer_open(rid=0), 3, b""),
        (peer_open(hold=2), 6, b""),
        (msg(1, bytes([4, 0xFD, 0xE9, 0, 90, 0, 0, 0, 2, 3, 9, 1, 0])), 4, b""),
        (msg(1, bytes([4, 0xFD, 0xE9, 0, 90, 0, 0, 0, 2, 4, 2, 2, 1, 5])), 0, b""),  # bad MP cap
    ],
)
def test_open_errors(raw: bytes, subcode: int, data: bytes) -> None:
    p = peer_in(State.OPENSENT)
    p.data_received(1, raw, 1.0)
    outs = p.poll()
    [n] = notes(outs)
    assert (n.code, n.subcode) == (2, subcode)
    if data:
        assert n.data == data
    assert state_of(p) is State.IDLE


def test_ibgp_same_router_id() -> None:
    p = peer_in(State.OPENSENT, replace(CFG, peer_as=65000))
    p.data_received(1, peer_open(my_as=65000, rid=1), 1.0)
    assert [(n.code, n.subcode) for n in notes(p.poll())] == [(2, 3)]


def test_update_error_resets_session() -> None:
    p = peer_in(State.ESTABLISHED)
    p.data_received(1, msg(2, b"\x00\x10\x00\x00"), 1.0)  # withdrawn length overruns
    outs = p.poll()
    assert [(n.code, n.subcode) for n in notes(outs)] == [(3, 1)]
    down = next(o for o in outs if isinstance(o, SessionDown))
    assert down.notification_sent is not None and down.notification_sent.code == 3
    assert state_of(p) is State.IDLE


def test_mild_update_error_is_delivered() -> None:
    attrs = b"\x40\x01\x01\x05" + b"\x40\x02\x00" + b"\x40\x03\x04\x0a\x00\x00\x01"  # ORIGIN 5
    body = b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + b"\x18\x0a\x00\x01"
    p = peer_in(State.ESTABLISHED)
    p.data_received(1, msg(2, body), 1.0)
    [out] = p.poll()
    assert isinstance(out, UpdateReceived)
    assert out.update.treat_as_withdraw and out.update.errors[0].subcode == 6
    assert state_of(p) is State.ESTABLISHED


@pytest.mark.parametrize("local", [b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"])
def test_next_hop_our_own_address_is_ignored(local: bytes) -> None:
    # RFC 4271 §6.3: a NEXT_HOP that is the receiving speaker's own address on the
    # connection: the route is ignored (treat-as-withdraw, 3/8), no NOTIFICATION.
    attrs = b"\x40\x01\x01\x00" + b"\x40\x02\x00" + b"\x40\x03\x04\x0a\x00\x00\x01"
    attrs += b"\x40\x05\x04\x00\x00\x00\x64"
    body = b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + b"\x18\x0a\x00\x01"
    p = Session(SessionConfig(local_as=65001, peer_as=65001, router_id=1))
    p.start(0.0)
    p.connection_made(1, 0.0, inbound=False, local_address=local)
    p.data_received(1, peer_open(), 0.0)
    p.data_received(1, KA, 0.0)
    p.poll()
    for t in (1.0, 2.0):  # the second decode goes through the session's scan cache
        p.data_received(1, msg(2, body), t)
        [out] = p.poll()
        assert isinstance(out, UpdateReceived)
        own = local == b"\x0a\x00\x00\x01"
        assert out.update.treat_as_withdraw is own
        assert [(e.code, e.subcode) for e in out.update.errors] == ([(3, 8)] if own else [])
        assert state_of(p) is State.ESTABLISHED


def test_route_refresh_length_error() -> None:
    p = peer_in(State.ESTABLISHED)
    p.data_received(1, msg(5, b"\x00\x01\x00\x01\x00"), 1.0)
    assert [(n.code, n.subcode) for n in notes(p.poll())] == [(7, 1)]


@pytest.mark.parametrize(
    ("state", "data", "subcode"),
    [
        (State.OPENSENT, KA, 1),
        (State.OPENSENT, msg(2, b"\x00\x00\x00\x00"), 1),
        (State.OPENSENT, msg(5, b"\x00\x01\x00\x01"), 1),
        (State.OPENCONFIRM, msg(2, b"\x00\x00\x00\x00"), 2),
        (State.OPENCONFIRM, peer_open(), 2),
        (State.ESTABLISHED, peer_open(), 3),
    ],
)
def test_fsm_errors(state: State, data: bytes, subcode: int) -> None:
    p = peer_in(state)
    p.data_received(1, data, 1.0)
    assert notes(p.poll()) == [Notification(code=5, subcode=subcode)]
    assert state_of(p) is State.IDLE


def test_stop_sends_administrative_shutdown() -> None:
    p = peer_in(State.ESTABLISHED)
    p.stop(5.0, make_shutdown_notification(2, "maintenance"))
    outs = p.poll()
    assert notes(outs) == [make_shutdown_notification(2, "maintenance")]
    down = next(o for o in outs if isinstance(o, SessionDown))
    assert not down.graceful and "maintenance" not in down.reason
    assert state_of(p) is State.IDLE and p.next_timer() is None
    q = peer_in(State.OPENSENT)
    q.stop(1.0)
    assert notes(q.poll()) == [make_shutdown_notification(2, "")]
    r = Session(CFG)
    r.start(0.0)
    r.poll()
    r.stop(1.0)
    assert AbortConnect() in r.poll() and state_of(r) is State.IDLE


# ----------------------------------------------------------------------------- graceful

GR = GracefulRestartConfig(restart_time=120, notification=True)


def gr_peer(*, ours_n: bool = True, theirs_n: bool = True) -> Session:
    theirs = GracefulRestart(restart=False, notification=theirs_n, time=120, families=())
    cfg = replace(CFG, graceful_restart=replace(GR, notification=ours_n))
    return peer_in(State.ESTABLISHED, cfg, peer_open(caps=(theirs,)))


def down_of(p: Session) -> SessionDown:
    return next(o for o in p.poll() if isinstance(o, SessionDown))


def test_graceful_on_tcp_loss_and_hold_expiry_with_n_bit() -> None:
    p = gr_peer(theirs_n=False)
    p.connection_lost(1, 1.0)
    assert down_of(p).graceful
    p = gr_peer(theirs_n=False)  # hold timer expiry sends 4/0: graceful only with N
    p.handle_timer(90.0)
    assert not down_of(p).graceful
    p = gr_peer()
    p.handle_timer(90.0)
    assert down_of(p).graceful
    p = peer_in(State.ESTABLISHED)  # no GR negotiated
    p.connection_lost(1, 1.0)
    assert not down_of(p).graceful


@pytest.mark.parametrize(
    ("ours_n", "theirs_n", "note", "graceful"),
    [
        (False, True, (6, 2), False),  # no N bit on our side: a NOTIFICATION ends GR
        (True, False, (3, 1), False),
        (True, True, (6, 2), True),  # RFC 8538: graceful unless Hard Reset
        (True, True, (6, 9), False),
    ],
)
def test_graceful_after_notification_received(
    ours_n: bool, theirs_n: bool, note: tuple[int, int], graceful: bool
) -> None:
    p = gr_peer(ours_n=ours_n, theirs_n=theirs_n)
    n = Notification(code=note[0], subcode=note[1])
    p.data_received(1, encode_message(n), 1.0)
    down = down_of(p)
    assert down.graceful is graceful and down.notification_received == n


def test_stop_with_n_bit_sends_hard_reset() -> None:
    p = gr_peer()
    p.stop(1.0, make_shutdown_notification(2, "bye"))
    outs = p.poll()
    inner = make_shutdown_notification(2, "bye")
    assert notes(outs) == [Notification(code=6, subcode=9, data=b"\x02" + inner.data)]
    assert not next(o for o in outs if isinstance(o, SessionDown)).graceful
    p = gr_peer()
    p.reset(1.0, hard=False)
    outs = p.poll()
    assert notes(outs) == [make_shutdown_notification(4, "")]
    assert next(o for o in outs if isinstance(o, SessionDown)).graceful


def test_graceful_down_restarts_at_once() -> None:
    p = gr_peer(theirs_n=False)
    p.connection_lost(1, 10.0)
    assert down_of(p).graceful and state_of(p) is State.IDLE
    assert p.deadline(Timer.IDLE_HOLD) == 10.0  # listening again right away for the restart
    p.handle_timer(10.0)
    assert state_of(p) is State.CONNECT
    q = peer_in(State.ESTABLISHED)  # not graceful: the usual IdleHold from the 2nd flap
    q.connection_lost(1, 10.0)
    assert q.deadline(Timer.IDLE_HOLD) == 10.0
    q.handle_timer(10.0)
    q.connection_made(2, 11.0, inbound=False)
    q.data_received(2, peer_open() + KA, 11.0)
    assert state_of(q) is State.ESTABLISHED
    q.connection_lost(2, 12.0)
    assert q.deadline(Timer.IDLE_HOLD) == 42.0


def test_route_refresh_unknown_subtype_ignored() -> None:
    p = peer_in(State.ESTABLISHED)
    p.data_received(1, msg(5, b"\x00\x01\x07\x01"), 1.0)
    assert p.poll() == [] and state_of(p) is State.ESTABLISHED


def test_failed_connect_goes_active_and_accepts_the_peer() -> None:
    """A refused outbound connect must not lock the peer out (Idle refuses connections):
    Active, the peer's own connection is accepted, our retry waits for ConnectRetry."""
    p = Session(replace(CFG, connect_retry=120.0))
    p.start(0.0)
    p.poll()
    p.connection_failed(1, 1.0)
    assert state_of(p) is State.ACTIVE and p.deadline(Timer.CONNECT_RETRY) == 120.0
    p.connection_made(7, 2.0, inbound=True)
    p.data_received(7, peer_open() + KA, 2.0)
    assert state_of(p) is State.ESTABLISHED
