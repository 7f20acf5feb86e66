"""Observed engine objects + syncd's records -> `LiveState` for the planner. Pure: no I/O.

Each service's live spec comes from its record when the record describes the container that runs
(same config hash). Without one (the store was lost, or a sync died between creating a container
and recording it), a container whose hash label equals the desired spec's hash runs that spec;
any other container's spec is unknown, which plans as a recreate. Extra containers of one service
(never made by syncd itself, but possible by hand) are strays to remove.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from syncd.core.canonical import Spec
from syncd.core.desired import DesiredService, DesiredState
from syncd.core.live import (
    LiveService,
    LiveStack,
    LiveState,
    LiveVolume,
    Replica,
    ServiceStatus,
)
from syncd.core.records import ServiceRecord
from syncd.engine.base import ContainerHealth, ContainerState, Observed, ObservedContainer
from syncd.ids import ServiceKey, StackKey

# (the record, the desired spec's secret values, how they were declared) -> the spec it ran
Restore = Callable[[ServiceRecord, Spec | None, str], Spec]

STATUS = {
    ContainerState.CREATED: ServiceStatus.STOPPED,
    ContainerState.RUNNING: ServiceStatus.RUNNING,
    ContainerState.RESTARTING: ServiceStatus.STARTING,
    ContainerState.PAUSED: ServiceStatus.STOPPED,
    ContainerState.REMOVING: ServiceStatus.STOPPING,
    ContainerState.EXITED: ServiceStatus.STOPPED,
    ContainerState.DEAD: ServiceStatus.ERROR,
}


@dataclass(frozen=True)
class Observation:
    live: LiveState
    containers: Mapping[ServiceKey, ObservedContainer]  # replica 1 (the first) of each service
    strays: tuple[ObservedContainer, ...] = ()  # extra containers of a service: to remove
    unrecorded: frozenset[ServiceKey] = frozenset()  # running a desired spec the store lacks


def status_of(container: ObservedContainer) -> ServiceStatus:
    if container.state is ContainerState.RUNNING and container.health is ContainerHealth.STARTING:
        return ServiceStatus.STARTING
    return STATUS[container.state]


def set_aside(container: ObservedContainer) -> bool:
    """Whether a replace set the container aside (`Names.aside`: `<name>.old-<id12>`): the old
    container of an interrupted replace, the last one known to work."""
    return container.name.endswith(f".old-{container.id[:12]}")


def _pick(candidates: list[ObservedContainer]) -> tuple[ObservedContainer, list[ObservedContainer]]:
    """Keep a container set aside by an interrupted replace (the last one known to work; the
    next sync replaces it again), else the running (then the newest) container of a service;
    the others are strays."""
    ordered = sorted(
        candidates,
        key=lambda c: (set_aside(c), c.state is ContainerState.RUNNING, c.created, c.id),
        reverse=True,
    )
    return ordered[0], ordered[1:]


def _replicas(
    candidates: list[ObservedContainer],
) -> tuple[list[ObservedContainer], list[ObservedContainer]]:
    """One container kept per replica number, replica 1 (the lowest) first, and the strays:
    extra containers of one number, containers with no valid number, and replicas whose hash
    is not the first one's (left by an interrupted replace: recreated from the spec)."""
    numbered: dict[int, list[ObservedContainer]] = {}
    for container in candidates:
        numbered.setdefault(container.replica, []).append(container)
    strays = numbered.pop(0, [])
    kept: list[ObservedContainer] = []
    for _number, group in sorted(numbered.items()):
        one, extra = _pick(group)
        strays.extend(extra)
        if kept and one.hash != kept[0].hash:
            strays.append(one)
        else:
            kept.append(one)
    return kept, strays


def _without_containers(
    records: Mapping[str, ServiceRecord],
    grouped: Mapping[ServiceKey, list[ObservedContainer]],
) -> list[tuple[ServiceKey, ServiceRecord]]:
    """Services applied with `replicas: 0`: declared and recorded, with no container."""
    out = []
    for record in records.values():
        if record.spec.get("replicas") != 0:
            continue
        parts = record.key.split("/")
        if len(parts) != 3:
            continue
        key = ServiceKey(*parts)
        if key not in grouped:
            out.append((key, record))
    return sorted(out, key=lambda item: item[0])


def _desired_services(desired: DesiredState | None) -> dict[ServiceKey, DesiredService]:
    if desired is None:
        return {}
    return {s.key: s for st in desired.stacks.values() for s in st.services.values()}


