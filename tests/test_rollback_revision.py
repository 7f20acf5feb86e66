"""`--rollback=revision` (issue 15): a sync in which one service's replace rolls back returns
every service it changed to the last good revision; the daemon then holds the head (nothing of
it runs, the good revision is enforced) until the flap guard's backoff ends. `service` (the
default) rolls back the failing service alone: tests/test_rollback_docker.py."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from syncd.cli.main import main
from tests.daemon_support import RunningDaemon, free_port, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo
from tests.test_isolation_daemon import env_of
from tests.test_isolation_daemon import stack as isolation_stack

pytestmark = pytest.mark.docker


def stack(name: str, service: str, n: int, port: int | None = None) -> str:
    """The isolation tests' stack, publishing `port` when given."""
    ports = f'    ports: ["{port}:80/tcp"]\n' if port else ""
    return isolation_stack(name, service, n) + ports


@pytest.fixture
def taken() -> Iterator[int]:
    """A port in use on 127.0.0.1: a container publishing it cannot start."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def _two_stacks(repo: GitRepo, n: int, port: int) -> str:
    """iso/one (service a, publishing `port`) and iso/two (service b), both at N=`n`."""
    repo.write("one.yaml", stack("one", "a", n, port))
    repo.write("two.yaml", stack("two", "b", n))
    return repo.commit(f"N={n}")


def test_apply_returns_every_change_to_the_last_good_revision(
    deployment: Deployment, taken: int, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(deployment.repo)
    good = _two_stacks(repo, 1, free_port())
    args = ["apply", *deployment.cli_args(repo.path), "--rollback", "revision"]
    assert main([*args, "--rev", good]) == 0
    kept = deployment.container("a").id
    capsys.readouterr()

    bad = _two_stacks(repo, 2, taken)  # b changes fine; a's new container cannot publish
    assert main([*args, "--rev", bad]) == 3
    captured = capsys.readouterr()
    assert f"returning every change to the last good revision {good[:12]}" in captured.err
    assert "returned to the last good revision" in captured.out
    assert env_of(deployment, "b") == "1", "b returned to the good revision"
    assert deployment.container("a").id == kept and env_of(deployment, "a") == "1"

    # the same revision again, within the backoff: refused whole, nothing applied
    ids = deployment.ids()
    assert main([*args, "--rev", bad]) == 1
    assert "nothing applied, the last good revision" in capsys.readouterr().err
    assert deployment.ids() == ids and env_of(deployment, "b") == "1"

    # the default scope: b takes its change, a's spec stays held by the flap guard
    assert main(["apply", *deployment.cli_args(repo.path), "--rev", bad]) == 0
    assert "held: rolled back at" in capsys.readouterr().out
    assert env_of(deployment, "b") == "2"
    assert deployment.container("a").id == kept and env_of(deployment, "a") == "1"


def test_daemon_returns_to_the_good_revision_and_holds_the_head(
    deployment: Deployment, taken: int, daemons: list[RunningDaemon]
) -> None:
    repo = GitRepo(deployment.repo)
    good = _two_stacks(repo, 1, free_port())
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance,
        "--rollback", "revision", "--rollback-grace", "0.5", "--drift-interval", "2",
    )  # fmt: skip
    daemons.append(daemon)
    daemon.started()
    wait_for(lambda: env_of(deployment, "b") == "1" and env_of(deployment, "a") == "1", 30, "good")
    kept = deployment.container("a").id

    bad = _two_stacks(repo, 2, taken)
    # the pass that rolled back is in the history (the status moves on at once: the next pass,
    # a few milliseconds later, reports the head held)
    row = wait_for(
        lambda: next(
            (r for r in daemon.syncs() if r["revision"] == bad and r["stage"] == "apply"
             and "rolled back to the last good revision" in (r["error"] or "")),
            None,
        ),
        60,
        "the revision rolled back",
    )  # fmt: skip
    assert good[:12] in row["error"] and "iso/one/a" in row["error"]
    wait_for(lambda: env_of(deployment, "b") == "1", 20, "b back at the good revision")
    assert deployment.container("a").id == kept and env_of(deployment, "a") == "1"

    # later passes of the same head: held whole (no flapping of b, a untouched)
    b_id = deployment.container("b").id
    status = wait_for(
        lambda: (
            (s := daemon.status())["lastError"]
            and s["lastError"]["revision"] == bad
            and "held" in s["lastError"]["message"]
            and s
        ),
        30,
        "the head held",
    )
    held = status["lastError"]
    assert held["stage"] == "apply" and good[:12] in held["message"]
    # the held head still says why it rolled back (the port its new container could not take)
    assert "it rolled back: iso/one/a: rolled back:" in held["message"]
    assert "address already in use" in held["message"]
    time.sleep(4)  # two drift passes more
    assert deployment.container("b").id == b_id and env_of(deployment, "b") == "1"
    assert deployment.container("a").id == kept
