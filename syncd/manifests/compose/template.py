"""Compose's interpolation of one string: `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`,
`${VAR?e}`, `${VAR:+x}`, `${VAR+x}` and `$$`, with defaults that hold interpolations themselves
(`${A:-${B:-x}}`), as the Compose Specification's "Interpolation" section and compose-go's
`template` package read them.

Differences from compose-go, each on the safe side:
- a `${VAR:?message}` error shows the message as written, never interpolated (it could quote a
  value of the environment);
- only the branch used is evaluated (compose-go evaluates a default even when it is not used);
- nesting is at most `MAX_NESTING` deep and the text built at most `budget` characters, so a
  hostile template (`${A:-${A:-...`, or `${A}` a million times over a long value) is refused in
  time linear in its size;
- `SYNCD_*` names count as unset whatever the mapping holds (`syncd.secretpolicy`).
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from syncd.errors import TemplateError
from syncd.secretpolicy import is_own, unknowable, unknown_value, unset_variable

MAX_NESTING = 16  # `${A:-${B:-...}}` levels
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_OP = re.compile(r":?[-?+]")
_PLAIN = re.compile(r"[^$}]+")


@dataclass(frozen=True)
class _Var:
    name: str
    op: str | None = None
    arg: tuple[str | _Var, ...] = ()
    raw: str = ""  # the argument as written


@dataclass
class Substitution:
    """A string's interpolated text and what it read."""

    text: str = ""
    taken: list[str] = field(default_factory=list)  # values taken from the mapping
    names: list[str] = field(default_factory=list)  # names whose value was taken (or tested set)
    unset: list[str] = field(default_factory=list)  # names unset and without default: "" used


def _clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[:size] + "..."


def _invalid(text: str, at: int) -> TemplateError:
    return TemplateError(
        f"invalid interpolation {_clip(text[at:], 20)!r} at character {at + 1}: write $NAME, "
        "${NAME}, ${NAME:-default} (or -, :?, ?, :+, +), or '$$' for a literal '$'"
    )


def _parse(text: str, start: int, depth: int) -> tuple[list[str | _Var], int]:
    """The parts of `text` from `start` up to its end (depth 0) or an unmatched `}` (inside a
    `${NAME<op>...}`), and where they stop."""
    parts: list[str | _Var] = []
    i, size = start, len(text)
    while i < size:
        char = text[i]
        if char == "}":
            if depth:
                return parts, i
            parts.append("}")
            i += 1
            continue
        if char != "$":
            plain = _PLAIN.match(text, i)
            assert plain is not None
            parts.append(plain.group())
            i = plain.end()
            continue
        following = text[i + 1 : i + 2]
        if following == "$":
            parts.append("$")
            i += 2
            continue
        name = _NAME.match(text, i + 1)
        if name is not None:
            parts.append(_Var(name.group()))
            i = name.end()
            continue
        if following != "{":
            raise _invalid(text, i)
        var, i = _braced(text, i, depth)
        parts.append(var)
    if depth:
        raise TemplateError(
            f"'${{' is not closed by '}}' in {_clip(text[:start], 40)!r}...: "
            "write '$${' for a literal '${'"
        )
    return parts, i


def _braced(text: str, at: int, depth: int) -> tuple[_Var, int]:
    """The `${...}` starting at `at`, and the index after its `}`."""
    name = _NAME.match(text, at + 2)
    if name is None:
        if text.find("}", at) < 0:
            raise TemplateError(
                f"'${{' at character {at + 1} is not closed by '}}': "
                "write '$${' for a literal '${'"
            )
        raise _invalid(text, at)
    after = name.end()
    if after >= len(text):
        raise TemplateError(
            f"'${{' at character {at + 1} is not closed by '}}': write '$${{' for a literal '${{'"
        )
    if text[after : after + 1] == "}":
        return _Var(name.group()), after + 1
    op = _OP.match(text, after)
    if op is None:
        raise _invalid(text, at)
    if depth >= MAX_NESTING:
        raise TemplateError(
            f"interpolations nest deeper than {MAX_NESTING} levels at character {at + 1}"
        )
    arg, end = _parse(text, op.end(), depth + 1)
    return _Var(name.group(), op.group(), tuple(arg), text[op.end() : end]), end + 1


class _Evaluation:
    def __init__(self, env: Mapping[str, str], budget: int) -> None:
        self.env = env
        self.budget = budget
        self.out = Substitution()
        self.pieces: list[str] = []

    def add(self, piece: str) -> None:
        self.budget -= len(piece)
        if self.budget < 0:
            raise TemplateError(
                "interpolation builds too long a text (over the budget of interpolated "
                "characters per file); refused"
            )
        self.pieces.append(piece)

    def run(self, parts: tuple[str | _Var, ...] | list[str | _Var]) -> None:
        for part in parts:
            if isinstance(part, str):
                self.add(part)
            else:
                self.variable(part)

    def take(self, var: _Var, value: str) -> None:
        self.out.taken.append(value)
        self.out.names.append(var.name)
        self.add(value)

    def variable(self, var: _Var) -> None:
        value = None if is_own(var.name) else self.env.get(var.name)
        if value is None and var.op in (None, ":?", "?") and unknowable(var.name):
            self.add(unknown_value(var.name))  # a plan between revisions: not known here
            return
        empty = value is None or value == ""
        match var.op:
            case None:
                if value is None:
                    self.out.unset.append(var.name)
                else:
                    self.take(var, value)
            case ":-" | "-":
                if value is None or (empty and var.op == ":-"):
                    self.run(var.arg)
                else:
                    self.take(var, value)
            case ":?" | "?":
                if value is None or (empty and var.op == ":?"):
                    raise TemplateError(self.required(var))
                self.take(var, value)
            case ":+" | "+":
                if value is None or (empty and var.op == ":+"):
                    return
                self.out.names.append(var.name)  # the text used says the variable is set
                self.run(var.arg)
            case _:
                raise AssertionError(var.op)

    @staticmethod
    def required(var: _Var) -> str:
        if is_own(var.name):
            return unset_variable(var.name)
        return f"{var.name} is required: {var.raw}" if var.raw else f"{var.name} is required"


def substitute(text: str, env: Mapping[str, str], budget: int) -> Substitution:
    """`text` interpolated from `env`, building at most `budget` characters, or
    `TemplateError`. An unset variable without a default is an empty string, named in
    `unset` (the caller warns)."""
    parts, _ = _parse(text, 0, 0)
    run = _Evaluation(env, budget)
    run.run(parts)
    run.out.text = "".join(run.pieces)
    return run.out
