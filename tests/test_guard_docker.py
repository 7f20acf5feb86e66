"""The removal guards on real Docker, through the CLI (and a pty for the question) and the
daemon: an instance belongs to its source; a mass removal needs the flag."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.cli.main import main
from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"


def stack(*names: str) -> str:
    body = "".join(
        f'  {n}:\n    image: busybox:1.36\n    command: [sh, -c, "{IDLE}"]\n' for n in names
    )
    return f"kind: Stack\nproject: guard\nservices:\n{body}"


def services(deployment: Deployment) -> set[str]:
    return {c.labels["syncd.service"] for c in deployment.containers()}


def repo_with(path: Path, *names: str) -> GitRepo:
    repo = GitRepo(path)
    repo.write("stack.yaml", stack(*names))
    repo.commit("stack")
    return repo


def test_another_repository_removes_nothing_and_adopt_takes_over(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = repo_with(tmp_path / "first", "a", "b", "c")
    other = repo_with(tmp_path / "other", "a", "b")  # c would go: 1 of 3, not a mass removal
    assert main(["apply", *deployment.cli_args(first.path)]) == 0
    assert services(deployment) == {"a", "b", "c"}
    capsys.readouterr()

    assert main(["apply", *deployment.cli_args(other.path)]) == 1
    err = capsys.readouterr().err
    assert f"belongs to {first.path.resolve()} (branch main)" in err and "--adopt" in err
    assert services(deployment) == {"a", "b", "c"}

    assert main(["apply", *deployment.cli_args(other.path), "--adopt"]) == 0
    assert services(deployment) == {"a", "b"}
    capsys.readouterr()
    # now the first repository is the other one
    first.write("stack.yaml", stack("a"))
    assert main(["apply", *deployment.cli_args(first.path)]) == 1
    assert f"belongs to {other.path.resolve()}" in capsys.readouterr().err
    assert services(deployment) == {"a", "b"}


def test_a_sync_removing_more_than_half_the_services_needs_the_flag(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = repo_with(tmp_path / "repo", "a", "b", "c")
    args = deployment.cli_args(repo.path)
    assert main(["apply", *args]) == 0
    repo.write("stack.yaml", stack("a"))
    capsys.readouterr()
    assert main(["apply", *args, "--dry-run"]) == 0
    assert "an apply would be refused" in capsys.readouterr().out
    assert main(["plan", *args]) == 2  # a reviewer sees it before the merge
    assert "an apply would be refused: the sync would remove 2" in capsys.readouterr().err
    assert main(["apply", *args]) == 1
    assert "remove 2 of the instance's 3 services" in capsys.readouterr().err
    assert services(deployment) == {"a", "b", "c"}
    assert main(["apply", *args, "--max-removal-share", "70"]) == 0  # 2 of 3 is 67 %
    assert services(deployment) == {"a"}
    repo.write("stack.yaml", "kind: Stack\nproject: guard\nservices: {}\n")
    assert main(["apply", *args]) == 1
    assert main(["apply", *args, "--allow-mass-removal"]) == 0
    assert services(deployment) == set()


def _answer(deployment: Deployment, repo: Path, reply: bytes | None, *extra: str) -> str:
    """`syncd apply` on a real terminal (a pty): what it printed; `reply` typed at the question."""
    command = [sys.executable, "-m", "syncd", "apply", *deployment.cli_args(repo), *extra]
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin and stdout are the terminal
        os.execvpe(command[0], command, {**os.environ, "PYTHONPATH": os.getcwd()})
    out = b""
    replied = reply is None
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            os.kill(pid, 9)
            raise AssertionError(f"no answer from syncd apply: {out!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
        if not replied and b"[y/N]" in out:
            os.write(fd, reply or b"")
            replied = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return f"exit {os.waitstatus_to_exitcode(status)}\n" + out.decode(errors="replace")


def test_apply_on_a_terminal_asks_before_removing(deployment: Deployment, tmp_path: Path) -> None:
    repo = repo_with(tmp_path / "repo", "a", "b")
    assert main(["apply", *deployment.cli_args(repo.path)]) == 0
    repo.write("stack.yaml", stack("a"))

    said = _answer(deployment, repo.path, b"n\n")
    assert "Remove 1 service? [y/N]" in said and "guard/default/b" in said
    assert said.startswith("exit 1") and "not confirmed" in said
    assert services(deployment) == {"a", "b"}

    said = _answer(deployment, repo.path, b"y\n")
    assert said.startswith("exit 0"), said
    assert services(deployment) == {"a"}

    repo.write("stack.yaml", stack("a", "b"))
    said = _answer(deployment, repo.path, None)  # nothing removed: nothing asked
    assert said.startswith("exit 0") and "[y/N]" not in said
    repo.write("stack.yaml", stack("a"))
    said = _answer(deployment, repo.path, None, "--yes")
    assert said.startswith("exit 0") and "[y/N]" not in said
    assert services(deployment) == {"a"}
    # not a terminal: applied as planned (the guards still hold)
    repo.write("stack.yaml", stack("a", "b"))
    assert main(["apply", *deployment.cli_args(repo.path)]) == 0
    repo.write("stack.yaml", stack("a"))
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "apply", *deployment.cli_args(repo.path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert done.returncode == 0 and b"[y/N]" not in done.stdout
    assert services(deployment) == {"a"}


def test_the_daemon_and_the_cli_on_one_source_and_the_daemon_refusing_a_mass_removal(
    deployment: Deployment, tmp_path: Path
) -> None:
    repo = repo_with(tmp_path / "repo", "a", "b", "c", "d")
    daemon = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance
    ).started()
    try:
        wait_for(lambda: services(deployment) == {"a", "b", "c", "d"}, 60, "the first sync")
        # the CLI applies the daemon's source: not refused (d goes: 1 of 4)
        repo.write("stack.yaml", stack("a", "b", "c"))
        d_was = deployment.container("d").id
        assert main(["apply", *deployment.cli_args(repo.path)]) == 0
        # d's container is gone (the daemon may make a new one from its HEAD at once)
        assert d_was not in {c.id for c in deployment.client.containers.list(all=True)}
        fewer = repo.commit("d goes")
        wait_for(lambda: daemon.status()["appliedRevision"] == fewer, 60, "the daemon's sync")
        wait_for(lambda: services(deployment) == {"a", "b", "c"}, 60, "d gone for good")
        repo.write("stack.yaml", stack("a"))  # b and c go: 2 of 3
        head = repo.commit("most go")

        def refused() -> dict[str, str] | None:
            error = daemon.status().get("lastError")
            return error if error and error.get("revision") == head else None

        error = wait_for(refused, 60, "the refusal")
        assert error["stage"] == "plan" and "--allow-mass-removal" in error["message"]
        assert services(deployment) == {"a", "b", "c"}
    finally:
        daemon.close()
