"""Who may make syncd do what over the API: every route of the app against no token, the read
token and the admin token, as the README's API table documents it; and a registry's
credentials never go to a host an API client names."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import docker
import docker.errors
import httpx
import pytest
from starlette.routing import Route

from syncd.api.app import create_app
from syncd.ids import RegistryKey
from tests.conformance import Conformance, reference
from tests.conftest import TestRegistry
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.registry_support import recording_registry
from tests.test_api import project_id, serving

pytestmark = pytest.mark.docker

READ = "read-token-7"
ADMIN = "admin-token-7"
OPEN = (200, 200, 200)
READS = (401, 200, 200)
ADMIN_ONLY = (401, 401, 200)
TEAM = RegistryKey("api", "team").id  # tests/test_api.py's registry, at 127.0.0.1:5555


@pytest.fixture
def guarded(deployment: Deployment) -> Iterator[RunningDaemon]:
    with serving(deployment, SYNCD_ADMIN_TOKEN=ADMIN, SYNCD_READ_TOKEN=READ) as daemon:
        daemon.http.headers.pop("Authorization")  # each request says which token it carries
        wait_for(
            lambda: (
                len(as_admin(daemon, "GET", f"/v2/projects/{project_id()}/services").json()) == 3
            ),
            10,
            "the view",
        )
        yield daemon


def as_token(daemon: RunningDaemon, token: str | None, method: str, url: str, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if url == "/events":  # an endless stream: its status, then hang up
        with daemon.http.stream(method, url, headers=headers) as answer:
            return answer
    return daemon.http.request(method, url, headers=headers, **kw)


def as_admin(daemon: RunningDaemon, method: str, url: str, **kw: Any) -> httpx.Response:
    answer: httpx.Response = as_token(daemon, ADMIN, method, url, **kw)
    return answer


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, read from the app itself."""
    stand_in = SimpleNamespace(  # the app's wiring, read only when a request comes
        config=SimpleNamespace(read_token=READ, admin_token=ADMIN),
        state=None,
        tasks=None,
        view=None,
    )
    app = create_app(cast(Any, stand_in))
    found = set()
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        included = getattr(route, "original_router", None)  # FastAPI >= 0.16x keeps routers
        if included is not None:
            pending.extend(included.routes)
        elif isinstance(route, Route):
            found |= {(method, route.path) for method in route.methods or ()}
        else:
            raise AssertionError(f"an unknown kind of route: {route!r}")
    return found


