"""Launchers for the daemons of the conformance lab and parsers of their CLI output.

Clients: Calico-style BIRD 1.6 nodes (``bird`` + ``bird6``), BIRD 2 (unpacked by
.ci/install-deps), gobgpd and FRR (bgpd + zebra). Reflector under test: ``bgprr`` or
``gobgpd``, both reading the same GoBGP-format TOML. Every client exposes ``rib()``, its own
view of the routes: ``{prefix: [Path, ...]}`` (all paths, best first when known).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import configs
from conformance.netns import Host, Lab, Proc, wait_for

BIRD2_DIR = Path(os.environ.get("BGPRR_CACHE", "/var/cache/bgprr")) / "bird2"
FRR_DIR = Path("/usr/lib/frr")


@dataclass(slots=True)
class Path_:
    """One path as a client sees it."""

    prefix: str
    next_hop: str | None = None
    best: bool = False
    originator_id: str | None = None
    cluster_list: list[str] = field(default_factory=list)
    local_pref: int | None = None
    med: int | None = None
    communities: list[str] = field(default_factory=list)
    as_path: str = ""
    source: str | None = None


Rib = dict[str, list[Path_]]


# -- BIRD ---------------------------------------------------------------------------------

_HEAD = re.compile(r"^(?P<prefix>\S+)?\s+(?P<rest>.*)$")


def parse_bird_routes(text: str) -> Rib:
    """Parse ``birdc show route all`` (BIRD 1.6 and 2.x layouts)."""
    rib: Rib = {}
    cur: Path_ | None = None
    prefix: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith(("BIRD ", "Access restricted", "Table ")):
            continue
        if line.startswith("\t") or line.startswith("        \t"):
            body = line.strip()
            if cur is None:
                continue
            if body.startswith("via "):
                cur.next_hop = cur.next_hop or body.split()[1]
                continue
            key, _, value = body.partition(":")
            value = value.strip()
            _bird_attr(cur, key.strip(), value)
            continue
        m = _HEAD.match(line)
        if not m or (m.group("prefix") is None and prefix is None):
            continue
        if m.group("prefix") is not None and "/" in m.group("prefix"):
            prefix = _norm(m.group("prefix"))
        rest = m.group("rest")
        cur = Path_(prefix=prefix or "")
        vm = re.search(r"\bvia (\S+)", rest)
        if vm:
            cur.next_hop = vm.group(1)
        fm = re.search(r"\bfrom (\S+?)\]", rest)
        if fm:
            cur.source = fm.group(1)
        cur.best = bool(re.search(r"\] \* ", rest + " ")) or " * (" in rest
        rib.setdefault(cur.prefix, []).append(cur)
    for paths in rib.values():
        paths.sort(key=lambda p: not p.best)
    return rib


def _bird_attr(p: Path_, key: str, value: str) -> None:
    if key == "BGP.next_hop":
        p.next_hop = value.split()[0] if value else p.next_hop
    elif key == "BGP.originator_id":
        p.originator_id = value
    elif key == "BGP.cluster_list":
        p.cluster_list = value.split()
    elif key == "BGP.local_pref":
        p.local_pref = int(value)
    elif key == "BGP.med":
        p.med = int(value)
    elif key == "BGP.community":
        p.communities = re.findall(r"\((\d+),\s*(\d+)\)", value) and [
            f"{a}:{b}" for a, b in re.findall(r"\((\d+),\s*(\d+)\)", value)
        ]
    elif key == "BGP.as_path":
        p.as_path = value


def parse_bird_protocols(text: str) -> dict[str, str]:
    """``birdc show protocols``: ``{name: state-or-info}`` (info such as "Established")."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] not in ("BIRD", "name", "Name"):
            out[parts[0]] = parts[-1] if parts[1] == "BGP" else parts[3]
    return out


def _norm(prefix: str) -> str:
    try:
        return str(ipaddress.ip_network(prefix, strict=False))
    except ValueError:
        return prefix


