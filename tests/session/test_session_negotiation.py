"""OPEN negotiation, mostly through two Session objects wired together in memory."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bgprr.session import (
    GracefulRestartConfig,
    Negotiated,
    Session,
    SessionConfig,
    SessionDown,
    State,
    build_open,
    negotiate,
)
from bgprr.session.events import Established, Send, UpdateReceived
from bgprr.wire.capabilities import (
    AddPath,
    AddPathFamily,
    Capability,
    EnhancedRouteRefresh,
    FourOctetAS,
    GracefulRestart,
    GracefulRestartFamily,
    LongLivedGracefulRestart,
    MultiProtocol,
    RouteRefreshCap,
    UnknownCapability,
)
from bgprr.wire.constants import AS_TRANS, IPV4_UNICAST, IPV6_UNICAST, AddPathMode
from bgprr.wire.errors import BGPError
from bgprr.wire.messages import Notification, Open, decode_message
from tests.support.pair import PeerPair

V4, V6 = IPV4_UNICAST, IPV6_UNICAST


def state_of(p: Session) -> State:
    """The Session's state, read through a function so mypy does not narrow it across calls."""
    return p.state


def cfg(
    local_as: int = 65000, peer_as: int | None = 65001, rid: int = 1, **kw: Any
) -> SessionConfig:
    return SessionConfig(local_as=local_as, peer_as=peer_as, router_id=rid, **kw)


def up(a_cfg: SessionConfig, b_cfg: SessionConfig) -> tuple[PeerPair, Negotiated, Negotiated]:
    pair = PeerPair(Session(a_cfg), Session(replace(b_cfg, passive=True)))
    pair.b.start(0.0)
    pair.a.start(0.0)
    pair.pump()
    assert state_of(pair.a) is State.ESTABLISHED, pair.log[0]
    assert state_of(pair.b) is State.ESTABLISHED, pair.log[1]
    na, nb = pair.a.negotiated, pair.b.negotiated
    assert na is not None and nb is not None
    est = [o for o in pair.log[0] if isinstance(o, Established)]
    assert len(est) == 1 and est[0].negotiated is na
    return pair, na, nb


def failed(a_cfg: SessionConfig, b_cfg: SessionConfig) -> tuple[PeerPair, Notification]:
    """Connect a to (passive) b; return the NOTIFICATION b sent back."""
    pair = PeerPair(Session(a_cfg), Session(replace(b_cfg, passive=True)))
    pair.b.start(0.0)
    pair.a.start(0.0)
    pair.pump()
    assert state_of(pair.a) is State.IDLE and state_of(pair.b) is State.IDLE
    sent = [decode_message(o.data) for o in pair.log[1] if isinstance(o, Send)]
    assert isinstance(sent[-1], Notification)
    return pair, sent[-1]


def peer_open(
    caps: tuple[Capability, ...], *, my_as: int = 65001, hold: int = 90, rid: int = 2
) -> Open:
    return Open(my_as=my_as, hold_time=hold, bgp_id=rid, capabilities=caps)


def test_basic_symmetry() -> None:
    _, na, nb = up(cfg(), cfg(65001, 65000, 2))
    assert (na.peer_as, na.peer_id, nb.peer_as, nb.peer_id) == (65001, 2, 65000, 1)
    assert na.hold_time == nb.hold_time == 90 and na.keepalive == 30
    assert na.as4 and na.route_refresh and na.enhanced_route_refresh
    assert na.families == frozenset({V4})
    assert not na.ibgp and na.max_len == 4096
    assert na.peer_gr is None and not na.gr_notification


def test_families_intersection() -> None:
    _, na, nb = up(cfg(families=(V4, V6)), cfg(65001, 65000, 2, families=(V6,)))
    assert na.families == nb.families == frozenset({V6})


def test_no_multiprotocol_means_ipv4_unicast() -> None:
    local = cfg(families=(V4, V6))
    neg = negotiate(local, build_open(local), peer_open((FourOctetAS(asn=65001),)))
    assert neg.families == frozenset({V4})
    v6only = cfg(families=(V6,))
    assert negotiate(v6only, build_open(v6only), peer_open(())).families == frozenset()


