"""End to end: `bgprr --config` as a subprocess (control API + metrics) with a real BIRD 1.6
peer on loopback, driven through the `bgprr` CLI.

BIRD has no kernel protocol (it must not touch the host's routing table); it is stopped
by its PID in a finally.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import free_port, rr_config

ROOT = Path(__file__).parents[2]  # so that `python -m bgprr` imports this tree
RR = "127.0.6.1"
BIRD_ADDR = "127.0.6.10"

# In CI (CI=true) a missing BIRD is a failure, never a skip: .ci/install-deps installs it.
pytestmark = pytest.mark.skipif(
    shutil.which("bird") is None and not os.environ.get("CI"), reason="BIRD is not installed"
)


def wait(cond: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def bgprr(sock: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bgprr", "--api-socket", str(sock), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def bgprr_json(sock: Path, *args: str) -> Any:
    r = bgprr(sock, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def birdc(ctl: Path, command: str) -> str:
    r = subprocess.run(
        ["birdc", "-s", str(ctl), command], capture_output=True, text=True, timeout=10
    )
    return r.stdout


def test_bgprr_daemon_with_bird(tmp_path: Path) -> None:
    rr_port = free_port(RR)
    bird_port = free_port(BIRD_ADDR)
    metrics_port = free_port("127.0.0.1")
    sock = tmp_path / "api.sock"
    (tmp_path / "rr.toml").write_text(rr_config(RR, rr_port, [BIRD_ADDR]))
    (tmp_path / "bird.conf").write_text(
        f"""
router id {BIRD_ADDR};
listen bgp address {BIRD_ADDR} port {bird_port};
protocol device {{ }}
protocol static {{ route 10.60.0.0/26 blackhole; }}
protocol bgp p1 {{
  local as 64511;
  neighbor {RR} port {rr_port} as 64511;
  source address {BIRD_ADDR};
  multihop;
  import all;
  export all;
  connect retry time 1;
}}
"""
    )
    daemon = subprocess.Popen(
        [
            sys.executable, "-m", "bgprr", "--config", str(tmp_path / "rr.toml"),
            "--api-socket", str(sock), "--metrics", f"127.0.0.1:{metrics_port}",
            "--state-dir", str(tmp_path), "--no-uvloop",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    bird: subprocess.Popen[bytes] | None = None
    ctl = tmp_path / "bird.ctl"
    try:
        wait(sock.exists, 15, "the control socket")
        bird = subprocess.Popen(
            ["bird", "-f", "-c", str(tmp_path / "bird.conf"), "-s", str(ctl),
             "-P", str(tmp_path / "bird.pid")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def state() -> str:
            rows = bgprr_json(sock, "neighbor")
            return str(rows[0]["state"]) if rows else ""

        wait(lambda: state() == "Established", 30, "the BIRD session")
        table = bgprr(sock, "neighbor")
        assert table.returncode == 0
        header, _, row_line = table.stdout.splitlines()[:3]
        assert header.startswith("bgprr ") and header.endswith(f"· {sock}")
        assert f" · router id {RR} · AS 64511 · config " in header
        row = row_line.split()
        assert row[0] == BIRD_ADDR and row[1] == "64511" and row[3] == "Establ"

        # BIRD's static route arrives.
        wait(lambda: bgprr(sock, "global", "rib", "10.60.0.0/26").returncode == 0, 20,
             "BIRD's route")
        (route,) = bgprr_json(sock, "global", "rib", "10.60.0.0/26")
        assert route["paths"][0]["source"] == BIRD_ADDR
        assert route["paths"][0]["best"] and route["paths"][0]["local_pref"] == 100
        rib = bgprr(sock, "global", "rib")
        assert "*> 10.60.0.0/26" in rib.stdout
        (adj,) = bgprr_json(sock, "neighbor", BIRD_ADDR, "adj-in")
        assert adj["prefix"] == "10.60.0.0/26"
        detail = bgprr(sock, "neighbor", BIRD_ADDR)
        assert detail.returncode == 0
        assert f"remote router ID {BIRD_ADDR}" in detail.stdout
        assert "BGP state = Established" in detail.stdout

        # A route originated through the CLI reaches BIRD.
        r = bgprr(sock, "global", "rib", "add", "10.61.0.0/24", "nexthop", RR,
                  "community", "64511:61")
        assert r.returncode == 0, r.stderr
        wait(lambda: "10.61.0.0/24" in birdc(ctl, "show route 10.61.0.0/24"), 20,
             "BIRD to learn 10.61.0.0/24")
        assert "64511:61" in birdc(ctl, "show route 10.61.0.0/24 all").replace(
            "(64511,61)", "64511:61"
        )
        (out,) = [p for p in bgprr_json(sock, "neighbor", BIRD_ADDR, "adj-out")
                  if p["prefix"] == "10.61.0.0/24"]
        assert out["communities"] == ["64511:61"]

        # Runtime changes and their exit codes.
        assert bgprr(sock, "neighbor", "127.0.6.99").returncode == 1
        assert bgprr(sock, "neighbor", "add", "127.0.6.11", "--as", "64511",
                     "--rr-client", "--passive").returncode == 0
        assert len(bgprr_json(sock, "neighbor")) == 2
        assert bgprr(sock, "neighbor", "del", "127.0.6.11").returncode == 0
        assert bgprr(sock, "neighbor", BIRD_ADDR, "softresetout").returncode == 0
        assert bgprr(sock, "neighbor", BIRD_ADDR, "softresetin").returncode == 0

        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as f:
            text = f.read().decode()
        assert 'bgprr_sessions{state="Established"} 1.0' in text
        assert f'bgprr_peer_prefixes_accepted{{peer="{BIRD_ADDR}"}} 1.0' in text
        assert "bgprr_reflection_latency_seconds_count" in text

        # shutdown with a message: BIRD records it; enable brings the session back.
        assert bgprr(sock, "neighbor", BIRD_ADDR, "shutdown", "-m", "e2e").returncode == 0
        wait(lambda: state() == "Idle", 10, "the shutdown")
        assert "Idle(Admin)" in bgprr(sock, "neighbor").stdout
        r = bgprr(sock, "neighbor", BIRD_ADDR, "enable")
        assert r.returncode == 0 and f"neighbor {BIRD_ADDR} enabled; " in r.stdout
        wait(lambda: state() == "Established", 30, "the session to come back")
    finally:
        if bird is not None:
            bird.send_signal(signal.SIGTERM)
            try:
                bird.wait(10)
            except subprocess.TimeoutExpired:
                bird.kill()
                bird.wait()
        daemon.send_signal(signal.SIGTERM)
        try:
            output, _ = daemon.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            output, _ = daemon.communicate()
    assert daemon.returncode == 0, output
    assert not sock.exists()
    assert "control API on" in output
    assert f"http: serving /healthz /readyz /metrics on 127.0.0.1:{metrics_port}" in output
