"""The Swarm engine on the shared three-node cluster: services converge, a second sync writes
nothing, updates roll (and roll back), configs and secrets follow their content, removals keep
volumes, and a deploy that does not converge fails with stage `apply`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.swarm_support import SwarmDeployment, swarm_manager

pytestmark = pytest.mark.docker


@pytest.fixture
def swarm(tmp_path: Path) -> Iterator[SwarmDeployment]:
    host = swarm_manager()
    if host is None:
        pytest.skip("no Swarm cluster (/tmp/syncd-swarm/env): run the swarm-on-one-machine recipe")
    deployed = SwarmDeployment(tmp_path, host)
    try:
        yield deployed
    finally:
        deployed.cleanup()


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


def _web(swarm: SwarmDeployment) -> None:
    swarm.write("swt/compose.yaml", WEB)
    swarm.write("swt/app.conf", "color=blue\n")
    swarm.write("swt/token.txt", "s3cret\n")


def test_a_compose_stack_converges_and_a_second_sync_writes_nothing(
    swarm: SwarmDeployment,
) -> None:
    _web(swarm)
    first = swarm.sync()
    assert first.ok, [(r.key, r.detail) for r in first.services] + list(first.errors)
    web = swarm.service("web")
    tasks = swarm.tasks(web["ID"])
    assert len([t for t in tasks if t["Status"]["State"] == "running"]) == 2
    assert len(swarm.configs()) == 1 and len(swarm.secrets()) == 1
    version = web["Version"]["Index"]

    second = swarm.sync()
    assert second.ok and swarm.writes == 0, swarm.requests
    assert swarm.service("web")["Version"]["Index"] == version
