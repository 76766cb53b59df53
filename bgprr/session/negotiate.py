"""OPEN negotiation: the OPEN we send, validation of the peer's, and what both agreed.

``build_open(config)`` gives our :class:`~bgprr.wire.messages.Open`;
``negotiate(config, local_open, peer_open)`` checks the peer's OPEN (RFC 4271 §6.2,
RFC 6286, RFC 6793) and returns a :class:`Negotiated`, or raises
:class:`~bgprr.wire.errors.BGPError` with the OPEN Message Error to send:

* 2/1 version is not 4 (data: the version we support, 2 octets);
* 2/4 an optional parameter other than capabilities;
* 2/6 hold time 1 or 2;
* 2/2 Bad Peer AS: AS 0, a 4-octet AS capability inconsistent with the My AS field
  (which must be AS_TRANS when the AS is above 65535, and is the AS itself or AS_TRANS
  below), or an AS other than the
  configured one (data: the peer's AS as it was sent, 2 octets from My AS, or 4 octets
  when it came from the capability);
* 2/3 Bad BGP Identifier: 0, or our own identifier on an iBGP session (RFC 6286).

Capability rules: a peer that sends no multiprotocol capability supports IPv4 unicast
only (RFC 4760); families are the intersection in our configured order. ADD-PATH
receive is on where we advertised receive and the peer send (``addpath_rx``), transmit
the mirror (``addpath_tx``). Route refresh also accepts the pre-standard code 128.
The peer's GR / LLGR capabilities count only when we advertised ours.
"""

from __future__ import annotations

from dataclasses import dataclass

from bgprr.wire.capabilities import (
    AddPath,
    AddPathFamily,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    FourOctetAS,
    GracefulRestart,
    GracefulRestartFamily,
    LLGRFamily,
    LongLivedGracefulRestart,
    MultiProtocol,
    RouteRefreshCap,
    UnknownCapability,
)
from bgprr.wire.constants import (
    AS_TRANS,
    BGP_VERSION,
    IPV4_UNICAST,
    MAX_EXTENDED_MESSAGE_LEN,
    MAX_MESSAGE_LEN,
    AddPathMode,
    Family,
)
from bgprr.wire.errors import BGPError, ErrorCode, OpenSub
from bgprr.wire.messages import Open

from .config import SessionConfig

_CISCO_ROUTE_REFRESH = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class Negotiated:
    """The facts of a session both sides agreed on in their OPENs."""

    local_as: int
    local_id: int
    peer_as: int
    peer_id: int
    hold_time: int  # seconds; 0 = no hold timer and no keepalives
    keepalive: int  # seconds; 0 = send no periodic KEEPALIVE
    as4: bool  # both sent the 4-octet AS capability
    families: frozenset[Family]
    addpath_rx: frozenset[Family]  # we receive path identifiers from the peer
    addpath_tx: frozenset[Family]  # we send path identifiers to the peer
    route_refresh: bool
    enhanced_route_refresh: bool
    extended_message: bool
    peer_gr: GracefulRestart | None  # only when we advertised GR as well
    peer_llgr: LongLivedGracefulRestart | None  # only when both advertised GR and LLGR
    gr_notification: bool  # RFC 8538 N bit sent by both
    local_open: Open
    peer_open: Open
    peer_capabilities: tuple[Capability, ...]

    @property
    def ibgp(self) -> bool:
        return self.peer_as == self.local_as

    @property
    def max_len(self) -> int:
        """Largest message either side may send (RFC 8654)."""
        return MAX_EXTENDED_MESSAGE_LEN if self.extended_message else MAX_MESSAGE_LEN


