"""The schema of GoBGP's routing policy keys: ``[defined-sets]``,
``[[policy-definitions]]`` and the ``apply-policy`` tables of ``[global]``, neighbors and
peer groups (GoBGP 3.10 key names).

Values are only type-checked here; their meaning (prefixes, regular expressions,
communities, references between sets and policies) is checked by
`bgprr.config.policy_build`, which names the key of each problem.
"""

from __future__ import annotations

from collections.abc import Mapping

from bgprr.config.schema import REFUSED as _R
from bgprr.config.schema import STATE as _STATE
from bgprr.config.schema import ArrayOf, Kind, Leaf, Node, Refused
from bgprr.config.schema import ro as _ro

__all__ = ["APPLY_POLICY", "DEFINED_SETS", "POLICY_DEFINITION"]

_IGNORED_BY_GOBGPD = "gobgpd 3.10 reads it but never applies it"

_S = Leaf(Kind.STR)
_SL = Leaf(Kind.STR_LIST)
_MATCH_SET: dict[str, Node] = {"match-set-options": _S}

APPLY_POLICY: Mapping[str, Node] = _ro(
    {
        "config": _ro(
            {
                "import-policy-list": _SL,
                "default-import-policy": _S,
                "export-policy-list": _SL,
                "default-export-policy": _S,
                "in-policy-list": _R,
                "default-in-policy": _R,
            }
        ),
        "state": _STATE,
    }
)

DEFINED_SETS: Mapping[str, Node] = _ro(
    {
        "prefix-sets": ArrayOf(
            _ro(
                {
                    "prefix-set-name": _S,
                    "prefix-list": ArrayOf(_ro({"ip-prefix": _S, "masklength-range": _S})),
                }
            )
        ),
        "neighbor-sets": ArrayOf(_ro({"neighbor-set-name": _S, "neighbor-info-list": _SL})),
        "tag-sets": _R,
        "bgp-defined-sets": _ro(
            {
                "community-sets": ArrayOf(_ro({"community-set-name": _S, "community-list": _SL})),
                "ext-community-sets": ArrayOf(
                    _ro({"ext-community-set-name": _S, "ext-community-list": _SL})
                ),
                "large-community-sets": ArrayOf(
                    _ro({"large-community-set-name": _S, "large-community-list": _SL})
                ),
                "as-path-sets": ArrayOf(_ro({"as-path-set-name": _S, "as-path-list": _SL})),
            }
        ),
    }
)

_BGP_CONDITIONS: Mapping[str, Node] = _ro(
    {
        "match-community-set": _ro({"community-set": _S, **_MATCH_SET}),
        "match-ext-community-set": _ro({"ext-community-set": _S, **_MATCH_SET}),
        "match-large-community-set": _ro({"large-community-set": _S, **_MATCH_SET}),
        "match-as-path-set": _ro({"as-path-set": _S, **_MATCH_SET}),
        "as-path-length": _ro({"operator": _S, "value": Leaf(Kind.UINT32)}),
        "route-type": _S,
        "next-hop-in-list": _SL,
        "afi-safi-in-list": _SL,
        "origin-eq": _S,
        "med-eq": Refused(_IGNORED_BY_GOBGPD),
        "local-pref-eq": Refused(_IGNORED_BY_GOBGPD),
        "community-count": Refused(_IGNORED_BY_GOBGPD),
        "rpki-validation-result": Refused("bgprr has no RPKI"),
    }
)

_COMMUNITY_METHOD: dict[str, Node] = {"communities-list": _SL}

_BGP_ACTIONS: Mapping[str, Node] = _ro(
    {
        "set-community": _ro(
            {
                "options": _S,
                "set-community-method": _ro({**_COMMUNITY_METHOD, "community-set-ref": _R}),
            }
        ),
        "set-ext-community": _ro(
            {
                "options": _S,
                "set-ext-community-method": _ro({**_COMMUNITY_METHOD, "ext-community-set-ref": _R}),
            }
        ),
        "set-large-community": _ro(
            {"options": _S, "set-large-community-method": _ro(_COMMUNITY_METHOD)}
        ),
        "set-med": Leaf(Kind.STR_OR_INT),
        "set-local-pref": Leaf(Kind.UINT32),
        "set-next-hop": _S,
        "set-as-path-prepend": _ro({"as": Leaf(Kind.STR_OR_INT), "repeat-n": Leaf(Kind.UINT8)}),
        "set-route-origin": Refused(_IGNORED_BY_GOBGPD),
    }
)

POLICY_DEFINITION: Mapping[str, Node] = _ro(
    {
        "name": _S,
        "statements": ArrayOf(
            _ro(
                {
                    "name": _S,
                    "conditions": _ro(
                        {
                            "match-prefix-set": _ro({"prefix-set": _S, **_MATCH_SET}),
                            "match-neighbor-set": _ro({"neighbor-set": _S, **_MATCH_SET}),
                            "bgp-conditions": _BGP_CONDITIONS,
                            "match-tag-set": _R,
                            "install-protocol-eq": _R,
                            "igp-conditions": _R,
                            "call-policy": Refused(_IGNORED_BY_GOBGPD),
                        }
                    ),
                    "actions": _ro(
                        {"route-disposition": _S, "bgp-actions": _BGP_ACTIONS, "igp-actions": _R}
                    ),
                }
            )
        ),
    }
)
