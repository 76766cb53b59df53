"""docs/library.md's example runs as written, and prints what the doc says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "library.md"


def blocks(lang: str) -> list[str]:
    """The fenced code blocks of the doc whose info string is ``lang``."""
    found: list[str] = []
    current: list[str] | None = None
    info = ""
    for line in DOC.read_text().splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                if info == lang:
                    found.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return found


def test_library_example_runs() -> None:
    (code,) = [b for b in blocks("python") if "asyncio.run(main())" in b]
    (expected,) = [b for b in blocks("") if b.startswith("up: ")]
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=DOC.parents[1],  # the repository root: imports this tree's bgprr
    )
    assert r.returncode == 0, r.stderr
    got = r.stdout.splitlines()
    want = expected.splitlines()
    assert len(got) == len(want)
    # Same lines; table cells compared without their padding, times blanked.
    def norm(line: str) -> list[str]:
        return re.sub(r"\d\d:\d\d:\d\d", "T", line).split()

    assert [norm(x) for x in got] == [norm(x) for x in want]
