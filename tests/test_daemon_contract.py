"""The daemon's contract with its readers, checked without Docker: the log events operators
alert on (`sync_done`, `webhook_rejected`, the engine outage), typed stage failures and their
retry policy, registry validity from facts (not message text), and the package's shape (no
import from the API or the CLI, no cycle, no module over 400 lines, a loop under 300)."""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import structlog.testing

from syncd.core.desired import resolve
from syncd.core.records import ServiceRecord
from syncd.daemon.events import EngineWatch
from syncd.daemon.pipeline import Attempt, step
from syncd.daemon.refresh import pull_failed
from syncd.daemon.revisions import Revisions
from syncd.daemon.status import LastError, Status, Trigger
from syncd.engine.base import Observed, normalize_reference
from syncd.errors import (
    EngineError,
    EngineFailure,
    EngineUnavailable,
    ManifestError,
    PermanentFailure,
    Stage,
    SyncdError,
    SyncFailure,
    TemporaryFailure,
)
from syncd.ids import RegistryKey
from syncd.manifests import read_manifests
from syncd.problems import Problem
from tests.fake_engine import FakeEngine
from tests.planning import File
from tests.test_readme_claims import HOOK_SECRET, SHOP, STACK, InProcess

SYNCD = Path(__file__).resolve().parent.parent / "syncd"
SECRET = "hunter2-in-an-exception"


# -- log events that are part of the contract ---------------------------------------------------


@pytest.fixture
def running(tmp_path: Path) -> Iterator[InProcess]:
    engine = FakeEngine(instance="claims").have("busybox:1.36")
    made = InProcess(tmp_path, STACK, engine, webhook_secret=HOOK_SECRET, branch="main")
    yield made
    made.close()


def test_sync_done_is_logged_with_its_fields(running: InProcess) -> None:
    with structlog.testing.capture_logs() as events:
        running.sync()
    done = [e for e in events if e["event"] == "sync_done"]
    assert len(done) == 1, events
    event = done[0]
    counts = {"create", "recreate", "start", "update", "remove"}
    fields = {"event", "log_level", "trigger", "revision", "ok", "duration", "stacks"}
    assert set(event) == fields | counts
    assert event["log_level"] == "info" and event["trigger"] == "watch"
    assert event["revision"] == running.repo.git("rev-parse", "HEAD")
    assert event["ok"] is True
    assert event["stacks"] == [str(SHOP)] and event["create"] == 2
    assert isinstance(event["duration"], float)


def test_a_rejected_webhook_is_logged_with_its_reason_and_client(running: InProcess) -> None:
    with structlog.testing.capture_logs() as events:
        answer = running.http.post(
            "/hooks/git",
            content=b'{"ref": "refs/heads/main"}',
            headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
        )
    assert answer.status_code == 401
    rejected = [e for e in events if e["event"] == "webhook_rejected"]
    assert len(rejected) == 1, events
    assert set(rejected[0]) == {"event", "log_level", "reason", "client"}
    assert rejected[0]["log_level"] == "warning" and rejected[0]["client"] == "127.0.0.1"
    assert rejected[0]["reason"] == answer.json()["message"]
    assert running.pending() == set()
    metrics = running.http.get("/metrics").text
    assert "syncd_webhooks_rejected_total 1.0" in metrics


class _Flaky(FakeEngine):
    """Docker goes away (its event stream breaks), then answers again."""

    def __init__(self) -> None:
        super().__init__(instance="claims")
        self.down = True
        self.back = threading.Event()

    def observe(self) -> Observed:
        if self.down:
            raise EngineUnavailable("cannot reach the Docker engine (planted)")
        self.back.set()
        return super().observe()

    def events(self, since: float | None = None, until: float | None = None) -> Iterator[Any]:
        if self.down:
            raise EngineUnavailable("the event stream broke (planted)")
        return super().events(since, until)