def build_open(config: SessionConfig) -> Open:
    """Our OPEN: version 4, My AS (AS_TRANS above 65535), hold time, router id, capabilities."""
    caps: list[Capability] = [MultiProtocol(afi=a, safi=s) for a, s in config.families]
    if config.route_refresh:
        caps.append(RouteRefreshCap())
    if config.enhanced_route_refresh:
        caps.append(EnhancedRouteRefresh())
    if config.four_octet_as:
        caps.append(FourOctetAS(asn=config.local_as))
    gr = config.graceful_restart
    if gr is not None:
        caps.append(
            GracefulRestart(
                restart=gr.restarting,
                notification=gr.notification,
                time=gr.restart_time,
                families=tuple(
                    GracefulRestartFamily(afi=a, safi=s, forwarding=(a, s) in gr.forwarding)
                    for a, s in config.families
                ),
            )
        )
    llgr = config.llgr
    if llgr is not None:
        fwd = gr.forwarding if gr is not None else frozenset()
        caps.append(
            LongLivedGracefulRestart(
                families=tuple(
                    LLGRFamily(afi=a, safi=s, forwarding=(a, s) in fwd, stale_time=llgr[a, s])
                    for a, s in config.families
                    if (a, s) in llgr
                )
            )
        )
    if config.add_path:
        caps.append(
            AddPath(
                families=tuple(
                    AddPathFamily(afi=a, safi=s, mode=config.add_path[a, s])
                    for a, s in config.families
                    if (a, s) in config.add_path
                )
            )
        )
    if config.extended_message:
        caps.append(ExtendedMessage())
    return Open(
        version=BGP_VERSION,
        my_as=config.local_as if config.local_as <= 0xFFFF else AS_TRANS,
        hold_time=config.hold_time,
        bgp_id=config.router_id,
        capabilities=tuple(caps),
    )


def _open_error(sub: OpenSub, reason: str, data: bytes = b"") -> BGPError:
    return BGPError(ErrorCode.OPEN_MESSAGE, sub, data, reason=reason)


def _peer_as(config: SessionConfig, peer: Open) -> int:
    as4 = next((c for c in peer.capabilities if isinstance(c, FourOctetAS)), None)
    if as4 is None:
        asn, raw = peer.my_as, peer.my_as.to_bytes(2, "big")
        if asn == 0 or asn == AS_TRANS:
            raise _open_error(OpenSub.BAD_PEER_AS, f"My AS {asn} without 4-octet AS", raw)
    else:
        asn, raw = as4.asn, as4.asn.to_bytes(4, "big")
        if asn == 0:
            raise _open_error(OpenSub.BAD_PEER_AS, "4-octet AS capability carries AS 0", raw)
        # RFC 6793 §4.1: the capability is the peer's AS. My AS carries the AS itself when
        # it fits in 2 octets, but a speaker may send AS_TRANS there anyway: accepted.
        expected = asn if asn <= 0xFFFF else AS_TRANS
        if peer.my_as != expected and peer.my_as != AS_TRANS:
            raise _open_error(
                OpenSub.BAD_PEER_AS,
                f"My AS {peer.my_as} does not match 4-octet AS {asn} (expected {expected})",
                peer.my_as.to_bytes(2, "big"),
            )
    if config.peer_as is not None and asn != config.peer_as:
        raise _open_error(OpenSub.BAD_PEER_AS, f"peer AS {asn}, expected {config.peer_as}", raw)
    return asn


def _addpath_modes(caps: tuple[Capability, ...]) -> dict[Family, int]:
    modes: dict[Family, int] = {}
    for cap in caps:
        if isinstance(cap, AddPath):
            for f in cap.families:
                modes[f.afi, f.safi] = f.mode
    return modes


