"""Swarm's fields read from a Compose file and from a native `Stack`, and the engine-aware check
(`manifests.enginecheck`): on engine docker the Swarm-only fields are warnings at their own
file:line:column, on engine swarm the single-host-only fields are errors at theirs. Pure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncd.cli.main import main
from syncd.core.plan import Action
from syncd.engine.base import LABEL_HASH
from syncd.manifests import ManifestFile, ManifestSet, read_manifests
from syncd.problems import Problem, Severity
from syncd.render import PlanFormat, render
from syncd.settings import EngineKind
from tests.engine_support import Deployment
from tests.planning import plan_texts

COMPOSE = """\
services:
  web:
    image: busybox:1.36
    ports:
      - target: 80
        published: 8080
        mode: ingress
      - target: 81
        published: 8081
        mode: host
    deploy:
      mode: replicated
      replicas: 2
      placement:
        constraints: ["node.role==worker", "node.labels.zone == a"]
        preferences:
          - spread: node.labels.zone
        max_replicas_per_node: 1
      update_config:
        parallelism: 1
        delay: 10s
        order: start-first
        failure_action: rollback
      rollback_config:
        parallelism: 0
      restart_policy:
        condition: on-failure
        max_attempts: 3
        delay: 2s
        window: 1m
      endpoint_mode: vip
      resources:
        reservations:
          cpus: "0.25"
          memory: 16m
"""

# (line, column, words) of each warning on engine docker
DOCKER_WARNINGS = [
    (7, 9, "port 8080:80/tcp mode ingress is Swarm's routing mesh"),
    (14, 7, "deploy.placement is for Swarm"),
    (20, 9, "deploy.updateConfig.parallelism is for Swarm"),
    (21, 9, "deploy.updateConfig.delay is for Swarm"),
    (22, 9, "start-first needs the old and the new container at once"),
    (23, 9, "deploy.updateConfig.failureAction is for Swarm"),
    (24, 7, "deploy.rollbackConfig is for Swarm"),
    (29, 9, "deploy.restartPolicy.delay is for Swarm"),
    (30, 9, "deploy.restartPolicy.window is for Swarm"),
    (31, 7, "deploy.endpointMode is for Swarm"),
    (34, 11, "deploy.resources.reservations.cpus is for Swarm"),
]


def _read(path: str, text: str, engine: EngineKind) -> ManifestSet:
    return read_manifests([ManifestFile(path, text.encode())], {}, engine=engine)


def _at(problems: list[Problem]) -> list[tuple[int, int, str]]:
    return [(p.position.line, p.position.column, p.message) for p in problems]


def _matches(problems: list[Problem], wanted: list[tuple[int, int, str]]) -> None:
    found = _at(problems)
    assert len(found) == len(wanted), found
    for (line, column, message), (w_line, w_column, words) in zip(
        sorted(found), sorted(wanted), strict=True
    ):
        assert (line, column) == (w_line, w_column) and words in message, (found, wanted)


def test_compose_swarm_fields_are_read_into_the_model() -> None:
    result = _read("app/compose.yaml", COMPOSE, EngineKind.SWARM)
    assert result.problems == []
    deploy = result.stacks[0].manifest.services["web"].deploy
    assert deploy is not None and deploy.placement is not None
    body = deploy.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert body == {
        "mode": "replicated",
        "replicas": 2,
        "placement": {
            "constraints": ["node.role==worker", "node.labels.zone == a"],
            "preferences": [{"spread": "node.labels.zone"}],
            "maxReplicasPerNode": 1,
        },
        "updateConfig": {
            "parallelism": 1,
            "delay": "10s",
            "order": "start-first",
            "failureAction": "rollback",
        },
        "rollbackConfig": {"parallelism": 0},
        "restartPolicy": {
            "condition": "on-failure",
            "maxAttempts": 3,
            "delay": "2s",
            "window": "1m",
        },
        "endpointMode": "vip",
        "resources": {"reservations": {"cpus": "0.25"}},
        "portModes": {"8080:80/tcp": "ingress", "8081:81/tcp": "host"},
    }


def test_compose_swarm_fields_warn_at_their_lines_on_docker() -> None:
    result = _read("app/compose.yaml", COMPOSE, EngineKind.DOCKER)
    # replicas 2 of fixed host ports: one host has each port once
    _matches(result.errors, [(13, 7, "2 replicas cannot all publish host port '8080:80/tcp'")])
    _matches(result.warnings, DOCKER_WARNINGS)
    assert all(p.path == "app/compose.yaml" for p in result.problems)


NATIVE = """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    ports: ["8080:80/tcp"]
    deploy:
      mode: global
      placement:
        constraints: ["node.role == manager"]
      updateConfig: {monitor: 3s, maxFailureRatio: 0.5}
      endpointMode: dnsrr
      portModes: {"8080:80/tcp": host}
