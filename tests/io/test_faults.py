"""Faults on the host (issue 15, item 6): a state directory that cannot be written (a
file in its place, a read-only or a full filesystem), wall-clock jumps, and a neighbor
that sends more prefixes than it is allowed.

The reflector keeps reflecting through every one of them; what it says about each is
checked to the line."""

from __future__ import annotations

import ast
import asyncio
import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bgprr.api import format as fmt
from bgprr.api.http import ready_text
from bgprr.api.library import RouteReflector
from bgprr.config import load_config_text
from bgprr.io.daemon import Daemon
from bgprr.io.state import STATE_FILE, PeerStateFile, load_expected_peers
from bgprr.session import State
from bgprr.wire.constants import IPV4_UNICAST
from tests import loopback
from tests.daemonproc import Daemon as Process
from tests.daemonproc import http_get
from tests.loopback import wait_for

from .test_daemon_loopback import attrs_v4, key, routes

RR = "127.0.11.1"
B, C, D = "127.0.11.2", "127.0.11.3", "127.0.11.4"
BGPRR = Path(__file__).parents[2] / "bgprr"


@pytest.fixture
async def daemons() -> AsyncIterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        if not d.stopped.is_set():
            await d.stop(graceful=False)


async def start(made: list[Daemon], text: str, state_dir: str | None = None) -> Daemon:
    d = Daemon(load_config_text(text, "toml", "test.toml"), state_dir=state_dir)
    made.append(d)
    await d.start()
    return d


async def client(made: list[Daemon], me: str, port: int, extra: str = "") -> Daemon:
    return await start(made, loopback.client_config(me, RR, port) + extra)


def up(d: Daemon, peer: str = RR) -> bool:
    return peer in d.peers and d.peers[peer].session.state is State.ESTABLISHED


def originate(d: Daemon, prefixes: list[str]) -> None:
    now = asyncio.get_running_loop().time()
    for text in prefixes:
        d.engine.originate(IPV4_UNICAST, key(text), attrs_v4("192.0.2.2"), b"", now)
    d.schedule_flush()


def state_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bgprr.state"]


# --------------------------------------------------------------------- the state directory


