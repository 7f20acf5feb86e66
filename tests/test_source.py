"""Reading manifests from real git repositories and directories in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncd.errors import SourceError
from syncd.settings import Limits
from syncd.source.reader import read_directory, read_revision
from tests.gitrepo import GitRepo

STACK = "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36}\n"


def test_reads_the_commit_tree_not_the_work_tree(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("stacks/shop.yaml", STACK)
    first = repo.commit("first")
    repo.write("stacks/shop.yaml", "uncommitted: edit\n")
    repo.write("stacks/new.yml", STACK)

    snap = read_revision(repo.path, "HEAD")

    assert snap.revision == first
    assert [(f.path, f.data.decode()) for f in snap.files] == [("stacks/shop.yaml", STACK)]


def test_older_revisions_and_bad_revisions(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("a.yaml", STACK)
    first = repo.commit()
    repo.write("b.yaml", STACK)
    repo.commit()
    assert [f.path for f in read_revision(repo.path, first).files] == ["a.yaml"]
    assert [f.path for f in read_revision(repo.path, "HEAD").files] == ["a.yaml", "b.yaml"]
    with pytest.raises(SourceError, match="revision 'nope' does not exist"):
        read_revision(repo.path, "nope")


def test_only_manifest_files_under_selected_paths(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    for rel in ["prod/a.yaml", "prod/b.yml", "prod/c.json", "dev/d.yaml", ".github/ci.yml"]:
        repo.write(rel, STACK)
    repo.commit()
    assert [f.path for f in read_revision(repo.path, "HEAD", ["prod"]).files] == [
        "prod/a.yaml",
        "prod/b.yml",
    ]
    assert [f.path for f in read_directory(repo.path).files] == [
        "dev/d.yaml",
        "prod/a.yaml",
        "prod/b.yml",
    ]
    with pytest.raises(SourceError, match="leaves the repository"):
        read_directory(repo.path, ["../etc"])


def test_subdirectory_of_a_repository(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("deploy/a.yaml", STACK)
    repo.write("other/b.yaml", STACK)
    repo.commit()
    snap = read_revision(repo.path / "deploy", "HEAD")
    assert [f.path for f in snap.files] == ["a.yaml"]


def test_symlinks_in_a_commit(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    (tmp_path / "secret.yaml").write_text("kind: Stack\n")
    repo.write("real.yaml", STACK)
    os.symlink("real.yaml", repo.path / "inside.yaml")
    os.symlink(str(tmp_path / "secret.yaml"), repo.path / "absolute.yaml")
    os.symlink("../secret.yaml", repo.path / "relative.yaml")
    repo.commit()

    snap = read_revision(repo.path, "HEAD")

    assert {f.path: f.data.decode() for f in snap.files} == {
        "inside.yaml": STACK,
        "real.yaml": STACK,
    }
    outside = sorted(p.path for p in snap.problems if "outside the repository" in p.message)
    assert outside == ["absolute.yaml", "relative.yaml"]


def test_symlinks_in_a_directory(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("kind: Stack\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "real.yaml").write_text(STACK)
    os.symlink("real.yaml", root / "inside.yaml")
    os.symlink("../secret.yaml", root / "escape.yaml")

    snap = read_directory(root)

    assert sorted(f.path for f in snap.files) == ["inside.yaml", "real.yaml"]
    assert [p.path for p in snap.problems] == ["escape.yaml"]
    assert "outside the repository" in snap.problems[0].message


def test_oversized_files_are_not_read(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("big.yaml", "# " + "x" * 2000 + "\n")
    repo.write("ok.yaml", STACK)
    repo.commit()
    limits = Limits(max_file_bytes=1000)
    for snap in (
        read_revision(repo.path, "HEAD", limits=limits),
        read_directory(repo.path, limits=limits),
    ):
        assert [f.path for f in snap.files] == ["ok.yaml"]
        assert [p.path for p in snap.problems] == ["big.yaml"]
        assert "over the 1000-byte limit" in snap.problems[0].message


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not inside a git repository"):
        read_revision(tmp_path, "HEAD")
    with pytest.raises(SourceError, match="is not a directory"):
        read_directory(tmp_path / "missing")
