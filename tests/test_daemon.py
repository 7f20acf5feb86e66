"""`syncd run` end to end: real git repositories, real Docker, the daemon as a real process."""

from __future__ import annotations

import hashlib
import hmac
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"
STACK = """\
kind: Stack
project: live
services:
  app:
    image: busybox:1.36
    command: [sh, -c, "{idle}"]
    environment: {{N: "{n}"}}
"""
SECRET = "webhook-test-secret"


def stack(n: int) -> str:
    return STACK.format(idle=IDLE, n=n)


def env_of(deployment: Deployment, service: str = "app") -> str | None:
    found = deployment.containers(service=service)
    if len(found) != 1 or found[0].status != "running":
        return None
    env = found[0].attrs["Config"]["Env"]
    return next((e.split("=", 1)[1] for e in env if e.startswith("N=")), None)


def pushed_repo(tmp_path: Path) -> tuple[Path, GitRepo]:
    """A bare repository (the host's, or a remote) and a clone-like work tree pushing to it,
    with `stack(1)` committed and pushed."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(bare))
    push(work, 1)
    return bare, work


def push(work: GitRepo, n: int, branch: str = "main") -> None:
    work.write("s.yaml", stack(n))
    work.commit(f"n={n}")
    work.git("push", "-q", "origin", f"HEAD:{branch}")


def start(
    daemons: list[RunningDaemon], repo: str, deployment: Deployment, *extra: str
) -> RunningDaemon:
    daemon = RunningDaemon(
        repo, deployment.settings.data_dir, deployment.instance, *extra,
        env={"SYNCD_WEBHOOK_SECRET": SECRET},
    )  # fmt: skip
    daemons.append(daemon)
    return daemon.started()


def watched(
    deployment: Deployment, daemons: list[RunningDaemon], n: int = 1
) -> tuple[GitRepo, RunningDaemon]:
    """A work tree with `stack(n)` committed, and a daemon (no drift pass) that applied it."""
    repo = GitRepo(deployment.repo)
    repo.write("s.yaml", stack(n))
    repo.commit(f"n={n}")
    daemon = start(daemons, str(repo.path), deployment, "--drift-interval", "3600")
    wait_for(lambda: env_of(deployment) == str(n), what="the first revision")
    return repo, daemon


def test_a_commit_to_a_watched_work_tree_runs_without_any_other_step(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo, daemon = watched(deployment, daemons, 1)
    for n in (2, 3):
        repo.write("s.yaml", stack(n))
        head = repo.commit(f"n={n}")
        wait_for(lambda n=n: env_of(deployment) == str(n), 15, f"N={n}")  # type: ignore[misc]
        wait_for(lambda h=head: daemon.status()["appliedRevision"] == h, 5, "the status")  # type: ignore[misc]
    repo.write("s.yaml", stack(4))  # uncommitted edits are not applied
    time.sleep(1)
    assert env_of(deployment) == "3"
    assert {s["trigger"] for s in daemon.syncs()} >= {"start", "watch"}
    assert daemon.terminate() == 0


def test_git_push_to_a_bare_repo_on_the_host_is_applied(
    deployment: Deployment, daemons: list[RunningDaemon], tmp_path: Path
) -> None:
    bare, work = pushed_repo(tmp_path)
    start(daemons, str(bare), deployment, "--drift-interval", "3600")
    wait_for(lambda: env_of(deployment) == "1", what="the first push")
    push(work, 2)
    wait_for(lambda: env_of(deployment) == "2", 15, "the second push")


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def test_a_signed_webhook_triggers_a_sync_and_a_bad_signature_is_refused(
    deployment: Deployment, daemons: list[RunningDaemon], tmp_path: Path
) -> None:
    bare, work = pushed_repo(tmp_path)
    daemon = start(
        daemons, f"file://{bare}", deployment, "--poll-interval", "3600", "--drift-interval", "3600"
    )
    wait_for(lambda: env_of(deployment) == "1", what="the first revision")
    push(work, 2)
    body = b'{"ref": "refs/heads/main"}'
    before = len(daemon.syncs())
    for headers in ({}, _signed(body, "wrong-secret"), {"X-Gitlab-Token": "nope"}):
        answer = daemon.http.post("/hooks/git", content=body, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["type"] == "Unauthorized"
    time.sleep(1)
    assert len(daemon.syncs()) == before and env_of(deployment) == "1"
    assert "webhook_rejected" in daemon.log()

    answer = daemon.http.post("/hooks/git", content=body, headers=_signed(body))
    assert answer.status_code == 202 and answer.json()["sync"] is True
    wait_for(lambda: env_of(deployment) == "2", 15, "the webhook's sync")
    # its row (a pass the container's Docker events trigger may already run after it)
    wait_for(
        lambda: next(s for s in daemon.syncs() if s["result"] != "running")["trigger"] == "webhook",
        15,
        "the webhook's history row",
    )


def _running_good(
    deployment: Deployment, daemons: list[RunningDaemon], *args: str
) -> tuple[GitRepo, str, RunningDaemon]:
    """A repo whose one commit (N=1) a started daemon has applied: the repo, that revision and
    the daemon."""
    repo = GitRepo(deployment.repo)
    repo.write("s.yaml", stack(1))
    good = repo.commit("good")
    daemon = start(daemons, str(repo.path), deployment, *args)
    wait_for(lambda: env_of(deployment) == "1", what="the good revision")
    return repo, good, daemon


def test_a_broken_commit_changes_nothing_and_the_next_good_one_applies(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo, good, daemon = _running_good(deployment, daemons)
    before = deployment.container("app").id
    repo.write("s.yaml", stack(2).replace("image:", "imagee:"))
    broken = repo.commit("broken")
    status = wait_for(
        lambda: (s := daemon.status())["lastError"] and s["seenRevision"] == broken and s,
        15,
        "the broken revision's error",
    )
    assert status["lastError"]["stage"] == "parse"
    assert (
        "s.yaml:5:5: /services/app/imagee: unknown field 'imagee'" in status["lastError"]["message"]
    )
    assert status["appliedRevision"] == good
    assert status["stacks"]["live/default"]["appliedRevision"] == good
    assert "s.yaml:5:5" in status["stacks"]["live/default"]["error"]
    assert "s.yaml:5:5" in daemon.log()
    assert deployment.container("app").id == before and env_of(deployment) == "1"

    repo.write("s.yaml", stack(3))
    fixed = repo.commit("fixed")
    wait_for(lambda: env_of(deployment) == "3", 15, "the fixed revision")
    wait_for(lambda: daemon.status()["lastError"] is None, 5, "the error to clear")
    assert daemon.status()["appliedRevision"] == fixed


CRASHING = stack(2).replace('{N: "2"}', "{N: !!int abc}")  # crashed the manifest reader
FAILING_TEST_OP = """\
kind: StackPatch
project: live
stack: default
patch:
  - {op: test, path: /services/app/image, value: "nginx:1.27"}
  - {op: replace, path: /services/app/image, value: "busybox:1.36"}
