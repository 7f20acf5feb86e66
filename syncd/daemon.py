"""`syncd run`: keep Docker equal to the repository's branch, forever.

Triggers (refs watch, remote poll, webhook, drift timer, Docker events, retry) only *request* a
sync; one loop runs them one at a time and coalesces requests that arrive meanwhile into the next
sync. A sync reads the branch head (fetching only when a remote moved), parses it (cached per
revision), and reconciles. A broken revision changes nothing: the last good revision keeps being
enforced while the error, with file:line, is reported. Failures are retried with exponential
backoff; an engine outage is reported and recovered from when Docker answers again.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncd import logs, taint
from syncd.api.deployed import deployed_spec
from syncd.api.projects import first_applied, project_names
from syncd.api.view import Inputs, View
from syncd.api.view import build as build_view
from syncd.canonical import Spec
from syncd.desired import DesiredState, resolve
from syncd.engine import EngineUnavailable, connect
from syncd.engine.base import Engine, Names
from syncd.errors import ManifestError, SourceError, SyncdError
from syncd.execute import SyncResult
from syncd.ids import RegistryKey, ServiceKey
from syncd.manifests import ManifestSet, read_manifests
from syncd.metrics import Metrics
from syncd.observe import Observation
from syncd.plan import PlanRefused
from syncd.reconcile import Reconciler
from syncd.render import PlanFormat, render
from syncd.repository import Credentials, RepoKind, Repository
from syncd.runconfig import RunConfig
from syncd.settings import Settings
from syncd.status import Stage, Status, Trigger
from syncd.store import Store
from syncd.usage import FilesUsage

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


@dataclass
class _Parsed:
    revision: str
    manifests: ManifestSet


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
        self._good: _Parsed | None = None
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
            except Exception:  # a bug must not stop the daemon: report it, retry later
                self.log.exception("sync_crashed")
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

    def _parse(self, revision: str) -> _Parsed:
        if self._good is not None and self._good.revision == revision:
            return self._good
        snap = self.repo.snapshot(revision)
        manifests = read_manifests(
            snap.files, self.env, problems=snap.problems, secrets_dir=self.settings.secrets
        )
        taint.remember(manifests.secret_values())
        if manifests.errors:
            raise ManifestError(manifests.errors)
        if manifests.patches:  # a StackPatch that does not apply is the revision's error too
            resolve(manifests, revision)
        return _Parsed(revision, manifests)

    def sync_once(self, triggers: set[Trigger]) -> SyncResult | None:
        trigger = ",".join(sorted(t.value for t in triggers))
        attempt = _Attempt(self.store.begin_sync(trigger, None), trigger, time.monotonic())
        self.status.syncing = True
        stage = Stage.FETCH
        try:
            attempt.revision = revision = self.repo.head()
            self.status.seen_revision = revision
            stage = Stage.PARSE
            try:
                parsed = self._parse(revision)
            except ManifestError as err:
                self._broken(attempt, err)
                return None
            stage = Stage.APPLY
            result = self.reconciler.sync(
                parsed.manifests, revision, allow_empty=self.config.allow_empty
            )
            self._good = parsed
            self.status.good_revision = revision
            self.status.engine_available = True
            self._refresh_view()  # first: once the status says applied, the API shows it
            self._finish(attempt, result)
            return result
        except EngineUnavailable as err:
            self._fail(attempt, Stage.ENGINE, str(err))
            self._engine_down(str(err))
        except PlanRefused as err:
            self._fail(attempt, Stage.PLAN, str(err))
        except SyncdError as err:
            self._fail(attempt, stage, str(err))
        finally:
            self.status.syncing = False
        return None

    def _broken(self, attempt: _Attempt, err: ManifestError) -> None:
        """A revision that does not parse: report it, keep enforcing the last good one."""
        revision = attempt.revision or ""
        problems = [str(p) for p in err.problems]
        message = f"revision {revision[:12]} has invalid manifests: " + "; ".join(problems[:5])
        self.log.error("revision_invalid", revision=revision, problems=problems)
        self._fail(attempt, Stage.PARSE, message, problems=problems)
        for key in self._good_stacks():
            self.store.set_stack(key, seen=revision, error=message)
        if self._good is not None:
            try:
                self.reconciler.sync(self._good.manifests, self._good.revision)
            except SyncdError as heal:
                self.log.warning("self_heal_failed", error=str(heal))
            self._refresh_view()

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
        services = [
            {"service": str(r.key), "action": r.action.value, "ok": r.ok, "detail": r.detail}
            for r in result.services
            if r.action.value != "none" or not r.ok
        ]
        if result.ok and not plan.changed and set(trigger.split(",")) <= QUIET:
            self.store.drop_sync(attempt.sync_id)  # routine checks that found nothing
        self.store.finish_sync(
            attempt.sync_id,
            revision=revision,
            result="ok" if result.ok else "failed",
            stage=stage.value if stage else None,
            error=error,
            summary=plan.counts(),
            services=services,
        )
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
            "result": "ok" if result.ok else "failed",
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
            self.status.last_error = {"stage": stage.value, "message": error, "at": time.time()}
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

    def _fail(
        self, attempt: _Attempt, stage: Stage, message: str, *, problems: list[str] | None = None
    ) -> None:
        revision, trigger = attempt.revision, attempt.trigger
        message = taint.scrub_known(message)  # in depth: whatever a failure quoted
        self.store.finish_sync(
            attempt.sync_id, revision=revision, result="failed", stage=stage.value, error=message
        )
        self.status.last_error = {
            "stage": stage.value,
            "message": message,
            "revision": revision,
            "problems": problems or [],
            "at": time.time(),
        }
        self.status.last_sync = {
            "trigger": trigger,
            "revision": revision,
            "result": "failed",
            "stage": stage.value,
            "duration": round(time.monotonic() - attempt.started, 3),
            "at": time.time(),
        }
        self.status.syncs += 1
        self.metrics.sync_done(False, time.monotonic() - attempt.started, stage.value)
        if stage is not Stage.PARSE:  # a broken revision waits for the next commit
            self._schedule_retry(engine=stage is Stage.ENGINE)
        self.log.error(
            "sync_failed", trigger=trigger, revision=revision, stage=stage.value, error=message
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
        from syncd.watcher import watch_refs

        def changed() -> None:
            self.request(Trigger.WATCH)

        def failed(err: Exception) -> None:
            self.log.warning("watch_failed", error=str(err))

        watch_refs(self.repo.git_dir, self.repo.branch, changed, self.stop, failed)

    def close(self) -> None:
        self.store.close()
        self.engine.close()
