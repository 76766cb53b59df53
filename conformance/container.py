"""bgprr from its container image (deploy/image/build), run with podman in the lab.

The container joins a lab host's network namespace (``podman run --network
ns:/run/netns/NAME``), so the Calico nodes see the same reflector as in the other tests,
while the process runs as the image's non-root user with only NET_BIND_SERVICE. Every
container and volume made here is named ``bgprr-<pid>-...`` and remembered; :func:`cleanup`
(the tests' fixture, and ``atexit``) removes exactly those. Images are never removed here:
deploy/image/build owns the image and replaces it only when the checkout changes.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import configs
from conformance.cluster import Cluster
from conformance.daemons import Reflector
from conformance.netns import Lab, wait_for

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "deploy" / "image" / "build"
CONTAINERS_CONF = REPO / "deploy" / "image" / "containers.conf"
IMAGE = os.environ.get("BGPRR_IMAGE", "localhost/bgprr:latest")
CAPS = ("--cap-drop=all", "--cap-add=NET_BIND_SERVICE")
STATE = "/var/lib/bgprr"
SOCKET = "/run/bgprr/bgprr.sock"
CAP_NET_BIND_SERVICE = 1 << 10

_CONTAINERS: list[str] = []
_VOLUMES: list[str] = []
_OWNER = os.getpid()
_BUILT: set[str] = set()


def podman(*args: str, timeout: float = 60.0,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    res = subprocess.run(["podman", *args], capture_output=True, text=True, env=env,
                         timeout=timeout, stdin=subprocess.DEVNULL)
    if check and res.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: exit {res.returncode}: "
                           f"{res.stderr.strip()}")
    return res


def ensure_image(image: str = IMAGE) -> str:
    """Build ``image`` from this checkout unless it is up to date (about a second then);
    once per test process."""
    if image in _BUILT:
        return image
    env = {**os.environ, "BGPRR_IMAGE": image}
    res = subprocess.run([str(BUILD)], capture_output=True, text=True, env=env,
                         timeout=900, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise RuntimeError(f"{BUILD} failed (exit {res.returncode}):\n"
                           f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    _BUILT.add(image)
    return image


def inspect_image(image: str = IMAGE) -> dict[str, Any]:
    data = json.loads(podman("image", "inspect", image).stdout)
    return dict(data[0])


def unique(tag: str) -> str:
    return f"bgprr-{os.getpid()}-{tag}"


def new_volume(tag: str) -> str:
    name = unique(tag)
    podman("volume", "create", name)
    _VOLUMES.append(name)
    return name


def volume_path(name: str) -> Path:
    return Path(podman("volume", "inspect", "--format", "{{.Mountpoint}}", name).stdout.strip())


def cleanup() -> None:
    """Remove the containers and volumes this process made (and nothing else)."""
    if os.getpid() != _OWNER:
        return
    for name in reversed(_CONTAINERS):
        podman("rm", "--force", "--volumes", "--time", "2", name, check=False)
    _CONTAINERS.clear()
    for name in reversed(_VOLUMES):
        podman("volume", "rm", "--force", name, check=False)
    _VOLUMES.clear()


atexit.register(cleanup)


@dataclass(slots=True)
class Proc1:
    """One process inside a container, from its /proc/PID/status."""

    pid: int
    name: str
    state: str
    ppid: int
    uid: int
    cap_eff: int
    cap_bnd: int
    cap_amb: int


def parse_status(text: str) -> list[Proc1]:
    """Parse ``@PID`` lines each followed by that process's /proc/PID/status."""
    out: list[Proc1] = []
    cur: dict[str, str] = {}

    def flush() -> None:
        if "Name" in cur:
            out.append(Proc1(
                pid=int(cur["@"]), name=cur["Name"], state=cur["State"].split()[0],
                ppid=int(cur["PPid"]), uid=int(cur["Uid"].split()[0]),
                cap_eff=int(cur["CapEff"], 16), cap_bnd=int(cur["CapBnd"], 16),
                cap_amb=int(cur.get("CapAmb", "0"), 16)))

    for line in text.splitlines():
        if line.startswith("@"):
            flush()
            cur = {"@": line[1:].strip()}
            continue
        key, _, value = line.partition(":")
        cur[key.strip()] = value.strip()
    flush()
    return out


