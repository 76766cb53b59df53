"""Which keys bgprr reads, of which type, and which GoBGP keys it refuses by name.

The trees below use GoBGP 3.10's key names.  A key is one of:

* a `Leaf` (a value with a `Kind`),
* a nested table (a dict),
* an `ArrayOf` tables (``[[neighbors]]``, ``[[neighbors.afi-safis]]``),
* a `Refused` GoBGP key: valid for gobgpd, not implemented by bgprr.  Refused keys are
  reported by name ("not supported by bgprr"), never silently ignored.

Anything else is an unknown key.  Leaf checking is a dispatch table from `Kind` to a
function that returns the canonical value or raises `BadValue`.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeAlias

from bgprr.config.model import Value

NOT_SUPPORTED = "not supported by bgprr"

#: afi-safi-name -> (afi, safi) for the families bgprr implements.
FAMILIES: Mapping[str, tuple[int, int]] = MappingProxyType(
    {"ipv4-unicast": (1, 1), "ipv6-unicast": (2, 1)}
)

#: GoBGP 3.10 family names bgprr refuses (valid for gobgpd).
GOBGP_OTHER_FAMILIES = frozenset(
    {
        "ipv4-labelled-unicast", "ipv6-labelled-unicast", "l3vpn-ipv4-unicast",
        "l3vpn-ipv6-unicast", "l3vpn-ipv4-multicast", "l3vpn-ipv6-multicast", "l2vpn-vpls",
        "l2vpn-evpn", "ipv4-multicast", "ipv6-multicast", "rtc", "ipv4-encap", "ipv6-encap",
        "ipv4-flowspec", "l3vpn-ipv4-flowspec", "ipv6-flowspec", "l3vpn-ipv6-flowspec",
        "l2vpn-flowspec", "opaque", "ls", "ipv4-srpolicy", "ipv6-srpolicy", "ipv4-mup",
        "ipv6-mup",
    }
)  # fmt: skip


class BadValue(Exception):
    """Raised by a leaf checker; the walker adds the file and key path."""


class Kind(enum.Enum):
    ASN = "asn"
    BOOL = "bool"
    STR = "str"
    PASSWORD = "password"
    SECONDS = "seconds"
    HOLD_TIME = "hold-time"
    ADDR = "addr"
    IPV4 = "ipv4"
    PORT = "port"
    LISTEN_PORT = "listen-port"
    TTL = "ttl"
    UINT8 = "uint8"
    UINT16 = "uint16"
    UINT32 = "uint32"
    GR_TIME = "gr-time"
    LLGR_TIME = "llgr-time"
    PERCENT = "percent"
    CLUSTER_ID = "cluster-id"
    FAMILY = "family"
    PREFIX = "prefix"
    ADDR_LIST = "addr-list"
    TRUE_ONLY = "true-only"
    ZERO_ONLY = "zero-only"
    RATE = "rate"
    PRIVATE_AS = "private-as"
    STR_LIST = "str-list"
    STR_OR_INT = "str-or-int"  # a GoBGP string key that also takes a number (set-med)
    FALSE_ONLY = "false-only"
    EMPTY_LIST = "empty-list"
    KERNEL_TABLE = "kernel-table"
    KERNEL_PROTOCOL = "kernel-protocol"


@dataclass(frozen=True, slots=True)
class Leaf:
    kind: Kind


@dataclass(frozen=True, slots=True)
class Refused:
    why: str = ""


@dataclass(frozen=True, slots=True)
class ArrayOf:
    table: Mapping[str, Node]


Node: TypeAlias = Leaf | Refused | ArrayOf | Mapping[str, "Node"]


def show(value: object) -> str:
    """How a wrong value is quoted in an error message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    if value is None:
        return "null"
    return type(value).__name__


def _int(value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"expected an integer, got {show(value)}")
    if not lo <= value <= hi:
        raise BadValue(f"{value} is out of range {lo}..{hi}")
    return value


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue(f"expected a number of seconds, got {show(value)}")
    if not math.isfinite(value) or value < 0:
        raise BadValue(f"expected a number of seconds >= 0, got {show(value)}")
    return float(value)


