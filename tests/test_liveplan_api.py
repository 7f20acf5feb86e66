"""Issue 14's acceptance for plans against what runs: a pull request's head, only a ref
(`refs/pull/12/head`) in the bare "remote" a real daemon watches, planned against the live state
in Docker through `POST /v2/syncd/plans` over a real socket and through `syncd plan --api`.
Plans change nothing, are cached per (revision, live state), need the read token, and never
show the value of a secret, not even in a located error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

READ = "read-token-liveplan-1"
SECRET = "planted-liveplan-secret-9931"
IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"


def stack(mode: str, extra: str = "") -> str:
    return f"""\
kind: Stack
project: lp
services:
  web:
    image: busybox:1.36
    command: [sh, -c, "{IDLE}"]
    environment: {{TOKEN: "${{LP_TOKEN}}", MODE: {mode}}}
    volumes: ["data:/data"]
{extra}volumes:
  data: {{}}
"""


class Remote:
    """A bare repo with `main` applied, and pull requests only as refs/pull/N/head."""

    def __init__(self, root: Path) -> None:
        self.work = GitRepo(root / "work")
        self.work.write("stack.yaml", stack("plain"))
        self.main = self.work.commit("main")
        self.bare = root / "remote.git"
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(self.work.path), str(self.bare)], check=True
        )

    def pull_request(self, number: int, text: str) -> str:
        self.work.git("checkout", "-q", "-B", f"pr{number}", self.main)
        self.work.write("stack.yaml", text)
        head = self.work.commit(f"pr {number}")
        self.work.git("checkout", "-q", "main")
        self.work.git("push", "-q", str(self.bare), f"{head}:refs/pull/{number}/head")
        return head


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote(tmp_path)


@pytest.fixture
def daemon(deployment: Deployment, remote: Remote) -> Iterator[RunningDaemon]:
    running = RunningDaemon(
        f"file://{remote.bare}", deployment.settings.data_dir, deployment.instance,
        "--poll-interval", "3600", "--drift-interval", "3600",
        env={"SYNCD_READ_TOKEN": READ, "LP_TOKEN": SECRET, "SYNCD_ALLOW_ENV": "LP_TOKEN"},
    )  # fmt: skip
    running.http.headers["Authorization"] = f"Bearer {READ}"
    try:
        running.started()
        wait_for(lambda: running.status()["appliedRevision"] == remote.main, 60, "main applied")
        yield running
    finally:
        running.close()


def plan(daemon: RunningDaemon, **body: Any) -> httpx.Response:
    answer = daemon.http.post("/v2/syncd/plans", json=body, timeout=120)
    assert SECRET not in answer.text
    return answer


def containers(deployment: Deployment) -> dict[str, tuple[str, str]]:
    return {c.name: (c.id, c.attrs["State"]["StartedAt"]) for c in deployment.containers()}


def test_a_pull_request_ref_is_planned_against_what_runs(
    deployment: Deployment, remote: Remote, daemon: RunningDaemon
) -> None:
    pr = remote.pull_request(12, stack("review"))
    before = containers(deployment)
    syncs = len(daemon.syncs())

    answer = plan(daemon, ref="refs/pull/12/head")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["revision"] == pr and body["ref"] == "refs/pull/12/head"
    assert body["changed"] is True and body["cached"] is False
    assert body["counts"]["recreate"] == 1
    assert body["base"] == remote.main  # what runs was applied from main
    assert body["format"] == "markdown" and body["output"] == body["markdown"]
    assert "lp/default/web" in body["markdown"] and "review" in body["markdown"]
    [stack_plan] = body["plan"]["stacks"]
    [web] = stack_plan["services"]
    assert web["action"] == "recreate" and web["service"] == "lp/default/web"
    assert any(op["path"].startswith("/environment") for op in web["patch"])

    again = plan(daemon, ref="refs/pull/12/head", format="json-patch")
    assert again.status_code == 200 and again.json()["cached"] is True
    assert again.json()["plan"] == body["plan"]
    assert json.loads(again.json()["output"])  # the RFC 6902 rendering, by `format`

    same = plan(daemon, revision=remote.main[:10], format="text")
    assert same.status_code == 200, same.text
    assert same.json()["revision"] == remote.main and same.json()["changed"] is False

    # planning changed nothing: the same containers, started once, and no sync ran for it
    assert containers(deployment) == before
    assert len(daemon.syncs()) == syncs

    # what runs moves (a container removed by hand): the cached answer is not served
    deployment.client.containers.get(next(iter(before.values()))[0]).remove(force=True)
    moved = plan(daemon, ref="refs/pull/12/head")
    assert moved.status_code == 200 and moved.json()["cached"] is False
    log = daemon.log()
    assert '"live_plan_computed"' in log and "refs/pull/12/head" in log
    assert SECRET not in log and READ not in log


def test_errors_are_located_bounded_and_without_secrets(
    remote: Remote, daemon: RunningDaemon
) -> None:
    broken = stack("plain").replace("busybox:1.36", "${LP_TOKEN}") + "bogusKey: 1\n"
    bad = remote.pull_request(13, broken)
    answer = plan(daemon, ref="refs/pull/13/head")
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["type"] == "InvalidManifests" and body["revision"] == bad
    files = {(p["file"], p["line"] > 0, p["column"] > 0) for p in body["problems"]}
    assert ("stack.yaml", True, True) in files
    assert any("bogusKey" in p["text"] for p in body["problems"])

    remote.pull_request(14, "# every stack removed\n")
    refused = plan(daemon, ref="refs/pull/14/head")
    assert refused.status_code == 422 and refused.json()["type"] == "PlanRefused"
    assert "declares no stack" in refused.json()["message"]

    moved = remote.bare.with_name("moved.git")
    remote.bare.rename(moved)  # the remote is gone: 502, the daemon's URL named
    try:
        gone = plan(daemon, ref="refs/pull/12/head")
    finally:
        moved.rename(remote.bare)
    assert gone.status_code == 502 and gone.json()["type"] == "SourceError", gone.text
    assert str(remote.bare) in gone.json()["message"]

    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"ref": "refs/pull/99/head"}, 404, "does not exist"),
        ({"revision": "ab" * 20}, 404, "does not exist"),
        ({"ref": "--upload-pack=touch /tmp/x"}, 400, "not a valid ref name"),
        ({"ref": "refs/heads/a:refs/heads/b"}, 400, "not a valid ref name"),
        ({"revision": "HEAD~1"}, 400, "not a commit sha"),
        ({}, 400, "Validation failed"),
        ({"ref": "main", "revision": remote.main}, 400, "Validation failed"),
        ({"ref": "main", "format": "yaml"}, 400, "Validation failed"),
        ({"ref": "r" * 300}, 400, "Validation failed"),
        ({"ref": "main", "extra": 1}, 400, "Validation failed"),
    ]
    for request, status, message in cases:
        answer = plan(daemon, **request)
        assert answer.status_code == status, (request, answer.text)
        assert message in answer.json()["message"], (request, answer.text)


def test_plans_need_the_read_token(daemon: RunningDaemon) -> None:
    url = f"{daemon.url}/v2/syncd/plans"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = httpx.post(url, json={"ref": "main"}, headers=headers)
        assert answer.status_code == 401 and answer.json()["type"] == "Unauthorized"
    answer = httpx.post(url, json={"ref": "main"}, headers={"Authorization": f"Bearer {READ}"})
    assert answer.status_code == 200 and answer.json()["changed"] is False


def syncd_plan(daemon: RunningDaemon, *args: str, token: bool = True) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    if token:
        env["SYNCD_READ_TOKEN"] = READ
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "plan", "--api", daemon.url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_syncd_plan_api_prints_the_plan_with_plans_exit_codes(
    tmp_path: Path, remote: Remote, daemon: RunningDaemon
) -> None:
    pr = remote.pull_request(12, stack("review"))
    remote.pull_request(13, stack("plain") + "bogusKey: 1\n")

    code, out, err = syncd_plan(daemon, "--head", "refs/pull/12/head", "--format", "json")
    assert code == 2, err
    printed = json.loads(out)
    assert printed["changed"] is True and printed["head"] == pr
    assert printed["stacks"][0]["services"][0]["action"] == "recreate"

    code, out, err = syncd_plan(daemon, "--head", "refs/pull/12/head", "--format", "markdown")
    assert code == 2 and "lp/default/web" in out, err

    token_file = tmp_path / "read-token"
    token_file.write_text(READ + "\n")
    code, out, err = syncd_plan(
        daemon, "--head", remote.main, "--format", "text", "--token-file", str(token_file),
        token=False,
    )  # fmt: skip
    assert code == 0, err

    code, out, err = syncd_plan(daemon, "--head", "refs/pull/13/head")
    assert code == 1 and out == ""
    assert "has invalid manifests" in err and "stack.yaml:" in err and "bogusKey" in err

    code, out, err = syncd_plan(daemon, "--head", "refs/pull/12/head", token=False)
    assert code == 1 and "401" in err and READ not in err

    code, out, err = syncd_plan(daemon, "--head", "refs/pull/77/head")
    assert code == 1 and "404" in err and "refs/pull/77/head does not exist" in err

    code, out, err = syncd_plan(daemon, "--head", "main", "--base", "main")
    assert code == 1 and "--base and --api" in err
    for output in (out, err):
        assert SECRET not in output and "Traceback" not in output


def test_a_pull_request_cannot_test_a_guess_against_a_secret(
    remote: Remote, daemon: RunningDaemon
) -> None:
    """A StackPatch `test` op on a value from the environment: a right guess and a wrong one
    get the same answer (else the plan of a pull request says whether the guess is the secret)."""
    answers = []
    for number, guess in ((21, SECRET), (22, "a-wrong-guess")):
        patch = (
            "---\nkind: StackPatch\nproject: lp\npatch:\n"
            f"  - {{op: test, path: /services/web/environment/TOKEN, value: {guess}}}\n"
        )
        remote.pull_request(number, stack("plain") + patch)
        answer = plan(daemon, ref=f"refs/pull/{number}/head")
        problems = [p["message"] for p in answer.json().get("problems", [])]
        answers.append((answer.status_code, problems))
    assert answers[0] == answers[1], answers
    assert answers[0][0] == 422
    assert "a test op cannot compare a value from the environment" in answers[0][1][0]


def test_a_reference_from_the_environment_is_not_echoed_by_a_422(
    remote: Remote, daemon: RunningDaemon
) -> None:
    """`dependsOn: ["${LP_TOKEN}"]` with a service named one letter off the secret: the 422
    shows neither the secret (it was the pointer's last part) nor the close name (the hint)."""
    close = SECRET[:-1] + "0"
    extra = f'    dependsOn: ["${{LP_TOKEN}}"]\n  {close}:\n    image: busybox:1.36\n'
    remote.pull_request(23, stack("plain", extra))
    answer = plan(daemon, ref="refs/pull/23/head")  # (asserts the secret is not in the text)
    assert answer.status_code == 422, answer.text
    assert any("/dependsOn/" in p["pointer"] for p in answer.json()["problems"]), answer.text
    assert close not in answer.text and "did you mean" not in answer.text


def test_a_pull_request_cannot_make_the_daemon_hide_words(
    remote: Remote, daemon: RunningDaemon
) -> None:
    """A text a pull request builds from a variable (`${LP_TOKEN:+any words}`) is not remembered
    as a secret: else planning it would hide those words from every log line and API answer
    (and enough of them would push the real secrets out of the bounded memory)."""
    words = "does not exist on"
    compose = (
        f'services:\n  app:\n    image: busybox:1.36\n    labels: {{x: "${{LP_TOKEN:+{words}}}"}}\n'
    )
    remote.work.write("extra/compose.yaml", compose)  # (committed with the pull request)
    remote.pull_request(24, stack("plain"))
    assert plan(daemon, ref="refs/pull/24/head").status_code == 200
    missing = plan(daemon, ref="refs/pull/99/head")
    assert missing.status_code == 404
    assert words in missing.json()["message"], missing.text
