"""Local security of a running bgprr (issue 15, item 5): who may use the control socket,
where it listens, that secrets never leave it, and that a broken reload changes nothing.

The daemon under test is a real `bgprr --config` process; its BGP clients are bgprr
daemons in the test's event loop, so both ends of every session are real (TCP-MD5
included). Tests that change users need root."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import click.testing
import pytest

from bgprr.api.control import ControlServer
from bgprr.api.library import RouteReflector
from bgprr.cli import main as cli_main
from bgprr.config import load_config_text
from bgprr.io.daemon import Daemon as InProcess
from bgprr.io.settings import socket_settings
from bgprr.session import State
from tests import loopback
from tests.daemonproc import Daemon, http_get, listening, run
from tests.loopback import free_port, wait_for

NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="changes user: needs root")

RR = "127.0.9.1"
B, C = "127.0.9.2", "127.0.9.3"


def as_user(uid: int, fn: Callable[[], int]) -> int:
    """Run `fn` in a forked child that has dropped to `uid` (group `uid`, no
    supplementary groups); its result is the child's exit status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            code = fn()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def connect_errno(path: str) -> int:
    """0 when `path` accepts a connection, else the errno."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
        except OSError as exc:
            return exc.errno or -1
    return 0


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory that every user may traverse (pytest's own are 0700), so that only the
    socket's mode stands between another user and the socket."""
    made = Path(tempfile.mkdtemp(prefix="bgprr-sec-"))
    os.chmod(made, 0o755)
    yield made
    shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
async def clients() -> AsyncIterator[list[InProcess]]:
    made: list[InProcess] = []
    yield made
    for d in made:
        await d.stop(graceful=False)


async def client(clients: list[InProcess], me: str, port: int, password: str = "") -> InProcess:
    d = InProcess(load_config_text(
        loopback.client_config(me, RR, port, password=password), "toml", "client.toml"
    ))
    await d.start()
    clients.append(d)
    return d


def up(d: InProcess) -> bool:
    return d.peers[RR].session.state is State.ESTABLISHED


# --------------------------------------------------------------------- the control socket


@root_only
async def test_control_socket_refuses_another_user(open_dir: Path) -> None:
    d = Daemon(open_dir, loopback.rr_config(RR, free_port(RR), [B]))
    try:
        await d.wait_log("control API on")
        st = os.stat(d.sock)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())  # the daemon's user
        path = str(d.sock)

        assert connect_errno(path) == 0  # its own user (root) gets in
        assert as_user(NOBODY, lambda: connect_errno(path)) == errno.EACCES

        # `bgprr neighbor` as nobody, in a child of this process (the interpreter under
        # /root is not executable by nobody; the CLI's modules are loaded by a first run).
        argv = ["--api-socket", path, "neighbor"]
        assert click.testing.CliRunner().invoke(cli_main, argv).exit_code == 0
        read, write = os.pipe()

        def neighbor_as_nobody() -> int:
            os.close(read)
            sys.stderr = err_out = open(write, "w", closefd=False)  # noqa: SIM115
            code = 0
            try:
                cli_main.main(argv, prog_name="bgprr")
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 98
            err_out.flush()
            return code

        code = as_user(NOBODY, neighbor_as_nobody)
        os.close(write)
        with os.fdopen(read) as fh:
            err = fh.read()
        assert code == 2
        assert err == (
            f"bgprr: cannot reach bgprr at {path}: Permission denied (the socket is mode "
            f"0600, for uid {os.geteuid()} only: run as that user or root)\n"
        )
    finally:
        assert await d.stop() == 0
    assert not d.sock.exists()


@root_only
def test_socket_belongs_to_the_user_the_daemon_runs_as(open_dir: Path) -> None:
    """A reflector running as nobody: its socket is nobody's, mode 0600; another
    unprivileged user (65533) is refused."""
    where = open_dir / "nobody"
    where.mkdir()
    os.chown(where, NOBODY, NOBODY)
    path = str(where / "api.sock")
    ready_r, ready_w = os.pipe()
    stop_r, stop_w = os.pipe()
    text = loopback.global_config(RR, -1)

    def serve() -> int:
        os.close(ready_r)
        os.close(stop_w)

        async def main() -> None:
            rr = RouteReflector(load_config_text(text, "toml"))
            await rr.start()
            await rr.serve_control(path)
            os.write(ready_w, b"x")
            stop = asyncio.Event()
            asyncio.get_running_loop().add_reader(stop_r, stop.set)
            await stop.wait()
            await rr.stop()

        asyncio.run(main())
        return 0

    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            code = serve()
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(stop_r)
    try:
        assert os.read(ready_r, 1) == b"x"
        st = os.stat(path)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, NOBODY, NOBODY)
        assert as_user(NOBODY, lambda: connect_errno(path)) == 0
        assert as_user(NOBODY - 1, lambda: connect_errno(path)) == errno.EACCES
    finally:
        os.write(stop_w, b"x")
        os.close(stop_w)
        _, status = os.waitpid(pid, 0)
        os.close(ready_r)
    assert os.waitstatus_to_exitcode(status) == 0


