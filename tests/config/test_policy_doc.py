"""docs/policy.md stays true: its example loads and does what the page says, the
`bgprr check` lines it shows are what bgprr prints, its error lines are real."""

from __future__ import annotations

import io
from pathlib import Path

from bgprr.config import check_main, load_config_text
from bgprr.policy import compile_policies
from tests.config.test_config_doc import blocks
from tests.config.test_policy_config import BAD
from tests.policy.helpers import attrs, c, peer, route, view

DOC = Path(__file__).parents[2] / "docs" / "policy.md"


def example() -> str:
    return blocks(DOC, "toml")[0]


def test_example_does_what_the_page_says() -> None:
    policies = compile_policies(load_config_text(example(), "toml", "policy.md"))
    assert policies.global_import is not None and policies.global_export is not None
    tagged = route("203.0.113.0/24", attrs(communities=(0xFFFF029A,)))  # blackhole
    accepted = policies.global_import.apply(tagged, peer())
    assert view(accepted).local_pref == 500
    assert view(accepted).communities == (0xFFFF029A, 0xFFFFFF01)
    other = route("203.0.113.0/24", attrs(communities=(c("65000:1"),)))
    assert policies.global_import.apply(other, peer()) is other.attrs
    assert policies.global_export.apply(route("10.1.0.0/16"), peer()) is None
    assert policies.global_export.apply(route("192.168.5.0/24"), peer()) is None
    assert policies.global_export.apply(route("203.0.113.0/24"), peer()) is not None


def test_check_lines_shown_are_printed(tmp_path: Path) -> None:
    path = tmp_path / "rr.toml"
    path.write_text(example())
    out = io.StringIO()
    assert check_main(str(path), out=out, err=io.StringIO(), env={}) == 0
    shown = next(b for b in blocks(DOC, "text") if "Routing policy as it applies" in b)
    printed = out.getvalue().splitlines()
    for line in shown.splitlines():
        assert line in printed


def test_error_lines_are_real() -> None:
    shown = next(b for b in blocks(DOC, "text") if b.startswith("rr.toml:"))
    messages = {message for _, _, message in BAD}
    for line in shown.splitlines():
        assert line in messages, line