class OneProcess:
    """A daemon that is one process (``proc``, None until started)."""

    proc: Proc | None

    def proc_alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def proc_tail(self) -> str:
        return self.proc.log_tail() if self.proc else ""

    def stop(self) -> None:
        """Clean shutdown (SIGTERM: BIRD and gobgpd close their sessions with a Cease)."""
        if self.proc is not None:
            self.proc.stop()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()


class BirdDaemon(OneProcess):
    """One BIRD process (1.6 ``bird``/``bird6`` or BIRD 2) in a host namespace."""

    def __init__(self, lab: Lab, host: Host, name: str, conf: str, *,
                 binary: str = "bird", client: str = "birdc",
                 env: dict[str, str] | None = None, args: Sequence[str] = ()) -> None:
        self.lab = lab
        self.args = list(args)
        self.host = host
        self.name = name
        self.binary = binary
        self.client = client
        self.env = env
        self.conf_path = lab.workdir / f"{name}.conf"
        self.sock = lab.workdir / f"{name}.ctl"
        self.conf_path.write_text(conf)
        self.proc: Proc | None = None

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.sock.unlink()
        self.proc = self.lab.popen(
            self.name, self.host.ns,
            [self.binary, "-f", *self.args, "-c", str(self.conf_path), "-s", str(self.sock)],
            env=self.env,
        )
        wait_for(lambda: self.sock.exists() or not self.proc_alive(), 10, 0.05,
                 f"{self.name} control socket")
        if not self.proc_alive():
            raise RuntimeError(f"{self.name} died:\n{self.proc_tail()}")

    def cli(self, *args: str) -> str:
        res = self.lab.run(self.host.ns, [self.client, "-s", str(self.sock), *args])
        return res.stdout + res.stderr

    def rib(self) -> Rib:
        return parse_bird_routes(self.cli("show", "route", "all"))

    def protocols(self) -> dict[str, str]:
        return parse_bird_protocols(self.cli("show", "protocols"))

    def established(self) -> int:
        return sum(1 for v in self.protocols().values() if v == "Established")

    def bgp_protocols(self) -> list[str]:
        text = self.cli("show", "protocols")
        return [ln.split()[0] for ln in text.splitlines()
                if len(ln.split()) > 2 and ln.split()[1] == "BGP"]

    def import_stats(self, protocol: str) -> dict[str, int]:
        """``show protocols all NAME``: received count of each "Import ..." row."""
        out: dict[str, int] = {}
        for line in self.cli("show", "protocols", "all", protocol).splitlines():
            m = re.match(r"\s*(Import updates|Import withdraws):\s+(\d+)", line)
            if m:
                out[m.group(1)] = int(m.group(2))
        return out

    def since(self, protocol: str) -> str:
        """The "Since" column of ``show protocols`` (changes when the session resets)."""
        for line in self.cli("show", "protocols", protocol).splitlines():
            parts = line.split()
            if parts and parts[0] == protocol:
                return " ".join(parts[3:5])
        return ""


