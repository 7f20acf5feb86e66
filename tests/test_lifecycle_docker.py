"""Lifecycle keys of a Compose file applied to the real engine (issue 13): healthcheck forms,
restart policies with retry counts, replicas (resolvable by the service name), `replicas: 0`,
start-first replacement and `depends_on.restart`. One deployment, few syncs: each checks many
keys with `docker inspect`."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from syncd.core.plan import Action, Reason
from syncd.ids import StackKey
from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

NANO = 1_000_000_000

COMPOSE = """\
name: life
services:
  checked:
    image: busybox:1.36
    command: sleep 3600
    restart: on-failure:4
    healthcheck:
      test: ["CMD-SHELL", "test -d /proc/1"]
      interval: 3s
      timeout: 2s
      start_period: 1m30s
      retries: 5
  disabled:
    image: busybox:1.36
    command: sleep 3600
    healthcheck: {{disable: true}}
    deploy:
      restart_policy: {{condition: on-failure, max_attempts: 2}}
  imagetest:
    image: busybox:1.36
    command: sleep 3600
    restart: unless-stopped
    healthcheck:
      interval: 7s
      retries: 2
  web:
    image: busybox:1.36
    command: ["httpd", "-f", "-p", "8080"]
    deploy:
      replicas: 3
  probe:
    image: busybox:1.36
    command: sleep 3600
  zero:
    image: busybox:1.36
    command: sleep 3600
    scale: 0
  rolling:
    image: busybox:1.36
    command: sleep 3600
    environment: {{N: "{n}"}}
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
    deploy:
      update_config: {{order: start-first}}
  db:
    image: busybox:1.36
    command: sleep 3600
    environment: {{N: "{n}"}}
  app:
    image: busybox:1.36
    command: sleep 3600
    depends_on:
      db: {{condition: service_started, restart: true}}
"""


def _inspect(deployment: Deployment, service: str) -> dict[str, Any]:
    return dict(deployment.container(service).attrs)


def _actions(result: Any) -> dict[str, tuple[Action, Reason]]:
    return {
        c.key.name: (c.action, c.reason) for stack in result.plan.stacks for c in stack.services
    }


def test_lifecycle_keys_run_as_docker_runs_them(deployment: Deployment) -> None:
    deployment.write("compose.yaml", COMPOSE.format(n=1))
    first = deployment.sync()
    assert first.ok, [r.detail for r in first.failed]
    _check_health_and_restart(deployment)
    _check_replicas(deployment)
    again = deployment.sync()  # nothing changed: replicas: 0 and 3 replicas are in sync
    assert {a for a, _r in _actions(again).values()} == {Action.NONE}, _actions(again)
    _check_operator_stop_reaches_every_replica(deployment)
    _check_start_first_and_dependency_restart(deployment)
    _check_scaling(deployment)
    _check_start_first_rollback(deployment)


def _check_health_and_restart(deployment: Deployment) -> None:
    checked = _inspect(deployment, "checked")
    assert checked["Config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "test -d /proc/1"],
        "Interval": 3 * NANO,
        "Timeout": 2 * NANO,
        "StartPeriod": 90 * NANO,
        "Retries": 5,
    }
    assert checked["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 4}
    disabled = _inspect(deployment, "disabled")
    assert disabled["Config"]["Healthcheck"]["Test"] == ["NONE"]
    assert disabled["HostConfig"]["RestartPolicy"] == {
        "Name": "on-failure",
        "MaximumRetryCount": 2,
    }
    image = _inspect(deployment, "imagetest")
    assert not image["Config"]["Healthcheck"].get("Test")  # the image's test (busybox: none)
    assert image["Config"]["Healthcheck"]["Interval"] == 7 * NANO
    assert image["Config"]["Healthcheck"]["Retries"] == 2
    assert image["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def _check_replicas(deployment: Deployment) -> None:
    web = deployment.containers(service="web")
    assert len(web) == 3 and {c.status for c in web} == {"running"}
    assert sorted(c.labels.get("syncd.replica", "1") for c in web) == ["1", "2", "3"]
    addresses = {
        c.attrs["NetworkSettings"]["Networks"][next(iter(c.attrs["NetworkSettings"]["Networks"]))][
            "IPAddress"
        ]
        for c in web
    }
    code, out = deployment.exec("probe", "nslookup", "web")
    assert code == 0, out
    assert addresses <= set(out.split()), out  # every replica answers to the service name
    assert deployment.containers(service="zero") == []


def _check_operator_stop_reaches_every_replica(deployment: Deployment) -> None:
    web = StackKey("life", "default").service("web")
    deployment.reconciler.operator_stop(web)
    assert {c.status for c in deployment.containers(service="web")} == {"exited"}
    kept = deployment.sync()
    assert _actions(kept)["web"] == (Action.NONE, Reason.OPERATOR_STOPPED)
    assert {c.status for c in deployment.containers(service="web")} == {"exited"}
    deployment.reconciler.operator_start(web)
    assert {c.status for c in deployment.containers(service="web")} == {"running"}


def _check_start_first_and_dependency_restart(deployment: Deployment) -> None:
    # start-first: the old container runs until the new one is healthy; db's recreation
    # restarts app (restart: true), which keeps its container.
    old_rolling = deployment.container("rolling").id
    app = _inspect(deployment, "app")
    running: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            running.append(
                sum(1 for c in deployment.containers(service="rolling") if c.status == "running")
            )

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        deployment.write("compose.yaml", COMPOSE.format(n=2))
        second = deployment.sync()
    finally:
        stop.set()
        watcher.join()
    assert second.ok, [r.detail for r in second.failed]
    actions = _actions(second)
    assert actions["rolling"][0] is Action.RECREATE
    assert actions["app"] == (Action.START, Reason.DEPENDENCY_RECREATED)
    assert running and min(running) >= 1, running  # never without a running container
    assert max(running) == 2, running  # both ran at once: the new one started first
    assert deployment.container("rolling").id != old_rolling
    restarted = _inspect(deployment, "app")
    assert restarted["Id"] == app["Id"]
    assert restarted["State"]["StartedAt"] != app["State"]["StartedAt"]


def _check_scaling(deployment: Deployment) -> None:
    # scale down 3 -> 1 and zero -> 2: no other container is touched
    deployment.write(
        "compose.yaml",
        COMPOSE.format(n=2).replace("replicas: 3", "replicas: 1").replace("scale: 0", "scale: 2"),
    )
    third = deployment.sync()
    assert third.ok, [r.detail for r in third.failed]
    assert _actions(third)["web"] == (Action.UPDATE, Reason.METADATA_CHANGED)
    assert len(deployment.containers(service="web")) == 1
    assert len(deployment.containers(service="zero")) == 2


def _check_start_first_rollback(deployment: Deployment) -> None:
    """A new container that never gets healthy goes; the old one keeps running, with its name."""
    old = deployment.container("rolling")
    deployment.write(
        "compose.yaml",
        COMPOSE.format(n=3)
        .replace('test: ["CMD", "true"]', 'test: ["CMD", "false"]\n      retries: 1')
        .replace("replicas: 3", "replicas: 1")
        .replace("scale: 0", "scale: 2"),
    )
    result = deployment.sync()
    [failed] = result.failed
    assert failed.key.name == "rolling" and "start-first" in failed.detail, failed.detail
    kept = deployment.container("rolling")
    assert kept.id == old.id and kept.status == "running"
    assert kept.name == old.name
