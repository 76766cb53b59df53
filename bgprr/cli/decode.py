"""``bgprr decode``: BGP messages (hex or raw) to one JSON object per line, and back.

Schema and exit codes: docs/decode.md. The command never shows a traceback: a malformed
message ends it with exit status 2 and one line on stderr naming the RFC error
(``code/subcode``, names) and the byte offset in the input.
"""

from __future__ import annotations

import json
import re
import struct
import sys
from typing import Any, NoReturn

import click

from bgprr.wire.constants import MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN
from bgprr.wire.errors import Action, BGPError
from bgprr.wire.framer import Framer
from bgprr.wire.jsonfmt import json_to_message, message_to_json
from bgprr.wire.messages import decode_message
from bgprr.wire.update import Update

EXIT_MALFORMED = 2

# Every (AFI, SAFI) pair whose NLRI --addpath decodes with path identifiers.
ADDPATH_ALL = frozenset((afi, safi) for afi in (1, 2) for safi in (1, 2))

_HEX_NOISE = re.compile(r"0[xX]|[\s:]")


def _fail(text: str) -> NoReturn:
    click.echo(f"bgprr decode: {text}", err=True)
    sys.exit(EXIT_MALFORMED)


def parse_hex(text: str) -> bytes:
    """Hex text to bytes, ignoring whitespace, colons and ``0x`` prefixes."""
    digits = _HEX_NOISE.sub("", text)
    bad = re.search(r"[^0-9a-fA-F]", digits)
    if bad is not None:
        _fail(f"input is not hexadecimal: {bad.group()!r} at hex digit {bad.start()}")
    if len(digits) % 2:
        _fail(f"odd number of hex digits ({len(digits)})")
    return bytes.fromhex(digits)


def _read_input(hexargs: tuple[str, ...], raw: bool) -> bytes:
    if hexargs:
        return parse_hex(" ".join(hexargs))
    data: bytes = sys.stdin.buffer.read()
    if raw:
        return bytes(data)
    try:
        return parse_hex(data.decode("ascii"))
    except UnicodeDecodeError:
        _fail("input is not hexadecimal text (use --raw for binary input)")


def _decode_all(
    data: bytes, *, as4: bool, addpath: frozenset[tuple[int, int]], ibgp: bool, max_len: int
) -> None:
    framer = Framer(max_len)
    framer.feed(data)
    index = 0
    while True:
        start = framer.position
        try:
            msg = framer.next_message()
            if msg is None:
                break
            decoded = decode_message(msg, as4=as4, addpath=addpath, ibgp=ibgp, max_len=max_len)
        except BGPError as err:
            _report(err, start, index)
        try:
            obj = message_to_json(msg, as4=as4, addpath=addpath)
        except (ValueError, KeyError, IndexError, struct.error, BGPError) as exc:
            _fail(f"message {index} at byte {start}: cannot be shown as JSON: {exc}")
        if isinstance(decoded, Update) and (decoded.errors or decoded.treat_as_withdraw):
            obj["errors"] = [e.describe() for e in decoded.errors]
            obj["treat_as_withdraw"] = decoded.treat_as_withdraw
        click.echo(json.dumps(obj, ensure_ascii=False))
        if isinstance(decoded, Update) and decoded.errors:
            # RFC 7606: the session would survive (treat-as-withdraw / attribute discard),
            # but the input is still malformed: report the most severe error and stop.
            worst = max(decoded.errors, key=lambda e: e.action)
            _report(worst, start, index)
        index += 1
    left = framer.buffered
    if left:
        start = framer.position
        need = ""
        if left >= 19:
            need = f" of {int.from_bytes(data[start + 16 : start + 18], 'big')}"
        _fail(
            f"Message Header Error / Bad Message Length (1/2) at byte {start}: "
            f"input ends inside message {index} ({left}{need} octets)"
        )


def _report(err: BGPError, start: int, index: int) -> NoReturn:
    where = f"at byte {start + err.offset}" if err.offset is not None else f"at byte {start}"
    text = f"{err.name} ({err.code}/{err.subcode}) {where} (message {index} starts at byte {start})"
    if err.action != Action.SESSION_RESET:
        text += f" [RFC 7606 {err.action.name.lower().replace('_', '-')}]"
    if err.reason:
        text += f": {err.reason}"
    if err.data:
        text += f" [data {err.data.hex()}]"
    _fail(text)


def _encode_all(text: str) -> None:
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj: Any = json.loads(line)
            if not isinstance(obj, dict):
                raise TypeError("a line must hold one JSON object")
            click.echo(json_to_message(obj).hex())
        except (ValueError, KeyError, TypeError, IndexError, struct.error, OverflowError) as exc:
            _fail(f"line {lineno}: cannot encode: {type(exc).__name__}: {exc}")


@click.command("decode")
@click.argument("hexdata", nargs=-1, metavar="[HEX]...")
@click.option("--raw", is_flag=True, help="Read raw binary messages from stdin instead of hex.")
@click.option("--as2", is_flag=True, help="Read AS_PATH/AGGREGATOR as 2-octet (no RFC 6793).")
@click.option("--addpath", is_flag=True, help="NLRI carry ADD-PATH path identifiers (RFC 7911).")
@click.option("--ebgp", is_flag=True, help="The sender is an external peer (LOCAL_PREF optional).")
@click.option("--extended", is_flag=True, help="Accept messages up to 65535 octets (RFC 8654).")
@click.option(
    "--encode",
    "encode",
    is_flag=True,
    help="Read the JSON objects (one per line) from stdin and print each message as hex.",
)
def decode(
    hexdata: tuple[str, ...],
    raw: bool,
    as2: bool,
    addpath: bool,
    ebgp: bool,
    extended: bool,
    encode: bool,
) -> None:
    """Decode BGP messages given as hex arguments or on stdin; one JSON object per message."""
    if encode:
        data = sys.stdin.read()
        _encode_all(data)
        return
    payload = _read_input(hexdata, raw)
    _decode_all(
        payload,
        as4=not as2,
        addpath=ADDPATH_ALL if addpath else frozenset(),
        ibgp=not ebgp,
        max_len=MAX_EXTENDED_MESSAGE_LEN if extended else MAX_MESSAGE_LEN,
    )
