"""The docker-py client both engines talk through, at the address the settings name."""

from __future__ import annotations

import docker
import docker.errors
import docker.utils

from syncd.errors import EngineUnavailable

API_VERSION = "1.41"  # Docker 20.10; newer engines still accept it


def api_client(docker_host: str | None = None) -> docker.APIClient:
    """`docker_host` (`unix://…`, `tcp://…`), else `DOCKER_HOST` and the TLS variables."""
    kwargs = docker.utils.kwargs_from_env()
    if docker_host:
        kwargs["base_url"] = docker_host
    try:
        return docker.APIClient(version=API_VERSION, **kwargs)
    except docker.errors.DockerException as err:
        raise EngineUnavailable(f"cannot reach the Docker engine: {err}") from err
