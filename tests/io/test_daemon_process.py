"""`bgprr --config` as a real process: bad configs, SIGHUP reload, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bgprr.config import load_config_text
from bgprr.io.daemon import Daemon
from bgprr.session import State

from .test_daemon_loopback import RR, client_config, free_port, rr_config, wait_for

BGPRR = [sys.executable, "-m", "bgprr"]


def run_bgprr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BGPRR, *args], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "rr.toml"
    cfg.write_text('[global.config]\nas = "x"\nrouter-id = "10.0.0.1"\n')
    res = run_bgprr("--config", str(cfg))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert str(cfg) in lines[0] and "global.config.as" in lines[0]
    assert "Traceback" not in res.stderr


def test_unsupported_gobgp_key_is_refused_by_name(tmp_path: Path) -> None:
    cfg = tmp_path / "rr.toml"
    cfg.write_text(
        '[global.config]\nas = 64511\nrouter-id = "10.0.0.1"\n'
        '[[bmp-servers]]\n[bmp-servers.config]\naddress = "127.0.0.1"\n'
    )
    res = run_bgprr("--config", str(cfg))
    assert res.returncode == 2
    assert "bmp-servers" in res.stderr and "not supported" in res.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    res = run_bgprr("--config", str(tmp_path / "nope.toml"))
    assert res.returncode == 2
    assert "nope.toml" in res.stderr and "Traceback" not in res.stderr


@pytest.fixture
async def clients() -> AsyncIterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        await d.stop(graceful=False)


async def test_sighup_reload_and_sigterm(tmp_path: Path, clients: list[Daemon]) -> None:
    port = free_port()
    cfg = tmp_path / "rr.toml"
    cfg.write_text(rr_config(port, ["127.0.0.2", "127.0.0.3"]))
    proc = await asyncio.create_subprocess_exec(
        *BGPRR,
        "--config",
        str(cfg),
        "--state-dir",
        str(tmp_path / "state"),
        "--api-socket",
        str(tmp_path / "api.sock"),
        "--log-level",
        "debug",
        stdin=subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log: list[str] = []

    async def read_log() -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            log.append(line.decode())

    reader = asyncio.create_task(read_log())
    try:
        await wait_for(lambda: any("listening on" in line for line in log), timeout=15)
        for me in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            d = Daemon(load_config_text(client_config(me, port), "toml", "c.toml"))
            await d.start()
            clients.append(d)
        b, c, e = clients

        def up(d: Daemon) -> bool:
            return d.peers[RR].session.state is State.ESTABLISHED

        await wait_for(lambda: up(b) and up(c), timeout=15)
        assert not up(e)
        b_since = b.peers[RR].uptime

        # Reload: .3 removed, .4 added, .2 untouched.
        cfg.write_text(rr_config(port, ["127.0.0.2", "127.0.0.4"]))
        proc.send_signal(signal.SIGHUP)
        await wait_for(lambda: up(e), timeout=20)
        await wait_for(lambda: not up(c), timeout=10)
        assert any("neighbor 127.0.0.3 removed" in line for line in log)
        # c was told why (it then retries and is refused as unknown: 6/5, also correct).
        assert c.notifications.get(("received", 6, 3)) == 1
        assert up(b) and b.peers[RR].uptime == b_since  # never flapped

        # A reload with a broken file changes nothing.
        cfg.write_text("[global.config]\nas = 1\n")
        proc.send_signal(signal.SIGHUP)
        await wait_for(lambda: any("reload refused" in line for line in log), timeout=10)
        assert up(b) and up(e)

        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await reader
