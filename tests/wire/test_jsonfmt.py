"""JSON schema of messages and golden vectors (hand-built and captured from BIRD/gobgpd)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bgprr.wire.capabilities import (
    AddPath,
    AddPathFamily,
    FourOctetAS,
    GracefulRestart,
    GracefulRestartFamily,
    LongLivedGracefulRestart,
    UnknownCapability,
)
from bgprr.wire.constants import IPV4_UNICAST
from bgprr.wire.jsonfmt import capability_to_json, json_to_message, message_to_json
from bgprr.wire.messages import (
    Keepalive,
    Notification,
    Open,
    decode_message,
    encode_message,
    shutdown_message,
)
from bgprr.wire.prefix import parse_prefix
from bgprr.wire.update import Update

GOLDEN = Path(__file__).parent / "golden"
ADDPATH = frozenset({IPV4_UNICAST})

# How each golden message is decoded (session facts); default as4=True, no add-path.
OPTIONS: dict[str, dict[str, Any]] = {
    "real_bird_update": {"addpath": ADDPATH},
    "real_gobgp_update2": {"addpath": ADDPATH},
    "hand_update_addpath": {"addpath": ADDPATH, "ibgp": False},
    "hand_update_as2": {"as4": False, "ibgp": False},
    "hand_update_extended_length": {"ibgp": False},
}


def load(name: str) -> bytes:
    return bytes.fromhex("".join((GOLDEN / f"{name}.hex").read_text().split()))


NAMES = sorted(p.stem for p in GOLDEN.glob("*.hex"))


def test_golden_set_is_complete() -> None:
    assert len([n for n in NAMES if n.startswith("real_")]) >= 8
    readme = (GOLDEN / "README.md").read_text()
    for name in NAMES:
        assert f"`{name}.hex`" in readme or name.startswith("hand_route_refresh")


@pytest.mark.parametrize("name", NAMES)
def test_golden_decodes_and_round_trips(name: str) -> None:
    raw = load(name)
    opts = OPTIONS.get(name, {})
    decoded = decode_message(raw, **opts)
    if isinstance(decoded, Update):
        assert decoded.errors == () and not decoded.treat_as_withdraw
    shown = {k: v for k, v in opts.items() if k != "ibgp"}
    obj = message_to_json(raw, **shown)
    assert obj["length"] == len(raw)
    text = json.dumps(obj)
    assert json_to_message(json.loads(text)) == raw
    again = encode_message(decoded)
    if isinstance(decoded, Update):
        # The UPDATE codec canonicalises (MP attributes first, AS4 form): stable, not identical.
        # encode_message writes the canonical 4-octet form: read it back as an AS4 peer's.
        shown_again = decode_message(again, **(opts | {"as4": True}))
        assert isinstance(shown_again, Update)
        assert (shown_again.nlri, shown_again.attrs) == (decoded.nlri, decoded.attrs)
    elif name != "hand_open_two_params":  # Open does not keep the parameter grouping
        assert again == raw


def test_real_bird_open_matches_config() -> None:
    o = decode_message(load("real_bird_open"))
    assert isinstance(o, Open)
    assert (o.my_as, o.hold_time, o.bgp_id) == (64512, 240, 0x0A4D0001)
    caps = o.capabilities
    assert FourOctetAS(asn=64512) in caps
    assert AddPath(families=(AddPathFamily(afi=1, safi=1, mode=3),)) in caps  # add paths on
    assert (
        GracefulRestart(
            restart=False,
            notification=False,
            time=120,
            families=(GracefulRestartFamily(afi=1, safi=1, forwarding=False),),
        )
        in caps
    )
    assert LongLivedGracefulRestart(families=()) in caps  # BIRD sends it empty


def test_real_gobgp_open_matches_config() -> None:
    o = decode_message(load("real_gobgp_open"))
    assert isinstance(o, Open)
    assert (o.my_as, o.hold_time, o.bgp_id) == (64512, 90, 0x0A4D0002)
    j = message_to_json(load("real_gobgp_open"))
    names = [c["name"] for c in j["capabilities"]]
    assert names == [
        "route-refresh",
        "fqdn",
        "multiprotocol",
        "four-octet-as",
        "graceful-restart",
        "extended-next-hop",
        "add-path",
    ]
    gr = j["capabilities"][4]
    assert gr["time"] == 120 and gr["families"] == [{"afi": 1, "safi": 1, "forwarding": False}]


def test_real_bird_update_matches_config() -> None:
    raw = load("real_bird_update")
    u = decode_message(raw, addpath=ADDPATH)
    assert isinstance(u, Update)
    assert u.nlri == [parse_prefix("192.168.10.0/26")[1], parse_prefix("192.168.10.64/26")[1]]
    assert u.nlri_ids is not None and len(u.nlri_ids) == 2
    j = message_to_json(raw, addpath=ADDPATH)
    by_name = {a["name"]: a for a in j["attributes"]}
    assert by_name["NEXT_HOP"]["next_hop"] == "10.77.0.1"
    assert by_name["COMMUNITIES"]["communities"] == ["64512:100"]
    assert by_name["LARGE_COMMUNITIES"]["large_communities"] == ["64512:1:2"]
    assert by_name["AS_PATH"]["segments"] == []  # iBGP
    assert [n["prefix"] for n in j["nlri"]] == ["192.168.10.0/26", "192.168.10.64/26"]


def test_real_gobgp_reflected_update() -> None:
    j = message_to_json(load("real_gobgp_update2"), addpath=ADDPATH)
    by_name = {a["name"]: a for a in j["attributes"]}
    assert by_name["ORIGINATOR_ID"]["originator_id"] == "10.77.0.2"
    assert by_name["CLUSTER_LIST"]["cluster_list"] == ["10.77.0.2"]
    assert by_name["COMMUNITIES"]["communities"] == ["64512:200"]
    assert j["nlri"] == [{"prefix": "10.99.0.0/24", "path_id": 1}]


def test_real_end_of_rib_and_shutdown() -> None:
    for name in ("real_bird_update2", "real_gobgp_update"):
        assert message_to_json(load(name)) == {
            "type": "UPDATE",
            "length": 23,
            "as4": True,
            "withdrawn": [],
            "attributes": [],
            "nlri": [],
        }
    n = decode_message(load("real_bird_notification"))
    assert isinstance(n, Notification)
    assert shutdown_message(n) == "maintenance by bgprr capture"
    j = message_to_json(load("real_bird_notification"))
    assert j["code_name"] == "Cease" and j["subcode"] == 2
    assert j["shutdown_message"] == "maintenance by bgprr capture"
    assert decode_message(load("real_bird_keepalive")) == Keepalive()


def test_hand_all_attrs_fields() -> None:
    j = message_to_json(load("hand_update_ipv4_all_attrs"))
    by_type = {a["type"]: a for a in j["attributes"]}
    assert by_type[2]["segments"] == [{"type": "AS_SEQUENCE", "asns": [65001, 4200000001]}]
    assert by_type[4]["med"] == 50 and by_type[5]["local_pref"] == 200
    assert by_type[7]["asn"] == 65001 and by_type[7]["address"] == "192.0.2.1"
    assert by_type[8]["communities"] == ["65001:100", "65535:65281"]
    assert by_type[10]["cluster_list"] == ["10.0.0.1", "10.0.0.2"]
    ext = by_type[16]["extended_communities"]
    assert ext[0] == {"hex": "0002fde900000064", "type": "route-target", "value": "65001:100"}
    assert ext[1]["type"] == "route-origin" and ext[1]["value"] == "192.0.2.1:7"
    assert ext[2]["value"] == "4200000001:5"
    assert ext[3] == {"hex": "030c000000000008"}
    assert by_type[99] == {
        "type": 99,
        "name": "UNKNOWN_99",
        "flags": 0xE0,
        "flag_names": ["OPTIONAL", "TRANSITIVE", "PARTIAL"],
        "hex": "010203",
    }
    assert j["withdrawn"] == ["10.1.0.0/16"]
    assert j["nlri"] == ["203.0.113.0/24", "198.51.100.128/25", "0.0.0.0/0"]


def test_hand_ipv6_and_as2_fields() -> None:
    j = message_to_json(load("hand_update_ipv6_mp"))
    reach = j["attributes"][3]
    assert reach["family"] == "ipv6-unicast"
    assert reach["next_hop"] == ["2001:db8::1", "fe80::1"]
    assert reach["nlri"] == ["2001:db8:1::/48", "2001:db8:2:8000::/49", "::/0"]
    assert j["attributes"][4]["withdrawn"] == ["2001:db8:0:1::/64"]
    j = message_to_json(load("hand_update_as2"), as4=False)
    assert j["as4"] is False
    assert j["attributes"][1]["segments"][0]["asns"] == [65001, 23456]
    assert j["attributes"][4]["segments"][0]["asns"] == [65001, 4200000001]
    u = decode_message(load("hand_update_as2"), as4=False)
    assert isinstance(u, Update)  # canonical 4-octet AS_PATH after the RFC 6793 merge
    assert bytes.fromhex("0000fde9fa56ea01") in u.attrs


def test_open_json_fields() -> None:
    j = message_to_json(load("hand_open_all_caps"))
    assert j["bgp_id"] == "192.0.2.1" and j["my_as"] == 23456 and "params" not in j
    by_name = {c["name"]: c for c in j["capabilities"]}
    assert by_name["four-octet-as"]["asn"] == 4200000001
    assert by_name["graceful-restart"]["restart"] is True
    assert by_name["long-lived-graceful-restart"]["families"][1]["stale_time"] == 86400
    assert by_name["add-path"]["families"][1]["mode"] == "receive"
    assert by_name["fqdn"] == {"code": 73, "name": "fqdn", "hostname": "node1", "domain": "local"}
    assert by_name["route-refresh-cisco"] == {"code": 128, "name": "route-refresh-cisco", "hex": ""}
    assert by_name["unknown-254"]["hex"] == "abcd"
    j = message_to_json(load("hand_open_two_params"))
    assert j["params"] == [{"type": 2, "count": 1}, {"type": 2, "count": 2}]


def test_raw_hex_kept_where_reencoding_differs() -> None:
    m = b"\xff" * 16
    # GR with reserved flag bits set: decoded fields plus the raw value
    body = bytes.fromhex("04fde8005a0102030406 0204 4002 b005".replace(" ", ""))
    raw = m + (19 + len(body)).to_bytes(2, "big") + b"\x01" + body
    j = message_to_json(raw)
    assert j["capabilities"][0]["hex"] == "b005" and j["capabilities"][0]["time"] == 5
    assert json_to_message(j) == raw
    # NLRI with host bits set and a bad ORIGIN value
    body = bytes.fromhex("00000004400101071a0a0b0cff")
    raw = m + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    j = message_to_json(raw)
    assert j["attributes"][0]["hex"] == "07" and "origin" not in j["attributes"][0]
    assert j["nlri"] == ["10.11.12.192/26"] and j["nlri_hex"] == "1a0a0b0cff"
    assert json_to_message(j) == raw


def test_hand_written_json_encodes() -> None:
    obj = {
        "type": "UPDATE",
        "attributes": [
            {"type": 1, "flags": 64, "origin": "IGP"},
            {"type": 2, "flags": 64, "segments": [{"type": "AS_SEQUENCE", "asns": [65001]}]},
            {"type": 3, "flags": 64, "next_hop": "192.0.2.1"},
        ],
        "nlri": ["10.0.0.0/8"],
    }
    raw = json_to_message(obj)
    u = decode_message(raw, ibgp=False)
    assert isinstance(u, Update) and u.nlri == [parse_prefix("10.0.0.0/8")[1]]
    assert json_to_message({"type": "KEEPALIVE"}) == b"\xff" * 16 + b"\x00\x13\x04"
    rr = json_to_message({"type": "ROUTE_REFRESH", "afi": 2, "safi": 1, "subtype": 1})
    assert rr[-4:] == b"\x00\x02\x01\x01"


def test_capability_to_json() -> None:
    assert capability_to_json(UnknownCapability(code=200, data=b"\x01")) == {
        "code": 200,
        "name": "unknown-200",
        "hex": "01",
    }
