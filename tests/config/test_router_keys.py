"""The keys docs/configuration.md lists as "accepted since the router role" load."""

from __future__ import annotations

from bgprr.config import load_config_text

TEXT = """
[global.config]
  as = 64600
  router-id = "10.0.0.1"
[global.apply-policy.config]
  import-policy-list = ["p"]
  default-import-policy = "accept-route"
[global.use-multiple-paths.config]
  enabled = true
[zebra.config]
  enabled = true
  version = 6
  url = "unix:/var/run/frr/zserv.api"
  software-name = "frr8.4"
  mpls-label-range-size = 0
  nexthop-trigger-enable = false
  nexthop-trigger-delay = 5
  redistribute-route-type-list = []
[[defined-sets.prefix-sets]]
  prefix-set-name = "pods"
  [[defined-sets.prefix-sets.prefix-list]]
    ip-prefix = "192.168.0.0/16"
    masklength-range = "16..26"
[[policy-definitions]]
  name = "p"
  [[policy-definitions.statements]]
    [policy-definitions.statements.conditions.match-prefix-set]
      prefix-set = "pods"
    [policy-definitions.statements.actions]
      route-disposition = "accept-route"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.2"
    peer-as = 64511
    remove-private-as = "replace"
  [neighbors.as-path-options.config]
    allow-own-as = 1
    replace-peer-as = true
  [neighbors.route-server.config]
    route-server-client = true
  [neighbors.apply-policy.config]
    export-policy-list = ["p"]
    default-export-policy = "reject-route"
[[peer-groups]]
  [peer-groups.config]
    peer-group-name = "coe"
    peer-as = 64512
    remove-private-as = "all"
  [peer-groups.apply-policy.config]
    import-policy-list = ["p"]
"""


def test_router_role_keys_load() -> None:
    cfg = load_config_text(TEXT, "toml", "rr.toml")
    (n,) = cfg.neighbors
    assert n.apply_policy is not None
    assert cfg.peer_groups[0].apply_policy is not None
