"""The `syncd` command line, run as a user runs it (a real process for one case)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.cli import main
from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-repo"
BAD = "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36, ports: ['x']}\n"


def test_sample_repo_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--repo", str(SAMPLE)]) == 0
    assert "valid, 0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_python_dash_m_and_console_script_work() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "validate", "--repo", str(SAMPLE), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is True and report["files"] == 5


def test_json_and_github_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    assert main(["validate", "--repo", str(tmp_path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    [problem] = report["problems"]
    assert (problem["path"], problem["line"], problem["column"]) == ("bad.yaml", 4, 38)
    assert problem["pointer"] == "/services/web/ports/0"

    assert main(["validate", "--repo", str(tmp_path), "--format", "github"]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(
        "::error file=bad.yaml,line=4,col=38::/services/web/ports/0: 'x' is not"
    )


def test_validate_a_git_revision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("shop.yaml", BAD)
    bad = repo.commit("bad")
    repo.write("shop.yaml", BAD.replace("'x'", "'8080:80/tcp'"))
    good = repo.commit("good")

    assert main(["validate", "--repo", str(repo.path), "--rev", good]) == 0
    assert good[:12] in capsys.readouterr().out
    assert main(["validate", "--repo", str(repo.path), "--rev", bad]) == 1
    assert main(["validate", "--repo", str(repo.path), "--rev", "no-such-rev"]) == 1
    assert "revision 'no-such-rev' does not exist" in capsys.readouterr().err


def test_env_file_feeds_interpolation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "s.yaml").write_text(
        "kind: Stack\nproject: shop\nservices:\n  web: {image: 'busybox:${SYNCD_T_TAG}'}\n"
    )
    env = tmp_path / "env"
    env.write_text("SYNCD_T_TAG=1.36\n")
    assert main(["validate", "--repo", str(repo)]) == 1
    assert "SYNCD_T_TAG is not set" in capsys.readouterr().out
    assert main(["validate", "--repo", str(repo), "--env-file", str(env)]) == 0


def test_warnings_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.yaml").write_text(
        "kind: Stack\nproject: shop\nservices:\n"
        "  web: {image: ghcr.example.com/a/b:1, envs: {A: b}}\n"
    )
    assert main(["validate", "--repo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "'envs' is deprecated" in out and "no Registry for ghcr.example.com" in out
