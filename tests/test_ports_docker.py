"""Issue 13 ports on the real engine: a Compose stack with a port on an explicit loopback
address, an ephemeral host port and a small range, applied with `syncd apply`, then read back
with `docker inspect` (HostConfig.PortBindings and NetworkSettings.Ports)."""

from __future__ import annotations

import socket

import pytest

from syncd.cli.main import main
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports() -> tuple[int, int]:
    """A free port, and the first of two free consecutive ones, in 18000-18999."""
    free = [p for p in range(18000 + (id(object()) % 500), 19000) if _free(p)]
    single = free[0]
    start = next(p for p in free[1:] if p + 1 in free and p > single)
    return single, start


def test_host_address_ephemeral_and_range_reach_docker(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    single, start = _free_ports()
    compose = f"""\
name: ports
services:
  web:
    image: busybox:1.36
    command: sleep 3600
    ports:
      - "127.0.0.1:{single}:80"
      - "5432"
      - "{start}-{start + 1}:7000-7001/udp"
"""
    repo = GitRepo(deployment.repo)
    repo.write("ports/compose.yaml", compose)
    first = repo.commit("one")
    args = ["--repo", str(repo.path), "--data-dir", str(deployment.settings.data_dir)]
    args += ["--instance", deployment.instance]
    assert main(["apply", *args, "--rev", first]) == 0, capsys.readouterr()
    inspect = deployment.client.api.inspect_container(deployment.container("web").id)
    bindings = inspect["HostConfig"]["PortBindings"]
    assert bindings["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(single)}]
    assert bindings["5432/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": ""}]
    assert bindings["7000/udp"] == [{"HostIp": "127.0.0.1", "HostPort": str(start)}]
    assert bindings["7001/udp"] == [{"HostIp": "127.0.0.1", "HostPort": str(start + 1)}]
    bound = inspect["NetworkSettings"]["Ports"]
    assert bound["80/tcp"][0]["HostPort"] == str(single)
    ephemeral = bound["5432/tcp"][0]
    assert ephemeral["HostIp"] == "127.0.0.1"
    assert 1 <= int(ephemeral["HostPort"]) <= 65535  # the port Docker picked
    assert bound["7001/udp"][0]["HostPort"] == str(start + 1)


def test_syncds_service_route_shows_the_host_port_docker_picked(deployment: Deployment) -> None:
    repo = GitRepo(deployment.repo)
    repo.write(
        "eph/compose.yaml",
        "services:\n  db:\n    image: busybox:1.36\n"
        "    command: [sh, -c, 'trap \"exit 0\" TERM; sleep 3600 & wait']\n"
        "    ports: ['5432']\n"
        "    deploy: {replicas: 2}\n",
    )
    repo.commit("an ephemeral host port, two replicas")
    daemon = RunningDaemon(str(repo.path), deployment.settings.data_dir, deployment.instance)
    try:
        db = daemon.started().only_service("eph")
        url = f"/v2/syncd/stacks/{db['stackId']}/services/{db['id']}"
        published = wait_for(
            lambda: (p := daemon.http.get(url).json()["published"]) and all(p.values()) and p,
            60,
            "the published ports",
        )
    finally:
        daemon.close()
    assert set(published) == {"1", "2"}, published
    ports = set()
    for replica, bound in published.items():
        [text] = bound  # one binding: 127.0.0.1:<picked>->5432/tcp
        address, _, rest = text.partition(":")
        picked, _, target = rest.partition("->")
        assert (address, target) == ("127.0.0.1", "5432/tcp"), (replica, text)
        ports.add(int(picked))
    assert len(ports) == 2 and all(p > 0 for p in ports)  # each replica got its own port
