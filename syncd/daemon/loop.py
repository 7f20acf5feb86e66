"""`syncd run`: keep Docker equal to the repository's branch, forever.

Triggers (refs watch, remote poll, webhook, drift timer, Docker events, retry) only *request* a
sync; one loop runs them one at a time and coalesces requests that arrive meanwhile into the next
sync. A sync (`pipeline`) reads the branch head (fetching only when a remote moved), parses it
(cached per revision), and reconciles. Whatever fails, at any stage and however (a bug
included), the sync ends with its stage in the history and the status (`history`). A head that
cannot be planned changes nothing: the last good revision (kept in the store across restarts)
keeps being enforced while the error, with file:line:col, is reported. Whether and when to
retry is the failure's own (`syncd.errors`): a revision that fails on its own waits for the
next commit; other failures are retried with exponential backoff, and an engine outage is
recovered from when Docker answers again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from syncd import logs
from syncd.apply.execute import SyncResult
from syncd.apply.reconcile import Reconciler
from syncd.apply.store import Store
from syncd.core.records import StackRecord, SyncRecord
from syncd.daemon import swarmwatch, verifying, watchers
from syncd.daemon.config import RunConfig, guard_of
from syncd.daemon.events import EngineWatch
from syncd.daemon.history import Backoff, History
from syncd.daemon.metrics import Metrics
from syncd.daemon.notices import Notifier
from syncd.daemon.pausing import Pausing
from syncd.daemon.pipeline import Attempt, Pipeline, crash
from syncd.daemon.refresh import Refresher
from syncd.daemon.revisions import Parsed, Revisions, log_frames
from syncd.daemon.snapshot import DaemonSnapshot
from syncd.daemon.status import Outcome, Stage, Status, Trigger, trigger_text
from syncd.engine import connect
from syncd.engine.base import Engine
from syncd.errors import (
    EngineFailure,
    EngineUnavailable,
    SourceError,
    StartupError,
    SyncFailure,
    TemporaryFailure,
)
from syncd.settings import Settings
from syncd.source.repository import Credentials, RepoKind, Repository

BACKOFF_MAX = TemporaryFailure.ceiling
ENGINE_BACKOFF_MAX = EngineFailure.ceiling  # an engine outage is checked at least this often
EXIT_UNAVAILABLE, EXIT_CONFIG = 69, 78  # sysexits: a service is unavailable; a bad setting


class Daemon:
    """The loop and its state. Readers get it as a `SnapshotProvider` and a `TriggerSink`."""

    def __init__(
        self,
        config: RunConfig,
        settings: Settings,
        env: Mapping[str, str],
        *,
        engine: Engine | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.env = env
        self.metrics = metrics or Metrics()  # counted as syncs end; gauges wired by the caller
        self.log = logs.get()
        self.stop = threading.Event()
        self._cond = threading.Condition()
        self._pending: set[Trigger] = set()
        self._retry_at: float | None = None
        self._snapshot: DaemonSnapshot | None = None
        self._listeners: list[Callable[[DaemonSnapshot], None]] = []
        try:
            self.repo = Repository(
                config.repo,
                settings.data_dir,
                branch=config.branch,
                paths=config.paths,
                credentials=Credentials(config.ssh_key_file, config.token_file),
            )
        except SourceError as err:
            raise StartupError(str(err), EXIT_CONFIG) from err
        try:
            self.engine = engine or connect(settings)
            self.engine.observe()
        except EngineUnavailable as err:
            raise StartupError(f"{err} (is dockerd running?)", EXIT_UNAVAILABLE) from err
        self.store = Store(settings.state_file)
        interrupted = self.store.mark_interrupted()
        if interrupted:
            self.log.warning("syncs_interrupted", count=interrupted)
        self.reconciler = Reconciler(settings, self.engine, self.store, env)
        self.reconciler.guard = guard_of(config, self.repo.branch)
        self._status = Status(
            repo=self.repo.display,
            branch=self.repo.branch,
            instance=settings.instance,
            started_at=time.time(),
            good_revision=self.store.good_revision(),  # read again from git when needed
        )
        self.pausing = Pausing(self.store, self._status, config.mode, self.request)
        self.updates = self.reconciler.updates  # scheduled image updates (`watchers.schedules`)
        self.reconciler.hold = self.pausing.hold  # pauses and detect mode hold executions
        self.metrics.registry.register(self.pausing.collector())
        gate = verifying.gate(self.repo, settings, self._status, self.metrics.revision_refused)
        self.revisions = Revisions(self.repo, settings, env, self._status, gate=gate)
        # commit statuses, webhook events, the applied commit in the status
        self.notifier = Notifier(config.notify, self.repo, self._status, self.metrics, self.stop)
        self.refresher = Refresher(settings, self.engine, self.store, self.reconciler)
        self.pipeline = Pipeline(
            self.revisions,
            self.engine,
            self.reconciler,
            self._status,
            self._publish,
            allow_empty=config.allow_empty,
            seen=self.notifier.seen,
        )
        self.backoff = Backoff(self._status, self._retry_in)
        self.history = History(
            self.store,
            self._status,
            metrics=self.metrics,
            revisions=self.revisions,
            backoff=self.backoff,
            heal=self.pipeline.heal,
        )
        self._check_branch()

    def _check_branch(self) -> None:
        try:
            self.repo.head()
        except SourceError as err:
            if self.repo.kind is RepoKind.REMOTE:  # may come back: report and keep trying
                self.log.warning("source_unavailable", error=str(err))
                return
            raise StartupError(str(err), EXIT_CONFIG) from err

    # -- what readers see (`SnapshotProvider`) ---------------------------------------------------

    @property
    def status(self) -> Status:
        return self._status

    def snapshot(self) -> DaemonSnapshot | None:
        return self._snapshot

    def stacks(self) -> dict[str, StackRecord]:
        return self.store.stacks()

    def syncs(self, limit: int) -> list[SyncRecord]:
        return self.store.syncs(limit)

    def subscribe(self, listener: Callable[[DaemonSnapshot], None]) -> None:
        """Call `listener` with each new snapshot, in the sync thread (off the request path)."""
        self._listeners.append(listener)
        if self._snapshot is not None:
            listener(self._snapshot)

    def _publish(self, parsed: Parsed) -> None:
        snapshot = self.refresher.build(parsed.manifests, parsed.revision, self._status)
        if snapshot is not None:
            self.publish(snapshot)

    def publish(self, snapshot: DaemonSnapshot, base: DaemonSnapshot | None = None) -> None:
        """Publish a snapshot; with `base`, only while that is still the current one (a fresher
        copy of it, `swarmwatch`: never over a newer sync's)."""
        with self._cond:
            if base is not None and self._snapshot is not base:
                return
            self._snapshot = snapshot
        for listener in self._listeners:
            listener(snapshot)

    # -- triggers ------------------------------------------------------------------------------

    def request(self, trigger: Trigger) -> None:
        with self._cond:
            self._pending.add(trigger)
            self._cond.notify()

    def shutdown(self) -> None:
        self.stop.set()
        with self._cond:
            self._cond.notify_all()

    def _retry_in(self, delay: float | None) -> None:
        with self._cond:
            self._retry_at = None if delay is None else time.monotonic() + delay

    def _next(self) -> frozenset[Trigger] | None:
        """Wait for requests (or the retry time); None when stopping."""
        with self._cond:
            while not self._pending and not self.stop.is_set():
                timeout = None
                if self._retry_at is not None:
                    timeout = self._retry_at - time.monotonic()
                    if timeout <= 0:
                        self._pending.add(Trigger.RETRY)
                        break
                self._cond.wait(timeout)
            if self.stop.is_set():
                return None
            triggers, self._pending = frozenset(self._pending), set()
            self._retry_at = None
            return triggers

    def sync_loop(self) -> None:
        while (triggers := self._next()) is not None:
            try:
                self.sync_once(triggers)
            except Exception as err:  # even the store failed: the daemon goes on, retries later
                self.log.error("sync_crashed", error=type(err).__name__)
                log_frames("sync_crash_frames", err)
                self._status.syncing = False
                self.backoff.after(TemporaryFailure(Stage.RECORD, "the sync crashed"))

    def timer(self, interval: float, trigger: Trigger, jitter: float = 0.0) -> None:
        while not self.stop.wait(interval * (1 + random.uniform(-jitter, jitter))):
            self.request(trigger)

    def events_loop(self) -> None:
        EngineWatch(self.engine, self._status, self.request, self.stop).run()

    # -- one sync ------------------------------------------------------------------------------

    def sync_once(self, triggers: set[Trigger] | frozenset[Trigger]) -> SyncResult | None:
        attempt = Attempt(
            self.store.begin_sync(trigger_text(triggers), None),
            frozenset(triggers),
            time.monotonic(),
        )
        self._status.syncing = True
        failure: SyncFailure | None = None
        result: SyncResult | None = None
        try:
            try:
                result = self.pipeline.sync(attempt)
            except SyncFailure as err:
                failure = err
                self.history.failed(attempt, failure)
                return None
            self.history.finished(attempt, result)
            return result
        except Exception as err:  # a bug in the bookkeeping: reported like a failure
            failure = crash(Stage.RECORD, err, attempt.revision)
            self.history.failed(attempt, failure)
            return None
        finally:
            self._status.syncing = False
            self.notifier.ended(attempt, result, failure)  # queued: never blocks
            if not attempt.ended:  # reporting failed as well (the store?): the row still ends
                stage = failure.stage if failure else Stage.RECORD
                self.store.finish_sync(
                    attempt.sync_id,
                    revision=attempt.revision,
                    result=Outcome.CRASHED.value,
                    stage=stage.value,
                )

    # -- lifecycle -----------------------------------------------------------------------------

    def threads(self) -> list[threading.Thread]:
        """Every background loop (not started): sync, triggers and Docker events."""
        loops: list[tuple[str, Any, tuple[Any, ...]]] = [
            ("sync", self.sync_loop, ()),
            ("drift", self.timer, (self.config.drift_interval, Trigger.DRIFT, 0.1)),
            ("events", self.events_loop, ()),
            ("swarm", swarmwatch.watch, (self.stop, self.engine, self)),  # on a Swarm engine
            ("pauses", self.pausing.watch, (self.stop,)),
            (
                "schedule",
                watchers.schedules,
                (self.stop, self.pausing, self.reconciler.updates, self.request),
            ),
        ]
        loops += [(f"notify-{i}", o.run, ()) for i, o in enumerate(self.notifier.outboxes)]
        if self.repo.kind is RepoKind.REMOTE:
            loops.append(("poll", self.timer, (self.config.poll_interval, Trigger.POLL, 0.1)))
        else:
            loops.append(("watch", watchers.watch, (self.stop, self.repo, self.request)))
        return [
            threading.Thread(target=fn, args=args, name=f"syncd-{name}", daemon=True)
            for name, fn, args in loops
        ]

    def close(self) -> None:
        self.store.close()
        self.engine.close()
