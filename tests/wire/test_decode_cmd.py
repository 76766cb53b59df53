"""`bgprr decode`: input forms, one JSON line per message, errors, --encode round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bgprr.cli.decode import decode

GOLDEN = Path(__file__).parent / "golden"
KEEPALIVE = "ffffffffffffffffffffffffffffffff001304"


def gold(name: str) -> str:
    return "".join((GOLDEN / f"{name}.hex").read_text().split())


def run(args: list[str], stdin: str | bytes | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(decode, args, input=stdin)
    return res.exit_code, res.stdout, res.stderr


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_hex_argument() -> None:
    code, out, err = run([KEEPALIVE])
    assert (code, err) == (0, "")
    assert lines(out) == [{"type": "KEEPALIVE", "length": 19}]


def test_tolerant_hex_forms() -> None:
    colons = ":".join(KEEPALIVE[i : i + 2] for i in range(0, len(KEEPALIVE), 2))
    for text in (
        f"0x{KEEPALIVE}",
        colons,
        KEEPALIVE.upper(),
        f"  {KEEPALIVE[:10]}\n {KEEPALIVE[10:]}",
    ):
        code, out, _ = run([], text)
        assert code == 0 and lines(out) == [{"type": "KEEPALIVE", "length": 19}]
    code, out, _ = run([KEEPALIVE[:20], KEEPALIVE[20:]])  # split over arguments
    assert code == 0 and len(lines(out)) == 1


def test_several_messages_one_per_line() -> None:
    stream = gold("real_bird_open") + KEEPALIVE + gold("real_bird_notification")
    code, out, _ = run([], stream)
    assert code == 0
    assert [o["type"] for o in lines(out)] == ["OPEN", "KEEPALIVE", "NOTIFICATION"]


def test_raw_binary_stdin() -> None:
    data = bytes.fromhex(gold("real_gobgp_open") + KEEPALIVE)
    code, out, _ = run(["--raw"], data)
    assert code == 0 and [o["type"] for o in lines(out)] == ["OPEN", "KEEPALIVE"]


def test_addpath_and_as2_flags() -> None:
    code, out, _ = run(["--addpath", gold("real_bird_update")])
    assert code == 0
    (obj,) = lines(out)
    assert obj["nlri"] == [
        {"prefix": "192.168.10.0/26", "path_id": 2},
        {"prefix": "192.168.10.64/26", "path_id": 2},
    ]
    code, out, _ = run(["--as2", "--ebgp", gold("hand_update_as2")])
    assert code == 0
    (obj,) = lines(out)
    attrs = obj["attributes"]
    assert isinstance(attrs, list) and attrs[1]["segments"][0]["asns"] == [65001, 23456]


def test_encode_round_trip_all_golden() -> None:
    for name in sorted(p.stem for p in GOLDEN.glob("*.hex")):
        args = (
            ["--addpath"]
            if "addpath" in name or name in ("real_bird_update", "real_gobgp_update2")
            else []
        )
        if name == "hand_update_as2":
            args = ["--as2", "--ebgp"]
        if name == "hand_update_addpath":
            args = ["--addpath", "--ebgp"]
        if name == "hand_update_extended_length":
            args = ["--ebgp"]
        code, out, err = run([*args, gold(name)])
        assert code == 0, (name, err)
        code, back, err = run(["--encode"], out)
        assert code == 0, (name, err)
        assert back.strip() == gold(name), name


def test_encode_several_lines() -> None:
    stream = gold("hand_open_all_caps") + KEEPALIVE + gold("hand_route_refresh_borr")
    _, out, _ = run([stream])
    code, back, _ = run(["--encode"], out + "\n")
    assert code == 0 and "".join(back.split()) == stream


@pytest.mark.parametrize(
    ("hexstr", "needle"),
    [
        (
            "00" * 16 + "001304",
            "Message Header Error / Connection not synchronized (1/1) at byte 0",
        ),
        ("ff" * 16 + "001204", "Message Header Error / Bad message length (1/2) at byte 16"),
        ("ff" * 16 + "001309", "Message Header Error / Bad message type (1/3) at byte 18"),
        ("ff" * 16 + "001d0103fde8005a0102030400", "(2/1) at byte 19"),
        ("ff" * 16 + "001d0104fde8005a0000000000", "Bad BGP identifier (2/3) at byte 24"),
        (
            "ff" * 16 + "001805000100010a",
            "ROUTE-REFRESH Message Error / Invalid message length (7/1)",
        ),
        ("ff" * 16 + "001a0200000006400101", "UPDATE Message Error / Malformed attribute list"),
    ],
)
def test_malformed_one_line_exit_2(hexstr: str, needle: str) -> None:
    code, out, err = run([hexstr])
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert needle in err, err


def test_error_offset_counts_from_input_start() -> None:
    bad_type = "ff" * 16 + "001309"
    code, out, err = run([KEEPALIVE + KEEPALIVE + bad_type])
    assert code == 2
    assert len(lines(out)) == 2  # the good messages before it are printed
    assert "(1/3) at byte 56 (message 2 starts at byte 38)" in err


@pytest.mark.parametrize(
    ("stdin", "needle"),
    [
        ("zz", "not hexadecimal"),
        ("fff", "odd number of hex digits"),
        (KEEPALIVE + "ffff", "input ends inside message 1"),
        (KEEPALIVE[:-2], "input ends inside message 0"),
    ],
)
def test_bad_input_text(stdin: str, needle: str) -> None:
    code, _, err = run([], stdin)
    assert code == 2 and needle in err and len(err.splitlines()) == 1


def test_non_ascii_stdin_without_raw() -> None:
    code, _, err = run([], b"\xff\xfe")
    assert code == 2 and "--raw" in err


@pytest.mark.parametrize("line", ["[1]", "{", '{"type": "NOPE"}', '{"type": "OPEN"}'])
def test_encode_bad_json(line: str) -> None:
    code, _, err = run(["--encode"], line)
    assert code == 2 and err.startswith("bgprr decode: line 1:") and len(err.splitlines()) == 1


def test_extended_flag() -> None:
    big = "ff" * 16 + f"{19 + 5000:04x}" + "03" + "0600" + "00" * 4998
    code, _, err = run([big])
    assert code == 2 and "(1/2)" in err
    code, out, _ = run(["--extended", big])
    assert code == 0 and lines(out)[0]["length"] == 5019


def test_rfc7606_milder_error_prints_json_then_one_error_line() -> None:
    # AS_PATH segment overrun, with NLRI (without, RFC 7606 §5.2 makes it a session reset)
    bad = "ff" * 16 + "00230200000008400201030000fde9180a0b0c"
    code, out, err = run([bad + KEEPALIVE])
    assert code == 2
    (obj,) = lines(out)  # the message is shown, decoding stops after it
    assert obj["treat_as_withdraw"] is True and obj["attributes_hex"] == "400201030000fde9"
    assert isinstance(obj["errors"], list) and obj["errors"]
    assert len(err.splitlines()) == 1
    assert "(3/11) at byte 23" in err and "[RFC 7606 treat-as-withdraw]" in err
