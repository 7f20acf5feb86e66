"""Start-first replaces on the real engine (issue 15): no moment without a running container,
the service's DNS name answers from another container throughout, and afterwards it names only
the new container. A start-first service with a fixed host port is replaced stop-first, and
the plan says so and why. The probe is a busybox container of the project resolving the
service's name every 50 ms."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from syncd.core.plan import Action
from syncd.render import PlanFormat, render
from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

SAMPLE = 0.05  # seconds between two listings of the engine's containers

COMPOSE = """\
name: sf
services:
  web:
    image: busybox:1.36
    command: ["httpd", "-f", "-p", "8080", "-h", "/etc"]  # listening as soon as it runs
    environment: {{N: "{n}"}}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/hostname"]
      interval: 1s
      retries: 30
    deploy:
      update_config: {{order: start-first}}
  pinned:
    image: busybox:1.36
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment: {{N: "{n}"}}
    ports: ["{port}:8080"]
    deploy:
      update_config: {{order: start-first}}
  probe:
    image: busybox:1.36
    depends_on: {{web: {{condition: service_healthy}}}}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do if nslookup web >/dev/null 2>&1; then echo ok; else echo FAIL; fi >> /tmp/log; sleep 0.05; done & wait"]
"""  # noqa: E501


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _probe_lines(deployment: Deployment) -> list[str]:
    code, out = deployment.exec("probe", "cat", "/tmp/log")
    return out.split() if code == 0 else []


def _wait_for_more_probes(deployment: Deployment, seen: int) -> list[str]:
    """The probe's lines once it has written at least 5 after the first `seen` (bounded)."""
    for _ in range(600):
        lines = _probe_lines(deployment)
        if len(lines) >= seen + 5:
            return lines
        time.sleep(0.1)
    raise AssertionError(f"the probe wrote {len(_probe_lines(deployment))} lines")


def _address(container: Any) -> str:
    networks = container.attrs["NetworkSettings"]["Networks"]
    return str(next(iter(networks.values()))["IPAddress"])


def test_start_first_keeps_a_container_running_and_its_name_answering(
    deployment: Deployment,
) -> None:
    port = _free_port()
    deployment.write("compose.yaml", COMPOSE.format(n=1, port=port))
    first = deployment.sync()
    assert first.ok, [r.detail for r in first.failed]
    before = _wait_for_more_probes(deployment, 0)
    assert "FAIL" not in before, before
    old = deployment.container("web")
    old_pinned = deployment.container("pinned").id

    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            found = deployment.containers(service="web")
            samples.append(sum(1 for c in found if c.status == "running"))
            stop.wait(SAMPLE)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        deployment.write("compose.yaml", COMPOSE.format(n=2, port=port))
        second = deployment.sync()
    finally:
        stop.set()
        sampler.join()
    assert second.ok, [r.detail for r in second.failed]
    changes = {c.key.name: c for s in second.plan.stacks for c in s.services}
    assert changes["web"].action is Action.RECREATE
    assert samples and min(samples) >= 1, samples  # a running container at every sample
    assert max(samples) == 2, samples  # the new one ran before the old one stopped

    # the service's name resolved from another container all along, and still does; it
    # serves there (an HTTP probe during the replace is not asserted: Docker lists the new
    # container in DNS a moment before its interface answers, see the report)
    after = _wait_for_more_probes(deployment, len(_probe_lines(deployment)))
    assert "FAIL" not in after, after.count("FAIL")
    code, served = deployment.exec("probe", "wget", "-q", "-O", "-", "http://web:8080/hostname")
    assert code == 0 and served.strip(), served
    new = deployment.container("web")
    assert new.id != old.id and new.name == old.name
    _code, answer = deployment.exec("probe", "nslookup", "-type=a", "web")
    assert _address(new) in answer, answer
    assert _address(old) not in answer or _address(old) == _address(new), answer

    # the fixed host port cannot be bound twice: replaced stop-first, and the plan says why
    assert deployment.container("pinned").id != old_pinned
    text = render(second.plan, PlanFormat.TEXT)
    assert "replaced without downtime (start-first)" in text, text
    assert "replaced with downtime (stop-first: a fixed host port" in text, text
