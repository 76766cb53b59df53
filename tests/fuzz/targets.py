"""Fuzz targets: one function per layer, bytes in, an :class:`Invariant` raised when a
property that must hold for *any* input breaks (anything else escaping is a finding too).

* :func:`decoder` — ``decode_message`` / ``decode_update`` under every session flavour:
  only ``BGPError`` escapes; a raised error is a session reset or AFI/SAFI disable with a
  valid code; a returned UPDATE's ``treat_as_withdraw`` is exactly "some error asks for
  it" (RFC 7606); a clean UPDATE encodes back to an UPDATE that decodes the same.
* :func:`session` — an Established :class:`~bgprr.session.Session` fed the input in
  chunks: no exception, only known outputs, a NOTIFICATION is followed by SessionDown
  and Idle, nothing is delivered after that.
* :func:`reflector` — a :class:`~bgprr.reflect.ReflectionEngine` with two steady clients
  and one fuzzed client whose bytes go through its own Session (the real decode path):
  every UPDATE the engine sends anyone decodes clean, the steady clients never lose a
  route, and once the fuzzed client is gone every table is exact and every interned
  attribute set it brought is reclaimed.

Input layout for session/reflector: a sequence of records ``[kind][len_hi][len_lo][body]``;
kind ``0`` wraps the body in a correct UPDATE header (so the body parsers, not the framer,
see the bytes), any other kind feeds the body raw. Used by ``python -m tests.fuzz`` with
atheris (coverage-guided) and by tests/fuzz/test_fuzz.py (corpus replay, bounded
campaigns).
"""

from __future__ import annotations

from collections.abc import Iterator

from bgprr.reflect import PeerCaps, PeerSettings, ReflectionEngine
from bgprr.reflect.types import PeerReset
from bgprr.session import (
    Close,
    Established,
    Output,
    RouteRefreshReceived,
    Send,
    SendMany,
    Session,
    SessionConfig,
    SessionDown,
    State,
    StateChanged,
    UpdateReceived,
)
from bgprr.wire.capabilities import (
    AddPath,
    AddPathFamily,
    Capability,
    FourOctetAS,
    MultiProtocol,
)
from bgprr.wire.constants import IPV4_UNICAST, IPV6_UNICAST, AddPathMode, MsgType
from bgprr.wire.errors import Action, BGPError
from bgprr.wire.messages import Keepalive, Notification, Open, decode_message, encode_message
from bgprr.wire.prefix import make_key
from bgprr.wire.update import Update, decode_update, encode_update
from tests.support.harness import Node, announce, block, drain

__all__ = ["TARGETS", "Invariant", "decoder", "reflector", "session"]

MARKER = b"\xff" * 16
KEEPALIVE = encode_message(Keepalive())
# (as4, ibgp, addpath families) of a session
FLAVOURS = [
    (as4, ibgp, ap)
    for as4 in (True, False)
    for ibgp in (True, False)
    for ap in (frozenset(), frozenset({IPV4_UNICAST, IPV6_UNICAST}))
]


class Invariant(AssertionError):
    """A property that must hold for any input did not."""


def check(cond: object, what: str) -> None:
    if not cond:
        raise Invariant(what)


# ------------------------------------------------------------------------------ decoder


def _check_error(err: BGPError) -> None:
    check(1 <= err.code <= 7, f"error code {err.code}")  # 7: ROUTE-REFRESH (RFC 7313)
    check(isinstance(err.data, bytes), "error data is bytes")
    check(
        err.action in (Action.SESSION_RESET, Action.AFISAFI_DISABLE),
        f"raised error with action {err.action!r} (milder errors must be collected)",
    )


def _same(a: Update, b: Update) -> bool:
    def mp(u: Update) -> tuple[object, ...]:
        r, w = u.mp_reach, u.mp_unreach
        return (
            None if r is None else (r.afi, r.safi, r.next_hop, r.nlri, r.nlri_ids),
            None if w is None else (w.afi, w.safi, w.withdrawn, w.withdrawn_ids),
        )

    return (a.withdrawn, a.withdrawn_ids, a.attrs, a.nlri, a.nlri_ids, mp(a)) == (
        b.withdrawn,
        b.withdrawn_ids,
        b.attrs,
        b.nlri,
        b.nlri_ids,
        mp(b),
    )


