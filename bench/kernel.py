"""Kernel route installation: N best paths from the engine into a kernel table.

Run (as root): ``python bench/kernel.py [N] [--hops K] [--v6]`` (default 500000 IPv4
prefixes, 4 directly connected next hops, one per prefix in turn). It creates a network
namespace ``bgprr-kbench-<pid>`` with a veth pair (never the host's tables), runs itself
inside it with ``ip netns exec``, and deletes it at the end.

Inside: a ReflectionEngine with best-path events originates N prefixes (what a BGP
UPDATE would do, without the decoding); the events go to a :class:`KernelSync` exactly
as the daemon hands them over; the bench times, separately,

* ``engine``: originating the N prefixes and polling the events,
* ``install``: from the first event handed over until the kernel holds all N routes
  (``FibPlan`` bookkeeping, next-hop resolution, encoding, netlink),
* ``replace``: every prefix moved to another next hop,
* ``flush``: a clean stop, every route of ours deleted (read back from the kernel),

and reports the longest the event loop waited for its turn meanwhile (a 1 ms ticker),
which shows whether the netlink work blocks the loop. The kernel's count is checked by
a dump of the table (``ip -n`` is not used: the dump goes through bgprr's own reader and
is cross-checked with ``ip route show proto``'s line count).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from typing import Any

from bgprr.app import tune_gc
from bgprr.config import KernelConfig
from bgprr.io.kernel import KernelSync
from bgprr.reflect.engine import ReflectionEngine

PROTO = 186
TABLE = 254


def _attrs(nh: bytes) -> bytes:
    # ORIGIN IGP, empty AS_PATH, NEXT_HOP, LOCAL_PREF 100
    return b"\x40\x01\x01\x00" + b"\x40\x02\x00" + b"\x40\x03\x04" + nh + b"\x40\x05\x04\0\0\0\x64"


async def _ticker(stop: asyncio.Event, lag: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(0.001)
        lag.append(loop.time() - t - 0.001)


async def _ticking(work: Coroutine[Any, Any, None]) -> float:
    """Run ``work`` with a 1 ms ticker beside it; the ticker's longest lag, in ms."""
    stop = asyncio.Event()
    lag: list[float] = [0.0]
    tick = asyncio.create_task(_ticker(stop, lag))
    await asyncio.sleep(0)
    try:
        await work
    finally:
        stop.set()
        await tick
    return max(lag) * 1000


async def _drain(ks: KernelSync) -> float:
    return await _ticking(ks.drain())


