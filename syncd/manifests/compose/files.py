"""Which files of a revision are Compose files, which are data beside them, and one Compose
file read into a located `Stack` (or the problems that stop it), for `read_manifests`.

Decision D19: a folder holding a Compose file is a Compose project folder. Its other YAML files
(and those of its subfolders: prometheus.yml, grafana provisioning, ...) are data for the
services, not manifests, unless a document of theirs carries a syncd `kind`: a native manifest
may still live there. Every key the `Stack` model cannot carry yet is an error naming the key:
nothing is dropped silently. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from syncd.manifests.compose.context import NotCarried
from syncd.manifests.compose.reader import compose_to_stack
from syncd.manifests.model import Kind, Stack
from syncd.manifests.parse import Located
from syncd.manifests.sopsfiles import SopsFiles
from syncd.manifests.yamlsafe import Document, Schema, load
from syncd.policy import BUILTIN, Policy
from syncd.problems import Position, Problem
from syncd.settings import DEFAULT_LIMITS, Limits

KINDS = frozenset(k.value for k in Kind)


def has_kind(documents: Iterable[Document]) -> bool:
    """Whether a document says it is a syncd manifest (a mapping with a syncd `kind`)."""
    return any(_kind(d.data) in KINDS for d in documents)


def _kind(data: object) -> str | None:
    """A document's `kind` when it is text (a `kind` mapping or list says nothing)."""
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def not_carried_problem(entry: NotCarried) -> Problem:
    """A key syncd will honour but cannot carry yet: an error at its place, naming it."""
    message = f"{entry.key}: syncd cannot carry this yet ({entry.why})"
    return Problem(entry.path, message, entry.pointer, entry.position)


@dataclass(frozen=True)
class ComposeRead:
    stack: Located[Stack] | None
    problems: list[Problem]
    secret_values: frozenset[str]
    referenced: frozenset[str] = frozenset()  # files read through `extends`: data (D19b)


def read_compose(
    path: str,
    data: bytes,
    env: Mapping[str, str],
    files: Mapping[str, bytes],
    *,
    limits: Limits = DEFAULT_LIMITS,
    profiles: Collection[str] = (),
    policy: Policy = BUILTIN,
    sops: SopsFiles | None = None,
) -> ComposeRead:
    """One Compose file (YAML 1.2 scalars, one document) converted to a located `Stack`."""
    documents, problems = load(path, data, limits, schema=Schema.COMPOSE)
    if problems:
        return ComposeRead(None, problems, frozenset())
    if len(documents) != 1:
        found = f"{len(documents)} documents" if documents else "no document"
        message = f"a Compose file holds exactly one document, found {found}"
        at = documents[1].positions.locate(()) if documents else Position(1, 1)
        return ComposeRead(None, [Problem(path, message, "", at)], frozenset())
    conversion = compose_to_stack(
        documents[0], env, files, profiles=profiles, limits=limits, policy=policy, sops=sops
    )
    carried = [*conversion.problems, *(not_carried_problem(n) for n in conversion.not_carried)]
    return ComposeRead(
        conversion.located(), carried, conversion.secret_values, conversion.referenced
    )
