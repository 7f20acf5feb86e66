"""What the `/v2` API serves: one immutable snapshot built after each sync from the desired
state, the engine's listing, the plan and the records. Requests only read it. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticCustomError

from syncd.api.models import (
    Deploy,
    Project,
    ProjectListItem,
    Registry,
    RegistryCredentials,
    Resources,
    ResourceSpec,
    ServiceResponse,
    ServiceState,
    StackResponse,
    VolumeResponse,
)
from syncd.api.projects import ProjectFacts, project_models
from syncd.api.schedules import stack_schedule
from syncd.core.canonical import Spec
from syncd.core.desired import DesiredService
from syncd.core.live import LiveService, ServiceStatus
from syncd.core.options import volumes as volume_options
from syncd.core.options.files import mount_label
from syncd.core.plan import Action
from syncd.core.records import ServiceRecord
from syncd.daemon import swarmstatus as swarm
from syncd.daemon.snapshot import DaemonSnapshot, SnapshotProvider
from syncd.engine.base import Names, Observed
from syncd.engine.swarmview import ServiceTasks
from syncd.ids import ServiceKey, StackKey, VolumeKey, project_id, short_id
from syncd.manifests.fields import parse_mount
from syncd.taint import REDACTED, covered, redact
from syncd.timestamps import iso

timestamp = iso  # epoch seconds -> RFC 3339 (`syncd.timestamps`, as every answer shows them)


@dataclass(frozen=True)
class View:
    projects: dict[str, Project] = field(default_factory=dict)
    project_items: dict[str, ProjectListItem] = field(default_factory=dict)  # by project id
    stacks: dict[str, StackResponse] = field(default_factory=dict)
    services: dict[str, ServiceResponse] = field(default_factory=dict)
    volumes: dict[str, VolumeResponse] = field(default_factory=dict)
    registries: dict[str, Registry] = field(default_factory=dict)
    service_keys: dict[str, ServiceKey] = field(default_factory=dict)  # service id -> key
    volume_keys: dict[str, VolumeKey] = field(default_factory=dict)  # volume id -> key
    names: dict[tuple[str, str], str] = field(default_factory=dict)  # (stack id, name|short) -> id

    _json: dict[int, bytes] = field(default_factory=dict)

    def json_of(self, model: BaseModel) -> bytes:
        """A model's JSON, rendered once per snapshot (lists are joined from these)."""
        found = self._json.get(id(model))
        if found is None:
            found = model.model_dump_json(exclude_none=True).encode()
            self._json[id(model)] = found
        return found

    def volume(self, stack_id: str, ref: str) -> VolumeResponse | None:
        """A volume by uuid or name (within its stack)."""
        found = self.volumes.get(ref)
        if found is None:
            found = next(
                (v for v in self.volumes.values() if v.stackId == stack_id and v.name == ref), None
            )
        return found if found is not None and found.stackId == stack_id else None

    def service(self, stack_id: str, ref: str) -> ServiceResponse | None:
        """A service by uuid, shortId or service name (within its stack)."""
        found = self.services.get(ref)
        if found is not None and found.stackId == stack_id:
            return found
        service_id = self.names.get((stack_id, ref))
        return self.services.get(service_id) if service_id else None


def _state(shown: Spec, digest: str | None) -> ServiceState:
    """A service state from a spec already redacted (`_shown`)."""
    env = shown.get("environment") or {}
    image = str(shown.get("image") or "")
    return ServiceState(
        image=image,
        imageDigest=digest if image != REDACTED else None,  # an image's digest names it
        command=shown.get("command"),
        entrypoint=shown.get("entrypoint"),
        envs={str(k): str(v) for k, v in env.items()},
        ports=list(shown.get("ports") or []),
        volumes=[mount_label(v) for v in shown.get("volumes") or []],
    )


LISTS = ("command", "entrypoint", "ports", "volumes")


def _shown(spec: Spec, secrets: frozenset[str], pending: Spec | None = None) -> Spec:
    """`spec` with every tainted value redacted. A spec read back from Docker (`pending` given)
    has no taint of its own: it ran from an applied spec, so a value at a tainted place is
    hidden, and in a list with any taint only the items the pending spec shows in clear remain."""
    shown: Spec = redact(spec, "", secrets)
    if pending is None:
        return shown
    for name in LISTS:
        items = spec.get(name)
        tainted = any(p == f"/{name}" or p.startswith(f"/{name}/") for p in secrets)
        if not isinstance(items, list) or not tainted:
            continue
        public = {
            v for i, v in enumerate(pending.get(name) or []) if not covered(f"/{name}/{i}", secrets)
        }
        shown[name] = [v if v in public else REDACTED for v in items]
    return shown


