"""Operational tasks asked for through the API (or the CLI through it): stop, start, restart,
recreate, pull, delete an orphaned volume, and the two checks (image config, credentials).

Each runs under the instance's sync lock, is logged and recorded in the sync history, and asks
for a sync so the status follows. A stop is an operator override that self-heal respects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from syncd.apply.registries import auth_for, check_host, login_auth, registry_for
from syncd.errors import CredentialsError, EngineError, SyncdError
from syncd.ids import RegistryKey, ServiceKey, VolumeKey

if TYPE_CHECKING:
    from syncd.core.desired import DesiredRegistry
    from syncd.daemon.loop import Daemon

ACTIONS = ("pull", "recreate", "restart", "start", "stop")


class OperationRefused(SyncdError):
    """The task cannot be done in the current state (answer 412)."""


class UnknownRegistry(SyncdError):
    """No declared registry has the id a request names (answer 404)."""


class Operator:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def _record(self, action: str, subject: str) -> None:
        store = self.daemon.store
        sync_id = store.begin_sync(f"operator_{action}", self.daemon.status.good_revision)
        store.finish_sync(
            sync_id,
            revision=self.daemon.status.good_revision,
            result="ok",
            services=[{"service": subject, "action": action, "ok": True, "detail": "by API"}],
        )
        self.daemon.log.info("operator_action", action=action, subject=subject)

    def _container(self, key: ServiceKey) -> str:
        container = self.daemon.container_id(key)
        if container is None:
            raise OperationRefused(f"service {key} has no container yet")
        return container

    def service(self, action: str, key: ServiceKey) -> None:
        reconciler = self.daemon.reconciler
        settings = self.daemon.settings
        if action == "stop":
            reconciler.operator_stop(key)
        elif action == "start":
            reconciler.operator_start(key)
        elif action == "restart":
            with reconciler.lock():
                self.daemon.engine.restart(self._container(key), settings.stop_timeout)
        elif action == "recreate":
            with reconciler.lock():  # the next sync creates it again, from the declared spec
                container = self._container(key)
                self.daemon.engine.stop(container, settings.stop_timeout)
                self.daemon.engine.remove(container)
        elif action == "pull":
            image, registry = self._image_of(key)
            self.daemon.engine.pull(
                image, auth_for(registry, image, self.daemon.env, self.daemon.settings.secrets)
            )
        else:
            raise OperationRefused(f"unknown action {action!r}")
        self._record(action, str(key))
        from syncd.daemon.status import Trigger

        self.daemon.request(Trigger.OPERATOR)

    def _image_of(self, key: ServiceKey) -> tuple[str, DesiredRegistry | None]:
        desired = self.daemon.desired()
        stack = desired.stacks.get(key.stack_key) if desired else None
        service = stack.services.get(key.name) if stack else None
        if desired is None or service is None:
            raise OperationRefused(f"service {key} is not declared")
        image = str(service.spec.get("image"))
        return image, registry_for(image, key.project, desired.registries)

    def delete_volume(self, key: VolumeKey) -> None:
        desired = self.daemon.desired()
        stack = desired.stacks.get(key.stack_key) if desired else None
        if stack is not None and key.name in stack.volumes:
            raise OperationRefused(
                f"volume {key} is declared by its stack; remove it from the manifest first, "
                "then delete the orphaned volume"
            )
        with self.daemon.reconciler.lock():
            self.daemon.engine.remove_volume(key)
            self.daemon.store.set_orphaned(key, False)
        self._record("delete_volume", str(key))
        from syncd.daemon.status import Trigger

        self.daemon.request(Trigger.OPERATOR)

    def _registry(self, key: RegistryKey) -> DesiredRegistry | None:
        desired = self.daemon.desired()
        return desired.registries.get(key) if desired else None

    def registry_by_id(self, registry_id: str) -> DesiredRegistry | None:
        desired = self.daemon.desired()
        if desired is None:
            return None
        return next((r for r in desired.registries.values() if r.key.id == registry_id), None)

    def validate_credentials(self, registry: DesiredRegistry) -> bool:
        if registry.username is None:
            return False
        try:
            auth = login_auth(registry, self.daemon.env, self.daemon.settings.secrets)
        except CredentialsError as err:
            self.daemon.log.warning("registry_credentials_unreadable", error=str(err))
            return False
        valid, answer = self.daemon.engine.login(auth)
        del auth
        self.daemon.log.info(
            "registry_credentials_checked", registry=str(registry.key), valid=valid
        )
        self.daemon.registry_checked(registry.key, valid)
        del answer
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
            return self.daemon.engine.image_config(reference)
        except EngineError:
            pass
        self.daemon.engine.pull(
            reference,
            auth_for(registry, reference, self.daemon.env, self.daemon.settings.secrets),
        )
        return self.daemon.engine.image_config(reference)

    def _credentials_for(
        self, reference: str, project_id: str | None, registry_id: str | None
    ) -> DesiredRegistry | None:
        if registry_id:
            registry = self.registry_by_id(registry_id)
            if registry is None:
                raise UnknownRegistry(f"registry {registry_id!r} was not found")
            return registry
        desired = self.daemon.desired()
        if not project_id or desired is None:
            return None
        project = next(
            (k.project for k in desired.stacks if k.project_id == project_id), None
        ) or next((k.project for k in desired.registries if k.project_id == project_id), None)
        return registry_for(reference, project, desired.registries) if project else None
