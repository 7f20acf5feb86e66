"""The Swarm engine on the shared three-node cluster: services converge, a second sync writes
nothing, updates roll (and roll back), configs and secrets follow their content, removals keep
volumes, and a deploy that does not converge fails with stage `apply`."""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest

from syncd.daemon.history import services_failure
from syncd.engine.base import LABEL_INSTANCE
from syncd.engine.client import API_VERSION
from syncd.errors import Stage
from tests.daemon_support import wait_for
from tests.swarm_support import NODES, SwarmDeployment
from tests.swarmnodes import Swarm

pytestmark = [pytest.mark.docker, pytest.mark.swarm]


@pytest.fixture
def deployed(swarm: Swarm, tmp_path: Path) -> Iterator[SwarmDeployment]:
    """A syncd instance of its own on the test swarm; all it made is removed after."""
    deployment = SwarmDeployment(tmp_path, swarm.docker_host)
    try:
        yield deployment
    finally:
        deployment.cleanup()


WEB = """\
    name: swt
    services:
      web:
        image: busybox:1.36
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
        environment: {COLOR: blue}
        deploy:
          replicas: 2
          update_config: {order: start-first}
          placement: {max_replicas_per_node: 1}
          endpoint_mode: dnsrr
        configs:
          - source: app_conf
            target: /etc/app.conf
        secrets:
          - source: token
            target: /run/secrets/token
        volumes: ["data:/data"]
    configs:
      app_conf: {file: ./app.conf}
    secrets:
      token: {file: ./token.txt}
    volumes:
      data: {}
"""


def _web(deployed: SwarmDeployment) -> None:
    deployed.write("swt/compose.yaml", WEB)
    deployed.write("swt/app.conf", "color=blue\n")
    deployed.write("swt/token.txt", "s3cret\n")


def test_a_compose_stack_converges_and_a_second_sync_writes_nothing(
    deployed: SwarmDeployment,
) -> None:
    _web(deployed)
    first = deployed.sync()
    assert first.ok, [(r.key, r.detail) for r in first.services] + list(first.errors)
    web = deployed.service("web")
    tasks = _running(deployed, web["ID"])
    assert len(tasks) == 2 and len({t["NodeID"] for t in tasks}) == 2  # one per node
    assert web["Spec"]["TaskTemplate"]["Placement"]["MaxReplicas"] == 1
    assert len(deployed.configs()) == 1 and len(deployed.secrets()) == 1
    version = web["Version"]["Index"]

    second = deployed.sync()
    assert second.ok and deployed.writes == 0, deployed.requests
    assert deployed.service("web")["Version"]["Index"] == version


def _running(deployed: SwarmDeployment, service_id: str) -> list[dict[str, Any]]:
    return [t for t in deployed.tasks(service_id) if t["Status"]["State"] == "running"]


def _spec_files(service: dict[str, Any]) -> set[str]:
    container = service["Spec"]["TaskTemplate"]["ContainerSpec"]
    configs = {c["ConfigName"] for c in container.get("Configs") or []}
    return configs | {s["SecretName"] for s in container.get("Secrets") or []}


def test_a_config_file_change_rolls_the_service_and_removal_keeps_volumes(
    deployed: SwarmDeployment,
) -> None:
    _web(deployed)
    assert deployed.sync().ok
    web = deployed.service("web")
    before = {t["ID"] for t in _running(deployed, web["ID"])}
    old_files = _spec_files(web)

    deployed.write("swt/app.conf", "color=green\n")
    changed = deployed.sync("r2")
    assert changed.ok, [(r.key, r.detail) for r in changed.services]
    web = deployed.service("web")
    new_files = _spec_files(web)
    assert len(new_files - old_files) == 1  # the config's new content has a new name
    after = {t["ID"] for t in _running(deployed, web["ID"])}
    assert len(after) == 2 and not before & after  # every task replaced

    deployed.write("swt/compose.yaml", WEB.replace("  web:", "  other:"))
    removed = deployed.sync("r3")
    assert removed.ok, [(r.key, r.detail) for r in removed.services]
    names = set(deployed.services())
    assert not any(n.endswith("_web") for n in names)
    left = set(deployed.configs()) | set(deployed.secrets())
    assert not left & (old_files | new_files)  # the removed service's configs and secrets
    volumes = [v for node in NODES for v in _volumes(node, deployed.instance)]
    assert any(v.endswith("_data") for v in volumes)  # kept on the nodes that ran it


