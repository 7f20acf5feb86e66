"""The reconciler: observe the engine, plan against a desired state, execute the plan (`execute`).

Each step is safe to interrupt: the next sync converges from whatever it finds (containers are
labelled with the hash of the spec they run, so one that was created but not yet recorded is
recognised, and a service has at most one container). One sync per instance runs at a time.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace

from syncd import datadir, logs
from syncd.apply import flapguard
from syncd.apply.execute import Execution
from syncd.apply.ownership import Guard
from syncd.apply.results import Planned, ServiceResult, SyncResult
from syncd.apply.store import Store
from syncd.apply.updates import Updates
from syncd.core import partial
from syncd.core.desired import DesiredState, resolve
from syncd.core.observe import Observation, observe
from syncd.core.options import process
from syncd.core.plan import plan
from syncd.engine.base import Engine, Observed
from syncd.errors import SyncdError
from syncd.ids import ServiceKey
from syncd.manifests import ManifestSet
from syncd.manifests.isolate import PartialSet
from syncd.manifests.model import Strategy
from syncd.settings import Settings

__all__ = ["Planned", "Reconciler", "ServiceResult", "SyncResult"]


class Reconciler:
    def __init__(
        self, settings: Settings, engine: Engine, store: Store, env: Mapping[str, str]
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.env = env
        self.log = logs.get()
        self._cache: tuple[ManifestSet, str | None, DesiredState] | None = None
        self.guard: Guard | None = None  # the removal guards of a CLI apply or daemon (`ownership`)
        # what of a plan may run (None: nothing); the daemon's pauses and detect mode (`pausing`)
        self.hold: Callable[[Planned], Planned | None] = lambda planned: planned
        self.updates = Updates(settings, engine, store, env)  # scheduled image updates: pins

    @classmethod
    @contextmanager
    def open(cls, settings: Settings, env: Mapping[str, str]) -> Iterator[Reconciler]:
        """A reconciler on the configured engine and the instance's state store."""
        from syncd.engine import connect

        engine = connect(settings)
        store = Store(settings.state_file)
        try:
            yield cls(settings, engine, store, env)
        finally:
            store.close()
            engine.close()

    # -- reading -------------------------------------------------------------------------------

    def observe(self, observed: Observed, desired: DesiredState | None) -> Observation:
        return observe(
            observed,
            self.store.services(),
            orphaned=self.store.orphaned_volumes(),
            stopped=self.store.stopped(),
            desired=desired,
            restore=self.store.restore,
        )

    def prepare(
        self, manifests: ManifestSet, revision: str | None, *, allow_empty: bool = False
    ) -> Planned:
        """One engine listing; the desired state (PATCH stacks build on it); the plan."""
        observed = self.engine.observe()
        desired = self.resolve(manifests, revision, observed)
        return self.plan_for(desired, observed, allow_empty=allow_empty)

    def plan_for(
        self, desired: DesiredState, observed: Observed, *, allow_empty: bool = False
    ) -> Planned:
        """The plan from `observed` (one engine listing) to `desired`."""
        observation = self.observe(observed, desired)
        image_ids = {}
        for stack in desired.stacks.values():
            for service in stack.services.values():
                ref = str(service.spec.get("image"))
                found = observed.image_id(ref)
                if found:
                    image_ids[ref] = found
        revisions = {
            s.revision for st in observation.live.stacks.values() for s in st.services.values()
        }
        result = plan(
            desired,
            observation.live,
            base=revisions.pop() if len(revisions) == 1 else None,
            image_ids=image_ids,
            allow_empty=allow_empty,
            stop_timeout=self.settings.stop_timeout,
        )
        result = flapguard.hold(result, self.store, self.settings.rollback_backoff)
        return Planned(result, desired, observation, observed)

    def resolve(
        self, manifests: ManifestSet, revision: str | None, observed: Observed
    ) -> DesiredState:
        """The desired state. PATCH (`update`) stacks build on the live specs; DECLARE-only
        revisions do not depend on them, so the same manifests give the same state (cached).
        A partial revision: its valid stacks and those kept at their last good spec."""
        if isinstance(manifests, PartialSet):
            valid = self.resolve(manifests.valid, revision, observed)
            kept = self.resolve(manifests.kept, manifests.kept_revision, observed)
            return partial.merge(revision, valid, kept)
        if any(s.manifest.strategy is Strategy.UPDATE for s in manifests.stacks):
            base = self.observe(observed, None).live
            desired = resolve(manifests, revision, base.last_applied(), base.last_secrets())
            return self.updates.pinned(desired)
        cached = self._cache
        if cached is not None and cached[0] is manifests and cached[1] == revision:
            return self.updates.pinned(cached[2])
        desired = resolve(manifests, revision, {})
        self._cache = (manifests, revision, desired)
        return self.updates.pinned(desired)

    # -- writing -------------------------------------------------------------------------------

    def sync(
        self,
        manifests: ManifestSet,
        revision: str | None,
        *,
        dry_run: bool = False,
        allow_empty: bool = False,
        check: Callable[[Planned], None] | None = None,
    ) -> SyncResult:
        """`check` sees the plan before it runs, under the lock; it refuses by raising."""
        started = time.monotonic()
        with self.lock():
            planned = self.prepare(manifests, revision, allow_empty=allow_empty)
            if self.guard is not None and not dry_run:
                self.guard.refuse(self.store, planned.plan)
            if check is not None:
                check(planned)
            if dry_run:
                return SyncResult(planned.plan, dry_run=True)
            self.check_guard(planned)
            result = self.execute(planned)
        duration = time.monotonic() - started
        self.log.info(
            "sync_finished",
            revision=revision,
            ok=result.ok,
            duration=round(duration, 3),
            failed=[str(r.key) for r in result.failed],
            **planned.plan.counts(),
        )
        return SyncResult(result.plan, result.services, result.errors, False, duration)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One sync per instance and data dir at a time (a second one waits)."""
        datadir.private_dir(self.settings.data_dir)
        path = datadir.private_file(self.settings.data_dir / f"{self.settings.instance}.lock")
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def check_guard(self, planned: Planned) -> None:
        """The removal guards (`PlanRefused`); a plan they pass binds the instance to its
        source when it has none yet. Under the lock, before `execute`."""
        if self.guard is not None:
            self.guard.check(self.store, planned.plan)

    def execute(self, planned: Planned) -> SyncResult:
        runs = self.hold(planned)
        if runs is None:  # paused, or detect-only: not one engine write
            return SyncResult(replace(planned.plan, stacks=()))
        return Execution(self.settings, self.engine, self.store, self.env, runs).run()

    # -- operator overrides --------------------------------------------------------------------

    def operator_stop(self, key: ServiceKey) -> None:
        """Stop a service and keep it stopped: self-heal leaves it alone until started again."""
        with self.lock():
            self.store.set_stopped(key, True)
            for container in self._containers_of(key):
                self.engine.stop(container, self.stop_timeout(key))
        self.log.info("operator_stopped", service=str(key))

    def stop_timeout(self, key: ServiceKey) -> int:
        """Seconds the service's container gets to stop: the grace period it was applied with,
        else the `stop_timeout` setting."""
        record = self.store.services().get(str(key))
        spec = record.spec if record is not None else None
        return process.stop_timeout(spec, self.settings.stop_timeout)

    def operator_start(self, key: ServiceKey) -> None:
        with self.lock():
            self.store.set_stopped(key, False)
            for container in self._containers_of(key):
                self.engine.start(container)
        self.log.info("operator_started", service=str(key))

    def _containers_of(self, key: ServiceKey) -> list[str]:
        """Every replica's container."""
        live = self.observe(self.engine.observe(), None).live.stacks.get(key.stack_key)
        found = live.services.get(key.name) if live else None
        if found is None or not found.containers():
            raise SyncdError(f"service {key} has no container (is it applied?)")
        return [replica.container_id for replica in found.containers()]
