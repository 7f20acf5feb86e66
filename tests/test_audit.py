"""Issue 10 audit: holes an attacker with push access found after the hardening, one test each.

Project-files mounts: Docker mounts a bind source again at every start of a container and follows
the symlinks it finds then. A container that can write the folder *around* another service's
project-files folder can replace that folder by `ln -s / folder`; the other container's next
start (a crash under `restartPolicy: on-failure`, a restart task, a Docker restart) mounts the
host's root. So a project-files mount inside another service's writable one is refused, in the
resolved state (after overlays, and with the fields an `update` stack keeps).

Container logs: the read token may read a service's logs, and a container may print its own
environment (a config dump, a crash report); the `/v2` logs route hides every secret value the
daemon knows, as its own log does.

Anonymous pulls: docker-py fills in a pull without `auth_config` from the Docker config of
syncd's user (`~/.docker/config.json`, `docker login`): the read token (an image config), or a
pusher (an image of a host without a `Registry`), would make syncd send the host's credentials.
An anonymous pull sends none.

Env files: python-dotenv expands `${NAME}` in an env file from syncd's own environment, so a line
`X=${SYNCD_ADMIN_TOKEN}` (or `${HOME}`) handed the variable to manifests around `--allow-env`.
Env file values are taken literally.

Container logs are bounded in bytes too: a container chooses how long its lines are, and the
10,000 lines of the logs route may hold gigabytes; the answer is at most the last 4 MiB.

Repository URLs: a token holding a raw `@` (`https://ci:p@ss@host/x`) kept its tail in every
message; the whole user information, up to the authority's last `@`, is redacted."""

from __future__ import annotations

import base64
import html
import json
import secrets
from pathlib import Path

import docker
import pytest

import syncd.engine.docker
from syncd.core.desired import DesiredState, resolve
from syncd.core.plan import as_live
from syncd.daemon.tasks import named_lines
from syncd.engine.docker import DockerEngine
from syncd.errors import EngineError, ManifestError
from syncd.manifests import ManifestFile, read_manifests
from syncd.operatorenv import variables
from syncd.problems import Problem
from syncd.taint import redact_url
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.registry_support import recording_registry

STACK = "kind: Stack\nproject: {project}\nname: {name}\nservices:\n{services}"


def _stack(services: str, project: str = "esc", name: str = "default") -> str:
    return STACK.format(project=project, name=name, services=services)


def _resolve(text: str, base: DesiredState | None = None) -> DesiredState:
    manifests = read_manifests([ManifestFile("s.yaml", text.encode())], {"SUB": "/b"})
    assert not manifests.errors, manifests.errors
    if base is None:
        return resolve(manifests, "rev")
    live = as_live(base)
    return resolve(manifests, "rev", live.last_applied(), live.last_secrets())


def _refused(text: str, base: DesiredState | None = None) -> list[Problem]:
    with pytest.raises(ManifestError) as raised:
        _resolve(text, base)
    return raised.value.problems


WRITER = "  w: {image: busybox:1.36, restartPolicy: on-failure, volumes: ['/:/w']}\n"


@pytest.mark.parametrize(
    "text",
    [
        _stack(WRITER + "  v: {image: busybox:1.36, volumes: ['/b:/host']}\n"),
        _stack(WRITER + "  v: {image: busybox:1.36, volumes: ['//b/./c/:/host:ro']}\n"),
        _stack("  w: {image: busybox:1.36, volumes: ['/a:/w', '/a/b:/host']}\n"),
        _stack(WRITER + "  v: {image: busybox:1.36, volumes: ['${SUB}:/host']}\n"),
        # across the stacks of one project
        _stack(WRITER)
        + "---\n"
        + _stack("  v: {image: busybox:1.36, volumes: ['/b:/h']}\n", name="two"),
        # through a StackPatch
        _stack(WRITER + "  v: {image: busybox:1.36}\n")
        + "---\nkind: StackPatch\nproject: esc\npatch:\n"
        + "  - {op: add, path: /services/v/volumes, value: ['/b:/host']}\n",
    ],
)
def test_a_project_files_mount_inside_a_writable_one_is_refused(text: str) -> None:
    problems = _refused(text)
    assert any(
        "inside the writable project-files mount of esc/default/w" in p.message
        and p.pointer.endswith("/volumes")
        for p in problems
    ), problems
    assert all("/b" not in p.message for p in problems)  # a path may come from the environment


def test_an_update_stack_cannot_nest_a_mount_in_one_it_keeps() -> None:
    base = _resolve(_stack(WRITER))
    update = _stack(
        "  w: {description: kept mounts}\n  v: {image: busybox:1.36, volumes: ['/b:/h']}\n"
    ).replace("services:", "strategy: update\nservices:")
    [problem] = _refused(update, base)
    assert "esc/default/v mounts a project-files folder inside" in problem.message


@pytest.mark.parametrize(
    "text",
    [
        _stack(  # the outer mount is read-only: its container cannot replace anything
            "  w: {image: busybox:1.36, volumes: ['/:/w:ro']}\n"
            "  v: {image: busybox:1.36, volumes: ['/b:/host']}\n"
        ),
        _stack(  # one folder, mounted twice: neither container can replace it
            "  w: {image: busybox:1.36, volumes: ['/b:/w']}\n"
            "  v: {image: busybox:1.36, volumes: ['/b:/host', '/bc:/x']}\n"
        ),
        _stack(WRITER)
        + "---\n"
        + _stack("  v: {image: busybox:1.36, volumes: ['/b:/h']}\n", "other"),
    ],
)
def test_side_by_side_or_read_only_outer_mounts_are_fine(text: str) -> None:
    assert _resolve(text).stacks


