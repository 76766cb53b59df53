"""Connection flood against a route reflector, with its configured sessions watched.

The reflector has three configured route-reflector clients on loopback (127.0.1.1-3)
and, where it supports them, a dynamic range 127.64.0.0/16. Client 1 announces a new
/32 every 100 ms (and withdraws the one it announced 1 s earlier); clients 2 and 3 time
each arrival (reflection latency). After a quiet baseline, a separate process (the *flooder*) opens
``connections`` TCP connections in ``seconds`` seconds, each from its own loopback
address: half from unconfigured addresses (127.32.0.0/16), half from the dynamic range
(all from unconfigured addresses when the reflector has no dynamic range). Of each
half, one half is silent, one quarter sends 64 random octets, one quarter a well-formed
OPEN with the wrong AS. The flooder never closes a connection itself before its hold
time ends; it records what the reflector sent and when it closed.

Reported: sessions of the three clients that dropped (must be 0), reflection latency
p50/p99/max before, during and after the flood, the reflector's open file descriptors
(/proc/PID/fd) and RSS at baseline, at peak and after the flood (and how long they took
to come back), and the flooder's view (connections refused with what, closed when,
still open at the end).

Run (as root or not; loopback only)::

    python -m bench.flood --rr bgprr --connections 3000 --seconds 5
    python -m bench.flood --rr gobgp          # also bird1, bird2

``run_flood()`` is the measuring part alone, for a reflector already running (the test
in ``tests/io/test_flood.py`` runs it against an in-process daemon).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import json
import os
import random
import resource
import selectors
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .loadtester import (
    KEEPALIVE,
    PREFIX_RE,
    build_attrs,
    build_open,
    pack_announce,
    pack_withdraw,
)
from .reflectors import (
    BIRD1,
    BIRD2,
    GOBGPD,
    Running,
    _spawn,
    bgprr_command,
    bird2_env,
    wait_listening,
)

ASN = 64512
RR_ADDR = "127.0.0.1"
CLIENTS = ("127.0.1.1", "127.0.1.2", "127.0.1.3")
DYNAMIC_RANGE = "127.64.0.0/16"
UNKNOWN_BASE = int(ipaddress.IPv4Address("127.32.0.0"))
DYNAMIC_BASE = int(ipaddress.IPv4Address("127.64.0.0"))
NEXT_HOP = "198.18.0.1"  # resolvable for BIRD through the bench's IGP table
KINDS = ("silent", "garbage", "silent", "wrong-as")


def source(i: int, base: int) -> str:
    """The ``i``-th flood address above ``base`` (x.y.z.0 and .255 skipped)."""
    return str(ipaddress.IPv4Address(base + 256 + (i // 254) * 256 + 1 + i % 254))


def plan(connections: int, dynamic: bool) -> list[tuple[str, str]]:
    """(source address, kind) per connection, interleaved unknown / dynamic."""
    out: list[tuple[str, str]] = []
    for i in range(connections):
        dyn = dynamic and i % 2 == 1
        addr = source(i // 2 if dynamic else i, DYNAMIC_BASE if dyn else UNKNOWN_BASE)
        out.append((addr, KINDS[(i // 2 if dynamic else i) % 4]))
    return out


# --------------------------------------------------------------------------- the flooder


def _messages(data: bytes) -> list[str]:
    """What a reflector sent: "OPEN", "KEEPALIVE", "NOTIFICATION 6/5", ... in order."""
    out: list[str] = []
    o = 0
    while o + 19 <= len(data) and data[o : o + 16] == b"\xff" * 16:
        length = (data[o + 16] << 8) | data[o + 17]
        t = data[o + 18]
        if t == 3 and o + 21 <= len(data):
            out.append(f"NOTIFICATION {data[o + 19]}/{data[o + 20]}")
        else:
            out.append({1: "OPEN", 2: "UPDATE", 4: "KEEPALIVE"}.get(t, f"type {t}"))
        o += max(length, 19)
    return out


@dataclass(slots=True)
class _Conn:
    sock: socket.socket
    kind: str
    dynamic: bool
    opened: float
    connected: bool = False
    got: bytes = b""
    closed_after: float | None = None


def flooder(
    rr: str, port: int, connections: int, seconds: float, hold: float, dynamic: bool, seed: int
) -> dict[str, Any]:
    """Open the connections, paced over ``seconds``; watch them until ``hold`` seconds
    after the start; report (no asyncio: this runs in its own process)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rng = random.Random(seed)
    wrong_open = build_open(ASN + 1, "192.0.2.1", 90)
    sel = selectors.DefaultSelector()
    conns: list[_Conn] = []
    todo = plan(connections, dynamic)
    start = time.monotonic()
    step = seconds / max(1, connections)
    failed = 0
    while True:
        now = time.monotonic()
        due = min(connections, int((now - start) / step) + 1)
        while len(conns) + failed < due:
            addr, kind = todo[len(conns) + failed]
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                sock.bind((addr, 0))
                err = sock.connect_ex((rr, port))
                if err not in (0, errno.EINPROGRESS):
                    raise OSError(err, os.strerror(err))
            except OSError:
                sock.close()
                failed += 1
                continue
            c = _Conn(
                sock=sock,
                kind=kind,
                dynamic=int(ipaddress.IPv4Address(addr)) >= DYNAMIC_BASE,
                opened=now,
            )
            conns.append(c)
            sel.register(sock, selectors.EVENT_WRITE, c)
        if now - start >= hold or (due == connections and not sel.get_map()):
            break
        for key, _mask in sel.select(timeout=0.002):
            c = cast(_Conn, key.data)
            if not c.connected:
                if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    c.closed_after = time.monotonic() - c.opened
                    sel.unregister(c.sock)
                    continue
                c.connected = True
                with contextlib.suppress(OSError):
                    if c.kind == "garbage":
                        c.sock.send(rng.randbytes(64))
                    elif c.kind == "wrong-as":
                        c.sock.send(wrong_open)
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                data = c.sock.recv(65536)
            except OSError:
                data = b""
            if data:
                c.got += data[: 4096 - len(c.got)] if len(c.got) < 4096 else b""
                continue
            c.closed_after = time.monotonic() - c.opened
            sel.unregister(c.sock)
    return _report(conns, failed, time.monotonic() - start)


