"""Per-stack isolation in the daemon (issue 15): a commit that breaks stack A and changes
stack B applies B and keeps A running at its last good spec (self-heal included), with A's
located error in the status; fixing A applies A. An error no stack owns holds everything."""

from __future__ import annotations

from typing import Any

import pytest

from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"
STACK = """\
kind: Stack
project: iso
name: {name}
services:
  {service}:
    image: busybox:1.36
    command: [sh, -c, "{idle}"]
    environment: {{N: "{n}"}}
"""


def stack(name: str, service: str, n: int) -> str:
    return STACK.format(name=name, service=service, idle=IDLE, n=n)


def env_of(deployment: Deployment, service: str) -> str | None:
    found = deployment.containers(service=service)
    if len(found) != 1 or found[0].status != "running":
        return None
    env = found[0].attrs["Config"]["Env"]
    return next((e.split("=", 1)[1] for e in env if e.startswith("N=")), None)


def _running(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> tuple[GitRepo, str, RunningDaemon]:
    """Stacks iso/one (service a) and iso/two (service b) at N=1, applied by a daemon."""
    repo = GitRepo(deployment.repo)
    repo.write("one.yaml", stack("one", "a", 1))
    repo.write("two.yaml", stack("two", "b", 1))
    good = repo.commit("good")
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance,
        "--drift-interval", "3",  # self-heal also on a drift pass, not only on Docker's events
    )  # fmt: skip
    daemons.append(daemon)
    daemon.started()
    wait_for(
        lambda: env_of(deployment, "a") == "1" and env_of(deployment, "b") == "1",
        30,
        "the good revision",
    )
    return repo, good, daemon


def _error_of(daemon: RunningDaemon, revision: str) -> dict[str, Any]:
    status: dict[str, Any] = wait_for(
        lambda: (
            (s := daemon.status())["lastError"] and s["lastError"]["revision"] == revision and s
        ),
        20,
        "the revision's error",
    )
    return status


def test_a_broken_stack_keeps_its_last_good_spec_while_the_others_apply(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo, good, daemon = _running(deployment, daemons)
    kept = deployment.container("a").id
    repo.write("one.yaml", stack("one", "a", 2).replace("image:", "imagee:"))
    repo.write("two.yaml", stack("two", "b", 2))
    partial = repo.commit("break one, change two")

    wait_for(lambda: env_of(deployment, "b") == "2", 20, "the valid stack applied")
    status = _error_of(daemon, partial)
    assert status["lastError"]["stage"] == "parse"
    assert "iso/one" in status["lastError"]["message"]
    [broken] = status["brokenStacks"]
    assert broken["stack"] == "iso/one"
    assert broken["problems"] == [
        "one.yaml:6:5: /services/a/imagee: unknown field 'imagee' (did you mean 'image'?)"
    ]
    assert "one.yaml:6:5" in status["stacks"]["iso/one"]["error"]
    assert status["stacks"]["iso/one"]["appliedRevision"] == good
    assert status["stacks"]["iso/two"]["appliedRevision"] == partial
    assert status["stacks"]["iso/two"]["error"] is None
    assert status["goodRevision"] == good  # a partial revision is not a good one
    assert deployment.container("a").id == kept and env_of(deployment, "a") == "1"

    # self-heal: the broken stack comes back at its last good spec, the other one stays new
    started = deployment.container("a").attrs["State"]["StartedAt"]
    deployment.container("a").stop(timeout=2)
    wait_for(
        lambda: (
            deployment.container("a").attrs["State"]["StartedAt"] != started
            and env_of(deployment, "a") == "1"
        ),
        20,
        "self-heal of the broken stack at its last good spec",
    )
    assert env_of(deployment, "b") == "2"
    assert "Traceback" not in daemon.log()

    repo.write("one.yaml", stack("one", "a", 3))
    fixed = repo.commit("fix one")
    wait_for(lambda: env_of(deployment, "a") == "3", 20, "the fixed stack")
    status = wait_for(lambda: (s := daemon.status())["lastError"] is None and s, 10, "no error")
    assert status["appliedRevision"] == fixed and status["brokenStacks"] == []
    assert env_of(deployment, "b") == "2"


def test_an_error_no_stack_owns_holds_every_stack_and_says_why(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo, good, daemon = _running(deployment, daemons)
    ids = deployment.ids()
    repo.write("one.yaml", "kind: Stack\nproject: iso\nname: one\nservices: [\n")  # no YAML
    repo.write("two.yaml", stack("two", "b", 2))
    held = repo.commit("unreadable file, change two")

    status = _error_of(daemon, held)
    message = status["lastError"]["message"]
    assert message.startswith("held: one.yaml:"), message
    assert "cannot be attributed to one stack" in message
    assert deployment.ids() == ids  # nothing applied, nothing removed
    assert env_of(deployment, "a") == "1" and env_of(deployment, "b") == "1"
    assert status["appliedRevision"] == good
