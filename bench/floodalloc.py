"""Connection floods with allocation accounting: where a flood's memory goes.

``python -m bench.floodalloc --repeat 3 [--trace] [--malloc] [--trim] [--no-uvloop]``

``bench.flood``'s reflector (bgprr, 3 configured clients, a dynamic range) runs with the
memory probe (``BGPRR_MEMPROBE``, bgprr/io/memprobe.py) sampling every second; each round
is ``bench.flood``'s flood (3,000 connections in 5 s by default) and its settling. For the
baseline and after each round it reports the process's RSS next to what Python itself
holds: the objects the collector tracks, the engine's table sizes and, with ``--trace``,
the bytes :mod:`tracemalloc` counts (tracing slows the reflector down several times).

``--malloc``: the reflector runs with ``PYTHONMALLOC=malloc`` (no small-object arenas:
every object from glibc's heap). ``--trim``: after each round the probe is signalled to
run ``malloc_trim(0)`` and a full collection (``BGPRR_MEMPROBE_TRIM``), and the RSS after
that is reported too (after ``malloc_trim`` alone, after the collection, after both):
what the allocators keep that the system could have back. ``--no-uvloop``: the reflector
runs on the stdlib asyncio loop (uvloop keeps freed handles and transports on free lists
of its own, up to 250 per type, wherever they were allocated).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import flood

MB = 2**20


def _samples(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    return [json.loads(x) for x in lines if x.strip()]


def _brief(s: dict[str, Any]) -> dict[str, Any]:
    out = {
        "rss_mb": round(s["rss"] / MB, 1),
        "gc_objects": s["gc_objects"],
        "arenas": s.get("arenas"),
        **s.get("extra", {}),
    }
    if "traced" in s:
        out["traced_mb"] = round(s["traced"] / MB, 2)
    if "top" in s:
        out["top"] = s["top"][:12]
    return out


def _trim(pid: int, probe: Path, timeout: float = 10.0) -> dict[str, Any]:
    """Signal the probe (BGPRR_MEMPROBE_TRIM=1); its samples after ``malloc_trim`` alone,
    after a full collection and after ``malloc_trim`` again."""
    n = len(_samples(probe))
    os.kill(pid, signal.SIGUSR1)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = {s["label"]: _brief(s) for s in _samples(probe)[n:] if s.get("label")}
        if "trimmed" in got:
            return got
        time.sleep(0.2)
    raise RuntimeError("no 'trimmed' sample from the probe")


def run(opts: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bgprr-floodalloc-") as tmp:
        probe = Path(tmp) / "probe.jsonl"
        os.environ["BGPRR_MEMPROBE"] = str(probe)
        os.environ["BGPRR_MEMPROBE_INTERVAL"] = "1"
        os.environ["BGPRR_MEMPROBE_TRACE"] = "1" if opts.trace else "0"
        os.environ["BGPRR_MEMPROBE_TRIM"] = "1" if opts.trim else "0"
        if opts.malloc:
            os.environ["PYTHONMALLOC"] = "malloc"
        port = flood.free_port()
        rr, dynamic = flood.start_rr("bgprr", port, Path(tmp), uvloop=not opts.no_uvloop)
        os.environ.pop("PYTHONMALLOC", None)
        pid = rr.measure[0]
        doc: dict[str, Any] = {
            "connections": opts.connections,
            "seconds": opts.seconds,
            "trace": opts.trace,
            "malloc": opts.malloc,
            "trim": opts.trim,
            "uvloop": not opts.no_uvloop,
            "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
            "rounds": [],
        }
        try:
            time.sleep(2.0)
            doc["baseline"] = _brief(_samples(probe)[-1])
            if opts.trim:
                doc["baseline_trimmed"] = _trim(pid, probe)["trimmed"]
            for _ in range(opts.repeat):
                res = asyncio.run(
                    flood.run_flood(
                        flood.RR_ADDR, port, pid, connections=opts.connections,
                        seconds=opts.seconds, dynamic=dynamic, settle_s=opts.settle,
                        wait_all=True,
                    )
                )  # fmt: skip
                rnd: dict[str, Any] = {
                    "rss": res.rss,
                    "fds": res.fds,
                    "drops": res.drops,
                    "missing": res.latency["missing"]["n"],
                    "after": _brief(_samples(probe)[-1]),
                }
                if opts.trim:
                    rnd["trim"] = _trim(pid, probe)
                doc["rounds"].append(rnd)
        except Exception:
            print(f"after {len(doc['rounds'])} rounds:\n{rr.log_tail(40)}", file=sys.stderr)
            raise
        finally:
            doc["alive"] = rr.alive()
            rr.stop()
        doc["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        return doc


def report(doc: dict[str, Any]) -> str:
    b = doc["baseline"]
    lines = [f"baseline: {b}"]
    if "baseline_trimmed" in doc:
        lines.append(f"  trimmed: {doc['baseline_trimmed']}")
    for i, r in enumerate(doc["rounds"], 1):
        lines.append(
            f"round {i}: RSS {r['rss']['baseline_mb']} -> peak {r['rss']['peak_mb']} -> "
            f"{r['rss']['end_mb']} MB; fds {r['fds']['baseline']} -> {r['fds']['peak']} -> "
            f"{r['fds']['end']} (back after {r['fds']['back_after_s']} s); drops "
            f"{r['drops']}, missing {r['missing']}"
        )
        lines.append(f"  after: {r['after']}")
        for label, s in r.get("trim", {}).items():
            lines.append(f"  {label}: {s}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.floodalloc",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--connections", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--settle", type=float, default=120.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--trace", action="store_true", help="tracemalloc in the reflector")
    ap.add_argument("--malloc", action="store_true", help="PYTHONMALLOC=malloc")
    ap.add_argument("--trim", action="store_true", help="trim, collect, trim after each")
    ap.add_argument("--no-uvloop", action="store_true", help="the stdlib asyncio loop")
    ap.add_argument("--json", type=Path, help="also write the result here")
    opts = ap.parse_args(argv)
    doc = run(opts)
    print(report(doc))
    if opts.json:
        opts.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0 if doc["alive"] else 1


if __name__ == "__main__":
    sys.exit(main())
