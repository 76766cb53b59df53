"""The RFC 4271 §8 FSM, driven row by row from its table with a fake clock."""

from __future__ import annotations

import pytest

from bgprr.session import TRANSITIONS, Event, Session, SessionConfig, State, Timer
from bgprr.session.events import (
    AbortConnect,
    Close,
    Connect,
    Established,
    Output,
    RouteRefreshReceived,
    Send,
    SessionDown,
    StateChanged,
    UpdateReceived,
)
from bgprr.session.fsm import _Arg
from bgprr.wire.capabilities import FourOctetAS, MultiProtocol, RouteRefreshCap
from bgprr.wire.errors import BGPError
from bgprr.wire.messages import (
    Keepalive,
    Notification,
    Open,
    RouteRefresh,
    decode_message,
    encode_message,
)
from bgprr.wire.update import decode_update

LOCAL = SessionConfig(local_as=65000, peer_as=65001, router_id=1)
PEER_CAPS = (MultiProtocol(afi=1, safi=1), RouteRefreshCap(), FourOctetAS(asn=65001))
PEER_OPEN = encode_message(Open(my_as=65001, hold_time=90, bgp_id=2, capabilities=PEER_CAPS))
KA = encode_message(Keepalive())
EOR = b"\xff" * 16 + b"\x00\x17\x02\x00\x00\x00\x00"  # IPv4 End-of-RIB (empty UPDATE)
BAD_UPDATE = b"\xff" * 16 + b"\x00\x17\x02\x00\x10\x00\x00"  # withdrawn length overruns: 3/1
RR = encode_message(RouteRefresh(afi=1, safi=1))
BAD_RR = b"\xff" * 16 + b"\x00\x18\x05\x00\x01\x00\x01\x00"  # 24 octets: 7/1
BAD_MARKER = b"\x00" * 16 + b"\x00\x13\x04"


def state_of(p: Session) -> State:
    """The Session's state, read through a function so mypy does not narrow it across calls."""
    return p.state


def notification_bytes(code: int, subcode: int, data: bytes = b"") -> bytes:
    return encode_message(Notification(code=code, subcode=subcode, data=data))


def sent_notifications(outs: list[Output], conn_id: int | None = None) -> list[Notification]:
    found = []
    for o in outs:
        if isinstance(o, Send) and (conn_id is None or o.conn_id == conn_id):
            m = decode_message(o.data)
            if isinstance(m, Notification):
                found.append(m)
    return found


class Driver:
    """One Session, a scripted remote end and a fake clock."""

    def __init__(self, config: SessionConfig = LOCAL) -> None:
        self.peer = Session(config)
        self.now = 0.0
        self.outs: list[Output] = []
        self.next_id = 100

    def take(self) -> list[Output]:
        outs = self.peer.poll()
        self.outs += outs
        return outs

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def data(self, data: bytes, conn_id: int | None = None) -> None:
        cid = self.peer.conn_id if conn_id is None else conn_id
        assert cid is not None
        self.peer.data_received(cid, data, self.now)

    def until(self, timer: Timer) -> None:
        """Run the clock to ``timer``'s deadline (earlier timers fire on the way)."""
        deadline = self.peer.deadline(timer)
        assert deadline is not None, timer
        while (
            self.peer.deadline(timer) == deadline
            and (t := self.peer.next_timer()) is not None
            and t <= deadline
        ):
            self.now = t
            self.peer.handle_timer(t)

    def to(self, state: State) -> None:
        p = self.peer
        p.start(self.now)
        if state is State.IDLE:
            p.reset(self.now)  # AutomaticStop in Connect: Idle, restart after IdleHold
        elif state is State.ACTIVE:
            cid = self.new_id()
            p.connection_made(cid, self.now, inbound=False)
            p.connection_lost(cid, self.now)
        elif state is not State.CONNECT:
            p.connection_made(1, self.now, inbound=False)
            if state is not State.OPENSENT:
                self.data(PEER_OPEN)
            if state is State.ESTABLISHED:
                self.data(KA)
        assert state_of(p) is state
        self.take()

    def inject(self, event: Event) -> None:
        """An event the public API cannot produce in this state (e.g. a stopped timer)."""
        p = self.peer
        conn = p._conn
        arg = _Arg(conn=conn)
        if event in (Event.NOTIF_MSG, Event.NOTIF_MSG_VER_ERR):
            arg = _Arg(conn=conn, message=Notification(code=6, subcode=0))
        elif event.name.endswith("_ERR"):
            arg = _Arg(conn=conn, error=BGPError(event.value % 7 + 1, 0))
        p._fire(self.now, event, arg)

    def trigger(self, event: Event) -> None:
        p, e = self.peer, Event
        connected = p.conn_id is not None
        timer = {
            e.CONNECT_RETRY_TIMER_EXPIRES: Timer.CONNECT_RETRY,
            e.HOLD_TIMER_EXPIRES: Timer.HOLD,
            e.KEEPALIVE_TIMER_EXPIRES: Timer.KEEPALIVE,
            e.IDLE_HOLD_TIMER_EXPIRES: Timer.IDLE_HOLD,
        }.get(event)
        wire = {
            e.BGP_OPEN: PEER_OPEN,
            e.BGP_HEADER_ERR: BAD_MARKER,
            e.NOTIF_MSG: notification_bytes(6, 2),
            e.NOTIF_MSG_VER_ERR: notification_bytes(2, 1, b"\x00\x04"),
            e.KEEPALIVE_MSG: KA,
            e.UPDATE_MSG: EOR,
            e.ROUTE_REFRESH_MSG: RR,
        }
        established_only = {e.UPDATE_MSG_ERR: BAD_UPDATE, e.ROUTE_REFRESH_MSG_ERR: BAD_RR}
        if event is e.MANUAL_START:
            p.start(self.now)
        elif event is e.MANUAL_STOP:
            p.stop(self.now)
        elif event is e.AUTOMATIC_STOP:
            p.reset(self.now)
        elif timer is not None and p.deadline(timer) is not None:
            self.until(timer)
        elif event in (e.TCP_CR_ACKED, e.TCP_CONNECTION_CONFIRMED):
            p.connection_made(self.new_id(), self.now, inbound=event is e.TCP_CONNECTION_CONFIRMED)
        elif event is e.TCP_CONNECTION_FAILS and connected:
            cid = p.conn_id
            assert cid is not None
            p.connection_lost(cid, self.now)
        elif event is e.TCP_CONNECTION_FAILS and state_of(p) is State.CONNECT:
            p.connection_failed(self.new_id(), self.now)
        elif connected and event in wire:
            self.data(wire[event])
        elif connected and event is e.BGP_OPEN_MSG_ERR and state_of(p) is State.OPENSENT:
            self.data(PEER_OPEN[:19] + b"\x03" + PEER_OPEN[20:])  # version 3
        elif connected and event in established_only and state_of(p) is State.ESTABLISHED:
            self.data(established_only[event])
        else:
            self.inject(event)


