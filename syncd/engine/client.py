"""The docker-py client both engines talk through, at the address the settings name."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import wraps
from typing import ParamSpec, TypeVar

import docker
import docker.errors
import docker.utils
import requests

from syncd import taint
from syncd.errors import EngineError, EngineUnavailable

API_VERSION = "1.41"  # Docker 20.10; newer engines still accept it
DEFAULT_ADDRESS = "unix:///var/run/docker.sock"  # docker-py's, without DOCKER_HOST


def engine_address(docker_host: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The address a client of these settings tries (`--docker-host`, else `DOCKER_HOST`, else
    the default socket), as an error may show it: any `user:password@` is redacted."""
    env = os.environ if env is None else env
    return taint.redact_url(docker_host or env.get("DOCKER_HOST") or DEFAULT_ADDRESS)


def unavailable(
    err: Exception, address: str | None, what: str = "the Docker engine"
) -> EngineUnavailable:
    """The error for an engine that cannot be reached, naming the address it was tried at; the
    cause's text may repeat the address, its userinfo is redacted there too."""
    where = f" at {address}" if address else ""
    return EngineUnavailable(f"cannot reach {what}{where}: {taint.redact_url(str(err))}")


def api_client(docker_host: str | None = None) -> docker.APIClient:
    """`docker_host` (`unix://…`, `tcp://…`), else `DOCKER_HOST` and the TLS variables."""
    kwargs = docker.utils.kwargs_from_env()
    if docker_host:
        kwargs["base_url"] = docker_host
    try:
        return docker.APIClient(version=API_VERSION, **kwargs)
    except docker.errors.DockerException as err:
        raise unavailable(err, engine_address(docker_host)) from err


P = ParamSpec("P")
R = TypeVar("R")


def engine_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """docker-py and requests exceptions -> `EngineError` / `EngineUnavailable`."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except docker.errors.APIError as err:
            raise EngineError(explain(err)) from err
        except (requests.RequestException, docker.errors.DockerException) as err:
            # the engine the method was called on names the address it tried
            raise unavailable(err, getattr(args[0], "address", None) if args else None) from err

    return wrapper


def explain(err: docker.errors.APIError) -> str:
    explanation = err.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return str(explanation or err)
