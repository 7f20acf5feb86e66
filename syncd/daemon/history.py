"""The daemon's bookkeeping after each sync: the history row, the status, the metrics, one log
event, and what comes next (a retry after the failure's own delay, or a wait for a new
revision). Everything is read from the typed result or failure, never from message text."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from syncd import logs, taint
from syncd.apply.execute import SyncResult
from syncd.apply.store import Store
from syncd.daemon.pipeline import Attempt
from syncd.daemon.revisions import Revisions
from syncd.daemon.status import LastError, Outcome, Status, routine
from syncd.errors import EngineFailure, PermanentFailure, Stage, SyncFailure, TemporaryFailure


class SyncMetrics(Protocol):
    """Where the end of each sync is counted."""

    def sync_done(self, ok: bool, duration: float, stage: Stage | None) -> None: ...


class Backoff:
    """When the next retry runs: each failure in a row asks its own class for the delay."""

    def __init__(self, status: Status, schedule: Callable[[float | None], None]) -> None:
        self.status = status
        self.schedule = schedule  # the loop's retry timer (None: no retry pending)
        self.failures = 0
        self.log = logs.get()

    def after(self, failure: SyncFailure) -> float | None:
        """Schedule the retry `failure` asks for; None: it waits for a new revision."""
        delay = failure.retry_after(self.failures + 1)
        if delay is None:
            self.status.next_retry_in = None
            return None
        self.failures += 1
        self.schedule(delay)
        self.status.next_retry_in = delay
        self.log.info("sync_retry_scheduled", in_seconds=delay, failures=self.failures)
        return delay

    def reset(self) -> None:
        self.failures = 0
        self.status.next_retry_in = None


def services_failure(result: SyncResult, revision: str | None) -> TemporaryFailure | None:
    """A sync that applied but left services (or volumes, networks) failing: retried. Its
    stage is `health` when a service waited in vain for a dependency to become healthy."""
    if result.ok:
        return None
    failed = result.failed
    stage = Stage.HEALTH if any(r.unhealthy_dependency for r in failed) else Stage.APPLY
    message = "; ".join([f"{r.key}: {r.detail}" for r in failed] + list(result.errors))
    return TemporaryFailure(stage, message, revision=revision)


def service_rows(result: SyncResult) -> list[dict[str, Any]]:
    """A sync's per-service results, as the history keeps them."""
    return [
        {"service": str(r.key), "action": r.action.value, "ok": r.ok, "detail": r.detail}
        for r in result.services
        if r.action.value != "none" or not r.ok
    ]


