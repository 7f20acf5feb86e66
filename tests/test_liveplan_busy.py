"""`POST /v2/syncd/plans` over a real socket with a real planner (a local bare repo, the real
engine, a state store): requests beyond the cap are answered 429 with Retry-After while plans
run, a request for a revision being planned waits for that plan and shares its answer, and the
planner never takes the instance's sync lock."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from syncd import datadir
from syncd.api.app import create_app
from syncd.api.server import Server, bind
from syncd.apply.store import Store
from syncd.daemon.liveplans import LivePlan, LivePlanner
from syncd.daemon.revisions import Revisions
from syncd.daemon.status import Status
from syncd.engine import connect
from syncd.settings import Settings
from syncd.source.repository import Repository
from tests.daemon_support import free_port, wait_for
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.docker

STACK = """\
kind: Stack
project: busy
services:
  web: {image: "busybox:1.36"}
"""


@pytest.fixture
def served(tmp_path: Path, busybox_image: str) -> Iterator[tuple[str, LivePlanner, str]]:
    work = GitRepo(tmp_path / "work")
    work.write("stack.yaml", STACK)
    head = work.commit("one")
    settings = Settings(data_dir=tmp_path / "data", instance="t" + head[:8])
    repo = Repository(str(work.path), settings.data_dir)
    engine = connect(settings)
    store = Store(settings.state_file)
    status = Status(repo=repo.display, branch=repo.branch, instance="x", started_at=0.0)
    planner = LivePlanner(
        repo=repo,
        revisions=Revisions(repo, settings, {}, status),
        engine=engine,
        store=store,
        settings=settings,
        env={},
        allow_empty=False,
    )
    wiring = SimpleNamespace(
        config=SimpleNamespace(read_token=None, admin_token=None, webhook_secret=None),
        state=None,
        tasks=None,
        view=None,
        plans=planner,
    )
    port = free_port()
    server = Server(create_app(cast(Any, wiring)), bind("127.0.0.1", port))
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", planner, head
    finally:
        server.stop()
        store.close()
        engine.close()


class Held:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> LivePlan:
        self.started.set()
        assert self.release.wait(30)
        raise AssertionError("held only")


def test_beyond_the_cap_the_answer_is_429_with_retry_after(
    served: tuple[str, LivePlanner, str],
) -> None:
    url, planner, head = served
    holds = [Held(), Held()]
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(planner.flights.run, f"ref other-{n}", hold) for n, hold in enumerate(holds)
        ]
        for hold in holds:
            assert hold.started.wait(30)
        answer = httpx.post(f"{url}/v2/syncd/plans", json={"revision": head}, timeout=30)
        for hold in holds:
            hold.release.set()
        for future in futures:
            with pytest.raises(AssertionError, match="held only"):
                future.result(30)
    assert answer.status_code == 429, answer.text
    assert answer.json()["type"] == "TooManyRequests"
    assert int(answer.headers["Retry-After"]) > 0
    # the slots are free again: the same request is planned
    again = httpx.post(f"{url}/v2/syncd/plans", json={"revision": head}, timeout=60)
    assert again.status_code == 200, again.text
    assert again.json()["counts"]["create"] == 1 and again.json()["changed"] is True


def test_a_plan_runs_while_a_sync_holds_the_lock(
    served: tuple[str, LivePlanner, str], tmp_path: Path
) -> None:
    """The instance's sync lock held (a sync applying for minutes): a plan still answers."""
    url, planner, head = served
    settings = planner.reconciler.settings
    datadir.private_dir(settings.data_dir)
    lock = datadir.private_file(settings.data_dir / f"{settings.instance}.lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            answer = httpx.post(f"{url}/v2/syncd/plans", json={"ref": "main"}, timeout=60)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["revision"] == head


def test_a_second_request_for_the_same_ref_shares_the_first_ones_plan(
    served: tuple[str, LivePlanner, str],
) -> None:
    url, planner, head = served
    gate = threading.Event()
    entered = threading.Event()
    calls: list[str] = []
    compute = planner._compute

    def slow(request: Any) -> LivePlan:
        calls.append(request.key)
        entered.set()
        assert gate.wait(30)
        return compute(request)

    planner._compute = slow  # type: ignore[method-assign]
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(httpx.post, f"{url}/v2/syncd/plans", json={"ref": "main"}, timeout=60)
        assert entered.wait(30)
        second = pool.submit(
            httpx.post, f"{url}/v2/syncd/plans", json={"ref": "refs/heads/main"}, timeout=60
        )
        wait_for(
            lambda: planner.flights._flights["ref refs/heads/main"].waiting == 1,
            30,
            "the second request",
        )
        gate.set()
        answers = [first.result(60), second.result(60)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() | {"ref": None} == answers[1].json() | {"ref": None}
    assert answers[0].json()["revision"] == head
    assert calls == ["ref refs/heads/main"]  # computed once
