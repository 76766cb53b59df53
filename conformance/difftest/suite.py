"""The whole differential suite: hand-written and generated cases, batched, run, compared."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .batch import batches
from .cases import hand_written
from .compare import Diff, case_diffs
from .known import explain
from .model import Case
from .runner import run

BATCH = 60


@dataclass
class SuiteResult:
    cases: int = 0
    hand: int = 0
    generated: int = 0
    runs: int = 0
    seconds: float = 0.0
    known: list[tuple[str, Diff]] = field(default_factory=list)
    unexplained: list[Diff] = field(default_factory=list)


def default_count() -> int:
    return int(os.environ.get("BGPRR_DIFFTEST_CASES", "300"))


def all_cases(generated: int | None) -> tuple[list[Case], int]:
    from .generate import generated_cases

    hand = hand_written()
    n = default_count() if generated is None else generated
    return hand + generated_cases(n), len(hand)


async def run_all(workdir: Path, generated: int | None = None) -> SuiteResult:
    t0 = time.monotonic()
    cases, hand = all_cases(generated)
    res = SuiteResult(cases=len(cases), hand=hand, generated=len(cases) - hand)
    for i, group in enumerate(batches(cases, BATCH)):
        out = await run(group, workdir / f"run{i}")
        res.runs += 1
        for pl in out.placed:
            for d in case_diffs(pl, out.tables):
                k = explain(d, pl)
                if k is None:
                    res.unexplained.append(d)
                else:
                    res.known.append((k, d))
    res.seconds = time.monotonic() - t0
    return res


def report(res: SuiteResult, show_known: bool = False) -> str:
    lines = [
        f"{res.cases} cases ({res.hand} hand-written, {res.generated} generated) in "
        f"{res.runs} runs, {res.seconds:.1f} s; documented differences: "
        f"{dict(Counter(k for k, _ in res.known))}; unexplained: {len(res.unexplained)}"
    ]
    by_case: dict[str, list[str]] = {}
    for d in res.unexplained:
        by_case.setdefault(d.case, []).append(d.line())
    if show_known:
        for k, d in res.known:
            by_case.setdefault(d.case, []).append(d.line() + f"  [{k}]")
    for case, ls in by_case.items():
        lines.append(f"case {case}:")
        lines.extend(ls)
    return "\n".join(lines)
