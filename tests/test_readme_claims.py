"""README claims that had no test, checked on the real daemon code, a real git repository and the
API over a real socket, with the in-memory engine of tests/fake_engine.py at syncd's `Engine` seam
(no Docker needed): pagination's default `limit`, the `hasCredentials` filter, the `pull` and
`restart` tasks, `--allow-empty` on the CLI and the daemon, webhooks for another branch, the lock
file and the retry backoff."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.api.server import Server, bind
from syncd.apply.reconcile import Reconciler
from syncd.apply.store import Store
from syncd.cli.main import main
from syncd.cli.run import api_of
from syncd.daemon.config import RunConfig
from syncd.daemon.loop import BACKOFF_MAX, ENGINE_BACKOFF_MAX, Daemon
from syncd.daemon.status import Trigger
from syncd.engine.base import Observed
from syncd.errors import EngineUnavailable
from syncd.ids import StackKey
from syncd.manifests import read_manifests
from syncd.settings import Settings
from tests.fake_engine import FakeEngine
from tests.gitrepo import GitRepo
from tests.planning import File

SHOP = StackKey("shop", "default")
ADMIN = "admin-token-of-the-claims-test"
HOOK_SECRET = "hook-secret-of-the-claims-test"
REGISTRY_PW = "registry-password-of-the-claims-test"
STACK = """\
kind: Stack
project: shop
services:
  web: {image: "127.0.0.1:5555/team/web:1"}
  db: {image: "busybox:1.36"}
---
kind: Registry
project: shop
name: team
uri: 127.0.0.1:5555
credentials: {username: deploy, password: {env: TEAM_PW}}
---
kind: Registry
project: shop
name: public
uri: mirror.example.com
"""


class InProcess:
    """The daemon's own objects (no loops started): `sync()` is one pass of the sync loop."""

    def __init__(
        self,
        root: Path,
        manifests: str,
        engine: FakeEngine,
        env: dict[str, str] | None = None,
        **config: Any,
    ) -> None:
        self.repo = GitRepo(root / "repo")
        self.repo.write("stack.yaml", manifests)
        self.repo.commit("first")
        self.engine = engine
        settings = Settings(
            data_dir=root / "data", instance="claims", stop_timeout=0, rollback_grace=0
        )
        run = RunConfig(repo=str(self.repo.path), **config)
        self.daemon = Daemon(run, settings, {"TEAM_PW": REGISTRY_PW, **(env or {})}, engine=engine)
        sock = bind("127.0.0.1", 0)
        self.server = Server(api_of(self.daemon), sock)
        self.server.start()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=5)

    def sync(self) -> None:
        self.daemon.sync_once({Trigger.WATCH})

    def services(self, **params: Any) -> httpx.Response:
        return self.http.get(f"/v2/projects/{SHOP.project_id}/services", params=params)

    def pending(self) -> set[Trigger]:
        return set(self.daemon._pending)  # what the sync loop would do next (loops not running)

    def close(self) -> None:
        self.http.close()
        self.server.stop()
        self.daemon.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[InProcess]:
    engine = FakeEngine(instance="claims").have("busybox:1.36")
    made = InProcess(
        tmp_path, STACK, engine, admin_token=ADMIN, webhook_secret=HOOK_SECRET, branch="main"
    )
    made.sync()
    assert made.daemon.status.good_revision is not None, made.daemon.status.last_error
    yield made
    made.close()


def test_limit_defaults_to_1000(tmp_path: Path) -> None:
    services = "".join(f"  s{n:04}: {{image: 'busybox:1.36'}}\n" for n in range(1001))
    made = InProcess(
        tmp_path,
        f"kind: Stack\nproject: shop\nservices:\n{services}",
        FakeEngine(instance="claims").have("busybox:1.36"),
    )
    try:
        made.sync()
        answer = made.services()
        assert answer.status_code == 200
        assert answer.headers["x-pagination-totalcount"] == "1001"
        assert answer.headers["x-pagination-limit"] == "1000" and len(answer.json()) == 1000
        rest = made.services(page=1)
        assert [s["serviceName"] for s in rest.json()] == ["s1000"]
    finally:
        made.close()


