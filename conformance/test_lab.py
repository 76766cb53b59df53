"""Self-checks of the lab: the netlink route watcher and cleanup really work."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conformance.netns import RTPROT_BIRD, Lab, wait_for


def test_route_watcher_counts_bird_deletions(lab: Lab) -> None:
    h = lab.add_host("w1", "10.250.0.200", None)
    w = lab.watch_routes(h.ns)
    try:
        lab.run(h.ns, ["ip", "route", "add", "10.244.9.0/26", "via", "10.250.0.201",
                       "proto", str(RTPROT_BIRD)], check=True)
        lab.run(h.ns, ["ip", "route", "add", "10.244.8.0/26", "via", "10.250.0.201"],
                check=True)
        lab.run(h.ns, ["ip", "route", "del", "10.244.9.0/26"], check=True)
        lab.run(h.ns, ["ip", "route", "del", "10.244.8.0/26"], check=True)
        wait_for(lambda: w.deleted, 5, 0.05, "a deletion event")
        assert w.added == ["10.244.9.0/26"]
        assert w.deleted == ["10.244.9.0/26"]  # the proto-boot route is not counted
    finally:
        w.close()


def test_cleanup_removes_namespaces_and_processes(tmp_path: Path) -> None:
    the_lab = Lab(tmp_path, tag="c-")
    h = the_lab.add_host("x", "10.250.0.210", "fd00:250::210")
    pod = the_lab.add_pod(h, ["10.244.250.1"], ["fd00:244:0:ff::fe"])
    proc = the_lab.popen("sleeper", h.ns, ["sleep", "300"])
    names = [the_lab.fabric, h.ns, pod]
    the_lab.cleanup()
    assert not proc.alive()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for name in names:
        assert name not in listed


BIRD16 = """BIRD 1.6.8 ready.
10.244.200.2/32 via 10.250.0.12 on eth0 [Global_10_250_0_1 23:08:22 from 10.250.0.1] * (100/0) [i]
\tType: BGP unicast univ
\tBGP.origin: IGP
\tBGP.as_path:
\tBGP.next_hop: 10.250.0.12
\tBGP.local_pref: 100
\tBGP.originator_id: 10.250.0.12
\tBGP.cluster_list: 244.0.0.2 244.0.0.1
\tBGP.community: (64511,100) (64511,200)
                via 10.250.0.13 on eth0 [Global_10_250_0_2 23:08:23 from 10.250.0.2] (100/0) [i]
\tType: BGP unicast univ
\tBGP.next_hop: 10.250.0.13
\tBGP.med: 5
10.244.1.0/26      blackhole [static1 23:08:20] * (200)
\tType: static unicast univ
"""

BIRD2 = """BIRD 2.0.12 ready.
Table master4:
10.96.0.0/24         unicast [rr1 23:17:33.801 from 10.250.0.1] * (100) [i]
\tvia 10.250.0.11 on eth0
\tType: BGP univ
\tBGP.next_hop: 10.250.0.11
\tBGP.originator_id: 10.250.0.11
\tBGP.cluster_list: 244.0.0.1
                     unicast [rr1 23:17:33.802 from 10.250.0.1] (100) [i]
\tvia 10.250.0.12 on eth0
\tType: BGP univ
\tBGP.next_hop: 10.250.0.12
\tBGP.originator_id: 10.250.0.12
\tBGP.cluster_list: 244.0.0.1
"""


def test_parse_bird16_routes() -> None:
    from conformance.daemons import parse_bird_routes

    rib = parse_bird_routes(BIRD16)
    a, b = rib["10.244.200.2/32"]
    assert (a.best, a.next_hop, a.source, a.originator_id) == (
        True, "10.250.0.12", "10.250.0.1", "10.250.0.12")
    assert a.cluster_list == ["244.0.0.2", "244.0.0.1"]
    assert a.local_pref == 100 and a.communities == ["64511:100", "64511:200"]
    assert (b.best, b.next_hop, b.source, b.med) == (False, "10.250.0.13", "10.250.0.2", 5)
    (s,) = rib["10.244.1.0/26"]
    assert s.best and s.source is None and s.next_hop is None


def test_parse_bird2_addpath_routes() -> None:
    from conformance.daemons import parse_bird_routes

    paths = parse_bird_routes(BIRD2)["10.96.0.0/24"]
    assert [p.next_hop for p in paths] == ["10.250.0.11", "10.250.0.12"]
    assert [p.best for p in paths] == [True, False]
    assert {p.originator_id for p in paths} == {"10.250.0.11", "10.250.0.12"}
