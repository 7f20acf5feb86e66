"""The `/v2` API of a running daemon over a real socket: every answer of the mirrored routes
validates against mittwald's reference spec and syncd's own `/v2/openapi.json`; pagination,
filters, ids and refusals behave; no secret is ever answered or logged."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
import jsonschema
import pytest

from tests.conftest import TestRegistry
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

REFERENCE = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "mittwald-container-openapi.json"
)
SECRET_ENV = "planted-interpolated-secret-4711"
REGISTRY_PASSWORD = TestRegistry.from_env().password  # the real one: checks must pass with it
IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"
MANIFESTS = f"""\
kind: Stack
project: api
description: Front
services:
  web:
    image: busybox:1.36
    description: Web server
    command: [sh, -c, "{IDLE}"]
    environment: {{TOKEN: "${{API_TOKEN}}", MODE: plain}}
    volumes: ["data:/data"]
    deploy: {{resources: {{limits: {{cpus: "0.5", memory: 64mb}}}}}}
    restartPolicy: unless-stopped
  worker:
    image: busybox:1.36
    description: Background worker
    command: [sh, -c, "echo worker-log-line; {IDLE}"]
volumes:
  data: {{}}
---
kind: Stack
project: api
name: jobs
description: Jobs
services:
  cron:
    image: busybox:1.36
    description: Another one
    command: [sh, -c, "{IDLE}"]
---
kind: Registry
project: api
name: team
uri: 127.0.0.1:5555
description: Team registry
credentials:
  username: syncd-test
  password: {{env: REGISTRY_PW}}
"""


def reference() -> dict[str, Any]:
    if not REFERENCE.is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the reference spec {REFERENCE} is missing (required under CI=true)")
        pytest.skip(f"the reference spec {REFERENCE} is missing")
    spec: dict[str, Any] = json.loads(REFERENCE.read_text())
    return spec


class Conformance:
    """Validates answers against the response schemas of an OpenAPI document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def schema(self, path: str, method: str, status: int) -> dict[str, Any] | None:
        response = self.spec["paths"][path][method]["responses"].get(str(status))
        if response is None:
            response = self.spec["paths"][path][method]["responses"].get("default")
        if response is None:
            return None
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[1]
            response = self.spec["components"]["responses"][name]
        content = response.get("content", {})
        media = content.get("application/json") or content.get("text/plain")
        return media["schema"] if media else None

    def check(self, path: str, method: str, answer: httpx.Response) -> None:
        schema = self.schema(path, method, answer.status_code)
        assert schema is not None, f"{method.upper()} {path} answered {answer.status_code}"
        body = answer.text if "text/plain" in answer.headers["content-type"] else answer.json()
        document = {**schema, "components": self.spec["components"]}
        jsonschema.validate(body, document, cls=jsonschema.Draft202012Validator)


@contextmanager
def serving(deployment: Deployment, **env: str) -> Iterator[RunningDaemon]:
    """`syncd run` on MANIFESTS (committed to the deployment's repo), once it applied them."""
    repo = GitRepo(deployment.repo)
    repo.write("api.yaml", MANIFESTS)
    repo.commit("api")
    env = {"API_TOKEN": SECRET_ENV, "REGISTRY_PW": REGISTRY_PASSWORD, **env}
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance, env=env
    )
    if "SYNCD_READ_TOKEN" in env:
        daemon.http.headers["Authorization"] = f"Bearer {env['SYNCD_READ_TOKEN']}"
    try:
        daemon.started()
        wait_for(lambda: daemon.status()["appliedRevision"], 30, "the first sync")
        yield daemon
    finally:
        daemon.close()


@pytest.fixture
def api(deployment: Deployment) -> Iterator[RunningDaemon]:
    with serving(deployment, SYNCD_LOG_LEVEL="debug") as daemon:
        wait_for(
            lambda: len(daemon.http.get(f"/v2/projects/{project_id()}/services").json()) == 3,
            10,
            "the view",
        )
        yield daemon


def project_id() -> str:
    from syncd.ids import project_id as pid

    return pid("api")


