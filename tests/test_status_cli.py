"""`syncd status`, `syncd history` and `syncd logs` (issue 18), end to end: real Docker, a real
state store, the daemon as a real process and its API over a real socket; the commands run as
`main` (exit codes, output) or as real processes (`logs -f` ended by Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from syncd.cli.main import main
from tests.daemon_support import RunningDaemon, free_port, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

READ = "status-test-read-token"
ADMIN = "status-test-admin-token"
IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"
STACK = f"""\
kind: Stack
project: st
services:
  web:
    image: busybox:1.36
    command: [sh, -c, "echo hello-from-web; {IDLE}"]
    healthcheck: {{test: [CMD, "true"], interval: 4s}}
  db:
    image: busybox:1.36
    command: [sh, -c, "{IDLE}"]
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def host(deployment: Deployment) -> list[str]:
    return ["--data-dir", str(deployment.settings.data_dir), "--instance", deployment.instance]


def interrupt(process: subprocess.Popen[str]) -> None:
    """Ctrl-C (SIGINT) to `process`, which must not ignore it (tests/conftest.py says why)."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    ignored = int(next(ln for ln in status.splitlines() if ln.startswith("SigIgn:")).split()[1], 16)
    assert not ignored & (1 << (signal.SIGINT - 1)), "the command was started with SIGINT ignored"
    process.send_signal(signal.SIGINT)


def follow(command: list[str], seen: str) -> subprocess.CompletedProcess[str]:
    """`command` (a `logs -f`) until it printed `seen`, then Ctrl-C (SIGINT)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = []
    try:
        for line in process.stdout:  # (a test timeout ends a process that never prints it)
            lines.append(line)
            if seen in line:
                break
        interrupt(process)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return subprocess.CompletedProcess(command, process.returncode, "".join(lines) + out, err)


