"""The reflector of a flap storm: its configuration (graceful restart helper on every
client session), its start, and its own tables read back through its own interface.

``bgprr`` and ``gobgp`` read the same GoBGP-format TOML; ``bird2`` gets the equivalent
BIRD 2 configuration (BIRD's default ``graceful restart aware`` makes it the receiving
speaker). The idle hold time after a reset is 1 s instead of GoBGP's default of 30 s,
so that flapping clients come back within the run: bgprr takes a client back at once
after its first flap, then after 1 s, doubling per further consecutive flap up to 300 s
(DampPeerOscillations, RFC 4271 §8.1.1), and refuses it (Cease / Connection Rejected)
meanwhile. Tables are normalised to ``{prefix: [Held, ...]}``: the Loc-RIB, and per
client its Adj-RIB-In. BIRD keeps no Adj-RIB-In apart from its table without ``import
table``, so for BIRD the per-client view is the table's routes from that client's
protocol.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bgprr.api.client import Client as ApiClient

from . import reflectors
from .loadtester import client_address, proc_usage
from .reflectors import BIRD2, GOBGPD, Running, bgprr_command, bird2_env, wait_listening

ASN = 64512
BIRDC2 = os.path.join(os.path.dirname(BIRD2), "birdc")
GOBGP_CLI = "/usr/bin/gobgp"
NAMES = ("bgprr", "gobgp", "bird2")


@dataclass(frozen=True, slots=True)
class Held:
    """One path as the reflector holds it."""

    source: str
    next_hop: str
    med: int | None
    stale: bool


Table = dict[str, list[Held]]


# Per neighbor: flapping clients come back after 1 s (GoBGP's default is 30 s), and
# graceful restart (helper) for the half that negotiates it.
_NEIGHBOR_EXTRA = (
    "  [neighbors.timers.config]",
    "    idle-hold-time-after-reset = 1",
    "  [neighbors.graceful-restart.config]",
    "    enabled = true",
    "    helper-only = true",
    "  [[neighbors.afi-safis]]",
    "    [neighbors.afi-safis.config]",
    '      afi-safi-name = "ipv4-unicast"',
    "    [neighbors.afi-safis.mp-graceful-restart.config]",
    "      enabled = true",
)


def gobgp_toml(addr: str, port: int, clients: int) -> str:
    return reflectors.gobgp_toml(addr, port, clients, _NEIGHBOR_EXTRA)


def bird2_conf(addr: str, port: int, clients: int) -> str:
    out = [
        f"router id {addr};",
        "log stderr { warning, error, fatal };",
        "ipv4 table igp4;",
        "protocol device { scan time 60; }",
        'protocol static igp_nh { ipv4 { table igp4; }; route 198.18.0.0/15 via "lo"; }',
        "template bgp rrc {",
        f"  local {addr} port {port} as {ASN};",
        "  strict bind yes;",
        "  passive on;",
        "  rr client;",
        f"  rr cluster id {addr};",
        "  graceful restart aware;",
        "  ipv4 { import all; export all; igp table igp4; };",
        "}",
    ]
    out += [
        f"protocol bgp c{i} from rrc {{ neighbor {client_address(i)} as {ASN}; }}"
        for i in range(clients)
    ]
    return "\n".join(out) + "\n"


def _spawn(cmd: list[str], log: Path, env: dict[str, str] | None) -> subprocess.Popen[bytes]:
    with open(log, "ab") as f:
        return subprocess.Popen(
            cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env,
        )  # fmt: skip


class Reflector:
    """A started reflector: ``bgprr --config``, ``gobgpd -f`` or BIRD 2, as a process of
    its own (its RSS and open files are its own)."""

    def __init__(self, name: str, workdir: Path, addr: str, port: int, clients: int) -> None:
        if name not in NAMES:
            raise ValueError(f"unknown reflector {name!r} (one of {', '.join(NAMES)})")
        self.name, self.workdir, self.addr, self.port = name, workdir, addr, port
        workdir.mkdir(parents=True, exist_ok=True)
        log = workdir / f"{name}.log"
        self.sock = str(workdir / ("bird.ctl" if name == "bird2" else "bgprr.sock"))
        if name == "bird2":
            conf = workdir / "bird.conf"
            conf.write_text(bird2_conf(addr, port, clients))
            cmd = [BIRD2, "-f", "-c", str(conf), "-s", self.sock, "-P", str(workdir / "bird.pid")]
        else:
            conf = workdir / "rr.toml"
            conf.write_text(gobgp_toml(addr, port, clients))
            if name == "gobgp":
                cmd = [GOBGPD, "-f", str(conf), "--api-hosts", f"{addr}:{port + 1}",
                       "--pprof-disable", "-l", "warn"]  # fmt: skip
            else:
                level = os.environ.get("BGPRR_FLAP_LOG", "warning")
                cmd = [*bgprr_command(), "--config", str(conf), "--api-socket", self.sock,
                       "--state-dir", str(workdir / "state"), "--log-level", level]  # fmt: skip
        proc = _spawn(cmd, log, bird2_env() if name == "bird2" else None)
        self.run = Running(name=name, procs=[proc], measure=[proc.pid], workdir=workdir,
                           logs=[log])  # fmt: skip
        try:
            wait_listening(self.run, addr, port, 60.0)
        except RuntimeError:
            self.run.stop()
            raise

    @property
    def pid(self) -> int:
        return self.run.measure[0]

    def alive(self) -> bool:
        return self.run.alive()

    def stop(self) -> None:
        self.run.stop()

    def usage(self) -> dict[str, float]:
        """RSS, peak RSS (bytes), CPU seconds and open file descriptors, from /proc."""
        out = proc_usage([self.pid])
        try:
            out["fds"] = float(len(os.listdir(f"/proc/{self.pid}/fd")))
        except OSError:
            out["fds"] = -1.0
        return out

    # tables ---------------------------------------------------------------------------
    def loc_rib(self) -> Table:
        if self.name == "bgprr":
            with ApiClient(self.sock, timeout=60) as api:
                return _bgprr_table(api.call("rib.get", {"family": "ipv4"}))
        if self.name == "gobgp":
            return _gobgp_table(self._gobgp("global", "rib", "-a", "ipv4"), None)
        return _bird_table(self._birdc("show route all"))

    def adj_rib_in(self, addresses: list[str]) -> dict[str, Table]:
        out: dict[str, Table] = {}
        if self.name == "bgprr":
            with ApiClient(self.sock, timeout=60) as api:
                for a in addresses:
                    paths = api.call("neighbor.adj_in", {"address": a, "family": "ipv4"})
                    out[a] = _bgprr_table([{"prefix": p["prefix"], "paths": [p]} for p in paths])
        elif self.name == "gobgp":
            for a in addresses:
                out[a] = _gobgp_table(self._gobgp("neighbor", a, "adj-in", "-a", "ipv4"), a)
        else:
            by_proto: dict[str, Table] = {}
            for prefix, paths in _bird_table(self._birdc("show route all"), by_source=True).items():
                for h in paths:
                    by_proto.setdefault(h.source, {}).setdefault(prefix, []).append(h)
            out = {a: by_proto.get(a, {}) for a in addresses}
        return out

    def _gobgp(self, *args: str) -> Any:
        res = subprocess.run(
            [GOBGP_CLI, "-u", self.addr, "-p", str(self.port + 1), "-j", *args],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return json.loads(res.stdout or "null")

    def _birdc(self, command: str) -> str:
        res = subprocess.run(
            [BIRDC2, "-s", self.sock, command],
            capture_output=True, text=True, timeout=120, check=True, env=bird2_env(),
        )  # fmt: skip
        return res.stdout


def _bgprr_table(routes: list[dict[str, Any]]) -> Table:
    return {
        r["prefix"]: [
            Held(str(p.get("source", "")), str(p["next_hop"]), p.get("med"), bool(p["stale"]))
            for p in r["paths"]
        ]
        for r in routes
    }


def _gobgp_table(data: Any, source: str | None) -> Table:
    out: Table = {}
    if isinstance(data, list):  # adj-in of some versions: a list of destinations
        data = {d.get("prefix", ""): d.get("paths", [d]) for d in data}
    if not isinstance(data, dict):
        return out
    for prefix, paths in data.items():
        for p in paths:
            nh, med = "", None
            for a in p.get("attrs", []):
                if a.get("type") == 3:
                    nh = a.get("nexthop", "")
                elif a.get("type") == 4:
                    med = a.get("metric")
            src = source or p.get("neighbor-ip") or p.get("source-id") or ""
            out.setdefault(prefix, []).append(Held(src, nh, med, bool(p.get("stale"))))
    return out


_BIRD_ROUTE = re.compile(r"^(\S+)?\s+unicast \[c(\d+) [^\]]*\]")
_BIRD_ATTR = re.compile(r"^\s+BGP\.(next_hop|med): (\S+)")


def _bird_table(text: str, by_source: bool = False) -> Table:
    """``show route all``: a route line (prefix, or blank for the prefix's next path)
    naming its protocol ``cN``, then ``BGP.*`` attribute lines. Stale routes are marked
    ``(stale)`` by BIRD in the route line's flags."""
    out: Table = {}
    prefix = ""
    cur: list[Any] | None = None

    def flush() -> None:
        if cur is not None:
            out.setdefault(cur[0], []).append(Held(cur[1], cur[2], cur[3], cur[4]))

    for line in text.splitlines():
        m = _BIRD_ROUTE.match(line)
        if m:
            flush()
            if m.group(1):
                prefix = m.group(1)
            cur = [prefix, client_address(int(m.group(2))), "", None, "stale" in line]
            continue
        a = _BIRD_ATTR.match(line)
        if a and cur is not None:
            if a.group(1) == "next_hop":
                cur[2] = a.group(2)
            else:
                cur[3] = int(a.group(2))
    flush()
    return out