def routes(daemon: RunningDaemon) -> list[tuple[str, str, str]]:
    """(spec path, method, concrete url) for every mirrored read route, ids filled in."""
    pid = project_id()
    services = daemon.http.get(f"/v2/projects/{pid}/services").json()
    web = next(s for s in services if s["serviceName"] == "web")
    volume = daemon.http.get(f"/v2/projects/{pid}/volumes").json()[0]
    registry = daemon.http.get(f"/v2/projects/{pid}/registries").json()[0]
    stack = web["stackId"]
    service = f"/v2/stacks/{stack}/services"
    one = "/v2/stacks/{stackId}/services/{serviceId}"
    return [
        ("/v2/projects/{projectId}/stacks", "get", f"/v2/projects/{pid}/stacks"),
        ("/v2/projects/{projectId}/services", "get", f"/v2/projects/{pid}/services"),
        ("/v2/projects/{projectId}/volumes", "get", f"/v2/projects/{pid}/volumes"),
        ("/v2/projects/{projectId}/registries", "get", f"/v2/projects/{pid}/registries"),
        ("/v2/stacks/{stackId}", "get", f"/v2/stacks/{stack}"),
        (one, "get", f"{service}/{web['id']}"),
        (one, "get", f"{service}/web"),
        (one, "get", f"{service}/{web['shortId']}"),
        (one, "get", f"{service}/nope"),
        (
            "/v2/stacks/{stackId}/volumes/{volumeId}",
            "get",
            f"/v2/stacks/{volume['stackId']}/volumes/{volume['id']}",
        ),
        ("/v2/registries/{registryId}", "get", f"/v2/registries/{registry['id']}"),
        (f"{one}/logs", "get", f"{service}/worker/logs?tail=5"),
        ("/v2/projects/{projectId}/services", "get", f"/v2/projects/{pid}/services?limit=-1"),
    ]


def test_every_mirrored_route_answers_in_the_reference_shapes(api: RunningDaemon) -> None:
    mittwald = Conformance(reference())
    own = Conformance(api.http.get("/v2/openapi.json").json())
    for path, method, url in routes(api):
        answer = api.http.request(method, url)
        mittwald.check(path, method, answer)
        own.check(path, method, answer)
    logs = api.http.get(routes(api)[11][2])
    assert logs.headers["content-type"].startswith("text/plain")
    assert "worker-log-line" in logs.text


def test_pagination_filters_sort_orders_and_ids(api: RunningDaemon) -> None:
    pid = project_id()
    everything = api.http.get(f"/v2/projects/{pid}/services")
    assert everything.headers["x-pagination-totalcount"] == "3"
    names = [s["serviceName"] for s in everything.json()]
    second = api.http.get(f"/v2/projects/{pid}/services", params={"limit": 1, "page": 1})
    assert [s["serviceName"] for s in second.json()] == names[1:2]
    assert (second.headers["x-pagination-limit"], second.headers["x-pagination-skip"]) == ("1", "1")
    assert second.headers["x-pagination-page"] == "1"
    skipped = api.http.get(f"/v2/projects/{pid}/services", params={"skip": 2})
    assert [s["serviceName"] for s in skipped.json()] == names[2:]

    web = next(s for s in everything.json() if s["serviceName"] == "web")
    only = api.http.get(f"/v2/projects/{pid}/services", params={"stackId": web["stackId"]}).json()
    assert sorted(s["serviceName"] for s in only) == ["web", "worker"]
    assert api.http.get(f"/v2/projects/{pid}/services", params={"status": "stopped"}).json() == []
    assert (
        len(api.http.get(f"/v2/projects/{pid}/services", params={"status": "running"}).json()) == 3
    )
    assert (
        api.http.get(f"/v2/projects/{pid}/services", params={"requiresRecreate": True}).json() == []
    )
    found = api.http.get(f"/v2/projects/{pid}/services", params={"searchTerm": "BACKGROUND"}).json()
    assert [s["serviceName"] for s in found] == ["worker"]
    ordered = api.http.get(f"/v2/projects/{pid}/services", params={"sortOrder": "descriptionDesc"})
    descriptions = [s["description"] for s in ordered.json()]
    assert descriptions == sorted(descriptions, reverse=True)
    bad = api.http.get(f"/v2/projects/{pid}/services", params={"sortOrder": "sideways"})
    assert bad.status_code == 400 and bad.json()["type"] == "ValidationError"

    stacks = api.http.get(f"/v2/projects/{pid}/stacks", params={"searchTerm": "jobs"}).json()
    assert [s["description"] for s in stacks] == ["Jobs"]
    for order in ("nameAsc", "nameDesc", "storageAsc", "storageDesc"):
        answer = api.http.get(f"/v2/projects/{pid}/volumes", params={"sortOrder": order})
        assert answer.status_code == 200 and len(answer.json()) == 1
    other = api.http.get("/v2/projects/not-a-project/services")
    assert other.status_code == 200 and other.json() == []
    assert web["status"] == "running" and web["message"] == "Container ready"
    deployed = web["deployedState"]  # from Docker's inspect, in the declared forms
    assert deployed["image"] == "busybox:1.36"
    assert deployed.get("imageDigest", "sha256:").startswith("sha256:")  # images from registries
    assert deployed["volumes"] == ["data:/data:rw"] == web["pendingState"]["volumes"]
    assert deployed["envs"] == {"MODE": "plain", "TOKEN": "<redacted>"}  # no image defaults
    assert deployed["command"] == web["pendingState"]["command"]
    assert web["deploy"] == {"resources": {"limits": {"cpus": "0.5", "memory": "67108864b"}}}
    volume = api.http.get(f"/v2/projects/{pid}/volumes").json()[0]
    assert volume["linkedServices"] == [web["id"]] and volume["orphaned"] is False
    projects = api.http.get("/v2/projects").json()
    assert {"id": pid, "shortId": projects[0]["shortId"], "description": "api"} in projects


