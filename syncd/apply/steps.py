"""The engine steps of one service change: remove it, record it, start it, or create (or
replace) its container after its dependency gates open. Each step is safe to interrupt."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from syncd.apply import flapguard
from syncd.apply.gates import dependencies, wait_for_dependencies
from syncd.apply.hostpaths import check_host_binds
from syncd.apply.materialise import Materialiser
from syncd.apply.results import Planned, ServiceResult
from syncd.apply.rollout import DOWN, Rollout
from syncd.apply.store import Store
from syncd.core import updateorder
from syncd.core.desired import DesiredService
from syncd.core.live import LiveService
from syncd.core.options import process
from syncd.core.plan import Action, Reason, ServiceChange, replicas
from syncd.core.records import DIGEST_PREFIX
from syncd.core.runspec import container_request
from syncd.engine.base import ContainerRequest, Engine
from syncd.errors import RolledBack, ServiceFailed
from syncd.ids import ServiceKey
from syncd.progress import Event, Phase
from syncd.settings import Settings


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


class ServiceSteps:
    """One plan's service steps. `results` and `pull_errors` are the execution's, read as they
    fill: a dependency's result, a failed pull."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: Store,
        planned: Planned,
        *,
        results: Mapping[ServiceKey, ServiceResult],
        pull_errors: Mapping[str, str],
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store
        self.planned = planned
        self.results = results
        self.pull_errors = pull_errors
        self.content = Materialiser(settings, planned.desired.files)

    def remove(self, change: ServiceChange) -> ServiceResult:
        live = change.live
        assert live is not None
        for replica in live.containers():
            self._rollout(live).discard(replica.container_id)
        self.store.forget(change.key)
        return ServiceResult(change.key, change.action, True, "removed (volumes kept)")

    def idle(self, change: ServiceChange) -> bool:
        """Whether a change the plan left alone (`Action.NONE`) needs no step at all."""
        return True

    def apply(self, change: ServiceChange) -> ServiceResult:
        """Any action but a removal: `ServiceFailed` when the service cannot get there."""
        desired, live = change.desired, change.live
        assert desired is not None
        for dep in dependencies(change):
            if dep in self.results and not self.results[dep].ok:
                raise ServiceFailed(f"not started: its dependency {dep.name} failed")
        if change.action is Action.NONE:
            if live is not None and change.key in self.planned.observation.unrecorded:
                self._record(desired, live.hash, "adopted")
            return ServiceResult(change.key, change.action, True, change.reason_text, cid(live))
        if change.action is Action.UPDATE:
            assert live is not None
            self._record(desired, live.hash, "updated")
            first = self._converge(change, desired, live)
            return ServiceResult(
                change.key, change.action, True, "recorded; no new container", first
            )
        self._wait_for_dependencies(change)
        if change.action is Action.START:
            assert live is not None
            if change.reason is Reason.DEPENDENCY_RECREATED:
                for replica in live.containers():
                    self.engine.restart(replica.container_id, self._stop_timeout(live))
                return ServiceResult(change.key, change.action, True, "restarted", cid(live))
            first = self._converge(change, desired, live)
            self._record(desired, live.hash, "started")
            return ServiceResult(change.key, change.action, True, "started", first)
        return self._replace(change, desired, live)

    def _converge(
        self, change: ServiceChange, desired: DesiredService, live: LiveService
    ) -> str | None:
        """The live containers brought to the declared replicas; new ones join the others'
        config hash (only metadata differs)."""
        found = live.containers()
        wanted = replicas(desired.spec)
        start = not live.operator_stopped
        missing = len(found) < wanted or any(r.status in DOWN for r in found)
        if start and missing and change.action is Action.UPDATE:
            self._wait_for_dependencies(change)
        env: dict[str, str] | None = None

        def request(index: int) -> ContainerRequest:
            nonlocal env
            env = env if env is not None else self._environment(desired, live.container_id)
            return self._request(desired, env, index, live.hash)

        return self._rollout(live).converge(found, wanted, request, start=start)

    def _request(
        self, desired: DesiredService, env: dict[str, str], replica: int, label_hash: str | None
    ) -> ContainerRequest:
        request = container_request(
            desired,
            instance=self.settings.instance,
            revision=self.planned.desired.revision,
            files=functools.partial(project_files, self.settings),
            content=self.content.path,
            text=self.content.text,
            environment=env,
            stop_timeout=self.settings.stop_timeout,
            replica=replica,
            label_hash=label_hash,
        )
        check_host_binds(self.settings, request)  # symlinks resolved, against the policy
        return request

    def _replace(
        self, change: ServiceChange, desired: DesiredService, live: LiveService | None
    ) -> ServiceResult:
        """New containers (each replacing the old one of its replica number, stop-first or
        start-first) with the desired spec."""
        image = str(desired.spec.get("image"))
        if image in self.pull_errors:
            kept = "; the old container keeps running" if live and live.container_id else ""
            raise ServiceFailed(self.pull_errors[image] + kept)
        env = self._environment(desired, live.container_id if live else None)
        order = updateorder.effective(desired.spec).effective  # as the plan says
        verb = "replace" if live is not None and live.container_id else "create"
        self.engine.reporter.report(Event(Phase.CREATE, str(change.key), detail=verb))
        try:
            container_id = self._rollout(live).replace(
                live,
                replicas(desired.spec),
                order,
                lambda index: self._request(desired, env, index, None),
            )
        except RolledBack:
            flapguard.remember(self.store, change.key, desired.hash)
            raise
        if change.action is Action.RECREATE:
            flapguard.forget(self.store, change.key)
        done = "created" if change.action is Action.CREATE else "recreated"
        self.engine.reporter.report(Event(Phase.CREATE, str(change.key), done=True, detail=verb))
        self._record(desired, desired.hash, done)
        return ServiceResult(change.key, change.action, True, done, container_id)

    def _rollout(self, live: LiveService | None) -> Rollout:
        """Old containers stop with their own grace period (their applied spec)."""
        timeout = self._stop_timeout(live) if live else self.settings.stop_timeout
        return Rollout(
            self.engine, timeout, self.settings.health_timeout, self.settings.rollback_grace
        )

    def _stop_timeout(self, live: LiveService) -> int:
        """The running container's own grace period (its applied spec), else the setting."""
        return process.stop_timeout(live.spec, self.settings.stop_timeout)

    def _record(self, desired: DesiredService, container_hash: str, result: str) -> None:
        self.store.record(
            desired.key,
            revision=self.planned.desired.revision,
            spec=desired.spec,
            secrets=desired.secrets,
            container_hash=container_hash,
            result=result,
            declaration=desired.declaration,
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
        timeout = self.settings.health_timeout
        wait_for_dependencies(self.engine, timeout, change, self._container_id)

    def _container_id(self, key: ServiceKey) -> str | None:
        """The container a dependency runs in: the one this execution made, or the one found."""
        result = self.results.get(key)
        if result is not None and result.container_id:
            return result.container_id
        found = self.planned.observation.containers.get(key)
        return found.id if found else None


def cid(live: LiveService | None) -> str | None:
    return live.container_id if live is not None else None
