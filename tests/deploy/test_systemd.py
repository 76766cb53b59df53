"""deploy/systemd: the unit passes `systemd-analyze verify` with no warning, its command
line is one bgprr accepts, its sandbox keeps only CAP_NET_BIND_SERVICE, and the sysusers
snippet and the environment file work.

`systemd-analyze verify` refuses a unit whose ExecStart binary does not exist, and the
unit names the installed path /opt/bgprr/bin/bgprr.  The test therefore verifies a copy
in a temporary directory with only that path rewritten to this virtualenv's `bgprr`.
`.ci/install-deps` installs the `systemd` package that provides the tools.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import click
import pytest

from bgprr.cli import main as cli_main
from bgprr.config import load_config_text

DEPLOY = Path(__file__).parents[2] / "deploy" / "systemd"
UNIT = DEPLOY / "bgprr.service"
INSTALLED = "/opt/bgprr/bin/bgprr"
BGPRR = Path(sys.executable).parent / "bgprr"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: run .ci/install-deps (Debian package systemd)")
    return path


def _settings(text: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file, values in order (a key may repeat)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        out.setdefault(key, []).append(value)
    return out


def _one(settings: dict[str, list[str]], key: str) -> str:
    (value,) = settings[key]
    return value


def _verify(unit_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` on a copy whose ExecStart is this venv's bgprr."""
    assert unit_text.count(f"ExecStart={INSTALLED} ") == 1
    copy = tmp_path / "bgprr.service"
    copy.write_text(unit_text.replace(f"ExecStart={INSTALLED} ", f"ExecStart={BGPRR} "))
    return subprocess.run(
        [_tool("systemd-analyze"), "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unit_verifies_without_warnings(tmp_path: Path) -> None:
    assert BGPRR.exists()
    r = _verify(UNIT.read_text(), tmp_path)
    # verify exits 0 on unknown keys and unparsable values (it only warns): any output fails.
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_verify_reports_a_broken_unit(tmp_path: Path) -> None:
    """The check above is not vacuous: a misspelt key and a bad value are reported."""
    broken = UNIT.read_text().replace("KillSignal=SIGTERM", "KilSignal=SIGTERM\nRestartSec=x")
    r = _verify(broken, tmp_path)
    assert "Unknown key" in r.stderr and "KilSignal" in r.stderr
    assert "RestartSec" in r.stderr or "sec value" in r.stderr


def test_security_exposure_is_low(tmp_path: Path) -> None:
    """`systemd-analyze security` scores the sandbox (0 best, 10 worst); the unit measured
    1.4 with systemd 252.  --threshold=20 fails above 2.0."""
    copy = tmp_path / "bgprr.service"
    copy.write_text(UNIT.read_text().replace(f"ExecStart={INSTALLED} ", f"ExecStart={BGPRR} "))
    r = subprocess.run(
        [_tool("systemd-analyze"), "security", "--offline=yes", "--threshold=20",
         "--no-pager", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr


def test_runs_unprivileged_with_only_net_bind_service() -> None:
    s = _settings(UNIT.read_text())
    assert _one(s, "User") == "bgprr" and _one(s, "Group") == "bgprr"
    assert _one(s, "AmbientCapabilities") == "CAP_NET_BIND_SERVICE"
    assert _one(s, "CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE"
    assert _one(s, "NoNewPrivileges") == "yes"
    assert _one(s, "ProtectSystem") == "strict"
    assert _one(s, "StateDirectory") == "bgprr"
    assert _one(s, "RuntimeDirectory") == "bgprr"
    assert _one(s, "Restart") == "on-failure"
    assert _one(s, "RestartPreventExitStatus") == "2"  # bgprr's exit status for bad config
    assert _one(s, "KillSignal") == "SIGTERM"
    assert _one(s, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert _one(s, "EnvironmentFile") == "-/etc/bgprr/bgprr.env"


def test_stop_and_restart_fit_in_the_graceful_restart_time() -> None:
    """A stop that hangs is killed after TimeoutStopSec; with RestartSec the new process
    starts (with -r) well before bgprr's default graceful restart time runs out at the
    peers (restart-time defaults to the hold time)."""
    s = _settings(UNIT.read_text())
    config = load_config_text(
        '[global.config]\nas = 64512\nrouter-id = "192.0.2.1"\n'
        '[[neighbors]]\n[neighbors.config]\nneighbor-address = "192.0.2.2"\npeer-as = 64512\n'
        "[neighbors.graceful-restart.config]\nenabled = true\n"
    )
    restart_time = config.neighbors[0].graceful_restart.restart_time
    stop, again = int(_one(s, "TimeoutStopSec")), int(_one(s, "RestartSec"))
    assert stop + again <= restart_time / 4


def test_exec_start_is_a_bgprr_command_line() -> None:
    """The options parse with bgprr's own CLI, and the paths are the unit's directories."""
    argv = shlex.split(_one(_settings(UNIT.read_text()), "ExecStart"))
    assert argv[0] == INSTALLED
    args = {opt: value for opt, value in pairwise(argv) if opt[:2] == "--"}
    assert "-r" in argv
    assert args["--config"] == "/etc/bgprr/rr.toml"
    assert args["--state-dir"] == "/var/lib/bgprr"  # StateDirectory=bgprr
    assert args["--api-socket"] == "/run/bgprr/bgprr.sock"  # RuntimeDirectory=bgprr
    assert args["--http"] == "127.0.0.1:9179"
    ctx = cli_main.make_context("bgprr", argv[1:], resilient_parsing=False)
    assert isinstance(ctx, click.Context)
    assert ctx.params["graceful_restart"] is True
    assert ctx.params["api_socket"] == "/run/bgprr/bgprr.sock"


def test_sysusers_creates_the_user(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    r = subprocess.run(
        [_tool("systemd-sysusers"), f"--root={tmp_path}", str(DEPLOY / "bgprr.sysusers")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    users = [line.split(":") for line in (tmp_path / "etc" / "passwd").read_text().splitlines()]
    (user,) = [u for u in users if u[0] == "bgprr"]
    assert int(user[2]) < 1000  # a system user
    assert user[5] == "/var/lib/bgprr" and user[6].endswith("nologin")
    groups = (tmp_path / "etc" / "group").read_text().splitlines()
    assert any(line.startswith("bgprr:") for line in groups)


def test_env_file_feeds_the_templates() -> None:
    """bgprr.env's assignments (systemd's KEY=VALUE syntax, no quotes here) expand a
    templated router id."""
    env: dict[str, str] = {}
    for line in (DEPLOY / "bgprr.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    assert "ROUTER_IP" in env
    config = load_config_text(
        '[global.config]\nas = "${ASN:-64512}"\nrouter-id = "${ROUTER_IP}"\n', env=env
    )
    assert config.global_.router_id == env["ROUTER_IP"]
    assert config.global_.asn == 64512
