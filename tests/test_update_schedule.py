"""Scheduled image updates (issue 15): a tag moved in the (real, auth-protected) registry is
picked up when the service's `updateSchedule` is due, and recreates only that service; the
history names the old and the new digest. The daemon runs in this process on a real git
repository and real Docker, its schedule clock driven by the test (no waiting)."""

from __future__ import annotations

import contextlib
import io
import secrets
import threading
from collections.abc import Iterator

import docker
import docker.errors
import pytest

from syncd.daemon import watchers
from syncd.daemon.config import RunConfig
from syncd.daemon.loop import Daemon
from syncd.daemon.status import Trigger
from tests.conftest import TestRegistry
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"
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
  tracked:
    image: {image}
    command: [sh, -c, "{idle}"]
    updateSchedule: {{interval: 1h}}
  still:
    image: {image}
    command: [sh, -c, "{idle}"]
"""


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _push(client: docker.DockerClient, registry: TestRegistry, ref: str, mark: str) -> str:
    """A tiny `FROM busybox:1.36` variant (labelled `mark`) pushed under `ref`: its digest."""
    dockerfile = f"FROM busybox:1.36\nLABEL syncd.test.mark={mark}\n".encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=ref, rm=True)
    repo, tag = ref.rsplit(":", 1)
    client.images.push(repo, tag, auth_config=registry.auth_config)
    digests = client.images.get(ref).attrs["RepoDigests"]
    return str(next(d for d in digests if d.startswith(repo + "@"))).split("@", 1)[1]


def _requested(daemon: Daemon) -> frozenset[Trigger] | None:
    """What the daemon's own schedule loop (its thread) asks for, then the loops stop."""
    args = (daemon.stop, daemon.pausing, daemon.updates, daemon.request)
    looking = threading.Thread(target=watchers.schedules, args=args, daemon=True)
    looking.start()
    triggers = daemon._next()
    daemon.shutdown()
    looking.join()
    return triggers


@pytest.fixture
def image(
    deployment: Deployment, docker_client: docker.DockerClient, test_registry: TestRegistry
) -> Iterator[str]:
    """A fresh repository of the test registry; its local images are removed afterwards (once
    the deployment's containers, which use them, are gone)."""
    ref = f"{test_registry.host}/private/sched-{secrets.token_hex(4)}:live"
    yield ref
    deployment.cleanup()
    for found in docker_client.images.list(filters={"label": "syncd.test.mark"}):
        if any(t.startswith(ref.rsplit(":", 1)[0]) for t in found.tags) or not found.tags:
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(found.id, force=True)


def test_a_moved_tag_recreates_only_the_scheduled_service_when_due(
    deployment: Deployment,
    docker_client: docker.DockerClient,
    test_registry: TestRegistry,
    image: str,
) -> None:
    old = _push(docker_client, test_registry, image, "one")
    repo = GitRepo(deployment.repo)
    repo.write(
        "s.yaml",
        STACK.format(host=test_registry.host, user=test_registry.username, image=image, idle=IDLE),
    )
    repo.commit("one")
    env = {"REGISTRY_PW": test_registry.password}
    daemon = Daemon(
        RunConfig(repo=str(repo.path)), deployment.settings, env, engine=deployment.engine
    )
    clock = Clock(1_000_000.0)
    daemon.reconciler.updates.clock = clock
    try:
        assert daemon.sync_once({Trigger.START}) is not None
        before = deployment.ids()
        assert set(before) == {"tracked", "still"}

        new = _push(docker_client, test_registry, image, "two")  # the tag moves
        assert new != old
        docker_client.images.remove(image)  # as if built elsewhere: the local tag is gone

        clock.now += 1800  # not due yet: nothing asked, nothing written
        assert not daemon.reconciler.updates.newly_due()
        daemon.sync_once({Trigger.SCHEDULE})
        assert deployment.ids() == before

        clock.now += 1801  # due: the daemon's schedule loop asks for a sync
        triggers = _requested(daemon)
        assert triggers == frozenset({Trigger.SCHEDULE})
        assert not daemon.reconciler.updates.newly_due()  # told once
        daemon.sync_once(triggers)
        after = deployment.ids()
        assert after["still"] == before["still"]
        assert after["tracked"] != before["tracked"]
        running = docker_client.images.get(deployment.container("tracked").image.id)
        assert running.labels.get("syncd.test.mark") == "two"
        still = docker_client.images.get(deployment.container("still").image.id)
        assert still.labels.get("syncd.test.mark") == "one"
        row = daemon.store.syncs()[0]
        assert row.trigger == "schedule"
        details = {r["service"]: r["detail"] for r in row.services}
        assert old in details["shop/default/tracked"] and new in details["shop/default/tracked"]
        assert "shop/default/still" not in details

        # a routine pass afterwards changes nothing: the pin holds, `still` keeps its image
        rows = len(daemon.store.syncs())
        daemon.sync_once({Trigger.DRIFT})
        assert deployment.ids() == after
        # due again, the tag has not moved since: no recreate, no history row
        clock.now += 3601
        assert daemon.reconciler.updates.newly_due()
        daemon.sync_once({Trigger.SCHEDULE})
        assert deployment.ids() == after
        assert len(daemon.store.syncs()) == rows
    finally:
        daemon.store.close()