class CalicoNode:
    """A Calico node: BIRD 1.6 ``bird`` (IPv4) and, if the node has IPv6, ``bird6``."""

    def __init__(self, lab: Lab, spec: configs.NodeSpec,
                 peers4: Sequence[configs.BirdPeer],
                 peers6: Sequence[configs.BirdPeer] = (), *, pod: bool = True) -> None:
        self.lab = lab
        self.spec = spec
        self.host = lab.add_host(spec.name, spec.v4, spec.v6)
        if pod:
            v6 = [spec.pod6, spec.borrowed6] if spec.v6 else []
            lab.add_pod(self.host, [spec.pod4, spec.borrowed4], v6)
        # calico-node runs `bird -R` (and `bird6 -R`): after a restart the OPEN carries the
        # graceful-restart R and F bits, so helpers keep the node's routes until its EoR.
        self.bird = BirdDaemon(lab, self.host, f"{spec.name}-bird",
                               configs.bird_node_conf(spec, peers4, family=4), args=["-R"])
        self.bird6: BirdDaemon | None = None
        if spec.v6 and peers6:
            self.bird6 = BirdDaemon(lab, self.host, f"{spec.name}-bird6",
                                    configs.bird_node_conf(spec, peers6, family=6),
                                    binary="bird6", client="birdc6", args=["-R"])

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def router_id(self) -> str:
        return self.spec.router_id

    @property
    def address(self) -> str:
        return self.spec.v4

    def exported(self, family: int = 4) -> list[str]:
        return self.spec.exported(family)

    def daemons(self) -> list[BirdDaemon]:
        return [self.bird] + ([self.bird6] if self.bird6 else [])

    def start(self) -> None:
        for d in self.daemons():
            d.start()

    def stop(self) -> None:
        for d in self.daemons():
            d.stop()

    def kill(self) -> None:
        for d in self.daemons():
            d.kill()

    def rib(self, family: int = 4) -> Rib:
        d = self.bird if family == 4 else self.bird6
        assert d is not None
        return d.rib()

    def established(self) -> int:
        return self.bird.established()

    def kernel_routes(self, family: int = 2) -> dict[str, dict[str, Any]]:
        return self.lab.routes(self.host.ns, family=family, proto=12)


def bird2_env() -> dict[str, str]:
    env = dict(os.environ)
    lib = str(BIRD2_DIR / "usr/lib/x86_64-linux-gnu")
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"]
                                    if env.get("LD_LIBRARY_PATH") else "")
    return env


class Bird2Client:
    """BIRD 2 announcing ``statics`` to the reflector(s)."""

    kind = "bird2"

    def __init__(self, lab: Lab, name: str, address: str, peers: Sequence[str],
                 statics: Sequence[str], *, add_paths: str = "rx",
                 password: str | None = None) -> None:
        self.lab = lab
        self.name = name
        self.address = self.router_id = address
        self.statics = list(statics)
        self.host = lab.hosts.get(name) or lab.add_host(name, address, None)
        conf = configs.bird2_conf(router_id=address, local=address, peers=peers,
                                  statics=statics, add_paths=add_paths, password=password)
        self.daemon = BirdDaemon(lab, self.host, f"{name}-bird2", conf,
                                 binary=str(BIRD2_DIR / "usr/sbin/bird"),
                                 client=str(BIRD2_DIR / "usr/sbin/birdc"), env=bird2_env())

    def exported(self, family: int = 4) -> list[str]:
        return [_norm(p) for p in self.statics]

    def start(self) -> None:
        self.daemon.start()

    def stop(self) -> None:
        self.daemon.stop()

    def kill(self) -> None:
        self.daemon.kill()

    def rib(self, family: int = 4) -> Rib:
        rib = self.daemon.rib()
        return {k: [p for p in v if p.source] for k, v in rib.items() if any(p.source for p in v)}

    def established(self) -> int:
        return self.daemon.established()


# -- GoBGP ---------------------------------------------------------------------------------

def parse_gobgp_rib(data: Any) -> Rib:
    """``gobgp -j global rib``: ``{prefix: [path, ...]}`` with numbered attribute objects."""
    rib: Rib = {}
    if not isinstance(data, dict):
        return rib
    for prefix, paths in data.items():
        for p in paths:
            path = Path_(prefix=_norm(prefix), best=bool(p.get("best")),
                         source=p.get("neighbor-ip") or p.get("source-id"))
            for a in p.get("attrs", []):
                t = a.get("type")
                if t == 3:
                    path.next_hop = a.get("nexthop")
                elif t == 4:
                    path.med = a.get("metric")
                elif t == 5:
                    path.local_pref = a.get("value")
                elif t == 8:
                    path.communities = [f"{c >> 16}:{c & 0xFFFF}" for c in a.get("communities", [])]
                elif t == 9:
                    path.originator_id = a.get("value")
                elif t == 10:
                    path.cluster_list = list(a.get("value") or [])
                elif t == 14:
                    path.next_hop = a.get("nexthop") or path.next_hop
            rib.setdefault(path.prefix, []).append(path)
    for paths in rib.values():
        paths.sort(key=lambda x: not x.best)
    return rib


