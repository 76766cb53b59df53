"""Network namespaces for the conformance lab (pyroute2).

Every namespace this module creates is named ``bgprr-<pid>-<tag>`` (pid of the test
process), every address lives inside those namespaces only (private ranges), and every
process is started with ``ip netns exec`` and remembered by PID. ``Lab.cleanup()`` stops the
processes (by PID) and deletes the namespaces, which takes their links and addresses with
them. It runs from the pytest fixture finalizer, from ``atexit`` and from a SIGTERM/SIGINT
handler, so an interrupted run leaves nothing behind.

Topology: one fabric namespace holds the bridge ``br0``; each host namespace gets ``eth0``,
one end of a veth pair whose other end is a port of ``br0``. A node's "pod" is a further
namespace reached over a veth pair (``caliN`` in the node, ``eth0`` in the pod), Calico style:
the node has a /32 route per pod address on ``caliN`` and proxy-ARP, the pod a default route
via 169.254.1.1.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from pyroute2 import IPRoute, netns

RTPROT_BIRD = 12
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_ROUTE = 0x400
RTM_NEWROUTE = 24
RTM_DELROUTE = 25

_LIVE_LABS: list[Lab] = []
_HANDLERS_INSTALLED = False
_OWNER_PID = [os.getpid()]


@contextlib.contextmanager
def _ns_fd(ns: str) -> Iterator[int]:
    fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
    try:
        yield fd
    finally:
        os.close(fd)


def _cleanup_all() -> None:
    for lab in list(_LIVE_LABS):
        lab.cleanup()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _OWNER_PID[0]:
        # A forked helper (pyroute2 runs netns work in child processes) inherits this
        # handler: it must just die, never clean up the parent's lab.
        os._exit(128 + signum)
    _cleanup_all()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _install_handlers() -> None:
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    _OWNER_PID[0] = os.getpid()
    atexit.register(_cleanup_all)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        # pytest turns SIGINT into KeyboardInterrupt and runs finalizers; keep its handler
        # unless nothing else is installed.
        if signal.getsignal(signal.SIGINT) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(signal.SIGINT, _on_signal)


@dataclass(slots=True)
class Proc:
    """A process started inside a namespace, known by PID."""

    name: str
    ns: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, sig)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        self.signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.popen.wait(5)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass(slots=True)
class Host:
    """A host namespace on the fabric."""

    name: str
    ns: str
    v4: str | None
    v6: str | None
    pod_ns: str | None = None
    pod_v4: list[str] = field(default_factory=list)
    pod_v6: list[str] = field(default_factory=list)


class Lab:
    """Namespaces, links and processes of one test topology; ``cleanup()`` removes all."""

    def __init__(self, workdir: Path, tag: str = "") -> None:
        self.owner_pid = os.getpid()
        self.prefix = f"bgprr-{self.owner_pid}-{tag}"
        self.workdir = workdir
        self.namespaces: list[str] = []
        self.procs: list[Proc] = []
        self.hosts: dict[str, Host] = {}
        self._remove: list[Path] = []
        self._port = 0
        self.fabric = self._new_ns("fab")
        with IPRoute(netns=self.fabric) as ipr:
            ipr.link("add", ifname="br0", kind="bridge")
            br = ipr.link_lookup(ifname="br0")[0]
            ipr.link("set", index=br, state="up")
            self._up_lo(ipr)
        _install_handlers()
        _LIVE_LABS.append(self)

    # -- namespaces -------------------------------------------------------------------------

    def _new_ns(self, short: str) -> str:
        name = f"{self.prefix}{short}"
        netns.create(name)
        self.namespaces.append(name)
        for key in ("ipv6.conf.all.accept_dad", "ipv6.conf.default.accept_dad"):
            self._sysctl(name, key, "0")
        return name

    @staticmethod
    def _sysctl(ns: str, key: str, value: str) -> None:
        path = "/proc/sys/net/" + key.replace(".", "/")
        subprocess.run(
            ["ip", "netns", "exec", ns, "sh", "-c", f"echo {value} > {path}"],
            check=True,
        )

    @staticmethod
    def _up_lo(ipr: Any) -> None:
        lo = ipr.link_lookup(ifname="lo")[0]
        ipr.link("set", index=lo, state="up")

    def add_host(self, name: str, v4: str | None, v6: str | None) -> Host:
        """A namespace with ``eth0`` on the bridge, addresses ``v4``/24 and ``v6``/64."""
        ns = self._new_ns(name)
        self._port += 1
        port = f"p{self._port}"
        with IPRoute(netns=self.fabric) as fab, _ns_fd(ns) as fd:
            fab.link("add", ifname=port, kind="veth", peer={"ifname": f"e{self._port}",
                                                              "net_ns_fd": fd})
            br = fab.link_lookup(ifname="br0")[0]
            idx = fab.link_lookup(ifname=port)[0]
            fab.link("set", index=idx, master=br, state="up")
        with IPRoute(netns=ns) as ipr:
            self._up_lo(ipr)
            idx = ipr.link_lookup(ifname=f"e{self._port}")[0]
            ipr.link("set", index=idx, ifname="eth0")
            ipr.link("set", index=idx, state="up")
            if v4:
                ipr.addr("add", index=idx, address=v4, prefixlen=24)
            if v6:
                ipr.addr("add", index=idx, address=v6, prefixlen=64)
        self._sysctl(ns, "ipv4.ip_forward", "1")
        self._sysctl(ns, "ipv6.conf.all.forwarding", "1")
        host = Host(name=name, ns=ns, v4=v4, v6=v6)
        self.hosts[name] = host
        return host

    def add_router(self, name: str) -> Host:
        """A namespace off the fabric (only ``lo``, forwarding on): ``add_link`` wires it."""
        ns = self._new_ns(name)
        with IPRoute(netns=ns) as ipr:
            self._up_lo(ipr)
        self._sysctl(ns, "ipv4.ip_forward", "1")
        host = Host(name=name, ns=ns, v4=None, v6=None)
        self.hosts[name] = host
        return host

    def add_link(self, a: Host, a_if: str, a_addr: str, b: Host, b_if: str, b_addr: str,
                 prefixlen: int = 24) -> None:
        """A veth pair from ``a`` (``a_if``, ``a_addr``) to ``b`` (``b_if``, ``b_addr``)."""
        with IPRoute(netns=a.ns) as ipr, _ns_fd(b.ns) as fd:
            ipr.link("add", ifname=a_if, kind="veth",
                     peer={"ifname": b_if, "net_ns_fd": fd})
        for host, ifname, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            with IPRoute(netns=host.ns) as ipr:
                idx = ipr.link_lookup(ifname=ifname)[0]
                ipr.addr("add", index=idx, address=addr, prefixlen=prefixlen)
                ipr.link("set", index=idx, state="up")
            if host.v4 is None:
                host.v4 = addr

    def add_pod(self, host: Host, v4: Sequence[str], v6: Sequence[str] = ()) -> str:
        """A pod namespace behind ``cali0`` in ``host``, with /32 and /128 routes to it."""
        pod = self._new_ns(f"{host.name}p")
        with IPRoute(netns=host.ns) as ipr, _ns_fd(pod) as fd:
            ipr.link("add", ifname="cali0", kind="veth",
                     peer={"ifname": "podeth", "net_ns_fd": fd})
            cali = ipr.link_lookup(ifname="cali0")[0]
            ipr.link("set", index=cali, state="up")
        # The pod's gateway, as on a Calico node (which answers it by proxy ARP).
        with IPRoute(netns=host.ns) as ipr:
            cali = ipr.link_lookup(ifname="cali0")[0]
            ipr.addr("add", index=cali, address="169.254.1.1", prefixlen=32)
        self._sysctl(host.ns, "ipv4.conf.cali0.proxy_arp", "1")
        self._sysctl(host.ns, "ipv6.conf.cali0.proxy_ndp", "1")
        with IPRoute(netns=pod) as ipr:
            self._up_lo(ipr)
            idx = ipr.link_lookup(ifname="podeth")[0]
            ipr.link("set", index=idx, ifname="eth0")
            ipr.link("set", index=idx, state="up")
            for a in v4:
                ipr.addr("add", index=idx, address=a, prefixlen=32)
            for a in v6:
                ipr.addr("add", index=idx, address=a, prefixlen=128)
            if v4:
                ipr.route("add", dst="169.254.1.1/32", oif=idx, scope=253)
                ipr.route("add", dst="0.0.0.0/0", gateway="169.254.1.1", oif=idx)
        # The node-side /32 routes (proto boot: "alien" to BIRD, which learns them).
        with IPRoute(netns=host.ns) as ipr:
            cali = ipr.link_lookup(ifname="cali0")[0]
            for a in v4:
                ipr.route("add", dst=f"{a}/32", oif=cali, scope=253, proto=3)
            for a in v6:
                ipr.route("add", dst=f"{a}/128", oif=cali, proto=3, family=10)
        if v6:
            # IPv6 default route in the pod via the node's link-local address on cali0.
            ll = self._link_local(host.ns, "cali0")
            with IPRoute(netns=pod) as ipr:
                idx = ipr.link_lookup(ifname="eth0")[0]
                ipr.route("add", dst="::/0", gateway=ll, oif=idx, family=10)
        host.pod_ns = pod
        host.pod_v4 = list(v4)
        host.pod_v6 = list(v6)
        return pod

    def _link_local(self, ns: str, ifname: str) -> str:
        deadline = time.monotonic() + 5
        with IPRoute(netns=ns) as ipr:
            idx = ipr.link_lookup(ifname=ifname)[0]
            while True:
                for a in ipr.get_addr(index=idx, family=10):
                    addr = a.get("IFA_ADDRESS")
                    if addr and addr.startswith("fe80"):
                        return str(addr)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no link-local address on {ns}/{ifname}")
                time.sleep(0.05)

    # -- processes --------------------------------------------------------------------------

    def popen(self, name: str, ns: str, argv: Sequence[str],
              env: dict[str, str] | None = None) -> Proc:
        """Start ``argv`` in ``ns`` (``ip netns exec``), output to workdir/<name>.log."""
        log = self.workdir / f"{name}.log"
        with open(log, "ab") as fh:  # the child keeps its own copy of the descriptor
            popen = subprocess.Popen(
                ["ip", "netns", "exec", ns, *argv],
                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True, env=env,
            )
        proc = Proc(name=name, ns=ns, argv=list(argv), popen=popen, log=log)
        self.procs.append(proc)
        return proc

    def run(self, ns: str, argv: Sequence[str], timeout: float = 20.0,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run a short command in ``ns`` and return its output."""
        return subprocess.run(
            ["ip", "netns", "exec", ns, *argv],
            capture_output=True, text=True, timeout=timeout, check=check,
            stdin=subprocess.DEVNULL,
        )

    # -- routes -----------------------------------------------------------------------------

    def routes(self, ns: str, family: int = 2,
               proto: int | None = None) -> dict[str, dict[str, Any]]:
        """Main-table routes of ``ns``: ``{"prefix/len": {"gateway", "type", "proto"}}``."""
        out: dict[str, dict[str, Any]] = {}
        with IPRoute(netns=ns) as ipr:
            for r in ipr.get_routes(family=family, table=254):
                if proto is not None and r["proto"] != proto:
                    continue
                dst = r.get("RTA_DST") or ("0.0.0.0" if family == 2 else "::")
                key = f"{dst}/{r['dst_len']}"
                gw = r.get("RTA_GATEWAY")
                if gw is None:
                    mp = r.get("RTA_MULTIPATH")
                    if mp:
                        gw = ",".join(sorted(str(n.get("RTA_GATEWAY")) for n in mp))
                out[key] = {"gateway": gw, "type": r["type"], "proto": r["proto"]}
        return out

    def watch_routes(self, ns: str) -> RouteWatcher:
        return RouteWatcher(ns)

    # -- cleanup ----------------------------------------------------------------------------

    def remove_on_cleanup(self, path: Path) -> None:
        """A directory outside the workdir that ``cleanup()`` deletes (FRR's run dir)."""
        if path not in self._remove:
            self._remove.append(path)

    def cleanup(self) -> None:
        if os.getpid() != self.owner_pid:
            return
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                if proc.alive():
                    proc.stop(timeout=3)
        self.procs.clear()
        for ns in reversed(self.namespaces):
            with contextlib.suppress(Exception):
                netns.remove(ns)
        self.namespaces.clear()
        for path in self._remove:
            shutil.rmtree(path, ignore_errors=True)
        self._remove.clear()
        if self in _LIVE_LABS:
            _LIVE_LABS.remove(self)


