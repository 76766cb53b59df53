"""Validation of a received path attribute block (RFC 4271 §6.3, RFC 7606, RFC 6793 §6).

:func:`scan_attributes` walks the Path Attributes field of an UPDATE once, checks every
attribute, and returns the canonical block (the received bytes minus MP_REACH_NLRI /
MP_UNREACH_NLRI, minus discarded attributes; unknown optional transitive attributes get the
Partial bit; from a 2-octet-AS peer AS_PATH/AGGREGATOR are rewritten to 4-octet form after
the AS4_PATH / AS4_AGGREGATOR merge). Session-reset errors are raised; milder ones are
collected. Offsets in errors count from the start of the message.

Handling summary (action per RFC 7606 unless noted):

==========================  =============================================  ===================
condition                   code/subcode, data                             action
==========================  =============================================  ===================
attribute overruns list      3/1 Malformed Attribute List, b""             treat-as-withdraw
duplicate MP_(UN)REACH       3/1, b""                                      session reset
other duplicate              3/1, b"" (all but the first dropped)          attribute discard
O/T flag bits wrong, or      3/4 Attribute Flags Error, attribute          as the attribute's
  Partial on a well-known                                                    malformed handling
  or non-transitive one
MP_(UN)REACH flags wrong     3/9 Optional Attribute Error, attribute       AFI/SAFI disable
                               (RFC 4760 §7)
unrecognized well-known      3/2, attribute                                session reset
unrecognized optional        none: non-transitive dropped, transitive kept with Partial bit
ORIGIN length / value        3/5 / 3/6, attribute                          treat-as-withdraw
AS_PATH malformed, AS 0,     3/11 Malformed AS_PATH, b""                   treat-as-withdraw
  confed segment from eBGP
NEXT_HOP length              3/5, attribute                                treat-as-withdraw
NEXT_HOP 0.0.0.0, class D,   3/8 Invalid NEXT_HOP, attribute               treat-as-withdraw
  255.255.255.255, or the       (RFC 4271 §6.3: the route is ignored, the
  receiving speaker's own        session kept)
  address
MED / LOCAL_PREF length      3/5, attribute                                treat-as-withdraw
LOCAL_PREF from eBGP         none (RFC 4271 §5.1.5: ignored)               dropped
ATOMIC_AGGREGATE length      3/5, attribute                                attribute discard
AGGREGATOR length, AS 0      3/5 / 3/9, attribute                          attribute discard
COMMUNITIES, EXT, LARGE,     3/5, attribute (length zero or not a          treat-as-withdraw
  CLUSTER_LIST length          multiple of 4/8/12/4)
ORIGINATOR_ID length         3/5, attribute                                treat-as-withdraw
ORIGINATOR_ID, CLUSTER_LIST  3/9 Optional Attribute Error, attribute       attribute discard
  from eBGP
AS4_PATH/AS4_AGGREGATOR      3/9 (malformed, from a 4-octet peer, or       attribute discard
                               ignored per RFC 6793 §4.2.3)
==========================  =============================================  ===================

MP_REACH_NLRI / MP_UNREACH_NLRI contents, missing well-known attributes (3/3, data = the
type code, treat-as-withdraw) and NLRI fields are checked by
:func:`bgprr.wire.update.decode_update`, which also escalates a treat-as-withdraw error to a
session reset when the UPDATE carries no reachable NLRI (RFC 7606 §5.2).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

from .attributes import (
    AsPath,
    decode_as_path,
    encode_as_path,
    encode_attribute,
    merge_as4_path,
)
from .constants import AS_TRANS, AttrType
from .errors import Action, BGPError, ErrorCode, UpdateSub

__all__ = [
    "ATTRIBUTES",
    "DROP",
    "EXPECTED_FLAGS",
    "KEEP",
    "AttrDesc",
    "AttrScan",
    "Checker",
    "Fault",
    "Pass",
    "ScanCache",
    "ScanContext",
    "Verdict",
    "scan_attributes",
]

_UPDATE = ErrorCode.UPDATE_MESSAGE
_DISCARD = Action.ATTRIBUTE_DISCARD
_TAW = Action.TREAT_AS_WITHDRAW
_RESET = Action.SESSION_RESET
_LENGTH = UpdateSub.ATTRIBUTE_LENGTH_ERROR
_OPTIONAL = UpdateSub.OPTIONAL_ATTRIBUTE_ERROR

# Plain ints: the scanner compares type codes octet by octet.
_AS_PATH = int(AttrType.AS_PATH)
_AGGREGATOR = int(AttrType.AGGREGATOR)
_MP_TYPES = frozenset({int(AttrType.MP_REACH_NLRI), int(AttrType.MP_UNREACH_NLRI)})


class AttrScan:
    """What :func:`scan_attributes` found (a plain result record, built once per call)."""

    __slots__ = ("block", "errors", "mp_reach", "mp_unreach", "seen", "treat_as_withdraw")

    def __init__(self) -> None:
        self.block = b""
        self.errors: list[BGPError] = []
        self.treat_as_withdraw = False
        self.seen = bytearray(256)  # seen[type] == 1 when the type occurred
        # (attribute start, value start, value end) of MP_REACH_NLRI / MP_UNREACH_NLRI
        self.mp_reach: tuple[int, int, int] | None = None
        self.mp_unreach: tuple[int, int, int] | None = None


class ScanCache:
    """Clean scans of one session's attribute fields, keyed by the raw field.

    Only scans with classic NLRI, no MP_REACH/MP_UNREACH and no error are kept: their
    outcome (``block``, ``seen``) depends on nothing but the field's octets and the
    session's ``as4`` / ``ibgp`` / ``own`` (a call with other values does not use the cache). Peers
    repeat attribute sets (one per Calico node, a few thousand in a full table), so a hit
    replaces the scan by a slice and a dict lookup. At ``limit`` entries the table starts
    over. The ``seen`` map of a kept scan (256 octets) is shared with every other kept scan
    that saw the same attribute types (:func:`shared_seen`): a session whose attribute sets
    keep changing (a MED per announcement) fills its table with distinct fields, and 256
    private maps per session were most of the table's memory (measured: a soak's RSS rose
    with every session's table filling up).
    """

    __slots__ = ("as4", "ibgp", "limit", "own", "table")

    def __init__(self, *, as4: bool, ibgp: bool, own: bytes = b"", limit: int = 256) -> None:
        self.as4 = as4
        self.ibgp = ibgp
        self.own = own
        self.limit = limit
        self.table: dict[bytes, tuple[bytes, bytes]] = {}

    def store(self, field: bytes, scan: AttrScan) -> None:
        """Keep ``scan`` of ``field`` if it is clean (no error, no MP attribute)."""
        if scan.errors or scan.mp_reach is not None or scan.mp_unreach is not None:
            return
        table = self.table
        if len(table) >= self.limit:
            table.clear()
        if scan.block == field:
            scan.block = field  # one bytes object for the set (its hash is computed once)
        table[field] = (scan.block, shared_seen(scan.seen))


#: The distinct ``seen`` maps of kept scans (a handful in practice: the attribute types a
#: speaker sends); past ``SEEN_LIMIT`` a map is kept as a private copy instead.
_SEEN: dict[bytes, bytes] = {}
SEEN_LIMIT = 1024


def shared_seen(seen: bytes | bytearray) -> bytes:
    """One immutable object per distinct ``seen`` map (read-only from here on)."""
    key = bytes(seen)
    got = _SEEN.get(key)
    if got is not None:
        return got
    if len(_SEEN) < SEEN_LIMIT:
        _SEEN[key] = key
    return key


class ScanContext:
    """The session facts a checker needs, and what checkers leave for the end of the scan.

    ``spans`` lists the (start, end) of every attribute kept so far; a checker that needs
    its attribute rewritten later (AS_PATH / AGGREGATOR from a 2-octet-AS peer) records the
    index its span will take, ``len(spans)``.
    """

    __slots__ = (
        "aggr",
        "aggr_at",
        "aggr_flags",
        "as4",
        "as4_aggr",
        "as4_path",
        "as_path",
        "as_path_at",
        "as_path_flags",
        "classic_nlri",
        "ibgp",
        "own",
        "result",
        "spans",
    )

    def __init__(self, *, as4: bool, ibgp: bool, classic_nlri: bool, own: bytes = b"") -> None:
        self.as4 = as4
        self.ibgp = ibgp
        self.classic_nlri = classic_nlri
        self.own = own  # the receiving speaker's IPv4 address on this session (or b"")
        self.result = AttrScan()
        self.spans: list[tuple[int, int]] = []
        self.as_path: AsPath | None = None
        self.as_path_at = -1
        self.as_path_flags = 0x40
        self.as4_path: AsPath | None = None
        self.aggr: bytes | None = None  # 8-octet value (4-octet AS, address)
        self.aggr_at = -1
        self.aggr_flags = 0xC0
        self.as4_aggr: bytes | None = None


class Fault(NamedTuple):
    """A checker's finding: the subcode, its RFC 7606 action and a reason for the log."""

    sub: UpdateSub
    action: Action
    reason: str