def test_an_engine_outage_is_logged_and_reported_until_docker_answers() -> None:
    engine = _Flaky()
    status = Status(repo="r", branch="main", instance="claims", started_at=0.0)
    asked: list[Trigger] = []
    stop = threading.Event()
    watch = EngineWatch(engine, status, asked.append, stop)
    with structlog.testing.capture_logs() as events:
        thread = threading.Thread(target=watch.run, daemon=True)
        thread.start()
        try:
            while not any(e["event"] == "engine_unavailable" for e in events):
                stop.wait(0.01)
            assert status.engine_available is False
            assert status.as_dict()["lastError"].keys() == {"stage", "message", "at"}
            assert status.as_dict()["lastError"]["stage"] == "engine"
            engine.down = False
            assert engine.back.wait(10)
            while Trigger.ENGINE_BACK not in asked:
                stop.wait(0.01)
        finally:
            stop.set()
            thread.join(10)
    names = [e["event"] for e in events if e["event"].startswith("engine_")]
    assert names == ["engine_unavailable", "engine_available"], events
    down = next(e for e in events if e["event"] == "engine_unavailable")
    assert set(down) == {"event", "log_level", "error"} and down["log_level"] == "warning"
    assert "planted" in down["error"]
    assert asked == [Trigger.ENGINE_BACK]


# -- typed stage failures --------------------------------------------------------------------


def test_whether_and_when_to_retry_is_the_failures_own() -> None:
    temporary = TemporaryFailure(Stage.APPLY, "a service failed")
    engine = EngineFailure(Stage.ENGINE, "Docker is away")
    permanent: SyncFailure = PermanentFailure(
        Stage.PARSE, "invalid", revision="abc", problems=["x"]
    )
    assert [temporary.retry_after(n) for n in range(1, 11)] == [
        2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0
    ]  # fmt: skip
    assert [engine.retry_after(n) for n in range(1, 6)] == [2.0, 4.0, 8.0, 15.0, 15.0]
    assert permanent.retry_after(1) is None and permanent.problems == ("x",)
    assert [s for s in Stage if s.before_plan] == [
        Stage.FETCH, Stage.VERIFY, Stage.PARSE, Stage.RESOLVE, Stage.PLAN
    ]  # fmt: skip


def _raised_in(stage: Stage, kind: type[SyncFailure], err: Exception) -> SyncFailure:
    attempt = Attempt(1, frozenset({Trigger.WATCH}), 0.0, revision="f" * 40)
    with pytest.raises(SyncFailure) as caught, step(stage, kind, attempt):
        raise err
    return caught.value


def test_each_step_raises_a_failure_carrying_its_stage_revision_and_problems() -> None:
    invalid = ManifestError([Problem("s.yaml", "bad field", "/services/web")])
    parsed = _raised_in(Stage.RESOLVE, PermanentFailure, invalid)
    assert type(parsed) is PermanentFailure and parsed.stage is Stage.PARSE
    assert parsed.problems == ("s.yaml: /services/web: bad field",)
    assert parsed.revision == "f" * 40 and parsed.__cause__ is invalid and not parsed.crashed

    outage = _raised_in(Stage.APPLY, TemporaryFailure, EngineUnavailable("away"))
    assert type(outage) is EngineFailure and outage.stage is Stage.ENGINE

    refused = SyncdError("refused")
    planned = _raised_in(Stage.PLAN, PermanentFailure, refused)
    assert (type(planned), planned.stage, planned.__cause__) == (
        PermanentFailure,
        Stage.PLAN,
        refused,
    )

    applied = _raised_in(Stage.APPLY, TemporaryFailure, EngineError("no such image"))
    assert type(applied) is TemporaryFailure and applied.stage is Stage.APPLY

    bug = _raised_in(Stage.APPLY, TemporaryFailure, KeyError(f"password={SECRET}"))
    assert bug.crashed and bug.stage is Stage.APPLY and SECRET not in str(bug)
    assert bug.__cause__ is None and bug.__suppress_context__  # its text may hold a secret
    assert "internal error KeyError" in str(bug)


