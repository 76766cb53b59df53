"""The graceful-restart machine alone: inputs and a fake clock in, actions out."""

from __future__ import annotations

from bgprr.reflect.gr import (
    DeferralEnded,
    DropPaths,
    EnterLlgr,
    GrAction,
    GrCaps,
    GrMachine,
    MarkStale,
    StalePhase,
)
from bgprr.wire.constants import IPV4_UNICAST, IPV6_UNICAST

V4 = IPV4_UNICAST
V6 = IPV6_UNICAST
BOTH = frozenset({V4, V6})
GR = GrCaps(families=BOTH, restart_time=120.0, forwarding=BOTH)
LLGR = GrCaps(families=BOTH, restart_time=120.0, forwarding=BOTH, llgr={V4: 3600.0})
PLAIN = GrCaps(families=BOTH)


def helper(caps: GrCaps = GR, *, now: float = 0.0, key: str = "a") -> GrMachine:
    m = GrMachine(restarting=False, defer_deadline=0.0)
    m.configure(key, stale_path_time=300.0, llgr_max_stale_time=None)
    assert m.peer_established(key, caps, families=BOTH, held=[], now=now) == []
    return m


def drop(fam: object, reason: str, *, only_stale: bool = True, report: bool = True) -> DropPaths:
    assert isinstance(fam, tuple)
    return DropPaths(key="a", family=fam, only_stale=only_stale, reason=reason, report=report)


def down(m: GrMachine, *, graceful: bool = True, now: float = 10.0) -> list[GrAction]:
    return m.peer_down("a", graceful=graceful, families=[V4, V6], now=now)


# ---------------------------------------------------------------------- helper: GR


def test_graceful_down_marks_stale_for_restart_time() -> None:
    m = helper()
    assert down(m) == [MarkStale(key="a", family=V4), MarkStale(key="a", family=V6)]
    assert m.phase("a", V4) is StalePhase.GR
    assert m.next_timer() == 130.0


def test_non_graceful_down_drops_everything_without_report() -> None:
    m = helper()
    out = down(m, graceful=False)
    reason = "session down without graceful restart"
    assert out == [
        drop(V4, reason, only_stale=False, report=False),
        drop(V6, reason, only_stale=False, report=False),
    ]
    assert m.next_timer() is None


def test_graceful_down_without_gr_capability_drops() -> None:
    m = helper(PLAIN)
    out = down(m)
    assert all(isinstance(a, DropPaths) and not a.only_stale for a in out)
    assert m.phase("a", V4) is None


def test_down_before_established_drops() -> None:
    m = GrMachine(restarting=False, defer_deadline=0.0)
    out = m.peer_down("a", graceful=True, families=[V4], now=0.0)
    assert out == [
        drop(V4, "session down without graceful restart", only_stale=False, report=False)
    ]


def test_family_outside_gr_capability_dropped() -> None:
    m = helper(GrCaps(families=BOTH, restart_time=120.0, gr_families=frozenset({V4})))
    out = down(m)
    assert out == [
        MarkStale(key="a", family=V4),
        drop(V6, "family not covered by graceful restart", only_stale=False, report=False),
    ]


def test_gr_families_empty_means_all_families() -> None:
    m = helper(GrCaps(families=frozenset({V6}), restart_time=5.0))
    out = m.peer_down("a", graceful=True, families=[V6], now=0.0)
    assert out == [MarkStale(key="a", family=V6)]


def test_gr_timer_expiry_drops_stale_paths() -> None:
    m = helper()
    down(m)
    assert m.handle_timer(129.9) == []
    out = m.handle_timer(130.0)
    assert out == [drop(V4, "gr timer expired"), drop(V6, "gr timer expired")]
    assert m.next_timer() is None
    assert m.handle_timer(1000.0) == []


def test_no_families_held_no_actions() -> None:
    m = helper()
    assert m.peer_down("a", graceful=True, families=[], now=0.0) == []
    assert m.next_timer() is None