def test_as4_with_as_trans() -> None:
    big = 4200000001
    assert build_open(cfg(big, 65001)).my_as == AS_TRANS
    _, na, nb = up(cfg(big, 65001), cfg(65001, big, 2))
    assert nb.peer_as == big and nb.as4 and na.peer_as == 65001
    # A 2-octet-only speaker still learns the 4-octet AS from the capability.
    _, _, nb2 = up(cfg(big, 65001), cfg(65001, big, 2, four_octet_as=False))
    assert nb2.peer_as == big and not nb2.as4


@pytest.mark.parametrize(
    ("my_as", "cap_as", "data"),
    [
        (65000, 4200000001, (65000).to_bytes(2, "big")),  # should have been AS_TRANS
        (65003, 65001, (65003).to_bytes(2, "big")),  # neither the AS nor AS_TRANS
        (65002, 65002, (65002).to_bytes(4, "big")),  # consistent but not the configured AS
    ],
)
def test_bad_peer_as_capability(my_as: int, cap_as: int, data: bytes) -> None:
    local = cfg(peer_as=None if cap_as == 4200000001 else 65001)
    with pytest.raises(BGPError) as exc:
        negotiate(local, build_open(local), peer_open((FourOctetAS(asn=cap_as),), my_as=my_as))
    assert (exc.value.code, exc.value.subcode, exc.value.data) == (2, 2, data)


def test_as_trans_with_a_2_octet_as_capability() -> None:
    # RFC 6793 §4.1: the capability carries the peer's AS; My AS = AS_TRANS is accepted
    # even when that AS fits in 2 octets (it used to be refused with 2/2).
    local = cfg(peer_as=65001)
    neg = negotiate(
        local, build_open(local), peer_open((FourOctetAS(asn=65001),), my_as=AS_TRANS)
    )
    assert neg.peer_as == 65001 and neg.as4


def test_bad_peer_as_through_the_wire() -> None:
    pair, n = failed(cfg(), cfg(65001, 65005, 2))
    assert (n.code, n.subcode, n.data) == (2, 2, (65000).to_bytes(4, "big"))
    down = [o for o in pair.log[0] if isinstance(o, SessionDown)]
    assert down == []  # never Established


def test_peer_as_none_accepts_any() -> None:
    _, _, nb = up(cfg(64512), cfg(65001, None, 2))
    assert nb.peer_as == 64512


def test_hold_time_minimum() -> None:
    _, na, nb = up(cfg(hold_time=30), cfg(65001, 65000, 2, hold_time=180))
    assert na.hold_time == nb.hold_time == 30
    assert na.keepalive == nb.keepalive == 10


def test_keepalive_capped_by_negotiated_hold() -> None:
    _, na, nb = up(cfg(hold_time=9, keepalive_interval=30), cfg(65001, 65000, 2))
    assert na.hold_time == 9 and na.keepalive == 3 and nb.keepalive == 3


def test_hold_time_zero_means_no_keepalives() -> None:
    pair, na, nb = up(cfg(hold_time=0), cfg(65001, 65000, 2))
    assert na.hold_time == nb.hold_time == 0 and na.keepalive == nb.keepalive == 0
    assert pair.a.next_timer() is None and pair.b.next_timer() is None
    sent = len(pair.log[0])
    pair.advance(100000.0)
    assert state_of(pair.a) is state_of(pair.b) is State.ESTABLISHED
    assert len(pair.log[0]) == sent


@pytest.mark.parametrize("hold", [1, 2])
def test_unacceptable_hold_time(hold: int) -> None:
    local = cfg()
    with pytest.raises(BGPError) as exc:
        negotiate(local, build_open(local), peer_open((), hold=hold))
    assert (exc.value.code, exc.value.subcode) == (2, 6)


def test_bad_bgp_identifier() -> None:
    local = cfg(65000, 65000)
    with pytest.raises(BGPError) as exc:
        negotiate(local, build_open(local), peer_open((), my_as=65000, rid=1))
    assert (exc.value.code, exc.value.subcode) == (2, 3)
    ebgp = cfg()
    assert negotiate(ebgp, build_open(ebgp), peer_open((), rid=1)).peer_id == 1
    _, n = failed(cfg(65000, 65000, 7), cfg(65000, 65000, 7))
    assert (n.code, n.subcode) == (2, 3)


