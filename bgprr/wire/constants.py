"""Numbers of the BGP-4 wire format (RFC 4271 and extensions)."""

from __future__ import annotations

import enum

MARKER = b"\xff" * 16
HEADER_LEN = 19
MAX_MESSAGE_LEN = 4096
MAX_EXTENDED_MESSAGE_LEN = 65535  # RFC 8654
BGP_VERSION = 4
AS_TRANS = 23456  # RFC 6793


class MsgType(enum.IntEnum):
    OPEN = 1
    UPDATE = 2
    NOTIFICATION = 3
    KEEPALIVE = 4
    ROUTE_REFRESH = 5


class AttrFlag(enum.IntFlag):
    EXTENDED_LENGTH = 0x10
    PARTIAL = 0x20
    TRANSITIVE = 0x40
    OPTIONAL = 0x80


class AttrType(enum.IntEnum):
    ORIGIN = 1
    AS_PATH = 2
    NEXT_HOP = 3
    MULTI_EXIT_DISC = 4
    LOCAL_PREF = 5
    ATOMIC_AGGREGATE = 6
    AGGREGATOR = 7
    COMMUNITIES = 8
    ORIGINATOR_ID = 9
    CLUSTER_LIST = 10
    MP_REACH_NLRI = 14
    MP_UNREACH_NLRI = 15
    EXTENDED_COMMUNITIES = 16
    AS4_PATH = 17
    AS4_AGGREGATOR = 18
    LARGE_COMMUNITIES = 32


class Origin(enum.IntEnum):
    IGP = 0
    EGP = 1
    INCOMPLETE = 2


class SegmentType(enum.IntEnum):
    AS_SET = 1
    AS_SEQUENCE = 2
    AS_CONFED_SEQUENCE = 3
    AS_CONFED_SET = 4


class AFI(enum.IntEnum):
    IPV4 = 1
    IPV6 = 2


class SAFI(enum.IntEnum):
    UNICAST = 1
    MULTICAST = 2


class CapCode(enum.IntEnum):
    MULTIPROTOCOL = 1
    ROUTE_REFRESH = 2
    EXTENDED_NEXT_HOP = 5  # RFC 8950
    EXTENDED_MESSAGE = 6  # RFC 8654
    GRACEFUL_RESTART = 64  # RFC 4724
    FOUR_OCTET_AS = 65  # RFC 6793
    ADD_PATH = 69  # RFC 7911
    ENHANCED_ROUTE_REFRESH = 70  # RFC 7313
    LONG_LIVED_GRACEFUL_RESTART = 71  # RFC 9494
    FQDN = 73  # draft-walton-bgp-hostname-capability


class OptParamType(enum.IntEnum):
    CAPABILITIES = 2
    EXTENDED_LENGTH = 255  # RFC 9072


class RouteRefreshSubtype(enum.IntEnum):  # RFC 7313
    NORMAL = 0
    BORR = 1
    EORR = 2


class AddPathMode(enum.IntFlag):  # RFC 7911 Send/Receive field
    RECEIVE = 1
    SEND = 2
    BOTH = 3


# Well-known communities (RFC 1997, RFC 8326, RFC 9494)
NO_EXPORT = 0xFFFFFF01
NO_ADVERTISE = 0xFFFFFF02
NO_EXPORT_SUBCONFED = 0xFFFFFF03
GRACEFUL_SHUTDOWN = 0xFFFF0000
LLGR_STALE = 0xFFFF0006
NO_LLGR = 0xFFFF0007

# An address family as (AFI, SAFI): the one definition, used by every layer.
Family = tuple[int, int]

IPV4_UNICAST: Family = (AFI.IPV4, SAFI.UNICAST)
IPV6_UNICAST: Family = (AFI.IPV6, SAFI.UNICAST)

FAMILY_NAMES: dict[Family, str] = {
    IPV4_UNICAST: "ipv4-unicast",
    IPV6_UNICAST: "ipv6-unicast",
}

ADDRESS_BITS: dict[int, int] = {AFI.IPV4: 32, AFI.IPV6: 128}
