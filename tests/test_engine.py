"""`syncd apply`'s engine against the real Docker daemon: the acceptance of the engine issue."""

from __future__ import annotations

import datetime as dt
import http.client
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import docker
import pytest

from syncd.core.plan import Action
from syncd.engine.base import LABEL_HASH
from syncd.ids import ServiceKey
from syncd.manifests import read_manifests
from syncd.source.reader import read_directory
from tests.conftest import TestRegistry
from tests.daemon_support import wait_for
from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

SAMPLE = Path(__file__).parent.parent / "sample-repo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


THREE = """\
kind: Stack
project: shop
services:
  web:
    image: busybox:1.36
    command: [httpd, -f, -p, "8080", -h, /www]
    ports: ["{port}:8080/tcp"]
    volumes: ["/html:/www:ro"]
    environment: {{GREETING: "{greeting}"}}
  worker:
    image: busybox:1.36
    command: [sleep, "3600"]
    environment: {{MODE: batch}}
  db:
    image: busybox:1.36
    command: [sh, -c, "test -f /data/seed || echo seeded > /data/seed; exec sleep 3600"]
    volumes: ["data:/data"]
volumes:
  data: {{}}
"""


def test_sample_repo_applies_from_scratch_then_a_second_apply_writes_nothing(
    deployment: Deployment, test_registry: TestRegistry
) -> None:
    deployment.env["SHOP_REGISTRY_PASSWORD"] = test_registry.password
    shutil.copytree(SAMPLE, deployment.repo, dirs_exist_ok=True)
    for path in deployment.repo.rglob("*.yaml"):  # the sample's host ports may be in use
        text = path.read_text()
        for port in ("18080", "18081"):
            text = text.replace(f'"{port}:', f'"{free_port()}:')
        path.write_text(text)
    snap = read_directory(str(deployment.repo), [])
    manifests = read_manifests(snap.files, deployment.env, problems=snap.problems)
    first = deployment.reconciler.sync(manifests, None)
    assert first.ok, [(str(r.key), r.detail) for r in first.failed]
    assert first.plan.counts()["create"] == 4
    running = {c.name: c.status for c in deployment.containers()}
    assert len(running) == 4 and set(running.values()) == {"running"}, running

    deployment.requests.clear()
    second = deployment.reconciler.sync(manifests, None)
    assert second.ok and not second.plan.changed
    assert deployment.writes == 0, deployment.requests
    assert deployment.requests["GET"] == 4  # containers, volumes, networks, images: one each


def test_the_listing_costs_the_same_number_of_calls_whatever_the_stack_count(
    deployment: Deployment,
) -> None:
    deployment.write("a.yaml", "kind: Stack\nproject: p1\nservices: {}\n")
    deployment.sync()
    deployment.requests.clear()
    deployment.engine.observe()
    small = sum(deployment.requests.values())
    for n in range(2, 5):
        deployment.write(
            f"s{n}.yaml",
            f"kind: Stack\nproject: p{n}\nservices:\n  s:\n    image: busybox:1.36\n"
            "    command: [sleep, '3600']\n",
        )
    deployment.sync()
    deployment.requests.clear()
    deployment.engine.observe()
    assert small == sum(deployment.requests.values()) == 4  # one listing of each kind


def test_an_env_change_recreates_exactly_that_container(deployment: Deployment) -> None:
    port = free_port()
    deployment.write("shop.yaml", THREE.format(port=port, greeting="hello"))
    assert deployment.sync().ok
    before = deployment.ids()
    deployment.write("shop.yaml", THREE.format(port=port, greeting="bonjour"))
    result = deployment.sync()
    assert result.ok
    assert [(str(c.key), c.action) for s in result.plan.stacks for c in s.changes] == [
        ("shop/default/web", Action.RECREATE)
    ]
    after = deployment.ids()
    assert after["web"] != before["web"]
    assert {k: v for k, v in after.items() if k != "web"} == {
        k: v for k, v in before.items() if k != "web"
    }
    assert "GREETING=bonjour" in deployment.container("web").attrs["Config"]["Env"]


def test_removing_a_service_removes_its_container_and_removing_a_volume_keeps_its_data(
    deployment: Deployment, docker_client: docker.DockerClient
) -> None:
    port = free_port()
    deployment.write("shop.yaml", THREE.format(port=port, greeting="hi"))
    assert deployment.sync().ok
    code, _ = deployment.exec("db", "sh", "-c", "echo precious > /data/kept.txt")
    assert code == 0
    volume_name = f"{deployment.instance}_shop_default_data"
    without = THREE.format(port=port, greeting="hi").split("  db:")[0] + "volumes: {}\n"
    deployment.write("shop.yaml", without)
    result = deployment.sync()
    assert result.ok
    assert sorted(deployment.ids()) == ["web", "worker"]
    assert "detach" in [v.action.value for s in result.plan.stacks for v in s.volume_changes]
    assert docker_client.volumes.get(volume_name) is not None
    out = docker_client.containers.run(
        "busybox:1.36",
        ["cat", "/data/kept.txt"],
        volumes={volume_name: {"bind": "/data", "mode": "ro"}},
        remove=True,
        labels={"syncd.test": "1"},
    )
    assert out.decode().strip() == "precious"
    assert not deployment.sync().plan.changed  # a detached volume stays detached, quietly


