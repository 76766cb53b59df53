"""Read (and plot) what the daemon's memory probe wrote.

The probe is in the daemon (bgprr/io/memprobe.py) and off unless asked::

    BGPRR_MEMPROBE=/tmp/probe.jsonl BGPRR_MEMPROBE_INTERVAL=60 bgprr --config rr.toml
    BGPRR_MEMPROBE_TRACE=1 ...   # tracemalloc too (slow), with the top growing lines
    BGPRR_MEMPROBE_CYCLES=1 ...  # count what only reference cycles keep (and free it)
    kill -USR1 PID               # one sample now (with BGPRR_MEMPROBE_TRIM=1: then
                                 # collect + malloc_trim, and another sample)

``python -m bench.memprobe /tmp/probe.jsonl [--every N] [--top] [--plot out.png]``
prints one line per sample (every N-th), with ``--top`` the growing allocation sites of
the last traced sample, and with ``--plot`` draws RSS, traced bytes and tracked objects
over time (needs matplotlib).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MIB = 2**20


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def line(s: dict[str, Any]) -> str:
    parts = [
        f"{s['t']:>9.1f} s",
        f"RSS {s['rss'] / MIB:7.1f} MiB",
        f"objects {s['gc_objects']:>9,}",
    ]
    if "traced" in s:
        parts.append(f"traced {s['traced'] / MIB:7.2f} MiB")
    parts += [f"{k} {v:,}" for k, v in s.get("extra", {}).items()]
    if s.get("label"):
        parts.append(f"[{s['label']}]")
    if "garbage" in s:
        parts.append(f"cyclic garbage {s['garbage']}")
    return "  ".join(parts)


def plot(samples: list[dict[str, Any]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["t"] / 60 for s in samples]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(t, [s["rss"] / MIB for s in samples], label="RSS")
    if any("traced" in s for s in samples):
        ax.plot(t, [s.get("traced", 0) / MIB for s in samples], label="Python (tracemalloc)")
    ax.set_xlabel("minutes")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax2 = ax.twinx()
    ax2.plot(t, [s["gc_objects"] for s in samples], color="grey", lw=0.8, label="objects")
    ax2.set_ylabel("objects the collector tracks")
    ax2.set_ylim(bottom=0)
    ax.legend(loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.memprobe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("probe", type=Path)
    ap.add_argument("--every", type=int, default=1, help="print every N-th sample")
    ap.add_argument("--top", action="store_true", help="growing sites of the last sample")
    ap.add_argument("--plot", type=Path)
    a = ap.parse_args(argv)
    samples = load(a.probe)
    if not samples:
        print("no samples", file=sys.stderr)
        return 1
    for i, s in enumerate(samples):
        if i % a.every == 0 or i == len(samples) - 1:
            print(line(s))
    if a.top:
        last = next((s for s in reversed(samples) if "top" in s), None)
        for where, size, count in (last or {}).get("top", []):
            print(f"  {size / 1024:+10.1f} KiB {count:+8,} blocks  {where}")
    if a.plot:
        plot(samples, a.plot, a.probe.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
