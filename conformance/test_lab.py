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
