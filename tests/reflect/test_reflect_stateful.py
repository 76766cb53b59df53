"""Stateful property test: the engine's output, as decoded by the receiving neighbors,
equals an independent, deliberately simple RFC 4456 reference model.

Neighbors: clients C1 C2 C3 (C3 without 4-octet AS), non-clients N1 N2 (N2 without 4-octet
AS), A1, an ADD-PATH client (sends path ids, receives every path), and E1, an eBGP
neighbor (NO_EXPORT paths are kept from it; its paths go to everyone). Every path has a
LOCAL_PREF unique to (neighbor, path id, variant), so the best path is simply the highest
LOCAL_PREF. Pulls are made with random budgets, the group log limit is tiny and only two
prefixes are encoded per round, so members lag, get detached, walk and rejoin all the time.
Graceful restart: sessions negotiate GR with the F bit (or not) and some LLGR, go down
gracefully or not, come back, send End-of-RIB; the clock jumps past every pending timer
(GR -> LLGR -> flush, or waiting for EoR -> flush).
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from bgprr.reflect import PeerCaps, PeerSettings, ReflectionEngine
from bgprr.wire.constants import IPV4_UNICAST, LLGR_STALE, NO_EXPORT
from bgprr.wire.prefix import make_key
from bgprr.wire.update import decode_update, end_of_rib
from tests.support.harness import Node, announce, block, drain, withdraw

F = IPV4_UNICAST
CID = 0xC0000001
RID = 0xC0000001
PEERS = ["C1", "C2", "C3", "N1", "N2", "A1", "E1"]
CLIENT = {"C1": True, "C2": True, "C3": True, "N1": False, "N2": False, "A1": True, "E1": False}
EBGP = {"E1"}  # an eBGP neighbor in AS 65100
AS2 = {"C3", "N2"}
PREFIXES = [make_key(0x0A010000 + (i << 8), 24) for i in range(3)] + [make_key(0x0A010000, 16)]
IDX = {p: i for i, p in enumerate(PEERS)}
LLGR_SENDERS = {"C1", "N2", "A1"}  # LLGR capability with a stale time
LLGR_VIEWERS = {"N1"}  # empty LLGR capability (as Calico's BIRD sends)


def bgp_id(p: str) -> int:
    return 0x0A000001 + IDX[p]


def nh(p: str) -> bytes:
    return bgp_id(p).to_bytes(4, "big")


def lp(p: str | None, pid: int, variant: int) -> int:
    idx = 9 if p is None else IDX[p]
    return 1000 + 100 * variant + 10 * idx + pid


LOCAL_NH = b"\x0a\x63\x00\x01"


class Model:
    """RFC 4456 in a few lines. paths[(peer, prefix, pid)] = (lp, state, no_export, med)
    with state "fresh", "stale" (GR) or "llgr" (long-lived stale: least preferred,
    LLGR_STALE added, only to LLGR-capable neighbors)."""

    def __init__(self) -> None:
        self.paths: dict[tuple[str | None, int, int], tuple[int, str, bool, int | None]] = {}

    def expected(self, viewer: str, llgr_ok: bool) -> Counter[tuple[int, bytes]]:
        out: Counter[tuple[int, bytes]] = Counter()
        for prefix in PREFIXES:
            cands = [
                (v[1] != "llgr", v[0], src, v[2], v[3])
                for (src, k, _pid), v in self.paths.items()
                if k == prefix
            ]
            if viewer == "A1":  # ADD-PATH: every path of the others
                for fresh, lpref, src, noexp, med in cands:
                    if src != viewer and (fresh or llgr_ok):
                        out[(prefix, self.sent_block(src, lpref, not fresh, noexp, med))] += 1
                continue
            if not cands:
                continue
            fresh, lpref, src, noexp, med = max(cands, key=lambda c: (c[0], c[1]))
            if src == viewer or not (fresh or llgr_ok):
                continue
            if viewer in EBGP:  # no LOCAL_PREF / reflection attributes, our AS prepended
                if not noexp:
                    out[(prefix, block(as_path=[65000], local_pref=None, next_hop=_nh(src)))] += 1
            elif src is None or src in EBGP or CLIENT[src] or CLIENT[viewer]:
                out[(prefix, self.sent_block(src, lpref, not fresh, noexp, med))] += 1
        return out

    @staticmethod
    def sent_block(src: str | None, lpref: int, llgr: bool, noexp: bool, med: int | None) -> bytes:
        comms = ([NO_EXPORT] if noexp else []) + ([LLGR_STALE] if llgr else [])
        if src is None:
            return block(local_pref=lpref, next_hop=LOCAL_NH, communities=comms)
        if src in EBGP:  # not reflected: LOCAL_PREF 100 added, nothing else
            return block(as_path=[65100], local_pref=100, next_hop=nh(src), med=med)
        return block(
            local_pref=lpref,
            next_hop=nh(src),
            originator_id=bgp_id(src),
            cluster_list=[CID],
            communities=comms,
        )


def _nh(src: str | None) -> bytes:
    return LOCAL_NH if src is None else nh(src)


class ReflectorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.r = ReflectionEngine(
            router_id=RID, local_as=65000, cluster_id=CID, now=0.0, log_limit=400, encode_keys=2
        )
        self.model = Model()
        self.nodes: dict[str, Node] = {}
        self.up: set[str] = set()
        self.gr: dict[str, bool] = {}  # last session negotiated GR
        self.llgr: dict[str, bool] = {}  # last session negotiated LLGR (stale time 500 s)
        self.phase: dict[str, str] = {}  # helper phase per neighbor: gr, llgr, wait
        self.llgr_ok: dict[str, bool] = {}  # this session may receive LLGR-stale paths
        for p in PEERS:
            self.r.configure_peer(
                PeerSettings(
                    key=p,
                    address=bgp_id(p),
                    asn=65100 if p in EBGP else 65000,
                    ebgp=p in EBGP,
                    client=CLIENT[p],
                    families=frozenset({F}),
                    addpath_send_max={F: 16} if p == "A1" else {},
                    stale_path_time=100.0,
                )
            )

    @initialize()
    def start(self) -> None:
        for p in PEERS:
            self._up(p, "gr")

    def _caps(self, p: str, mode: str) -> PeerCaps:
        return PeerCaps(
            bgp_id=bgp_id(p),
            as4=p not in AS2,
            families=frozenset({F}),
            addpath_rx=frozenset({F}) if p == "A1" else frozenset(),
            addpath_tx=frozenset({F}) if p == "A1" else frozenset(),
            gr_restart_time=None if mode == "nogr" or p in EBGP else 120.0,
            gr_forwarding=frozenset({F}) if mode == "gr" else frozenset(),
            llgr={F: 500.0} if p in LLGR_SENDERS and mode != "nogr" else {},
            llgr_capable=p in LLGR_VIEWERS and mode != "nogr",
        )

    def _up(self, p: str, mode: str) -> None:
        self.r.peer_established(p, self._caps(p, mode), self.now)
        self.nodes[p] = Node(
            p,
            as4=p not in AS2,
            addpath=frozenset({F}) if p == "A1" else frozenset(),
            ibgp=p not in EBGP,
        )
        self.up.add(p)
        if mode != "gr":  # reconnect without GR or without F bit: stale paths go now
            self._drop(p, only_stale=True)
            self.phase.pop(p, None)
        elif p in self.phase:
            self.phase[p] = "wait"
        self.gr[p] = mode != "nogr" and p not in EBGP
        self.llgr[p] = p in LLGR_SENDERS and mode != "nogr"
        self.llgr_ok[p] = (p in LLGR_VIEWERS or p in LLGR_SENDERS) and mode != "nogr"

    def _drop(self, p: str, *, only_stale: bool) -> None:
        for pk, (_lp, state, _ne, _med) in list(self.model.paths.items()):
            if pk[0] == p and (state != "fresh" or not only_stale):
                del self.model.paths[pk]

    # ------------------------------------------------------------------ rules

    @rule(
        p=st.sampled_from(PEERS),
        k=st.sampled_from(PREFIXES),
        v=st.integers(0, 2),
        pid=st.integers(1, 2),
        noexp=st.booleans(),
    )
    def announce(self, p: str, k: int, v: int, pid: int, noexp: bool) -> None:
        if p not in self.up:
            return
        if p != "A1":
            pid = 0
        if p in EBGP:
            lpref, med, noexp = 100, v, False
            attrs = block(as_path=[65100], local_pref=None, next_hop=nh(p), med=med)
        else:
            lpref, med = lp(p, pid, v), None
            comms = [NO_EXPORT] if noexp else []
            attrs = block(local_pref=lpref, next_hop=nh(p), communities=comms)
        for u in announce(
            [k],
            attrs,
            ids=[pid] if p == "A1" else None,
            addpath=p == "A1",
            ibgp=p not in EBGP,
        ):
            self.r.update_received(p, u, self.now)
        self.model.paths[(p, k, pid)] = (lpref, "fresh", noexp, med)

    @rule(p=st.sampled_from(PEERS), k=st.sampled_from(PREFIXES), pid=st.integers(1, 2))
    def withdraw(self, p: str, k: int, pid: int) -> None:
        if p not in self.up:
            return
        if p != "A1":
            pid = 0
        for u in withdraw([k], ids=[pid] if p == "A1" else None, addpath=p == "A1"):
            self.r.update_received(p, u, self.now)
        self.model.paths.pop((p, k, pid), None)

    @rule(k=st.sampled_from(PREFIXES), v=st.integers(0, 2))
    def originate(self, k: int, v: int) -> None:
        self.r.originate(F, k, block(local_pref=lp(None, 0, v), next_hop=LOCAL_NH), b"", self.now)
        self.model.paths[(None, k, 0)] = (lp(None, 0, v), "fresh", False, None)

    @rule(k=st.sampled_from(PREFIXES))
    def withdraw_local(self, k: int) -> None:
        self.r.withdraw_local(F, k, self.now)
        self.model.paths.pop((None, k, 0), None)

    @rule(p=st.sampled_from(PEERS), graceful=st.booleans())
    def down(self, p: str, graceful: bool) -> None:
        if p not in self.up:
            return
        self.r.peer_down(p, self.now, graceful=graceful)
        self.up.discard(p)
        del self.nodes[p]
        if graceful and self.gr[p]:
            for pk, (lpref, state, ne, med) in list(self.model.paths.items()):
                if pk[0] == p and state == "fresh":
                    self.model.paths[pk] = (lpref, "stale", ne, med)
            self.phase[p] = "gr"
        else:
            self._drop(p, only_stale=False)
            self.phase.pop(p, None)

    @rule(p=st.sampled_from(PEERS), mode=st.sampled_from(["gr", "gr", "nof", "nogr"]))
    def reconnect(self, p: str, mode: str) -> None:
        if p in self.up:
            return
        self._up(p, mode)

    @rule(p=st.sampled_from(PEERS))
    def end_of_rib(self, p: str) -> None:
        if p not in self.up:
            return
        self.r.update_received(p, decode_update(end_of_rib(F)), self.now)
        self._drop(p, only_stale=True)
        self.phase.pop(p, None)

    @rule()
    def timers_expire(self) -> None:
        self.now += 1000.0
        deadline = self.r.next_timer()
        if deadline is not None:
            assert deadline <= self.now
        self.r.handle_timer(self.now)
        for p, phase in list(self.phase.items()):
            if phase == "gr" and self.llgr[p]:
                for pk, (lpref, state, ne, med) in list(self.model.paths.items()):
                    if pk[0] == p and state == "stale":
                        self.model.paths[pk] = (lpref, "llgr", ne, med)
                self.phase[p] = "llgr"
            else:
                self._drop(p, only_stale=True)
                del self.phase[p]

    @rule(p=st.sampled_from(PEERS), budget=st.sampled_from([30, 100, 400, 5000]))
    def pull_some(self, p: str, budget: int) -> None:
        if p in self.up:
            self.nodes[p].feed(self.r.pull(p, budget))
            # mid-transfer too, the engine knows exactly what the neighbor holds
            node = self.nodes[p].table()
            sent = {(k, pid): blk for k, pid, blk, _nh in self.r.adj_rib_out(p, F)}
            assert sent.keys() == node.keys()
            if p not in AS2:
                assert sent == {kp: attrs for kp, (attrs, _nh) in node.items()}

    @rule(p=st.sampled_from(PEERS))
    def route_refresh(self, p: str) -> None:
        if p in self.up:
            self.r.route_refresh_received(p, F[0], F[1], 0, self.now)

    @rule()
    def drain_and_check(self) -> None:
        self.check()

    def check(self) -> None:
        drain(self.r, self.nodes, max_bytes=300)
        for p in self.up:
            got = Counter((k, attrs) for (k, _pid), (attrs, _nh) in self.nodes[p].table().items())
            want = self.model.expected(p, self.llgr_ok[p])
            assert got == want, (p, got, want)
            assert F in self.nodes[p].eor
            # what the engine believes it sent equals what the neighbor holds
            sent = Counter((k, blk) for k, _pid, blk, _nh in self.r.adj_rib_out(p, F))
            assert self.r.counters(p).advertised == sum(got.values())
            if p in AS2:
                assert sum(sent.values()) == sum(got.values())
            else:
                assert sent == got
        self.r.poll_events()

    @invariant()
    def intern_refs_match_paths(self) -> None:
        held = sum(len(self.r.adj_rib_in(p, F)) for p in PEERS)
        held += sum(1 for (src, _k, _pid) in self.model.paths if src is None)
        assert self.r.intern_table.stats()["refs"] == held

    def teardown(self) -> None:
        self.check()


ReflectorMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("BGPRR_STATEFUL_EXAMPLES", "40")),
    stateful_step_count=40,
    deadline=None,
)
TestReflectorModel = ReflectorMachine.TestCase


def test_adj_rib_out_mid_transfer_after_route_refresh() -> None:
    """Found by the machine above (3000 examples): after a ROUTE-REFRESH during a partial
    pull, adj_rib_out showed a reflected route with the attribute block of a locally
    originated one (the refresh's "unknown" marking replaced the entry's kind)."""
    m = ReflectorMachine()
    m.start()
    m.announce(k=PREFIXES[1], noexp=False, p="C1", pid=1, v=0)
    m.originate(k=PREFIXES[0], v=0)
    m.pull_some(budget=30, p="C2")
    m.route_refresh(p="C2")
    m.pull_some(budget=30, p="C2")  # asserts adj_rib_out == what C2 holds
    m.teardown()
