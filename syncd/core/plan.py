"""The plan: desired paired with live, diffed, one action per service and volume, with reasons.

A `Plan` is a frozen value: it can be printed, reviewed in a pull request, compared in tests, and
then executed by an engine. Computing it touches nothing. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from syncd.core import canonical, diffs
from syncd.core.canonical import Spec
from syncd.core.desired import DesiredService, DesiredStack, DesiredState
from syncd.core.diffs import ValueChange, redacted_patch
from syncd.core.impact import Impact, dependents, impact
from syncd.core.live import LiveService, LiveStack, LiveState, LiveVolume, ServiceStatus
from syncd.core.options import volumes as volume_options
from syncd.errors import CycleError, PlanRefused
from syncd.gcpause import gc_paused
from syncd.graph import start_order
from syncd.ids import ServiceKey, StackKey, VolumeKey
from syncd.manifests.model import Strategy
from syncd.settings import Settings


class Action(StrEnum):
    CREATE = "create"
    RECREATE = "recreate"
    START = "start"
    UPDATE = "update"  # only metadata changed (description, dependsOn): recorded, no new container
    REMOVE = "remove"
    NONE = "none"


class VolumeAction(StrEnum):
    CREATE = "create"
    ATTACH = "attach"  # an orphaned volume is declared again
    DETACH = "detach"  # no longer declared: kept, reported orphaned, never deleted
    NONE = "none"


class Reason(StrEnum):
    NEW = "new"
    SPEC_CHANGED = "spec_changed"
    IMAGE_CHANGED = "image_changed"
    METADATA_CHANGED = "metadata_changed"
    STOPPED = "stopped"
    OPERATOR_STOPPED = "operator_stopped"
    NOT_DECLARED = "not_declared"
    REMOVED_BY_PATCH = "removed_by_patch"
    STACK_REMOVED = "stack_removed"
    DECLARED = "declared"
    UNCHANGED = "unchanged"
    REPLICAS = "replicas"
    DEPENDENCY_RECREATED = "dependency_recreated"
    VOLUME_DIFFERS = "volume_differs"
    HELD = "held"  # the spec rolled back recently: not retried before its backoff ends


REASON_TEXT = {
    Reason.NEW: "not running yet",
    Reason.SPEC_CHANGED: "the declared spec changed",
    Reason.IMAGE_CHANGED: "the image resolves to a new image id",
    Reason.METADATA_CHANGED: "only metadata changed; no new container",
    Reason.STOPPED: "declared but not running",
    Reason.OPERATOR_STOPPED: "stopped by an operator; left stopped",
    Reason.NOT_DECLARED: "no longer declared by its stack",
    Reason.REMOVED_BY_PATCH: "declared as {} under strategy update",
    Reason.STACK_REMOVED: "its stack is no longer in the repository",
    Reason.DECLARED: "declared by its stack",
    Reason.UNCHANGED: "unchanged",
    Reason.REPLICAS: "the containers running differ from the declared replicas",
    Reason.DEPENDENCY_RECREATED: "restarted: a dependency it names with restart: true changes",
    Reason.VOLUME_DIFFERS: "the existing volume differs from its declaration; not changed: "
    "Docker can only change it by deleting it and its data",
    Reason.HELD: "held: this spec rolled back; retried after its backoff",
}


@dataclass(frozen=True)
class ServiceChange:
    key: ServiceKey
    action: Action
    reason: Reason
    fields: tuple[str, ...] = ()  # changed fields; for a recreate, the ones that force it
    patch: tuple[dict[str, Any], ...] = ()  # RFC 6902, live spec -> desired spec, redacted
    desired: DesiredService | None = None
    live: LiveService | None = None
    diff: tuple[ValueChange, ...] = ()  # the patch as old -> new values, redacted (`diffs`)
    impact: Impact | None = None  # for a replace or restart: downtime, ports, dependents
    note: str = ""  # a reason's particulars (`held: rolled back at <time>, retry after <time>`)

    @property
    def reason_text(self) -> str:
        return self.note or REASON_TEXT[self.reason]


@dataclass(frozen=True)
class VolumeChange:
    key: VolumeKey
    action: VolumeAction
    reason: Reason
    differs: tuple[str, ...] = ()  # declared fields (driver, driverOpts, labels) it has otherwise


@dataclass(frozen=True)
class StackPlan:
    key: StackKey
    services: tuple[ServiceChange, ...] = ()  # dependencies first, removals last
    volumes: tuple[VolumeChange, ...] = ()
    patch: tuple[dict[str, Any], ...] = ()  # RFC 6902, live stack -> desired stack, redacted
    removed: bool = False
    diff: tuple[ValueChange, ...] = ()  # the stack's own fields old -> new (description)

    @property
    def restarts(self) -> tuple[ServiceChange, ...]:
        """The changes that stop running containers and start new or the same ones."""
        return tuple(c for c in self.services if c.impact is not None)

    @property
    def changes(self) -> tuple[ServiceChange, ...]:
        return tuple(c for c in self.services if c.action is not Action.NONE)

    @property
    def volume_changes(self) -> tuple[VolumeChange, ...]:
        """Volume actions, and volumes left as they are that differ from their declaration."""
        return tuple(v for v in self.volumes if v.action is not VolumeAction.NONE or v.differs)

    @property
    def changed(self) -> bool:
        acted = any(v.action is not VolumeAction.NONE for v in self.volumes)
        return bool(self.changes or acted or self.patch)


@dataclass(frozen=True)
class Plan:
    base: str | None  # the revision the live side was applied from (or the base revision)
    head: str | None
    stacks: tuple[StackPlan, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.stacks)

    def counts(self) -> dict[str, int]:
        out = {a.value: 0 for a in Action if a is not Action.NONE}
        for stack in self.stacks:
            for change in stack.changes:
                out[change.action.value] += 1
        return out

    def restarts(self) -> tuple[int, int]:
        """How many services get their containers replaced or restarted, and how many of
        them are down meanwhile."""
        found = [c.impact for s in self.stacks for c in s.restarts if c.impact is not None]
        return len(found), sum(i.down is True for i in found)


DEFAULT_STOP_TIMEOUT = Settings.stop_timeout  # the setting's default
EMPTY_STACK: Spec = {"description": "", "services": {}, "volumes": {}}


def _order(services: Mapping[str, DesiredService]) -> list[str]:
    """Service names with every dependency before its dependents (ties by name)."""
    graph = {
        name: [d for d in s.spec.get("dependsOn", {}) if d in services]
        for name, s in services.items()
    }
    try:
        return start_order(graph)
    except CycleError as err:
        raise PlanRefused(f"dependency cycle: {' -> '.join(err.cycle)}") from err


def _service_change(
    desired: DesiredService, live: LiveService | None, image_ids: Mapping[str, str]
) -> ServiceChange:
    if live is None:
        patch = redacted_patch({}, desired.spec, desired.secrets)
        diff = diffs.changes({}, desired.spec, frozenset(), desired.secrets)
        return ServiceChange(desired.key, Action.CREATE, Reason.NEW, (), patch, desired, None, diff)
    before = canonical.upgraded(live.spec, desired.spec)
    patch = redacted_patch(before, desired.spec, desired.secrets | live.secrets)
    diff = diffs.changes(before, desired.spec, live.secrets, desired.secrets)
    forcing = canonical.recreate_fields(live.spec, desired.spec, desired.secrets | live.secrets)
    new_image = image_ids.get(str(desired.spec.get("image")))
    image_moved = bool(new_image and live.image_id and new_image != live.image_id)

    def change(action: Action, reason: Reason, names: list[str]) -> ServiceChange:
        return ServiceChange(desired.key, action, reason, tuple(names), patch, desired, live, diff)

    if forcing:
        return change(Action.RECREATE, Reason.SPEC_CHANGED, forcing)
    if image_moved:
        return change(Action.RECREATE, Reason.IMAGE_CHANGED, ["imageId"])
    metadata = canonical.changed_fields(live.spec, desired.spec)
    if metadata:
        return change(Action.UPDATE, Reason.METADATA_CHANGED, metadata)
    wanted = replicas(desired.spec)
    found = live.containers()
    stopped = (ServiceStatus.STOPPED, ServiceStatus.ERROR)
    # a service seen on the engine (or recorded with no container): as_live's are not
    seen = live.container_id is not None or live.status in stopped
    down = [r for r in found if r.status in stopped]
    if seen and (len(found) != wanted or down):
        if live.operator_stopped:
            return change(Action.NONE, Reason.OPERATOR_STOPPED, [])
        scaled = bool(found) and len(found) != wanted
        return change(Action.START, Reason.REPLICAS if scaled else Reason.STOPPED, [])
    return change(Action.NONE, Reason.UNCHANGED, [])


def replicas(spec: Spec) -> int:
    """How many containers a spec runs (1 for a spec from before syncd knew replicas)."""
    return int(spec.get("replicas", 1))


def _restarts(changes: list[ServiceChange]) -> list[ServiceChange]:
    """A service that names a dependency with `restart: true` restarts when that dependency
    gets a new container (and has nothing else to do)."""
    renewed = {c.key.name for c in changes if c.action in (Action.CREATE, Action.RECREATE)}
    out = []
    for change in changes:
        names = change.desired.spec.get("dependsOnRestart") or [] if change.desired else []
        if (
            change.action is Action.NONE
            and change.reason is Reason.UNCHANGED
            and renewed & set(names)
        ):
            out.append(replace(change, action=Action.START, reason=Reason.DEPENDENCY_RECREATED))
        else:
            out.append(change)
    return out


def _with_impact(changes: list[ServiceChange], stop_timeout: int) -> list[ServiceChange]:
    """Each recreate and restart with its impact (`core.impact`)."""
    specs = {c.key.name: c.desired.spec for c in changes if c.desired is not None}
    out = []
    for c in changes:
        restart = c.reason is Reason.DEPENDENCY_RECREATED
        if c.desired is not None and (c.action is Action.RECREATE or restart):
            needs = dependents(specs, c.key.name)
            found = impact(c.desired, c.live, needs, stop_timeout, restart=restart)
            out.append(replace(c, impact=found))
        else:
            out.append(c)
    return out


def _removal(live: LiveService, reason: Reason) -> ServiceChange:
    return ServiceChange(live.key, Action.REMOVE, reason, (), (), None, live)


def _volumes(desired: DesiredStack | None, live: LiveStack, *, prune: bool) -> list[VolumeChange]:
    out = []
    declared = desired.volumes if desired else {}
    for name, volume in sorted(declared.items()):
        found: LiveVolume | None = live.volumes.get(name)
        if found is None:
            out.append(VolumeChange(volume.key, VolumeAction.CREATE, Reason.NEW))
        elif found.orphaned:
            out.append(VolumeChange(volume.key, VolumeAction.ATTACH, Reason.DECLARED))
        elif differs := volume_options.differences(volume.declared, found.declared):
            out.append(VolumeChange(volume.key, VolumeAction.NONE, Reason.VOLUME_DIFFERS, differs))
        else:
            out.append(VolumeChange(volume.key, VolumeAction.NONE, Reason.UNCHANGED))
    for name, found in sorted(live.volumes.items()):
        if name in declared or found.orphaned or not prune:
            continue
        reason = Reason.STACK_REMOVED if desired is None else Reason.NOT_DECLARED
        out.append(VolumeChange(found.key, VolumeAction.DETACH, reason))
    return out


def _upgraded(old: Spec, new: Spec) -> Spec:
    """The live stack with the option fields its services' records lack (see `canonical`)."""
    services = {
        name: canonical.upgraded(spec, new["services"].get(name) or {})
        for name, spec in old["services"].items()
    }
    return {**old, "services": services}


