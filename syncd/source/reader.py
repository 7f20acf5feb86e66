"""Reading manifest files: from one git commit's tree (GitPython) or from a plain directory.

The only module that imports git. A `Snapshot` ties every file to one revision. Hostile trees
are handled here: files over the size limit are not read, symlinks are followed only inside the
repository (symlinked directories are never entered, so a symlink loop cannot trap the walk),
directories named with a leading dot (`.git`, `.github`) are skipped, directories nested deeper
than `Limits.max_dir_depth` are reported, not entered, and names that are not UTF-8 are
reported. Both walks are iterative, and any error reading one file becomes a problem of its own.
Besides the YAML manifests, every file in and below a folder holding a Compose file is read (the
data its services mount: `.env`, env files, bind sources, configs and secrets), within
`Limits.max_data_files` and `Limits.max_data_bytes` for the whole revision.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `apply` on a plain directory never loads GitPython
    import git

from syncd.composepaths import compose_folders, in_compose_folder
from syncd.errors import SourceError
from syncd.problems import Position, Problem, Severity
from syncd.settings import DEFAULT_LIMITS, Limits
from syncd.source.gitargs import check_revision
from syncd.taint import printable

MANIFEST_SUFFIXES = (".yaml", ".yml")
_SYMLINK_MODE = 0o120000
_MAX_LINK_HOPS = 8
_MAX_LINK_BYTES = 4096  # PATH_MAX: a longer symlink target is not a path


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the repository root (or the directory), with '/' separators
    data: bytes


@dataclass(frozen=True)
class Snapshot:
    revision: str | None  # the commit id, or None for a plain directory
    files: tuple[SourceFile, ...]
    problems: tuple[Problem, ...] = field(default=())


def _in_roots(path: str, roots: Sequence[str]) -> bool:
    return not roots or any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _selected(path: str, roots: Sequence[str]) -> bool:
    if any(part.startswith(".") for part in path.split("/")):
        return False
    if not path.endswith(MANIFEST_SUFFIXES):
        return False
    return _in_roots(path, roots)


class _DataFiles:
    """Which files of Compose folders that are not manifests are read (data for the services:
    `.env`, env files, bind sources, configs and secrets), within `Limits.max_data_bytes` and
    `Limits.max_data_files` for the whole revision. Dot-files are data too (`.env`); files
    under dot-directories never are."""

    def __init__(self, candidates: Iterable[str], roots: Sequence[str], limits: Limits) -> None:
        self.roots = roots
        self.limits = limits
        self.folders = compose_folders(p for p in candidates if _in_roots(p, roots))
        self.bytes_left = limits.max_data_bytes
        self.files_left = limits.max_data_files
        self.over: Problem | None = None

    def wanted(self, path: str) -> bool:
        if _selected(path, self.roots) or not self.folders:
            return False
        if any(part.startswith(".") for part in path.split("/")[:-1]):
            return False
        return _in_roots(path, self.roots) and in_compose_folder(path, self.folders)

    def take(self, path: str, size: int) -> Problem | None:
        """None if the file fits in what is left, else the problem (reported once)."""
        self.files_left -= 1
        self.bytes_left -= size
        if self.files_left >= 0 and self.bytes_left >= 0:
            return None
        if self.over is not None:
            return None
        limits = self.limits
        self.over = Problem(
            path,
            f"the files of Compose folders that are not YAML exceed {limits.max_data_files} "
            f"files or {limits.max_data_bytes} bytes in all; not read (keep large data out "
            "of the repository)",
            "",
            Position(1, 1),
        )
        return self.over


def _may_hold(directory: str, roots: Sequence[str]) -> bool:
    """Whether a selected file may lie under `directory` (it is under a root, or above one)."""
    return not roots or any(
        f"{directory}/".startswith(f"{r}/") or f"{r}/".startswith(f"{directory}/") for r in roots
    )


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


def _unreadable_name(rel: str) -> tuple[str, str] | None:
    """(`rel` escaped for printing, why) if it is not valid UTF-8 (it holds surrogates) or holds
    a control or invisible character (a newline would forge a line of a CI log), else None."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return printable(shown), "is not valid UTF-8"
    shown = printable(rel)
    return (shown, "holds control or invisible characters") if shown != rel else None


def _bad_name(found: tuple[str, str], what: str) -> Problem:
    shown, why = found
    return Problem(shown, f"the {what}'s name {why}; rename it", "", Position(1, 1))


def _too_deep(rel: str, limits: Limits) -> Problem:
    return Problem(
        rel,
        f"directory nested deeper than {limits.max_dir_depth} levels; not read",
        "",
        Position(1, 1),
    )


