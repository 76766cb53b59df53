"""[zebra.config] as the switch for kernel routes, bgprr's kernel-* keys, and
[global.use-multiple-paths.config] (docs/kernel.md)."""

from __future__ import annotations

import pytest

from bgprr.config import Config, ConfigError, KernelConfig, load_config_text, render_effective

BASE = """
[global.config]
as = 64512
router-id = "192.0.2.1"
{extra}
"""


def load(extra: str = "") -> Config:
    return load_config_text(BASE.format(extra=extra), "toml", "rr.toml")


def test_off_by_default() -> None:
    c = load()
    assert c.kernel == KernelConfig()
    assert not c.kernel.enabled and (c.kernel.table, c.kernel.protocol, c.kernel.metric) == (
        254,
        186,
        20,
    )
    assert "[zebra.config]" not in render_effective(c)


def test_gobgp_zebra_section_enables_and_connection_keys_are_accepted() -> None:
    c = load(
        """
[zebra.config]
enabled = true
url = "unix:/var/run/frr/zserv.api"
version = 6
software-name = "frr8"
mpls-label-range-size = 0
redistribute-route-type-list = []
nexthop-trigger-enable = false
nexthop-trigger-delay = 5
"""
    )
    assert c.kernel == KernelConfig(enabled=True)


def test_bgprr_keys_and_multipath_round_trip() -> None:
    c = load(
        """
[global.use-multiple-paths.config]
enabled = true
[zebra.config]
enabled = true
kernel-table = 100
kernel-protocol = 200
kernel-metric = 5
"""
    )
    assert c.kernel == KernelConfig(enabled=True, table=100, protocol=200, metric=5, multipath=True)
    text = render_effective(c)
    assert "kernel-table = 100  # bgprr only" in text
    again = load_config_text(text, "toml", "effective.toml")
    assert again.kernel == c.kernel


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("[zebra.config]\nredistribute-route-type-list = [\"connect\"]",
         "zebra.config.redistribute-route-type-list", "redistributing routes into BGP"),
        ("[zebra.config]\nnexthop-trigger-enable = true",
         "zebra.config.nexthop-trigger-enable", "not supported by bgprr"),
        ("[zebra.config]\nkernel-table = 255", "zebra.config.kernel-table", "local"),
        ("[zebra.config]\nkernel-table = 0", "zebra.config.kernel-table", "out of range"),
        ("[zebra.config]\nkernel-protocol = 3", "zebra.config.kernel-protocol", "reserved"),
        ("[zebra.config]\nkernel-protocol = 256", "zebra.config.kernel-protocol", "out of range"),
        ("[global.use-multiple-paths.ebgp.config]\nmaximum-paths = 4",
         "global.use-multiple-paths.ebgp", "not supported by bgprr"),
    ],
)  # fmt: skip
def test_refused_by_name(extra: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(extra)
    text = str(info.value)
    assert key in text and words in text