class GobgpBase(OneProcess):
    """A gobgpd process in a namespace with its ``gobgp`` CLI (gRPC on the ns's loopback)."""

    def __init__(self, lab: Lab, host: Host, name: str, toml: str) -> None:
        self.lab = lab
        self.host = host
        self.name = name
        self.conf_path = lab.workdir / f"{name}.toml"
        self.conf_path.write_text(toml)
        self.proc: Proc | None = None

    def argv(self, graceful_restart: bool) -> list[str]:
        argv = ["gobgpd", "-f", str(self.conf_path), "-t", "toml", "-p", "-l", "debug",
                "--api-hosts", "127.0.0.1:50051", "--pprof-disable"]
        if graceful_restart:
            argv.append("-r")
        return argv

    def start(self, graceful_restart: bool = False) -> None:
        self.proc = self.lab.popen(self.name, self.host.ns, self.argv(graceful_restart))
        wait_for(lambda: self.gobgp("global").returncode == 0 or not self.proc_alive(),
                 15, 0.1, f"{self.name} API")
        if not self.proc_alive():
            raise RuntimeError(f"{self.name} died:\n{self.proc_tail()}")

    def gobgp(self, *args: str) -> Any:
        return self.lab.run(self.host.ns, ["gobgp", "-u", "127.0.0.1", "-p", "50051", *args])

    def gobgp_json(self, *args: str) -> Any:
        res = self.gobgp("-j", *args)
        if res.returncode != 0 or not res.stdout.strip():
            return None
        return json.loads(res.stdout)

    def rib(self, family: int = 4) -> Rib:
        return parse_gobgp_rib(self.gobgp_json("global", "rib", "-a",
                                               "ipv4" if family == 4 else "ipv6"))

    def established(self) -> int:
        data = self.gobgp_json("neighbor") or []
        return sum(1 for n in data
                   if str(n.get("state", {}).get("session_state", "")).lower()
                   in ("established", "6"))

    def hup(self) -> None:
        if self.proc is not None:
            self.proc.signal(signal.SIGHUP)


class GobgpClient(GobgpBase):
    kind = "gobgp"

    def __init__(self, lab: Lab, name: str, address: str, peers: Sequence[str],
                 statics: Sequence[str], *, password: str | None = None) -> None:
        host = lab.hosts.get(name) or lab.add_host(name, address, None)
        super().__init__(lab, host, f"{name}-gobgpd",
                         configs.gobgp_client_toml(router_id=address, peers=peers,
                                                   password=password))
        self.address = self.router_id = address
        self.statics = list(statics)

    def exported(self, family: int = 4) -> list[str]:
        return [_norm(p) for p in self.statics]

    def start(self, graceful_restart: bool = False) -> None:
        super().start(graceful_restart)
        for p in self.statics:
            res = self.gobgp("global", "rib", "add", p, "nexthop", self.address, "-a", "ipv4")
            if res.returncode != 0:
                raise RuntimeError(f"gobgp rib add {p}: {res.stderr}")

    def rib(self, family: int = 4) -> Rib:
        rib = super().rib(family)
        return {k: [p for p in v if p.next_hop != self.address] for k, v in rib.items()
                if any(p.next_hop != self.address for p in v)}


# -- FRR -----------------------------------------------------------------------------------