"""


def _unusable_head(daemon: RunningDaemon, revision: str, file: str) -> dict[str, Any]:
    """The status once the daemon reported `revision` as unusable: a parse-stage error that
    names `file` (with its position, when the reader could tell it)."""
    status: dict[str, Any] = wait_for(
        lambda: (
            (s := daemon.status())["lastError"] and s["lastError"]["revision"] == revision and s
        ),
        15,
        "the head's error",
    )
    error = status["lastError"]
    assert error["stage"] == "parse", error
    assert error["problems"] and all(p.startswith(file) for p in error["problems"]), error
    assert file in error["message"]
    return status


def _settled(daemon: RunningDaemon) -> list[dict[str, Any]]:
    """The history once every sync in it has ended (a row left `running` never does)."""
    rows: list[dict[str, Any]] = wait_for(
        lambda: (h := daemon.syncs()) and all(r["result"] != "running" for r in h) and h,
        15,
        "every sync in the history to end",
    )
    return rows


def _healed(deployment: Deployment, n: int) -> None:
    """Stop the service's container as `docker stop` does: self-heal must start it again."""
    container = deployment.container("app")
    started = container.attrs["State"]["StartedAt"]
    container.stop(timeout=2)

    def restarted() -> bool:
        again = deployment.container("app").attrs["State"]["StartedAt"] != started
        return again and env_of(deployment) == str(n)

    wait_for(restarted, 15, "self-heal with the last good revision")


@pytest.mark.parametrize(
    ("file", "content"),
    [("s.yaml", CRASHING), ("p.yaml", FAILING_TEST_OP)],
    ids=["reader-crash", "stackpatch-test-op"],
)
def test_an_unusable_head_keeps_the_last_good_revision_enforced(
    deployment: Deployment, daemons: list[RunningDaemon], file: str, content: str
) -> None:
    repo, good, daemon = _running_good(deployment, daemons, "--drift-interval", "3600")
    repo.write(file, content)
    broken = repo.commit("unusable")
    status = _unusable_head(daemon, broken, file)
    assert status["goodRevision"] == good and status["appliedRevision"] == good
    assert status["nextRetryIn"] is None  # the revision waits for the next commit

    _healed(deployment, 1)
    rows = _settled(daemon)
    mine = [r for r in rows if r["revision"] == broken]
    assert mine and {(r["result"], r["stage"]) for r in mine} == {("failed", "parse")}, mine
    assert not [r for r in mine if "retry" in r["trigger"]], mine  # no retry of its own
    assert daemon.status()["lastError"]["revision"] == broken
    assert "Traceback" not in daemon.log()

    (repo.path / file).unlink()
    repo.write("s.yaml", stack(3))
    repo.commit("fixed")
    wait_for(lambda: env_of(deployment) == "3", 15, "the fixed revision")
    wait_for(lambda: daemon.status()["lastError"] is None, 5, "the error to clear")