def test_ibgp() -> None:
    _, na, _ = up(cfg(65000, 65000, 1), cfg(65000, 65000, 2))
    assert na.ibgp


_R, _S, _B = AddPathMode.RECEIVE, AddPathMode.SEND, AddPathMode.BOTH


@pytest.mark.parametrize("ours", [None, _R, _S, _B])
@pytest.mark.parametrize("theirs", [None, _R, _S, _B])
def test_addpath_matrix(ours: AddPathMode | None, theirs: AddPathMode | None) -> None:
    a = cfg(add_path={V4: ours} if ours else {})
    b = cfg(65001, 65000, 2, add_path={V4: theirs} if theirs else {})
    _, na, nb = up(a, b)
    rx = bool(ours and theirs and ours & _R and theirs & _S)
    tx = bool(ours and theirs and ours & _S and theirs & _R)
    assert na.addpath_rx == (frozenset({V4}) if rx else frozenset())
    assert na.addpath_tx == (frozenset({V4}) if tx else frozenset())
    assert nb.addpath_rx == na.addpath_tx and nb.addpath_tx == na.addpath_rx


def test_addpath_only_for_common_families() -> None:
    a = cfg(families=(V4, V6), add_path={V4: _B, V6: _B})
    b = cfg(65001, 65000, 2, add_path={V4: _B})
    _, na, _ = up(a, b)
    assert na.addpath_rx == na.addpath_tx == frozenset({V4})


def _big_withdraw() -> bytes:
    """A valid 5023-octet UPDATE withdrawing 1000 IPv4 /32s."""
    body = b"".join(bytes([32, 10, i >> 8, i & 255, 1]) for i in range(1000))
    payload = len(body).to_bytes(2, "big") + body + b"\x00\x00"
    return b"\xff" * 16 + (19 + len(payload)).to_bytes(2, "big") + b"\x02" + payload


def test_extended_message() -> None:
    pair, na, nb = up(cfg(extended_message=True), cfg(65001, 65000, 2, extended_message=True))
    assert na.extended_message and na.max_len == nb.max_len == 65535
    cid = pair.b.conn_id
    assert cid is not None
    pair.b.data_received(cid, _big_withdraw(), pair.now)
    outs = pair.b.poll()
    assert len(outs) == 1 and isinstance(outs[0], UpdateReceived)
    assert len(outs[0].update.withdrawn) == 1000
    # Without the capability on both sides, the same message is a header error (1/2).
    pair, na, _ = up(cfg(extended_message=True), cfg(65001, 65000, 2))
    assert not na.extended_message and na.max_len == 4096
    cid = pair.b.conn_id
    assert cid is not None
    pair.b.data_received(cid, _big_withdraw(), pair.now)
    sent = [decode_message(o.data) for o in pair.b.poll() if isinstance(o, Send)]
    assert sent == [Notification(code=1, subcode=2, data=(5023).to_bytes(2, "big"))]
    assert state_of(pair.b) is State.IDLE


def test_graceful_restart_and_llgr() -> None:
    gr = GracefulRestartConfig(restart_time=120, notification=True, forwarding=frozenset({V4}))
    a = cfg(graceful_restart=gr, llgr={V4: 3600})
    b = cfg(65001, 65000, 2, graceful_restart=replace(gr, restarting=True), llgr={})
    _, na, nb = up(a, b)
    assert na.peer_gr is not None and na.peer_gr.restart and na.peer_gr.time == 120
    assert na.peer_gr.families == (GracefulRestartFamily(afi=1, safi=1, forwarding=True),)
    assert na.gr_notification and nb.gr_notification
    assert na.peer_llgr == LongLivedGracefulRestart(families=())
    assert nb.peer_llgr is not None and nb.peer_llgr.families[0].stale_time == 3600
    # The N bit needs both sides; GR counts only when we sent it too.
    _, na, nb = up(a, cfg(65001, 65000, 2, graceful_restart=replace(gr, notification=False)))
    assert na.peer_gr is not None and not na.gr_notification and nb.peer_llgr is None
    _, na, nb = up(a, cfg(65001, 65000, 2))
    assert nb.peer_gr is None and na.peer_gr is None and na.peer_llgr is None