# ---------------------------------------------------------------------- helper: LLGR


def test_gr_timer_enters_llgr_for_llgr_families() -> None:
    m = helper(LLGR)
    down(m)
    out = m.handle_timer(130.0)
    assert out == [
        EnterLlgr(key="a", family=V4, stale_time=3600.0),
        drop(V6, "gr timer expired"),
    ]
    assert m.phase("a", V4) is StalePhase.LLGR
    assert m.next_timer() == 3730.0


def test_llgr_expiry_drops() -> None:
    m = helper(LLGR)
    down(m)
    m.handle_timer(130.0)
    assert m.handle_timer(3730.0) == [drop(V4, "llgr timer expired")]
    assert m.phase("a", V4) is None


def test_restart_time_zero_enters_llgr_at_once() -> None:
    caps = GrCaps(families=BOTH, restart_time=0.0, forwarding=BOTH, llgr={V4: 60.0})
    m = helper(caps)
    out = down(m)
    assert out[:2] == [
        MarkStale(key="a", family=V4),
        EnterLlgr(key="a", family=V4, stale_time=60.0),
    ]
    assert m.phase("a", V4) is StalePhase.LLGR


def test_llgr_only_capability() -> None:
    m = helper(GrCaps(families=BOTH, llgr={V6: 100.0}))
    out = down(m, now=0.0)
    assert out == [
        drop(V4, "family not covered by graceful restart", only_stale=False, report=False),
        MarkStale(key="a", family=V6),
        EnterLlgr(key="a", family=V6, stale_time=100.0),
    ]


def test_llgr_stale_time_capped_by_config() -> None:
    m = helper(LLGR)
    m.configure("a", stale_path_time=300.0, llgr_max_stale_time=50.0)
    down(m)
    assert m.handle_timer(130.0)[0] == EnterLlgr(key="a", family=V4, stale_time=50.0)
    assert m.next_timer() == 180.0


def test_llgr_cap_zero_drops_at_gr_expiry() -> None:
    m = helper(LLGR)
    m.configure("a", stale_path_time=300.0, llgr_max_stale_time=0.0)
    down(m)
    assert m.handle_timer(130.0)[0] == drop(V4, "graceful restart timer expired")


def test_llgr_zero_stale_time_with_zero_restart_drops_at_once() -> None:
    m = helper(GrCaps(families=BOTH, restart_time=0.0, llgr={V4: 0.0}))
    out = m.peer_down("a", graceful=True, families=[V4], now=0.0)
    assert out == [
        MarkStale(key="a", family=V4),
        drop(V4, "graceful restart timer expired", report=False),
    ]


# ---------------------------------------------------------------------- reconnect


def test_reconnect_with_gr_waits_for_eor() -> None:
    m = helper()
    down(m)
    assert m.peer_established("a", GR, families=BOTH, held=[V4, V6], now=50.0) == []
    assert m.phase("a", V4) is StalePhase.WAIT_EOR
    assert m.next_timer() == 350.0  # stale_path_time


def test_eor_sweeps_stale_paths() -> None:
    m = helper()
    down(m)
    m.peer_established("a", GR, families=BOTH, held=[V4, V6], now=50.0)
    assert m.eor_received("a", V4, 60.0) == [drop(V4, "End-of-RIB received")]
    assert m.phase("a", V4) is None
    assert m.phase("a", V6) is StalePhase.WAIT_EOR


def test_eor_without_stale_state_does_nothing() -> None:
    m = helper()
    assert m.eor_received("a", V4, 1.0) == []


def test_stale_path_time_expiry_drops() -> None:
    m = helper()
    down(m)
    m.peer_established("a", GR, families=BOTH, held=[V4, V6], now=50.0)
    out = m.handle_timer(350.0)
    assert out == [drop(V4, "wait-eor timer expired"), drop(V6, "wait-eor timer expired")]


