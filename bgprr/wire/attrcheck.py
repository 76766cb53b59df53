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
O/T flag bits wrong          3/4 Attribute Flags Error, attribute          as the attribute's
                                                                           malformed handling
unrecognized well-known      3/2, attribute                                session reset
unrecognized optional        none: non-transitive dropped, transitive kept with Partial bit
ORIGIN length / value        3/5 / 3/6, attribute                          treat-as-withdraw
AS_PATH malformed, AS 0,     3/11 Malformed AS_PATH, b""                   treat-as-withdraw
  confed segment from eBGP
NEXT_HOP length              3/5, attribute                                treat-as-withdraw
NEXT_HOP 0.0.0.0, class D,   3/8 Invalid NEXT_HOP, attribute               treat-as-withdraw
  255.255.255.255
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

from .attributes import (
    AsPath,
    decode_as_path,
    encode_as_path,
    encode_attribute,
    merge_as4_path,
)
from .constants import AS_TRANS, AttrType
from .errors import Action, BGPError, ErrorCode, UpdateSub

__all__ = ["AttrScan", "scan_attributes"]

_UPDATE = ErrorCode.UPDATE_MESSAGE
_DISCARD = Action.ATTRIBUTE_DISCARD
_TAW = Action.TREAT_AS_WITHDRAW
_RESET = Action.SESSION_RESET

# Plain ints for the hot loop (IntEnum attribute access costs ~70 ns each).
_ORIGIN = int(AttrType.ORIGIN)
_AS_PATH = int(AttrType.AS_PATH)
_NEXT_HOP = int(AttrType.NEXT_HOP)
_MULTI_EXIT_DISC = int(AttrType.MULTI_EXIT_DISC)
_LOCAL_PREF = int(AttrType.LOCAL_PREF)
_ATOMIC_AGGREGATE = int(AttrType.ATOMIC_AGGREGATE)
_AGGREGATOR = int(AttrType.AGGREGATOR)
_COMMUNITIES = int(AttrType.COMMUNITIES)
_ORIGINATOR_ID = int(AttrType.ORIGINATOR_ID)
_CLUSTER_LIST = int(AttrType.CLUSTER_LIST)
_MP_REACH_NLRI = int(AttrType.MP_REACH_NLRI)
_MP_UNREACH_NLRI = int(AttrType.MP_UNREACH_NLRI)
_EXTENDED_COMMUNITIES = int(AttrType.EXTENDED_COMMUNITIES)
_AS4_PATH = int(AttrType.AS4_PATH)
_AS4_AGGREGATOR = int(AttrType.AS4_AGGREGATOR)
_LARGE_COMMUNITIES = int(AttrType.LARGE_COMMUNITIES)

# Expected Optional/Transitive bits of every recognized attribute (RFC 4271 §5 and the
# defining RFCs).
EXPECTED_FLAGS: dict[int, int] = {
    _ORIGIN: 0x40,
    _AS_PATH: 0x40,
    _NEXT_HOP: 0x40,
    _MULTI_EXIT_DISC: 0x80,
    _LOCAL_PREF: 0x40,
    _ATOMIC_AGGREGATE: 0x40,
    _AGGREGATOR: 0xC0,
    _COMMUNITIES: 0xC0,
    _ORIGINATOR_ID: 0x80,
    _CLUSTER_LIST: 0x80,
    _MP_REACH_NLRI: 0x80,
    _MP_UNREACH_NLRI: 0x80,
    _EXTENDED_COMMUNITIES: 0xC0,
    _AS4_PATH: 0xC0,
    _AS4_AGGREGATOR: 0xC0,
    _LARGE_COMMUNITIES: 0xC0,
}

# Attributes whose malformation is handled by attribute discard (RFC 7606 §7.6, §7.7,
# RFC 6793 §6); every other recognized attribute but MP_* is treat-as-withdraw.
_DISCARD_TYPES = frozenset(
    {
        _ATOMIC_AGGREGATE,
        _AGGREGATOR,
        _AS4_PATH,
        _AS4_AGGREGATOR,
    }
)

