"""Differential test against gobgpd 3.10 (docs/interop.md, "Differential tests against
gobgpd"): hand-written and generated policy cases through both daemons on loopback; every
difference must be one that conformance/difftest/known.py explains. No root needed.

BGPRR_DIFFTEST_CASES sets the number of generated cases (default 300)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from conformance.difftest.suite import report, run_all


def test_same_as_gobgpd(tmp_path: Path) -> None:
    if shutil.which("gobgpd") is None:  # as the rest of the suite: a missing daemon fails
        pytest.fail("gobgpd not installed: run .ci/install-deps")
    res = asyncio.run(run_all(tmp_path))
    print(report(res))
    assert not res.unexplained, report(res)
