"""The process raises its soft open-files limit to the hard one (every neighbor is a
socket; systemd's default soft limit of 1024 is below a large Calico cluster)."""

from __future__ import annotations

import resource

from bgprr.app import raise_open_files_limit


def test_soft_limit_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        low = min(256, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
        before, after = raise_open_files_limit()
        assert before == low
        expected = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
        assert after == expected
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (expected, hard)
        assert raise_open_files_limit() == (expected, expected)  # nothing more to do
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
