"""`${VAR}` templates in configuration values, expanded from an environment mapping.

The forms, with the shell's meaning (POSIX sh, "Parameter Expansion"):

* ``${VAR}``: the value of VAR; an error when VAR is not set (set and empty gives "");
* ``${VAR:-default}``: the default when VAR is unset *or empty*;
* ``${VAR-default}``: the default only when VAR is unset;
* ``$${``: a literal ``${``.  Any other ``$`` is kept as it is (``pa$$word`` stays).

A default may itself hold templates (``${PEER_AS:-${ASN}}``); it is expanded only when it
is used, and it cannot contain a ``}``.  A variable's value is never expanded again.
Every other ``${...}`` form (``${VAR:?msg}``, ``${VAR:+x}``, ``${1X}``, an unclosed
``${``) is refused with a `TemplateError`.

The caller passes the environment in (``os.environ`` for a file), so the module is pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Expansion", "TemplateError", "escape", "expand"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUPPORTED = "only ${VAR}, ${VAR:-default} and ${VAR-default} are supported"


class TemplateError(Exception):
    """A template that cannot be expanded; the message is one line without file or key
    (the configuration walker adds them).  ``masked`` is the same message without the
    quoted part of the value, for secrets (a password that held a ``${`` before
    templates existed must not leak into a log)."""

    def __init__(self, message: str, masked: str | None = None) -> None:
        super().__init__(message)
        self.masked = message if masked is None else masked


@dataclass(frozen=True, slots=True)
class Expansion:
    """The expanded ``text``; ``names``: the variables whose value was substituted;
    ``defaulted``: the variables whose default was used instead."""

    text: str
    names: tuple[str, ...] = ()
    defaulted: tuple[str, ...] = ()

    @property
    def templated(self) -> bool:
        """Whether any variable was consulted (``$${`` alone does not count)."""
        return bool(self.names or self.defaulted)


def escape(text: str) -> str:
    """The template that expands to ``text`` itself: ``expand(escape(s), env).text == s``."""
    return text.replace("${", "$${")


def expand(text: str, env: Mapping[str, str]) -> Expansion:
    """Expand every template in ``text`` from ``env``; `TemplateError` if one is
    malformed or names an unset variable without a default."""
    if "${" not in text:
        return Expansion(text)
    run = _Expander(text, env)
    out, end = run.sequence(0, nested=False, live=True)
    assert end == len(text)
    return Expansion(out, tuple(run.names), tuple(run.defaulted))


class _Expander:
    """A recursive-descent pass over one string.  ``live`` is false inside a default that
    is not used: its syntax is still checked, but nothing is looked up."""

    def __init__(self, text: str, env: Mapping[str, str]) -> None:
        self.text = text
        self.env = env
        self.names: list[str] = []
        self.defaulted: list[str] = []

    def sequence(self, pos: int, *, nested: bool, live: bool) -> tuple[str, int]:
        """Literal text and templates from ``pos`` up to the end of the string, or (when
        ``nested``, inside a default) up to the first unmatched ``}``, which is not
        consumed.  Returns the expansion and the position where it stopped."""
        text = self.text
        parts: list[str] = []
        while pos < len(text):
            if text.startswith("$${", pos):
                parts.append("${")
                pos += 3
            elif text.startswith("${", pos):
                value, pos = self.reference(pos, live=live)
                parts.append(value)
            elif nested and text[pos] == "}":
                break
            else:
                stop = _next_special(text, pos + 1, nested)
                parts.append(text[pos:stop])
                pos = stop
        return "".join(parts), pos

    def reference(self, start: int, *, live: bool) -> tuple[str, int]:
        """One ``${...}`` starting at ``start``; returns its value and the position after
        its closing brace."""
        text = self.text
        pos = start + 2
        match = _NAME.match(text, pos)
        if match is None:
            raise self._bad_name(start)
        name = match.group()
        pos = match.end()
        if pos == len(text):
            raise self._unterminated(start)
        if text[pos] == "}":
            if not live:
                return "", pos + 1
            value = self.env.get(name)
            if value is None:
                raise TemplateError(
                    f"${{{name}}} is not set in the environment "
                    f"(use ${{{name}:-default}} for a default)"
                )
            self.names.append(name)
            return value, pos + 1
        if text.startswith(":-", pos):
            pos += 2
            empty_counts = True
        elif text[pos] == "-":
            pos += 1
            empty_counts = False
        else:
            close = text.find("}", pos)
            shown = text[start : close + 1] if close >= 0 else text[start:]
            raise TemplateError(
                f"unsupported template {_quote(shown)}: {_SUPPORTED}",
                f"unsupported template: {_SUPPORTED}",
            )
        value = self.env.get(name) if live else None
        use_default = live and (value is None or (empty_counts and value == ""))
        default, pos = self.sequence(pos, nested=True, live=use_default)
        if pos == len(text):
            raise self._unterminated(start)
        if not live:
            return "", pos + 1
        if use_default:
            self.defaulted.append(name)
            return default, pos + 1
        assert value is not None
        self.names.append(name)
        return value, pos + 1

    def _bad_name(self, start: int) -> TemplateError:
        text = self.text
        close = text.find("}", start)
        if close < 0:
            return self._unterminated(start)
        shown = text[start : close + 1]
        if close == start + 2:
            return TemplateError(f"empty variable name in {_quote(shown)}")
        rule = "(letters, digits and _, not starting with a digit)"
        return TemplateError(
            f"invalid variable name in {_quote(shown)} {rule}", f"invalid variable name {rule}"
        )

    def _unterminated(self, start: int) -> TemplateError:
        hint = "(no closing }; write $${ for a literal ${)"
        return TemplateError(
            f"unterminated template {_quote(self.text[start:])} {hint}",
            f"unterminated template {hint}",
        )


def _next_special(text: str, pos: int, nested: bool) -> int:
    """The next position where a ``$`` (or, inside a default, a ``}``) is, or the end."""
    ends = [i for i in (text.find("$", pos), text.find("}", pos) if nested else -1) if i >= 0]
    return min(ends) if ends else len(text)


def _quote(fragment: str) -> str:
    """A fragment of the value for an error message: quoted, cut at 60 characters."""
    if len(fragment) > 60:
        fragment = fragment[:57] + "..."
    return '"' + fragment.replace("\\", "\\\\").replace('"', '\\"') + '"'
