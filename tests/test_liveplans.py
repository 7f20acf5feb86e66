"""The bounds of live plans (`syncd.daemon.liveplans`, `syncd.api.plans`): one computation
per revision or ref at a time (a second request shares its answer), a global cap, a cap on
waiters, the LRU, and the problems a 422 lists. Real threads; each computation is held on an
event, so no test depends on timing."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from syncd.api.plans import MAX_PROBLEMS, _invalid
from syncd.daemon.liveplans import Flights, Lru, PlanRequest
from syncd.errors import InvalidRevision, PlansBusy, SyncdError
from syncd.problems import Position, Problem
from tests.daemon_support import wait_for


class Held:
    """A computation that runs until released, counting how often it ran."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        self.started.set()
        assert self.release.wait(30)
        return self.value


def waiting(flights: Flights[str], key: str, count: int) -> Callable[[], bool]:
    return lambda: key in flights._flights and flights._flights[key].waiting == count


def test_a_second_request_for_the_same_key_shares_the_first_ones_answer() -> None:
    flights: Flights[str] = Flights(running=2, waiting=4)
    held = Held("plan-1")
    other = Held("never")
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(flights.run, "ref refs/pull/12/head", held)
        assert held.started.wait(30)
        second = pool.submit(flights.run, "ref refs/pull/12/head", other)
        wait_for(waiting(flights, "ref refs/pull/12/head", 1), 30, "the second request waiting")
        held.release.set()
        assert first.result(30) == second.result(30) == "plan-1"
    assert held.calls == 1 and other.calls == 0
    # done: the next request computes again
    again = Held("plan-2")
    again.release.set()
    assert flights.run("ref refs/pull/12/head", again) == "plan-2"


def test_more_keys_than_the_cap_are_answered_busy_at_once() -> None:
    flights: Flights[str] = Flights(running=2, waiting=4)
    one, two = Held("a"), Held("b")
    with ThreadPoolExecutor(2) as pool:
        futures: list[Future[str]] = [pool.submit(flights.run, "a", one)]
        assert one.started.wait(30)
        futures.append(pool.submit(flights.run, "b", two))
        assert two.started.wait(30)
        with pytest.raises(PlansBusy, match="2 plans are being computed") as busy:
            flights.run("c", Held("c"))
        assert busy.value.retry_after > 0
        one.release.set()
        two.release.set()
        assert [f.result(30) for f in futures] == ["a", "b"]
    free = Held("c")
    free.release.set()
    assert flights.run("c", free) == "c"


def test_waiters_for_one_key_are_bounded() -> None:
    flights: Flights[str] = Flights(running=2, waiting=1)
    held = Held("x")
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(flights.run, "k", held)
        assert held.started.wait(30)
        second = pool.submit(flights.run, "k", Held("never"))
        wait_for(waiting(flights, "k", 1), 30, "one waiter")
        with pytest.raises(PlansBusy, match="1 requests already wait"):
            flights.run("k", Held("never"))
        held.release.set()
        assert first.result(30) == second.result(30) == "x"
    assert not flights._flights


def test_a_failure_is_every_waiters_answer_and_frees_the_slot() -> None:
    flights: Flights[str] = Flights(running=1, waiting=2)
    started, release = threading.Event(), threading.Event()

    def failing() -> str:
        started.set()
        assert release.wait(30)
        raise SyncdError("revision abc has invalid manifests")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(flights.run, "k", failing)
        assert started.wait(30)
        second = pool.submit(flights.run, "k", Held("never"))
        wait_for(waiting(flights, "k", 1), 30, "one waiter")
        release.set()
        for future in (first, second):
            with pytest.raises(SyncdError, match="invalid manifests"):
                future.result(30)
    done = Held("ok")
    done.release.set()
    assert flights.run("other", done) == "ok"  # the one slot is free again


def test_a_waiter_gives_up_after_the_wait_limit() -> None:
    flights: Flights[str] = Flights(running=1, waiting=2, wait_limit=0.01)
    held = Held("slow")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(flights.run, "k", held)
        assert held.started.wait(30)
        with pytest.raises(PlansBusy, match="took longer than"):
            flights.run("k", Held("never"))
        held.release.set()
        assert first.result(30) == "slow"


def test_the_lru_keeps_the_most_recently_used() -> None:
    lru: Lru[str, int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # a is now the newest
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c"), len(lru)) == (1, None, 3, 2)


def test_requests_for_a_revision_and_a_ref_are_different_keys() -> None:
    assert PlanRequest(ref="main").key != PlanRequest(revision="main").key
    assert PlanRequest(ref="refs/pull/1/head").key == PlanRequest(ref="refs/pull/1/head").key
    assert PlanRequest(ref="main").key == PlanRequest(ref="refs/heads/main").key
    assert PlanRequest(revision="ABC123").key == PlanRequest(revision="abc123").key


def test_a_422_lists_a_bounded_number_of_problems_and_counts_them_all() -> None:
    problems = [
        Problem("stack.yaml", f"unknown field k{n}", f"/services/web/k{n}", Position(n + 1, 3))
        for n in range(MAX_PROBLEMS + 100)
    ]
    answer = json.loads(bytes(_invalid(InvalidRevision("ab" * 20, problems)).body))
    assert len(answer["problems"]) == MAX_PROBLEMS
    assert (
        f"({MAX_PROBLEMS + 100} problems; the first {MAX_PROBLEMS} are listed)"
        in (answer["message"])
    )
    assert answer["problems"][0] == {
        "file": "stack.yaml",
        "line": 1,
        "column": 3,
        "pointer": "/services/web/k0",
        "severity": "error",
        "message": "unknown field k0",
        "text": "stack.yaml:1:3: /services/web/k0: unknown field k0",
    }
