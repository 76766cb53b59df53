"""The container image's layout is stated twice, by deploy/image/build (what CI builds) and
by examples/Containerfile (for hosts with a registry): both must say the same, and what
they say must hang together (the command's state directory is the volume, its control
socket the one client commands find through the environment, a non-root user)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.image_layout import (
    BUILD_SCRIPT,
    CONTAINERFILE,
    Layout,
    containerfile_layout,
    inspect_layout,
    script_layout,
)


def option(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_build_script_and_containerfile_agree() -> None:
    assert script_layout() == containerfile_layout()


def test_layout_hangs_together() -> None:
    lay = script_layout()
    assert lay.user is not None
    uid, _, gid = lay.user.partition(":")
    # numeric, so that Kubernetes' runAsNonRoot can verify it; not root
    assert uid.isdigit() and gid.isdigit() and int(uid) != 0 and int(gid) != 0
    assert lay.entrypoint[:2] == ["/usr/bin/tini", "--"]
    assert lay.entrypoint[2] == "/opt/bgprr/bin/bgprr"
    assert lay.env["PATH"].split(":")[0] == "/opt/bgprr/bin"
    assert lay.volumes == {"/var/lib/bgprr"}
    assert lay.ports == {"179/tcp"}
    assert option(lay.cmd, "--state-dir") in lay.volumes
    assert option(lay.cmd, "--api-socket") == lay.env["BGPRR_API_SOCKET"]
    assert option(lay.cmd, "--config") == "/etc/bgprr/rr.toml"
    assert "-r" in lay.cmd
    assert lay.workdir in lay.volumes


def test_a_difference_is_seen(tmp_path: Path) -> None:
    text = CONTAINERFILE.read_text()
    for old, new in [("USER 179:179", "USER 0:0"),
                     ('"-r", ', ""),
                     ('VOLUME ["/var/lib/bgprr"]', 'VOLUME ["/var/lib/bgprr", "/data"]'),
                     ("ENV BGPRR_API_SOCKET=/run/bgprr/bgprr.sock",
                      "ENV BGPRR_API_SOCKET=/run/bgprr.sock")]:
        assert old in text, old
        changed = tmp_path / "Containerfile"
        changed.write_text(text.replace(old, new))
        assert containerfile_layout(changed) != script_layout(), (old, new)


def test_containerfile_parsing(tmp_path: Path) -> None:
    f = tmp_path / "Containerfile"
    f.write_text(
        "FROM a AS build\nUSER 5\n"
        "FROM b\n# comment\nENV A=1 B=\"two words\"\nENV C legacy value\n"
        "EXPOSE 179 9179/tcp\nVOLUME /x /y\n"
        'ENTRYPOINT ["/e", \\\n  "--"]\nCMD run --fast\n'
    )
    assert containerfile_layout(f) == Layout(
        user=None, env={"A": "1", "B": "two words", "C": "legacy value"},
        ports={"179/tcp", "9179/tcp"}, volumes={"/x", "/y"},
        entrypoint=["/e", "--"], cmd=["run", "--fast"])


def test_script_without_changes_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "build"
    f.write_text("#!/bin/bash\necho hi\n")
    with pytest.raises(ValueError, match="no CHANGES"):
        script_layout(f)
    assert BUILD_SCRIPT.exists()


def test_inspect_layout() -> None:
    config = {"Config": {
        "User": "179:179", "WorkingDir": "/var/lib/bgprr",
        "Env": ["PATH=/opt/bgprr/bin:/bin", "X=a=b"],
        "Volumes": {"/var/lib/bgprr": {}}, "ExposedPorts": {"179/tcp": {}},
        "Entrypoint": ["/usr/bin/tini", "--"], "Cmd": ["-r"]}}
    assert inspect_layout(config) == Layout(
        user="179:179", workdir="/var/lib/bgprr", env={"PATH": "/opt/bgprr/bin:/bin", "X": "a=b"},
        volumes={"/var/lib/bgprr"}, ports={"179/tcp"}, entrypoint=["/usr/bin/tini", "--"],
        cmd=["-r"])
