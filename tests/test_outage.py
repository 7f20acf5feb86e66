"""dockerd stopped for 20 s under a running `syncd run`: reported, then converged again without a
restart of syncd. Restarts this machine's dockerd, so it runs only where `make test` manages it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.requirements import missing
from tests.test_daemon import env_of, stack

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parent.parent
OUTAGE_S = 20


def _dockerd_pid() -> int | None:
    """The host's dockerd: not the test swarm's node dockerds (each has its own --pidfile)."""
    found = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True, check=False)
    for pid in found.stdout.split():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile
            continue
        if not any(arg.startswith(b"--pidfile") for arg in argv):
            return int(pid)
    return None


@pytest.fixture
def local_dockerd() -> Iterator[int]:
    pid = _dockerd_pid()
    if pid is None or os.geteuid() != 0 or os.environ.get("DOCKER_HOST"):
        missing("the outage test needs a local dockerd that it may stop and start (as root)")
    try:
        yield pid
    finally:  # whatever happened, leave the engine running for the tests after this one
        subprocess.run([str(ROOT / "scripts" / "ensure-docker.sh")], check=True)


def test_an_engine_outage_is_reported_and_recovered_from_without_a_restart(
    local_dockerd: int, deployment: Deployment
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("s.yaml", stack(1))
    repo.commit("one")
    daemon = RunningDaemon(str(repo.path), deployment.settings.data_dir, deployment.instance)
    try:
        daemon.started()
        wait_for(lambda: env_of(deployment) == "1", what="the first revision")

        stopped_at = time.monotonic()
        os.kill(local_dockerd, 15)
        wait_for(lambda: _dockerd_pid() is None, 30, "dockerd to stop")
        status = wait_for(
            lambda: (s := daemon.status()) and not s["engineAvailable"] and s, 15, "the outage"
        )
        assert status["lastError"]["stage"] == "engine"
        assert "cannot reach the Docker engine" in status["lastError"]["message"]
        assert daemon.http.get("/healthz").status_code == 503
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))

        subprocess.run([str(ROOT / "scripts" / "ensure-docker.sh")], check=True)
        # dockerd stopped the container with it; syncd must bring it back by itself
        wait_for(lambda: env_of(deployment) == "1", 60, "convergence after the outage")
        wait_for(lambda: daemon.status()["engineAvailable"], 30, "the engine to be reported back")
        assert daemon.process.poll() is None  # the same process throughout
        assert "engine_unavailable" in daemon.log() and "engine_available" in daemon.log()
    finally:
        daemon.close()