def test_registries_filter_by_has_credentials(running: InProcess) -> None:
    url = f"/v2/projects/{SHOP.project_id}/registries"

    def uris(**params: Any) -> list[str]:
        answer = running.http.get(url, params=params)
        assert answer.status_code == 200
        return [r["uri"] for r in answer.json()]

    assert uris() == ["127.0.0.1:5555", "mirror.example.com"]
    assert uris(hasCredentials=True) == ["127.0.0.1:5555"]
    assert uris(hasCredentials=False) == ["mirror.example.com"]


def _action(running: InProcess, service: str, action: str) -> httpx.Response:
    listed = {s["serviceName"]: s for s in running.services().json()}
    found = listed[service]
    return running.http.post(
        f"/v2/stacks/{found['stackId']}/services/{found['id']}/actions/{action}",
        headers={"Authorization": f"Bearer {ADMIN}"},
    )


def test_the_pull_task_pulls_again_with_the_registrys_credentials(running: InProcess) -> None:
    pulls: list[tuple[str, Any]] = []
    pull = running.engine.pull

    def recording(reference: str, auth: Any = None, platform: str | None = None) -> None:
        pulls.append((reference, auth))
        pull(reference, auth, platform)

    running.engine.pull = recording  # type: ignore[method-assign]
    assert _action(running, "web", "pull").status_code == 204
    assert _action(running, "db", "pull").status_code == 204
    assert pulls[0][0] == "127.0.0.1:5555/team/web:1"
    assert pulls[0][1] is not None and pulls[0][1]["password"] == REGISTRY_PW
    assert pulls[0][1]["username"] == "deploy"
    assert pulls[1] == ("busybox:1.36", None)  # no registry for its host: no credentials
    assert Trigger.OPERATOR in running.pending()  # the next sync recreates if the image moved


def test_the_restart_task_restarts_the_running_container(running: InProcess) -> None:
    container = running.engine.the(SHOP.service("db")).id
    assert _action(running, "db", "restart").status_code == 204
    assert running.engine.did("restart") == ["shop/default/db"]
    assert running.engine.the(SHOP.service("db")).id == container  # the same container
    history = running.http.get("/v2/syncd/syncs").json()
    assert history[0]["trigger"] == "operator_restart"


def _signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def test_a_push_to_another_branch_is_accepted_and_ignored(running: InProcess) -> None:
    other = b'{"ref": "refs/heads/feature"}'
    answer = running.http.post("/hooks/git", content=other, headers=_signed(other))
    assert answer.status_code == 202
    assert answer.json() == {"accepted": True, "sync": False, "reason": "branch feature"}
    assert running.pending() == set()

    ours = b'{"ref": "refs/heads/main"}'
    answer = running.http.post("/hooks/git", content=ours, headers=_signed(ours))
    assert answer.status_code == 202 and answer.json()["sync"] is True
    assert running.pending() == {Trigger.WEBHOOK}


def test_the_daemon_removes_every_stack_only_with_allow_empty(tmp_path: Path) -> None:
    for allow, kept in ((False, True), (True, False)):
        made = InProcess(
            tmp_path / str(allow),
            "kind: Stack\nproject: shop\nservices:\n  db: {image: 'busybox:1.36'}\n",
            FakeEngine(instance="claims").have("busybox:1.36"),
            allow_empty=allow,
        )
        try:
            made.sync()
            assert made.engine.of(SHOP.service("db"))
            made.repo.git("rm", "-q", "stack.yaml")
            made.repo.commit("remove everything")
            made.sync()
            assert bool(made.engine.of(SHOP.service("db"))) is kept
            error = made.daemon.status.as_dict()["lastError"]
            if kept:
                assert error is not None and error["stage"] == "plan"
                assert "--allow-empty" in error["message"]
            else:
                assert made.daemon.status.good_revision == made.repo.git("rev-parse", "HEAD")
        finally:
            made.close()