def parse_frr_rib(data: Any) -> Rib:
    """``show bgp ipv4 unicast json``: ``{"routes": {prefix: [path, ...]}}``."""
    rib: Rib = {}
    routes = (data or {}).get("routes", {})
    for prefix, paths in routes.items():
        for p in paths:
            nh = None
            for n in p.get("nexthops", []):
                nh = n.get("ip") or nh
            path = Path_(prefix=_norm(prefix), next_hop=nh, best=bool(p.get("bestpath")),
                         local_pref=p.get("locPrf"), med=p.get("metric"),
                         source=p.get("peerId"))
            rib.setdefault(path.prefix, []).append(path)
    return rib


def _frr_as_path(path: Any) -> str:
    """FRR's AS_PATH text ("Local" when empty: "" as BIRD's parser gives)."""
    text = str((path.get("aspath") or {}).get("string", ""))
    return "" if text == "Local" else text


def parse_frr_prefix_detail(data: Any) -> list[Path_]:
    """``show bgp ipv4 unicast PREFIX json``: paths with originator and cluster list (FRR 8
    names the MED ``metric``)."""
    out: list[Path_] = []
    prefix = _norm(str((data or {}).get("prefix", "")))
    for p in (data or {}).get("paths", []):
        nh = None
        for n in p.get("nexthops", []):
            nh = n.get("ip") or nh
        cl = p.get("clusterList", {})
        out.append(Path_(
            prefix=prefix, next_hop=nh,
            best=bool(p.get("bestpath", {}).get("overall")),
            originator_id=p.get("originatorId"),
            cluster_list=list(cl.get("list", [])) if isinstance(cl, dict) else [],
            local_pref=p.get("localpref"), med=p.get("med", p.get("metric")),
            as_path=_frr_as_path(p),
            source=(p.get("peer") or {}).get("peerId"),
        ))
    return out


class FrrClient:
    """FRR bgpd + zebra with their own pathspace (``-N``) and vtysh."""

    kind = "frr"

    def __init__(self, lab: Lab, name: str, address: str, peers: Sequence[str],
                 statics: Sequence[str], *, password: str | None = None) -> None:
        self.lab = lab
        self.name = name
        self.address = self.router_id = address
        self.statics = list(statics)
        self.host = lab.hosts.get(name) or lab.add_host(name, address, None)
        self.pathspace = f"{lab.prefix}{name}"
        self.rundir = Path("/var/run/frr") / self.pathspace
        self.conf_path = lab.workdir / f"{name}-frr.conf"
        self.conf_path.write_text(configs.frr_conf(name=name, router_id=address, peers=peers,
                                                   networks=statics, password=password))
        self.procs: list[Proc] = []

    def exported(self, family: int = 4) -> list[str]:
        return [_norm(p) for p in self.statics]

    def start(self) -> None:
        # FRR drops privileges to user frr (group frrvty for the vty sockets), so its
        # sockets and config live in its own pathspace directory, owned by frr.
        self.rundir.mkdir(parents=True, exist_ok=True)
        self.lab.remove_on_cleanup(self.rundir)
        shutil.chown(self.rundir, "frr", "frr")
        conf = self.rundir / "bgpd.conf"
        conf.write_text(self.conf_path.read_text())
        zconf = self.rundir / "zebra.conf"
        zconf.write_text("")
        for f in (conf, zconf):
            shutil.chown(f, "frr", "frr")
        self._spawn("zebra", zconf, "zserv.api", "zebra socket")
        self._spawn("bgpd", conf, "bgpd.vty", "bgpd vty")

    def _spawn(self, daemon: str, conf: Path, ready: str, what: str) -> None:
        """Start FRR's ``daemon`` with ``conf``; wait until ``ready`` is in the run dir."""
        common = ["-N", self.pathspace, "-u", "frr", "-g", "frrvty", "--log", "stdout"]
        proc = self.lab.popen(f"{self.name}-{daemon}", self.host.ns,
                              [str(FRR_DIR / daemon), *common, "-f", str(conf),
                               "-i", str(self.rundir / f"{daemon}.pid")])
        self.procs.append(proc)
        wait_for(lambda: (self.rundir / ready).exists() or not proc.alive(), 10, 0.05, what)
        if not proc.alive():
            raise RuntimeError(f"{daemon} died:\n{proc.log_tail()}")

    def vtysh(self, cmd: str) -> str:
        res = self.lab.run(self.host.ns, ["vtysh", "-N", self.pathspace, "-c", cmd])
        return res.stdout

    def vtysh_json(self, cmd: str) -> Any:
        out = self.vtysh(cmd)
        try:
            return json.loads(out)
        except ValueError:
            return None

    def rib(self, family: int = 4) -> Rib:
        """Learned routes, each with its detail (ORIGINATOR_ID and CLUSTER_LIST)."""
        summary = parse_frr_rib(self.vtysh_json("show bgp ipv4 unicast json"))
        rib: Rib = {}
        for prefix in summary:
            if prefix in self.exported():
                continue
            paths = [p for p in self.rib_detail(prefix) if p.source]
            if paths:
                rib[prefix] = sorted(paths, key=lambda p: not p.best)
        return rib

    def rib_detail(self, prefix: str) -> list[Path_]:
        return parse_frr_prefix_detail(self.vtysh_json(f"show bgp ipv4 unicast {prefix} json"))

    def established(self) -> int:
        data = self.vtysh_json("show bgp ipv4 unicast summary json") or {}
        peers = data.get("peers", {})
        return sum(1 for p in peers.values() if p.get("state") == "Established")

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()

    def kill(self) -> None:
        for p in reversed(self.procs):
            p.kill()


