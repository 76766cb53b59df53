"""docs/configuration.md stays true: its Python blocks run as written, its template
example loads and gives the errors it shows; the Python blocks of it and of
docs/library.md compile."""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bgprr.config import ConfigError, check_main, load_config_text

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
CONFIG_DOC = DOCS / "configuration.md"


def blocks(doc: Path, lang: str) -> list[str]:
    """The fenced code blocks of ``doc`` whose info string is ``lang``."""
    found: list[str] = []
    current: list[str] | None = None
    info = ""
    for line in doc.read_text().splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                if info == lang:
                    found.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    assert current is None, f"{doc.name}: unclosed code block"
    return found


def test_configuration_doc_python_blocks_run() -> None:
    code = blocks(CONFIG_DOC, "python")
    assert code, "docs/configuration.md has no Python block"
    env = {k: v for k, v in os.environ.items() if k not in ("ASN", "ROUTER_IP")}
    for block in code:
        r = subprocess.run(
            [sys.executable, "-c", block],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,  # the paths in the doc are relative to the repository
            env=env,
            stdin=subprocess.DEVNULL,
        )
        assert r.returncode == 0, r.stderr
        if "check_main(" in block:
            assert "# Effective configuration of examples/rr.toml" in r.stdout
        if "print(exc)" in block:
            assert (
                "rr.toml: global.config.router-id: ${ROUTER_IP} is not set in the environment"
                in r.stdout
            )


@pytest.mark.parametrize("doc", ["configuration.md", "library.md"])
def test_python_blocks_compile(doc: str) -> None:
    """library.md's fragment (``async with`` outside a function) at least parses; its
    complete example runs in tests/api/test_api_library_doc.py."""
    found = blocks(DOCS / doc, "python")
    assert found
    for index, block in enumerate(found):
        compile(block, f"{doc}[{index}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _template_example() -> str:
    (example,) = [b for b in blocks(CONFIG_DOC, "toml") if "${ROUTER_IP}" in b]
    return example


def test_template_example_loads() -> None:
    config = load_config_text(
        _template_example(), source_name="rr.toml", env={"ROUTER_IP": "192.0.2.10"}
    )
    assert (config.global_.asn, config.global_.router_id) == (64512, "192.0.2.10")
    (group,) = config.peer_groups
    assert group.name == "nodes"
    with_as = load_config_text(
        _template_example(), source_name="rr.toml", env={"ROUTER_IP": "1.1.1.1", "ASN": "65000"}
    )
    assert with_as.global_.asn == 65000


def test_template_example_errors_are_the_documented_ones() -> None:
    (shown,) = [b for b in blocks(CONFIG_DOC, "") if "is not set in the environment" in b]
    want = shown.splitlines()
    example = _template_example()
    got = []
    cases = [
        (example, {}),
        (example, {"ROUTER_IP": "1.1.1.1", "ASN": "64512x"}),
        (example.replace('"${BGP_PASSWORD:-}"', '"${BGP_PASSWORD"'), {"ROUTER_IP": "1.1.1.1"}),
    ]
    for text, env in cases:
        with pytest.raises(ConfigError) as info:
            load_config_text(text, source_name="rr.toml", env=env)
        got.append(str(info.value))
    assert got == want


def test_check_comment_shown_in_the_doc(tmp_path: Path) -> None:
    (shown,) = [b for b in blocks(CONFIG_DOC, "") if b.startswith("# Templates expanded")]
    path = tmp_path / "rr.toml"
    path.write_text(_template_example())
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(path), out=out, err=err, env={"ROUTER_IP": "192.0.2.10"}) == 0
    assert shown in out.getvalue()
