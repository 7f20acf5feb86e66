"""What every step of reading one Compose file shares: where its values stand, which of them
came from the environment, and what was found so far (problems and keys not carried yet).

A message never shows a tainted value: each one is scrubbed of the values interpolation took
from the environment (whole values everywhere, and their pieces at a tainted place).
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncd.manifests.compose.shell import Place
from syncd.manifests.sopsfiles import SopsFiles
from syncd.manifests.yamlsafe import Path, PathPart, Positions, overlaps, pointer
from syncd.problems import Position, Problem, Severity
from syncd.taint import scrub


@dataclass(frozen=True)
class NotCarried:
    """A Compose key (or form of one) that syncd will honour but its `Stack` model cannot carry
    yet: `key` names it for the work list (`cap_add`, `ports.host_ip`), `why` says what it asks."""

    key: str
    path: str
    pointer: str
    position: Position
    why: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.position.line}:{self.position.column}"
        return f"{where}: {self.pointer}: {self.key} is not carried yet: {self.why}"


MAX_PORTS = 65_536  # port entries of one file once ranges are expanded


class Revision:
    """The revision's files (repository path -> content), seen from the Compose file's folder,
    and its SOPS files (`sops`, decrypted once per revision read).
    Folders are derived once, so each lookup is constant time whatever the repository's size."""

    def __init__(
        self, folder: str, files: Mapping[str, bytes], sops: SopsFiles | None = None
    ) -> None:
        self.folder = folder
        self.files = files
        self.sops = sops if sops is not None else SopsFiles()
        self._folders: set[str] | None = None

    def resolve(self, relative: str) -> str | None:
        """The repository path of `relative` (to the Compose file), None when outside the repo."""
        if relative.startswith("/"):
            return None
        path = posixpath.normpath(posixpath.join(self.folder, relative))
        return None if path == ".." or path.startswith("../") else path

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def exists(self, path: str) -> bool:
        if path in self.files:
            return True
        if self._folders is None:
            self._folders = set()
            for name in self.files:
                parts = name.split("/")[:-1]
                self._folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return path in self._folders


@dataclass
class Context:
    path: str
    positions: Positions
    secrets: frozenset[Path] = frozenset()
    secret_values: frozenset[str] = frozenset()
    templates: dict[Path, str] = field(default_factory=dict)  # `Located.templates`
    problems: list[Problem] = field(default_factory=list)
    not_carried: list[NotCarried] = field(default_factory=list)
    ports_left: int = MAX_PORTS
    cache: dict[str, Any] = field(default_factory=dict)  # env files read once per file

    def position(self, at: Sequence[PathPart], *, key: bool = False) -> Position:
        return self.positions.locate(at, key=key)

    def place(self, at: Sequence[PathPart]) -> Place:
        return Place(self.path, pointer(at), self.position(at))

    def declare_file(self, at: Sequence[PathPart], data: bytes) -> None:
        """A file read at `at` (an env file, a SOPS-encrypted one, a SOPS-encrypted config or
        secret) gave secret values: its content (a digest) is part of their declaration
        (`Located.templates`)."""
        self.templates[(*at, "<file>")] = "sha256:" + hashlib.sha256(data).hexdigest()

    def tainted(self, at: Sequence[PathPart]) -> bool:
        return overlaps(at, self.secrets)

    def _scrub(self, at: Sequence[PathPart], message: str) -> str:
        if not self.secret_values:
            return message
        return scrub(message, self.secret_values, whole_only=not self.tainted(at))

    def add(self, problem: Problem) -> None:
        """A problem found by a helper (its message is scrubbed here too)."""
        message = scrub(problem.message, self.secret_values, whole_only=True)
        self.problems.append(
            Problem(problem.path, message, problem.pointer, problem.position, problem.severity)
        )

    def error(self, at: Sequence[PathPart], message: str, *, key: bool = False) -> None:
        self._report(at, message, Severity.ERROR, key=key)

    def warn(self, at: Sequence[PathPart], message: str, *, key: bool = False) -> None:
        self._report(at, message, Severity.WARNING, key=key)

    def _report(
        self, at: Sequence[PathPart], message: str, severity: Severity, *, key: bool
    ) -> None:
        self.problems.append(
            Problem(
                self.path,
                self._scrub(at, message),
                pointer(at),
                self.position(at, key=key),
                severity,
            )
        )

    def later(self, at: Sequence[PathPart], key: str, why: str) -> None:
        """`key` at `at` is honoured in Compose's meaning once the model carries it."""
        self.not_carried.append(
            NotCarried(key, self.path, pointer(at), self.position(at), self._scrub(at, why))
        )

    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)


def clip(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[:size] + "..."


def kind_of(value: object) -> str:
    """How YAML typed `value`, for messages (`expected a list, got a mapping`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, dict) else type(value).__name__


def is_extension(key: str) -> bool:
    """`x-*` keys: extensions Compose (and syncd) ignore; `x-syncd` is read where it is allowed."""
    return key.startswith("x-")