class Pass(enum.Enum):
    """A checker's verdict on a sound attribute."""

    KEEP = "keep"  # the attribute goes into the canonical block
    DROP = "drop"  # valid but left out (consumed by the scan, or ignored per its RFC)


KEEP = Pass.KEEP
DROP = Pass.DROP

Verdict: TypeAlias = Pass | Fault
# checker(context, message, attribute start, value start, value end, flags octet)
Checker: TypeAlias = Callable[[ScanContext, bytes, int, int, int, int], Verdict]


@dataclass(frozen=True, slots=True)
class AttrDesc:
    """One recognized attribute: its name, the Optional/Transitive bits it must carry
    (RFC 4271 §5 and the defining RFCs), the action for a flags error or malformation
    (RFC 7606 §7), and its checker."""

    name: str
    flags: int
    action: Action
    check: Checker


def _path_ok(path: AsPath | None, allow_confed: bool) -> bool:
    if path is None:
        return False
    for st, asns in path:
        if 0 in asns:
            return False
        if not allow_confed and st > 2:  # AS_CONFED_SEQUENCE / AS_CONFED_SET
            return False
    return True


# --------------------------------------------------------------------------------------
# Checkers, one per attribute


def check_origin(ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int) -> Verdict:
    """RFC 4271 §5.1.1, RFC 7606 §7.1."""
    if ve - vs != 1:
        return Fault(_LENGTH, _TAW, "ORIGIN length is not 1")
    if data[vs] > 2:
        return Fault(UpdateSub.INVALID_ORIGIN_ATTRIBUTE, _TAW, f"ORIGIN value {data[vs]}")
    return KEEP


