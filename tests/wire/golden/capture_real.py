"""Record real BGP messages between BIRD 1.6 and gobgpd into golden hex files.

Run as root from the repository root (bgprr importable, e.g. ``pip install -e .`` or
``PYTHONPATH=.``): ``python tests/wire/golden/capture_real.py``. Needs ``bird`` (1.6),
``birdc``, ``gobgpd``/``gobgp`` and ``tcpdump``.
It creates two network namespaces (names carry this process id) joined by a veth pair,
10.77.0.1 (BIRD, Calico-like config) and 10.77.0.2 (gobgpd, route reflector), records the
TCP stream with tcpdump, then: session up, BIRD exports two /26 blocks, gobgp injects a
route (reflected to BIRD), BIRD disables the session with a shutdown message. Everything
it started is stopped by PID and both namespaces are deleted in ``finally``.
The messages are written as ``real_*.hex`` (one message per file, hex).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bgprr.wire.framer import Framer

HERE = Path(__file__).resolve().parent
PID = os.getpid()
NS_A = f"bgprr-bird-{PID}"
NS_B = f"bgprr-gobgp-{PID}"
IP_A = "10.77.0.1"
IP_B = "10.77.0.2"

BIRD_CONF = f"""
router id {IP_A};
protocol device {{ scan time 2; }}
protocol static {{
  route 192.168.10.0/26 blackhole;
  route 192.168.10.64/26 blackhole;
}}
filter to_peers {{
  bgp_community.add((64512, 100));
  bgp_large_community.add((64512, 1, 2));
  accept;
}}
protocol bgp Mesh_10_77_0_2 {{
  local {IP_A} as 64512;
  neighbor {IP_B} as 64512;
  multihop;
  gateway recursive;
  import all;
  export filter to_peers;
  add paths on;
  graceful restart;
  connect delay time 1;
  connect retry time 2;
  error wait time 5,30;
}}
"""

GOBGP_CONF = f"""
[global.config]
  as = 64512
  router-id = "{IP_B}"
  local-address-list = ["{IP_B}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{IP_A}"
    peer-as = 64512
  [neighbors.route-reflector.config]
    route-reflector-client = true
    route-reflector-cluster-id = "{IP_B}"
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.add-paths.config]
      receive = true
      send-max = 8
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
"""


def sh(*args: str, check: bool = True) -> str:
    res = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and res.returncode:
        raise RuntimeError(f"{' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


def tcp_streams(pcap: bytes) -> dict[tuple[str, str], bytes]:
    """Reassemble TCP payloads per direction from a pcap (Ethernet, IPv4)."""
    magic = struct.unpack_from("<I", pcap, 0)[0]
    endian = "<" if magic == 0xA1B2C3D4 else ">"
    linktype = struct.unpack_from(endian + "I", pcap, 20)[0]
    pos = 24
    segs: dict[tuple[str, str], dict[int, bytes]] = {}
    while pos + 16 <= len(pcap):
        incl = struct.unpack_from(endian + "I", pcap, pos + 8)[0]
        frame = pcap[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        ip = frame[14:] if linktype == 1 else frame[16:]  # Ethernet or Linux cooked
        if not ip or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack_from("!H", ip, 2)[0]
        tcp = ip[ihl:total]
        sport, dport, seq = struct.unpack_from("!HHI", tcp, 0)
        payload = tcp[(tcp[12] >> 4) * 4 :]
        if payload:
            key = (
                f"{ip[12]}.{ip[13]}.{ip[14]}.{ip[15]}:{sport}",
                f"{ip[16]}.{ip[17]}.{ip[18]}.{ip[19]}:{dport}",
            )
            segs.setdefault(key, {})[seq] = payload
    out: dict[tuple[str, str], bytes] = {}
    for key, by_seq in segs.items():
        seqs = sorted(by_seq)
        data = bytearray()
        nxt = seqs[0]
        for s in seqs:
            p = by_seq[s]
            if s + len(p) <= nxt:
                continue
            data += p[nxt - s :]
            nxt = s + len(p)
        out[key] = bytes(data)
    return out


def wait_for(cond_cmd: list[str], needle: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if needle in sh(*cond_cmd, check=False):
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {needle!r} from {cond_cmd}")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix=f"bgprr-cap-{PID}-"))
    procs: list[subprocess.Popen[bytes]] = []
    made: list[str] = []
    try:
        for ns in (NS_A, NS_B):
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        va, vb = f"vA{PID}"[:15], f"vB{PID}"[:15]
        sh("ip", "link", "add", va, "netns", NS_A, "type", "veth", "peer", vb, "netns", NS_B)
        sh("ip", "-n", NS_A, "addr", "add", f"{IP_A}/24", "dev", va)
        sh("ip", "-n", NS_B, "addr", "add", f"{IP_B}/24", "dev", vb)
        sh("ip", "-n", NS_A, "link", "set", va, "up")
        sh("ip", "-n", NS_B, "link", "set", vb, "up")
        (work / "bird.conf").write_text(BIRD_CONF)
        (work / "gobgpd.toml").write_text(GOBGP_CONF)
        pcap = work / "bgp.pcap"
        nsx = ["ip", "netns", "exec"]
        procs.append(
            subprocess.Popen(
                [
                    *nsx,
                    NS_B,
                    "tcpdump",
                    "-i",
                    vb,
                    "-U",
                    "-s",
                    "0",
                    "-w",
                    str(pcap),
                    "tcp",
                    "port",
                    "179",
                ],
                stderr=subprocess.DEVNULL,
            )
        )
        time.sleep(1.0)
        procs.append(
            subprocess.Popen(
                [
                    *nsx,
                    NS_B,
                    "gobgpd",
                    "-f",
                    str(work / "gobgpd.toml"),
                    "--api-hosts",
                    "127.0.0.1:50051",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        time.sleep(1.0)
        sock = str(work / "bird.ctl")
        procs.append(
            subprocess.Popen(
                [*nsx, NS_A, "bird", "-f", "-c", str(work / "bird.conf"), "-s", sock],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        gobgp = [*nsx, NS_B, "gobgp", "-u", "127.0.0.1", "-p", "50051"]
        wait_for([*gobgp, "neighbor"], "Establ", 30)
        time.sleep(2.0)
        sh(*gobgp, "global", "rib", "add", "-a", "ipv4", "10.99.0.0/24", "community", "64512:200")
        time.sleep(3.0)
        sh(
            *nsx,
            NS_A,
            "birdc",
            "-s",
            sock,
            "disable",
            "Mesh_10_77_0_2",
            '"maintenance by bgprr capture"',
        )
        time.sleep(2.0)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for ns in made:
            sh("ip", "netns", "del", ns, check=False)
    streams = tcp_streams((work / "bgp.pcap").read_bytes())
    names = {IP_A: "bird", IP_B: "gobgp"}
    for (src, _dst), data in sorted(streams.items()):
        who = names[src.split(":")[0]]
        f = Framer()
        f.feed(data)
        counts: dict[int, int] = {}
        for msg in f:
            mtype = msg[18]
            counts[mtype] = counts.get(mtype, 0) + 1
            label = {1: "open", 2: "update", 3: "notification", 4: "keepalive", 5: "refresh"}[mtype]
            name = f"real_{who}_{label}{'' if counts[mtype] == 1 else counts[mtype]}.hex"
            (HERE / name).write_text(msg.hex() + "\n")
            print(name, len(msg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
