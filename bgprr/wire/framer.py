"""Incremental BGP message framer: bytes in (any chunking), whole messages out.

The framer checks each header (marker, length, type, per-type length; RFC 4271 §6.1) as
soon as its 19 octets have arrived, so a bad header is reported without waiting for a
body that may never come. Bytes accumulate in one ``bytearray`` read through an offset;
consumed bytes are dropped only when they are at least half the buffer, so feeding one
octet at a time stays linear.
"""

from __future__ import annotations

from collections.abc import Iterator

from .constants import HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN
from .errors import BGPError
from .messages import check_header

_COMPACT_MIN = 4096


class Framer:
    """Split a byte stream into BGP messages.

    ``feed(data)`` appends; ``next_message()`` returns the next complete message (header
    included, as ``bytes``) or ``None``; iterating yields every complete message. A header
    error raises :class:`BGPError` (its ``offset`` is relative to the start of that message,
    ``position`` gives where the message starts in the stream); the framer then stays
    failed and raises the same error again (a fresh copy each time: the error it keeps
    never carries a traceback, whose frames would hold the framer and the caller's buffers
    in a reference cycle).
    """

    __slots__ = ("_buf", "_error", "_length", "_max_len", "_off", "_pos")

    def __init__(self, max_len: int = MAX_MESSAGE_LEN) -> None:
        self._buf = bytearray()
        self._off = 0
        self._pos = 0  # stream offset of self._buf[self._off]
        self._length = 0  # validated length of the message at _off, 0 if not yet known
        self._error: BGPError | None = None
        self._max_len = 0
        self.max_len = max_len

    @property
    def max_len(self) -> int:
        """Largest accepted message: 4096, or 65535 after extended-message negotiation."""
        return self._max_len

    @max_len.setter
    def max_len(self, value: int) -> None:
        if not MAX_MESSAGE_LEN <= value <= MAX_EXTENDED_MESSAGE_LEN:
            raise ValueError(f"max_len must be within 4096..65535, not {value}")
        self._max_len = value

    @property
    def position(self) -> int:
        """Stream offset (octets fed before it) of the next message to be returned."""
        return self._pos

    @property
    def buffered(self) -> int:
        """Octets received but not yet returned as a message."""
        return len(self._buf) - self._off

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes."""
        self._buf += data

    def next_message(self) -> bytes | None:
        """Return the next complete message, ``None`` if more bytes are needed."""
        if self._error is not None:
            raise self._error.with_offset(0)
        avail = len(self._buf) - self._off
        if not self._length:
            if avail < HEADER_LEN:
                return None
            try:
                self._length, _ = check_header(self._buf, self._off, max_len=self._max_len)
            except BGPError as exc:
                self._error = exc.with_offset(0)
                raise
        length = self._length
        if avail < length:
            return None
        buf = self._buf
        start = self._off
        off = start + length
        msg = bytes(buf[start:off])
        self._pos += length
        self._length = 0
        # compact: drop consumed bytes when none are left, or when they are at least half
        if off == len(buf):
            buf.clear()
            off = 0
        elif off >= _COMPACT_MIN and off * 2 >= len(buf):
            del buf[:off]
            off = 0
        self._off = off
        return msg

    def __iter__(self) -> Iterator[bytes]:
        while (msg := self.next_message()) is not None:
            yield msg
