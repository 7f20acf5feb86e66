"""A finding about a manifest (`Problem`), with the place it comes from: a file, a 1-based line
and column (`Position`), a JSON pointer, and how bad it is (`Severity`). syncd's error classes
carry these (`errors.ManifestError`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import NamedTuple

from syncd.taint import printable, scrub, scrub_pointer, unhinted


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Position(NamedTuple):
    """A 1-based line and column inside a file (a tuple: a file's every value has one, and a
    tuple is made several times faster than a frozen dataclass)."""

    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Problem:
    """One finding: `stacks/shop.yaml:12:7: /services/web/ports/0: message`."""

    path: str
    message: str
    pointer: str = ""
    position: Position = field(default_factory=Position)
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = self.path
        if self.position.line:
            where += f":{self.position.line}:{self.position.column}"
        pointer = f" {self.pointer}:" if self.pointer else ""
        tag = "" if self.severity is Severity.ERROR else f" {self.severity}:"
        return printable(f"{where}:{tag}{pointer} {self.message}")  # one line, whatever was pushed

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.position.line, self.position.column, self.message)


def scrub_problem(problem: Problem, values: Iterable[str]) -> Problem:
    """`problem` with every tainted value hidden from its message and pointer (`taint`)."""
    wanted = frozenset(values)
    message = unhinted(scrub(problem.message, wanted, whole_only=True))
    hidden = scrub_pointer(problem.pointer, wanted)
    if (message, hidden) == (problem.message, problem.pointer):
        return problem
    return replace(problem, message=message, pointer=hidden)


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]
