"""The package's layering (docs/architecture.md): import-linter's contracts in pyproject.toml
hold, they fail on an upward import or on IO below ``bgprr.io``, and no import circle
exists (tools/import_graph.py, which counts TYPE_CHECKING and function-level imports)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.import_graph import circles, graph

ROOT = Path(__file__).resolve().parent.parent

LINT = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command;"
    " sys.exit(lint_imports_command())",
]


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the checkout at ``root`` (its own bgprr first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1"}
    return subprocess.run(
        [*LINT, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, to break on purpose."""
    shutil.copytree(
        ROOT / "bgprr", tmp_path / "bgprr", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_contracts_kept() -> None:
    res = lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "broken" not in res.stdout.replace("0 broken", "")


def test_upward_import_breaks_the_layers(copy: Path) -> None:
    append(copy / "bgprr/wire/prefix.py", "from bgprr.api import errors  # noqa")
    res = lint(copy)
    assert res.returncode == 1
    assert "bgprr.wire is not allowed to import bgprr.api" in res.stdout
    assert "bgprr.wire.prefix -> bgprr.api.errors" in res.stdout


def test_type_checking_import_counts_too(copy: Path) -> None:
    append(
        copy / "bgprr/reflect/types.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bgprr.io import runner",
    )
    res = lint(copy)
    assert res.returncode == 1
    assert "bgprr.reflect is not allowed to import bgprr.io" in res.stdout


def test_io_below_the_io_layer_is_forbidden(copy: Path) -> None:
    append(copy / "bgprr/session/timers.py", "import asyncio  # noqa")
    res = lint(copy)
    assert res.returncode == 1
    assert "bgprr.session is not allowed to import asyncio" in res.stdout


def test_no_import_circle() -> None:
    assert circles(graph(ROOT)) == []


def test_a_circle_is_found(copy: Path) -> None:
    append(copy / "bgprr/wire/constants.py", "from bgprr.wire import prefix  # noqa")
    assert ["bgprr.wire.constants", "bgprr.wire.prefix"] in circles(graph(copy))


def test_the_tool_reports_circles_with_exit_1(copy: Path) -> None:
    append(copy / "bgprr/wire/constants.py", "from bgprr.wire import prefix  # noqa")
    res = subprocess.run(
        [sys.executable, str(ROOT / "tools/import_graph.py"), "--check", "--root", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 1
    assert "circle of 2: bgprr.wire.constants -> bgprr.wire.prefix;" in res.stdout