def test_writes_are_refused_with_where_to_change_them(api: RunningDaemon) -> None:
    stack = api.http.get(f"/v2/projects/{project_id()}/stacks").json()[0]
    for method, url in (
        ("PUT", f"/v2/stacks/{stack['id']}"),
        ("PATCH", f"/v2/stacks/{stack['id']}"),
        ("POST", f"/v2/projects/{project_id()}/registries"),
        ("DELETE", "/v2/registries/x"),
    ):
        answer = api.http.request(method, url, json={})
        assert answer.status_code == 405, (method, url)
        body = answer.json()
        assert body["type"] == "MethodNotAllowed" and "declared in git" in body["message"]
    refused = api.http.put(f"/v2/stacks/{stack['id']}", json={}).json()["message"]
    assert "api.yaml:1" in refused and api.status()["goodRevision"][:12] in refused
    big = api.http.post("/v2/actions/validate-container-registry-uri", content=b"x" * 100_000)
    assert big.status_code == 413 and big.json()["type"] == "PayloadTooLarge"


def test_no_answer_or_log_line_holds_a_secret(api: RunningDaemon) -> None:
    seen = []
    for _path, method, url in routes(api):
        seen.append(api.http.request(method, url).text)
    for url in (
        "/v2/projects",
        "/v2/syncd/status",
        "/v2/syncd/syncs",
        "/healthz",
        "/v2/openapi.json",
    ):
        seen.append(api.http.get(url).text)
    web = next(
        s
        for s in api.http.get(f"/v2/projects/{project_id()}/services").json()
        if s["serviceName"] == "web"
    )
    assert web["pendingState"]["envs"]["TOKEN"] == "<redacted>"
    assert web["deployedState"]["envs"]["TOKEN"] == "<redacted>"
    assert web["pendingState"]["envs"]["MODE"] == "plain"
    everything = "\n".join([*seen, api.log()])
    assert SECRET_ENV not in everything
    assert REGISTRY_PASSWORD not in everything


@pytest.fixture
def admin_api(deployment: Deployment) -> Iterator[RunningDaemon]:
    with serving(
        deployment, SYNCD_ADMIN_TOKEN="admin-token", SYNCD_READ_TOKEN="read-token"
    ) as daemon:
        yield daemon


def test_tokens_guard_reads_and_operational_tasks(
    admin_api: RunningDaemon, deployment: Deployment
) -> None:
    pid = project_id()
    anonymous = httpx.get(f"{admin_api.url}/v2/projects/{pid}/services")
    assert anonymous.status_code == 401 and anonymous.json()["type"] == "Unauthorized"
    assert httpx.get(f"{admin_api.url}/healthz").status_code == 200
    stack = next(
        s
        for s in admin_api.http.get(f"/v2/projects/{pid}/stacks").json()
        if s["description"] == "Front"
    )
    stop = f"/v2/stacks/{stack['id']}/services/worker/actions/stop"
    assert admin_api.http.post(stop).status_code == 401  # the read token is not enough
    admin = {"Authorization": "Bearer admin-token"}
    assert admin_api.http.post(stop, headers=admin).status_code == 204
    assert deployment.container("worker").status == "exited"
    drift = admin_api.http.get("/metrics").text  # a sync runs after the task; it keeps the stop
    assert "syncd_syncs_total" in drift
    time.sleep(1.5)
    assert deployment.container("worker").status == "exited"
    history = admin_api.syncs()
    assert any(s["trigger"] == "operator_stop" for s in history)
    start = f"/v2/stacks/{stack['id']}/services/worker/actions/start"
    assert admin_api.http.post(start, headers={"x-access-token": "admin-token"}).status_code == 204
    assert deployment.container("worker").status == "running"
    before = deployment.container("web").id
    recreate = f"/v2/stacks/{stack['id']}/services/web/actions/recreate"
    assert admin_api.http.post(recreate, headers=admin).status_code == 204
    wait_for(
        lambda: (
            (c := deployment.containers(service="web"))
            and c[0].id != before
            and c[0].status == "running"
        ),
        20,
        "the recreated web",
    )
    volume = f"/v2/stacks/{stack['id']}/volumes/data"
    refused = admin_api.http.delete(volume, headers=admin)
    assert refused.status_code == 412 and "declared by its stack" in refused.json()["message"]


