"""``python -m conformance.difftest [N]``: the hand-written cases and N generated ones
(default $BGPRR_DIFFTEST_CASES or 300) through gobgpd and bgprr; prints every difference,
marked with its documented gobgpd bug id when one explains it."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from .suite import report, run_all


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory(prefix="difftest-") as tmp:
        result = asyncio.run(run_all(Path(tmp), generated=n))
    print(report(result, show_known=True))
    return 1 if result.unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
