"""Plot a flap-storm or soak result: the reflector's RSS and open files over time.

``python -m bench.flapplot bench/results/RESULT.json [MORE.json ...] --out docs/img/X.png``

Needs matplotlib (the ``bench`` extra: ``pip install -e '.[bench]'``; not a dependency of
bgprr). Each result is one line (named by its reflector); the first convergence and the
end of the run are marked.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def plot(
    results: list[dict[str, Any]],
    out: Path,
    title: str,
    log: bool = False,
    labels: Sequence[str] = (),
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (mem, fds) = plt.subplots(
        2, 1, figsize=(9, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    for i, r in enumerate(results):
        samples = r["samples"]
        name = labels[i] if i < len(labels) else r["settings"]["reflector"]
        t = [x["t"] / 60 for x in samples]
        (line,) = mem.plot(t, [x["rss"] / MIB for x in samples], label=name, linewidth=1.2)
        color = line.get_color()
        fds.plot(t, [x["fds"] for x in samples], color=color, linewidth=1.2)
        fds.plot(t, [x["established"] for x in samples], color=color, linewidth=0.8,
                 linestyle="--")  # fmt: skip
        start = next((x["t"] / 60 for x in samples if x["phase"] >= 1), None)
        if start is not None:
            mem.axvline(start, color=color, linestyle=":", linewidth=0.8)
        for k in (1.0, 1.2):
            mem.axhline(k * r["rss_first"] / MIB, color=color, linestyle="--", linewidth=0.6)
    mem.set_ylabel("RSS (MiB)")
    if log:
        mem.set_yscale("log")
    else:
        mem.set_ylim(bottom=0)
    mem.legend(loc="lower right", fontsize="small")
    mem.set_title(title, fontsize="medium")
    fds.set_ylabel("open files,\nsessions (--)")
    fds.set_ylim(bottom=0)
    fds.set_xlabel("minutes since start (dotted: first convergence; dashed: its RSS, x1.2)")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.flapplot", description=__doc__)
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--title", default="reflector memory during the run")
    ap.add_argument("--log", action="store_true", help="logarithmic RSS axis")
    ap.add_argument("--labels", default="", help="comma-separated legend names, in order")
    a = ap.parse_args(argv)
    labels = [x for x in a.labels.split(",") if x]
    plot([json.loads(p.read_text()) for p in a.results], a.out, a.title, a.log, labels)
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