def _deploy(spec: Spec) -> Deploy | None:
    cpus, memory = spec.get("cpus"), spec.get("memory")
    if cpus is None and memory is None:
        return None
    if memory is not None and memory != REDACTED:
        memory = f"{memory}b"
    limits = ResourceSpec(cpus=cpus, memory=memory)
    return Deploy(resources=Resources(limits=limits))


def _digests(observed: Observed) -> dict[str, str]:
    """image id -> `sha256:...` repo digest, from the image listing's digest references."""
    out: dict[str, str] = {}
    for ref, image_id in observed.images.items():
        if "@" in ref:
            out.setdefault(image_id, ref.split("@", 1)[1])
    return out


@dataclass
class _Builder:
    inputs: DaemonSnapshot
    view: View = field(default_factory=View)
    _actions: dict[ServiceKey, Action] | None = None
    _statuses: dict[str, list[tuple[ServiceStatus, float]]] = field(default_factory=dict)

    def build(self) -> View:
        desired = self.inputs.desired
        live = self.inputs.observation.live
        keys = sorted(set(desired.stacks if desired else {}) | set(live.stacks))
        for key in keys:
            self._stack(key)
        if desired is not None:
            for registry in desired.registries.values():
                valid = self.inputs.registry_valid.get(registry.key, False)
                username = registry.shown("username")
                credentials = (
                    RegistryCredentials(username=username, valid=valid) if username else None
                )
                self.view.registries[registry.key.id] = Registry(
                    id=registry.key.id,
                    projectId=project_id(registry.key.project),
                    uri=registry.shown("uri") or "",
                    description=registry.shown("description") or "",
                    credentials=credentials,
                )
                self._project(registry.key.project)
        for project, statuses in self._statuses.items():
            self._project_models(project, statuses)
        return self.view

    def _project(self, project: str) -> None:
        self._statuses.setdefault(project, [])

    def _project_models(self, project: str, statuses: list[tuple[ServiceStatus, float]]) -> None:
        inputs = self.inputs
        fallback = min((at for _, at in statuses), default=inputs.built_at)
        facts = ProjectFacts(
            name=project,
            services=tuple(statuses),
            created_at=inputs.created.get(project, fallback),
            web_bytes=inputs.files_usage.get(project, 0),
            web_at=inputs.files_at or inputs.built_at,
        )
        item, full = project_models(facts, inputs.instance, timestamp)
        self.view.project_items[full.id] = item
        self.view.projects[full.id] = full

    def _stack(self, key: StackKey) -> None:
        desired = self.inputs.desired.stacks.get(key) if self.inputs.desired else None
        live = self.inputs.observation.live.stacks.get(key)
        names = sorted(
            set(desired.services if desired else {}) | set(live.services if live else {})
        )
        services = [
            self._service(
                key.service(n),
                desired.services.get(n) if desired else None,
                live.services.get(n) if live else None,
            )
            for n in names
        ]
        volume_names = sorted(
            set(desired.volumes if desired else {}) | set(live.volumes if live else {})
        )
        owners = {  # each anonymous volume's service
            v: n
            for n, s in (desired.services.items() if desired else ())
            for v in volume_options.anonymous_volumes(n, s.spec)
        }
        volumes = [
            self._volume(
                key.volume(n), desired is not None and n in desired.volumes, services, owners
            )
            for n in volume_names
        ]
        prefix = Names(self.inputs.instance).container(key.service(""))
        stack = StackResponse(
            id=key.id,
            projectId=key.project_id,
            description=desired.shown_description if desired else "",
            disabled=False,
            prefix=prefix,
            services=services,
            volumes=volumes,
            updateSchedule=stack_schedule(desired.services) if desired else None,
        )
        self.view.stacks[key.id] = stack
        self._project(key.project)

    def _change(self, key: ServiceKey) -> Action | None:
        if self._actions is None:  # indexed once per build: a lookup per service after that
            plan = self.inputs.plan
            stacks = plan.stacks if plan is not None else ()
            self._actions = {c.key: c.action for stack in stacks for c in stack.services}
        return self._actions.get(key)

    def _service(
        self, key: ServiceKey, desired: DesiredService | None, live: LiveService | None
    ) -> ServiceResponse:
        record = self.inputs.records.get(str(key))
        container = self.inputs.observation.containers.get(key)
        digest = _digests(self.inputs.observed).get(live.image_id or "") if live else None
        pending_spec = desired.spec if desired else (live.spec if live else {})
        secrets = (desired.secrets if desired else frozenset()) | (
            live.secrets if live else frozenset()
        )
        shown = _shown(pending_spec, secrets)
        running = self.inputs.deployed.get(key) or (live.spec if live else None)
        deployed = (
            _state(_shown(running, secrets, pending_spec), digest)
            if running
            else ServiceState(image="")
        )
        action = self._change(key)
        status, message = self._status(live, desired, record, action, self.inputs.tasks(key))
        set_at = (
            record.applied_at
            if record
            else (container.created if container else self.inputs.built_at)
        )
        restart = shown.get("restartPolicy")
        sid = short_id("c", key.id)
        response = ServiceResponse(
            id=key.id,
            stackId=key.stack_key.id,
            projectId=key.stack_key.project_id,
            description=str(shown.get("description") or ""),
            serviceName=key.name,
            shortId=sid,
            pendingState=_state(shown, None),
            deployedState=deployed,
            requiresRecreate=action in (Action.CREATE, Action.RECREATE),
            status=status,
            statusSetAt=timestamp(set_at),
            message=message,
            deploy=_deploy(shown),
            restartPolicy=restart
            if restart in ("no", "always", "on-failure", "unless-stopped")
            else None,
        )
        self.view.services[key.id] = response
        self._statuses.setdefault(key.project, []).append((status, set_at))
        self.view.service_keys[key.id] = key
        self.view.names[(key.stack_key.id, key.name)] = key.id
        self.view.names[(key.stack_key.id, sid)] = key.id
        return response

    @staticmethod
    def _status(
        live: LiveService | None,
        desired: DesiredService | None,
        record: ServiceRecord | None,
        action: Action | None,
        tasks: ServiceTasks | None = None,  # a Swarm service's: its status is its tasks'
    ) -> tuple[ServiceStatus, str]:
        error = record.error if record and record.result == "error" else None
        if live is None:
            if error:
                return ServiceStatus.ERROR, error
            return ServiceStatus.CREATING, "Waiting for the next sync to create the container"
        current = live.status if tasks is None else swarm.status_of(tasks)
        replicas = f"; {swarm.replicas_text(tasks)}" if tasks else ""
        if desired is None:
            return current, f"No longer declared; the next sync removes it{replicas}"
        if error and current is not ServiceStatus.RUNNING:
            return ServiceStatus.ERROR, f"{error}{replicas}"
        if live.operator_stopped:
            return current, "Stopped by an operator; self-heal leaves it stopped"
        if current is ServiceStatus.RUNNING:
            if error and error.startswith("rolled back: "):  # errors.RolledBack
                return current, f"Rolled back: {error[13:]}; running the previous spec{replicas}"
            if error:
                return current, f"Running the previous spec; the last change failed: {error}"
            if action is Action.RECREATE:
                return current, f"Running; a changed spec is waiting to be applied{replicas}"
        if tasks is not None:
            return current, swarm.replicas_text(tasks)
        if current is ServiceStatus.RUNNING:
            return current, "Container ready"
        return current, f"Container {current.value}"

    def _volume(
        self,
        key: VolumeKey,
        declared: bool,
        services: list[ServiceResponse],
        owners: Mapping[str, str],
    ) -> VolumeResponse:
        linked = [
            s.id
            for s in services
            if any(self._mount_source(v) == key.name for v in s.pendingState.volumes or [])
            or owners.get(key.name) == s.serviceName
        ]
        name = Names(self.inputs.instance).volume(key)
        response = VolumeResponse(
            id=key.id,
            stackId=key.stack_key.id,
            name=key.name,
            orphaned=not declared,
            linkedServices=linked,
            storageUsageInBytes=int(self.inputs.volume_usage.get(name, 0)),
            storageUsageInBytesSetAt=timestamp(self.inputs.usage_at or self.inputs.built_at),
        )
        self.view.volumes[key.id] = response
        self.view.volume_keys[key.id] = key
        return response

    @staticmethod
    def _mount_source(raw: str) -> str | None:
        try:
            return parse_mount(raw).source
        except PydanticCustomError:  # not a mount syncd could parse: no volume link
            return None


def build(inputs: DaemonSnapshot) -> View:
    return _Builder(inputs).build()


def dump(models: list[Any]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json", exclude_none=True) for m in models]


class Views:
    """The view of the daemon's current snapshot, built once per snapshot object: a request
    never rebuilds it when nothing changed. `update` builds it ahead, in the sync thread."""

    def __init__(self, state: SnapshotProvider) -> None:
        self.state = state
        self._cached: tuple[DaemonSnapshot | None, View] = (None, View())

    def update(self, snapshot: DaemonSnapshot) -> None:
        if self._cached[0] is not snapshot:
            self._cached = (snapshot, build(snapshot))

    def current(self) -> View:
        snapshot = self.state.snapshot()
        cached_for, view = self._cached
        if snapshot is None or snapshot is cached_for:
            return view
        view = build(snapshot)
        self._cached = (snapshot, view)
        return view