def _target_spec(desired: DesiredStack | None, live: LiveStack) -> Spec:
    """The whole stack as it will be after the plan (PATCH stacks keep omitted services)."""
    if desired is None:
        return EMPTY_STACK
    spec = desired.spec()
    if desired.strategy is Strategy.UPDATE:
        old = live.spec()
        services = {n: s for n, s in old["services"].items() if n not in desired.removed}
        spec["services"] = dict(sorted({**services, **spec["services"]}.items()))
        spec["volumes"] = dict(sorted({**old["volumes"], **spec["volumes"]}.items()))
    return spec


def plan_stack(
    desired: DesiredStack | None,
    live: LiveStack | None,
    image_ids: Mapping[str, str] | None = None,
    *,
    stop_timeout: int = DEFAULT_STOP_TIMEOUT,
) -> StackPlan:
    key = desired.key if desired is not None else live.key if live is not None else None
    assert key is not None, "a stack plan needs a desired or a live stack"
    live = live if live is not None else LiveStack(key)
    declare = desired is None or desired.strategy is Strategy.DECLARE
    changes: list[ServiceChange] = []
    if desired is not None:
        for name in _order(desired.services):
            found = live.services.get(name)
            changes.append(_service_change(desired.services[name], found, image_ids or {}))
        changes = _with_impact(_restarts(changes), stop_timeout)
    for name, found in sorted(live.services.items()):
        if desired is None:
            changes.append(_removal(found, Reason.STACK_REMOVED))
        elif declare and name not in desired.services:
            changes.append(_removal(found, Reason.NOT_DECLARED))
        elif not declare and name in desired.removed:
            changes.append(_removal(found, Reason.REMOVED_BY_PATCH))
    desired_secrets = desired.secrets() if desired else frozenset()
    secrets = live.secrets() | desired_secrets
    target = _target_spec(desired, live)
    before = _upgraded(live.spec(), target)
    patch = redacted_patch(before, target, secrets)
    return StackPlan(
        key=key,
        services=tuple(changes),
        volumes=tuple(_volumes(desired, live, prune=declare)),
        patch=patch,
        removed=desired is None,
        diff=diffs.own_changes(before, target, live.secrets(), desired_secrets),
    )


