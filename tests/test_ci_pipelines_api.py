"""The GitHub pipeline of `ci/` with `SYNCD_API` set: its plan step asks a real running daemon
(`syncd plan --api … --head refs/pull/N/head`) for the plan of the pull request against what
runs in Docker, and the comment step posts that plan to the fake git host. The CI holds neither
the production variable nor Docker: only the daemon's URL and read token."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.ci_support import CI, TOKEN, run_actions, shell_env
from tests.daemon_support import RunningDaemon
from tests.githost import FakeGitHost
from tests.test_liveplan_api import READ, SECRET, Remote, daemon, remote, stack

pytestmark = pytest.mark.docker
__all__ = ["daemon", "remote"]  # the fixtures, used by name
PR = 12


def test_with_syncd_api_the_comment_is_the_daemons_plan_against_what_runs(
    remote: Remote, daemon: RunningDaemon, tmp_path: Path
) -> None:
    head = remote.pull_request(PR, stack("review"))
    workspace = tmp_path / "ws"  # the pull request's head, one commit, as actions/checkout
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", f"file://{remote.bare}", str(workspace)], check=True
    )
    subprocess.run(["git", "-C", str(workspace), "fetch", "-q", "--depth=1", "origin",
                    f"refs/pull/{PR}/head"], check=True)  # fmt: skip
    subprocess.run(["git", "-C", str(workspace), "checkout", "-q", head], check=True)
    ci = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REPOSITORY": "acme/deploy",
        "GITHUB_REF": f"refs/pull/{PR}/merge",
        "GITHUB_SHA": head,
        "GITHUB_BASE_REF": "main",
        "GITHUB_WORKSPACE": str(workspace),
    }
    with FakeGitHost(ci_tokens={TOKEN: "github-actions[bot]"}) as host:
        ci["GITHUB_API_URL"] = host.url
        context = {
            "vars.SYNCD_API": daemon.url,
            "secrets.SYNCD_READ_TOKEN": READ,
            "github.base_ref": "main",
            "github.event.pull_request.number": str(PR),
            "secrets.GITHUB_TOKEN": TOKEN,
        }
        work = tmp_path / "run"
        work.mkdir()
        steps = run_actions(
            CI / "github-actions.yml", workspace, shell_env(work, ci), context, {}, work
        )
        output = "".join(s.stdout + s.stderr for s in steps)
        assert [s.code for s in steps] == [0, 0, 0], output
        [comment] = host.comments
    body = comment["body"]
    assert "lp/default/web" in body and "recreate" in body and "review" in body
    assert "plain" in body  # old -> new: the value that runs now, known only to the daemon
    assert SECRET not in body and SECRET not in output and READ not in output
    log = daemon.log()
    assert '"live_plan_computed"' in log and f"refs/pull/{PR}/head" in log