async def test_tcp_control_api_is_loopback_only(tmp_path: Path) -> None:
    server = ControlServer(RouteReflector(load_config_text(loopback.global_config(RR, -1),
                                                           "toml")), token="t")
    for address in ("0.0.0.0:0", "[::]:0", "192.0.2.1:0", "localhost:0"):
        with pytest.raises(ValueError, match="loopback"):
            await server.listen_tcp(address)
    assert server.servers == []
    # The daemon: one line, exit 1, nothing served.
    port = free_port("127.0.0.1")
    d = Daemon(tmp_path, loopback.rr_config(RR, free_port(RR), [B]),
               ["--api-tcp", f"0.0.0.0:{port}"], env={"BGPRR_API_TOKEN": "t"})
    assert d.proc.wait(30) == 1
    (line,) = [x for x in d.log() if "ERROR" in x]
    assert line.endswith(
        f"cannot start: control API address 0.0.0.0:{port} is not loopback (the token and "
        "every answer travel in clear): use 127.0.0.1 or ::1"
    )
    assert not d.sock.exists()


# --------------------------------------------------------------------- listeners


async def test_nothing_listens_beyond_bgp_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --http: the process listens on its BGP address only. With --http and --api-tcp
    on loopback, exactly those are added; a non-loopback --http is served but warned
    about (one line)."""
    bgp = free_port(RR)
    monkeypatch.delenv("BGPRR_HTTP", raising=False)
    d = Daemon(tmp_path, loopback.rr_config(RR, bgp, [B]))
    try:
        await d.wait_log("listening on")
        assert listening(d.pid) == {(RR, bgp)}
    finally:
        await d.stop()
    http, api = free_port("127.0.0.1"), free_port("127.0.0.1")
    d = Daemon(tmp_path, loopback.rr_config(RR, bgp, [B]),
               ["--http", f"127.0.0.1:{http}", "--api-tcp", f"127.0.0.1:{api}"],
               env={"BGPRR_API_TOKEN": "t"})
    try:
        await d.wait_log("listening on")
        assert listening(d.pid) == {(RR, bgp), ("127.0.0.1", http), ("127.0.0.1", api)}
        assert not [x for x in d.log() if "WARNING" in x]
    finally:
        await d.stop()
    wide = free_port("0.0.0.0")
    d = Daemon(tmp_path, loopback.rr_config(RR, bgp, [B]), ["--http", f"0.0.0.0:{wide}"])
    try:
        await d.wait_log("listening on")
        assert listening(d.pid) == {(RR, bgp), ("0.0.0.0", wide)}
        (warning,) = [x for x in d.log() if "WARNING" in x]
        assert warning.endswith(
            f"http: 0.0.0.0:{wide} is not a loopback address: anyone who reaches it reads "
            "the health, readiness and metrics (neighbor addresses, prefix counts) without "
            "authentication; bind 127.0.0.1 unless a firewall or network policy guards it"
        )
    finally:
        await d.stop()


# --------------------------------------------------------------------- secrets

PW = "pw-Kq7Zs3cretMD5"  # static neighbors, through a ${VAR} template
PW_RANGE = "pg-Vx3s3cretRANGE"  # the dynamic-neighbor range's peer group
PW_ADDED = "rt-Lp8s3cretADDED"  # a neighbor added through the API
PW_LONG = "lg-Qz2s3cretLONG" + "x" * 80  # refused (too long for TCP-MD5)
PW_NUMBER = 739184526  # a number where a string belongs: refused at reload
PW_STDIN = "in-Wt6s3cretSTDIN"  # a neighbor added with `--password -`
TOKEN = "tok-Jm4s3cretAPI"
SECRETS = [PW, PW_RANGE, PW_ADDED, PW_LONG[:16], str(PW_NUMBER), PW_STDIN, TOKEN]
DYN = "127.0.10.5"
DYN2 = "127.0.9.12"


def secret_config(port: int, password: str = "${BGP_PW}") -> str:
    pw = f'auth-password = "{password}"\n'
    text = loopback.global_config(RR, port, RR)
    for n in (B, C):
        text += loopback.rr_neighbor(n).replace(
            f'neighbor-address = "{n}"\n', f'neighbor-address = "{n}"\n{pw}'
        )
    text += loopback.peer_group("nodes", f'auth-password = "{PW_RANGE}"\n')
    return text + loopback.dynamic_neighbors("127.0.10.0/24", "nodes")


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_secrets_never_leave_the_daemon(
    tmp_path: Path, clients: list[InProcess], log_format: str
) -> None:
    port = free_port(RR)
    http, api = f"127.0.0.1:{free_port('127.0.0.1')}", free_port("127.0.0.1")
    tcp = f"tcp://127.0.0.1:{api}"
    d = Daemon(
        tmp_path, secret_config(port),
        ["--log-level", "debug", "--log-format", log_format, "--http", http,
         "--api-tcp", f"127.0.0.1:{api}"],
        env={"BGP_PW": PW, "BGPRR_API_TOKEN": TOKEN},
    )
    said: list[str] = []  # every answer of the API, CLI, HTTP

    def keep(r: object) -> None:
        said.append(repr(r))

    try:
        await d.wait_log("listening on")
        b, c = await client(clients, B, port, PW), await client(clients, C, port, PW)
        dyn = await client(clients, DYN, port, PW_RANGE)
        await wait_for(lambda: up(b) and up(c) and up(dyn), timeout=20)

        for args in (["neighbor"], ["neighbor", "--json"], ["neighbor", B, "--json"],
                     ["neighbor", DYN], ["global", "--json"], ["global", "rib"]):
            r = await d.cli(*args)
            assert r.code == 0, r
            keep(r)
        r = await d.cli("neighbor", "add", "127.0.9.9", "--as", "64511", "--passive",
                        "--password", PW_ADDED)
        assert r.code == 0, r
        keep(r)
        keep(await d.cli("neighbor", "127.0.9.9", "--json"))
        # `--password -`: from stdin, out of every local user's sight (/proc/PID/cmdline).
        r = await d.cli("neighbor", "add", DYN2, "--as", "64511", "--password", "-",
                        stdin=PW_STDIN + "\n")
        assert r.code == 0, r
        keep(r)
        dyn2 = await client(clients, DYN2, port, PW_STDIN)  # so the key is the one given
        await wait_for(lambda: up(dyn2), timeout=20)
        r = await d.cli("neighbor", "add", "127.0.9.10", "--as", "64511", "--password", PW_LONG)
        assert r.code != 0 and "longer than 80 bytes" in r.err, r
        keep(r)
        r = await run("--api-socket", tcp, "neighbor", "--json", env={"BGPRR_API_TOKEN": TOKEN})
        assert r.code == 0, r
        keep(r)
        r = await run("--api-socket", tcp, "neighbor", env={"BGPRR_API_TOKEN": TOKEN + "x"})
        assert r.code == 2 and "token" in r.err, r
        keep(r)
        # Raw requests that fail: bad JSON and bad parameters, carrying the secrets.
        reader, writer = await asyncio.open_unix_connection(str(d.sock))
        for line in (f'{{"id": 1, "method": "neighbor.add", "token": "{TOKEN}", "params": '
                     f'{{"address": "127.0.9.11", "peer_as": 64511, "password": {PW_NUMBER}}}}}',
                     f'{{"id": 2, "method": "nope", "params": {{"password": "{PW}"}}}}',
                     f'{{"id": 3 "{TOKEN}"'):
            writer.write(line.encode() + b"\n")
            await writer.drain()
            answer = await reader.readline()
            assert b'"error"' in answer
            said.append(answer.decode())
        writer.close()
        for path in ("/metrics", "/readyz", "/healthz"):
            status, body = await http_get(http, path)
            assert status == 200, (path, body)
            said.append(body)
        assert "bgprr_sessions" in said[-3]

        # Reloads that fail on the password: a number, and a broken template.
        for broken in (secret_config(port).replace(f'"{PW_RANGE}"', str(PW_NUMBER)),
                       secret_config(port, f"{PW}${{BGP_PW")):
            d.config.write_text(broken)
            mark = len(d.log())
            d.signal(signal.SIGHUP)
            await d.wait_log("reload refused", start=mark)
        d.config.write_text(secret_config(port))
        r = await run("check", "--config", str(d.config), env={"BGP_PW": PW})
        assert r.code == 0 and "auth-password" in r.out, r
        keep(r)
        assert up(b) and up(c) and up(dyn) and up(dyn2)
    finally:
        assert await d.stop() == 0

    log = d.log()
    debug = [x for x in log if "DEBUG" in x or '"level": "debug"' in x]
    assert len(debug) >= 10, log  # the daemon really logged at debug level
    assert any("Established" in x for x in log)
    leaks = {
        s: [x for x in [*log, *said] if s in x]
        for s in SECRETS
    }
    assert leaks == {s: [] for s in SECRETS}
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.name != "rr.toml":
            text = f.read_bytes()
            assert not [s for s in SECRETS if s.encode() in text], f


def test_no_repr_shows_a_password() -> None:
    """What a log line or a traceback could print of the configuration: a Config, its
    neighbors and peer groups, and a neighbor's socket settings."""
    text = secret_config(179, PW) + loopback.rr_neighbor(DYN2, client=False).replace(
        "peer-as = 64511\n", f'peer-as = 64511\nauth-password = "{PW_ADDED}"\n', 1
    )
    config = load_config_text(text, "toml")
    assert {n.auth_password for n in config.neighbors} == {PW, PW_ADDED}
    assert config.peer_groups[0].get("config.auth-password") == PW_RANGE
    shown = [repr(config), str(config), *map(repr, config.neighbors),
             *map(repr, config.peer_groups), *(repr(socket_settings(n)) for n in config.neighbors)]
    assert all(n.address in repr(n) for n in config.neighbors)  # the reprs say something
    assert "settings=((" in repr(config.peer_groups[0])
    assert [x for x in shown if PW in x or PW_RANGE in x or PW_ADDED in x] == []


