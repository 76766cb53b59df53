"""An inbound connection that sends nothing gets a short OpenSent hold time
(``silent_open_time``); the first bytes give it the usual 4 minutes."""

from __future__ import annotations

from bgprr.session import Close, Send, Session, SessionConfig, SessionDown, State, Timer
from bgprr.wire.errors import ErrorCode
from bgprr.wire.messages import Keepalive, Notification, decode_message
from tests.session.test_session_timers_errors import peer_open


def passive(**kw: object) -> Session:
    p = Session(
        SessionConfig(local_as=65000, peer_as=65001, router_id=1, passive=True, **kw)  # type: ignore[arg-type]
    )
    p.start(0.0)
    p.poll()
    return p


def test_silent_inbound_connection_is_dropped_after_the_silent_time() -> None:
    p = passive(silent_open_time=15.0)
    p.connection_made(1, 2.0, inbound=True)
    assert p.state is State.OPENSENT
    assert p.deadline(Timer.HOLD) == 17.0
    p.poll()
    p.handle_timer(16.9)
    assert p.state is State.OPENSENT
    p.handle_timer(17.0)
    outs = p.poll()
    sent = [decode_message(o.data) for o in outs if isinstance(o, Send)]
    assert sent == [Notification(code=ErrorCode.HOLD_TIMER_EXPIRED, subcode=0)]
    assert any(isinstance(o, Close) and o.conn_id == 1 for o in outs)
    assert p.state is State.IDLE


def test_first_bytes_restore_the_open_hold_time() -> None:
    p = passive(silent_open_time=15.0)
    p.connection_made(1, 0.0, inbound=True)
    opening = peer_open(hold=90)
    p.data_received(1, opening[:10], 5.0)  # part of an OPEN: a speaker, maybe slow
    assert p.deadline(Timer.HOLD) == 5.0 + 240.0
    p.handle_timer(100.0)
    assert p.state is State.OPENSENT
    p.data_received(1, opening[10:], 101.0)
    assert p.state is State.OPENCONFIRM
    assert not [o for o in p.poll() if isinstance(o, SessionDown)]


def test_outbound_connections_and_default_keep_the_open_hold_time() -> None:
    p = Session(SessionConfig(local_as=65000, peer_as=65001, router_id=1, silent_open_time=15.0))
    p.start(0.0)
    p.connection_made(1, 0.0, inbound=False)  # the peer accepted ours: not silent-timed
    assert p.deadline(Timer.HOLD) == 240.0
    q = passive()
    q.connection_made(1, 0.0, inbound=True)
    assert q.deadline(Timer.HOLD) == 240.0


def test_a_later_connection_is_timed_afresh() -> None:
    p = passive(silent_open_time=15.0)
    p.connection_made(1, 0.0, inbound=True)
    p.handle_timer(15.0)  # dropped, then Idle; passive start after the IdleHold
    assert p.state is State.IDLE
    p.handle_timer(p.next_timer() or 15.0)
    assert p.state is State.ACTIVE
    p.connection_made(2, 20.0, inbound=True)
    assert p.deadline(Timer.HOLD) == 35.0


def test_an_open_the_host_wrote_is_counted_not_sent_again() -> None:
    """``connection_made(open_sent=True)`` (bgprr.io.pending wrote ``open_bytes`` before
    the session existed): no second OPEN, counted once; the peer's OPEN and KEEPALIVE
    then take it to Established as usual."""
    p = passive(silent_open_time=15.0)
    p.connection_made(1, 0.0, inbound=True, open_sent=True)
    assert p.state is State.OPENSENT
    assert not [o for o in p.poll() if isinstance(o, Send)]
    assert p.sent == {1: 1}
    p.data_received(1, peer_open(hold=90) + bytes(16 * [255]) + b"\x00\x13\x04", 1.0)
    sent = [decode_message(o.data) for o in p.poll() if isinstance(o, Send)]
    assert sent == [Keepalive()]  # our KEEPALIVE only, no OPEN
    assert p.state is State.ESTABLISHED
    assert p.open_bytes[18] == 1 and decode_message(p.open_bytes) == p.local_open
