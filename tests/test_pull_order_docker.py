"""Every pull of a sync comes before its first stop (issue 15): a sync that removes one service
and replaces another whose new image cannot be pulled stops nothing before the pull's outcome
is known, and the replaced service keeps its running container."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"

COMPOSE = """\
name: pullorder
services:
  web:
    image: {image}
    command: ["sh", "-c", "{idle}"]
{gone}"""
GONE = """\
  gone:
    image: busybox:1.36
    command: ["sh", "-c", "{idle}"]
"""


def _recording(deployment: Deployment, calls: list[str]) -> None:
    """Each pull, stop and remove the engine makes, in order, once it is done (the real engine
    does the work)."""
    engine = deployment.engine

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                calls.append(name)

        return call

    for name in ("pull", "stop", "remove"):
        setattr(engine, name, wrap(name, getattr(engine, name)))


def test_no_stop_before_every_pull_is_known(deployment: Deployment) -> None:
    deployment.write(
        "compose.yaml",
        COMPOSE.format(image="busybox:1.36", idle=IDLE, gone=GONE.format(idle=IDLE)),
    )
    first = deployment.sync()
    assert first.ok, [r.detail for r in first.failed]
    web = deployment.container("web").id
    calls: list[str] = []
    _recording(deployment, calls)
    missing = f"127.0.0.1:5555/syncd-missing-{secrets.token_hex(4)}:1"
    deployment.write("compose.yaml", COMPOSE.format(image=missing, idle=IDLE, gone=""))
    second = deployment.sync()

    [failed] = second.failed
    assert failed.key.name == "web" and "pulling" in failed.detail, failed.detail
    assert "keeps running" in failed.detail, failed.detail
    kept = deployment.container("web")
    assert kept.id == web and kept.status == "running"  # never stopped
    assert deployment.containers(service="gone") == []  # the removal still happened
    assert "pull" in calls and ("stop" in calls or "remove" in calls), calls
    stops = [i for i, name in enumerate(calls) if name in ("stop", "remove")]
    pulls = [i for i, name in enumerate(calls) if name == "pull"]
    assert max(pulls) < min(stops), calls  # the pull's outcome was known before any stop
