"""CLI tables against golden text (tests/api/golden; inputs.json holds the JSON views).

After a deliberate layout change: ``BGPRR_REGEN_GOLDEN=1 pytest tests/api/test_api_format.py``
rewrites the .txt files; review the diff before committing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from bgprr.api import format as fmt

GOLDEN = Path(__file__).parent / "golden"


def inputs() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / "inputs.json").read_text())
    return data


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("neighbor_table.txt", lambda i: fmt.neighbor_table(i["neighbors"])),
        ("neighbor_detail.txt", lambda i: fmt.neighbor_detail(i["detail"])),
        ("rib.txt", lambda i: fmt.rib_table(i["routes"])),
        ("adj_in.txt", lambda i: fmt.adj_table(i["adj_in"])),
        ("adj_out.txt", lambda i: fmt.adj_table(i["adj_out"])),
        ("rib_summary.txt", lambda i: fmt.rib_summary(i["summary"])),
    ],
)
def test_golden(name: str, render: Any) -> None:
    text = render(inputs())
    if os.environ.get("BGPRR_REGEN_GOLDEN"):
        (GOLDEN / name).write_text(text)
    assert text == (GOLDEN / name).read_text()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "never"),
        (0, "00:00:00"),
        (59, "00:00:59"),
        (3600 + 61, "01:01:01"),
        (86399, "23:59:59"),
        (86400, "1d 00:00:00"),
        (12 * 86400 + 3 * 3600 + 4 * 60 + 5, "12d 03:04:05"),
    ],
)
def test_updown(seconds: int | None, text: str) -> None:
    assert fmt.updown(seconds) == text


def test_empty_tables_have_headers() -> None:
    assert fmt.neighbor_table([]) == (
        "Peer AS Up/Down State       |#Received  Accepted\n"
    )
    assert fmt.rib_table([]).split() == ["Network", "Next", "Hop", "AS_PATH", "Age", "Attrs"]


def test_summary_for_one_family() -> None:
    text = fmt.rib_summary(inputs()["summary"], "ipv6")
    assert "ipv4" not in text and text.startswith("Table ipv6-unicast\nDestination: 0, Path: 0")
