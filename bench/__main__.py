"""``python -m bench --rr bgprr,gobgp,... --scenario all|calico-10k,...``

Prints one markdown table (ratios to bgprr) and writes the full JSON to bench/results/.
``python -m bench plot [RESULTS.json ...]`` draws the figures (:mod:`bench.plot`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import pinning, reflectors, runner, scenarios


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["plot"]:
        from . import plot

        return plot.main(args[1:])
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument(
        "--rr",
        default=",".join(reflectors.NAMES),
        help=f"comma list of {', '.join(reflectors.NAMES)}; NAME-policy (NAME one of "
        f"{', '.join(reflectors.POLICY_NAMES)}): with the benchmark's import policy "
        "(bench/policyset.py)",
    )
    ap.add_argument(
        "--scenario",
        default="all",
        help="'all' or a comma list of "
        + ", ".join(scenarios.SCENARIOS + scenarios.EXTRA_SCENARIOS)
        + ", nodes-N, latency-N",
    )
    ap.add_argument("--timeout", type=float, default=300.0, help="per scenario and reflector, s")
    ap.add_argument("--addr", default="127.200.0.1", help="reflector listen address (127/8)")
    ap.add_argument("--port", type=int, default=17900)
    ap.add_argument(
        "--no-netns",
        action="store_true",
        help="run in the current network namespace instead of a private one",
    )
    ap.add_argument("--prefixes", type=int, help="calico-10k / inet-500k prefix count")
    ap.add_argument("--receivers", type=int, help="calico-10k / inet-500k receivers")
    ap.add_argument("--speakers", type=int, help="calico-10k speakers")
    ap.add_argument("--attr-sets", type=int, help="inet-500k distinct attribute sets")
    ap.add_argument("--clients", type=int, help="latency: established clients")
    ap.add_argument("--trials", type=int, help="latency: trials")
    ap.add_argument("--base-routes", action="store_true", help="latency: each client has a /26")
    ap.add_argument("--concurrency", type=int, help="nodes-N: connects in flight while ramping")
    ap.add_argument(
        "--calico-prefixes", type=int, help="calico-10k prefixes (overrides --prefixes)"
    )
    ap.add_argument("--inet-prefixes", type=int, help="inet-500k prefixes (overrides --prefixes)")
    ap.add_argument(
        "--tester-procs", type=int, default=1, help="nodes-N: load-tester processes (slices)"
    )
    ap.add_argument(
        "--tester-mode",
        choices=("full", "count"),
        default="full",
        help="nodes-N: 'count' keeps each node's /26 tails instead of decoding (checked after)",
    )
    ap.add_argument(
        "--pin-rr",
        default="off",
        help="'auto': the reflector on the first CPU, the testers on the others; a CPU number",
    )
    ap.add_argument(
        "--rss-limit-mb",
        type=float,
        default=runner.RSS_LIMIT_MB,
        help="stop a scenario (FAIL) when the reflector's RSS goes over this",
    )
    ap.add_argument("--label", default="", help="a free-text note stored in the results JSON")
    ap.add_argument("--profile-dir", type=Path, help="py-spy raw profiles of bgprr runs here")
    ap.add_argument("--out", type=Path, help="JSON output file (default bench/results/<time>.json)")
    ap.add_argument("--report", type=Path, help="print the docs section for a results JSON")
    a = ap.parse_args(argv)
    try:
        pinning.plan(a.pin_rr, range(2))
    except ValueError as exc:
        ap.error(str(exc))
    if a.report is not None:
        print(runner.report(json.loads(a.report.read_text())))
        return 0
    if not a.addr.startswith("127."):
        ap.error("--addr must be a loopback address (127.0.0.0/8)")
    rrs = [r for r in a.rr.split(",") if r]
    bad = [r for r in rrs if not reflectors.known(r)]
    if bad:
        ap.error(f"unknown reflector(s): {', '.join(bad)}")
    scens = list(scenarios.SCENARIOS) if a.scenario == "all" else a.scenario.split(",")
    for s in scens:
        try:
            scenarios.default_params(s)
        except ValueError as exc:
            ap.error(str(exc))
    ov: dict[str, Any] = {}
    for key in (
        "prefixes",
        "receivers",
        "speakers",
        "attr_sets",
        "clients",
        "trials",
        "concurrency",
    ):
        v = getattr(a, key)
        if v is not None:
            ov[key] = v
    if a.base_routes:
        ov["base_routes"] = True
    missing = [r for r in rrs if not reflectors.available(r)]
    if missing:
        print(f"warning: not installed, will fail: {', '.join(missing)}", file=sys.stderr)
    md, path = _run(a, rrs, scens, ov, argv)
    print(md)
    print(f"\nJSON: {path}")
    return 0


def _run(
    a: argparse.Namespace,
    rrs: list[str],
    scens: list[str],
    ov: dict[str, Any],
    argv: Sequence[str] | None,
) -> tuple[str, Path]:
    per: dict[str, dict[str, Any]] = {}
    if a.calico_prefixes:
        per["calico-10k"] = {"prefixes": a.calico_prefixes}
    if a.inet_prefixes:
        per["inet-500k"] = {"prefixes": a.inet_prefixes}
    args = sys.argv[1:] if argv is None else list(argv)
    return runner.run_all(
        rrs,
        scens,
        addr=a.addr,
        port=a.port,
        overrides=ov,
        per_scenario=per,
        timeout=a.timeout,
        use_netns=not a.no_netns,
        out=a.out,
        profile_dir=a.profile_dir,
        command="python -m bench " + " ".join(map(shlex.quote, args)),
        tester_procs=a.tester_procs,
        tester_mode=a.tester_mode,
        pin_rr=a.pin_rr,
        label=a.label,
        rss_limit_mb=a.rss_limit_mb,
    )


if __name__ == "__main__":
    sys.exit(main())