def test_every_route_answers_each_token_as_documented(
    guarded: RunningDaemon, test_registry: TestRegistry
) -> None:
    pid = project_id()
    services = as_admin(guarded, "GET", f"/v2/projects/{pid}/services").json()
    web = next(s for s in services if s["serviceName"] == "web")
    stack, team = web["stackId"], TEAM
    credentialed = (
        f"/v2/container-image-config?imageReference={test_registry.image}"
        f"&useCredentialsForRegistryId={team}"
    )
    by_project = (
        f"/v2/container-image-config?imageReference={test_registry.image}"
        f"&useCredentialsForProjectId={pid}"
    )
    # (method, route path) -> [(concrete url, (no token, read token, admin token))]
    table: dict[tuple[str, str], list[tuple[str, tuple[int, int, int]]]] = {
        ("GET", "/healthz"): [("/healthz", OPEN)],
        ("POST", "/hooks/git"): [("/hooks/git", (401, 401, 401))],  # HMAC, never a token
        ("GET", "/metrics"): [("/metrics", READS)],
        ("GET", "/v2/openapi.json"): [("/v2/openapi.json", READS)],
        ("HEAD", "/v2/openapi.json"): [("/v2/openapi.json", READS)],
        ("GET", "/v2/syncd/daemon/status"): [("/v2/syncd/daemon/status", READS)],
        ("GET", "/v2/syncd/syncs"): [("/v2/syncd/syncs", READS)],
        ("GET", "/v2/syncd/services"): [("/v2/syncd/services", READS)],
        # the body names no revision: 400 once the token is accepted (tests/test_liveplan_api.py)
        ("POST", "/v2/syncd/plans"): [("/v2/syncd/plans", (401, 400, 400))],
        # admin only; the shared body is not a pause request: 400 once the token is accepted
        ("POST", "/v2/syncd/pause"): [("/v2/syncd/pause", (401, 401, 400))],
        ("POST", "/v2/syncd/resume"): [("/v2/syncd/resume", (401, 401, 400))],
        ("GET", "/v2/syncd/stacks/{stackId}/services/{serviceId}"): [
            (f"/v2/syncd/stacks/{stack}/services/web", READS)
        ],
        ("GET", "/v2/projects"): [("/v2/projects", READS)],
        ("GET", "/v2/projects/{projectId}"): [(f"/v2/projects/{pid}", READS)],
        ("GET", "/v2/projects/{projectId}/stacks"): [(f"/v2/projects/{pid}/stacks", READS)],
        ("GET", "/v2/projects/{projectId}/services"): [(f"/v2/projects/{pid}/services", READS)],
        ("GET", "/v2/projects/{projectId}/volumes"): [(f"/v2/projects/{pid}/volumes", READS)],
        ("GET", "/v2/projects/{projectId}/registries"): [(f"/v2/projects/{pid}/registries", READS)],
        ("GET", "/v2/stacks/{stackId}"): [(f"/v2/stacks/{stack}", READS)],
        ("GET", "/v2/stacks/{stackId}/services/{serviceId}"): [
            (f"/v2/stacks/{stack}/services/web", READS)
        ],
        ("GET", "/v2/stacks/{stackId}/volumes/{volumeId}"): [
            (f"/v2/stacks/{stack}/volumes/data", READS)
        ],
        ("GET", "/v2/registries/{registryId}"): [(f"/v2/registries/{team}", READS)],
        ("GET", "/v2/stacks/{stackId}/services/{serviceId}/logs"): [
            (f"/v2/stacks/{stack}/services/worker/logs?tail=1", READS)
        ],
        ("GET", "/v2/container-image-config"): [
            ("/v2/container-image-config?imageReference=busybox:1.36", READS),
            (credentialed, ADMIN_ONLY),
            (by_project, ADMIN_ONLY),
        ],
        ("POST", "/v2/actions/validate-container-registry-uri"): [
            ("/v2/actions/validate-container-registry-uri", READS)
        ],
        ("POST", "/v2/registries/{registryId}/actions/validate-credentials"): [
            (f"/v2/registries/{team}/actions/validate-credentials", ADMIN_ONLY)
        ],
        # the guard answers before the lookup: an unknown service is 404 only for the admin
        ("POST", "/v2/stacks/{stackId}/services/{serviceId}/actions/{action}"): [
            (f"/v2/stacks/{stack}/services/nope/actions/restart", (401, 401, 404))
        ],
        ("DELETE", "/v2/stacks/{stackId}/volumes/{volumeId}"): [
            (f"/v2/stacks/{stack}/volumes/nope", (401, 401, 404))
        ],
        ("PUT", "/v2/stacks/{stackId}"): [(f"/v2/stacks/{stack}", (401, 405, 405))],
        ("PATCH", "/v2/stacks/{stackId}"): [(f"/v2/stacks/{stack}", (401, 405, 405))],
        ("POST", "/v2/projects/{projectId}/registries"): [
            (f"/v2/projects/{pid}/registries", (401, 405, 405))
        ],
        ("PATCH", "/v2/registries/{registryId}"): [(f"/v2/registries/{team}", (401, 405, 405))],
        ("DELETE", "/v2/registries/{registryId}"): [(f"/v2/registries/{team}", (401, 405, 405))],
        # the status page: the same tokens (a browser signs in once for a session cookie,
        # tests/test_status_page.py); its style and script hold no data
        ("GET", "/"): [("/", (303, 200, 200))],
        ("GET", "/page/content"): [("/page/content", READS)],
        ("GET", "/events"): [("/events", READS)],
        ("GET", "/logs/{project}/{stack}/{service}"): [("/logs/api/default/web?tail=1", READS)],
        ("GET", "/static/{name}"): [("/static/page.css", OPEN), ("/static/page.js", OPEN)],
        ("GET", "/signin"): [("/signin", (200, 303, 303))],  # the form, or on to the page
        ("POST", "/signin"): [("/signin", (401, 401, 401))],  # the token is in the form only
        ("POST", "/signout"): [("/signout", (303, 303, 303))],
    }
    assert app_routes() == set(table), "a route without a documented token policy"
    body = {"registryUri": "registry.example.com"}
    for (method, _path), cases in sorted(table.items()):
        for url, expected in cases:
            got = tuple(
                as_token(guarded, token, method, url, json=body).status_code
                for token in (None, READ, ADMIN)
            )
            assert got == expected, (method, url)


