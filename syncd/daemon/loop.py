"""`syncd run`: keep Docker equal to the repository's branch, forever.

Triggers (refs watch, remote poll, webhook, drift timer, Docker events, retry) only *request* a
sync; one loop runs them one at a time and coalesces requests that arrive meanwhile into the next
sync. A sync reads the branch head (fetching only when a remote moved), parses it (cached per
revision), and reconciles. Whatever fails, at any stage and however (a bug included), the sync
ends with its stage in the history and the status. A head that cannot be planned changes
nothing: the last good revision (kept in the store across restarts) keeps being enforced while
the error, with file:line:col, is reported. A revision that fails on its own (parse, resolve,
plan) waits for the next commit; other failures are retried with exponential backoff, and an
engine outage is recovered from when Docker answers again.
"""

from __future__ import annotations

import json
import random
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncd import logs, taint
from syncd.api.deployed import deployed_spec
from syncd.api.projects import first_applied, project_names
from syncd.api.view import Inputs, View
from syncd.api.view import build as build_view
from syncd.apply.execute import SyncResult
from syncd.apply.reconcile import Reconciler
from syncd.apply.store import Store
from syncd.core.canonical import Spec
from syncd.core.desired import DesiredState
from syncd.core.observe import Observation
from syncd.daemon.config import RunConfig
from syncd.daemon.metrics import Metrics
from syncd.daemon.status import Outcome, Stage, Status, Trigger
from syncd.daemon.usage import FilesUsage
from syncd.engine import connect
from syncd.engine.base import Engine, Names
from syncd.errors import EngineUnavailable, ManifestError, Problem, SourceError, SyncdError
from syncd.ids import RegistryKey, ServiceKey
from syncd.manifests import ManifestSet, read_manifests
from syncd.render import PlanFormat, render
from syncd.settings import Settings
from syncd.source.reader import Snapshot
from syncd.source.repository import Credentials, RepoKind, Repository

BACKOFF_BASE = 2.0
BACKOFF_MAX = 300.0
ENGINE_BACKOFF_MAX = 15.0  # an engine outage is checked for recovery at least this often
WATCHED_EVENTS = {"die", "destroy", "oom"}
USAGE_EVERY = 300.0  # seconds between volume size measurements (a disk walk on the engine)
EVENT_SETTLE = 0.5  # seconds between a container's event and the sync it triggers
QUIET = {
    "drift",
    "poll",
    "docker_event",
    "retry",
    "engine_back",
    "operator",
}  # no-op syncs: not in history
NO_PLAN = frozenset({Stage.FETCH, Stage.PARSE, Stage.RESOLVE, Stage.PLAN})  # the head has no
# plan: the last good revision is enforced instead
OWN = frozenset({Stage.PARSE, Stage.RESOLVE, Stage.PLAN})  # the revision's own failure: trying
# it again gives the same answer, so it waits for a new commit instead of a retry


class StartupError(SyncdError):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Attempt:
    """One sync as it runs: its history row, what triggered it, when it started."""

    sync_id: int
    trigger: str
    started: float
    revision: str | None = None
    stage: Stage = Stage.FETCH  # the step running now: a failure is reported against it
    ended: bool = False  # its history row has its result


@dataclass
class _Parsed:
    revision: str
    manifests: ManifestSet


@dataclass(frozen=True)
class _Unusable:
    """A head revision that failed on its own: not read again until the branch moves."""

    revision: str
    stage: Stage
    error: dict[str, Any]  # as the status shows it (`lastError`)
    outcome: Outcome


def _services(result: SyncResult) -> list[dict[str, Any]]:
    """A sync's per-service results, as the history keeps them."""
    return [
        {"service": str(r.key), "action": r.action.value, "ok": r.ok, "detail": r.detail}
        for r in result.services
        if r.action.value != "none" or not r.ok
    ]


def _internal(err: BaseException, what: str) -> str:
    """An unexpected error, by its type only: its text may hold a secret's value."""
    return f"syncd {what} (internal error {type(err).__name__}; a bug, please report it)"


def _describe(err: BaseException) -> str:
    return str(err) if isinstance(err, SyncdError) else _internal(err, "failed")


