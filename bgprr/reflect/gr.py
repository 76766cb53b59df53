"""Graceful restart: helper mode (RFC 4724, long-lived RFC 9494) and restarting speaker.

Helper, per neighbor and family:

* ``peer_down(graceful=True)`` of a neighbor whose last session negotiated GR (or LLGR):
  its paths in the families of its GR capability are kept and marked stale (still used
  and advertised) for its restart time (phase GR); other families are flushed at once.
  Without GR, or with ``graceful=False``, everything is flushed at once.
* GR timer fires: families in its LLGR capability with a long-lived stale time > 0 go to
  phase LLGR: each stale path gets the LLGR_STALE community (a new interned AttrSet),
  paths with NO_LLGR are removed; LLGR-stale paths are least preferred and are sent only
  to neighbors that sent the LLGR capability (withdrawn elsewhere). Stale time capped by
  ``PeerSettings.llgr_max_stale_time``. A GR restart time of 0 with LLGR goes to LLGR at
  once. Other families are flushed.
* Reconnect: if the new session has no GR/LLGR capability, or a family lacks the F bit
  (``PeerCaps.gr_forwarding``), or is no longer negotiated, its stale paths are flushed
  now; otherwise phase WAIT_EOR: on its End-of-RIB the paths not re-announced are swept;
  if it does not come within ``PeerSettings.stale_path_time``, they are flushed then.
* Going down again while stale paths are held restarts the procedure (all paths stale).

Restarting speaker (``ReflectionEngine(restarting=True)``): no output to anyone until every
expected neighbor and every neighbor that reached Established with the GR (or LLGR)
capability has sent End-of-RIB for all its families (RFC 4724 §4.1: neighbors without
the GR capability are not waited for), or ``deferral_time`` passed; then every neighbor
gets its table and EoR.
An established neighbor that is not in ``expected_peers`` and goes down is not waited for.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from bgprr.reflect.types import StaleFlushed
from bgprr.rib.path import Path
from bgprr.wire.attributes import add_community
from bgprr.wire.constants import LLGR_STALE, NO_LLGR, Family

if TYPE_CHECKING:
    from bgprr.reflect.engine import NeighborState, ReflectionEngine


class StalePhase(enum.Enum):
    GR = "gr"  # session down, within the restart time
    LLGR = "llgr"  # session down (or up, waiting for EoR), long-lived stale
    WAIT_EOR = "wait-eor"  # session back, waiting for End-of-RIB


class _Stale:
    __slots__ = ("deadline", "phase")

    def __init__(self, phase: StalePhase, deadline: float) -> None:
        self.phase = phase
        self.deadline = deadline


class GrHelper:
    """GR/LLGR helper state and restarting-speaker deferral of one :class:`ReflectionEngine`."""

    __slots__ = ("_defer_deadline", "_expected", "_r", "_stale", "_wait", "deferring")

    def __init__(
        self, r: ReflectionEngine, restarting: bool, defer_deadline: float, expected: frozenset[str]
    ) -> None:
        self._r = r
        self.deferring = restarting
        self._defer_deadline = defer_deadline
        self._expected = expected
        # neighbor -> families still owing End-of-RIB (None: not established yet)
        self._wait: dict[str, set[Family] | None] = dict.fromkeys(expected)
        self._stale: dict[tuple[str, Family], _Stale] = {}

    def phase(self, key: str, fam: Family) -> StalePhase | None:
        st = self._stale.get((key, fam))
        return None if st is None else st.phase

    # ------------------------------------------------------------------ session events

    def down(self, peer: NeighborState, graceful: bool, now: float) -> None:
        key = peer.settings.key
        caps = peer.caps
        if self.deferring and key not in self._expected:
            self._wait.pop(key, None)
            self._check_deferral()
        if not graceful or caps is None or (caps.gr_restart_time is None and not caps.llgr):
            for fam in list(peer.rib_in):
                self._flush(peer, fam, "session down without graceful restart", all_=True)
            return
        gr_fams = (caps.gr_families or caps.families) if caps.gr_restart_time is not None else ()
        restart = caps.gr_restart_time or 0.0
        for fam, rib in list(peer.rib_in.items()):
            in_gr = fam in gr_fams
            if not (in_gr or fam in caps.llgr):
                self._flush(peer, fam, "family not covered by graceful restart", all_=True)
                continue
            for p in rib.values():
                p.stale = True
            if in_gr and restart > 0:
                self._stale[(key, fam)] = _Stale(StalePhase.GR, now + restart)
            else:
                self._enter_llgr(peer, fam, now)

    def established(self, peer: NeighborState, fams: frozenset[Family], now: float) -> None:
        key = peer.settings.key
        caps = peer.caps
        assert caps is not None
        for fam in [f for f in peer.rib_in if f not in fams]:
            self._flush(peer, fam, "family not negotiated", all_=True)
            del peer.rib_in[fam]
        has_gr = caps.gr_restart_time is not None or bool(caps.llgr)
        for (k, fam), st in list(self._stale.items()):
            if k != key:
                continue
            if not has_gr:
                self._flush(peer, fam, "reconnected without graceful restart")
            elif fam not in caps.gr_forwarding:
                self._flush(peer, fam, "forwarding state not preserved")
            else:
                st.phase = StalePhase.WAIT_EOR
                st.deadline = now + peer.settings.stale_path_time
        if self.deferring:
            # RFC 4724 §4.1: neighbors without the GR capability are not waited for
            self._wait[key] = set(fams) if has_gr else set()
            self._check_deferral()

    def eor_received(self, peer: NeighborState, fam: Family, now: float) -> None:
        key = peer.settings.key
        st = self._stale.get((key, fam))
        if st is not None:  # phase WAIT_EOR (the session is up)
            self._flush(peer, fam, "End-of-RIB received")
        if self.deferring:
            owing = self._wait.get(key)
            if owing is not None:
                owing.discard(fam)
                self._check_deferral()

    def forget(self, key: str) -> None:
        for sk in [sk for sk in self._stale if sk[0] == key]:
            del self._stale[sk]
        self._wait.pop(key, None)
        if self.deferring:
            self._check_deferral()

    # ------------------------------------------------------------------ timers

    def next_timer(self) -> float | None:
        deadlines = [st.deadline for st in self._stale.values()]
        if self.deferring:
            deadlines.append(self._defer_deadline)
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> None:
        if self.deferring and now >= self._defer_deadline:
            self.deferring = False
            self._r.deferral_ended("timer")
        for (key, fam), st in list(self._stale.items()):
            if st.deadline > now or self._stale.get((key, fam)) is not st:
                continue
            peer = self._r.peer(key)
            caps = peer.caps
            if st.phase is StalePhase.GR and caps is not None and fam in caps.llgr:
                self._enter_llgr(peer, fam, now)
            else:
                self._flush(peer, fam, f"{st.phase.value} timer expired")

    # ------------------------------------------------------------------ helpers

    def _check_deferral(self) -> None:
        if self.deferring and all(v is not None and not v for v in self._wait.values()):
            self.deferring = False
            self._r.deferral_ended("eor")

    def _flush(self, peer: NeighborState, fam: Family, reason: str, *, all_: bool = False) -> None:
        key = peer.settings.key
        had = self._stale.pop((key, fam), None)
        n = self._r.flush(peer, fam, only_stale=not all_)
        if had is not None or (n and not all_):
            self._r.emit(StaleFlushed(key=key, family=fam, count=n, reason=reason))

    def _enter_llgr(self, peer: NeighborState, fam: Family, now: float) -> None:
        caps = peer.caps
        stale_time = caps.llgr.get(fam, 0.0) if caps is not None else 0.0
        cap = peer.settings.llgr_max_stale_time
        if cap is not None:
            stale_time = min(stale_time, cap)
        if stale_time <= 0:
            self._flush(peer, fam, "graceful restart timer expired")
            return
        r = self._r
        intern = r.intern_table
        rib = peer.rib_in[fam]
        table = r.table(fam)
        for rk, p in list(rib.items()):
            if not p.stale or p.llgr_stale:
                continue
            if NO_LLGR in p.attrs.communities:
                del rib[rk]
                r.set_path(table, rk >> 32, (peer.ref.index, rk & 0xFFFFFFFF), None, p)
                continue
            attrs = intern.derive(p.attrs, add_community(p.attrs.raw, LLGR_STALE))
            new = Path(
                peer=p.peer,
                path_id=p.path_id,
                attrs=attrs,
                stale=True,
                llgr_stale=True,
                since=p.since,
            )
            r.replace_path(peer, fam, rk, new)
        self._stale[(peer.settings.key, fam)] = _Stale(StalePhase.LLGR, now + stale_time)
