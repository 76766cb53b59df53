"""The benchmark's import policy (bench/policyset.py) and the probe that checks what a
reflector did with it (bench/probe.py)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from bench import policyset, probe, reflectors, runner, scenarios
from bench.loadtester import build_attrs, pack_announce, pack_withdraw, prefix_bytes
from bgprr.config.loader import load_config_text
from bgprr.policy.compile import compile_policies

TAG = 64512 << 16 | 100


def test_the_set_has_ten_thousand_distinct_entries() -> None:
    e = policyset.entries()
    assert len(e) == policyset.ENTRIES == 10_000
    assert len(set(e)) == 10_000
    assert sum(1 for _, lo, hi in e if lo == hi == 26) == 5_000


def test_bgprr_reads_the_policy_toml() -> None:
    text = reflectors.gobgp_toml("127.0.0.2", 1790, 3, policy=True)
    cfg = load_config_text(text, "toml", "rr.toml")
    point = compile_policies(cfg).global_import
    assert point is not None and not point.cacheable  # it reads the prefix
    assert "bench-import" in text and text.count("ip-prefix = ") == 10_000


def test_bird_configs_parse(tmp_path: Path) -> None:
    for name, conf in (
        ("bird1", reflectors.bird1_conf("127.0.0.2", 1790, 3, policy=True)),
        ("bird2", reflectors.bird2_conf("127.0.0.2", 1790, 3, policy=True)),
    ):
        if not reflectors.available(name):
            continue
        path = tmp_path / f"{name}.conf"
        path.write_text(conf)
        exe = reflectors.BIRD1 if name == "bird1" else reflectors.BIRD2
        env = reflectors.bird2_env() if name == "bird2" else None
        out = subprocess.run([exe, "-p", "-c", str(path)], capture_output=True, env=env)
        assert out.returncode == 0, out.stderr


def test_names() -> None:
    assert reflectors.split_name("bird2-policy") == ("bird2", True)
    assert reflectors.split_name("bgprr-stdlib") == ("bgprr-stdlib", False)
    assert reflectors.known("gobgp-policy") and not reflectors.known("frr-policy")


def test_tagged_prefixes_follows_announcements_and_withdrawals() -> None:
    a, b, c = (prefix_bytes(0x0A000000 + i * 64, 26) for i in range(3))
    tagged = build_attrs(next_hop="198.18.0.1", communities=[1, TAG])
    plain = build_attrs(next_hop="198.18.0.1", communities=[7])
    stream = b"".join(
        [
            *pack_announce(tagged, [a, b, c]),
            *pack_announce(plain, [b]),  # b loses the tag
            *pack_withdraw([c]),  # c goes
        ]
    )
    assert probe.tagged_prefixes(stream, TAG) == {a}


def test_expected_tags_matches_the_set() -> None:
    calico = scenarios.calico_prefixes(2000)
    assert probe.expected_tags(calico) == 750  # every other of the 1,500 /26 blocks
    inet = scenarios.inet_prefixes(20_000, random.Random(1))
    got = probe.expected_tags(inet)
    assert 0 < got < len(inet)
    ranges = {net: (lo, hi) for net, lo, hi in policyset.entries() if lo != hi}
    sample = [p for p in inet if p[0] >= 16][:2000]
    manual = 0
    for p in sample:
        v = p[1:].ljust(4, b"\0")
        key = f"{v[0]}.{v[1]}.0.0"
        if key in ranges and ranges[key][0] <= p[0] <= ranges[key][1]:
            manual += 1
    assert probe.expected_tags(sample) == manual


def test_a_run_that_ignores_the_policy_fails() -> None:
    m: dict[str, object] = {"policy_tagged": 0, "policy_matches": 750}
    runner._check_policy("bgprr-policy", m)
    assert m["failed"] == "import policy: 0 prefixes tagged, expected 750"
    m = {"policy_tagged": 0, "policy_matches": 750}
    runner._check_policy("bgprr", m)
    assert "failed" not in m
    m = {"policy_tagged": 750, "policy_matches": 750}
    runner._check_policy("bird2-policy", m)
    assert "failed" not in m
