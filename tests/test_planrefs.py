"""`syncd.source.planrefs`: the commit a plan request names, from a real local repo or fetched
from a real bare "remote" into the daemon's mirror; hostile names never reach git as options or
refspecs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from syncd.errors import PlanRequestInvalid, RevisionNotFound, SourceError
from syncd.source import planrefs
from syncd.source.repository import Repository
from tests.gitrepo import GitRepo


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> tuple[Path, str, str]:
    """A bare repo with `main` and a pull request's head only as refs/pull/12/head."""
    work = GitRepo(tmp_path / "work")
    work.write("a.yaml", "a: 1\n")
    main = work.commit("one")
    work.git("checkout", "-q", "-b", "feature")
    work.write("a.yaml", "a: 2\n")
    pr = work.commit("two")
    work.git("checkout", "-q", "main")
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(work.path), str(bare))
    git(bare, "update-ref", "refs/pull/12/head", pr)
    git(bare, "branch", "-q", "-D", "feature")
    return bare, main, pr


@pytest.mark.parametrize(
    "ref",
    [
        "--upload-pack=touch {marker}",
        "refs/heads/--upload-pack=touch {marker}",
        "-x",
        "refs/heads/a..b",
        "refs/heads/a:refs/heads/b",  # a second refspec
        "refs/heads/*",  # a glob: every branch
        "refs/pull/1/head refs/heads/x",
        "refs/heads/a\nb",
        "refs/heads/a@{1}",
        "refs/heads/x.lock",
        "refs/heads/.hidden",
        "refs/heads/a//b",
        "refs/syncd/plan/abc",  # syncd's own namespace
        "",
        "r" * 256,
    ],
)
def test_hostile_refs_are_refused_before_git_sees_them(
    tmp_path: Path, remote: tuple[Path, str, str], ref: str
) -> None:
    bare, _, _ = remote
    marker = tmp_path / "pwned"
    repo = Repository(f"file://{bare}", tmp_path / "data")
    repo.head()
    with pytest.raises(PlanRequestInvalid) as refused:
        planrefs.resolve(repo, ref=ref.replace("{marker}", str(marker)))
    assert not marker.exists()
    assert len(str(refused.value)) < 400  # a long name is not echoed whole


@pytest.mark.parametrize("revision", ["HEAD", "main", "--all", "abc", "g" * 40, "a" * 65, "1234~1"])
def test_revisions_are_hexadecimal_shas(tmp_path: Path, revision: str) -> None:
    with pytest.raises(PlanRequestInvalid, match="not a commit sha"):
        planrefs.check_sha(revision)


def test_exactly_one_of_revision_and_ref(tmp_path: Path, remote: tuple[Path, str, str]) -> None:
    repo = Repository(f"file://{remote[0]}", tmp_path / "data")
    with pytest.raises(PlanRequestInvalid, match="exactly one"):
        planrefs.resolve(repo)
    with pytest.raises(PlanRequestInvalid, match="exactly one"):
        planrefs.resolve(repo, revision=remote[1], ref="main")


def test_a_pull_request_ref_is_fetched_from_the_remote_and_leaves_no_name(
    tmp_path: Path, remote: tuple[Path, str, str]
) -> None:
    bare, main, pr = remote
    repo = Repository(f"file://{bare}", tmp_path / "data")
    assert repo.head() == main
    assert planrefs.resolve(repo, ref="refs/pull/12/head") == pr
    assert planrefs.resolve(repo, ref="main") == main  # a branch name: refs/heads/main
    mirror_refs = git(repo.git_dir, "for-each-ref", "--format=%(refname)")
    assert mirror_refs == "refs/heads/main"  # the plan's private name is gone again
    assert git(repo.git_dir, "cat-file", "-t", pr) == "commit"  # its objects are here
    assert repo.snapshot(pr).files[0].data == b"a: 2\n"
    # the remote moves: the same ref is fetched again
    git(bare, "update-ref", "refs/pull/12/head", main)
    assert planrefs.resolve(repo, ref="refs/pull/12/head") == main


def test_a_full_sha_the_mirror_lacks_is_fetched_a_short_one_is_looked_up(
    tmp_path: Path, remote: tuple[Path, str, str]
) -> None:
    bare, main, pr = remote
    repo = Repository(f"file://{bare}", tmp_path / "data")
    repo.head()
    with pytest.raises(RevisionNotFound, match="does not exist"):
        planrefs.resolve(repo, revision=pr[:10])  # not fetched yet, and too short to fetch
    assert planrefs.resolve(repo, revision=pr.upper()) == pr
    assert planrefs.resolve(repo, revision=pr[:10]) == pr
    assert planrefs.resolve(repo, revision=main[:7]) == main


def test_missing_refs_and_revisions_are_not_found(
    tmp_path: Path, remote: tuple[Path, str, str]
) -> None:
    bare, _, _ = remote
    repo = Repository(f"file://{bare}", tmp_path / "data")
    repo.head()
    with pytest.raises(RevisionNotFound, match=r"ref refs/pull/99/head does not exist on file://"):
        planrefs.resolve(repo, ref="refs/pull/99/head")
    with pytest.raises(RevisionNotFound, match="does not exist"):
        planrefs.resolve(repo, revision="ab" * 20)


def test_a_mirror_not_made_yet_is_a_source_error(
    tmp_path: Path, remote: tuple[Path, str, str]
) -> None:
    repo = Repository(f"file://{remote[0]}", tmp_path / "data")
    with pytest.raises(SourceError, match="has not read"):
        planrefs.resolve(repo, ref="main")


def test_a_local_bare_repo_is_read_where_it_is(
    tmp_path: Path, remote: tuple[Path, str, str]
) -> None:
    bare, main, pr = remote
    repo = Repository(str(bare), tmp_path / "data")
    assert planrefs.resolve(repo, ref="refs/pull/12/head") == pr
    assert planrefs.resolve(repo, revision=main[:8]) == main
    with pytest.raises(RevisionNotFound, match="refs/heads/nope does not exist in"):
        planrefs.resolve(repo, ref="nope")
    # a branch spelled like a sha prefix (of neither commit) is not read as a revision
    word = next(
        w for w in ("cafe", "beef", "dead") if not main.startswith(w) and not pr.startswith(w)
    )
    git(bare, "update-ref", f"refs/heads/{word}", pr)
    with pytest.raises(RevisionNotFound, match=f"revision {word} does not exist"):
        planrefs.resolve(repo, revision=word)
    git(bare, "update-ref", "-d", f"refs/heads/{word}")
    assert git(bare, "for-each-ref", "--format=%(refname)").split() == [
        "refs/heads/main",
        "refs/pull/12/head",
    ]  # nothing fetched, nothing written
