"""Smoke tests for the Docker test environment (real engine, real registry, no mocks)."""

from __future__ import annotations

import contextlib
import re

import docker
import docker.errors
import pytest

from tests.conftest import TEST_LABELS, TestRegistry

pytestmark = pytest.mark.docker

_AUTH_ERROR = re.compile(
    r"unauthori[sz]ed|authentication required|no basic auth credentials|denied", re.IGNORECASE
)


def _remove_image_tag(client: docker.DockerClient, ref: str) -> None:
    """Untag ``ref`` locally (image data shared with other tags stays)."""
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(ref)


def _has_image(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


def test_busybox_runs_shell(docker_client: docker.DockerClient, busybox_image: str) -> None:
    container = docker_client.containers.run(
        busybox_image, ["sh", "-c", "echo hello"], detach=True, labels=TEST_LABELS
    )
    try:
        status = container.wait(timeout=60)
        output = container.logs(stdout=True, stderr=True).decode()
        assert status["StatusCode"] == 0, output
        assert output.strip() == "hello"
    finally:
        container.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(container.id)


def test_pull_private_image_with_credentials(
    docker_client: docker.DockerClient, test_registry: TestRegistry
) -> None:
    """The seeded image, pulled with the credentials (a pull asks the registry even when the
    engine has the image: the other worker's tests may be using it, so it is never removed)."""
    image = docker_client.images.pull(test_registry.image, auth_config=test_registry.auth_config)
    assert test_registry.image in image.tags


def _bad_auth(kind: str, registry: TestRegistry) -> dict[str, str]:
    if kind == "wrong-password":
        return {"username": registry.username, "password": registry.password + "-wrong"}
    if kind == "unknown-user":
        return {"username": "no-such-user", "password": registry.password}
    # An explicit empty auth_config sends no credentials (and stops docker-py from falling
    # back to ~/.docker/config.json).
    return {}


@pytest.mark.parametrize("kind", ["wrong-password", "unknown-user", "anonymous"])
def test_pull_private_image_rejects_bad_credentials(
    docker_client: docker.DockerClient, own_registry: TestRegistry, kind: str
) -> None:
    _remove_image_tag(docker_client, own_registry.image)
    try:
        with pytest.raises(docker.errors.APIError) as excinfo:
            docker_client.images.pull(own_registry.image, auth_config=_bad_auth(kind, own_registry))
        message = str(excinfo.value)
        assert _AUTH_ERROR.search(message), message
        assert not _has_image(docker_client, own_registry.image)
    finally:
        _remove_image_tag(docker_client, own_registry.image)