def _volumes(node: str, instance: str) -> list[str]:
    client = docker.APIClient(base_url=node, version=API_VERSION)
    try:
        found = client.volumes(filters={"label": [f"{LABEL_INSTANCE}={instance}"]})
        return [v["Name"] for v in found.get("Volumes") or []]
    finally:
        client.close()


def test_a_failing_update_rolls_back_and_the_sync_reports_it(deployed: SwarmDeployment) -> None:
    _web(deployed)
    assert deployed.sync().ok
    good = deployed.service("web")["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"]
    deployed.write("swt/compose.yaml", WEB.replace('"trap', '"exit 3; trap'))
    failed = deployed.sync("r2")
    assert not failed.ok
    (result,) = failed.failed
    assert result.detail.startswith("rolled back:"), result.detail
    failure = services_failure(failed, "r2")
    assert failure is not None and failure.stage is Stage.APPLY
    web = deployed.service("web")
    assert web["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"] == good
    deadline = time.monotonic() + 30  # a failed task of the new spec may still be going
    while len(_running(deployed, web["ID"])) != 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    tasks = _running(deployed, web["ID"])
    assert [t["Spec"]["ContainerSpec"]["Args"] for t in tasks] == [good, good]


def test_a_deploy_that_does_not_converge_fails_with_stage_apply(
    swarm: Swarm, tmp_path: Path
) -> None:
    deployed = SwarmDeployment(tmp_path, swarm.docker_host, deploy_timeout=3)
    try:
        deployed.write("swt/compose.yaml", WEB.replace("busybox:1.36", "127.0.0.1:9/none:1"))
        deployed.write("swt/app.conf", "x\n")
        deployed.write("swt/token.txt", "y\n")
        started = time.monotonic()
        result = deployed.sync()
        assert time.monotonic() - started < 30
        assert not result.ok
        (failed,) = result.failed
        assert "deploy timeout (3 s)" in failed.detail, failed.detail
        failure = services_failure(result, "r1")
        assert failure is not None and failure.stage is Stage.APPLY
        retried = deployed.sync()  # the retry waits again, writes nothing, fails the same way
        assert not retried.ok and "deploy timeout" in retried.failed[0].detail
        assert deployed.writes == 0, deployed.requests
    finally:
        deployed.cleanup()


ROLLING = """\
    kind: Stack
    project: swr
    services:
      web:
        image: busybox:1.36
        init: true
        command:
          - sh
          - -c
          # drains: serves 3 s more after SIGTERM, while the other nodes' DNS forgets the task
          - >-
            mkdir -p /www && env > /www/index.html && httpd -f -p 8080 -h /www &
            trap 'sleep 3; kill $!; exit 0' TERM; wait
        environment: {COLOR: blue}
        # a task joins the service's DNS once healthy (Docker activates its service binding
        # then): no address of a task that does not listen yet
        healthcheck:
          test: [CMD, sh, -c, "echo | nc -w 1 127.0.0.1 8080"]
          interval: 1s
          timeout: 1s
          retries: 30
        deploy:
          replicas: 2
          endpointMode: dnsrr
          updateConfig: {order: start-first, monitor: 2s}
          placement: {constraints: ["node.role == worker"]}
      probe:
        image: busybox:1.36
        init: true
        command:
          - sh
          - -c
          - >-
            while true; do
            if printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 web 8080 | grep -q COLOR;
            then echo ok; else echo FAIL; fi; sleep 0.2; done
        deploy:
          endpointMode: dnsrr
"""


def _moment(text: str) -> float:
    head, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp() + float(
        f"0.{fraction or 0}"
    )


def _probe_logs(deployed: SwarmDeployment, since: float, until: float) -> str:
    probe = deployed.service("probe")
    (task,) = _running(deployed, probe["ID"])
    hostname = deployed.admin.inspect_node(task["NodeID"])["Description"]["Hostname"]
    node = docker.APIClient(base_url=f"unix:///run/{hostname}/docker.sock", version=API_VERSION)
    try:
        container = task["Status"]["ContainerStatus"]["ContainerID"]
        raw = node.logs(container, since=int(since), until=int(until) + 1)
        return bytes(raw).decode()
    finally:
        node.close()