@pytest.mark.docker
def test_the_logs_routes_hide_a_secret_the_container_prints(deployment: Deployment) -> None:
    secret = f"printed{secrets.token_hex(6)}"
    repo = GitRepo(deployment.repo)
    repo.write(
        "logs.yaml",
        "kind: Stack\nproject: logs\nservices:\n  app:\n    image: busybox:1.36\n"
        '    command: [sh, -c, \'echo "config: password=$PW; upper=$(echo $PW | tr a-z A-Z)"; '
        'trap "exit 0" TERM; sleep 3600 & wait\']\n'
        "    environment: {PW: '${LOGS_PW}'}\n",
    )
    repo.commit("a service that prints its password")
    env = {"LOGS_PW": secret, "SYNCD_ALLOW_ENV": "LOGS_PW"}
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance, env=env
    )
    try:
        text = daemon.started().logs(daemon.only_service("logs"), "upper=")
        page = daemon.http.get("/logs/logs/default/app").text  # the status page's logs
    finally:
        daemon.close()
    for shown in (text, html.unescape(page)):
        assert "config: password=<redacted>; upper=<redacted>" in shown, shown
        assert secret.lower() not in shown.lower()


@pytest.mark.docker
def test_the_logs_route_reads_every_replica_each_line_named(deployment: Deployment) -> None:
    repo = GitRepo(deployment.repo)
    repo.write(
        "replicas.yaml",
        "kind: Stack\nproject: many\nservices:\n  app:\n    image: busybox:1.36\n"
        "    deploy: {replicas: 2}\n"
        "    command: [sh, -c, 'echo up; trap \"exit 0\" TERM; sleep 3600 & wait']\n",
    )
    repo.commit("a service with two replicas")
    daemon = RunningDaemon(str(repo.path), deployment.settings.data_dir, deployment.instance)
    try:
        text = daemon.started().logs(daemon.only_service("many"), "app.2 | up")
    finally:
        daemon.close()
    assert text.splitlines() == ["app | up", "app.2 | up"], text


@pytest.mark.docker
def test_an_anonymous_pull_sends_no_credentials_from_the_hosts_docker_config(
    docker_client: docker.DockerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    del docker_client  # only for the skip/fail when Docker is missing
    with recording_registry() as (host, seen):
        config = tmp_path / "docker-config"
        config.mkdir()
        login = base64.b64encode(b"host-user:host-password").decode()
        (config / "config.json").write_text(json.dumps({"auths": {host: {"auth": login}}}))
        monkeypatch.setenv("DOCKER_CONFIG", str(config))  # as `docker login` leaves it
        engine = DockerEngine("anonymous-test")
        try:
            with pytest.raises(EngineError):
                engine.pull(f"{host}/private/app:1")
        finally:
            engine.close()
        assert seen.requests, "the pull reached the registry"
        assert seen.authorizations == []


def test_an_env_file_value_never_takes_a_variable_of_syncds_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "operator.env"
    env_file.write_text("A=${SYNCD_ADMIN_TOKEN}\nB=x${HOME}y\nC=$$plain\n")
    process = {"SYNCD_ADMIN_TOKEN": "admin-token-value", "HOME": "/home/syncd"}
    for name, value in process.items():
        monkeypatch.setenv(name, value)
    found = variables([str(env_file)], [], process)
    assert found == {"A": "${SYNCD_ADMIN_TOKEN}", "B": "x${HOME}y", "C": "$$plain"}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "fetch https://ci:p@ss@git.example/x.git failed",
            "fetch https://<redacted>@git.example/x.git failed",
        ),
        ("https://tok@en:x@h/a and ssh://u@h/b", "https://<redacted>@h/a and ssh://<redacted>@h/b"),
        ("https://git.example/a@b and x@y", "https://git.example/a@b and x@y"),
    ],
)
def test_a_repository_url_loses_all_of_its_user_information(text: str, shown: str) -> None:
    assert redact_url(text) == shown


@pytest.mark.docker
def test_the_logs_of_a_container_with_long_lines_are_bounded_in_bytes(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a 64 KiB bound (4 MiB in use: the same code), 300 lines of 1,000 characters ask for
    more than an answer holds; it keeps the last whole lines."""
    monkeypatch.setattr(syncd.engine.docker, "MAX_LOG_BYTES", 64 * 1024)
    deployment.write(
        "s.yaml",
        "kind: Stack\nproject: flood\nservices:\n  talker:\n    image: busybox:1.36\n"
        '    command: [sh, -c, \'yes $(head -c 1000 /dev/zero | tr "\\\\0" a) | head -n 300; '
        "echo last line; exec sleep 3600']\n",
    )
    assert deployment.sync().ok
    container = deployment.container("talker")
    text = wait_for(
        lambda: (
            (t := deployment.engine.logs(container.id, tail=10_000)).endswith("last line\n") and t
        ),
        60,
        "the container's output",
    )
    assert len(text.encode()) <= 64 * 1024
    lines = text.splitlines()
    assert lines[-1] == "last line" and set(lines[:-1]) == {"a" * 1000}  # whole lines only
    assert len(lines) > 50


def test_a_replicas_share_of_the_logs_keeps_whole_lines_only() -> None:
    text = "first line\nsecond\nthird\n"
    assert named_lines("web.2", text, 100) == [
        "web.2 | first line",
        "web.2 | second",
        "web.2 | third",
    ]
    assert named_lines("web.2", text, 10) == ["web.2 | third"]  # "second\nthird\n" cut: whole only
    assert named_lines("web", "", 10) == []