ROWS = sorted(TRANSITIONS.items(), key=lambda kv: (list(State).index(kv[0][0]), kv[0][1]))


@pytest.mark.parametrize(
    ("state", "event", "target"),
    [(s, e, t.target) for (s, e), t in ROWS],
    ids=[f"{s.value}-{e.name}" for (s, e), _ in ROWS],
)
def test_transition_row(state: State, event: Event, target: State) -> None:
    d = Driver()
    d.to(state)
    cid = d.peer.conn_id
    d.trigger(event)
    outs = d.take()
    assert state_of(d.peer) is target, outs
    changes = [o for o in outs if isinstance(o, StateChanged)]
    if target is not state:
        assert changes and changes[0].old is state and changes[-1].new is target
    if target is State.IDLE:
        assert d.peer.conn_id is None and d.peer.negotiated is None
        if cid is not None and event is not Event.TCP_CONNECTION_FAILS:
            # the connection is never left open (aborted when the peer reads nothing)
            abort = event is Event.SEND_HOLD_TIMER_EXPIRES
            assert Close(conn_id=cid, abort=abort) in outs
    if state is State.ESTABLISHED and target is not State.ESTABLISHED:
        assert isinstance(next(o for o in outs if isinstance(o, SessionDown)), SessionDown)


_MISSING = [
    (s, e)
    for s in (State.OPENSENT, State.OPENCONFIRM, State.ESTABLISHED)
    for e in Event
    if (s, e) not in TRANSITIONS
]


@pytest.mark.parametrize(
    ("state", "event"), _MISSING, ids=[f"{s.value}-{e.name}" for s, e in _MISSING]
)
def test_missing_row_is_fsm_error(state: State, event: Event) -> None:
    d = Driver()
    d.to(state)
    cid = d.peer.conn_id
    d.trigger(event)
    outs = d.take()
    subcode = {State.OPENSENT: 1, State.OPENCONFIRM: 2, State.ESTABLISHED: 3}[state]
    assert sent_notifications(outs) == [Notification(code=5, subcode=subcode)]
    assert cid is not None
    assert outs[outs.index(Close(conn_id=cid)) - 1] == Send(
        conn_id=cid, data=notification_bytes(5, subcode)
    )
    assert state_of(d.peer) is State.IDLE


def test_idle_connect_active_have_every_row() -> None:
    for state in (State.IDLE, State.CONNECT, State.ACTIVE):
        assert all((state, e) in TRANSITIONS for e in Event)


