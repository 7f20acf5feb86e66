"""Parsing and validating a large repo: 100 stacks x 10 services, from disk and from a git commit.

The baseline is plain PyYAML loading of the same bytes (the C loader if built), so the table
shows what syncd's positioned, validated parse costs on top of reading YAML at all.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bench.common import BenchFailure, Figure, timeit_median
from bench.gen import generate_repo
from syncd.manifests import ManifestSet, read_manifests
from syncd.source.reader import SourceFile, read_directory, read_revision

STACKS, SERVICES, PROJECTS = 100, 10, 10
REPEAT = 7
SIZE = f"{STACKS} stacks, {STACKS * SERVICES} services"

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_GIT = ["git", "-c", "user.name=syncd bench", "-c", "user.email=bench@example.invalid"]
_GIT += ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def _git(root: Path, *args: str) -> None:
    done = subprocess.run([*_GIT, *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchFailure(f"git {' '.join(args)} failed: {done.stderr.strip()}")


def _check(result: ManifestSet) -> ManifestSet:
    """Fail loudly unless the generated repo was read whole and without a single error."""
    if result.errors:
        shown = "\n".join(str(p) for p in result.errors[:5])  # the table shows the first line
        raise BenchFailure(f"generated repo has {len(result.errors)} error(s): {shown}")
    expected = (STACKS, min(PROJECTS, STACKS))
    if (len(result.stacks), len(result.patches)) != expected:
        raise BenchFailure(
            f"read {len(result.stacks)} stacks and {len(result.patches)} patches, "
            f"expected {expected[0]} and {expected[1]}"
        )
    return result


def _from_directory(files: Sequence[SourceFile]) -> ManifestSet:
    return _check(read_manifests(files, env={}))


def _from_git(root: Path) -> ManifestSet:
    snapshot = read_revision(root, "HEAD")
    return _check(read_manifests(snapshot.files, env={}, problems=snapshot.problems))


def _plain_yaml(files: Sequence[SourceFile]) -> int:
    return sum(len(list(yaml.load_all(f.data, Loader=_LOADER))) for f in files)


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp:
        root = Path(tmp)
        generate_repo(root, STACKS, SERVICES, PROJECTS)
        snapshot = read_directory(root)
        if snapshot.problems:
            raise BenchFailure(f"reading the generated repo: {snapshot.problems[0]}")
        files = snapshot.files
        _git(root, "init", "-q")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "--no-verify", "-m", "generated manifests")

        disk, disk_p95 = timeit_median(lambda: _from_directory(files), REPEAT)
        git, git_p95 = timeit_median(lambda: _from_git(root), REPEAT)
        plain, _ = timeit_median(lambda: _plain_yaml(files), REPEAT)

    loader = f"PyYAML {_LOADER.__name__} load_all"
    per_stack = 1000 / STACKS
    return [
        Figure(
            f"manifests: read_manifests from disk, {SIZE}",
            disk,
            "s",
            f"{loader} of the same bytes: {plain:.3g} s (syncd {disk / plain:.1f}x); "
            f"p95 {disk_p95:.3g} s",
        ),
        Figure(
            "manifests: read_manifests from disk, per stack",
            disk * per_stack,
            "ms/stack",
            f"{loader}: {plain * per_stack:.3g} ms/stack",
        ),
        Figure(
            f"manifests: read_revision + read_manifests, {SIZE}",
            git,
            "s",
            f"files on disk: {disk:.3g} s (git read adds {git - disk:.3g} s); p95 {git_p95:.3g} s",
        ),
        Figure(
            "manifests: read_revision + read_manifests, per stack",
            git * per_stack,
            "ms/stack",
            f"files on disk: {disk * per_stack:.3g} ms/stack",
        ),
        Figure(
            f"manifests: baseline {_LOADER.__name__}, {SIZE}",
            plain,
            "s",
            "plain YAML, no positions, checks or models: the floor for the rows above",
        ),
    ]