def check_as_path(ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int) -> Verdict:
    """RFC 4271 §5.1.2, RFC 7606 §7.2; RFC 5065 §5: confederation segments from a peer
    outside our confederation (bgprr has none, so: any eBGP peer) make it malformed."""
    path = decode_as_path(data, vs, ve, 4 if ctx.as4 else 2)
    if not _path_ok(path, ctx.ibgp):
        return Fault(UpdateSub.MALFORMED_AS_PATH, _TAW, "malformed AS_PATH segment or AS 0")
    if not ctx.as4:
        ctx.as_path, ctx.as_path_at, ctx.as_path_flags = path, len(ctx.spans), flags
    return KEEP


def check_next_hop(ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int) -> Verdict:
    """RFC 4271 §6.3, RFC 7606 §7.3; without classic NLRI it is ignored but kept unless
    malformed (RFC 4760 §3)."""
    if not ctx.classic_nlri:
        if ve - vs != 4:
            return Fault(_LENGTH, _DISCARD, "NEXT_HOP")
        return KEEP
    if ve - vs != 4:
        return Fault(_LENGTH, _TAW, "NEXT_HOP length is not 4")
    a = data[vs]
    if a >= 224 and (a < 240 or data[vs:ve] == b"\xff\xff\xff\xff"):
        return Fault(UpdateSub.INVALID_NEXT_HOP_ATTRIBUTE, _TAW, "multicast/broadcast")
    if data[vs:ve] == b"\x00\x00\x00\x00":
        return Fault(UpdateSub.INVALID_NEXT_HOP_ATTRIBUTE, _TAW, "NEXT_HOP 0.0.0.0")
    if ctx.own and data[vs:ve] == ctx.own:
        return Fault(
            UpdateSub.INVALID_NEXT_HOP_ATTRIBUTE, _TAW, "NEXT_HOP is our own address (ignored)"
        )
    return KEEP