def _report(conns: list[_Conn], failed: int, elapsed: float) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    for c in conns:
        g = groups.setdefault(
            f"{'dynamic' if c.dynamic else 'unknown'} {c.kind}",
            {"n": 0, "connected": 0, "closed": 0, "open_at_end": 0, "got": {}, "closed_after": []},
        )
        g["n"] += 1
        g["connected"] += c.connected
        if c.closed_after is None:
            g["open_at_end"] += 1
        else:
            g["closed"] += 1
            g["closed_after"].append(c.closed_after)
        seen = " + ".join(_messages(c.got)) or "nothing"
        g["got"][seen] = g["got"].get(seen, 0) + 1
        c.sock.close()
    for g in groups.values():
        times = sorted(g.pop("closed_after"))
        g["closed_after_s"] = (
            {"p50": round(times[len(times) // 2], 3), "max": round(times[-1], 3)} if times else None
        )
    return {
        "connections": len(conns),
        "failed": failed,
        "elapsed_s": round(elapsed, 2),
        "groups": groups,
    }


# --------------------------------------------------------------------------- the clients


class Client(asyncio.Protocol):
    """A configured route-reflector client: OPEN, KEEPALIVEs, and the /32s it receives."""

    def __init__(self, address: str, arrivals: dict[bytes, float] | None) -> None:
        self.address = address
        self.arrivals = arrivals  # NLRI -> time of first arrival (receivers only)
        self.transport: asyncio.Transport | None = None
        self.up: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.drops = 0
        self.notifications: list[str] = []
        self._buf = b""
        self._ka: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(build_open(ASN, self.address, 90))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.up.done():
            self.drops += 1
        elif not self.up.done():
            self.up.set_exception(ConnectionError(f"{self.address}: closed before Established"))
        self.transport = None
        if self._ka is not None:
            self._ka.cancel()

    def _keepalive(self) -> None:
        if self.transport is not None:
            self.transport.write(KEEPALIVE)
            self._ka = asyncio.get_running_loop().call_later(20.0, self._keepalive)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self._buf + data
        o = 0
        while o + 19 <= len(buf):
            end = o + ((buf[o + 16] << 8) | buf[o + 17])
            if end > len(buf):
                break
            t = buf[o + 18]
            if t == 1 and self.transport is not None:
                self.transport.write(KEEPALIVE)
            elif t == 4 and not self.up.done():
                self.up.set_result(None)
                self._keepalive()
            elif t == 3:
                self.notifications.append(f"{buf[o + 19]}/{buf[o + 20]}")
            elif t == 2 and self.arrivals is not None:
                wl = (buf[o + 19] << 8) | buf[o + 20]
                a = o + 21 + wl
                nl = a + 2 + ((buf[a] << 8) | buf[a + 1])
                for nlri in PREFIX_RE.findall(buf, nl, end):
                    self.arrivals.setdefault(nlri, now)
            o = end
        self._buf = buf[o:]


async def _connect(
    address: str,
    rr: str,
    port: int,
    arrivals: dict[bytes, float] | None,
    timeout: float = 30.0,
) -> Client:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.bind((address, 0))
    await loop.sock_connect(sock, (rr, port))
    _t, proto = await loop.create_connection(lambda: Client(address, arrivals), sock=sock)
    await asyncio.wait_for(proto.up, timeout)
    return proto


async def _connect_retrying(
    address: str, rr: str, port: int, arrivals: dict[bytes, float] | None
) -> Client:
    """A configured client, retried for up to 330 s: after previous rounds the reflector
    may hold the neighbor in Idle (bgprr: 30 s from the second consecutive flap,
    doubling per flap up to 300 s; each round ends with its clients closing)."""
    end = time.monotonic() + 330.0
    while True:
        try:
            return await _connect(address, rr, port, arrivals)
        except (OSError, ConnectionError):
            if time.monotonic() > end:
                raise
            await asyncio.sleep(1.0)


async def run_storm(rr: str, port: int, n: int, timeout: float = 120.0) -> dict[str, Any]:
    """``n`` nodes of the dynamic range connect at the same instant (a reflector restart
    in a Calico cluster): seconds until each is Established, and the failures."""
    start = time.monotonic()
    times: list[float] = []
    errors: dict[str, int] = {}

    async def one(i: int) -> Client | None:
        try:
            c = await _connect(source(i, DYNAMIC_BASE), rr, port, None, timeout)
        except (OSError, TimeoutError, ConnectionError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return None
        times.append(time.monotonic() - start)
        return c

    clients = await asyncio.gather(*(one(i) for i in range(n)))
    for c in clients:
        if c is not None and c.transport is not None:
            c.transport.close()
    times.sort()
    return {
        "nodes": n,
        "established": len(times),
        "errors": errors,
        "all_established_s": round(times[-1], 3) if len(times) == n else None,
        "p50_s": round(times[len(times) // 2], 3) if times else None,
        "refused": sum(c.notifications.count("6/5") for c in clients if c is not None),
    }


# --------------------------------------------------------------------------- measuring


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _pct(values: Sequence[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    v = sorted(values)
    return {
        "n": len(v),
        "p50_ms": round(statistics.median(v) * 1000, 2),
        "p99_ms": round(v[min(len(v) - 1, int(len(v) * 0.99))] * 1000, 2),
        "max_ms": round(v[-1] * 1000, 2),
    }


@dataclass(slots=True)
class FloodResult:
    drops: int
    latency: dict[str, dict[str, float | int]]
    fds: dict[str, Any]
    rss: dict[str, Any]
    flooder: dict[str, Any]
    notifications: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "configured_session_drops": self.drops,
            "latency": self.latency,
            "fds": self.fds,
            "rss": self.rss,
            "flooder": self.flooder,
            "client_notifications": self.notifications,
        }


async def run_flood(
    rr: str,
    port: int,
    pid: int,
    *,
    connections: int,
    seconds: float,
    dynamic: bool,
    baseline_s: float = 5.0,
    settle_s: float = 120.0,
    hold_s: float | None = None,
    fd_slack: int = 2,
    wait_all: bool = False,
) -> FloodResult:
    """Clients up, announcer every 100 ms, baseline, flood, then wait until the
    reflector's descriptors are back within ``fd_slack`` of the baseline (at most
    ``settle_s`` after the flood; ``wait_all``: wait ``settle_s`` in any case, so that
    the last RSS is taken after dynamic neighbors are removed). ``hold_s``: how long the
    flooder keeps what stays open (default: until the settling ends)."""
    arrivals: dict[bytes, float] = {}
    a = await _connect_retrying(CLIENTS[0], rr, port, None)
    receivers = [await _connect_retrying(addr, rr, port, arrivals) for addr in CLIENTS[1:]]
    clients = [a, *receivers]
    sent: dict[bytes, float] = {}
    attrs = build_attrs(next_hop=NEXT_HOP)
    stop = asyncio.Event()

    async def announce() -> None:
        # Each /32 lives 1 s (withdrawn ten announcements later): a reflector slower
        # than that may send only the withdrawal (latest state wins), counted as missing.
        k = 0
        live: list[bytes] = []
        while not stop.is_set():
            nlri = bytes([32, 10, 200, (k >> 8) & 0xFF, k & 0xFF])
            live.append(nlri)
            old = [live.pop(0)] if len(live) > 10 else []
            msgs = pack_announce(attrs, [nlri]) + (pack_withdraw(old) if old else [])
            if a.transport is not None:
                sent[nlri] = time.monotonic()
                a.transport.write(b"".join(msgs))
            k += 1
            await asyncio.sleep(0.1)

    samples: list[tuple[float, int, int]] = []  # (time, fds, rss)

    async def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic(), fd_count(pid), rss(pid)))
            await asyncio.sleep(0.25)

    tasks = [asyncio.create_task(announce()), asyncio.create_task(sample())]
    await asyncio.sleep(baseline_s)
    base_fds = min(s[1] for s in samples)
    base_rss = statistics.median(s[2] for s in samples)
    t_flood = time.monotonic()
    hold = hold_s if hold_s is not None else seconds + settle_s
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.flood", "--flooder", rr, str(port), str(connections),
        str(seconds), str(hold), "1" if dynamic else "0",
        stdout=asyncio.subprocess.PIPE, cwd=str(Path(__file__).resolve().parent.parent),
    )  # fmt: skip
    out_task = asyncio.create_task(proc.communicate())
    await asyncio.sleep(seconds)
    t_end = time.monotonic()
    back_at: float | None = None
    while time.monotonic() - t_end < settle_s:
        await asyncio.sleep(0.5)
        if back_at is None and samples[-1][1] <= base_fds + fd_slack and samples[-1][0] > t_end:
            back_at = samples[-1][0]
            if not wait_all:
                break
    await asyncio.sleep(1.0)  # a last stretch of "after" latency samples
    t_after = time.monotonic()
    stop.set()
    await asyncio.gather(*tasks)
    stdout, _ = await out_task
    flood_report: dict[str, Any] = json.loads(stdout or b"{}")
    lat: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    for nlri, t0 in sent.items():
        t1 = arrivals.get(nlri)
        if t1 is None:
            continue
        phase = "before" if t0 < t_flood else "during" if t0 < t_end + 1.0 else "after"
        lat[phase].append(t1 - t0)
    missing = sum(1 for nlri in sent if nlri not in arrivals and sent[nlri] < t_after - 1.0)
    during = [s for s in samples if t_flood <= s[0] <= (back_at or t_after)]
    result = FloodResult(
        drops=sum(c.drops for c in clients),
        latency={k: _pct(v) for k, v in lat.items()} | {"missing": {"n": missing}},
        fds={
            "baseline": base_fds,
            "peak": max((s[1] for s in during), default=base_fds),
            "end": samples[-1][1],
            "back_after_s": None if back_at is None else round(back_at - t_end, 1),
        },
        rss={
            "baseline_mb": round(base_rss / 2**20, 1),
            "peak_mb": round(max((s[2] for s in during), default=0) / 2**20, 1),
            "end_mb": round(samples[-1][2] / 2**20, 1),
        },
        flooder=flood_report,
        notifications=[n for c in clients for n in c.notifications],
    )
    for c in clients:
        if c.transport is not None:
            c.transport.close()
    return result


# --------------------------------------------------------------------------- reflectors


def rr_config(
    name: str, port: int, workdir: Path, limits: str = "", range_limits: str = ""
) -> tuple[Path, bool]:
    """The reflector's configuration file and whether it has the dynamic range;
    ``limits`` / ``range_limits``: bgprr keys for [global.config] / the range."""
    if name in ("bgprr", "gobgp"):
        out = [
            "[global.config]", f"  as = {ASN}", f'  router-id = "{RR_ADDR}"', f"  port = {port}",
            f'  local-address-list = ["{RR_ADDR}"]', limits, "",
        ]  # fmt: skip
        for addr in CLIENTS:
            out += [
                "[[neighbors]]", "  [neighbors.config]", f'    neighbor-address = "{addr}"',
                f"    peer-as = {ASN}", "  [neighbors.transport.config]",
                "    passive-mode = true", f'    local-address = "{RR_ADDR}"',
                "  [neighbors.route-reflector.config]", "    route-reflector-client = true",
                f'    route-reflector-cluster-id = "{RR_ADDR}"', "",
            ]  # fmt: skip
        out += [
            "[[peer-groups]]", "  [peer-groups.config]", '    peer-group-name = "nodes"',
            f"    peer-as = {ASN}", "  [peer-groups.transport.config]", "    passive-mode = true",
            "  [peer-groups.route-reflector.config]", "    route-reflector-client = true",
            f'    route-reflector-cluster-id = "{RR_ADDR}"', "",
            "[[dynamic-neighbors]]", "  [dynamic-neighbors.config]",
            f'    prefix = "{DYNAMIC_RANGE}"', '    peer-group = "nodes"', range_limits, "",
        ]  # fmt: skip
        path = workdir / "rr.toml"
        path.write_text("\n".join(out))
        return path, True
    head = [
        f"router id {RR_ADDR};", "log stderr all;",
        'protocol device { scan time 60; }',
    ]  # fmt: skip
    if name == "bird1":
        out = [
            *head, f"listen bgp address {RR_ADDR} port {port};", "table igptab;",
            'protocol static igp_nh { table igptab; route 198.18.0.0/15 via "lo"; }',
            "template bgp rrc {", f"  local {RR_ADDR} as {ASN};", "  passive on;",
            "  rr client;", f"  rr cluster id {RR_ADDR};", "  igp table igptab;",
            "  import all;", "  export all;", "}",
        ]  # fmt: skip
        dynamic = False
    else:
        out = [
            *head, "ipv4 table igp4;",
            'protocol static igp_nh { ipv4 { table igp4; }; route 198.18.0.0/15 via "lo"; }',
            "template bgp rrc {", f"  local {RR_ADDR} port {port} as {ASN};",
            "  strict bind yes;", "  passive on;", "  rr client;",
            f"  rr cluster id {RR_ADDR};",
            "  ipv4 { import all; export all; igp table igp4; };", "}",
            f"protocol bgp dyn from rrc {{ neighbor range {DYNAMIC_RANGE} as {ASN}; }}",
        ]  # fmt: skip
        dynamic = True
    out += [
        f"protocol bgp c{i} from rrc {{ neighbor {addr} as {ASN}; }}"
        for i, addr in enumerate(CLIENTS)
    ]
    path = workdir / "bird.conf"
    path.write_text("\n".join(out) + "\n")
    return path, dynamic


def start_rr(
    name: str,
    port: int,
    workdir: Path,
    limits: str = "",
    range_limits: str = "",
    *,
    uvloop: bool = True,
) -> tuple[Running, bool]:
    """``uvloop=False``: bgprr runs on the stdlib asyncio loop (``--no-uvloop``)."""
    conf, dynamic = rr_config(name, port, workdir, limits, range_limits)
    log = workdir / f"{name}.log"
    if name == "bgprr":
        cmd = [*bgprr_command(), "--config", str(conf), "--api-socket", str(workdir / "api.sock")]
        if not uvloop:
            cmd.append("--no-uvloop")
    elif name == "gobgp":
        cmd = [GOBGPD, "-f", str(conf), "--api-hosts", f"{RR_ADDR}:{port + 1}", "--pprof-disable"]
    else:
        exe = BIRD1 if name == "bird1" else BIRD2
        cmd = [exe, "-f", "-c", str(conf), "-s", str(workdir / "bird.ctl")]
    proc = _spawn(cmd, log, None, bird2_env() if name == "bird2" else None)
    run = Running(name=name, procs=[proc], measure=[proc.pid], workdir=workdir, logs=[log])
    wait_listening(run, RR_ADDR, port, 30.0)
    return run, dynamic


def free_port() -> int:
    with socket.socket() as s:
        s.bind((RR_ADDR, 0))
        return int(s.getsockname()[1])


def log_lines(path: Path) -> int:
    try:
        return len(path.read_text(errors="replace").splitlines())
    except OSError:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--flooder":
        rr, where, n, secs, hold, dyn = args[1:7]
        report = flooder(rr, int(where), int(n), float(secs), float(hold), dyn == "1", 1)
        print(json.dumps(report))
        return 0
    ap = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__.split("\n")[0])
    ap.add_argument("--rr", default="bgprr", choices=("bgprr", "gobgp", "bird1", "bird2"))
    ap.add_argument("--connections", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--settle", type=float, default=120.0)
    ap.add_argument("--repeat", type=int, default=1, help="floods in a row, same reflector")
    ap.add_argument("--storm", type=int, default=0, help="instead: N dynamic nodes at once")
    ap.add_argument(
        "--no-limits", action="store_true", help="bgprr: connection-rate and max-sessions 0"
    )
    ap.add_argument("--connection-rate", type=float, help="bgprr: [global.config] key")
    ap.add_argument("--connection-burst", type=int, help="bgprr: [global.config] key")
    ap.add_argument("--max-sessions", type=int, help="bgprr: the dynamic range's key")
    ap.add_argument("--json", type=Path, help="also write the result here")
    opts = ap.parse_args(args)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bgprr-flood-") as tmp:
        limits, range_limits = [], []
        if opts.no_limits:
            limits, range_limits = ["connection-rate = 0"], ["max-sessions = 0"]
        if opts.connection_rate is not None:
            limits.append(f"connection-rate = {opts.connection_rate}")
        if opts.connection_burst is not None:
            limits.append(f"connection-burst = {opts.connection_burst}")
        if opts.max_sessions is not None:
            range_limits.append(f"max-sessions = {opts.max_sessions}")
        run, dynamic = start_rr(
            opts.rr, port, Path(tmp), "\n".join(limits), "\n".join(range_limits)
        )
        try:
            time.sleep(1.0)
            if opts.storm:
                doc = asyncio.run(run_storm(RR_ADDR, port, opts.storm)) | {
                    "rr": opts.rr,
                    "limits": limits + range_limits,
                    "rss_mb": round(rss(run.measure[0]) / 2**20, 1),
                    "log_tail": run.log_tail(4).splitlines()[1:],
                }
            else:
                lines0 = log_lines(run.logs[0])
                rounds = []
                for _ in range(opts.repeat):
                    result = asyncio.run(
                        run_flood(
                            RR_ADDR, port, run.measure[0], connections=opts.connections,
                            seconds=opts.seconds, dynamic=dynamic, settle_s=opts.settle,
                            wait_all=True,
                        )
                    )  # fmt: skip
                    rounds.append(result.as_dict())
                doc = (rounds[0] if len(rounds) == 1 else {"rounds": rounds}) | {
                    "rr": opts.rr,
                    "limits": limits + range_limits,
                    "alive": run.alive(),
                    "log_lines_during": log_lines(run.logs[0]) - lines0,
                    "log_tail": run.log_tail(6).splitlines()[1:],
                }
        finally:
            run.stop()
    text = json.dumps(doc, indent=2)
    print(text)
    if opts.json:
        opts.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