def test_published_ports_and_project_files_work(deployment: Deployment) -> None:
    port = free_port()
    deployment.write("shop.yaml", THREE.format(port=port, greeting="hi"))
    files = deployment.settings.project_files("shop") / "html"
    assert deployment.sync().ok
    assert files.is_dir()  # created on demand, under the data dir
    (files / "index.html").write_text("served from project files\n")

    def served() -> str | None:  # the container started; httpd may not listen yet
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as got:
                return str(got.read().decode())
        except (OSError, http.client.HTTPException):
            return None

    assert wait_for(served, 20, "httpd's answer") == "served from project files\n"


def test_a_symlink_out_of_the_project_files_is_refused(deployment: Deployment) -> None:
    root = deployment.settings.project_files("shop")
    root.mkdir(parents=True)
    (root / "html").symlink_to("/etc")
    deployment.write("shop.yaml", THREE.format(port=free_port(), greeting="hi"))
    result = deployment.sync()
    failed = {str(r.key): r.detail for r in result.failed}
    assert list(failed) == ["shop/default/web"]
    assert "outside the project's file area" in failed["shop/default/web"]
    assert sorted(deployment.ids()) == ["db", "worker"]


PRIVATE = """\
kind: Registry
project: shop
name: team
uri: 127.0.0.1:5555
credentials:
  username: syncd-test
  password: {env: REGISTRY_PW}
---
kind: Stack
project: shop
services:
  private:
    image: 127.0.0.1:5555/private/busybox:1.36
    command: [sleep, "3600"]
  public:
    image: busybox:1.36
    command: [sleep, "3600"]
"""


def test_a_private_image_pulls_with_credentials_and_wrong_ones_fail_that_service_only(
    deployment: Deployment, own_registry: TestRegistry, docker_client: docker.DockerClient
) -> None:
    assert not docker_client.images.list(name=own_registry.image)  # it must be pulled
    deployment.write(
        "shop.yaml", PRIVATE.replace("127.0.0.1:5555/private/busybox:1.36", own_registry.image)
    )
    deployment.env["REGISTRY_PW"] = "not-the-password"
    result = deployment.sync()
    failed = {str(r.key): r.detail for r in result.failed}
    assert list(failed) == ["shop/default/private"]
    message = failed["shop/default/private"]
    assert "registry shop/team (127.0.0.1:5555)" in message
    assert "unauthorized" in message.lower() or "authentication" in message.lower(), message
    assert "not-the-password" not in message
    assert deployment.container("public").status == "running"
    row = deployment.store.services()["shop/default/private"]
    assert row.result == "error" and row.error == message

    deployment.env["REGISTRY_PW"] = own_registry.password
    second = deployment.sync()
    assert second.ok, [r.detail for r in second.failed]
    assert deployment.container("private").status == "running"


def test_self_heal_restarts_stopped_containers_but_not_operator_stopped_ones(
    deployment: Deployment,
) -> None:
    deployment.write("shop.yaml", THREE.format(port=free_port(), greeting="hi"))
    assert deployment.sync().ok
    deployment.container("worker").stop(timeout=1)
    deployment.container("db").kill()
    result = deployment.sync()
    assert sorted((str(c.key), c.action.value) for s in result.plan.stacks for c in s.changes) == [
        ("shop/default/db", "start"),
        ("shop/default/worker", "start"),
    ]
    assert {c.status for c in deployment.containers()} == {"running"}

    deployment.reconciler.operator_stop(_key("worker"))
    assert deployment.container("worker").status == "exited"
    again = deployment.sync()
    assert not again.plan.changed
    assert deployment.container("worker").status == "exited"
    deployment.reconciler.operator_start(_key("worker"))
    assert deployment.container("worker").status == "running"
    assert not deployment.sync().plan.changed


def _key(name: str) -> ServiceKey:
    return ServiceKey("shop", "default", name)


HEALTHY = """\
kind: Stack
project: shop
services:
  db:
    image: busybox:1.36
    command: [sh, -c, "sleep 2; touch /tmp/ready; exec sleep 3600"]
    healthcheck: {test: [CMD, test, -f, /tmp/ready], interval: 1s, timeout: 1s, retries: 30}
  web:
    image: busybox:1.36
    command: [sleep, "3600"]
    dependsOn: {db: service_healthy}
"""


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00")