@gc_paused
def plan(
    desired: DesiredState,
    live: LiveState,
    *,
    base: str | None = None,
    image_ids: Mapping[str, str] | None = None,
    allow_empty: bool = False,
    stop_timeout: int = DEFAULT_STOP_TIMEOUT,
) -> Plan:
    """Every stack's plan. Refuses to remove every managed stack unless `allow_empty`.
    `stop_timeout` is the daemon's setting (what an impact names when a service has no
    stop grace period of its own)."""
    if not desired.stacks and live.stacks and not allow_empty:
        raise PlanRefused(
            f"revision {desired.revision or '(work tree)'} declares no stack, so every one of the "
            f"{len(live.stacks)} managed stacks would be removed; refused (allow it with "
            "--allow-empty)"
        )
    keys = sorted(set(desired.stacks) | set(live.stacks))
    stacks = tuple(
        plan_stack(desired.stacks.get(k), live.stacks.get(k), image_ids, stop_timeout=stop_timeout)
        for k in keys
    )
    return Plan(base=base, head=desired.revision, stacks=stacks)


def as_live(state: DesiredState) -> LiveState:
    """A revision's desired state seen as if it ran: the base of a revision-to-revision plan."""
    stacks = {}
    for key, stack in state.stacks.items():
        services = {
            name: LiveService(
                key=s.key,
                spec=s.spec,
                hash=s.hash,
                status=ServiceStatus.RUNNING,
                revision=state.revision,
                secrets=s.secrets,
            )
            for name, s in stack.services.items()
        }
        volumes = {
            name: LiveVolume(v.key, declared=v.declared) for name, v in stack.volumes.items()
        }
        stacks[key] = LiveStack(key, services, volumes, stack.description)
    return LiveState(stacks, frozenset(k.project for k in state.stacks))
