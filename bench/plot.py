"""``python -m bench plot [RESULTS.json ...] [--out-dir DIR]``: figures from results files.

Reads the runner's results files (default: every ``bench/results/*.json`` that has
``results``; other files are skipped) and draws, with matplotlib (the ``bench`` extra):

* ``bench-nodes.png``: against the number of nodes (``nodes-N``), for every reflector:
  the first storm (all Established), the full mesh, the reconnect storm's full mesh, and
  the reflector's peak RSS. A phase that did not finish is drawn as an ``x`` at the time
  it had used when the run stopped (its time limit).
* ``bench-latency.png``: the idle fan-out latency (``latency``) per reflector: every trial
  when the file has them (``latency_trials_ms``), and the recorded percentiles.
* ``bench-memory.png``: the reflector's peak RSS against the number of prefixes
  (``inet-500k``, ``inet-churn``), for every reflector.

When several files measured the same (reflector, scenario, size), the one that started
last wins. The series are built by the ``*_series`` functions, which tests check
without drawing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

RESULTS = Path(__file__).resolve().parent / "results"

# (metric, label, the phase's wall-time key) of the nodes-N time panels
NODE_TIMES = (
    ("established_s", "storm: all Established", "storm_wall_s"),
    ("converge_s", "full mesh", "converge_wall_s"),
    ("reconnect_converge_s", "reconnect storm: full mesh", "reconnect_converge_wall_s"),
)
NODE_TICKS = (200, 500, 1000, 2000, 5000, 10000)


class Point(NamedTuple):
    x: float
    y: float
    done: bool  # False: the phase did not finish; y is the time used until the run stopped
    load: float  # 1-minute load average when the run started


Series = dict[str, dict[str, list[Point]]]  # reflector -> metric -> points sorted by x


def load(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """The results documents among ``paths`` (files without a ``results`` list skipped)."""
    docs = []
    for p in sorted(paths):
        try:
            doc = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("results"), list):
            doc.setdefault("_file", p.name)
            docs.append(doc)
    return docs


def _latest(docs: Sequence[dict[str, Any]]) -> dict[tuple[str, str, int], tuple[Any, ...]]:
    """(reflector, scenario, size) -> (metrics, params, doc) of the latest file."""
    out: dict[tuple[str, str, int], tuple[Any, ...]] = {}
    for doc in sorted(docs, key=lambda d: str(d.get("started", ""))):
        for r in doc["results"]:
            sc = str(r.get("scenario", ""))
            params = r.get("params", {})
            size = int(params.get("nodes", params.get("prefixes", params.get("clients", 0))))
            out[(str(r.get("reflector")), sc, size)] = (r.get("metrics", {}), params, doc)
    return out


def _load1(doc: dict[str, Any]) -> float:
    la = doc.get("machine", {}).get("loadavg") or [0.0]
    return float(la[0])


def _add(series: Series, rr: str, key: str, pt: Point) -> None:
    series.setdefault(rr, {}).setdefault(key, []).append(pt)


def _sort(series: Series) -> Series:
    for per in series.values():
        for pts in per.values():
            pts.sort()
    return series


def nodes_series(docs: Sequence[dict[str, Any]]) -> Series:
    """Per reflector: storm, mesh and reconnect times and peak RSS (MB) against N."""
    series: Series = {}
    for (rr, sc, n), (m, _params, doc) in _latest(docs).items():
        if not sc.startswith("nodes-"):
            continue
        la = _load1(doc)
        failed = str(m.get("failed", ""))
        storm_failed = "not established" in failed
        for key, _label, wall_key in NODE_TIMES:
            v = m.get(key)
            if key == "established_s" and storm_failed:
                # the storm gave up: its figure is the time used, not "all Established"
                used = m.get(wall_key) or v or m.get("wall_s") or 0.0
                _add(series, rr, key, Point(n, float(used), False, la))
                break
            if isinstance(v, int | float):
                _add(series, rr, key, Point(n, float(v), True, la))
            elif failed:
                # the first phase without a figure is where the run stopped
                used = m.get(wall_key) or m.get("wall_s") or 0.0
                _add(series, rr, key, Point(n, float(used), False, la))
                break
        if isinstance(m.get("peak_rss_mb"), int | float):
            _add(series, rr, "peak_rss_mb", Point(n, float(m["peak_rss_mb"]), True, la))
    return _sort(series)


def memory_series(docs: Sequence[dict[str, Any]]) -> Series:
    """Per reflector: peak RSS (MB) against the number of prefixes (inet scenarios that
    converged)."""
    series: Series = {}
    for (rr, sc, n), (m, _params, doc) in _latest(docs).items():
        if sc not in ("inet-500k", "inet-churn") or m.get("converge_s") is None:
            continue
        if isinstance(m.get("peak_rss_mb"), int | float):
            _add(series, rr, "peak_rss_mb", Point(n, float(m["peak_rss_mb"]), True, _load1(doc)))
    return _sort(series)


LAT_KEYS = (
    ("latency_first_p50_ms", "p50, first receiver"),
    ("latency_p50_ms", "p50, all receivers"),
    ("latency_p99_ms", "p99, all receivers"),
)


def latency_series(docs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per reflector and number of clients (latest run of ``latency`` or ``latency-N``;
    key ``rr`` for 200 clients, ``rr@N`` otherwise): the recorded percentiles (ms), the
    trials (ms) when recorded, the number of clients and the load at the start."""
    out: dict[str, dict[str, Any]] = {}
    for (rr, sc, n), (m, _params, doc) in sorted(_latest(docs).items()):
        if not (sc == "latency" or sc.startswith("latency-")):
            continue
        if m.get("latency_p50_ms") is None:
            continue
        key = rr if n == 200 else f"{rr}@{n}"
        prev = out.get(key)
        if prev is not None and str(prev["started"]) > str(doc.get("started", "")):
            continue
        out[key] = {
            "reflector": rr,
            "clients": n,
            "started": doc.get("started", ""),
            "load": _load1(doc),
            "trials": list(m.get("latency_trials_ms", [])),
            **{k: m[k] for k, _l in LAT_KEYS if m.get(k) is not None},
        }
    return out


