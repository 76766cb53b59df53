"""The memory probe (bgprr/io/memprobe.py): its samples, and the arena count it reads
from CPython's allocator statistics without leaving stderr redirected."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys

import pytest

from bgprr.io.memprobe import MemProbe, rss_bytes


def test_arenas_follow_small_objects() -> None:
    """In a fresh interpreter (this one's arenas have free pools left by earlier tests):
    a million small objects map about 16 more arenas, and freeing them unmaps them."""
    code = (
        "from bgprr.io.memprobe import pymalloc_arenas\n"
        "a = pymalloc_arenas(); objs = [object() for _ in range(1_000_000)]\n"
        "b = pymalloc_arenas(); del objs; c = pymalloc_arenas(); print(a, b, c)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONMALLOC", "PYTHONTRACEMALLOC")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    before, grown, after = (int(x) for x in out.stdout.split())
    assert before > 0
    assert grown >= before + 10
    assert after <= before + 2  # emptied arenas are unmapped


def test_no_arenas_without_pymalloc() -> None:
    code = "from bgprr.io.memprobe import pymalloc_arenas; print(pymalloc_arenas())"
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None"
    assert out.stderr == ""  # the statistics went to the temporary file, not to stderr


def test_stderr_is_restored() -> None:
    """What is written to descriptor 2 after a reading still reaches stderr."""
    code = (
        "import os; from bgprr.io.memprobe import pymalloc_arenas\n"
        "pymalloc_arenas(); os.write(2, b'still here')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert out.returncode == 0
    assert out.stderr == b"still here"


async def test_samples_hold_every_figure() -> None:
    buf = io.StringIO()
    probe = MemProbe(buf, interval=3600.0, extra=lambda: {"peers": 3})
    try:
        rec = probe.sample("now")
    finally:
        text = buf.getvalue()
        probe.close()
    lines = [json.loads(x) for x in text.splitlines()]
    assert len(lines) == 2 and lines[-1] == rec  # the first at start, then ours
    assert rec["label"] == "now" and rec["extra"] == {"peers": 3}
    assert rec["rss"] == pytest.approx(rss_bytes(), rel=0.5)
    assert rec["gc_objects"] > 0 and len(rec["gc_counts"]) == 3
    assert rec["arenas"] is None or rec["arenas"] > 0
    await asyncio.sleep(0)
