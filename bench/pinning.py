"""CPU pinning for the runner's ``--pin-rr``: the reflector on one core, the testers on the rest.

``plan("auto", allowed)`` gives the reflector the first CPU that this process may run on
and the load testers all the others; ``plan("3", allowed)`` gives it CPU 3. Pinning a
process sets the affinity of every one of its threads (``/proc/PID/task``), as
``taskset -a -p`` does, so a multi-threaded daemon (gobgpd) is held to its core too; the
threads that it starts later inherit the mask.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence


def plan(mode: str, allowed: Iterable[int]) -> tuple[list[int], list[int]] | None:
    """(reflector CPUs, tester CPUs) for ``mode`` ('off', 'auto' or a CPU number), or None
    when nothing is to be pinned ('off', or fewer than two CPUs allowed)."""
    cpus = sorted(allowed)
    if mode == "off" or len(cpus) < 2:
        return None
    if mode == "auto":
        rr = cpus[0]
    else:
        try:
            rr = int(mode)
        except ValueError:
            raise ValueError(f"--pin-rr: 'auto', 'off' or a CPU number, not {mode!r}") from None
        if rr not in cpus:
            raise ValueError(f"--pin-rr: CPU {rr} is not one of {cpus}")
    return [rr], [c for c in cpus if c != rr]


def threads(pid: int) -> list[int]:
    """The thread ids of ``pid`` (just ``pid`` if /proc cannot tell)."""
    try:
        return sorted(int(x) for x in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return [pid]


def pin(pids: Sequence[int], cpus: Sequence[int]) -> int:
    """Set the affinity of every thread of ``pids`` to ``cpus``; returns threads pinned."""
    done = 0
    for pid in pids:
        for tid in threads(pid):
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(tid, set(cpus))
                done += 1
    return done


def affinity(pid: int) -> list[int]:
    """The CPUs that ``pid`` may run on now."""
    return sorted(os.sched_getaffinity(pid))
