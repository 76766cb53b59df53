"""Kernel routes (docs/kernel.md): the reflector installs its best routes into the kernel
of its namespace. Two gobgpd clients announce routes; the reflector's routing table is
read with pyroute2 and watched over netlink.

* install, next-hop change (replace), withdraw, ECMP over both clients, a next hop that
  is the reflector itself (not installed), a recursive next hop, an unreachable one;
* a clean stop (SIGUSR2: withdraw everything) removes exactly our routes: other
  protocols' routes of the same prefix and table, and our protocol's in another table,
  stay;
* a graceful stop keeps the routes and a restart with ``-r`` deletes none of those
  learned again; leftovers (withdrawn while the reflector was down, or from a client
  that does not come back) go only when the selection deferral ends;
* a start without ``-r`` deletes the leftovers of a previous run.

bgprr only (gobgpd needs FRR's zebra for this).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.configs import ASN
from conformance.daemons import GobgpClient, Reflector
from conformance.netns import Lab, RouteWatcher, wait_for

RR = "10.0.0.250"
C1, C2 = "10.0.0.11", "10.0.0.12"
PROTO = 186
OWN1, OWN2, SHARED = "10.101.0.0/24", "10.102.0.0/24", "10.200.0.0/24"
DEFERRAL = 20  # seconds: the restarting reflector's selection deferral


@pytest.fixture(autouse=True)
def _bgprr_only(rr_kind: str) -> None:
    if rr_kind != "bgprr":
        pytest.skip("kernel routes are a bgprr feature (gobgpd needs zebra)")


def rr_toml(*, multipath: bool = True, deferral: int = 30, table: int = 254) -> str:
    out = [
        "[global.config]",
        f"  as = {ASN}",
        f'  router-id = "{RR}"',
        "[zebra.config]",
        "  enabled = true",
        '  url = "unix:/var/run/frr/zserv.api"  # accepted, no effect',
    ]
    if table != 254:
        out.append(f"  kernel-table = {table}")
    if multipath:
        out += ["[global.use-multiple-paths.config]", "  enabled = true"]
    for addr in (C1, C2):
        out += [
            "[[neighbors]]",
            "  [neighbors.config]",
            f'    neighbor-address = "{addr}"',
            f"    peer-as = {ASN}",
            "  [neighbors.transport.config]",
            "    passive-mode = true",
            "  [neighbors.route-reflector.config]",
            "    route-reflector-client = true",
            f'    route-reflector-cluster-id = "{RR}"',
            "  [neighbors.graceful-restart.config]",
            "    enabled = true",
            "    restart-time = 30",
            f"    deferral-time = {deferral}",
            "  [[neighbors.afi-safis]]",
            "    [neighbors.afi-safis.config]",
            '      afi-safi-name = "ipv4-unicast"',
            "    [neighbors.afi-safis.mp-graceful-restart.config]",
            "      enabled = true",
        ]
    return "\n".join(out) + "\n"


class Setup:
    def __init__(self, lab: Lab, toml: str, statics1: list[str], statics2: list[str]) -> None:
        self.lab = lab
        self.rr = Reflector(lab, "bgprr", "rr", RR, _dummy_cfg())
        self.rr.conf_path.write_text(toml)
        self.c1 = GobgpClient(lab, "c1", C1, [RR], statics1)
        self.c2 = GobgpClient(lab, "c2", C2, [RR], statics2)
        self.ns = self.rr.host.ns

    def start(self, *, graceful_restart: bool = False) -> None:
        self.rr.start(graceful_restart=graceful_restart)
        for c in (self.c1, self.c2):
            if not c.proc_alive():
                c.start()

    def ours(self) -> dict[str, Any]:
        """Our protocol's routes in the main table."""
        return self.lab.routes(self.ns, 2, proto=PROTO)

    def gateway(self, prefix: str) -> Any:
        r = self.ours().get(prefix)
        return None if r is None else r["gateway"]

    def wait_gateway(self, prefix: str, gw: str | None, timeout: float = 20) -> None:
        wait_for(lambda: self.gateway(prefix) == gw, timeout, 0.2,
                 f"{prefix} via {gw} (now {self.gateway(prefix)})")  # fmt: skip

    def ip(self, *args: str) -> None:
        self.lab.run(self.ns, ["ip", *args], check=True)

    def rib(self, c: GobgpClient, op: str, prefix: str, nexthop: str) -> None:
        argv = ["global", "rib", op, prefix, "nexthop", nexthop, "-a", "ipv4"]
        res = c.gobgp(*argv)
        assert res.returncode == 0, res.stderr

    def stop_rr(self, sig: int) -> None:
        proc = self.rr.proc
        assert proc is not None
        proc.signal(sig)
        proc.popen.wait(15)


