"""Operational tasks asked for through the API (or the CLI through it): stop, start, restart,
recreate, pull, delete an orphaned volume, and the two checks (image config, credentials).

Each runs under the instance's sync lock, is logged and recorded in the sync history, and asks
for a sync so the status follows. A stop is an operator override that self-heal respects. The
operator gets what it uses (the engine, the reconciler, the store, the snapshot), never the
daemon.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, assert_never

from syncd import logs
from syncd.apply.reconcile import Reconciler
from syncd.apply.registries import auth_for, check_host, login_auth, registry_for
from syncd.core.desired import DesiredRegistry, DesiredState
from syncd.daemon.snapshot import DaemonSnapshot
from syncd.daemon.status import Status, Trigger
from syncd.engine.base import MAX_LOG_BYTES, Engine
from syncd.errors import CredentialsError, EngineError, OperationRefused, UnknownRegistry
from syncd.ids import RegistryKey, ServiceKey, VolumeKey
from syncd.settings import Settings


class Task(StrEnum):
    """An operator task on one service (`/actions/{action}`, `syncd service <action>`)."""

    PULL = "pull"
    RECREATE = "recreate"
    RESTART = "restart"
    START = "start"
    STOP = "stop"


class Operator:
    def __init__(
        self,
        *,
        engine: Engine,
        reconciler: Reconciler,
        settings: Settings,
        env: Mapping[str, str],
        status: Status,
        snapshot: Callable[[], DaemonSnapshot | None],
        request: Callable[[Trigger], None],
        registry_checks: dict[RegistryKey, bool],
    ) -> None:
        self.engine = engine
        self.reconciler = reconciler
        self.store = reconciler.store
        self.settings = settings
        self.env = env
        self.status = status  # the last good revision, for the history row
        self.snapshot = snapshot  # the daemon's last snapshot: desired state, containers
        self.request = request  # a sync after each task, so the status follows
        self.registry_checks = registry_checks  # explicit checks win over a pull's outcome
        self.log = logs.get()

    def _desired(self) -> DesiredState | None:
        snapshot = self.snapshot()
        return snapshot.desired if snapshot else None

    def _record(self, action: str, subject: str, **bound: str) -> None:
        revision = self.status.good_revision
        sync_id = self.store.begin_sync(f"operator_{action}", revision)
        self.store.finish_sync(
            sync_id,
            revision=revision,
            result="ok",
            services=[{"service": subject, "action": action, "ok": True, "detail": "by API"}],
        )
        self.log.bind(**bound).info("operator_action", action=action, subject=subject)
        self.request(Trigger.OPERATOR)

    def _containers(self, key: ServiceKey) -> list[str]:
        """Every replica's container."""
        snapshot = self.snapshot()
        containers = snapshot.container_ids(key) if snapshot else []
        if not containers:
            raise OperationRefused(f"service {key} has no container yet")
        return containers

    def service(self, task: Task, key: ServiceKey) -> None:
        timeout = self.reconciler.stop_timeout(key)
        match task:
            case Task.STOP:
                self.reconciler.operator_stop(key)
            case Task.START:
                self.reconciler.operator_start(key)
            case Task.RESTART:
                with self.reconciler.lock():
                    for container in self._containers(key):
                        self.engine.restart(container, timeout)
            case Task.RECREATE:
                with self.reconciler.lock():  # the next sync creates them again, from the spec
                    for container in self._containers(key):
                        self.engine.stop(container, timeout)
                        self.engine.remove(container)
            case Task.PULL:
                image, registry = self._image_of(key)
                self.engine.pull(image, auth_for(registry, image, self.env, *self._sources()))
            case _:
                assert_never(task)
        self._record(task.value, str(key), project=key.project, stack=key.stack, service=key.name)

    def _sources(self) -> tuple[Path, Path | None]:
        """Where registry passwords are read: the secrets dir, the age key file (SOPS)."""
        return self.settings.secrets, self.settings.age_key_file

    def _image_of(self, key: ServiceKey) -> tuple[str, DesiredRegistry | None]:
        desired = self._desired()
        stack = desired.stacks.get(key.stack_key) if desired else None
        service = stack.services.get(key.name) if stack else None
        if desired is None or service is None:
            raise OperationRefused(f"service {key} is not declared")
        image = str(service.spec.get("image"))
        return image, registry_for(image, key.project, desired.registries)

    def delete_volume(self, key: VolumeKey) -> None:
        desired = self._desired()
        stack = desired.stacks.get(key.stack_key) if desired else None
        if stack is not None and key.name in stack.volumes:
            raise OperationRefused(
                f"volume {key} is declared by its stack; remove it from the manifest first, "
                "then delete the orphaned volume"
            )
        with self.reconciler.lock():
            self.engine.remove_volume(key)
            self.store.set_orphaned(key, False)
        self._record("delete_volume", str(key), project=key.project, stack=key.stack)

    def registry_by_id(self, registry_id: str) -> DesiredRegistry | None:
        desired = self._desired()
        if desired is None:
            return None
        return next((r for r in desired.registries.values() if r.key.id == registry_id), None)

    def stack_source(self, stack_id: str) -> str | None:
        """Where a stack is declared (`file:line`), for the API's answer to a write."""
        desired = self._desired()
        found = [s for s in desired.stacks.values() if s.key.id == stack_id] if desired else []
        return found[0].source if found else None

    def validate_credentials(self, registry: DesiredRegistry) -> bool:
        if registry.username is None:
            return False
        log = self.log.bind(project=registry.key.project)
        try:
            auth = login_auth(registry, self.env, *self._sources())
        except CredentialsError as err:
            log.warning("registry_credentials_unreadable", error=str(err))
            return False
        valid, answer = self.engine.login(auth)
        del auth, answer
        log.info("registry_credentials_checked", registry=str(registry.key), valid=valid)
        self.registry_checks[registry.key] = valid
        return valid

    def image_config(
        self, reference: str, project_id: str | None, registry_id: str | None
    ) -> dict[str, Any]:
        """The image's inspect answer, pulling it first (with the matching credentials).

        A registry named by id must be the image's own (host and port): checked first, so a
        mismatch is refused whether or not the image is already here, and nothing is sent."""
        registry = self._credentials_for(reference, project_id, registry_id)
        if registry is not None:
            check_host(registry, reference)
        try:
            return self.engine.image_config(reference)
        except EngineError:
            pass
        self.engine.pull(reference, auth_for(registry, reference, self.env, *self._sources()))
        return self.engine.image_config(reference)

    def logs(self, key: ServiceKey, tail: int) -> str | None:
        """The service's log (None: it has no container). With replicas, the last `tail` lines
        of each, replica 1 first, every line led by the replica's name (`web.2 | ...`, as
        `docker compose logs` does); each replica gets an equal share of the byte bound."""
        snapshot = self.snapshot()
        replicas = snapshot.replicas(key) if snapshot else []
        if len({container for _, container in replicas}) <= 1:  # (on Swarm: the one service)
            container = snapshot.container_id(key) if snapshot else None
            return self.engine.logs(container, tail) if container else None
        share = MAX_LOG_BYTES // len(replicas)  # the bound of one container's, shared
        lines: list[str] = []
        for index, container in replicas:
            name = key.name if index == 1 else f"{key.name}.{index}"
            lines += named_lines(name, self.engine.logs(container, tail), share)
        return "\n".join(lines)

    def _credentials_for(
        self, reference: str, project_id: str | None, registry_id: str | None
    ) -> DesiredRegistry | None:
        if registry_id:
            registry = self.registry_by_id(registry_id)
            if registry is None:
                raise UnknownRegistry(f"registry {registry_id!r} was not found")
            return registry
        desired = self._desired()
        if not project_id or desired is None:
            return None
        project = next(
            (k.project for k in desired.stacks if k.project_id == project_id), None
        ) or next((k.project for k in desired.registries if k.project_id == project_id), None)
        return registry_for(reference, project, desired.registries) if project else None


def named_lines(name: str, text: str, share: int) -> list[str]:
    """The whole lines of the last `share` characters of `text`, each led by `name`."""
    if len(text) > share:  # a line cut by the bound goes
        text = text[-share:].partition("\n")[2]
    return [f"{name} | {line}" for line in text.splitlines()]
