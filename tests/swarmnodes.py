"""The three-node test swarm of scripts/ensure-swarm.sh, for tests marked ``swarm``.

Fixtures (registered in tests/conftest.py):

- ``swarm`` (session): runs ``scripts/ensure-swarm.sh`` once and gives a `Swarm`: the manager's
  ``docker_host``, the nodes (name, address, socket), a docker-py ``client`` for the manager,
  ``node_client(n)`` for one node and ``registry`` (the test registry as the nodes reach it, or
  None). No Docker engine: the test is skipped loudly, as every Docker test (`docker_client`).
  A swarm that cannot come up fails the test under ``SYNCD_REQUIRE_ALL=1``, ``CI=true`` or
  ``SYNCD_REQUIRE_DOCKER=1`` and skips it loudly otherwise.
- ``swarm_instance``: a unique ``syncd.instance`` label value; services, networks, configs,
  secrets and (on every node) containers and volumes that carry it are removed after the test.
  ``swarm.running_tasks(service, n)`` waits for running tasks, ``swarm.exec_in_task(task, cmd)``
  runs a command in one, on its node.
- ``node_killer``: `NodeKiller` -- ``kill(n)`` SIGKILLs a worker's dockerd, ``revive(n)`` brings
  it back and Ready; every node it killed is revived after the test, failed or not.

All test processes share one swarm. A test marked ``swarm`` holds a shared lock while it runs; a
test that uses ``node_killer`` holds it exclusively, so no other swarm test sees its dead node.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests.exceptions

from tests.requirements import docker_required, missing

ROOT = Path(__file__).resolve().parent.parent
ENSURE = ROOT / "scripts" / "ensure-swarm.sh"
BASE = Path(os.environ.get("SWN_BASE", "/tmp/syncd-swarm"))
LOCK = Path("/tmp/syncd-swarm-tests.lock")
NODE_COUNT = 3
NET = "10.213.0"
#: The test registry (127.0.0.1:5555 on the host) as the nodes reach it.
REGISTRY = f"{NET}.1:5555"


@dataclass(frozen=True)
class SwarmNode:
    index: int  # 1 is the manager

    @property
    def name(self) -> str:
        """The node's hostname, as Swarm shows it."""
        return f"swn{self.index}"

    @property
    def address(self) -> str:
        return f"{NET}.1{self.index}"

    @property
    def docker_host(self) -> str:
        return f"unix:///run/swn{self.index}/docker.sock"

    @property
    def manager(self) -> bool:
        return self.index == 1


