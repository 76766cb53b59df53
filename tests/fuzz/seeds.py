"""Seed corpora for the fuzz targets, from the captures in tests/wire/golden/ (real BIRD
and GoBGP messages, hand-made ones for every message type and attribute)."""

from __future__ import annotations

import hashlib
from pathlib import Path

GOLDEN = Path(__file__).parent.parent / "wire" / "golden"


def golden_messages() -> list[bytes]:
    return [bytes.fromhex("".join(p.read_text().split())) for p in sorted(GOLDEN.glob("*.hex"))]


def record(msg: bytes, wrap: bool) -> bytes:
    """One record of the session/reflector input layout (tests/fuzz/targets.py)."""
    if wrap and len(msg) >= 19 and msg[18] == 2:
        body = msg[19:]
        return b"\x00" + len(body).to_bytes(2, "big") + body
    return b"\x01" + len(msg).to_bytes(2, "big") + msg


def seeds(target: str) -> list[bytes]:
    msgs = golden_messages()
    updates = [m for m in msgs if len(m) >= 19 and m[18] == 2]
    if target == "decoder":
        return [bytes((flavour,)) + m for m in msgs for flavour in (0, 5, 0x80)]
    if target == "session":
        one = [b"\x00" + record(m, True) for m in msgs]
        return [*one, b"\x01" + b"".join(record(m, False) for m in updates)]
    return [record(m, True) for m in updates] + [b"".join(record(m, True) for m in updates)]


def write_seeds(target: str, directory: Path) -> int:
    """Write ``target``'s seeds into ``directory`` (named by content); returns how many."""
    directory.mkdir(parents=True, exist_ok=True)
    items = seeds(target)
    for data in items:
        (directory / f"seed-{hashlib.sha1(data).hexdigest()[:16]}").write_bytes(data)
    return len(items)
