"""The `/v2` API of a running daemon over a real socket: every route of mittwald's reference spec
is probed (successes and errors) and every answer validates *strictly* against the reference and
against syncd's own `/v2/openapi.json` (`tests/conformance.py`); pagination, filters, ids and
refusals behave; projects answer real facts; no secret is ever answered or logged."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import httpx
import pytest

from tests import swarmclean
from tests.conformance import Conformance, reference
from tests.conftest import TestRegistry
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.swarmnodes import swarm_lock

pytestmark = pytest.mark.docker

# Every API test runs on each engine; the Swarm one once `syncd.engine.swarm` is in the checkout
# (on the shared swarm: `scripts/ensure-swarm.sh`). A test that reads the host's own Docker
# objects is `DOCKER_ONLY`.
SWARM_ENGINE = importlib.util.find_spec("syncd.engine.swarm") is not None
ENGINES = (
    "docker",
    pytest.param(
        "swarm",
        marks=pytest.mark.skipif(not SWARM_ENGINE, reason="no syncd.engine.swarm (SwarmEngine)"),
    ),
)
DOCKER_ONLY = pytest.mark.parametrize("engine", ["docker"])
OWN_ROUTES = {
    ("/v2/syncd/daemon/status", "get"),
    ("/v2/syncd/syncs", "get"),
    ("/v2/syncd/stacks/{stackId}/services/{serviceId}", "get"),  # the full spec (issue 13)
    ("/v2/syncd/plans", "post"),  # a revision or ref against what runs (issue 14)
    ("/v2/syncd/pause", "post"),  # pause applying, the instance or stacks (issue 15)
    ("/v2/syncd/resume", "post"),
    ("/v2/syncd/services", "get"),  # every service as the status page shows it (issue 18)
}  # syncd's, not mittwald's
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
---
kind: Registry
project: docs
name: mirror
uri: mirror.example.com
description: A project with a registry and no stack
"""


@contextmanager
def serving(deployment: Deployment, **env: str) -> Iterator[RunningDaemon]:
    """`syncd run` on MANIFESTS (committed to the deployment's repo), once it applied them."""
    repo = GitRepo(deployment.repo)
    repo.write("api.yaml", MANIFESTS)
    repo.commit("api")
    env = {
        "API_TOKEN": SECRET_ENV,
        "REGISTRY_PW": REGISTRY_PASSWORD,
        "SYNCD_ALLOW_ENV": "API_TOKEN,REGISTRY_PW",  # the manifests' variables, allowed by name
        **env,
    }
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


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def engine_env(
    deployment: Deployment, engine: str, request: pytest.FixtureRequest
) -> Iterator[dict[str, str]]:
    """The daemon's variables for `engine`; on the swarm (up: the `swarm` fixture; held shared
    while the test runs, as every swarm test), what the instance made there is removed
    afterwards (the deployment cleans the host's engine)."""
    if engine != "swarm":
        yield {"SYNCD_ENGINE": engine}
        return
    swarm = request.getfixturevalue("swarm")
    with swarm_lock(exclusive=False):
        try:
            yield {"SYNCD_ENGINE": engine, "SYNCD_DOCKER_HOST": swarm.docker_host}
        finally:
            swarmclean.remove_instance(deployment.instance)


@pytest.fixture
def api(deployment: Deployment, engine_env: dict[str, str]) -> Iterator[RunningDaemon]:
    with serving(deployment, **engine_env, SYNCD_LOG_LEVEL="debug") as daemon:
        wait_for(
            lambda: len(daemon.http.get(f"/v2/projects/{project_id()}/services").json()) == 3,
            10,
            "the view",
        )
        yield daemon


def project_id() -> str:
    from syncd.ids import project_id as pid

    return pid("api")


@dataclass(frozen=True)
class Probe:
    """One real request to a route, and the status it must answer."""

    url: str
    status: int
    body: dict[str, Any] | None = None


