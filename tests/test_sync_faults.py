"""A sync that fails in any stage, however (a bug included), ends with its stage in the history
and the status, and without a plan for the head the last good revision stays enforced.

The daemon runs in this process, on a real git repository and real Docker, with one stage made
to raise an exception syncd does not expect (its text stands for a secret's value).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog.testing

from syncd.daemon.config import RunConfig
from syncd.daemon.loop import Daemon
from syncd.daemon.status import Trigger
from syncd.manifests import read_manifests
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.test_daemon import env_of, stack

pytestmark = pytest.mark.docker

SECRET = "hunter2-from-the-environment"


class Bug(Exception):
    """What a bug in syncd raises; its text must reach no status, history or log."""


@pytest.fixture
def repo(deployment: Deployment) -> GitRepo:
    repo = GitRepo(deployment.repo)
    repo.write("s.yaml", stack(1))
    repo.commit("one")
    return repo


@pytest.fixture
def daemon(deployment: Deployment, repo: GitRepo) -> Iterator[Daemon]:
    running = Daemon(
        RunConfig(repo=str(repo.path)), deployment.settings, {}, engine=deployment.engine
    )
    try:
        yield running
    finally:
        running.store.close()


def _faulty(original: Callable[..., Any], head: str, revision_of: Callable[..., Any]) -> Any:
    """`original`, raising `Bug` when called for the `head` revision (never for the last good
    one, which the fallback still reads, resolves, plans and applies)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        if revision_of(*args) == head:
            raise Bug(f"password={SECRET}")
        return original(*args, **kwargs)

    return call


def _inject(daemon: Daemon, stage: str, head: str, monkeypatch: pytest.MonkeyPatch) -> None:
    reconciler = daemon.reconciler
    always = ""  # fetch and parse break for every revision: the last good one is in memory
    match stage:
        case "fetch":
            faulty = _faulty(daemon.repo.head, always, lambda: always)
            monkeypatch.setattr(daemon.repo, "head", faulty)
        case "parse":
            faulty = _faulty(read_manifests, always, lambda *_: always)
            monkeypatch.setattr("syncd.daemon.revisions.read_manifests", faulty)
        case "resolve":
            faulty = _faulty(reconciler.resolve, head, lambda _m, revision, _o: revision)
            monkeypatch.setattr(reconciler, "resolve", faulty)
        case "plan":
            faulty = _faulty(reconciler.plan_for, head, lambda desired, _o: desired.revision)
            monkeypatch.setattr(reconciler, "plan_for", faulty)
        case "apply":
            faulty = _faulty(reconciler.execute, head, lambda planned: planned.desired.revision)
            monkeypatch.setattr(reconciler, "execute", faulty)
        case "record":
            store = daemon.store
            monkeypatch.setattr(
                store, "set_good_revision", _faulty(store.set_good_revision, head, str)
            )


# stage -> (history result, the revision whose N runs afterwards, retried with backoff)
FAULTS = {
    "fetch": ("crashed", "1", True),  # the head is unknown: the last good one is enforced
    "parse": ("failed", "1", False),  # a located manifest problem; waits for a new commit
    "resolve": ("crashed", "1", False),
    "plan": ("crashed", "1", False),
    "apply": ("crashed", None, True),  # the head's plan was being applied: retried
    "record": ("crashed", "2", True),  # applied, but not recorded: retried
}