def _hold_time(value: object) -> int:
    secs = _seconds(value)
    if secs != int(secs):
        raise BadValue(f"expected a whole number of seconds, got {show(value)}")
    whole = int(secs)
    if whole > 65535:
        raise BadValue(f"{whole} is out of range 0..65535")
    if whole in (1, 2):
        raise BadValue(f"hold-time must be 0 or at least 3 seconds (RFC 4271), got {whole}")
    return whole


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise BadValue(f"expected true or false, got {show(value)}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise BadValue(f"expected a string, got {show(value)}")
    return value


MD5_KEY_MAX = 80  # bytes: TCP_MD5SIG_MAXKEYLEN, the longest TCP-MD5 key Linux takes


def _password(value: object) -> str:
    """A TCP-MD5 password: never quoted in an error (the key is a secret)."""
    if not isinstance(value, str):
        raise BadValue("expected a string (the value is not shown: it is a secret)")
    if len(value.encode()) > MD5_KEY_MAX:
        raise BadValue(
            f"longer than {MD5_KEY_MAX} bytes, the longest TCP-MD5 key Linux accepts "
            "(the value is not shown: it is a secret)"
        )
    return value


def _addr(value: object) -> str:
    text = _str(value)
    if "%" in text:
        raise BadValue(f"{show(text)}: interface-scoped addresses are {NOT_SUPPORTED}")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise BadValue(f"{show(text)} is not a valid IP address") from None


def _ipv4(value: object) -> str:
    text = _str(value)
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise BadValue(f"{show(text)} is not a valid IPv4 address") from None


def _cluster_id(value: object) -> str:
    """An IPv4 address, or a 32-bit integer written as a string (as GoBGP accepts)."""
    text = _str(value)
    if text.isdigit():
        number = int(text)
        if number > 0xFFFFFFFF:
            raise BadValue(f"{show(text)} is out of range 0..4294967295")
        return str(ipaddress.IPv4Address(number))
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise BadValue(
            f"{show(text)} is not an IPv4 address or a 32-bit unsigned integer"
        ) from None


def _prefix(value: object) -> str:
    text = _str(value)
    if "/" not in text:
        raise BadValue(f"{show(text)} is not a valid prefix (expected address/length)")
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise BadValue(f"{show(text)} is not a valid prefix") from None
    if str(net.network_address) != str(ipaddress.ip_address(text.split("/")[0])):
        raise BadValue(f"{show(text)} has host bits set (did you mean {show(str(net))}?)")
    return str(net)


def _family(value: object) -> str:
    text = _str(value)
    if text in FAMILIES:
        return text
    if text in GOBGP_OTHER_FAMILIES:
        raise BadValue(
            f"afi-safi-name {show(text)} is {NOT_SUPPORTED} (only ipv4-unicast, ipv6-unicast)"
        )
    raise BadValue(f"unknown afi-safi-name {show(text)}")


def _addr_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise BadValue(f"expected an array of IP addresses, got {show(value)}")
    if not value:
        raise BadValue("expected at least one IP address, got an empty array")
    out = tuple(_addr(item) for item in value)
    if len(set(out)) != len(out):
        raise BadValue("the same address is listed twice")
    return out


def _str_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise BadValue(f"expected an array of strings, got {show(value)}")
    for item in value:
        if not isinstance(item, str):
            raise BadValue(f"expected an array of strings, got an element {show(item)}")
    return tuple(value)


def _str_or_int(value: object) -> str:
    """GoBGP decodes the file weakly: ``set-med = 10`` is the string ``"10"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BadValue(f"expected a string or an integer, got {show(value)}")
    return value


def _listen_port(value: object) -> int:
    port = _int(value, -1, 65535)
    return 179 if port == 0 else port


def _port(value: object) -> int:
    port = _int(value, 0, 65535)
    return 179 if port == 0 else port


def _true_only(value: object) -> bool:
    if _bool(value) is not True:
        raise BadValue(f"false is {NOT_SUPPORTED} (bgprr always behaves as if true)")
    return True


def _rate(value: object) -> float:
    """A number of events per second, >= 0 (0: no limit)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue(f"expected a number per second, got {show(value)}")
    if not math.isfinite(value) or value < 0:
        raise BadValue(f"expected a number per second >= 0, got {show(value)}")
    return float(value)


def _private_as(value: object) -> str:
    """GoBGP's RemovePrivateAsOption: "all" or "replace" ("" : keep them)."""
    if value not in ("", "all", "replace"):
        raise BadValue(f'expected "all" or "replace", got {show(value)}')
    return str(value)


def _false_only(value: object) -> bool:
    if _bool(value) is not False:
        raise BadValue(f"true is {NOT_SUPPORTED} (no next-hop tracking through zebra)")
    return False


def _empty_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise BadValue(f"expected an array, got {show(value)}")
    if value:
        raise BadValue(f"redistributing routes into BGP is {NOT_SUPPORTED} (only an empty array)")
    return ()


def _kernel_table(value: object) -> int:
    table = _int(value, 1, 0xFFFFFFFF)
    if table in (253, 255):  # default, local: the kernel's own
        raise BadValue(
            f"table {table} is the kernel's own ({'local' if table == 255 else 'default'})"
        )
    return table


def _kernel_protocol(value: object) -> int:
    proto = _int(value, 0, 255)
    if proto <= 4:  # unspec, redirect, kernel, boot, static
        raise BadValue(f"protocol {proto} is reserved by the kernel (0..4), use 5..255")
    return proto


def _zero_only(value: object) -> float:
    if _seconds(value) != 0:
        raise BadValue(f"a non-zero value is {NOT_SUPPORTED} (bgprr sends updates without delay)")
    return 0.0


CHECKERS: Mapping[Kind, Callable[[object], Value]] = MappingProxyType(
    {
        Kind.ASN: lambda v: _int(v, 1, 0xFFFFFFFF),
        Kind.BOOL: _bool,
        Kind.STR: _str,
        Kind.PASSWORD: _password,
        Kind.SECONDS: _seconds,
        Kind.HOLD_TIME: _hold_time,
        Kind.ADDR: _addr,
        Kind.IPV4: _ipv4,
        Kind.PORT: _port,
        Kind.LISTEN_PORT: _listen_port,
        Kind.TTL: lambda v: _int(v, 1, 255),
        Kind.UINT8: lambda v: _int(v, 0, 255),
        Kind.UINT16: lambda v: _int(v, 0, 65535),
        Kind.UINT32: lambda v: _int(v, 0, 0xFFFFFFFF),
        Kind.GR_TIME: lambda v: _int(v, 0, 4095),
        Kind.LLGR_TIME: lambda v: _int(v, 0, 0xFFFFFF),
        Kind.PERCENT: lambda v: _int(v, 0, 100),
        Kind.CLUSTER_ID: _cluster_id,
        Kind.FAMILY: _family,
        Kind.PREFIX: _prefix,
        Kind.ADDR_LIST: _addr_list,
        Kind.TRUE_ONLY: _true_only,
        Kind.ZERO_ONLY: _zero_only,
        Kind.RATE: _rate,
        Kind.PRIVATE_AS: _private_as,
        Kind.STR_LIST: _str_list,
        Kind.STR_OR_INT: _str_or_int,
        Kind.FALSE_ONLY: _false_only,
        Kind.EMPTY_LIST: _empty_list,
        Kind.KERNEL_TABLE: _kernel_table,
        Kind.KERNEL_PROTOCOL: _kernel_protocol,
    }
)


def check_leaf(kind: Kind, value: object) -> Value:
    return CHECKERS[kind](value)


_INT_KINDS = frozenset(
    {
        Kind.ASN, Kind.PORT, Kind.LISTEN_PORT, Kind.TTL, Kind.UINT8, Kind.UINT16,
        Kind.UINT32, Kind.GR_TIME, Kind.LLGR_TIME, Kind.PERCENT, Kind.KERNEL_TABLE,
        Kind.KERNEL_PROTOCOL,
    }
)  # fmt: skip
_NUMBER_KINDS = frozenset({Kind.SECONDS, Kind.HOLD_TIME, Kind.ZERO_ONLY, Kind.RATE})
_BOOL_KINDS = frozenset({Kind.BOOL, Kind.TRUE_ONLY, Kind.FALSE_ONLY})
_INT_TEXT = re.compile(r"-?[0-9]+")
_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def from_text(kind: Kind, text: str) -> object:
    """The value a templated string stands for where ``kind`` wants a number or a bool:
    ``"64512"`` -> 64512, ``"1.5"`` -> 1.5 (seconds), ``"true"`` / ``"false"`` (any case)
    -> a bool.  Anything else is returned as it is, for the checker to refuse."""
    word = text.strip()
    if kind in _INT_KINDS and _INT_TEXT.fullmatch(word):
        return int(word)
    if kind in _NUMBER_KINDS and _NUMBER_TEXT.fullmatch(word):
        return float(word) if "." in word else int(word)
    if kind in _BOOL_KINDS and word.lower() in ("true", "false"):
        return word.lower() == "true"
    return text


# --------------------------------------------------------------------------------------
# Building blocks of the trees (bgprr.config.tree, bgprr.config.policy_schema).

REFUSED = Refused()
STATE = Refused("operational state, not configuration")


def ro(table: dict[str, Node]) -> Mapping[str, Node]:
    """A read-only table (MappingProxyType keeps the module-level trees read-only)."""
    return MappingProxyType(table)
