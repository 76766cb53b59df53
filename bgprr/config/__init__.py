"""GoBGP-compatible configuration: load, check, fill in defaults, resolve peer groups.

    from bgprr.config import load_config
    config = load_config("rr.toml")          # or fmt="json" / fmt="yaml"

Every problem is a `ConfigError` with a one-line message naming file and key.
docs/configuration.md lists every key, its type, default and meaning.
"""

from bgprr.config.dynamic import (
    config_diff,
    dynamic_member,
    dynamic_range_for,
    neighbor_for_dynamic,
)
from bgprr.config.errors import ConfigError
from bgprr.config.loader import load_config, load_config_text
from bgprr.config.model import (
    AfiSafi,
    Config,
    DynamicNeighbor,
    GlobalConfig,
    GracefulRestartConfig,
    KernelConfig,
    Neighbor,
    PeerGroup,
    PrefixLimit,
)
from bgprr.config.render import check_main, render_effective

__all__ = [
    "AfiSafi",
    "Config",
    "ConfigError",
    "DynamicNeighbor",
    "GlobalConfig",
    "GracefulRestartConfig",
    "KernelConfig",
    "Neighbor",
    "PeerGroup",
    "PrefixLimit",
    "check_main",
    "config_diff",
    "dynamic_member",
    "dynamic_range_for",
    "load_config",
    "load_config_text",
    "neighbor_for_dynamic",
    "render_effective",
]
