"""The fuzz targets in CI: every seed and every recorded finding replayed in-process, then a
short coverage-guided campaign per target with atheris (bounded in runs and seconds).
Longer campaigns: ``python -m tests.fuzz TARGET -max_total_time=...`` (docs/reliability.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.seeds import seeds
from tests.fuzz.targets import TARGETS

CRASHES = Path(__file__).parent / "crashes"
ROOT = Path(__file__).parent.parent.parent
# target -> (max runs, max seconds) of the CI campaign; BGPRR_FUZZ_SCALE multiplies both
BUDGET = {"decoder": (200_000, 12), "session": (40_000, 12), "reflector": (6_000, 15)}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_and_findings_replay(name: str) -> None:
    inputs = seeds(name) + [p.read_bytes() for p in sorted((CRASHES / name).glob("*"))]
    assert len(inputs) >= 10
    for data in inputs:
        TARGETS[name](data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_short_campaign(name: str, tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    scale = float(os.environ.get("BGPRR_FUZZ_SCALE", "1"))
    runs, seconds = BUDGET[name]
    cmd = [
        sys.executable,
        "-m",
        "tests.fuzz",
        name,
        str(tmp_path / "corpus"),
        f"-runs={int(runs * scale)}",
        f"-max_total_time={int(seconds * scale)}",
        f"-artifact_prefix={tmp_path}/",
        "-print_final_stats=1",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    crashes = list(tmp_path.glob("crash-*")) + list(tmp_path.glob("timeout-*"))
    assert proc.returncode == 0 and not crashes, out[-3000:]
    done = re.search(r"stat::number_of_executed_units: (\d+)", out)
    assert done is not None and int(done.group(1)) > 100, out[-2000:]
    cov = re.findall(r"cov: (\d+)", out)
    assert cov and int(cov[-1]) > 100, "no coverage feedback: bgprr not instrumented?"
