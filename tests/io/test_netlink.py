"""bgprr.io.netlink: route messages encoded by hand parse back to what was asked, and
the byte layout matches rtnetlink(7) (header, rtmsg, attributes, RTA_MULTIPATH)."""

from __future__ import annotations

import socket
import struct

from bgprr.io import netlink as nl

GW1, GW2 = b"\x0a\xff\x00\x02", b"\x0a\xff\x00\x03"
V6 = bytes.fromhex("20010db8000000010000000000000000")
V6GW = bytes.fromhex("fd000000000000000000000000000002")


def body(msg: bytes) -> tuple[tuple[int, int, int, int, int], bytes]:
    hdr = struct.unpack_from("=IHHII", msg)
    assert hdr[0] == len(msg)
    return hdr, msg[16:]


def test_single_next_hop_round_trip() -> None:
    for replace in (False, True):
        msg = nl.encode_route(b"\x0a\x01\x02\x00", 24, [nl.NextHop(GW1, 7)], table=254,
                              protocol=186, metric=20, replace=replace, seq=42)  # fmt: skip
        (_len, mtype, flags, seq, _), payload = body(msg)
        assert (mtype, seq) == (nl.RTM_NEWROUTE, 42)
        assert flags & nl.NLM_F_CREATE and flags & nl.NLM_F_REQUEST
        assert bool(flags & nl.NLM_F_REPLACE) is replace
        assert bool(flags & nl.NLM_F_EXCL) is not replace
        r = nl.parse_route(payload)
        assert (r.family, r.dst, r.dst_len) == (socket.AF_INET, b"\x0a\x01\x02\x00", 24)
        assert (r.table, r.protocol, r.type, r.metric) == (254, 186, nl.RTN_UNICAST, 20)
        assert r.next_hops == (nl.NextHop(GW1, 7),)


def test_fast_and_general_encoders_agree() -> None:
    # the one-pack encoder (oif known, table < 256) and the part-by-part one
    fast = nl.encode_route(V6, 64, [nl.NextHop(V6GW, 3)], table=100, protocol=186, metric=5,
                           replace=True, seq=1)  # fmt: skip
    general = nl.encode_route(V6, 64, [nl.NextHop(V6GW, 3)], table=100 + (1 << 20),
                              protocol=186, metric=5, replace=True, seq=1)  # fmt: skip
    a = nl.parse_route(fast[16:])
    b = nl.parse_route(general[16:])
    assert a.next_hops == b.next_hops and a.dst == b.dst and a.metric == b.metric
    assert b.table == 100 + (1 << 20)  # RTA_TABLE carries a table id above 255
    assert general[16 + 4] == nl.RT_TABLE_UNSPEC  # rtm_table


def test_multipath_round_trip() -> None:
    hops = [nl.NextHop(GW1, 7), nl.NextHop(GW2, 8)]
    msg = nl.encode_route(b"\xc0\x00\x02\x00", 24, hops, table=254, protocol=186, metric=20,
                          replace=True, seq=1)  # fmt: skip
    r = nl.parse_route(msg[16:])
    assert r.next_hops == tuple(hops)


def test_delete_names_protocol_and_table_not_metric() -> None:
    msg = nl.encode_delete(V6, 48, table=254, protocol=186, seq=9)
    (_, mtype, flags, seq, _), payload = body(msg)
    assert (mtype, seq, flags) == (nl.RTM_DELROUTE, 9, nl.NLM_F_REQUEST)
    r = nl.parse_route(payload)
    assert (r.family, r.dst, r.dst_len, r.protocol, r.table) == (socket.AF_INET6, V6, 48, 186, 254)
    assert r.metric == 0 and r.next_hops == ()


def test_parse_messages_splits_a_buffer_and_ack_flag() -> None:
    a = nl.encode_delete(b"\x0a\0\0\0", 8, table=254, protocol=186, seq=1)
    b = nl.encode_get(GW1, seq=2)
    got = list(nl.parse_messages(a + nl._with_ack(b)))
    assert [(t, s) for t, _f, s, _p in got] == [(nl.RTM_DELROUTE, 1), (nl.RTM_GETROUTE, 2)]
    assert got[1][1] & nl.NLM_F_ACK and not got[0][1] & nl.NLM_F_ACK


def test_dump_request_filters_protocol_and_table() -> None:
    msg = nl.encode_dump(socket.AF_INET6, table=254, protocol=186, seq=3)
    (_, mtype, flags, _, _), payload = body(msg)
    assert mtype == nl.RTM_GETROUTE and flags & nl.NLM_F_DUMP == nl.NLM_F_DUMP
    r = nl.parse_route(payload)
    assert (r.family, r.protocol, r.table) == (socket.AF_INET6, 186, 254)


def test_route_summary_matches_parse_route() -> None:
    for hops in ([nl.NextHop(GW1, 7)], [nl.NextHop(GW2, 8), nl.NextHop(GW1, 7)]):
        msg = nl.encode_route(b"\x0a\x01\x02\x00", 24, hops, table=300, protocol=186,
                              metric=20, replace=False, seq=1)  # fmt: skip
        fam, dst, plen, table, proto, gws = nl.route_summary(msg[16:])
        full = nl.parse_route(msg[16:])
        assert (fam, dst, plen, table, proto) == (
            full.family, full.dst, full.dst_len, full.table, full.protocol
        )
        assert gws == tuple(h.gateway for h in full.next_hops)
