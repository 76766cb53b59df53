"""Reflectors under test: equivalent configurations, start and stop.

Every reflector gets the same setup: AS 64512, listening on one loopback address and
port, and one passive iBGP neighbour per client address (``client_address(i)``), each a
route-reflector client, IPv4 unicast, cluster id = the listen address. Next hops in the
benchmark lie in 198.18.0.0/15: BIRD resolves them through a static route in a separate
IGP table (so the route itself is never exported); FRR's zebra resolves them through
198.18.0.1/15 on the benchmark namespace's loopback (or ``ip nht resolve-via-default``
when run without a namespace), and bgpd runs with ``-n`` (no FIB installation) like the
others, which program no FIB either.

Processes run in their own session (process group); :meth:`Running.stop` signals only
the PIDs started here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import policyset
from .loadtester import client_address

ASN = 64512
BIRD1 = "/usr/sbin/bird"
BIRD2 = os.path.join(os.environ.get("BGPRR_CACHE", "/var/cache/bgprr"), "bird2/usr/sbin/bird")
GOBGPD = "/usr/bin/gobgpd"
FRR_BGPD = "/usr/lib/frr/bgpd"
FRR_ZEBRA = "/usr/lib/frr/zebra"

NAMES = ("bgprr", "bgprr-stdlib", "bgprr-malloc", "gobgp", "bird2", "bird1", "frr", "frr-coalesce")
#: ``NAME-policy``: the same reflector with the benchmark's import policy (below).
POLICY_SUFFIX = "-policy"
POLICY_NAMES = ("bgprr", "gobgp", "bird2", "bird1")


def split_name(name: str) -> tuple[str, bool]:
    """``("bird2", True)`` for ``bird2-policy``; ``(name, False)`` otherwise."""
    if name.endswith(POLICY_SUFFIX) and name[: -len(POLICY_SUFFIX)] in POLICY_NAMES:
        return name[: -len(POLICY_SUFFIX)], True
    return name, False


def known(name: str) -> bool:
    return split_name(name)[0] in NAMES


@dataclass(slots=True)
class Running:
    """A started reflector: its processes, the PIDs to measure, where it listens."""

    name: str
    procs: list[subprocess.Popen[bytes]]
    measure: list[int]
    workdir: Path
    logs: list[Path] = field(default_factory=list)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def stop(self, grace: float = 5.0) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
        end = time.monotonic() + grace
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)

    def log_tail(self, lines: int = 15) -> str:
        out = []
        for log in self.logs:
            try:
                text = log.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)


# --------------------------------------------------------------------------- configs


def gobgp_toml(
    addr: str,
    port: int,
    clients: int,
    neighbor_extra: Sequence[str] = (),
    *,
    policy: bool = False,
) -> str:
    """GoBGP-format TOML, read by both gobgpd and bgprr; ``neighbor_extra``: lines
    appended to every neighbor (more of its tables); ``policy``: with the benchmark's
    import policy (:mod:`bench.policyset`)."""
    out = [
        "[global.config]",
        f"  as = {ASN}",
        f'  router-id = "{addr}"',
        f"  port = {port}",
        f'  local-address-list = ["{addr}"]',
        "",
    ]
    for i in range(clients):
        out += [
            "[[neighbors]]",
            "  [neighbors.config]",
            f'    neighbor-address = "{client_address(i)}"',
            f"    peer-as = {ASN}",
            "  [neighbors.transport.config]",
            "    passive-mode = true",
            f'    local-address = "{addr}"',
            "  [neighbors.route-reflector.config]",
            "    route-reflector-client = true",
            f'    route-reflector-cluster-id = "{addr}"',
            *neighbor_extra,
            "",
        ]
    if policy:
        out.append(policyset.gobgp_policy_toml())
    return "\n".join(out)


def bird1_conf(addr: str, port: int, clients: int, *, policy: bool = False) -> str:
    out = [
        f"router id {addr};",
        f"listen bgp address {addr} port {port};",
        "log stderr all;",
        "table igptab;",
        "protocol device { scan time 60; }",
        'protocol static igp_nh { table igptab; route 198.18.0.0/15 via "lo"; }',
        "template bgp rrc {",
        f"  local {addr} as {ASN};",
        "  passive on;",
        "  rr client;",
        f"  rr cluster id {addr};",
        "  igp table igptab;",
        "  import filter bench_import;" if policy else "  import all;",
        "  export all;",
        "}",
    ]
    if policy:
        out.insert(5, policyset.bird_filter())
    out += [
        f"protocol bgp c{i} from rrc {{ neighbor {client_address(i)} as {ASN}; }}"
        for i in range(clients)
    ]
    return "\n".join(out) + "\n"


def bird2_conf(addr: str, port: int, clients: int, *, policy: bool = False) -> str:
    out = [
        f"router id {addr};",
        "log stderr all;",
        "ipv4 table igp4;",
        "protocol device { scan time 60; }",
        'protocol static igp_nh { ipv4 { table igp4; }; route 198.18.0.0/15 via "lo"; }',
        "template bgp rrc {",
        f"  local {addr} port {port} as {ASN};",
        "  strict bind yes;",
        "  passive on;",
        "  rr client;",
        f"  rr cluster id {addr};",
        "  ipv4 { import %s; export all; igp table igp4; };"
        % ("filter bench_import" if policy else "all"),
        "}",
    ]
    if policy:
        out.insert(5, policyset.bird_filter())
    out += [
        f"protocol bgp c{i} from rrc {{ neighbor {client_address(i)} as {ASN}; }}"
        for i in range(clients)
    ]
    return "\n".join(out) + "\n"


def frr_bgpd_conf(addr: str, clients: int, coalesce: int | None, logfile: Path) -> str:
    out = [
        "frr defaults traditional",
        "hostname bgprr-bench",
        f"log file {logfile}",
        "!",
        f"router bgp {ASN}",
        f" bgp router-id {addr}",
        f" bgp cluster-id {addr}",
        " no bgp ebgp-requires-policy",
    ]
    if coalesce is not None:
        out.append(f" coalesce-time {coalesce}")
    out += [
        " neighbor rrc peer-group",
        f" neighbor rrc remote-as {ASN}",
        " neighbor rrc passive",
        # zebra hides 127/8 interface addresses, so bgpd could not find the interface of
        # its local address (nexthop_set fails); naming the interface resolves it
        " neighbor rrc update-source lo",
    ]
    out += [f" neighbor {client_address(i)} peer-group rrc" for i in range(clients)]
    out += [
        " address-family ipv4 unicast",
        "  neighbor rrc activate",
        "  neighbor rrc route-reflector-client",
        " exit-address-family",
        "!",
    ]
    return "\n".join(out) + "\n"


def frr_zebra_conf(logfile: Path, via_default: bool) -> str:
    lines = ["hostname bgprr-bench-zebra", f"log file {logfile}"]
    if via_default:
        lines.append("ip nht resolve-via-default")
    return "\n".join(lines) + "\n!\n"


# --------------------------------------------------------------------------- processes


def _spawn(
    cmd: Sequence[str], log: Path, netns: str | None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    full = ["ip", "netns", "exec", netns, *cmd] if netns else list(cmd)
    with open(log, "ab") as f:
        return subprocess.Popen(
            full,
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def bird2_env() -> dict[str, str]:
    """The environment for the unpacked BIRD 2: its one library that is not installed
    (libssh-gcrypt, unpacked beside it by .ci/install-deps)."""
    env = dict(os.environ)
    lib = os.path.join(os.path.dirname(os.path.dirname(BIRD2)), "lib", "x86_64-linux-gnu")
    old = env.get("LD_LIBRARY_PATH")
    env["LD_LIBRARY_PATH"] = f"{lib}:{old}" if old else lib
    return env


def malloc_env() -> dict[str, str]:
    """bgprr on the C library's allocator instead of CPython's own (``PYTHONMALLOC=malloc``):
    the reflector only, not the tester."""
    return {**os.environ, "PYTHONMALLOC": "malloc"}


def listening(pid: int, addr: str, port: int) -> bool:
    """Whether the network namespace of ``pid`` has a TCP socket listening on addr:port."""
    a = bytes(reversed([int(x) for x in addr.split(".")])).hex().upper()
    want = f"{a}:{port:04X}"
    try:
        with open(f"/proc/{pid}/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[1] == want and parts[3] == "0A":
                    return True
    except (OSError, StopIteration):
        return False
    return False


def wait_listening(run: Running, addr: str, port: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    pid = run.measure[0]
    while time.monotonic() < end:
        if not run.alive():
            raise RuntimeError(f"{run.name} exited during start-up\n{run.log_tail()}")
        if listening(pid, addr, port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{run.name} not listening on {addr}:{port} after {timeout} s")


def bgprr_command() -> list[str]:
    exe = shutil.which("bgprr")
    return [exe] if exe else [sys.executable, "-c", "from bgprr.cli import main; main()"]


def start(
    name: str,
    workdir: Path,
    addr: str,
    port: int,
    clients: int,
    netns: str | None,
    timeout: float = 60.0,
) -> Running:
    """Write the configuration for ``clients`` clients and start reflector ``name``
    (``NAME-policy``: with the benchmark's import policy)."""
    name, policy = split_name(name)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    procs: list[subprocess.Popen[bytes]] = []
    if name in ("bgprr", "bgprr-stdlib", "bgprr-malloc", "gobgp"):
        conf = workdir / "rr.toml"
        conf.write_text(gobgp_toml(addr, port, clients, policy=policy))
        if name == "gobgp":
            cmd = [
                GOBGPD,
                "-f",
                str(conf),
                "--api-hosts",
                f"{addr}:{port + 1}",
                "--pprof-disable",
                "-p",
            ]
        else:
            cmd = [
                *bgprr_command(),
                "--config",
                str(conf),
                "--api-socket",
                str(workdir / "bgprr.sock"),
                "--state-dir",
                str(workdir / "state"),
            ]
            if name == "bgprr-stdlib":
                cmd.append("--no-uvloop")
        procs.append(_spawn(cmd, log, netns, malloc_env() if name == "bgprr-malloc" else None))
    elif name in ("bird1", "bird2"):
        conf = workdir / "bird.conf"
        conf.write_text(
            (bird1_conf if name == "bird1" else bird2_conf)(addr, port, clients, policy=policy)
        )
        exe = BIRD1 if name == "bird1" else BIRD2
        cmd = [
            exe,
            "-f",
            "-c",
            str(conf),
            "-s",
            str(workdir / "bird.ctl"),
            "-P",
            str(workdir / "bird.pid"),
        ]
        procs.append(_spawn(cmd, log, netns, bird2_env() if name == "bird2" else None))
    elif name in ("frr", "frr-coalesce"):
        zsock = workdir / "zserv.api"
        zconf, bconf = workdir / "zebra.conf", workdir / "bgpd.conf"
        zconf.write_text(frr_zebra_conf(workdir / "zebra.frr.log", via_default=netns is None))
        bconf.write_text(
            frr_bgpd_conf(
                addr, clients, 100 if name == "frr-coalesce" else None, workdir / "bgpd.frr.log"
            )
        )
        workdir.chmod(0o777)  # FRR drops privileges to user frr
        common = [
            "-u",
            "frr",
            "-g",
            "frr",
            "-P",
            "0",
            "-z",
            str(zsock),
            "--vty_socket",
            str(workdir),
        ]
        procs.append(
            _spawn(
                [FRR_ZEBRA, *common, "-f", str(zconf), "-i", str(workdir / "zebra.pid")],
                workdir / "zebra.log",
                netns,
            )
        )
        end = time.monotonic() + 20
        while not zsock.exists() and time.monotonic() < end and procs[0].poll() is None:
            time.sleep(0.05)
        procs.append(
            _spawn(
                [
                    FRR_BGPD,
                    *common,
                    "-f",
                    str(bconf),
                    "-i",
                    str(workdir / "bgpd.pid"),
                    "-p",
                    str(port),
                    "-l",
                    addr,
                    "-n",
                ],
                log,
                netns,
            )
        )
        procs.reverse()  # bgpd first: it is the one that listens
    else:
        raise ValueError(f"unknown reflector {name!r}")
    logs = [log] + [workdir / n for n in ("zebra.log", "bgpd.frr.log", "zebra.frr.log")]
    run = Running(
        name=name,
        procs=procs,
        measure=[p.pid for p in procs],
        workdir=workdir,
        logs=[x for x in logs if x.exists() or x == log],
    )
    try:
        wait_listening(run, addr, port, timeout)
    except RuntimeError:
        run.stop()
        raise
    return run


def _version(
    cmd: Sequence[str], pick: Callable[[str], str] = str.strip, env: dict[str, str] | None = None
) -> str:
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=10, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (out.stdout + out.stderr).strip()
    return pick(text) if text else "unknown"


def versions(names: Sequence[str]) -> dict[str, str]:
    """Version strings of the daemons behind ``names``."""
    out: dict[str, str] = {}
    for full in names:
        n = split_name(full)[0]
        if n.startswith("bgprr"):
            rev = _version(["git", "-C", str(Path(__file__).resolve().parent.parent),
                            "rev-parse", "--short", "HEAD"])  # fmt: skip
            ver = _version([sys.executable, "-c", "import bgprr; print(bgprr.__version__)"])
            out[full] = f"{ver} (git {rev})"
        elif n == "gobgp":
            out[full] = _version([GOBGPD, "--version"])
        elif n in ("bird1", "bird2"):
            env = bird2_env() if n == "bird2" else None
            out[full] = _version([BIRD1 if n == "bird1" else BIRD2, "--version"], env=env)
        else:
            out[full] = _version([FRR_BGPD, "--version"], lambda s: s.splitlines()[0])
    return out


def available(name: str) -> bool:
    name = split_name(name)[0]
    exe = {
        "gobgp": GOBGPD,
        "bird1": BIRD1,
        "bird2": BIRD2,
        "frr": FRR_BGPD,
        "frr-coalesce": FRR_BGPD,
    }.get(name)
    if exe is None:
        return shutil.which("bgprr") is not None or _importable("bgprr.cli")
    return os.access(exe, os.X_OK)


def _importable(mod: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(mod) is not None
    except ModuleNotFoundError:
        return False
