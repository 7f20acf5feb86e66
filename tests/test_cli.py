"""The `syncd` command line, run as a user runs it (a real process for one case)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonpatch
import pytest

from syncd.cli.main import main
from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-repo"
BAD = "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36, ports: ['x']}\n"


def test_sample_repo_is_valid(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_REGISTRY_PASSWORD", "x")  # its registry's password: allowed by name
    assert main(["validate", "--repo", str(SAMPLE), "--allow-env", "SHOP_REGISTRY_PASSWORD"]) == 0
    assert "valid, 0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_python_dash_m_and_console_script_work() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "validate", "--repo", str(SAMPLE), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SHOP_REGISTRY_PASSWORD": "x", "SYNCD_ALLOW_ENV": "SHOP_*"},
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
        "kind: Stack\nproject: shop\nservices:\n  web: {image: 'busybox:${T_TAG}'}\n"
    )
    env = tmp_path / "env"
    env.write_text("T_TAG=1.36\n")
    assert main(["validate", "--repo", str(repo)]) == 1
    assert "T_TAG is not set" in capsys.readouterr().out
    assert main(["validate", "--repo", str(repo), "--env-file", str(env)]) == 0


def test_warnings_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.yaml").write_text(
        "kind: Stack\nproject: shop\nservices:\n"
        "  web: {image: ghcr.example.com/a/b:1, envs: {A: b}}\n"
    )
    assert main(["validate", "--repo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "'envs' is deprecated" in out and "no Registry for ghcr.example.com" in out


PLAN_A = """kind: Stack
project: shop
services:
  web: {image: busybox:1.36, environment: {GREETING: hello}, ports: ["18080:8080/tcp"]}
  db: {image: busybox:1.36, volumes: ["data:/data"]}
volumes:
  data: {}
"""
PLAN_B = PLAN_A.replace("hello", "bonjour") + "  cache: {}\n"


def _two_commits(tmp_path: Path) -> tuple[GitRepo, str, str]:
    repo = GitRepo(tmp_path / "repo")
    repo.write("stacks/shop.yaml", PLAN_A)
    base = repo.commit("base")
    repo.write("stacks/shop.yaml", PLAN_B)
    repo.write("stacks/blog.yaml", "kind: Stack\nproject: blog\nservices:\n  app: {image: x:1}\n")
    head = repo.commit("head")
    return repo, base, head


def test_plan_markdown_between_two_commits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, base, head = _two_commits(tmp_path)
    code = main(
        ["plan", "--repo", str(repo.path), "--base", base, "--head", head, "--format", "markdown"]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith(f"### syncd plan: {base[:12]} → {head[:12]}")
    assert "| shop/default | 0 | 1 | 0 | 0 | 0 | 1 |" in out
    assert "| blog/default | 1 | 0 | 0 | 0 | 0 | 0 |" in out
    assert "<details><summary><code>~ shop/default/web</code> recreate" in out
    assert '~ /environment/GREETING: "bonjour"' in out


def test_plan_json_patch_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = _two_commits(tmp_path)
    assert main(["plan", "--repo", str(repo.path), "--base", base, "--format", "json-patch"]) == 2
    patches = json.loads(capsys.readouterr().out)
    assert set(patches) == {"shop/default", "blog/default"}

    # The specs each revision resolves to, through syncd's own JSON output of the same plans.
    def specs(rev_a: str, rev_b: str) -> dict[str, Any]:
        main(
            [
                "plan",
                "--repo",
                str(repo.path),
                "--base",
                rev_a,
                "--head",
                rev_b,
                "--format",
                "json-patch",
            ]
        )
        ops: dict[str, Any] = json.loads(capsys.readouterr().out)
        return ops

    empty = {"description": "", "services": {}, "volumes": {}}
    empty_tree = repo.git("hash-object", "-t", "tree", "/dev/null")
    nothing = repo.git("commit-tree", empty_tree, "-m", "nothing")
    from_nothing_to_base = specs(nothing, base)
    from_nothing_to_head = specs(nothing, head)
    old_shop = jsonpatch.apply_patch(empty, from_nothing_to_base["shop/default"])
    new_shop = jsonpatch.apply_patch(empty, from_nothing_to_head["shop/default"])
    assert jsonpatch.apply_patch(old_shop, patches["shop/default"]) == new_shop
    assert new_shop["volumes"] == {"data": {"name": "data"}, "cache": {"name": "cache"}}


def test_plan_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, _, head = _two_commits(tmp_path)
    assert main(["plan", "--repo", str(repo.path), "--base", head, "--head", head]) == 0
    assert "No changes." in capsys.readouterr().out
    repo.write("stacks/shop.yaml", "kind: Stack\nproject: shop\nservices: {web: {imag: x}}\n")
    broken = repo.commit("broken")
    assert main(["plan", "--repo", str(repo.path), "--base", head, "--head", broken]) == 1
    err = capsys.readouterr().err
    assert "has invalid manifests" in err
    assert "stacks/shop.yaml:3:18: /services/web/imag: unknown field 'imag'" in err
    assert main(["plan", "--repo", str(repo.path)]) == 1  # the broken files on disk vs live
    assert "unknown field 'imag'" in capsys.readouterr().err


def test_hostile_trees_fail_validation_with_positions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "secret.yaml").write_text("kind: Stack\n")
    repo = GitRepo(tmp_path / "repo")
    repo.write("ok.yaml", "kind: Stack\nproject: shop\nservices:\n  web: {image: busybox:1.36}\n")
    repo.write("big.yaml", "# " + "x" * (1024 * 1024 + 10) + "\n")
    (repo.path / "escape.yaml").symlink_to("../secret.yaml")
    rev = repo.commit()
    for extra in ([], ["--rev", rev]):
        assert main(["validate", "--repo", str(repo.path), *extra]) == 1
        out = capsys.readouterr().out
        assert "big.yaml:1:1: file is 1048589 bytes, over the 1048576-byte limit" in out
        assert "escape.yaml:1:1: symlink to '../secret.yaml' points outside the repository" in out
        assert "1 manifest file(s)" in out