def test_state_file_fault_is_one_line_until_it_clears(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bgprr")
    blocker = tmp_path / "state"
    blocker.write_text("")  # a file where the directory should be
    st = PeerStateFile(str(blocker))
    st.probe()
    for i in range(20):
        st.rewrite({f"10.0.0.{i}"})
        st.add({f"10.0.1.{i}"})
    assert st.failures == 41 and not st.written
    assert st.problem == f"state directory {blocker} not writable: Not a directory"
    assert state_lines(caplog) == [
        f"state directory {blocker} not writable: Not a directory; reflection goes on, but a "
        "restart with -r will not know the peers that came up since (retrying at every "
        "change)"
    ]
    blocker.unlink()
    st.rewrite({"10.0.0.1"})
    assert st.problem is None and st.written
    assert state_lines(caplog)[1:] == [f"state directory {blocker} writable again"]
    assert load_expected_peers(str(blocker)) == {"10.0.0.1"}


async def test_unwritable_state_dir_keeps_reflecting_and_readiness_says_why(
    tmp_path: Path, daemons: list[Daemon], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bgprr")
    blocker = tmp_path / "file"
    blocker.write_text("")
    state_dir = blocker / "state"  # below a regular file: ENOTDIR
    port = loopback.free_port(RR)
    rr = await start(daemons, loopback.rr_config(RR, port, [B, C], idle_hold=True),
                       str(state_dir))
    api = RouteReflector.attach(rr)
    problem = f"state directory {state_dir} not writable: Not a directory"
    assert api.readiness()["warnings"] == [problem]  # known at start (the probe)
    b, c = await client(daemons, B, port), await client(daemons, C, port)
    await wait_for(lambda: up(b) and up(c))
    originate(b, [f"10.11.{i}.0/24" for i in range(50)])
    await wait_for(lambda: len(routes(c)) == 50)
    for _ in range(3):  # c flaps: every change tries the file again
        await c.stop(graceful=False)
        daemons.remove(c)
        await wait_for(lambda: not up(rr, C))
        c = again = await client(daemons, C, port)
        await wait_for(lambda: up(again) and len(routes(again)) == 50)  # noqa: B023
    assert rr._state_file is not None and rr._state_file.failures >= 4  # one per change
    assert state_lines(caplog) == [
        f"{problem}; reflection goes on, but a restart with -r will not know the peers "
        "that came up since (retrying at every change)"
    ]
    state = api.readiness()
    assert (state["ready"], state["warnings"]) == (True, [problem])
    assert ready_text(state) == f"ready (warning: {problem})"
    info = api.info()
    assert f"Warning:        {problem}" in fmt.global_text(info).splitlines()
    assert fmt.instance_line(info, "api.sock").endswith(f" · api.sock · warning: {problem}\n")
    # Fixed while running: the next change writes the file and clears the warning.
    blocker.unlink()
    state_dir.mkdir(parents=True)
    await c.stop(graceful=False)
    daemons.remove(c)
    await wait_for(lambda: api.readiness()["warnings"] == [])
    assert state_lines(caplog)[1:] == [f"state directory {state_dir} writable again"]
    await asyncio.sleep(1.5)  # the coalesced rewrite drops c
    assert load_expected_peers(str(state_dir)) == {B}
    assert ready_text(api.readiness()) == "ready"


def namespaced(state_dir: Path, how: str) -> list[str]:
    """A command prefix: a private mount namespace in which `state_dir` is a tiny tmpfs,
    filled up (`full`) or mounted read-only (`read-only`), then `exec` of the rest."""
    if how == "full":
        script = ('mount -t tmpfs -o size=4k,mode=0755 bgprr-test "$0" && '
                  '{ dd if=/dev/zero of="$0/fill" bs=1024 count=64 2>/dev/null; exec "$@"; }')
    else:
        script = 'mount -t tmpfs -o size=64k,ro bgprr-test "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
            str(state_dir)]


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"),
    reason="mounts a tmpfs in a mount namespace: needs root and util-linux",
)
@pytest.mark.parametrize(
    ("how", "error"), [("full", "No space left on device"), ("read-only", "Read-only file system")]
)
async def test_full_or_read_only_state_dir(
    tmp_path: Path, daemons: list[Daemon], how: str, error: str
) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    port = loopback.free_port(RR)
    http = f"127.0.0.1:{loopback.free_port('127.0.0.1')}"
    p = Process(tmp_path, loopback.rr_config(RR, port, [B, C, D], idle_hold=True), ["--http", http],
                state_dir=state_dir, wrap=namespaced(state_dir, how))
    problem = f"state directory {state_dir} not writable: {error}"
    try:
        await p.wait_log("listening on")
        b, c = await client(daemons, B, port), await client(daemons, C, port)
        await wait_for(lambda: up(b) and up(c), timeout=15)
        originate(b, [f"10.12.{i}.0/24" for i in range(20)])
        await wait_for(lambda: len(routes(c)) == 20)
        d = await client(daemons, D, port)
        await wait_for(lambda: up(d) and len(routes(d)) == 20, timeout=15)
        assert await http_get(http, "/readyz") == (200, f"ready (warning: {problem})\n")
        faults = [x for x in p.log() if "not writable" in x]
        assert len(faults) == 1 and faults[0].endswith(
            f"WARNING bgprr.state: {problem}; reflection goes on, but a restart with -r will "
            "not know the peers that came up since (retrying at every change)"
        ), p.log()
        # Space freed / remounted read-write, inside the daemon's mount namespace.
        inside = Path(f"/proc/{p.pid}/root") / str(state_dir).lstrip("/")
        if how == "full":
            (inside / "fill").unlink()
        else:
            subprocess.run(["nsenter", "-t", str(p.pid), "-m", "mount", "-o", "remount,rw",
                            str(state_dir)], check=True)
        await d.stop(graceful=False)
        daemons.remove(d)
        await p.wait_log("writable again")
        assert await http_get(http, "/readyz") == (200, "ready\n")
        await wait_for(lambda: load_expected_peers(str(inside)) == {B, C}, timeout=5)
        assert not (state_dir / STATE_FILE).exists()  # the host's directory was never used
        assert up(b) and up(c) and len(routes(c)) == 20
    finally:
        assert await p.stop() == 0


# --------------------------------------------------------------------- clocks

WALL_CLOCK = {  # module -> attribute: reads of the wall clock
    "time": {"time", "time_ns", "localtime", "gmtime", "ctime", "asctime", "strftime"},
    "datetime": {"now", "utcnow", "today", "fromtimestamp"},
    "date": {"today"},
}
ALLOWED: set[tuple[str, str]] = set()  # (module path, call) shown to people, never timed