class RouteWatcher:
    """Counts kernel route events in a namespace (netlink multicast, pyroute2 IPRoute)."""

    def __init__(self, ns: str, proto: int = RTPROT_BIRD) -> None:
        self.ns = ns
        self.proto = proto
        self.deleted: list[str] = []
        self.added: list[str] = []
        self.events: list[tuple[float, str, str, str | None]] = []  # (time, op, dst, gw)
        self._stop = threading.Event()
        self._ipr = IPRoute(netns=ns)
        self._ipr.bind(groups=RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE)
        # pyroute2 0.9 keeps per-thread state: take the socket and the marshal here.
        self._fd = self._ipr.fileno()
        self._marshal = self._ipr.marshal
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        fd = self._fd
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            # IPRoute.get() of pyroute2 0.9 collects until the stream ends, which a multicast
            # subscription never does: read the socket and let the marshal parse it.
            try:
                data = os.read(fd, 1 << 20)
                msgs = self._marshal.parse(data)
            except Exception:
                return
            for m in msgs:
                if m.get("proto") != self.proto:
                    continue
                dst = f"{m.get('RTA_DST')}/{m.get('dst_len')}"
                op = "del" if m["header"]["type"] == RTM_DELROUTE else "add"
                self.events.append((time.monotonic(), op, dst, m.get("RTA_GATEWAY")))
                if m["header"]["type"] == RTM_DELROUTE:
                    self.deleted.append(dst)
                elif m["header"]["type"] == RTM_NEWROUTE:
                    self.added.append(dst)

    def outages(self, prefixes: set[str], max_gap: float = 0.2) -> list[str]:
        """Prefixes deleted and not re-added within ``max_gap`` seconds (BIRD 1.6 replaces a
        kernel route by delete + add, so a changed best path shows as a sub-ms gap)."""
        out: list[str] = []
        events = list(self.events)
        for i, (t, op, dst, _gw) in enumerate(events):
            if op != "del" or dst not in prefixes:
                continue
            back = any(o == "add" and d == dst and t2 - t <= max_gap
                       for t2, o, d, _g in events[i + 1:])
            if not back:
                out.append(dst)
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        with contextlib.suppress(Exception):
            self._ipr.close()


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.25,
             what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def iter_hosts(n: int) -> Iterator[int]:
    return iter(range(1, n + 1))


def v6_of(v4: str) -> str:
    """Map a lab IPv4 address 10.250.X.Y to its IPv6 twin fd00:250::X:Y."""
    a = ipaddress.IPv4Address(v4).packed
    return f"fd00:250::{a[2]:x}:{a[3]:x}"