@dataclass
class Swarm:
    docker_host: str
    nodes: tuple[SwarmNode, ...]
    client: docker.DockerClient
    registry: str | None
    _clients: dict[int, docker.DockerClient] = field(default_factory=dict)

    @property
    def workers(self) -> tuple[SwarmNode, ...]:
        return tuple(node for node in self.nodes if not node.manager)

    def node(self, n: int | str) -> SwarmNode:
        """Node by index (1..3) or name (``swn2``)."""
        for node in self.nodes:
            if n in (node.index, node.name):
                return node
        raise KeyError(f"no swarm node {n!r}")

    def node_client(self, n: int | str) -> docker.DockerClient:
        """A client for one node's own dockerd (containers, images of that node)."""
        node = self.node(n)
        if node.index not in self._clients:
            self._clients[node.index] = docker.DockerClient(base_url=node.docker_host, timeout=30)
        return self._clients[node.index]

    def answers(self, n: int | str) -> bool:
        """Whether the node's own dockerd answers a ping."""
        try:
            return bool(self.node_client(n).ping())
        except (docker.errors.DockerException, requests.exceptions.ConnectionError):
            return False

    def node_state(self, n: int | str) -> str:
        """The manager's view of a node: ``ready``, ``down``, ``unknown`` or ``disconnected``."""
        name = self.node(n).name
        states = [
            entry["Status"]["State"]
            for entry in self.client.api.nodes()
            if entry["Description"]["Hostname"] == name
        ]
        return "ready" if "ready" in states else (states[0] if states else "missing")

    def wait_node_state(self, n: int | str, state: str, timeout: float = 60) -> float:
        """Seconds until the manager shows the node in ``state``; fails after ``timeout``."""
        start = time.monotonic()
        while (current := self.node_state(n)) != state:
            if time.monotonic() - start > timeout:
                pytest.fail(f"node {self.node(n).name} is {current!r}, not {state!r}, "
                            f"after {timeout:.0f} s")  # fmt: skip
            time.sleep(0.5)
        return time.monotonic() - start

    def running_tasks(self, service: Any, count: int, timeout: float = 60) -> list[Any]:
        """The service's running tasks once ``count`` of them run; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            tasks = [t for t in service.tasks(filters={"desired-state": "running"})
                     if t["Status"]["State"] == "running"]  # fmt: skip
            if len(tasks) >= count:
                return tasks
            if time.monotonic() > deadline:
                states = [(t["Status"]["State"], t["Status"].get("Err")) for t in service.tasks()]
                pytest.fail(f"{service.name}: {len(tasks)} of {count} tasks run: {states}")
            time.sleep(0.5)

    def exec_in_task(self, task: Any, command: str) -> str:
        """Run ``sh -c command`` in a task's container, on the node that runs it; its output."""
        node = self.client.nodes.get(task["NodeID"]).attrs["Description"]["Hostname"]
        container = self.node_client(node).containers.get(
            task["Status"]["ContainerStatus"]["ContainerID"]
        )
        return str(container.exec_run(["sh", "-c", command]).output.decode(errors="replace"))

    def remove_instance(self, instance: str, timeout: float = 60) -> None:
        """Remove what carries ``syncd.instance=<instance>``: services (and their tasks'
        containers), networks, configs, secrets, then containers and volumes on every node."""
        match = {"label": [f"syncd.instance={instance}"]}
        deadline = time.monotonic() + timeout
        services = self.client.services.list(filters=match)
        for service in services:
            with contextlib.suppress(docker.errors.NotFound):
                service.remove()
        live = [self.node_client(n.index) for n in self.nodes if self.answers(n.index)]
        ids = {service.id for service in services}
        for client in live:  # a dead node: Swarm removes its containers once it is back
            while ids & _task_services(client):
                if time.monotonic() > deadline:
                    break  # removed by force below
                time.sleep(0.3)
        for kind in (self.client.networks, self.client.configs, self.client.secrets):
            for item in kind.list(filters=match):
                _remove(item, deadline)
        for client in live:
            for container in client.api.containers(all=True, filters=match):
                with contextlib.suppress(docker.errors.NotFound):
                    client.api.remove_container(container["Id"], force=True)
            for volume in client.volumes.list(filters=match):
                _remove(volume, deadline)

    def close(self) -> None:
        for client in (*self._clients.values(), self.client):
            client.close()
        self._clients.clear()


def _task_services(client: docker.DockerClient) -> set[str]:
    """IDs of the services whose task containers are on this node (dead ones too)."""
    key = "com.docker.swarm.service.id"
    return {c["Labels"][key] for c in client.api.containers(all=True, filters={"label": key})}


def _remove(item: Any, deadline: float) -> None:
    """Remove a network, config, secret or volume, retrying while it is still in use."""
    while True:
        try:
            item.remove()
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def ensure_swarm() -> subprocess.CompletedProcess[str]:
    """Run scripts/ensure-swarm.sh (idempotent; repairs a dead node)."""
    return subprocess.run([str(ENSURE)], capture_output=True, text=True, timeout=600, check=False)


