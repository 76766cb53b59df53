"""Loading good configurations: the seed file, GoBGP's documentation examples, every
default, peer-group inheritance, dynamic neighbors, JSON and YAML, render round trip."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path

import pytest

from bgprr.config import (
    AfiSafi,
    Config,
    ConfigError,
    GracefulRestartConfig,
    Neighbor,
    check_main,
    config_diff,
    dynamic_range_for,
    load_config,
    load_config_text,
    neighbor_for_dynamic,
    render_effective,
)
from tests.config.gobgpd_check import gobgpd_dry_run, needs_gobgpd

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GLOBAL = """
[global.config]
  as = 64511
  router-id = "172.16.18.32"
"""


def load(text: str, fmt: str = "toml") -> Config:
    return load_config_text(text, fmt, "rr.toml")


def load_neighbor(tables: str = "", peer_as: int = 64511) -> Config:
    """GLOBAL and one neighbor, 10.0.0.1 in AS `peer_as`; `tables` (TOML) follows its
    [neighbors.config] keys."""
    return load(
        GLOBAL + '[[neighbors]]\n[neighbors.config]\nneighbor-address = "10.0.0.1"\n'
        f"peer-as = {peer_as}\n" + tables
    )


# --------------------------------------------------------------------------------------
# The seed file and the examples


def test_seed_rr_toml() -> None:
    config = load_config(str(EXAMPLES / "rr.toml"))
    assert config.global_.asn == 64511
    assert config.global_.router_id == "172.16.18.32"
    assert config.global_.port == 179
    assert config.global_.local_address_list == ("0.0.0.0",)
    addresses = [n.address for n in config.neighbors]
    assert addresses == [f"172.16.18.{i}" for i in (33, 34, 35, 36, 43, 44, 45)]
    for n in config.neighbors:
        assert n.peer_as == n.local_as == 64511
        assert n.is_ibgp
        assert n.rr_client is True
        assert n.cluster_id == "172.16.18.32"
        assert n.passive is True  # the example never dials out (see its header)
        assert n.enabled_families == ((1, 1),)
    assert config.peer_groups == ()
    assert config.dynamic_neighbors == ()


def test_gobgp_doc_route_reflector() -> None:
    config = load_config(str(EXAMPLES / "gobgp-doc-route-reflector.toml"))
    clients = {n.address: n.rr_client for n in config.neighbors}
    assert clients == {
        "192.168.10.2": True,
        "192.168.10.3": True,
        "192.168.10.4": False,
        "192.168.10.5": False,
    }
    assert config.neighbors[0].cluster_id == "192.168.0.1"
    assert config.neighbors[2].cluster_id is None
    assert config.cluster_id_for(config.neighbors[2]) == "192.168.0.1"  # the router id


def test_gobgp_doc_dynamic_neighbors() -> None:
    config = load_config(str(EXAMPLES / "gobgp-doc-dynamic-neighbors.toml"))
    assert config.neighbors == ()
    member = neighbor_for_dynamic(config, "172.40.1.3")
    assert member is not None
    assert member.address == "172.40.1.3"
    assert member.peer_as == 65002
    assert member.local_as == 65001
    assert member.passive is True
    assert member.dynamic is True
    assert member.peer_group == "sample-group"
    assert member.enabled_families == ((1, 1),)
    assert neighbor_for_dynamic(config, "172.41.0.1") is None
    assert neighbor_for_dynamic(config, "2001:db8::1") is None
    assert neighbor_for_dynamic(config, "not an address") is None


def test_gobgp_doc_graceful_restart() -> None:
    config = load_config(str(EXAMPLES / "gobgp-doc-graceful-restart.toml"))
    (n,) = config.neighbors
    assert n.graceful_restart == GracefulRestartConfig(
        enabled=True,
        restart_time=120,
        helper_only=False,
        deferral_time=360,
        notification_enabled=False,
        long_lived_enabled=False,
    )
    (fam,) = n.families
    assert fam.name == "ipv4-unicast" and fam.mp_graceful_restart is True
    assert not n.is_ibgp


def test_calico_dual_stack_example() -> None:
    config = load_config(str(EXAMPLES / "calico-ipv4-ipv6.toml"))
    v4 = neighbor_for_dynamic(config, "10.0.3.7")
    v6 = neighbor_for_dynamic(config, "fd00:10::7")
    assert v4 is not None and v6 is not None
    assert v4.peer_group == "calico-nodes-v4" and v4.enabled_families == ((1, 1),)
    assert v6.peer_group == "calico-nodes-v6" and v6.enabled_families == ((2, 1),)
    assert v6.local_address == "::" and v4.local_address == "0.0.0.0"
    assert v4.rr_client and v6.rr_client
    assert v4.graceful_restart.enabled and v4.graceful_restart.restart_time == 120
    entry = dynamic_range_for(config, "10.0.200.9")
    assert entry is not None and entry.prefix == "10.0.200.0/24"  # longest prefix wins
    assert (
        "    # a member resolves to: peer-as 64512; hold-time 90; keepalive-interval 30; "
        "route-reflector-client true; cluster-id 10.0.0.10; graceful-restart true "
        "(restart-time 120); families ipv6-unicast\n"
    ) in render_effective(config)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_examples_render_and_check(path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(path), out=out, err=err) == 0
    assert err.getvalue() == ""
    assert out.getvalue() == render_effective(load_config(str(path)))


# --------------------------------------------------------------------------------------
# Defaults


def test_every_default() -> None:
    config = load_neighbor()
    assert config.global_.port == 179
    assert config.global_.local_address_list == ("0.0.0.0", "::")
    assert config.source == "rr.toml"
    (n,) = config.neighbors
    assert n == Neighbor(
        address="10.0.0.1",
        peer_as=64511,
        local_as=64511,
        auth_password=None,
        description="",
        admin_down=False,
        peer_group=None,
        hold_time=90,
        keepalive_interval=30.0,
        connect_retry=120.0,
        idle_hold_time_after_reset=30.0,
        passive=False,
        local_address="0.0.0.0",
        remote_port=179,
        ttl=None,
        multihop_ttl=None,
        ttl_security_min=None,
        rr_client=False,
        cluster_id=None,
        families=(
            AfiSafi(
                name="ipv4-unicast",
                afi=1,
                safi=1,
                enabled=True,
                mp_graceful_restart=False,
                llgr_enabled=False,
                llgr_restart_time=0,
                add_paths_receive=False,
                add_paths_send_max=0,
                prefix_limit=None,
            ),
        ),
        graceful_restart=GracefulRestartConfig(
            enabled=False,
            restart_time=90,
            helper_only=False,
            deferral_time=360,
            notification_enabled=False,
            long_lived_enabled=False,
        ),
        dynamic=False,
    )
    assert n.afi == 1


def test_ipv6_neighbor_defaults_to_ipv6_family_and_any_address() -> None:
    config = load(
        GLOBAL + '[[neighbors]]\n[neighbors.config]\nneighbor-address = "2001:DB8::0:1"\n'
        "peer-as = 65000\n"
    )
    (n,) = config.neighbors
    assert n.address == "2001:db8::1"  # canonical spelling
    assert n.enabled_families == ((2, 1),)
    assert n.local_address == "::"
    assert n.afi == 2
    assert config.neighbor("2001:db8:0::1") is n


def test_derived_defaults() -> None:
    config = load_neighbor(
        peer_as=65000,
        tables="""
  [neighbors.timers.config]
    hold-time = 10
  [neighbors.ebgp-multihop.config]
    enabled = true
  [neighbors.graceful-restart.config]
    enabled = true
  [neighbors.add-paths.config]
    receive = true
    send-max = 4
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
      enabled = false
    [neighbors.afi-safis.add-paths.config]
      send-max = 2
    [neighbors.afi-safis.prefix-limit.config]
      max-prefixes = 1000
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.2"
    peer-as = 65000
  [neighbors.ttl-security.config]
    enabled = true
  [neighbors.route-reflector.config]
    route-reflector-cluster-id = "5"
