"""Drives bgprr's KernelSync without BGP, inside a network namespace (``ip netns exec``):
``python -m conformance.kernel_driver STEPS_JSON`` where STEPS_JSON is a list of steps,
each a list of ``[prefix, [next hop, ...]]`` (empty list: withdraw). After each step
(written and drained) it records ``ip -j route show proto 186`` for both families and
prints the list of snapshots as JSON. A last snapshot follows a clean stop."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess
import sys
from typing import Any

from bgprr.config import KernelConfig
from bgprr.io.kernel import KernelSync


def snapshot() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fam in ("-4", "-6"):
        text = subprocess.run(["ip", "-j", fam, "route", "show", "proto", "186"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        for r in json.loads(text or "[]"):
            hops = [h["gateway"] for h in r.get("nexthops", [])] or [r.get("gateway")]
            out[r["dst"]] = sorted(h for h in hops if h)
    return out


async def main(steps: list[list[Any]]) -> list[dict[str, Any]]:
    ks = KernelSync(KernelConfig(enabled=True, multipath=True), restarting=False)
    await ks.start()
    snaps = []
    for step in steps:
        for prefix, hops in step:
            net = ipaddress.ip_network(prefix)
            key = (int(net.network_address) << 8) | net.prefixlen
            packed = tuple(sorted(ipaddress.ip_address(h).packed for h in hops))
            ks.plan.set(1 if net.version == 4 else 2, key, packed)
        ks.kick()
        await ks.drain()
        snaps.append(snapshot())
    await ks.stop(keep=False)
    snaps.append(snapshot())
    return snaps


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
