"""An apply killed (SIGKILL) at random points: the next apply converges, with no duplicate
containers and no lost volume data."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import pytest

from tests.engine_support import Deployment

pytestmark = pytest.mark.docker

RUNS = 12

STACK = """\
kind: Stack
project: crash
services:
  db:
    image: busybox:1.36
    command: [sh, -c, "test -f /data/seed || cat /proc/sys/kernel/random/uuid > /data/seed; {idle}"]
    volumes: ["data:/data"]
    healthcheck: {{test: [CMD, test, -f, /tmp/ready], interval: 1s, timeout: 1s, retries: 20}}
    environment: {{ROUND: "{round}"}}
  app:
    image: busybox:1.36
    command: [sh, -c, "{idle}"]
    environment: {{ROUND: "{round}"}}
    dependsOn: {{db: service_healthy}}
  side:
    image: busybox:1.36
    command: [sh, -c, "{idle}"]
    environment: {{ROUND: "{round}"}}
volumes:
  data: {{}}
"""
# Stops at once on SIGTERM (a bare `sleep` as PID 1 would ignore it and wait for the stop
# timeout), so that kills land in every step of an apply, not mostly in `stop`.
IDLE = "touch /tmp/ready; trap 'exit 0' TERM; sleep 3600 & wait"


def _stack(round_: int) -> str:
    return STACK.format(round=round_, idle=IDLE)


def _apply(deployment: Deployment) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "syncd",
        "apply",
        "--repo",
        str(deployment.repo),
        "--data-dir",
        str(deployment.settings.data_dir),
        "--instance",
        deployment.instance,
    ]
    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SYNCD_LOG_LEVEL": "error"},
    )


def test_applies_killed_at_random_points_converge_without_duplicates_or_data_loss(
    deployment: Deployment,
) -> None:
    rng = random.Random(int(os.environ.get("SYNCD_CRASH_SEED", "4")))
    deployment.write("crash.yaml", _stack(0))
    assert _apply(deployment).wait(timeout=120) == 0
    code, seed = deployment.exec("db", "cat", "/data/seed")
    assert code == 0 and seed.strip()
    volume = deployment.client.volumes.get(f"{deployment.instance}_crash_default_data")
    killed = 0
    for run in range(1, RUNS + 1):
        deployment.write("crash.yaml", _stack(run))
        process = _apply(deployment)
        time.sleep(rng.uniform(0.05, 2.5))
        if process.poll() is None:
            process.kill()
            killed += 1
        process.wait(timeout=60)
    assert killed >= RUNS // 2, f"only {killed} of {RUNS} applies were killed mid-way"

    assert _apply(deployment).wait(timeout=120) == 0
    containers = deployment.containers()
    services = sorted(c.labels["syncd.service"] for c in containers)
    assert services == ["app", "db", "side"]  # one container each: no duplicates, no leftovers
    assert {c.status for c in containers} == {"running"}
    for container in containers:
        assert f"ROUND={RUNS}" in container.attrs["Config"]["Env"]
    assert deployment.exec("db", "cat", "/data/seed") == (0, seed)
    assert (
        deployment.client.volumes.get(volume.name).attrs["CreatedAt"] == volume.attrs["CreatedAt"]
    )
    names = [c.name for c in deployment.client.containers.list(all=True)]
    assert not [n for n in names if deployment.instance in n and n.count("_") != 3]
    assert _apply(deployment).wait(timeout=60) == 0
    assert sorted(c.id for c in deployment.containers()) == sorted(c.id for c in containers)
