"""A `bgprr --config` daemon as a subprocess for the security and fault tests: its log in a
file, the CLI and HTTP run without blocking the event loop (in-process client daemons keep
their sessions meanwhile), and the TCP sockets it listens on read from /proc."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).parents[1]  # so that `python -m bgprr` imports this tree
BGPRR = [sys.executable, "-m", "bgprr"]


class Ran:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    def __repr__(self) -> str:
        return f"Ran({self.code}, {self.out!r}, {self.err!r})"


async def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, stdin: str | None = None
) -> Ran:
    """`python -m bgprr ARGS` to completion (`stdin`: what it reads)."""
    proc = await asyncio.create_subprocess_exec(
        *BGPRR, *args, cwd=cwd, env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    data = None if stdin is None else stdin.encode()
    out, err = await asyncio.wait_for(proc.communicate(data), 30)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


class Daemon:
    """`bgprr --config DIR/rr.toml --api-socket DIR/api.sock --state-dir DIR/state ARGS`."""

    def __init__(
        self,
        where: Path,
        config: str,
        args: Sequence[str] = (),
        *,
        env: dict[str, str] | None = None,
        state_dir: Path | None = None,
        wrap: Sequence[str] = (),
    ) -> None:
        self.dir = where
        self.config = where / "rr.toml"
        self.config.write_text(config)
        self.sock = where / "api.sock"
        self.state_dir = state_dir or where / "state"
        self.log_path = where / "bgprr.log"
        self.env = env or {}
        argv = [*wrap, *BGPRR, "--config", str(self.config), "--api-socket", str(self.sock),
                "--state-dir", str(self.state_dir), "--no-uvloop", *args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> list[str]:
        return self.log_path.read_text().splitlines()

    async def wait_log(self, text: str, timeout: float = 15.0, start: int = 0) -> str:
        """The first log line from line `start` on that contains `text`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for line in self.log()[start:]:
                if text in line:
                    return line
            if self.proc.poll() is not None:
                raise AssertionError(f"bgprr exited ({self.proc.returncode}):\n" +
                                     "\n".join(self.log()))
            if loop.time() > deadline:
                raise AssertionError(f"no log line with {text!r}:\n" + "\n".join(self.log()))
            await asyncio.sleep(0.05)

    async def cli(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> Ran:
        return await run("--api-socket", str(self.sock), *args, env=env, stdin=stdin)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            for _ in range(300):
                if self.proc.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                self.proc.kill()
        return self.proc.wait()


async def http_get(hostport: str, path: str) -> tuple[int, str]:
    """Status and body of `GET path` on `hostport` (HOST:PORT, IPv4)."""
    host, _, port = hostport.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


def listening(pid: int) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket process `pid` listens on."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as fh:
            next(fh)
            for line in fh:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state != "0A" or inode not in inodes:  # 0A: TCP_LISTEN
                    continue
                addr, port = local.split(":")
                raw = bytes.fromhex(addr)
                # /proc prints each 32-bit word in host (little-endian) order
                packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                out.add((str(ipaddress.ip_address(packed)), int(port, 16)))
    return out
