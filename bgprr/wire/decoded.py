"""The decoded form of an UPDATE message (RFC 4271 §4.3, RFC 4760, RFC 7911):
:class:`Update` and its MP_REACH_NLRI / MP_UNREACH_NLRI parts. The codec is
:mod:`bgprr.wire.update`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .errors import BGPError

__all__ = ["MPReach", "MPUnreach", "Update"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MPReach:
    afi: int
    safi: int
    next_hop: bytes  # 4, 16 or 32 (global + link-local) bytes, as received
    nlri: list[int]  # prefix keys (see bgprr.wire.prefix)
    nlri_ids: list[int] | None = None  # ADD-PATH path identifiers, parallel to nlri


@dataclass(frozen=True, slots=True, kw_only=True)
class MPUnreach:
    afi: int
    safi: int
    withdrawn: list[int]
    withdrawn_ids: list[int] | None = None


class Update:
    """A decoded UPDATE (read-only; equal when all fields are equal).

    ``withdrawn`` / ``nlri``: IPv4 unicast prefix keys, with ADD-PATH ids in
    ``withdrawn_ids`` / ``nlri_ids`` (else ``None``). ``attrs`` is the canonical raw path
    attribute block: attributes in received order, MP_REACH_NLRI / MP_UNREACH_NLRI
    removed, attributes discarded under RFC 7606 removed, and (from a 2-octet-AS peer)
    AS_PATH/AGGREGATOR rewritten to 4-octet form after the RFC 6793 AS4_PATH merge, AS4_*
    removed. It is the interning key of the path's attributes (with the next hop: classic
    NEXT_HOP is inside it, MP next hop is in ``mp_reach``). ``errors``: the non-fatal RFC
    7606 errors found (attribute discard, treat-as-withdraw, AFI/SAFI disable).
    ``treat_as_withdraw``: every announced prefix (``nlri`` and ``mp_reach``) must be
    handled as withdrawn.

    A slotted class with a plain ``__init__`` and properties rather than a frozen
    dataclass: one is built per received UPDATE, and a frozen dataclass's ``__init__``
    pays for ``object.__setattr__`` on each of the nine fields.
    """

    __slots__ = (
        "_attrs",
        "_errors",
        "_mp_reach",
        "_mp_unreach",
        "_nlri",
        "_nlri_ids",
        "_treat_as_withdraw",
        "_withdrawn",
        "_withdrawn_ids",
    )
    FIELDS: ClassVar[tuple[str, ...]] = (
        "withdrawn",
        "withdrawn_ids",
        "attrs",
        "nlri",
        "nlri_ids",
        "mp_reach",
        "mp_unreach",
        "errors",
        "treat_as_withdraw",
    )

    def __init__(
        self,
        *,
        withdrawn: list[int] | None = None,
        withdrawn_ids: list[int] | None = None,
        attrs: bytes = b"",
        nlri: list[int] | None = None,
        nlri_ids: list[int] | None = None,
        mp_reach: MPReach | None = None,
        mp_unreach: MPUnreach | None = None,
        errors: tuple[BGPError, ...] = (),
        treat_as_withdraw: bool = False,
    ) -> None:
        self._withdrawn = [] if withdrawn is None else withdrawn
        self._withdrawn_ids = withdrawn_ids
        self._attrs = attrs
        self._nlri = [] if nlri is None else nlri
        self._nlri_ids = nlri_ids
        self._mp_reach = mp_reach
        self._mp_unreach = mp_unreach
        self._errors = errors
        self._treat_as_withdraw = treat_as_withdraw

    @property
    def withdrawn(self) -> list[int]:
        return self._withdrawn

    @property
    def withdrawn_ids(self) -> list[int] | None:
        return self._withdrawn_ids

    @property
    def attrs(self) -> bytes:
        return self._attrs

    @property
    def nlri(self) -> list[int]:
        return self._nlri

    @property
    def nlri_ids(self) -> list[int] | None:
        return self._nlri_ids

    @property
    def mp_reach(self) -> MPReach | None:
        return self._mp_reach

    @property
    def mp_unreach(self) -> MPUnreach | None:
        return self._mp_unreach

    @property
    def errors(self) -> tuple[BGPError, ...]:
        return self._errors

    @property
    def treat_as_withdraw(self) -> bool:
        return self._treat_as_withdraw

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Update:
            return NotImplemented
        return self._values() == other._values()

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"Update({inner})"
