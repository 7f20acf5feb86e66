"""Pause, resume and detect-only, end to end (issue 15): real git repositories, real Docker, the
daemon as a real process, its API over a real socket, `syncd pause`/`resume` as real commands."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

import pytest

from syncd.engine.base import LABEL_INSTANCE
from syncd.ids import StackKey
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"  # stops at once on SIGTERM
ADMIN = "pause-test-admin-token"
HOOK_SECRET = "pause-test-webhook-secret"
STACK_A = StackKey("frozen", "a").id
STACK = """\
kind: Stack
project: frozen
name: {name}
services:
  app{name}:
    image: busybox:1.36
    command: [sh, -c, "{idle}"]
    environment: {{N: "{n}"}}
"""
# what the engine is asked to do when syncd writes (Docker's event actions)
WRITES = {"create", "start", "stop", "kill", "die", "destroy", "restart", "pull", "connect",
          "disconnect", "remove", "rename", "update", "pause", "unpause"}  # fmt: skip


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def stack(name: str, n: int) -> str:
    return STACK.format(name=name, n=n, idle=IDLE)


def start(
    daemons: list[RunningDaemon], deployment: Deployment, repo: GitRepo, *extra: str
) -> RunningDaemon:
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance, *extra,
        env={"SYNCD_ADMIN_TOKEN": ADMIN, "SYNCD_WEBHOOK_SECRET": HOOK_SECRET},
    )  # fmt: skip
    daemons.append(daemon)
    return daemon.started()


def env_of(deployment: Deployment, name: str) -> str | None:
    found = deployment.containers(service=f"app{name}")
    if len(found) != 1 or found[0].status != "running":
        return None
    env = found[0].attrs["Config"]["Env"]
    return next((e.split("=", 1)[1] for e in env if e.startswith("N=")), None)


def syncd(deployment: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    """`syncd <args>` on the host, for this deployment's instance and data dir."""
    command = [sys.executable, "-m", "syncd", *args, "--data-dir",
               str(deployment.settings.data_dir), "--instance", deployment.instance]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def admin(daemon: RunningDaemon) -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def metric(daemon: RunningDaemon, line: str) -> bool:
    return line in daemon.http.get("/metrics").text.splitlines()