def test_reconnect_without_gr_drops_stale() -> None:
    m = helper()
    down(m)
    out = m.peer_established("a", PLAIN, families=BOTH, held=[V4, V6], now=50.0)
    assert out == [
        drop(V4, "reconnected without graceful restart"),
        drop(V6, "reconnected without graceful restart"),
    ]


def test_reconnect_without_f_bit_drops_that_family() -> None:
    m = helper()
    down(m)
    caps = GrCaps(families=BOTH, restart_time=120.0, forwarding=frozenset({V6}))
    out = m.peer_established("a", caps, families=BOTH, held=[V4, V6], now=50.0)
    assert out == [drop(V4, "forwarding state not preserved")]
    assert m.phase("a", V6) is StalePhase.WAIT_EOR


def test_family_not_negotiated_dropped_whole() -> None:
    m = helper()
    down(m)
    out = m.peer_established("a", GR, families=frozenset({V4}), held=[V4, V6], now=50.0)
    assert out == [drop(V6, "family not negotiated", only_stale=False, report=True)]
    assert m.phase("a", V4) is StalePhase.WAIT_EOR


def test_family_not_negotiated_without_stale_state_not_reported() -> None:
    m = helper()
    out = m.peer_established("a", GR, families=frozenset({V4}), held=[V4, V6], now=5.0)
    assert out == [drop(V6, "family not negotiated", only_stale=False, report=False)]


def test_reconnect_in_llgr_waits_for_eor() -> None:
    m = helper(LLGR)
    down(m)
    m.handle_timer(130.0)
    m.peer_established("a", LLGR, families=BOTH, held=[V4], now=200.0)
    assert m.phase("a", V4) is StalePhase.WAIT_EOR
    assert m.eor_received("a", V4, 210.0) == [drop(V4, "End-of-RIB received")]


def test_down_again_while_waiting_restarts_procedure() -> None:
    m = helper()
    down(m)
    m.peer_established("a", GR, families=BOTH, held=[V4, V6], now=50.0)
    assert down(m, now=60.0) == [MarkStale(key="a", family=V4), MarkStale(key="a", family=V6)]
    assert m.phase("a", V4) is StalePhase.GR
    assert m.next_timer() == 180.0


def test_non_graceful_down_while_waiting_reports() -> None:
    m = helper()
    down(m)
    m.peer_established("a", GR, families=BOTH, held=[V4, V6], now=50.0)
    out = down(m, graceful=False, now=60.0)
    reason = "session down without graceful restart"
    assert out == [
        drop(V4, reason, only_stale=False, report=True),
        drop(V6, reason, only_stale=False, report=True),
    ]


def test_forget_clears_state() -> None:
    m = helper()
    down(m)
    assert m.forget("a") == []
    assert m.phase("a", V4) is None
    assert m.next_timer() is None
    assert m.handle_timer(1e9) == []


def test_neighbors_are_independent() -> None:
    m = helper()
    m.configure("b", stale_path_time=10.0, llgr_max_stale_time=None)
    m.peer_established("b", GR, families=BOTH, held=[], now=0.0)
    down(m, now=0.0)
    assert m.peer_down("b", graceful=False, families=[V4], now=0.0)[0].key == "b"  # type: ignore[union-attr]
    assert m.phase("b", V4) is None
    assert m.phase("a", V4) is StalePhase.GR


def test_default_config_when_not_configured() -> None:
    m = GrMachine(restarting=False, defer_deadline=0.0)
    m.peer_established("x", GR, families=BOTH, held=[], now=0.0)
    m.peer_down("x", graceful=True, families=[V4], now=0.0)
    m.peer_established("x", GR, families=BOTH, held=[V4], now=1.0)
    assert m.next_timer() == 361.0


# ---------------------------------------------------------------------- restarting speaker


