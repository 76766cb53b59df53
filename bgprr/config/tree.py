"""The configuration trees bgprr reads, in GoBGP 3.10's key names (see
`bgprr.config.schema` for what a node is).  MappingProxyType keeps them read-only."""

from __future__ import annotations

from collections.abc import Mapping

from bgprr.config.policy_schema import APPLY_POLICY, DEFINED_SETS, POLICY_DEFINITION
from bgprr.config.schema import REFUSED as _R
from bgprr.config.schema import STATE as _STATE
from bgprr.config.schema import ArrayOf, Kind, Leaf, Node
from bgprr.config.schema import ro as _ro

__all__ = ["DYNAMIC_NEIGHBOR", "GLOBAL", "NEIGHBOR", "PEER_GROUP", "ROOT"]

_AFI_SAFI: Mapping[str, Node] = _ro(
    {
        "config": _ro({"afi-safi-name": Leaf(Kind.FAMILY), "enabled": Leaf(Kind.BOOL)}),
        "state": _STATE,
        "mp-graceful-restart": _ro({"config": _ro({"enabled": Leaf(Kind.BOOL)}), "state": _STATE}),
        "long-lived-graceful-restart": _ro(
            {
                "config": _ro({"enabled": Leaf(Kind.BOOL), "restart-time": Leaf(Kind.LLGR_TIME)}),
                "state": _STATE,
            }
        ),
        "add-paths": _ro(
            {
                "config": _ro({"receive": Leaf(Kind.BOOL), "send-max": Leaf(Kind.UINT8)}),
                "state": _STATE,
            }
        ),
        "prefix-limit": _ro(
            {
                "config": _ro(
                    {
                        "max-prefixes": Leaf(Kind.UINT32),
                        "shutdown-threshold-pct": Leaf(Kind.PERCENT),
                        "restart-timer": Leaf(Kind.SECONDS),
                    }
                ),
                "state": _STATE,
            }
        ),
        "apply-policy": _R,
        "ipv4-unicast": _R,
        "ipv6-unicast": _R,
        "ipv4-labelled-unicast": _R,
        "ipv6-labelled-unicast": _R,
        "l3vpn-ipv4-unicast": _R,
        "l3vpn-ipv6-unicast": _R,
        "l3vpn-ipv4-multicast": _R,
        "l3vpn-ipv6-multicast": _R,
        "l2vpn-vpls": _R,
        "l2vpn-evpn": _R,
        "route-selection-options": _R,
        "use-multiple-paths": _R,
        "route-target-membership": _R,
    }
)

# Sub-tables shared by [[neighbors]] and [[peer-groups]].
_PEER_COMMON: dict[str, Node] = {
    "state": _STATE,
    "timers": _ro(
        {
            "config": _ro(
                {
                    "hold-time": Leaf(Kind.HOLD_TIME),
                    "keepalive-interval": Leaf(Kind.SECONDS),
                    "connect-retry": Leaf(Kind.SECONDS),
                    "idle-hold-time-after-reset": Leaf(Kind.SECONDS),
                    "minimum-advertisement-interval": Leaf(Kind.ZERO_ONLY),
                    "send-hold-time": Leaf(Kind.SECONDS),  # bgprr: RFC 9687
                }
            ),
            "state": _STATE,
        }
    ),
    "transport": _ro(
        {
            "config": _ro(
                {
                    "passive-mode": Leaf(Kind.BOOL),
                    "local-address": Leaf(Kind.ADDR),
                    "remote-port": Leaf(Kind.PORT),
                    "ttl": Leaf(Kind.TTL),
                    "tcp-mss": _R,
                    "mtu-discovery": _R,
                    "bind-interface": _R,
                }
            ),
            "state": _STATE,
        }
    ),
    "error-handling": _ro(
        {"config": _ro({"treat-as-withdraw": Leaf(Kind.TRUE_ONLY)}), "state": _STATE}
    ),
    "logging-options": _ro(
        {"config": _ro({"log-neighbor-state-changes": Leaf(Kind.TRUE_ONLY)}), "state": _STATE}
    ),
    "ebgp-multihop": _ro(
        {
            "config": _ro({"enabled": Leaf(Kind.BOOL), "multihop-ttl": Leaf(Kind.TTL)}),
            "state": _STATE,
        }
    ),
    "ttl-security": _ro(
        {
            "config": _ro({"enabled": Leaf(Kind.BOOL), "ttl-min": Leaf(Kind.TTL)}),
            "state": _STATE,
        }
    ),
    "route-reflector": _ro(
        {
            "config": _ro(
                {
                    "route-reflector-client": Leaf(Kind.BOOL),
                    "route-reflector-cluster-id": Leaf(Kind.CLUSTER_ID),
                }
            ),
            "state": _STATE,
        }
    ),
    "add-paths": _ro(
        {
            "config": _ro({"receive": Leaf(Kind.BOOL), "send-max": Leaf(Kind.UINT8)}),
            "state": _STATE,
        }
    ),
    "graceful-restart": _ro(
        {
            "config": _ro(
                {
                    "enabled": Leaf(Kind.BOOL),
                    "restart-time": Leaf(Kind.GR_TIME),
                    "helper-only": Leaf(Kind.BOOL),
                    "deferral-time": Leaf(Kind.UINT16),
                    "notification-enabled": Leaf(Kind.BOOL),
                    "long-lived-enabled": Leaf(Kind.BOOL),
                    "stale-routes-time": _R,
                }
            ),
            "state": _STATE,
        }
    ),
    "afi-safis": ArrayOf(_AFI_SAFI),
    "as-path-options": _ro(
        {
            "config": _ro({"allow-own-as": Leaf(Kind.UINT8), "replace-peer-as": Leaf(Kind.BOOL)}),
            "state": _STATE,
        }
    ),
    "apply-policy": APPLY_POLICY,
    "use-multiple-paths": _R,
    "route-server": _ro(
        {
            "config": _ro({"route-server-client": Leaf(Kind.BOOL), "secondary-route": _R}),
            "state": _STATE,
        }
    ),
}