def probes(daemon: RunningDaemon) -> dict[tuple[str, str], list[Probe]]:
    """(reference path, method) -> the requests that exercise it (answers and errors), ids filled
    in. Without an admin token, operational tasks answer 403."""
    pid = project_id()
    services = daemon.http.get(f"/v2/projects/{pid}/services").json()
    web = next(s for s in services if s["serviceName"] == "web")
    volume = daemon.http.get(f"/v2/projects/{pid}/volumes").json()[0]
    registry = daemon.http.get(f"/v2/projects/{pid}/registries").json()[0]
    project = daemon.http.get(f"/v2/projects/{pid}").json()
    stack = web["stackId"]
    service = f"/v2/stacks/{stack}/services"
    one = "/v2/stacks/{stackId}/services/{serviceId}"
    tasks = {
        (f"{one}/actions/{task}", "post"): [Probe(f"{service}/web/actions/{task}", 403)]
        for task in ("pull", "recreate", "restart", "start", "stop")
    }
    refused = [Probe(f"/v2/stacks/{stack}", 405, {})]
    image = "/v2/container-image-config?imageReference="
    uri = "/v2/actions/validate-container-registry-uri"
    return {
        ("/v2/projects", "get"): [
            Probe("/v2/projects", 200),
            Probe("/v2/projects?sort=description&order=desc&limit=1&page=1", 200),
            Probe(f"/v2/projects?searchTerm={project['shortId']}", 200),
            Probe("/v2/projects?sort=name", 400),
        ],
        ("/v2/projects/{projectId}", "get"): [
            Probe(f"/v2/projects/{pid}", 200),
            Probe(f"/v2/projects/{project['shortId']}", 200),
            Probe("/v2/projects/api", 200),
            Probe("/v2/projects/nope", 404),
        ],
        ("/v2/projects/{projectId}/stacks", "get"): [
            Probe(f"/v2/projects/{pid}/stacks", 200),
            Probe(f"/v2/projects/{pid}/stacks?limit=-1", 400),
        ],
        ("/v2/projects/{projectId}/services", "get"): [
            Probe(f"/v2/projects/{pid}/services", 200),
            Probe(f"/v2/projects/{pid}/services?status=running&limit=1", 200),
            Probe(f"/v2/projects/{pid}/services?limit=-1", 400),
        ],
        ("/v2/projects/{projectId}/volumes", "get"): [
            Probe(f"/v2/projects/{pid}/volumes", 200),
            Probe(f"/v2/projects/{pid}/volumes?sortOrder=sideways", 400),
        ],
        ("/v2/projects/{projectId}/registries", "get"): [
            Probe(f"/v2/projects/{pid}/registries", 200),
            Probe(f"/v2/projects/{pid}/registries?hasCredentials=maybe", 400),
        ],
        ("/v2/projects/{projectId}/registries", "post"): [
            Probe(f"/v2/projects/{pid}/registries", 405, {})
        ],
        ("/v2/stacks/{stackId}", "get"): [
            Probe(f"/v2/stacks/{stack}", 200),
            Probe("/v2/stacks/nope", 404),
        ],
        ("/v2/stacks/{stackId}", "put"): refused,
        ("/v2/stacks/{stackId}", "patch"): refused,
        (one, "get"): [
            Probe(f"{service}/{web['id']}", 200),
            Probe(f"{service}/web", 200),
            Probe(f"{service}/{web['shortId']}", 200),
            Probe(f"{service}/nope", 404),
        ],
        (f"{one}/logs", "get"): [
            Probe(f"{service}/worker/logs?tail=5", 200),
            Probe(f"{service}/nope/logs", 404),
        ],
        **tasks,
        ("/v2/stacks/{stackId}/volumes/{volumeId}", "get"): [
            Probe(f"/v2/stacks/{volume['stackId']}/volumes/{volume['id']}", 200),
            Probe(f"/v2/stacks/{volume['stackId']}/volumes/{volume['name']}", 200),
            Probe(f"/v2/stacks/{volume['stackId']}/volumes/nope", 404),
        ],
        ("/v2/stacks/{stackId}/volumes/{volumeId}", "delete"): [
            Probe(f"/v2/stacks/{volume['stackId']}/volumes/{volume['id']}", 403)
        ],
        ("/v2/registries/{registryId}", "get"): [
            Probe(f"/v2/registries/{registry['id']}", 200),
            Probe("/v2/registries/nope", 404),
        ],
        ("/v2/registries/{registryId}", "patch"): [
            Probe(f"/v2/registries/{registry['id']}", 405, {})
        ],
        ("/v2/registries/{registryId}", "delete"): [Probe(f"/v2/registries/{registry['id']}", 405)],
        ("/v2/registries/{registryId}/actions/validate-credentials", "post"): [
            # an admin task (it reads the password): off here; test_api_access checks 200/404
            Probe(f"/v2/registries/{registry['id']}/actions/validate-credentials", 403),
        ],
        ("/v2/actions/validate-container-registry-uri", "post"): [
            Probe(uri, 200, {"registryUri": "registry.example.com:5000"}),
            Probe(uri, 200, {"registryUri": "https://x/y"}),
            Probe(uri, 400, {"uri": "registry.example.com"}),
        ],
        ("/v2/container-image-config", "get"): [
            Probe(f"{image}busybox:1.36", 200),
            Probe(f"{image}127.0.0.1:5555/private/none:1", 404),
            Probe(f"{image}NOT%20AN%20IMAGE", 400),
        ],
    }


