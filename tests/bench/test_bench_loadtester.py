"""The load tester's hand-built messages, its cheap UPDATE parsing, and one loopback run
against a toy in-process reflector (echoes each UPDATE to every other session)."""

from __future__ import annotations

import asyncio
import random
import struct
import time

from bench import runner, scenarios
from bench.loadtester import (
    KEEPALIVE,
    MAX_MSG,
    PREFIX_RE,
    Tester,
    build_attrs,
    build_open,
    decode_prefix,
    encode_prefix,
    pack_announce,
    pack_withdraw,
    prefix_bytes,
    split_update,
)
from tests.support.bench_tester import NullTester


def test_prefix_encoding_round_trip_every_length() -> None:
    rng = random.Random(7)
    for plen in range(33):
        addr = rng.getrandbits(32)
        enc = prefix_bytes(addr, plen)
        assert len(enc) == 1 + (plen + 7) // 8
        text = decode_prefix(enc)
        assert encode_prefix(text) == enc
        assert PREFIX_RE.findall(enc) == [enc]


def test_open_message_layout() -> None:
    msg = build_open(4200000001, "127.0.1.7", 90)
    assert msg[:16] == b"\xff" * 16
    length, mtype = struct.unpack("!HB", msg[16:19])
    assert (length, mtype) == (len(msg), 1)
    version, my_as, hold = struct.unpack("!BHH", msg[19:24])
    assert (version, my_as, hold) == (4, 23456, 90)  # AS_TRANS for a 4-octet AS
    assert msg[24:28] == bytes([127, 0, 1, 7])
    assert b"\x41\x04" + (4200000001).to_bytes(4, "big") in msg
    assert KEEPALIVE == b"\xff" * 16 + b"\x00\x13\x04"


def test_pack_announce_fills_messages_and_split_update_recovers_nlri() -> None:
    rng = random.Random(3)
    nlri = sorted({prefix_bytes(rng.getrandbits(32), rng.choice((8, 16, 19, 24, 26, 32)))
                   for _ in range(3000)})  # fmt: skip
    attrs = build_attrs(next_hop="198.18.0.9", as_path=[65001, 4200000000], communities=[1, 2])
    msgs = pack_announce(attrs, nlri)
    assert len(msgs) > 1
    got: list[bytes] = []
    for m in msgs:
        assert len(m) <= MAX_MSG
        assert int.from_bytes(m[16:18], "big") == len(m)
        withdrawn, announced = split_update(m, 19, len(m))
        assert withdrawn == []
        got += announced
    assert got == nlri
    back: list[bytes] = []
    for m in pack_withdraw(nlri):
        withdrawn, announced = split_update(m, 19, len(m))
        assert announced == []
        back += withdrawn
    assert back == nlri


def test_inet_mix_is_distinct_and_internet_like() -> None:
    msgs, n = scenarios.inet_updates(4000, 300, seed=5)
    seen: list[bytes] = []
    for m in msgs:
        seen += split_update(m, 19, len(m))[1]
    assert len(seen) == n == len(set(seen)) == 4000
    share24 = sum(1 for p in seen if p[0] == 24) / n
    assert 0.5 < share24 < 0.7


def test_markdown_table_ratios_and_failures() -> None:
    results = [
        {"reflector": "bgprr", "scenario": "latency", "metrics": {"latency_p50_ms": 2.0}},
        {"reflector": "gobgp", "scenario": "latency", "metrics": {"latency_p50_ms": 5.0}},
        {"reflector": "bird1", "scenario": "latency", "metrics": {"failed": "timeout after 9 s"}},
    ]
    md = runner.table(results, ["bgprr", "gobgp", "bird1"], ["latency"])
    row = next(line for line in md.splitlines() if "p50" in line)
    assert "| 2 |" in row and "5 (2.50x)" in row and "FAIL: timeout after 9 s" in row


