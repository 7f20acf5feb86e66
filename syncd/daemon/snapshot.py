"""What the daemon publishes after each sync: one frozen, read-only snapshot of its facts
(desired state, observation, plan, records, measurements). Readers (the API, the metrics, the
operator tasks) get it through the small protocols below, never the daemon itself. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from syncd.core.canonical import Spec
from syncd.core.desired import DesiredState
from syncd.core.observe import Observation
from syncd.core.plan import Plan
from syncd.core.records import ServiceRecord, StackRecord, SyncRecord
from syncd.daemon.status import Status, Trigger
from syncd.engine.base import Observed
from syncd.engine.swarmview import ServiceTasks, SwarmState
from syncd.ids import RegistryKey, ServiceKey


@dataclass(frozen=True)
class DaemonSnapshot:
    """Everything the API's view is built from (gathered by the daemon off the request path)."""

    desired: DesiredState | None
    observation: Observation
    observed: Observed
    plan: Plan | None
    records: Mapping[str, ServiceRecord]
    instance: str
    built_at: float
    volume_usage: Mapping[str, int] = field(default_factory=dict)  # engine volume name -> bytes
    usage_at: float = 0.0
    registry_valid: Mapping[RegistryKey, bool] = field(default_factory=dict)
    deployed: Mapping[ServiceKey, Spec] = field(default_factory=dict)  # from inspect
    created: Mapping[str, float] = field(default_factory=dict)  # project -> first applied (store)
    files_usage: Mapping[str, int] = field(default_factory=dict)  # project -> file area bytes
    files_at: float = 0.0
    swarm: SwarmState | None = None  # nodes and task summaries: on a Swarm engine only

    def container_id(self, key: ServiceKey) -> str | None:
        container = self.observation.containers.get(key)
        return container.id if container is not None else None

    def tasks(self, key: ServiceKey) -> ServiceTasks | None:
        """A Swarm service's task summary (None: not on a Swarm engine, or not known)."""
        container = self.observation.containers.get(key)
        if self.swarm is None or container is None:
            return None
        return self.swarm.services.get(container.id)

    def container_ids(self, key: ServiceKey) -> list[str]:
        """Every replica's container, replica 1 first."""
        return [container for _, container in self.replicas(key)]

    def replicas(self, key: ServiceKey) -> list[tuple[int, str]]:
        """Every replica's number and container, replica 1 first."""
        stack = self.observation.live.stacks.get(key.stack_key)
        service = stack.services.get(key.name) if stack else None
        return [(r.index, r.container_id) for r in service.containers()] if service else []


class SnapshotProvider(Protocol):
    """The daemon's facts as its readers see them: the status (live), the last snapshot, the
    per-stack state and the sync history."""

    @property
    def status(self) -> Status: ...

    def snapshot(self) -> DaemonSnapshot | None: ...

    def stacks(self) -> dict[str, StackRecord]: ...

    def syncs(self, limit: int) -> list[SyncRecord]: ...


class TriggerSink(Protocol):
    """Where a sync is asked for (the webhook, an operator task)."""

    def request(self, trigger: Trigger) -> None: ...