def test_status_on_the_host_is_0_when_converged_and_2_with_a_stopped_service_first(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    # web's healthcheck passes once the test says so: "starting" lasts as long as it must
    held = "healthcheck: {test: [CMD, test, -f, /tmp/ok], interval: 1s, retries: 1000}"
    deployment.write(
        "st.yaml", STACK.replace('healthcheck: {test: [CMD, "true"], interval: 4s}', held)
    )
    assert deployment.sync().ok

    def web(health: str) -> str | None:
        code, out, _ = run(capsys, "status", *host(deployment), "--format", "json")
        problem = json.loads(out)["services"][0]["problem"]
        return out if code == 2 and problem == health else None

    early = json.loads(wait_for(lambda: web("its healthcheck has not passed yet"), 20, "start"))
    assert early["services"][0]["state"] == "starting"
    assert deployment.exec("web", "touch", "/tmp/ok")[0] == 0
    code, out, _ = wait_for(
        lambda: (r := run(capsys, "status", *host(deployment), "--format", "json"))[0] == 0 and r,
        30,
        "healthy",
    )
    seen = json.loads(out)
    assert seen["ok"] is True and seen["source"] == "host"
    by_key = {s["service"]: s for s in seen["services"]}
    assert set(by_key) == {"st/default/web", "st/default/db"}
    assert by_key["st/default/web"]["health"] == "healthy"
    assert by_key["st/default/db"]["health"] == "-"
    assert all(s["state"] == "running" and s["revision"] == "r1" for s in by_key.values())
    assert all(s["since"].endswith("Z") and s["problem"] is None for s in by_key.values())

    deployment.container("db").stop(timeout=1)
    code, out, _ = run(capsys, "status", *host(deployment), "--format", "json")
    assert code == 2
    first = json.loads(out)["services"][0]
    assert first["service"] == "st/default/db" and first["state"] == "stopped"
    assert first["ok"] is False and "not running" in first["problem"]

    code, out, _ = run(capsys, "status", *host(deployment))
    lines = out.splitlines()
    assert code == 2 and "\x1b[" not in out  # not a terminal: no colour
    assert lines[1].split()[:5] == ["SERVICE", "STATE", "HEALTH", "REVISION", "AGE"]
    assert lines[2].startswith("st/default/db ") and "not running" in lines[2]
    assert lines[-1] == "1 of 2 services need attention"


def test_logs_on_the_host_tail_follow_and_name_the_services_there_are(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.write("st.yaml", STACK)
    assert deployment.sync().ok

    code, out, _ = run(capsys, "logs", *host(deployment), "st/web")
    assert code == 0 and out == "hello-from-web\n"

    code, _, err = run(capsys, "logs", *host(deployment), "st/nope")
    assert code == 1
    assert "no service st/default/nope; the services there are: st/default/db, st/default/web" in (
        err
    )

    command = [sys.executable, "-m", "syncd", "logs", "-f", *host(deployment), "st/default/web"]
    done = follow(command, "hello-from-web")
    assert done.returncode == 0, done.stderr
    assert "hello-from-web" in done.stdout and "Traceback" not in done.stderr


@pytest.fixture
def daemon(deployment: Deployment, daemons: list[RunningDaemon], tmp_path: Path) -> RunningDaemon:
    repo = GitRepo(tmp_path / "repo-git")
    repo.write("st.yaml", STACK)
    sha = repo.commit("st")
    running = RunningDaemon(
        str(repo.path), deployment.settings.data_dir, deployment.instance,
        "--drift-interval", "1", env={"SYNCD_READ_TOKEN": READ, "SYNCD_ADMIN_TOKEN": ADMIN},
    )  # fmt: skip
    daemons.append(running)
    running.started()
    running.http.headers["Authorization"] = f"Bearer {READ}"
    wait_for(lambda: running.status().get("appliedRevision") == sha, 90, "the first sync")
    running.sha = sha  # type: ignore[attr-defined]
    return running


def test_status_through_the_api_exit_codes_json_and_a_stopped_service_first(
    deployment: Deployment,
    daemon: RunningDaemon,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SYNCD_READ_TOKEN", READ)
    api = ["--api", daemon.url]
    # the daemon's view is as fresh as its last pass: the healthcheck passes within seconds
    code, out, err = wait_for(
        lambda: (r := run(capsys, "status", *api, "--format", "json"))[0] == 0 and r, 30, "ok"
    )
    seen = json.loads(out)
    assert seen["ok"] is True and seen["source"] == "api" and seen["problems"] == []
    assert seen["instance"] == deployment.instance
    assert [s["service"] for s in seen["services"]] == ["st/default/db", "st/default/web"]
    sha: str = daemon.sha  # type: ignore[attr-defined]
    assert all(s["revision"] == sha and s["state"] == "running" for s in seen["services"])
    assert all(s["since"].endswith("Z") for s in seen["services"])
    # the healthcheck's verdict, from /v2/syncd/services: web has one, db none
    assert [s["health"] for s in seen["services"]] == ["-", "healthy"]
    assert seen["stacks"] == [
        {"stack": "st/default", "appliedRevision": sha, "seenRevision": sha, "ok": True,
         "problem": None}
    ]  # fmt: skip

    bad = tmp_path / "bad-token"
    bad.write_text("not-the-token\n")
    code, _, err = run(capsys, "status", *api, "--token-file", str(bad))
    assert code == 1 and "answered 401" in err and "not-the-token" not in err
    code, _, err = run(capsys, "status", "--api", f"http://127.0.0.1:{free_port()}")
    assert code == 1 and "cannot reach the daemon" in err

    # paused, the daemon leaves the stopped container stopped: the status shows it
    held = daemon.http.post(
        "/v2/syncd/pause", json={"stacks": [], "reason": "status test", "by": "test"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )  # fmt: skip
    assert held.status_code == 200, held.text
    deployment.container("db").stop(timeout=1)

    def stopped() -> dict[str, Any] | None:
        code, out, _ = run(capsys, "status", *api, "--format", "json")
        answer: dict[str, Any] = json.loads(out)
        return answer if code == 2 and answer["services"][0]["state"] == "stopped" else None

    seen = wait_for(stopped, 60, "status exit 2")
    assert seen["services"][0]["service"] == "st/default/db"
    web = seen["services"][1]
    assert seen["services"][0]["ok"] is False and web["state"] == "running"
    # web is fine itself; once the paused daemon holds the drift, its stack says so
    assert web["problem"] is None or web["problem"].startswith("stack "), web


def test_history_and_logs_through_the_api(
    daemon: RunningDaemon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_API", daemon.url)
    monkeypatch.setenv("SYNCD_READ_TOKEN", READ)
    sha: str = daemon.sha  # type: ignore[attr-defined]
    code, out, _ = run(capsys, "history", "--format", "json", "--limit", "5")
    assert code == 0
    [first] = [s for s in json.loads(out) if s["revision"] == sha]
    assert first["outcome"] == "ok" and "start" in first["trigger"]
    assert first["startedAt"].endswith("Z") and first["durationSeconds"] >= 0
    code, out, _ = run(capsys, "history")
    assert code == 0 and sha[:12] in out and " ok " in out

    code, out, _ = run(capsys, "logs", "st/web", "--tail", "5")
    assert code == 0 and "hello-from-web" in out
    code, _, err = run(capsys, "logs", "st/other/web")
    assert code == 1
    assert "no service st/other/web; the services there are: st/default/db, st/default/web" in err

    env = {**os.environ, "SYNCD_API": daemon.url, "SYNCD_READ_TOKEN": READ}
    command = [sys.executable, "-m", "syncd", "logs", "-f", "st/web"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)  # fmt: skip
    assert process.stdout is not None
    try:
        assert "hello-from-web" in process.stdout.readline()
        interrupt(process)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0 and "Traceback" not in err


def test_status_on_the_host_names_the_last_revision_applied_whole(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only db changes in the second revision: web keeps the first in its record, and the
    header still names the second (it named whichever service came first in the store)."""
    repo = GitRepo(tmp_path / "repo")
    repo.write("st.yaml", STACK)
    first = repo.commit("one")
    assert main(["apply", *deployment.cli_args(repo.path), "--rev", first]) == 0
    db = "  db:\n    image: busybox:1.36\n"
    assert db in STACK
    repo.write("st.yaml", STACK.replace(db, db + "    environment: {N: '2'}\n"))
    second = repo.commit("two")
    assert main(["apply", *deployment.cli_args(repo.path), "--rev", second]) == 0
    records = deployment.store.services()
    assert {r.revision for r in records.values()} == {first, second}  # web kept the first
    capsys.readouterr()
    code, out, _ = run(capsys, "status", *host(deployment), "--format", "json")
    assert code in (0, 2)  # (2 while web's healthcheck has not passed yet)
    assert json.loads(out)["appliedRevision"] == second, out
