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
    assert "2 replicas replaced one at a time (the others serve)" in text
    assert "at most 7 s to stop (the stop_timeout setting), then its start" in text