def wall_clock_reads(source: str) -> list[str]:
    """`time.time()`, `datetime.now()`, `from time import time`... in one module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in WALL_CLOCK.get(node.value.id, ()):
                found.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                if alias.name in WALL_CLOCK[node.module] | {"datetime", "date"}:
                    found.append(f"from {node.module} import {alias.name}")
    return found


def test_no_timer_reads_the_wall_clock() -> None:
    """Every timer runs on the event loop's clock (monotonic: `loop.time()`, handed to the
    sans-IO core as `now`); the wall clock is only for log timestamps, which the logging
    module takes itself. A new wall-clock read must be added to ALLOWED on purpose."""
    assert wall_clock_reads("import time\nt = time.time()") == ["time.time"]
    assert wall_clock_reads("from datetime import datetime\ndatetime.now()") == [
        "from datetime import datetime", "datetime.now"
    ]
    assert wall_clock_reads("loop.time(); time.monotonic()") == []
    modules = sorted(BGPRR.rglob("*.py"))
    assert len(modules) > 50
    reads = {
        (str(m.relative_to(BGPRR.parent)), r)
        for m in modules
        for r in wall_clock_reads(m.read_text())
    }
    assert reads <= ALLOWED, sorted(reads - ALLOWED)


async def test_wall_clock_jumps_change_no_timer(
    daemons: list[Daemon], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions with a 3 s hold time ride through the wall clock jumping 6 hours forward
    and back: no session drops, none restarts, uptimes keep counting."""
    import time

    port = loopback.free_port(RR)
    timers = "[neighbors.timers.config]\nhold-time = 3\nkeepalive-interval = 1\n"
    rr = await start(daemons, loopback.rr_config(RR, port, [B, C]).replace(
        "[neighbors.transport.config]", timers + "[neighbors.transport.config]"))
    b, c = await client(daemons, B, port), await client(daemons, C, port)
    await wait_for(lambda: up(b) and up(c) and up(rr, B) and up(rr, C))
    since = {k: rr.peers[k].uptime for k in (B, C)}
    real = time.time
    for jump in (6 * 3600.0, -6 * 3600.0, 0.0):
        monkeypatch.setattr(time, "time", lambda j=jump: real() + j)
        await asyncio.sleep(1.5)
    assert up(rr, B) and up(rr, C) and up(b) and up(c)
    assert {k: rr.peers[k].uptime for k in (B, C)} == since
    assert rr.notifications == {}


# --------------------------------------------------------------------- memory: prefix-limit

LIMIT = 1500


async def test_prefix_limit_cuts_off_only_the_flooding_neighbor(
    daemons: list[Daemon], caplog: pytest.LogCaptureFixture
) -> None:
    """A neighbor announcing 20,000 prefixes against `max-prefixes = 1500` is cut off with
    Cease / Maximum Number of Prefixes Reached (6/1) within one UPDATE of its limit; what it
    sent is gone from every table; the other neighbors never notice."""
    caplog.set_level(logging.WARNING, "bgprr")
    port = loopback.free_port(RR)
    limited = (
        "[[neighbors.afi-safis]]\n[neighbors.afi-safis.config]\n"
        'afi-safi-name = "ipv4-unicast"\n'
        f"[neighbors.afi-safis.prefix-limit.config]\nmax-prefixes = {LIMIT}\n"
        "shutdown-threshold-pct = 50\n"
    )
    rr = await start(daemons, loopback.rr_config(RR, port, [B, C, D], limited))
    b, c, d = [await client(daemons, x, port) for x in (B, C, D)]
    await wait_for(lambda: up(b) and up(c) and up(d))
    originate(b, [f"10.13.{i}.0/24" for i in range(100)])
    originate(c, [f"10.14.{i}.0/24" for i in range(100)])
    await wait_for(lambda: len(routes(d)) == 200)
    since = {k: rr.peers[k].uptime for k in (B, C)}
    sets_before = len(rr.engine.intern_table)

    originate(d, [f"10.{16 + i // 256}.{i % 256}.0/24" for i in range(20_000)])
    await wait_for(lambda: rr.notifications.get(("sent", 6, 1)) == 1, timeout=20)
    await wait_for(lambda: len(routes(rr)) == len(routes(b)) == len(routes(c)) == 200)
    assert not up(rr, D)
    assert rr.peers[D].session.state is State.IDLE
    assert up(rr, B) and up(rr, C) and {k: rr.peers[k].uptime for k in (B, C)} == since
    theirs = {key(f"10.13.{i}.0/24") for i in range(100)} | {
        key(f"10.14.{i}.0/24") for i in range(100)
    }
    assert set(routes(rr)) == set(routes(b)) == set(routes(c)) == theirs  # nothing of D's
    assert len(rr.engine.intern_table) == sets_before
    (cut,) = [r.getMessage() for r in caplog.records if "exceeded" in r.getMessage()]
    count = int(cut.rsplit("(", 1)[1].rstrip(")"))
    per_update = (4096 - 23 - len(attrs_v4("192.0.2.2")) - 4) // 4  # /24s in one UPDATE
    assert LIMIT < count <= LIMIT + per_update, cut
    assert cut == f"peer {D}: prefix limit {LIMIT} exceeded ({count})"
    (warned,) = [r.getMessage() for r in caplog.records if f", limit {LIMIT}" in r.getMessage()]
    assert warned.startswith(f"peer {D}: ") and warned.endswith(
        f" prefixes in ipv4-unicast, limit {LIMIT}"
    )  # at 50 %, before the cut