def _dummy_cfg() -> Any:
    from conformance.configs import RRConfig

    return RRConfig(router_id=RR)


def _table(lab: Lab, ns: str, table: int) -> dict[str, Any]:
    out = lab.run(ns, ["ip", "-4", "route", "show", "table", str(table), "proto", str(PROTO)])
    return {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}


@pytest.fixture
def watch() -> Iterator[list[RouteWatcher]]:
    made: list[RouteWatcher] = []
    yield made
    for w in made:
        w.close()


def test_install_replace_withdraw_ecmp(lab: Lab) -> None:
    s = Setup(lab, rr_toml(), [OWN1, SHARED], [OWN2, SHARED])
    s.start()
    s.wait_gateway(OWN1, C1)
    s.wait_gateway(OWN2, C2)
    s.wait_gateway(SHARED, f"{C1},{C2}")  # both equal-cost paths
    assert all(r["proto"] == PROTO for r in s.ours().values())

    # next-hop change: replaced in place
    s.rib(s.c1, "add", OWN1, "10.0.0.13")
    s.wait_gateway(OWN1, "10.0.0.13")
    # one path of the ECMP route withdrawn, then the other
    s.rib(s.c1, "del", SHARED, C1)
    s.wait_gateway(SHARED, C2)
    s.rib(s.c2, "del", SHARED, C2)
    s.wait_gateway(SHARED, None)
    s.rib(s.c2, "del", OWN2, C2)
    s.wait_gateway(OWN2, None)

    # recursive: 172.16.0.1 is reached through 10.0.0.12 (an IGP route of the host)
    s.ip("route", "add", "172.16.0.0/16", "via", C2, "proto", "static")
    s.rib(s.c1, "add", "10.105.0.0/24", "172.16.0.1")
    s.wait_gateway("10.105.0.0/24", C2)
    # a next hop that is the reflector itself, and one nobody reaches: not installed
    s.rib(s.c1, "add", "10.103.0.0/24", RR)
    s.rib(s.c1, "add", "10.106.0.0/24", "192.0.2.99")
    s.rib(s.c1, "add", "10.104.0.0/24", C1)  # a marker, sent after the two
    s.wait_gateway("10.104.0.0/24", C1)
    time.sleep(0.5)
    ours = s.ours()
    assert "10.103.0.0/24" not in ours and "10.106.0.0/24" not in ours, ours


def test_without_multipath_one_next_hop(lab: Lab) -> None:
    s = Setup(lab, rr_toml(multipath=False), [SHARED], [SHARED])
    s.start()
    wait_for(lambda: s.gateway(SHARED) in (C1, C2), 20, 0.2, "shared route")
    time.sleep(1)
    assert s.gateway(SHARED) in (C1, C2)  # never both


def test_clean_stop_removes_exactly_ours(lab: Lab) -> None:
    s = Setup(lab, rr_toml(), [OWN1, SHARED], [OWN2])
    s.start()
    s.wait_gateway(SHARED, C1)
    s.wait_gateway(OWN2, C2)
    # other protocols' routes: the same prefix at another metric, another prefix; and a
    # route of our protocol number in another table
    s.ip("route", "add", OWN1, "via", C2, "proto", "static", "metric", "5")
    s.ip("route", "add", "198.51.100.0/24", "via", C2, "proto", "boot")
    s.ip("route", "add", "198.51.101.0/24", "via", C2, "proto", str(PROTO), "table", "100")
    s.stop_rr(signal.SIGUSR2)  # stop withdrawing everything
    assert s.ours() == {}
    rest = lab.routes(s.ns, 2)
    assert rest[OWN1]["proto"] == 4 and rest[OWN1]["gateway"] == C2  # static stays
    assert "198.51.100.0/24" in rest
    assert "198.51.101.0/24" in _table(lab, s.ns, 100)


