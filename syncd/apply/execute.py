"""Executing a plan: removals, volumes, networks and pulls first, then every other service in
dependency order (independent services in parallel, at most `settings.parallelism` at once).

A service's failure is its own: others go on, and its dependents are skipped with the reason.
Each step is safe to interrupt; `observe` recognises whatever an interrupted run left behind.
"""

from __future__ import annotations

import functools
import graphlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from syncd import logs, taint
from syncd.apply.registries import auth_for, registry_for
from syncd.apply.store import Store
from syncd.core.desired import DesiredService, DesiredState
from syncd.core.live import LiveService, ServiceStatus
from syncd.core.observe import Observation
from syncd.core.plan import Action, Plan, ServiceChange, VolumeAction
from syncd.core.records import DIGEST_PREFIX
from syncd.core.runspec import container_request
from syncd.engine.base import ContainerState, Engine, Observed
from syncd.errors import (
    CredentialsError,
    CredentialsHostMismatch,
    EngineError,
    EngineUnavailable,
    SyncdError,
)
from syncd.ids import ServiceKey
from syncd.manifests.model import DependsCondition
from syncd.settings import Settings

STARTS = frozenset({Action.CREATE, Action.RECREATE, Action.START})
# Fields whose values Docker quotes (in pieces, too) in its errors: image refs, bindings, paths.
ECHOED = frozenset({"image", "ports", "volumes", "command", "entrypoint", "healthcheck"})


class ServiceFailed(SyncdError):
    """One service could not be brought to its desired state."""


class DependencyNotHealthy(ServiceFailed):
    """A `service_healthy` gate failed: the dependency never became healthy (stage `health`)."""


@dataclass(frozen=True)
class ServiceResult:
    key: ServiceKey
    action: Action
    ok: bool
    detail: str  # what happened, or the error (never a secret value)
    container_id: str | None = None
    unhealthy_dependency: bool = False  # failed at a `service_healthy` gate


@dataclass(frozen=True)
class SyncResult:
    plan: Plan
    services: tuple[ServiceResult, ...] = ()
    errors: tuple[str, ...] = ()  # failures outside one service (volumes, networks, strays)
    dry_run: bool = False
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and all(r.ok for r in self.services)

    @property
    def failed(self) -> tuple[ServiceResult, ...]:
        return tuple(r for r in self.services if not r.ok)


@dataclass(frozen=True)
class Planned:
    """A plan with what it was computed from, ready to execute."""

    plan: Plan
    desired: DesiredState
    observation: Observation
    observed: Observed