def negotiate(config: SessionConfig, local: Open, peer: Open) -> Negotiated:
    """Validate ``peer`` against ``config`` and our ``local`` OPEN; raises ``BGPError`` 2/x."""
    if peer.version != BGP_VERSION:
        raise _open_error(
            OpenSub.UNSUPPORTED_VERSION_NUMBER,
            f"version {peer.version}",
            BGP_VERSION.to_bytes(2, "big"),
        )
    if peer.other_params:
        raise _open_error(
            OpenSub.UNSUPPORTED_OPTIONAL_PARAMETER,
            f"optional parameter type {peer.other_params[0][0]}",
        )
    if peer.hold_time in (1, 2):
        raise _open_error(OpenSub.UNACCEPTABLE_HOLD_TIME, f"hold time {peer.hold_time}")
    peer_as = _peer_as(config, peer)
    if peer.bgp_id == 0:
        raise _open_error(OpenSub.BAD_BGP_IDENTIFIER, "BGP Identifier 0")
    if peer.bgp_id == config.router_id and peer_as == config.local_as:
        raise _open_error(OpenSub.BAD_BGP_IDENTIFIER, "iBGP peer uses our BGP Identifier")

    caps = peer.capabilities
    ours = local.capabilities
    peer_mp = {(c.afi, c.safi) for c in caps if isinstance(c, MultiProtocol)} or {IPV4_UNICAST}
    our_mp = [(c.afi, c.safi) for c in ours if isinstance(c, MultiProtocol)] or [IPV4_UNICAST]
    families = frozenset(f for f in our_mp if f in peer_mp)

    def both(kind: type) -> bool:
        return any(isinstance(c, kind) for c in ours) and any(isinstance(c, kind) for c in caps)

    peer_rr = any(
        isinstance(c, RouteRefreshCap)
        or (isinstance(c, UnknownCapability) and c.code == _CISCO_ROUTE_REFRESH)
        for c in caps
    )
    our_modes = _addpath_modes(ours)
    peer_modes = _addpath_modes(caps)
    rx = frozenset(
        f
        for f in families
        if our_modes.get(f, 0) & AddPathMode.RECEIVE and peer_modes.get(f, 0) & AddPathMode.SEND
    )
    tx = frozenset(
        f
        for f in families
        if our_modes.get(f, 0) & AddPathMode.SEND and peer_modes.get(f, 0) & AddPathMode.RECEIVE
    )
    our_gr = next((c for c in ours if isinstance(c, GracefulRestart)), None)
    peer_gr = next((c for c in caps if isinstance(c, GracefulRestart)), None)
    if our_gr is None:
        peer_gr = None
    peer_llgr = next((c for c in caps if isinstance(c, LongLivedGracefulRestart)), None)
    if peer_gr is None or not any(isinstance(c, LongLivedGracefulRestart) for c in ours):
        peer_llgr = None

    hold = min(local.hold_time, peer.hold_time)
    if hold == 0 or config.keepalive == 0:
        keepalive = 0
    else:
        keepalive = max(1, min(config.keepalive, hold // 3))
    return Negotiated(
        local_as=config.local_as,
        local_id=config.router_id,
        peer_as=peer_as,
        peer_id=peer.bgp_id,
        hold_time=hold,
        keepalive=keepalive,
        as4=both(FourOctetAS),
        families=families,
        addpath_rx=rx,
        addpath_tx=tx,
        route_refresh=any(isinstance(c, RouteRefreshCap) for c in ours) and peer_rr,
        enhanced_route_refresh=both(EnhancedRouteRefresh),
        extended_message=both(ExtendedMessage),
        peer_gr=peer_gr,
        peer_llgr=peer_llgr,
        gr_notification=bool(
            our_gr is not None
            and peer_gr is not None
            and our_gr.notification
            and peer_gr.notification
        ),
        local_open=local,
        peer_open=peer,
        peer_capabilities=caps,
    )


def keep_outbound(local_id: int, local_as: int, peer_id: int, peer_as: int) -> bool:
    """Connection collision (RFC 4271 §6.8, RFC 6286 §2.3): keep our outbound connection?

    The connection initiated by the speaker with the higher BGP Identifier survives;
    with equal identifiers (possible on eBGP), the one initiated by the higher AS.
    """
    if local_id != peer_id:
        return local_id > peer_id
    return local_as > peer_as
