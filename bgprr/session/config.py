"""Per-peer session settings: what we advertise in our OPEN and how the FSM times out.

Everything here is immutable and validated on construction (``ValueError``), so a
:class:`bgprr.session.fsm.Session` never has to second-guess its configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bgprr.wire.constants import IPV4_UNICAST, AddPathMode, Family

"""An ``(afi, safi)`` pair."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GracefulRestartConfig:
    """Our RFC 4724 Graceful Restart capability (with the RFC 8538 N bit).

    ``forwarding`` lists the families whose F bit we set (forwarding state preserved);
    a route reflector normally preserves none. The capability lists every configured
    family, so the peer knows we can act as a GR helper for all of them.
    """

    restart_time: int = 120
    restarting: bool = False  # R bit: we are restarting right now
    notification: bool = True  # N bit (RFC 8538): GR also after a NOTIFICATION
    forwarding: frozenset[Family] = frozenset()

    def __post_init__(self) -> None:
        if not 0 <= self.restart_time <= 0x0FFF:
            raise ValueError(f"restart_time {self.restart_time} outside 0..4095")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionConfig:
    """Settings of one BGP session.

    ``peer_as`` of ``None`` accepts any AS (it is learnt from the peer's OPEN).
    ``keepalive_interval`` of ``None`` means ``hold_time // 3``. Timers are seconds.
    ``idle_hold_time`` is the first IdleHold wait after a session flap; it doubles on
    each consecutive flap up to ``idle_hold_max`` and goes back to its initial value once
    a session has stayed Established for ``idle_hold_reset`` seconds (RFC 4271 §8.1.1
    DampPeerOscillations). ``llgr`` maps family -> long-lived stale time (RFC 9494); an
    empty mapping still advertises the (empty) capability, ``None`` does not.
    ``add_path`` maps family -> :class:`AddPathMode` (RFC 7911). ``collision_wait``: how
    long a connection collision against our OpenConfirm connection waits for the peer
    to resolve it (see :mod:`bgprr.session.fsm`).
    """

    local_as: int
    peer_as: int | None
    router_id: int
    hold_time: int = 90
    keepalive_interval: int | None = None
    connect_retry: float = 120.0
    idle_hold_time: float = 30.0
    idle_hold_max: float = 300.0
    idle_hold_reset: float = 300.0
    open_hold_time: float = 240.0  # RFC 4271 §8.2.2: "a large value" (4 minutes)
    # An inbound connection on which nothing has arrived yet: its OpenSent HoldTimer
    # runs this long instead (None: open_hold_time); the first bytes restart it with
    # open_hold_time. We send our OPEN at once, so a BGP speaker, DelayOpen or not, has
    # no reason to stay silent.
    silent_open_time: float | None = None
    # RFC 9687: how long the connection may take no data before we drop it; None: the
    # larger of 8 minutes and twice the negotiated hold time; 0: never (no SendHoldTimer)
    send_hold_time: float | None = None
    collision_wait: float = 5.0  # a collision against our OpenConfirm waits for the peer
    passive: bool = False
    families: tuple[Family, ...] = (IPV4_UNICAST,)
    route_refresh: bool = True
    enhanced_route_refresh: bool = True
    four_octet_as: bool = True
    extended_message: bool = False
    graceful_restart: GracefulRestartConfig | None = None
    llgr: Mapping[Family, int] | None = None
    add_path: Mapping[Family, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.local_as <= 0xFFFFFFFF:
            raise ValueError(f"local_as {self.local_as} outside 1..4294967295")
        if self.peer_as is not None and not 0 < self.peer_as <= 0xFFFFFFFF:
            raise ValueError(f"peer_as {self.peer_as} outside 1..4294967295")
        if self.local_as > 0xFFFF and not self.four_octet_as:
            raise ValueError("a local AS above 65535 needs the four-octet AS capability")
        if not 0 < self.router_id <= 0xFFFFFFFF:
            raise ValueError(f"router_id {self.router_id} outside 1..4294967295")
        if self.hold_time in (1, 2) or not 0 <= self.hold_time <= 0xFFFF:
            raise ValueError(f"hold_time {self.hold_time} must be 0 or 3..65535")
        ka = self.keepalive_interval
        if ka is not None and not 0 <= ka <= 0xFFFF:
            raise ValueError(f"keepalive_interval {ka} outside 0..65535")
        timers = ("connect_retry", "idle_hold_time", "idle_hold_max", "open_hold_time")
        for name in (*timers, "collision_wait"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("send_hold_time", "silent_open_time"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if len(set(self.families)) != len(self.families):
            raise ValueError("families must not repeat")
        for fam, mode in self.add_path.items():
            if mode not in (AddPathMode.RECEIVE, AddPathMode.SEND, AddPathMode.BOTH):
                raise ValueError(f"add_path mode {mode} for {fam} is not 1, 2 or 3")
            if fam not in self.families:
                raise ValueError(f"add_path family {fam} is not a configured family")
        for fam, stale in (self.llgr or {}).items():
            if not 0 <= stale <= 0xFFFFFF:
                raise ValueError(f"llgr stale time {stale} for {fam} outside 0..16777215")

    @property
    def keepalive(self) -> int:
        """Our keepalive interval before negotiation (``hold_time // 3`` by default)."""
        if self.keepalive_interval is not None:
            return self.keepalive_interval
        return self.hold_time // 3

    @property
    def ibgp(self) -> bool:
        """True when the configured peer AS is our own AS."""
        return self.peer_as == self.local_as
