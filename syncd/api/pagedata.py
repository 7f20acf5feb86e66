"""What the status page shows, gathered from the daemon's facts into plain values: projects →
stacks → services with state, health, image, ports, replicas and revision; the applied commit;
the last sync; the pending plan; drift and operator stops; the sync history. Pure: no I/O, no
HTML. Every value shown comes from the redacted API view or from syncd's own bookkeeping, never
from a spec's raw values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from syncd import timestamps
from syncd.api.view import View
from syncd.core.live import ServiceStatus
from syncd.core.records import StackRecord, SyncRecord
from syncd.daemon.snapshot import DaemonSnapshot
from syncd.daemon.status import Status
from syncd.engine.base import ContainerHealth
from syncd.ids import ServiceKey

# A service that syncd had to heal (it was stopped, removed or changed by hand) stays marked this
# long: a heal takes a second, and an operator should still see that it happened.
DRIFT_SHOWN_FOR = 600.0
HISTORY_SHOWN = 30  # syncs in the chart and the table
DRIFT_TRIGGERS = ("docker_event", "drift")


class Level(StrEnum):
    """How a row, a stack or the page is coloured."""

    OK = "ok"
    WARN = "warn"
    BAD = "bad"


def worst(levels: Sequence[Level]) -> Level:
    for level in (Level.BAD, Level.WARN):
        if level in levels:
            return level
    return Level.OK


@dataclass(frozen=True)
class ServiceRow:
    key: str  # project/stack/service
    name: str
    stack_id: str
    service_id: str | None
    state: str
    health: str  # healthy, unhealthy, starting, or "-" without a healthcheck
    image: str
    ports: tuple[str, ...]
    replicas: str  # running/all
    revision: str | None
    since: float | None  # container created
    notes: tuple[str, ...]  # why it is not plain green
    level: Level


@dataclass(frozen=True)
class StackBox:
    key: str
    applied_revision: str | None
    error: str | None
    held: bool
    broken: tuple[str, ...]
    services: tuple[ServiceRow, ...]
    level: Level


@dataclass(frozen=True)
class ProjectBox:
    name: str
    stacks: tuple[StackBox, ...]
    level: Level


@dataclass(frozen=True)
class SyncBar:
    id: int
    started_at: float
    duration: float | None
    result: str
    trigger: str
    revision: str | None
    stage: str | None
    error: str | None
    count: int


@dataclass(frozen=True)
class PageData:
    instance: str
    repo: str
    branch: str
    engine_available: bool
    syncing: bool
    mode: str
    applied_revision: str | None
    commit: Mapping[str, Any] | None
    signer: Mapping[str, Any] | None
    last_sync: Mapping[str, Any] | None
    last_error: Mapping[str, Any] | None
    plan_markdown: str
    plan_counts: Mapping[str, Any] | None
    projects: tuple[ProjectBox, ...]
    syncs: tuple[SyncBar, ...]
    pauses: tuple[str, ...]
    level: Level
    built_at: float = field(default=0.0)


def seconds(value: Any) -> float | None:
    """A time as unix seconds, from a number or an ISO 8601 text (the answers hold the latter)."""
    moment = timestamps.parse(value)
    return moment.timestamp() if moment is not None else None


def drifted(syncs: Sequence[SyncRecord], now: float) -> dict[str, str]:
    """Services that a recent sync started by Docker's events or the drift timer had to change:
    someone stopped, removed or changed them by hand. Service key → what syncd did."""
    found: dict[str, str] = {}
    for sync in syncs:  # newest first
        if now - sync.started_at > DRIFT_SHOWN_FOR:
            break
        if not any(t in sync.trigger.split(",") for t in DRIFT_TRIGGERS):
            continue
        for row in sync.services:
            key, action = str(row.get("service", "")), str(row.get("action", ""))
            if key and key not in found:
                at = dt.datetime.fromtimestamp(sync.started_at, dt.UTC).strftime("%H:%M:%S")
                found[key] = f"changed outside syncd (seen {at} UTC); syncd did: {action}"
    return found


def _row(
    key: ServiceKey,
    view: View,
    *,
    snapshot: DaemonSnapshot,
    drift: Mapping[str, str],
    broken: bool,
    held: bool,
) -> ServiceRow:
    shown = view.services.get(key.id)
    stack = snapshot.observation.live.stacks.get(key.stack_key)
    live = stack.services.get(key.name) if stack else None
    container = snapshot.observation.containers.get(key)
    desired_stack = snapshot.desired.stacks.get(key.stack_key) if snapshot.desired else None
    desired = desired_stack.services.get(key.name) if desired_stack else None
    health = container.health if container is not None else None
    tasks = snapshot.tasks(key)  # on Swarm: its tasks, on whichever nodes (None elsewhere)
    state = shown.status.value if shown else (live.status.value if live else "missing")
    notes: list[str] = []
    level = Level.OK
    if live is None or container is None:
        notes.append("not created" if desired is not None else "not declared any more")
        level = Level.BAD
    elif live.operator_stopped:
        notes.append("stopped by an operator (syncd leaves it stopped)")
        level = Level.WARN
    elif tasks is not None:
        pass  # on Swarm: its tasks say how it runs (below)
    elif state in (ServiceStatus.STARTING.value, ServiceStatus.CREATING.value):
        notes.append(f"{state}: not running yet")
        level = Level.WARN
    elif state != ServiceStatus.RUNNING.value:
        notes.append(f"{state}: not running")
        level = Level.BAD
    if health is ContainerHealth.UNHEALTHY:
        notes.append("healthcheck failing")
        level = Level.BAD
    elif health is ContainerHealth.STARTING and level is Level.OK:
        level = Level.WARN
    if (note := drift.get(str(key))) is not None:
        notes.append(note)
        level = Level.BAD
    if shown is not None and shown.message and state != ServiceStatus.RUNNING.value:
        notes.append(shown.message)
    if broken:
        notes.append("kept at its last good spec (the stack's manifests are broken)")
        level = worst([level, Level.WARN])
    if held:
        notes.append("changes held by a pause")
        level = worst([level, Level.WARN])
    replicas = live.replicas if live else ()
    running, total = sum(1 for r in replicas if r.status is ServiceStatus.RUNNING), len(replicas)
    if tasks is not None:
        running, total = tasks.running, tasks.desired
        if not tasks.converged:
            notes.append(tasks.message or f"{tasks.running} of {tasks.desired} tasks running")
            level = worst([level, Level.WARN if tasks.running else Level.BAD])
    image = shown.deployedState.image if shown else ""
    ports = tuple(shown.deployedState.ports or ()) if shown else ()
    return ServiceRow(
        key=str(key),
        name=key.name,
        stack_id=key.stack_key.id,
        service_id=key.id if shown is not None else None,
        state=state,
        health=health.value if health else "-",
        image=image,
        ports=ports,
        replicas=f"{running}/{total}",
        revision=live.revision if live else None,
        since=container.created if container else None,
        notes=tuple(notes),
        level=level,
    )


def _keys(snapshot: DaemonSnapshot) -> list[ServiceKey]:
    keys: set[ServiceKey] = set()
    if snapshot.desired is not None:
        for stack in snapshot.desired.stacks.values():
            keys.update(s.key for s in stack.services.values())
    for live in snapshot.observation.live.stacks.values():
        keys.update(s.key for s in live.services.values())
    return sorted(keys)


def projects(
    snapshot: DaemonSnapshot | None,
    view: View,
    status: Status,
    stacks: Mapping[str, StackRecord],
    drift: Mapping[str, str],
) -> tuple[ProjectBox, ...]:
    if snapshot is None:
        return ()
    rows: dict[str, dict[str, list[ServiceRow]]] = {}
    for key in _keys(snapshot):
        stack = str(key.stack_key)
        broken, held = stack in status.broken_stacks, stack in status.held
        row = _row(key, view, snapshot=snapshot, drift=drift, broken=broken, held=held)
        rows.setdefault(key.project, {}).setdefault(stack, []).append(row)
    boxes = []
    for project, by_stack in sorted(rows.items()):
        stack_boxes = []
        for stack, services in sorted(by_stack.items()):
            record = stacks.get(stack)
            ordered = sorted(services, key=lambda r: (r.level is Level.OK, r.name))
            level = worst([r.level for r in services])
            if record is not None and record.error:
                level = worst([level, Level.WARN])
            stack_boxes.append(
                StackBox(
                    key=stack,
                    applied_revision=record.applied_revision if record else None,
                    error=record.error if record else None,
                    held=stack in status.held,
                    broken=status.broken_stacks.get(stack, ()),
                    services=tuple(ordered),
                    level=level,
                )
            )
        boxes.append(ProjectBox(project, tuple(stack_boxes), worst([s.level for s in stack_boxes])))
    return tuple(sorted(boxes, key=lambda p: (p.level is Level.OK, p.name)))


def bars(syncs: Sequence[SyncRecord]) -> tuple[SyncBar, ...]:
    return tuple(
        SyncBar(
            id=s.id,
            started_at=s.started_at,
            duration=s.duration,
            result=s.result,
            trigger=s.trigger,
            revision=s.revision,
            stage=s.stage,
            error=s.error,
            count=s.count,
        )
        for s in syncs[:HISTORY_SHOWN]
    )


def operator_stops(pause: Mapping[str, Any]) -> tuple[str, ...]:
    """Pauses as lines: the whole instance's first, then each paused stack's."""

    def line(what: str, info: Any) -> str:
        info = info if isinstance(info, Mapping) else {}
        reason = f": {info['reason']}" if info.get("reason") else ""
        return f"{what} paused by {info.get('by') or 'an operator'}{reason}"

    lines = [line("everything", pause.get("pause"))] if pause.get("paused") else []
    stacks = pause.get("pausedStacks") or {}
    if isinstance(stacks, Mapping):
        lines += [line(str(key), info) for key, info in stacks.items()]
    return tuple(lines)


def gather(
    status: Status,
    *,
    snapshot: DaemonSnapshot | None,
    view: View,
    stacks: Mapping[str, StackRecord],
    syncs: Sequence[SyncRecord],
    now: float,
) -> PageData:
    drift = drifted(syncs, now)
    boxes = projects(snapshot, view, status, stacks, drift)
    signer = status.signers.get(status.applied_revision or "")
    pauses = operator_stops(status.pause)
    last_error = status.last_error.as_dict() if status.last_error else None
    levels = [p.level for p in boxes]
    if last_error is not None or not status.engine_available:
        levels.append(Level.BAD)
    return PageData(
        instance=status.instance,
        repo=status.repo,
        branch=status.branch,
        engine_available=status.engine_available,
        syncing=status.syncing,
        mode=str(status.pause.get("mode", "sync")),
        applied_revision=status.applied_revision,
        commit=status.applied_commit.as_dict() if status.applied_commit else None,
        signer=signer,
        last_sync=status.last_sync,
        last_error=last_error,
        plan_markdown=status.plan_markdown,
        plan_counts=(status.plan_json or {}).get("counts"),
        projects=boxes,
        syncs=bars(syncs),
        pauses=pauses,
        level=worst(levels),
        built_at=snapshot.built_at if snapshot else 0.0,
    )
