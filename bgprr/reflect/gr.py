"""Graceful restart as a pure machine: helper mode (RFC 4724, long-lived RFC 9494) and the
restarting speaker's selection deferral.

:class:`GrMachine` holds no path. Its inputs are the engine's session events and the
clock (``peer_down``, ``peer_established``, ``eor_received``, ``forget``, ``configure``,
``handle_timer(now)``); each returns a list of :data:`GrAction` that the owner applies to
its Adj-RIB-In and Loc-RIB, in order:

* :class:`MarkStale`: mark every path of the neighbor's family stale (kept, still used);
* :class:`DropPaths`: remove its stale paths (or all of them); the owner reports a
  ``StaleFlushed`` event when ``report`` is set, or when ``only_stale`` and it removed any;
* :class:`EnterLlgr`: re-mark the stale paths LLGR-stale (LLGR_STALE community added;
  paths with NO_LLGR removed);
* :class:`DeferralEnded`: the restarting speaker may send its tables now.

Helper, per neighbor and family:

* Down with ``graceful=True`` after a session that negotiated GR (or LLGR): paths in the
  families of its GR capability are marked stale for its restart time (phase GR); other
  families are dropped. Without GR, or not graceful, everything is dropped.
* GR timer: a family of its LLGR capability with a long-lived stale time > 0 (capped by
  the configured ``llgr_max_stale_time``) enters phase LLGR; others are dropped. A GR
  restart time of 0 with LLGR enters LLGR at once.
* Reconnect: without the GR/LLGR capability, or a family without the F bit, its stale
  paths are dropped; otherwise phase WAIT_EOR until End-of-RIB (then the paths not
  re-announced are swept) or ``stale_path_time`` (then they are dropped).
* Going down again while stale paths are held restarts the procedure.

Restarting speaker (``restarting=True``): no output until every expected neighbor and
every neighbor that reached Established with the GR (or LLGR) capability has sent
End-of-RIB for all its families (RFC 4724 §4.1: neighbors without the capability are not
waited for), or the deferral deadline passed. An established neighbor that is not
expected and goes down is not waited for.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bgprr.wire.constants import Family

__all__ = [
    "DeferralEnded",
    "DropPaths",
    "EnterLlgr",
    "GrAction",
    "GrCaps",
    "GrMachine",
    "MarkStale",
    "StalePhase",
]


class StalePhase(enum.Enum):
    GR = "gr"  # session down, within the restart time
    LLGR = "llgr"  # session down (or up, waiting for EoR), long-lived stale
    WAIT_EOR = "wait-eor"  # session back, waiting for End-of-RIB


@dataclass(frozen=True, slots=True, kw_only=True)
class GrCaps:
    """What the machine needs of a session's negotiated capabilities.

    ``restart_time`` None: no GR capability. ``gr_families``: families in the GR
    capability (empty: all ``families``); ``forwarding``: those with the F bit;
    ``llgr``: family -> long-lived stale time of the LLGR capability."""

    families: frozenset[Family] = frozenset()
    restart_time: float | None = None
    gr_families: frozenset[Family] = frozenset()
    forwarding: frozenset[Family] = frozenset()
    llgr: Mapping[Family, float] = field(default_factory=dict)

    @property
    def graceful(self) -> bool:
        return self.restart_time is not None or bool(self.llgr)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkStale:
    key: str
    family: Family


@dataclass(frozen=True, slots=True, kw_only=True)
class DropPaths:
    key: str
    family: Family
    only_stale: bool
    reason: str
    report: bool  # report even when nothing was removed


@dataclass(frozen=True, slots=True, kw_only=True)
class EnterLlgr:
    key: str
    family: Family
    stale_time: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DeferralEnded:
    reason: str  # "eor" or "timer"


GrAction = MarkStale | DropPaths | EnterLlgr | DeferralEnded


class _Stale:
    __slots__ = ("deadline", "phase")

    def __init__(self, phase: StalePhase, deadline: float) -> None:
        self.phase = phase
        self.deadline = deadline


class _Config:
    __slots__ = ("llgr_max_stale_time", "stale_path_time")

    def __init__(self, stale_path_time: float, llgr_max_stale_time: float | None) -> None:
        self.stale_path_time = stale_path_time
        self.llgr_max_stale_time = llgr_max_stale_time


_DEFAULT_CONFIG = _Config(360.0, None)


class GrMachine:
    """GR/LLGR helper state per neighbor and family, and the restarting-speaker deferral."""

    __slots__ = (
        "_caps",
        "_config",
        "_defer_deadline",
        "_deferring",
        "_expected",
        "_stale",
        "_wait",
    )

    def __init__(
        self, *, restarting: bool, defer_deadline: float, expected: frozenset[str] = frozenset()
    ) -> None:
        self._deferring = restarting
        self._defer_deadline = defer_deadline
        self._expected = expected
        # neighbor -> families still owing End-of-RIB (None: not established yet)
        self._wait: dict[str, set[Family] | None] = dict.fromkeys(expected)
        self._stale: dict[tuple[str, Family], _Stale] = {}
        self._caps: dict[str, GrCaps] = {}  # of the neighbor's last session
        self._config: dict[str, _Config] = {}

    # ------------------------------------------------------------------ queries

    @property
    def deferring(self) -> bool:
        """Restarting speaker: output is held back."""
        return self._deferring

    @property
    def deferral_deadline(self) -> float:
        """Restarting speaker: when the deferral ends at the latest."""
        return self._defer_deadline

    def owing(self) -> tuple[list[str], int]:
        """Restarting speaker: the neighbors that still owe End-of-RIB (not yet up, or up
        with families still owing it), sorted, and how many neighbors are waited for."""
        owe = sorted(k for k, v in self._wait.items() if v is None or v)
        return owe, len(self._wait)

    def awaits(self, key: str) -> bool:
        """Restarting speaker: ``key`` is expected (saved state, or up with GR) and has
        not sent End-of-RIB for every family yet."""
        if not self._deferring or key not in self._wait:
            return False
        owing = self._wait[key]
        return owing is None or bool(owing)

    def phase(self, key: str, fam: Family) -> StalePhase | None:
        st = self._stale.get((key, fam))
        return None if st is None else st.phase

    def next_timer(self) -> float | None:
        deadlines = [st.deadline for st in self._stale.values()]
        if self._deferring:
            deadlines.append(self._defer_deadline)
        return min(deadlines) if deadlines else None

    # ------------------------------------------------------------------ inputs

    def configure(
        self, key: str, *, stale_path_time: float, llgr_max_stale_time: float | None
    ) -> None:
        """The neighbor's helper settings (read when they are used)."""
        self._config[key] = _Config(stale_path_time, llgr_max_stale_time)

    def peer_down(
        self, key: str, *, graceful: bool, families: Iterable[Family], now: float
    ) -> list[GrAction]:
        """The session went down; ``families``: those its Adj-RIB-In holds."""
        out: list[GrAction] = []
        if self._deferring and key not in self._expected:
            self._wait.pop(key, None)
            self._check_deferral(out)
        caps = self._caps.get(key)
        if not graceful or caps is None or not caps.graceful:
            for fam in families:
                self._drop(out, key, fam, "session down without graceful restart", all_=True)
            return out
        gr_fams = (caps.gr_families or caps.families) if caps.restart_time is not None else ()
        llgr = caps.llgr
        restart = caps.restart_time or 0.0
        for fam in families:
            in_gr = fam in gr_fams
            if not (in_gr or fam in llgr):
                self._drop(out, key, fam, "family not covered by graceful restart", all_=True)
                continue
            out.append(MarkStale(key=key, family=fam))
            if in_gr and restart > 0:
                self._stale[(key, fam)] = _Stale(StalePhase.GR, now + restart)
            else:
                self._enter_llgr(out, key, fam, now)
        return out

    def peer_established(
        self,
        key: str,
        caps: GrCaps,
        *,
        families: frozenset[Family],
        held: Iterable[Family],
        now: float,
    ) -> list[GrAction]:
        """The session is up in ``families``; ``held``: families its Adj-RIB-In holds."""
        out: list[GrAction] = []
        self._caps[key] = caps
        for fam in held:
            if fam not in families:
                self._drop(out, key, fam, "family not negotiated", all_=True)
        has_gr = caps.graceful
        wait = self._config.get(key, _DEFAULT_CONFIG).stale_path_time
        for (k, fam), st in list(self._stale.items()):
            if k != key:
                continue
            if not has_gr:
                self._drop(out, key, fam, "reconnected without graceful restart")
            elif fam not in caps.forwarding:
                self._drop(out, key, fam, "forwarding state not preserved")
            else:
                st.phase = StalePhase.WAIT_EOR
                st.deadline = now + wait
        if self._deferring:
            # RFC 4724 §4.1: neighbors without the GR capability are not waited for
            self._wait[key] = set(families) if has_gr else set()
            self._check_deferral(out)
        return out

    def eor_received(self, key: str, fam: Family, now: float) -> list[GrAction]:
        out: list[GrAction] = []
        if (key, fam) in self._stale:  # phase WAIT_EOR (the session is up)
            self._drop(out, key, fam, "End-of-RIB received")
        if self._deferring:
            owing = self._wait.get(key)
            if owing is not None:
                owing.discard(fam)
                self._check_deferral(out)
        return out

    def forget(self, key: str) -> list[GrAction]:
        """The neighbor is removed (its paths are gone): nothing is held or awaited."""
        out: list[GrAction] = []
        for sk in [sk for sk in self._stale if sk[0] == key]:
            del self._stale[sk]
        self._wait.pop(key, None)
        self._caps.pop(key, None)
        self._config.pop(key, None)
        self._check_deferral(out)
        return out

    def handle_timer(self, now: float) -> list[GrAction]:
        out: list[GrAction] = []
        if self._deferring and now >= self._defer_deadline:
            self._deferring = False
            out.append(DeferralEnded(reason="timer"))
        for (key, fam), st in list(self._stale.items()):
            if st.deadline > now:
                continue
            caps = self._caps.get(key)
            if st.phase is StalePhase.GR and caps is not None and fam in caps.llgr:
                self._enter_llgr(out, key, fam, now)
            else:
                self._drop(out, key, fam, f"{st.phase.value} timer expired")
        return out

    # ------------------------------------------------------------------ helpers

    def _check_deferral(self, out: list[GrAction]) -> None:
        if self._deferring and all(v is not None and not v for v in self._wait.values()):
            self._deferring = False
            out.append(DeferralEnded(reason="eor"))

    def _drop(
        self, out: list[GrAction], key: str, fam: Family, reason: str, *, all_: bool = False
    ) -> None:
        had = self._stale.pop((key, fam), None)
        report = had is not None
        out.append(
            DropPaths(key=key, family=fam, only_stale=not all_, reason=reason, report=report)
        )

    def _enter_llgr(self, out: list[GrAction], key: str, fam: Family, now: float) -> None:
        caps = self._caps.get(key)
        stale_time = caps.llgr.get(fam, 0.0) if caps is not None else 0.0
        cap = self._config.get(key, _DEFAULT_CONFIG).llgr_max_stale_time
        if cap is not None:
            stale_time = min(stale_time, cap)
        if stale_time <= 0:
            self._drop(out, key, fam, "graceful restart timer expired")
            return
        out.append(EnterLlgr(key=key, family=fam, stale_time=stale_time))
        self._stale[(key, fam)] = _Stale(StalePhase.LLGR, now + stale_time)
