"""Private images on the real three-node swarm: a service's nodes pull with the credentials of
the image's own registry (sent as `X-Registry-Auth` on create and update, never another
host's), and the spec pins the image to the digest the registry gives, so a tag pushed again
rolls the service at the next sync while a no-op sync writes nothing.

The image is pushed to a fresh repository of the test registry (127.0.0.1:5555 on the host;
the nodes reach the same storage at 10.213.0.1:5555), so no node has it before the test."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import secrets
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests

from syncd.apply.reconcile import Reconciler, SyncResult
from syncd.engine.client import API_VERSION
from syncd.manifests import read_manifests
from syncd.settings import EngineKind
from syncd.source.reader import read_directory
from tests.conftest import TestRegistry
from tests.requirements import docker_required, missing
from tests.swarm_support import NODES, SwarmDeployment
from tests.swarmnodes import Swarm

pytestmark = [pytest.mark.docker, pytest.mark.swarm]

IDLE = "trap 'exit 0' TERM; while true; do sleep 1; done"


@dataclass
class Pushed:
    host_ref: str  # as the host pushes it (127.0.0.1:5555/...)
    node_ref: str  # as the nodes pull it (10.213.0.1:5555/...)
    digests: list[str] = field(default_factory=list)  # what was pushed

    def push(self, client: docker.DockerClient, registry: TestRegistry, mark: str) -> str:
        digest = _push(client, registry, self.host_ref, mark)
        self.digests.append(digest)
        return digest


@pytest.fixture
def private_image(
    swarm: Swarm, docker_client: docker.DockerClient, test_registry: TestRegistry
) -> Iterator[Pushed]:
    if swarm.registry is None:
        missing("the test swarm has no registry listener (scripts/ensure-swarm.sh)",
                required=docker_required())  # fmt: skip
    repo = f"swa{secrets.token_hex(4)}/busybox"
    pushed = Pushed(f"{test_registry.host}/{repo}:1.36", f"{swarm.registry}/{repo}:1.36")
    yield pushed
    for found in docker_client.images.list(filters={"label": "syncd.test.mark"}):
        if any(t.startswith(pushed.host_ref.rsplit(":", 1)[0]) for t in found.tags):
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(found.id, force=True)
    for digest in pushed.digests:  # the registry forgets the repository's manifests
        with contextlib.suppress(requests.RequestException):
            requests.delete(
                f"http://{test_registry.host}/v2/{repo}/manifests/{digest}",
                auth=(test_registry.username, test_registry.password),
                timeout=10,
            )


def _push(client: docker.DockerClient, registry: TestRegistry, ref: str, mark: str) -> str:
    """A `FROM busybox:1.36` variant labelled `mark`, pushed under `ref`: its digest."""
    dockerfile = f"FROM busybox:1.36\nLABEL syncd.test.mark={mark}\n".encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=ref, rm=True)
    repo, tag = ref.rsplit(":", 1)
    client.images.push(repo, tag, auth_config=registry.auth_config)
    digests = client.images.get(ref).attrs["RepoDigests"]
    return str(next(d for d in digests if d.startswith(repo + "@"))).split("@", 1)[1]


class Recorded:
    """The requests syncd's engine makes to the manager: method, path, `X-Registry-Auth`."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        path = str(request.path_url).split("?", 1)[0]
        auth = request.headers.get("X-Registry-Auth")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        self.seen.append((str(request.method), path, auth))

    def auths(self, suffix: str) -> list[dict[str, Any] | None]:
        """The decoded `X-Registry-Auth` of each POST whose path ends with `suffix`."""
        return [
            json.loads(base64.urlsafe_b64decode(auth)) if auth else None
            for method, path, auth in self.seen
            if method == "POST" and path.endswith(suffix)
        ]


class AuthDeployment(SwarmDeployment):
    """A `SwarmDeployment` whose operator's variables hold the registry password."""

    env: dict[str, str]

    def sync(self, revision: str = "r1", *, allow_empty: bool = False) -> SyncResult:
        self.requests.clear()
        snap = read_directory(str(self.repo), [])
        manifests = read_manifests(
            snap.files, self.env, problems=snap.problems, engine=EngineKind.SWARM
        )
        assert not manifests.errors, [str(p) for p in manifests.errors]
        return self.reconciler.sync(manifests, revision, allow_empty=allow_empty)


def _deployment(
    swarm: Swarm, tmp_path: Path, password: str, deploy_timeout: float = 90
) -> tuple[AuthDeployment, Recorded]:
    deployed = AuthDeployment(tmp_path, swarm.docker_host, deploy_timeout=deploy_timeout)
    deployed.env = {"REGISTRY_PW": password}
    deployed.reconciler = Reconciler(
        deployed.settings, deployed.engine, deployed.store, deployed.env
    )
    recorded = Recorded()
    deployed.api.hooks["response"].append(recorded)
    return deployed, recorded


