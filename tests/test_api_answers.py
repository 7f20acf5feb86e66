"""Every answer of a real daemon, walked whole (issue 18): moments are ISO 8601 in UTC, never
unix numbers, in every route."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from syncd.ids import ServiceKey, StackKey, VolumeKey
from syncd.timestamps import iso
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

ADMIN = "answers-admin-token"
STACK = """\
kind: Stack
project: walk
services:
  app:
    image: busybox:1.36
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment: {MY_VAR: "1", lower_case: "2"}
    volumes: ["data:/data"]
volumes:
  data: {name: data}
"""
CHANGED = """\
kind: Stack
project: walk
services:
  app:
    image: busybox:1.36
    command: [sh, -c, "sleep 3600"]
    environment: {MY_VAR: "2", new_var: "3"}
    labels: {com.example.team_name: web}
    volumes: ["data:/data"]
    dependsOn: {side_car: service_started}
  side_car:
    image: busybox:1.36
    healthcheck: {test: ["CMD", "true"], interval: 5s}
volumes:
  data: {name: data}
"""
BROKEN = "kind: Stack\nproject: walk\nservices: {app: {image: busybox:1.36, nope: 1}}\n"

Answers = dict[str, Any]  # route (as fetched) -> its JSON answer


@pytest.fixture(scope="module")
def answers(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient, busybox_image: str
) -> Iterator[Answers]:
    """One daemon taken through a sync, pauses, a failing revision and a plan; every route's
    answer along the way."""
    deployment = Deployment(tmp_path_factory.mktemp("answers"), docker_client)
    repo = GitRepo(deployment.repo)
    repo.write("s.yaml", STACK)
    first = repo.commit("first")
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance, "--drift-interval",
        "3600", env={"SYNCD_ADMIN_TOKEN": ADMIN},
    )  # fmt: skip
    try:
        yield _walk_routes(daemon.started(), repo, first)
    finally:
        daemon.close()
        deployment.cleanup()


def _walk_routes(daemon: RunningDaemon, repo: GitRepo, first: str) -> Answers:
    http, admin = daemon.http, {"Authorization": f"Bearer {ADMIN}"}
    got: Answers = {}

    def get(route: str) -> None:
        answer = http.get(route)
        assert answer.status_code == 200, (route, answer.text)
        got[route] = answer.json()

    def post(route: str, body: dict[str, Any]) -> None:
        answer = http.post(route, json=body, headers=admin)
        assert answer.status_code == 200, (route, answer.text)
        got[f"POST {route} {body}"] = answer.json()

    wait_for(lambda: daemon.status()["appliedRevision"] == first, 60, "the first revision")
    stack = StackKey("walk", "default")
    service, volume = ServiceKey("walk", "default", "app"), VolumeKey("walk", "default", "data")
    get("/healthz")
    get("/v2/syncd/daemon/status")
    post("/v2/syncd/pause", {"stacks": ["walk/default"], "reason": "freeze"})
    post("/v2/syncd/pause", {"reason": "all of it"})
    wait_for(lambda: daemon.status()["paused"], 10, "the pause")
    got["/v2/syncd/daemon/status (paused)"] = daemon.status()
    post("/v2/syncd/resume", {"all": True})
    repo.write("s.yaml", BROKEN)
    repo.commit("broken")
    wait_for(lambda: daemon.status()["lastError"], 30, "the failing revision")
    got["/v2/syncd/daemon/status (failed)"] = daemon.status()
    get("/v2/syncd/syncs")
    get("/v2/syncd/services")
    post("/v2/syncd/plans", {"revision": first})
    post("/v2/syncd/plans", {"ref": _branch(repo, "change", first, CHANGED)})
    get(f"/v2/syncd/stacks/{stack.id}/services/{service.id}")
    for route in (
        "/v2/projects",
        f"/v2/projects/{stack.project_id}",
        f"/v2/projects/{stack.project_id}/stacks",
        f"/v2/projects/{stack.project_id}/services",
        f"/v2/projects/{stack.project_id}/volumes",
        f"/v2/stacks/{stack.id}",
        f"/v2/stacks/{stack.id}/services/{service.id}",
        f"/v2/stacks/{stack.id}/volumes/{volume.id}",
    ):
        get(route)
    return got


def _branch(repo: GitRepo, name: str, parent: str, stack: str) -> str:
    """A branch `name` whose one commit on `parent` holds `stack`: the work tree is untouched."""

    def git(*args: str, stdin: str = "") -> str:
        done = subprocess.run(
            ["git", *args], cwd=repo.path, input=stdin, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    tree = git(
        "mktree", stdin=f"100644 blob {git('hash-object', '-w', '--stdin', stdin=stack)}\ts.yaml\n"
    )
    git("update-ref", f"refs/heads/{name}", git("commit-tree", tree, "-p", parent, "-m", name))
    return name


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every entry of every object, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from walk(item, f"{path}/{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from walk(item, f"{path}/{n}")


MOMENT_KEY = re.compile(r"(At|^at|^time|^timestamp|^lastSeen)$")
# a number this size is a unix time (2001-09-09 .. 2096-10-02); sizes in bytes are not moments
UNIX_TIME = (1e9, 4e9)


def _is_utc_iso(text: Any) -> bool:
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return False
    return moment.utcoffset() == dt.timedelta(0) and "T" in text


def test_every_moment_in_every_answer_is_iso_8601_in_utc(answers: Answers) -> None:
    moments = 0
    for route, answer in answers.items():
        for path, key, value in walk(answer):
            where = f"{route}: {path}/{key} = {value!r}"
            if MOMENT_KEY.search(key) and value is not None:
                assert _is_utc_iso(value), where
                moments += 1
            if isinstance(value, int | float) and not isinstance(value, bool):
                assert not (UNIX_TIME[0] <= value <= UNIX_TIME[1]) or "ytes" in key, where
    # the walk saw them: startedAt, lastSync.at, lastError.at, stacks' at, appliedCommit's
    # committedAt, pause at (instance and stack), the syncs' start and lastSeen, createdAt…
    assert moments >= 20
    failed = answers["/v2/syncd/daemon/status (failed)"]
    assert _is_utc_iso(failed["lastError"]["at"]) and _is_utc_iso(failed["startedAt"])
    assert _is_utc_iso(failed["appliedCommit"]["committedAt"])
    assert all(_is_utc_iso(row["createdAt"]) for row in answers["/v2/syncd/services"])
    paused = answers["/v2/syncd/daemon/status (paused)"]
    assert _is_utc_iso(paused["pause"]["at"])
    assert _is_utc_iso(paused["pausedStacks"]["walk/default"]["at"])


def test_moments_are_converted_from_unix_seconds_exactly() -> None:
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1795917071.25) == "2026-11-29T01:51:11.250000Z"
    assert dt.datetime.fromisoformat(iso(1795917071.25)).timestamp() == 1795917071.25


SYNCD_ROUTE = re.compile(r"^(POST )?/(healthz|v2/syncd/)")
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
# Objects whose keys are user data (names chosen in manifests or by the operator), not field
# names: their keys are shown as written. A path ends with the key holding such an object.
USER_KEYS = re.compile(
    r"/(environment|labels|sysctls|ulimits|storageOpt|dependsOn|networks|options"
    r"|stacks|pausedStacks|services|published)$"
)
# Values that are user data whole (a JSON Patch op's `value`, a change's old and new values)
USER_VALUES = re.compile(r"/(value|old|new)(/|$)")


def test_every_key_of_every_syncd_answer_is_camel_case(answers: Answers) -> None:
    checked, offenders = 0, []
    for route, answer in answers.items():
        if not SYNCD_ROUTE.match(route):
            continue  # mittwald's routes: mittwald's names
        for path, key, _value in walk(answer):
            if USER_KEYS.search(path) or USER_VALUES.search(path):
                continue
            checked += 1
            if not CAMEL.fullmatch(key):
                offenders.append(f"{route}: {path}/{key}")
    assert not offenders, "\n".join(offenders)
    assert checked > 100
