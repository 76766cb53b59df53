"""Run scenarios against reflectors, one fresh reflector process per (reflector, scenario).

For each pair: write the configuration, start the reflector (in a network namespace of
this run's own, ``bgprrbench<pid>``, when possible), wait until it listens, run the load
tester in a subprocess with a hard time limit and a cap on the reflector's RSS, read the
reflector's CPU seconds and peak RSS (VmHWM) from /proc, stop it. A failure or timeout
is recorded, never waited on.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import pinning, reflectors, scenarios
from .loadtester import proc_usage

RESULTS = Path(__file__).resolve().parent / "results"
# A reflector over this RSS has its scenario stopped (FAIL): at 10,000 nodes a reflector
# that keeps per-peer copies of every route can outgrow the machine.
RSS_LIMIT_MB = 8000.0

# (metric key, label, unit) shown in the table per scenario kind; the rest stays in JSON.
TABLE_ROWS: dict[str, list[tuple[str, str]]] = {
    "calico-10k": [("converge_s", "convergence s"), ("churn_s", "churn (5 % out+in) s")],
    "inet-500k": [("converge_s", "convergence s"), ("bytes_per_path", "bytes/path (RSS)")],
    "inet-churn": [("converge_s", "convergence s"), ("churn_s", "churn (5 % out+in) s")],
    "inet-churn-slow": [
        ("converge_s", "convergence s (a stuck client present)"),
        ("churn_s", "churn (5 % out+in) s (a stuck client present)"),
        ("stuck_client_up", "stuck client still connected at the end"),
    ],
    "nodes": [
        ("storm_established", "storm (fresh RR): sessions Established"),
        ("established_s", "storm (fresh RR): all Established s"),
        ("storm_retries", "storm: retried connects"),
        ("storm_slow_connects", "storm: SYN-retransmitted connects"),
        ("converge_s", "full mesh s"),
        ("reconnect_established_s", "mass flap, reconnect: all Established s"),
        ("reconnect_converge_s", "mass flap, reconnect: full mesh s"),
        ("reconnect_retries", "mass flap: retried connects"),
        ("converge_rss_mb", "reflector RSS after the full mesh MB"),
        ("converge_tester_cpu_pct", "full mesh: tester CPU, % of the tester cores"),
        ("reconnect_converge_tester_cpu_pct", "reconnect: tester CPU, % of the tester cores"),
    ],
    "latency": [
        ("latency_p50_ms", "p50 ms (kernel receipt)"),
        ("latency_p99_ms", "p99 ms (kernel receipt)"),
        ("latency_first_p50_ms", "p50 ms to the first receiver (kernel receipt)"),
        ("latency_user_p50_ms", "p50 ms (tester parsed)"),
    ],
}
# a time whose phase carries another name (the tester-bound flag is per phase)
PHASE_OF = {"established_s": "storm", "reconnect_established_s": "reconnect_converge"}
COMMON_ROWS = [
    ("rr_cpu_s", "reflector CPU s"),
    ("peak_rss_mb", "reflector peak RSS MB"),
    ("tester_cpu_s", "tester CPU s / wall s"),
]


class Netns:
    """A network namespace of our own: lo up, with 198.19.255.254/15 (so FRR's zebra resolves
    the benchmark next hops) and the reflector address as a /32 (FRR's bgpd needs its local
    address on an interface exactly)."""

    def __init__(self, addr: str) -> None:
        self.name = f"bgprrbench{os.getpid()}"
        self.addr = addr
        self.ok = False

    def __enter__(self) -> Netns:
        try:
            subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
            self.ok = True
            for cmd in (
                ["link", "set", "lo", "up"],
                ["addr", "add", "198.19.255.254/15", "dev", "lo"],
                ["addr", "add", f"{self.addr}/32", "dev", "lo"],
            ):
                subprocess.run(["ip", "-n", self.name, *cmd], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            self.__exit__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ok:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            self.ok = False


def run_one(
    rr: str,
    scenario: str,
    *,
    addr: str,
    port: int,
    netns: str | None,
    overrides: dict[str, Any],
    timeout: float,
    workdir: Path,
    tester_uvloop: bool = True,
    profile: str = "",
    tester_procs: int = 1,
    tester_mode: str = "full",
    pin_rr: str = "off",
    rss_limit_mb: float = RSS_LIMIT_MB,
) -> dict[str, Any]:
    """One reflector, one scenario; returns the metrics (``failed`` set on failure)."""
    plan = scenarios.plan(scenario, overrides, timeout)
    res: dict[str, Any] = {
        "reflector": rr,
        "scenario": scenario,
        "params": plan.params,
        "timeout_s": timeout,
    }
    try:
        run = reflectors.start(rr, workdir / f"{rr}-{scenario}", addr, port, plan.clients, netns)
    except (RuntimeError, OSError) as exc:
        res["metrics"] = {"failed": f"start: {exc}"}
        return res
    prof: subprocess.Popen[bytes] | None = None
    try:
        time.sleep(1.0)  # let every daemon finish start-up (GoBGP peers leave Idle)
        cpus = pinning.plan(pin_rr, os.sched_getaffinity(0))
        if cpus is not None:
            res["pinning"] = {
                "reflector_cpus": cpus[0],
                "tester_cpus": cpus[1],
                "reflector_threads": pinning.pin(run.measure, cpus[0]),
            }
        start = proc_usage(run.measure)
        if profile and rr.startswith("bgprr"):
            prof = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "-p",
                    str(run.measure[0]),
                    "-o",
                    profile,
                    "-f",
                    "raw",
                    "-r",
                    os.environ.get("BGPRR_PYSPY_RATE", "50"),
                    # --native (C frames: uvloop, the kernel calls) cannot be nonblocking
                    *(["--native"] if os.environ.get("BGPRR_PYSPY_NATIVE") else ["--nonblocking"]),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        cmd = [
            sys.executable,
            "-m",
            "bench.scenarios",
            "--scenario",
            scenario,
            "--rr",
            f"{addr}:{port}",
            "--pids",
            ",".join(map(str, run.measure)),
            "--params",
            json.dumps(plan.params),
            "--timeout",
            str(timeout),
        ]
        if not tester_uvloop:
            cmd.append("--no-uvloop")
        if scenario.startswith("nodes-"):
            cmd += ["--tester-procs", str(tester_procs), "--tester-mode", tester_mode]
        if cpus is not None:
            cmd += ["--tester-cpus", ",".join(map(str, cpus[1]))]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        cwd = Path(__file__).resolve().parent.parent
        rc, stdout, stderr, over = _run_tester(cmd, cwd, timeout + 60, run.measure, rss_limit_mb)
        if over is not None:
            metrics = {
                "failed": f"reflector RSS {over:,.0f} MB over the {rss_limit_mb:,.0f} MB "
                "limit (--rss-limit-mb): stopped",
                "rss_limit_mb": rss_limit_mb,
            }
        elif rc is None:
            metrics = {"failed": f"timeout after {timeout:.0f} s (tester killed)"}
        else:
            lines = [x for x in stdout.splitlines() if x.startswith("{")]
            if lines:
                metrics = json.loads(lines[-1])["metrics"]
                if "failed" in metrics and stderr.strip():
                    metrics["tester_stderr"] = stderr[-1500:]
            else:
                metrics = {"failed": f"tester exit {rc}: {stderr[-800:]}"}
        _check_policy(rr, metrics)
        end = proc_usage(run.measure)
        metrics["rr_cpu_s"] = round(end["cpu_s"] - start["cpu_s"], 3)
        metrics["rr_cpu_total_s"] = round(end["cpu_s"], 3)
        metrics["peak_rss_mb"] = round(end["peak_rss"] / 2**20, 1)
        if not run.alive():
            metrics.setdefault("failed", "reflector exited")
            metrics["log_tail"] = run.log_tail()
        elif "failed" in metrics:
            metrics["log_tail"] = run.log_tail(8)
        res["metrics"] = metrics
    finally:
        if prof is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(prof.pid, 2)
        run.stop()
        if prof is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                prof.wait(timeout=20)
    return res


def _run_tester(
    cmd: Sequence[str], cwd: Path, limit_s: float, pids: Sequence[int], rss_limit_mb: float
) -> tuple[int | None, str, str, float | None]:
    """Run the tester; (exit code or None if it outlived ``limit_s``, stdout, stderr, the
    reflector's RSS in MB if it went over ``rss_limit_mb``, else None). Over the limit, the
    tester (its whole process group) is stopped: a reflector that keeps growing must not
    take the machine's memory from the rest of the run."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        t_end = time.monotonic() + limit_s
        over: float | None = None
        rc: int | None = None
        while True:
            try:
                rc = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                pass
            rss_mb = proc_usage(pids)["rss"] / 2**20
            if rss_mb > rss_limit_mb:
                over = rss_mb
            if over is not None or time.monotonic() > t_end:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = None
                break
        out.seek(0)
        err.seek(0)
        return (
            rc,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            over,
        )


def _check_policy(rr: str, metrics: dict[str, Any]) -> None:
    """``NAME-policy`` must tag exactly the prefixes the policy matches, ``NAME`` none
    (:mod:`bench.probe`); otherwise the run failed."""
    tagged, matches = metrics.get("policy_tagged"), metrics.get("policy_matches")
    if tagged is None or matches is None or "failed" in metrics:
        return
    policy = reflectors.split_name(rr)[1]
    want = matches if policy else 0
    if tagged != want:
        metrics["failed"] = f"import policy: {tagged} prefixes tagged, expected {want}"


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_mb": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": os.getloadavg(),
    }


def fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def table(results: list[dict[str, Any]], rrs: Sequence[str], scens: Sequence[str]) -> str:
    """Markdown: one row per (scenario, metric), one column per reflector; each cell is
    the value and, where bgprr has a value, value / bgprr's. "(T)" marks a time measured
    while the load tester itself used >= 80 % of a CPU: the reflector may be faster."""
    by = {(r["reflector"], r["scenario"]): r.get("metrics", {}) for r in results}
    head = "| scenario | metric | " + " | ".join(rrs) + " |"
    lines = [head, "|" + "---|" * (len(rrs) + 2)]
    for sc in scens:
        kind = scenarios.kind(sc)
        for key, label in TABLE_ROWS.get(kind, []) + COMMON_ROWS:
            cells = []
            base = by.get(("bgprr", sc), {}).get(key)
            for rr in rrs:
                m = by.get((rr, sc), {})
                if key == "tester_cpu_s":
                    cells.append(f"{fmt(m.get('tester_cpu_s'))} / {fmt(m.get('wall_s'))}")
                    continue
                if "failed" in m and m.get(key) is None:
                    cells.append("FAIL: " + str(m["failed"]).split("\n")[0][:60])
                    continue
                v = m.get(key)
                cell = fmt(v)
                phase = PHASE_OF.get(key, key[:-2] if key.endswith("_s") else "")
                if phase and any(
                    m.get(f"{ph}_tester_bound")
                    for ph in (phase, f"{phase}_withdraw", f"{phase}_announce")
                ):
                    cell += " (T)"
                if (
                    isinstance(v, int | float)
                    and isinstance(base, int | float)
                    and base
                    and rr != "bgprr"
                ):
                    cell += f" ({v / base:.2f}x)"
                cells.append(cell)
            lines.append(f"| {sc} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_all(
    rrs: Sequence[str],
    scens: Sequence[str],
    *,
    addr: str = "127.200.0.1",
    port: int = 17900,
    overrides: dict[str, Any] | None = None,
    per_scenario: dict[str, dict[str, Any]] | None = None,
    timeout: float = 300.0,
    use_netns: bool = True,
    out: Path | None = None,
    profile_dir: Path | None = None,
    command: str = "",
    tester_procs: int = 1,
    tester_mode: str = "full",
    pin_rr: str = "off",
    label: str = "",
    rss_limit_mb: float = RSS_LIMIT_MB,
) -> tuple[str, Path]:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    workdir = Path(f"/tmp/bgprr-bench-{os.getpid()}")
    results: list[dict[str, Any]] = []
    doc: dict[str, Any] = {
        "command": command,
        "started": stamp,
        "machine": machine(),
        "versions": reflectors.versions(rrs),
        "label": label,
        "results": results,
    }
    path = out or RESULTS / f"{stamp}.json"
    with Netns(addr) as ns:
        netns = ns.name if (use_netns and ns.ok) else None
        doc["netns"] = netns is not None
        for sc in scens:
            for rr in rrs:
                t0 = time.monotonic()
                prof = ""
                if profile_dir is not None:
                    profile_dir.mkdir(parents=True, exist_ok=True)
                    prof = str(profile_dir / f"{rr}-{sc}.txt")
                r = run_one(
                    rr,
                    sc,
                    addr=addr,
                    port=port,
                    netns=netns,
                    overrides={**(overrides or {}), **(per_scenario or {}).get(sc, {})},
                    timeout=timeout,
                    workdir=workdir,
                    profile=prof,
                    tester_procs=tester_procs,
                    tester_mode=tester_mode,
                    pin_rr=pin_rr,
                    rss_limit_mb=rss_limit_mb,
                )
                results.append(r)
                m = r.get("metrics", {})
                status = ("FAIL " + str(m["failed"]).split("\n")[0]) if "failed" in m else "ok"
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                print(
                    f"[{time.monotonic() - t0:6.1f}s] {rr:13s} {sc:11s} {status} (load {load})",
                    file=sys.stderr,
                )
                _save(doc, path, rrs, scens)  # after each pair: an interrupted run keeps it
    doc["finished"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    doc["machine"]["loadavg_end"] = os.getloadavg()
    return _save(doc, path, rrs, scens), path


def _save(doc: dict[str, Any], path: Path, rrs: Sequence[str], scens: Sequence[str]) -> str:
    md = table(doc["results"], rrs, scens)
    doc["table"] = md
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    tmp.replace(path)
    return md


def report(doc: dict[str, Any]) -> str:
    """The results section of docs/benchmarks.md for one JSON results file."""
    mach = doc.get("machine", {})
    lines = [
        f"### Results ({doc.get('started', '?')})",
        "",
        f"Machine: {mach.get('nproc')} CPUs ({mach.get('cpu')}), "
        f"{mach.get('ram_mb', 0) / 1024:.1f} GiB RAM, Linux {mach.get('kernel')}, "
        f"Python {mach.get('python')}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in mach.get('loadavg', []))}"
        f" (at the end: {', '.join(f'{x:.2f}' for x in mach.get('loadavg_end', []))}); "
        f"run {doc.get('started', '?')} to {doc.get('finished', '(interrupted)')}.",
        "",
        "Versions: " + "; ".join(f"{k}: {v}" for k, v in doc.get("versions", {}).items()) + ".",
        *(["", f"Note: {doc['label']}."] if doc.get("label") else []),
        "",
        "Command:",
        "",
        "```",
        str(doc.get("command", "")),
        "```",
        "",
        str(doc.get("table", "")),
        "",
        "Cells: value (value / bgprr's). Times in seconds unless marked ms; lower is better "
        "everywhere. (T): the load tester used >= 80 % of a CPU during that phase, so the "
        "figure is an upper bound for the reflector. `—`: not measured (an earlier phase "
        "failed).",
        "",
    ]
    fails = [r for r in doc.get("results", []) if "failed" in r.get("metrics", {})]
    if fails:
        lines.append("Failures:")
        lines.append("")
        for r in fails:
            reason = str(r["metrics"]["failed"]).split("\n")[0]
            limit = r.get("timeout_s")
            lines.append(f"* {r['reflector']} / {r['scenario']}: {reason} (limit {limit} s)")
        lines.append("")
    return "\n".join(lines)