def test_a_revision_that_failed_on_its_own_is_raised_again_without_piling_up_frames() -> None:
    revisions = Revisions(cast(Any, None), cast(Any, None), {}, cast(Any, None))
    failure = PermanentFailure(Stage.PARSE, "invalid", revision="abc")
    revisions.unusable = (failure, LastError.of(failure, "invalid", 0.0))
    depths = []
    for _ in range(20):
        with pytest.raises(PermanentFailure) as caught:
            revisions.raise_if_unusable("abc")
        assert caught.value is failure
        tb, depth = caught.value.__traceback__, 0
        while tb is not None:
            tb, depth = tb.tb_next, depth + 1
        depths.append(depth)
    assert len(set(depths)) == 1, depths
    revisions.raise_if_unusable("another revision")  # the branch moved: read it


def test_registry_validity_comes_from_facts_not_from_an_error_messages_text() -> None:
    parsed = read_manifests([File("s.yaml", STACK.encode())], {"TEAM_PW": "pw"})
    desired = resolve(parsed, "r1")
    team = RegistryKey("shop", "team")
    web, db = str(SHOP.service("web")), str(SHOP.service("db"))

    def record(key: str, error: str | None) -> ServiceRecord:
        result = "error" if error else "ok"
        return ServiceRecord(key, "r1", {}, frozenset(), "", 0.0, result, error)

    images = {"127.0.0.1:5555/team/web:1": "sha256:1", "busybox:1.36": "sha256:2"}
    here = Observed(images={normalize_reference(r): i for r, i in images.items()})
    missing = Observed(images={normalize_reference("busybox:1.36"): "sha256:2"})
    # the team image was pulled; the service failed later, its message naming the registry
    started = {web: record(web, f"registry {team} (127.0.0.1:5555): quoted by the app")}
    assert pull_failed(desired, here, started) == set()
    # the team image never arrived: its pull failed, whatever the message says
    assert pull_failed(desired, missing, {web: record(web, "denied")}) == {team}
    # a failing service of the public image says nothing about the team registry
    assert pull_failed(desired, missing, {db: record(db, "failed")}) == set()
    assert pull_failed(desired, missing, {}) == set()


# -- the package's shape ---------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, wherever the import is (TYPE_CHECKING, a function)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _daemon_modules() -> dict[str, set[str]]:
    return {
        f"syncd.daemon.{path.stem}": _imports(path)
        for path in sorted((SYNCD / "daemon").glob("*.py"))
        if path.stem != "__init__"
    }


def test_the_daemon_imports_nothing_from_the_api_or_the_cli() -> None:
    upward = {
        module: sorted(i for i in imported if i.startswith(("syncd.api", "syncd.cli")))
        for module, imported in _daemon_modules().items()
    }
    assert {m: i for m, i in upward.items() if i} == {}


def test_the_daemons_modules_import_each_other_without_a_cycle() -> None:
    modules = _daemon_modules()
    edges = {m: {i for i in imported if i in modules and i != m} for m, imported in modules.items()}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for imported in sorted(edges[module]):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(modules):
        visit(module, ())


def test_readers_of_the_daemon_never_take_the_whole_daemon() -> None:
    readers = sorted((SYNCD / "api").glob("*.py"))
    readers += [SYNCD / "daemon" / f"{name}.py" for name in ("tasks", "metrics")]
    taking = {p.name: "syncd.daemon.loop" for p in readers if "syncd.daemon.loop" in _imports(p)}
    assert taking == {}


def test_no_module_of_the_daemon_or_the_api_is_over_400_lines_and_the_loop_under_300() -> None:
    sizes = {
        str(path.relative_to(SYNCD)): len(path.read_text().splitlines())
        for package in ("daemon", "api")
        for path in (SYNCD / package).glob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 400} == {}
    assert sizes["daemon/loop.py"] < 300