"""


def test_native_swarm_fields_warn_at_their_lines_on_docker() -> None:
    result = _read("stacks/shop.yaml", NATIVE, EngineKind.DOCKER)
    assert result.errors == []
    _matches(
        result.warnings,
        [
            (8, 7, "deploy.mode global is for Swarm"),
            (9, 7, "deploy.placement is for Swarm"),
            (11, 22, "deploy.updateConfig.monitor is for Swarm"),
            (11, 35, "deploy.updateConfig.maxFailureRatio is for Swarm"),
            (12, 7, "deploy.endpointMode is for Swarm"),
        ],
    )
    assert _read("stacks/shop.yaml", NATIVE, EngineKind.SWARM).problems == []


SINGLE_HOST_COMPOSE = """\
services:
  db:
    image: busybox:1.36
    privileged: true
    devices: ["/dev/fuse:/dev/fuse"]
    pid: host
    network_mode: host
    ports: ["5432:5432"]
    deploy:
      endpoint_mode: dnsrr
  app:
    image: busybox:1.36
    container_name: app
    links: [db]
    networks:
      back:
        ipv4_address: 10.9.0.5
networks:
  back:
    ipam:
      config:
        - subnet: 10.9.0.0/24
"""

POLICY = {"privileged": True, "devices": True, "hostNamespaces": True}


def test_single_host_fields_are_errors_at_their_lines_on_swarm() -> None:
    from syncd.policy import Policy

    policy = Policy.model_validate({"default": POLICY})
    files = [ManifestFile("db/compose.yaml", SINGLE_HOST_COMPOSE.encode())]
    docker = read_manifests(files, {}, policy=policy)
    swarm = read_manifests(files, {}, policy=policy, engine=EngineKind.SWARM)
    assert docker.errors == [], docker.errors
    new = [p for p in swarm.errors if p not in docker.problems]
    _matches(
        new,
        [
            (4, 5, "privileged: a Swarm service cannot run privileged"),
            (5, 5, "devices: a Swarm service cannot map host devices"),
            (6, 5, "pid: a Swarm service cannot share a PID namespace"),
            (7, 5, "networkMode: a Swarm service joins networks"),
            (8, 13, "port 5432:5432/tcp is published in ingress mode"),
            (14, 5, "links: a Swarm service has no links"),
            (16, 7, "ipv4Address: Swarm gives each task its address"),  # at its network
            (19, 3, "joins every service to the project's overlay network only"),
        ],
    )


def test_replicas_on_one_fixed_port_are_fine_on_swarm() -> None:
    text = COMPOSE.replace("endpoint_mode: vip", "endpoint_mode: dnsrr").replace(
        "mode: ingress", "mode: host"
    )
    assert _read("app/compose.yaml", text, EngineKind.SWARM).problems == []


def test_bad_compose_swarm_values_are_errors_at_their_lines() -> None:
    text = """\
services:
  web:
    image: busybox:1.36
    deploy:
      mode: everywhere
      placement:
        constraints: ["node.role == manager", "zone = a"]
        max_replicas_per_node: 0
        spreads: []
      update_config:
        failure_action: retry
        delay: soon
      rollback_config: 3
      endpoint_mode: ipvs
"""
    result = _read("app/compose.yaml", text, EngineKind.SWARM)
    _matches(
        result.errors,
        [
            (5, 13, "mode is one of replicated, global"),
            (7, 47, "is not a Swarm constraint"),
            (8, 32, "greater than or equal to 1"),
            (9, 9, "unknown key 'spreads'"),
            (11, 25, "'pause', 'continue' or 'rollback'"),
            (12, 16, "is not a duration"),
            (13, 24, "rollback_config is a mapping"),
            (14, 22, "endpoint_mode is one of vip, dnsrr"),
        ],
    )
    assert all(p.severity is Severity.ERROR for p in result.problems)


def test_compose_global_with_replicas_is_an_error() -> None:
    text = "services:\n  web:\n    image: busybox:1.36\n    deploy:\n      mode: global\n"
    assert _read("app/compose.yaml", text, EngineKind.SWARM).problems == []
    bad = text + "      replicas: 2\n      placement: {max_replicas_per_node: 1}\n"
    errors = _read("app/compose.yaml", bad, EngineKind.SWARM).errors
    _matches(
        errors,
        [
            (6, 17, "replicas is for mode replicated"),
            (7, 42, "max_replicas_per_node is for mode replicated"),
        ],
    )


PLAIN = """\
name: swf
services:
  web:
    image: busybox:1.36
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    restart: on-failure:2
    deploy:
      replicas: 2
