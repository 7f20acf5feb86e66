"""What a CI job meets: a shallow clone lacking the base branch, and annotations that must name
files from the top of the repository. Real git repositories, cloned with `--depth 1`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from syncd.cli.main import main
from tests.gitrepo import GitRepo

STACK = "kind: Stack\nproject: blog\nservices:\n  app: {image: 'busybox:%s'}\n"
BAD = "kind: Stack\nproject: blog\nservices:\n  app: {image: busybox:1.36, ports: ['x']}\n"


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _origin_with_pull_request(tmp_path: Path) -> tuple[GitRepo, str]:
    """`main` with one stack; a `feature` branch that changes its image. The main tip's id."""
    origin = GitRepo(tmp_path / "origin")
    for old in ("1.34", "1.35", "1.36"):  # history a plan does not need
        origin.write("deploy/blog/stack.yaml", STACK % old)
        base = origin.commit(f"image {old}")
    origin.git("checkout", "-q", "-b", "feature")
    origin.write("deploy/blog/stack.yaml", STACK % "1.37")
    origin.commit("new image")
    origin.git("checkout", "-q", "main")
    return origin, base


def _shallow_clone(origin: GitRepo, into: Path) -> Path:
    """What actions/checkout leaves: one commit of the pull request's branch, nothing else."""
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            "feature",
            f"file://{origin.path}",
            into,
        ],
        check=True,
        capture_output=True,
    )
    assert _git(into, "rev-parse", "--is-shallow-repository") == "true"
    return into


@pytest.mark.parametrize("base", ["origin/main", "main", "refs/heads/main", "SHA"])
def test_plan_fetches_a_base_a_shallow_clone_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], base: str
) -> None:
    origin, main_tip = _origin_with_pull_request(tmp_path)
    clone = _shallow_clone(origin, tmp_path / "clone")
    rev = main_tip if base == "SHA" else base
    code = main(["plan", "--repo", str(clone / "deploy"), "--base", rev, "--format", "markdown"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "busybox:1.37" in out and "recreate" in out
    assert _git(clone, "rev-parse", "--is-shallow-repository") == "true"
    assert _git(clone, "rev-list", "--count", main_tip) == "1"  # that commit, not its history


def test_a_base_that_cannot_be_fetched_says_what_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin, _ = _origin_with_pull_request(tmp_path)
    clone = _shallow_clone(origin, tmp_path / "clone")
    code = main(["plan", "--repo", str(clone), "--base", "origin/release", "--head", "HEAD"])
    err = capsys.readouterr().err
    assert code == 1
    assert "revision 'origin/release' is not in a shallow clone" in err
    assert "fetch-depth: 0" in err and "GIT_DEPTH: 0" in err
    assert "Traceback" not in err


def test_a_base_gone_with_its_remote_says_what_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin, main_tip = _origin_with_pull_request(tmp_path)
    clone = _shallow_clone(origin, tmp_path / "clone")
    _git(clone, "remote", "set-url", "origin", f"file://{tmp_path}/moved")
    assert main(["plan", "--repo", str(clone), "--base", main_tip]) == 1
    err = capsys.readouterr().err
    assert f"fetching '{main_tip}' from 'origin' failed" in err and "fetch-depth: 0" in err


def test_validate_rev_fetches_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    origin, main_tip = _origin_with_pull_request(tmp_path)
    clone = _shallow_clone(origin, tmp_path / "clone")
    assert main(["validate", "--repo", str(clone), "--rev", "origin/main"]) == 0
    assert f"at {main_tip[:12]}: valid" in capsys.readouterr().out


def test_a_revision_option_is_never_fetched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin, _ = _origin_with_pull_request(tmp_path)
    clone = _shallow_clone(origin, tmp_path / "clone")
    assert main(["plan", "--repo", str(clone), "--base", "--upload-pack=touch x"]) == 1
    assert "may not start with '-'" in capsys.readouterr().err
    assert not (clone / "x").exists()


def test_github_annotations_name_files_from_the_repository_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "work")
    repo.write("deploy/blog/stack.yaml", BAD)
    repo.commit()
    for cwd in (repo.path, repo.path / "deploy", tmp_path):  # wherever the job runs it from
        monkeypatch.chdir(cwd)
        where = str(repo.path / "deploy")
        for rev in ([], ["--rev", "HEAD"]):
            assert main(["validate", "--repo", where, *rev, "--format", "github"]) == 1
            first = capsys.readouterr().out.splitlines()[0]
            assert first.startswith("::error file=deploy/blog/stack.yaml,line=4,col="), first
    monkeypatch.chdir(repo.path)
    assert main(["validate", "--repo", "deploy", "--format", "text"]) == 1
    assert capsys.readouterr().out.startswith("blog/stack.yaml:4:")  # text: as before


def test_annotations_outside_git_are_relative_to_the_current_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "deploy" / "blog").mkdir(parents=True)
    (tmp_path / "deploy" / "blog" / "stack.yaml").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--repo", "deploy", "--format", "github"]) == 1
    assert capsys.readouterr().out.startswith("::error file=deploy/blog/stack.yaml,line=4,")


def test_a_single_branch_clone_fetches_the_remote_branch_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitLab's runner fetches only the pipeline's ref, with history: `origin/main` is missing
    though the clone is not shallow. A plain name there stays the user's to fix."""
    origin, main_tip = _origin_with_pull_request(tmp_path)
    clone = tmp_path / "clone"
    url = f"file://{origin.path}"
    subprocess.run(
        ["git", "clone", "-q", "--single-branch", "--branch", "feature", url, str(clone)],
        check=True,
        capture_output=True,
    )
    assert _git(clone, "rev-parse", "--is-shallow-repository") == "false"
    assert main(["plan", "--repo", str(clone), "--base", "main"]) == 1
    assert "revision 'main' does not exist" in capsys.readouterr().err
    assert main(["plan", "--repo", str(clone), "--base", "origin/main"]) == 2
    assert _git(clone, "rev-parse", "origin/main") == main_tip


def test_gitlab_code_quality_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "work")
    repo.write("deploy/blog/stack.yaml", BAD)
    twice = "kind: Stack\nproject: b\nservices:\n  a: {image: x, ports: ['x']}\n---\n" * 2
    repo.write("deploy/twice.yaml", twice)
    repo.commit()
    monkeypatch.chdir(repo.path)
    assert main(["validate", "--repo", "deploy", "--rev", "HEAD", "--format", "gitlab"]) == 1
    report = json.loads(capsys.readouterr().out)
    blog = next(i for i in report if i["location"]["path"] == "deploy/blog/stack.yaml")
    assert blog["location"]["lines"] == {"begin": 4} and blog["severity"] == "major"
    assert blog["description"].startswith("/services/app/ports/0: 'x' is not")
    assert len({i["fingerprint"] for i in report}) == len(report)  # one per issue
    # a line moved: the same fingerprints (GitLab compares them between base and head)
    repo.write("deploy/blog/stack.yaml", "# a comment\n" + BAD)
    repo.commit()
    assert main(["validate", "--repo", "deploy", "--rev", "HEAD", "--format", "gitlab"]) == 1
    moved = json.loads(capsys.readouterr().out)
    assert {i["fingerprint"] for i in moved} == {i["fingerprint"] for i in report}
    assert next(i for i in moved if i["location"]["path"] == "deploy/blog/stack.yaml")["location"][
        "lines"
    ] == {"begin": 5}