def check_med(ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int) -> Verdict:
    """RFC 4271 §5.1.4, RFC 7606 §7.4."""
    if ve - vs != 4:
        return Fault(_LENGTH, _TAW, "MULTI_EXIT_DISC length is not 4")
    return KEEP


def check_local_pref(
    ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int
) -> Verdict:
    """RFC 4271 §5.1.5 (ignored from an eBGP peer), RFC 7606 §7.5."""
    if not ctx.ibgp:
        return DROP
    if ve - vs != 4:
        return Fault(_LENGTH, _TAW, "LOCAL_PREF length is not 4")
    return KEEP


def check_atomic_aggregate(
    ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int
) -> Verdict:
    """RFC 4271 §5.1.6, RFC 7606 §7.6."""
    if ve != vs:
        return Fault(_LENGTH, _DISCARD, "not empty")
    return KEEP


def check_aggregator(
    ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int
) -> Verdict:
    """RFC 4271 §5.1.7, RFC 7606 §7.7; 6 octets from a 2-octet-AS peer (RFC 6793 §4.2.3)."""
    width = 4 if ctx.as4 else 2
    if ve - vs != width + 4:
        return Fault(_LENGTH, _DISCARD, "AGGREGATOR")
    if data[vs : vs + width].count(0) == width:
        return Fault(_OPTIONAL, _DISCARD, "AS 0")
    if not ctx.as4:
        ctx.aggr, ctx.aggr_at, ctx.aggr_flags = b"\0\0" + data[vs:ve], len(ctx.spans), flags
    return KEEP


def _multiple_of(unit: int, t: int) -> Checker:
    """A checker for a list attribute: a non-zero multiple of ``unit`` octets (RFC 7606
    §7.8 COMMUNITIES, §7.10 CLUSTER_LIST, §7.14 EXTENDED_COMMUNITIES; RFC 8092 §5)."""

    def check(ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int) -> Verdict:
        ln = ve - vs
        if ln == 0 or ln % unit:
            return Fault(_LENGTH, _TAW, f"length {ln} of attribute {t}")
        return KEEP

    return check


check_communities = _multiple_of(4, int(AttrType.COMMUNITIES))
check_extended_communities = _multiple_of(8, int(AttrType.EXTENDED_COMMUNITIES))
check_large_communities = _multiple_of(12, int(AttrType.LARGE_COMMUNITIES))
_cluster_list_length = _multiple_of(4, int(AttrType.CLUSTER_LIST))


def check_originator_id(
    ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int
) -> Verdict:
    """RFC 4456 §8 (iBGP only), RFC 7606 §7.9."""
    if not ctx.ibgp:
        return Fault(_OPTIONAL, _DISCARD, "from eBGP")
    if ve - vs != 4:
        return Fault(_LENGTH, _TAW, "ORIGINATOR_ID length is not 4")
    return KEEP


def check_cluster_list(
    ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int
) -> Verdict:
    """RFC 4456 §8 (iBGP only), RFC 7606 §7.10."""
    if not ctx.ibgp:
        return Fault(_OPTIONAL, _DISCARD, "from eBGP")
    return _cluster_list_length(ctx, data, o, vs, ve, flags)


def check_mp_reach(ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int) -> Verdict:
    """Noted for :func:`bgprr.wire.update.decode_update`, which checks its contents."""
    ctx.result.mp_reach = (o, vs, ve)
    return DROP


