"""Problem reports for people (text), programs (json), GitHub Actions (annotations) and GitLab
(a Code Quality report), and the outcome of `syncd apply`."""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum

from syncd.apply.results import SyncResult
from syncd.core.plan import Action, Reason
from syncd.engine.base import Engine, Observed
from syncd.engine.inventory import Inventory
from syncd.problems import Problem, Severity
from syncd.taint import printable

DRY_RUN = "dry run: nothing was applied"


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    GITLAB = "gitlab"

    @property
    def from_top(self) -> bool:
        """Whether files are named from the top of the repository (as the git host shows them)."""
        return self in (ReportFormat.GITHUB, ReportFormat.GITLAB)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(problem: Problem, root: str) -> str:
    """One workflow command; a control character (ESC) in a name or value is shown escaped."""
    level = "error" if problem.severity is Severity.ERROR else "warning"
    path = posixpath.join(root, problem.path) if root else problem.path
    props = [f"file={_escape_property(printable(path))}"]
    if problem.position.line:
        props += [f"line={problem.position.line}", f"col={problem.position.column}"]
    where = f"{problem.pointer}: " if problem.pointer else ""
    return f"::{level} {','.join(props)}::{_escape_data(printable(where + problem.message))}"


def _gitlab(problems: Sequence[Problem], root: str) -> str:
    """GitLab's Code Quality report (a subset of Code Climate's): one issue per problem, its
    fingerprint stable while lines move (path, pointer, message, and which repeat it is)."""
    issues = []
    repeats: Counter[str] = Counter()
    for problem in problems:
        path = posixpath.join(root, problem.path) if root else problem.path
        what = f"{path}\0{problem.pointer}\0{problem.message}"
        repeats[what] += 1
        error = problem.severity is Severity.ERROR
        where = f"{problem.pointer}: " if problem.pointer else ""
        issues.append(
            {
                "description": where + problem.message,
                "check_name": "syncd/error" if error else "syncd/warning",
                "fingerprint": hashlib.sha256(f"{what}\0{repeats[what]}".encode()).hexdigest(),
                "severity": "major" if error else "minor",
                "location": {"path": path, "lines": {"begin": max(problem.position.line, 1)}},
            }
        )
    return json.dumps(issues, indent=2)


def summary(problems: Sequence[Problem], files: int, revision: str | None) -> str:
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    at = f" at {revision[:12]}" if revision else ""
    verdict = "valid" if errors == 0 else "invalid"
    return f"{files} manifest file(s){at}: {verdict}, {errors} error(s), {warnings} warning(s)"


def render(
    problems: Sequence[Problem],
    fmt: ReportFormat,
    *,
    files: int,
    revision: str | None,
    root: str = "",
) -> str:
    """`root`: where the repository dir lies below the top of its work tree (annotations name
    files from there, as the git host shows them)."""
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
    if fmt is ReportFormat.GITLAB:
        return _gitlab(problems, root)
    if fmt is ReportFormat.GITHUB:
        lines = [_github(p, root) for p in problems]
    else:
        lines = [str(p) for p in problems]
    return "\n".join([*lines, summary(problems, files, revision)])


def applied(result: SyncResult) -> str:
    """One line per service that changed or failed, one per other failure, then the verdict."""
    lines: list[str] = []
    reasons = {c.key: c.reason for stack in result.plan.stacks for c in stack.services}
    held = [r for r in result.services if reasons.get(r.key) is Reason.HELD]  # (flap guard)
    shown = [r for r in result.services if r.action is not Action.NONE or not r.ok] + held
    if shown or result.errors:
        lines.append("")
    width = max((len(str(r.key)) for r in shown), default=0)
    for item in shown:
        mark = "ok   " if item.ok else "ERROR"
        lines.append(f"{mark} {item.key!s:<{width}}  {item.action.value:<8}  {item.detail}")
    lines += [f"ERROR {error}" for error in result.errors]
    quiet = [r for r in result.services if r.action is Action.NONE and r.ok]
    kept = sum(1 for r in quiet if reasons.get(r.key) is Reason.OPERATOR_STOPPED)
    failed = len(result.failed) + len(result.errors)
    verdict = "converged" if result.ok else f"{failed} failed"
    notes = f"{len(quiet) - len(held)} unchanged" + (f", {len(held)} held" if held else "")
    notes += f", {kept} stopped by an operator" if kept else ""
    lines += ["", f"applied in {result.duration:.2f} s: {verdict} ({notes})"]
    return "\n".join(lines)


MAX_INSTANCES_SHOWN = 50


def unknown_instance(engine: Engine, observed: Observed) -> str | None:
    """A warning when the instance planned for has nothing on the engine while others have (a
    mistyped `--instance` plans to create everything beside what runs), naming the others."""
    nothing = not (
        observed.containers or observed.volumes or observed.networks or observed.stack_networks
    )
    if not nothing or not isinstance(engine, Inventory):
        return None
    others = sorted(engine.instances() - {engine.instance})
    if not others:
        return None  # a fresh host: nothing to confuse it with
    shown = ", ".join(printable(name) for name in others[:MAX_INSTANCES_SHOWN])
    more = (
        f" and {len(others) - MAX_INSTANCES_SHOWN} more"
        if len(others) > MAX_INSTANCES_SHOWN
        else ""
    )
    return (
        f"instance {engine.instance!r} has never been applied on this host (no container, volume "
        f"or network carries its label), so this plan creates everything; the instances here "
        f"are: {shown}{more} (choose one with --instance or SYNCD_INSTANCE)"
    )