class Daemon:
    def __init__(
        self,
        config: RunConfig,
        settings: Settings,
        env: Mapping[str, str],
        *,
        engine: Engine | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.env = env
        self.log = logs.get()
        self.stop = threading.Event()
        self._cond = threading.Condition()
        self._pending: set[Trigger] = set()
        self._failures = 0
        self._retry_at: float | None = None
        self._good: _Parsed | None = None  # the last good revision, enforced meanwhile
        self._unusable: _Unusable | None = None
        self.view = View()  # what the /v2 API serves; replaced whole after each sync
        self._containers: dict[ServiceKey, str] = {}
        self._desired: DesiredState | None = None
        self._registry_valid: dict[RegistryKey, bool] = {}
        self._deployed: dict[str, Spec] = {}  # container id -> what it runs (inspected once)
        self._images: dict[str, dict[str, Any]] = {}  # image id -> inspect
        self.metrics = Metrics(self)
        self._usage: tuple[float, dict[str, int]] = (0.0, {})
        self._files = FilesUsage(settings.project_files, USAGE_EVERY)
        try:
            self.repo = Repository(
                config.repo,
                settings.data_dir,
                branch=config.branch,
                paths=config.paths,
                credentials=Credentials(config.ssh_key_file, config.token_file),
            )
        except SourceError as err:
            raise StartupError(str(err), 78) from None
        try:
            self.engine = engine or connect(settings)
            self.engine.observe()
        except EngineUnavailable as err:
            raise StartupError(f"{err} (is dockerd running?)", 69) from None
        self.store = Store(settings.state_file)
        interrupted = self.store.mark_interrupted()
        if interrupted:
            self.log.warning("syncs_interrupted", count=interrupted)
        self.reconciler = Reconciler(settings, self.engine, self.store, env)
        self.status = Status(
            repo=self.repo.display,
            branch=self.repo.branch,
            instance=settings.instance,
            started_at=time.time(),
            good_revision=self.store.good_revision(),  # read again from git when needed
        )
        self._check_branch()

    def _check_branch(self) -> None:
        try:
            self.repo.head()
        except SourceError as err:
            if self.repo.kind is RepoKind.REMOTE:  # may come back: report and keep trying
                self.log.warning("source_unavailable", error=str(err))
                return
            raise StartupError(str(err), 78) from None

    # -- triggers ------------------------------------------------------------------------------

    def request(self, trigger: Trigger) -> None:
        with self._cond:
            self._pending.add(trigger)
            self._cond.notify()

    def shutdown(self) -> None:
        self.stop.set()
        with self._cond:
            self._cond.notify_all()

    def _next(self) -> set[Trigger] | None:
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
            triggers, self._pending = self._pending, set()
            self._retry_at = None
            return triggers

    def sync_loop(self) -> None:
        while (triggers := self._next()) is not None:
            try:
                self.sync_once(triggers)
            except Exception as err:  # even the store failed: the daemon goes on, retries later
                self.log.error("sync_crashed", error=type(err).__name__)
                self._traceback("sync_crash_frames", err)
                self.status.syncing = False
                self._schedule_retry()

    def timer(self, interval: float, trigger: Trigger, jitter: float = 0.0) -> None:
        while not self.stop.wait(interval * (1 + random.uniform(-jitter, jitter))):
            self.request(trigger)

    def events_loop(self) -> None:
        """Docker events of our containers, as one long-lived stream (no polling, no idle cost).
        When the stream breaks and Docker does not answer, it is polled every second."""
        outage = False
        while not self.stop.is_set():
            since = time.time()
            try:
                if outage:
                    self.engine.observe()  # raises while Docker is still away
                    outage = False
                    self.log.info("engine_available")
                    self.request(Trigger.ENGINE_BACK)
                for event in self.engine.events(since=since):
                    self._on_event(event)
                self.engine.observe()  # the stream ended: is Docker still there?
            except Exception as err:  # this loop must outlive anything the engine answers
                if not outage:
                    self.log.warning("engine_unavailable", error=str(err))
                    self._engine_down(str(err))
                outage = True
                self.stop.wait(1.0)

    def _on_event(self, event: dict[str, Any]) -> None:
        action = str(event.get("Action") or event.get("status") or "")
        # `exec_start: <command>`: a healthcheck's command may hold a secret; log the verb only
        verb = action.split(":", 1)[0]
        self.log.debug("engine_event", type=event.get("Type"), action=verb)
        if event.get("Type") == "container" and verb in WATCHED_EVENTS:
            # Docker's listing can lag its events: look a moment later. Our own recreates
            # cause these too; that costs one no-op sync.
            settle = threading.Timer(EVENT_SETTLE, self.request, (Trigger.DOCKER_EVENT,))
            settle.daemon = True
            settle.start()

    def _engine_down(self, message: str) -> None:
        self.status.engine_available = False
        self.status.last_error = {
            "stage": Stage.ENGINE.value,
            "message": message,
            "at": time.time(),
        }

    # -- one sync ------------------------------------------------------------------------------

    def sync_once(self, triggers: set[Trigger]) -> SyncResult | None:
        trigger = ",".join(sorted(t.value for t in triggers))
        attempt = _Attempt(self.store.begin_sync(trigger, None), trigger, time.monotonic())
        self.status.syncing = True
        try:
            return self._sync(attempt)
        except Exception as err:  # a bug, in any stage: it ends and is reported like a failure
            self._crashed(attempt, err)
            return None
        finally:
            self.status.syncing = False
            if not attempt.ended:  # reporting failed as well (the store?): the row still ends
                self.store.finish_sync(
                    attempt.sync_id,
                    revision=attempt.revision,
                    result=Outcome.CRASHED.value,
                    stage=attempt.stage.value,
                )

    def _sync(self, attempt: _Attempt) -> SyncResult | None:
        """fetch -> parse -> resolve -> plan -> apply -> record. A failure is reported against
        the stage it happened in; without a plan for the head, the last good revision is
        enforced instead."""
        try:
            attempt.revision = revision = self.repo.head()
            self.status.seen_revision = revision
            known = self._unusable
            if known is not None and known.revision == revision:
                self._still_unusable(attempt, known)
                return None
            parsed = self._read(attempt, revision)
            with self.reconciler.lock():
                attempt.stage = Stage.PLAN
                observed = self.engine.observe()
                self.status.engine_available = True
                attempt.stage = Stage.RESOLVE
                desired = self.reconciler.resolve(parsed.manifests, revision, observed)
                attempt.stage = Stage.PLAN
                planned = self.reconciler.plan_for(
                    desired, observed, allow_empty=self.config.allow_empty
                )
                attempt.stage = Stage.APPLY
                result = self.reconciler.execute(planned)
            attempt.stage = Stage.RECORD
            if self.status.good_revision != revision:
                self.store.set_good_revision(revision)  # enforced after a restart, too
            self._good, self._unusable = parsed, None
            self.status.good_revision = revision
            self.status.good_revision_error = None
            self._refresh_view()  # first: once the status says applied, the API shows it
            self._finish(attempt, result)
            return result
        except ManifestError as err:  # parse, or resolve (a StackPatch op): every problem located
            problems = [str(p) for p in err.problems]
            message = f"revision {(attempt.revision or '')[:12]} has invalid manifests: "
            self._failed(attempt, Stage.PARSE, message + "; ".join(problems[:5]), problems)
        except EngineUnavailable as err:
            self._failed(attempt, Stage.ENGINE, str(err))
            self.status.engine_available = False
        except SyncdError as err:  # a refused plan, git unreadable, ...: where it happened
            self._failed(attempt, attempt.stage, str(err))
        return None

    def _read(self, attempt: _Attempt, revision: str) -> _Parsed:
        if self._good is not None and self._good.revision == revision:
            attempt.stage = Stage.PARSE
            return self._good
        snap = self.repo.snapshot(revision)
        attempt.stage = Stage.PARSE
        return _Parsed(revision, self._manifests(snap))

    def _manifests(self, snap: Snapshot) -> ManifestSet:
        """The snapshot's manifests, or a ManifestError, also when the reader itself breaks."""
        try:
            manifests = read_manifests(
                snap.files, self.env, problems=snap.problems, secrets_dir=self.settings.secrets
            )
        except Exception as err:  # a reader bug: still say in which file(s)
            self._traceback("reader_crashed", err)
            raise ManifestError(self._reader_crash(snap, err)) from None
        taint.remember(manifests.secret_values())  # no log line shows them, whatever quotes them
        if manifests.errors:
            raise ManifestError(manifests.errors)
        return manifests

    def _reader_crash(self, snap: Snapshot, err: Exception) -> list[Problem]:
        problems = []
        for file in snap.files:
            try:
                read_manifests((file,), self.env, secrets_dir=self.settings.secrets)
            except Exception as each:  # only its type is reported
                problems.append(Problem(file.path, _internal(each, "cannot read this file")))
        return problems or [Problem("(revision)", _internal(err, "cannot read the manifests"))]

    def _last_good(self) -> _Parsed | None:
        """The last good revision: in memory, or (after a restart) read again from git."""
        revision = self.status.good_revision
        if self._good is not None or revision is None or self.status.good_revision_error:
            return self._good
        try:
            self._good = _Parsed(revision, self._manifests(self.repo.snapshot(revision)))
        except Exception as err:  # reported in the status
            reason = _describe(err)
            self.status.good_revision_error = (
                f"the last good revision {revision[:12]} cannot be read ({reason}); "
                "was it garbage-collected? Nothing is enforced until a revision applies"
            )
            self.log.error("good_revision_unreadable", revision=revision, error=reason)
        return self._good

    def _enforce_last_good(self) -> SyncResult | None:
        """Self-heal with the last good revision while the head has no plan (None: none)."""
        good = self._last_good()
        if good is None:
            return None
        try:
            result = self.reconciler.sync(good.manifests, good.revision)
            self._refresh_view()
        except Exception as err:  # the head's failure is what the sync reports
            self.log.warning("self_heal_failed", revision=good.revision, error=_describe(err))
            return None
        self.status.engine_available = True
        if result.ok:
            self.status.applied_revision = good.revision
        return result

    def _still_unusable(self, attempt: _Attempt, known: _Unusable) -> None:
        """The head has not moved since it failed on its own: it is not read again, and the
        last good revision is enforced. A routine pass that changed nothing is not kept."""
        attempt.stage = known.stage
        healed = self._enforce_last_good()
        quiet = set(attempt.trigger.split(",")) <= QUIET
        if quiet and (healed is None or not healed.plan.changed):
            self.store.drop_sync(attempt.sync_id)
            attempt.ended = True
            self.status.last_error = known.error  # an outage may have replaced it meanwhile
            self.log.debug("revision_still_unusable", revision=known.revision)
            return
        self._report(attempt, known.stage, known.error, known.outcome, healed)

    def _crashed(self, attempt: _Attempt, err: Exception) -> None:
        """An exception syncd did not expect (a bug). Its text stays out of the status and the
        logs (it may hold a secret's value); its frames go to the debug log."""
        self._traceback("sync_crash_frames", err, stage=attempt.stage.value)
        message = _internal(err, f"failed in the {attempt.stage} stage")
        self._failed(attempt, attempt.stage, message, outcome=Outcome.CRASHED)

    def _traceback(self, event: str, err: BaseException, **fields: Any) -> None:
        frames = [
            f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_tb(err.__traceback__)
        ]
        self.log.debug(event, error=type(err).__name__, frames=frames, **fields)

    def _failed(
        self,
        attempt: _Attempt,
        stage: Stage,
        message: str,
        problems: list[str] | None = None,
        *,
        outcome: Outcome = Outcome.FAILED,
    ) -> None:
        """A sync that failed in `stage`: without a plan for the head, the last good revision
        is enforced; then the failure is reported."""
        healed = self._enforce_last_good() if stage in NO_PLAN else None
        error = {
            "stage": stage.value,
            "message": taint.scrub_known(message),  # in depth: whatever a failure quoted
            "revision": attempt.revision,
            "problems": problems or [],
        }
        self._report(attempt, stage, error, outcome, healed)

    def _report(
        self,
        attempt: _Attempt,
        stage: Stage,
        error: dict[str, Any],
        outcome: Outcome,
        healed: SyncResult | None,
    ) -> None:
        """History row, status, metrics, one log event; then what comes next: a failure of the
        revision's own waits for a new commit, any other is retried with backoff."""
        revision, trigger = attempt.revision, attempt.trigger
        duration = time.monotonic() - attempt.started
        self.store.finish_sync(
            attempt.sync_id,
            revision=revision,
            result=outcome.value,
            stage=stage.value,
            error=error["message"],
            summary=healed.plan.counts() if healed else None,
            services=_services(healed) if healed else None,
        )
        attempt.ended = True
        self.status.last_error = error = {**error, "at": time.time()}
        self.status.last_sync = {
            "trigger": trigger,
            "revision": revision,
            "result": outcome.value,
            "stage": stage.value,
            "duration": round(duration, 3),
            "at": time.time(),
        }
        self.status.syncs += 1
        self.metrics.sync_done(False, duration, stage.value)
        if stage in OWN and revision is not None:
            self._unusable = _Unusable(revision, stage, error, outcome)
            self.status.next_retry_in = None
            for key in self._good_stacks():
                self.store.set_stack(key, seen=revision, error=error["message"])
        else:
            self._schedule_retry(engine=stage is Stage.ENGINE)
        self.log.error(
            "sync_failed",
            trigger=trigger,
            revision=revision,
            stage=stage.value,
            result=outcome.value,
            error=error["message"],
            problems=error["problems"],
            enforcing=self._good.revision if healed and self._good else None,
        )

    def _good_stacks(self) -> list[str]:
        if self._good is None:
            return []
        return [str(s.manifest.key) for s in self._good.manifests.stacks]

    def _finish(self, attempt: _Attempt, result: SyncResult) -> None:
        revision, trigger = attempt.revision, attempt.trigger
        plan = result.plan
        failed = result.failed
        health = any(r.unhealthy_dependency for r in failed)
        stage = (Stage.HEALTH if health else Stage.APPLY) if not result.ok else None
        error = "; ".join([f"{r.key}: {r.detail}" for r in failed] + list(result.errors)) or None
        if result.ok and not plan.changed and set(trigger.split(",")) <= QUIET:
            self.store.drop_sync(attempt.sync_id)  # routine checks that found nothing
        self.store.finish_sync(
            attempt.sync_id,
            revision=revision,
            result=Outcome.OK.value if result.ok else Outcome.FAILED.value,
            stage=stage.value if stage else None,
            error=error,
            summary=plan.counts(),
            services=_services(result),
        )
        attempt.ended = True
        failed_stacks = {r.key.stack_key for r in failed}
        for stack in plan.stacks:
            if not stack.removed:
                ok = stack.key not in failed_stacks
                self.store.set_stack(
                    str(stack.key),
                    seen=revision,
                    applied=revision if ok else None,
                    error=None if ok else error,
                )
        duration = time.monotonic() - attempt.started
        self.status.last_sync = {
            "trigger": trigger,
            "revision": revision,
            "result": Outcome.OK.value if result.ok else Outcome.FAILED.value,
            "duration": round(duration, 3),
            "counts": plan.counts(),
            "at": time.time(),
        }
        self.status.syncs += 1
        self.metrics.sync_done(result.ok, duration, stage.value if stage else None)
        if result.ok:
            self.status.applied_revision = revision
            self.status.last_error = None
            self._succeeded()
        else:
            assert stage is not None and error is not None
            self.status.last_error = {
                "stage": stage.value,
                "message": error,
                "revision": revision,
                "problems": [],
                "at": time.time(),
            }
            self._schedule_retry()
        self.log.info(
            "sync_done",
            trigger=trigger,
            revision=revision,
            ok=result.ok,
            duration=round(duration, 3),
            stacks=[str(s.key) for s in plan.stacks if s.changed],
            **plan.counts(),
        )

    def _succeeded(self) -> None:
        self._failures = 0
        self.status.next_retry_in = None

    def _schedule_retry(self, *, engine: bool = False) -> None:
        self._failures += 1
        ceiling = ENGINE_BACKOFF_MAX if engine else BACKOFF_MAX
        delay = min(ceiling, BACKOFF_BASE**self._failures)
        with self._cond:
            self._retry_at = time.monotonic() + delay
        self.status.next_retry_in = delay
        self.log.info("sync_retry_scheduled", in_seconds=delay, failures=self._failures)

    # -- the API's snapshot ----------------------------------------------------------------------

    def _refresh_view(self) -> None:
        """Rebuild what the API serves (off the request path: one more listing, no inspects)."""
        good = self._good
        if good is None:
            return
        try:
            planned = self.reconciler.prepare(good.manifests, good.revision, allow_empty=True)
            usage_at, usage = self._usage
            if time.time() - usage_at > USAGE_EVERY:
                usage_at, usage = time.time(), self.engine.volume_usage()
                self._usage = (usage_at, usage)
        except SyncdError as err:
            self.log.warning("view_refresh_failed", error=str(err))
            return
        deployed = self._inspect_new(planned.observation)
        records = self.store.services()
        failing = " ".join(r.error or "" for r in records.values() if r.result == "error")
        self._containers = {k: c.id for k, c in planned.observation.containers.items()}
        self._desired = planned.desired
        pending = planned.plan  # what the next sync would do (e.g. services that failed)
        self.status.plan_json = json.loads(render(pending, PlanFormat.JSON))
        self.status.plan_markdown = render(pending, PlanFormat.MARKDOWN) if pending.changed else ""
        valid = {key: f"registry {key} " not in failing for key in planned.desired.registries}
        valid.update(self._registry_valid)  # an explicit check wins over the pull heuristic
        projects = project_names(planned.desired, planned.observation.live)
        created = self.store.projects_created(
            first_applied(projects, planned.observation, records, time.time())
        )
        files_at, files = self._files.current(projects)
        self.view = build_view(
            Inputs(
                desired=planned.desired,
                observation=planned.observation,
                observed=planned.observed,
                plan=planned.plan,
                records=records,
                instance=self.settings.instance,
                built_at=time.time(),
                volume_usage=usage,
                usage_at=usage_at,
                registry_valid=valid,
                deployed=deployed,
                created=created,
                files_usage=files,
                files_at=files_at,
            )
        )

    def _inspect_new(self, observation: Observation) -> dict[ServiceKey, Spec]:
        """What each container runs, from Docker's inspect. A container's configuration never
        changes, so each is inspected once: a steady state costs no inspect at all."""
        names = Names(self.settings.instance)
        current = {c.id: (key, c) for key, c in observation.containers.items()}
        self._deployed = {cid: spec for cid, spec in self._deployed.items() if cid in current}
        for cid, (key, container) in current.items():
            if cid in self._deployed:
                continue
            try:
                inspect = self.engine.inspect(cid)
                image_id = container.image_id
                if image_id not in self._images:
                    self._images[image_id] = self.engine.image_config(image_id)
            except SyncdError:
                continue  # removed meanwhile, or the image is gone: the recorded spec stands
            self._deployed[cid] = deployed_spec(
                inspect,
                self._images.get(image_id),
                volume_prefix=names.volume(key.stack_key.volume("")),
                files_root=str(self.settings.project_files(key.project).resolve()),
            )
        return {
            key: self._deployed[cid] for cid, (key, _) in current.items() if cid in self._deployed
        }

    def container_id(self, key: ServiceKey) -> str | None:
        return self._containers.get(key)

    def desired(self) -> DesiredState | None:
        """The desired state of the last good revision (as the API shows it)."""
        return self._desired

    def registry_checked(self, key: RegistryKey, valid: bool) -> None:
        self._registry_valid[key] = valid

    # -- lifecycle -----------------------------------------------------------------------------

    def threads(self) -> list[threading.Thread]:
        """Every background loop (not started): sync, triggers and Docker events."""
        loops: list[tuple[str, Any, tuple[Any, ...]]] = [
            ("sync", self.sync_loop, ()),
            ("drift", self.timer, (self.config.drift_interval, Trigger.DRIFT, 0.1)),
            ("events", self.events_loop, ()),
        ]
        if self.repo.kind is RepoKind.REMOTE:
            loops.append(("poll", self.timer, (self.config.poll_interval, Trigger.POLL, 0.1)))
        else:
            loops.append(("watch", self._watch, ()))
        return [
            threading.Thread(target=fn, args=args, name=f"syncd-{name}", daemon=True)
            for name, fn, args in loops
        ]

    def _watch(self) -> None:
        from syncd.source.watcher import watch_refs

        def changed() -> None:
            self.request(Trigger.WATCH)

        def failed(err: Exception) -> None:
            self.log.warning("watch_failed", error=str(err))

        watch_refs(self.repo.git_dir, self.repo.branch, changed, self.stop, failed)

    def close(self) -> None:
        self.store.close()
        self.engine.close()
