"""Generated cases (hypothesis, fixed seed)."""

from __future__ import annotations

from .model import Case


def generated_cases(n: int) -> list[Case]:
    return []