# Variable-length attributes that must be a non-zero multiple of a unit.
_UNIT: dict[int, int] = {
    _COMMUNITIES: 4,
    _CLUSTER_LIST: 4,
    _EXTENDED_COMMUNITIES: 8,
    _LARGE_COMMUNITIES: 12,
}

_MP_TYPES = frozenset({_MP_REACH_NLRI, _MP_UNREACH_NLRI})


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
    session's ``as4`` / ``ibgp`` (a call with other values does not use the cache). Peers
    repeat attribute sets (one per Calico node, a few thousand in a full table), and a
    hit costs a slice and a dict lookup instead of the 3-4 µs scan. At ``limit`` entries
    the table starts over.
    """

    __slots__ = ("as4", "ibgp", "limit", "table")

    def __init__(self, *, as4: bool, ibgp: bool, limit: int = 256) -> None:
        self.as4 = as4
        self.ibgp = ibgp
        self.limit = limit
        self.table: dict[bytes, tuple[bytes, bytearray]] = {}

    def store(self, field: bytes, scan: AttrScan) -> None:
        """Keep ``scan`` of ``field`` if it is clean (no error, no MP attribute)."""
        if scan.errors or scan.mp_reach is not None or scan.mp_unreach is not None:
            return
        table = self.table
        if len(table) >= self.limit:
            table.clear()
        if scan.block == field:
            scan.block = field  # one bytes object for the set (its hash is computed once)
        table[field] = (scan.block, scan.seen)


def _path_ok(path: AsPath | None, allow_confed: bool) -> bool:
    if path is None:
        return False
    for st, asns in path:
        if 0 in asns:
            return False
        if not allow_confed and st > 2:  # AS_CONFED_SEQUENCE / AS_CONFED_SET
            return False
    return True


def scan_attributes(
    data: bytes,
    start: int,
    end: int,
    *,
    as4: bool,
    ibgp: bool,
    classic_nlri: bool,
) -> AttrScan:
    """Check the attributes in ``data[start:end]`` (``data`` is the whole message)."""
    res = AttrScan()
    errors = res.errors
    seen = res.seen
    spans: list[tuple[int, int]] = []
    repl: dict[int, bytes] = {}
    twd = False
    as_path: AsPath | None = None
    as_path_at = -1
    as_path_flags = 0x40
    as4_path: AsPath | None = None
    aggr: bytes | None = None  # 8-octet value
    aggr_at = -1
    aggr_flags = 0xC0
    as4_aggr: bytes | None = None
    o = start
    while o < end:
        if end - o < 3 or (data[o] & 0x10 and end - o < 4):
            errors.append(
                BGPError(
                    _UPDATE,
                    UpdateSub.MALFORMED_ATTRIBUTE_LIST,
                    action=_TAW,
                    offset=o,
                    reason="trailing octets too short for an attribute header",
                )
            )
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
            if t in _MP_TYPES:
                raise BGPError(
                    _UPDATE,
                    UpdateSub.ATTRIBUTE_LENGTH_ERROR,
                    action=_RESET,
                    offset=o,
                    reason=f"attribute {t} runs past the path attributes",
                )
            errors.append(
                BGPError(
                    _UPDATE,
                    UpdateSub.MALFORMED_ATTRIBUTE_LIST,
                    action=_TAW,
                    offset=o,
                    reason=f"attribute {t} runs past the path attributes",
                )
            )
            twd = True
            break
        ln = ve - vs
        if seen[t]:
            if t in _MP_TYPES:
                raise BGPError(
                    _UPDATE,
                    UpdateSub.MALFORMED_ATTRIBUTE_LIST,
                    offset=o,
                    reason=f"attribute {t} appears more than once",
                )
            errors.append(
                BGPError(
                    _UPDATE,
                    UpdateSub.MALFORMED_ATTRIBUTE_LIST,
                    action=_DISCARD,
                    offset=o,
                    reason=f"duplicate attribute {t} discarded",
                )
            )
            o = ve
            continue
        seen[t] = 1
        expected = EXPECTED_FLAGS.get(t)
        if expected is None:
            if not flags & 0x80:
                raise BGPError(
                    _UPDATE,
                    UpdateSub.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                    data[o:ve],
                    offset=o,
                    reason=f"unrecognized well-known attribute {t}",
                )
            if flags & 0x40:  # optional transitive: pass on with Partial set
                spans.append((o, ve))
                if not flags & 0x20:
                    repl[len(spans) - 1] = bytes((flags | 0x20,)) + data[o + 1 : ve]
            # optional non-transitive: quietly ignored (RFC 4271 §9)
            o = ve
            continue
        if (flags & 0xC0) != expected:
            if t in _MP_TYPES:
                raise BGPError(
                    _UPDATE,
                    UpdateSub.ATTRIBUTE_FLAGS_ERROR,
                    data[o:ve],
                    action=Action.AFISAFI_DISABLE if ln >= 3 else _RESET,
                    offset=o,
                    reason=f"attribute {t} has flags {flags:#04x}",
                )
            action = _DISCARD if t in _DISCARD_TYPES else _TAW
            errors.append(
                BGPError(
                    _UPDATE,
                    UpdateSub.ATTRIBUTE_FLAGS_ERROR,
                    data[o:ve],
                    action=action,
                    offset=o,
                    reason=f"attribute {t} has flags {flags:#04x}",
                )
            )
            twd = twd or action == _TAW
            o = ve
            continue

        sub = 0  # error subcode found for this attribute (0: none)
        action = _TAW
        why = ""
        if t == _ORIGIN:
            if ln != 1:
                sub, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, "ORIGIN length is not 1"
            elif data[vs] > 2:
                sub, why = UpdateSub.INVALID_ORIGIN_ATTRIBUTE, f"ORIGIN value {data[vs]}"
        elif t == _AS_PATH:
            path = decode_as_path(data, vs, ve, 4 if as4 else 2)
            # RFC 5065 §5: confederation segments from a peer outside our confederation
            # (bgprr has none, so: any eBGP peer) make the AS_PATH malformed.
            if not _path_ok(path, ibgp):
                errors.append(
                    BGPError(
                        _UPDATE,
                        UpdateSub.MALFORMED_AS_PATH,
                        action=_TAW,
                        offset=o,
                        reason="malformed AS_PATH segment or AS 0",
                    )
                )
                twd = True
                o = ve
                continue
            if not as4:
                as_path, as_path_at, as_path_flags = path, len(spans), flags
        elif t == _NEXT_HOP:
            if not classic_nlri:
                # RFC 4760 §3: ignored without classic NLRI; kept unless malformed.
                if ln != 4:
                    sub, action, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, _DISCARD, "NEXT_HOP"
            elif ln != 4:
                sub, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, "NEXT_HOP length is not 4"
            else:
                a = data[vs]
                if a >= 224 and (a < 240 or data[vs:ve] == b"\xff\xff\xff\xff"):
                    sub, why = UpdateSub.INVALID_NEXT_HOP_ATTRIBUTE, "multicast/broadcast"
                elif data[vs:ve] == b"\x00\x00\x00\x00":
                    sub, why = UpdateSub.INVALID_NEXT_HOP_ATTRIBUTE, "NEXT_HOP 0.0.0.0"
        elif t == _MULTI_EXIT_DISC:
            if ln != 4:
                sub, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, "MULTI_EXIT_DISC length is not 4"
        elif t == _LOCAL_PREF:
            if not ibgp:  # RFC 4271 §5.1.5, RFC 7606 §7.5
                o = ve
                continue
            if ln != 4:
                sub, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, "LOCAL_PREF length is not 4"
        elif t in _UNIT:
            if t == _CLUSTER_LIST and not ibgp:
                sub, action, why = UpdateSub.OPTIONAL_ATTRIBUTE_ERROR, _DISCARD, "from eBGP"
            elif ln == 0 or ln % _UNIT[t]:
                sub, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, f"length {ln} of attribute {t}"
        elif t == _ORIGINATOR_ID:
            if not ibgp:
                sub, action, why = UpdateSub.OPTIONAL_ATTRIBUTE_ERROR, _DISCARD, "from eBGP"
            elif ln != 4:
                sub, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, "ORIGINATOR_ID length is not 4"
        elif t == _ATOMIC_AGGREGATE:
            if ln != 0:
                sub, action, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, _DISCARD, "not empty"
        elif t == _AGGREGATOR:
            if ln != (8 if as4 else 6):
                sub, action, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, _DISCARD, "AGGREGATOR"
            elif data[vs : vs + (4 if as4 else 2)].count(0) == (4 if as4 else 2):
                sub, action, why = UpdateSub.OPTIONAL_ATTRIBUTE_ERROR, _DISCARD, "AS 0"
            elif not as4:
                aggr, aggr_at, aggr_flags = b"\0\0" + data[vs:ve], len(spans), flags
        elif t in _MP_TYPES:
            if t == _MP_REACH_NLRI:
                res.mp_reach = (o, vs, ve)
            else:
                res.mp_unreach = (o, vs, ve)
            o = ve
            continue
        elif t == _AS4_PATH:
            action = _DISCARD
            sub = UpdateSub.OPTIONAL_ATTRIBUTE_ERROR
            if as4:
                why = "AS4_PATH from a 4-octet AS speaker"
            else:
                p4 = decode_as_path(data, vs, ve, 4)
                if _path_ok(p4, False):
                    as4_path, sub = p4, 0
                else:
                    why = "malformed AS4_PATH"
            if not sub:
                o = ve
                continue
        elif t == _AS4_AGGREGATOR:
            action = _DISCARD
            sub = UpdateSub.OPTIONAL_ATTRIBUTE_ERROR
            if as4:
                why = "AS4_AGGREGATOR from a 4-octet AS speaker"
            elif ln != 8:
                sub, why = UpdateSub.ATTRIBUTE_LENGTH_ERROR, "AS4_AGGREGATOR length is not 8"
            elif data[vs : vs + 4] == b"\0\0\0\0":
                why = "AS4_AGGREGATOR with AS 0"
            else:
                as4_aggr = data[vs:ve]
                o = ve
                continue
        if sub:
            errors.append(
                BGPError(
                    _UPDATE,
                    sub,
                    b"" if sub == UpdateSub.MALFORMED_AS_PATH else data[o:ve],
                    action=action,
                    offset=o,
                    reason=why,
                )
            )
            twd = twd or action == _TAW
        else:
            spans.append((o, ve))
        o = ve

    if not as4:
        _merge_as4(
            res,
            as_path,
            as4_path,
            aggr,
            as4_aggr,
            repl,
            as_path_at,
            aggr_at,
            as_path_flags,
            aggr_flags,
            start,
        )
    res.treat_as_withdraw = twd
    res.block = _join(data, spans, repl)
    return res


def _merge_as4(
    res: AttrScan,
    as_path: AsPath | None,
    as4_path: AsPath | None,
    aggr: bytes | None,
    as4_aggr: bytes | None,
    repl: dict[int, bytes],
    as_path_at: int,
    aggr_at: int,
    as_path_flags: int,
    aggr_flags: int,
    start: int,
) -> None:
    """RFC 6793 §4.2.3 for a 2-octet-AS peer: rebuild 4-octet AS_PATH and AGGREGATOR."""
    if as4_aggr is not None:
        if aggr is None or int.from_bytes(aggr[:4], "big") != AS_TRANS:
            # AGGREGATOR absent or not AS_TRANS: AS4_AGGREGATOR and AS4_PATH are ignored.
            reason = "AS4_AGGREGATOR ignored: AGGREGATOR is not AS_TRANS"
            res.errors.append(
                BGPError(
                    _UPDATE,
                    UpdateSub.OPTIONAL_ATTRIBUTE_ERROR,
                    action=_DISCARD,
                    offset=start,
                    reason=reason,
                )
            )
            as4_path = None
        else:
            aggr = as4_aggr
    if aggr is not None:
        repl[aggr_at] = encode_attribute(aggr_flags & ~0x10, _AGGREGATOR, aggr)
    if as_path is not None:
        path = as_path
        if as4_path is not None:
            path = merge_as4_path(as_path, as4_path)
        repl[as_path_at] = encode_attribute(as_path_flags & ~0x10, _AS_PATH, encode_as_path(path))


def _join(data: bytes, spans: list[tuple[int, int]], repl: dict[int, bytes]) -> bytes:
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
