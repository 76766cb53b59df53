"""UPDATE messages written out by hand: the attribute blocks and builders shared by
test_update.py and test_update_errors.py."""

from __future__ import annotations

from bgprr.wire.errors import Action, BGPError
from bgprr.wire.prefix import parse_prefix
from bgprr.wire.update import Update, encode_update

H = bytes.fromhex
RESET, TAW, DISCARD, DISABLE = (
    Action.SESSION_RESET,
    Action.TREAT_AS_WITHDRAW,
    Action.ATTRIBUTE_DISCARD,
    Action.AFISAFI_DISABLE,
)

ORIGIN = H("40 01 01 00")
AS_PATH = H("40 02 06  02 01 0000fde9")  # AS_SEQUENCE 65001
NEXT_HOP = H("40 03 04 0a000001")
LOCAL_PREF = H("40 05 04 00000064")
BASE = ORIGIN + AS_PATH + NEXT_HOP + LOCAL_PREF
NLRI = H("180a0102")  # 10.1.2.0/24
NH6 = H("20010db8000000000000000000000001 fe800000000000000000000000000001")
MP6 = H("80 0e 2a  0002 01 20") + NH6 + H("00  20 20010db8")  # 2001:db8::/32
MP6_BODY = ORIGIN + AS_PATH + LOCAL_PREF
AFTER_AS = NEXT_HOP + LOCAL_PREF
BEFORE_NH = ORIGIN + AS_PATH
NO_LP = ORIGIN + AS_PATH + NEXT_HOP


def k(text: str) -> int:
    """The prefix key of `text`."""
    return parse_prefix(text)[1]


def msg(withdrawn: bytes = b"", attrs: bytes = b"", nlri: bytes = b"") -> bytes:
    """A whole UPDATE message (marker, length, type 2) around the three fields."""
    body = len(withdrawn).to_bytes(2, "big") + withdrawn + len(attrs).to_bytes(2, "big")
    body += attrs + nlri
    return b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body


def err_tuple(e: BGPError) -> tuple[int, int, bytes, Action]:
    return (e.code, e.subcode, e.data, e.action)


def reencode(u: Update) -> bytes:
    """encode_update of every field of a decoded Update."""
    return encode_update(
        withdrawn=u.withdrawn,
        withdrawn_ids=u.withdrawn_ids,
        attrs=u.attrs,
        nlri=u.nlri,
        nlri_ids=u.nlri_ids,
        mp_reach=u.mp_reach,
        mp_unreach=u.mp_unreach,
    )


def A(flags: int, t: int, value: bytes) -> bytes:
    """One path attribute with a one-byte length."""
    return bytes((flags, t, len(value))) + value