def observe(
    observed: Observed,
    records: Mapping[str, ServiceRecord],
    *,
    orphaned: frozenset[str] = frozenset(),
    stopped: frozenset[str] = frozenset(),
    desired: DesiredState | None = None,
    restore: Restore | None = None,
) -> Observation:
    wanted = _desired_services(desired)
    grouped: dict[ServiceKey, list[ObservedContainer]] = {}
    for container in observed.containers:
        grouped.setdefault(container.key, []).append(container)
    kept: dict[ServiceKey, ObservedContainer] = {}
    strays: list[ObservedContainer] = []
    unrecorded: set[ServiceKey] = set()
    services: dict[StackKey, dict[str, LiveService]] = {}
    for key, candidates in sorted(grouped.items()):
        replicas, extra = _replicas(candidates)
        strays.extend(extra)
        if not replicas:
            continue
        container = replicas[0]
        kept[key] = container
        record = records.get(str(key))
        target = wanted.get(key)
        spec: Spec = {}
        secrets: frozenset[str] = frozenset()
        if record is not None and record.container_hash == container.hash:
            spec = restore(record, *_restorable(target)) if restore else record.spec
            secrets = record.secrets
        elif target is not None and target.hash == container.hash:
            spec, secrets = target.spec, target.secrets
            unrecorded.add(key)
        services.setdefault(key.stack_key, {})[key.name] = LiveService(
            key=key,
            spec=spec,
            hash=container.hash,
            status=status_of(container),
            revision=container.revision,
            container_id=container.id,
            image_id=container.image_id,
            operator_stopped=str(key) in stopped,
            secrets=secrets,
            replicas=tuple(Replica(c.replica, c.id, status_of(c), c.published) for c in replicas),
        )
    for key, record in _without_containers(records, grouped):
        target = wanted.get(key)
        services.setdefault(key.stack_key, {})[key.name] = LiveService(
            key=key,
            spec=restore(record, *_restorable(target)) if restore else record.spec,
            hash=record.container_hash,
            status=ServiceStatus.STOPPED,
            revision=record.revision,
            operator_stopped=str(key) in stopped,
            secrets=record.secrets,
        )
    volumes: dict[StackKey, dict[str, LiveVolume]] = {}
    for volume in observed.volumes:
        live_volume = LiveVolume(
            volume.key, orphaned=str(volume.key) in orphaned, declared=volume.declared
        )
        volumes.setdefault(volume.key.stack_key, {})[volume.key.name] = live_volume
    stacks = {
        key: LiveStack(key, services.get(key, {}), volumes.get(key, {}), _description(key, desired))
        for key in sorted(set(services) | set(volumes))
    }
    return Observation(
        live=LiveState(stacks, observed.networks),
        containers=kept,
        strays=tuple(strays),
        unrecorded=frozenset(unrecorded),
    )


def _restorable(target: DesiredService | None) -> tuple[Spec | None, str]:
    """The desired spec as `restore` may read it: its secret values only, every other leaf None.
    A recorded secret is put back only from a value declared secret too (at its place, or moved
    in a list). Else a plain value equal to a secret would read as unchanged, and a plan
    (`POST /v2/syncd/plans` of any pull request) would say whether a guess is a secret. And
    only with the declaration it was recorded with (`core.declarations`): else a template could
    build the guess from a variable, and the plan would say again."""
    if target is None:
        return None, ""
    kept: Spec | None = _secrets_only(target.spec, target.secrets, "")
    return kept, target.declaration


def _secrets_only(value: Any, secrets: frozenset[str], pointer: str) -> Any:
    """`value` with every leaf that is not at or under a pointer of `secrets` set to None."""
    if pointer in secrets:
        return value
    if not any(s.startswith(pointer + "/") for s in secrets):
        return None
    if isinstance(value, dict):
        return {k: _secrets_only(v, secrets, f"{pointer}/{_escape(k)}") for k, v in value.items()}
    if isinstance(value, list):
        return [_secrets_only(v, secrets, f"{pointer}/{i}") for i, v in enumerate(value)]
    return None


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _description(key: StackKey, desired: DesiredState | None) -> str:
    """Stack descriptions are metadata syncd keeps nowhere else: take the desired one."""
    stack = desired.stacks.get(key) if desired else None
    return stack.description if stack else ""