def test_every_mirrored_route_answers_strictly_in_the_reference_shapes(
    api: RunningDaemon,
) -> None:
    mittwald = Conformance(reference())
    own = Conformance(api.http.get("/v2/openapi.json").json())
    table = probes(api)
    assert set(table) == mittwald.routes(), "every route of the reference needs probes here"
    served = {(own.template_of(p, m) or p, m) for p, m in mittwald.routes()}
    unknown = {r for r in own.routes() if r[0].startswith("/v2/")} - served - OWN_ROUTES
    assert not unknown, f"routes neither mittwald's (and probed) nor syncd's own: {unknown}"
    for (path, method), cases in table.items():
        for case in cases:
            answer = api.http.request(method, case.url, json=case.body)
            assert answer.status_code == case.status, (method, case.url, answer.text)
            mittwald.check(path, method, answer)
            template = own.template_of(path, method)
            if template is not None:  # the 405 refusals are not in syncd's own document
                own.check(template, method, answer)
    logs = api.http.get(table[("/v2/stacks/{stackId}/services/{serviceId}/logs", "get")][0].url)
    assert logs.headers["content-type"].startswith("text/plain")
    assert "worker-log-line" in logs.text


@DOCKER_ONLY  # the host's containers, images or volumes
def test_pagination_filters_sort_orders_and_ids(api: RunningDaemon, deployment: Deployment) -> None:
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
    other = api.http.get("/v2/projects/not-a-project/services")
    assert other.status_code == 200 and other.json() == []
    assert web["status"] == "running" and web["message"] == "Container ready"
    deployed = web["deployedState"]  # from Docker's inspect, in the declared forms
    assert deployed["image"] == "busybox:1.36"
    pushed = deployment.client.images.get("busybox:1.36").attrs.get("RepoDigests") or []
    digests = {d.split("@", 1)[1] for d in pushed}  # from a registry: its digest; else none
    assert deployed["imageDigest"] in digests if digests else "imageDigest" not in deployed
    assert deployed["volumes"] == ["data:/data:rw"] == web["pendingState"]["volumes"]
    assert deployed["envs"] == {"MODE": "plain", "TOKEN": "<redacted>"}  # no image defaults
    assert deployed["command"] == web["pendingState"]["command"]
    assert web["deploy"] == {"resources": {"limits": {"cpus": "0.5", "memory": "67108864b"}}}
    volume = api.http.get(f"/v2/projects/{pid}/volumes").json()[0]
    assert volume["linkedServices"] == [web["id"]] and volume["orphaned"] is False
    projects = {p["description"]: p for p in api.http.get("/v2/projects").json()}
    assert projects["api"]["id"] == pid and projects["api"]["shortId"] == f"p-{pid[:6]}"

    _volumes_sort_in_every_order(api, deployment, pid)