def test_graceful_restart_keeps_routes_and_reconciles_at_deferral_end(
    lab: Lab, watch: list[RouteWatcher]
) -> None:
    s = Setup(lab, rr_toml(deferral=DEFERRAL), [OWN1, SHARED], [OWN2])
    s.start()
    s.wait_gateway(OWN1, C1)
    s.wait_gateway(OWN2, C2)
    s.wait_gateway(SHARED, C1)
    w = RouteWatcher(s.ns, proto=PROTO)
    watch.append(w)
    s.stop_rr(signal.SIGTERM)  # GR configured: a graceful stop, routes kept
    assert set(s.ours()) == {OWN1, OWN2, SHARED}
    s.c2.stop()  # c2 will not come back
    s.rib(s.c1, "del", SHARED, C1)  # withdrawn while the reflector is down
    t0 = time.monotonic()
    s.rr.start(graceful_restart=True)
    # c1 comes back (gobgpd retries within about 10 s) and sends its End-of-RIB; the
    # deferral still waits for c2: nothing is written or deleted before its end
    wait_for(lambda: s.c1.established() == 1, DEFERRAL - 3, 0.2, "c1 back")
    time.sleep(1)
    assert time.monotonic() - t0 < DEFERRAL - 1
    assert set(s.ours()) == {OWN1, OWN2, SHARED}
    assert w.deleted == []
    wait_for(lambda: set(s.ours()) == {OWN1}, DEFERRAL + 10, 0.2, "leftovers deleted")
    assert time.monotonic() - t0 >= DEFERRAL - 1  # at the deferral's end, not before
    assert sorted(w.deleted) == sorted([OWN2, SHARED]), w.events
    assert OWN1 not in w.added  # learned again with the same next hop: untouched


def test_start_without_r_deletes_leftovers(lab: Lab, watch: list[RouteWatcher]) -> None:
    s = Setup(lab, rr_toml(), [OWN1], [])
    # a previous run's routes: one that will be learned again, one that will not
    s.ip("route", "add", OWN1, "via", C1, "proto", str(PROTO), "metric", "20")
    s.ip("route", "add", "10.150.0.0/24", "via", C1, "proto", str(PROTO), "metric", "20")
    s.start()
    s.wait_gateway(OWN1, C1)
    wait_for(lambda: "10.150.0.0/24" not in s.ours(), 20, 0.2, "leftover deleted")
    assert set(s.ours()) == {OWN1}


def test_other_table(lab: Lab) -> None:
    s = Setup(lab, rr_toml(table=100), [OWN1], [])
    s.start()
    wait_for(lambda: OWN1 in _table(lab, s.ns, 100), 20, 0.2, "route in table 100")
    assert s.ours() == {}  # nothing in main
    s.stop_rr(signal.SIGUSR2)
    assert _table(lab, s.ns, 100) == {}


def test_ecmp_replace_both_families_through_the_writer(lab: Lab) -> None:
    """KernelSync alone (conformance/kernel_driver.py): single -> multipath -> single ->
    gone, IPv4 and IPv6 (the kernel replaces IPv6 multipath routes differently)."""
    host = lab.add_host("k", "10.0.0.5", "fd00::5")
    a4, b4, a6, b6 = "10.0.0.21", "10.0.0.22", "fd00::21", "fd00::22"
    p4, p6 = "10.88.0.0/16", "2001:db8:88::/48"
    steps = [
        [[p4, [a4]], [p6, [a6]]],
        [[p4, [a4, b4]], [p6, [a6, b6]]],
        [[p4, [b4]], [p6, [b6]]],
        [[p4, [a4, b4]], [p6, [b6, a6]]],
        [[p4, []], [p6, []]],
        [[p4, [a4]], [p6, [a6]]],
    ]
    res = lab.run(host.ns, [sys.executable, "-m", "conformance.kernel_driver", json.dumps(steps)],
                  timeout=60)  # fmt: skip
    assert res.returncode == 0, res.stderr
    snaps = json.loads(res.stdout)
    want = [
        {p4: [a4], p6: [a6]},
        {p4: [a4, b4], p6: [a6, b6]},
        {p4: [b4], p6: [b6]},
        {p4: [a4, b4], p6: [a6, b6]},
        {},
        {p4: [a4], p6: [a6]},
        {},  # after the clean stop
    ]
    assert snaps == want