@dataclass
class Container:
    """One ``podman run -d`` of the image in network namespace ``ns``."""

    tag: str
    image: str
    ns: str
    args: Sequence[str] = ()
    options: Sequence[str] = ()
    caps: Sequence[str] = CAPS
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = unique(self.tag)

    def run(self) -> None:
        _CONTAINERS.append(self.name)
        podman("run", "--detach", "--name", self.name, "--network", f"ns:/run/netns/{self.ns}",
               *self.caps, *self.options, self.image, *self.args)

    def inspect(self, fmt: str) -> str:
        return podman("inspect", "--format", fmt, self.name, check=False).stdout.strip()

    def running(self) -> bool:
        return self.inspect("{{.State.Running}}") == "true"

    def exit_code(self) -> int:
        return int(self.inspect("{{.State.ExitCode}}"))

    def exec(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return podman("exec", self.name, *argv, check=check)

    def processes(self) -> list[Proc1]:
        """The container's processes but the ``podman exec`` shell that lists them."""
        script = 'for d in /proc/[0-9]*; do echo "@${d#/proc/}"; cat "$d/status"; done 2>/dev/null'
        procs = parse_status(self.exec("sh", "-c", script).stdout)
        return [p for p in procs if not (p.ppid == 0 and p.pid != 1)
                and p.name != "cat"]

    def stop(self, timeout: int = 10) -> float:
        """``podman stop`` (SIGTERM, SIGKILL after ``timeout``); returns the seconds it took."""
        t0 = time.monotonic()
        podman("stop", "--time", str(timeout), self.name, timeout=timeout + 30)
        return time.monotonic() - t0

    def kill(self) -> None:
        podman("kill", self.name, check=False)

    def remove(self) -> None:
        podman("rm", "--force", "--volumes", self.name, check=False)
        if self.name in _CONTAINERS:
            _CONTAINERS.remove(self.name)

    def logs(self, lines: int = 60) -> str:
        res = podman("logs", "--tail", str(lines), self.name, check=False)
        return res.stdout + res.stderr


def listening(lab: Lab, ns: str, port: int = 179) -> bool:
    out = lab.run(ns, ["ss", "-Htln", f"sport = :{port}"]).stdout
    return bool(out.strip())


class ContainerReflector(Reflector):
    """The reflector under test as a container of the image: same config file (mounted as
    /etc/bgprr/rr.toml), same namespace, its graceful-restart state in a named volume that
    outlives each container. ``stop()``/``kill()`` remove the container; ``start()`` runs
    a new one on the same volume, as an upgrade would."""

    def __init__(self, lab: Lab, name: str, address: str, cfg: configs.RRConfig,
                 image: str, v6: str | None = None) -> None:
        super().__init__(lab, "bgprr", name, address, cfg, v6=v6)
        self.short = name
        self.image = image
        self.volume = new_volume(f"{name}-state")
        self.container: Container | None = None
        self.runs = 0
        self.start_seconds: list[float] = []
        self.stop_seconds: list[float] = []
        self.exit_codes: list[int] = []
        self.old_logs: list[str] = []

    @classmethod
    def replace(cls, cl: Cluster, k: int, image: str) -> ContainerReflector:
        """Put a container reflector in place of ``cl.rrs[k]`` (same name, address, config)."""
        old = cl.rrs[k]
        name = old.name.removesuffix(f"-{old.kind}")
        new = cls(cl.lab, name, old.address, old.cfg, image, v6=old.host.v6)
        cl.rrs[k] = new
        return new

    def start(self, graceful_restart: bool = False) -> None:
        args = ["--config", "/etc/bgprr/rr.toml", "--state-dir", STATE, "--api-socket", SOCKET,
                "--log-level", "debug"]
        if graceful_restart:
            args.append("-r")
        self.runs += 1
        self.container = Container(
            f"{self.short}-{self.runs}", self.image, self.host.ns, args,
            options=["--volume", f"{self.volume}:{STATE}",
                     "--volume", f"{self.conf_path}:/etc/bgprr/rr.toml:ro"])
        t0 = time.monotonic()
        self.container.run()
        wait_for(lambda: listening(self.lab, self.host.ns) or not self.container_alive(),
                 30, 0.02, f"{self.name} container listening")
        if not self.container_alive():
            raise RuntimeError(f"{self.name} container died:\n{self.container.logs()}")
        self.start_seconds.append(time.monotonic() - t0)

    def container_alive(self) -> bool:
        return self.container is not None and self.container.running()

    def proc_alive(self) -> bool:
        return self.container_alive()

    def proc_tail(self) -> str:
        return self.container.logs() if self.container else ""

    def _retire(self) -> None:
        assert self.container is not None
        self.exit_codes.append(self.container.exit_code())
        self.old_logs.append(self.container.logs(200))
        self.container.remove()
        self.container = None

    def stop(self) -> None:
        """``podman stop``: SIGTERM through tini; bgprr closes GR sessions silently."""
        if self.container is not None:
            self.stop_seconds.append(self.container.stop())
            self._retire()

    def kill(self) -> None:
        if self.container is not None:
            self.container.kill()
            self._retire()

    def saved_peers(self) -> set[str]:
        """The peers in the state volume's ``established-peers`` file."""
        path = volume_path(self.volume) / "established-peers"
        try:
            text = path.read_text()
        except FileNotFoundError:
            return set()
        return {ln for ln in text.splitlines() if ln and not ln.startswith("#")}