def check_mp_unreach(
    ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int
) -> Verdict:
    """Noted for :func:`bgprr.wire.update.decode_update`, which checks its contents."""
    ctx.result.mp_unreach = (o, vs, ve)
    return DROP


def check_as4_path(ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int) -> Verdict:
    """RFC 6793 §6: only from a 2-octet-AS peer, kept aside for the merge."""
    if ctx.as4:
        return Fault(_OPTIONAL, _DISCARD, "AS4_PATH from a 4-octet AS speaker")
    path = decode_as_path(data, vs, ve, 4)
    if not _path_ok(path, False):
        return Fault(_OPTIONAL, _DISCARD, "malformed AS4_PATH")
    ctx.as4_path = path
    return DROP


def check_as4_aggregator(
    ctx: ScanContext, data: bytes, o: int, vs: int, ve: int, flags: int
) -> Verdict:
    """RFC 6793 §6: only from a 2-octet-AS peer, kept aside for the merge."""
    if ctx.as4:
        return Fault(_OPTIONAL, _DISCARD, "AS4_AGGREGATOR from a 4-octet AS speaker")
    if ve - vs != 8:
        return Fault(_LENGTH, _DISCARD, "AS4_AGGREGATOR length is not 8")
    if data[vs : vs + 4] == b"\0\0\0\0":
        return Fault(_OPTIONAL, _DISCARD, "AS4_AGGREGATOR with AS 0")
    ctx.as4_aggr = data[vs:ve]
    return DROP


# Every recognized attribute, by type code. MP_REACH_NLRI / MP_UNREACH_NLRI errors are
# raised by the scanner itself (session reset or AFI/SAFI disable, RFC 7606 §7.11).
ATTRIBUTES: dict[int, AttrDesc] = {
    int(t): d
    for t, d in (
        (AttrType.ORIGIN, AttrDesc("ORIGIN", 0x40, _TAW, check_origin)),
        (AttrType.AS_PATH, AttrDesc("AS_PATH", 0x40, _TAW, check_as_path)),
        (AttrType.NEXT_HOP, AttrDesc("NEXT_HOP", 0x40, _TAW, check_next_hop)),
        (AttrType.MULTI_EXIT_DISC, AttrDesc("MULTI_EXIT_DISC", 0x80, _TAW, check_med)),
        (AttrType.LOCAL_PREF, AttrDesc("LOCAL_PREF", 0x40, _TAW, check_local_pref)),
        (
            AttrType.ATOMIC_AGGREGATE,
            AttrDesc("ATOMIC_AGGREGATE", 0x40, _DISCARD, check_atomic_aggregate),
        ),
        (AttrType.AGGREGATOR, AttrDesc("AGGREGATOR", 0xC0, _DISCARD, check_aggregator)),
        (AttrType.COMMUNITIES, AttrDesc("COMMUNITIES", 0xC0, _TAW, check_communities)),
        (AttrType.ORIGINATOR_ID, AttrDesc("ORIGINATOR_ID", 0x80, _TAW, check_originator_id)),
        (AttrType.CLUSTER_LIST, AttrDesc("CLUSTER_LIST", 0x80, _TAW, check_cluster_list)),
        (
            AttrType.MP_REACH_NLRI,
            AttrDesc("MP_REACH_NLRI", 0x80, Action.AFISAFI_DISABLE, check_mp_reach),
        ),
        (
            AttrType.MP_UNREACH_NLRI,
            AttrDesc("MP_UNREACH_NLRI", 0x80, Action.AFISAFI_DISABLE, check_mp_unreach),
        ),
        (
            AttrType.EXTENDED_COMMUNITIES,
            AttrDesc("EXTENDED_COMMUNITIES", 0xC0, _TAW, check_extended_communities),
        ),
        (AttrType.AS4_PATH, AttrDesc("AS4_PATH", 0xC0, _DISCARD, check_as4_path)),
        (
            AttrType.AS4_AGGREGATOR,
            AttrDesc("AS4_AGGREGATOR", 0xC0, _DISCARD, check_as4_aggregator),
        ),
        (
            AttrType.LARGE_COMMUNITIES,
            AttrDesc("LARGE_COMMUNITIES", 0xC0, _TAW, check_large_communities),
        ),
    )
}

