"""The data of Compose folders (files that are not manifests) read from real git repositories
and directories: what is read, the caps, and symlinks that leave the repository."""

from __future__ import annotations

import os
from pathlib import Path

from syncd.manifests import read_manifests
from syncd.settings import DEFAULT_LIMITS, Limits
from syncd.source.reader import Snapshot, read_directory, read_revision
from tests.gitrepo import GitRepo

COMPOSE = "services:\n  web: {image: busybox:1.36}\n"


def _both(repo: GitRepo, limits: Limits = DEFAULT_LIMITS) -> list[Snapshot]:
    return [
        read_revision(repo.path, "HEAD", limits=limits),
        read_directory(repo.path, limits=limits),
    ]


def test_the_files_of_compose_folders_are_read_and_no_others(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("apps/web/compose.yaml", COMPOSE)
    repo.write("apps/web/.env", "TAG=1\n")
    repo.write("apps/web/conf/nginx.conf", "worker_processes 1;\n")
    repo.write("apps/web/.hidden/key", "never\n")
    repo.write("apps/README.md", "outside any Compose folder\n")
    repo.write("notes.txt", "outside\n")
    repo.commit()
    for snap in _both(repo):
        assert sorted(f.path for f in snap.files) == [
            "apps/web/.env",
            "apps/web/compose.yaml",
            "apps/web/conf/nginx.conf",
        ]
        assert snap.problems == ()


def test_data_files_are_capped_in_number_and_bytes(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("compose.yaml", COMPOSE)
    for index in range(4):
        repo.write(f"data/{index}.bin", b"x" * 100)
    repo.commit()
    for limits in (Limits(max_data_files=2), Limits(max_data_bytes=250)):
        for snap in _both(repo, limits):
            assert len([f for f in snap.files if f.path.endswith(".bin")]) == 2
            assert len(snap.problems) == 1
            assert "not YAML exceed" in snap.problems[0].message


def test_a_data_file_over_the_file_limit_is_an_error(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("compose.yaml", COMPOSE)
    repo.write("big.bin", b"x" * 2000)
    repo.commit()
    for snap in _both(repo, Limits(max_file_bytes=1000)):
        assert [p.path for p in snap.problems] == ["big.bin"]


def test_a_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    repo = GitRepo(tmp_path / "repo")
    repo.write("compose.yaml", COMPOSE)
    os.symlink("../passwd", repo.path / "relative.conf")
    os.symlink(str(tmp_path / "passwd"), repo.path / "absolute.conf")
    repo.commit()
    for snap in _both(repo):
        assert [f.path for f in snap.files] == ["compose.yaml"]
        assert sorted(p.path for p in snap.problems) == ["absolute.conf", "relative.conf"]
        assert all("outside the repository" in p.message for p in snap.problems)
        assert all(p.position is not None and p.position.line == 1 for p in snap.problems)


def test_a_compose_stack_reads_its_dotenv_and_env_files_from_the_revision(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write(
        "shop/compose.yaml",
        "services:\n  web:\n    image: busybox:${TAG}\n    env_file: [app.env]\n",
    )
    repo.write("shop/.env", "TAG=1.36\n")
    repo.write("shop/app.env", "GREETING=hello\n")
    repo.commit()
    snap = read_revision(repo.path, "HEAD")
    manifests = read_manifests(snap.files, {}, problems=snap.problems)
    assert not manifests.errors, [str(p) for p in manifests.errors]
    (stack,) = manifests.stacks
    web = stack.manifest.services["web"]
    assert web.image == "busybox:1.36"
    assert web.env() == {"GREETING": "hello"}
