"""One sync, as a pipeline: fetch -> verify -> parse -> plan -> execute -> record. Each step is
wrapped with its stage, so whatever it raises (a bug included) leaves it as a `SyncFailure`
carrying the stage, the revision and the located problems. The daemon's bookkeeping (status,
history, retry, metrics) is not here: it reads the failure (`history`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from syncd import logs
from syncd.apply.execute import SyncResult
from syncd.apply.reconcile import Reconciler
from syncd.daemon import isolation
from syncd.daemon.revert import Revert
from syncd.daemon.revisions import Parsed, Revisions, describe, internal, log_frames
from syncd.daemon.status import Status, Trigger, trigger_text
from syncd.engine.base import Engine
from syncd.errors import (
    EngineFailure,
    EngineUnavailable,
    ManifestError,
    PermanentFailure,
    Stage,
    SyncdError,
    SyncFailure,
    TemporaryFailure,
)
from syncd.manifests.isolate import PartialSet


@dataclass
class Attempt:
    """One sync as it runs: its history row, what triggered it, when it started."""

    sync_id: int
    triggers: frozenset[Trigger]
    started: float
    revision: str | None = None
    ended: bool = False  # its history row has its result
    kept: bool = True  # the history keeps its row (a routine pass that found nothing: not)

    @property
    def trigger(self) -> str:
        return trigger_text(self.triggers)

    @property
    def duration(self) -> float:
        return time.monotonic() - self.started


@contextmanager
def step(stage: Stage, kind: type[SyncFailure], attempt: Attempt) -> Iterator[None]:
    """Run one step of `attempt`: anything it raises leaves as a failure of `stage` (of class
    `kind`, which says whether and when to retry). Invalid manifests are always the parse
    stage's, an engine outage always the engine's."""
    try:
        yield
    except SyncFailure:
        raise
    except ManifestError as err:  # parse, or resolve (a StackPatch op): every problem located
        problems = [str(p) for p in err.problems]
        message = f"revision {(attempt.revision or '')[:12]} has invalid manifests: "
        if err.held:  # not confined to some stacks (`manifests.isolate`): every stack held
            message = f"held: {err.held}; " + message
        message += "; ".join(problems[:5])
        raise PermanentFailure(
            Stage.PARSE, message, revision=attempt.revision, problems=problems
        ) from err
    except EngineUnavailable as err:
        raise EngineFailure(Stage.ENGINE, str(err), revision=attempt.revision) from err
    except SyncdError as err:  # a refused plan, git unreadable, ...: where it happened
        raise kind(stage, str(err), revision=attempt.revision) from err
    except Exception as err:  # a bug: reported by its type only
        # from None: the exception's text may quote a secret's value
        raise crash(stage, err, attempt.revision, kind) from None


def crash(
    stage: Stage,
    err: Exception,
    revision: str | None,
    kind: type[SyncFailure] = TemporaryFailure,
) -> SyncFailure:
    """An exception syncd did not expect (a bug), as a failure of `stage`. Its text stays out
    of the status and the logs (it may hold a secret's value); its frames go to the debug log."""
    log_frames("sync_crash_frames", err, stage=stage.value)
    message = internal(err, f"failed in the {stage} stage")
    return kind(stage, message, revision=revision, crashed=True)


class Pipeline:
    def __init__(
        self,
        revisions: Revisions,
        engine: Engine,
        reconciler: Reconciler,
        status: Status,
        publish: Callable[[Parsed], None],
        *,
        allow_empty: bool,
        seen: Callable[[str], None] = lambda _revision: None,
    ) -> None:
        self.revisions = revisions
        self.engine = engine
        self.reconciler = reconciler
        self.status = status
        self.publish = publish  # a new snapshot for the API, from the last good revision
        self.allow_empty = allow_empty
        self.seen = seen  # the head is known: its sync starts (`notices`)
        self.revert = Revert(reconciler, revisions.enforced, publish)  # `--rollback=revision`
        self.log = logs.get()

    def sync(self, attempt: Attempt) -> SyncResult:
        """fetch -> verify -> parse -> plan -> execute -> record. Raises a `SyncFailure`."""
        with step(Stage.FETCH, TemporaryFailure, attempt):
            attempt.revision = revision = self.revisions.head()
            self.status.seen_revision = revision
            self.seen(revision)
            self.revisions.raise_if_unusable(revision)  # not read again until the branch moves
        with step(Stage.VERIFY, TemporaryFailure, attempt):  # a refused commit: permanent
            self.revisions.verify(revision)
        with step(Stage.FETCH, TemporaryFailure, attempt):
            fetched = self.revisions.fetch(revision)
        with step(Stage.PARSE, PermanentFailure, attempt):
            parsed = self.revisions.parse(fetched)
        with step(Stage.PLAN, PermanentFailure, attempt), self.reconciler.lock():
            observed = self.engine.observe()
            self.status.engine_available = True
            with step(Stage.RESOLVE, PermanentFailure, attempt):
                desired = self.reconciler.resolve(parsed.manifests, revision, observed)
            updates = self.reconciler.updates  # scheduled image updates (`apply.updates`)
            if Trigger.SCHEDULE in attempt.triggers and updates.check(desired, observed):
                observed = self.engine.observe()  # the pulled images, then the new pins
                desired = self.reconciler.resolve(parsed.manifests, revision, observed)
            planned = self.reconciler.plan_for(desired, observed, allow_empty=self.allow_empty)
            self.reconciler.check_guard(planned)  # another source, a mass removal: refused
            with step(Stage.APPLY, TemporaryFailure, attempt):
                self.revert.hold(planned, revision)  # --rollback=revision: the head held
                result = updates.annotate(self.reconciler.execute(planned))
                self.revert.after(result, revision)  # a rollback returns it to the last good
            updates.track(desired)
        with step(Stage.RECORD, TemporaryFailure, attempt):
            if isinstance(parsed.manifests, PartialSet):  # broken stacks kept at last good
                self.revisions.applied_in_part(parsed)
                self.publish(parsed)
                store, status = self.reconciler.store, self.status
                raise isolation.report(parsed.manifests, revision, result, store, status)
            self.record(parsed)
        return result

    def record(self, parsed: Parsed) -> None:
        """`parsed` applied: the last good revision (enforced after a restart, too); then the
        API's snapshot, first, so that once the status says applied, the API shows it."""
        if self.status.good_revision != parsed.revision:
            self.reconciler.store.set_good_revision(parsed.revision)
        self.revisions.applied(parsed)
        self.publish(parsed)

    def heal(self) -> tuple[str, SyncResult] | None:
        """Self-heal with the last good revision while the head has no plan (None: none)."""
        good = self.revisions.enforced()
        if good is None:
            return None
        try:
            result = self.reconciler.sync(good.manifests, good.revision)
            self.publish(good)
        except Exception as err:  # the head's failure is what the sync reports
            self.log.warning("self_heal_failed", revision=good.revision, error=describe(err))
            return None
        self.status.engine_available = True
        if result.ok and not self.status.held and not isinstance(good.manifests, PartialSet):
            self.status.applied_revision = good.revision
        return good.revision, result
