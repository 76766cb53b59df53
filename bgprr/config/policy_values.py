"""The values of GoBGP's policy keys: text in, checked value out (or `BadValue`).

Each function reads one kind of value the way gobgpd 3.10 does
(internal/pkg/table/policy.go, pkg/packet/bgp) and refuses what gobgpd would refuse.
Where gobgpd silently changes a wrong value (an AS number that does not fit 16 bits
becomes 65535, a bad next-hop-in-list entry drops the whole condition), bgprr refuses
it instead; docs/policy.md lists those cases.
"""

from __future__ import annotations

import ipaddress
import re

from bgprr.config.policy_model import (
    MedAction,
    Network,
    NextHopAction,
    NextHopMode,
    PrefixEntry,
    SingleAsMatch,
    SingleAsMode,
)
from bgprr.config.schema import NOT_SUPPORTED, BadValue, show

__all__ = [
    "AS_PATH_MAGIC",
    "as_path_entry",
    "check_pattern",
    "community_pattern",
    "ext_community_pattern",
    "large_community_pattern",
    "parse_community",
    "parse_ext_community",
    "parse_large_community",
    "parse_med",
    "parse_network",
    "parse_next_hop",
    "parse_prefix_entry",
    "parse_prepend_as",
]

U16 = 0xFFFF
U32 = 0xFFFFFFFF

#: What gobgpd puts in place of every ``_`` of an as-path regular expression.
AS_PATH_MAGIC = "(^|[,{}() ]|$)"

#: Well-known communities by gobgpd's names (pkg/packet/bgp WellKnownCommunityNameMap).
WELL_KNOWN: dict[str, int] = {
    "internet": 0x00000000,
    "planned-shut": 0xFFFF0000,
    "accept-own": 0xFFFF0001,
    "route-filter-translated-v4": 0xFFFF0002,
    "route-filter-v4": 0xFFFF0003,
    "route-filter-translated-v6": 0xFFFF0004,
    "route-filter-v6": 0xFFFF0005,
    "llgr-stale": 0xFFFF0006,
    "no-llgr": 0xFFFF0007,
    "blackhole": 0xFFFF029A,
    "no-export": 0xFFFFFF01,
    "no-advertise": 0xFFFFFF02,
    "no-export-subconfed": 0xFFFFFF03,
    "no-peer": 0xFFFFFF04,
}

#: Extended community subtypes bgprr matches and sets (RFC 4360 §5).
EXT_SUBTYPES: dict[str, int] = {"rt": 0x02, "soo": 0x03}

_DIGITS = re.compile(r"[0-9]+")
_MASK_RANGE = re.compile(r"([0-9]+)\.\.([0-9]+)")
_COMMUNITY = re.compile(r"([0-9]+):([0-9]+)")
_COMMUNITY_LIKE = re.compile(r"^([0-9]+.)*[0-9]+:[0-9]+$")  # gobgpd's, "." unescaped
_LARGE_LIKE = re.compile(r"[0-9]+:[0-9]+:[0-9]+")
_MED = re.compile(r"([+-]?)([0-9]+)")
_SINGLE_AS = (
    (re.compile(r"\^([0-9]+)_"), SingleAsMode.LEFT_MOST),
    (re.compile(r"_([0-9]+)\$"), SingleAsMode.ORIGIN),
    (re.compile(r"_([0-9]+)_"), SingleAsMode.INCLUDE),
    (re.compile(r"\^([0-9]+)\$"), SingleAsMode.ONLY),
)
_EXT_VALUE = re.compile(
    r"(?:(?P<ip>[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)|(?:(?P<hi>[0-9]+)\.)?(?P<as>[0-9]+)):"
    r"(?P<local>[0-9]+)"
)


def _u(text: str, limit: int, what: str) -> int:
    if not _DIGITS.fullmatch(text):
        raise BadValue(f"{show(text)}: {what} is not a decimal number")
    value = int(text)
    if value > limit:
        raise BadValue(f"{what} {value} is out of range 0..{limit}")
    return value


