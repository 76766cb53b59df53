"""After a timed scenario: one more client takes the whole table and checks what the
benchmark's import policy (:mod:`bench.policyset`) did to it, outside the timed part.

``calico-10k`` and ``inet-500k`` configure one client more than they time (the last
address); :func:`probe_tags` connects it once the scenario has converged, records every
byte it receives, and counts the prefixes whose COMMUNITIES attribute holds the policy's
community. :func:`expected_tags` is how many prefixes the policy matches, from its own
prefix set: a reflector that runs the policy must tag exactly that many, one that does not
must tag none.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence

from . import policyset
from .loadtester import MARKER, Peer, Tester, _findall

COMMUNITIES = 8


class RecordingPeer(Peer):
    """A peer that keeps every byte it receives (for :func:`tagged_prefixes`)."""

    def __init__(self, tester: Tester, index: int, address: str) -> None:
        super().__init__(tester, index, address)
        self.raw = bytearray()

    def data_received(self, data: bytes) -> None:
        self.raw += data
        super().data_received(data)


def tagged_prefixes(raw: bytes, community: int) -> set[bytes]:
    """NLRI encodings announced last with ``community`` in their COMMUNITIES attribute."""
    tag = community.to_bytes(4, "big")
    out: set[bytes] = set()
    o, n = 0, len(raw)
    while o + 19 <= n:
        if raw[o : o + 16] != MARKER:
            raise ValueError(f"no marker at offset {o}")
        end = o + int.from_bytes(raw[o + 16 : o + 18], "big")
        if end > n:
            break
        if raw[o + 18] == 2:
            wl = int.from_bytes(raw[o + 19 : o + 21], "big")
            out.difference_update(_findall(raw, o + 21, o + 21 + wl))
            a = o + 21 + wl
            al = int.from_bytes(raw[a : a + 2], "big")
            tagged = _has_community(raw, a + 2, a + 2 + al, tag)
            nlri = _findall(raw, a + 2 + al, end)
            if tagged:
                out.update(nlri)
            else:
                out.difference_update(nlri)
        o = end
    return out


def _has_community(raw: bytes, o: int, end: int, tag: bytes) -> bool:
    while o < end:
        flags, code = raw[o], raw[o + 1]
        if flags & 0x10:
            ln, o = int.from_bytes(raw[o + 2 : o + 4], "big"), o + 4
        else:
            ln, o = raw[o + 2], o + 3
        if code == COMMUNITIES:
            vals = raw[o : o + ln]
            return any(vals[i : i + 4] == tag for i in range(0, ln, 4))
        o += ln
    return False


def expected_tags(prefixes: Sequence[bytes]) -> int:
    """How many of ``prefixes`` (NLRI encodings) the benchmark policy's set matches."""
    exact: set[tuple[int, int]] = set()
    ranges: dict[int, tuple[int, int]] = {}  # /16 network -> (min, max) length
    for net, lo, hi in policyset.entries():
        v = int(ipaddress.IPv4Address(net))
        if lo == hi:
            exact.add((v, lo))
        else:
            ranges[v] = (lo, hi)
    count = 0
    for p in prefixes:
        plen = p[0]
        v = int.from_bytes(p[1:].ljust(4, b"\0"), "big")
        if (v, plen) in exact:
            count += 1
            continue
        r = ranges.get(v & 0xFFFF0000)
        if r is not None and r[0] <= plen <= r[1]:
            count += 1
    return count


async def probe_tags(t: Tester, address: str, n: int, deadline: float) -> int:
    """Connect one recording client at ``address``, wait for ``n`` prefixes, return how
    many carry the policy's community (-1: it did not get the table before ``deadline``)."""
    p = RecordingPeer(t, len(t.peers), address)
    t.peers.append(p)
    if not await t.connect(p, deadline):
        return -1
    end = min(deadline, time.monotonic() + 120.0)
    _, missed = await t.wait_goal([p], lambda q: len(q.seen) >= n, end)
    if missed:
        return -1
    asn, val = policyset.COMMUNITY
    tagged = len(tagged_prefixes(bytes(p.raw), asn << 16 | val))
    p.raw = bytearray()
    p.close()
    return tagged
