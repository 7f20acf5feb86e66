"""`syncd apply`, `syncd plan` against live state and `syncd service`, through the CLI."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from syncd.cli.main import main
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

STACK = """\
kind: Stack
project: cli
services:
  app:
    image: busybox:1.36
    command: [sleep, "3600"]
    environment: {{N: "{n}"}}
"""


def _settings(deployment: Deployment) -> list[str]:
    return ["--data-dir", str(deployment.settings.data_dir), "--instance", deployment.instance]


def test_apply_plan_and_operator_stop_through_the_cli(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("cli.yaml", STACK.format(n=1))
    first = repo.commit("one")
    args = ["--repo", str(repo.path), *_settings(deployment)]

    assert main(["apply", *args, "--dry-run"]) == 0
    assert "1 to create" in capsys.readouterr().out
    assert deployment.containers() == []

    assert main(["apply", *args, "--rev", first]) == 0
    out = capsys.readouterr().out
    assert "cli/default/app" in out and "converged" in out
    [container] = deployment.containers()
    assert container.labels["syncd.revision"] == first

    assert main(["plan", *args, "--head", first]) == 0
    assert "No changes" in capsys.readouterr().out
    repo.write("cli.yaml", STACK.format(n=2))
    assert main(["plan", *args]) == 2  # the files on disk against what runs
    assert "recreate" in capsys.readouterr().out

    assert main(["service", "stop", "cli/app", *_settings(deployment)]) == 0
    assert deployment.container("app").status == "exited"
    assert main(["apply", *args, "--rev", first]) == 0
    assert deployment.container("app").status == "exited"
    assert main(["service", "start", "cli/default/app", *_settings(deployment)]) == 0
    assert deployment.container("app").status == "running"


def test_apply_without_an_engine_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cli.yaml").write_text(STACK.format(n=1))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/missing.sock")
    code = main(["apply", "--repo", str(tmp_path), "--data-dir", str(tmp_path / "d")])
    assert code == 1
    assert "cannot reach the Docker engine" in capsys.readouterr().err


def test_apply_reports_a_failed_service_with_exit_code_3(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.write(
        "cli.yaml", STACK.replace("busybox:1.36", "127.0.0.1:9/none/such:1").format(n=1)
    )
    started = time.monotonic()
    code = main(["apply", "--repo", str(deployment.repo), *_settings(deployment)])
    assert code == 3
    out = capsys.readouterr().out
    assert "ERROR cli/default/app" in out and "pulling 127.0.0.1:9/none/such:1 failed" in out
    assert time.monotonic() - started < 60


def test_apply_dry_run_prints_the_plan_and_claims_nothing(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("cli.yaml", STACK.format(n=1))
    first = repo.commit("one")
    args = ["apply", "--repo", str(repo.path), "--rev", first, *_settings(deployment)]

    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+ cli/default/app" in out and "1 to create" in out
    assert out.rstrip().endswith("dry run: nothing was applied")
    assert "applied in" not in out and "converged" not in out
    assert main([*args, "--dry-run", "--detailed-exitcode"]) == 2
    assert "1 to create" in capsys.readouterr().out
    assert deployment.containers() == []

    assert main(args) == 0
    assert "converged (0 unchanged)" in capsys.readouterr().out
    assert main([*args, "--dry-run", "--detailed-exitcode"]) == 0
    out = capsys.readouterr().out
    assert "No changes" in out and "applied in" not in out

    assert main(["service", "stop", "cli/app", *_settings(deployment)]) == 0
    capsys.readouterr()
    assert main(args) == 0  # the operator's stop is kept, and the summary says so
    assert "converged (1 unchanged, 1 stopped by an operator)" in capsys.readouterr().out
    assert deployment.container("app").status == "exited"