def _volumes_sort_in_every_order(api: RunningDaemon, deployment: Deployment, pid: str) -> None:
    """With a second volume, so that every sort order has work to do."""
    repo = GitRepo(deployment.repo)
    two = MANIFESTS.replace(
        f'    command: [sh, -c, "{IDLE}"]\n---\nkind: Registry',
        f'    command: [sh, -c, "{IDLE}"]\n    volumes: ["cache:/cache"]\n'
        "volumes:\n  cache: {}\n---\nkind: Registry",
    )
    assert two != MANIFESTS
    repo.write("api.yaml", two)
    repo.commit("a second volume")

    def volumes(order: str) -> list[dict[str, Any]]:
        answer = api.http.get(f"/v2/projects/{pid}/volumes", params={"sortOrder": order})
        assert answer.status_code == 200
        listed: list[dict[str, Any]] = answer.json()
        return listed

    wait_for(lambda: len(volumes("nameAsc")) == 2, 30, "the second volume")
    assert [v["name"] for v in volumes("nameAsc")] == ["cache", "data"]
    assert [v["name"] for v in volumes("nameDesc")] == ["data", "cache"]
    for order, reverse in (("storageAsc", False), ("storageDesc", True)):
        keys = [(v["storageUsageInBytes"], v["name"]) for v in volumes(order)]
        assert keys == sorted(keys, reverse=reverse) and len(keys) == 2


def _time(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp).timestamp()


