"""README: "A failed pull marks that service as failed with the registry's answer; a running older
container of that service keeps running, and other services are applied." On real Docker with
the real auth-protected test registry."""

from __future__ import annotations

import contextlib

import docker
import docker.errors
import pytest

from tests.conftest import TestRegistry
from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

STACK = """\
kind: Registry
project: shop
name: team
uri: {host}
credentials:
  username: {user}
  password: {{env: REGISTRY_PW}}
---
kind: Stack
project: shop
services:
  app:
    image: {image}
    command: [sleep, "3600"]
  other:
    image: busybox:1.36
    command: [sleep, "{other}"]
"""


def test_a_failed_pull_keeps_the_old_container_running_and_applies_the_rest(
    deployment: Deployment, own_registry: TestRegistry, docker_client: docker.DockerClient
) -> None:
    def stack(image: str, other: int) -> str:
        return STACK.format(
            host=own_registry.host, user=own_registry.username, image=image, other=other
        )

    deployment.env["REGISTRY_PW"] = "not-the-password"
    deployment.write("shop.yaml", stack("busybox:1.36", 3600))
    assert deployment.sync().ok
    old = deployment.container("app").id
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(own_registry.image)  # so that it must be pulled

    deployment.write("shop.yaml", stack(own_registry.image, 3601))
    result = deployment.sync()

    failed = {r.key.name: r.detail for r in result.failed}
    assert list(failed) == ["app"]
    assert f"pulling {own_registry.image} from registry shop/team" in failed["app"]
    assert failed["app"].endswith("; the old container keeps running")
    assert "not-the-password" not in failed["app"]
    app = deployment.container("app")
    assert (app.id, app.status) == (old, "running")
    assert deployment.container("other").attrs["Config"]["Cmd"] == ["sleep", "3601"]

    deployment.env["REGISTRY_PW"] = own_registry.password  # fixed: the next sync replaces it
    again = deployment.sync()
    assert again.ok, [r.detail for r in again.failed]
    assert deployment.container("app").id != old