def test_syncd_plan_refuses_to_remove_every_stack_without_allow_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("stack.yaml", "kind: Stack\nproject: shop\nservices:\n  db: {image: busybox}\n")
    base = repo.commit("one")
    repo.git("rm", "-q", "stack.yaml")
    head = repo.commit("none")
    args = ["plan", "--repo", str(repo.path), "--base", base, "--head", head]
    assert main(args) == 1
    assert "--allow-empty" in capsys.readouterr().err
    assert main([*args, "--allow-empty"]) == 2  # changes: the stack goes
    assert "shop/default/db: remove" in capsys.readouterr().out


def test_syncd_run_takes_allow_empty_as_a_flag_and_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["run", "--repo", str(tmp_path), "--data-dir", str(tmp_path), "--print-config"]

    def allow_empty(*extra: str) -> str:
        assert main([*base, *extra]) == 0
        printed = capsys.readouterr().out.splitlines()
        return next(" ".join(line.split()[1:]) for line in printed if line.startswith("allow-"))

    assert allow_empty() == "False (default)"
    assert allow_empty("--allow-empty") == "True (flag)"
    monkeypatch.setenv("SYNCD_ALLOW_EMPTY", "1")
    assert allow_empty() == "True (env)"


def test_the_lock_file_makes_a_second_apply_wait(tmp_path: Path) -> None:
    """Another process holds the instance's lock file: a sync waits, touching nothing, until
    it is released (waiting has no deadline, so the check cannot pass by a race)."""
    engine = FakeEngine(instance="claims").have("busybox:1.36")
    settings = Settings(data_dir=tmp_path, instance="claims", stop_timeout=0, rollback_grace=0)
    lock = tmp_path / "claims.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""\
            import fcntl, sys
            handle = open({str(lock)!r}, "a")
            fcntl.flock(handle, fcntl.LOCK_EX)
            print("locked", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        store = Store(settings.state_file)
        reconciler = Reconciler(settings, engine, store, {})
        text = b"kind: Stack\nproject: shop\nservices:\n  db: {image: busybox:1.36}\n"
        manifests = read_manifests([File("s.yaml", text)], {})
        done = threading.Event()

        def apply() -> None:
            reconciler.sync(manifests, "r1")
            done.set()

        threading.Thread(target=apply, daemon=True).start()
        assert not done.wait(1.0)  # blocked on the lock ...
        assert engine.calls == [] and not engine.containers  # ... before touching anything
        holder.stdin.close()  # the other process ends: its lock goes with it
        assert done.wait(30), "the sync never got the lock"
        assert engine.of(SHOP.service("db"))
        store.close()
    finally:
        holder.kill()
        holder.wait(10)


def test_failed_syncs_are_retried_with_exponential_backoff(tmp_path: Path) -> None:
    engine = FakeEngine(instance="claims").have("busybox:1.36")
    made = InProcess(
        tmp_path, "kind: Stack\nproject: shop\nservices:\n  db: {image: 'busybox:1.36'}\n", engine
    )
    try:
        engine.fail_start.add("db")  # a service fails: the sync is retried
        delays: list[float | None] = []
        for _ in range(10):
            made.sync()
            delays.append(made.daemon.status.next_retry_in)
        assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0]
        assert BACKOFF_MAX == 300.0
        assert made.http.get("/v2/syncd/daemon/status").json()["nextRetryIn"] == 300.0

        engine.fail_start.clear()
        made.sync()  # success resets the backoff
        assert made.daemon.status.next_retry_in is None

        def down() -> Observed:
            raise EngineUnavailable("cannot reach the Docker engine (planted)")

        engine.observe = down  # type: ignore[method-assign]
        outage: list[float | None] = []
        for _ in range(5):
            made.sync()
            outage.append(made.daemon.status.next_retry_in)
        assert outage == [2.0, 4.0, 8.0, 15.0, 15.0]  # while Docker is down: at least every 15 s
        assert ENGINE_BACKOFF_MAX == 15.0
    finally:
        made.close()
