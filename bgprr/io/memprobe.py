"""A memory probe for measurements: the process's RSS, the collector's view and, when
asked, Python's own allocations, sampled over time into a file of JSON lines.

Off unless ``BGPRR_MEMPROBE`` names the file (bench/memprobe.py reads and plots it):

* ``BGPRR_MEMPROBE_INTERVAL``: seconds between samples (default 10);
* ``BGPRR_MEMPROBE_TRACE``: frames per traceback for :mod:`tracemalloc` (default 0: off;
  tracing slows the daemon down several times);
* ``BGPRR_MEMPROBE_CYCLES=1``: each sample also runs a full collection that keeps what it
  finds (``gc.DEBUG_SAVEALL``) and counts those objects by type, then frees them. That
  changes what it measures (cyclic garbage no longer accumulates), so it is for finding
  reference cycles, not for the RSS curve.

SIGUSR1 writes one extra sample at once; with ``BGPRR_MEMPROBE_TRIM=1`` it then runs
:func:`~bgprr.io.trim.malloc_trim`, a full collection and ``malloc_trim`` again, with a
sample after each (labels ``trim-only``, ``collected``, ``trimmed``): what each gives
back. Every sample holds ``t`` (seconds since the probe started), ``label``, ``rss``
(bytes), ``gc_counts``, ``gc_objects`` (objects the collector tracks), ``gc_collections``
(per generation), ``arenas`` (CPython's small-object arenas mapped now, 1 MiB each; None
without that allocator or while tracemalloc runs), the ``extra`` figures the owner passes
(the engine's table sizes), and the optional ``traced`` / ``top`` / ``garbage`` parts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from bgprr.io.trim import malloc_trim

__all__ = ["MemProbe", "from_env", "pymalloc_arenas", "rss_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """The process's resident set size (``/proc/self/statm``), 0 where there is none."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return 0


_ARENAS = re.compile(rb"# arenas allocated current\s*=\s*([\d,]+)")


def pymalloc_arenas() -> int | None:
    """How many arenas CPython's small-object allocator has mapped now (from
    ``sys._debugmallocstats``, which writes to the C stderr: it is pointed at a
    temporary file meanwhile); None without that allocator (``PYTHONMALLOC=malloc``) or
    while tracemalloc runs."""
    stats = getattr(sys, "_debugmallocstats", None)
    if stats is None:
        return None
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            stats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        m = _ARENAS.search(tmp.read())
    return int(m.group(1).replace(b",", b"")) if m else None


class MemProbe:
    """Samples every ``interval`` seconds on the running loop until :meth:`close`."""

    def __init__(
        self,
        out: TextIO,
        *,
        interval: float = 10.0,
        trace_frames: int = 0,
        cycles: bool = False,
        trim: bool = False,
        extra: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        self.out = out
        self.interval = interval
        self.cycles = cycles
        self.trim = trim
        self.extra = extra
        self.t0 = time.monotonic()
        self._base: tracemalloc.Snapshot | None = None
        if trace_frames > 0:
            if not tracemalloc.is_tracing():
                tracemalloc.start(trace_frames)
            self._base = _snapshot()
        self._loop = asyncio.get_running_loop()
        self._handle: asyncio.TimerHandle | None = None
        self._signal = False
        try:
            self._loop.add_signal_handler(signal.SIGUSR1, self._on_signal)
            self._signal = True
        except (NotImplementedError, RuntimeError, ValueError):
            # no signal handlers outside the main thread (an embedded daemon): the
            # probe still samples on its timer, only SIGUSR1's extra sample is missing
            pass
        self._tick()

    def _tick(self) -> None:
        self.sample()
        self._handle = self._loop.call_later(self.interval, self._tick)

    def _on_signal(self) -> None:
        self.sample("signal")
        if self.trim:
            malloc_trim()
            self.sample("trim-only")
            gc.collect()
            self.sample("collected")
            malloc_trim()
            self.sample("trimmed")

    def sample(self, label: str = "") -> dict[str, Any]:
        """Take one sample now, write it and return it."""
        rec: dict[str, Any] = {
            "t": round(time.monotonic() - self.t0, 2),
            "label": label,
            "rss": rss_bytes(),
            "gc_counts": list(gc.get_count()),
            "gc_objects": len(gc.get_objects()),
            "gc_collections": [s["collections"] for s in gc.get_stats()],
            "arenas": pymalloc_arenas(),
        }
        if self.extra is not None:
            rec["extra"] = dict(self.extra())
        if self._base is not None:
            cur, peak = tracemalloc.get_traced_memory()
            rec["traced"] = cur
            rec["traced_peak"] = peak
            diff = _snapshot().compare_to(self._base, "lineno")
            rec["top"] = [
                [str(d.traceback[0]), d.size_diff, d.count_diff]
                for d in sorted(diff, key=lambda d: -d.size_diff)[:12]
            ]
        if self.cycles:
            rec["garbage"] = cyclic_garbage()
        self.out.write(json.dumps(rec) + "\n")
        self.out.flush()
        return rec

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._signal:
            self._loop.remove_signal_handler(signal.SIGUSR1)
            self._signal = False
        self.out.close()


def cyclic_garbage(limit: int = 15) -> dict[str, int]:
    """Collect everything, counting the objects only reference cycles kept alive by type
    (the most frequent ``limit``; ``"total"`` all of them), then free them."""
    flags = gc.get_debug()
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = Counter(type(o).__qualname__ for o in gc.garbage)
        total = len(gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(flags)
    gc.collect()
    out = dict(found.most_common(limit))
    out["total"] = total
    return out


def _snapshot() -> tracemalloc.Snapshot:
    return tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__),)
    )


def from_env(extra: Callable[[], Mapping[str, int]] | None = None) -> MemProbe | None:
    """A probe as ``BGPRR_MEMPROBE*`` ask (see above), or None when not asked."""
    path = os.environ.get("BGPRR_MEMPROBE")
    if not path:
        return None
    return MemProbe(
        open(path, "a", encoding="utf-8"),
        interval=float(os.environ.get("BGPRR_MEMPROBE_INTERVAL", "10")),
        trace_frames=int(os.environ.get("BGPRR_MEMPROBE_TRACE", "0")),
        cycles=os.environ.get("BGPRR_MEMPROBE_CYCLES", "") == "1",
        trim=os.environ.get("BGPRR_MEMPROBE_TRIM", "") == "1",
        extra=extra,
    )
