"""RFC 9687 Send Hold Timer: a peer that keeps its session alive (KEEPALIVEs) but reads
nothing is dropped once the connection has taken no data for SendHoldTime."""

from __future__ import annotations

import pytest

from bgprr.session import Close, Send, Session, SessionConfig, SessionDown, State, Timer
from bgprr.wire.errors import ErrorCode
from bgprr.wire.messages import Keepalive, Notification, decode_message, encode_message
from tests.session.test_session_timers_errors import peer_open

KA = encode_message(Keepalive())


def established(**kw: object) -> Session:
    p = Session(SessionConfig(local_as=65000, peer_as=65001, router_id=1, **kw))  # type: ignore[arg-type]
    p.start(0.0)
    p.connection_made(1, 0.0, inbound=False)
    p.data_received(1, peer_open(hold=90), 0.0)
    p.data_received(1, KA, 0.0)
    assert p.state is State.ESTABLISHED
    p.poll()
    return p


def test_default_is_8_minutes_or_twice_the_hold_time() -> None:
    p = established()
    p.write_blocked(1, 10.0)
    assert p.deadline(Timer.SEND_HOLD) == 10.0 + 480.0
    p.write_resumed(1, 20.0)
    assert p.deadline(Timer.SEND_HOLD) is None
    q = established(hold_time=300)
    # hold time negotiated: min(300, 90) = 90 -> max(480, 180) = 480
    q.write_blocked(1, 0.0)
    assert q.deadline(Timer.SEND_HOLD) == 480.0


def test_blocked_peer_that_keeps_sending_keepalives_is_dropped() -> None:
    p = established(send_hold_time=30.0)
    p.write_blocked(1, 1.0)
    p.write_blocked(1, 5.0)  # still blocked: the deadline does not move
    assert p.deadline(Timer.SEND_HOLD) == 31.0
    for t in range(2, 31, 2):  # the peer's KEEPALIVEs keep the hold timer going
        p.data_received(1, KA, float(t))
        p.handle_timer(float(t))
    assert p.state is State.ESTABLISHED
    p.poll()
    p.handle_timer(31.0)
    outs = p.poll()
    sent = [decode_message(o.data) for o in outs if isinstance(o, Send)]
    assert Notification(code=ErrorCode.SEND_HOLD_TIMER_EXPIRED, subcode=0) in sent
    assert Close(conn_id=1, abort=True) in outs
    down = [o for o in outs if isinstance(o, SessionDown)]
    assert len(down) == 1 and "send hold" in down[0].reason
    assert p.state is State.IDLE
    assert p.deadline(Timer.SEND_HOLD) is None


def test_progress_stops_the_timer() -> None:
    p = established(send_hold_time=30.0)
    p.write_blocked(1, 1.0)
    p.write_resumed(1, 20.0)
    p.data_received(1, KA, 29.0)
    p.handle_timer(40.0)
    assert p.state is State.ESTABLISHED
    p.write_blocked(1, 41.0)  # blocked again: a fresh 30 s
    assert p.deadline(Timer.SEND_HOLD) == 71.0


@pytest.mark.parametrize("kw", [{"send_hold_time": 0.0}, {"hold_time": 0}])
def test_disabled(kw: dict[str, float]) -> None:
    p = Session(SessionConfig(local_as=65000, peer_as=65001, router_id=1, **kw))  # type: ignore[arg-type]
    p.start(0.0)
    p.connection_made(1, 0.0, inbound=False)
    p.data_received(1, peer_open(hold=0 if "hold_time" in kw else 90), 0.0)
    p.data_received(1, KA, 0.0)
    p.write_blocked(1, 1.0)
    assert p.deadline(Timer.SEND_HOLD) is None


def test_ignored_outside_established_or_for_another_connection() -> None:
    p = established(send_hold_time=30.0)
    p.write_blocked(2, 1.0)
    assert p.deadline(Timer.SEND_HOLD) is None
    p.stop(2.0)
    p.write_blocked(1, 3.0)
    assert p.deadline(Timer.SEND_HOLD) is None


def test_other_failures_while_blocked_abort_the_connection() -> None:
    p = established(send_hold_time=300.0)
    p.write_blocked(1, 1.0)
    p.stop(2.0)  # ManualStop: the Cease cannot be flushed to a peer that reads nothing
    outs = p.poll()
    assert Close(conn_id=1, abort=True) in outs
