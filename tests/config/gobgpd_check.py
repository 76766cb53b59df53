"""gobgpd as a second opinion on configuration files (when installed; in CI it must be)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

GOBGPD = shutil.which("gobgpd")

# In CI (CI=true) a missing gobgpd is a failure, never a skip: .ci/install-deps installs it.
needs_gobgpd = pytest.mark.skipif(
    GOBGPD is None and not os.environ.get("CI"), reason="gobgpd is not installed"
)


def gobgpd_dry_run(path: Path) -> subprocess.CompletedProcess[str]:
    """`gobgpd --dry-run` on `path`: it reads and checks the file, prints it and exits; it
    opens no socket."""
    assert GOBGPD is not None
    return subprocess.run(
        [GOBGPD, "-f", str(path), "-d", "-p", "--pprof-disable"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