def test_a_restart_while_the_head_is_broken_still_enforces_the_last_good_revision(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo, good, first = _running_good(deployment, daemons, "--drift-interval", "3600")
    repo.write("s.yaml", stack(2).replace("image:", "imagee:"))
    broken = repo.commit("broken")
    _unusable_head(first, broken, "s.yaml:5:5")
    first.kill()
    deployment.container("app").stop(timeout=2)  # while no daemon runs

    second = start(daemons, str(repo.path), deployment, "--drift-interval", "3600")
    wait_for(lambda: env_of(deployment) == "1", 20, "the last good revision, after the restart")
    status = _unusable_head(second, broken, "s.yaml:5:5")
    assert status["goodRevision"] == good and status["goodRevisionError"] is None
    projects = second.http.get("/v2/projects").json()
    assert [p["description"] for p in projects] == ["live"], projects
    stacks = second.http.get(f"/v2/projects/{projects[0]['id']}/stacks").json()
    assert len(stacks) == 1 and stacks[0]["services"], stacks
    _healed(deployment, 1)  # and self-heal goes on
    _settled(second)


def test_a_stack_patch_bomb_is_a_parse_error_that_waits_for_the_next_revision(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo, good, daemon = _running_good(deployment, daemons)
    copy = "  - {op: copy, from: /services/app/command, path: /services/app/command/-}\n"
    repo.write("p.yaml", "kind: StackPatch\nproject: live\npatch:\n" + copy * 18)
    bomb = repo.commit("a copy bomb")
    status = wait_for(
        lambda: (s := daemon.status())["lastError"] and s["seenRevision"] == bomb and s,
        30,
        "the bomb's error",
    )
    error = status["lastError"]
    assert error["stage"] == "parse" and status["nextRetryIn"] is None  # no retry loop
    assert "p.yaml:" in error["message"] and "/patch/" in error["message"]
    assert "values (a copy loop?); refused" in error["message"]
    assert status["appliedRevision"] == good and env_of(deployment) == "1"


def test_a_killed_container_is_restarted_on_its_docker_event(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    _, daemon = watched(deployment, daemons, 1)
    deployment.container("app").kill()
    wait_for(lambda: env_of(deployment) == "1", 10, "self-heal on the die event")
    assert any("docker_event" in s["trigger"] for s in daemon.syncs())


def test_ten_pushes_in_a_second_give_at_most_two_syncs(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo, daemon = watched(deployment, daemons, 0)
    time.sleep(1.5)  # let the start's own Docker events pass
    before = len(daemon.syncs())
    # ten commits made aside (no ref moves), then the branch moved to each in turn by one git
    # process: ten pushes within milliseconds, however loaded the machine
    head, moves = repo.git("rev-parse", "HEAD"), []
    for n in range(1, 11):
        repo.write("s.yaml", stack(n))
        repo.git("add", "-A")
        head = repo.git("commit-tree", repo.git("write-tree"), "-p", head, "-m", f"n={n}")
        moves.append(f"start\nupdate refs/heads/main {head}\ncommit\n")
    subprocess.run(
        ["git", "update-ref", "--stdin"], input="".join(moves), text=True, cwd=repo.path,
        check=True, capture_output=True,
    )  # fmt: skip
    assert repo.git("rev-parse", "HEAD") == head
    wait_for(lambda: env_of(deployment) == "10", 30, "the last push")
    time.sleep(1.5)
    new = daemon.syncs()[: len(daemon.syncs()) - before]
    assert 1 <= len([s for s in new if "watch" in s["trigger"]]) <= 2, new


def test_history_rewrites_deleted_branches_and_unreachable_remotes_recover(
    deployment: Deployment, daemons: list[RunningDaemon], tmp_path: Path
) -> None:
    bare, work = pushed_repo(tmp_path)
    daemon = start(daemons, f"file://{bare}", deployment, "--poll-interval", "0.3")
    wait_for(lambda: env_of(deployment) == "1", what="the first revision")

    work.git("checkout", "-q", "--orphan", "rewritten")
    work.write("s.yaml", stack(2))
    rewritten = work.commit("history rewritten")
    work.git("push", "-q", "--force", "origin", "HEAD:main")
    wait_for(lambda: env_of(deployment) == "2", 15, "the force-pushed revision")
    wait_for(lambda: daemon.status()["appliedRevision"] == rewritten, 5, "the status")

    # deleted on the server (a push cannot delete a bare repo's current branch)
    subprocess.run(
        ["git", "--git-dir", str(bare), "update-ref", "-d", "refs/heads/main"], check=True
    )
    wait_for(
        lambda: "does not exist" in str(daemon.status()["lastError"]), 15, "the deleted branch"
    )
    assert daemon.status()["lastError"]["stage"] == "fetch"
    push(work, 3)  # re-creates main
    wait_for(lambda: env_of(deployment) == "3", 30, "the re-created branch")
    wait_for(lambda: daemon.status()["lastError"] is None, 30, "the fetch error to clear")

    moved = tmp_path / "elsewhere.git"
    bare.rename(moved)
    wait_for(lambda: daemon.status()["lastError"] is not None, 15, "the unreachable remote")
    assert env_of(deployment) == "3"
    moved.rename(bare)
    push(work, 4)
    wait_for(lambda: env_of(deployment) == "4", 60, "recovery after the remote is back")


SLOW = """\
kind: Stack
project: live
services:
  db:
    image: busybox:1.36
    command: [sh, -c, "sleep 2; touch /tmp/ok; {idle}"]
    healthcheck: {{test: [CMD, test, -f, /tmp/ok], interval: 1s, timeout: 1s, retries: 30}}
    environment: {{N: "{n}"}}
  app:
    image: busybox:1.36
    command: [sh, -c, "{idle}"]
    environment: {{N: "{n}"}}
    dependsOn: {{db: service_healthy}}
"""


def test_sigkill_mid_sync_then_restart_converges_with_history_intact(
    deployment: Deployment, daemons: list[RunningDaemon]
) -> None:
    repo = GitRepo(deployment.repo)
    repo.write("s.yaml", SLOW.format(idle=IDLE, n=1))
    repo.commit("one")
    first = start(daemons, str(repo.path), deployment)
    wait_for(lambda: env_of(deployment) == "1", 30, "the first revision")
    repo.write("s.yaml", SLOW.format(idle=IDLE, n=2))
    two = repo.commit("two")

    def pushed_sync_running() -> bool:  # the pass that applies it (not a routine one's tail)
        status = first.status()
        return bool(status["syncing"] and status["seenRevision"] == two)

    wait_for(pushed_sync_running, 20, "the second sync to start")
    time.sleep(0.5)  # mid-way: db recreated, app waiting for db's health
    # a routine pass that finds nothing leaves no row: only the rows that stay are compared
    history = [r for r in first.syncs() if r["result"] != "running" or "watch" in r["trigger"]]
    first.kill()

    second = start(daemons, str(repo.path), deployment)
    wait_for(lambda: env_of(deployment) == "2" and env_of(deployment, "db") == "2", 30, "N=2")
    assert sorted(c.labels["syncd.service"] for c in deployment.containers()) == ["app", "db"]
    after = second.syncs()
    assert {s["id"] for s in history} <= {s["id"] for s in after}
    assert "interrupted" in [s["result"] for s in after]
    started = time.monotonic()
    assert second.terminate() == 0
    assert time.monotonic() - started < 10


def test_start_up_errors_say_what_is_wrong(tmp_path: Path, deployment: Deployment) -> None:
    def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        daemon = RunningDaemon(args[0], tmp_path / "data", deployment.instance, *args[1:], env=env)
        try:
            code = daemon.process.wait(30)
            return code, daemon.log()
        finally:
            daemon.close()

    code, out = run(str(tmp_path / "missing"))
    assert code == 78 and "does not exist" in out
    repo = GitRepo(tmp_path / "repo")
    repo.write("s.yaml", stack(1))
    repo.commit("one")
    code, out = run(str(repo.path), "--branch", "nope")
    assert code == 78 and "branch 'nope' does not exist" in out
    code, out = run(str(repo.path), env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert code == 69 and "cannot reach the Docker engine" in out
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, out = run(str(repo.path), "--listen", f"127.0.0.1:{port}")
    assert code == 73 and f"cannot listen on 127.0.0.1:{port}" in out


def test_print_config_shows_one_precedence_order_and_hides_secrets(tmp_path: Path) -> None:
    config = tmp_path / "syncd.yaml"
    config.write_text(
        "repo: /from/file\ninstance: fromfile\npoll-interval: 5\nlisten: 127.0.0.1:9\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "run", "--config", str(config), "--print-config",
         "--instance", "fromflag"],
        capture_output=True, text=True, check=False,
        env={"SYNCD_LISTEN": "127.0.0.1:7", "SYNCD_WEBHOOK_SECRET": "hush", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line[0] != "#"}
    assert "fromflag  (flag)" in lines["instance"]
    assert "127.0.0.1:7  (env)" in lines["listen"]
    assert "/from/file  (config file)" in lines["repo"]
    assert "5.0  (config file)" in lines["poll-interval"]
    assert "60.0  (default)" in lines["drift-interval"]
    assert "hush" not in done.stdout and "<redacted>" in lines["webhook-secret"]
