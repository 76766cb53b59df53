"""Fixtures of the interop/conformance suite (network namespaces, daemons, reflector choice).

Options:
  --rr bgprr|gobgp   the route reflector under test (default bgprr; env BGPRR_RR)
  --slow             also run the slow lane (env BGPRR_SLOW=1)
Tests marked ``gobgp_fails(reason)`` are xfail(strict=True) with --rr gobgp only.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bgprr conformance")
    group.addoption("--rr", choices=["bgprr", "gobgp"],
                    default=os.environ.get("BGPRR_RR", "bgprr"),
                    help="route reflector under test")
    group.addoption("--slow", action="store_true",
                    default=os.environ.get("BGPRR_SLOW", "") not in ("", "0"),
                    help="run the slow lane too")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gobgp_fails(reason): GoBGP is known to fail this")
    config.addinivalue_line("markers", "slow: slow lane only (--slow)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rr = config.getoption("--rr")
    slow = config.getoption("--slow")
    for item in items:
        if item.get_closest_marker("slow") and not slow:
            item.add_marker(pytest.mark.skip(reason="slow lane: run with --slow"))
        mark = item.get_closest_marker("gobgp_fails")
        if mark is not None and rr == "gobgp":
            reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"GoBGP: {reason}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def rr_kind(request: pytest.FixtureRequest) -> str:
    kind = str(request.config.getoption("--rr"))
    if os.geteuid() != 0:
        pytest.fail("the conformance suite needs root (network namespaces)")
    if kind == "bgprr":
        from conformance.daemons import bgprr_executable

        if bgprr_executable() is None:
            pytest.fail("bgprr executable not found: pip install -e . (or use --rr gobgp)")
    elif shutil.which("gobgpd") is None:
        pytest.fail("gobgpd not installed: run .ci/install-deps")
    return kind


@pytest.fixture
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from conformance.netns import Lab

    the_lab = Lab(tmp_path)
    try:
        yield the_lab
    finally:
        rep = getattr(request.node, "rep_call", None)
        failed = rep is not None and rep.failed
        if failed or os.environ.get("BGPRR_KEEP_LOGS"):
            for proc in the_lab.procs:
                print(f"----- {proc.name} (pid {proc.pid}, {proc.log}) -----")
                print(proc.log_tail(60))
        the_lab.cleanup()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the ``figure`` properties that tests recorded (``record_property``)."""
    lines = []
    for reports in terminalreporter.stats.values():
        for rep in reports:
            if getattr(rep, "when", None) != "call":
                continue
            lines += [f"{rep.nodeid}: {value}"
                      for key, value in getattr(rep, "user_properties", ()) if key == "figure"]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
