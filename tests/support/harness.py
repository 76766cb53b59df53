"""In-memory test harness for the engine: attribute blocks, simulated
neighbors that decode what they pulled, and a drain loop. Pure; used by tests/reflect.

A :class:`Node` is the far end of one session: it applies every UPDATE it is handed to its
own Adj-RIB-In view (``rib``: family -> {(prefix key, path id): (attribute block, next
hop)}), records End-of-RIB markers and ROUTE-REFRESH subtypes, and never looks at engine
internals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bgprr.reflect.engine import ReflectionEngine
from bgprr.wire.attributes import encode_as_path, encode_attribute
from bgprr.wire.constants import IPV4_UNICAST, AttrType, Family, MsgType
from bgprr.wire.update import Update, decode_update, eor_family, pack_updates, pack_withdrawals


def block(
    *,
    as_path: Sequence[int] = (),
    next_hop: bytes | None = b"\x0a\x00\x00\x01",
    local_pref: int | None = 100,
    med: int | None = None,
    communities: Sequence[int] = (),
    originator_id: int | None = None,
    cluster_list: Sequence[int] = (),
    origin: int = 0,
) -> bytes:
    """A canonical attribute block (types in ascending order)."""
    parts = [encode_attribute(0x40, AttrType.ORIGIN, bytes((origin,)))]
    segs = [(2, tuple(as_path))] if as_path else []
    parts.append(encode_attribute(0x40, AttrType.AS_PATH, encode_as_path(segs, 4)))
    if next_hop is not None:
        parts.append(encode_attribute(0x40, AttrType.NEXT_HOP, next_hop))
    if med is not None:
        parts.append(encode_attribute(0x80, AttrType.MULTI_EXIT_DISC, med.to_bytes(4, "big")))
    if local_pref is not None:
        parts.append(encode_attribute(0x40, AttrType.LOCAL_PREF, local_pref.to_bytes(4, "big")))
    if communities:
        value = b"".join(c.to_bytes(4, "big") for c in communities)
        parts.append(encode_attribute(0xC0, AttrType.COMMUNITIES, value))
    if originator_id is not None:
        parts.append(
            encode_attribute(0x80, AttrType.ORIGINATOR_ID, originator_id.to_bytes(4, "big"))
        )
    if cluster_list:
        value = b"".join(c.to_bytes(4, "big") for c in cluster_list)
        parts.append(encode_attribute(0x80, AttrType.CLUSTER_LIST, value))
    return b"".join(parts)


def announce(
    keys: Sequence[int],
    attrs: bytes,
    *,
    family: Family = IPV4_UNICAST,
    next_hop: bytes = b"",
    ids: Sequence[int] | None = None,
    addpath: bool = False,
    ibgp: bool = True,
) -> list[Update]:
    """Decoded UPDATEs announcing ``keys`` (encoded then decoded, as a session would)."""
    fams = frozenset({family}) if addpath else frozenset()
    msgs = pack_updates(family, attrs, next_hop, keys, ids, max_len=4096)
    return [decode_update(m, addpath=fams, ibgp=ibgp) for m in msgs]


def withdraw(
    keys: Sequence[int],
    *,
    family: Family = IPV4_UNICAST,
    ids: Sequence[int] | None = None,
    addpath: bool = False,
) -> list[Update]:
    fams = frozenset({family}) if addpath else frozenset()
    msgs = pack_withdrawals(family, keys, ids, max_len=4096)
    return [decode_update(m, addpath=fams) for m in msgs]


class Node:
    """The far end of a session: applies what it receives."""

    def __init__(
        self,
        key: str,
        *,
        as4: bool = True,
        addpath: frozenset[Family] = frozenset(),
        ibgp: bool = True,
    ) -> None:
        self.key = key
        self.ibgp = ibgp
        self.as4 = as4
        self.addpath = addpath
        self.rib: dict[Family, dict[tuple[int, int], tuple[bytes, bytes]]] = {}
        self.eor: list[Family] = []
        self.refresh: list[tuple[Family, int]] = []
        self.messages = 0
        self.raw: list[bytes] = []
        self.keep_raw = False

    def reset(self) -> None:
        self.rib.clear()
        self.eor.clear()
        self.refresh.clear()

    def feed(self, msgs: Iterable[bytes]) -> None:
        for msg in msgs:
            self.messages += 1
            if self.keep_raw:
                self.raw.append(msg)
            if msg[18] == MsgType.ROUTE_REFRESH:
                fam = ((msg[19] << 8) | msg[20], msg[22])
                self.refresh.append((fam, msg[21]))
                continue
            upd = decode_update(msg, as4=self.as4, addpath=self.addpath, ibgp=self.ibgp)
            if upd.errors or upd.treat_as_withdraw:
                raise AssertionError(f"{self.key} got a bad UPDATE: {upd.errors}")
            self.apply(upd)

    def apply(self, upd: Update) -> None:
        fam = eor_family(upd)
        if fam is not None:
            self.eor.append(fam)
            return
        v4 = self.rib.setdefault(IPV4_UNICAST, {})
        for i, k in enumerate(upd.withdrawn):
            v4.pop((k, upd.withdrawn_ids[i] if upd.withdrawn_ids else 0), None)
        mu = upd.mp_unreach
        if mu is not None:
            t = self.rib.setdefault((mu.afi, mu.safi), {})
            for i, k in enumerate(mu.withdrawn):
                t.pop((k, mu.withdrawn_ids[i] if mu.withdrawn_ids else 0), None)
        for i, k in enumerate(upd.nlri):
            v4[(k, upd.nlri_ids[i] if upd.nlri_ids else 0)] = (upd.attrs, b"")
        mr = upd.mp_reach
        if mr is not None:
            t = self.rib.setdefault((mr.afi, mr.safi), {})
            for i, k in enumerate(mr.nlri):
                t[(k, mr.nlri_ids[i] if mr.nlri_ids else 0)] = (upd.attrs, mr.next_hop)

    def table(self, family: Family = IPV4_UNICAST) -> dict[tuple[int, int], tuple[bytes, bytes]]:
        return self.rib.get(family, {})


def drain(
    r: ReflectionEngine, nodes: dict[str, Node], max_bytes: int = 65536, rounds: int = 10000
) -> int:
    """Pull until nothing is dirty (only neighbors in ``nodes``); returns messages moved."""
    moved = 0
    for _ in range(rounds):
        dirty = [k for k in r.dirty_peers() if k in nodes]
        if not dirty:
            return moved
        for k in dirty:
            msgs = r.pull(k, max_bytes)
            moved += len(msgs)
            nodes[k].feed(msgs)
    raise AssertionError("output did not drain")
