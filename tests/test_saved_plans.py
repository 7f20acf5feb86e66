"""Saved plans end to end, with real git and Docker: `syncd plan --out` then `syncd apply --plan`,
applied when nothing moved, refused (exit 1, "stale plan", naming what moved) when a container
was changed by hand, the revision moved, or the settings differ."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from pathlib import Path

import docker
import docker.errors
import pytest

from syncd.cli.main import main
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

SECRET = "s3cr3t-token-9f8e7d"
STACK = """\
kind: Stack
project: saved
services:
  app:
    image: busybox:1.36
    command: [sleep, "3600"]
    environment: {{N: "{n}", TOKEN: "${{TOKEN}}"}}
"""


def _setup(deployment: Deployment, tmp_path: Path) -> tuple[GitRepo, list[str], str, str]:
    """A repo with two commits (N=1, N=2), the first applied; the CLI's common arguments."""
    env_file = tmp_path / "operator.env"
    env_file.write_text(f"TOKEN={SECRET}\n")
    repo = GitRepo(deployment.repo)
    repo.write("saved.yaml", STACK.format(n=1))
    first = repo.commit("one")
    args = deployment.cli_args(repo.path, "--env-file", str(env_file))
    assert main(["apply", *args, "--rev", first]) == 0
    repo.write("saved.yaml", STACK.format(n=2))
    second = repo.commit("two")
    return repo, args, first, second


def _env(container: object) -> dict[str, str]:
    env = container.attrs["Config"]["Env"]  # type: ignore[attr-defined]
    return dict(item.split("=", 1) for item in env)


def test_a_saved_plan_is_applied_and_holds_no_secret(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _repo, args, first, second = _setup(deployment, tmp_path)
    out = tmp_path / "plan.json"
    capsys.readouterr()
    assert main(["plan", *args, "--head", second, "--out", str(out)]) == 2
    assert "recreate" in capsys.readouterr().out
    text = out.read_text()
    saved = json.loads(text)
    assert saved["revision"] == second and saved["settings"]["instance"] == deployment.instance
    assert saved["live"]["parts"]  # planned against what runs
    assert SECRET not in text and hashlib.sha256(SECRET.encode()).hexdigest() not in text
    [before] = deployment.containers()
    assert before.labels["syncd.revision"] == first

    assert main(["apply", *args, "--plan", str(out)]) == 0
    output = capsys.readouterr().out
    assert "converged" in output
    [after] = deployment.containers()
    assert after.id != before.id
    assert after.labels["syncd.revision"] == second
    assert _env(after)["N"] == "2" and _env(after)["TOKEN"] == SECRET

    # applied once: what it was made against is gone, so a second apply is refused
    assert main(["apply", *args, "--plan", str(out)]) == 1
    err = capsys.readouterr().err
    assert "stale plan" in err and "service saved/default/app changed" in err


@pytest.mark.parametrize("change", ["stop", "rm"])
def test_a_saved_plan_is_refused_after_a_container_was_changed_by_hand(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    _repo, args, first, second = _setup(deployment, tmp_path)
    out = tmp_path / "plan.json"
    assert main(["plan", *args, "--head", second, "--out", str(out)]) == 2
    [container] = deployment.containers()
    if change == "stop":
        container.stop(timeout=1)
    else:
        container.remove(force=True)
    capsys.readouterr()

    assert main(["apply", *args, "--plan", str(out)]) == 1
    err = capsys.readouterr().err
    what = "changed" if change == "stop" else "is gone"
    assert f"stale plan: the live state moved since the plan: service saved/default/app {what}" in (
        err
    )
    assert "Traceback" not in err
    left = deployment.containers()  # nothing was applied
    if change == "stop":
        assert [c.id for c in left] == [container.id]
        assert left[0].labels["syncd.revision"] == first and left[0].status == "exited"
    else:
        assert left == []


def test_a_revision_to_revision_plan_applies_against_the_base_that_runs(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _repo, args, first, second = _setup(deployment, tmp_path)
    out = tmp_path / "plan.json"
    assert main(["plan", *args, "--base", first, "--head", second, "--out", str(out)]) == 2
    assert json.loads(out.read_text())["live"] is None
    assert main(["apply", *args, "--plan", str(out), "--dry-run"]) == 0
    assert deployment.container("app").labels["syncd.revision"] == first  # a dry run
    assert main(["apply", *args, "--plan", str(out)]) == 0
    assert deployment.container("app").labels["syncd.revision"] == second

    # now the base no longer runs: the plan computed against Docker is another one
    capsys.readouterr()
    assert main(["apply", *args, "--plan", str(out)]) == 1
    err = capsys.readouterr().err
    assert (
        "stale plan: the plan computed now differs from the saved one: what runs is now "
        f"revision {second[:12]}, service saved/default/app (recreate -> none)"
    ) in err


def test_a_saved_plan_is_refused_when_the_local_image_it_would_run_moved(
    deployment: Deployment,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The tag the new container would run now names another local image (a pull, a build):
    not the plan that was reviewed."""
    repository = f"syncd-saved-{secrets.token_hex(4)}"
    docker_client.images.get("busybox:1.36").tag(repository, "1")
    helper = docker_client.containers.create("busybox:1.36", ["true"])
    try:
        repo = GitRepo(deployment.repo)
        repo.write(
            "saved.yaml",
            "kind: Stack\nproject: saved\nservices:\n"
            f"  app: {{image: '{repository}:1', command: [sleep, '3600']}}\n",
        )
        rev = repo.commit("one")
        args = deployment.cli_args(repo.path)
        out = tmp_path / "plan.json"
        assert main(["plan", *args, "--head", rev, "--out", str(out)]) == 2
        other = helper.commit(repository, "1", changes=["LABEL syncd-test=moved"])
        capsys.readouterr()
        assert main(["apply", *args, "--plan", str(out)]) == 1
        err = capsys.readouterr().err
        assert (
            "stale plan: the live state moved since the plan: "
            "the local image of service saved/default/app changed" in err
        )
        assert deployment.containers() == []
        del other
    finally:
        helper.remove(force=True)
        # by its tag, never by id: the tag may still name the shared busybox image
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(f"{repository}:1")