# --------------------------------------------------------------------------- drawing


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colors(names: Iterable[str]) -> dict[str, str]:
    palette = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"]
    return {n: palette[i % len(palette)] for i, n in enumerate(sorted(names))}


def _draw_points(ax: Any, pts: list[Point], color: str, label: str | None) -> None:
    done = [p for p in pts if p.done]
    if done:
        ax.plot([p.x for p in done], [p.y for p in done], "o-", color=color, label=label)
        label = None
    for p in pts:
        if not p.done:
            ax.plot([p.x], [p.y], "x", color=color, markersize=10, mew=2, label=label)
            label = None


def draw_nodes(series: Series, out: Path) -> None:
    plt = _pyplot()
    keys = [(k, label) for k, label, _w in NODE_TIMES] + [("peak_rss_mb", "reflector peak RSS")]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    colors = _colors(series)
    xs = sorted({p.x for per in series.values() for pts in per.values() for p in pts})
    ticks = [t for t in NODE_TICKS if xs and xs[0] <= t <= xs[-1]] or xs
    for ax, (key, label) in zip(axes.flat, keys, strict=True):
        for rr in sorted(series):
            pts = series[rr].get(key, [])
            if pts:
                _draw_points(ax, pts, colors[rr], rr)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:,.0f}" for t in ticks])
        ax.minorticks_off()
        ax.set_title(label)
        ax.set_xlabel("nodes (BGP sessions)")
        ax.set_ylabel("MB" if key == "peak_rss_mb" else "seconds")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle("nodes-N (x: did not finish; drawn at the time it had used when stopped)")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def draw_memory(series: Series, out: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    colors = _colors(series)
    for rr in sorted(series):
        _draw_points(ax, series[rr].get("peak_rss_mb", []), colors[rr], rr)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    ax.set_xlabel("prefixes (one speaker, 10 receivers)")
    ax.set_ylabel("reflector peak RSS, MB")
    ax.set_title("Memory against the number of prefixes (inet-500k)")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def draw_latency(lat: dict[str, dict[str, Any]], out: Path) -> None:
    plt = _pyplot()
    names = sorted(lat, key=lambda k: (lat[k]["clients"], k))
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(names) + 3), 5))
    marks = {"latency_first_p50_ms": "v", "latency_p50_ms": "o", "latency_p99_ms": "^"}
    for i, rr in enumerate(names):
        d = lat[rr]
        trials = d["trials"]
        if trials:
            xs = [i + 0.15 * ((k % 7) / 6 - 0.5) for k in range(len(trials))]
            ax.scatter(xs, trials, s=8, color="0.6", zorder=1)
        for k, label in LAT_KEYS:
            if k in d:
                ax.scatter([i], [d[k]], marker=marks[k], s=50, zorder=2,
                           color={"v": "C2", "o": "C0", "^": "C3"}[marks[k]],
                           label=label if i == 0 else None)  # fmt: skip
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(
        [f"{lat[k].get('reflector', k)}\n({lat[k]['clients']} clients)" for k in names],
        fontsize=8,
    )
    ax.set_yscale("log")
    ax.set_ylabel("ms, announcement to kernel receipt")
    ax.set_title("Idle fan-out latency (latency scenario; grey: each trial)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def plot_all(paths: Iterable[Path], out_dir: Path) -> dict[str, Path]:
    """Draw every figure that the files have data for; returns {figure: file}."""
    docs = load(paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    nodes = nodes_series(docs)
    if nodes:
        made["nodes"] = out_dir / "bench-nodes.png"
        draw_nodes(nodes, made["nodes"])
    lat = latency_series(docs)
    if lat:
        made["latency"] = out_dir / "bench-latency.png"
        draw_latency(lat, made["latency"])
    mem = memory_series(docs)
    if mem:
        made["memory"] = out_dir / "bench-memory.png"
        draw_memory(mem, made["memory"])
    return made


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench plot", description=__doc__)
    ap.add_argument("files", nargs="*", type=Path, help="results JSON (default: bench/results)")
    ap.add_argument("--out-dir", type=Path, default=Path("docs/img"))
    a = ap.parse_args(argv)
    paths = a.files or sorted(RESULTS.glob("*.json"))
    try:
        made = plot_all(paths, a.out_dir)
    except ImportError:
        print("matplotlib is needed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    for name, path in made.items():
        print(f"{name}: {path}")
    if not made:
        print("no nodes-N, latency or inet results in these files", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