# Expected Optional/Transitive bits of every recognized attribute.
EXPECTED_FLAGS: dict[int, int] = {t: d.flags for t, d in ATTRIBUTES.items()}


# --------------------------------------------------------------------------------------
# The scan


def scan_attributes(
    data: bytes,
    start: int,
    end: int,
    *,
    as4: bool,
    ibgp: bool,
    classic_nlri: bool,
    own: bytes = b"",
) -> AttrScan:
    """Check the attributes in ``data[start:end]`` (``data`` is the whole message).

    The loop does the framing, duplicates, unrecognized attributes and flags for every
    attribute; the attribute's own rules are its checker in :data:`ATTRIBUTES`.
    """
    ctx = ScanContext(as4=as4, ibgp=ibgp, classic_nlri=classic_nlri, own=own)
    res = ctx.result
    errors = res.errors
    seen = res.seen
    spans = ctx.spans
    repl: dict[int, bytes] = {}
    twd = False
    table = ATTRIBUTES
    o = start
    while o < end:
        if end - o < 3 or (data[o] & 0x10 and end - o < 4):
            errors.append(_list_error(o, "trailing octets too short for an attribute header"))
            twd = True
            break
        flags = data[o]
        t = data[o + 1]
        if flags & 0x10:
            vs = o + 4
            ve = vs + ((data[o + 2] << 8) | data[o + 3])
        else:
            vs = o + 3
            ve = vs + data[o + 2]
        if ve > end:
            reason = f"attribute {t} runs past the path attributes"
            if t in _MP_TYPES:
                raise BGPError(_UPDATE, _LENGTH, action=_RESET, offset=o, reason=reason)
            errors.append(_list_error(o, reason))
            twd = True
            break
        if seen[t]:
            errors.append(_duplicate(t, o))
            o = ve
            continue
        seen[t] = 1
        desc = table.get(t)
        if desc is None:
            _unrecognized(data, o, ve, flags, t, spans, repl)
        # RFC 4271 §4.3: the Partial bit (0x20) is 0 on well-known and optional
        # non-transitive attributes; only an optional transitive one (0xC0) may carry it.
        elif (flags & 0xE0) != desc.flags and (desc.flags != 0xC0 or flags & 0xE0 != 0xE0):
            err = _flags_error(data, o, vs, ve, flags, t, desc)
            errors.append(err)
            twd = twd or err.action == _TAW
        else:
            verdict = desc.check(ctx, data, o, vs, ve, flags)
            if verdict is KEEP:
                spans.append((o, ve))
            elif isinstance(verdict, Fault):
                sub, action, reason = verdict
                value = b"" if sub == UpdateSub.MALFORMED_AS_PATH else data[o:ve]
                errors.append(BGPError(_UPDATE, sub, value, action=action, offset=o, reason=reason))
                twd = twd or action == _TAW
        o = ve

    if not as4:
        _merge_as4(ctx, repl, start)
    res.treat_as_withdraw = twd
    res.block = _join(data, spans, repl)
    return res


def _list_error(o: int, reason: str) -> BGPError:
    """RFC 7606 §4: an attribute runs past the field; the rest cannot be parsed."""
    return BGPError(
        _UPDATE, UpdateSub.MALFORMED_ATTRIBUTE_LIST, action=_TAW, offset=o, reason=reason
    )


def _duplicate(t: int, o: int) -> BGPError:
    """RFC 7606 §3: MP_REACH/MP_UNREACH twice resets the session (raised); any other
    attribute after its first occurrence is discarded (returned)."""
    if t in _MP_TYPES:
        raise BGPError(
            _UPDATE,
            UpdateSub.MALFORMED_ATTRIBUTE_LIST,
            offset=o,
            reason=f"attribute {t} appears more than once",
        )
    return BGPError(
        _UPDATE,
        UpdateSub.MALFORMED_ATTRIBUTE_LIST,
        action=_DISCARD,
        offset=o,
        reason=f"duplicate attribute {t} discarded",
    )


