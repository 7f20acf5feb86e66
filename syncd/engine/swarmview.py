"""Swarm's task-level facts in syncd's shapes: a service's tasks, the nodes, and what they add up
to (replicas running of desired, the nodes they run on, the newest task error while a service
has not converged). Read from the Engine API's answers by `engine.swarmtasks`. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

MAX_MESSAGE = 500  # characters of a task error shown (an image's error can be long)


class TaskState(StrEnum):
    """Swarm's task states, in their order (`api/types/swarm/task.go`)."""

    NEW = "new"
    ALLOCATED = "allocated"
    PENDING = "pending"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    PREPARING = "preparing"
    READY = "ready"
    STARTING = "starting"
    RUNNING = "running"
    COMPLETE = "complete"
    SHUTDOWN = "shutdown"
    FAILED = "failed"
    REJECTED = "rejected"
    REMOVE = "remove"
    ORPHANED = "orphaned"

    @classmethod
    def parse(cls, value: Any) -> TaskState:
        """Swarm's word; one syncd does not know reads as `ORPHANED` (not a state to trust)."""
        try:
            return cls(value)
        except ValueError:
            return cls.ORPHANED


class NodeState(StrEnum):
    UNKNOWN = "unknown"
    DOWN = "down"
    READY = "ready"
    DISCONNECTED = "disconnected"

    @classmethod
    def parse(cls, value: Any) -> NodeState:
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True)
class TaskView:
    id: str
    service_id: str
    slot: int | None  # a replicated service's replica number; None for a global service's
    node_id: str  # "" until the scheduler assigned one
    node: str  # the node's hostname ("" when unknown)
    state: TaskState
    desired: TaskState
    message: str  # Swarm's word on the current state (`started`, `no suitable node`, ...)
    error: str | None
    created: float
    updated: float  # when the state last changed
    container_id: str | None = None

    @property
    def running(self) -> bool:
        return self.state is TaskState.RUNNING and self.desired is TaskState.RUNNING


@dataclass(frozen=True)
class NodeView:
    id: str
    hostname: str
    state: NodeState
    availability: str  # active, pause, drain
    role: str  # manager, worker
    address: str
    leader: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hostname": self.hostname,
            "state": self.state.value,
            "availability": self.availability,
            "role": self.role,
            "address": self.address,
            "leader": self.leader,
        }


@dataclass(frozen=True)
class ServiceTasks:
    """What a service's tasks add up to."""

    running: int
    desired: int
    nodes: tuple[str, ...]  # hostnames of the nodes its running tasks are on, sorted
    message: str | None  # the newest task error while running < desired

    @property
    def converged(self) -> bool:
        return self.running >= self.desired

    def as_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "desired": self.desired,
            "nodes": list(self.nodes),
            "message": self.message,
        }


@dataclass(frozen=True)
class SwarmState:
    """The nodes, and each service's task summary by Swarm service ID."""

    nodes: tuple[NodeView, ...] = ()
    services: Mapping[str, ServiceTasks] = field(default_factory=dict)

    def down(self) -> tuple[NodeView, ...]:
        return tuple(n for n in self.nodes if n.state is not NodeState.READY)


@runtime_checkable
class TaskSource(Protocol):
    """An engine whose services run as Swarm tasks (the Swarm engine): their status. The Docker
    engine is none; where the engine is not one, nothing Swarm's shows anywhere."""

    def swarm_state(self, service_ids: Collection[str]) -> SwarmState:
        """The nodes and these services' task summaries (`engine.swarmtasks.swarm_state`)."""
        ...


def summary(
    tasks: Iterable[TaskView], desired: int, down: frozenset[str] = frozenset()
) -> ServiceTasks:
    """Replicas running of `desired`, the nodes they run on and, while fewer run than desired,
    why: a node that is down, else the newest task error (`task: non-zero exit (3)`, `no
    suitable node ...`). A task on a node in `down` (node ids) does not count as running: nobody
    knows that it does."""
    listed = list(tasks)
    running = [t for t in listed if t.running and t.node_id not in down]
    nodes = tuple(sorted({t.node or t.node_id for t in running}))
    message = None
    if len(running) < desired:
        lost = sorted({t.node or t.node_id for t in listed if t.running and t.node_id in down})
        failed = [t for t in listed if t.error]
        if lost:
            message = f"node {', '.join(lost)} is down; Swarm reschedules its tasks"
        elif failed:
            message = _short(max(failed, key=lambda t: (t.updated, t.id)).error or "")
    return ServiceTasks(len(running), desired, nodes, message)


def desired_count(
    service: Mapping[str, Any], tasks: Iterable[TaskView], nodes: Iterable[NodeView]
) -> int:
    """How many tasks a service should run: a replicated service's replicas; a global one's
    tasks meant to run on a node that is up (Swarm makes one per eligible node)."""
    mode = (service.get("Spec") or {}).get("Mode") or {}
    if "Global" in mode:
        up = {n.id for n in nodes if n.state is NodeState.READY}
        return sum(1 for t in tasks if t.desired is TaskState.RUNNING and t.node_id in up)
    return int((mode.get("Replicated") or {}).get("Replicas", 1))


def task_view(raw: Mapping[str, Any], hostnames: Mapping[str, str]) -> TaskView:
    """One task from the Engine API's answer (`GET /tasks`)."""
    status = raw.get("Status") or {}
    container = (status.get("ContainerStatus") or {}).get("ContainerID")
    node_id = str(raw.get("NodeID") or "")
    slot = raw.get("Slot")
    return TaskView(
        id=str(raw.get("ID", "")),
        service_id=str(raw.get("ServiceID", "")),
        slot=slot if isinstance(slot, int) and slot > 0 else None,
        node_id=node_id,
        node=hostnames.get(node_id, ""),
        state=TaskState.parse(status.get("State")),
        desired=TaskState.parse(raw.get("DesiredState")),
        message=str(status.get("Message") or ""),
        error=str(status["Err"]) if status.get("Err") else None,
        created=seconds(raw.get("CreatedAt")),
        updated=seconds(status.get("Timestamp") or raw.get("UpdatedAt")),
        container_id=str(container) if container else None,
    )


def node_view(raw: Mapping[str, Any]) -> NodeView:
    """One node from the Engine API's answer (`GET /nodes`)."""
    spec = raw.get("Spec") or {}
    status = raw.get("Status") or {}
    manager = raw.get("ManagerStatus") or {}
    return NodeView(
        id=str(raw.get("ID", "")),
        hostname=str((raw.get("Description") or {}).get("Hostname") or ""),
        state=NodeState.parse(status.get("State")),
        availability=str(spec.get("Availability") or ""),
        role=str(spec.get("Role") or ""),
        address=str(status.get("Addr") or ""),
        leader=manager.get("Leader") is True,
    )


def seconds(stamp: Any) -> float:
    """An Engine API time (`2026-11-28T12:22:37.516252909Z`, nanoseconds) in epoch seconds;
    0.0 for none or one that does not parse."""
    if not isinstance(stamp, str) or not stamp:
        return 0.0
    text = stamp.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
