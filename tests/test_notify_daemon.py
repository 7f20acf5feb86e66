"""Results back to the commit, end to end: `syncd run` as a real process on real Docker, a push
to a bare repository, commit statuses at a fake git host and webhook events at a receiver,
both on 127.0.0.1; a broken push reported with its stage and file:line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_support import RunningDaemon, wait_for
from tests.engine_support import Deployment
from tests.notify_support import Receiver
from tests.statushost import FakeStatusHost
from tests.test_daemon import env_of, push, pushed_repo

pytestmark = pytest.mark.docker

TOKEN = "glpat-token-of-the-daemon-notify-test"
HOOK_KEY = "query-key-of-the-daemon-notify-test"


@pytest.fixture
def servers() -> Iterator[tuple[FakeStatusHost, Receiver]]:
    host, receiver = FakeStatusHost(), Receiver()
    yield host, receiver
    host.close()
    receiver.close()


def test_a_push_reports_pending_then_success_and_a_broken_push_failure_with_its_line(
    deployment: Deployment, tmp_path: Path, servers: tuple[FakeStatusHost, Receiver]
) -> None:
    githost, receiver = servers
    bare, work = pushed_repo(tmp_path)
    token_file = tmp_path / "git-host-token"
    token_file.write_text(TOKEN)
    daemon = RunningDaemon(
        str(bare), deployment.settings.data_dir, deployment.instance,
        "--drift-interval", "3600",
        "--commit-status", "github", "--git-host-api", githost.url,
        "--git-host-repo", "acme/live", "--git-host-token-file", str(token_file),
        "--notify-webhook", f"{receiver.url}/events?key={HOOK_KEY}",
        "--public-url", "https://syncd.example.com/",
    )  # fmt: skip
    try:
        daemon.started()
        wait_for(lambda: env_of(deployment) == "1", 60, "the first push")
        push(work, 2)
        good = work.git("rev-parse", "HEAD")
        wait_for(lambda: githost.states(good) == ["pending", "success"], 60, "its statuses")
        [event] = wait_for(lambda: receiver.of("sync_succeeded", good), 30, "its event")
        assert event["commit"]["subject"] == "n=2" and event["counts"]["recreate"] == 1
        assert event["stacks"] == ["live/default"]
        status = daemon.status()
        assert status["appliedCommit"]["subject"] == "n=2"
        assert status["appliedCommit"]["author"] == "syncd tests"

        work.write("s.yaml", "kind: Stack\nproject: live\nservices:\n  app: {image: [1]}\n")
        work.commit("broken")
        work.git("push", "-q", "origin", "HEAD:main")
        broken = work.git("rev-parse", "HEAD")
        wait_for(lambda: githost.states(broken) == ["pending", "failure"], 60, "the failure")
        failure = githost.statuses[-1]
        assert failure.description.startswith("parse failed: s.yaml:4:")
        assert failure.target_url == "https://syncd.example.com/v2/syncd/daemon/status"
        assert {s.token for s in githost.statuses} == {TOKEN}
        [failed] = wait_for(lambda: receiver.of("sync_failed", broken), 30, "its event")
        assert failed["stage"] == "parse" and failed["enforcing"] == good
        assert failed["error"]["problems"][0].startswith("s.yaml:4:")
        assert env_of(deployment) == "2"  # the last good revision is still enforced
        log = daemon.log()
        assert TOKEN not in log and HOOK_KEY not in log
        assert daemon.terminate() == 0
    finally:
        daemon.close()
