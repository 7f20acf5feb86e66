"""How a Swarm's task-level facts show: a service's status and message in `/v2` (replicas
running of desired, the nodes, the task error), the `swarm` part of `/v2/syncd/daemon/status`
and the Swarm gauges of `/metrics`. On the Docker engine there are none. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.core.live import ServiceStatus
from syncd.daemon.snapshot import DaemonSnapshot
from syncd.engine.swarmview import NodeState, NodeView, ServiceTasks


def status_of(tasks: ServiceTasks) -> ServiceStatus:
    """mittwald's status of a Swarm service: running once every desired replica runs; an error
    while none runs and a task failed; starting in between; stopped when scaled to zero."""
    if tasks.desired == 0:
        return ServiceStatus.STOPPED
    if tasks.converged:
        return ServiceStatus.RUNNING
    if tasks.running == 0 and tasks.message:
        return ServiceStatus.ERROR
    return ServiceStatus.STARTING


def replicas_text(tasks: ServiceTasks) -> str:
    """`2/2 replicas running on swn1, swn2`; while not converged, why (`1/2 replicas running on
    swn1: task: non-zero exit (3)`)."""
    noun = "replica" if tasks.desired == 1 else "replicas"
    text = f"{tasks.running}/{tasks.desired} {noun} running"
    if tasks.nodes:
        text += f" on {', '.join(tasks.nodes)}"
    if tasks.message and not tasks.converged:
        text += f": {tasks.message}"
    return text


@dataclass(frozen=True)
class SwarmStatus:
    """The nodes and each service's task summary (by its key, `shop/default/web`)."""

    nodes: tuple[NodeView, ...]
    services: Mapping[str, ServiceTasks] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "nodes": [n.as_json() for n in self.nodes],
            "nodesDown": [n.hostname or n.id for n in self.nodes if n.state is not NodeState.READY],
            "services": {key: tasks.as_json() for key, tasks in sorted(self.services.items())},
        }


def swarm_status(snapshot: DaemonSnapshot | None) -> SwarmStatus | None:
    """The Swarm facts of a snapshot; None on the Docker engine (or before the first one)."""
    if snapshot is None or snapshot.swarm is None:
        return None
    services = {
        str(key): found
        for key in snapshot.observation.containers
        if (found := snapshot.tasks(key)) is not None
    }
    return SwarmStatus(snapshot.swarm.nodes, services)
