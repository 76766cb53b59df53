"""One run: the same TOML (but the port) in gobgpd and in bgprr side by side, a set of
:class:`Speaker` neighbors for each, the routes announced, and what every neighbor holds
once both daemons are quiet."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bgprr.wire.prefix import parse_prefix

from .batch import Placed, config, place
from .model import DAEMON, NEIGHBORS, Case
from .speaker import Key, Speaker
from .toml import dumps

Tables = dict[str, dict[Key, tuple[bytes, bytes]]]  # neighbor name -> received table


def free_port(host: str = DAEMON) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def bgprr_argv(conf: Path, workdir: Path) -> list[str]:
    state = workdir / "bgprr-state"
    state.mkdir(exist_ok=True)
    return [
        sys.executable,
        "-m",
        "bgprr",
        "--config",
        str(conf),
        "--api-socket",
        "",
        "--state-dir",
        str(state),
        "--log-level",
        "info",
        "--no-uvloop",
    ]


def gobgpd_argv(conf: Path) -> list[str]:
    return [
        "gobgpd",
        "-f",
        str(conf),
        "-t",
        "toml",
        "-p",
        "-l",
        "info",
        "--api-hosts",
        f"127.0.0.1:{free_port()}",
        "--pprof-disable",
    ]


@dataclass
class RunResult:
    placed: list[Placed]
    tables: dict[str, Tables]  # "gobgp" / "bgprr" -> tables
    logs: dict[str, Path]
    seconds: float


class _Daemon:
    def __init__(self, kind: str, workdir: Path, tree_text: str, port: int) -> None:
        self.kind = kind
        self.port = port
        self.conf = workdir / f"{kind}.toml"
        self.conf.write_text(tree_text)
        self.log = workdir / f"{kind}.log"
        argv = gobgpd_argv(self.conf) if kind == "gobgp" else bgprr_argv(self.conf, workdir)
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.speakers = {nb.name: Speaker(nb.address, nb.asn) for nb in NEIGHBORS}

    async def connect(self) -> None:
        await asyncio.gather(*(s.connect(DAEMON, self.port) for s in self.speakers.values()))

    def stop(self) -> None:
        for s in self.speakers.values():
            s.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


async def _quiet(daemons: list[_Daemon], quiet: float, limit: float) -> None:
    start = time.monotonic()
    while True:
        await asyncio.sleep(0.1)
        now = time.monotonic()
        last = max(s.last_rx for d in daemons for s in d.speakers.values())
        if now - last >= quiet or now - start > limit:
            return


async def run(cases: list[Case], workdir: Path, *, quiet: float = 1.5) -> RunResult:
    """Run ``cases`` (slots 0..n-1) through both daemons at once."""
    t0 = time.monotonic()
    placed = [place(c, i + 1) for i, c in enumerate(cases)]
    workdir.mkdir(parents=True, exist_ok=True)
    daemons = []
    kinds = ["gobgp", "bgprr"] if shutil.which("gobgpd") else ["bgprr"]
    try:
        for kind in kinds:
            port = free_port()
            daemons.append(_Daemon(kind, workdir, dumps(config(placed, port)), port))
        try:
            await asyncio.gather(*(d.connect() for d in daemons))
        except RuntimeError as e:
            tails = "\n".join(f"--- {d.kind}\n{d.tail()}" for d in daemons)
            raise RuntimeError(f"{e}\n{tails}") from e
        await asyncio.sleep(0.3)
        phases = sorted({r.phase for pl in placed for r in pl.routes})
        for phase in phases:
            for d in daemons:
                for pl in placed:
                    for r in pl.routes:
                        if r.phase != phase:
                            continue
                        attrs, nh = r.attrs()
                        key = parse_prefix(r.prefix)[1]
                        d.speakers[r.sender].announce(r.afi, [key], attrs, nh)
                await asyncio.gather(*(s.drain() for s in d.speakers.values()))
            await asyncio.sleep(0.5)
            await _quiet(daemons, quiet, 30.0)
        for d in daemons:
            for name, s in d.speakers.items():
                if s.closed or s.notification is not None:
                    raise RuntimeError(
                        f"{d.kind}: session of {name} ended ({s.notification})\n{d.tail()}"
                    )
            bad = [
                ln
                for ln in d.log.read_text(errors="replace").splitlines()
                if "level=error" in ln and "Topic=Policy" in ln
            ]
            if bad:
                raise RuntimeError(f"{d.kind} refused the policies:\n" + "\n".join(bad))
        tables = {d.kind: {n: dict(s.table) for n, s in d.speakers.items()} for d in daemons}
    finally:
        for d in daemons:
            d.stop()
    return RunResult(placed, tables, {d.kind: d.log for d in daemons}, time.monotonic() - t0)