@pytest.mark.parametrize("stage", list(FAULTS))
def test_an_unexpected_error_in_any_stage_ends_the_sync_and_self_heal_goes_on(
    daemon: Daemon,
    deployment: Deployment,
    repo: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
) -> None:
    result, running, retried = FAULTS[stage]
    assert daemon.sync_once({Trigger.START}) is not None and env_of(deployment) == "1"
    good = daemon.status.good_revision
    repo.write("s.yaml", stack(2))
    head = repo.commit("two")
    deployment.container("app").stop(timeout=2)
    _inject(daemon, stage, head, monkeypatch)

    with structlog.testing.capture_logs() as events:
        daemon.sync_once({Trigger.WATCH})

    rows = daemon.store.syncs()
    assert [r for r in rows if r.result == "running"] == [], rows
    assert (rows[0].result, rows[0].stage) == (result, stage), rows[0]
    error = daemon.status.as_dict()["lastError"]
    assert error is not None and error["stage"] == stage, error
    if stage == "parse":  # the reader broke: the file it broke on is named
        assert error["problems"] and error["problems"][0].startswith("s.yaml: "), error
    else:
        assert "internal error Bug" in error["message"], error
    failed = [e for e in events if e["event"] == "sync_failed"]
    assert len(failed) == 1 and failed[0]["stage"] == stage, events
    shown = json.dumps([daemon.status.as_dict(), rows, events], default=str)
    assert SECRET not in shown
    assert env_of(deployment) == running  # None: still stopped, the retry will start it
    assert daemon.status.good_revision == good  # until the head applied and was recorded
    assert (daemon.status.next_retry_in is not None) == retried


def test_a_revision_that_failed_on_its_own_is_not_read_again_until_the_branch_moves(
    daemon: Daemon, deployment: Deployment, repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert daemon.sync_once({Trigger.START}) is not None
    repo.write("s.yaml", stack(2).replace('{N: "2"}', "{N: [}"))
    repo.commit("broken")
    calls: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return read_manifests(*args, **kwargs)

    monkeypatch.setattr("syncd.daemon.revisions.read_manifests", counted)
    daemon.sync_once({Trigger.WATCH})
    assert calls and daemon.status.next_retry_in is None
    read, rows = len(calls), len(daemon.store.syncs())
    deployment.container("app").kill()
    daemon.sync_once({Trigger.DOCKER_EVENT})  # heals, without reading the head again
    assert env_of(deployment) == "1" and len(calls) == read
    # the same failure of the same revision again: one history row, counted (issue 15)
    assert len(daemon.store.syncs()) == rows and daemon.store.syncs()[0].count == 2
    daemon.sync_once({Trigger.DRIFT})  # nothing to heal: a routine pass is not kept
    assert len(daemon.store.syncs()) == rows and len(calls) == read
    assert (error := daemon.status.as_dict()["lastError"]) is not None and error["stage"] == "parse"

    repo.write("s.yaml", stack(3))
    repo.commit("fixed")
    assert daemon.sync_once({Trigger.WATCH}) is not None
    assert env_of(deployment) == "3" and daemon.status.last_error is None


def test_a_garbage_collected_last_good_revision_is_reported_after_a_restart(
    daemon: Daemon, deployment: Deployment, repo: GitRepo
) -> None:
    assert daemon.sync_once({Trigger.START}) is not None
    good = daemon.status.good_revision
    assert good is not None
    daemon.store.close()
    repo.git("checkout", "-q", "--orphan", "rewritten")
    repo.write("s.yaml", stack(2).replace("image:", "imagee:"))
    broken = repo.commit("history rewritten, and broken")
    repo.git("branch", "-M", "rewritten", "main")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    gone = subprocess.run(["git", "cat-file", "-e", good], cwd=repo.path, check=False)
    assert gone.returncode != 0

    again = Daemon(
        RunConfig(repo=str(repo.path)), deployment.settings, {}, engine=deployment.engine
    )
    try:
        assert again.status.good_revision == good  # kept in the store
        again.sync_once({Trigger.START})
        status = again.status.as_dict()
        assert status["lastError"]["stage"] == "parse"
        assert status["lastError"]["revision"] == broken
        assert "garbage-collected" in status["goodRevisionError"]
        assert good[:12] in status["goodRevisionError"]
        assert env_of(deployment) == "1"  # nothing was torn down either
        assert again.store.syncs()[0].result == "failed"
    finally:
        again.store.close()