async def inner(n: int, hops: int, v6: bool) -> dict[str, float | int]:
    afi = 2 if v6 else 1
    fam = (afi, 1)
    if v6:
        nhs = [bytes.fromhex("fd000000000000000000000000000000")[:15] + bytes([i + 2])
               for i in range(hops)]  # fmt: skip
    else:
        nhs = [bytes([10, 255, 0, i + 2]) for i in range(hops)]
    eng = ReflectionEngine(router_id=1, local_as=64512, cluster_id=1, now=0.0,
                           best_path_events=True)  # fmt: skip
    res: dict[str, float | int] = {"prefixes": n, "next_hops": hops, "v6": int(v6)}
    t0 = time.perf_counter()
    if v6:
        keys = [((0x20010DB8 << 96) | (i << 64)) << 8 | 64 for i in range(n)]
        raws = [b"\x40\x01\x01\x00\x40\x02\x00\x40\x05\x04\0\0\0\x64"] * hops
        for i, k in enumerate(keys):
            eng.originate(fam, k, raws[i % hops], nhs[i % hops], 0.0)
    else:
        keys = [((0x0A000000 + (i << 8)) << 8) | 24 for i in range(n)]  # 10.x.y.0/24...
        raws = [_attrs(nh) for nh in nhs]
        for i, k in enumerate(keys):
            eng.originate(fam, k, raws[i % hops], b"", 0.0)
    events = eng.poll_events()
    res["engine_s"] = time.perf_counter() - t0

    ks = KernelSync(KernelConfig(enabled=True, table=TABLE, protocol=PROTO), restarting=False)
    await ks.start()
    t0 = time.perf_counter()
    ks.changes(events)
    res["install_plan_s"] = time.perf_counter() - t0
    res["install_lag_max_ms"] = await _drain(ks)
    res["install_s"] = time.perf_counter() - t0
    res["install_netlink_s"] = ks.stats.netlink_s
    res["batches"] = ks.stats.batches
    res["sends"] = ks.stats.sends
    res["refused"] = ks.stats.refused
    res["unresolved"] = ks.stats.unresolved
    res["kernel_count_after_install"] = _count(v6)

    # every prefix to the next next hop
    for i, k in enumerate(keys):
        if v6:
            eng.originate(fam, k, raws[(i + 1) % hops], nhs[(i + 1) % hops], 1.0)
        else:
            eng.originate(fam, k, raws[(i + 1) % hops], b"", 1.0)
    events = eng.poll_events()
    t0 = time.perf_counter()
    ks.changes(events)
    res["replace_plan_s"] = time.perf_counter() - t0
    res["replace_lag_max_ms"] = await _drain(ks)
    res["replace_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res["flush_lag_max_ms"] = await _ticking(ks.stop(keep=False))
    res["flush_s"] = time.perf_counter() - t0
    res["flush_dump_s"] = ks.stats.flush_dump_s
    res["flush_delete_s"] = ks.stats.flush_delete_s
    res["kernel_count_after_flush"] = _count(v6)
    return res


E2E_TOML = """
[global.config]
  as = 64512
  router-id = "10.255.0.1"
  port = 17900
  local-address-list = ["127.0.0.1"]
[zebra.config]
  enabled = {kernel}
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.2"
    peer-as = 64512
  [neighbors.transport.config]
    passive-mode = true
  [neighbors.route-reflector.config]
    route-reflector-client = true
"""


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return -1.0


async def _metrics() -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", 9179)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = await reader.read()
    writer.close()
    return data.decode()


async def e2e(n: int, hops: int, kernel: bool = True) -> dict[str, float | int]:
    """The daemon: UPDATEs from the load tester over BGP into the kernel (``kernel``
    False: the same without kernel routes, for the Loc-RIB time alone)."""
    from bench.loadtester import Tester, build_attrs, pack_announce, prefix_bytes

    work = tempfile.mkdtemp(prefix="bgprr-kbench-")
    conf = os.path.join(work, "rr.toml")
    with open(conf, "w", encoding="utf-8") as fh:
        fh.write(E2E_TOML.format(kernel="true" if kernel else "false"))
    exe = os.path.join(os.path.dirname(sys.executable), "bgprr")
    log = open(os.path.join(work, "rr.log"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [exe, "-f", conf, "--api-socket", "", "--state-dir", work, "--http", "127.0.0.1:9179",
         "-l", "warning"], stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    res: dict[str, float | int] = {"prefixes": n, "next_hops": hops, "kernel": int(kernel)}
    try:
        for _ in range(200):
            await asyncio.sleep(0.05)
            try:
                await _metrics()
                break
            except OSError:
                continue
        tester = Tester("127.0.0.1", 17900)
        peer = tester.add_peers(["127.0.0.2"])[0]
        _t, missing = await tester.connect_all([peer], time.monotonic() + 30)
        assert not missing, "session not established"
        msgs: list[bytes] = []
        per = [[] for _ in range(hops)]  # type: list[list[bytes]]
        for i in range(n):
            per[i % hops].append(prefix_bytes(0x0A000000 + (i << 8), 24))
        for h, nlri in enumerate(per):
            msgs += pack_announce(build_attrs(next_hop=f"10.255.0.{h + 2}"), nlri)
        t0 = time.perf_counter()
        peer.send(msgs)
        loc = -1.0
        while True:
            await asyncio.sleep(0.1)
            text = await _metrics()
            if loc < 0 and _metric(text, "bgprr_loc_rib_destinations") >= n:
                loc = time.perf_counter() - t0
                if not kernel:
                    break
            if _metric(text, "bgprr_kernel_routes") >= n and _metric(
                text, "bgprr_kernel_pending"
            ) == 0:
                break
            if time.perf_counter() - t0 > 600:
                raise TimeoutError("routes not in the kernel after 600 s")
        res["loc_rib_s"] = loc
        res["kernel_s"] = time.perf_counter() - t0
        res["kernel_count"] = _count(False)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)  # no graceful restart configured: clean stop
        proc.wait(300)
        res["stop_s"] = time.perf_counter() - t0
        res["kernel_count_after_stop"] = _count(False)
        await tester.shutdown()
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    return res


def _count(v6: bool) -> int:
    out = subprocess.run(
        ["ip", "-6" if v6 else "-4", "route", "show", "table", str(TABLE), "proto", str(PROTO)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sum(1 for line in out.splitlines() if line and not line[0].isspace())


def outer(argv: list[str]) -> int:
    ns = f"bgprr-kbench-{os.getpid()}"
    run = ["ip", "netns", "exec", ns]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"],
            ["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
            ["ip", "addr", "add", "10.255.0.1/24", "dev", "v0"],
            ["ip", "-6", "addr", "add", "fd00::1/64", "dev", "v0", "nodad"],
            ["ip", "link", "set", "v0", "up"],
            ["ip", "link", "set", "v1", "up"],
        ):
            subprocess.run(run + cmd, check=True)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        inner_argv = [*run, sys.executable, "-m", "bench.kernel", "--inner", *argv]
        proc = subprocess.run(inner_argv, check=False, cwd=root)
        return proc.returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("n", type=int, nargs="?", default=500_000)
    ap.add_argument("--hops", type=int, default=4)
    ap.add_argument("--v6", action="store_true")
    ap.add_argument("--e2e", action="store_true",
                    help="through the daemon: UPDATEs from the load tester (IPv4)")
    ap.add_argument("--no-kernel", action="store_true",
                    help="with --e2e: kernel routes off (the Loc-RIB time alone)")  # fmt: skip
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if not a.inner:
        return outer(sys.argv[1:])
    if a.e2e:
        res = asyncio.run(e2e(a.n, a.hops, kernel=not a.no_kernel))
        print(json.dumps(res, indent=1))
        want = a.n if not a.no_kernel else 0
        return 0 if res["kernel_count"] == want and res["kernel_count_after_stop"] == 0 else 1
    tune_gc()  # as the daemon does (bgprr.app)
    res = asyncio.run(inner(a.n, a.hops, a.v6))
    print(json.dumps(res, indent=1))
    ok = res["kernel_count_after_install"] == a.n and res["kernel_count_after_flush"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