def _read_file(
    base: Path, real_base: Path, rel: str, limits: Limits
) -> SourceFile | Problem | None:
    """One file on disk (following a symlink only inside the repository), or why it is not read."""
    full = base / rel
    try:
        real = full.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a symlink loop so
        return Problem(rel, "symlink loop; not read", "", Position(1, 1))
    except OSError as err:
        if full.is_symlink():
            if err.errno == errno.ELOOP:
                return Problem(rel, "symlink loop; not read", "", Position(1, 1))
            target = os.readlink(full)
            return Problem(
                rel, f"symlink to {target!r} names nothing; not read", "", Position(1, 1)
            )
        return Problem(rel, f"cannot be read: {err.strerror}", "", Position(1, 1))
    if not real.is_relative_to(real_base):
        return _outside(rel, os.readlink(full) if full.is_symlink() else rel)
    try:
        if not stat.S_ISREG(real.stat().st_mode):
            return None  # a FIFO or a device is never opened
        with real.open("rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)
            size = max(len(data), os.fstat(handle.fileno()).st_size)
    except OSError as err:
        return Problem(rel, f"cannot be read: {err.strerror}", "", Position(1, 1))
    if size > limits.max_file_bytes:
        return _too_big(rel, size, limits)
    return SourceFile(rel, data)


def _list_directory(
    base: Path, roots: Sequence[str], limits: Limits, problems: list[Problem]
) -> list[str]:
    """Every file under `base` that may be read (relative paths), dot-directories skipped."""
    pending: list[tuple[str, int]] = [("", 0)]  # (directory relative to base, its depth)
    listed: list[str] = []
    while pending:
        directory, depth = pending.pop()
        try:
            with os.scandir(base / directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as err:
            problems.append(
                Problem(directory or ".", f"cannot be read: {err.strerror}", "", Position(1, 1))
            )
            continue
        subdirectories: list[str] = []
        for entry in entries:
            rel = f"{directory}/{entry.name}" if directory else entry.name
            try:
                is_directory = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_directory = False
            if is_directory and entry.name.startswith("."):
                continue
            shown = _unreadable_name(rel)
            if is_directory:
                if not _may_hold(rel, roots):
                    continue
                if shown is not None:
                    problems.append(_bad_name(shown, "directory"))
                elif depth + 1 > limits.max_dir_depth:
                    problems.append(_too_deep(rel, limits))
                else:
                    subdirectories.append(rel)
            elif shown is None:
                listed.append(rel)
            elif _selected(rel, roots):
                problems.append(_bad_name(shown, "file"))
        pending.extend((d, depth + 1) for d in reversed(subdirectories))
    return listed


def read_directory(
    root: str | Path, paths: Sequence[str] = (), limits: Limits = DEFAULT_LIMITS
) -> Snapshot:
    """Every manifest file under `root` as it is on disk (for editors and pre-commit), and the
    data files of its Compose folders."""
    base = Path(root)
    if not base.is_dir():
        raise SourceError(f"{str(root)!r} is not a directory")
    real_base = base.resolve()
    roots = _normalize_roots(paths)
    files: list[SourceFile] = []
    problems: list[Problem] = []
    listed = _list_directory(base, roots, limits, problems)
    data = _DataFiles(listed, roots, limits)
    for rel in listed:
        is_data = data.wanted(rel)
        if not is_data and not _selected(rel, roots):
            continue
        found = _read_file(base, real_base, rel, limits)
        if isinstance(found, SourceFile) and is_data:
            over = data.take(rel, len(found.data))
            found = over if over is not None or data.over is not None else found
        if isinstance(found, Problem):
            problems.append(found)
        elif found is not None:
            files.append(found)
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


def _blobs(
    tree: git.Tree, roots: Sequence[str], limits: Limits, problems: list[Problem]
) -> Iterator[git.Blob]:
    """Every blob of `tree` that may be under `roots` (full paths), without recursion;
    dot-directories skipped, too-deep trees reported."""
    pending: list[tuple[git.Tree, int]] = [(tree, 0)]
    while pending:
        current, depth = pending.pop()
        yield from current.blobs
        for sub in reversed(current.trees):
            if sub.name.startswith(".") or not _may_hold(str(sub.path), roots):
                continue
            shown = _unreadable_name(str(sub.path))
            if shown is not None:
                problems.append(_bad_name(shown, "directory"))
            elif depth + 1 > limits.max_dir_depth:
                problems.append(_too_deep(str(sub.path), limits))
            else:
                pending.append((sub, depth + 1))


def _follow(tree: git.Tree, blob: git.Blob, path: str, prefix: str) -> git.Blob | Problem:
    """The blob a symlink finally names, if that stays inside the tree (and under `prefix`)."""
    import git

    current, current_path = blob, path
    for _ in range(_MAX_LINK_HOPS):
        if current.mode != _SYMLINK_MODE:
            return current
        target = current.data_stream.read(_MAX_LINK_BYTES).decode("utf-8", "replace")
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
        under = [posixpath.join(prefix, r) for r in roots] or ([prefix] if prefix else [])
        listed: list[tuple[str, str, git.Blob]] = []  # (path under location, full, blob)
        for blob in _blobs(tree, under, limits, problems):
            full = str(blob.path)
            if prefix and not full.startswith(prefix + "/"):
                continue
            rel = full[len(prefix) + 1 :] if prefix else full
            shown = _unreadable_name(rel)
            if shown is not None:
                if _selected(rel, roots):
                    problems.append(_bad_name(shown, "file"))
                continue
            listed.append((rel, full, blob))
        data = _DataFiles((rel for rel, _, _ in listed), roots, limits)
        for rel, full, blob in listed:
            is_data = data.wanted(rel)
            if not is_data and not _selected(rel, roots):
                continue
            target = _follow(tree, blob, full, prefix)
            if isinstance(target, Problem):
                problems.append(Problem(rel, target.message, "", Position(1, 1), target.severity))
                continue
            if target.size > limits.max_file_bytes:
                problems.append(_too_big(rel, target.size, limits))
                continue
            if is_data:
                over = data.take(rel, target.size)
                if over is not None:
                    problems.append(over)
                if data.over is not None:
                    continue
            files.append(SourceFile(rel, target.data_stream.read()))
        return Snapshot(commit.hexsha, tuple(sorted(files, key=lambda f: f.path)), tuple(problems))
    finally:
        repo.close()