"""
TUNED = (
    PLAIN
    + """\
      placement:
        constraints: ["node.role == worker"]
        preferences: [{spread: node.labels.zone}]
      update_config: {parallelism: 2, delay: 5s, failure_action: rollback, monitor: 1s}
      rollback_config: {parallelism: 0, order: start-first}
      restart_policy: {condition: on-failure, max_attempts: 2, delay: 1s, window: 30s}
      endpoint_mode: dnsrr
      resources:
        reservations: {cpus: "0.1"}
"""
)


@pytest.mark.docker
def test_swarm_fields_do_not_recreate_a_docker_container(deployment: Deployment) -> None:
    """On engine docker, adding every Swarm-only field keeps each container and its config
    hash: the plan records the change (metadata), no container is replaced."""
    deployment.write("compose.yaml", PLAIN)
    first = deployment.sync()
    assert first.ok, [r.detail for r in first.failed]
    before = {c.id: c.labels[LABEL_HASH] for c in deployment.containers(service="web")}
    assert len(before) == 2

    deployment.write("compose.yaml", TUNED)
    second = deployment.sync()
    assert second.ok, [r.detail for r in second.failed]
    change = next(c for s in second.plan.stacks for c in s.services if c.key.name == "web")
    assert change.action not in (Action.RECREATE, Action.CREATE), change
    after = {c.id: c.labels[LABEL_HASH] for c in deployment.containers(service="web")}
    assert after == before  # the same containers, with the same config hash
    assert change.desired is not None and change.desired.spec["swarm"] is not None
    assert change.desired.hash == next(iter(before.values()))


SECRET_ZONE = "zone-hunter2"


@pytest.mark.parametrize(
    "deploy",
    [
        '{placement: {constraints: ["node.labels.zone == ${ZONE}"]}}',
        '{updateConfig: {delay: "${ZONE}"}}',
    ],
)
def test_a_swarm_value_from_the_environment_is_redacted_in_plans(deploy: str) -> None:
    old = "kind: Stack\nproject: p\nservices:\n  web:\n    image: busybox:1.36\n"
    new = old + f"    deploy: {deploy}\n"
    value = SECRET_ZONE if "placement" in deploy else "7s"
    plan, _before, after = plan_texts(old, new, {"ZONE": value})
    assert "/swarm" in after.stacks[next(iter(after.stacks))].services["web"].secrets
    for format_ in PlanFormat:
        assert value not in render(plan, format_)


def test_validate_checks_for_the_engine_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`syncd validate --engine swarm` (or SYNCD_ENGINE): what Swarm cannot run is an error; the
    default engine (docker) warns about the Swarm-only fields."""
    (tmp_path / "shop.yaml").write_text(NATIVE)
    assert main(["validate", "--repo", str(tmp_path)]) == 0
    assert "valid, 0 error(s), 5 warning(s)" in capsys.readouterr().out
    assert main(["validate", "--repo", str(tmp_path), "--engine", "swarm"]) == 0
    assert "valid, 0 error(s), 0 warning(s)" in capsys.readouterr().out
    (tmp_path / "shop.yaml").write_text(NATIVE + "    macAddress: 02:42:ac:11:00:02\n")
    monkeypatch.setenv("SYNCD_ENGINE", "swarm")
    assert main(["validate", "--repo", str(tmp_path), "--format", "json"]) == 1
    [problem] = json.loads(capsys.readouterr().out)["problems"]
    assert (problem["line"], problem["column"], problem["pointer"]) == (
        14,
        5,
        "/services/web/macAddress",
    )


def test_native_start_first_on_a_fixed_port_warns_on_docker_only() -> None:
    text = (
        "kind: Stack\nproject: p\nservices:\n  web:\n    image: busybox:1.36\n"
        '    ports: ["8080:80/tcp"]\n    update: start-first\n'
    )
    docker = _read("p.yaml", text, EngineKind.DOCKER)
    _matches(docker.warnings, [(7, 5, "replaced stop-first, with downtime")])
    assert docker.errors == []
    assert _read("p.yaml", text, EngineKind.SWARM).problems == []