class History:
    def __init__(
        self,
        store: Store,
        status: Status,
        *,
        metrics: SyncMetrics,
        revisions: Revisions,
        backoff: Backoff,
        heal: Callable[[], tuple[str, SyncResult] | None],
    ) -> None:
        self.store = store
        self.status = status
        self.metrics = metrics
        self.revisions = revisions
        self.backoff = backoff
        self.heal = heal  # enforce the last good revision: (its revision, the result)

    def failed(self, attempt: Attempt, failure: SyncFailure) -> None:
        """A sync that failed: without a plan for the head, the last good revision is
        enforced; then the failure is reported."""
        if isinstance(failure, EngineFailure):
            self.status.engine_available = False
        known = self.revisions.unusable
        if known is not None and known[0] is failure:
            self._still_unusable(attempt, failure, known[1])
            return
        healed = self.heal() if failure.stage.before_plan else None
        message = taint.scrub_known(failure.message)  # in depth: whatever a failure quoted
        self._report(attempt, failure, LastError.of(failure, message, time.time()), healed)

    def _still_unusable(self, attempt: Attempt, failure: SyncFailure, error: LastError) -> None:
        """The head has not moved since it failed on its own: it is not read again, and the
        last good revision is enforced. A routine pass that changed nothing is not kept."""
        healed = self.heal()
        if routine(attempt.triggers) and (healed is None or not healed[1].plan.changed):
            self.store.drop_sync(attempt.sync_id)
            attempt.ended, attempt.kept = True, False
            self.status.last_error = error  # an outage may have replaced it meanwhile
            logs.get().debug("revision_still_unusable", revision=failure.revision)
            return
        self._report(attempt, failure, error, healed)

    def _report(
        self,
        attempt: Attempt,
        failure: SyncFailure,
        error: LastError,
        healed: tuple[str, SyncResult] | None,
    ) -> None:
        revision, stage, outcome = attempt.revision, failure.stage, Outcome.of(failure)
        duration = attempt.duration
        result = healed[1] if healed else None
        self.store.finish_sync(
            attempt.sync_id,
            revision=revision,
            result=outcome.value,
            stage=stage.value,
            error=error.message,
            summary=result.plan.counts() if result else None,
            services=service_rows(result) if result else None,
        )
        attempt.ended = True
        self.status.last_error = error = replace(error, at=time.time())
        self.status.last_sync = {
            "trigger": attempt.trigger,
            "revision": revision,
            "result": outcome.value,
            "stage": stage.value,
            "duration": round(duration, 3),
            "at": time.time(),
        }
        self.status.syncs += 1
        self.metrics.sync_done(False, duration, stage)
        if self.backoff.after(failure) is None and revision is not None:
            assert isinstance(failure, PermanentFailure)
            self.revisions.unusable = (failure, error)
            for key in self.revisions.good_stacks():
                self.store.set_stack(key, seen=revision, error=error.message)
        logs.get().bind(revision=revision).error(
            "sync_failed",
            trigger=attempt.trigger,
            stage=stage.value,
            result=outcome.value,
            error=error.message,
            problems=list(error.problems),
            enforcing=healed[0] if healed else None,
        )

    def finished(self, attempt: Attempt, result: SyncResult) -> None:
        """A sync that planned and applied the head: its row, its stacks, the status."""
        revision, plan = attempt.revision, result.plan
        failure = services_failure(result, revision)
        stage = failure.stage if failure else None
        error = failure.message if failure else None
        if result.ok and not plan.changed and routine(attempt.triggers):
            self.store.drop_sync(attempt.sync_id)  # routine checks that found nothing
            attempt.kept = False
        outcome = Outcome.OK if failure is None else Outcome.FAILED
        self.store.finish_sync(
            attempt.sync_id,
            revision=revision,
            result=outcome.value,
            stage=stage.value if stage else None,
            error=error,
            summary=plan.counts(),
            services=service_rows(result),
        )
        attempt.ended = True
        failed_stacks = {r.key.stack_key for r in result.failed}
        for stack in plan.stacks:
            if not stack.removed:
                ok = stack.key not in failed_stacks
                self.store.set_stack(
                    str(stack.key),
                    seen=revision,
                    applied=revision if ok else None,
                    error=None if ok else error,
                )
        duration = attempt.duration
        self.status.last_sync = {
            "trigger": attempt.trigger,
            "revision": revision,
            "result": outcome.value,
            "duration": round(duration, 3),
            "counts": plan.counts(),
            "at": time.time(),
        }
        folders = self.store.data_folders()
        self.status.orphaned_data_folders = tuple(sorted(f for f, gone in folders.items() if gone))
        self.status.syncs += 1
        self.metrics.sync_done(failure is None, duration, stage)
        if failure is None:
            if not self.status.held:  # a paused stack's changes wait: not applied yet
                self.status.applied_revision = revision
            self.status.last_error = None
            self.backoff.reset()
        else:
            self.status.last_error = LastError.of(failure, failure.message, time.time())
            self.backoff.after(failure)
        logs.get().bind(revision=revision).info(
            "sync_done",
            trigger=attempt.trigger,
            ok=result.ok,
            duration=round(duration, 3),
            stacks=[str(s.key) for s in plan.stacks if s.changed],
            **plan.counts(),
        )
