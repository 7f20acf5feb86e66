"""The engine steps of one service change on Swarm: create the service, or update it with its
version index, then wait until Swarm has converged (or rolled back) within the deploy timeout.

A service whose stored spec already equals the one syncd would send is not written (a no-op
sync makes no write call). Files from git, configs and secrets become Swarm configs and
secrets named by their content (a keyed hash, `Materialiser.name`): new content is a new name,
so the spec changes and Swarm rolls the service. Those the service no longer uses (nor its
previous spec, which a rollback returns to) are removed after it converged, and all of them
with the service. Volumes are kept.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from syncd.apply import flapguard
from syncd.apply.gates import dependencies
from syncd.apply.hostpaths import check_host_binds
from syncd.apply.results import Planned, ServiceResult
from syncd.apply.steps import ServiceSteps, cid, project_files
from syncd.apply.store import Store
from syncd.apply.swarmdeploy import deploy_of
from syncd.apply.swarmimages import SwarmImage, SwarmImages
from syncd.core.desired import DesiredService
from syncd.core.plan import Action, ServiceChange
from syncd.core.runspec import container_request
from syncd.engine.base import LABEL_SERVICE, Engine, owner_labels
from syncd.engine.swarmapi import ServiceState, SwarmApi
from syncd.engine.swarmspec import FILE_TOKEN, FileRef, SwarmDeploy, normalise, service_spec
from syncd.errors import EngineError, EngineUnavailable, RolledBack, ServiceFailed
from syncd.ids import ServiceKey
from syncd.settings import Settings

POLL = 0.5  # seconds between two looks at a rolling update
FAILED = {"paused": "the update paused", "rollback_paused": "the rollback paused"}
NAME_ROOM = 40  # of Swarm's 64 characters for a config name, before `_<content hash>`


class SwarmSteps(ServiceSteps):
    """One plan's service steps on a Swarm engine (`SwarmApi`)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: Store,
        planned: Planned,
        *,
        results: Mapping[ServiceKey, ServiceResult],
        pull_errors: Mapping[str, str],
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(settings, engine, store, planned, results=results, pull_errors=pull_errors)
        assert isinstance(engine, SwarmApi)
        self.swarm = engine
        self.images = SwarmImages(settings, engine, planned, env or {})

    def remove(self, change: ServiceChange) -> ServiceResult:
        live = change.live
        assert live is not None
        if live.container_id:
            self.swarm.remove_service(live.container_id)
        self._sweep(change.key, keep=frozenset())
        self.store.forget(change.key)
        return ServiceResult(change.key, change.action, True, "removed (volumes kept)")

    def idle(self, change: ServiceChange) -> bool:
        """Unless its image's tag moved to another digest at the registry."""
        return not self.images.of(change).moved(self._running(change))

    def _running(self, change: ServiceChange) -> str | None:
        live = change.live
        return self.swarm.spec_image(live.container_id) if live and live.container_id else None

    def apply(self, change: ServiceChange) -> ServiceResult:
        desired, live = change.desired, change.live
        assert desired is not None
        for dep in self.dependencies_failed(change):
            raise ServiceFailed(f"not started: its dependency {dep.name} failed")
        image = self.images.of(change)
        running = self._running(change)
        moved = image.moved(running)
        if change.action is Action.NONE and not moved:
            if live is not None and change.key in self.planned.observation.unrecorded:
                if live.container_id:  # (a deploy that timed out: converged since?)
                    self._await(live.container_id, 0.0, False, deploy_of(desired.spec))
                self._record(desired, live.hash, "adopted")
            return ServiceResult(change.key, change.action, True, change.reason_text, cid(live))
        if image.refused:
            raise ServiceFailed(image.refused)
        deploy = deploy_of(desired.spec)
        old = live.container_id if live else None
        spec = self._spec(desired, deploy, old, image.image(running))
        current = self._current(live.container_id if live else None, str(spec["Name"]))
        since = time.time()
        if current is None:
            service_id, done = self.swarm.create_service(spec, image.auth), "created"
            rolling = False
        elif normalise(current.spec) == normalise(spec):
            service_id, done, rolling = current.id, "unchanged on Swarm", False
        else:
            self.swarm.update_service(current.id, current.version, spec, image.auth)
            service_id, done = current.id, "updated"
            rolling = _task_change(current.spec, spec)
        if moved:
            done = f"updated: its image's tag moved to {_digest(image)}"
        try:
            self._await(service_id, since, rolling, deploy)
        except RolledBack:
            flapguard.remember(self.store, change.key, desired.hash)
            raise
        except ServiceFailed as err:
            if image.problem:  # the registry did not answer: say so beside the task error
                raise ServiceFailed(f"{err}; {image.problem}") from err
            raise
        if change.action is Action.RECREATE:
            flapguard.forget(self.store, change.key)
        self._sweep(change.key, keep=self._in_use(service_id))
        self._record(desired, desired.hash, done)
        return ServiceResult(change.key, change.action, True, done, service_id)

    def dependencies_failed(self, change: ServiceChange) -> list[ServiceKey]:
        return [d for d in dependencies(change) if d in self.results and not self.results[d].ok]

    # -- the spec ------------------------------------------------------------------------------

    def _spec(
        self, desired: DesiredService, deploy: SwarmDeploy, old: str | None, image: str
    ) -> dict[str, Any]:
        files: dict[str, FileRef] = {}
        secrets = [id(e) for e in desired.spec.get("secrets") or []]

        def content(entry: Mapping[str, Any]) -> str:
            token = f"{FILE_TOKEN}{len(files)}"
            files[token] = self._file(desired.key, entry, id(entry) in secrets)
            return token

        request = container_request(
            desired,
            instance=self.settings.instance,
            revision=self.planned.desired.revision,
            files=functools.partial(project_files, self.settings),
            content=content,
            text=self.content.text,
            environment=self._environment(desired, old),
            stop_timeout=self.settings.stop_timeout,
        )
        plain = tuple(m for m in request.mounts if not m.source.startswith(FILE_TOKEN))
        check_host_binds(self.settings, dataclasses.replace(request, mounts=plain))
        network = self.swarm.network_id(desired.key.project)
        pinned = dataclasses.replace(request, image=image)
        return service_spec(pinned, deploy, self.swarm.names, network, files)

    def _file(self, key: ServiceKey, entry: Mapping[str, Any], secret: bool) -> FileRef:
        """The config (secret) holding `entry`'s content, made if missing."""
        tree = self.planned.desired.files.get(str(entry.get("digest")))
        label = str(entry.get("source"))
        if tree is None:
            raise ServiceFailed(f"{label}: its content is not in this revision; apply it again")
        if not tree.is_file:
            raise ServiceFailed(f"{label}: a folder from git cannot be a Swarm config; mount files")
        base = self.swarm.names.container(key)[:NAME_ROOM]
        name = f"{base}_{self.content.name(entry)[:20]}"
        labels = {**owner_labels(self.settings.instance, key.stack_key), LABEL_SERVICE: key.name}
        file_id = self.swarm.ensure_file(secret, name, tree.entries[0][1], labels)
        mode = entry.get("mode")
        return FileRef(
            secret,
            name,
            file_id,
            uid=str(entry.get("uid") or 0),
            gid=str(entry.get("gid") or 0),
            mode=int(mode) if mode is not None else 0o444,
        )

    def _current(self, service_id: str | None, name: str) -> ServiceState | None:
        """The service as Swarm has it: by its id, else by its name (one made by an apply
        that was not recorded); None if there is none."""
        for ref in (service_id, name):
            if ref:
                try:
                    return self.swarm.service(ref)
                except EngineUnavailable:
                    raise
                except EngineError:  # not found: try the next
                    continue
        return None

    # -- converging ----------------------------------------------------------------------------

    def _await(self, service_id: str, since: float, rolling: bool, deploy: SwarmDeploy) -> None:
        """Until Swarm runs the new spec: its rolling update completed (when tasks change) and
        every desired task runs. `RolledBack` when Swarm rolled back, `ServiceFailed` when it
        paused or the deploy timeout passed."""
        timeout = self.settings.deploy_timeout
        deadline = time.monotonic() + timeout
        wanted = 1 if deploy.global_mode else deploy.replicas
        while True:
            state = self.swarm.service(service_id)
            update = state.update_state if _since(state.update_started, since) else None
            detail = state.update_message or ""
            progress = self.swarm.progress(service_id)
            why = f"; last task error: {progress.error}" if progress.error else ""
            if update == "rollback_completed":
                raise RolledBack(f"Swarm rolled the update back ({detail}){why}")
            if update in FAILED:
                raise ServiceFailed(f"{FAILED[update]} ({detail}){why}")
            finished = update == "completed" or (update is None and not rolling)
            if finished and progress.desired >= wanted and progress.running >= progress.desired:
                return
            if time.monotonic() >= deadline:
                raise ServiceFailed(
                    f"did not converge within the deploy timeout ({timeout:g} s): "
                    f"{progress.running}/{progress.desired} tasks running"
                    f"{f', update {update}' if update else ''}{why}"
                )
            time.sleep(POLL)

    # -- configs and secrets -------------------------------------------------------------------

    def _in_use(self, service_id: str) -> frozenset[str]:
        state = self.swarm.service(service_id)
        return _file_ids(state.spec) | _file_ids(state.previous or {})

    def _sweep(self, key: ServiceKey, keep: frozenset[str]) -> None:
        for stored in self.swarm.files(key):
            if stored.id not in keep:
                self.swarm.remove_file(stored)


def _digest(image: SwarmImage) -> str:
    return (image.pinned or "").rpartition("@")[2]


def _file_ids(spec: Mapping[str, Any]) -> frozenset[str]:
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    ids = {str(c.get("ConfigID")) for c in container.get("Configs") or []}
    return frozenset(ids | {str(s.get("SecretID")) for s in container.get("Secrets") or []})


def _task_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether Swarm replaces tasks for this update (the task template changed)."""
    return bool(normalise(before.get("TaskTemplate")) != normalise(after.get("TaskTemplate")))


def _since(started: str | None, since: float) -> bool:
    """Whether an UpdateStatus began with (or after) this step's write."""
    if not started:
        return False
    text = started.rstrip("Z")
    head, _, fraction = text.partition(".")
    try:
        moment = datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return False
    return moment + float(f"0.{fraction or 0}") >= since - 0.5