# --------------------------------------------------------------------- reloads


BROKEN = {
    "bad TOML": ("[global.config\n", "rr.toml"),
    "bad key": (None, "neighbors[1].timers.config.hold-time"),
    "undefined variable": (None, "NOT_SET_ANYWHERE"),
    "missing file": (None, "No such file"),
}


async def test_broken_reload_keeps_config_and_sessions(
    tmp_path: Path, clients: list[InProcess]
) -> None:
    port = free_port(RR)
    good = loopback.rr_config(RR, port, [B, C])
    d = Daemon(tmp_path, good)
    try:
        await d.wait_log("listening on")
        b, c = await client(clients, B, port), await client(clients, C, port)
        await wait_for(lambda: up(b) and up(c), timeout=20)
        since = (b.peers[RR].uptime, c.peers[RR].uptime)
        before = json.loads((await d.cli("neighbor", "--json")).out)
        broken = {
            "bad TOML": good.replace("[global.config]", "[global.config"),
            "bad key": good.replace(
                f'neighbor-address = "{C}"\n',
                f'neighbor-address = "{C}"\n[neighbors.timers.config]\nhold-time = "x"\n',
            ),
            "undefined variable": good.replace(
                f'neighbor-address = "{B}"\n',
                f'neighbor-address = "{B}"\ndescription = "${{NOT_SET_ANYWHERE}}"\n',
            ),
            "missing file": None,
        }
        for name, text in broken.items():
            if text is None:
                d.config.unlink()
            else:
                d.config.write_text(text)
            mark = len(d.log())
            d.signal(signal.SIGHUP)
            line = await d.wait_log("reload refused", start=mark)
            await asyncio.sleep(0.5)  # anything else it would log about this reload
            assert d.log()[mark:] == [line], name
            assert str(d.config) in line and BROKEN[name][1] in line, (name, line)
            assert "Traceback" not in line
        after = json.loads((await d.cli("neighbor", "--json")).out)
        assert [(n["address"], n["state"]) for n in after] == [
            (n["address"], n["state"]) for n in before
        ]
        assert up(b) and up(c)
        assert (b.peers[RR].uptime, c.peers[RR].uptime) == since  # never flapped
        assert not [x for x in d.log() if "reload:" in x]  # nothing applied
        # The running configuration is still the base of the next good reload.
        d.config.write_text(loopback.rr_config(RR, port, [B, C, "127.0.9.4"]))
        mark = len(d.log())
        d.signal(signal.SIGHUP)
        await d.wait_log("reload: neighbor 127.0.9.4 added", start=mark)
        assert d.log()[mark:] == [
            x for x in d.log()[mark:] if "127.0.9.4" in x
        ]  # B and C untouched
        assert up(b) and up(c) and (b.peers[RR].uptime, c.peers[RR].uptime) == since
    finally:
        assert await d.stop() == 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
