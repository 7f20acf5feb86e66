"""Per-stack isolation: a revision whose errors are confined to some stacks still applies the
others, while the broken stacks keep their last good spec.

A problem belongs to the stacks of the file it is in: a Compose file is one stack (the one it
declared in the last good revision, or declares now); a file of Stack and StackPatch documents
belongs to the stacks they name; a data file (an env file, a config) to the stacks of the
Compose folders it lies in. A problem that cannot be attributed so holds EVERYTHING: a YAML
file that does not load (which documents it holds is unknown), a Registry (many stacks use
it), a duplicate stack definition, a file outside the revision (the policy, a folder too deep),
a new Compose file that fails before its stack is known. So does a revision without a last
good one, or whose valid stacks would clash with the ones kept at their last good spec.

No stack is removed by a partial revision: one that disappeared (its file broke, or was
deleted meanwhile) stays at its last good spec until a valid revision says otherwise.
Pure: no I/O.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.composepaths import is_compose
from syncd.errors import ManifestError
from syncd.ids import DEFAULT_STACK, StackKey
from syncd.manifests import MANIFEST_SUFFIXES, ManifestSet
from syncd.manifests.checks import check
from syncd.manifests.compose.files import has_kind
from syncd.manifests.parse import Located
from syncd.manifests.yamlsafe import load
from syncd.problems import Problem, Severity
from syncd.settings import DEFAULT_LIMITS, Limits

UNATTRIBUTED = "cannot be attributed to one stack"
_DUPLICATE = "is already declared at"


@dataclass
class PartialSet(ManifestSet):
    """A revision applied in part: its own `stacks`/`patches`/`registries` are the whole
    view (the valid stacks of the head and the ones kept from the last good revision);
    `valid` and `kept` are the two halves, each resolved against its own revision's files."""

    valid: ManifestSet = field(default_factory=ManifestSet)
    kept: ManifestSet = field(default_factory=ManifestSet)
    kept_revision: str | None = None
    broken: Mapping[StackKey, tuple[Problem, ...]] = field(default_factory=dict)


