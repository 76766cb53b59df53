"""The one error type of the codec: it knows its RFC 4271 code/subcode and RFC 7606 action.

The decoder raises nothing but :class:`BGPError`. Errors whose action is milder than a
session reset (treat-as-withdraw, attribute discard) are not raised by the UPDATE decoder:
they are collected on the decoded message so that its NLRI can still be withdrawn.
"""

from __future__ import annotations

import enum


class Action(enum.IntEnum):
    """RFC 7606 error-handling approaches, ordered from mildest to most severe."""

    ATTRIBUTE_DISCARD = 1
    TREAT_AS_WITHDRAW = 2
    AFISAFI_DISABLE = 3
    SESSION_RESET = 4


class ErrorCode(enum.IntEnum):
    MESSAGE_HEADER = 1
    OPEN_MESSAGE = 2
    UPDATE_MESSAGE = 3
    HOLD_TIMER_EXPIRED = 4
    FSM = 5
    CEASE = 6
    ROUTE_REFRESH = 7  # RFC 7313
    SEND_HOLD_TIMER_EXPIRED = 8  # RFC 9687


class HeaderSub(enum.IntEnum):
    CONNECTION_NOT_SYNCHRONIZED = 1
    BAD_MESSAGE_LENGTH = 2
    BAD_MESSAGE_TYPE = 3


class OpenSub(enum.IntEnum):
    UNSPECIFIC = 0
    UNSUPPORTED_VERSION_NUMBER = 1
    BAD_PEER_AS = 2
    BAD_BGP_IDENTIFIER = 3
    UNSUPPORTED_OPTIONAL_PARAMETER = 4
    UNACCEPTABLE_HOLD_TIME = 6
    UNSUPPORTED_CAPABILITY = 7  # RFC 5492
    ROLE_MISMATCH = 11  # RFC 9234


class UpdateSub(enum.IntEnum):
    UNSPECIFIC = 0
    MALFORMED_ATTRIBUTE_LIST = 1
    UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2
    MISSING_WELL_KNOWN_ATTRIBUTE = 3
    ATTRIBUTE_FLAGS_ERROR = 4
    ATTRIBUTE_LENGTH_ERROR = 5
    INVALID_ORIGIN_ATTRIBUTE = 6
    INVALID_NEXT_HOP_ATTRIBUTE = 8
    OPTIONAL_ATTRIBUTE_ERROR = 9
    INVALID_NETWORK_FIELD = 10
    MALFORMED_AS_PATH = 11


class FsmSub(enum.IntEnum):  # RFC 6608
    UNSPECIFIED = 0
    UNEXPECTED_IN_OPENSENT = 1
    UNEXPECTED_IN_OPENCONFIRM = 2
    UNEXPECTED_IN_ESTABLISHED = 3


class CeaseSub(enum.IntEnum):  # RFC 4486, RFC 8538
    UNSPECIFIC = 0
    MAXIMUM_PREFIXES_REACHED = 1
    ADMINISTRATIVE_SHUTDOWN = 2
    PEER_DECONFIGURED = 3
    ADMINISTRATIVE_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIGURATION_CHANGE = 6
    CONNECTION_COLLISION_RESOLUTION = 7
    OUT_OF_RESOURCES = 8
    HARD_RESET = 9
    BFD_DOWN = 10


class RouteRefreshSub(enum.IntEnum):  # RFC 7313
    INVALID_MESSAGE_LENGTH = 1


_SUBCODES: dict[int, type[enum.IntEnum]] = {
    ErrorCode.MESSAGE_HEADER: HeaderSub,
    ErrorCode.OPEN_MESSAGE: OpenSub,
    ErrorCode.UPDATE_MESSAGE: UpdateSub,
    ErrorCode.FSM: FsmSub,
    ErrorCode.CEASE: CeaseSub,
    ErrorCode.ROUTE_REFRESH: RouteRefreshSub,
}


def _title(name: str) -> str:
    words = name.replace("_", " ").lower().split()
    keep = {"as": "AS", "bgp": "BGP", "as_path": "AS_PATH", "fsm": "FSM", "bfd": "BFD"}
    return " ".join(keep.get(w, w.capitalize() if i == 0 else w) for i, w in enumerate(words))


def code_name(code: int) -> str:
    """Human name of an error code, e.g. ``"UPDATE Message Error"``."""
    names = {
        1: "Message Header Error",
        2: "OPEN Message Error",
        3: "UPDATE Message Error",
        4: "Hold Timer Expired",
        5: "Finite State Machine Error",
        6: "Cease",
        7: "ROUTE-REFRESH Message Error",
        8: "Send Hold Timer Expired",
    }
    return names.get(code, f"Unknown error code {code}")


def subcode_name(code: int, subcode: int) -> str:
    """Human name of a subcode, e.g. ``"Malformed AS_PATH"``; ``"Unspecific"`` for 0."""
    table = _SUBCODES.get(code)
    if table is not None:
        try:
            member = table(subcode)
        except ValueError:
            pass
        else:
            if member.name == "MALFORMED_AS_PATH":
                return "Malformed AS_PATH"
            return _title(member.name)
    if subcode == 0:
        return "Unspecific"
    return f"Unknown subcode {subcode}"


class BGPError(Exception):
    """A protocol error: what NOTIFICATION to send (or which RFC 7606 action to take).

    ``offset`` is the byte offset of the offending field from the start of the message
    (its marker), when known; ``reason`` is a short human explanation.
    """

    __slots__ = ("action", "code", "data", "offset", "reason", "subcode")

    def __init__(
        self,
        code: int,
        subcode: int,
        data: bytes = b"",
        *,
        action: Action = Action.SESSION_RESET,
        offset: int | None = None,
        reason: str = "",
    ) -> None:
        self.code = int(code)
        self.subcode = int(subcode)
        self.data = bytes(data)
        self.action = action
        self.offset = offset
        self.reason = reason
        super().__init__(self.describe())

    @property
    def name(self) -> str:
        return f"{code_name(self.code)} / {subcode_name(self.code, self.subcode)}"

    def describe(self) -> str:
        """One line: ``UPDATE Message Error / Malformed AS_PATH (3/11) at byte 23: reason``."""
        text = f"{self.name} ({self.code}/{self.subcode})"
        if self.offset is not None:
            text += f" at byte {self.offset}"
        if self.reason:
            text += f": {self.reason}"
        return text

    def with_offset(self, base: int) -> BGPError:
        """Return the same error with its offset shifted by ``base`` (for nested parsers)."""
        off = None if self.offset is None else self.offset + base
        return BGPError(
            self.code, self.subcode, self.data, action=self.action, offset=off, reason=self.reason
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BGPError):
            return NotImplemented
        return (self.code, self.subcode, self.data, self.action) == (
            other.code,
            other.subcode,
            other.data,
            other.action,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.subcode, self.data, self.action))
