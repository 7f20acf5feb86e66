"""Closed vocabularies cross the engine boundary as enums: a container's health is a
`ContainerHealth` (None without a healthcheck), a restart policy a `RestartPolicy` from the
manifest to Docker's HostConfig; the engine's own failures keep Docker's error as their cause."""

from __future__ import annotations

import secrets
import time

import docker.errors
import pytest

from syncd.core.desired import DesiredService
from syncd.core.runspec import container_request
from syncd.engine.base import ContainerHealth, ContainerState, ObservedContainer
from syncd.errors import EngineError
from syncd.ids import ServiceKey
from syncd.manifests.model import RestartPolicy
from tests.engine_support import Deployment

STACK = """\
kind: Stack
project: shop
services:
  db:
    image: busybox:1.36
    command: [sleep, "3600"]
    restartPolicy: on-failure
    healthcheck: {test: [CMD, "true"], interval: 1s, timeout: 1s, retries: 3}
  sick:
    image: busybox:1.36
    command: [sleep, "3600"]
    restartPolicy: unless-stopped
    healthcheck: {test: [CMD, "false"], interval: 1s, timeout: 1s, retries: 1}
  web:
    image: busybox:1.36
    command: [sleep, "3600"]
    dependsOn: {db: service_healthy}
"""


def _observed(deployment: Deployment) -> dict[str, ObservedContainer]:
    return {c.key.name: c for c in deployment.engine.observe().containers}


@pytest.mark.docker
def test_health_and_restart_policy_cross_the_engine_boundary_as_enums(
    deployment: Deployment,
) -> None:
    deployment.write("shop.yaml", STACK)
    assert deployment.sync().ok  # web waited for db to be healthy
    deadline = time.monotonic() + 60
    while _observed(deployment)["sick"].health != ContainerHealth.UNHEALTHY:
        assert time.monotonic() < deadline, _observed(deployment)["sick"]
        time.sleep(0.5)
    seen = _observed(deployment)
    assert (seen["db"].health, seen["sick"].health, seen["web"].health) == (
        ContainerHealth.HEALTHY,
        ContainerHealth.UNHEALTHY,
        None,
    )
    assert seen["db"].health is ContainerHealth.HEALTHY
    asked = {name: deployment.engine.health(c.id) for name, c in seen.items()}
    assert asked["db"].health is ContainerHealth.HEALTHY
    assert asked["sick"].health is ContainerHealth.UNHEALTHY
    assert asked["web"].health is None and asked["web"].state is ContainerState.RUNNING

    policies = {
        name: deployment.container(name).attrs["HostConfig"]["RestartPolicy"]["Name"]
        for name in seen
    }
    assert policies["db"] == "on-failure" and policies["sick"] == "unless-stopped"
    assert policies["web"] in ("", "no")  # Docker's own spelling of no policy


@pytest.mark.docker
def test_an_engine_error_keeps_dockers_error_as_its_cause(deployment: Deployment) -> None:
    with pytest.raises(EngineError) as caught:
        deployment.engine.inspect(f"syncd-missing-{secrets.token_hex(4)}")
    assert isinstance(caught.value.__cause__, docker.errors.NotFound)


@pytest.mark.parametrize(
    ("declared", "policy"),
    [(None, RestartPolicy.NO), *((p.value, p) for p in RestartPolicy)],
)
def test_the_run_spec_asks_the_engine_for_a_restart_policy_enum(
    declared: str | None, policy: RestartPolicy
) -> None:
    spec = {"image": "busybox:1.36"} | ({"restartPolicy": declared} if declared else {})
    service = DesiredService(ServiceKey("shop", "default", "web"), spec)
    request = container_request(service, instance="t", revision=None, files=lambda p, s: s)
    assert request.restart_policy is policy