def test_happy_path_outputs() -> None:
    d = Driver()
    d.peer.start(0.0)
    assert d.take() == [Connect(), StateChanged(old=State.IDLE, new=State.CONNECT, reason="start")]
    assert d.peer.deadline(Timer.CONNECT_RETRY) == 120.0
    d.peer.connection_made(7, 1.0, inbound=False)
    outs = d.take()
    assert outs[0] == Send(conn_id=7, data=encode_message(d.peer.local_open))
    assert d.peer.deadline(Timer.HOLD) == 241.0  # large initial hold timer in OpenSent
    assert d.peer.deadline(Timer.CONNECT_RETRY) is None
    d.now = 2.0
    d.data(PEER_OPEN)
    assert d.take()[0] == Send(conn_id=7, data=KA)
    assert d.peer.deadline(Timer.HOLD) == 92.0 and d.peer.deadline(Timer.KEEPALIVE) == 32.0
    d.now = 3.0
    d.data(KA + EOR + RR)
    outs = d.take()
    assert [type(o) for o in outs] == [
        StateChanged,
        Established,
        UpdateReceived,
        RouteRefreshReceived,
    ]
    est = outs[1]
    assert isinstance(est, Established) and est.conn_id == 7
    assert est.negotiated.peer_as == 65001 and est.negotiated.route_refresh
    assert outs[3] == RouteRefreshReceived(afi=1, safi=1, subtype=0)
    assert d.peer.deadline(Timer.HOLD) == 93.0


def test_passive_start_waits_in_active() -> None:
    d = Driver(SessionConfig(local_as=65000, peer_as=65001, router_id=1, passive=True))
    d.peer.start(0.0)
    outs = d.take()
    assert outs == [StateChanged(old=State.IDLE, new=State.ACTIVE, reason="start (passive)")]
    assert d.peer.next_timer() is None  # no ConnectRetryTimer while passive
    d.peer.connection_made(3, 1.0, inbound=True)
    assert state_of(d.peer) is State.OPENSENT
    d.peer.connection_lost(3, 2.0)
    assert state_of(d.peer) is State.ACTIVE and d.peer.next_timer() is None


def test_idle_refuses_connections() -> None:
    d = Driver()
    d.peer.connection_made(5, 0.0, inbound=True)
    outs = d.take()
    assert outs == [Send(conn_id=5, data=notification_bytes(6, 5)), Close(conn_id=5)]
    assert state_of(d.peer) is State.IDLE


def test_inbound_in_connect_aborts_outbound_attempt() -> None:
    d = Driver()
    d.to(State.CONNECT)
    d.peer.connection_made(9, 0.0, inbound=True)
    outs = d.take()
    assert outs[0] == AbortConnect() and state_of(d.peer) is State.OPENSENT


def test_route_refresh_for_other_family_is_ignored() -> None:
    d = Driver()
    d.to(State.ESTABLISHED)
    d.data(encode_message(RouteRefresh(afi=2, safi=1)))
    assert d.take() == [] and state_of(d.peer) is State.ESTABLISHED


def test_messages_byte_by_byte() -> None:
    d = Driver()
    d.to(State.OPENSENT)
    for i in range(len(PEER_OPEN + KA)):
        d.data((PEER_OPEN + KA)[i : i + 1])
    assert state_of(d.peer) is State.ESTABLISHED


def test_stale_events_are_ignored() -> None:
    d = Driver()
    d.to(State.ESTABLISHED)
    d.peer.data_received(555, KA, 0.0)
    d.peer.connection_lost(555, 0.0)
    d.peer.connection_failed(555, 0.0)
    assert d.take() == [] and state_of(d.peer) is State.ESTABLISHED


def test_repeated_attribute_sets_decode_alike() -> None:
    """UPDATEs sharing an attribute field (the session's scan cache) decode exactly as
    a fresh decode does, errors included; a broken UPDATE still resets the session."""
    d = Driver()
    d.to(State.ESTABLISHED)
    attrs = bytes.fromhex("4001010040020602010000fde9400304c0000201")  # AS_PATH 65001
    no_lp = bytes.fromhex("40010100400200400304c0000201")  # empty AS_PATH
    msgs = [
        _update(attrs, bytes.fromhex("180a0102")),
        _update(attrs, bytes.fromhex("180a0103200a000001")),
        _update(no_lp, bytes.fromhex("180a0104")),
        _update(no_lp, bytes.fromhex("180a0105")),
    ]
    d.data(b"".join(msgs))
    got = [o.update for o in d.take() if isinstance(o, UpdateReceived)]
    neg = d.peer.negotiated
    assert neg is not None and not neg.ibgp
    want = [decode_update(m, as4=neg.as4, ibgp=neg.ibgp) for m in msgs]
    assert [(u.attrs, u.nlri, u.treat_as_withdraw) for u in got] == [
        (u.attrs, u.nlri, u.treat_as_withdraw) for u in want
    ]
    assert [[e.describe() for e in u.errors] for u in got] == [
        [e.describe() for e in u.errors] for u in want
    ]
    assert got[1].attrs is got[0].attrs and len(got) == 4
    d.data(BAD_UPDATE)
    assert [(n.code, n.subcode) for n in sent_notifications(d.take())] == [(3, 1)]
    assert state_of(d.peer) is State.IDLE


def _update(attrs: bytes, nlri: bytes) -> bytes:
    body = b"\x00\x00" + len(attrs).to_bytes(2, "big") + attrs + nlri
    return b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
