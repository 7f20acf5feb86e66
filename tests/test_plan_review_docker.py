"""The impact of a plan against what runs in Docker: the running containers' own stop grace
period, else the `--stop-timeout` setting, their replicas, and the services restarted with a
dependency."""

from __future__ import annotations

import json

import pytest

from syncd.cli.main import main
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

STACK = """\
kind: Stack
project: impact
services:
  db:
    image: busybox:1.36
    command: [sleep, "3600"]
    stopGracePeriod: 3s
    environment: {{N: "{n}"}}
    volumes: ["data:/data"]
  app:
    image: busybox:1.36
    command: [sleep, "3600"]
    dependsOn: {{db: {{condition: service_started, restart: true}}}}
  many:
    image: busybox:1.36
    command: [sleep, "3600"]
    environment: {{N: "{n}"}}
    deploy: {{replicas: 2}}
volumes:
  data: {{name: data}}
"""


def test_the_live_plan_names_each_running_service_impact(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("impact.yaml", STACK.format(n=1))
    repo.commit("one")
    args = ["--repo", str(repo.path), "--data-dir", str(deployment.settings.data_dir)]
    args += ["--instance", deployment.instance, "--stop-timeout", "7"]
    assert main(["apply", *args]) == 0
    capsys.readouterr()
    repo.write(
        "impact.yaml", STACK.format(n=2).replace("stopGracePeriod: 3s", "stopGracePeriod: 1s")
    )

    assert main(["plan", *args, "--format", "json"]) == 2
    body = json.loads(capsys.readouterr().out)
    services = {s["service"]: s for s in body["stacks"][0]["services"]}
    db = services["impact/default/db"]["impact"]
    # the running container stops within its own grace period (3 s), not the new one (1 s)
    assert (db["down"], db["stopSeconds"], db["stopSource"]) == (True, 3, "stop_grace_period")
    assert db["volumes"] == ["data:/data:rw"] and db["dependents"] == ["app"]
    many = services["impact/default/many"]["impact"]
    assert (many["down"], many["replicas"], many["stopSeconds"]) == (False, 2, 7)
    app = services["impact/default/app"]
    assert app["action"] == "start" and app["impact"]["restart"] is True
    assert app["impact"]["stopSeconds"] == 7
    assert body["restarts"] == {"services": 3, "down": 2}

    assert main(["plan", *args]) == 2
    text = capsys.readouterr().out
    assert "without downtime (2 replicas one at a time, stop-first; the others serve)" in text
    assert "at most 7 s to stop (the stop_timeout setting), then its start" in text


SECRET_STACK = """\
kind: Stack
project: rotate
services:
  api:
    image: busybox:1.36
    command: [sleep, "3600"{extra}, "${{TOKEN}}"]
    environment: {{KEY: "${{KEY}}"}}
"""


@pytest.mark.parametrize(
    ("key", "extra", "expected"),
    [
        ("k-rotated-2", "", '~ /environment/KEY: "<redacted>" → "<redacted>" (changed)'),
        (
            "k-original-1",
            ', "--x"',
            '~ /command: ["sleep", "3600", "<redacted>"] → ["sleep", "3600", "--x", "<redacted>"] '
            "(secret unchanged)",
        ),
    ],
    ids=["rotated", "unchanged"],
)
def test_against_docker_a_secret_is_compared_by_the_stored_digest(
    deployment: Deployment,
    capsys: pytest.CaptureFixture[str],
    key: str,
    extra: str,
    expected: str,
) -> None:
    """syncd keeps only an HMAC digest of each secret value; the plan against what runs says
    whether the secret changed from it, and never shows the value or the digest."""
    repo = GitRepo(deployment.repo)
    env = deployment.repo.parent / "operator.env"
    env.write_text("TOKEN=t-secret-0042\nKEY=k-original-1\n")
    repo.write("rotate.yaml", SECRET_STACK.format(extra=""))
    repo.commit("one")
    args = ["--repo", str(repo.path), "--data-dir", str(deployment.settings.data_dir)]
    args += ["--instance", deployment.instance, "--env-file", str(env)]
    assert main(["apply", *args]) == 0
    capsys.readouterr()

    env.write_text(f"TOKEN=t-secret-0042\nKEY={key}\n")
    repo.write("rotate.yaml", SECRET_STACK.format(extra=extra))
    for fmt in ("text", "markdown", "json"):
        assert main(["plan", *args, "--format", fmt]) == 2
        out = capsys.readouterr().out
        assert "<digest:" not in out and "t-secret-0042" not in out and "k-" not in out
        if fmt != "json":
            assert expected in out, out
