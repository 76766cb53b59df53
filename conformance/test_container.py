"""bgprr from its container image (deploy/image/build; built here if missing or stale):

1. The Calico scenario with the reflector in a container in the reflector's namespace
   (``podman run --network ns:...``): convergence, then a restart of the container with
   ``-r`` on the same state volume, with zero kernel route deletions on every node.
2. PID 1: SIGTERM stops the container promptly and cleanly, orphans are reaped (and without
   tini they would not be, which shows that the check sees zombies).
3. Privileges: the daemon runs as uid 179 with NET_BIND_SERVICE as its only capability;
   without that capability it cannot start; the venv's interpreter binds port 179 from its
   file capability alone (no ambient capabilities, as under Kubernetes), the system's not.
4. The built image's configuration is the one examples/Containerfile states.

Figures (image size, seconds from ``podman run`` to listening, deletions during the
restart) are recorded as ``figure`` properties and printed at the end of the run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator

import pytest

from conformance.cluster import Cluster, prefixes_of
from conformance.container import (
    CAP_NET_BIND_SERVICE,
    Container,
    ContainerReflector,
    Proc1,
    cleanup,
    ensure_image,
    inspect_image,
    listening,
)
from conformance.netns import Lab, wait_for
from tools.image_layout import containerfile_layout, inspect_layout

Record = Callable[[str, object], None]


@pytest.fixture
def image(rr_kind: str, lab: Lab) -> Iterator[str]:
    """The image, up to date with this checkout; afterwards, this test's containers and
    volumes are removed (before ``lab`` deletes the namespaces they use)."""
    if rr_kind != "bgprr":
        pytest.skip("the image runs bgprr")
    try:
        yield ensure_image()
    finally:
        cleanup()


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_container_restart_no_deletions(lab: Lab, image: str, dynamic: bool,
                                        record_property: Record) -> None:
    cl = Cluster(lab, "bgprr", 3, dynamic=dynamic, rr_restart_time=30)
    rr = ContainerReflector.replace(cl, 0, image)
    cl.start_converged()
    addresses = {n.address for n in cl.nodes}
    # The GR state (which dynamic peers to wait for) is in the volume, written by uid 179.
    wait_for(lambda: rr.saved_peers() >= addresses, 10, 0.2, "peers in the state volume")
    everything = prefixes_of(cl.nodes)
    watchers = [lab.watch_routes(n.host.ns) for n in cl.nodes]
    try:
        rr.stop()
        assert rr.exit_codes == [0], rr.old_logs[-1]
        assert rr.stop_seconds[0] < 5, rr.stop_seconds
        rr.start(graceful_restart=True)
        cl.wait_established(60)
        cl.wait_converged(60)
        time.sleep(8)  # End-of-RIB and stale-route flushing on every client
        cl.wait_converged(5)
        counts = {}
        for n, w in zip(cl.nodes, watchers, strict=True):
            lost = [d for d in w.deleted if d in everything]
            counts[n.name] = len(lost)
            assert not lost, (f"{n.name}: kernel route deletions during the container "
                              f"restart: {lost}; events {w.events}")
    finally:
        for w in watchers:
            w.close()
    record_property("figure", f"container restart -r ({'dynamic' if dynamic else 'static'}):"
                              f" kernel route deletions per node {counts}")
    record_property("figure", "podman run to listening: "
                              + ", ".join(f"{s:.2f} s" for s in rr.start_seconds))
    record_property("figure", f"podman stop: {rr.stop_seconds[0]:.2f} s")


def daemon(procs: list[Proc1], name: str = "bgprr") -> Proc1:
    found = [p for p in procs if p.name == name]
    assert len(found) == 1, procs
    return found[0]


def test_pid1_sigterm_and_zombies(lab: Lab, image: str, record_property: Record) -> None:
    host = lab.add_host("rr1", "10.250.0.1", None)
    c = Container("pid1", image, host.ns)  # the image's own CMD and /etc/bgprr/rr.toml
    c.run()
    wait_for(lambda: listening(lab, host.ns) or not c.running(), 30, 0.05, "listening")
    assert c.running(), c.logs()
    procs = c.processes()
    init = [p for p in procs if p.pid == 1]
    assert [p.name for p in init] == ["tini"], procs
    bgprr = daemon(procs)
    assert bgprr.ppid == 1 and bgprr.uid == 179, bgprr
    # Only NET_BIND_SERVICE, effective and in the bounding set; nothing ambient left after
    # the exec of the interpreter that carries it as a file capability.
    assert (bgprr.cap_eff, bgprr.cap_bnd, bgprr.cap_amb) == (CAP_NET_BIND_SERVICE,) * 2 + (0,)
    # Orphans of `podman exec` are re-parented to PID 1, which must reap them.
    for _ in range(3):
        c.exec("sh", "-c", "sleep 0.3 & exit 0")
    time.sleep(1.5)
    zombies = [p for p in c.processes() if p.state == "Z"]
    assert not zombies, zombies
    took = c.stop(timeout=10)
    assert c.exit_code() == 0, c.logs()
    assert took < 3, took
    assert "stopping (signal)" in c.logs()
    record_property("figure", f"podman stop (SIGTERM via tini): {took:.2f} s, exit 0")


def test_without_tini_zombies_stay(lab: Lab, image: str) -> None:
    """The control for the zombie check above: bgprr itself as PID 1 does not reap."""
    host = lab.add_host("rr1", "10.250.0.1", None)
    c = Container("notini", image, host.ns,
                  args=["--config", "/etc/bgprr/rr.toml", "--api-socket", "/run/bgprr/bgprr.sock"],
                  options=["--entrypoint", "/opt/bgprr/bin/bgprr"])
    c.run()
    wait_for(lambda: listening(lab, host.ns) or not c.running(), 30, 0.05, "listening")
    c.exec("sh", "-c", "sleep 0.3 & exit 0")
    time.sleep(1.5)
    procs = c.processes()
    assert [p.name for p in procs if p.pid == 1] == ["bgprr"], procs
    assert [p.name for p in procs if p.state == "Z"] == ["sleep"], procs
    # bgprr handles SIGTERM itself, so even as PID 1 it stops on `podman stop`.
    assert c.stop(timeout=10) < 3
    assert c.exit_code() == 0


def test_capability_is_needed(lab: Lab, image: str) -> None:
    host = lab.add_host("rr1", "10.250.0.1", None)
    bind = ("import socket; s = socket.socket(); s.bind(('0.0.0.0', 179)); print('bound')")
    # The venv's python3 carries cap_net_bind_service=ep: with it out of the bounding set,
    # the kernel refuses the exec rather than run it without the capability.
    c = Container("nocap", image, host.ns, caps=["--cap-drop=all"])
    c.run()
    wait_for(lambda: not c.running(), 10, 0.05, "the container to exit")
    assert c.exit_code() != 0
    assert "Operation not permitted" in c.logs(), c.logs()
    assert not listening(lab, host.ns)
    # With the capability in the bounding set but no ambient capabilities (what Kubernetes
    # gives a non-root container), the file capability alone lets it bind port 179; the
    # system interpreter, without one, cannot.
    probe = Container("probe", image, host.ns, options=["--entrypoint", "sleep"],
                      args=["60"])
    probe.run()
    drop = ["setpriv", "--inh-caps", "-all", "--ambient-caps", "-all"]
    res = probe.exec(*drop, "/opt/bgprr/bin/python3", "-c", bind, check=False)
    assert res.stdout.strip() == "bound", res.stderr
    res = probe.exec(*drop, "/usr/bin/python3", "-c", bind, check=False)
    assert res.returncode != 0 and "Permission denied" in res.stderr, res
    probe.kill()


def test_image_matches_containerfile(image: str, record_property: Record) -> None:
    data = inspect_image(image)
    assert inspect_layout(data) == containerfile_layout()
    record_property("figure", f"image {image}: {data['Size']} bytes")


def test_start_time(lab: Lab, image: str, record_property: Record) -> None:
    """Seconds from ``podman run`` to port 179 listening, the image's own CMD (median of 3)."""
    host = lab.add_host("rr1", "10.250.0.1", None)
    times = []
    for i in range(3):
        c = Container(f"start{i}", image, host.ns)
        t0 = time.monotonic()
        c.run()
        wait_for(lambda c=c: listening(lab, host.ns) or not c.running(), 30, 0.01, "listening")
        times.append(time.monotonic() - t0)
        assert c.running(), c.logs()
        c.remove()
        wait_for(lambda: not listening(lab, host.ns), 10, 0.05, "port 179 released")
    assert statistics.median(times) < 10, times
    record_property("figure", "podman run to listening: median "
                              f"{statistics.median(times):.2f} s of "
                              + ", ".join(f"{t:.2f}" for t in times))
