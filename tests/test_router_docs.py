"""docs/router.md shows every file of examples/router/ as it is, and bgprr accepts the
TOML ones (conformance/test_router.py runs them)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bgprr.config import check_main

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "router.md"
EXAMPLES = ROOT / "examples" / "router"

# A heading naming the file, then the file in one fenced block.
_EMBED = re.compile(
    r"^#+ `(examples/router/[^`]+)`\n(?:(?!```)[^\n]*\n)*?```[a-z]*\n(.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


def embedded() -> dict[str, str]:
    found: dict[str, str] = {}
    for m in _EMBED.finditer(DOC.read_text()):
        assert m.group(1) not in found, f"{m.group(1)} embedded twice"
        found[m.group(1)] = m.group(2)
    return found


def test_router_md_embeds_exactly_the_example_files() -> None:
    files = {f"examples/router/{p.name}" for p in EXAMPLES.iterdir() if p.is_file()}
    docs = embedded()
    assert set(docs) == files
    for name, text in docs.items():
        assert text == (ROOT / name).read_text(), f"docs/router.md: {name} differs from the file"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_example_passes_bgprr_check(name: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert check_main(str(EXAMPLES / name), out=out, err=err, env={}) == 0, err.getvalue()
