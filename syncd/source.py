"""Reading manifest files: from one git commit's tree (GitPython) or from a plain directory.

The only module that imports git. A `Snapshot` ties every file to one revision. Hostile trees
are handled here: files over the size limit are not read, symlinks are followed only inside the
repository, directories named with a leading dot (`.git`, `.github`) are skipped.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `apply` on a plain directory never loads GitPython
    import git

from syncd.errors import Position, Problem, Severity, SourceError
from syncd.gitargs import check_revision
from syncd.yamlsafe import DEFAULT_LIMITS, Limits

MANIFEST_SUFFIXES = (".yaml", ".yml")
_SYMLINK_MODE = 0o120000
_MAX_LINK_HOPS = 8


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the repository root (or the directory), with '/' separators
    data: bytes


@dataclass(frozen=True)
class Snapshot:
    revision: str | None  # the commit id, or None for a plain directory
    files: tuple[SourceFile, ...]
    problems: tuple[Problem, ...] = field(default=())


def _selected(path: str, roots: Sequence[str]) -> bool:
    if any(part.startswith(".") for part in path.split("/")):
        return False
    if not path.endswith(MANIFEST_SUFFIXES):
        return False
    return not roots or any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _normalize_roots(roots: Sequence[str]) -> list[str]:
    out = []
    for root in roots:
        clean = posixpath.normpath(root.replace(os.sep, "/")).lstrip("/")
        if clean.startswith("..") or clean == "..":
            raise SourceError(f"--path {root!r} leaves the repository")
        out.append("" if clean == "." else clean)
    return [r for r in out if r] if all(out) else []


def _too_big(path: str, size: int, limits: Limits) -> Problem:
    return Problem(
        path,
        f"file is {size} bytes, over the {limits.max_file_bytes}-byte limit; split it",
        "",
        Position(1, 1),
    )


def _outside(path: str, target: str) -> Problem:
    return Problem(
        path, f"symlink to {target!r} points outside the repository; refused", "", Position(1, 1)
    )


def read_directory(
    root: str | Path, paths: Sequence[str] = (), limits: Limits = DEFAULT_LIMITS
) -> Snapshot:
    """Every manifest file under `root` as it is on disk (for editors and pre-commit)."""
    base = Path(root)
    if not base.is_dir():
        raise SourceError(f"{str(root)!r} is not a directory")
    real_base = base.resolve()
    roots = _normalize_roots(paths)
    files: list[SourceFile] = []
    problems: list[Problem] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(base).as_posix()
            if not _selected(rel, roots):
                continue
            real = full.resolve()
            if not real.is_relative_to(real_base):
                problems.append(_outside(rel, os.readlink(full) if full.is_symlink() else rel))
                continue
            if not real.is_file():
                continue
            size = real.stat().st_size
            if size > limits.max_file_bytes:
                problems.append(_too_big(rel, size, limits))
                continue
            files.append(SourceFile(rel, real.read_bytes()))
    return Snapshot(None, tuple(files), tuple(problems))


def open_repo(location: str | Path) -> tuple[git.Repo, str]:
    """The git repository holding `location`, and `location`'s path inside it ('' = top)."""
    import git

    try:
        repo = git.Repo(location, search_parent_directories=True)
    except git.NoSuchPathError as err:
        raise SourceError(f"{str(location)!r} does not exist") from err
    except git.InvalidGitRepositoryError as err:
        raise SourceError(f"{str(location)!r} is not inside a git repository") from err
    if repo.bare:
        return repo, ""
    top = Path(repo.working_tree_dir or location).resolve()
    prefix = Path(location).resolve().relative_to(top).as_posix()
    return repo, "" if prefix == "." else prefix


def resolve_revision(repo: git.Repo, rev: str) -> git.Commit:
    import git

    check_revision(rev)  # never an option, whoever reads it
    try:
        return repo.commit(rev)
    except (git.BadName, ValueError, git.GitCommandError) as err:
        raise SourceError(f"revision {rev!r} does not exist in {repo.git_dir}") from err


def _blobs(tree: git.Tree) -> Iterator[git.Blob]:
    import git

    for item in tree.traverse():
        if isinstance(item, git.Blob):
            yield item


def _follow(tree: git.Tree, blob: git.Blob, path: str, prefix: str) -> git.Blob | Problem:
    """The blob a symlink finally names, if that stays inside the tree (and under `prefix`)."""
    import git

    current, current_path = blob, path
    for _ in range(_MAX_LINK_HOPS):
        if current.mode != _SYMLINK_MODE:
            return current
        target = current.data_stream.read().decode("utf-8", "replace")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(current_path), target))
        escapes = joined == ".." or joined.startswith("../")
        if target.startswith("/") or escapes or (prefix and not joined.startswith(prefix + "/")):
            return _outside(path, target)
        try:
            found = tree / joined
        except KeyError:
            return Problem(path, f"symlink to {target!r} names nothing in the revision")
        if not isinstance(found, git.Blob):
            return Problem(
                path,
                f"symlink to {target!r} is not a file; not followed",
                "",
                Position(1, 1),
                Severity.WARNING,
            )
        current, current_path = found, joined
    return Problem(path, "too many levels of symlinks", "", Position(1, 1))


def read_revision(
    location: str | Path,
    rev: str = "HEAD",
    paths: Sequence[str] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> Snapshot:
    """Every manifest file of one commit's tree (not the work tree), below `location`."""
    repo, prefix = open_repo(location)
    try:
        commit = resolve_revision(repo, rev)
        tree = commit.tree
        roots = _normalize_roots(paths)
        files: list[SourceFile] = []
        problems: list[Problem] = []
        for blob in _blobs(tree):
            full = str(blob.path)
            if prefix and not full.startswith(prefix + "/"):
                continue
            rel = full[len(prefix) + 1 :] if prefix else full
            if not _selected(rel, roots):
                continue
            target = _follow(tree, blob, full, prefix)
            if isinstance(target, Problem):
                problems.append(Problem(rel, target.message, "", Position(1, 1), target.severity))
                continue
            if target.size > limits.max_file_bytes:
                problems.append(_too_big(rel, target.size, limits))
                continue
            files.append(SourceFile(rel, target.data_stream.read()))
        return Snapshot(commit.hexsha, tuple(sorted(files, key=lambda f: f.path)), tuple(problems))
    finally:
        repo.close()