class ToyReflector:
    """Accepts sessions, answers OPEN with OPEN+KEEPALIVE and forwards every UPDATE
    unchanged to every other Established session (enough to exercise the tester)."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(19)
                body = await reader.readexactly(int.from_bytes(head[16:18], "big") - 19)
                if head[18] == 1:
                    writer.write(build_open(64512, "127.0.0.1", 90) + KEEPALIVE)
                    self.writers.append(writer)
                elif head[18] == 2:
                    for w in self.writers:
                        if w is not writer:
                            w.write(head + body)
                elif head[18] == 3:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        if writer in self.writers:
            self.writers.remove(writer)
        writer.close()


def test_tester_against_toy_reflector_on_loopback() -> None:
    async def main() -> None:
        toy = ToyReflector()
        server = await asyncio.start_server(toy.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        t = Tester("127.0.0.1", port)
        peers = t.add_peers(["127.0.0.1"] * 4)
        deadline = time.monotonic() + 10
        el, failed = await t.connect_all(peers, deadline, concurrency=2)
        assert failed == 0 and el < 10
        prefixes = scenarios.calico_prefixes(2000)
        peers[0].send(pack_announce(build_attrs(next_hop="198.18.0.1"), prefixes))
        times, missed = await t.wait_goal(peers[1:], scenarios.count_goal(2000), deadline)
        assert missed == 0 and len(times) == 3
        assert all(p.seen == set(prefixes) for p in peers[1:])
        peers[0].send(pack_withdraw(prefixes[:100]))
        _, missed = await t.wait_goal(peers[1:], scenarios.count_goal_at_most(1900), deadline)
        assert missed == 0 and all(len(p.seen) == 1900 for p in peers[1:])
        # a goal that never holds times out instead of hanging
        _, missed = await t.wait_goal(
            peers[1:2], scenarios.count_goal(9999), time.monotonic() + 0.2
        )
        assert missed == 1
        await t.shutdown()
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def test_receiver_any_chunking_and_marker_patterns_inside_messages() -> None:
    from typing import Any, cast

    from bench.loadtester import Peer

    rng = random.Random(11)
    pool = [prefix_bytes(rng.getrandbits(32), rng.choice((8, 24, 26, 32))) for _ in range(400)]
    pool = sorted(set(pool))
    # communities 0xffffffff x 4 put 16 octets of 0xff (a marker pattern) inside messages
    weird = build_attrs(next_hop="198.18.0.1", communities=[0xFFFFFFFF] * 4)
    plain = build_attrs(next_hop="198.18.0.2")
    stream: list[bytes] = []
    expect: set[bytes] = set()
    for _ in range(300):
        k = rng.randint(1, 5)
        chosen = rng.sample(pool, k)
        r = rng.random()
        if r < 0.2:
            stream += pack_withdraw(chosen)
            expect.difference_update(chosen)
        elif r < 0.3:
            stream.append(KEEPALIVE)
        else:
            stream += pack_announce(weird if r < 0.5 else plain, chosen)
            expect.update(chosen)
    data = b"".join(stream)
    for trial in range(20):
        nt = NullTester()
        peer = Peer(cast(Any, nt), 0, "127.0.0.1")
        peer.goal = lambda p: False
        i = 0
        while i < len(data):
            step = rng.choice((1, 2, 7, 19, 100, 4096, 70000)) if trial else len(data)
            peer.data_received(data[i : i + step])
            i += step
        assert peer.seen == expect
        assert peer.pending == b""
        assert peer.updates == sum(1 for m in stream if m[18] == 2)
        nt.loop.close()


def test_report_section_lists_machine_command_and_failures() -> None:
    doc = {
        "started": "20260101T000000Z",
        "machine": {"nproc": 2, "cpu": "X", "ram_mb": 2048, "kernel": "6", "python": "3.11",
                    "loadavg": [0.5, 0.4, 0.3]},
        "versions": {"bgprr": "0.1.0", "gobgp": "3.10"},
        "command": "python -m bench --rr bgprr,gobgp",
        "table": "| t |",
        "results": [{"reflector": "gobgp", "scenario": "nodes-200",
                     "metrics": {"failed": "converge: 3 peers did not reach the goal in time"}}],
    }  # fmt: skip
    text = runner.report(doc)
    assert "2 CPUs (X)" in text and "python -m bench --rr bgprr,gobgp" in text
    assert "gobgp / nodes-200: converge: 3 peers" in text and "| t |" in text
