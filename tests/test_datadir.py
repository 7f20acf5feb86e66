"""The data dir is 0700 and every file syncd keeps in it is closed to other users: the state
store with its -wal and -shm, the lock file, mirrored repositories."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from syncd.apply.store import Store
from syncd.source.repository import Repository
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo


def open_to_others(root: Path, skip: str = "projects") -> list[str]:
    """Every path under `root` (and `root`) with a group or other permission bit."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != skip]
        for path in [Path(dirpath), *(Path(dirpath) / f for f in filenames)]:
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{path.relative_to(root.parent)} {oct(mode & 0o777)}")
    return sorted(set(found))


def test_the_state_store_and_its_wal_files_are_0600_in_a_0700_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as an older syncd (or the operator) left it
    stale = data / "state-x.sqlite-wal"
    stale.touch()
    stale.chmod(0o644)
    store = Store(data / "state-x.sqlite")
    try:
        names = {p.name for p in data.iterdir()}
        assert {"state-x.sqlite", "state-x.sqlite-wal", "state-x.sqlite-shm"} <= names
        assert open_to_others(data) == []
    finally:
        store.close()


def test_a_mirrored_repository_is_closed_to_other_users(tmp_path: Path) -> None:
    work = GitRepo(tmp_path / "work")
    work.write("s.yaml", "kind: Stack\n")
    work.commit("one")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work.path), str(bare)], check=True)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    repo = Repository(f"file://{bare}", data)
    repo.head()
    assert any((data / "repos").iterdir())
    assert open_to_others(data) == []


@pytest.mark.docker
def test_a_running_daemon_keeps_its_data_dir_private(deployment: Deployment) -> None:
    work = GitRepo(deployment.repo)
    work.write("README.md", "nothing to run\n")
    work.commit("one")
    bare = deployment.repo.parent / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work.path), str(bare)], check=True)
    data = deployment.settings.data_dir
    data.chmod(0o755)
    daemon = RunningDaemon(f"file://{bare}", data, deployment.instance)
    try:
        daemon.started()
        wait_for(lambda: daemon.status()["appliedRevision"], 30, "the first sync")
        names = {p.name for p in data.iterdir()}
        state = deployment.settings.state_file.name
        assert {state, f"{state}-wal", f"{state}-shm", f"{deployment.instance}.lock"} <= names
        assert (data / "repos").is_dir()
        assert open_to_others(data) == []
    finally:
        daemon.close()