def _unrecognized(
    data: bytes,
    o: int,
    ve: int,
    flags: int,
    t: int,
    spans: list[tuple[int, int]],
    repl: dict[int, bytes],
) -> None:
    """RFC 4271 §6.3 / §9: an unrecognized well-known attribute resets the session; an
    optional transitive one is passed on with the Partial bit; an optional non-transitive
    one is quietly ignored."""
    if not flags & 0x80:
        raise BGPError(
            _UPDATE,
            UpdateSub.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
            data[o:ve],
            offset=o,
            reason=f"unrecognized well-known attribute {t}",
        )
    if flags & 0x40:
        spans.append((o, ve))
        if not flags & 0x20:
            repl[len(spans) - 1] = bytes((flags | 0x20,)) + data[o + 1 : ve]


def _flags_error(
    data: bytes, o: int, vs: int, ve: int, flags: int, t: int, desc: AttrDesc
) -> BGPError:
    """RFC 4271 §6.3, RFC 7606 §3 c: flags in conflict with the type (wrong Optional /
    Transitive bits, a Partial bit where it must be 0) get the attribute's malformation
    handling; for MP_REACH/MP_UNREACH that is AFI/SAFI disable, or a session reset when
    the AFI/SAFI cannot be read (raised)."""
    reason = f"attribute {t} has flags {flags:#04x}"
    value = data[o:ve]
    if t in _MP_TYPES:
        # RFC 4760 §7 names the handling of an incorrect MP attribute (RFC 7606 §3 c defers
        # to it): AFI/SAFI disable, or session reset, with Optional Attribute Error.
        action = Action.AFISAFI_DISABLE if ve - vs >= 3 else _RESET
        raise BGPError(_UPDATE, _OPTIONAL, value, action=action, offset=o, reason=reason)
    return BGPError(
        _UPDATE, UpdateSub.ATTRIBUTE_FLAGS_ERROR, value, action=desc.action, offset=o, reason=reason
    )


def _merge_as4(ctx: ScanContext, repl: dict[int, bytes], start: int) -> None:
    """RFC 6793 §4.2.3 for a 2-octet-AS peer: rebuild 4-octet AS_PATH and AGGREGATOR."""
    aggr = ctx.aggr
    as4_path = ctx.as4_path
    if ctx.as4_aggr is not None:
        if aggr is None or int.from_bytes(aggr[:4], "big") != AS_TRANS:
            # AGGREGATOR absent or not AS_TRANS: AS4_AGGREGATOR and AS4_PATH are ignored.
            ctx.result.errors.append(
                BGPError(
                    _UPDATE,
                    _OPTIONAL,
                    action=_DISCARD,
                    offset=start,
                    reason="AS4_AGGREGATOR ignored: AGGREGATOR is not AS_TRANS",
                )
            )
            as4_path = None
        else:
            aggr = ctx.as4_aggr
    if aggr is not None:
        repl[ctx.aggr_at] = encode_attribute(ctx.aggr_flags & ~0x10, _AGGREGATOR, aggr)
    if ctx.as_path is not None:
        path = ctx.as_path
        if as4_path is not None:
            path = merge_as4_path(path, as4_path)
        repl[ctx.as_path_at] = encode_attribute(
            ctx.as_path_flags & ~0x10, _AS_PATH, encode_as_path(path)
        )


def _join(data: bytes, spans: list[tuple[int, int]], repl: dict[int, bytes]) -> bytes:
    """The kept attributes, with their replacements, as one block."""
    if not spans:
        return b""
    if not repl:
        first = spans[0][0]
        prev = first
        for s, e in spans:
            if s != prev:
                break
            prev = e
        else:
            return data[first:prev]
    return b"".join(repl[i] if i in repl else data[s:e] for i, (s, e) in enumerate(spans))
