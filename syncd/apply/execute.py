"""Executing a plan: pulls first (nothing stops before every image is there or known
missing), then removals, volumes and networks, then every other service in
dependency order (independent services in parallel, at most `settings.parallelism` at once).

A service's failure is its own: others go on, and its dependents are skipped with the reason.
Each step is safe to interrupt; `observe` recognises whatever an interrupted run left behind.
The steps themselves are in `steps` (one service), `gates` (dependency waits) and `pulls`.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from syncd import logs, taint
from syncd.apply import datafolders, hostpaths, materialise
from syncd.apply.gates import dependencies
from syncd.apply.networks import unused_networks
from syncd.apply.pulls import pull_missing
from syncd.apply.rebind import rebind
from syncd.apply.redact import hide
from syncd.apply.results import Planned, ServiceResult, SyncResult
from syncd.apply.rollback import restore_set_aside
from syncd.apply.steps import ServiceSteps, cid
from syncd.apply.store import Store
from syncd.apply.swarmsteps import SwarmSteps
from syncd.core.desired import DesiredVolume
from syncd.core.plan import Action, ServiceChange, VolumeAction
from syncd.engine.base import Engine, Names
from syncd.engine.swarmapi import SwarmApi
from syncd.errors import (
    DependencyNotHealthy,
    EngineError,
    EngineUnavailable,
    RolledBack,
    SyncdError,
)
from syncd.ids import ServiceKey, StackKey, VolumeKey
from syncd.settings import Settings

__all__ = ["Execution", "Planned", "ServiceResult", "SyncResult"]

STARTS = frozenset({Action.CREATE, Action.RECREATE, Action.START})


class Execution:
    """One plan being executed; holds the results as they come in."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: Store,
        env: Mapping[str, str],
        planned: Planned,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.env = env
        self.log = logs.get()
        self.planned = planned
        self.results: dict[ServiceKey, ServiceResult] = {}
        self.errors: list[str] = []
        self.pull_errors: dict[str, str] = {}
        self.steps: ServiceSteps
        if isinstance(engine, SwarmApi):  # (the operator's variables: registry passwords)
            self.steps = SwarmSteps(settings, engine, store, planned, results=self.results,
                                    pull_errors=self.pull_errors, env=env)  # fmt: skip
        else:
            self.steps = ServiceSteps(
                settings, engine, store, planned, results=self.results, pull_errors=self.pull_errors
            )

    def run(self) -> SyncResult:
        plan_ = self.planned.plan
        changes = [c for s in plan_.stacks for c in s.services]
        # every pull before the first stop: a service whose image cannot be had keeps running
        pulled = [c for c in changes if c.action in (Action.CREATE, Action.RECREATE)]
        self.pull_errors.update(
            pull_missing(self.settings, self.engine, self.env, self.planned, pulled)
        )
        for stray in self.planned.observation.strays:
            self._guard(f"removing extra container {stray.name}", self.engine.remove, stray.id)
        self._guard("restoring set-aside containers", restore_set_aside, self.engine, self.planned)
        self._parallel([c for c in changes if c.action is Action.REMOVE], self.steps.remove)
        self._volumes()
        starting = [c for c in changes if c.action in STARTS]
        for project in sorted({c.key.project for c in starting}):
            if project not in self.planned.observation.live.networks:
                self._guard(
                    f"creating the network of project {project}",
                    self.engine.ensure_network,
                    project,
                )
        self._services([c for c in changes if c.action is not Action.REMOVE])
        self._guard("binding recorded secrets to their declarations", self._rebind)
        unused = unused_networks(self.planned, Names(self.engine.instance), self.results)
        if unused:
            self._guard("removing unused networks", self.engine.prune_networks, unused)
        self._guard("removing unused revision files", self._sweep)
        datafolders.record(self.store, self.planned, self.log)
        ordered = tuple(self.results[c.key] for c in changes if c.key in self.results)
        return SyncResult(plan_, ordered, tuple(self.errors))

    def _rebind(self) -> None:
        bound = rebind(self.store, self.planned)
        if bound:
            self.log.info("secrets_bound_to_declarations", services=bound)

    def _sweep(self) -> None:
        """The revision files no container of the instance mounts any more are deleted."""
        if isinstance(self.engine, SwarmApi) or not materialise.root(self.settings).is_dir():
            return  # nothing ever written (Swarm: configs): no engine listing spent
        in_use = {b for c in self.engine.observe().containers for b in c.binds}
        removed = materialise.sweep(self.settings, in_use)
        if removed:
            self.log.info("revision_files_removed", count=removed)

    def _guard(self, what: str, fn: Callable[..., object], *args: object) -> bool:
        try:
            fn(*args)
        except EngineUnavailable:
            raise
        except SyncdError as err:
            self.errors.append(f"{what}: {err}")
            self.log.warning("sync_step_failed", step=what, error=str(err))
            return False
        return True

    def _parallel(
        self, items: list[ServiceChange], fn: Callable[[ServiceChange], ServiceResult]
    ) -> None:
        if not items:
            return
        with ThreadPoolExecutor(self.settings.parallelism) as pool:
            for item, result in zip(items, pool.map(self._safely(fn), items), strict=True):
                self.results[item.key] = result

    def _safely(
        self, fn: Callable[[ServiceChange], ServiceResult]
    ) -> Callable[[ServiceChange], ServiceResult]:
        def run(change: ServiceChange) -> ServiceResult:
            try:
                result = fn(change)
            except EngineUnavailable:
                raise
            except SyncdError as err:
                gate = isinstance(err, DependencyNotHealthy)
                message = hide(change, str(err), self.planned.desired.registries)
                result = ServiceResult(
                    change.key, change.action, False, message, None, gate,
                    rolled_back=isinstance(err, RolledBack),
                )  # fmt: skip
                self.store.record_error(change.key, message)
            self.log.info(
                "service_applied",
                service=str(change.key),
                action=change.action.value,
                ok=result.ok,
                detail=result.detail,
            )
            return result

        return run

    def _volumes(self) -> None:
        for stack in self.planned.plan.stacks:
            for change in stack.volume_changes:
                if change.action in (VolumeAction.CREATE, VolumeAction.ATTACH):
                    volume = self._declared(stack.key, change.key)
                    if self._guard(
                        f"creating volume {change.key}", self._ensure_volume, change.key, volume
                    ):
                        self.store.set_orphaned(change.key, False)
                elif change.action is VolumeAction.DETACH:
                    self.store.set_orphaned(change.key, True)
                elif change.differs:
                    self.log.warning("volume_differs", volume=str(change.key),
                                     fields=list(change.differs))  # fmt: skip

    def _ensure_volume(self, key: VolumeKey, volume: DesiredVolume | None) -> None:
        """Create the volume; an error (Docker's quotes the options) without the operator's
        values its declaration holds."""
        declared = volume.declared if volume else None
        try:
            if declared:
                hostpaths.check_volume_device(self.settings, key, declared)
            self.engine.ensure_volume(key, declared)
        except EngineUnavailable:
            raise
        except SyncdError as err:
            if volume is None or not volume.secret_values:
                raise
            raise EngineError(taint.scrub(str(err), volume.secret_values)) from None

    def _declared(self, stack: StackKey, key: VolumeKey) -> DesiredVolume | None:
        desired = self.planned.desired.stacks.get(stack)
        return desired.volumes.get(key.name) if desired else None

    def _services(self, changes: list[ServiceChange]) -> None:
        """Every change but removals, each once its dependencies are done."""
        unrecorded = self.planned.observation.unrecorded
        for change in changes:  # nothing to do: no thread, no log line
            if (
                change.action is Action.NONE
                and change.key not in unrecorded
                and self.steps.idle(change)
            ):
                result = ServiceResult(
                    change.key, change.action, True, change.reason_text, cid(change.live)
                )
                self.results[change.key] = result
        by_key = {c.key: c for c in changes if c.key not in self.results}
        if not by_key:
            return
        sorter: graphlib.TopologicalSorter[ServiceKey] = graphlib.TopologicalSorter()
        for change in by_key.values():
            sorter.add(change.key, *[d for d in dependencies(change) if d in by_key])
        sorter.prepare()
        run = self._safely(self.steps.apply)
        with ThreadPoolExecutor(self.settings.parallelism) as pool:
            running: dict[Future[ServiceResult], ServiceKey] = {}
            while sorter.is_active():
                for key in sorter.get_ready():
                    running[pool.submit(run, by_key[key])] = key
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    key = running.pop(future)
                    self.results[key] = future.result()
                    sorter.done(key)
