"""Problem reports for people (text), programs (json) and GitHub Actions (annotations)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum

from syncd.errors import Problem, Severity


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(problem: Problem) -> str:
    level = "error" if problem.severity is Severity.ERROR else "warning"
    props = [f"file={_escape_property(problem.path)}"]
    if problem.position.line:
        props += [f"line={problem.position.line}", f"col={problem.position.column}"]
    where = f"{problem.pointer}: " if problem.pointer else ""
    return f"::{level} {','.join(props)}::{_escape_data(where + problem.message)}"


def summary(problems: Sequence[Problem], files: int, revision: str | None) -> str:
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    at = f" at {revision[:12]}" if revision else ""
    verdict = "valid" if errors == 0 else "invalid"
    return f"{files} manifest file(s){at}: {verdict}, {errors} error(s), {warnings} warning(s)"


def render(
    problems: Sequence[Problem], fmt: ReportFormat, *, files: int, revision: str | None
) -> str:
    if fmt is ReportFormat.JSON:
        body = {
            "valid": not any(p.severity is Severity.ERROR for p in problems),
            "revision": revision,
            "files": files,
            "problems": [
                {
                    "path": p.path,
                    "line": p.position.line,
                    "column": p.position.column,
                    "pointer": p.pointer,
                    "severity": p.severity.value,
                    "message": p.message,
                }
                for p in problems
            ],
        }
        return json.dumps(body, indent=2)
    if fmt is ReportFormat.GITHUB:
        lines = [_github(p) for p in problems]
    else:
        lines = [str(p) for p in problems]
    return "\n".join([*lines, summary(problems, files, revision)])