class _Held(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def isolate(
    head: ManifestSet,
    good: ManifestSet | None,
    good_revision: str | None,
    limits: Limits = DEFAULT_LIMITS,
) -> PartialSet:
    """`head` (a revision with errors) as a partial revision, or `ManifestError` (with `held`
    saying why) when its errors cannot be confined to stacks."""
    errors = head.errors
    try:
        if good is None:
            raise _Held("there is no last good revision to keep the broken stacks at")
        broken = _attribute(errors, head, good, limits)
        return _split(head, good, good_revision, broken)
    except _Held as held:
        raise ManifestError(errors, held=held.why) from None


def _held(problem: Problem, why: str) -> _Held:
    return _Held(f"{problem} ({UNATTRIBUTED}: {why})")


def _owners(manifests: ManifestSet | None) -> dict[str, set[StackKey]]:
    """path -> the stacks its valid documents declare or patch."""
    out: dict[str, set[StackKey]] = {}
    if manifests is None:
        return out
    located: Iterable[Located[Any]] = [*manifests.stacks, *manifests.patches]
    for each in located:
        out.setdefault(each.path, set()).add(each.manifest.key)
    return out


def _attribute(
    errors: list[Problem], head: ManifestSet, good: ManifestSet, limits: Limits
) -> dict[StackKey, list[Problem]]:
    now, before = _owners(head), _owners(good)
    known: dict[str, set[StackKey]] = {}
    broken: dict[StackKey, list[Problem]] = {}
    for problem in errors:
        if problem.path not in known:
            known[problem.path] = _stacks_of(problem, head, now, before, limits)
        for key in known[problem.path]:
            broken.setdefault(key, []).append(problem)
    return broken


def _stacks_of(
    problem: Problem,
    head: ManifestSet,
    now: dict[str, set[StackKey]],
    before: dict[str, set[StackKey]],
    limits: Limits,
) -> set[StackKey]:
    path = problem.path
    if problem.message.startswith("stack ") and _DUPLICATE in problem.message:
        raise _held(problem, "the stack is declared in more than one file")
    if path not in head.revision:
        raise _held(problem, "not a file of the revision")
    if is_compose(path):
        found = now.get(path, set()) | before.get(path, set())
        if not found:
            raise _held(problem, "a new Compose file whose stack is not known yet")
        return found
    if path.endswith(MANIFEST_SUFFIXES):
        documents, problems = load(path, head.revision[path], limits)
        if any(p.severity is Severity.ERROR for p in problems):
            raise _held(problem, "the file does not load, so which stacks it declares is unknown")
        if has_kind(documents) or not _compose_folders_of(path, head):
            found = set(now.get(path, set()))
            for document in documents:
                found.add(_declared(problem, document.data))
            return found
    return _data_owners(problem, head, now, before)


def _declared(problem: Problem, data: Any) -> StackKey:
    """The stack a document declares or patches, as written (raw YAML)."""
    if isinstance(data, dict):
        kind, project = data.get("kind"), data.get("project")
        name = data.get("name", DEFAULT_STACK) if kind == "Stack" else data.get("stack")
        if kind in ("Stack", "StackPatch") and _plain(project) and _plain(name):
            return StackKey(str(project), str(name))
        if kind == "Registry":
            raise _held(problem, "a Registry may serve many stacks")
    raise _held(problem, "a document whose stack is not known")


def _plain(value: Any) -> bool:
    return isinstance(value, str) and "$" not in value


def _compose_folders_of(path: str, head: ManifestSet) -> list[str]:
    """The Compose files of the folders `path` lies in (innermost first)."""
    composes = [p for p in head.revision if is_compose(p)]
    out, folder = [], posixpath.dirname(path)
    while True:
        out += sorted(p for p in composes if posixpath.dirname(p) == folder)
        if not folder:
            return out
        folder = posixpath.dirname(folder)


def _data_owners(
    problem: Problem,
    head: ManifestSet,
    now: dict[str, set[StackKey]],
    before: dict[str, set[StackKey]],
) -> set[StackKey]:
    found: set[StackKey] = set()
    composes = _compose_folders_of(problem.path, head)
    if not composes:
        raise _held(problem, "a file no Compose folder holds")
    for compose in composes:
        stacks = now.get(compose, set()) | before.get(compose, set())
        if not stacks:
            raise _held(problem, f"its Compose file {compose} has no known stack")
        found |= stacks
    return found


def _split(
    head: ManifestSet,
    good: ManifestSet,
    good_revision: str | None,
    broken: dict[StackKey, list[Problem]],
) -> PartialSet:
    stacks = [s for s in head.stacks if s.manifest.key not in broken]
    patches = [p for p in head.patches if p.manifest.key not in broken]
    warnings = [p for p in head.problems if p.severity is not Severity.ERROR]
    valid = ManifestSet(
        stacks,
        patches,
        list(head.registries),
        warnings,
        set(head.tainted),
        head.policy,
        head.revision,
    )
    named = {s.manifest.key for s in stacks}
    keep = {s.manifest.key for s in good.stacks if s.manifest.key not in named}
    kept = ManifestSet(
        [s for s in good.stacks if s.manifest.key in keep],
        [p for p in good.patches if p.manifest.key in keep],
        list(good.registries),
        [],
        set(good.tainted),
        good.policy,
        good.revision,
    )
    registries = {r.manifest.key: r for r in kept.registries}
    registries.update((r.manifest.key, r) for r in valid.registries)
    together = ManifestSet(
        [*valid.stacks, *kept.stacks],
        [*valid.patches, *kept.patches],
        list(registries.values()),
    )
    clashes = [
        p
        for p in check(together.stacks, together.patches, together.registries)
        if p.severity is Severity.ERROR
    ]
    if clashes:
        why = f"{clashes[0]} (the stacks kept at their last good spec clash with the new ones)"
        raise _Held(why)
    return PartialSet(
        together.stacks,
        together.patches,
        together.registries,
        warnings,
        valid.tainted | kept.tainted,
        head.policy,
        head.revision,
        valid=valid,
        kept=kept,
        kept_revision=good_revision,
        broken={k: tuple(v) for k, v in sorted(broken.items(), key=lambda i: str(i[0]))},
    )