def restarting(expected: frozenset[str] = frozenset()) -> GrMachine:
    return GrMachine(restarting=True, defer_deadline=100.0, expected=expected)


def test_not_restarting_never_defers() -> None:
    m = GrMachine(restarting=False, defer_deadline=100.0)
    assert not m.deferring
    assert m.next_timer() is None


def test_deferral_ends_when_expected_peers_sent_eor() -> None:
    m = restarting(frozenset({"a", "b"}))
    assert m.deferring and m.next_timer() == 100.0
    assert m.peer_established("a", GR, families=frozenset({V4}), held=[], now=1.0) == []
    assert m.eor_received("a", V4, 2.0) == []
    assert m.deferring  # b has not come back
    m.peer_established("b", GR, families=BOTH, held=[], now=3.0)
    assert m.eor_received("b", V4, 4.0) == []
    assert m.eor_received("b", V6, 5.0) == [DeferralEnded(reason="eor")]
    assert not m.deferring
    assert m.next_timer() is None


def test_deferral_does_not_wait_for_non_gr_peers() -> None:
    m = restarting(frozenset({"a"}))
    assert m.peer_established("a", PLAIN, families=BOTH, held=[], now=1.0) == [
        DeferralEnded(reason="eor")
    ]


def test_deferral_waits_for_unexpected_gr_peer() -> None:
    m = restarting(frozenset({"a"}))
    m.peer_established("a", GR, families=frozenset({V4}), held=[], now=1.0)
    m.peer_established("dyn", GR, families=frozenset({V4}), held=[], now=1.0)
    assert m.eor_received("a", V4, 2.0) == []
    assert m.eor_received("dyn", V4, 3.0) == [DeferralEnded(reason="eor")]


def test_unexpected_peer_going_down_is_not_waited_for() -> None:
    m = restarting(frozenset({"a"}))
    m.peer_established("a", GR, families=frozenset({V4}), held=[], now=1.0)
    m.peer_established("dyn", GR, families=frozenset({V4}), held=[], now=1.0)
    m.eor_received("a", V4, 2.0)
    out = m.peer_down("dyn", graceful=False, families=[], now=3.0)
    assert out == [DeferralEnded(reason="eor")]


def test_expected_peer_going_down_still_waited_for() -> None:
    m = restarting(frozenset({"a"}))
    m.peer_established("a", GR, families=frozenset({V4}), held=[], now=1.0)
    assert m.peer_down("a", graceful=False, families=[], now=2.0) == []
    assert m.deferring


def test_deferral_timer_ends_deferral() -> None:
    m = restarting(frozenset({"a"}))
    assert m.handle_timer(99.0) == []
    assert m.handle_timer(100.0) == [DeferralEnded(reason="timer")]
    assert not m.deferring
    assert m.handle_timer(200.0) == []


def test_forget_expected_peer_ends_deferral() -> None:
    m = restarting(frozenset({"a"}))
    assert m.forget("a") == [DeferralEnded(reason="eor")]


def test_eor_of_unknown_family_keeps_waiting() -> None:
    m = restarting(frozenset({"a"}))
    m.peer_established("a", GR, families=frozenset({V4}), held=[], now=1.0)
    assert m.eor_received("a", V6, 2.0) == []
    assert m.deferring


def test_owing_lists_the_neighbors_still_owing_end_of_rib() -> None:
    m = restarting(frozenset({"a", "b"}))
    assert m.owing() == (["a", "b"], 2) and m.deferral_deadline == 100.0
    m.peer_established("a", GR, families=BOTH, held=[], now=1.0)
    m.peer_established("dyn", GR, families=frozenset({V4}), held=[], now=1.0)
    m.eor_received("a", V4, 2.0)
    assert m.owing() == (["a", "b", "dyn"], 3)  # a still owes IPv6
    m.eor_received("a", V6, 2.0)
    m.eor_received("dyn", V4, 2.0)
    assert m.owing() == (["b"], 3)
