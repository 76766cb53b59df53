"""`bgprr --config` as a subprocess: TCP control API with a token, SIGHUP keeping runtime
changes, startup problems of the control API and HTTP options, the health server and
`bgprr health`, and a second instance given the socket of a running one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bgprr._version import __version__
from tests.loopback import free_port, global_config, rr_neighbor

ROOT = Path(__file__).parents[2]  # so that `python -m bgprr` imports this tree
RR = "127.0.6.1"


def wait(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def config(port: int, neighbors: list[tuple[str, str]]) -> str:
    text = global_config(RR, port, RR)
    for address, description in neighbors:
        text += rr_neighbor(address, client=False, description=description)
    return text


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bgprr", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


class Running:
    def __init__(self, proc: subprocess.Popen[str], sock: Path) -> None:
        self.proc = proc
        self.sock = sock

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_cli("--api-socket", str(self.sock), *args, env=env)

    def neighbors(self) -> dict[str, str]:
        r = self.cli("neighbor", "--json")
        assert r.returncode == 0, r.stderr
        out: dict[str, str] = {}
        for n in json.loads(r.stdout):
            detail = json.loads(self.cli("neighbor", n["address"], "--json").stdout)
            out[n["address"]] = detail["description"]
        return out


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    procs: list[subprocess.Popen[str]] = []

    def _start(text: str, *extra: str, env: dict[str, str] | None = None) -> Running:
        path = tmp_path / "rr.toml"
        path.write_text(text)
        sock = tmp_path / "api.sock"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bgprr", "--config", str(path), "--api-socket", str(sock),
             "--state-dir", str(tmp_path), "--no-uvloop", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )
        procs.append(proc)
        wait(sock.exists)
        return Running(proc, sock)

    yield _start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def test_sighup_keeps_runtime_changes_unless_the_file_contradicts(
    start: Callable[..., Running], tmp_path: Path
) -> None:
    port = free_port(RR)
    d = start(config(port, [("127.0.6.2", "b"), ("127.0.6.3", "c")]))
    assert d.cli("neighbor", "add", "127.0.6.4", "--as", "64511", "--passive").returncode == 0
    assert d.cli("neighbor", "del", "127.0.6.3").returncode == 0
    assert d.neighbors() == {"127.0.6.2": "b", "127.0.6.4": ""}

    d.proc.send_signal(signal.SIGHUP)  # the same file: runtime changes stay
    time.sleep(1.0)
    assert d.neighbors() == {"127.0.6.2": "b", "127.0.6.4": ""}

    # The file now defines 127.0.6.4 and changes 127.0.6.3: the file wins for both.
    (tmp_path / "rr.toml").write_text(
        config(port, [("127.0.6.2", "b"), ("127.0.6.3", "c2"), ("127.0.6.4", "d")])
    )
    d.proc.send_signal(signal.SIGHUP)
    wait(lambda: d.neighbors() == {"127.0.6.2": "b", "127.0.6.3": "c2", "127.0.6.4": "d"})


def test_tcp_control_api_with_token(start: Callable[..., Running]) -> None:
    tcp = free_port("127.0.0.1")
    d = start(
        config(free_port(RR), [("127.0.6.2", "b")]),
        "--api-tcp", f"127.0.0.1:{tcp}",
        env={"BGPRR_API_TOKEN": "t0ken"},
    )
    address = f"tcp://127.0.0.1:{tcp}"
    r = run_cli("--api-socket", address, "neighbor", "--json", env={"BGPRR_API_TOKEN": "t0ken"})
    assert r.returncode == 0 and json.loads(r.stdout)[0]["address"] == "127.0.6.2"
    r = run_cli("--api-socket", address, "neighbor", env={"BGPRR_API_TOKEN": "wrong"})
    assert r.returncode == 2 and "token" in r.stderr
    assert d.cli("neighbor").returncode == 0  # the Unix socket needs no token


def test_startup_option_problems(tmp_path: Path) -> None:
    path = tmp_path / "rr.toml"
    path.write_text(config(free_port(RR), []))
    r = run_cli("--config", str(path), "--api-tcp", "127.0.0.1:1", env={"BGPRR_API_TOKEN": ""})
    assert r.returncode == 2 and "BGPRR_API_TOKEN" in r.stderr
    for argv, env, line in (
        (["--metrics", "nonsense"], {}, "invalid --metrics address 'nonsense' (HOST:PORT)"),
        (["--http", "nonsense"], {}, "invalid --http address 'nonsense' (HOST:PORT)"),
        ([], {"BGPRR_HTTP": "[::1]:99999"}, "invalid --http port 99999"),
        (["--http", "127.0.0.1:1", "--metrics", "127.0.0.1:2"], {},
         "--metrics is an alias of --http: give one address"),
    ):
        r = run_cli("--config", str(path), *argv, env=env)
        assert (r.returncode, r.stderr) == (2, f"bgprr: {line}\n"), argv


def test_unusable_api_socket_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "rr.toml"
    path.write_text(config(free_port(RR), []))
    sock = tmp_path / "no" / "such" / "dir.sock"
    r = run_cli("--config", str(path), "--no-uvloop", "--api-socket", str(sock))
    assert r.returncode == 1
    (error,) = [line for line in r.stderr.splitlines() if "ERROR" in line]
    assert error.endswith(f"cannot start: control API socket {sock}: No such file or directory")


def test_health_and_a_second_instance_on_the_same_socket(
    start: Callable[..., Running], tmp_path: Path
) -> None:
    http = f"127.0.0.1:{free_port('127.0.0.1')}"
    d = start(config(free_port(RR), [("127.0.6.2", "b")]), "--http", http)
    wait(lambda: run_cli("health", "--http", http).returncode == 0)
    r = run_cli("health", "--ready", env={"BGPRR_HTTP": http})
    assert (r.returncode, r.stdout) == (0, "ready\n")
    conf = tmp_path / "rr.toml"

    # The same file (so the same BGP port) and socket: it stops at the socket, before
    # the BGP port, naming the live instance; the live one is untouched.
    second = run_cli("--config", str(conf), "--api-socket", str(d.sock), "--no-uvloop",
                     "--state-dir", str(tmp_path / "second"), "--http", "127.0.0.1:0")
    assert second.returncode == 1
    (error,) = [line for line in second.stderr.splitlines() if "ERROR" in line]
    assert error.endswith(
        f"cannot start: control API socket {d.sock} is in use by another bgprr (router id "
        f"{RR}, AS 64511, config {conf}, pid {d.proc.pid}); give this instance its own "
        "--api-socket"
    )
    r = d.cli("neighbor")
    assert r.returncode == 0
    assert r.stdout.splitlines()[0] == (
        f"bgprr {__version__} · router id {RR} · AS 64511 · config {conf} · {d.sock}"
    )
    assert run_cli("health", "--http", http, "--ready").returncode == 0

    d.proc.send_signal(signal.SIGTERM)
    out, _ = d.proc.communicate(timeout=15)
    assert f"http: serving /healthz /readyz /metrics on {http}" in out
    assert run_cli("health", "--http", http).returncode == 1  # gone