""",
    )
    a, b = config.neighbors
    assert a.keepalive_interval == pytest.approx(10 / 3)  # hold-time / 3, as GoBGP
    assert a.multihop_ttl == 255
    assert a.graceful_restart.restart_time == 10  # = hold-time
    v4, v6 = a.families
    assert (v4.add_paths_receive, v4.add_paths_send_max) == (True, 4)  # neighbor level
    assert (v6.add_paths_receive, v6.add_paths_send_max) == (True, 2)  # own value wins
    assert v6.enabled is False and a.enabled_families == ((1, 1),)
    assert v6.prefix_limit is not None and v6.prefix_limit.max_prefixes == 1000
    assert v6.prefix_limit.shutdown_threshold_pct == 0
    assert a.family(2, 1) is v6 and a.family(1, 2) is None
    assert b.ttl_security_min == 255 and b.multihop_ttl is None
    assert b.cluster_id == "0.0.0.5"  # a 32-bit integer, as GoBGP accepts


def test_hold_time_zero_means_no_keepalives() -> None:
    config = load_neighbor("[neighbors.timers.config]\nhold-time = 0\n")
    assert config.neighbors[0].hold_time == 0
    assert config.neighbors[0].keepalive_interval == 0.0


def test_listen_port_minus_one_and_zero() -> None:
    off = load('[global.config]\nas = 1\nrouter-id = "1.1.1.1"\nport = -1\n')
    assert off.global_.port == -1
    zero = load('[global.config]\nas = 1\nrouter-id = "1.1.1.1"\nport = 0\n')
    assert zero.global_.port == 179  # GoBGP: 0 is the default


def test_keys_are_case_insensitive_like_gobgp() -> None:
    config = load(
        '[Global.Config]\nAS = 1\nRouter-ID = "1.1.1.1"\n'
        '[[Neighbors]]\n[Neighbors.Config]\nNeighbor-Address = "10.0.0.1"\n'
        "Peer-AS = 1\n"
    )
    assert config.global_.asn == 1 and config.neighbors[0].peer_as == 1


def test_accepted_no_op_keys() -> None:
    config = load_neighbor(
        """
  [neighbors.error-handling.config]
    treat-as-withdraw = true
  [neighbors.logging-options.config]
    log-neighbor-state-changes = true
  [neighbors.timers.config]
    minimum-advertisement-interval = 0