def decoder(data: bytes) -> None:
    if not data:
        return
    as4, ibgp, ap = FLAVOURS[data[0] % len(FLAVOURS)]
    msg = data[1:]
    if data[0] & 0x80 and len(msg) >= 3:  # fix up the header: reach the body parsers
        body = msg[3:]
        msg = MARKER + (19 + len(body)).to_bytes(2, "big")[-2:] + msg[2:3] + body
    try:
        decode_message(msg, as4=as4, ibgp=ibgp, addpath=ap)
    except BGPError as err:
        _check_error(err)
    if len(msg) < 19 or msg[18] != MsgType.UPDATE:
        return
    try:
        u = decode_update(msg, as4=as4, ibgp=ibgp, addpath=ap)
    except BGPError as err:
        _check_error(err)
        return
    taw = any(e.action == Action.TREAT_AS_WITHDRAW for e in u.errors)
    check(u.treat_as_withdraw == taw, f"treat_as_withdraw {u.treat_as_withdraw} vs {u.errors}")
    for e in u.errors:
        check(e.action in (Action.TREAT_AS_WITHDRAW, Action.ATTRIBUTE_DISCARD), "mild action")
    if u.errors or len(msg) > 4096:
        return
    again = encode_update(
        withdrawn=u.withdrawn,
        withdrawn_ids=u.withdrawn_ids,
        attrs=u.attrs,
        nlri=u.nlri,
        nlri_ids=u.nlri_ids,
        mp_reach=u.mp_reach,
        mp_unreach=u.mp_unreach,
    )
    # attrs come out in 4-octet form
    again_u = decode_update(again, as4=True, ibgp=ibgp, addpath=ap)
    check(_same(again_u, u), "clean UPDATE re-encodes the same")


# ------------------------------------------------------------------------------ session


def records(data: bytes) -> Iterator[bytes]:
    """The chunks an input describes (see the module docstring)."""
    at = 0
    while at + 3 <= len(data):
        kind, n = data[at], (data[at + 1] << 8) | data[at + 2]
        body = data[at + 3 : at + 3 + n]
        at += 3 + n
        if kind == 0:
            yield MARKER + (19 + len(body) & 0xFFFF).to_bytes(2, "big") + b"\x02" + body
        else:
            yield body


PEER_AS = 64511
PEER_ID = 0x0A000002


def _peer_open(addpath: bool) -> bytes:
    caps: list[Capability] = [
        MultiProtocol(afi=1, safi=1),
        MultiProtocol(afi=2, safi=1),
        FourOctetAS(asn=PEER_AS),
    ]
    if addpath:
        both = AddPathMode.BOTH
        caps.append(
            AddPath(
                families=(
                    AddPathFamily(afi=1, safi=1, mode=both),
                    AddPathFamily(afi=2, safi=1, mode=both),
                )
            )
        )
    return encode_message(
        Open(my_as=PEER_AS, hold_time=90, bgp_id=PEER_ID, capabilities=tuple(caps))
    )


def established(addpath: bool = False) -> Session:
    """A session of ours (AS 64511, iBGP) in Established with the scripted peer."""
    cfg = SessionConfig(
        local_as=PEER_AS,
        peer_as=PEER_AS,
        router_id=0x0A000001,
        families=(IPV4_UNICAST, IPV6_UNICAST),
        add_path={IPV4_UNICAST: AddPathMode.BOTH, IPV6_UNICAST: AddPathMode.BOTH}
        if addpath
        else {},
    )
    s = Session(cfg)
    s.start(0.0)
    s.connection_made(1, 0.0, inbound=False, local_address=b"\x0a\x00\x00\x01")
    s.data_received(1, _peer_open(addpath), 0.0)
    s.data_received(1, KEEPALIVE, 0.0)
    check(s.state is State.ESTABLISHED, "scripted session comes up")
    s.poll()
    return s


KNOWN = (Send, SendMany, Close, StateChanged, Established, UpdateReceived, RouteRefreshReceived)


def _notified(out: Output) -> bool:
    if not isinstance(out, Send):
        return False
    return out.data[18:19] == bytes((MsgType.NOTIFICATION,)) and isinstance(
        decode_message(out.data), Notification
    )