def check_pattern(pattern: str, written: str) -> str:
    """``pattern`` if Python's ``re`` compiles it, else `BadValue` naming ``written``."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise BadValue(f"{show(written)} is not a valid regular expression: {exc}") from None
    return pattern


def parse_network(text: str) -> Network:
    """An address (a host) or a prefix; host bits of a prefix are cleared (as Go's
    ``net.ParseCIDR`` does)."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise BadValue(f"{show(text)} is not an IP address or prefix") from None
    return Network(1 if net.version == 4 else 2, int(net.network_address), net.prefixlen)


def parse_prefix_entry(ip_prefix: str, masklength_range: str | None) -> PrefixEntry:
    """One ``prefix-list`` entry.  Without a masklength-range only the prefix's own
    length matches."""
    if "/" not in ip_prefix:
        raise BadValue(f"{show(ip_prefix)} is not a prefix (expected address/length)")
    network = parse_network(ip_prefix)
    bits = 32 if network.afi == 1 else 128
    if masklength_range is None or masklength_range == "":
        low = high = network.length
        text = ip_prefix
    else:
        found = _MASK_RANGE.fullmatch(masklength_range.strip())
        if found is None:
            raise BadValue(f"{show(masklength_range)} is not a range MIN..MAX")
        low, high = int(found.group(1)), int(found.group(2))
        if high > bits:
            raise BadValue(f"{show(masklength_range)}: {high} is longer than {bits} bits")
        if low > high:
            raise BadValue(f"{show(masklength_range)}: {low} is more than {high}")
        text = f"{ip_prefix} {masklength_range}"
    return PrefixEntry(network, low, high, text)


def as_path_entry(text: str) -> SingleAsMatch | str:
    """An as-path set entry: one of gobgpd's fast forms, or a regular expression with
    every ``_`` replaced by `AS_PATH_MAGIC`."""
    for form, mode in _SINGLE_AS:
        found = form.fullmatch(text)
        if found is not None:
            return SingleAsMatch(mode, _u(found.group(1), U32, "AS number"))
    return check_pattern(text.replace("_", AS_PATH_MAGIC), text)


def community_pattern(text: str) -> str:
    """A community-set entry (or a set-community remove entry) as gobgpd reads it: a
    32-bit number or ``A:B`` (anchored), a well-known name, else a regular expression."""
    if _DIGITS.fullmatch(text) and int(text) <= U32:
        value = int(text)
        return f"^{value >> 16}:{value & U16}$"
    if _COMMUNITY_LIKE.search(text):
        return check_pattern(f"^{text}$", text)
    known = WELL_KNOWN.get(text.lower().replace("_", "-"))
    if known is not None:
        return f"^{known >> 16}:{known & U16}$"
    return check_pattern(text, text)


def parse_community(text: str) -> int:
    """A community to add or set: a 32-bit number, ``A:B`` or a well-known name."""
    if _DIGITS.fullmatch(text):
        return _u(text, U32, "community")
    found = _COMMUNITY.fullmatch(text)
    if found is not None:
        high = _u(found.group(1), U16, "community AS part")
        low = _u(found.group(2), U16, "community value part")
        return (high << 16) | low
    known = WELL_KNOWN.get(text)
    if known is not None:
        return known
    raise BadValue(f"{show(text)} is not a community (expected A:B, a number or a name)")


def _ext_kind(text: str) -> tuple[int, str]:
    kind, sep, rest = text.partition(":")
    name = kind.lower()
    if not sep:
        raise BadValue(f"{show(text)} is not an extended community (expected rt:... or soo:...)")
    if name in ("encap", "lb"):
        raise BadValue(f"{show(text)}: {name} extended communities are {NOT_SUPPORTED}")
    subtype = EXT_SUBTYPES.get(name)
    if subtype is None:
        raise BadValue(f"{show(text)}: unknown extended community kind {show(kind)} (rt, soo)")
    return subtype, rest