# -- the reflector under test -------------------------------------------------------------

def bgprr_executable() -> str | None:
    cand = Path(sys.executable).parent / "bgprr"
    if cand.exists():
        return str(cand)
    return shutil.which("bgprr")


class Reflector(GobgpBase):
    """The reflector under test: ``bgprr --config rr.toml`` or ``gobgpd -f rr.toml``."""

    def __init__(self, lab: Lab, kind: str, name: str, address: str,
                 cfg: configs.RRConfig, v6: str | None = None) -> None:
        host = lab.hosts.get(name) or lab.add_host(name, address, v6)
        super().__init__(lab, host, f"{name}-{kind}", configs.reflector_toml(cfg))
        self.kind = kind
        self.address = address
        self.cfg = cfg

    def write_config(self, cfg: configs.RRConfig) -> None:
        self.cfg = cfg
        tmp = self.conf_path.with_suffix(".tmp")
        tmp.write_text(configs.reflector_toml(cfg))
        tmp.replace(self.conf_path)

    def argv(self, graceful_restart: bool) -> list[str]:
        if self.kind == "gobgp":
            return super().argv(graceful_restart)
        exe = bgprr_executable()
        if exe is None:
            raise RuntimeError("bgprr executable not found (pip install -e .)")
        # Per-instance control socket and GR state dir: the reflectors of one lab (and of
        # other runs) share the filesystem, only the network namespaces differ.
        state = self.lab.workdir / f"{self.name}-state"
        state.mkdir(exist_ok=True)
        argv = [exe, "--config", str(self.conf_path), "--log-level", "debug",
                "--api-socket", str(self.lab.workdir / f"{self.name}.sock"),
                "--state-dir", str(state)]
        if graceful_restart:
            argv.append("--graceful-restart")
        return argv

    def start(self, graceful_restart: bool = False) -> None:
        if self.kind == "gobgp":
            super().start(graceful_restart)
            return
        self.proc = self.lab.popen(self.name, self.host.ns, self.argv(graceful_restart))
        # bgprr has no gobgp-compatible gRPC API: wait until it listens on port 179.
        wait_for(lambda: self._listening() or not self.proc_alive(), 15, 0.1,
                 f"{self.name} listening")
        if not self.proc_alive():
            raise RuntimeError(f"{self.name} died:\n{self.proc_tail()}")

    def _listening(self) -> bool:
        out = self.lab.run(self.host.ns, ["ss", "-Htln", "sport", "= :179"]).stdout
        return bool(out.strip())


def sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