_CONFIG_COMMON: dict[str, Node] = {
    "peer-as": Leaf(Kind.ASN),
    "local-as": Leaf(Kind.ASN),
    "auth-password": Leaf(Kind.PASSWORD),
    "description": Leaf(Kind.STR),
    "peer-type": _R,
    "remove-private-as": Leaf(Kind.PRIVATE_AS),
    "route-flap-damping": _R,
    "send-community": _R,
}

NEIGHBOR: Mapping[str, Node] = _ro(
    {
        **_PEER_COMMON,
        "config": _ro(
            {
                **_CONFIG_COMMON,
                "neighbor-address": Leaf(Kind.ADDR),
                "admin-down": Leaf(Kind.BOOL),
                "peer-group": Leaf(Kind.STR),
                "neighbor-interface": _R,
                "vrf": _R,
            }
        ),
    }
)

PEER_GROUP: Mapping[str, Node] = _ro(
    {**_PEER_COMMON, "config": _ro({**_CONFIG_COMMON, "peer-group-name": Leaf(Kind.STR)})}
)

DYNAMIC_NEIGHBOR: Mapping[str, Node] = _ro(
    {
        "config": _ro(
            {
                "prefix": Leaf(Kind.PREFIX),
                "peer-group": Leaf(Kind.STR),
                "max-sessions": Leaf(Kind.UINT32),  # bgprr: sessions at once from the range
            }
        ),
        "state": _STATE,
    }
)

GLOBAL: Mapping[str, Node] = _ro(
    {
        "config": _ro(
            {
                "as": Leaf(Kind.ASN),
                "router-id": Leaf(Kind.IPV4),
                "port": Leaf(Kind.LISTEN_PORT),
                "local-address-list": Leaf(Kind.ADDR_LIST),
                # bgprr: token bucket for connections not from a configured neighbor
                "connection-rate": Leaf(Kind.RATE),
                "connection-burst": Leaf(Kind.UINT32),
                # bgprr: malloc_trim(0) once a connection flood has subsided
                "malloc-trim": Leaf(Kind.BOOL),
            }
        ),
        "state": _STATE,
        "apply-policy": APPLY_POLICY,
        "confederation": _R,
        "default-route-distance": _R,
        "route-selection-options": _R,
        # the equal-cost set goes to the kernel only (docs/kernel.md)
        "use-multiple-paths": _ro(
            {
                "config": _ro({"enabled": Leaf(Kind.BOOL)}),
                "state": _STATE,
                "ebgp": _R,
                "ibgp": _R,
            }
        ),
        "graceful-restart": _R,
        "afi-safis": _R,
    }
)

# GoBGP's zebra client: bgprr writes the kernel itself (docs/kernel.md). The keys that
# only describe the connection to zebra are accepted and have no effect; those asking
# for a behaviour bgprr lacks are refused unless they ask for nothing.
ZEBRA: Mapping[str, Node] = _ro(
    {
        "config": _ro(
            {
                "enabled": Leaf(Kind.BOOL),
                "url": Leaf(Kind.STR),
                "version": Leaf(Kind.UINT8),
                "software-name": Leaf(Kind.STR),
                "mpls-label-range-size": Leaf(Kind.UINT32),
                "redistribute-route-type-list": Leaf(Kind.EMPTY_LIST),
                "nexthop-trigger-enable": Leaf(Kind.FALSE_ONLY),
                "nexthop-trigger-delay": Leaf(Kind.UINT8),
                # bgprr: where and how routes go into the kernel
                "kernel-table": Leaf(Kind.KERNEL_TABLE),
                "kernel-protocol": Leaf(Kind.KERNEL_PROTOCOL),
                "kernel-metric": Leaf(Kind.UINT32),
            }
        ),
        "state": _STATE,
    }
)

ROOT: Mapping[str, Node] = _ro(
    {
        "global": GLOBAL,
        "neighbors": ArrayOf(NEIGHBOR),
        "peer-groups": ArrayOf(PEER_GROUP),
        "dynamic-neighbors": ArrayOf(DYNAMIC_NEIGHBOR),
        "rpki-servers": _R,
        "bmp-servers": _R,
        "vrfs": _R,
        "mrt-dump": _R,
        "zebra": ZEBRA,
        "collector": _R,
        "defined-sets": DEFINED_SETS,
        "policy-definitions": ArrayOf(POLICY_DEFINITION),
    }
)