def ext_community_pattern(text: str) -> tuple[int, str]:
    """An ext-community-set entry: ``rt:`` or ``soo:`` and a community pattern."""
    if text.lower() in ("valid", "not-found", "invalid"):
        raise BadValue(f"{show(text)}: origin validation states are {NOT_SUPPORTED}")
    subtype, rest = _ext_kind(text)
    return subtype, community_pattern(rest)


def parse_ext_community(text: str) -> bytes:
    """An extended community to add or set: ``rt:`` / ``soo:`` and ``AS:N`` (2-octet AS,
    32-bit N), ``A.B.C.D:N`` or ``X.Y:N`` (4-octet AS X*65536+Y), N 16 bits for both."""
    if text.lower() in ("valid", "not-found", "invalid"):
        raise BadValue(f"{show(text)}: origin validation states are {NOT_SUPPORTED}")
    subtype, rest = _ext_kind(text)
    found = _EXT_VALUE.fullmatch(rest)
    if found is None:
        raise BadValue(f"{show(text)} is not an extended community (AS:N, A.B.C.D:N or X.Y:N)")
    if found.group("ip") is not None:
        try:
            ip = ipaddress.IPv4Address(found.group("ip"))
        except ValueError:
            raise BadValue(f"{show(text)}: not a valid IPv4 address") from None
        local = _u(found.group("local"), U16, "local administrator")
        return bytes((0x01, subtype)) + ip.packed + local.to_bytes(2, "big")
    if found.group("hi") is not None:
        high = _u(found.group("hi"), U16, "4-octet AS high part")
        low = _u(found.group("as"), U16, "4-octet AS low part")
        local = _u(found.group("local"), U16, "local administrator")
        return (
            bytes((0x02, subtype))
            + ((high << 16) | low).to_bytes(4, "big")
            + (local.to_bytes(2, "big"))
        )
    asn = int(found.group("as"))
    if asn > U16:
        raise BadValue(
            f"{show(text)}: AS {asn} does not fit 2 octets (write it as "
            f"{asn >> 16}.{asn & U16}:N, the 4-octet AS form)"
        )
    local = _u(found.group("local"), U32, "local administrator")
    return bytes((0x00, subtype)) + asn.to_bytes(2, "big") + local.to_bytes(4, "big")


def large_community_pattern(text: str) -> str:
    """A large-community-set entry: ``A:B:C`` anywhere in it anchors the whole text,
    else the text is a regular expression (gobgpd 3.10)."""
    if _LARGE_LIKE.search(text):
        return check_pattern(f"^{text}$", text)
    return check_pattern(text, text)


def parse_large_community(text: str) -> tuple[int, int, int]:
    parts = text.split(":")
    if len(parts) != 3:
        raise BadValue(f"{show(text)} is not a large community (expected A:B:C)")
    a, b, c = (_u(part, U32, "large community part") for part in parts)
    return (a, b, c)


def parse_med(text: str) -> MedAction:
    """``"100"`` sets the MED; ``"+10"`` / ``"-10"`` add to it."""
    found = _MED.fullmatch(text)
    if found is None:
        raise BadValue(f"{show(text)} is not a MED action (N, +N or -N)")
    magnitude = _u(found.group(2), U32, "MED")
    sign = found.group(1)
    return MedAction(-magnitude if sign == "-" else magnitude, bool(sign), text)


def parse_next_hop(text: str) -> NextHopAction | None:
    """``self``, ``unchanged`` (any case), an address; ``""``: no action."""
    word = text.lower()
    if word == "":
        return None
    if word == "self":
        return NextHopAction(NextHopMode.SELF, written="self")
    if word == "unchanged":
        return NextHopAction(NextHopMode.UNCHANGED, written="unchanged")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise BadValue(f'{show(text)} is not an IP address, "self" or "unchanged"') from None
    return NextHopAction(NextHopMode.ADDRESS, 1 if ip.version == 4 else 2, int(ip), str(ip))


def parse_prepend_as(text: str) -> int | None:
    """An AS number, or ``last-as`` (None)."""
    if text == "last-as":
        return None
    if not _DIGITS.fullmatch(text):
        raise BadValue(f'{show(text)} is not an AS number or "last-as"')
    return _u(text, U32, "AS number")