def test_an_env_change_rolls_one_task_at_a_time_and_the_service_answers_throughout(
    deployed: SwarmDeployment,
) -> None:
    deployed.write("swr.yaml", ROLLING)
    first = deployed.sync()
    assert first.ok, [(r.key, r.detail) for r in first.services]
    web = deployed.service("web")
    assert web["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"
    old = {t["ID"] for t in _running(deployed, web["ID"])}
    nodes = {t["NodeID"] for t in _running(deployed, web["ID"])}
    assert len(nodes) == 2  # spread over nodes, by the placement on the two workers only
    assert {deployed.admin.inspect_node(n)["Spec"]["Role"] for n in nodes} == {"worker"}

    def answering() -> bool:  # both tasks known to the probe's DNS (gossip may take a while)
        now = time.time()
        recent = _probe_logs(deployed, now - 3, now)
        return recent.count("ok") >= 5 and "FAIL" not in recent

    wait_for(answering, 60, "the probe answered by web before the update starts")

    deployed.write("swr.yaml", ROLLING.replace("COLOR: blue", "COLOR: green"))
    since = time.time()
    rolled = deployed.sync("r2")
    until = time.time()
    assert rolled.ok, [(r.key, r.detail) for r in rolled.services]
    new = [t for t in _running(deployed, web["ID"]) if t["ID"] not in old]
    assert len(new) == 2
    new.sort(key=lambda t: _moment(t["CreatedAt"]))
    # one at a time: the second new task was made once the first one ran
    assert _moment(new[1]["CreatedAt"]) >= _moment(new[0]["Status"]["Timestamp"]) - 0.01
    logs = _probe_logs(deployed, since, until)
    assert logs.count("ok") >= 5 and "FAIL" not in logs, logs


SAMPLE = Path(__file__).parent.parent / "sample-repo"


def test_the_sample_repo_converges_on_swarm(deployed: SwarmDeployment) -> None:
    """The nodes reach no registry on 127.0.0.1:5555: the jobs run the busybox image every node
    has loaded (and the registry document goes, its password being the operator's)."""
    shutil.copytree(SAMPLE, deployed.repo, dirs_exist_ok=True)
    (deployed.repo / "shop" / "registry.yaml").unlink()
    for path in deployed.repo.rglob("*.yaml"):  # ports are deployed-wide: others' tests use these
        text = path.read_text().replace("127.0.0.1:5555/private/busybox:1.36", "busybox:1.36")
        for port in ("18080", "18081"):
            text = text.replace(f'"{port}:', f'"{random.randrange(20000, 30000)}:')
        path.write_text(text)
    first = deployed.sync()
    assert first.ok, [(str(r.key), r.detail) for r in first.failed] + list(first.errors)
    services = deployed.services()
    assert len(services) == 4
    for service in services.values():
        assert len(_running(deployed, service["ID"])) == 1, service["Spec"]["Name"]

    second = deployed.sync()
    assert second.ok and not second.plan.changed
    assert deployed.writes == 0, deployed.requests


def test_a_change_by_hand_is_drift_and_the_next_sync_puts_the_declared_spec_back(
    deployed: SwarmDeployment,
) -> None:
    deployed.write("swr.yaml", ROLLING)
    assert deployed.sync().ok
    web = deployed.service("web")
    spec = web["Spec"]
    declared = list(spec["TaskTemplate"]["ContainerSpec"]["Env"])
    spec["TaskTemplate"]["ContainerSpec"]["Env"] = [*declared, "BY_HAND=1"]
    deployed.admin.update_service(  # `docker service update --env-add BY_HAND=1`
        web["ID"], web["Version"]["Index"], task_template=spec["TaskTemplate"],
        name=spec["Name"], labels=spec["Labels"], mode=spec["Mode"],
        update_config=spec["UpdateConfig"], rollback_config=spec["RollbackConfig"],
        endpoint_spec=spec["EndpointSpec"], networks=spec["TaskTemplate"]["Networks"],
    )  # fmt: skip
    plan = deployed.sync("r1")
    assert plan.ok and [c.key.name for s in plan.plan.stacks for c in s.services
                        if c.action.value != "none"] == ["web"]  # fmt: skip
    env = deployed.service("web")["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert env == declared
    assert deployed.sync("r1").ok and deployed.writes == 0, deployed.requests
