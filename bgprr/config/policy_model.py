"""The parsed routing policy: frozen dataclasses, every value checked and in the form the
compiler (:mod:`bgprr.policy`) needs.

Names and meanings follow GoBGP 3.10 (``[defined-sets]``, ``[[policy-definitions]]``,
``apply-policy``); docs/policy.md documents each key.  Regular expressions are kept as
the Python pattern text that gobgpd's rewriting of the written text gives (for example
``_65000_`` in an as-path set, or ``65000:100`` in a community set, which becomes
``^65000:100$``); the compiler compiles each one once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

__all__ = [
    "ApplyPolicy",
    "AsPathLength",
    "AsPathSet",
    "CommunityAction",
    "CommunitySet",
    "Comparison",
    "Conditions",
    "DefaultPolicy",
    "Disposition",
    "ExtCommunityAction",
    "ExtCommunitySet",
    "LargeCommunityAction",
    "LargeCommunitySet",
    "MatchOption",
    "MatchSet",
    "MedAction",
    "NeighborSet",
    "Network",
    "NextHopAction",
    "NextHopMode",
    "PolicyConfig",
    "PolicyDefinition",
    "PrefixEntry",
    "PrefixSet",
    "PrependAction",
    "RouteTypeName",
    "SetOption",
    "SingleAsMatch",
    "SingleAsMode",
    "Statement",
    "StatementActions",
]


class MatchOption(enum.Enum):
    """``match-set-options``. Prefix and neighbor sets take ``any`` and ``invert`` only."""

    ANY = "any"
    ALL = "all"
    INVERT = "invert"


class DefaultPolicy(enum.Enum):
    """``default-import-policy`` / ``default-export-policy``."""

    ACCEPT = "accept-route"
    REJECT = "reject-route"


class Disposition(enum.Enum):
    """``route-disposition``: NONE goes on to the next statement, then the next policy."""

    NONE = "none"
    ACCEPT = "accept-route"
    REJECT = "reject-route"


class SetOption(enum.Enum):
    """``options`` of set-community / set-ext-community / set-large-community."""

    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"


class Comparison(enum.Enum):
    """``as-path-length.operator`` (GoBGP's ``attribute-eq`` spells the same as ``eq``)."""

    EQ = "eq"
    GE = "ge"
    LE = "le"


class RouteTypeName(enum.Enum):
    INTERNAL = "internal"
    EXTERNAL = "external"
    LOCAL = "local"


class SingleAsMode(enum.Enum):
    """gobgpd's fast forms of an as-path regular expression (``_N_``, ``^N_``, ``_N$``,
    ``^N$``): read on the AS_SEQUENCE numbers, not on the text."""

    INCLUDE = "include"
    LEFT_MOST = "left-most"
    ORIGIN = "origin"
    ONLY = "only"


class NextHopMode(enum.Enum):
    ADDRESS = "address"
    SELF = "self"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Network:
    """An address range: ``afi`` 1 or 2, ``address`` the network as an int, ``length``."""

    afi: int
    address: int
    length: int

    def contains(self, afi: int, address: int) -> bool:
        bits = 32 if afi == 1 else 128
        shift = bits - self.length
        return afi == self.afi and (address >> shift) == (self.address >> shift)


@dataclass(frozen=True, slots=True)
class PrefixEntry:
    """One ``prefix-list`` entry: the network and the accepted mask lengths."""

    network: Network
    min_length: int
    max_length: int
    text: str  # as written: "10.0.0.0/8 16..24"


@dataclass(frozen=True, slots=True)
class PrefixSet:
    """``afi`` 0: the set lists no prefix (it then matches no route, as in gobgpd)."""

    name: str
    afi: int
    entries: tuple[PrefixEntry, ...]


@dataclass(frozen=True, slots=True)
class NeighborSet:
    name: str
    networks: tuple[Network, ...]
    written: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SingleAsMatch:
    mode: SingleAsMode
    asn: int


@dataclass(frozen=True, slots=True)
class AsPathSet:
    """``singles`` are the fast forms; ``patterns`` the other entries, with ``_`` already
    replaced by gobgpd's ``(^|[,{}() ]|$)``."""

    name: str
    singles: tuple[SingleAsMatch, ...]
    patterns: tuple[str, ...]
    written: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CommunitySet:
    """Patterns searched in ``"ASN:VALUE"`` (each half a decimal 16-bit number)."""

    name: str
    patterns: tuple[str, ...]
    written: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExtCommunitySet:
    """``entries``: ``(subtype, pattern)``; the pattern is searched in the text of a
    transitive extended community of that subtype (2 route target, 3 route origin)."""

    name: str
    entries: tuple[tuple[int, str], ...]
    written: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LargeCommunitySet:
    """Patterns searched in ``"GLOBAL:LOCAL1:LOCAL2"``."""

    name: str
    patterns: tuple[str, ...]
    written: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MatchSet:
    """A ``match-*-set`` condition: the set's name and the option."""

    set_name: str
    option: MatchOption


@dataclass(frozen=True, slots=True)
class AsPathLength:
    operator: Comparison
    value: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Conditions:
    """A statement's conditions; all that are present must hold (an empty one: always)."""

    prefix_set: MatchSet | None = None
    neighbor_set: MatchSet | None = None
    as_path_length: AsPathLength | None = None
    route_type: RouteTypeName | None = None
    as_path_set: MatchSet | None = None
    community_set: MatchSet | None = None
    ext_community_set: MatchSet | None = None
    large_community_set: MatchSet | None = None
    next_hop_in_list: tuple[Network, ...] = ()
    afi_safi_in: tuple[tuple[int, int], ...] | None = None  # None: not written
    afi_safi_names: tuple[str, ...] = ()
    origin_eq: int | None = None  # 0 igp, 1 egp, 2 incomplete


@dataclass(frozen=True, slots=True)
class CommunityAction:
    """``set-community``: ``values`` for add / replace, ``patterns`` for remove."""

    option: SetOption
    values: tuple[int, ...]
    patterns: tuple[str, ...]
    written: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExtCommunityAction:
    """``set-ext-community``: ``values`` (8 octets each) for add / replace;
    ``patterns`` as ``(subtype, pattern)`` for remove."""

    option: SetOption
    values: tuple[bytes, ...]
    patterns: tuple[tuple[int, str], ...]
    written: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LargeCommunityAction:
    option: SetOption
    values: tuple[tuple[int, int, int], ...]
    patterns: tuple[str, ...]
    written: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MedAction:
    """``set-med``: ``"100"`` sets (relative False), ``"+10"`` / ``"-10"`` add."""

    value: int
    relative: bool
    written: str


@dataclass(frozen=True, slots=True)
class NextHopAction:
    mode: NextHopMode
    afi: int = 0  # ADDRESS only
    address: int = 0
    written: str = ""


@dataclass(frozen=True, slots=True)
class PrependAction:
    """``set-as-path-prepend``: ``asn`` (None: ``last-as``, the leftmost AS) ``repeat``
    times."""

    asn: int | None
    repeat: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementActions:
    disposition: Disposition = Disposition.NONE
    set_community: CommunityAction | None = None
    set_ext_community: ExtCommunityAction | None = None
    set_large_community: LargeCommunityAction | None = None
    set_med: MedAction | None = None
    set_local_pref: int | None = None
    set_as_path_prepend: PrependAction | None = None
    set_next_hop: NextHopAction | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    name: str
    conditions: Conditions
    actions: StatementActions


@dataclass(frozen=True, slots=True)
class PolicyDefinition:
    name: str
    statements: tuple[Statement, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyPolicy:
    """An ``apply-policy.config`` table: policies by name, in order, and the defaults."""

    import_policies: tuple[str, ...] = ()
    default_import: DefaultPolicy = DefaultPolicy.ACCEPT
    export_policies: tuple[str, ...] = ()
    default_export: DefaultPolicy = DefaultPolicy.ACCEPT

    @property
    def empty(self) -> bool:
        """True when it accepts every route unchanged in both directions."""
        return (
            not self.import_policies
            and not self.export_policies
            and self.default_import is DefaultPolicy.ACCEPT
            and self.default_export is DefaultPolicy.ACCEPT
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyConfig:
    """``[defined-sets]``, ``[[policy-definitions]]`` and ``[global.apply-policy]``.

    Every name a statement or an apply-policy uses is defined (checked at load)."""

    prefix_sets: tuple[PrefixSet, ...] = ()
    neighbor_sets: tuple[NeighborSet, ...] = ()
    community_sets: tuple[CommunitySet, ...] = ()
    ext_community_sets: tuple[ExtCommunitySet, ...] = ()
    large_community_sets: tuple[LargeCommunitySet, ...] = ()
    as_path_sets: tuple[AsPathSet, ...] = ()
    policies: tuple[PolicyDefinition, ...] = ()
    global_apply: ApplyPolicy = field(default_factory=ApplyPolicy)

    def policy(self, name: str) -> PolicyDefinition:
        return _named(self.policies, name)

    def prefix_set(self, name: str) -> PrefixSet:
        return _named(self.prefix_sets, name)

    def neighbor_set(self, name: str) -> NeighborSet:
        return _named(self.neighbor_sets, name)

    def community_set(self, name: str) -> CommunitySet:
        return _named(self.community_sets, name)

    def ext_community_set(self, name: str) -> ExtCommunitySet:
        return _named(self.ext_community_sets, name)

    def large_community_set(self, name: str) -> LargeCommunitySet:
        return _named(self.large_community_sets, name)

    def as_path_set(self, name: str) -> AsPathSet:
        return _named(self.as_path_sets, name)


class _HasName(Protocol):
    @property
    def name(self) -> str: ...


_T = TypeVar("_T", bound=_HasName)


def _named(items: tuple[_T, ...], name: str) -> _T:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(name)