def test_peer_capabilities_kept_and_cisco_route_refresh() -> None:
    local = cfg()
    caps = (UnknownCapability(code=128, data=b""), UnknownCapability(code=99, data=b"x"))
    neg = negotiate(local, build_open(local), peer_open(caps))
    assert neg.route_refresh and neg.peer_capabilities == caps
    assert not neg.enhanced_route_refresh and not neg.as4


def test_route_refresh_needs_both() -> None:
    _, na, nb = up(cfg(route_refresh=False), cfg(65001, 65000, 2))
    assert not na.route_refresh and not nb.route_refresh


def test_bird_like_capabilities() -> None:
    """What Calico's BIRD sends: one MP family, route refresh, GR (120 s), AS4,
    ADD-PATH both, enhanced route refresh, an empty LLGR."""
    bird = peer_open(
        (
            MultiProtocol(afi=1, safi=1),
            RouteRefreshCap(),
            GracefulRestart(
                restart=False,
                notification=False,
                time=120,
                families=(GracefulRestartFamily(afi=1, safi=1, forwarding=True),),
            ),
            FourOctetAS(asn=64512),
            AddPath(families=(AddPathFamily(afi=1, safi=1, mode=3),)),
            EnhancedRouteRefresh(),
            LongLivedGracefulRestart(families=()),
        ),
        my_as=64512,
        hold=240,
        rid=0x0A000005,
    )
    rr = cfg(
        64512,
        64512,
        0x0A000001,
        families=(V4, V6),
        graceful_restart=GracefulRestartConfig(restart_time=120),
        llgr={},
        add_path={V4: AddPathMode.SEND},
    )
    neg = negotiate(rr, build_open(rr), bird)
    assert neg.ibgp and neg.peer_as == 64512 and neg.as4
    assert neg.families == frozenset({V4})
    assert neg.hold_time == 90 and neg.keepalive == 30
    assert neg.addpath_tx == frozenset({V4}) and neg.addpath_rx == frozenset()
    assert neg.route_refresh and neg.enhanced_route_refresh and not neg.extended_message
    assert neg.peer_gr is not None and neg.peer_gr.time == 120 and not neg.gr_notification
    assert neg.peer_llgr == LongLivedGracefulRestart(families=())
    assert neg.peer_capabilities == bird.capabilities


def test_build_open_capabilities() -> None:
    gr = GracefulRestartConfig(restart_time=90, restarting=True, forwarding=frozenset({V6}))
    c = cfg(
        4200000001,
        65001,
        families=(V4, V6),
        graceful_restart=gr,
        llgr={V6: 100},
        add_path={V4: _R},
        extended_message=True,
    )
    o = build_open(c)
    assert (o.version, o.my_as, o.hold_time, o.bgp_id) == (4, AS_TRANS, 90, 1)
    kinds = [type(x).__name__ for x in o.capabilities]
    assert kinds == [
        "MultiProtocol",
        "MultiProtocol",
        "RouteRefreshCap",
        "EnhancedRouteRefresh",
        "FourOctetAS",
        "GracefulRestart",
        "LongLivedGracefulRestart",
        "AddPath",
        "ExtendedMessage",
    ]
    g = o.capabilities[5]
    assert isinstance(g, GracefulRestart) and g.restart and g.notification and g.time == 90
    assert [f.forwarding for f in g.families] == [False, True]
    ll = o.capabilities[6]
    assert isinstance(ll, LongLivedGracefulRestart)
    assert [(f.afi, f.stale_time, f.forwarding) for f in ll.families] == [(2, 100, True)]


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        cfg(4200000001, four_octet_as=False)
    with pytest.raises(ValueError):
        cfg(hold_time=2)
    with pytest.raises(ValueError):
        cfg(add_path={V6: _B})
    with pytest.raises(ValueError):
        cfg(rid=0)
    assert cfg(hold_time=60).keepalive == 20