def _stack(uri: str, image: str, user: str) -> str:
    return textwrap.dedent(f"""\
        kind: Registry
        project: swa
        name: team
        uri: {uri}
        credentials:
          username: {user}
          password: {{env: REGISTRY_PW}}
        ---
        kind: Stack
        project: swa
        services:
          app:
            image: {image}
            command: [sh, -c, "{IDLE}"]
            deploy:
              endpointMode: dnsrr
              placement: {{constraints: ["node.hostname == swn2"]}}
        """)


def _no_node_has(ref: str) -> None:
    """Remove the image's repository (by tag or by digest) from every node."""
    repo = ref.rsplit(":", 1)[0]
    for node in NODES:
        client = docker.APIClient(base_url=node, version=API_VERSION, timeout=10)
        try:
            for image in client.images():
                refs = (image.get("RepoTags") or []) + (image.get("RepoDigests") or [])
                if any(r.startswith(f"{repo}:") or r.startswith(f"{repo}@") for r in refs):
                    client.remove_image(image["Id"], force=True)
        finally:
            client.close()


def _running_image(deployed: SwarmDeployment) -> tuple[str, list[dict[str, Any]]]:
    app = deployed.service("app")
    tasks = [t for t in deployed.tasks(app["ID"]) if t["Status"]["State"] == "running"]
    return str(app["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]), tasks


def test_a_private_image_runs_on_a_worker_with_its_registrys_credentials_pinned_by_digest(
    swarm: Swarm,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    test_registry: TestRegistry,
    private_image: Pushed,
) -> None:
    first = private_image.push(docker_client, test_registry, "one")
    _no_node_has(private_image.node_ref)
    deployed, recorded = _deployment(swarm, tmp_path, test_registry.password)
    try:
        deployed.write("swa.yaml", _stack(swarm.registry or "", private_image.node_ref,
                                          test_registry.username))  # fmt: skip
        result = deployed.sync()
        assert result.ok, [(str(r.key), r.detail) for r in result.services] + list(result.errors)
        (sent,) = recorded.auths("/services/create")
        assert sent == {"username": test_registry.username, "password": test_registry.password,
                        "serveraddress": swarm.registry}  # fmt: skip
        image, tasks = _running_image(deployed)
        assert image == f"{private_image.node_ref}@{first}"  # pinned
        assert len(tasks) == 1
        node = deployed.admin.inspect_node(tasks[0]["NodeID"])["Description"]["Hostname"]
        assert node == "swn2"  # a worker that did not have the image pulled it
        inspected = json.dumps(deployed.admin.inspect_service(deployed.service("app")["ID"]))
        assert test_registry.password not in inspected  # Swarm keeps it out of its answers

        recorded.seen.clear()
        again = deployed.sync()
        assert again.ok and deployed.writes == 0, deployed.requests  # the digest compare holds

        second = private_image.push(docker_client, test_registry, "two")
        assert second != first
        recorded.seen.clear()
        moved = deployed.sync()
        assert moved.ok, [(str(r.key), r.detail) for r in moved.services]
        (row,) = moved.services
        assert row.detail == f"updated: its image's tag moved to {second}"
        (sent,) = recorded.auths("/update")  # the update carries the credentials too
        assert sent is not None and sent["serveraddress"] == swarm.registry
        image, tasks = _running_image(deployed)
        assert image == f"{private_image.node_ref}@{second}"
        assert [t["Spec"]["ContainerSpec"]["Image"] for t in tasks] == [image]

        assert deployed.sync().ok and deployed.writes == 0, deployed.requests
    finally:
        deployed.cleanup()
        _no_node_has(private_image.node_ref)


def test_credentials_of_another_host_are_not_sent_and_the_sync_says_why_the_task_fails(
    swarm: Swarm,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    test_registry: TestRegistry,
    private_image: Pushed,
) -> None:
    """A Registry for 127.0.0.1:5555 (the same registry under another address, right user and
    password) is not the image's registry at 10.213.0.1:5555: nothing of it is sent."""
    private_image.push(docker_client, test_registry, "one")
    _no_node_has(private_image.node_ref)
    deployed, recorded = _deployment(swarm, tmp_path, test_registry.password, deploy_timeout=8)
    try:
        deployed.write("swa.yaml", _stack(test_registry.host, private_image.node_ref,
                                          test_registry.username))  # fmt: skip
        result = deployed.sync()
        assert not result.ok
        (failed,) = result.failed
        assert "deploy timeout" in failed.detail, failed.detail
        assert "no basic auth credentials" in failed.detail, failed.detail  # the registry's word
        assert "not pinned" in failed.detail, failed.detail
        assert recorded.auths("/services/create") == [None]
        for _method, _path, auth in recorded.seen:  # (distribution asks with an empty one)
            assert auth is None or json.loads(base64.urlsafe_b64decode(auth)) == {}
        image, tasks = _running_image(deployed)
        assert image == private_image.node_ref and not tasks  # the tag, as declared
    finally:
        deployed.cleanup()
        _no_node_has(private_image.node_ref)