def test_projects_answer_real_facts_and_keep_their_creation_time(
    deployment: Deployment, engine_env: dict[str, str]
) -> None:
    files = deployment.settings.project_files("api")
    files.mkdir(parents=True)
    (files / "index.html").write_bytes(b"x" * 4321)
    (files / "assets").mkdir()
    (files / "assets" / "app.js").write_bytes(b"y" * 679)
    before = time.time()
    with serving(deployment, **engine_env) as first:
        listed = first.http.get("/v2/projects").json()
        assert [p["description"] for p in listed] == ["api", "docs"]  # createdAt, ascending
        api = first.http.get(f"/v2/projects/{project_id()}").json()
        services = first.http.get(f"/v2/projects/{project_id()}/services").json()
        docs = first.http.get("/v2/projects/docs").json()
        order = first.http.get("/v2/projects", params={"sort": "description", "order": "desc"})
        found = first.http.get("/v2/projects", params={"searchTerm": docs["shortId"]}).json()
        customer = {"customerId": api["customerId"]}
        same = first.http.get("/v2/projects", params=customer).json()
        other = first.http.get("/v2/projects", params={"customerId": project_id()}).json()
        server = first.http.get("/v2/projects", params={"serverId": api["serverGroupId"]}).json()
    assert before - 1 <= _time(api["createdAt"]) <= _time(docs["createdAt"]) <= time.time()
    assert (api["status"], api["readiness"], api["isReady"]) == ("ready", "ready", True)
    assert _time(api["statusSetAt"]) == max(_time(s["statusSetAt"]) for s in services)
    assert (api["webStorageUsageInBytes"], docs["webStorageUsageInBytes"]) == (5000, 0)
    assert api["backupStorageUsageInBytes"] == 0 and api["enabled"] is True
    assert api["customerId"] == docs["customerId"] and api["directories"] == {}
    assert api["supportedFeatures"] == ["container"] and api["deletionRequested"] is False
    assert docs["statusSetAt"] == docs["createdAt"] and docs["status"] == "ready"
    assert [p["description"] for p in order.json()] == ["docs", "api"]
    assert [p["description"] for p in found] == ["docs"] and len(same) == 2
    assert other == [] and server == []

    with serving(deployment, **engine_env) as second:  # a restart keeps createdAt
        again = second.http.get(f"/v2/projects/{project_id()}").json()
        assert again["createdAt"] == api["createdAt"]
        assert second.http.get("/v2/projects/docs").json()["createdAt"] == docs["createdAt"]


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
    seen: list[str] = []
    for (_path, method), cases in probes(api).items():
        seen.extend(api.http.request(method, c.url, json=c.body).text for c in cases)
    for url in (
        "/v2/projects",
        "/v2/syncd/daemon/status",
        "/v2/syncd/syncs",
        "/v2/syncd/services",
        "/",  # the status page
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
def admin_api(deployment: Deployment, engine_env: dict[str, str]) -> Iterator[RunningDaemon]:
    with serving(
        deployment,
        **engine_env,
        SYNCD_ADMIN_TOKEN="admin-token",
        SYNCD_READ_TOKEN="read-token",
    ) as daemon:
        yield daemon


@DOCKER_ONLY  # the host's containers, images or volumes
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


@DOCKER_ONLY  # the host's containers, images or volumes
def test_image_config_and_the_two_checks(
    api: RunningDaemon, own_registry: TestRegistry, docker_client: docker.DockerClient
) -> None:
    mittwald = Conformance(reference())
    own = Conformance(api.http.get("/v2/openapi.json").json())
    path = "/v2/container-image-config"
    local = api.http.get(path, params={"imageReference": "busybox:1.36"})
    assert local.status_code == 200
    mittwald.check(path, "get", local)
    assert local.json()["isUserRoot"] is True and local.json()["command"] == ["sh"]
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(own_registry.image)
    credentialed = api.http.get(  # an admin task (tests/test_api_access.py), off here
        path,
        params={"imageReference": own_registry.image, "useCredentialsForProjectId": project_id()},
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


@DOCKER_ONLY  # the host's containers, images or volumes
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
    Conformance(reference()).check("/v2/stacks/{stackId}/volumes/{volumeId}", "delete", answer)
    with pytest.raises(docker.errors.NotFound):
        deployment.client.volumes.get(name)


def test_services_answer_their_tasks_on_a_swarm_and_nothing_of_it_on_docker(
    api: RunningDaemon, engine: str
) -> None:
    services = api.http.get(f"/v2/projects/{project_id()}/services").json()
    web = next(s for s in services if s["serviceName"] == "web")
    status = api.status()
    metrics = api.http.get("/metrics").text
    if engine == "docker":
        assert web["message"] == "Container ready"
        assert "swarm" not in status and "syncd_swarm_nodes" not in metrics
        return
    ready = re.compile(r"1/1 replica running on (swn\d)")

    def running() -> dict[str, Any] | None:  # the task's facts are read again every 5 s
        one = api.http.get(f"/v2/stacks/{web['stackId']}/services/web").json()
        return one if ready.fullmatch(one["message"]) else None

    web = wait_for(running, 20, "the task's node in the message")
    node = ready.fullmatch(web["message"])
    assert web["status"] == "running" and node
    swarm = api.status()["swarm"]
    assert [n["hostname"] for n in swarm["nodes"]] == ["swn1", "swn2", "swn3"]
    assert swarm["nodesDown"] == []
    assert swarm["services"]["api/default/web"] == {
        "running": 1, "desired": 1, "nodes": [node.group(1)], "message": None
    }  # fmt: skip
    assert 'syncd_swarm_nodes{state="ready"} 3.0' in metrics
    assert 'syncd_service_replicas_running{service="api/default/web"} 1.0' in metrics