def project_files(settings: Settings, project: str, source: str) -> str:
    """`/uploads` -> `<data>/projects/<project>/files/uploads`, created, and confined to it."""
    root = settings.project_files(project)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    target = (root / source.lstrip("/")).resolve()
    if not target.is_relative_to(root):
        raise ServiceFailed(
            f"project-files path {source!r} resolves outside the project's file area "
            "(a symlink?); refused"
        )
    target.mkdir(parents=True, exist_ok=True)
    if not Path(target).resolve().is_relative_to(root):  # replaced by a symlink meanwhile
        raise ServiceFailed(f"project-files path {source!r} left the project's file area")
    return str(target)


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

    def run(self) -> SyncResult:
        plan_ = self.planned.plan
        changes = [c for s in plan_.stacks for c in s.services]
        for stray in self.planned.observation.strays:
            self._guard(f"removing extra container {stray.name}", self.engine.remove, stray.id)
        self._parallel(
            [c for c in changes if c.action is Action.REMOVE], self._remove, lambda c: c.key
        )
        self._volumes()
        starting = [c for c in changes if c.action in STARTS]
        for project in sorted({c.key.project for c in starting}):
            if project not in self.planned.observation.live.networks:
                self._guard(
                    f"creating the network of project {project}",
                    self.engine.ensure_network,
                    project,
                )
        self._pulls([c for c in changes if c.action in (Action.CREATE, Action.RECREATE)])
        self._services([c for c in changes if c.action is not Action.REMOVE])
        ordered = tuple(self.results[c.key] for c in changes if c.key in self.results)
        return SyncResult(plan_, ordered, tuple(self.errors))

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
        self,
        items: list[ServiceChange],
        fn: Callable[[ServiceChange], ServiceResult],
        key: Callable[[ServiceChange], ServiceKey],
    ) -> None:
        if not items:
            return
        with ThreadPoolExecutor(self.settings.parallelism) as pool:
            for item, result in zip(items, pool.map(self._safely(fn), items), strict=True):
                self.results[key(item)] = result

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
                message = self._hide(change, str(err))
                result = ServiceResult(change.key, change.action, False, message, None, gate)
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

    def _hide(self, change: ServiceChange, text: str) -> str:
        """`text` (an error, maybe Docker's, which quotes what it was given) without any value
        of the service that came from the environment, nor its registry's tainted fields."""
        echoed: set[str] = set()  # Docker may quote pieces of these (a repository, a port)
        values: set[str] = set()
        for side in (change.desired, change.live):
            if side is not None:
                places = {p for p in side.secrets if p.split("/")[1] in ECHOED}
                echoed |= taint.values_at(side.spec, places)
                values |= taint.values_at(side.spec, side.secrets)
        key = change.key
        names = {key.project, key.stack, key.name}  # public: never scrubbed as a piece
        if change.desired is not None:
            image = str(change.desired.spec.get("image"))
            registry = registry_for(image, key.project, self.planned.desired.registries)
            if registry is not None:
                values |= {str(getattr(registry, f)) for f in registry.secrets}
                names.add(registry.key.name)
        text = taint.scrub(taint.scrub(text, values, whole_only=True), echoed, keep=names)
        hidden: str = taint.scrub_known(text)
        return hidden

    def _remove(self, change: ServiceChange) -> ServiceResult:
        live = change.live
        assert live is not None and live.container_id is not None
        self.engine.stop(live.container_id, self.settings.stop_timeout)
        self.engine.remove(live.container_id)
        self.store.forget(change.key)
        return ServiceResult(change.key, change.action, True, "removed (volumes kept)")

    def _volumes(self) -> None:
        for stack in self.planned.plan.stacks:
            for change in stack.volume_changes:
                if change.action in (VolumeAction.CREATE, VolumeAction.ATTACH):
                    if self._guard(
                        f"creating volume {change.key}", self.engine.ensure_volume, change.key
                    ):
                        self.store.set_orphaned(change.key, False)
                elif change.action is VolumeAction.DETACH:
                    self.store.set_orphaned(change.key, True)

    def _pulls(self, changes: list[ServiceChange]) -> None:
        """Pull every missing image once, with its registry's credentials; note failures."""
        needed: dict[str, ServiceChange] = {}  # reference -> the first service that needs it
        for change in changes:
            assert change.desired is not None
            ref = str(change.desired.spec.get("image"))
            if self.planned.observed.image_id(ref) is None:
                needed.setdefault(ref, change)
        if not needed:
            return
        registries = self.planned.desired.registries

        def pull(item: tuple[str, ServiceChange]) -> tuple[str, str | None]:
            ref, change = item
            registry = registry_for(ref, change.key.project, registries)
            try:
                self.engine.pull(ref, auth_for(registry, ref, self.env, self.settings.secrets))
            except EngineUnavailable:
                raise
            except (EngineError, CredentialsError, CredentialsHostMismatch) as err:
                where = (
                    f" from registry {registry.key} ({registry.shown('uri')})" if registry else ""
                )
                return ref, self._hide(change, f"pulling {ref}{where} failed: {err}")
            return ref, None

        with ThreadPoolExecutor(self.settings.parallelism) as pool:
            for ref, error in pool.map(pull, sorted(needed.items())):
                if error is not None:
                    self.pull_errors[ref] = error
                    image = self._hide(needed[ref], ref)
                    self.log.warning("image_pull_failed", image=image, error=error)

    def _services(self, changes: list[ServiceChange]) -> None:
        unrecorded = self.planned.observation.unrecorded
        for change in changes:  # nothing to do: no thread, no log line
            if change.action is Action.NONE and change.key not in unrecorded:
                result = ServiceResult(
                    change.key, change.action, True, change.reason_text, _cid(change.live)
                )
                self.results[change.key] = result
        by_key = {c.key: c for c in changes if c.key not in self.results}
        if not by_key:
            return
        sorter: graphlib.TopologicalSorter[ServiceKey] = graphlib.TopologicalSorter()
        for change in by_key.values():
            sorter.add(change.key, *[d for d in self._depends(change) if d in by_key])
        sorter.prepare()
        run = self._safely(self._service)
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

    @staticmethod
    def _depends(change: ServiceChange) -> list[ServiceKey]:
        if change.desired is None:
            return []
        stack = change.key.stack_key
        return [stack.service(name) for name in change.desired.spec.get("dependsOn") or {}]

    def _service(self, change: ServiceChange) -> ServiceResult:
        desired, live = change.desired, change.live
        assert desired is not None
        for dep in self._depends(change):
            if dep in self.results and not self.results[dep].ok:
                raise ServiceFailed(f"not started: its dependency {dep.name} failed")
        revision = self.planned.desired.revision
        if change.action is Action.NONE:
            if live is not None and change.key in self.planned.observation.unrecorded:
                self._record(desired, live.hash, "adopted")
            return ServiceResult(change.key, change.action, True, change.reason_text, _cid(live))
        if change.action is Action.UPDATE:
            assert live is not None
            self._record(desired, live.hash, "updated")
            if (
                live.status is ServiceStatus.STOPPED
                and not live.operator_stopped
                and live.container_id
            ):
                self._wait_for_dependencies(change)
                self.engine.start(live.container_id)
            return ServiceResult(
                change.key, change.action, True, "recorded; no new container", _cid(live)
            )
        self._wait_for_dependencies(change)
        if change.action is Action.START:
            assert live is not None and live.container_id is not None
            self.engine.start(live.container_id)
            self._record(desired, live.hash, "started")
            return ServiceResult(change.key, change.action, True, "started", live.container_id)
        image = str(desired.spec.get("image"))
        if image in self.pull_errors:
            kept = "; the old container keeps running" if live and live.container_id else ""
            raise ServiceFailed(self.pull_errors[image] + kept)
        request = container_request(
            desired,
            instance=self.settings.instance,
            revision=revision,
            files=functools.partial(project_files, self.settings),
            environment=self._environment(desired, live.container_id if live else None),
            stop_timeout=self.settings.stop_timeout,
        )
        if live is not None and live.container_id is not None:
            self.engine.stop(live.container_id, self.settings.stop_timeout)
            self.engine.remove(live.container_id)
        container_id = self.engine.create(request)
        self.engine.start(container_id)
        done = "created" if change.action is Action.CREATE else "recreated"
        self._record(desired, desired.hash, done)
        return ServiceResult(change.key, change.action, True, done, container_id)

    def _record(self, desired: DesiredService, container_hash: str, result: str) -> None:
        self.store.record(
            desired.key,
            revision=self.planned.desired.revision,
            spec=desired.spec,
            secrets=desired.secrets,
            container_hash=container_hash,
            result=result,
        )

    def _environment(self, desired: DesiredService, old: str | None) -> dict[str, str]:
        """The environment to run with. A PATCH stack that omits `environment` keeps the last
        applied one, whose secret values syncd never stored: they come from the old container."""
        env = {k: str(v) for k, v in (desired.spec.get("environment") or {}).items()}
        hidden = [k for k, v in env.items() if v.startswith(DIGEST_PREFIX)]
        if hidden:
            running = self.engine.environment(old) if old else {}
            for name in hidden:
                if name not in running:
                    raise ServiceFailed(
                        f"the value of {name} was a secret that syncd does not keep, and no "
                        "container holds it any more; declare the variable again"
                    )
                env[name] = running[name]
        return env

    def _wait_for_dependencies(self, change: ServiceChange) -> None:
        assert change.desired is not None
        conditions: dict[str, str] = change.desired.spec.get("dependsOn") or {}
        for name, condition in sorted(conditions.items()):
            if condition == DependsCondition.STARTED.value:
                continue
            dep = change.key.stack_key.service(name)
            container = self._container_id(dep)
            if container is None:
                raise ServiceFailed(f"not started: its dependency {name} has no container")
            self._wait(name, container, condition)

    def _container_id(self, key: ServiceKey) -> str | None:
        result = self.results.get(key)
        if result is not None and result.container_id:
            return result.container_id
        found = self.planned.observation.containers.get(key)
        return found.id if found else None

    def _wait(self, name: str, container: str, condition: str) -> None:
        timeout = self.settings.health_timeout
        deadline = time.monotonic() + timeout
        healthy = condition == DependsCondition.HEALTHY.value
        while True:
            state = self.engine.health(container)
            if healthy and state.health == "healthy":
                return
            if healthy and state.health is None and state.state is ContainerState.RUNNING:
                raise DependencyNotHealthy(
                    f"not started: its dependency {name} has no healthcheck, so it can never be "
                    "service_healthy"
                )
            if state.state in (ContainerState.EXITED, ContainerState.DEAD):
                if not healthy and state.exit_code == 0:
                    return
                raise ServiceFailed(
                    f"not started: its dependency {name} exited with code {state.exit_code}"
                )
            if time.monotonic() >= deadline:
                failure = DependencyNotHealthy if healthy else ServiceFailed
                raise failure(
                    f"not started: its dependency {name} was not "
                    f"{'healthy' if healthy else 'completed'} within {timeout:g} s "
                    f"(health: {state.health or 'none'})"
                )
            time.sleep(0.2)


def _cid(live: LiveService | None) -> str | None:
    return live.container_id if live is not None else None