def test_operational_tasks_are_off_without_an_admin_token(api: RunningDaemon) -> None:
    stack = api.http.get(f"/v2/projects/{project_id()}/stacks").json()[0]
    answer = api.http.post(f"/v2/stacks/{stack['id']}/services/web/actions/stop")
    assert answer.status_code == 403 and "configure an admin token" in answer.json()["message"]


def test_image_config_and_the_two_checks(
    api: RunningDaemon, test_registry: TestRegistry, docker_client: docker.DockerClient
) -> None:
    mittwald = Conformance(reference())
    own = Conformance(api.http.get("/v2/openapi.json").json())
    path = "/v2/container-image-config"
    local = api.http.get(path, params={"imageReference": "busybox:1.36"})
    assert local.status_code == 200
    mittwald.check(path, "get", local)
    assert local.json()["isUserRoot"] is True and local.json()["command"] == ["sh"]
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(test_registry.image)
    credentialed = api.http.get(  # an admin task (tests/test_api_access.py), off here
        path,
        params={"imageReference": test_registry.image, "useCredentialsForProjectId": project_id()},
    )
    assert credentialed.status_code == 403, credentialed.text
    assert "configure an admin token" in credentialed.json()["message"]
    missing = api.http.get(path, params={"imageReference": "127.0.0.1:5555/private/none:1"})
    assert missing.status_code == 404 and missing.json()["type"] == "NotFound"

    uri = "/v2/actions/validate-container-registry-uri"
    good = api.http.post(uri, json={"registryUri": "registry.example.com:5000"})
    bad = api.http.post(uri, json={"registryUri": "https://x/y"})
    for answer in (good, bad):
        mittwald.check(uri, "post", answer)
        own.check(uri, "post", answer)
    assert good.json() == {"valid": True} and bad.json()["valid"] is False
    registry = api.http.get(f"/v2/projects/{project_id()}/registries").json()[0]
    check = f"/v2/registries/{registry['id']}/actions/validate-credentials"
    answer = api.http.post(check)  # reads the password and logs in: an admin task, off here
    mittwald.check("/v2/registries/{registryId}/actions/validate-credentials", "post", answer)
    assert answer.status_code == 403 and "configure an admin token" in answer.json()["message"]


def test_an_orphaned_volume_is_deleted_only_when_asked(
    admin_api: RunningDaemon, deployment: Deployment
) -> None:
    admin = {"Authorization": "Bearer admin-token"}
    pid = project_id()
    front = next(
        s
        for s in admin_api.http.get(f"/v2/projects/{pid}/stacks").json()
        if s["description"] == "Front"
    )
    name = f"{deployment.instance}_api_default_data"
    repo = GitRepo(deployment.repo)  # the fixture's repository (re-opened)
    repo.write(
        "api.yaml",
        MANIFESTS.replace('    volumes: ["data:/data"]\n', "").replace(
            "volumes:\n  data: {}\n", ""
        ),
    )
    repo.commit("drop the volume")
    wait_for(
        lambda: (
            (v := admin_api.http.get(f"/v2/projects/{pid}/volumes").json()) and v[0]["orphaned"]
        ),
        30,
        "the volume to be orphaned",
    )
    assert deployment.client.volumes.get(name) is not None  # detached, not deleted
    answer = admin_api.http.delete(f"/v2/stacks/{front['id']}/volumes/data", headers=admin)
    assert answer.status_code == 204
    with pytest.raises(docker.errors.NotFound):
        deployment.client.volumes.get(name)
