"""The test swarm itself (scripts/ensure-swarm.sh): three Ready nodes, the same test image on
each, cross-node service traffic by name (dnsrr: this kernel has no ip_vs for VIPs), the test
registry reachable from the nodes, and a worker's dockerd killed and revived."""

from __future__ import annotations

import contextlib
import re
import time

import docker
import docker.errors
import docker.types
import pytest

from tests.conftest import TEST_LABELS, TestRegistry
from tests.swarmnodes import NodeKiller, Swarm, _task_services, bring_up, ensure_swarm

pytestmark = [pytest.mark.docker, pytest.mark.swarm]

#: busybox httpd as PID 1 ignores SIGTERM: services run with `init`.
WEB = "mkdir /srv && echo hello from $(hostname) >/srv/index.html && exec httpd -f -p 80 -h /srv"


def test_three_nodes_are_ready_with_the_host_test_image(
    swarm: Swarm, docker_client: docker.DockerClient, busybox_image: str
) -> None:
    nodes = {entry["Description"]["Hostname"]: entry for entry in swarm.client.api.nodes()}
    assert sorted(nodes) == ["swn1", "swn2", "swn3"]
    for name, entry in nodes.items():
        assert (entry["Status"]["State"], entry["Spec"]["Availability"]) == ("ready", "active")
        assert entry["Status"]["Addr"] == swarm.node(name).address
    assert nodes["swn1"]["ManagerStatus"]["Leader"] is True
    assert [n for n, e in nodes.items() if "ManagerStatus" in e] == ["swn1"]
    host_image = docker_client.images.get(busybox_image).id
    for node in swarm.nodes:
        assert swarm.node_client(node.index).images.get(busybox_image).id == host_image


def test_ensure_swarm_on_a_healthy_swarm_changes_nothing(swarm: Swarm) -> None:
    before = {e["ID"]: e["Version"]["Index"] for e in swarm.client.api.nodes()}
    done = ensure_swarm()
    assert done.returncode == 0, done.stderr
    assert "Ready already" in done.stderr, done.stderr
    assert {e["ID"]: e["Version"]["Index"] for e in swarm.client.api.nodes()} == before


def test_dnsrr_service_answers_by_name_from_another_service(
    swarm: Swarm, swarm_instance: str, busybox_image: str
) -> None:
    """...and then `swarm.remove_instance` (the `swarm_instance` cleanup) leaves nothing."""
    labels = {**TEST_LABELS, "syncd.instance": swarm_instance}
    net = swarm.client.networks.create(
        f"{swarm_instance}-net", driver="overlay", attachable=True, labels=labels
    )
    config = swarm.client.configs.create(name=f"{swarm_instance}-c", data=b"c", labels=labels)
    secret = swarm.client.secrets.create(name=f"{swarm_instance}-s", data=b"s", labels=labels)
    web = swarm.client.services.create(
        busybox_image, ["sh", "-c", WEB], name=f"{swarm_instance}-web", labels=labels, init=True,
        hostname="{{.Node.Hostname}}", networks=[net.name], maxreplicas=1,
        mode=docker.types.ServiceMode("replicated", replicas=2),
        endpoint_spec=docker.types.EndpointSpec(mode="dnsrr"),
        mounts=[docker.types.Mount("/data", f"{swarm_instance}-data", labels=labels)],
    )  # fmt: skip
    probe = swarm.client.services.create(
        busybox_image, ["sleep", "3600"], name=f"{swarm_instance}-probe", labels=labels, init=True,
        networks=[net.name], configs=[docker.types.ConfigReference(config.id, config.name)],
        secrets=[docker.types.SecretReference(secret.id, secret.name)],
    )  # fmt: skip
    web_nodes = {t["NodeID"] for t in swarm.running_tasks(web, 2)}
    assert len(web_nodes) == 2, "two replicas, at most one per node"
    hostnames = {swarm.client.nodes.get(n).attrs["Description"]["Hostname"] for n in web_nodes}
    (probe_task,) = swarm.running_tasks(probe, 1)

    deadline = time.monotonic() + 30
    while True:  # the embedded DNS learns the other node's task over the overlay's gossip
        lookup = swarm.exec_in_task(probe_task, f"nslookup {web.name}")
        answer = lookup.partition("Name:")[2]
        addresses = sorted(set(re.findall(r"Address:?\s+(\d+\.\d+\.\d+\.\d+)\s", answer)))
        if len(addresses) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(addresses) == 2, lookup
    get = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {} 80"
    answers = {swarm.exec_in_task(probe_task, get.format(ip)).strip().splitlines()[-1]
               for ip in addresses}  # fmt: skip
    assert answers == {f"hello from {name}" for name in hostnames}
    by_name = swarm.exec_in_task(probe_task, get.format(web.name)).strip().splitlines()[-1]
    assert by_name in answers

    match = {"label": [f"syncd.instance={swarm_instance}"]}
    volumes = [swarm.node_client(name).volumes.list(filters=match) for name in hostnames]
    assert [len(found) for found in volumes] == [1, 1]
    swarm.remove_instance(swarm_instance)
    for kind in (swarm.client.services, swarm.client.networks, swarm.client.configs,
                 swarm.client.secrets):  # fmt: skip
        assert kind.list(filters=match) == []
    for node in swarm.nodes:
        client = swarm.node_client(node.index)
        assert client.volumes.list(filters=match) == []
        assert not {web.id, probe.id} & _task_services(client)