"""
    )
    assert config.neighbors[0].hold_time == 90


def test_empty_auth_password_means_none() -> None:
    config = load_neighbor('auth-password = ""\n')
    assert config.neighbors[0].auth_password is None


# --------------------------------------------------------------------------------------
# Peer groups


GROUPED = (
    GLOBAL
    + """
[[peer-groups]]
  [peer-groups.config]
    peer-group-name = "clients"
    peer-as = 64511
    auth-password = "s3cret"
    description = "from the group"
  [peer-groups.timers.config]
    hold-time = 30
    connect-retry = 5
  [peer-groups.transport.config]
    passive-mode = true
  [peer-groups.route-reflector.config]
    route-reflector-client = true
  [peer-groups.graceful-restart.config]
    enabled = true
    restart-time = 100
  [[peer-groups.afi-safis]]
    [peer-groups.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [peer-groups.afi-safis.mp-graceful-restart.config]
      enabled = true
  [[peer-groups.afi-safis]]
    [peer-groups.afi-safis.config]
      afi-safi-name = "ipv6-unicast"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "172.16.18.33"
    peer-group = "clients"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "172.16.18.34"
    peer-group = "clients"
    peer-as = 64511
    description = "own"
  [neighbors.timers.config]
    hold-time = 99
  [neighbors.transport.config]
    passive-mode = false
  [neighbors.graceful-restart.config]
    restart-time = 50
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"""
)


def test_peer_group_inheritance() -> None:
    config = load(GROUPED)
    plain, own = config.neighbors
    # Everything from the group.
    assert plain.peer_group == "clients"
    assert plain.peer_as == 64511
    assert plain.auth_password == "s3cret"
    assert plain.description == "from the group"
    assert (plain.hold_time, plain.keepalive_interval, plain.connect_retry) == (30, 10.0, 5.0)
    assert plain.passive is True
    assert plain.rr_client is True
    assert plain.graceful_restart.enabled and plain.graceful_restart.restart_time == 100
    assert [f.name for f in plain.families] == ["ipv4-unicast", "ipv6-unicast"]
    assert plain.families[0].mp_graceful_restart is True
    # Keys written on the neighbor win, even a false; the rest still comes from the group.
    assert own.description == "own"
    assert own.hold_time == 99 and own.keepalive_interval == 33.0 and own.connect_retry == 5.0
    assert own.passive is False
    assert own.graceful_restart.enabled is True  # group
    assert own.graceful_restart.restart_time == 50  # neighbor
    assert [f.name for f in own.families] == ["ipv4-unicast"]  # list taken whole
    assert own.families[0].mp_graceful_restart is False
    (group,) = config.peer_groups
    assert group.name == "clients"
    assert group.get("timers.config.hold-time") == 30
    assert group.get("config.local-as") is None
    assert len(group.afi_safis) == 2


def test_render_round_trip() -> None:
    for text in (GROUPED, (EXAMPLES / "calico-ipv4-ipv6.toml").read_text()):
        config = load(text)
        rendered = render_effective(config, show_secrets=True)
        tomllib.loads(rendered)  # valid TOML
        again = load(rendered)
        assert again.neighbors == config.neighbors
        assert again.global_ == config.global_
        assert again.dynamic_neighbors == config.dynamic_neighbors
        assert render_effective(again, show_secrets=True) == rendered


def test_render_masks_passwords() -> None:
    rendered = render_effective(load(GROUPED))
    assert "s3cret" not in rendered
    assert 'auth-password = "********"' in rendered
    assert '# route-reflector-cluster-id = "172.16.18.32"  (default: global router-id)' in (
        rendered
    )


# --------------------------------------------------------------------------------------
# Dynamic neighbors


DYNAMIC = (
    GLOBAL
    + """
[[peer-groups]]
  [peer-groups.config]
    peer-group-name = "wide"
    peer-as = 64511
[[peer-groups]]
  [peer-groups.config]
    peer-group-name = "narrow"
    peer-as = 64511
  [peer-groups.route-reflector.config]
    route-reflector-client = true
  [peer-groups.transport.config]
    passive-mode = true
[[peer-groups]]
  [peer-groups.config]
    peer-group-name = "v6"
    peer-as = 64511
[[dynamic-neighbors]]
  [dynamic-neighbors.config]
    prefix = "10.0.0.0/8"
    peer-group = "wide"
[[dynamic-neighbors]]
  [dynamic-neighbors.config]
    prefix = "10.1.0.0/16"
    peer-group = "narrow"
[[dynamic-neighbors]]
  [dynamic-neighbors.config]
    prefix = "2001:db8::/32"
    peer-group = "v6"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.1.2.3"
    peer-as = 64511
    description = "static"
"""
)


def test_dynamic_longest_prefix_wins() -> None:
    config = load(DYNAMIC)
    wide = neighbor_for_dynamic(config, "10.2.0.1")
    narrow = neighbor_for_dynamic(config, "10.1.9.9")
    v6 = neighbor_for_dynamic(config, "2001:db8:0::9")
    assert wide is not None and narrow is not None and v6 is not None
    assert (wide.peer_group, wide.rr_client, wide.passive) == ("wide", False, True)
    assert (narrow.peer_group, narrow.rr_client, narrow.passive) == ("narrow", True, True)
    assert v6.address == "2001:db8::9" and v6.enabled_families == ((2, 1),)
    assert wide.dynamic and narrow.dynamic and v6.dynamic
    # A configured neighbor inside a range is itself.
    static = neighbor_for_dynamic(config, "10.1.2.3")
    assert static is config.neighbors[0] and static.description == "static"
    assert neighbor_for_dynamic(config, "11.0.0.1") is None
    # What a dual-stack listening socket reports for an IPv4 peer.
    mapped = neighbor_for_dynamic(config, "::ffff:10.1.9.9")
    assert mapped is not None and mapped.address == "10.1.9.9" and mapped.peer_group == "narrow"
    assert neighbor_for_dynamic(config, "::ffff:10.1.2.3") is static


def test_dynamic_neighbor_order_does_not_matter() -> None:
    # The narrow range written first: still the longest prefix wins for its members.
    text = DYNAMIC.replace('"10.0.0.0/8"', '"TMP"').replace('"10.1.0.0/16"', '"10.0.0.0/8"')
    text = text.replace('"TMP"', '"10.1.0.0/16"')
    text = text.replace('peer-group = "wide"', 'peer-group = "X"')
    text = text.replace('peer-group = "narrow"\n', 'peer-group = "wide"\n', 1)
    text = text.replace('peer-group = "X"', 'peer-group = "narrow"')
    config = load(text)
    assert config.dynamic_neighbors[0].prefix == "10.1.0.0/16"
    member = neighbor_for_dynamic(config, "10.1.0.1")
    assert member is not None and member.peer_group == "narrow"
    other = neighbor_for_dynamic(config, "10.2.0.1")
    assert other is not None and other.peer_group == "wide"


# --------------------------------------------------------------------------------------
# JSON and YAML


def test_json_and_yaml_same_as_toml() -> None:
    config = load(GROUPED)
    data = tomllib.loads(GROUPED)
    from_json = load_config_text(json.dumps(data), "json", "rr.toml")
    assert from_json == config
    yaml = pytest.importorskip("yaml")
    from_yaml = load_config_text(yaml.safe_dump(data), "yaml", "rr.toml")
    assert from_yaml == config
    assert load_config_text(yaml.safe_dump(data), "yml", "rr.toml") == config


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "rr.json"
    path.write_text(json.dumps(tomllib.loads((EXAMPLES / "rr.toml").read_text())))
    config = load_config(str(path), "json")
    assert len(config.neighbors) == 7
    assert config.source == str(path)


def test_yaml_handwritten() -> None:
    pytest.importorskip("yaml")
    text = """
global:
  config:
    as: 64511
    router-id: 172.16.18.32
neighbors:
  - config:
      neighbor-address: 172.16.18.33
      peer-as: 64511
    route-reflector:
      config:
        route-reflector-client: true
"""
    config = load_config_text(text, "yaml", "rr.yaml")
    assert config.neighbors[0].rr_client is True
    assert config.global_.router_id == "172.16.18.32"


def test_empty_json_object_needs_global() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text("{}", "json", "rr.json")
    assert str(info.value) == "rr.json: global.config.as: required key is missing"


# --------------------------------------------------------------------------------------
# Reload diff


def test_config_diff() -> None:
    old = load(GROUPED)
    new_text = GROUPED.replace("hold-time = 30", "hold-time = 60").replace(
        'neighbor-address = "172.16.18.34"', 'neighbor-address = "172.16.18.35"'
    )
    new_text += '\n[[neighbors]]\n[neighbors.config]\nneighbor-address = "10.0.0.1"\npeer-as = 1\n'
    new = load(new_text)
    added, removed, changed = config_diff(old, new)
    assert added == ("10.0.0.1", "172.16.18.35")
    assert removed == ("172.16.18.34",)
    assert changed == ("172.16.18.33",)  # inherited hold-time changed
    assert config_diff(old, old) == ((), (), ())


# --------------------------------------------------------------------------------------
# gobgpd agrees (when installed): every example is a valid gobgpd 3.x configuration.


@needs_gobgpd
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_gobgpd_accepts_examples(path: Path) -> None:
    proc = gobgpd_dry_run(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fatal" not in proc.stdout + proc.stderr


@needs_gobgpd
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_gobgpd_accepts_rendered_examples(path: Path, tmp_path: Path) -> None:
    rendered = tmp_path / "effective.toml"
    rendered.write_text(render_effective(load_config(str(path)), show_secrets=True))
    proc = gobgpd_dry_run(rendered)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ebgp_route_server_example() -> None:
    """The eBGP and route-server keys (GoBGP's names) reach the neighbor and the engine."""
    from bgprr.io.settings import peer_settings
    from bgprr.reflect.aspath import PrivateAs

    config = load_config(str(EXAMPLES / "ebgp-route-server.toml"))
    by = {n.address: n for n in config.neighbors}
    up = by["10.0.1.2"]
    assert (up.remove_private_as, up.allow_own_as, up.replace_peer_as) == ("all", 1, False)
    assert by["10.0.1.6"].replace_peer_as is True
    assert [n.rs_client for n in config.neighbors] == [False, False, False, True, True]
    s = peer_settings(config, up)
    assert (s.ebgp, s.remove_private_as, s.allow_own_as, s.local_as) == (
        True,
        PrivateAs.ALL,
        1,
        65000,
    )
    assert peer_settings(config, by["10.0.2.11"]).rs_client is True
    # the effective configuration keeps them
    again = load(render_effective(config, show_secrets=True))
    assert again.neighbors == config.neighbors


def test_remove_private_as_replace_and_default() -> None:
    n = load_neighbor('remove-private-as = "replace"\n', peer_as=65001).neighbors[0]
    assert n.remove_private_as == "replace"
    n = load_neighbor(peer_as=65001).neighbors[0]
    assert (n.remove_private_as, n.allow_own_as, n.replace_peer_as, n.rs_client) == (
        "",
        0,
        False,
        False,
    )