def _dockerd_pid(node: SwarmNode) -> int | None:
    """The pid of the node's dockerd, checked by its socket (never the host's dockerd)."""
    try:
        pid = int(Path(f"/run/swn{node.index}/docker.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    ours = cmdline[0].endswith(b"dockerd") and node.docker_host.encode() in cmdline
    return pid if ours else None


def kill_node(node: SwarmNode) -> None:
    """SIGKILL a worker's dockerd (its containerd goes with it; task containers stay)."""
    if node.manager:
        raise ValueError("swn1 is the swarm's only manager: kill a worker")
    pid = _dockerd_pid(node)
    if pid is None:
        raise RuntimeError(f"the dockerd of {node.name} is not running")
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if _dockerd_pid(node) is None:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the dockerd of {node.name} (pid {pid}) outlived SIGKILL")


def revive_node(swarm: Swarm, node: SwarmNode, timeout: float = 60) -> float:
    """Start the node's dockerd again (scripts/ensure-swarm.sh); seconds until it is Ready."""
    start = time.monotonic()
    done = ensure_swarm()
    if done.returncode != 0:
        pytest.fail(f"scripts/ensure-swarm.sh could not revive {node.name}:\n{done.stderr}")
    if not swarm.answers(node.index):
        pytest.fail(f"the dockerd of {node.name} does not answer after scripts/ensure-swarm.sh")
    swarm.wait_node_state(node.index, "ready", timeout)
    return time.monotonic() - start


@dataclass
class NodeKiller:
    swarm: Swarm
    killed: set[int] = field(default_factory=set)

    def kill(self, n: int | str) -> None:
        node = self.swarm.node(n)
        kill_node(node)
        self.killed.add(node.index)

    def revive(self, n: int | str, timeout: float = 60) -> float:
        node = self.swarm.node(n)
        seconds = revive_node(self.swarm, node, timeout)
        self.killed.discard(node.index)
        return seconds


@contextlib.contextmanager
def swarm_lock(*, exclusive: bool, timeout: float = 900) -> Iterator[None]:
    """Shared (most swarm tests) or exclusive (tests that kill nodes) use of the one swarm."""
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    with LOCK.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"no {'exclusive' if exclusive else 'shared'} hold of {LOCK} "
                                f"after {timeout:.0f} s: another test keeps the swarm")  # fmt: skip
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def bring_up() -> Swarm:
    """Run scripts/ensure-swarm.sh; a swarm that does not come up fails the test when the run
    requires Docker (`make test`, CI) and skips it, with the script's reason, otherwise."""
    try:
        with swarm_lock(exclusive=False):  # never "repair" a node a node_killer test killed
            done = ensure_swarm()
    except (OSError, subprocess.TimeoutExpired) as exc:
        missing(f"scripts/ensure-swarm.sh did not run: {exc}", required=docker_required())
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        missing(f"the test swarm did not come up (scripts/ensure-swarm.sh exited "
                f"{done.returncode}):\n{tail}", required=docker_required())  # fmt: skip
    nodes = tuple(SwarmNode(i) for i in range(1, NODE_COUNT + 1))
    return Swarm(
        docker_host=nodes[0].docker_host,
        nodes=nodes,
        client=docker.DockerClient(base_url=nodes[0].docker_host, timeout=30),
        registry=REGISTRY if (BASE / "registry.yml").exists() else None,
    )


@pytest.fixture(scope="session")
def swarm(docker_client: docker.DockerClient, busybox_image: str) -> Iterator[Swarm]:
    """The test swarm, up (``docker_client`` skips loudly, or fails, without Docker)."""
    up = bring_up()
    try:
        yield up
    finally:
        up.close()


@pytest.fixture
def node_killer(swarm: Swarm) -> Iterator[NodeKiller]:
    """Kill and revive worker nodes; whatever is still dead after the test is revived."""
    killer = NodeKiller(swarm)
    try:
        yield killer
    finally:
        for index in sorted(killer.killed):
            killer.revive(index)


@pytest.fixture
def swarm_instance(swarm: Swarm) -> Iterator[str]:
    """A unique `syncd.instance` value; all that carries it is removed from the swarm after."""
    name = f"swt{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        swarm.remove_instance(name)


@pytest.fixture(autouse=True)
def _swarm_turn(request: pytest.FixtureRequest) -> Iterator[None]:
    """A ``swarm`` test holds the swarm shared, a ``node_killer`` test exclusively."""
    if request.node.get_closest_marker("swarm") is None and "swarm" not in request.fixturenames:
        yield
        return
    with swarm_lock(exclusive="node_killer" in request.fixturenames):
        yield