def test_a_push_while_paused_changes_nothing_and_shows_the_pending_plan_until_resumed(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("s.yaml", stack("a", 1))
    first = repo.commit("n=1")
    daemon = start(daemons, deployment, repo, "--drift-interval", "3600")
    wait_for(lambda: env_of(deployment, "a") == "1", what="the first revision")
    before = deployment.ids()

    done = syncd(deployment, "pause", "--reason", "release freeze")
    assert done.returncode == 0, done.stderr
    assert "instance: paused by cli:" in done.stdout and "release freeze" in done.stdout
    wait_for(lambda: daemon.status()["paused"], 10, "the daemon to see the pause")
    assert daemon.status()["pause"]["reason"] == "release freeze"
    assert metric(daemon, 'syncd_paused{stack=""} 1.0')

    repo.write("s.yaml", stack("a", 2))
    second = repo.commit("n=2")

    def held() -> dict[str, Any] | None:
        status = daemon.status()
        counts = status.get("pendingCounts") or {}
        seen = status["seenRevision"] == second and counts.get("recreate", 0) >= 1
        return status if seen and status["heldStacks"] == ["frozen/a"] else None

    status = wait_for(held, 20, "the pending plan of the push")
    assert status["appliedRevision"] == first  # not applied while paused
    assert status["stacks"]["frozen/a"]["appliedRevision"] == first
    assert status["stacks"]["frozen/a"]["seenRevision"] == second
    assert "paused" in status["stacks"]["frozen/a"]["error"]
    assert deployment.ids() == before and env_of(deployment, "a") == "1"

    done = syncd(deployment, "resume")
    assert done.returncode == 0, done.stderr
    assert "instance: applying (not paused)" in done.stdout
    wait_for(lambda: env_of(deployment, "a") == "2", 20, "the pending plan applied on resume")
    wait_for(lambda: daemon.status()["appliedRevision"] == second, 10, "the status")
    assert daemon.status()["paused"] is False
    assert daemon.terminate() == 0


def test_pausing_one_stack_through_the_api_holds_it_while_other_stacks_apply(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("a.yaml", stack("a", 1))
    repo.write("b.yaml", stack("b", 1))
    repo.commit("n=1")
    daemon = start(daemons, deployment, repo, "--drift-interval", "3600")
    wait_for(lambda: env_of(deployment, "a") == env_of(deployment, "b") == "1", what="both")

    body = {"stacks": ["frozen/a"], "reason": "db migration"}
    refused = daemon.http.post("/v2/syncd/pause", json=body)
    assert refused.status_code == 401  # an admin task: the read side may not pause
    answer = daemon.http.post("/v2/syncd/pause", json=body, headers=admin(daemon))
    assert answer.status_code == 200, answer.text
    assert answer.json()["pausedStacks"]["frozen/a"]["reason"] == "db migration"
    assert answer.json()["paused"] is False

    repo.write("a.yaml", stack("a", 2))
    repo.write("b.yaml", stack("b", 2))
    repo.commit("n=2")
    wait_for(lambda: env_of(deployment, "b") == "2", 20, "the other stack applied")
    wait_for(lambda: daemon.status()["heldStacks"] == ["frozen/a"], 10, "the held stack")
    assert env_of(deployment, "a") == "1"
    assert metric(daemon, 'syncd_paused{stack="frozen/a"} 1.0')
    assert metric(daemon, 'syncd_paused{stack=""} 0.0')

    bad = daemon.http.post("/v2/syncd/pause", json={"stacks": ["../etc"]}, headers=admin(daemon))
    assert bad.status_code == 400 and "is not a stack" in bad.json()["message"]
    many = daemon.http.post("/v2/syncd/pause", json={"stacks": ["x"] * 101}, headers=admin(daemon))
    assert many.status_code == 400

    done = syncd(deployment, "resume", "--stack", "frozen/a", "--api", daemon.url)
    assert done.returncode == 1 and "401" in done.stderr  # no admin token given
    resumed = subprocess.run(
        [sys.executable, "-m", "syncd", "resume", "--stack", "frozen/a", "--api", daemon.url],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "SYNCD_ADMIN_TOKEN": ADMIN},
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: env_of(deployment, "a") == "2", 20, "the held stack applied on resume")
    assert daemon.status()["pausedStacks"] == {}


def test_detect_mode_reports_a_hand_stopped_container_as_drift_and_never_writes(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    deployment.write("s.yaml", stack("a", 1))
    assert deployment.sync().ok
    repo = GitRepo(deployment.repo)
    repo.commit("n=1")
    container = deployment.container("appa")
    container.stop(timeout=2)
    since = time.time()
    daemon = start(daemons, deployment, repo, "--mode", "detect", "--drift-interval", "0.5")

    def drift() -> dict[str, Any] | None:
        status = daemon.status()
        counts = status.get("pendingCounts") or {}
        drifted = counts.get("start", 0) >= 1 and status["heldStacks"] == ["frozen/a"]
        return status if drifted and status["syncs"] >= 3 else None  # several drift passes

    status = wait_for(drift, 30, "the drift reported")
    assert status["mode"] == "detect"
    assert "detect mode" in status["stacks"]["frozen/a"]["error"]
    assert metric(daemon, 'syncd_mode{mode="detect"} 1.0')
    assert metric(daemon, "syncd_services_drifted 1.0")
    task = daemon.http.post(
        f"/v2/stacks/{STACK_A}/services/appa/actions/start", headers=admin(daemon)
    )
    assert task.status_code == 412 and "detect mode" in task.json()["message"]
    until = time.time()
    container.reload()
    assert container.status == "exited"  # the hand-stopped container stays stopped
    events = deployment.client.events(
        since=since, until=until, decode=True,
        filters={"label": f"{LABEL_INSTANCE}={deployment.instance}"},
    )  # fmt: skip
    written = [(e.get("Type"), e.get("Action")) for e in events if e.get("Action") in WRITES]
    assert written == []  # not one engine write
    assert daemon.terminate() == 0


def webhook(daemon: RunningDaemon) -> int:
    """A signed push webhook: a sync that is not routine (its history row is always kept)."""
    body = b'{"ref": "refs/heads/main"}'
    digest = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}
    return daemon.http.post("/hooks/git", content=body, headers=headers).status_code


def test_a_repeated_failure_of_one_revision_is_one_history_row_with_a_count(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("s.yaml", "kind: Stack\nproject: frozen\nservices: {app: {image: 12}}\n")
    broken = repo.commit("broken")
    daemon = start(daemons, deployment, repo, "--drift-interval", "3600")
    wait_for(lambda: daemon.status()["lastError"], 20, "the first failure")
    for n in (2, 3):  # each webhook: a sync of the same revision that fails the same way
        assert webhook(daemon) == 202
        wait_for(lambda n=n: daemon.status()["syncs"] >= n, 20, f"sync {n}")  # type: ignore[misc]

    rows = [s for s in daemon.syncs() if s["revision"] == broken]
    assert len(rows) == 1, rows
    [row] = rows
    assert row["count"] == 3
    assert row["result"] == "failed" and row["stage"] == "parse"
    assert moment(row["lastSeen"]) > moment(row["startedAt"])
    assert daemon.terminate() == 0