def test_a_service_runs_a_private_image_from_the_test_registry(
    swarm: Swarm, test_registry: TestRegistry, swarm_instance: str
) -> None:
    """The nodes reach the test registry (10.213.0.1:5555) and pull with the service's auth."""
    assert swarm.registry, "scripts/ensure-swarm.sh gives the nodes the test registry"
    image = test_registry.image.replace(test_registry.host, swarm.registry)
    worker = swarm.workers[-1]
    node = swarm.node_client(worker.index)
    with contextlib.suppress(docker.errors.ImageNotFound):
        node.images.remove(image, force=True)
    with pytest.raises(docker.errors.APIError, match=r"no basic auth|unauthorized"):
        node.images.pull(image, auth_config={})
    manager = docker.DockerClient(base_url=swarm.docker_host, timeout=30)
    try:  # docker-py sends the logged-in credentials with the service (X-Registry-Auth)
        manager.login(registry=swarm.registry, **test_registry.auth_config)
        service = manager.services.create(
            image, ["sleep", "3600"], name=f"{swarm_instance}-private", init=True,
            labels={**TEST_LABELS, "syncd.instance": swarm_instance},
            constraints=[f"node.hostname=={worker.name}"],
        )  # fmt: skip
        swarm.running_tasks(service, 1)
        assert image in node.images.get(image).tags
    finally:
        manager.close()
        with contextlib.suppress(docker.errors.ImageNotFound):
            node.images.remove(image, force=True)


def test_a_killed_worker_goes_down_and_comes_back(swarm: Swarm, node_killer: NodeKiller) -> None:
    worker = swarm.workers[-1]
    assert swarm.node_state(worker.index) == "ready"
    node_killer.kill(worker.index)
    assert not swarm.answers(worker.index)
    down = swarm.wait_node_state(worker.index, "down", timeout=60)
    revived = node_killer.revive(worker.index)
    assert swarm.answers(worker.index)
    assert swarm.node_state(worker.index) == "ready"
    print(f"{worker.name}: down after {down:.1f} s, Ready {revived:.1f} s after revive")


@pytest.mark.parametrize("required", [False, True])
def test_a_swarm_that_cannot_come_up_is_a_loud_skip_or_a_failure_when_required(
    monkeypatch: pytest.MonkeyPatch, required: bool
) -> None:
    """SWN_NODES=0 makes scripts/ensure-swarm.sh refuse at once, before it touches anything."""
    monkeypatch.setenv("SWN_NODES", "0")
    for name in ("CI", "SYNCD_REQUIRE_ALL", "SYNCD_REQUIRE_DOCKER"):
        monkeypatch.delenv(name, raising=False)
    if required:
        monkeypatch.setenv("SYNCD_REQUIRE_ALL", "1")
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome) as raised:
        bring_up()
    assert "the test swarm did not come up" in str(raised.value)
    assert "SWN_NODES must be 1..9, not '0'" in str(raised.value)
