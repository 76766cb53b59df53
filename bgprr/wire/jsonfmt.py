"""BGP messages <-> JSON: the schema of ``bgprr decode`` (documented in docs/decode.md).

:func:`message_to_json` describes one whole message (header included) as a dict of plain
JSON values; :func:`json_to_message` turns such a dict back into the exact same bytes.
Decoded fields are what ``json_to_message`` encodes from; wherever re-encoding the decoded
fields would not reproduce the received octets (reserved bits set, host bits set in a
prefix, an attribute that does not parse, ...) the raw octets are kept as ``"hex"`` and
take precedence when encoding. Display only: this module is not on any hot path.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from typing import Any

from .attributes import encode_attribute, parse_attributes
from .capabilities import (
    FQDN,
    AddPath,
    AddPathFamily,
    Capability,
    EnhancedRouteRefresh,
    ExtendedMessage,
    ExtendedNextHop,
    ExtendedNextHopEntry,
    FourOctetAS,
    GracefulRestart,
    GracefulRestartFamily,
    LLGRFamily,
    LongLivedGracefulRestart,
    MultiProtocol,
    RouteRefreshCap,
    UnknownCapability,
    capability_code,
    capability_name,
    decode_capability,
    encode_capability,
)
from .constants import (
    AFI,
    FAMILY_NAMES,
    HEADER_LEN,
    MARKER,
    AttrFlag,
    AttrType,
    MsgType,
    OptParamType,
    RouteRefreshSubtype,
    SegmentType,
)
from .errors import BGPError, code_name, subcode_name
from .messages import Notification, check_header, shutdown_message
from .prefix import decode_prefixes, encode_prefixes, key_to_str, parse_prefix

JSONDict = dict[str, Any]

__all__ = ["capability_to_json", "json_to_message", "message_to_json"]


def _family(afi: int, safi: int) -> str:
    return FAMILY_NAMES.get((afi, safi), f"afi{afi}-safi{safi}")


def _ip(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw))


def _ip_bytes(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def _header(mtype: int, body: bytes) -> bytes:
    return MARKER + (HEADER_LEN + len(body)).to_bytes(2, "big") + bytes([mtype])


# ======================================================================================
# Capabilities
# ======================================================================================

_MODES = {1: "receive", 2: "send", 3: "both"}
_MODE_NUMS = {v: k for k, v in _MODES.items()}


def _cap_fields(cap: Capability) -> JSONDict:
    if isinstance(cap, MultiProtocol):
        return {"afi": cap.afi, "safi": cap.safi, "family": _family(cap.afi, cap.safi)}
    if isinstance(cap, GracefulRestart):
        fams = [{"afi": f.afi, "safi": f.safi, "forwarding": f.forwarding} for f in cap.families]
        return {
            "restart": cap.restart,
            "notification": cap.notification,
            "time": cap.time,
            "families": fams,
        }
    if isinstance(cap, FourOctetAS):
        return {"asn": cap.asn}
    if isinstance(cap, AddPath):
        return {
            "families": [
                {"afi": f.afi, "safi": f.safi, "mode": _MODES[f.mode]} for f in cap.families
            ]
        }
    if isinstance(cap, LongLivedGracefulRestart):
        return {
            "families": [
                {
                    "afi": f.afi,
                    "safi": f.safi,
                    "forwarding": f.forwarding,
                    "stale_time": f.stale_time,
                }
                for f in cap.families
            ]
        }
    if isinstance(cap, ExtendedNextHop):
        return {
            "entries": [
                {"afi": e.afi, "safi": e.safi, "nexthop_afi": e.nexthop_afi} for e in cap.entries
            ]
        }
    if isinstance(cap, FQDN):
        return {"hostname": cap.hostname, "domain": cap.domain}
    if isinstance(cap, UnknownCapability):
        return {"hex": cap.data.hex()}
    return {}


def _cap_to_json(code: int, value: bytes) -> JSONDict:
    cap = decode_capability(code, value)
    out: JSONDict = {"code": code, "name": capability_name(code)}
    out.update(_cap_fields(cap))
    if encode_capability(cap)[2:] != value:
        out["hex"] = value.hex()
    return out


def _cap_from_json(obj: JSONDict) -> bytes:
    code = int(obj["code"])
    if "hex" in obj:
        value = bytes.fromhex(obj["hex"])
        return bytes([code, len(value)]) + value
    return encode_capability(_cap_build(code, obj))


_SIMPLE_CAPS: dict[int, Callable[[], Capability]] = {
    2: RouteRefreshCap,
    6: ExtendedMessage,
    70: EnhancedRouteRefresh,
}


def _cap_build(code: int, o: JSONDict) -> Capability:
    if code in _SIMPLE_CAPS:
        return _SIMPLE_CAPS[code]()
    if code == 1:
        return MultiProtocol(afi=o["afi"], safi=o["safi"])
    if code == 64:
        fams = tuple(
            GracefulRestartFamily(afi=f["afi"], safi=f["safi"], forwarding=f["forwarding"])
            for f in o["families"]
        )
        return GracefulRestart(
            restart=o["restart"], notification=o["notification"], time=o["time"], families=fams
        )
    if code == 65:
        return FourOctetAS(asn=o["asn"])
    if code == 69:
        return AddPath(
            families=tuple(
                AddPathFamily(afi=f["afi"], safi=f["safi"], mode=_MODE_NUMS[f["mode"]])
                for f in o["families"]
            )
        )
    if code == 71:
        return LongLivedGracefulRestart(
            families=tuple(
                LLGRFamily(
                    afi=f["afi"],
                    safi=f["safi"],
                    forwarding=f["forwarding"],
                    stale_time=f["stale_time"],
                )
                for f in o["families"]
            )
        )
    if code == 5:
        return ExtendedNextHop(
            entries=tuple(
                ExtendedNextHopEntry(afi=e["afi"], safi=e["safi"], nexthop_afi=e["nexthop_afi"])
                for e in o["entries"]
            )
        )
    if code == 73:
        return FQDN(hostname=o["hostname"], domain=o["domain"])
    raise ValueError(f'capability {code} needs its value as "hex"')


# ======================================================================================
# OPEN
# ======================================================================================

_OPEN = struct.Struct("!BHHIB")


def _open_to_json(msg: bytes) -> JSONDict:
    version, my_as, hold, bgp_id, opt_len = _OPEN.unpack_from(msg, HEADER_LEN)
    pos = 29
    size = 1
    extended = bool(opt_len) and len(msg) > pos and msg[pos] == OptParamType.EXTENDED_LENGTH
    if extended:
        pos, size = pos + 3, 2
    params: list[JSONDict] = []
    caps: list[JSONDict] = []
    while pos < len(msg):
        ptype = msg[pos]
        plen = int.from_bytes(msg[pos + 1 : pos + 1 + size], "big")
        value = msg[pos + 1 + size : pos + 1 + size + plen]
        pos += 1 + size + plen
        if ptype != OptParamType.CAPABILITIES:
            params.append({"type": ptype, "hex": value.hex()})
            continue
        group: list[JSONDict] = []
        i = 0
        while i < len(value):
            clen = value[i + 1]
            group.append(_cap_to_json(value[i], value[i + 2 : i + 2 + clen]))
            i += 2 + clen
        params.append({"type": ptype, "count": len(group)})
        caps.extend(group)
    out: JSONDict = {
        "version": version,
        "my_as": my_as,
        "hold_time": hold,
        "bgp_id": _ip(bgp_id.to_bytes(4, "big")),
        "capabilities": caps,
    }
    if extended:
        out["extended_params"] = True
        out["opt_param_len"] = opt_len
    if params != _default_params(len(caps)):
        out["params"] = params
    return out


def _default_params(count: int) -> list[JSONDict]:
    """The parameter layout assumed when "params" is absent: one capabilities parameter."""
    return [{"type": int(OptParamType.CAPABILITIES), "count": count}] if count else []


def _open_from_json(o: JSONDict) -> bytes:
    caps = [_cap_from_json(c) for c in o.get("capabilities", [])]
    groups = o.get("params")
    if groups is None:
        groups = _default_params(len(caps))
    values: list[tuple[int, bytes]] = []
    used = 0
    for g in groups:
        if "hex" in g:
            values.append((int(g["type"]), bytes.fromhex(g["hex"])))
        else:
            n = int(g["count"])
            values.append((int(g["type"]), b"".join(caps[used : used + n])))
            used += n
    if used != len(caps):
        raise ValueError("params counts do not add up to the capabilities")
    extended = bool(o.get("extended_params", False))
    size = 2 if extended else 1
    params = b"".join(bytes([t]) + len(v).to_bytes(size, "big") + v for t, v in values)
    if extended:
        opt_len = int(o.get("opt_param_len", 255))
        params = bytes([OptParamType.EXTENDED_LENGTH]) + len(params).to_bytes(2, "big") + params
    else:
        opt_len = len(params)
    bgp_id = int.from_bytes(_ip_bytes(o["bgp_id"]), "big")
    body = _OPEN.pack(o.get("version", 4), o["my_as"], o["hold_time"], bgp_id, opt_len) + params
    return _header(MsgType.OPEN, body) + body


# ======================================================================================
# UPDATE
# ======================================================================================


class _Ctx:
    __slots__ = ("addpath", "as4")

    def __init__(self, as4: bool, addpath: frozenset[tuple[int, int]]) -> None:
        self.as4 = as4
        self.addpath = addpath


def _prefixes_to_json(raw: bytes, afi: int, addpath: bool) -> tuple[list[Any], bool]:
    """Prefix list (strings, or objects with path_id) and whether it re-encodes exactly."""
    keys, ids = decode_prefixes(raw, 0, len(raw), afi, addpath)
    exact = encode_prefixes(keys, ids, afi) == raw
    if ids is None:
        return [key_to_str(k, afi) for k in keys], exact
    return [
        {"prefix": key_to_str(k, afi), "path_id": p} for k, p in zip(keys, ids, strict=True)
    ], exact


def _prefixes_from_json(items: list[Any]) -> bytes:
    if not items:
        return b""
    keys: list[int] = []
    ids: list[int] | None = [] if isinstance(items[0], dict) else None
    afi = 0
    for item in items:
        text = item["prefix"] if isinstance(item, dict) else item
        afi, key = parse_prefix(text)
        keys.append(key)
        if ids is not None:
            ids.append(int(item["path_id"]))
    return encode_prefixes(keys, ids, afi)


_ORIGINS = ["IGP", "EGP", "INCOMPLETE"]


def _segments(value: bytes, width: int) -> list[JSONDict]:
    segs: list[JSONDict] = []
    i = 0
    while i < len(value):
        stype, count = value[i], value[i + 1]
        end = i + 2 + count * width
        if end > len(value):
            raise ValueError("AS_PATH segment overruns the attribute")
        asns = [int.from_bytes(value[j : j + width], "big") for j in range(i + 2, end, width)]
        segs.append({"type": SegmentType(stype).name, "asns": asns})
        i = end
    return segs


def _segments_bytes(segs: list[JSONDict], width: int) -> bytes:
    out = bytearray()
    for s in segs:
        out += bytes([SegmentType[s["type"]], len(s["asns"])])
        for asn in s["asns"]:
            out += int(asn).to_bytes(width, "big")
    return bytes(out)


def _ext_community(raw: bytes) -> JSONDict:
    out: JSONDict = {"hex": raw.hex()}
    high, sub = raw[0] & 0xBF, raw[1]
    kind = {2: "route-target", 3: "route-origin"}.get(sub)
    if kind is None or high > 2:
        return out
    if high == 0:
        value = f"{int.from_bytes(raw[2:4], 'big')}:{int.from_bytes(raw[4:8], 'big')}"
    elif high == 1:
        value = f"{_ip(raw[2:6])}:{int.from_bytes(raw[6:8], 'big')}"
    else:
        value = f"{int.from_bytes(raw[2:6], 'big')}:{int.from_bytes(raw[6:8], 'big')}"
    out.update(type=kind, value=value)
    return out


def _ip4(value: bytes) -> str:
    if len(value) != 4:
        raise ValueError("length is not 4")
    return _ip(value)


def _u32(value: bytes) -> int:
    if len(value) != 4:
        raise ValueError("length is not 4")
    return int.from_bytes(value, "big")


def _split(value: bytes, size: int) -> list[bytes]:
    if len(value) % size:
        raise ValueError(f"length {len(value)} is not a multiple of {size}")
    return [value[i : i + size] for i in range(0, len(value), size)]


def _mp_reach(value: bytes, ctx: _Ctx) -> JSONDict:
    afi, safi, nhlen = struct.unpack_from("!HBB", value, 0)
    nh = value[4 : 4 + nhlen]
    if len(nh) != nhlen or len(value) < 5 + nhlen:
        raise ValueError("next hop overruns the attribute")
    hops: list[str] | None = None
    if nhlen in (4, 16):
        hops = [_ip(nh)]
    elif nhlen == 32:
        hops = [_ip(nh[:16]), _ip(nh[16:])]
    out: JSONDict = {"afi": afi, "safi": safi, "family": _family(afi, safi)}
    out["next_hop"] = hops if hops is not None else nh.hex()
    out["reserved"] = value[4 + nhlen]
    nlri, _ = _prefixes_to_json(value[5 + nhlen :], afi, (afi, safi) in ctx.addpath)
    out["nlri"] = nlri
    return out


def _mp_reach_bytes(o: JSONDict) -> bytes:
    hops = o["next_hop"]
    nh = b"".join(_ip_bytes(h) for h in hops) if isinstance(hops, list) else bytes.fromhex(hops)
    head = struct.pack("!HBB", o["afi"], o["safi"], len(nh)) + nh + bytes([o.get("reserved", 0)])
    return head + _prefixes_from_json(o["nlri"])


def _mp_unreach(value: bytes, ctx: _Ctx) -> JSONDict:
    afi, safi = struct.unpack_from("!HB", value, 0)
    wd, _ = _prefixes_to_json(value[3:], afi, (afi, safi) in ctx.addpath)
    return {"afi": afi, "safi": safi, "family": _family(afi, safi), "withdrawn": wd}


def _mp_unreach_bytes(o: JSONDict) -> bytes:
    return struct.pack("!HB", o["afi"], o["safi"]) + _prefixes_from_json(o["withdrawn"])


def _aggregator(value: bytes, width: int) -> JSONDict:
    if len(value) != width + 4:
        raise ValueError(f"length {len(value)} is not {width + 4}")
    return {"asn": int.from_bytes(value[:width], "big"), "address": _ip(value[width:])}


def _attr_fields(atype: int, value: bytes, ctx: _Ctx) -> JSONDict:
    """Decoded fields of one attribute value; raises ValueError/IndexError/KeyError if bad."""
    width = 4 if ctx.as4 else 2
    if atype == AttrType.ORIGIN:
        if len(value) != 1:
            raise ValueError("length is not 1")
        return {"origin": _ORIGINS[value[0]]}
    if atype in (AttrType.AS_PATH, AttrType.AS4_PATH):
        return {"segments": _segments(value, 4 if atype == AttrType.AS4_PATH else width)}
    if atype == AttrType.NEXT_HOP:
        return {"next_hop": _ip4(value)}
    if atype == AttrType.MULTI_EXIT_DISC:
        return {"med": _u32(value)}
    if atype == AttrType.LOCAL_PREF:
        return {"local_pref": _u32(value)}
    if atype == AttrType.ATOMIC_AGGREGATE:
        if value:
            raise ValueError("ATOMIC_AGGREGATE is not empty")
        return {}
    if atype in (AttrType.AGGREGATOR, AttrType.AS4_AGGREGATOR):
        return _aggregator(value, 4 if atype == AttrType.AS4_AGGREGATOR else width)
    if atype == AttrType.COMMUNITIES:
        return {
            "communities": [
                f"{int.from_bytes(c[:2], 'big')}:{int.from_bytes(c[2:], 'big')}"
                for c in _split(value, 4)
            ]
        }
    if atype == AttrType.ORIGINATOR_ID:
        return {"originator_id": _ip4(value)}
    if atype == AttrType.CLUSTER_LIST:
        return {"cluster_list": [_ip(c) for c in _split(value, 4)]}
    if atype == AttrType.MP_REACH_NLRI:
        return _mp_reach(value, ctx)
    if atype == AttrType.MP_UNREACH_NLRI:
        return _mp_unreach(value, ctx)
    if atype == AttrType.EXTENDED_COMMUNITIES:
        return {"extended_communities": [_ext_community(c) for c in _split(value, 8)]}
    if atype == AttrType.LARGE_COMMUNITIES:
        return {
            "large_communities": [
                ":".join(str(int.from_bytes(c[i : i + 4], "big")) for i in (0, 4, 8))
                for c in _split(value, 12)
            ]
        }
    raise KeyError(atype)


def _attr_value(atype: int, o: JSONDict, as4: bool) -> bytes:
    """Encode an attribute value from its decoded JSON fields."""
    width = 4 if as4 else 2
    if atype == AttrType.ORIGIN:
        return bytes([_ORIGINS.index(o["origin"])])
    if atype in (AttrType.AS_PATH, AttrType.AS4_PATH):
        return _segments_bytes(o["segments"], 4 if atype == AttrType.AS4_PATH else width)
    if atype == AttrType.NEXT_HOP:
        return _ip_bytes(o["next_hop"])
    if atype == AttrType.MULTI_EXIT_DISC:
        return int(o["med"]).to_bytes(4, "big")
    if atype == AttrType.LOCAL_PREF:
        return int(o["local_pref"]).to_bytes(4, "big")
    if atype == AttrType.ATOMIC_AGGREGATE:
        return b""
    if atype in (AttrType.AGGREGATOR, AttrType.AS4_AGGREGATOR):
        w = 4 if atype == AttrType.AS4_AGGREGATOR else width
        return int(o["asn"]).to_bytes(w, "big") + _ip_bytes(o["address"])
    if atype == AttrType.COMMUNITIES:
        return b"".join(
            int(a).to_bytes(2, "big") + int(b).to_bytes(2, "big")
            for a, b in (c.split(":") for c in o["communities"])
        )
    if atype == AttrType.ORIGINATOR_ID:
        return _ip_bytes(o["originator_id"])
    if atype == AttrType.CLUSTER_LIST:
        return b"".join(_ip_bytes(c) for c in o["cluster_list"])
    if atype == AttrType.MP_REACH_NLRI:
        return _mp_reach_bytes(o)
    if atype == AttrType.MP_UNREACH_NLRI:
        return _mp_unreach_bytes(o)
    if atype == AttrType.EXTENDED_COMMUNITIES:
        return b"".join(bytes.fromhex(c["hex"]) for c in o["extended_communities"])
    if atype == AttrType.LARGE_COMMUNITIES:
        return b"".join(
            b"".join(int(x).to_bytes(4, "big") for x in c.split(":"))
            for c in o["large_communities"]
        )
    raise ValueError(f'attribute type {atype} needs its value as "hex"')


def _flag_names(flags: int) -> list[str]:
    return [f.name for f in reversed(AttrFlag) if flags & f and f.name is not None]


def _attr_to_json(flags: int, atype: int, value: bytes, ctx: _Ctx) -> JSONDict:
    try:
        name = AttrType(atype).name
    except ValueError:
        name = f"UNKNOWN_{atype}"
    out: JSONDict = {"type": atype, "name": name, "flags": flags, "flag_names": _flag_names(flags)}
    try:
        fields = _attr_fields(atype, value, ctx)
    except (ValueError, IndexError, KeyError, struct.error, BGPError):
        out["hex"] = value.hex()
        return out
    out.update(fields)
    try:
        same = _attr_value(atype, out, ctx.as4) == value
    except (ValueError, KeyError):
        same = False
    if not same:
        out["hex"] = value.hex()
    return out


def _update_to_json(msg: bytes, ctx: _Ctx) -> JSONDict:
    pos = HEADER_LEN
    wlen = int.from_bytes(msg[pos : pos + 2], "big")
    wraw = msg[pos + 2 : pos + 2 + wlen]
    pos += 2 + wlen
    alen = int.from_bytes(msg[pos : pos + 2], "big")
    block = msg[pos + 2 : pos + 2 + alen]
    nraw = msg[pos + 2 + alen :]
    v4_addpath = (1, 1) in ctx.addpath
    out: JSONDict = {"as4": ctx.as4}
    out["withdrawn"], exact = _prefixes_to_json(wraw, AFI.IPV4, v4_addpath)
    if not exact:
        out["withdrawn_hex"] = wraw.hex()
    try:
        parsed = parse_attributes(block)
    except BGPError as exc:  # unparsable block (RFC 7606 treat-as-withdraw): keep it raw
        parsed = []
        out["attributes_error"] = exc.with_offset(pos + 2).describe()
    attrs = [_attr_to_json(a.flags, a.type, bytes(a.value), ctx) for a in parsed]
    out["attributes"] = attrs
    if b"".join(_attr_from_json(a, ctx.as4) for a in attrs) != block:
        out["attributes_hex"] = block.hex()
    out["nlri"], exact = _prefixes_to_json(nraw, AFI.IPV4, v4_addpath)
    if not exact:
        out["nlri_hex"] = nraw.hex()
    return out


def _attr_from_json(a: JSONDict, as4: bool) -> bytes:
    atype = int(a["type"])
    value = bytes.fromhex(a["hex"]) if "hex" in a else _attr_value(atype, a, as4)
    return encode_attribute(int(a["flags"]), atype, value)


def _update_from_json(o: JSONDict) -> bytes:
    as4 = bool(o.get("as4", True))
    wd = bytes.fromhex(o["withdrawn_hex"]) if "withdrawn_hex" in o else None
    if wd is None:
        wd = _prefixes_from_json(o.get("withdrawn", []))
    if "attributes_hex" in o:
        block = bytes.fromhex(o["attributes_hex"])
    else:
        block = b"".join(_attr_from_json(a, as4) for a in o.get("attributes", []))
    nlri = bytes.fromhex(o["nlri_hex"]) if "nlri_hex" in o else None
    if nlri is None:
        nlri = _prefixes_from_json(o.get("nlri", []))
    body = len(wd).to_bytes(2, "big") + wd + len(block).to_bytes(2, "big") + block + nlri
    return _header(MsgType.UPDATE, body) + body


# ======================================================================================
# Whole messages
# ======================================================================================


def message_to_json(
    msg: bytes | bytearray | memoryview,
    *,
    as4: bool = True,
    addpath: frozenset[tuple[int, int]] = frozenset(),
) -> JSONDict:
    """Describe one whole message as JSON values (schema: docs/decode.md).

    The message is expected to have passed :func:`bgprr.wire.messages.decode_message`;
    ``as4`` says how AS_PATH/AGGREGATOR are read, ``addpath`` which families carry
    ADD-PATH identifiers.
    """
    raw = bytes(msg)
    length, mtype = check_header(raw, 0, max_len=65535)
    out: JSONDict = {"type": MsgType(mtype).name, "length": length}
    if mtype == MsgType.OPEN:
        out.update(_open_to_json(raw))
    elif mtype == MsgType.UPDATE:
        out.update(_update_to_json(raw, _Ctx(as4, addpath)))
    elif mtype == MsgType.NOTIFICATION:
        code, sub, data = raw[19], raw[20], raw[21:]
        out.update(
            code=code,
            subcode=sub,
            code_name=code_name(code),
            subcode_name=subcode_name(code, sub),
            data=data.hex(),
        )
        text = shutdown_message(Notification(code=code, subcode=sub, data=data))
        if text is not None:
            out["shutdown_message"] = text
    elif mtype == MsgType.ROUTE_REFRESH:
        afi, sub, safi = struct.unpack_from("!HBB", raw, HEADER_LEN)
        out.update(afi=afi, safi=safi, family=_family(afi, safi), subtype=sub)
        try:
            out["subtype_name"] = RouteRefreshSubtype(sub).name
        except ValueError:
            out["subtype_name"] = f"UNKNOWN_{sub}"
    return out


def json_to_message(obj: JSONDict) -> bytes:
    """Encode a :func:`message_to_json` dict back to its exact message bytes.

    Raises ``ValueError``/``KeyError``/``TypeError`` when the dict does not follow the schema.
    """
    mtype = MsgType[obj["type"]]
    if mtype == MsgType.KEEPALIVE:
        return _header(mtype, b"")
    if mtype == MsgType.OPEN:
        return _open_from_json(obj)
    if mtype == MsgType.UPDATE:
        return _update_from_json(obj)
    if mtype == MsgType.NOTIFICATION:
        body = bytes([obj["code"], obj["subcode"]]) + bytes.fromhex(obj.get("data", ""))
    else:
        body = struct.pack("!HBB", obj["afi"], obj.get("subtype", 0), obj["safi"])
    return _header(mtype, body) + body


def capability_to_json(cap: Capability) -> JSONDict:
    """JSON form of one decoded capability (for callers holding an ``Open``)."""
    return _cap_to_json(capability_code(cap), encode_capability(cap)[2:])