def session(data: bytes) -> None:
    s = established(addpath=bool(data[:1]) and data[0] & 1 == 1)
    now = 1.0
    down = False
    for chunk in records(data[1:]):
        s.data_received(1, chunk, now)
        now += 0.5
        outs = s.poll()
        for out in outs:
            check(isinstance(out, (*KNOWN, SessionDown)), f"unknown output {out!r}")
            if down:
                check(not isinstance(out, UpdateReceived), "UPDATE delivered after SessionDown")
            if isinstance(out, SessionDown):
                down = True
        if any(_notified(o) for o in outs):
            check(any(isinstance(o, SessionDown) for o in outs), "NOTIFICATION, no SessionDown")
        if down:
            check(s.state is State.IDLE, f"down but {s.state}")
            return
    check(s.state is State.ESTABLISHED, f"no SessionDown but {s.state}")


# ---------------------------------------------------------------------------- reflector

STEADY = {"S1": 0x0A000003, "S2": 0x0A000004}
FUZZ = "F"
RID = 0x0A000001


def _steady_routes(name: str) -> list[int]:
    base = 0xC0A80000 + (STEADY[name] & 0xFF) * 256  # 192.168.<n>.0/26 blocks
    return [make_key(base + 64 * i, 26) for i in range(4)]


def _engine() -> tuple[ReflectionEngine, dict[str, Node]]:
    r = ReflectionEngine(router_id=RID, local_as=PEER_AS, cluster_id=RID, now=0.0)
    fams = frozenset({IPV4_UNICAST, IPV6_UNICAST})
    nodes: dict[str, Node] = {}
    for name, addr in (*STEADY.items(), (FUZZ, PEER_ID)):
        r.configure_peer(
            PeerSettings(key=name, address=addr, asn=PEER_AS, client=True, families=fams)
        )
        r.peer_established(name, PeerCaps(bgp_id=addr, families=fams), 0.0)
        nodes[name] = Node(name)
    for name, addr in STEADY.items():
        attrs = block(next_hop=addr.to_bytes(4, "big"))
        for u in announce(_steady_routes(name), attrs):
            r.update_received(name, u, 0.0)
    drain(r, nodes)
    return r, nodes


def _expected(viewer: str) -> dict[tuple[int, int], tuple[bytes, bytes]]:
    out = {}
    for name, addr in STEADY.items():
        if name == viewer:
            continue
        sent = block(next_hop=addr.to_bytes(4, "big"), originator_id=addr, cluster_list=[RID])
        for k in _steady_routes(name):
            out[(k, 0)] = (sent, b"")
    return out


def reflector(data: bytes) -> None:
    r, nodes = _engine()
    interned = len(r.intern_table)
    s = established()
    now = 1.0
    alive = True
    for chunk in records(data):
        s.data_received(1, chunk, now)
        for out in s.poll():
            if isinstance(out, UpdateReceived):
                r.update_received(FUZZ, out.update, now)
            elif isinstance(out, SessionDown):
                alive = False
        for ev in r.poll_events():
            if isinstance(ev, PeerReset) and ev.key == FUZZ:
                alive = False
        drain(r, nodes)  # Node.feed raises if anything we send is malformed
        for name in STEADY:
            got = nodes[name].table(IPV4_UNICAST)
            check(_expected(name).items() <= got.items(), f"{name} lost a steady route")
        if not alive:
            break
        now += 0.5
    r.peer_down(FUZZ, now, graceful=False)
    drain(r, nodes)
    for name in STEADY:
        check(nodes[name].table(IPV4_UNICAST) == _expected(name), f"{name}'s table is not exact")
        check(not nodes[name].table(IPV6_UNICAST), f"{name} kept an IPv6 route")
    steady = {k for n in STEADY for k in _steady_routes(n)}
    check({k for k, _best, _all in r.loc_rib(IPV4_UNICAST)} == steady, "Loc-RIB not exact")
    check(not list(r.loc_rib(IPV6_UNICAST)), "IPv6 Loc-RIB not empty")
    check(len(r.intern_table) == interned, "attribute sets of the fuzzed peer not reclaimed")


TARGETS = {"decoder": decoder, "session": session, "reflector": reflector}