def test_depends_on_service_healthy_starts_the_dependent_after_its_dependency_is_healthy(
    deployment: Deployment,
) -> None:
    deployment.write("shop.yaml", HEALTHY)
    assert deployment.sync().ok
    db = deployment.container("db").attrs["State"]
    web = deployment.container("web").attrs["State"]
    first_ok = min(_time(p["End"]) for p in db["Health"]["Log"] if p["ExitCode"] == 0)
    assert _time(web["StartedAt"]) >= first_ok
    assert _time(web["StartedAt"]) - _time(db["StartedAt"]) >= dt.timedelta(seconds=2)


TWO_STACKS = """\
kind: Stack
project: shop
name: front
services:
  srv:
    image: busybox:1.36
    command: [sh, -c, "mkdir -p /w && echo pong > /w/ping && exec httpd -f -p 8080 -h /w"]
---
kind: Stack
project: shop
name: back
services:
  client:
    image: busybox:1.36
    command: [sleep, "3600"]
"""


def test_services_of_two_stacks_in_one_project_reach_each_other_by_name(
    deployment: Deployment,
) -> None:
    deployment.write("shop.yaml", TWO_STACKS)
    assert deployment.sync().ok
    for _ in range(50):
        code, out = deployment.exec("client", "wget", "-qO-", "http://srv:8080/ping")
        if code == 0:
            break
    assert (code, out.strip()) == (0, "pong")


def test_two_instances_on_one_docker_never_touch_each_other(
    deployment: Deployment, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    deployment.write("shop.yaml", THREE.format(port=free_port(), greeting="hi"))
    assert deployment.sync().ok
    other = Deployment(tmp_path / "other", docker_client)
    try:
        other.write("x.yaml", "kind: Stack\nproject: shop\nservices: {}\n")
        result = other.sync()
        assert result.ok and not any(s.changes for s in result.plan.stacks)
        assert len(deployment.containers()) == 3
    finally:
        other.cleanup()


def test_a_lost_state_store_costs_no_container(deployment: Deployment) -> None:
    deployment.write("shop.yaml", THREE.format(port=free_port(), greeting="hi"))
    assert deployment.sync().ok
    before = deployment.ids()
    deployment.store._db.execute("DELETE FROM services")
    result = deployment.sync()
    assert result.ok and not result.plan.changed
    assert deployment.ids() == before
    assert set(deployment.store.services()) == {f"shop/default/{n}" for n in before}


def test_an_extra_container_of_a_service_is_removed(
    deployment: Deployment, docker_client: docker.DockerClient
) -> None:
    deployment.write("shop.yaml", THREE.format(port=free_port(), greeting="hi"))
    assert deployment.sync().ok
    worker = deployment.container("worker")
    docker_client.containers.create(
        "busybox:1.36", ["sleep", "3600"], labels=worker.labels, name=f"{worker.name}-copy"
    )
    assert len(deployment.containers(service="worker")) == 2
    deployment.sync()
    assert deployment.container("worker").id == worker.id
    assert worker.labels[LABEL_HASH]


def test_the_stop_timeout_is_honoured_before_a_kill(deployment: Deployment) -> None:
    deployment.write(
        "s.yaml",
        "kind: Stack\nproject: shop\nservices:\n  stubborn:\n    image: busybox:1.36\n"
        "    command: [sleep, '3600']\n",  # PID 1 without a TERM handler: only a kill stops it
    )
    assert deployment.sync().ok
    started = time.monotonic()
    deployment.reconciler.operator_stop(_key("stubborn"))
    waited = time.monotonic() - started
    state = deployment.container("stubborn").attrs["State"]
    assert state["ExitCode"] == 137  # killed, after the timeout
    assert waited >= deployment.settings.stop_timeout


def test_engine_logs_events_and_image_config(deployment: Deployment) -> None:
    since = time.time() - 1
    deployment.write(
        "s.yaml",
        "kind: Stack\nproject: shop\nservices:\n  talker:\n    image: busybox:1.36\n"
        "    command: [sh, -c, 'echo one; echo two; exec sleep 3600']\n",
    )
    assert deployment.sync().ok
    container = deployment.container("talker")
    for _ in range(50):
        if deployment.engine.logs(container.id, tail=1) == "two\n":
            break
        time.sleep(0.1)
    assert deployment.engine.logs(container.id, tail=1) == "two\n"
    assert deployment.engine.logs(container.id) == "one\ntwo\n"
    events = list(deployment.engine.events(since=since, until=time.time()))
    assert ("start", container.id) in [(e.get("status"), e.get("id")) for e in events]
    config = deployment.engine.image_config("busybox:1.36")
    assert config["Id"] == container.attrs["Image"]