def test_registry_credentials_go_to_no_other_host(
    guarded: RunningDaemon, test_registry: TestRegistry, docker_client: docker.DockerClient
) -> None:
    """`useCredentialsForRegistryId` with an image on a host the client controls: 400 naming
    both hosts, with either token, whether the image is here or not, and the attacker's
    registry sees no connection. An anonymous pull through the same route afterwards proves
    that Docker reaches it, so "no connection" cannot pass by accident."""
    mittwald = Conformance(reference())
    own = Conformance(as_admin(guarded, "GET", "/v2/openapi.json").json())
    path = "/v2/container-image-config"
    with recording_registry() as (attacker, seen):
        params = {"imageReference": f"{attacker}/x:1", "useCredentialsForRegistryId": TEAM}
        by_reader = as_token(guarded, READ, "GET", path, params=params)
        refused = as_admin(guarded, "GET", path, params=params)
        docker_client.images.get("busybox:1.36").tag(f"{attacker}/here", "1")
        try:
            here = {**params, "imageReference": f"{attacker}/here:1"}
            refused_here = as_admin(guarded, "GET", path, params=here)
        finally:
            docker_client.images.remove(f"{attacker}/here:1")
        assert seen.connections == 0 and seen.requests == [], len(seen.authorizations)
        assert by_reader.status_code == 401
        for answer in (refused, refused_here):
            assert answer.status_code == 400, answer.text
            mittwald.check(path, "get", answer)
            own.check(path, "get", answer)
            message = answer.json()["message"]
            assert attacker in message and test_registry.host in message

        anonymous = as_token(
            guarded, READ, "GET", path, params={"imageReference": f"{attacker}/x:1"}
        )
        assert anonymous.status_code == 404
        assert seen.requests and seen.authorizations == []
    assert test_registry.password not in guarded.log()


def test_credentialed_image_configs_and_credential_checks_need_the_admin_token(
    guarded: RunningDaemon, own_registry: TestRegistry, docker_client: docker.DockerClient
) -> None:
    mittwald = Conformance(reference())
    own = Conformance(as_admin(guarded, "GET", "/v2/openapi.json").json())
    path = "/v2/container-image-config"
    for choice in (
        {"useCredentialsForRegistryId": TEAM},
        {"useCredentialsForProjectId": project_id()},
    ):
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(own_registry.image)
        params = {"imageReference": own_registry.image, **choice}
        refused = as_token(guarded, READ, "GET", path, params=params)
        assert refused.status_code == 401 and "admin token" in refused.json()["message"]
        pulled = as_admin(guarded, "GET", path, params=params)
        assert pulled.status_code == 200, pulled.text
        mittwald.check(path, "get", pulled)
        own.check(path, "get", pulled)
        assert pulled.json()["digest"].startswith("sha256:")
    unknown = as_admin(
        guarded,
        "GET",
        path,
        params={"imageReference": own_registry.image, "useCredentialsForRegistryId": "nope"},
    )
    assert unknown.status_code == 404 and "nope" in unknown.json()["message"]

    check = f"/v2/registries/{TEAM}/actions/validate-credentials"
    assert as_token(guarded, READ, "POST", check).status_code == 401
    answer = as_admin(guarded, "POST", check)
    mittwald.check("/v2/registries/{registryId}/actions/validate-credentials", "post", answer)
    assert answer.json() == {"valid": True}
    assert as_token(guarded, READ, "GET", f"/v2/registries/{TEAM}").json()["credentials"] == {
        "username": "syncd-test",
        "valid": True,
    }
    # the check kept nothing: a pull without `useCredentialsFor…` is still anonymous
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(own_registry.image)
    anonymous = as_token(guarded, READ, "GET", path, params={"imageReference": own_registry.image})
    assert anonymous.status_code == 404, anonymous.text
